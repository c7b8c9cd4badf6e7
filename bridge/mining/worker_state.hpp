// Internal to the device worker (device_worker.cpp, kawpow_worker.cpp): what the worker's
// thread, the dispatcher's callbacks and stats() share, and the steps both algorithms' loops
// take alike (waiting for a job, counting batches and verdicts, failing).
#pragma once

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "dispatch/dispatcher.hpp"
#include "mining/device_worker.hpp"
#include "sb/core/uint256.hpp"

namespace sb::bridge::mining {

using worker_clock = std::chrono::steady_clock;

inline double seconds_of(worker_clock::duration d) { return std::chrono::duration<double>(d).count(); }

// A rate averaged with exponentially decaying weights: hashes and time decay alike, so
// the ratio has no start-up bias (no ramp from zero).
struct decayed_rate {
    double tau_s;
    double hashes = 0;
    double time_s = 0;

    void add(double h, double dt_s) {
        const double f = std::exp(-dt_s / tau_s);
        hashes = hashes * f + h;
        time_s = time_s * f + dt_s;
    }
    // The rate as it would be after idle_s more seconds without hashes.
    double rate(double idle_s = 0) const {
        const double f = std::exp(-idle_s / tau_s);
        const double t = time_s * f + idle_s;
        return t > 0 ? hashes * f / t : 0;
    }
};

// The share difficulty of a device hashing `rate` hashes/s: one share per `interval`, at
// least min_difficulty, at most the network difficulty of network_target (so every block is
// a share). Both algorithms' Stratum difficulties use Bitcoin's difficulty-1 target.
double device_share_difficulty(double rate, const uint256& network_target, std::chrono::milliseconds interval,
                               double min_difficulty);

struct device_worker::state : std::enable_shared_from_this<device_worker::state> {
    // What the dispatcher holds (weakly): it only stores the newest job.
    struct inbox final : work_consumer {
        std::weak_ptr<state> owner;
        void on_job(std::shared_ptr<const job> j) override {
            if (auto s = owner.lock()) {
                {
                    std::lock_guard lock(s->mu);
                    s->newest = std::move(j);
                    ++s->job_seq;
                }
                s->cv.notify_all();
            }
        }
    };

    std::shared_ptr<dispatcher> d;
    // Exactly one of the two.
    std::unique_ptr<gpu::sha256d_searcher> sha256d;
    std::unique_ptr<gpu::kawpow_searcher> kawpow;
    device_worker_options opt;
    std::shared_ptr<inbox> consumer = std::make_shared<inbox>();
    std::thread thread;
    bool started = false;

    mutable std::mutex mu;  // guards everything below up to the thread-only part
    std::condition_variable cv;
    std::shared_ptr<const job> newest;
    std::uint64_t job_seq = 0;
    bool stop_requested = false;
    device_worker_stats st;
    decayed_rate wall_1m{60}, wall_5m{300};  // hashes over wall time (dashboard)
    worker_clock::time_point last_rate_update = worker_clock::now();

    // ---- the worker thread only ----
    std::uint64_t seen_seq = 0;
    std::optional<hash256> paused_prev;  // a block was found on this parent
    worker_clock::time_point paused_until{};

    void init(const gpu::device_info& info, const char* algorithm);

    void log(const std::string& text, log_level level = log_level::info) const {
        opt.log.write(level, "device " + st.device_id + ": " + text);
    }
    bool stopping() const {
        std::lock_guard lock(mu);
        return stop_requested;
    }
    // Logs "stopped: <context><why>" and marks the worker failed with why (its last_error).
    void fail(const std::string& why, const std::string& context = {});

    // The job to mine now, at a batch boundary: waits while there is none or while paused
    // after a block on its parent. Sets next when it differs from cur (a new job to switch
    // to), leaves it null otherwise. False when stop was asked.
    bool take_job(const std::shared_ptr<const job>& cur, std::shared_ptr<const job>& next);
    // One search call's figures into the statistics; end: when it returned.
    void count_batch(std::uint64_t hashes, std::size_t candidates, std::uint64_t dropped, worker_clock::time_point end);
    void count_hardware_error();
    // The dispatcher's verdict on a submitted share; true when it found a block (the worker
    // then pauses on that parent).
    bool count_verdict(const share_result& res, const job& j);

    void run();
    void run_sha256d();
    void run_kawpow();
};

}  // namespace sb::bridge::mining
