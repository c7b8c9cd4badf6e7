// Parsing the hex words and hashes of the vector files (kawpow.json, sha256d_kernel.json).
#pragma once

#include <cstdint>
#include <string>

#include <doctest/doctest.h>

#include "sb/core/hex.hpp"
#include "sb/core/sha256.hpp"

namespace sb::test {

// 64 hex digits as written (no byte reversal); fails the test otherwise.
inline sb::hash256 hash_hex(const std::string& hex) {
    auto h = sb::from_hex_fixed<32>(hex);
    REQUIRE_MESSAGE(h.has_value(), "bad 32-byte hex: " << hex);
    return *h;
}

// "0x1A", "0X811C9DC5", "1234": hex words as the vector files write them.
inline std::uint32_t word_hex(const std::string& s) { return static_cast<std::uint32_t>(std::stoul(s, nullptr, 16)); }

inline std::uint64_t nonce_hex(const std::string& s) { return std::stoull(s, nullptr, 16); }

}  // namespace sb::test
