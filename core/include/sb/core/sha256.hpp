// SHA-256 (FIPS 180-4) with runtime-selected implementations, sha256d and the pieces
// that mining needs: 80-byte headers, 64-byte merkle nodes and the header midstate.
//
// Byte order: every digest here is in SHA-256 output order ("internal order" in Bitcoin
// terms). Block hashes and txids are displayed byte-reversed; use to_hex_reversed for that.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace sb {

using hash256 = std::array<std::uint8_t, 32>;

// The SHA-256 initial state H0..H7.
inline constexpr std::array<std::uint32_t, 8> sha256_initial_state = {
    0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
    0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};

// Incremental SHA-256 over the active implementation.
class sha256 {
public:
    sha256() noexcept { reset(); }
    void reset() noexcept;
    sha256& write(std::span<const std::uint8_t> data) noexcept;
    // Writes the digest and resets nothing: call reset() before reuse.
    void finalize(std::uint8_t out[32]) noexcept;
    hash256 finalize() noexcept { hash256 h; finalize(h.data()); return h; }

private:
    std::uint32_t state_[8];
    std::uint8_t buf_[64];
    std::uint64_t bytes_ = 0;
};

// SHA-256 of data.
hash256 sha256_hash(std::span<const std::uint8_t> data) noexcept;
// SHA-256(SHA-256(data)): txids, block hashes, checksums.
hash256 sha256d(std::span<const std::uint8_t> data) noexcept;
// sha256d of an 80-byte block header (internal order; display order is its reverse).
hash256 sha256d_header(const std::uint8_t header[80]) noexcept;
// Merkle tree level: for i in [0, n), out[32i..32i+32) = sha256d(in[64i..64i+64)).
// Uses multi-buffer implementations where available.
void sha256d64(std::uint8_t* out, const std::uint8_t* in, std::size_t n) noexcept;
// SHA-256 state after compressing the first 64 bytes of a header: the midstate GPU
// kernels start from. Words as SHA-256 holds them (big-endian reading of the bytes).
std::array<std::uint32_t, 8> sha256_midstate(const std::uint8_t first64[64]) noexcept;

// ---- implementations and runtime selection -------------------------------------------

enum class sha256_impl : std::uint8_t { generic, shani, avx2 };

// "generic", "sha-ni", "avx2".
std::string_view to_string(sha256_impl impl) noexcept;
// Implementations this CPU and build support, generic first.
std::vector<sha256_impl> sha256_supported();
// The implementation in use. On first use the fastest supported implementation that
// passes its known-answer self-test is chosen; generic is the fallback.
sha256_impl sha256_active() noexcept;
// Makes impl the active one (tests and benchmarks). Returns false, and changes nothing,
// when impl is unsupported here or fails its self-test. Not thread-safe with hashing.
bool sha256_force(sha256_impl impl) noexcept;
// Runs the known-answer self-test of impl. False also when impl is unsupported.
bool sha256_self_test(sha256_impl impl) noexcept;

namespace detail {
// The portable compression function: state updated by n consecutive 64-byte blocks.
void sha256_transform_generic(std::uint32_t state[8], const std::uint8_t* blocks, std::size_t n) noexcept;
}  // namespace detail

}  // namespace sb
