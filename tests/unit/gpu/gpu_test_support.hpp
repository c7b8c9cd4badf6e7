// Shared helpers of sb_gpu_tests: epoch contexts built once per process, and vector parsing.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>

#include <doctest/doctest.h>

#include "sb/core/hex.hpp"
#include "sb/core/sha256.hpp"
#include "sb/gpu/ethash.hpp"

namespace sb::test::gpu {

// Light caches take about a second per epoch to build: every test asks this one cache,
// large enough to hold every epoch the vectors use.
inline const sb::gpu::ethash::epoch_context& context(int epoch) {
    // Capacity above the number of epochs used, so nothing is evicted and references stay valid.
    static sb::gpu::ethash::epoch_context_cache cache(32);
    return *cache.get(epoch);
}

// SB_TEST_KAWPOW_ALL=1 runs the slow vectors (epoch 2047's 285 MB light cache).
inline bool run_slow_vectors() {
    const char* v = std::getenv("SB_TEST_KAWPOW_ALL");
    return v != nullptr && std::string(v) == "1";
}

inline sb::hash256 hash_hex(const std::string& hex) {
    auto h = sb::from_hex_fixed<32>(hex);
    REQUIRE_MESSAGE(h.has_value(), "bad 32-byte hex: " << hex);
    return *h;
}

// "0x1A", "0X811C9DC5", "1234": hex words as the vector files write them.
inline std::uint32_t word_hex(const std::string& s) {
    return static_cast<std::uint32_t>(std::stoul(s, nullptr, 16));
}

inline std::uint64_t nonce_hex(const std::string& s) { return std::stoull(s, nullptr, 16); }

}  // namespace sb::test::gpu
