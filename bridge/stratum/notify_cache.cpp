#include "stratum/notify_cache.hpp"

#include <iterator>

#include "stratum/codec.hpp"

namespace sb::bridge::stratum {

std::shared_ptr<const std::string> notify_cache::line(const std::shared_ptr<const job>& j, bool clean) {
    std::lock_guard lock(mu_);
    if (entries_.size() >= notify_cache_sweep_at)
        for (auto it = entries_.begin(); it != entries_.end();) it = it->second.j.expired() ? entries_.erase(it) : std::next(it);
    entry& e = entries_[j.get()];
    // Another job may have been allocated where a dead one was.
    if (e.j.lock() != j) e = entry{j, {}};
    auto& cached = e.lines[clean ? 1 : 0];
    if (!cached) {
        notify_params n = to_notify(*j);
        n.clean_jobs = clean;
        cached = std::make_shared<const std::string>(notify_job(n));
    }
    return cached;
}

std::size_t notify_cache::size() const {
    std::lock_guard lock(mu_);
    return entries_.size();
}

}  // namespace sb::bridge::stratum
