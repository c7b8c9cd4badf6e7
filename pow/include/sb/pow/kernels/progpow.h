/* ProgPoW 0.9.4 with KAWPOW's parameters and padding (ifdefelse/ProgPOW README "Algorithm
 * definition"; KAWPOW = cpp-kawpow lib/ethash/progpow.cpp; facts in shared/reference/gpu.md
 * §2.1-§2.2). Portable dialect: see portable.h.
 *
 * Shape: one lane's work is a function of that lane's 32 registers, so a GPU thread runs
 * exactly what the CPU reference runs per lane. The per-period random program is data
 * (sb_progpow_program) that the host builds once per period (prog_seed = height / 3) and
 * the kernel interprets; only the DAG item index (mix[loop % 16][0], one lane's register)
 * crosses lanes.
 *
 * Word orders: header_hash, mix_hash and final_hash are 8 little-endian uint32 words of
 * their 32 output bytes; the nonce enters as (low word, high word).
 */
#ifndef SB_GPU_KERNELS_PROGPOW_H
#define SB_GPU_KERNELS_PROGPOW_H

#include "keccak.h"

#define SB_PROGPOW_PERIOD 3u
#define SB_PROGPOW_LANES 16u
#define SB_PROGPOW_REGS 32u
#define SB_PROGPOW_DAG_LOADS 4u
#define SB_PROGPOW_CACHE_WORDS 4096u /* PROGPOW_CACHE_BYTES 16 KiB */
#define SB_PROGPOW_CNT_DAG 64u
#define SB_PROGPOW_CNT_CACHE 11u
#define SB_PROGPOW_CNT_MATH 18u
#define SB_PROGPOW_ITEM_WORDS 64u /* one DAG access: LANES * DAG_LOADS words = 256 bytes */
#define SB_FNV_OFFSET_BASIS 0x811c9dc5u
#define SB_FNV_PRIME 0x01000193u

/* "rAVENCOINKAWPOW": KAWPOW's replacement of ProgPoW's keccak padding. The first word is
 * 0x72 (lowercase 'r'), not 0x52 (gpu.md §0 "Trap"). */
SB_CONSTANT sb_u32 sb_kawpow_padding[15] = {0x72, 0x41, 0x56, 0x45, 0x4E, 0x43, 0x4F, 0x49,
                                            0x4E, 0x4B, 0x41, 0x57, 0x50, 0x4F, 0x57};

typedef struct {
    sb_u32 z, w, jsr, jcong;
} sb_kiss99_state;

/* FNV-1a over one 32-bit word (ProgPoW "fnv1a"). */
SB_FN sb_u32 sb_fnv1a(sb_u32 h, sb_u32 d) { return (h ^ d) * SB_FNV_PRIME; }

/* KISS99 (Marsaglia 1999) as ProgPoW defines it; advances st. */
SB_FN sb_u32 sb_kiss99(sb_kiss99_state* st) {
    st->z = 36969u * (st->z & 65535u) + (st->z >> 16);
    st->w = 18000u * (st->w & 65535u) + (st->w >> 16);
    const sb_u32 mwc = (st->z << 16) + st->w;
    st->jsr ^= st->jsr << 17;
    st->jsr ^= st->jsr >> 13;
    st->jsr ^= st->jsr << 5;
    st->jcong = 69069u * st->jcong + 1234567u;
    return (mwc ^ st->jcong) + st->jsr;
}

/* fill_mix: the 32 registers of one lane from the 64-bit hash seed. */
SB_FN void sb_progpow_fill_mix(sb_u32 lane_mix[32], sb_u64 seed, sb_u32 lane) {
    sb_kiss99_state st;
    st.z = sb_fnv1a(SB_FNV_OFFSET_BASIS, (sb_u32)seed);
    st.w = sb_fnv1a(st.z, (sb_u32)(seed >> 32));
    st.jsr = sb_fnv1a(st.w, lane);
    st.jcong = sb_fnv1a(st.jsr, lane);
    for (sb_u32 i = 0; i < SB_PROGPOW_REGS; ++i) lane_mix[i] = sb_kiss99(&st);
}

/* merge(): mixes b into *a with a random op chosen by r; entropy of a is kept. */
SB_FN sb_u32 sb_progpow_merge(sb_u32 a, sb_u32 b, sb_u32 r) {
    const sb_u32 x = ((r >> 16) % 31u) + 1u;
    switch (r % 4u) {
        case 0: return (a * 33u) + b;
        case 1: return (a ^ b) * 33u;
        case 2: return SB_ROTL32(a, x) ^ b;
        default: return SB_ROTR32(a, x) ^ b;
    }
}

