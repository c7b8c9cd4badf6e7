// Jittered exponential back-off shared by the RPC client and the template source.
#pragma once

#include <algorithm>
#include <chrono>
#include <random>

namespace sb::node::detail {

class backoff {
public:
    backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
        : initial_(std::max(initial, std::chrono::milliseconds(1))),
          max_(std::max(max, initial_)),
          nominal_(initial_),
          rng_(std::random_device{}()) {}

    // The delay before the next attempt: the nominal delay ±25 % (so that several
    // clients of one restarted node do not reconnect in lockstep), at most max. The
    // nominal delay then doubles, up to max.
    std::chrono::milliseconds next() {
        std::uniform_real_distribution<double> jitter(0.75, 1.25);
        const auto d = std::chrono::milliseconds(
            static_cast<std::chrono::milliseconds::rep>(static_cast<double>(nominal_.count()) * jitter(rng_)));
        nominal_ = std::min(nominal_ * 2, max_);
        return std::clamp(d, std::chrono::milliseconds(1), max_);
    }

    void reset() noexcept { nominal_ = initial_; }

private:
    std::chrono::milliseconds initial_;
    std::chrono::milliseconds max_;
    std::chrono::milliseconds nominal_;
    std::minstd_rand rng_;
};

}  // namespace sb::node::detail
