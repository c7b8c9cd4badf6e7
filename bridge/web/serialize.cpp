#include "web/serialize.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "sb/node/node_health.hpp"

namespace sb::bridge::web {

namespace {

using namespace sb::bridge::stats;
using writer = rapidjson::Writer<rapidjson::StringBuffer>;

std::int64_t unix_s(time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// A JSON string with everything outside printable ASCII, and < > & ' escaped.
std::string quoted(std::string_view v) {
    std::string out;
    out.reserve(v.size() + 2);
    out += '"';
    for (unsigned char c : v) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '&' || c == '\'') {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    out += '"';
    return out;
}

void key(writer& w, std::string_view k) { w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size())); }
void str(writer& w, std::string_view v) {
    const std::string q = quoted(v);
    w.RawValue(q.data(), q.size(), rapidjson::kStringType);
}
void kstr(writer& w, std::string_view k, std::string_view v) {
    key(w, k);
    str(w, v);
}
void num(writer& w, double v) {
    if (std::isfinite(v)) w.Double(v);
    else w.Null();
}
void knum(writer& w, std::string_view k, double v) {
    key(w, k);
    num(w, v);
}
void ku64(writer& w, std::string_view k, std::uint64_t v) {
    key(w, k);
    w.Uint64(v);
}
void ki64(writer& w, std::string_view k, std::int64_t v) {
    key(w, k);
    w.Int64(v);
}
void kbool(writer& w, std::string_view k, bool v) {
    key(w, k);
    w.Bool(v);
}
void ktime(writer& w, std::string_view k, const std::optional<time_point>& t) {
    key(w, k);
    if (t) w.Int64(unix_s(*t));
    else w.Null();
}

void rates(writer& w, std::string_view k, const hashrates& r) {
    key(w, k);
    w.StartObject();
    for (std::size_t i = 0; i < window_count; ++i) knum(w, window_name(static_cast<window>(i)), r[i]);
    w.EndObject();
}

void odds(writer& w, const block_odds& o) {
    key(w, "odds");
    w.StartObject();
    knum(w, "expected_seconds", o.expected_s);
    knum(w, "day", o.day);
    knum(w, "week", o.week);
    knum(w, "month", o.month);
    knum(w, "year", o.year);
    w.EndObject();
}

void shares(writer& w, const share_counts& s) {
    key(w, "shares");
    w.StartObject();
    ku64(w, "accepted", s.accepted);
    knum(w, "accepted_difficulty", s.accepted_difficulty);
    ku64(w, "rejected", s.rejected());
    key(w, "rejected_by_reason");
    w.StartObject();
    for (std::size_t i = 1; i < share_status_count; ++i)
        if (s.by_status[i] != 0) ku64(w, reason_name(static_cast<share_status>(i)), s.by_status[i]);
    w.EndObject();
    knum(w, "stale_percent", s.stale_percent());
    ku64(w, "blocks", s.blocks);
    w.EndObject();
}

void device(writer& w, const device_view& d) {
    w.StartObject();
    kstr(w, "chain", d.chain);
    kstr(w, "id", d.id);
    kstr(w, "name", d.name);
    kstr(w, "backend", d.backend);
    kstr(w, "algorithm", d.algorithm);
    kstr(w, "state", d.state);
    kstr(w, "error", d.error);
    kstr(w, "worker", d.worker);
    ku64(w, "intensity", d.intensity);
    ku64(w, "hashes", d.hashes);
    knum(w, "hashrate_1m", d.hashrate_1m);
    knum(w, "hashrate_5m", d.hashrate_5m);
    ku64(w, "candidates", d.candidates);
    ku64(w, "dropped_candidates", d.dropped_candidates);
    ku64(w, "hardware_errors", d.hardware_errors);
    key(w, "shares");
    w.StartObject();
    ku64(w, "accepted", d.shares_accepted);
    ku64(w, "rejected", d.shares_rejected);
    w.EndObject();
    ku64(w, "blocks", d.blocks);
    knum(w, "share_difficulty", d.share_difficulty);
    kstr(w, "job_id", d.job_id);
    ku64(w, "job_height", d.job_height);
    if (d.algorithm == "kawpow") {
        // The dataset on the device (epoch -1: none yet), the one being switched to and the
        // next epoch's prepared beside it (-1: none), as /api/status always had them.
        key(w, "dag");
        w.StartObject();
        ki64(w, "epoch", d.dag_epoch);
        ku64(w, "bytes", d.dag_bytes);
        knum(w, "generation_s", d.dag_seconds);
        ki64(w, "building_epoch", d.dag_building_epoch);
        knum(w, "progress", d.dag_progress);
        ki64(w, "next_epoch", d.dag_next_epoch);
        w.EndObject();
    }
    w.EndObject();
}

void block(writer& w, const block_view& b) {
    w.StartObject();
    kstr(w, "chain", b.chain);
    kstr(w, "hash", b.hash);
    ku64(w, "height", b.height);
    kstr(w, "status", b.status);
    kstr(w, "reason", b.reason);
    ku64(w, "attempts", b.attempts);
    ku64(w, "confirmations", b.confirmations);
    kstr(w, "worker", b.worker);
    ktime(w, "found_at", b.found_at);
    knum(w, "difficulty", b.difficulty);
    w.EndObject();
}

// One chain: every field /api/status always had, then the statistics.
void chain(writer& w, const chain_view& c) {
    w.StartObject();
    kstr(w, "id", c.id);
    kstr(w, "network", c.network);
    kstr(w, "coin", c.coin);
    kstr(w, "algorithm", c.algorithm);
    // "node": the node templates come from (the first when none does); "nodes": every
    // configured node in config order.
    auto node_fields = [&w](const node_view& n) {
        kstr(w, "rpc_url", n.rpc_url);
        kbool(w, "reachable", n.reachable);
        kstr(w, "state", n.state);
        kstr(w, "last_error", n.last_error);
        kbool(w, "longpoll_active", n.longpoll_active);
        ku64(w, "templates", n.templates);
    };
    key(w, "node");
    w.StartObject();
    node_fields(c.node);
    w.EndObject();
    key(w, "nodes");
    w.StartArray();
    for (const auto& n : c.nodes) {
        w.StartObject();
        node_fields(n);
        kbool(w, "active", n.active);
        w.EndObject();
    }
    w.EndArray();
    key(w, "tip");
    if (c.tip_height) {
        w.StartObject();
        ku64(w, "height", *c.tip_height);
        kstr(w, "hash", c.tip_hash);
        w.EndObject();
    } else {
        w.Null();
    }
    ku64(w, "job_height", c.job_height);
    kstr(w, "work_mode", c.work_mode);
    key(w, "template");
    w.StartObject();
    ku64(w, "height", c.tmpl.height);
    ku64(w, "transactions", c.tmpl.transactions);
    ki64(w, "fees", c.tmpl.fees);
    ku64(w, "weight", c.tmpl.weight);
    ki64(w, "coinbase_value", c.tmpl.coinbase_value);
    ku64(w, "bits", c.tmpl.bits);
    knum(w, "network_difficulty", c.tmpl.network_difficulty);
    ktime(w, "received_at", c.tmpl.received_at);
    w.EndObject();
    key(w, "p2p_peers");
    w.StartArray();
    for (const auto& p : c.peers) {
        w.StartObject();
        kstr(w, "address", p.address);
        kstr(w, "configured_as", p.configured_as);
        kbool(w, "connected", p.connected);
        kstr(w, "user_agent", p.user_agent);
        ki64(w, "height", p.height);
        key(w, "ping_ms");
        if (p.ping_ms) num(w, *p.ping_ms);
        else w.Null();
        kbool(w, "inbound", p.inbound);
        ki64(w, "since", p.since);
        w.EndObject();
    }
    w.EndArray();
    ku64(w, "p2p_peers_connected", c.peers_connected);
    ku64(w, "sessions", c.sessions);
    key(w, "stratum_bans");
    w.StartArray();
    for (const auto& b : c.bans) {
        w.StartObject();
        kstr(w, "ip", b.ip);
        ki64(w, "until", b.until);
        kstr(w, "reason", b.reason);
        ku64(w, "refused", b.refused);
        w.EndObject();
    }
    w.EndArray();
    key(w, "devices");
    w.StartArray();
    for (const auto& d : c.devices) device(w, d);
    w.EndArray();
    key(w, "shares");
    w.StartObject();
    ku64(w, "accepted", c.dispatcher_accepted);
    ku64(w, "rejected", c.dispatcher_rejected);
    w.EndObject();
    // Every found block under its current fate (submitter.hpp): found is their sum.
    key(w, "blocks");
    w.StartObject();
    ku64(w, "found", c.blocks.found);
    ku64(w, "pending", c.blocks.pending);
    ku64(w, "accepted", c.blocks.accepted);
    ku64(w, "confirmed", c.blocks.confirmed);
    ku64(w, "orphaned", c.blocks.orphaned);
    ku64(w, "stale", c.blocks.stale);
    ku64(w, "rejected", c.blocks.rejected);
    ku64(w, "abandoned", c.blocks.abandoned);
    ku64(w, "in_flight", c.blocks.in_flight);
    ku64(w, "parked", c.blocks.parked);
    ku64(w, "watched", c.blocks.watched);
    key(w, "recent");
    w.StartArray();
    for (const auto& b : c.blocks.recent) {
        w.StartObject();
        kstr(w, "hash", b.hash);
        ku64(w, "height", b.height);
        kstr(w, "status", b.status);
        kstr(w, "reason", b.reason);
        ku64(w, "confirmations", b.confirmations);
        ku64(w, "found_time", b.found_at ? static_cast<std::uint64_t>(unix_s(*b.found_at)) : 0);
        ku64(w, "attempts", b.attempts);
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    // The statistics (share events; totals restored from the history).
    key(w, "stats");
    w.StartObject();
    rates(w, "hashrate", c.rate);
    shares(w, c.shares);
    knum(w, "best_share_round", c.best_round);
    knum(w, "best_share_all_time", c.best_all_time);
    odds(w, c.odds);
    key(w, "workers");
    w.StartObject();
    ku64(w, "online", c.workers_online);
    ku64(w, "idle", c.workers_idle);
    ku64(w, "offline", c.workers_offline);
    w.EndObject();
    ktime(w, "last_block_found", c.last_block_found);
    w.EndObject();
    w.EndObject();
}

void worker(writer& w, const worker_view& v) {
    w.StartObject();
    kstr(w, "chain", v.chain);
    kstr(w, "name", v.name);
    kstr(w, "address", v.address);
    kstr(w, "state", to_string(v.state));
    rates(w, "hashrate", v.rate);
    shares(w, v.shares);
    knum(w, "best_share_connection", v.best_connection);
    knum(w, "best_share_round", v.best_round);
    knum(w, "best_share_all_time", v.best_all_time);
    ktime(w, "last_share", v.last_share);
    ktime(w, "first_seen", v.first_seen);
    ku64(w, "connections", v.connections);
    knum(w, "difficulty", v.difficulty);
    kstr(w, "user_agent", v.user_agent);
    kstr(w, "firmware", v.firmware);
    odds(w, v.odds);
    w.EndObject();
}

void connection(writer& w, const connection_view& c) {
    w.StartObject();
    kstr(w, "chain", c.chain);
    ku64(w, "session", c.session);
    kstr(w, "remote", c.remote);
    kbool(w, "tls", c.tls);
    kstr(w, "user_agent", c.user_agent);
    kstr(w, "firmware", c.firmware);
    kstr(w, "worker", c.worker);
    knum(w, "difficulty", c.difficulty);
    char mask[9];
    std::snprintf(mask, sizeof mask, "%08x", c.version_mask);
    kstr(w, "version_mask", mask);
    ktime(w, "connected_at", c.connected_at);
    rates(w, "hashrate", c.rate);
    shares(w, c.shares);
    knum(w, "best_share", c.best);
    ktime(w, "last_share", c.last_share);
    w.EndObject();
}

void event_obj(writer& w, const event& e) {
    w.StartObject();
    kstr(w, "kind", to_string(e.kind));
    ki64(w, "at", unix_s(e.at));
    kstr(w, "chain", e.chain);
    kstr(w, "worker", e.worker);
    kstr(w, "state", e.state);
    kstr(w, "hash", e.hash);
    ku64(w, "height", e.height);
    knum(w, "value", e.value);
    knum(w, "reference", e.reference);
    knum(w, "ratio", e.ratio);
    kstr(w, "detail", e.detail);
    w.EndObject();
}

std::string done(const rapidjson::StringBuffer& sb) { return std::string(sb.GetString(), sb.GetSize()); }

bool icontains(std::string_view hay, std::string_view needle) {
    if (needle.empty()) return true;
    auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
    });
    return it != hay.end();
}

