/* Keccak-f[1600] and Keccak-f[800] permutations (FIPS 202 §3, Keccak reference §1.2:
 * Keccak-f[b] with lane width w = b/25, 12 + 2·log2(w) rounds: 24 for f1600, 22 for f800),
 * and the two fixed-length Keccak sponges ethash needs.
 *
 * Lanes are indexed st[x + 5y]. Keccak-f800's round constants are the low 32 bits of
 * Keccak-f1600's (the Keccak-f[b] RC definition truncated to w bits) and its rotation
 * offsets are f1600's modulo 32.
 *
 * "Keccak-256/512" here is the original Keccak padding (pad10*1 with first byte 0x01), as
 * ethash uses, not SHA3's 0x06. Portable dialect: see portable.h.
 */
#ifndef SB_GPU_KERNELS_KECCAK_H
#define SB_GPU_KERNELS_KECCAK_H

#include "portable.h"

SB_CONSTANT sb_u64 sb_keccak_rc[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808AULL, 0x8000000080008000ULL,
    0x000000000000808BULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008AULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000AULL,
    0x000000008000808BULL, 0x800000000000008BULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800AULL, 0x800000008000000AULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL};

/* One round is theta, rho and pi (into b), chi (back into st), iota; written out lane by lane
 * (rho offsets r[x,y] = (t+1)(t+2)/2 mod w along the pi walk from (1,0), spec §3.2.2). */

/* Keccak-f[1600], 24 rounds, in place. */
SB_FN void sb_keccak_f1600(sb_u64 st[25]) {
    sb_u64 b[25];
    for (int round = 0; round < 24; ++round) {
        const sb_u64 c0 = st[0] ^ st[5] ^ st[10] ^ st[15] ^ st[20];
        const sb_u64 c1 = st[1] ^ st[6] ^ st[11] ^ st[16] ^ st[21];
        const sb_u64 c2 = st[2] ^ st[7] ^ st[12] ^ st[17] ^ st[22];
        const sb_u64 c3 = st[3] ^ st[8] ^ st[13] ^ st[18] ^ st[23];
        const sb_u64 c4 = st[4] ^ st[9] ^ st[14] ^ st[19] ^ st[24];
        const sb_u64 d0 = c4 ^ SB_ROTL64(c1, 1u);
        const sb_u64 d1 = c0 ^ SB_ROTL64(c2, 1u);
        const sb_u64 d2 = c1 ^ SB_ROTL64(c3, 1u);
        const sb_u64 d3 = c2 ^ SB_ROTL64(c4, 1u);
        const sb_u64 d4 = c3 ^ SB_ROTL64(c0, 1u);
        b[0] = (st[0] ^ d0);
        b[10] = SB_ROTL64((st[1] ^ d1), 1u);
        b[20] = SB_ROTL64((st[2] ^ d2), 62u);
        b[5] = SB_ROTL64((st[3] ^ d3), 28u);
        b[15] = SB_ROTL64((st[4] ^ d4), 27u);
        b[16] = SB_ROTL64((st[5] ^ d0), 36u);
        b[1] = SB_ROTL64((st[6] ^ d1), 44u);
        b[11] = SB_ROTL64((st[7] ^ d2), 6u);
        b[21] = SB_ROTL64((st[8] ^ d3), 55u);
        b[6] = SB_ROTL64((st[9] ^ d4), 20u);
        b[7] = SB_ROTL64((st[10] ^ d0), 3u);
        b[17] = SB_ROTL64((st[11] ^ d1), 10u);
        b[2] = SB_ROTL64((st[12] ^ d2), 43u);
        b[12] = SB_ROTL64((st[13] ^ d3), 25u);
        b[22] = SB_ROTL64((st[14] ^ d4), 39u);
        b[23] = SB_ROTL64((st[15] ^ d0), 41u);
        b[8] = SB_ROTL64((st[16] ^ d1), 45u);
        b[18] = SB_ROTL64((st[17] ^ d2), 15u);
        b[3] = SB_ROTL64((st[18] ^ d3), 21u);
        b[13] = SB_ROTL64((st[19] ^ d4), 8u);
        b[14] = SB_ROTL64((st[20] ^ d0), 18u);
        b[24] = SB_ROTL64((st[21] ^ d1), 2u);
        b[9] = SB_ROTL64((st[22] ^ d2), 61u);
        b[19] = SB_ROTL64((st[23] ^ d3), 56u);
        b[4] = SB_ROTL64((st[24] ^ d4), 14u);
        st[0] = b[0] ^ (~b[1] & b[2]);
        st[1] = b[1] ^ (~b[2] & b[3]);
        st[2] = b[2] ^ (~b[3] & b[4]);
        st[3] = b[3] ^ (~b[4] & b[0]);
        st[4] = b[4] ^ (~b[0] & b[1]);
        st[5] = b[5] ^ (~b[6] & b[7]);
        st[6] = b[6] ^ (~b[7] & b[8]);
        st[7] = b[7] ^ (~b[8] & b[9]);
        st[8] = b[8] ^ (~b[9] & b[5]);
        st[9] = b[9] ^ (~b[5] & b[6]);
        st[10] = b[10] ^ (~b[11] & b[12]);
        st[11] = b[11] ^ (~b[12] & b[13]);
        st[12] = b[12] ^ (~b[13] & b[14]);
        st[13] = b[13] ^ (~b[14] & b[10]);
        st[14] = b[14] ^ (~b[10] & b[11]);
        st[15] = b[15] ^ (~b[16] & b[17]);
        st[16] = b[16] ^ (~b[17] & b[18]);
        st[17] = b[17] ^ (~b[18] & b[19]);
        st[18] = b[18] ^ (~b[19] & b[15]);
        st[19] = b[19] ^ (~b[15] & b[16]);
        st[20] = b[20] ^ (~b[21] & b[22]);
        st[21] = b[21] ^ (~b[22] & b[23]);
        st[22] = b[22] ^ (~b[23] & b[24]);
        st[23] = b[23] ^ (~b[24] & b[20]);
        st[24] = b[24] ^ (~b[20] & b[21]);
        st[0] ^= sb_keccak_rc[round];
    }
}

