// SHA-256 with the Intel SHA extensions (SHA-NI): compression of n blocks, sha256d of an
// 80-byte header and sha256d of 64-byte inputs, one or two at a time.
//
// References: Intel, "Intel SHA Extensions" (Gulley et al., 2013) for the state layout
// and instruction semantics; FIPS 180-4 §5.1.1 (padding) and §6.2.2 (compression).
//
// SHA256RNDS2 keeps the working variables in two registers, ABEF and CDGH (A in the
// highest dword), and does two rounds with the low two dwords of W+K. Its latency
// (3 to 4 cycles on current cores) serialises a single hash, so the two-way path
// interleaves two independent hashes to keep the unit busy.
//
// Compiled with -msha -msse4.1; the dispatcher calls in only after a CPUID check.
#if defined(SB_X86_64)

#include <immintrin.h>

#include <array>
#include <cstddef>
#include <cstdint>

#include "sb/core/sha256.hpp"

#define SB_SHANI_INLINE [[gnu::always_inline]] inline

namespace sb::detail {
namespace {

alignas(64) constexpr std::array<std::uint32_t, 64> k = sha256_k;
alignas(64) constexpr std::array<std::uint32_t, 64> pad64_wk = sha256_pad64_wk;

SB_SHANI_INLINE __m128i k4(int quad) noexcept {
    return _mm_load_si128(reinterpret_cast<const __m128i*>(k.data() + 4 * quad));
}
SB_SHANI_INLINE __m128i pad64_wk4(int quad) noexcept {
    return _mm_load_si128(reinterpret_cast<const __m128i*>(pad64_wk.data() + 4 * quad));
}

// Reverses the bytes of each dword: SHA-256 reads message words big-endian.
SB_SHANI_INLINE __m128i bswap32(__m128i x) noexcept {
    return _mm_shuffle_epi8(x, _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL));
}

// A dword lane value for _mm_set_epi32, which takes int.
constexpr int lane(std::uint32_t v) noexcept { return static_cast<int>(v); }

// Working state of N independent hashes in SHA-NI layout.
template <int N>
struct state_x {
    __m128i abef[N];
    __m128i cdgh[N];
};

template <int N>
SB_SHANI_INLINE state_x<N> initial_state() noexcept {
    constexpr auto& h = sha256_initial_state;
    state_x<N> s;
    for (int j = 0; j < N; ++j) {
        s.abef[j] = _mm_set_epi32(lane(h[0]), lane(h[1]), lane(h[4]), lane(h[5]));
        s.cdgh[j] = _mm_set_epi32(lane(h[2]), lane(h[3]), lane(h[6]), lane(h[7]));
    }
    return s;
}

// Words in natural order (lanes A,B,C,D and E,F,G,H) to ABEF/CDGH and back.
SB_SHANI_INLINE void pack(__m128i dcba, __m128i hgfe, __m128i& abef, __m128i& cdgh) noexcept {
    const __m128i cdab = _mm_shuffle_epi32(dcba, 0xb1);
    const __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1b);
    abef = _mm_alignr_epi8(cdab, efgh, 8);
    cdgh = _mm_blend_epi16(efgh, cdab, 0xf0);
}
SB_SHANI_INLINE void unpack(__m128i abef, __m128i cdgh, __m128i& dcba, __m128i& hgfe) noexcept {
    const __m128i feba = _mm_shuffle_epi32(abef, 0x1b);
    const __m128i dchg = _mm_shuffle_epi32(cdgh, 0xb1);
    dcba = _mm_blend_epi16(feba, dchg, 0xf0);
    hgfe = _mm_alignr_epi8(dchg, feba, 8);
}

// Four rounds per hash. After the first SHA256RNDS2 the old ABEF is the new CDGH, so the
// two registers swap roles instead of being copied.
template <int N>
SB_SHANI_INLINE void rounds4(state_x<N>& s, const __m128i (&wk)[N]) noexcept {
    for (int j = 0; j < N; ++j) s.cdgh[j] = _mm_sha256rnds2_epu32(s.cdgh[j], s.abef[j], wk[j]);
    for (int j = 0; j < N; ++j)
        s.abef[j] = _mm_sha256rnds2_epu32(s.abef[j], s.cdgh[j], _mm_shuffle_epi32(wk[j], 0x0e));
}

// W[t..t+3] from W[t-16..t-13] (a), W[t-12..] (b), W[t-8..] (c), W[t-4..] (d):
// SHA256MSG1 adds sigma0, the W[t-7] terms come from c:d shifted by one word, and
// SHA256MSG2 adds sigma1 of the words it produces itself.
SB_SHANI_INLINE __m128i schedule(__m128i a, __m128i b, __m128i c, __m128i d) noexcept {
    return _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32(a, b), _mm_alignr_epi8(d, c, 4)), d);
}

