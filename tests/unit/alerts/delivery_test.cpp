// Delivery to real receivers on 127.0.0.1: HTTP and HTTPS (a CA made at test time),
// the JSON and ntfy forms, retries, back-off, grouping under a burst, bounded queues.
// Waits are for states (eventually), never for times.
#include <doctest/doctest.h>

#include <rapidjson/document.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "alerts/errors.hpp"
#include "alerts/notifier.hpp"
#include "eventually.hpp"
#include "receiver.hpp"

using namespace sb;
using namespace sb::bridge::alerts;
using namespace std::chrono_literals;
using sb::test::eventually;

namespace {

constexpr auto wait_limit = 20s;

config::webhook_settings hook(const std::string& url, config::webhook_format f = config::webhook_format::json) {
    config::webhook_settings w;
    w.url = url;
    auto parsed = config::parse_webhook_url(url);
    REQUIRE(parsed.has_value());
    w.parsed = *parsed;
    w.format = f;
    return w;
}

// Fast timings for tests; the log is kept for checks.
struct fixture {
    std::mutex log_mutex;
    std::vector<std::string> lines;
    notifier_options opt;

    fixture() {
        opt.min_interval = 200ms;
        opt.coalesce = 50ms;
        opt.delivery.retry_initial = 20ms;
        opt.delivery.retry_max = 160ms;
        opt.delivery.request_timeout = 5s;
        opt.poll_interval = 20ms;
        opt.log = [this](std::string_view t) {
            std::lock_guard lock(log_mutex);
            lines.emplace_back(t);
        };
    }
    bool logged(std::string_view part) {
        std::lock_guard lock(log_mutex);
        for (const auto& l : lines)
            if (l.find(part) != std::string::npos) return true;
        return false;
    }
    std::string log_text() {
        std::lock_guard lock(log_mutex);
        std::string s;
        for (const auto& l : lines) s += l + "\n";
        return s;
    }
};

alert_event ev(event_kind k, std::string chain, std::string subject, std::string text = {}) {
    alert_event e;
    e.kind = k;
    e.chain = std::move(chain);
    e.subject = std::move(subject);
    e.text = std::move(text);
    return e;
}

std::string url_of(const test::http_receiver& r, const std::string& path, const std::string& host = "127.0.0.1",
                   bool tls = false) {
    return std::string(tls ? "https://" : "http://") + host + ":" + std::to_string(r.port()) + path;
}

}  // namespace

TEST_CASE("alerts delivery: a JSON webhook receives a found block with its headers") {
    test::http_receiver rx;
    fixture f;
    auto w = hook(url_of(rx, "/hook?farm=1"));
    w.token = "s3cret";
    w.headers = {{"X-Farm", "north"}};
    f.opt.settings.webhooks = {w};
    notifier n(f.opt);
    REQUIRE_FALSE(n.start());
    hash256 h{};
    h[31] = 0x42;
    n.post(block_found_event("btc", 101, h, "rig1"));
    REQUIRE(eventually([&] { return rx.count() == 1; }, wait_limit));
    const auto r = rx.requests().at(0);
    CHECK(r.method == "POST");
    CHECK(r.target == "/hook?farm=1");
    CHECK(r.header("host") == "127.0.0.1:" + std::to_string(rx.port()));
    CHECK(r.header("content-type") == "application/json");
    CHECK(r.header("authorization") == "Bearer s3cret");
    CHECK(r.header("x-farm") == "north");
    CHECK(r.header("user-agent") == "solobridge");
    rapidjson::Document d;
    d.Parse(r.body.c_str(), r.body.size());
    REQUIRE_FALSE(d.HasParseError());
    CHECK(std::string(d["kind"].GetString()) == "block_found");
    CHECK(std::string(d["chain"].GetString()) == "btc");
    CHECK(std::string(d["title"].GetString()) == "solobridge btc: block found");
    CHECK(std::string(d["text"].GetString()) == "block 101 found by rig1, hash 42" + std::string(62, '0'));
    CHECK(d["count"].GetUint64() == 1);
    CHECK(d["priority"].GetInt() == 5);
    REQUIRE(eventually([&] { return n.status().webhooks.at(0).sent == 1; }, wait_limit));
    CHECK(n.status().webhooks.at(0).label == "alerts.webhooks[0] (127.0.0.1)");
}