double sort_value(const worker_view& v, std::string_view field) {
    if (field == "hashrate_5m") return v.rate[1];
    if (field == "hashrate_1h") return v.rate[2];
    if (field == "hashrate_1d") return v.rate[3];
    if (field == "best") return v.best_all_time;
    if (field == "last_share") return v.last_share ? static_cast<double>(unix_s(*v.last_share)) : 0;
    if (field == "difficulty") return v.difficulty;
    if (field == "rejected") return static_cast<double>(v.shares.rejected());
    if (field == "stale") return v.shares.stale_percent();
    if (field == "state") return static_cast<double>(v.state);
    return 0;
}

}  // namespace

std::string status_json(const snapshot& s) {
    rapidjson::StringBuffer sb;
    writer w(sb);
    w.StartObject();
    kstr(w, "version", s.version);
    key(w, "chains");
    w.StartArray();
    for (const auto& c : s.chains) chain(w, c);
    w.EndArray();
    w.EndObject();
    return done(sb);
}

std::string summary_json(const snapshot& s, std::string_view type) {
    rapidjson::StringBuffer sb;
    writer w(sb);
    w.StartObject();
    if (!type.empty()) kstr(w, "type", type);
    kstr(w, "version", s.version);
    ki64(w, "time", unix_s(s.at));
    ki64(w, "started_at", unix_s(s.started_at));
    ki64(w, "uptime_seconds", unix_s(s.at) - unix_s(s.started_at));
    ku64(w, "sequence", s.sequence);
    rates(w, "hashrate", s.rate);
    kbool(w, "hashrate_mixed_algorithms", s.rate_mixed);
    key(w, "workers");
    w.StartObject();
    std::uint64_t on = 0, idle = 0, off = 0;
    for (const auto& c : s.chains) {
        on += c.workers_online;
        idle += c.workers_idle;
        off += c.workers_offline;
    }
    ku64(w, "online", on);
    ku64(w, "idle", idle);
    ku64(w, "offline", off);
    ku64(w, "total", s.workers.size());
    ku64(w, "connections", s.connections.size());
    ku64(w, "tracked", s.workers_tracked);
    ku64(w, "folded_shares", s.workers_folded);
    w.EndObject();
    key(w, "history");
    w.StartObject();
    kbool(w, "enabled", s.history.enabled);
    kbool(w, "available", s.history.available);
    kstr(w, "error", s.history.error);
    ku64(w, "batches_written", s.history.batches_written);
    ku64(w, "batches_dropped", s.history.batches_dropped);
    w.EndObject();
    key(w, "chains");
    w.StartArray();
    for (const auto& c : s.chains) chain(w, c);
    w.EndArray();
    key(w, "devices");
    w.StartArray();
    for (const auto& c : s.chains)
        for (const auto& d : c.devices) device(w, d);
    w.EndArray();
    key(w, "events");
    w.StartArray();
    const std::size_t first = s.events.size() > 50 ? s.events.size() - 50 : 0;
    for (std::size_t i = first; i < s.events.size(); ++i) event_obj(w, s.events[i]);
    w.EndArray();
    w.EndObject();
    return done(sb);
}

