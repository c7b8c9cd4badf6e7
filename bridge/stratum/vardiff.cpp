#include "stratum/vardiff.hpp"

#include <algorithm>
#include <cmath>

namespace sb::bridge::stratum {

namespace {

double seconds(vardiff::clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Nearest power of two (in log scale); sub-1 values give 2^-k.
double power_of_two(double d) noexcept { return std::exp2(std::round(std::log2(d))); }

bool usable(double d) noexcept { return std::isfinite(d) && d > 0; }

}  // namespace

vardiff::vardiff(const config::difficulty_settings& settings, clock::time_point now, vardiff_tuning tuning)
    : settings_(settings), tuning_(tuning), floor_(settings.min), window_start_(now) {
    if (!usable(settings_.target_share_seconds)) settings_.target_share_seconds = 10;
    current_ = clamp(settings_.initial, 0);
}

void vardiff::on_share(clock::time_point) noexcept { ++shares_; }

void vardiff::suggest(double difficulty, clock::time_point now) noexcept {
    if (!usable(difficulty)) return;
    pending_ = difficulty;
    restart_window(now);
}

void vardiff::set_floor(double difficulty) noexcept {
    if (!usable(difficulty)) return;
    floor_ = std::clamp(difficulty, settings_.min, settings_.max);
}

double vardiff::clamp(double d, double network_difficulty) const noexcept {
    double out = std::clamp(d, std::max(floor_, settings_.min), settings_.max);
    if (network_difficulty > 0 && out > network_difficulty) out = std::max(network_difficulty, settings_.min);
    return out;
}

void vardiff::restart_window(clock::time_point now) noexcept {
    window_start_ = now;
    shares_ = 0;
}

std::optional<double> vardiff::retarget(clock::time_point now, double network_difficulty) noexcept {
    const double target = settings_.target_share_seconds;
    double next = current_;
    if (pending_) {
        next = clamp(*pending_, network_difficulty);
        pending_.reset();
    } else {
        // Guard against a zero-length window (several shares within one clock tick).
        const double elapsed = std::max(seconds(now - window_start_), 1e-3);
        const double periods = elapsed / target;
        const bool fast = shares_ >= tuning_.fast_min_shares &&
                          elapsed * tuning_.fast_factor < target * static_cast<double>(shares_);
        const bool enough = shares_ >= tuning_.min_shares || (shares_ > 0 && periods >= tuning_.window_periods);
        if (fast || enough) {
            // Expected shares at the target rate over the window were elapsed/target.
            next = clamp(power_of_two(current_ * static_cast<double>(shares_) * target / elapsed), network_difficulty);
            restart_window(now);
        } else if (shares_ == 0 && periods >= tuning_.idle_periods) {
            // No share for a while: the rate is below 1/elapsed, so at most current/periods.
            next = clamp(power_of_two(current_ / periods), network_difficulty);
            restart_window(now);
        } else {
            next = clamp(current_, network_difficulty);
        }
    }
    if (next == current_) return std::nullopt;
    current_ = next;
    return current_;
}

}  // namespace sb::bridge::stratum