// One compression per hash; m[j] holds the 16 message words of hash j (lane 0 = first
// word). Callers pass compile-time constants for padding words, which then fold into
// constant W+K.
template <int N>
SB_SHANI_INLINE void compress(state_x<N>& s, __m128i (&m)[N][4]) noexcept {
    const state_x<N> saved = s;
#pragma GCC unroll 16
    for (int q = 0; q < 16; ++q) {
        __m128i wk[N];
        for (int j = 0; j < N; ++j) {
            if (q >= 4) m[j][q & 3] = schedule(m[j][q & 3], m[j][(q + 1) & 3], m[j][(q + 2) & 3], m[j][(q + 3) & 3]);
            wk[j] = _mm_add_epi32(m[j][q & 3], k4(q));
        }
        rounds4(s, wk);
    }
    for (int j = 0; j < N; ++j) {
        s.abef[j] = _mm_add_epi32(s.abef[j], saved.abef[j]);
        s.cdgh[j] = _mm_add_epi32(s.cdgh[j], saved.cdgh[j]);
    }
}

// The padding block after a 64-byte message: its whole W+K is a table.
template <int N>
SB_SHANI_INLINE void compress_pad64(state_x<N>& s) noexcept {
    const state_x<N> saved = s;
#pragma GCC unroll 16
    for (int q = 0; q < 16; ++q) {
        __m128i wk[N];
        for (int j = 0; j < N; ++j) wk[j] = pad64_wk4(q);
        rounds4(s, wk);
    }
    for (int j = 0; j < N; ++j) {
        s.abef[j] = _mm_add_epi32(s.abef[j], saved.abef[j]);
        s.cdgh[j] = _mm_add_epi32(s.cdgh[j], saved.cdgh[j]);
    }
}

SB_SHANI_INLINE void load_block(__m128i (&m)[4], const std::uint8_t* p) noexcept {
    for (int i = 0; i < 4; ++i) m[i] = bswap32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i)));
}

// The second SHA-256 of sha256d: s holds the first digest; the message is that digest
// followed by padding for 256 bits (FIPS 180-4 §5.1.1), so words 8..15 are constants.
template <int N>
SB_SHANI_INLINE void second_hash(state_x<N>& s) noexcept {
    __m128i m[N][4];
    for (int j = 0; j < N; ++j) {
        unpack(s.abef[j], s.cdgh[j], m[j][0], m[j][1]);
        m[j][2] = _mm_set_epi32(0, 0, 0, lane(0x80000000u));
        m[j][3] = _mm_set_epi32(256, 0, 0, 0);
    }
    s = initial_state<N>();
    compress(s, m);
}

SB_SHANI_INLINE void store_digest(std::uint8_t* out, __m128i abef, __m128i cdgh) noexcept {
    __m128i dcba, hgfe;
    unpack(abef, cdgh, dcba, hgfe);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), bswap32(dcba));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16), bswap32(hgfe));
}

template <int N>
SB_SHANI_INLINE void sha256d64_nway(std::uint8_t* out, const std::uint8_t* in) noexcept {
    state_x<N> s = initial_state<N>();
    __m128i m[N][4];
    for (int j = 0; j < N; ++j) load_block(m[j], in + 64 * j);
    compress(s, m);
    compress_pad64(s);
    second_hash(s);
    for (int j = 0; j < N; ++j) store_digest(out + 32 * j, s.abef[j], s.cdgh[j]);
}

}  // namespace

void sha256_transform_shani(std::uint32_t state[8], const std::uint8_t* blocks, std::size_t n) noexcept {
    state_x<1> s;
    pack(_mm_loadu_si128(reinterpret_cast<const __m128i*>(state)),
         _mm_loadu_si128(reinterpret_cast<const __m128i*>(state + 4)), s.abef[0], s.cdgh[0]);
    for (; n > 0; --n, blocks += 64) {
        __m128i m[1][4];
        load_block(m[0], blocks);
        compress(s, m);
    }
    __m128i dcba, hgfe;
    unpack(s.abef[0], s.cdgh[0], dcba, hgfe);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(state), dcba);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(state + 4), hgfe);
}

void sha256d_header_shani(std::uint8_t out[32], const std::uint8_t header[80]) noexcept {
    state_x<1> s = initial_state<1>();
    __m128i m[1][4];
    load_block(m[0], header);
    compress(s, m);
    // Block 2: header bytes 64..80, then 0x80, zeros and the bit length 640. Words 4..15
    // are constants, so twelve of the sixteen W+K additions fold away.
    m[0][0] = bswap32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(header + 64)));
    m[0][1] = _mm_set_epi32(0, 0, 0, lane(0x80000000u));
    m[0][2] = _mm_setzero_si128();
    m[0][3] = _mm_set_epi32(640, 0, 0, 0);
    compress(s, m);
    second_hash(s);
    store_digest(out, s.abef[0], s.cdgh[0]);
}

void sha256d64_shani_1way(std::uint8_t out[32], const std::uint8_t in[64]) noexcept { sha256d64_nway<1>(out, in); }

void sha256d64_shani_2way(std::uint8_t out[64], const std::uint8_t in[128]) noexcept { sha256d64_nway<2>(out, in); }

}  // namespace sb::detail

#endif  // SB_X86_64
