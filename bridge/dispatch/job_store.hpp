// The jobs of one chain, per payout script, and how they are built (DESIGN.md §3 "Jobs").
// In fixed-address mode every consumer mines the one payout script; in address-username
// mode each distinct script gets its own jobs, built when the script is first used and on
// every template while consumers use it.
//
// Locking: the store itself is not thread-safe; the dispatcher holds its lock around every
// member call. A job_entry is shared with share judges running outside that lock: its
// stale flag is atomic and its duplicate set has a lock of its own, so judging the shares
// of one job never waits for the dispatcher.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

#include "dispatch/algorithm.hpp"
#include "dispatch/job.hpp"
#include "sb/config/config.hpp"
#include "sb/core/bytes.hpp"
#include "sb/core/log.hpp"
#include "sb/core/sha256.hpp"

namespace sb::bridge {

// ---- limits ------------------------------------------------------------------------

// Jobs of the current tip that stay valid per payout script (ckpool keeps older
// workbases of the same prevhash).
inline constexpr std::size_t max_live_jobs_per_payout = 16;
// Jobs remembered per payout script in all, stale ones included (so that a late share on
// the previous tip still gets its block check).
inline constexpr std::size_t max_jobs_per_payout = 32;
// Distinct shares remembered per job for the duplicate check (only shares that met their
// target count). A job that fills up turns stale (its shares get job_not_found) and its
// payout gets a fresh job at once.
inline constexpr std::size_t max_share_keys_per_job = 1u << 16;

// One job and what its shares have used of it.
class job_entry {
public:
    explicit job_entry(std::shared_ptr<const job> j) : job_(std::move(j)) {}

    const job& get() const noexcept { return *job_; }
    const std::shared_ptr<const job>& ptr() const noexcept { return job_; }
    bool stale() const noexcept { return stale_.load(std::memory_order_acquire); }
    void make_stale() noexcept { stale_.store(true, std::memory_order_release); }
    // Stale because its duplicate set filled up (refreshed at once, not at the next tip).
    bool full() const noexcept { return full_.load(std::memory_order_acquire); }

    // Duplicate keys: header hashes (KAWPOW: final hashes) of shares that met their
    // target. The header commits to every part of a share (job, extranonces through the
    // merkle root, ntime, nonce, version), so equal shares give equal keys and different
    // ones collide only as sha256d does.
    bool seen(const hash256& key) const;
    // Remembers key; false when it was there already. A set that reaches
    // max_share_keys_per_job makes the job stale and full.
    bool remember(const hash256& key);

private:
    std::shared_ptr<const job> job_;
    std::atomic<bool> stale_{false};
    std::atomic<bool> full_{false};
    mutable std::mutex seen_mu_;
    std::unordered_set<hash256, hash256_hasher> seen_;
};

// The jobs of one payout script, oldest first.
struct payout_jobs {
    bytes script;
    std::size_t users = 0;
    std::deque<std::shared_ptr<job_entry>> jobs;

    std::shared_ptr<job_entry> find(std::string_view id) const;
    std::shared_ptr<const job> newest() const { return jobs.empty() ? nullptr : jobs.back()->ptr(); }
};

struct job_store_options {
    std::string coinbase_tag = "/solobridge/";
    std::size_t extranonce2_size = 8;
    config::payout_mode payout_mode = config::payout_mode::fixed_address;
    bytes fixed_payout_script;  // fixed_address mode
};

class job_store {
public:
    job_store(const mining_algorithm& algo, const chain_params& chain, job_store_options options,
              logger log);

    // Fixed-address mode: the one payout (its users counted by the caller); null otherwise.
    const std::shared_ptr<payout_jobs>& fixed() const noexcept { return fixed_; }
    // Address-username mode: the jobs of script, created on first use with a job from
    // the current template (when there is one). Null when that job cannot be built.
    std::shared_ptr<payout_jobs> acquire(const bytes& script);
    // One user fewer; an address-username payout without users is forgotten.
    void release(const std::shared_ptr<payout_jobs>& p);

    // A new current template: every job of every payout turns stale when new_tip, then
    // each payout gets a job of t (clean as given). False when some job failed to build
    // (those payouts keep their jobs).
    bool on_template(std::shared_ptr<const node::block_template> t, bool new_tip, bool clean);
    const std::shared_ptr<const node::block_template>& current_template() const noexcept { return tmpl_; }
    // Every job turns stale (a newer tip is known; the next template brings its jobs).
    void make_all_stale();
    // The newest job of each payout again under a new id, not clean, its time moved up to
    // now (jobs of a payout whose newest job is stale are left, except a full one).
    void refresh(std::uint32_t now);

    template <class F>
    void for_each_payout(F&& f) const {
        if (fixed_) f(*fixed_);
        for (const auto& [script, p] : payouts_) f(*p);
    }
    std::uint64_t jobs_issued() const noexcept { return jobs_issued_; }

private:
    std::string new_job_id();
    bool build(payout_jobs& p, bool clean);
    void push(payout_jobs& p, std::shared_ptr<const job> j);

    const mining_algorithm& algo_;
    const chain_params& chain_;
    job_store_options options_;
    logger log_;
    std::shared_ptr<const node::block_template> tmpl_;
    std::shared_ptr<payout_jobs> fixed_;
    std::map<bytes, std::shared_ptr<payout_jobs>> payouts_;
    std::uint32_t next_job_ = 0;
    std::uint64_t jobs_issued_ = 0;
};

}  // namespace sb::bridge
