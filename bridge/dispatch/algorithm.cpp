#include "dispatch/algorithm.hpp"

#include <algorithm>

#include "sb/core/pow.hpp"

namespace sb::bridge {

const std::string& job_id_of(const submission& s) noexcept {
    return std::visit([](const auto& x) -> const std::string& { return x.job_id; }, s);
}

const std::string& worker_of(const submission& s) noexcept {
    return std::visit([](const auto& x) -> const std::string& { return x.worker; }, s);
}

double difficulty_of(const submission& s) noexcept {
    return std::visit([](const auto& x) { return x.difficulty; }, s);
}

std::error_code mining_algorithm::can_mine(const node::block_template& t, const chain_params& chain) const noexcept {
    const pow_algorithm a = chain.algorithm_at(std::max(t.curtime, t.mintime));
    return a == headers().id() ? std::error_code() : make_error_code(job_errc::wrong_algorithm);
}

uint256 mining_algorithm::share_target(double difficulty) const noexcept { return target_from_difficulty(difficulty); }

double mining_algorithm::difficulty_of_target(const uint256& target) const noexcept {
    return difficulty_from_target(target);
}

// The implementations (sha256d_algorithm.cpp, kawpow_algorithm.cpp).
const mining_algorithm& sha256d_mining() noexcept;
const mining_algorithm& kawpow_mining() noexcept;

const mining_algorithm& algorithm_of(pow_algorithm a) noexcept {
    return a == pow_algorithm::kawpow ? kawpow_mining() : sha256d_mining();
}

const mining_algorithm& algorithm_for(const chain_params& chain) noexcept {
    return algorithm_of(pow::mined_algorithm(chain));
}

}  // namespace sb::bridge