std::string chains_json(const snapshot& s) {
    rapidjson::StringBuffer sb;
    writer w(sb);
    w.StartArray();
    for (const auto& c : s.chains) chain(w, c);
    w.EndArray();
    return done(sb);
}

std::optional<std::string> chain_json(const snapshot& s, std::string_view id) {
    for (const auto& c : s.chains)
        if (c.id == id) {
            rapidjson::StringBuffer sb;
            writer w(sb);
            chain(w, c);
            return done(sb);
        }
    return std::nullopt;
}

std::string parse_worker_query(const std::vector<std::pair<std::string, std::string>>& params, worker_query& q) {
    auto number = [](const std::string& v, std::size_t& out) {
        const auto r = std::from_chars(v.data(), v.data() + v.size(), out);
        return r.ec == std::errc() && r.ptr == v.data() + v.size();
    };
    for (const auto& [k, v] : params) {
        if (k == "chain") q.chain = v;
        else if (k == "state") {
            if (v != "online" && v != "idle" && v != "offline" && !v.empty()) return "state must be online, idle or offline";
            q.state = v;
        } else if (k == "q") q.search = v.substr(0, 128);
        else if (k == "address") q.address = v;
        else if (k == "sort") {
            static const std::string_view fields[] = {"name", "state", "hashrate_5m", "hashrate_1h", "hashrate_1d", "best",
                                                      "last_share", "difficulty", "rejected", "stale"};
            if (std::find(std::begin(fields), std::end(fields), v) == std::end(fields)) return "unknown sort field";
            q.sort = v;
        } else if (k == "order") {
            if (v != "asc" && v != "desc") return "order must be asc or desc";
            q.descending = v == "desc";
        } else if (k == "offset") {
            if (!number(v, q.offset)) return "offset must be a number";
        } else if (k == "limit") {
            if (!number(v, q.limit) || q.limit == 0 || q.limit > max_page_size)
                return "limit must be 1.." + std::to_string(max_page_size);
        } else {
            return "unknown parameter " + k;
        }
    }
    return {};
}

