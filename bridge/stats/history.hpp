// The statistics' history (issue 14 "History"): one SQLite database in data_dir
// (stats.sqlite, WAL), holding found blocks and their fates, every worker's and chain's
// counters and all-time best share, hashrate series and events.
//
// Series: 1-minute points for 24 hours, 10-minute points for 30 days, hourly points for a
// year; older points are pruned (so are events older than a year). A point holds the mean
// of the 1 m hashrates sampled into it and the shares accepted and rejected in it.
//
// Writes happen in batches on the history's own thread, one transaction per batch (the
// statistics hand it one a tick, about one a second), never on the caller's thread:
// enqueue only moves the batch into a bounded queue (a disk slower than the ticks drops
// the oldest batches, counted). Reads for the API run on a reader thread of their own
// with a read-only connection (WAL: readers never wait for the writer).
//
// The schema carries its version in PRAGMA user_version; open() migrates older files
// step by step in one transaction each. A file that is not a database, is corrupt, is
// newer than this build, or cannot be written leaves the history unavailable with the
// reason in status(): the bridge mines on with its statistics in memory (never deleting
// or overwriting the file; the operator moves it away).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sb/core/log.hpp"
#include "stats/snapshot.hpp"

namespace sb::bridge::stats {

// ---- limits ------------------------------------------------------------------------

inline constexpr int history_schema_version = 2;
// Batches waiting for the writer; beyond it the oldest is dropped.
inline constexpr std::size_t max_queued_batches = 120;
// Retention per step (seconds → how long its points are kept).
inline constexpr std::int64_t step_minute = 60, step_ten_minutes = 600, step_hour = 3600;
inline constexpr std::chrono::hours keep_minute_points{24};
inline constexpr std::chrono::hours keep_ten_minute_points{24 * 30};
inline constexpr std::chrono::hours keep_hour_points{24 * 365};
inline constexpr std::chrono::hours keep_events{24 * 365};
// Points one series query returns at most.
inline constexpr std::size_t max_series_points = 10'000;
// Worker rows read back at open (the most recently active ones).
inline constexpr std::size_t max_restored_workers = 200'000;

// A worker's (or, worker empty, a chain's) totals as the history keeps them.
struct counter_row {
    std::string chain;
    std::string worker;
    share_counts shares;
    double best_all_time = 0;
    std::optional<time_point> last_share;
    time_point first_seen{};
};

// One sample into the series of scope "bridge" (key ""), "chain" (key: chain id) or
// "worker" (key: "chain/worker"). t: Unix seconds of the sample; the history files it
// into the minute, ten-minute and hour buckets that hold t.
struct series_point {
    std::string scope;
    std::string key;
    std::int64_t t = 0;
    double hashrate = 0;
    std::uint64_t accepted = 0;
    std::uint64_t rejected = 0;
};

struct history_batch {
    std::vector<event> events;
    std::vector<block_view> blocks;  // inserted or updated by hash
    std::vector<counter_row> chains;
    std::vector<counter_row> workers;
    std::vector<series_point> points;
    bool empty() const noexcept {
        return events.empty() && blocks.empty() && chains.empty() && workers.empty() && points.empty();
    }
};

// What open() read back.
struct restored_state {
    std::vector<counter_row> chains;
    std::vector<counter_row> workers;
    std::vector<block_view> blocks;  // oldest first, at most max_blocks_in_memory
    std::vector<event> events;       // oldest first, the newest 200
};

// A point of a series as the API returns it (t: the bucket's start).
struct series_sample {
    std::int64_t t = 0;
    double hashrate = 0;
    std::uint64_t accepted = 0;
    std::uint64_t rejected = 0;
};

class history {
public:
    // Opens (creating or migrating) path and starts the writer and reader threads. Never
    // fails: on any error the history is unavailable (status().error says why) and
    // enqueue/queries do nothing. The restored state is in restored(). log: where an
    // unusable database (error) and a failed write (warn) are said; default stderr.
    static std::shared_ptr<history> open(const std::string& path, logger log = {});
    ~history();
    history(const history&) = delete;
    history& operator=(const history&) = delete;

    // What the database held at open.
    const restored_state& restored() const noexcept { return restored_; }
    // Thread-safe, O(1) apart from the move.
    void enqueue(history_batch b);
    // Reads a series on the reader thread and calls done there with the points in
    // [from, to) of the given step (60, 600 or 3600), oldest first, at most
    // max_series_points. Unavailable history: done with an empty vector.
    using series_done = std::function<void(std::vector<series_sample>)>;
    void query_series(std::string scope, std::string key, std::int64_t from, std::int64_t to, std::int64_t step,
                      series_done done);
    // Blocks in the database, newest first (reader thread).
    using blocks_done = std::function<void(std::vector<block_view>)>;
    void query_blocks(std::size_t limit, blocks_done done);

    history_view status() const;
    // Writes what is queued, then stops both threads. Idempotent.
    void stop();
    // Waits until every batch enqueued so far is written (tests).
    void flush();

    // Prunes points and events older than their retention relative to now (the writer
    // does it once a minute; tests call it through a batch's time).
    static constexpr std::int64_t retention_s(std::int64_t step) noexcept {
        return step == step_minute        ? std::chrono::seconds(keep_minute_points).count()
               : step == step_ten_minutes ? std::chrono::seconds(keep_ten_minute_points).count()
                                          : std::chrono::seconds(keep_hour_points).count();
    }
    // Tests: prune as if the time were now_s.
    void prune_now(std::int64_t now_s);

private:
    history() = default;
    struct impl;
    std::shared_ptr<impl> impl_;
    restored_state restored_;
};

}  // namespace sb::bridge::stats
