// SHA-256d of eight independent 64-byte inputs with AVX2: each 32-bit lane of a YMM
// register carries one input, so every vector instruction advances eight hashes.
// Merkle levels hash many 64-byte nodes at once, which is what this serves.
//
// FIPS 180-4 §4.1.2 (functions), §5.1.1 (padding), §6.2.2 (compression). AVX2 has no
// 32-bit rotate; each rotation is a shift pair.
//
// Compiled with -mavx2; the dispatcher calls in only after CPUID and XGETBV checks.
#if defined(SB_X86_64)

#include <immintrin.h>

#include <array>
#include <cstddef>
#include <cstdint>

#include "sb/core/sha256.hpp"

#define SB_AVX2_INLINE [[gnu::always_inline]] inline

namespace sb::detail {
namespace {

using v8 = __m256i;

SB_AVX2_INLINE v8 add(v8 a, v8 b) noexcept { return _mm256_add_epi32(a, b); }
SB_AVX2_INLINE v8 xor3(v8 a, v8 b, v8 c) noexcept { return _mm256_xor_si256(_mm256_xor_si256(a, b), c); }
SB_AVX2_INLINE v8 splat(std::uint32_t v) noexcept { return _mm256_set1_epi32(static_cast<int>(v)); }

template <int n>
SB_AVX2_INLINE v8 rotr(v8 x) noexcept {
    return _mm256_or_si256(_mm256_srli_epi32(x, n), _mm256_slli_epi32(x, 32 - n));
}

SB_AVX2_INLINE v8 big_sigma0(v8 a) noexcept { return xor3(rotr<2>(a), rotr<13>(a), rotr<22>(a)); }
SB_AVX2_INLINE v8 big_sigma1(v8 e) noexcept { return xor3(rotr<6>(e), rotr<11>(e), rotr<25>(e)); }
SB_AVX2_INLINE v8 small_sigma0(v8 w) noexcept { return xor3(rotr<7>(w), rotr<18>(w), _mm256_srli_epi32(w, 3)); }
SB_AVX2_INLINE v8 small_sigma1(v8 w) noexcept { return xor3(rotr<17>(w), rotr<19>(w), _mm256_srli_epi32(w, 10)); }
// Ch and Maj in forms with one operation fewer than the textbook ones.
SB_AVX2_INLINE v8 ch(v8 e, v8 f, v8 g) noexcept {
    return _mm256_xor_si256(g, _mm256_and_si256(e, _mm256_xor_si256(f, g)));
}
SB_AVX2_INLINE v8 maj(v8 a, v8 b, v8 c) noexcept {
    return _mm256_or_si256(_mm256_and_si256(a, b), _mm256_and_si256(c, _mm256_or_si256(a, b)));
}

// One round; the caller rotates the variable names instead of moving values.
SB_AVX2_INLINE void one_round(v8 a, v8 b, v8 c, v8& d, v8 e, v8 f, v8 g, v8& h, v8 wk) noexcept {
    const v8 t1 = add(add(h, big_sigma1(e)), add(ch(e, f, g), wk));
    const v8 t2 = add(big_sigma0(a), maj(a, b, c));
    d = add(d, t1);
    h = add(t1, t2);
}

// W+K sources for the 64 rounds.
struct schedule_wk {
    const v8* w;
    SB_AVX2_INLINE v8 operator()(int t) const noexcept { return add(w[t], splat(sha256_k[t])); }
};
struct pad64_wk {
    SB_AVX2_INLINE v8 operator()(int t) const noexcept { return splat(sha256_pad64_wk[t]); }
};

template <class Wk>
SB_AVX2_INLINE void compress(v8 (&s)[8], Wk wk) noexcept {
    v8 a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
    for (int t = 0; t < 64; t += 8) {
        one_round(a, b, c, d, e, f, g, h, wk(t + 0));
        one_round(h, a, b, c, d, e, f, g, wk(t + 1));
        one_round(g, h, a, b, c, d, e, f, wk(t + 2));
        one_round(f, g, h, a, b, c, d, e, wk(t + 3));
        one_round(e, f, g, h, a, b, c, d, wk(t + 4));
        one_round(d, e, f, g, h, a, b, c, wk(t + 5));
        one_round(c, d, e, f, g, h, a, b, wk(t + 6));
        one_round(b, c, d, e, f, g, h, a, wk(t + 7));
    }
    s[0] = add(s[0], a); s[1] = add(s[1], b); s[2] = add(s[2], c); s[3] = add(s[3], d);
    s[4] = add(s[4], e); s[5] = add(s[5], f); s[6] = add(s[6], g); s[7] = add(s[7], h);
}

SB_AVX2_INLINE void expand(v8 (&w)[64]) noexcept {
    for (int t = 16; t < 64; ++t)
        w[t] = add(add(w[t - 16], small_sigma0(w[t - 15])), add(w[t - 7], small_sigma1(w[t - 2])));
}

// 8x8 transpose of dwords: row j of the input becomes lane j of every output. It is its
// own inverse, so it serves both loading (eight inputs -> word vectors) and storing.
SB_AVX2_INLINE void transpose8(v8 (&r)[8]) noexcept {
    const v8 t0 = _mm256_unpacklo_epi32(r[0], r[1]), t1 = _mm256_unpackhi_epi32(r[0], r[1]);
    const v8 t2 = _mm256_unpacklo_epi32(r[2], r[3]), t3 = _mm256_unpackhi_epi32(r[2], r[3]);
    const v8 t4 = _mm256_unpacklo_epi32(r[4], r[5]), t5 = _mm256_unpackhi_epi32(r[4], r[5]);
    const v8 t6 = _mm256_unpacklo_epi32(r[6], r[7]), t7 = _mm256_unpackhi_epi32(r[6], r[7]);
    const v8 u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
    const v8 u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
    const v8 u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
    const v8 u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
    r[0] = _mm256_permute2x128_si256(u0, u4, 0x20); r[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
    r[1] = _mm256_permute2x128_si256(u1, u5, 0x20); r[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
    r[2] = _mm256_permute2x128_si256(u2, u6, 0x20); r[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
    r[3] = _mm256_permute2x128_si256(u3, u7, 0x20); r[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

// Reverses the bytes of each dword (SHA-256 words are big-endian); the shuffle works
// within 128-bit halves, so the mask repeats.
SB_AVX2_INLINE v8 bswap32(v8 x) noexcept {
    const v8 mask = _mm256_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL, 0x0c0d0e0f08090a0bLL,
                                      0x0405060700010203LL);
    return _mm256_shuffle_epi8(x, mask);
}

// Words 8*half .. 8*half+7 of the eight inputs (stride 64 bytes) into w[8*half ..].
SB_AVX2_INLINE void load_words(v8* w, const std::uint8_t* in, int half) noexcept {
    v8 r[8];
    for (int j = 0; j < 8; ++j) r[j] = bswap32(_mm256_loadu_si256(reinterpret_cast<const v8*>(in + 64 * j + 32 * half)));
    transpose8(r);
    for (int i = 0; i < 8; ++i) w[i] = r[i];
}

SB_AVX2_INLINE void initial_state(v8 (&s)[8]) noexcept {
    for (int i = 0; i < 8; ++i) s[i] = splat(sha256_initial_state[i]);
}

}  // namespace

void sha256d64_avx2_8way(std::uint8_t out[256], const std::uint8_t in[512]) noexcept {
    v8 w[64];
    load_words(w, in, 0);
    load_words(w + 8, in, 1);
    expand(w);
    v8 s[8];
    initial_state(s);
    compress(s, schedule_wk{w});
    // The padding block of a 64-byte message is the same for every input: table W+K.
    compress(s, pad64_wk{});

    // Second hash: the 32-byte digest, 0x80, zeros and the bit length 256.
    for (int i = 0; i < 8; ++i) w[i] = s[i];
    w[8] = splat(0x80000000u);
    for (int i = 9; i < 15; ++i) w[i] = _mm256_setzero_si256();
    w[15] = splat(256);
    expand(w);
    initial_state(s);
    compress(s, schedule_wk{w});

    transpose8(s);
    for (int j = 0; j < 8; ++j) _mm256_storeu_si256(reinterpret_cast<v8*>(out + 32 * j), bswap32(s[j]));
}

}  // namespace sb::detail

#endif  // SB_X86_64
