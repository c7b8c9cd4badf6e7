// The device worker's KAWPOW loop (device_worker.hpp): the dataset of the job's epoch on the
// device, batches of the worker's own 64-bit nonce range, every candidate light-verified on
// the CPU with the searched job's program before it is submitted.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <future>

#include "dispatch/job.hpp"
#include "mining/worker_state.hpp"
#include "sb/core/pow.hpp"
#include "sb/pow/ethash.hpp"
#include "sb/pow/kawpow.hpp"

namespace sb::bridge::mining {

namespace {

using clock = worker_clock;

// How often a worker waiting for an epoch context looks at its stop flag.
constexpr std::chrono::milliseconds context_poll{100};
// The share difficulty is chosen again at once when the searcher's measured rate moved by
// more than this factor from the rate it was chosen with (the first batches of a period or
// a device: one launch granule, then the real rate).
constexpr double rechoose_rate_factor = 2.0;

std::string gib(std::uint64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
    return buf;
}

std::string error_line(std::error_code ec, const std::string& detail) {
    return detail.empty() ? ec.message() : ec.message() + ": " + detail;
}

}  // namespace

void device_worker::state::run_kawpow() {
    const bytes en1 = [&] {
        std::lock_guard lock(mu);
        return st.extranonce1;
    }();
    const consumer_id id = st.consumer;  // written before the thread started
    if (en1.empty() || en1.size() >= 8) {
        fail("the dispatcher gave a " + std::to_string(en1.size()) + "-byte nonce prefix: this is not a KAWPOW chain");
        return;
    }
    // This worker's nonces: en1 in the top bytes, the rest counted by `offset`, which goes on
    // across jobs (2^48 nonces: about 20 days at 160 MH/s before it wraps, long after the
    // header changed: a job's time moves at least every job_refresh_interval).
    const unsigned shift = 64 - 8 * static_cast<unsigned>(en1.size());
    std::uint64_t prefix = 0;
    for (const std::uint8_t b : en1) prefix = (prefix << 8) | b;
    prefix <<= shift;
    const std::uint64_t range = std::uint64_t{1} << shift;
    std::uint64_t offset = 0;

    std::shared_ptr<const job> cur;
    pow::ethash::context_ptr ctx;  // the epoch of the dataset on the device
    std::uint32_t items = 0;       // its 1024-bit items (the CPU check reads as many)
    sb_progpow_program program{};  // cur's period program (the CPU check)
    gpu::kawpow_work work;
    unsigned intensity = opt.intensity;
    double share_diff = 0;
    double diff_rate = 0;   // the device rate share_diff was chosen for
    uint256 submit_target;  // max(share target, network target) = work.boundary
    clock::time_point diff_chosen_at{};
    bool hardware_error_logged = false;  // per job
    int prepared_epoch = -1;             // a preparation ahead was started for this epoch
    int unfit_epoch = -1;                // ... or refused for lack of memory (logged once)

    auto items_of = [&](const pow::ethash::epoch_context& c) {
        const std::uint32_t full = c.full_dataset_num_items();
        return opt.kawpow_dataset_items_1024 == 0 ? full : std::min(opt.kawpow_dataset_items_1024, full);
    };

    // The epoch context from the global cache, built on a thread of its own (the dispatcher's
    // algorithm usually started it when the template came); null when stop was asked meanwhile
    // or the build failed (then the worker has failed).
    auto context_for = [&](int epoch) -> pow::ethash::context_ptr {
        auto ready = pow::ethash::global_epoch_cache().get_async(epoch);
        while (ready.wait_for(context_poll) != std::future_status::ready)
            if (stopping()) return nullptr;
        try {
            return ready.get();
        } catch (const std::exception& e) {
            fail("the epoch " + std::to_string(epoch) + " context cannot be built: " + e.what());
            return nullptr;
        }
    };

    // Makes the device hold the dataset of `for_job`'s epoch. False when the worker stops
    // (asked to, or the device cannot hold or build it: failed with the reason). While it
    // builds, the status names the job it builds for: the device searches nothing else.
    auto switch_dataset = [&](const job& for_job) -> bool {
        const int epoch = for_job.kawpow->epoch;
        {
            std::lock_guard lock(mu);
            st.state = device_worker_state::building_dag;
            st.dag_building_epoch = epoch;
            st.dag_progress = 0;
            st.job_id = for_job.id;
            st.job_height = for_job.height;
        }
        auto c = context_for(epoch);
        if (!c) return false;
        const gpu::kawpow_dataset ds{c, items_of(*c)};
        const bool prepared = prepared_epoch == epoch;
        log("switching to the epoch " + std::to_string(epoch) + " dataset (" + gib(ds.bytes()) + ")" +
            (prepared ? ", prepared ahead" : ": generating it on the device"));
        auto quarter = std::make_shared<int>(0);
        auto progress = [this, epoch, quarter](std::string_view, double fraction) {
            {
                std::lock_guard lock(mu);
                st.dag_progress = fraction;
            }
            const int q = static_cast<int>(fraction * 4);
            if (q > *quarter && q < 4) {
                *quarter = q;
                log("epoch " + std::to_string(epoch) + " dataset " + std::to_string(q * 25) + "%");
            }
        };
        std::string detail;
        if (const auto ec = kawpow->use_dataset(ds, progress, &detail)) {
            if (ec == gpu::gpu_errc::cancelled && stopping()) return false;
            fail("the epoch " + std::to_string(epoch) + " dataset: " + error_line(ec, detail));
            return false;
        }
        ctx = std::move(c);
        items = ds.items_1024;
        prepared_epoch = -1;  // used, or dropped by the switch to another epoch
        const double secs = kawpow->last_generation_seconds();
        char took[64];
        std::snprintf(took, sizeof took, "%.2f s", secs);
        log("epoch " + std::to_string(epoch) + " dataset ready (generated on the device in " + took + ")");
        std::lock_guard lock(mu);
        st.state = device_worker_state::mining;
        st.dag_epoch = epoch;
        st.dag_bytes = ds.bytes();
        st.dag_seconds = secs;
        st.dag_building_epoch = -1;
        st.dag_progress = 0;
        st.dag_next_epoch = -1;
        ++st.dag_switches;
        return true;
    };

    // Near the end of the dataset's epoch: the next epoch's dataset generated beside it when
    // the device has room for both (once its context is built; asked again each batch).
    auto prepare_next = [&] {
        const int next_epoch = ctx->epoch() + 1;
        if (next_epoch > pow::ethash::max_epoch || prepared_epoch == next_epoch || unfit_epoch == next_epoch) return;
        if (cur->height % pow::ethash::epoch_length < pow::ethash::epoch_length - kawpow_prepare_blocks) return;
        auto ready = pow::ethash::global_epoch_cache().get_async(next_epoch);
        if (ready.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return;
        pow::ethash::context_ptr c;
        try {
            c = ready.get();
        } catch (const std::exception&) {
            return;  // the switch at the boundary builds it again and says why it cannot
        }
        const gpu::kawpow_dataset ds{c, items_of(*c)};
        if (!kawpow->prepare_dataset(ds)) {
            unfit_epoch = next_epoch;
            log("the epoch " + std::to_string(next_epoch) + " dataset (" + gib(ds.bytes()) +
                ") does not fit beside the current one: it is generated at the epoch boundary, and mining "
                "pauses meanwhile",
                log_level::warn);
            return;
        }
        prepared_epoch = next_epoch;
        log("preparing the epoch " + std::to_string(next_epoch) + " dataset beside the current one");
        std::lock_guard lock(mu);
        st.dag_next_epoch = next_epoch;
    };

    auto device_rate = [&] {
        const double r = kawpow->measured_rate();
        return r > 0 ? r : static_cast<double>(kawpow->batch_size(intensity)) / seconds_of(nominal_batch_duration);
    };
    auto choose_difficulty = [&](clock::time_point now) {
        diff_rate = device_rate();
        share_diff = device_share_difficulty(diff_rate, cur->target, opt.share_interval, opt.min_share_difficulty);
        const uint256 share_target = target_from_difficulty(share_diff);
        submit_target = cur->target < share_target ? share_target : cur->target;
        submit_target.to_be_bytes(work.boundary.data());
        diff_chosen_at = now;
        std::lock_guard lock(mu);
        st.share_difficulty = share_diff;
    };

    for (;;) {
        // Take the newest job at this batch boundary (or wait for one).
        std::shared_ptr<const job> next;
        if (!take_job(cur, next)) return;
        if (next) {
            if (!next->kawpow) {
                fail("job " + next->id + " is not a KAWPOW job: this device was opened for KAWPOW");
                return;
            }
            // The dataset first: the searcher refuses work of another epoch, and the CPU
            // check below reads the same epoch's context.
            if (!ctx || next->kawpow->epoch != ctx->epoch())
                if (!switch_dataset(*next)) return;
            cur = std::move(next);
            program = pow::kawpow::program_for_height(cur->height);
            work.header_hash = cur->kawpow->header_hash;
            work.height = cur->height;
            hardware_error_logged = false;
            choose_difficulty(clock::now());
            std::lock_guard lock(mu);
            st.job_id = cur->id;
            st.job_height = cur->height;
            ++st.jobs;
        } else {
            const double rate = device_rate();
            if (clock::now() - diff_chosen_at >= opt.share_interval || rate > diff_rate * rechoose_rate_factor ||
                rate * rechoose_rate_factor < diff_rate)
                choose_difficulty(clock::now());
        }
        prepare_next();

        const std::uint64_t count = std::min(kawpow->batch_size(intensity), range - offset);
        const std::uint64_t start = prefix | offset;
        std::string detail;
        auto r = kawpow->search(work, start, count, &detail);
        const auto t1 = clock::now();
        if (!r) {
            fail(error_line(r.error(), detail), "search failed: ");
            return;
        }
        count_batch(r->hashes, r->candidates.size(), r->dropped, t1);
        // Judged at the measured rate, which leaves out a period kernel's compile inside the call.
        const double rate = kawpow->measured_rate();
        if (rate > 0 && static_cast<double>(count) / rate > seconds_of(max_batch_duration) && intensity > min_intensity) {
            --intensity;
            log("a batch of " + std::to_string(count) + " nonces takes " +
                std::to_string(static_cast<long long>(static_cast<double>(count) / rate * 1000)) +
                " ms; intensity lowered to " + std::to_string(intensity));
            std::lock_guard lock(mu);
            st.intensity = intensity;
        }

        // Every candidate is light-verified here, with this batch's job, before it goes anywhere.
        for (const auto& c : r->candidates) {
            const bool in_batch = c.nonce - start < count;
            const pow::kawpow::hash_result cpu =
                in_batch ? pow::kawpow::hash(*ctx, program, items, work.header_hash, c.nonce) : pow::kawpow::hash_result{};
            if (!in_batch || cpu.mix_hash != c.mix_hash || !pow::kawpow::meets_boundary(cpu.final_hash, work.boundary)) {
                count_hardware_error();
                if (!hardware_error_logged) {
                    hardware_error_logged = true;
                    log("candidate nonce " + std::to_string(c.nonce) + " of job " + cur->id +
                        (in_batch ? " failed the CPU's light verification" : " lies outside the batch searched") +
                        ": a hardware error, not submitted (further ones of this job are only counted)",
                        log_level::warn);
                }
                continue;
            }
            kawpow_share sh;
            sh.job_id = cur->id;
            sh.nonce = c.nonce;
            sh.header_hash = work.header_hash;
            sh.mix_hash = c.mix_hash;
            sh.difficulty = share_diff;
            sh.worker = opt.worker_name;
            if (count_verdict(d->submit_kawpow_share(id, sh), *cur)) break;
        }

        offset += count;
        if (offset >= range) offset = 0;
    }
}

}  // namespace sb::bridge::mining
