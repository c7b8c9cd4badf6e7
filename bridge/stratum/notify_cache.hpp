// Serialized mining.notify lines of the SHA-256d dialect, shared by the sessions of one
// server. A new job goes to every session at once; without the cache each of them would
// hex-encode the same coinbase and merkle branch and write the same JSON (stratum.md §0.6,
// the clean-notify fan-out of docs/PERFORMANCE.md).
//
// Thread-safe. Entries are keyed by the job object and hold it weakly, so the cache keeps
// no job alive; dead entries are dropped as new ones arrive. A line is handed out shared:
// the sessions write it from the same bytes (out_line), none holds a copy.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "dispatch/job.hpp"

namespace sb::bridge::stratum {

// Jobs remembered at once before dead entries are swept (a server sees a few live jobs
// per payout script).
inline constexpr std::size_t notify_cache_sweep_at = 256;

class notify_cache {
public:
    // notify_job(to_notify(*j)) with clean_jobs = clean, built once per job and flag.
    std::shared_ptr<const std::string> line(const std::shared_ptr<const job>& j, bool clean);
    std::size_t size() const;

private:
    struct entry {
        std::weak_ptr<const job> j;
        std::array<std::shared_ptr<const std::string>, 2> lines;  // [clean]; null until first asked
    };
    mutable std::mutex mu_;
    std::unordered_map<const job*, entry> entries_;
};

}  // namespace sb::bridge::stratum
