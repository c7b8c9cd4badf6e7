/* SHA-256d nonce search over an 80-byte block header: the one source of the CPU reference,
 * the CUDA kernel and the OpenCL kernel (gpu.md sec. 1.2-sec. 1.3; portable dialect: portable.h).
 *
 * SHA-256 words are big-endian readings of the bytes. The header's first 64 bytes are one
 * block whose state (the midstate) the host computes once per job. Chunk 2 is header[64..80]
 * || 0x80 || zeros || bit length 640: W0..W2 are the merkle root's tail, nTime and nBits
 * (fixed per job), W3 is the byte-swapped nonce, W4 = 0x80000000, W5..W14 = 0, W15 = 0x280.
 *
 * Per job the host (sb_sha256d_prepare) also runs rounds 0-2 of chunk 2, which do not
 * depend on the nonce, and folds everything of round 3 except W3, W16/W17 (+K16/K17) and
 * the nonce-free parts of W18, W19, W31 and W32. A nonce then costs rounds 3-63 of chunk 2
 * and rounds 0-60 of the second hash: that hash's H7 is IV7 + (e after round 60), so the
 * search stops there. The "top word" of the hash (bytes 28..31 of the digest read
 * little-endian, the first 8 hex digits of the display hash) is bswap(IV7 + e60); it is 0
 * exactly when e60 == SB_SHA256D_E60_ZERO.
 *
 * The round code is written straight, without loops, so every target unrolls it fully and
 * folds the literal padding words and the K + W sums.
 */
#ifndef SB_GPU_KERNELS_SHA256D_H
#define SB_GPU_KERNELS_SHA256D_H

#include "sb/pow/kernels/portable.h"

/* Address space of the job the search functions read (OpenCL kernels: __constant, so the
 * per-job words come from the constant cache; empty on the host and in CUDA). */
#ifndef SB_JOB_AS
#define SB_JOB_AS
#endif

/* FIPS 180-4 sec. 4.2.2 round constants, as literals so that the compilers fold K + W. */
#define SB_SHA256_K0 0x428a2f98u
#define SB_SHA256_K1 0x71374491u
#define SB_SHA256_K2 0xb5c0fbcfu
#define SB_SHA256_K3 0xe9b5dba5u
#define SB_SHA256_K4 0x3956c25bu
#define SB_SHA256_K5 0x59f111f1u
#define SB_SHA256_K6 0x923f82a4u
#define SB_SHA256_K7 0xab1c5ed5u
#define SB_SHA256_K8 0xd807aa98u
#define SB_SHA256_K9 0x12835b01u
#define SB_SHA256_K10 0x243185beu
#define SB_SHA256_K11 0x550c7dc3u
#define SB_SHA256_K12 0x72be5d74u
#define SB_SHA256_K13 0x80deb1feu
#define SB_SHA256_K14 0x9bdc06a7u
#define SB_SHA256_K15 0xc19bf174u
#define SB_SHA256_K16 0xe49b69c1u
#define SB_SHA256_K17 0xefbe4786u
#define SB_SHA256_K18 0x0fc19dc6u
#define SB_SHA256_K19 0x240ca1ccu
#define SB_SHA256_K20 0x2de92c6fu
#define SB_SHA256_K21 0x4a7484aau
#define SB_SHA256_K22 0x5cb0a9dcu
#define SB_SHA256_K23 0x76f988dau
#define SB_SHA256_K24 0x983e5152u
#define SB_SHA256_K25 0xa831c66du
#define SB_SHA256_K26 0xb00327c8u
#define SB_SHA256_K27 0xbf597fc7u
#define SB_SHA256_K28 0xc6e00bf3u
#define SB_SHA256_K29 0xd5a79147u
#define SB_SHA256_K30 0x06ca6351u
#define SB_SHA256_K31 0x14292967u
#define SB_SHA256_K32 0x27b70a85u
#define SB_SHA256_K33 0x2e1b2138u
#define SB_SHA256_K34 0x4d2c6dfcu
#define SB_SHA256_K35 0x53380d13u
#define SB_SHA256_K36 0x650a7354u
#define SB_SHA256_K37 0x766a0abbu
#define SB_SHA256_K38 0x81c2c92eu
#define SB_SHA256_K39 0x92722c85u
#define SB_SHA256_K40 0xa2bfe8a1u
#define SB_SHA256_K41 0xa81a664bu
#define SB_SHA256_K42 0xc24b8b70u
#define SB_SHA256_K43 0xc76c51a3u
#define SB_SHA256_K44 0xd192e819u
#define SB_SHA256_K45 0xd6990624u
#define SB_SHA256_K46 0xf40e3585u
#define SB_SHA256_K47 0x106aa070u
#define SB_SHA256_K48 0x19a4c116u
#define SB_SHA256_K49 0x1e376c08u
#define SB_SHA256_K50 0x2748774cu
#define SB_SHA256_K51 0x34b0bcb5u
#define SB_SHA256_K52 0x391c0cb3u
#define SB_SHA256_K53 0x4ed8aa4au
#define SB_SHA256_K54 0x5b9cca4fu
#define SB_SHA256_K55 0x682e6ff3u
#define SB_SHA256_K56 0x748f82eeu
#define SB_SHA256_K57 0x78a5636fu
#define SB_SHA256_K58 0x84c87814u
#define SB_SHA256_K59 0x8cc70208u
#define SB_SHA256_K60 0x90befffau
#define SB_SHA256_K61 0xa4506cebu
#define SB_SHA256_K62 0xbef9a3f7u
#define SB_SHA256_K63 0xc67178f2u


