#include "mining/device_worker.hpp"

#include <algorithm>
#include <cstdio>

#include "dispatch/job.hpp"
#include "mining/worker_state.hpp"
#include "sb/core/pow.hpp"
#include "sb/core/sha256.hpp"
#include "sb/core/uint256.hpp"

namespace sb::bridge::mining {

const char* to_string(device_worker_state s) noexcept {
    switch (s) {
        case device_worker_state::starting: return "starting";
        case device_worker_state::waiting: return "waiting";
        case device_worker_state::building_dag: return "building_dag";
        case device_worker_state::mining: return "mining";
        case device_worker_state::stopped: return "stopped";
        case device_worker_state::failed: return "failed";
    }
    return "unknown";
}

namespace {

using clock = worker_clock;

// Nonces in one header: the whole 32-bit nonce field.
constexpr std::uint64_t nonce_space = std::uint64_t(1) << 32;
// Hashes per share at difficulty 1 (2^256 / difficulty_1_target, to 5 digits).
constexpr double hashes_per_difficulty_1 = 4294967296.0 * 65536.0 / 65535.0;

}  // namespace

double device_share_difficulty(double rate, const uint256& network_target, std::chrono::milliseconds interval,
                               double min_difficulty) {
    const double net_diff = difficulty_from_target(network_target);
    double want = rate * seconds_of(interval) / hashes_per_difficulty_1;
    want = std::max(want, min_difficulty);
    return std::min(want, net_diff);
}

void device_worker::state::init(const gpu::device_info& info, const char* algorithm) {
    opt.intensity = std::clamp(opt.intensity, min_intensity, max_intensity);
    st.device_id = info.id;
    st.device_name = info.name;
    st.backend = info.backend;
    st.algorithm = algorithm;
    st.intensity = opt.intensity;
    if (opt.worker_name.empty()) opt.worker_name = "device " + info.id;
}

void device_worker::state::fail(const std::string& why, const std::string& context) {
    log("stopped: " + context + why, log_level::error);
    std::lock_guard lock(mu);
    st.state = device_worker_state::failed;
    st.last_error = why;
}

bool device_worker::state::take_job(const std::shared_ptr<const job>& cur, std::shared_ptr<const job>& next) {
    next.reset();
    std::unique_lock lock(mu);
    for (;;) {
        if (stop_requested) return false;
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
        return true;
    }
}

void device_worker::state::count_batch(std::uint64_t hashes, std::size_t candidates, std::uint64_t dropped,
                                       clock::time_point end) {
    std::lock_guard lock(mu);
    const double dt = seconds_of(end - last_rate_update);
    wall_1m.add(static_cast<double>(hashes), dt);
    wall_5m.add(static_cast<double>(hashes), dt);
    last_rate_update = end;
    st.hashes += hashes;
    ++st.batches;
    st.candidates += candidates;
    st.dropped_candidates += dropped;
}

void device_worker::state::count_hardware_error() {
    std::lock_guard lock(mu);
    ++st.hardware_errors;
}

bool device_worker::state::count_verdict(const share_result& res, const job& j) {
    {
        std::lock_guard lock(mu);
        if (res.status == share_status::accepted) ++st.shares_accepted;
        else ++st.shares_rejected;
        if (res.block) ++st.blocks;
    }
    if (res.status != share_status::accepted)
        log("share rejected: " + res.reason + " (job " + j.id + ")", log_level::warn);
    if (!res.block) return false;
    log("found a block at height " + std::to_string(j.height) + " (job " + j.id + ")");
    // Another block on the same parent could only compete with this one.
    paused_prev = j.prev_block;
    paused_until = clock::now() + block_pause;
    return true;
}

device_worker::device_worker(std::shared_ptr<dispatcher> d, std::unique_ptr<gpu::sha256d_searcher> searcher,
                             device_worker_options options)
    : s_(std::make_shared<state>()) {
    s_->d = std::move(d);
    s_->sha256d = std::move(searcher);
    s_->opt = std::move(options);
    s_->init(s_->sha256d->info(), "sha256d");
    s_->consumer->owner = s_;
}

device_worker::device_worker(std::shared_ptr<dispatcher> d, std::unique_ptr<gpu::kawpow_searcher> searcher,
                             device_worker_options options)
    : s_(std::make_shared<state>()) {
    s_->d = std::move(d);
    s_->kawpow = std::move(searcher);
    s_->opt = std::move(options);
    s_->init(s_->kawpow->info(), "kawpow");
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
    // A dataset generation in flight (minutes on a slow device) is abandoned; no search is.
    if (s.kawpow) s.kawpow->abort_generation();
    if (s.thread.joinable()) s.thread.join();
    s.d->remove_consumer(s.st.consumer);
    std::lock_guard lock(s.mu);
    if (s.st.state != device_worker_state::failed) s.st.state = device_worker_state::stopped;
}

device_worker_stats device_worker::stats() const {
    std::lock_guard lock(s_->mu);
    device_worker_stats out = s_->st;
    const double idle = seconds_of(clock::now() - s_->last_rate_update);
    out.hashrate_1m = s_->wall_1m.rate(idle);
    out.hashrate_5m = s_->wall_5m.rate(idle);
    return out;
}

void device_worker::state::run() {
    if (kawpow) run_kawpow();
    else run_sha256d();
    // The thread ends (stop or failure): the slot is freed now so that the dispatcher
    // stops posting jobs; stop() frees it again harmlessly.
    d->remove_consumer(st.consumer);
}

void device_worker::state::run_sha256d() {
    const bytes en1 = [&] {
        std::lock_guard lock(mu);
        return st.extranonce1;
    }();
    const consumer_id id = st.consumer;  // written before the thread started

    std::shared_ptr<const job> cur;
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

    // Header for (cur, en2_counter) at nonce 0.
    auto build_header = [&]() -> bool {
        en2.assign(cur->coinbase.extranonce2_size, 0);
        for (std::size_t i = 0; i < en2.size() && i < 8; ++i) en2[i] = static_cast<std::uint8_t>(en2_counter >> (8 * i));
        auto h = rebuild_header(*cur, en1, en2, cur->ntime, 0, cur->version);
        if (!h) {
            fail("cannot build a header for job " + cur->id + ": " + h.error().message());
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
            rate = static_cast<double>(sha256d->batch_size(intensity)) / seconds_of(nominal_batch_duration);
        share_diff = device_share_difficulty(rate, cur->target, opt.share_interval, opt.min_share_difficulty);
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
        if (!take_job(cur, next)) return;
        if (next) {
            if (next->kawpow) {
                fail("job " + next->id + " is a KAWPOW job: this device was opened for SHA-256d");
                return;
            }
            // A fresh extranonce2 for every job too: no header is ever searched twice.
            if (cur) ++en2_counter;
            cur = std::move(next);
            if (!build_header()) return;
            choose_difficulty(clock::now());
            std::lock_guard lock(mu);
            st.job_id = cur->id;
            st.job_height = cur->height;
            ++st.jobs;
        } else if (clock::now() - diff_chosen_at >= opt.share_interval) {
            choose_difficulty(clock::now());
        }

        const std::uint64_t count = std::min(sha256d->batch_size(intensity), nonce_space - scanned_in_header);
        const auto t0 = clock::now();
        std::string detail;
        auto r = sha256d->search(work, next_nonce, count, &detail);
        const auto t1 = clock::now();
        if (!r) {
            std::string why = r.error().message();
            if (!detail.empty()) why += ": " + detail;
            fail(why, "search failed: ");
            return;
        }
        busy.add(static_cast<double>(r->hashes), seconds_of(t1 - t0));
        count_batch(r->hashes, r->nonces.size(), r->dropped, t1);
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
                count_hardware_error();
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
            if (count_verdict(d->submit_share(id, sh), *cur)) break;
        }

        next_nonce = static_cast<std::uint32_t>(next_nonce + count);
        scanned_in_header += count;
        if (scanned_in_header >= nonce_space) {
            ++en2_counter;
            if (!build_header()) return;
        }
    }
}

}  // namespace sb::bridge::mining
