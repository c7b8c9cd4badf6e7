#include "dispatch/job_store.hpp"

#include <algorithm>
#include <cstdio>
#include <random>

namespace sb::bridge {

bool job_entry::seen(const hash256& key) const {
    std::lock_guard lock(seen_mu_);
    return seen_.contains(key);
}

bool job_entry::remember(const hash256& key) {
    std::lock_guard lock(seen_mu_);
    if (!seen_.insert(key).second) return false;
    if (seen_.size() >= max_share_keys_per_job) {
        full_.store(true, std::memory_order_release);
        make_stale();
    }
    return true;
}

std::shared_ptr<job_entry> payout_jobs::find(std::string_view id) const {
    for (auto it = jobs.rbegin(); it != jobs.rend(); ++it)
        if ((*it)->get().id == id) return *it;
    return nullptr;
}

job_store::job_store(const mining_algorithm& algo, const chain_params& chain, job_store_options options,
                     logger log)
    : algo_(algo), chain_(chain), options_(std::move(options)), log_(std::move(log)) {
    // A random first id: job ids of a previous run (a miner reconnecting with an old job)
    // are unlikely to meet this run's.
    next_job_ = std::random_device{}();
    if (options_.payout_mode == config::payout_mode::fixed_address) {
        fixed_ = std::make_shared<payout_jobs>();
        fixed_->script = options_.fixed_payout_script;
    }
}

std::shared_ptr<payout_jobs> job_store::acquire(const bytes& script) {
    auto it = payouts_.find(script);
    if (it != payouts_.end()) return it->second;
    auto p = std::make_shared<payout_jobs>();
    p->script = script;
    if (tmpl_ && !build(*p, true)) return nullptr;
    payouts_.emplace(script, p);
    return p;
}

void job_store::release(const std::shared_ptr<payout_jobs>& p) {
    if (!p || p == fixed_) return;
    if (p->users == 0) payouts_.erase(p->script);
}

bool job_store::on_template(std::shared_ptr<const node::block_template> t, bool new_tip, bool clean) {
    tmpl_ = std::move(t);
    bool ok = true;
    auto each = [&](payout_jobs& p) {
        if (new_tip)
            for (auto& e : p.jobs) e->make_stale();
        if (!build(p, clean)) ok = false;
    };
    if (fixed_) each(*fixed_);
    for (auto& [script, p] : payouts_) each(*p);
    return ok;
}

void job_store::make_all_stale() {
    for_each_payout([](const payout_jobs& p) {
        for (const auto& e : p.jobs) e->make_stale();
    });
}

void job_store::refresh(std::uint32_t now) {
    auto each = [&](payout_jobs& p) {
        if (p.jobs.empty()) return;
        const job_entry& newest = *p.jobs.back();
        if (newest.stale() && !newest.full()) return;
        auto j = std::make_shared<job>(newest.get());
        j->id = new_job_id();
        j->clean = false;
        algo_.retime(*j, std::max(j->ntime, now));
        push(p, std::move(j));
    };
    if (fixed_) each(*fixed_);
    for (auto& [script, p] : payouts_) each(*p);
}

std::string job_store::new_job_id() {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%x", next_job_++);
    ++jobs_issued_;
    return buf;
}

void job_store::push(payout_jobs& p, std::shared_ptr<const job> j) {
    p.jobs.push_back(std::make_shared<job_entry>(std::move(j)));
    // Older jobs of this tip beyond the live window turn stale; the oldest go.
    std::size_t live = 0;
    for (auto it = p.jobs.rbegin(); it != p.jobs.rend(); ++it)
        if (!(*it)->stale() && ++live > max_live_jobs_per_payout) (*it)->make_stale();
    while (p.jobs.size() > max_jobs_per_payout) p.jobs.pop_front();
}

bool job_store::build(payout_jobs& p, bool clean) {
    if (auto ec = algo_.can_mine(*tmpl_, chain_)) {
        const pow_algorithm a = chain_.algorithm_at(std::max(tmpl_->curtime, tmpl_->mintime));
        log_.error("cannot build a job for height " + std::to_string(tmpl_->height) + ": its blocks are " +
             std::string(to_string(a)) + ", which solobridge does not mine");
        return false;
    }
    job_spec spec;
    spec.id = new_job_id();
    spec.clean = clean;
    spec.coinbase.payout_script = p.script;
    spec.coinbase.tag = options_.coinbase_tag;
    spec.coinbase.extranonce1_size = default_extranonce1_bytes;
    spec.coinbase.extranonce2_size = options_.extranonce2_size;
    auto j = algo_.make_job(tmpl_, spec);
    if (!j) {
        log_.error("cannot build a job for height " + std::to_string(tmpl_->height) + ": " + j.error().message());
        return false;
    }
    push(p, std::make_shared<const job>(std::move(*j)));
    return true;
}

}  // namespace sb::bridge
