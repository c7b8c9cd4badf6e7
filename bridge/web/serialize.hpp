// The one serializer of the statistics' snapshot (stats/snapshot.hpp): JSON for
// /api/status, /api/v1/* and the WebSocket, and Prometheus text for /metrics. Every
// endpoint shows the same snapshot through these functions, so they cannot disagree.
//
// Text from strangers (worker names, user agents, node errors) is written as JSON strings
// (escaped by the writer; "<" and ">" as \u003c / \u003e so that no consumer can take it
// for markup) and as escaped Prometheus label values. Non-finite numbers (an expected time
// to a block of "never") are written as null in JSON and +Inf in Prometheus text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stats/history.hpp"
#include "stats/snapshot.hpp"

namespace sb::bridge::web {

// GET /api/status (unchanged shape): {"version", "chains": [chain...]}.
std::string status_json(const stats::snapshot& s);
// GET /api/v1/status and the WebSocket's messages: the bridge summary, every chain, the
// worker counts, the history's state and the recent events; type is "snapshot" or
// "update" (WebSocket) or empty (API).
std::string summary_json(const stats::snapshot& s, std::string_view type = {});
// GET /api/v1/chains and /api/v1/chains/{id} (nullopt: no such chain).
std::string chains_json(const stats::snapshot& s);
std::optional<std::string> chain_json(const stats::snapshot& s, std::string_view id);

// GET /api/v1/workers: filter, sort and page.
struct worker_query {
    std::string chain;   // "" = every chain
    std::string state;   // "online", "idle", "offline" or "" = any
    std::string search;  // case-insensitive substring of the name, "" = any
    std::string address;
    std::string sort = "name";  // name, state, hashrate_5m, hashrate_1h, hashrate_1d, best,
                                // last_share, difficulty, rejected, stale
    bool descending = false;
    std::size_t offset = 0;
    std::size_t limit = 100;
};
inline constexpr std::size_t max_page_size = 1000;
// Fills q from query parameters; returns an error text for a bad one ("" when fine).
std::string parse_worker_query(const std::vector<std::pair<std::string, std::string>>& params, worker_query& q);
std::string workers_json(const stats::snapshot& s, const worker_query& q);
// GET /api/v1/workers/{chain}/{name}: the worker and its connections (nullopt: unknown).
std::optional<std::string> worker_json(const stats::snapshot& s, std::string_view chain, std::string_view name);
std::string connections_json(const stats::snapshot& s, std::size_t offset, std::size_t limit);
std::string addresses_json(const stats::snapshot& s);
std::string devices_json(const stats::snapshot& s);
// Found blocks, newest first: the history's merged with the statistics' records and the
// submitters' recent fates.
std::string blocks_json(const stats::snapshot& s, const std::vector<stats::block_view>& stored);
std::string events_json(const stats::snapshot& s);
std::string series_json(std::string_view scope, std::string_view key, std::int64_t step,
                        const std::vector<stats::series_sample>& points);

struct metrics_options {
    bool per_worker = false;
    std::size_t max_workers = 1000;  // the busiest by 1 h hashrate; the rest counted
};
// GET /metrics: Prometheus text exposition format 0.0.4.
std::string metrics_text(const stats::snapshot& s, const metrics_options& o);

// A Prometheus label value with \\, \" and \n escaped.
std::string prometheus_label(std::string_view v);

}  // namespace sb::bridge::web
