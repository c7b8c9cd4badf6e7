#include "stats/estimator.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>

namespace sb::bridge::stats {

const char* window_name(window w) noexcept {
    switch (w) {
        case window::m1: return "1m";
        case window::m5: return "5m";
        case window::h1: return "1h";
        case window::d1: return "1d";
        case window::d7: return "7d";
    }
    return "?";
}

void decayed_rates::decay_to(double now_s) noexcept {
    if (!(now_s > last_s_)) return;
    const double dt = now_s - last_s_;
    for (std::size_t i = 0; i < window_count; ++i) sum_[i] *= std::exp(-dt / window_seconds[i]);
    last_s_ = now_s;
}

void decayed_rates::add(double difficulty, double now_s) noexcept {
    if (!(difficulty > 0) || !std::isfinite(difficulty)) return;
    if (!any_ && !(now_s > start_s_)) opening_ = difficulty;
    any_ = true;
    decay_to(now_s);
    for (auto& s : sum_) s += difficulty;
}

hashrates decayed_rates::at(double now_s) const noexcept {
    hashrates out{};
    const double dt = now_s > last_s_ ? now_s - last_s_ : 0;
    const double age = now_s - start_s_;
    for (std::size_t i = 0; i < window_count; ++i) {
        const double p = window_seconds[i];
        // The opening share, decayed from the start, leaves the sum (never below zero:
        // rounding).
        const double opening = opening_ > 0 ? opening_ * std::exp(-std::max(age, 0.0) / p) : 0;
        double rate = std::max(sum_[i] * std::exp(-dt / p) - opening, 0.0) / p;
        // Young stream: the decayed sum has only seen `age` seconds of shares.
        if (age >= min_bias_age_s) rate /= -std::expm1(-age / p);
        else if (age > 0) rate /= -std::expm1(-min_bias_age_s / p);
        out[i] = rate * hashes_per_difficulty;
    }
    return out;
}

void decayed_rates::merge(const decayed_rates& other, double now_s) noexcept {
    decay_to(now_s);
    decayed_rates o = other;
    o.decay_to(now_s);
    for (std::size_t i = 0; i < window_count; ++i) sum_[i] += o.sum_[i];
    if (other.start_s_ < start_s_) opening_ = other.opening_;
    else if (other.start_s_ == start_s_) opening_ += other.opening_;
    any_ = any_ || other.any_;
    start_s_ = std::min(start_s_, other.start_s_);
}

void decayed_rates::reset_start(double start_s) noexcept {
    // A share at the old start is an ordinary share of a stream that began earlier.
    if (start_s != start_s_) opening_ = 0;
    start_s_ = start_s;
    last_s_ = std::max(last_s_, start_s);
}

std::string rate_text(double h) {
    static constexpr const char* units[] = {"H/s", "kH/s", "MH/s", "GH/s", "TH/s", "PH/s", "EH/s"};
    std::size_t i = 0;
    while (h >= 1000 && i + 1 < std::size(units)) {
        h /= 1000;
        ++i;
    }
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.3g %s", h, units[i]);
    return buf;
}

double expected_block_seconds(double hashrate, double network_difficulty) noexcept {
    if (!(hashrate > 0) || !(network_difficulty > 0) || !std::isfinite(hashrate) || !std::isfinite(network_difficulty))
        return std::numeric_limits<double>::infinity();
    return network_difficulty * hashes_per_difficulty / hashrate;
}

double block_probability(double expected_seconds, double seconds) noexcept {
    if (!(expected_seconds > 0) || !std::isfinite(expected_seconds) || !(seconds > 0)) return 0;
    // -expm1 keeps the tiny odds of a small miner exact (1 - exp(-x) loses them below 1e-16).
    return -std::expm1(-seconds / expected_seconds);
}

block_odds odds_for(double hashrate, double network_difficulty) noexcept {
    block_odds o;
    o.expected_s = expected_block_seconds(hashrate, network_difficulty);
    o.day = block_probability(o.expected_s, day_s);
    o.week = block_probability(o.expected_s, week_s);
    o.month = block_probability(o.expected_s, month_s);
    o.year = block_probability(o.expected_s, year_s);
    return o;
}

}  // namespace sb::bridge::stats
