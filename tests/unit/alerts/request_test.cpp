// The request forms: the JSON webhook's body and ntfy's headers (docs.ntfy.sh/publish:
// the message as the body; Title, Priority 1-5 and comma-separated Tags headers).
#include <doctest/doctest.h>

#include <rapidjson/document.h>

#include "alerts/grouper.hpp"
#include "alerts/request.hpp"

using namespace sb;
using namespace sb::bridge::alerts;

namespace {

config::webhook_settings hook(const std::string& url, config::webhook_format f) {
    config::webhook_settings w;
    w.url = url;
    w.parsed = *config::parse_webhook_url(url);
    w.format = f;
    return w;
}

std::string header(const webhook_request& r, const std::string& name) {
    for (const auto& [n, v] : r.headers)
        if (n == name) return v;
    return {};
}

alert_message sample() {
    return make_message(event_kind::worker_offline, "btc", {{"rig1", "rig1: no share for 12 min"}, {"rig2", ""}}, 3,
                        std::chrono::system_clock::time_point(std::chrono::seconds(1796597215)));
}

}  // namespace

TEST_CASE("alerts request: the JSON form carries the kind and chain and title and text and subjects and count and time and priority") {
    auto w = hook("https://hooks.example/solo/in?src=bridge", config::webhook_format::json);
    w.token = "s3cret";
    w.headers = {{"X-Farm", "north"}};
    const webhook_request r = make_request(w, sample());
    CHECK(r.target == "/solo/in?src=bridge");
    CHECK(header(r, "Content-Type") == "application/json");
    CHECK(header(r, "Authorization") == "Bearer s3cret");
    CHECK(header(r, "X-Farm") == "north");
    rapidjson::Document d;
    d.Parse(r.body.c_str(), r.body.size());
    REQUIRE_FALSE(d.HasParseError());
    CHECK(std::string(d["source"].GetString()) == "solobridge");
    CHECK(std::string(d["kind"].GetString()) == "worker_offline");
    CHECK(std::string(d["chain"].GetString()) == "btc");
    CHECK(std::string(d["title"].GetString()) == "solobridge btc: 3 workers offline");
    CHECK(std::string(d["text"].GetString()) == "3 workers offline: rig1, rig2 and 1 more\n- rig1: no share for 12 min");
    REQUIRE(d["subjects"].IsArray());
    CHECK(d["subjects"].Size() == 2);
    CHECK(std::string(d["subjects"][1].GetString()) == "rig2");
    CHECK(d["count"].GetUint64() == 3);
    CHECK(std::string(d["time"].GetString()) == "2026-12-06T22:46:55Z");
    CHECK(d["unix_time"].GetInt64() == 1796597215);
    CHECK(d["priority"].GetInt() == 4);
}

TEST_CASE("alerts request: the ntfy form is the text as body with the Title and Priority and Tags headers") {
    auto w = hook("https://ntfy.sh/my-rigs", config::webhook_format::ntfy);
    w.token = "tk_abc";
    const webhook_request r = make_request(w, sample());
    CHECK(r.target == "/my-rigs");
    CHECK(r.body == "3 workers offline: rig1, rig2 and 1 more\n- rig1: no share for 12 min");
    CHECK(header(r, "Title") == "solobridge btc: 3 workers offline");
    CHECK(header(r, "Priority") == "4");
    CHECK(header(r, "Tags") == "warning,btc");
    CHECK(header(r, "Content-Type") == "text/plain; charset=utf-8");
    CHECK(header(r, "Authorization") == "Bearer tk_abc");

    const auto found = make_message(event_kind::block_found, "", {{"h", "block 1 found by rig1"}}, 1, {});
    const webhook_request b = make_request(w, found);
    CHECK(header(b, "Priority") == "5");
    CHECK(header(b, "Tags") == "tada");
    CHECK(header(b, "Title") == "solobridge: block found");
}

TEST_CASE("alerts request: priorities follow ntfy's 1-5 scale by kind") {
    CHECK(priority_of(event_kind::block_found) == 5);
    CHECK(priority_of(event_kind::block_orphaned) == 4);
    CHECK(priority_of(event_kind::node_down) == 4);
    CHECK(priority_of(event_kind::node_unauthorized) == 4);
    CHECK(priority_of(event_kind::worker_offline) == 4);
    CHECK(priority_of(event_kind::hashrate_drop) == 3);
    CHECK(priority_of(event_kind::worker_online) == 3);
    CHECK(priority_of(event_kind::node_up) == 3);
}

TEST_CASE("alerts request: a hostile worker name cannot add headers or break the JSON") {
    grouper g;
    const auto t0 = std::chrono::steady_clock::now();
    alert_event e;
    e.kind = event_kind::worker_offline;
    e.chain = "btc";
    e.subject = "rig\r\nX-Injected: 1\",\"kind\":\"block_found";
    e.text = e.subject;
    g.add(e, t0);
    const auto m = g.due(t0 + state_coalesce_delay);
    REQUIRE(m.size() == 1);
    for (auto f : {config::webhook_format::json, config::webhook_format::ntfy}) {
        const webhook_request r = make_request(hook("http://127.0.0.1:9/x", f), m[0]);
        for (const auto& [n, v] : r.headers) {
            CHECK(v.find('\r') == std::string::npos);
            CHECK(v.find('\n') == std::string::npos);
            CHECK(n != "X-Injected");
        }
        if (f == config::webhook_format::json) {
            rapidjson::Document d;
            d.Parse(r.body.c_str(), r.body.size());
            REQUIRE_FALSE(d.HasParseError());
            CHECK(std::string(d["kind"].GetString()) == "worker_offline");
            CHECK(std::string(d["subjects"][0].GetString()) == "rig??X-Injected: 1\",\"kind\":\"block_found");
        }
    }
}