/* Initial state H0..H7 (FIPS 180-4 sec. 5.3.3). */
#define SB_SHA256_IV0 0x6a09e667u
#define SB_SHA256_IV1 0xbb67ae85u
#define SB_SHA256_IV2 0x3c6ef372u
#define SB_SHA256_IV3 0xa54ff53au
#define SB_SHA256_IV4 0x510e527fu
#define SB_SHA256_IV5 0x9b05688cu
#define SB_SHA256_IV6 0x1f83d9abu
#define SB_SHA256_IV7 0x5be0cd19u

/* e after round 60 of the second hash when its H7 (and so the top word) is 0: -IV7 mod 2^32. */
#define SB_SHA256D_E60_ZERO 0xa41f32e7u

/* Sigma0, Sigma1, sigma0, sigma1 and Ch/Maj in bitselect form (one LOP3 on NVIDIA, BFI on AMD). */
#define SB_SHA256_BSIG0(x) (SB_ROTR32((x), 2u) ^ SB_ROTR32((x), 13u) ^ SB_ROTR32((x), 22u))
#define SB_SHA256_BSIG1(x) (SB_ROTR32((x), 6u) ^ SB_ROTR32((x), 11u) ^ SB_ROTR32((x), 25u))
#define SB_SHA256_SSIG0(x) (SB_ROTR32((x), 7u) ^ SB_ROTR32((x), 18u) ^ ((x) >> 3))
#define SB_SHA256_SSIG1(x) (SB_ROTR32((x), 17u) ^ SB_ROTR32((x), 19u) ^ ((x) >> 10))
#define SB_SHA256_CH(x, y, z) SB_BITSELECT((z), (y), (x))
#define SB_SHA256_MAJ(x, y, z) SB_BITSELECT((x), (y), (x) ^ (z))

/* One round on the locals a..h with kw = K[t] + W[t]. The register renaming is free once
 * the code is straight. */
#define SB_SHA256_STEP(kw)                                                            \
    do {                                                                              \
        const sb_u32 t1_ = h + SB_SHA256_BSIG1(e) + SB_SHA256_CH(e, f, g) + (kw);     \
        const sb_u32 t2_ = SB_SHA256_BSIG0(a) + SB_SHA256_MAJ(a, b, c);               \
        h = g; g = f; f = e; e = d + t1_;                                             \
        d = c; c = b; b = a; a = t1_ + t2_;                                           \
    } while (0)

/* A round that computes only e: rounds 57-60 of the second hash, whose a values no longer
 * reach e60 (e60 = a56 + T1 of round 60). */
#define SB_SHA256_STEP_E(kw)                                                          \
    do {                                                                              \
        const sb_u32 t1_ = h + SB_SHA256_BSIG1(e) + SB_SHA256_CH(e, f, g) + (kw);     \
        h = g; g = f; f = e; e = d + t1_;                                             \
        d = c; c = b; b = a;                                                          \
    } while (0)

