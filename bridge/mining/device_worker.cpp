#include "mining/device_worker.hpp"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>

#include "dispatch/job.hpp"
#include "sb/core/pow.hpp"
#include "sb/core/sha256.hpp"
#include "sb/core/uint256.hpp"

namespace sb::bridge::mining {

const char* to_string(device_worker_state s) noexcept {
    switch (s) {
        case device_worker_state::starting: return "starting";
        case device_worker_state::waiting: return "waiting";
        case device_worker_state::mining: return "mining";
        case device_worker_state::stopped: return "stopped";
        case device_worker_state::failed: return "failed";
    }
    return "unknown";
}

namespace {

using clock = std::chrono::steady_clock;

// Nonces in one header: the whole 32-bit nonce field.
constexpr std::uint64_t nonce_space = std::uint64_t(1) << 32;
// Hashes per share at difficulty 1 (2^256 / difficulty_1_target, to 5 digits).
constexpr double hashes_per_difficulty_1 = 4294967296.0 * 65536.0 / 65535.0;

double seconds(clock::duration d) { return std::chrono::duration<double>(d).count(); }

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

}  // namespace

// Everything the thread, the dispatcher's callbacks and stats() share.
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
    std::unique_ptr<gpu::sha256d_searcher> searcher;
    device_worker_options opt;
    std::shared_ptr<inbox> consumer = std::make_shared<inbox>();
    std::thread thread;
    bool started = false;

    mutable std::mutex mu;  // guards everything below
    std::condition_variable cv;
    std::shared_ptr<const job> newest;
    std::uint64_t job_seq = 0;
    bool stop_requested = false;
    device_worker_stats st;
    decayed_rate wall_1m{60}, wall_5m{300};  // hashes over wall time (dashboard)
    clock::time_point last_rate_update = clock::now();

    void log(const std::string& text) const {
        const std::string line = "device " + st.device_id + ": " + text;
        opt.log(line);
    }

    void set_state(device_worker_state s) {
        std::lock_guard lock(mu);
        st.state = s;
    }

    void run();
};

device_worker::device_worker(std::shared_ptr<dispatcher> d, std::unique_ptr<gpu::sha256d_searcher> searcher,
                             device_worker_options options)
    : s_(std::make_shared<state>()) {
    s_->d = std::move(d);
    s_->searcher = std::move(searcher);
    s_->opt = std::move(options);
    s_->opt.intensity = std::clamp(s_->opt.intensity, min_intensity, max_intensity);
    const auto& info = s_->searcher->info();
    s_->st.device_id = info.id;
    s_->st.device_name = info.name;
    s_->st.backend = info.backend;
    s_->st.intensity = s_->opt.intensity;
    if (s_->opt.worker_name.empty()) s_->opt.worker_name = "device " + info.id;
    s_->consumer->owner = s_;
}

device_worker::~device_worker() { stop(); }

std::error_code device_worker::start() {
    state& s = *s_;
    if (s.started) return {};
    const consumer_slot slot = s.d->add_consumer(s.consumer);
    if (slot.id == 0) return dispatch_errc::unknown_consumer;  // no extranonce1 left
    if (!s.opt.payout_script.empty()) {
        if (auto ec = s.d->set_payout(slot.id, s.opt.payout_script)) {
            s.d->remove_consumer(slot.id);
            return ec;
        }
    }
    auto first = s.d->current_job(slot.id);
    {
        std::lock_guard lock(s.mu);
        s.st.consumer = slot.id;
        s.st.extranonce1 = slot.extranonce1;
        s.st.state = device_worker_state::waiting;
        if (!s.newest && first) {
            s.newest = std::move(first);
            ++s.job_seq;
        }
        s.last_rate_update = clock::now();
    }
    s.started = true;
    s.thread = std::thread([p = s_] { p->run(); });
    return {};
}

