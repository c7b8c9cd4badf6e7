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
    current_ = clamp(settings_.initial);
}

double vardiff::for_network(double network_difficulty) const noexcept {
    return usable(network_difficulty) && network_difficulty < current_ ? network_difficulty : current_;
}

void vardiff::on_share(clock::time_point, double difficulty) noexcept {
    ++shares_;
    work_ += usable(difficulty) ? difficulty : current_;
}

void vardiff::suggest(double difficulty, clock::time_point now) noexcept {
    if (!usable(difficulty)) return;
    pending_ = difficulty;
    restart_window(now);
}

void vardiff::set_floor(double difficulty) noexcept {
    if (!usable(difficulty)) return;
    floor_ = std::clamp(difficulty, settings_.min, settings_.max);
}

double vardiff::clamp(double d) const noexcept { return std::clamp(d, std::max(floor_, settings_.min), settings_.max); }

void vardiff::restart_window(clock::time_point now) noexcept {
    window_start_ = now;
    shares_ = 0;
    work_ = 0;
}

std::optional<double> vardiff::retarget(clock::time_point now, double network_difficulty) noexcept {
    const double target = settings_.target_share_seconds;
    // Above the network difficulty every share would be a block anyway, so the share
    // rate says nothing there; a difficulty already above it (kept through an easy job)
    // is not lowered by this cap.
    const double up_cap = usable(network_difficulty) ? std::max(current_, network_difficulty) : settings_.max;
    double next = current_;
    if (pending_) {
        next = clamp(*pending_);
        pending_.reset();
    } else {
        // Guard against a zero-length window (several shares within one clock tick).
        const double elapsed = std::max(seconds(now - window_start_), 1e-3);
        const double periods = elapsed / target;
        const bool fast = shares_ >= tuning_.fast_min_shares && elapsed * tuning_.fast_factor * current_ < target * work_;
        const bool enough = shares_ >= tuning_.min_shares || (shares_ > 0 && periods >= tuning_.window_periods);
        if (fast || enough) {
            // The work done over the window, at the target rate, is the difficulty per share.
            next = clamp(std::min(power_of_two(work_ * target / elapsed), up_cap));
            restart_window(now);
        } else if (shares_ == 0 && periods >= tuning_.idle_periods) {
            // No share for a while: the rate is below 1/elapsed, so at most current/periods.
            next = clamp(power_of_two(current_ / periods));
            restart_window(now);
        } else {
            next = clamp(current_);  // a floor raised since (configure minimum-difficulty)
        }
    }
    if (next == current_) return std::nullopt;
    current_ = next;
    return current_;
}

}  // namespace sb::bridge::stratum