/* math(): one of 11 random ops chosen by r. */
SB_FN sb_u32 sb_progpow_math(sb_u32 a, sb_u32 b, sb_u32 r) {
    switch (r % 11u) {
        case 0: return a + b;
        case 1: return a * b;
        case 2: return SB_MUL_HI32(a, b);
        case 3: return SB_MIN32(a, b);
        case 4: return SB_ROTL32(a, b & 31u);
        case 5: return SB_ROTR32(a, b & 31u);
        case 6: return a & b;
        case 7: return a | b;
        case 8: return a ^ b;
        case 9: return SB_CLZ32(a) + SB_CLZ32(b);
        default: return SB_POPCOUNT32(a) + SB_POPCOUNT32(b);
    }
}

/* progPowInit: the program RNG from prog_seed and the Fisher-Yates register orders. */
SB_FN void sb_progpow_init(sb_kiss99_state* st, sb_u32 dst_seq[32], sb_u32 src_seq[32], sb_u64 prog_seed) {
    const sb_u32 lo = (sb_u32)prog_seed;
    const sb_u32 hi = (sb_u32)(prog_seed >> 32);
    st->z = sb_fnv1a(SB_FNV_OFFSET_BASIS, lo);
    st->w = sb_fnv1a(st->z, hi);
    st->jsr = sb_fnv1a(st->w, lo);
    st->jcong = sb_fnv1a(st->jsr, hi);
    for (sb_u32 i = 0; i < SB_PROGPOW_REGS; ++i) {
        dst_seq[i] = i;
        src_seq[i] = i;
    }
    for (sb_u32 i = SB_PROGPOW_REGS - 1u; i > 0u; --i) {
        sb_u32 j = sb_kiss99(st) % (i + 1u);
        sb_u32 t = dst_seq[i];
        dst_seq[i] = dst_seq[j];
        dst_seq[j] = t;
        j = sb_kiss99(st) % (i + 1u);
        t = src_seq[i];
        src_seq[i] = src_seq[j];
        src_seq[j] = t;
    }
}

/* One period's random program, identical for all 64 loops (each loop restarts the program
 * RNG from progPowInit). Step i (0..17) is cache op i when i < 11, then math op i; the
 * four DAG merges follow. Registers are 0..31. */
typedef struct {
    sb_u32 cache_src[SB_PROGPOW_CNT_CACHE];
    sb_u32 cache_dst[SB_PROGPOW_CNT_CACHE];
    sb_u32 cache_sel[SB_PROGPOW_CNT_CACHE];
    sb_u32 math_src1[SB_PROGPOW_CNT_MATH];
    sb_u32 math_src2[SB_PROGPOW_CNT_MATH];
    sb_u32 math_sel1[SB_PROGPOW_CNT_MATH];
    sb_u32 math_dst[SB_PROGPOW_CNT_MATH];
    sb_u32 math_sel2[SB_PROGPOW_CNT_MATH];
    sb_u32 dag_dst[SB_PROGPOW_DAG_LOADS];
    sb_u32 dag_sel[SB_PROGPOW_DAG_LOADS];
} sb_progpow_program;

/* Records the draws of progPowLoop in the order the spec makes them. */
SB_FN void sb_progpow_build_program(sb_progpow_program* prog, sb_u64 prog_seed) {
    sb_kiss99_state st;
    sb_u32 dst_seq[SB_PROGPOW_REGS];
    sb_u32 src_seq[SB_PROGPOW_REGS];
    sb_progpow_init(&st, dst_seq, src_seq, prog_seed);
    sb_u32 dst_cnt = 0;
    sb_u32 src_cnt = 0;
    for (sb_u32 i = 0; i < SB_PROGPOW_CNT_MATH; ++i) { /* max(CNT_CACHE, CNT_MATH) steps */
        if (i < SB_PROGPOW_CNT_CACHE) {
            prog->cache_src[i] = src_seq[(src_cnt++) % SB_PROGPOW_REGS];
            prog->cache_dst[i] = dst_seq[(dst_cnt++) % SB_PROGPOW_REGS];
            prog->cache_sel[i] = sb_kiss99(&st);
        }
        const sb_u32 src_rnd = sb_kiss99(&st) % (SB_PROGPOW_REGS * (SB_PROGPOW_REGS - 1u));
        const sb_u32 src1 = src_rnd % SB_PROGPOW_REGS;
        sb_u32 src2 = src_rnd / SB_PROGPOW_REGS;
        if (src2 >= src1) ++src2; /* src2 != src1 */
        prog->math_src1[i] = src1;
        prog->math_src2[i] = src2;
        prog->math_sel1[i] = sb_kiss99(&st);
        prog->math_dst[i] = dst_seq[(dst_cnt++) % SB_PROGPOW_REGS];
        prog->math_sel2[i] = sb_kiss99(&st);
    }
    for (sb_u32 i = 0; i < SB_PROGPOW_DAG_LOADS; ++i) {
        prog->dag_dst[i] = i == 0u ? 0u : dst_seq[(dst_cnt++) % SB_PROGPOW_REGS];
        prog->dag_sel[i] = sb_kiss99(&st);
    }
}