/* Keccak-f[800], 22 rounds, in place. ProgPoW/KAWPOW call it without any sponge padding. */
SB_FN void sb_keccak_f800(sb_u32 st[25]) {
    sb_u32 b[25];
    for (int round = 0; round < 22; ++round) {
        const sb_u32 c0 = st[0] ^ st[5] ^ st[10] ^ st[15] ^ st[20];
        const sb_u32 c1 = st[1] ^ st[6] ^ st[11] ^ st[16] ^ st[21];
        const sb_u32 c2 = st[2] ^ st[7] ^ st[12] ^ st[17] ^ st[22];
        const sb_u32 c3 = st[3] ^ st[8] ^ st[13] ^ st[18] ^ st[23];
        const sb_u32 c4 = st[4] ^ st[9] ^ st[14] ^ st[19] ^ st[24];
        const sb_u32 d0 = c4 ^ SB_ROTL32(c1, 1u);
        const sb_u32 d1 = c0 ^ SB_ROTL32(c2, 1u);
        const sb_u32 d2 = c1 ^ SB_ROTL32(c3, 1u);
        const sb_u32 d3 = c2 ^ SB_ROTL32(c4, 1u);
        const sb_u32 d4 = c3 ^ SB_ROTL32(c0, 1u);
        b[0] = (st[0] ^ d0);
        b[10] = SB_ROTL32((st[1] ^ d1), 1u);
        b[20] = SB_ROTL32((st[2] ^ d2), 30u);
        b[5] = SB_ROTL32((st[3] ^ d3), 28u);
        b[15] = SB_ROTL32((st[4] ^ d4), 27u);
        b[16] = SB_ROTL32((st[5] ^ d0), 4u);
        b[1] = SB_ROTL32((st[6] ^ d1), 12u);
        b[11] = SB_ROTL32((st[7] ^ d2), 6u);
        b[21] = SB_ROTL32((st[8] ^ d3), 23u);
        b[6] = SB_ROTL32((st[9] ^ d4), 20u);
        b[7] = SB_ROTL32((st[10] ^ d0), 3u);
        b[17] = SB_ROTL32((st[11] ^ d1), 10u);
        b[2] = SB_ROTL32((st[12] ^ d2), 11u);
        b[12] = SB_ROTL32((st[13] ^ d3), 25u);
        b[22] = SB_ROTL32((st[14] ^ d4), 7u);
        b[23] = SB_ROTL32((st[15] ^ d0), 9u);
        b[8] = SB_ROTL32((st[16] ^ d1), 13u);
        b[18] = SB_ROTL32((st[17] ^ d2), 15u);
        b[3] = SB_ROTL32((st[18] ^ d3), 21u);
        b[13] = SB_ROTL32((st[19] ^ d4), 8u);
        b[14] = SB_ROTL32((st[20] ^ d0), 18u);
        b[24] = SB_ROTL32((st[21] ^ d1), 2u);
        b[9] = SB_ROTL32((st[22] ^ d2), 29u);
        b[19] = SB_ROTL32((st[23] ^ d3), 24u);
        b[4] = SB_ROTL32((st[24] ^ d4), 14u);
        st[0] = b[0] ^ (~b[1] & b[2]);
        st[1] = b[1] ^ (~b[2] & b[3]);
        st[2] = b[2] ^ (~b[3] & b[4]);
        st[3] = b[3] ^ (~b[4] & b[0]);
        st[4] = b[4] ^ (~b[0] & b[1]);
        st[5] = b[5] ^ (~b[6] & b[7]);
        st[6] = b[6] ^ (~b[7] & b[8]);
        st[7] = b[7] ^ (~b[8] & b[9]);
        st[8] = b[8] ^ (~b[9] & b[5]);
        st[9] = b[9] ^ (~b[5] & b[6]);
        st[10] = b[10] ^ (~b[11] & b[12]);
        st[11] = b[11] ^ (~b[12] & b[13]);
        st[12] = b[12] ^ (~b[13] & b[14]);
        st[13] = b[13] ^ (~b[14] & b[10]);
        st[14] = b[14] ^ (~b[10] & b[11]);
        st[15] = b[15] ^ (~b[16] & b[17]);
        st[16] = b[16] ^ (~b[17] & b[18]);
        st[17] = b[17] ^ (~b[18] & b[19]);
        st[18] = b[18] ^ (~b[19] & b[15]);
        st[19] = b[19] ^ (~b[15] & b[16]);
        st[20] = b[20] ^ (~b[21] & b[22]);
        st[21] = b[21] ^ (~b[22] & b[23]);
        st[22] = b[22] ^ (~b[23] & b[24]);
        st[23] = b[23] ^ (~b[24] & b[20]);
        st[24] = b[24] ^ (~b[20] & b[21]);
        st[0] ^= (sb_u32)sb_keccak_rc[round];
    }
}