TEST_CASE("alerts delivery: an ntfy webhook receives the text with the Title and Priority and Tags headers") {
    test::http_receiver rx;
    fixture f;
    auto w = hook(url_of(rx, "/my-rigs"), config::webhook_format::ntfy);
    w.token = "tk_test";
    f.opt.settings.webhooks = {w};
    notifier n(f.opt);
    REQUIRE_FALSE(n.start());
    n.post(ev(event_kind::node_down, "btc", "http://127.0.0.1:8332", "http://127.0.0.1:8332 is down: Connection refused"));
    REQUIRE(eventually([&] { return rx.count() == 1; }, wait_limit));
    const auto r = rx.requests().at(0);
    CHECK(r.method == "POST");
    CHECK(r.target == "/my-rigs");
    CHECK(r.body == "http://127.0.0.1:8332 is down: Connection refused");
    CHECK(r.header("title") == "solobridge btc: node down");
    CHECK(r.header("priority") == "4");
    CHECK(r.header("tags") == "rotating_light,btc");
    CHECK(r.header("authorization") == "Bearer tk_test");
    CHECK(r.header("content-type") == "text/plain; charset=utf-8");
}

TEST_CASE("alerts delivery: HTTPS with a custom CA file verifies the certificate and sends SNI") {
    test::test_ca ca("localhost");
    test::http_receiver rx(0, ca.cert_file.string(), ca.key_file.string());
    fixture f;
    auto by_name = hook(url_of(rx, "/topic", "localhost", true), config::webhook_format::ntfy);
    by_name.ca_file = ca.ca_file.string();
    auto by_ip = hook(url_of(rx, "/json", "127.0.0.1", true));
    by_ip.ca_file = ca.ca_file.string();
    f.opt.settings.webhooks = {by_name, by_ip};
    notifier n(f.opt);
    REQUIRE_FALSE(n.start());
    n.post(ev(event_kind::block_found, "btc", "h1", "block 1 found by rig1"));
    REQUIRE(eventually([&] { return rx.count() == 2; }, wait_limit));
    std::set<std::string> seen;
    for (const auto& r : rx.requests()) {
        if (r.target == "/topic") {
            CHECK(r.sni == "localhost");
            CHECK(r.body == "block 1 found by rig1");
        } else {
            CHECK(r.target == "/json");
            CHECK(r.sni.empty());  // no SNI for an IP address (RFC 6066 §3)
        }
        seen.insert(r.target);
    }
    CHECK(seen.size() == 2);
    CHECK(rx.failed_handshakes() == 0);
}

TEST_CASE("alerts delivery: HTTPS refuses a certificate the system store does not trust or one for another name") {
    test::test_ca ca("localhost");
    test::http_receiver rx(0, ca.cert_file.string(), ca.key_file.string());
    test::test_ca other("other.example");
    test::http_receiver rx_other(0, other.cert_file.string(), other.key_file.string());
    fixture f;
    auto system_store = hook(url_of(rx, "/t", "localhost", true));  // no ca_file: the system's CAs
    auto wrong_name = hook(url_of(rx_other, "/t", "localhost", true));
    wrong_name.ca_file = other.ca_file.string();  // trusted CA, but the certificate names other.example
    f.opt.settings.webhooks = {system_store, wrong_name};
    notifier n(f.opt);
    REQUIRE_FALSE(n.start());
    n.post(ev(event_kind::block_found, "btc", "h1"));
    REQUIRE(eventually(
        [&] {
            const auto s = n.status();
            return s.webhooks.at(0).failures >= 2 && s.webhooks.at(1).failures >= 2;
        },
        wait_limit));
    const auto s = n.status();
    CHECK(rx.count() == 0);
    CHECK(rx_other.count() == 0);
    CHECK(s.webhooks.at(0).sent == 0);
    CHECK(s.webhooks.at(1).sent == 0);
    CHECK_MESSAGE(s.webhooks.at(0).last_error.find("certificate") != std::string::npos, s.webhooks.at(0).last_error);
    CHECK_MESSAGE(s.webhooks.at(1).last_error.find("certificate") != std::string::npos, s.webhooks.at(1).last_error);
    CHECK(f.logged("retrying in"));
}