/* W[t] of the message schedule (FIPS 180-4 sec. 6.2.2 step 1). */
#define SB_SHA256_EXPAND(w, t) \
    (w)[t] = SB_SHA256_SSIG1((w)[(t)-2]) + (w)[(t)-7] + SB_SHA256_SSIG0((w)[(t)-15]) + (w)[(t)-16]

/* Everything about a job that does not depend on the nonce. Only 32-bit members, so host,
 * CUDA and OpenCL agree on the layout (30 words, 120 bytes). */
typedef struct sb_sha256d_job {
    sb_u32 midstate[8];  /* state after header[0..64) */
    sb_u32 w[3];         /* chunk-2 W0..W2 */
    sb_u32 state2[8];    /* a..h after rounds 0-2 of chunk 2 */
    sb_u32 r3_a;         /* a after round 3, less W3 */
    sb_u32 r3_e;         /* e after round 3, less W3 */
    sb_u32 w16, w17;     /* W16 = sigma0(W1) + W0, W17 = sigma1(W15) + sigma0(W2) + W1 */
    sb_u32 w16k, w17k;   /* W16 + K16, W17 + K17 */
    sb_u32 pre18;        /* W18 - sigma0(W3) = sigma1(W16) + W2 */
    sb_u32 pre19;        /* W19 - W3 = sigma1(W17) + sigma0(W4) */
    sb_u32 pre31;        /* W31 - sigma1(W29) - W24 = sigma0(W16) + W15 */
    sb_u32 pre32;        /* W32 - sigma1(W30) - W25 = sigma0(W17) + W16 */
    sb_u32 target_word;  /* candidate when the top word <= target_word */
} sb_sha256d_job;

/* Fills job from the midstate, chunk-2 words W0..W2 and the candidate bound (host side). */
SB_FN void sb_sha256d_prepare(sb_sha256d_job* job, const sb_u32 midstate[8], sb_u32 w0, sb_u32 w1, sb_u32 w2,
                              sb_u32 target_word) {
    for (int i = 0; i < 8; ++i) job->midstate[i] = midstate[i];
    job->w[0] = w0;
    job->w[1] = w1;
    job->w[2] = w2;
    sb_u32 a = midstate[0], b = midstate[1], c = midstate[2], d = midstate[3];
    sb_u32 e = midstate[4], f = midstate[5], g = midstate[6], h = midstate[7];
    SB_SHA256_STEP(SB_SHA256_K0 + w0);
    SB_SHA256_STEP(SB_SHA256_K1 + w1);
    SB_SHA256_STEP(SB_SHA256_K2 + w2);
    job->state2[0] = a; job->state2[1] = b; job->state2[2] = c; job->state2[3] = d;
    job->state2[4] = e; job->state2[5] = f; job->state2[6] = g; job->state2[7] = h;
    /* Round 3 without W3: T1 = h + Sigma1(e) + Ch(e, f, g) + K3 (+ W3); a = T1 + T2; e = d + T1. */
    const sb_u32 t1 = h + SB_SHA256_BSIG1(e) + SB_SHA256_CH(e, f, g) + SB_SHA256_K3;
    job->r3_a = t1 + SB_SHA256_BSIG0(a) + SB_SHA256_MAJ(a, b, c);
    job->r3_e = d + t1;
    const sb_u32 w4 = 0x80000000u, w15 = 0x280u;
    job->w16 = SB_SHA256_SSIG0(w1) + w0;
    job->w17 = SB_SHA256_SSIG1(w15) + SB_SHA256_SSIG0(w2) + w1;
    job->w16k = job->w16 + SB_SHA256_K16;
    job->w17k = job->w17 + SB_SHA256_K17;
    job->pre18 = SB_SHA256_SSIG1(job->w16) + w2;
    job->pre19 = SB_SHA256_SSIG1(job->w17) + SB_SHA256_SSIG0(w4);
    job->pre31 = SB_SHA256_SSIG0(job->w16) + w15;
    job->pre32 = SB_SHA256_SSIG0(job->w17) + job->w16;
    job->target_word = target_word;
}

/* The first hash (chunk 2 from the precomputed round-3 state, plus the midstate) with
 * W3 = w3, the nonce byte-swapped. out[0..8) are its digest words. */