/* Keccak-512 of exactly 64 bytes. in/out: 8 lanes, lane i = little-endian bytes 8i..8i+7.
 * Rate 72 bytes: the 0x01 pad byte lands at byte 64 and the final 0x80 at byte 71. */
SB_FN void sb_keccak512_64(sb_u64 out[8], const sb_u64 in[8]) {
    sb_u64 st[25];
    for (int i = 0; i < 25; ++i) st[i] = 0;
    for (int i = 0; i < 8; ++i) st[i] = in[i];
    st[8] = 0x8000000000000001ULL;
    sb_keccak_f1600(st);
    for (int i = 0; i < 8; ++i) out[i] = st[i];
}

/* Keccak-256 of exactly 32 bytes (lanes as above). Rate 136 bytes: pad at bytes 32, 135. */
SB_FN void sb_keccak256_32(sb_u64 out[4], const sb_u64 in[4]) {
    sb_u64 st[25];
    for (int i = 0; i < 25; ++i) st[i] = 0;
    for (int i = 0; i < 4; ++i) st[i] = in[i];
    st[4] = 0x01ULL;
    st[16] = 0x8000000000000000ULL;
    sb_keccak_f1600(st);
    for (int i = 0; i < 4; ++i) out[i] = st[i];
}

#endif /* SB_GPU_KERNELS_KECCAK_H */