TEST_CASE("alerts delivery: a CA file that cannot be loaded stops start() with the webhook and file named") {
    fixture f;
    auto w = hook("https://ntfy.example/topic", config::webhook_format::ntfy);
    w.ca_file = "/nonexistent/ca.pem";
    f.opt.settings.webhooks = {w};
    notifier n(f.opt);
    std::string detail;
    CHECK(n.start(&detail) == alerts_errc::ca_file_unreadable);
    CHECK(detail.starts_with("alerts.webhooks[0] (ntfy.example): /nonexistent/ca.pem"));
}

TEST_CASE("alerts delivery: a 500 is retried and the next 200 delivers the message once") {
    test::http_receiver rx;
    rx.script({500});
    fixture f;
    f.opt.settings.webhooks = {hook(url_of(rx, "/hook"))};
    notifier n(f.opt);
    REQUIRE_FALSE(n.start());
    n.post(ev(event_kind::block_found, "btc", "h1", "block 1"));
    REQUIRE(eventually([&] { return n.status().webhooks.at(0).sent == 1; }, wait_limit));
    const auto reqs = rx.requests();
    REQUIRE(reqs.size() == 2);
    CHECK(reqs[0].body == reqs[1].body);
    const auto s = n.status().webhooks.at(0);
    CHECK(s.requests == 2);
    CHECK(s.failures == 1);
    CHECK(s.given_up == 0);
    CHECK(s.retry_delay == 0ms);
    CHECK(s.last_error.find("HTTP 500") != std::string::npos);
    CHECK(f.logged("after 2 attempts"));
}

TEST_CASE("alerts delivery: a 429's Retry-After sets the wait within retry_max") {
    test::http_receiver rx;
    rx.script({429}, "1");
    fixture f;
    f.opt.delivery.retry_max = 5s;
    f.opt.settings.webhooks = {hook(url_of(rx, "/hook"))};
    notifier n(f.opt);
    REQUIRE_FALSE(n.start());
    n.post(ev(event_kind::block_found, "btc", "h1"));
    REQUIRE(eventually([&] { return n.status().webhooks.at(0).failures == 1; }, wait_limit, 5ms));
    CHECK(n.status().webhooks.at(0).retry_delay == 1000ms);  // not the 20 ms back-off
    REQUIRE(eventually([&] { return n.status().webhooks.at(0).sent == 1; }, wait_limit));
}