std::string workers_json(const snapshot& s, const worker_query& q) {
    std::vector<const worker_view*> sel;
    sel.reserve(s.workers.size());
    for (const auto& w : s.workers) {
        if (!q.chain.empty() && w.chain != q.chain) continue;
        if (!q.state.empty() && q.state != to_string(w.state)) continue;
        if (!q.address.empty() && w.address != q.address) continue;
        if (!icontains(w.name, q.search)) continue;
        sel.push_back(&w);
    }
    auto by_name = [](const worker_view* a, const worker_view* b) {
        return std::tie(a->chain, a->name) < std::tie(b->chain, b->name);
    };
    if (q.sort == "name") {
        // The snapshot holds its workers sorted by chain and name already.
        if (q.descending) std::reverse(sel.begin(), sel.end());
    } else {
        std::stable_sort(sel.begin(), sel.end(), [&](auto* a, auto* b) {
            const double x = sort_value(*a, q.sort), y = sort_value(*b, q.sort);
            if (x != y) return q.descending ? x > y : x < y;
            return by_name(a, b);
        });
    }
    rapidjson::StringBuffer sb;
    writer w(sb);
    w.StartObject();
    ku64(w, "total", sel.size());
    ku64(w, "offset", q.offset);
    ku64(w, "limit", q.limit);
    key(w, "workers");
    w.StartArray();
    for (std::size_t i = q.offset; i < sel.size() && i < q.offset + q.limit; ++i) worker(w, *sel[i]);
    w.EndArray();
    w.EndObject();
    return done(sb);
}

