// Per-session variable difficulty (stratum.md §0.5, §2.4): aims at one accepted share per
// target_share_seconds. Pure logic on an injected clock; the session asks for a decision
// only right before it sends a notify, so a change always travels with a new job.
#pragma once

#include <chrono>
#include <optional>

#include "sb/config/config.hpp"

namespace sb::bridge::stratum {

// Tuning of the retarget rule, named in one place.
struct vardiff_tuning {
    // Accepted shares needed before the rate is trusted for an ordinary retarget.
    unsigned min_shares = 4;
    // ...or this many target periods elapsed with at least one share.
    double window_periods = 6;
    // With no share for this many target periods, the difficulty decays.
    double idle_periods = 3;
    // Shares this much faster than the target (and at least fast_min_shares of them)
    // retarget at once, without waiting for min_shares/window.
    double fast_factor = 4;
    unsigned fast_min_shares = 3;
};

class vardiff {
public:
    using clock = std::chrono::steady_clock;

    // Starts at settings.initial (clamped). now starts the first measuring window.
    vardiff(const config::difficulty_settings& settings, clock::time_point now, vardiff_tuning tuning = {});

    // The difficulty currently in force (the last one returned by retarget, or the start).
    double current() const noexcept { return current_; }

    // Counts one accepted share.
    void on_share(clock::time_point now) noexcept;

    // Restarts from a difficulty the miner asked for (mining.suggest_difficulty, the
    // d=N password, configure minimum-difficulty). Clamped; applies at the next retarget.
    void suggest(double difficulty, clock::time_point now) noexcept;
    // Raises the lower clamp for this session (configure minimum-difficulty).
    void set_floor(double difficulty) noexcept;

    // Called right before a notify. Returns the new difficulty when it changes (a power of
    // two, clamped to [min, max] and to network_difficulty when that is > 0), nullopt when
    // the current one stays.
    std::optional<double> retarget(clock::time_point now, double network_difficulty) noexcept;

private:
    double clamp(double d, double network_difficulty) const noexcept;
    void restart_window(clock::time_point now) noexcept;

    config::difficulty_settings settings_;
    vardiff_tuning tuning_;
    double floor_;
    double current_;
    std::optional<double> pending_;  // a suggestion not yet returned by retarget
    clock::time_point window_start_;
    unsigned shares_ = 0;
};

}  // namespace sb::bridge::stratum