TEST_CASE("alerts delivery: a 4xx refusal is not retried, the next message goes out, both ends are reported") {
    test::http_receiver rx;
    rx.script({401});
    fixture f;
    f.opt.settings.webhooks = {hook(url_of(rx, "/hook"))};
    std::mutex reports_mutex;
    std::vector<delivery_report> reports;
    f.opt.on_delivery = [&](const delivery_report& r) {
        std::lock_guard lock(reports_mutex);
        reports.push_back(r);
    };
    notifier n(f.opt);
    REQUIRE_FALSE(n.start());
    n.post(ev(event_kind::block_found, "btc", "h1", "first"));
    REQUIRE(eventually([&] { return n.status().webhooks.at(0).given_up == 1; }, wait_limit));
    n.post(ev(event_kind::block_orphaned, "btc", "h1", "second"));
    REQUIRE(eventually([&] { return n.status().webhooks.at(0).sent == 1; }, wait_limit));
    const auto reqs = rx.requests();
    REQUIRE(reqs.size() == 2);  // the refused one was asked once
    CHECK(reqs[1].body.find("\"second\"") != std::string::npos);
    CHECK(f.logged("gave up"));
    CHECK(f.logged("check the URL, token and headers"));
    // The dashboard hears of both: the first given up with the reason, the second delivered.
    std::lock_guard lock(reports_mutex);
    REQUIRE(reports.size() == 2);
    CHECK(reports[0].webhook == "alerts.webhooks[0] (127.0.0.1)");
    CHECK(reports[0].kind == event_kind::block_found);
    CHECK(reports[0].chain == "btc");
    CHECK(reports[0].title == "solobridge btc: block found");
    CHECK_FALSE(reports[0].delivered);
    CHECK(reports[0].detail.find("401") != std::string::npos);
    CHECK(reports[1].kind == event_kind::block_orphaned);
    CHECK(reports[1].delivered);
    CHECK(reports[1].detail.empty());
}

TEST_CASE("alerts delivery: a redirect is not followed and not retried") {
    test::http_receiver rx;
    rx.script({301});
    fixture f;
    f.opt.settings.webhooks = {hook(url_of(rx, "/old"))};
    notifier n(f.opt);
    REQUIRE_FALSE(n.start());
    n.post(ev(event_kind::block_found, "btc", "h1"));
    REQUIRE(eventually([&] { return n.status().webhooks.at(0).given_up == 1; }, wait_limit));
    CHECK(rx.count() == 1);
    CHECK(n.status().webhooks.at(0).last_error.find("HTTP 301 (a redirect, not followed") != std::string::npos);
}

TEST_CASE("alerts delivery: while the webhook is down requests back off doubling to retry_max and then it delivers") {
    const std::uint16_t port = test::closed_port();
    fixture f;
    f.opt.settings.webhooks = {hook("http://127.0.0.1:" + std::to_string(port) + "/hook")};
    notifier n(f.opt);
    REQUIRE_FALSE(n.start());
    n.post(ev(event_kind::block_found, "btc", "h1", "block 1"));
    std::set<long long> delays;
    long long last = 0;
    bool monotone = true;
    REQUIRE(eventually(
        [&] {
            const auto s = n.status().webhooks.at(0);
            const long long d = s.retry_delay.count();
            if (d < last) monotone = false;
            last = d;
            if (d > 0) delays.insert(d);
            return s.failures >= 8;
        },
        wait_limit, 2ms));
    CHECK(monotone);
    CHECK(*delays.rbegin() == 160);  // capped at retry_max
    for (long long d : delays) CHECK((d == 20 || d == 40 || d == 80 || d == 160));
    CHECK(n.status().webhooks.at(0).last_error.find("cannot connect") != std::string::npos);
    CHECK(n.status().webhooks.at(0).sent == 0);

    test::http_receiver rx(port);  // the webhook comes up
    REQUIRE(eventually([&] { return n.status().webhooks.at(0).sent == 1; }, wait_limit));
    CHECK(rx.count() == 1);
    CHECK(n.status().webhooks.at(0).retry_delay == 0ms);
}

TEST_CASE("alerts delivery: a message is given up after give_up_after") {
    const std::uint16_t port = test::closed_port();
    fixture f;
    f.opt.delivery.give_up_after = 100ms;
    f.opt.settings.webhooks = {hook("http://127.0.0.1:" + std::to_string(port) + "/hook")};
    notifier n(f.opt);
    REQUIRE_FALSE(n.start());
    n.post(ev(event_kind::block_found, "btc", "h1"));
    REQUIRE(eventually([&] { return n.status().webhooks.at(0).given_up == 1; }, wait_limit));
    CHECK(f.logged("gave up \"solobridge btc: block found\""));
    CHECK(n.status().webhooks.at(0).queued == 0);
}

