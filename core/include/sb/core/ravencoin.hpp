// Ravencoin KAWPOW block headers (Ravencoin src/primitives/block.h; shared/reference/gpu.md
// §2.3-§2.4): the 80-byte CKAWPOWInput whose sha256d gives the header hash, and the
// 120-byte header a block carries once nTime >= the KAWPOW activation time.
//
// Byte orders: prev_block and merkle_root in internal order (as serialized). header_hash()
// returns the 32 bytes progpow reads = byte-reversed sha256d of the 80-byte input (its hex
// is the RPC "pprpcheader" and the Stratum header hash). mix_hash is in progpow output order
// (its hex is what RPC and Stratum show); the 120-byte serialization stores it reversed.
// nonce64 is serialized as 8 little-endian bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "sb/core/sha256.hpp"

namespace sb::ravencoin {

inline constexpr std::size_t kawpow_input_size = 80;
inline constexpr std::size_t kawpow_header_size = 120;
// Mainnet nKAAAWWWPOWActivationTime (2020-05-06 18:00:00 UTC).
inline constexpr std::uint32_t mainnet_kawpow_activation_time = 1588788000;

struct kawpow_header {
    std::int32_t version = 0;
    hash256 prev_block{};     // internal order
    hash256 merkle_root{};    // internal order
    std::uint32_t time = 0;   // seconds since the Unix epoch
    std::uint32_t bits = 0;   // compact target
    std::uint32_t height = 0; // nHeight: selects the epoch and the ProgPoW period
    std::uint64_t nonce64 = 0;
    hash256 mix_hash{};       // progpow output order

    // LE32 version || prev_block || merkle_root || LE32 time || LE32 bits || LE32 height.
    std::array<std::uint8_t, kawpow_input_size> serialize_input() const noexcept;
    // reverse(sha256d(serialize_input())): the header hash progpow and Stratum use.
    hash256 header_hash() const noexcept;
    // serialize_input() || LE64 nonce64 || reversed mix_hash.
    std::array<std::uint8_t, kawpow_header_size> serialize() const noexcept;

    bool operator==(const kawpow_header&) const = default;
};

// Decodes 120 serialized bytes; every byte string of that size is a header.
kawpow_header parse_kawpow_header(std::span<const std::uint8_t, kawpow_header_size> data) noexcept;

// header_hash of an 80-byte input already serialized (e.g. from a template).
hash256 kawpow_header_hash(std::span<const std::uint8_t, kawpow_input_size> input) noexcept;

}  // namespace sb::ravencoin