/* The 256-byte DAG item that loop `loop` reads: lane (loop % 16)'s register 0, modulo the
 * number of 256-byte items (= ethash 1024-bit items / 2). */
SB_FN sb_u32 sb_progpow_item_index(sb_u32 leader_mix0, sb_u32 num_items_256) { return leader_mix0 % num_items_256; }

/* One loop of progPowLoop for one lane. l1: the first 4096 words of the dataset. item: the
 * 64 words of the DAG item this loop reads; the lane takes words ((lane ^ loop) % 16) * 4 + i. */
SB_FN void sb_progpow_lane_round(sb_u32 lane_mix[32], sb_u32 lane, sb_u32 loop, SB_PROG_AS const sb_progpow_program* prog,
                                 SB_CACHE_AS const sb_u32* l1, SB_ITEM_AS const sb_u32* item) {
    const sb_u32 word = ((lane ^ loop) % SB_PROGPOW_LANES) * SB_PROGPOW_DAG_LOADS;
    sb_u32 dag[SB_PROGPOW_DAG_LOADS];
    for (sb_u32 i = 0; i < SB_PROGPOW_DAG_LOADS; ++i) dag[i] = item[word + i];
    for (sb_u32 i = 0; i < SB_PROGPOW_CNT_MATH; ++i) {
        if (i < SB_PROGPOW_CNT_CACHE) {
            const sb_u32 offset = lane_mix[prog->cache_src[i]] % SB_PROGPOW_CACHE_WORDS;
            const sb_u32 dst = prog->cache_dst[i];
            lane_mix[dst] = sb_progpow_merge(lane_mix[dst], l1[offset], prog->cache_sel[i]);
        }
        const sb_u32 data = sb_progpow_math(lane_mix[prog->math_src1[i]], lane_mix[prog->math_src2[i]], prog->math_sel1[i]);
        const sb_u32 dst = prog->math_dst[i];
        lane_mix[dst] = sb_progpow_merge(lane_mix[dst], data, prog->math_sel2[i]);
    }
    for (sb_u32 i = 0; i < SB_PROGPOW_DAG_LOADS; ++i) {
        const sb_u32 dst = prog->dag_dst[i];
        lane_mix[dst] = sb_progpow_merge(lane_mix[dst], dag[i], prog->dag_sel[i]);
    }
}

/* A lane's 32 registers reduced to one word (fnv1a chain from the offset basis). */
SB_FN sb_u32 sb_progpow_lane_hash(const sb_u32 lane_mix[32]) {
    sb_u32 h = SB_FNV_OFFSET_BASIS;
    for (sb_u32 i = 0; i < SB_PROGPOW_REGS; ++i) h = sb_fnv1a(h, lane_mix[i]);
    return h;
}

/* KAWPOW's first keccak-f800: header words 0-7, nonce (low, high), the 15 padding words.
 * state2: output words 0-7; the 64-bit hash seed is (state2[1] << 32) | state2[0]. */
SB_FN void sb_kawpow_initial_keccak(sb_u32 state2[8], const sb_u32 header[8], sb_u64 nonce) {
    sb_u32 st[25];
    for (int i = 0; i < 8; ++i) st[i] = header[i];
    st[8] = (sb_u32)nonce;
    st[9] = (sb_u32)(nonce >> 32);
    for (int i = 0; i < 15; ++i) st[10 + i] = sb_kawpow_padding[i];
    sb_keccak_f800(st);
    for (int i = 0; i < 8; ++i) state2[i] = st[i];
}

SB_FN sb_u64 sb_kawpow_hash_seed(const sb_u32 state2[8]) { return ((sb_u64)state2[1] << 32) | state2[0]; }

/* KAWPOW's final keccak-f800: state2, the mix hash, the first 9 padding words ("rAVENCOIN").
 * out: final hash as 8 words (little-endian bytes give the final hash bytes). */
SB_FN void sb_kawpow_final_keccak(sb_u32 out[8], const sb_u32 state2[8], const sb_u32 mix_hash[8]) {
    sb_u32 st[25];
    for (int i = 0; i < 8; ++i) st[i] = state2[i];
    for (int i = 0; i < 8; ++i) st[8 + i] = mix_hash[i];
    for (int i = 0; i < 9; ++i) st[16 + i] = sb_kawpow_padding[i];
    sb_keccak_f800(st);
    for (int i = 0; i < 8; ++i) out[i] = st[i];
}

#endif /* SB_GPU_KERNELS_PROGPOW_H */
