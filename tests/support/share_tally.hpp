// A statistics sink for tests: per-consumer tallies of the share events the dispatcher
// reports (what the dispatcher itself used to keep before its statistics moved out).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "stats/share_event.hpp"

namespace sb::test {

struct consumer_tally {
    std::string worker;  // the last worker name seen
    std::uint64_t accepted = 0;
    double accepted_difficulty = 0;
    std::array<std::uint64_t, bridge::share_status_count> rejected{};
    double best_share_difficulty = 0;
    std::uint64_t blocks = 0;
};

class share_tally : public bridge::stats::share_sink {
public:
    void on_share(const bridge::stats::share_event& e) noexcept override {
        std::lock_guard lock(mu_);
        consumer_tally& t = by_consumer_[e.consumer];
        t.worker = std::string(e.worker);
        if (e.block) ++t.blocks;
        if (e.status == bridge::share_status::accepted) {
            ++t.accepted;
            t.accepted_difficulty += e.share_difficulty;
        } else {
            ++t.rejected[static_cast<std::size_t>(e.status)];
        }
        if (e.status == bridge::share_status::accepted || e.block)
            t.best_share_difficulty = std::max(t.best_share_difficulty, e.hash_difficulty);
    }
    consumer_tally of(bridge::consumer_id id) const {
        std::lock_guard lock(mu_);
        auto it = by_consumer_.find(id);
        return it == by_consumer_.end() ? consumer_tally{} : it->second;
    }

private:
    mutable std::mutex mu_;
    std::map<bridge::consumer_id, consumer_tally> by_consumer_;
};

}  // namespace sb::test
