// Shared helpers of sb_pow_tests: epoch contexts built once per process.
#pragma once

#include <cstdlib>
#include <string>

#include "sb/pow/ethash.hpp"
#include "vector_words.hpp"

namespace sb::test::pow {

using sb::test::hash_hex;
using sb::test::nonce_hex;
using sb::test::word_hex;

// Light caches take about a second per epoch to build: every test asks this one cache,
// large enough to hold every epoch the vectors use.
inline const sb::pow::ethash::epoch_context& context(int epoch) {
    // Capacity above the number of epochs used, so nothing is evicted and references stay valid.
    static sb::pow::ethash::epoch_context_cache cache(32);
    return *cache.get(epoch);
}

// SB_TEST_KAWPOW_ALL=1 runs the slow vectors (epoch 2047's 285 MB light cache).
inline bool run_slow_vectors() {
    const char* v = std::getenv("SB_TEST_KAWPOW_ALL");
    return v != nullptr && std::string(v) == "1";
}

}  // namespace sb::test::pow