TEST_CASE("alerts delivery: 200 offline/online events from a flapping farm in a second give one request") {
    test::http_receiver rx;
    fixture f;
    f.opt.settings.webhooks = {hook(url_of(rx, "/hook"))};
    notifier n(f.opt);
    REQUIRE_FALSE(n.start());
    // 20 workers toggle 10 times each; at the end rig0..rig9 are offline.
    for (int i = 0; i < 200; ++i) {
        const int w = i % 20, round = i / 20;
        const bool offline = round % 2 == 0 || (round == 9 && w < 10);
        n.post(ev(offline ? event_kind::worker_offline : event_kind::worker_online, "btc", "rig" + std::to_string(w)));
    }
    REQUIRE(eventually([&] { return rx.count() >= 1; }, wait_limit));
    // A later change makes a second round; the webhook sends in order, so once it is
    // here nothing else came from the burst.
    n.post(ev(event_kind::worker_online, "btc", "rig0", "rig0 is back"));
    REQUIRE(eventually([&] { return rx.count() >= 2; }, wait_limit));
    const auto reqs = rx.requests();
    REQUIRE(reqs.size() == 2);
    rapidjson::Document d;
    d.Parse(reqs[0].body.c_str(), reqs[0].body.size());
    REQUIRE_FALSE(d.HasParseError());
    CHECK(std::string(d["kind"].GetString()) == "worker_offline");
    CHECK(d["count"].GetUint64() == 10);
    CHECK(std::string(d["title"].GetString()) == "solobridge btc: 10 workers offline");
    d.Parse(reqs[1].body.c_str(), reqs[1].body.size());
    REQUIRE_FALSE(d.HasParseError());
    CHECK(std::string(d["kind"].GetString()) == "worker_online");
    CHECK(std::string(d["text"].GetString()) == "rig0 is back");
    CHECK(n.status().posted == 201);
}

TEST_CASE("alerts delivery: a full event queue drops the oldest with a counter and post never waits") {
    test::http_receiver rx;
    fixture f;
    f.opt.event_queue = 8;
    f.opt.settings.webhooks = {hook(url_of(rx, "/hook"))};
    notifier n(f.opt);
    // Not started yet: nothing drains the queue.
    for (int i = 0; i < 100; ++i) n.post(ev(event_kind::block_found, "btc", "h" + std::to_string(i)));
    auto s = n.status();
    CHECK(s.posted == 100);
    CHECK(s.dropped_events == 92);
    REQUIRE_FALSE(n.start());
    REQUIRE(eventually([&] { return rx.count() == 1; }, wait_limit));
    rapidjson::Document d;
    const auto body = rx.requests().at(0).body;
    d.Parse(body.c_str(), body.size());
    REQUIRE_FALSE(d.HasParseError());
    CHECK(d["count"].GetUint64() == 8);
    CHECK(std::string(d["subjects"][0].GetString()) == "h92");
    CHECK(std::string(d["subjects"][7].GetString()) == "h99");
}

TEST_CASE("alerts delivery: a webhook that never answers holds one request and a bounded queue that drops the oldest") {
    test::http_receiver rx;
    rx.hang(true);
    fixture f;
    f.opt.delivery.queue_limit = 2;
    f.opt.delivery.request_timeout = 30s;
    f.opt.settings.webhooks = {hook(url_of(rx, "/hook"))};
    notifier n(f.opt);
    REQUIRE_FALSE(n.start());
    n.post(ev(event_kind::block_found, "c0", "h"));
    REQUIRE(eventually([&] { return rx.count() == 1; }, wait_limit));  // in flight, unanswered
    for (int c = 1; c < 10; ++c) n.post(ev(event_kind::block_found, "c" + std::to_string(c), "h"));
    REQUIRE(eventually([&] { return n.status().webhooks.at(0).dropped == 7; }, wait_limit));
    const auto s = n.status().webhooks.at(0);
    CHECK(s.queued == 3);  // the one in flight and two waiting
    CHECK(s.sent == 0);
    CHECK(rx.count() == 1);
    CHECK(f.logged("queue full, dropping the oldest alert waiting (solobridge c1: block found)"));
}