SB_FN void sb_sha256d_first_hash(const SB_JOB_AS sb_sha256d_job* job, sb_u32 w3, sb_u32 out[8]) {
    sb_u32 w[64];
    w[4] = 0x80000000u; w[5] = 0u; w[6] = 0u; w[7] = 0u; w[8] = 0u; w[9] = 0u;
    w[10] = 0u; w[11] = 0u; w[12] = 0u; w[13] = 0u; w[14] = 0u; w[15] = 0x280u;
    w[16] = job->w16;
    w[17] = job->w17;
    sb_u32 a = job->r3_a + w3, b = job->state2[0], c = job->state2[1], d = job->state2[2];
    sb_u32 e = job->r3_e + w3, f = job->state2[4], g = job->state2[5], h = job->state2[6];
    SB_SHA256_STEP(SB_SHA256_K4 + w[4]);
    SB_SHA256_STEP(SB_SHA256_K5 + w[5]);
    SB_SHA256_STEP(SB_SHA256_K6 + w[6]);
    SB_SHA256_STEP(SB_SHA256_K7 + w[7]);
    SB_SHA256_STEP(SB_SHA256_K8 + w[8]);
    SB_SHA256_STEP(SB_SHA256_K9 + w[9]);
    SB_SHA256_STEP(SB_SHA256_K10 + w[10]);
    SB_SHA256_STEP(SB_SHA256_K11 + w[11]);
    SB_SHA256_STEP(SB_SHA256_K12 + w[12]);
    SB_SHA256_STEP(SB_SHA256_K13 + w[13]);
    SB_SHA256_STEP(SB_SHA256_K14 + w[14]);
    SB_SHA256_STEP(SB_SHA256_K15 + w[15]);
    SB_SHA256_STEP(job->w16k);
    SB_SHA256_STEP(job->w17k);
    w[18] = job->pre18 + SB_SHA256_SSIG0(w3);
    SB_SHA256_STEP(SB_SHA256_K18 + w[18]);
    w[19] = job->pre19 + w3;
    SB_SHA256_STEP(SB_SHA256_K19 + w[19]);
    SB_SHA256_EXPAND(w, 20);
    SB_SHA256_STEP(SB_SHA256_K20 + w[20]);
    SB_SHA256_EXPAND(w, 21);
    SB_SHA256_STEP(SB_SHA256_K21 + w[21]);
    SB_SHA256_EXPAND(w, 22);
    SB_SHA256_STEP(SB_SHA256_K22 + w[22]);
    SB_SHA256_EXPAND(w, 23);
    SB_SHA256_STEP(SB_SHA256_K23 + w[23]);
    SB_SHA256_EXPAND(w, 24);
    SB_SHA256_STEP(SB_SHA256_K24 + w[24]);
    SB_SHA256_EXPAND(w, 25);
    SB_SHA256_STEP(SB_SHA256_K25 + w[25]);
    SB_SHA256_EXPAND(w, 26);
    SB_SHA256_STEP(SB_SHA256_K26 + w[26]);
    SB_SHA256_EXPAND(w, 27);
    SB_SHA256_STEP(SB_SHA256_K27 + w[27]);
    SB_SHA256_EXPAND(w, 28);
    SB_SHA256_STEP(SB_SHA256_K28 + w[28]);
    SB_SHA256_EXPAND(w, 29);
    SB_SHA256_STEP(SB_SHA256_K29 + w[29]);
    SB_SHA256_EXPAND(w, 30);
    SB_SHA256_STEP(SB_SHA256_K30 + w[30]);
    w[31] = SB_SHA256_SSIG1(w[29]) + w[24] + job->pre31;
    SB_SHA256_STEP(SB_SHA256_K31 + w[31]);
    w[32] = SB_SHA256_SSIG1(w[30]) + w[25] + job->pre32;
    SB_SHA256_STEP(SB_SHA256_K32 + w[32]);
    SB_SHA256_EXPAND(w, 33);
    SB_SHA256_STEP(SB_SHA256_K33 + w[33]);
    SB_SHA256_EXPAND(w, 34);
    SB_SHA256_STEP(SB_SHA256_K34 + w[34]);
    SB_SHA256_EXPAND(w, 35);
    SB_SHA256_STEP(SB_SHA256_K35 + w[35]);
    SB_SHA256_EXPAND(w, 36);
    SB_SHA256_STEP(SB_SHA256_K36 + w[36]);
    SB_SHA256_EXPAND(w, 37);
    SB_SHA256_STEP(SB_SHA256_K37 + w[37]);
    SB_SHA256_EXPAND(w, 38);
    SB_SHA256_STEP(SB_SHA256_K38 + w[38]);
    SB_SHA256_EXPAND(w, 39);
    SB_SHA256_STEP(SB_SHA256_K39 + w[39]);
    SB_SHA256_EXPAND(w, 40);
    SB_SHA256_STEP(SB_SHA256_K40 + w[40]);
    SB_SHA256_EXPAND(w, 41);
    SB_SHA256_STEP(SB_SHA256_K41 + w[41]);
    SB_SHA256_EXPAND(w, 42);
    SB_SHA256_STEP(SB_SHA256_K42 + w[42]);
    SB_SHA256_EXPAND(w, 43);
    SB_SHA256_STEP(SB_SHA256_K43 + w[43]);
    SB_SHA256_EXPAND(w, 44);
    SB_SHA256_STEP(SB_SHA256_K44 + w[44]);
    SB_SHA256_EXPAND(w, 45);
    SB_SHA256_STEP(SB_SHA256_K45 + w[45]);
    SB_SHA256_EXPAND(w, 46);
    SB_SHA256_STEP(SB_SHA256_K46 + w[46]);
    SB_SHA256_EXPAND(w, 47);
    SB_SHA256_STEP(SB_SHA256_K47 + w[47]);
    SB_SHA256_EXPAND(w, 48);
    SB_SHA256_STEP(SB_SHA256_K48 + w[48]);
    SB_SHA256_EXPAND(w, 49);
    SB_SHA256_STEP(SB_SHA256_K49 + w[49]);
    SB_SHA256_EXPAND(w, 50);
    SB_SHA256_STEP(SB_SHA256_K50 + w[50]);
    SB_SHA256_EXPAND(w, 51);
    SB_SHA256_STEP(SB_SHA256_K51 + w[51]);
    SB_SHA256_EXPAND(w, 52);
    SB_SHA256_STEP(SB_SHA256_K52 + w[52]);
    SB_SHA256_EXPAND(w, 53);
    SB_SHA256_STEP(SB_SHA256_K53 + w[53]);
    SB_SHA256_EXPAND(w, 54);
    SB_SHA256_STEP(SB_SHA256_K54 + w[54]);
    SB_SHA256_EXPAND(w, 55);
    SB_SHA256_STEP(SB_SHA256_K55 + w[55]);
    SB_SHA256_EXPAND(w, 56);
    SB_SHA256_STEP(SB_SHA256_K56 + w[56]);
    SB_SHA256_EXPAND(w, 57);
    SB_SHA256_STEP(SB_SHA256_K57 + w[57]);
    SB_SHA256_EXPAND(w, 58);
    SB_SHA256_STEP(SB_SHA256_K58 + w[58]);
    SB_SHA256_EXPAND(w, 59);
    SB_SHA256_STEP(SB_SHA256_K59 + w[59]);
    SB_SHA256_EXPAND(w, 60);
    SB_SHA256_STEP(SB_SHA256_K60 + w[60]);
    SB_SHA256_EXPAND(w, 61);
    SB_SHA256_STEP(SB_SHA256_K61 + w[61]);
    SB_SHA256_EXPAND(w, 62);
    SB_SHA256_STEP(SB_SHA256_K62 + w[62]);
    SB_SHA256_EXPAND(w, 63);
    SB_SHA256_STEP(SB_SHA256_K63 + w[63]);
    out[0] = job->midstate[0] + a; out[1] = job->midstate[1] + b;
    out[2] = job->midstate[2] + c; out[3] = job->midstate[3] + d;
    out[4] = job->midstate[4] + e; out[5] = job->midstate[5] + f;
    out[6] = job->midstate[6] + g; out[7] = job->midstate[7] + h;
}

