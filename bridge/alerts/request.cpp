#include "alerts/request.hpp"

#include <ctime>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace sb::bridge::alerts {

namespace {

// ntfy turns tags that are emoji short codes into emojis (docs.ntfy.sh/emojis).
std::string_view emoji_of(event_kind k) noexcept {
    switch (k) {
        case event_kind::block_found: return "tada";
        case event_kind::block_orphaned: return "wastebasket";
        case event_kind::worker_offline: return "warning";
        case event_kind::worker_online: return "white_check_mark";
        case event_kind::hashrate_drop: return "chart_with_downwards_trend";
        case event_kind::node_down: return "rotating_light";
        case event_kind::node_unauthorized: return "no_entry";
        case event_kind::node_up: return "white_check_mark";
    }
    return "bell";
}

std::string rfc3339(std::chrono::system_clock::time_point t) {
    const std::time_t s = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&s, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string json_body(const alert_message& m) {
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    auto str = [&w](const char* k, std::string_view v) {
        w.Key(k);
        w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
    };
    w.StartObject();
    str("source", "solobridge");
    str("kind", to_string(m.kind));
    str("chain", m.chain);
    str("title", m.title);
    str("text", m.text);
    w.Key("subjects");
    w.StartArray();
    for (const auto& s : m.subjects) w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    w.EndArray();
    w.Key("count");
    w.Uint64(m.count);
    str("time", rfc3339(m.at));
    w.Key("unix_time");
    w.Int64(std::chrono::duration_cast<std::chrono::seconds>(m.at.time_since_epoch()).count());
    w.Key("priority");
    w.Int(priority_of(m.kind));
    w.EndObject();
    return std::string(sb.GetString(), sb.GetSize());
}

}  // namespace

int priority_of(event_kind k) noexcept {
    switch (k) {
        case event_kind::block_found: return 5;
        case event_kind::block_orphaned:
        case event_kind::worker_offline:
        case event_kind::node_down:
        case event_kind::node_unauthorized: return 4;
        case event_kind::hashrate_drop:
        case event_kind::worker_online:
        case event_kind::node_up: return 3;
    }
    return 3;
}

webhook_request make_request(const config::webhook_settings& w, const alert_message& m) {
    webhook_request r;
    r.target = w.parsed.target;
    if (w.format == config::webhook_format::ntfy) {
        r.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
        r.headers.emplace_back("Title", m.title);
        r.headers.emplace_back("Priority", std::to_string(priority_of(m.kind)));
        r.headers.emplace_back("Tags", std::string(emoji_of(m.kind)) + (m.chain.empty() ? "" : "," + m.chain));
        r.body = m.text;
    } else {
        r.headers.emplace_back("Content-Type", "application/json");
        r.body = json_body(m);
    }
    if (!w.token.empty()) r.headers.emplace_back("Authorization", "Bearer " + w.token);
    for (const auto& h : w.headers) r.headers.push_back(h);
    return r;
}

}  // namespace sb::bridge::alerts