TEST_CASE("alerts delivery: a kind a webhook does not list is not sent to it") {
    test::http_receiver rx_all, rx_workers;
    fixture f;
    auto workers = hook(url_of(rx_workers, "/w"));
    workers.events.reset();
    workers.events.set(static_cast<std::size_t>(event_kind::worker_offline));
    f.opt.settings.webhooks = {hook(url_of(rx_all, "/all")), workers};
    notifier n(f.opt);
    REQUIRE_FALSE(n.start());
    n.post(ev(event_kind::block_found, "btc", "h1"));
    n.post(ev(event_kind::worker_offline, "btc", "rig1"));
    REQUIRE(eventually([&] { return rx_all.count() == 2 && rx_workers.count() == 1; }, wait_limit));
    CHECK(rx_workers.requests().at(0).body.find("\"worker_offline\"") != std::string::npos);
}

TEST_CASE("alerts delivery: a kind no webhook wants is dropped by post at once") {
    fixture f;
    auto w = hook("http://127.0.0.1:9/x");
    w.events.reset();
    w.events.set(static_cast<std::size_t>(event_kind::block_found));
    f.opt.settings.webhooks = {w};
    notifier n(f.opt);
    n.post(ev(event_kind::worker_offline, "btc", "rig1"));
    CHECK(n.status().posted == 0);
    n.post(ev(event_kind::block_found, "btc", "h"));
    CHECK(n.status().posted == 1);
}

TEST_CASE("alerts delivery: the watches report a node going down and coming back and an orphaned block") {
    test::http_receiver rx;
    fixture f;
    f.opt.settings.webhooks = {hook(url_of(rx, "/hook"))};
    notifier n(f.opt);
    std::mutex m;
    node::template_source_status st;
    st.state = node::node_state::connected;
    std::vector<block_fate_sample> recent = {{"aa", 5, false, {}}};
    auto set = [&](auto&& change) {
        std::lock_guard lock(m);
        change();
    };
    n.watch(node_poller("btc", "http://127.0.0.1:18443", [&] {
        std::lock_guard lock(m);
        return st;
    }));
    n.watch(orphan_poller("btc", [&] {
        std::lock_guard lock(m);
        return recent;
    }));
    REQUIRE_FALSE(n.start());
    set([&] {
        st.state = node::node_state::down;
        st.last_error = "cannot connect to 127.0.0.1:18443: Connection refused";
    });
    REQUIRE(eventually([&] { return rx.count() == 1; }, wait_limit));
    rapidjson::Document d;
    auto body = rx.requests().at(0).body;
    d.Parse(body.c_str(), body.size());
    REQUIRE_FALSE(d.HasParseError());
    CHECK(std::string(d["kind"].GetString()) == "node_down");
    CHECK(std::string(d["text"].GetString()) ==
          "http://127.0.0.1:18443 is down: cannot connect to 127.0.0.1:18443: Connection refused");
    set([&] {
        st.state = node::node_state::connected;
        st.last_error.clear();
    });
    REQUIRE(eventually([&] { return rx.count() == 2; }, wait_limit));
    body = rx.requests().at(1).body;
    d.Parse(body.c_str(), body.size());
    REQUIRE_FALSE(d.HasParseError());
    CHECK(std::string(d["kind"].GetString()) == "node_up");
    set([&] { recent[0].orphaned = true; });
    REQUIRE(eventually([&] { return rx.count() == 3; }, wait_limit));
    body = rx.requests().at(2).body;
    d.Parse(body.c_str(), body.size());
    REQUIRE_FALSE(d.HasParseError());
    CHECK(std::string(d["kind"].GetString()) == "block_orphaned");
    CHECK(std::string(d["text"].GetString()) == "block 5 orphaned, hash aa");
    n.stop();  // the samplers are not called after stop()
}
