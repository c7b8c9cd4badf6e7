// SHA-256 (FIPS 180-4) with runtime-selected implementations, sha256d and the pieces
// that mining needs: 80-byte headers, 64-byte merkle nodes and the header midstate.
//
// Byte order: every digest here is in SHA-256 output order ("internal order" in Bitcoin
// terms). Block hashes and txids are displayed byte-reversed; use to_hex_reversed for that.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

namespace sb {

using hash256 = std::array<std::uint8_t, 32>;

// The hash function of unordered containers keyed by hash256 (block, header and share
// hashes): its first 8 bytes. The keys are hash outputs, already uniform, and nobody
// chooses them without doing the proof of work or inverting SHA-256d.
struct hash256_hasher {
    std::size_t operator()(const hash256& h) const noexcept {
        std::size_t v;
        std::memcpy(&v, h.data(), sizeof v);
        return v;
    }
};

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

// Round constants K0..K63 (FIPS 180-4 §4.2.2).
inline constexpr std::array<std::uint32_t, 64> sha256_k = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

// W[t] + K[t] for t in [0, 64) of a block whose 16 message words are all known at compile
// time (FIPS 180-4 §6.2.2 step 1). Padding blocks of fixed-length inputs are such blocks,
// so their whole message schedule folds into a table.
constexpr std::array<std::uint32_t, 64> sha256_schedule_plus_k(const std::array<std::uint32_t, 16>& m) noexcept {
    std::array<std::uint32_t, 64> w{};
    for (int t = 0; t < 16; ++t) w[t] = m[t];
    for (int t = 16; t < 64; ++t) {
        const std::uint32_t s0 = std::rotr(w[t - 15], 7) ^ std::rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        const std::uint32_t s1 = std::rotr(w[t - 2], 17) ^ std::rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    for (int t = 0; t < 64; ++t) w[t] += sha256_k[t];
    return w;
}

// The padding block that follows a 64-byte message: 0x80, zeros, bit length 512.
inline constexpr std::array<std::uint32_t, 64> sha256_pad64_wk =
    sha256_schedule_plus_k({0x80000000u, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 512});

// The portable compression function: state updated by n consecutive 64-byte blocks.
void sha256_transform_generic(std::uint32_t state[8], const std::uint8_t* blocks, std::size_t n) noexcept;

// x86-64 flavours, defined only in SB_X86_64 builds. Call them only after the dispatcher
// has checked CPUID; they fault on CPUs without the instructions.
// sha256_shani.cpp (SHA extensions, SSE4.1):
void sha256_transform_shani(std::uint32_t state[8], const std::uint8_t* blocks, std::size_t n) noexcept;
// out = sha256d(header[0..80)).
void sha256d_header_shani(std::uint8_t out[32], const std::uint8_t header[80]) noexcept;
// out = sha256d(in[0..64)).
void sha256d64_shani_1way(std::uint8_t out[32], const std::uint8_t in[64]) noexcept;
// Two independent inputs at once: out[32i..32i+32) = sha256d(in[64i..64i+64)), i = 0, 1.
void sha256d64_shani_2way(std::uint8_t out[64], const std::uint8_t in[128]) noexcept;
// sha256_avx2.cpp: eight independent inputs in the eight 32-bit lanes of YMM registers,
// out[32i..32i+32) = sha256d(in[64i..64i+64)), i = 0..7.
void sha256d64_avx2_8way(std::uint8_t out[256], const std::uint8_t in[512]) noexcept;

}  // namespace detail

}  // namespace sb
