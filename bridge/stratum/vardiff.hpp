// Per-session variable difficulty (stratum.md §0.5, §2.4): aims at one accepted share per
// target_share_seconds. Pure logic on an injected clock; the session asks for a decision
// only right before it sends a notify, so a change always travels with a new job.
//
// Two difficulties: the session's own (current(), what the miner's hashrate calls for,
// within [min, max] and the configure floor) and a job's (for_network(), the own one
// never above the job's network difficulty). The second is the one rule that keeps
// blocks mineable: a share that meets the network target always meets its job's
// difficulty (regtest, signet, testnet's 20-minute minimum-difficulty blocks), whatever
// difficulty.min, d=N or mining.suggest_difficulty say. The own difficulty survives an
// easy job, so the next job whose network difficulty allows it gets it back.
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

    // The session's own difficulty (the last one returned by retarget, or the start).
    double current() const noexcept { return current_; }

    // The difficulty of a job whose network difficulty is network_difficulty: current(),
    // or network_difficulty when that is lower (and > 0), below min and floor too.
    double for_network(double network_difficulty) const noexcept;

    // Counts one accepted share of the given share difficulty (the one its job had), so
    // shares of an easy job do not pass for a higher hashrate.
    void on_share(clock::time_point now, double difficulty) noexcept;

    // Restarts from a difficulty the miner asked for (mining.suggest_difficulty, the
    // d=N password). Clamped to [min, max] and the floor, not to the network difficulty
    // (for_network does that per job); applies at the next retarget.
    void suggest(double difficulty, clock::time_point now) noexcept;
    // Raises the lower clamp for this session (configure minimum-difficulty).
    void set_floor(double difficulty) noexcept;

    // Called right before a notify. Returns the new own difficulty when it changes (a
    // power of two from the share rate, or a suggestion, clamped to [min, max] and the
    // floor), nullopt when it stays. A move up from the share rate stops at
    // network_difficulty when that is > 0 (it never moves above the network), but an own
    // difficulty already above it is kept (an easy job does not lower it).
    std::optional<double> retarget(clock::time_point now, double network_difficulty) noexcept;

private:
    double clamp(double d) const noexcept;
    void restart_window(clock::time_point now) noexcept;

    config::difficulty_settings settings_;
    vardiff_tuning tuning_;
    double floor_;
    double current_;
    std::optional<double> pending_;  // a suggestion not yet returned by retarget
    clock::time_point window_start_;
    unsigned shares_ = 0;  // accepted in the window
    double work_ = 0;      // the sum of their difficulties
};

}  // namespace sb::bridge::stratum