std::optional<std::string> worker_json(const snapshot& s, std::string_view chain_id, std::string_view name) {
    for (const auto& v : s.workers)
        if (v.chain == chain_id && v.name == name) {
            rapidjson::StringBuffer sb;
            writer w(sb);
            w.StartObject();
            key(w, "worker");
            worker(w, v);
            key(w, "connections");
            w.StartArray();
            for (const auto& c : s.connections)
                if (c.chain == chain_id && c.worker == name) connection(w, c);
            w.EndArray();
            w.EndObject();
            return done(sb);
        }
    return std::nullopt;
}

std::string connections_json(const snapshot& s, std::size_t offset, std::size_t limit) {
    rapidjson::StringBuffer sb;
    writer w(sb);
    w.StartObject();
    ku64(w, "total", s.connections.size());
    key(w, "connections");
    w.StartArray();
    for (std::size_t i = offset; i < s.connections.size() && i < offset + limit; ++i) connection(w, s.connections[i]);
    w.EndArray();
    w.EndObject();
    return done(sb);
}

std::string addresses_json(const snapshot& s) {
    rapidjson::StringBuffer sb;
    writer w(sb);
    w.StartArray();
    for (const auto& a : s.addresses) {
        w.StartObject();
        kstr(w, "chain", a.chain);
        kstr(w, "address", a.address);
        ku64(w, "workers", a.workers);
        ku64(w, "online", a.online);
        rates(w, "hashrate", a.rate);
        shares(w, a.shares);
        knum(w, "best_share_all_time", a.best_all_time);
        ktime(w, "last_share", a.last_share);
        odds(w, a.odds);
        w.EndObject();
    }
    w.EndArray();
    return done(sb);
}

std::string devices_json(const snapshot& s) {
    rapidjson::StringBuffer sb;
    writer w(sb);
    w.StartArray();
    for (const auto& c : s.chains)
        for (const auto& d : c.devices) device(w, d);
    w.EndArray();
    return done(sb);
}

std::string blocks_json(const snapshot& s, const std::vector<block_view>& stored) {
    // The history's records, updated by the snapshot's newer fates, plus blocks the
    // history does not hold yet; newest first.
    std::vector<block_view> all = stored;
    for (const auto& b : s.found_blocks) {
        auto it = std::find_if(all.begin(), all.end(), [&](const block_view& x) { return x.hash == b.hash && x.chain == b.chain; });
        if (it == all.end()) all.push_back(b);
        else *it = b;  // the statistics' record is at least as new as the history's
    }
    for (const auto& c : s.chains)
        for (const auto& b : c.blocks.recent) {
            auto it = std::find_if(all.begin(), all.end(), [&](const block_view& x) { return x.hash == b.hash && x.chain == b.chain; });
            if (it == all.end()) {
                all.push_back(b);
            } else {
                it->status = b.status;
                it->reason = b.reason;
                it->attempts = b.attempts;
                it->confirmations = b.confirmations;
            }
        }
    std::stable_sort(all.begin(), all.end(), [](const block_view& a, const block_view& b) {
        const auto ta = a.found_at ? unix_s(*a.found_at) : 0, tb = b.found_at ? unix_s(*b.found_at) : 0;
        if (ta != tb) return ta > tb;
        return a.height > b.height;
    });
    rapidjson::StringBuffer sb;
    writer w(sb);
    w.StartArray();
    for (const auto& b : all) block(w, b);
    w.EndArray();
    return done(sb);
}

std::string events_json(const snapshot& s) {
    rapidjson::StringBuffer sb;
    writer w(sb);
    w.StartArray();
    for (auto it = s.events.rbegin(); it != s.events.rend(); ++it) event_obj(w, *it);
    w.EndArray();
    return done(sb);
}