/* The second hash of the first hash's digest words h1, up to e after round 60. */
SB_FN sb_u32 sb_sha256d_second_e60(const sb_u32 h1[8]) {
    sb_u32 w[64];
    w[0] = h1[0]; w[1] = h1[1]; w[2] = h1[2]; w[3] = h1[3];
    w[4] = h1[4]; w[5] = h1[5]; w[6] = h1[6]; w[7] = h1[7];
    w[8] = 0x80000000u; w[9] = 0u; w[10] = 0u; w[11] = 0u;
    w[12] = 0u; w[13] = 0u; w[14] = 0u; w[15] = 0x100u;
    sb_u32 a = SB_SHA256_IV0, b = SB_SHA256_IV1, c = SB_SHA256_IV2, d = SB_SHA256_IV3;
    sb_u32 e = SB_SHA256_IV4, f = SB_SHA256_IV5, g = SB_SHA256_IV6, h = SB_SHA256_IV7;
    SB_SHA256_STEP(SB_SHA256_K0 + w[0]);
    SB_SHA256_STEP(SB_SHA256_K1 + w[1]);
    SB_SHA256_STEP(SB_SHA256_K2 + w[2]);
    SB_SHA256_STEP(SB_SHA256_K3 + w[3]);
    SB_SHA256_STEP(SB_SHA256_K4 + w[4]);
    SB_SHA256_STEP(SB_SHA256_K5 + w[5]);
    SB_SHA256_STEP(SB_SHA256_K6 + w[6]);
    SB_SHA256_STEP(SB_SHA256_K7 + w[7]);
    SB_SHA256_STEP(SB_SHA256_K8 + w[8]);
    SB_SHA256_STEP(SB_SHA256_K9 + w[9]);
    SB_SHA256_STEP(SB_SHA256_K10 + w[10]);
    SB_SHA256_STEP(SB_SHA256_K11 + w[11]);
    SB_SHA256_STEP(SB_SHA256_K12 + w[12]);
    SB_SHA256_STEP(SB_SHA256_K13 + w[13]);
    SB_SHA256_STEP(SB_SHA256_K14 + w[14]);
    SB_SHA256_STEP(SB_SHA256_K15 + w[15]);
    SB_SHA256_EXPAND(w, 16);
    SB_SHA256_STEP(SB_SHA256_K16 + w[16]);
    SB_SHA256_EXPAND(w, 17);
    SB_SHA256_STEP(SB_SHA256_K17 + w[17]);
    SB_SHA256_EXPAND(w, 18);
    SB_SHA256_STEP(SB_SHA256_K18 + w[18]);
    SB_SHA256_EXPAND(w, 19);
    SB_SHA256_STEP(SB_SHA256_K19 + w[19]);
    SB_SHA256_EXPAND(w, 20);
    SB_SHA256_STEP(SB_SHA256_K20 + w[20]);
    SB_SHA256_EXPAND(w, 21);
    SB_SHA256_STEP(SB_SHA256_K21 + w[21]);
    SB_SHA256_EXPAND(w, 22);
    SB_SHA256_STEP(SB_SHA256_K22 + w[22]);
    SB_SHA256_EXPAND(w, 23);
    SB_SHA256_STEP(SB_SHA256_K23 + w[23]);
    SB_SHA256_EXPAND(w, 24);
    SB_SHA256_STEP(SB_SHA256_K24 + w[24]);
    SB_SHA256_EXPAND(w, 25);
    SB_SHA256_STEP(SB_SHA256_K25 + w[25]);
    SB_SHA256_EXPAND(w, 26);
    SB_SHA256_STEP(SB_SHA256_K26 + w[26]);
    SB_SHA256_EXPAND(w, 27);
    SB_SHA256_STEP(SB_SHA256_K27 + w[27]);
    SB_SHA256_EXPAND(w, 28);
    SB_SHA256_STEP(SB_SHA256_K28 + w[28]);
    SB_SHA256_EXPAND(w, 29);
    SB_SHA256_STEP(SB_SHA256_K29 + w[29]);
    SB_SHA256_EXPAND(w, 30);
    SB_SHA256_STEP(SB_SHA256_K30 + w[30]);
    SB_SHA256_EXPAND(w, 31);
    SB_SHA256_STEP(SB_SHA256_K31 + w[31]);
    SB_SHA256_EXPAND(w, 32);
    SB_SHA256_STEP(SB_SHA256_K32 + w[32]);
    SB_SHA256_EXPAND(w, 33);
    SB_SHA256_STEP(SB_SHA256_K33 + w[33]);
    SB_SHA256_EXPAND(w, 34);
    SB_SHA256_STEP(SB_SHA256_K34 + w[34]);
    SB_SHA256_EXPAND(w, 35);
    SB_SHA256_STEP(SB_SHA256_K35 + w[35]);
    SB_SHA256_EXPAND(w, 36);
    SB_SHA256_STEP(SB_SHA256_K36 + w[36]);
    SB_SHA256_EXPAND(w, 37);
    SB_SHA256_STEP(SB_SHA256_K37 + w[37]);
    SB_SHA256_EXPAND(w, 38);
    SB_SHA256_STEP(SB_SHA256_K38 + w[38]);
    SB_SHA256_EXPAND(w, 39);
    SB_SHA256_STEP(SB_SHA256_K39 + w[39]);
    SB_SHA256_EXPAND(w, 40);
    SB_SHA256_STEP(SB_SHA256_K40 + w[40]);
    SB_SHA256_EXPAND(w, 41);
    SB_SHA256_STEP(SB_SHA256_K41 + w[41]);
    SB_SHA256_EXPAND(w, 42);
    SB_SHA256_STEP(SB_SHA256_K42 + w[42]);
    SB_SHA256_EXPAND(w, 43);
    SB_SHA256_STEP(SB_SHA256_K43 + w[43]);
    SB_SHA256_EXPAND(w, 44);
    SB_SHA256_STEP(SB_SHA256_K44 + w[44]);
    SB_SHA256_EXPAND(w, 45);
    SB_SHA256_STEP(SB_SHA256_K45 + w[45]);
    SB_SHA256_EXPAND(w, 46);
    SB_SHA256_STEP(SB_SHA256_K46 + w[46]);
    SB_SHA256_EXPAND(w, 47);
    SB_SHA256_STEP(SB_SHA256_K47 + w[47]);
    SB_SHA256_EXPAND(w, 48);
    SB_SHA256_STEP(SB_SHA256_K48 + w[48]);
    SB_SHA256_EXPAND(w, 49);
    SB_SHA256_STEP(SB_SHA256_K49 + w[49]);
    SB_SHA256_EXPAND(w, 50);
    SB_SHA256_STEP(SB_SHA256_K50 + w[50]);
    SB_SHA256_EXPAND(w, 51);
    SB_SHA256_STEP(SB_SHA256_K51 + w[51]);
    SB_SHA256_EXPAND(w, 52);
    SB_SHA256_STEP(SB_SHA256_K52 + w[52]);
    SB_SHA256_EXPAND(w, 53);
    SB_SHA256_STEP(SB_SHA256_K53 + w[53]);
    SB_SHA256_EXPAND(w, 54);
    SB_SHA256_STEP(SB_SHA256_K54 + w[54]);
    SB_SHA256_EXPAND(w, 55);
    SB_SHA256_STEP(SB_SHA256_K55 + w[55]);
    SB_SHA256_EXPAND(w, 56);
    SB_SHA256_STEP(SB_SHA256_K56 + w[56]);
    SB_SHA256_EXPAND(w, 57);
    SB_SHA256_STEP_E(SB_SHA256_K57 + w[57]);
    SB_SHA256_EXPAND(w, 58);
    SB_SHA256_STEP_E(SB_SHA256_K58 + w[58]);
    SB_SHA256_EXPAND(w, 59);
    SB_SHA256_STEP_E(SB_SHA256_K59 + w[59]);
    SB_SHA256_EXPAND(w, 60);
    SB_SHA256_STEP_E(SB_SHA256_K60 + w[60]);
    return e;
}

/* The hash's top word for nonce (the header's nonce field as a little-endian integer). */
SB_FN sb_u32 sb_sha256d_top_word(const SB_JOB_AS sb_sha256d_job* job, sb_u32 nonce) {
    sb_u32 h1[8];
    sb_sha256d_first_hash(job, SB_BSWAP32(nonce), h1);
    return SB_BSWAP32(sb_sha256d_second_e60(h1) + SB_SHA256_IV7);
}

/* 1 when nonce is a candidate: top word <= target_word. For target_word 0 (every share of
 * difficulty >= 1) this is the single compare e60 == SB_SHA256D_E60_ZERO. */
SB_FN int sb_sha256d_is_candidate(const SB_JOB_AS sb_sha256d_job* job, sb_u32 nonce) {
    sb_u32 h1[8];
    sb_sha256d_first_hash(job, SB_BSWAP32(nonce), h1);
    const sb_u32 e60 = sb_sha256d_second_e60(h1);
    if (job->target_word == 0u) return e60 == SB_SHA256D_E60_ZERO;
    return SB_BSWAP32(e60 + SB_SHA256_IV7) <= job->target_word;
}

#endif /* SB_GPU_KERNELS_SHA256D_H */
