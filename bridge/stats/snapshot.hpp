// The typed state of the bridge the dashboard shows (issue 14): built once a tick by the
// statistics (statistics.hpp) from the share events, the Stratum sessions, the local
// devices, the dispatcher, the template source, the submitter and the P2P link, then
// served as it is by every endpoint (web/serialize.hpp: /api/status, /api/v1/*, the
// WebSocket and /metrics). Immutable once published; shared by pointer.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dispatch/work.hpp"
#include "stats/estimator.hpp"
#include "stats/events.hpp"

namespace sb::bridge::stats {

using time_point = std::chrono::system_clock::time_point;

// Accepted shares and rejected ones by reason (index: share_status, as dispatch/work.hpp).
struct share_counts {
    std::uint64_t accepted = 0;
    double accepted_difficulty = 0;  // the work done, in difficulty-1 shares
    std::array<std::uint64_t, share_status_count> by_status{};  // [accepted] unused
    std::uint64_t blocks = 0;  // shares that met the network target

    std::uint64_t rejected() const noexcept;
    // Stale (job_not_found) shares over all judged shares, in percent (0 without shares).
    double stale_percent() const noexcept;
    void add(const share_counts& o) noexcept;
};

// The name of a reject reason for APIs and metrics ("stale", "duplicate",
// "low_difficulty", "bad_ntime", ...); "accepted" for accepted.
const char* reason_name(share_status s) noexcept;

enum class worker_state : std::uint8_t { online, idle, offline };
const char* to_string(worker_state s) noexcept;

struct worker_view {
    std::string chain;
    std::string name;     // printable ASCII (text from a stranger: never markup)
    std::string address;  // address-username mode: the payout address part, else ""
    worker_state state = worker_state::offline;
    hashrates rate{};
    share_counts shares;
    double best_connection = 0;  // best share difficulty of its open connections
    double best_round = 0;       // since the chain's last found block
    double best_all_time = 0;    // persisted in the history
    std::optional<time_point> last_share;
    time_point first_seen{};
    std::uint32_t connections = 0;
    double difficulty = 0;         // the share difficulty in force (its newest connection)
    std::string user_agent;        // of its newest connection
    std::string firmware;          // firmware_family(user_agent)
    block_odds odds;
};

struct connection_view {
    std::string chain;
    std::uint64_t session = 0;  // the Stratum server's session id
    consumer_id consumer = 0;
    std::string remote;  // ip:port
    bool tls = false;
    std::string user_agent;
    std::string firmware;
    std::string worker;
    double difficulty = 0;
    std::uint32_t version_mask = 0;
    time_point connected_at{};
    hashrates rate{};
    share_counts shares;
    double best = 0;  // best share difficulty on this connection
    std::optional<time_point> last_share;
};

struct address_view {
    std::string chain;
    std::string address;
    std::uint32_t workers = 0;
    std::uint32_t online = 0;
    hashrates rate{};
    share_counts shares;
    double best_all_time = 0;
    std::optional<time_point> last_share;
    block_odds odds;
};

struct device_view {
    std::string chain;
    std::string id;  // "cpu", "opencl:0"
    std::string name;
    std::string backend;
    std::string algorithm;  // "sha256d", "kawpow"
    std::string state;
    std::string error;
    std::string worker;  // the worker name its shares carry
    unsigned intensity = 0;
    std::uint64_t hashes = 0;
    double hashrate_1m = 0;  // measured by the device (hashes scanned)
    double hashrate_5m = 0;
    std::uint64_t candidates = 0;
    std::uint64_t dropped_candidates = 0;
    std::uint64_t hardware_errors = 0;
    std::uint64_t shares_accepted = 0;
    std::uint64_t shares_rejected = 0;
    std::uint64_t blocks = 0;
    double share_difficulty = 0;
    std::string job_id;
    std::uint32_t job_height = 0;
    // KAWPOW: the dataset on the device (epoch -1: none yet), the epoch being switched to
    // and the next one prepared beside it (-1: none).
    int dag_epoch = -1;
    std::uint64_t dag_bytes = 0;
    double dag_seconds = 0;
    int dag_building_epoch = -1;
    double dag_progress = 0;
    int dag_next_epoch = -1;
};

struct peer_view {
    std::string address;
    std::string configured_as;
    bool connected = false;
    std::string user_agent;
    std::int32_t height = 0;
    std::optional<double> ping_ms;
    bool inbound = false;
    std::int64_t since = 0;
};

struct ban_view {
    std::string ip;
    std::int64_t until = 0;  // Unix seconds
    std::string reason;
    std::uint64_t refused = 0;
};

struct block_view {
    std::string chain;
    std::uint32_t height = 0;
    std::string hash;    // display order
    std::string status;  // the submitter's fate name ("pending", "accepted", ...)
    std::string reason;
    std::uint32_t attempts = 0;
    std::uint32_t confirmations = 0;  // while accepted or once confirmed; 0 when unknown
    std::string worker;  // who found it ("" when not known, e.g. found before a restart
                         // without history)
    std::optional<time_point> found_at;
    double difficulty = 0;  // the share's hash difficulty
};

struct template_view {
    std::uint32_t height = 0;
    std::uint32_t transactions = 0;
    std::int64_t fees = 0;  // base units; fees the node did not report count 0
    std::uint64_t weight = 0;  // of the transactions (without the coinbase)
    std::int64_t coinbase_value = 0;
    std::uint32_t bits = 0;
    double network_difficulty = 0;
    std::optional<time_point> received_at;
};

struct node_view {
    std::string rpc_url;
    // It answers HTTP (a refusal of the credentials included): state is neither
    // "connecting" nor "down"; state says more.
    bool reachable = false;
    std::string state;  // node_health.hpp: connected, connecting, down, unauthorized, ...
    std::string last_error;  // what is wrong now and what to do; empty while connected
    bool longpoll_active = false;
    std::uint64_t templates = 0;
    bool active = false;  // templates come from this node
};

// The submitter's counts: every found block under its current fate (found is their sum).
struct chain_blocks {
    std::uint64_t found = 0, pending = 0, accepted = 0, confirmed = 0, orphaned = 0, stale = 0, rejected = 0,
                  abandoned = 0;
    std::uint64_t in_flight = 0, parked = 0, watched = 0;
    std::vector<block_view> recent;  // the submitter's recent blocks, oldest first
};

struct chain_view {
    std::string id;
    std::string network;
    std::string coin;  // "bitcoin", "ravencoin"
    // What its blocks are mined with ("sha256d", "kawpow"): hashes of different algorithms
    // are not alike, so hashrates of chains of different algorithms never add up.
    std::string algorithm;
    node_view node;               // the node templates come from (the first when none does)
    std::vector<node_view> nodes;  // every configured node, in config order
    std::optional<std::uint32_t> tip_height;
    std::string tip_hash;
    std::uint32_t job_height = 0;
    std::string work_mode = "full";  // "header_only" while P2P templates stand in
    template_view tmpl;
    std::vector<peer_view> peers;
    std::uint32_t peers_connected = 0;
    std::uint64_t sessions = 0;
    std::vector<ban_view> bans;
    std::vector<device_view> devices;
    // Dispatcher totals since start (every consumer, gone ones included).
    std::uint64_t dispatcher_accepted = 0;
    std::uint64_t dispatcher_rejected = 0;
    chain_blocks blocks;
    // From the share events (restored from history across restarts).
    hashrates rate{};
    share_counts shares;
    double best_round = 0;
    double best_all_time = 0;
    block_odds odds;
    std::uint32_t workers_online = 0, workers_idle = 0, workers_offline = 0;
    std::optional<time_point> last_block_found;
};

struct history_view {
    bool enabled = false;    // stats.history on
    bool available = false;  // the database is open and writable
    std::string path;
    std::string error;       // why not available, or the last write error
    std::uint64_t batches_written = 0;
    std::uint64_t batches_dropped = 0;
};

struct snapshot {
    std::string version;
    time_point at{};
    time_point started_at{};
    std::uint64_t sequence = 0;  // increases with every published snapshot
    // Every chain's summed while they share one algorithm. With chains of different
    // algorithms (rate_mixed: SHA-256d and KAWPOW hashes are not alike) no sum exists and
    // every window is NaN (null in JSON): read the rate per chain.
    hashrates rate{};
    bool rate_mixed = false;
    std::vector<chain_view> chains;
    std::vector<worker_view> workers;  // sorted by chain, then name
    std::vector<connection_view> connections;
    std::vector<address_view> addresses;
    std::vector<event> events;  // the newest, oldest first
    // Found blocks the statistics know (this run's and the newest restored from the
    // history, max_blocks_in_memory at most), with worker and time; oldest first.
    std::vector<block_view> found_blocks;
    history_view history;
    std::uint32_t workers_tracked = 0;  // worker cells in memory
    std::uint64_t workers_folded = 0;   // shares of new workers folded into "(other)" at the cap
};

}  // namespace sb::bridge::stats
