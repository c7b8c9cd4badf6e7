// Hashrate from shares, and the odds of a block (issue 14 "Statistics").
//
// A share of difficulty d stands for d × hashes_per_difficulty hashes on average (the
// expected work of difficulty_1_target, the same on every supported chain: Bitcoin's and
// Ravencoin's difficulties are both defined against 0x00000000ffff0000…). The hashrate of
// a stream of accepted shares is estimated per window (1 m, 5 m, 1 h, 1 d, 7 d) with an
// exponentially decayed sum, as ckpool does (decayed "difficulty shares per second"):
//
//   R(t) = (1 / p) Σ d_i · exp(-(t - t_i) / p)     p = the window in seconds
//
// which is an unbiased estimate of the difficulty rate for a steady stream that has run
// much longer than p. For a younger stream (age a since the worker was first seen) the
// expectation is rate · (1 - exp(-a / p)); the estimate is divided by that factor (ckpool's
// "time bias") so a new miner shows its rate within a minute, not a week.
//
// A stream that a share opened (a worker or connection is first seen by its first share)
// began at that share, so the share is not part of the count over its age: with it, n
// shares in a seconds would read n / a where the unbiased rate is (n - 1) / a (a slow miner
// whose first share came 10 s after it connected read its shares-per-minute rate 6x high
// at 10 s). Such a stream's opening share is left out of the sum; one share alone reads 0.
//
// Odds: shares meet the network target independently (a Poisson process), so with a
// hashrate H and a network difficulty D a block takes on average
// T = D · hashes_per_difficulty / H seconds, and the chance of at least one block within t
// seconds is 1 - exp(-t / T).
//
// Not thread-safe: the owner guards a decayed_rates with its cell's lock.
#pragma once

#include <array>
#include <cstddef>
#include <limits>
#include <string>

namespace sb::bridge::stats {

// Expected hashes for one share of difficulty 1: 2^256 / (difficulty_1_target + 1),
// 4295032833 (≈ 2^32; ckpool rounds it to 2^32).
inline constexpr double hashes_per_difficulty = 4295032833.0;

// The estimation windows, shortest first.
enum class window : std::size_t { m1, m5, h1, d1, d7 };
inline constexpr std::size_t window_count = 5;
inline constexpr std::array<double, window_count> window_seconds = {60, 300, 3600, 86400, 604800};
// "1m", "5m", "1h", "1d", "7d".
const char* window_name(window w) noexcept;

// Hashes per second per window.
using hashrates = std::array<double, window_count>;

class decayed_rates {
public:
    // start_s: when the stream began (the worker or connection first seen), Unix seconds.
    explicit decayed_rates(double start_s = 0) noexcept : start_s_(start_s), last_s_(start_s) {}

    // An accepted share of this difficulty at now_s. A share older than the last one
    // counts as if it came at the last one (clocks on several threads are not ordered).
    // The first share of a stream that comes at (or before) its start opens the stream:
    // it marks when the miner's hashing is first known, and is not counted in the rates.
    void add(double difficulty, double now_s) noexcept;
    // The hashrates at now_s (decayed to it, young-stream bias removed). Zero before any
    // share.
    hashrates at(double now_s) const noexcept;
    // Sums another stream into this one (an aggregate of several workers): both decayed to
    // now_s first. The aggregate keeps the older start, and the opening share of the
    // stream that started it (a later stream's opening share is a share of the aggregate).
    void merge(const decayed_rates& other, double now_s) noexcept;
    double start_s() const noexcept { return start_s_; }
    void reset_start(double start_s) noexcept;

private:
    void decay_to(double now_s) noexcept;

    std::array<double, window_count> sum_{};  // Σ d_i · exp(-(last - t_i) / p), per window
    double opening_ = 0;                       // the difficulty of the share that opened the stream
    bool any_ = false;                         // a share was added
    double start_s_;
    double last_s_;
};

// Below this age (seconds) the young-stream correction is not applied: one share a second
// after connecting would otherwise read as its difficulty per second.
inline constexpr double min_bias_age_s = 5;

// Expected seconds to a block at hashrate (hashes/s) and network difficulty; +infinity for
// a hashrate or difficulty that is zero, negative or not finite.
double expected_block_seconds(double hashrate, double network_difficulty) noexcept;

// "3.21 TH/s": a hashrate for texts a person reads (events, the log's status line).
std::string rate_text(double hashes_per_second);
// The chance (0..1) of at least one block within seconds at that expected time
// (1 - exp(-seconds / expected)); 0 for an infinite expected time.
double block_probability(double expected_seconds, double seconds) noexcept;

// The periods the odds are given for.
inline constexpr double day_s = 86400;
inline constexpr double week_s = 7 * day_s;
inline constexpr double month_s = 30.436875 * day_s;  // a Gregorian month on average
inline constexpr double year_s = 365.2425 * day_s;

struct block_odds {
    double expected_s = std::numeric_limits<double>::infinity();
    double day = 0, week = 0, month = 0, year = 0;
};
block_odds odds_for(double hashrate, double network_difficulty) noexcept;

}  // namespace sb::bridge::stats
