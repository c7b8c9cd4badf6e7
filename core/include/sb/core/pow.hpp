// Proof-of-work arithmetic: compact "nBits" ⇄ target, the proof-of-work check,
// difficulty ⇄ target and block work, with Bitcoin Core's rules (arith_uint256.cpp
// SetCompact/GetCompact, pow.cpp CheckProofOfWork, chain.cpp GetBlockProof,
// rpc/blockchain.cpp GetDifficulty).
//
// Hashes are compared as numbers: a sha256d hash in internal byte order is read
// little-endian (uint256::from_hash); a KAWPOW final hash is read big-endian.
#pragma once

#include <cstdint>
#include <optional>

#include "sb/core/uint256.hpp"

namespace sb {

// The target of difficulty 1: 0x00000000ffff0000…0000 (compact 1d00ffff).
inline constexpr uint256 difficulty_1_target = uint256(0xffff) << 208;

// A decoded compact target. negative and overflow are Core's fNegative/fOverflow: the
// encoding is then invalid as a block target, and target holds what SetCompact leaves
// (the mantissa shifted, with bits past 2^256 dropped).
struct compact_target {
    uint256 target;
    bool negative = false;
    bool overflow = false;
};

// Decodes compact bits: size byte (bits >> 24), sign bit 0x00800000, 23-bit mantissa;
// target = mantissa * 256^(size-3) (mantissa shifted right when size < 3).
// negative: sign bit set with a non-zero mantissa. overflow: the value needs more than
// 256 bits (size > 34, or size > 33 with mantissa > 0xff, or size > 32 with mantissa
// > 0xffff; Core's exact test).
constexpr compact_target compact_to_target(std::uint32_t bits) noexcept {
    compact_target r;
    const unsigned size = bits >> 24;
    std::uint32_t word = bits & 0x007fffffu;
    if (size <= 3) {
        word >>= 8 * (3 - size);
        r.target = uint256(word);
    } else {
        r.target = uint256(word) << (8 * (size - 3));
    }
    r.negative = word != 0 && (bits & 0x00800000u) != 0;
    r.overflow = word != 0 && (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32));
    return r;
}

// Encodes a target as compact bits, rounding down to a 23-bit mantissa. Never sets the
// sign bit: a mantissa with 0x00800000 set is shifted right one byte and the size
// grows by one. Zero encodes as 0.
constexpr std::uint32_t target_to_compact(const uint256& target) noexcept {
    unsigned size = static_cast<unsigned>(target.bits() + 7) / 8;
    std::uint32_t word = 0;
    if (size <= 3) {
        word = static_cast<std::uint32_t>(target.low64() << (8 * (3 - size)));
    } else {
        word = static_cast<std::uint32_t>((target >> (8 * (size - 3))).low64());
    }
    if (word & 0x00800000u) {
        word >>= 8;
        ++size;
    }
    return word | size << 24;
}

// The target that bits encodes when it is valid for a chain whose easiest target is
// pow_limit: not negative, not zero, no overflow, not above pow_limit. nullopt otherwise.
constexpr std::optional<uint256> valid_target(std::uint32_t bits, const uint256& pow_limit) noexcept {
    const compact_target c = compact_to_target(bits);
    if (c.negative || c.overflow || c.target.is_zero() || c.target > pow_limit) return std::nullopt;
    return c.target;
}

// Core's CheckProofOfWork: bits must be a valid target (see valid_target) and the hash,
// read as a number, at most that target (hash == target passes).
constexpr bool check_proof_of_work(const uint256& hash, std::uint32_t bits, const uint256& pow_limit) noexcept {
    const std::optional<uint256> target = valid_target(bits, pow_limit);
    return target && hash <= *target;
}
// Same, for a sha256d block hash in internal byte order.
constexpr bool check_proof_of_work(const hash256& hash, std::uint32_t bits, const uint256& pow_limit) noexcept {
    return check_proof_of_work(uint256::from_hash(hash), bits, pow_limit);
}

// Difficulty of a target: difficulty_1_target / target as a double. Zero gives +inf.
double difficulty_from_target(const uint256& target) noexcept;

// Difficulty of compact bits the way Core's GetDifficulty computes it (from the
// mantissa and size alone, so it also works for encodings that overflow 256 bits).
// A zero mantissa gives +inf.
double difficulty_from_bits(std::uint32_t bits) noexcept;

// Target for a share or block difficulty: floor(difficulty_1_target / difficulty),
// computed exactly for the given double (fractional difficulties below 1 give targets
// above difficulty 1). Saturates at 2^256-1 when the quotient does not fit (tiny
// difficulty), and for difficulty ≤ 0 or NaN. Never returns 0: a difficulty so large
// that the quotient is below 1 (or +inf) gives 1.
uint256 target_from_difficulty(double difficulty) noexcept;

// Expected number of hashes to meet target: floor(2^256 / (target + 1)), computed as
// (~target / (target + 1)) + 1 (Core's GetBlockProof). Zero target gives 0 (invalid,
// as in Core); 2^256-1 gives 1.
constexpr uint256 work_from_target(const uint256& target) noexcept {
    if (target.is_zero()) return uint256();
    if (target == uint256::max()) return uint256(1);
    return (~target / (target + uint256(1))) + uint256(1);
}

// Work of a block with these bits; 0 when bits are negative, overflow or zero
// (GetBlockProof). No pow limit applies here.
constexpr uint256 work_from_bits(std::uint32_t bits) noexcept {
    const compact_target c = compact_to_target(bits);
    if (c.negative || c.overflow) return uint256();
    return work_from_target(c.target);
}

}  // namespace sb