std::string series_json(std::string_view scope, std::string_view k, std::int64_t step,
                        const std::vector<series_sample>& points) {
    rapidjson::StringBuffer sb;
    writer w(sb);
    w.StartObject();
    kstr(w, "scope", scope);
    kstr(w, "key", k);
    ki64(w, "step", step);
    key(w, "points");
    w.StartArray();
    for (const auto& p : points) {
        w.StartArray();
        w.Int64(p.t);
        num(w, p.hashrate);
        w.Uint64(p.accepted);
        w.Uint64(p.rejected);
        w.EndArray();
    }
    w.EndArray();
    w.EndObject();
    return done(sb);
}

// ---- Prometheus --------------------------------------------------------------------

std::string prometheus_label(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

namespace {

// Every node state (node_health.hpp), for one solobridge_node_state series each.
constexpr node::node_state all_node_states[] = {
    node::node_state::connecting, node::node_state::connected, node::node_state::down,
    node::node_state::unauthorized, node::node_state::starting, node::node_state::syncing,
    node::node_state::no_peers,     node::node_state::wrong_chain, node::node_state::failing};

class prom {
public:
    void family(std::string_view name, std::string_view type, std::string_view help) {
        out_ += "# HELP ";
        out_ += name;
        out_ += ' ';
        out_ += help;
        out_ += "\n# TYPE ";
        out_ += name;
        out_ += ' ';
        out_ += type;
        out_ += '\n';
    }
    void sample(std::string_view name, std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
                double v) {
        out_ += name;
        if (labels.size() != 0) {
            out_ += '{';
            bool first = true;
            for (const auto& [k, val] : labels) {
                if (!first) out_ += ',';
                first = false;
                out_ += k;
                out_ += "=\"";
                if (val.find_first_of("\\\"\n") == std::string_view::npos) {
                    out_ += val;
                } else {
                    for (char c : val) {
                        if (c == '\\') out_ += "\\\\";
                        else if (c == '"') out_ += "\\\"";
                        else if (c == '\n') out_ += "\\n";
                        else out_ += c;
                    }
                }
                out_ += '"';
            }
            out_ += '}';
        }
        out_ += ' ';
        if (std::isnan(v)) out_ += "NaN";
        else if (std::isinf(v)) out_ += v > 0 ? "+Inf" : "-Inf";
        else {
            char buf[32];
            const auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest exact form
            out_.append(buf, r.ptr);
        }
        out_ += '\n';
    }
    void reserve(std::size_t n) { out_.reserve(n); }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

}  // namespace

std::string metrics_text(const snapshot& s, const metrics_options& o) {
    prom p;
    p.reserve(4096 + (o.per_worker ? std::min(s.workers.size(), o.max_workers) * 1200 : 0));
    p.family("solobridge_info", "gauge", "The bridge's version.");
    p.sample("solobridge_info", {{"version", s.version}}, 1);
    p.family("solobridge_uptime_seconds", "gauge", "Seconds since the bridge started.");
    p.sample("solobridge_uptime_seconds", {}, static_cast<double>(unix_s(s.at) - unix_s(s.started_at)));

    // Hashrates carry their chain's algorithm: SHA-256d and KAWPOW hashes do not add up
    // (sum by algorithm, never across it).
    p.family("solobridge_hashrate_hashes_per_second", "gauge",
             "A chain's hashrate estimated from accepted share difficulty, decayed over the window; hashes of "
             "different algorithms do not add up.");
    for (const auto& c : s.chains)
        for (std::size_t i = 0; i < window_count; ++i)
            p.sample("solobridge_hashrate_hashes_per_second",
                     {{"chain", c.id}, {"algorithm", c.algorithm}, {"window", window_name(static_cast<window>(i))}}, c.rate[i]);
    p.family("solobridge_shares_accepted_total", "counter", "Accepted shares.");
    for (const auto& c : s.chains) p.sample("solobridge_shares_accepted_total", {{"chain", c.id}}, static_cast<double>(c.shares.accepted));
    p.family("solobridge_shares_rejected_total", "counter", "Rejected shares by reason.");
    for (const auto& c : s.chains)
        for (std::size_t i = 1; i < share_status_count; ++i)
            p.sample("solobridge_shares_rejected_total", {{"chain", c.id}, {"reason", reason_name(static_cast<share_status>(i))}},
                     static_cast<double>(c.shares.by_status[i]));
    p.family("solobridge_accepted_difficulty_total", "counter", "Sum of the difficulties of accepted shares.");
    for (const auto& c : s.chains) p.sample("solobridge_accepted_difficulty_total", {{"chain", c.id}}, c.shares.accepted_difficulty);
    p.family("solobridge_best_share_difficulty", "gauge", "Best share difficulty this block round and all time.");
    for (const auto& c : s.chains) {
        p.sample("solobridge_best_share_difficulty", {{"chain", c.id}, {"scope", "round"}}, c.best_round);
        p.sample("solobridge_best_share_difficulty", {{"chain", c.id}, {"scope", "all_time"}}, c.best_all_time);
    }
    p.family("solobridge_network_difficulty", "gauge", "Network difficulty of the current template.");
    for (const auto& c : s.chains) p.sample("solobridge_network_difficulty", {{"chain", c.id}}, c.tmpl.network_difficulty);
    p.family("solobridge_tip_height", "gauge", "Height of the tip the work builds on.");
    for (const auto& c : s.chains)
        if (c.tip_height) p.sample("solobridge_tip_height", {{"chain", c.id}}, *c.tip_height);
    p.family("solobridge_template_transactions", "gauge", "Transactions in the current template.");
    for (const auto& c : s.chains) p.sample("solobridge_template_transactions", {{"chain", c.id}}, c.tmpl.transactions);
    p.family("solobridge_template_fees", "gauge", "Fees of the current template, in base units.");
    for (const auto& c : s.chains) p.sample("solobridge_template_fees", {{"chain", c.id}}, static_cast<double>(c.tmpl.fees));
    p.family("solobridge_template_weight", "gauge", "Weight of the current template's transactions.");
    for (const auto& c : s.chains) p.sample("solobridge_template_weight", {{"chain", c.id}}, static_cast<double>(c.tmpl.weight));
    p.family("solobridge_template_coinbase_value", "gauge", "Coinbase value of the current template, in base units.");
    for (const auto& c : s.chains)
        p.sample("solobridge_template_coinbase_value", {{"chain", c.id}}, static_cast<double>(c.tmpl.coinbase_value));
    p.family("solobridge_node_up", "gauge", "1 while the node answers HTTP (its state says more).");
    for (const auto& c : s.chains)
        for (const auto& n : c.nodes) p.sample("solobridge_node_up", {{"chain", c.id}, {"node", n.rpc_url}}, n.reachable ? 1 : 0);
    p.family("solobridge_node_state", "gauge", "1 for the node's current state (only connected supplies work).");
    for (const auto& c : s.chains)
        for (const auto& n : c.nodes)
            for (const auto st : all_node_states) {
                const std::string_view name = node::to_string(st);
                p.sample("solobridge_node_state", {{"chain", c.id}, {"node", n.rpc_url}, {"state", name}}, n.state == name ? 1 : 0);
            }
    p.family("solobridge_node_active", "gauge", "1 for the node templates come from.");
    for (const auto& c : s.chains)
        for (const auto& n : c.nodes) p.sample("solobridge_node_active", {{"chain", c.id}, {"node", n.rpc_url}}, n.active ? 1 : 0);
    p.family("solobridge_p2p_peers_connected", "gauge", "P2P peers with a completed handshake.");
    for (const auto& c : s.chains) p.sample("solobridge_p2p_peers_connected", {{"chain", c.id}}, c.peers_connected);
    p.family("solobridge_stratum_connections", "gauge", "Open Stratum connections.");
    for (const auto& c : s.chains) {
        std::size_t n = 0;
        for (const auto& x : s.connections) n += x.chain == c.id;
        p.sample("solobridge_stratum_connections", {{"chain", c.id}}, static_cast<double>(n));
    }
    p.family("solobridge_workers", "gauge", "Workers by state.");
    for (const auto& c : s.chains) {
        p.sample("solobridge_workers", {{"chain", c.id}, {"state", "online"}}, c.workers_online);
        p.sample("solobridge_workers", {{"chain", c.id}, {"state", "idle"}}, c.workers_idle);
        p.sample("solobridge_workers", {{"chain", c.id}, {"state", "offline"}}, c.workers_offline);
    }
    p.family("solobridge_blocks_found_total", "counter", "Blocks found since start (the submitter's count).");
    for (const auto& c : s.chains) p.sample("solobridge_blocks_found_total", {{"chain", c.id}}, static_cast<double>(c.blocks.found));
    p.family("solobridge_blocks", "gauge", "Found blocks by their current fate (the submitter's counts).");
    for (const auto& c : s.chains) {
        const std::pair<const char*, std::uint64_t> fates[] = {
            {"pending", c.blocks.pending},   {"accepted", c.blocks.accepted}, {"confirmed", c.blocks.confirmed},
            {"orphaned", c.blocks.orphaned}, {"stale", c.blocks.stale},       {"rejected", c.blocks.rejected},
            {"abandoned", c.blocks.abandoned}};
        for (const auto& [fate, n] : fates) p.sample("solobridge_blocks", {{"chain", c.id}, {"status", fate}}, static_cast<double>(n));
    }
    p.family("solobridge_expected_block_seconds", "gauge", "Expected time to a block at the 1 h hashrate.");
    for (const auto& c : s.chains) p.sample("solobridge_expected_block_seconds", {{"chain", c.id}}, c.odds.expected_s);
    p.family("solobridge_block_probability", "gauge", "Chance of at least one block within the period at the 1 h hashrate.");
    for (const auto& c : s.chains) {
        p.sample("solobridge_block_probability", {{"chain", c.id}, {"period", "day"}}, c.odds.day);
        p.sample("solobridge_block_probability", {{"chain", c.id}, {"period", "week"}}, c.odds.week);
        p.sample("solobridge_block_probability", {{"chain", c.id}, {"period", "month"}}, c.odds.month);
        p.sample("solobridge_block_probability", {{"chain", c.id}, {"period", "year"}}, c.odds.year);
    }
    p.family("solobridge_device_hashrate_hashes_per_second", "gauge", "Hashes scanned per second by a local device (1 m).");
    for (const auto& c : s.chains)
        for (const auto& d : c.devices)
            p.sample("solobridge_device_hashrate_hashes_per_second",
                     {{"chain", c.id}, {"algorithm", d.algorithm}, {"device", d.id}}, d.hashrate_1m);
    p.family("solobridge_device_hardware_errors_total", "counter", "Device candidates the CPU did not confirm.");
    for (const auto& c : s.chains)
        for (const auto& d : c.devices)
            p.sample("solobridge_device_hardware_errors_total", {{"chain", c.id}, {"device", d.id}},
                     static_cast<double>(d.hardware_errors));
    p.family("solobridge_history_available", "gauge", "1 while the SQLite history is written.");
    p.sample("solobridge_history_available", {}, s.history.available ? 1 : 0);

    if (o.per_worker) {
        std::vector<const worker_view*> ws;
        for (const auto& w : s.workers) ws.push_back(&w);
        std::stable_sort(ws.begin(), ws.end(), [](auto* a, auto* b) { return a->rate[2] > b->rate[2]; });
        const std::size_t shown = std::min(ws.size(), o.max_workers);
        p.family("solobridge_metrics_workers_omitted", "gauge", "Workers left out of the per-worker series by the cap.");
        p.sample("solobridge_metrics_workers_omitted", {}, static_cast<double>(ws.size() - shown));
        // Per worker the 5 m, 1 h and 1 d windows only: the 1 m one is noise at a share every
        // few seconds, and 7 d is better taken from the history.
        p.family("solobridge_worker_hashrate_hashes_per_second", "gauge", "A worker's hashrate by window (5m, 1h, 1d).");
        auto algorithm_of = [&s](const std::string& chain) -> std::string_view {
            for (const auto& c : s.chains)
                if (c.id == chain) return c.algorithm;
            return {};
        };
        for (std::size_t i = 0; i < shown; ++i)
            for (const window k : {window::m5, window::h1, window::d1})
                p.sample("solobridge_worker_hashrate_hashes_per_second",
                         {{"chain", ws[i]->chain}, {"algorithm", algorithm_of(ws[i]->chain)}, {"worker", ws[i]->name},
                          {"window", window_name(k)}},
                         ws[i]->rate[static_cast<std::size_t>(k)]);
        p.family("solobridge_worker_shares_accepted_total", "counter", "A worker's accepted shares.");
        for (std::size_t i = 0; i < shown; ++i)
            p.sample("solobridge_worker_shares_accepted_total", {{"chain", ws[i]->chain}, {"worker", ws[i]->name}},
                     static_cast<double>(ws[i]->shares.accepted));
        p.family("solobridge_worker_shares_rejected_total", "counter", "A worker's rejected shares.");
        for (std::size_t i = 0; i < shown; ++i)
            p.sample("solobridge_worker_shares_rejected_total", {{"chain", ws[i]->chain}, {"worker", ws[i]->name}},
                     static_cast<double>(ws[i]->shares.rejected()));
        p.family("solobridge_worker_best_share_difficulty", "gauge", "A worker's all-time best share difficulty.");
        for (std::size_t i = 0; i < shown; ++i)
            p.sample("solobridge_worker_best_share_difficulty", {{"chain", ws[i]->chain}, {"worker", ws[i]->name}},
                     ws[i]->best_all_time);
        p.family("solobridge_worker_online", "gauge", "1 while a worker is online.");
        for (std::size_t i = 0; i < shown; ++i)
            p.sample("solobridge_worker_online", {{"chain", ws[i]->chain}, {"worker", ws[i]->name}},
                     ws[i]->state == worker_state::online ? 1 : 0);
    }
    return p.take();
}

}  // namespace sb::bridge::web
