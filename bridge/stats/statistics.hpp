// The bridge's statistics (issue 14): the share sink of every chain's dispatcher, and a
// thread of its own that turns the share events and the parts' status into a snapshot
// (snapshot.hpp) once a tick, tells subscribers what happened (events.hpp) and hands the
// history (history.hpp) what it must keep.
//
// Recording a share (share_sink::on_share, on the judging thread) is O(1) and takes no
// bridge-wide lock: the connection cell is found in a map sharded by consumer id (one of
// shard_count mutexes, held for a lookup), it caches its worker cell (found in a map
// sharded by name only when the worker name changes), each cell has its own mutex, and
// the chain's totals are striped over aggregate_stripes mutexes by consumer id. The tick
// thread reads the cells one at a time.
//
// Memory is bounded: at most options.max_workers worker cells per chain (shares of new
// names beyond that are folded into one "(other)" worker and counted), an offline worker
// leaves memory after options.forget_offline_after (it stays in the history, and its
// counters and best share come back from there when it returns), a connection cell leaves
// with its connection, and the lists of events and blocks are capped.
//
// Worker state: online while its last share is at most idle_after_intervals expected
// share intervals old (the interval from its difficulty and 5 m hashrate, or
// default_share_interval before any estimate); idle while connected and less than
// offline_after_intervals old; offline otherwise.
//
// Threading: on_share, on_template, on_block_found, latest and subscribe are thread-safe.
// add_chain, restore and set_history only before start. Listeners and publish callbacks
// run on the statistics thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sb/core/log.hpp"
#include "dispatch/dispatcher.hpp"
#include "dispatch/submitter.hpp"
#include "mining/device_worker.hpp"
#include "sb/node/p2p/peer_manager.hpp"
#include "sb/node/template.hpp"
#include "sb/node/template_failover.hpp"
#include "stats/events.hpp"
#include "stats/share_event.hpp"
#include "stats/snapshot.hpp"
#include "stratum/protocol.hpp"
#include "stratum/server.hpp"

namespace sb::bridge::stats {

class history;
struct restored_state;

// ---- limits ------------------------------------------------------------------------

inline constexpr std::size_t shard_count = 64;
inline constexpr std::size_t aggregate_stripes = 16;
// Events kept in memory for the dashboard (the history keeps them all, for a year).
inline constexpr std::size_t max_recent_events = 200;
// Found blocks kept in memory (the history keeps them all).
inline constexpr std::size_t max_blocks_in_memory = 1000;
// The name shares of new workers get once a chain holds max_workers.
inline constexpr std::string_view overflow_worker_name = "(other)";
// Worker series written to the history per chain per minute: the busiest ones.
inline constexpr std::size_t default_history_workers = 1000;

// The shortest time between two urgent ticks (statistics_options::min_tick_gap).
inline constexpr std::chrono::milliseconds default_min_tick_gap{200};

struct statistics_options {
    std::chrono::milliseconds tick{1000};
    // An urgent wake (a found block, a new tip) ticks at once, but never sooner than this
    // after the last urgent tick: where blocks come hundreds a second (regtest) the
    // statistics would otherwise tick without pause and send every dashboard each snapshot.
    std::chrono::milliseconds min_tick_gap = default_min_tick_gap;
    double idle_after_intervals = 6;
    double offline_after_intervals = 30;
    // The expected share interval before a worker has a hashrate estimate.
    std::chrono::milliseconds default_share_interval{10'000};
    std::chrono::seconds forget_offline_after{24 * 3600};
    std::size_t max_workers = 50'000;  // per chain
    // A hashrate drop: the 5 m hashrate below this share of the 1 h hashrate (0: none).
    double hashrate_drop_ratio = 0.5;
    // A second threshold, the alerts' (alerts.hashrate_drop_ratio; 0: none, and the same
    // as hashrate_drop_ratio: one): drops across it are events too, told apart by
    // event::ratio.
    double alert_drop_ratio = 0;
    std::size_t history_workers = default_history_workers;
    std::string version;
    std::function<std::chrono::system_clock::time_point()> clock;  // default: system clock
    logger log;                                                   // default: stderr
};

// What one chain shows, read at every tick (each callable thread-safe; empty ones are
// skipped). The app wires them to the chain's parts; tests script them.
struct chain_sources {
    std::string id;
    network net = network::bitcoin_regtest;
    config::payout_mode payout = config::payout_mode::fixed_address;
    std::vector<std::string> rpc_urls;  // the chain's nodes, in config order
    std::function<dispatcher_stats()> dispatcher;
    std::function<node::failover_status()> templates;
    std::function<submitter_status()> submitter;
    std::function<std::vector<stratum::session_stats>()> sessions;
    std::function<std::vector<stratum::ban_info>()> bans;
    std::function<std::vector<mining::device_worker_stats>()> devices;
    std::function<std::vector<node::p2p::peer_status>()> peers;
    std::function<bool()> header_only;
};

class statistics : public std::enable_shared_from_this<statistics> {
public:
    explicit statistics(statistics_options options);
    // stop()
    ~statistics();
    statistics(const statistics&) = delete;
    statistics& operator=(const statistics&) = delete;

    // Before start: a chain; returns its index (0, 1, ...).
    std::size_t add_chain(chain_sources sources);
    // The share sink of chain index (dispatcher_options.share_sink).
    std::shared_ptr<share_sink> sink(std::size_t chain);
    // Before start: the history to write to and what it restored (counters, best shares,
    // blocks, events). May be skipped: the statistics then live in memory only.
    void set_history(std::shared_ptr<history> h);
    void restore(const restored_state& r);

    // A template the chain's dispatcher took (template facts: transactions, fees, weight).
    // Wakes the tick when the height changed (a new tip goes out at once).
    void on_template(std::size_t chain, const node::block_template& t);
    // A block a share found (the block sink calls it after handing the block to the
    // submitter); wakes the tick at once. The block's difficulty comes with the share
    // event that follows (share_event::block).
    void on_block_found(std::size_t chain, const found_block& b);

    // An event from outside the statistics (the alerts' deliveries): shown, kept in the
    // history and told to subscribers like the statistics' own, at the next tick. Any
    // thread; at most max_recent_events wait for a tick (more are dropped).
    void note_event(event e) noexcept;

    // Subscribers of events (the alerts). Before or after start.
    void subscribe(std::shared_ptr<event_listener> l);
    // Called on the statistics thread with every new snapshot; urgent when the tick was
    // woken by a block, a new tip, a worker going offline or a node state change.
    using publish_fn = std::function<void(std::shared_ptr<const snapshot>, bool urgent)>;
    void on_publish(publish_fn f);

    // The newest snapshot (an empty one before the first tick). Never null.
    std::shared_ptr<const snapshot> latest() const;

    // Publishes a first snapshot on the caller's thread, then starts the statistics thread.
    void start();
    // Joins the thread after a last tick (which hands the history its final batch).
    void stop();
    // One tick on the caller's thread (tests; not while started).
    void tick_now();

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

// "ADDRESS" of "ADDRESS.worker" / "ADDRESS_worker" (address-username mode), "" when the
// username has no such form.
std::string payout_address_of(std::string_view worker);
// At most 128 characters of s, every byte outside printable ASCII replaced by '?'.
std::string printable_name(std::string_view s);

}  // namespace sb::bridge::stats