void device_worker::stop() {
    state& s = *s_;
    if (!s.started) return;
    {
        std::lock_guard lock(s.mu);
        s.stop_requested = true;
    }
    s.cv.notify_all();
    if (s.thread.joinable()) s.thread.join();
    s.d->remove_consumer(s.st.consumer);
    std::lock_guard lock(s.mu);
    if (s.st.state != device_worker_state::failed) s.st.state = device_worker_state::stopped;
}

device_worker_stats device_worker::stats() const {
    std::lock_guard lock(s_->mu);
    device_worker_stats out = s_->st;
    const double idle = seconds(clock::now() - s_->last_rate_update);
    out.hashrate_1m = s_->wall_1m.rate(idle);
    out.hashrate_5m = s_->wall_5m.rate(idle);
    return out;
}

void device_worker::state::run() {
    const bytes en1 = [&] {
        std::lock_guard lock(mu);
        return st.extranonce1;
    }();
    const consumer_id id = st.consumer;  // written before the thread started

    std::shared_ptr<const job> cur;
    std::uint64_t seen_seq = 0;
    std::uint64_t en2_counter = 0;
    bytes en2;
    std::uint32_t next_nonce = 0;
    std::uint64_t scanned_in_header = 0;  // nonces of this header already searched
    gpu::sha256d_work work;
    unsigned intensity = opt.intensity;
    // Device speed over the time spent in search calls (share difficulty); before the
    // first call it is assumed that a batch takes nominal_batch_duration.
    decayed_rate busy{60};
    double share_diff = 0;
    uint256 submit_target;  // max(share target, network target)
    clock::time_point diff_chosen_at{};
    std::optional<hash256> paused_prev;  // a block was found on this parent
    clock::time_point paused_until{};

    // Header for (cur, en2_counter) at nonce 0.
    auto build_header = [&]() -> bool {
        en2.assign(cur->coinbase.extranonce2_size, 0);
        for (std::size_t i = 0; i < en2.size() && i < 8; ++i) en2[i] = static_cast<std::uint8_t>(en2_counter >> (8 * i));
        auto h = rebuild_header(*cur, en1, en2, cur->ntime, 0, cur->version);
        if (!h) {
            const std::string why = "cannot build a header for job " + cur->id + ": " + h.error().message();
            log("stopped: " + why);
            std::lock_guard lock(mu);
            st.state = device_worker_state::failed;
            st.last_error = why;
            return false;
        }
        work.header = h->serialize();
        next_nonce = 0;
        scanned_in_header = 0;
        std::lock_guard lock(mu);
        st.extranonce2 = en2_counter;
        return true;
    };

    auto choose_difficulty = [&](clock::time_point now) {
        double rate = busy.rate();
        if (rate <= 0)
            rate = static_cast<double>(searcher->batch_size(intensity)) / seconds(nominal_batch_duration);
        const double net_diff = difficulty_from_target(cur->target);
        double want = rate * seconds(opt.share_interval) / hashes_per_difficulty_1;
        want = std::max(want, min_share_difficulty);
        share_diff = std::min(want, net_diff);
        const uint256 share_target = target_from_difficulty(share_diff);
        submit_target = cur->target < share_target ? share_target : cur->target;
        work.target_word = submit_target.limb(7);
        diff_chosen_at = now;
        std::lock_guard lock(mu);
        st.share_difficulty = share_diff;
    };

    for (;;) {
        // Take the newest job at this batch boundary (or wait for one).
        std::shared_ptr<const job> next;
        {
            std::unique_lock lock(mu);
            for (;;) {
                if (stop_requested) return;
                const bool fresh = job_seq != seen_seq;
                const auto candidate = fresh ? newest : cur;
                if (candidate && paused_prev) {
                    if (candidate->prev_block == *paused_prev && clock::now() < paused_until) {
                        st.state = device_worker_state::waiting;
                        cv.wait_until(lock, paused_until);
                        continue;
                    }
                    paused_prev.reset();
                }
                if (!candidate) {
                    st.state = device_worker_state::waiting;
                    cv.wait(lock);
                    continue;
                }
                if (fresh) {
                    seen_seq = job_seq;
                    if (candidate != cur) next = candidate;
                }
                st.state = device_worker_state::mining;
                break;
            }
        }
        if (next) {
            // A fresh extranonce2 for every job too: no header is ever searched twice.
            if (cur) ++en2_counter;
            cur = std::move(next);
            if (!build_header()) break;
            choose_difficulty(clock::now());
            std::lock_guard lock(mu);
            st.job_id = cur->id;
            st.job_height = cur->height;
            ++st.jobs;
        } else if (clock::now() - diff_chosen_at >= opt.share_interval) {
            choose_difficulty(clock::now());
        }

        const std::uint64_t count = std::min(searcher->batch_size(intensity), nonce_space - scanned_in_header);
        const auto t0 = clock::now();
        std::string detail;
        auto r = searcher->search(work, next_nonce, count, &detail);
        const auto t1 = clock::now();
        if (!r) {
            std::string why = r.error().message();
            if (!detail.empty()) why += ": " + detail;
            log("stopped: search failed: " + why);
            std::lock_guard lock(mu);
            st.state = device_worker_state::failed;
            st.last_error = why;
            break;
        }
        busy.add(static_cast<double>(r->hashes), seconds(t1 - t0));
        {
            std::lock_guard lock(mu);
            const double dt = seconds(t1 - last_rate_update);
            wall_1m.add(static_cast<double>(r->hashes), dt);
            wall_5m.add(static_cast<double>(r->hashes), dt);
            last_rate_update = t1;
            st.hashes += r->hashes;
            ++st.batches;
            st.candidates += r->nonces.size();
            st.dropped_candidates += r->dropped;
        }
        if (t1 - t0 > max_batch_duration && intensity > min_intensity) {
            --intensity;
            log("a search call took " + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(t1 - t0).count()) +
                " ms; intensity lowered to " + std::to_string(intensity));
            std::lock_guard lock(mu);
            st.intensity = intensity;
        }

        // Every candidate is re-hashed here before anything is believed.
        for (const std::uint32_t nonce : r->nonces) {
            auto header = work.header;
            header[76] = static_cast<std::uint8_t>(nonce);
            header[77] = static_cast<std::uint8_t>(nonce >> 8);
            header[78] = static_cast<std::uint8_t>(nonce >> 16);
            header[79] = static_cast<std::uint8_t>(nonce >> 24);
            const uint256 hash = uint256::from_hash(sha256d_header(header.data()));
            if (hash.limb(7) > work.target_word) {
                std::lock_guard lock(mu);
                ++st.hardware_errors;
                continue;
            }
            if (submit_target < hash) continue;  // a candidate by its top word only
            share sh;
            sh.job_id = cur->id;
            sh.extranonce2 = en2;
            sh.ntime = cur->ntime;
            sh.nonce = nonce;
            sh.version = cur->version;
            sh.version_mask = 0;
            sh.difficulty = share_diff;
            sh.worker = opt.worker_name;
            const share_result res = d->submit_share(id, sh);
            {
                std::lock_guard lock(mu);
                if (res.status == share_status::accepted) ++st.shares_accepted;
                else ++st.shares_rejected;
                if (res.block) ++st.blocks;
            }
            if (res.status != share_status::accepted)
                log("share rejected: " + res.reason + " (job " + cur->id + ")");
            if (res.block) {
                log("found a block at height " + std::to_string(cur->height) + " (job " + cur->id + ")");
                // Another block on the same parent could only compete with this one.
                paused_prev = cur->prev_block;
                paused_until = clock::now() + block_pause;
                break;
            }
        }

        next_nonce = static_cast<std::uint32_t>(next_nonce + count);
        scanned_in_header += count;
        if (scanned_in_header >= nonce_space) {
            ++en2_counter;
            if (!build_header()) break;
        }
    }
    // The thread ends (stop or failure): the slot is freed now so that the dispatcher
    // stops posting jobs; stop() frees it again harmlessly.
    d->remove_consumer(id);
}

}  // namespace sb::bridge::mining
