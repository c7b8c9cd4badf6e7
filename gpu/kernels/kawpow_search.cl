/* OpenCL KAWPOW nonce search (gpu.md §2.2, the structure of kawpowminer's CL kernel §2.5).
 *
 * Embedded at build time with its headers inlined (gpu/cmake/embed_kernel.cmake). At run time
 * the host replaces the marker line below with the period's round, written out from the same
 * sb_progpow_build_program the CPU reference interprets (progpow_period_source, which also
 * defines SB_DAG_ITEMS_256, the dataset's 256-byte item count, as a constant), and builds with
 *   -DSB_GROUP_SIZE=g -DSB_MAX_CANDIDATES=m
 *
 * A work-group of g work-items is g/16 lane groups. Each work-item owns one nonce; the 16
 * work-items of a lane group compute their 16 hashes one after another, each hash with all 16
 * lanes, exchanging through local memory (the hash seed, each loop's DAG index, the lane
 * hashes). The 16 KiB L1 cache (the dataset's first 4096 words) is copied to local memory once
 * per work-group. A work-item keeps the mix of its own nonce, runs the final keccak and, when
 * the top 64 bits of the final hash (big-endian) are at most the job's, writes its nonce and
 * mix to the result buffer behind an atomic counter.
 *
 * job (12 words): header words 0-7, start nonce (low, high), target's top 64 bits (low, high).
 * result: [0] the candidate count; slot i at 1 + 10 i: nonce low, high, mix words 0-7.
 */
#define SB_CACHE_AS __local
#include "sb/pow/kernels/progpow.h"

/*@SB_PERIOD_PROGRAM@*/

#ifndef SB_DAG_ITEMS_256
#error "the host inserts the period program, which defines SB_DAG_ITEMS_256"
#endif
#ifndef SB_GROUP_SIZE
#define SB_GROUP_SIZE 128
#endif
#ifndef SB_MAX_CANDIDATES
#define SB_MAX_CANDIDATES 64
#endif
#define SB_SLOT_WORDS 10u

__kernel __attribute__((reqd_work_group_size(SB_GROUP_SIZE, 1, 1)))
void sb_kawpow_search(__global const uint4* dag, __constant const uint* job, const uint count,
                      __global volatile uint* result) {
    __local uint l1[SB_PROGPOW_CACHE_WORDS];
    __local uint share[SB_GROUP_SIZE];
    const uint lid = (uint)get_local_id(0);
    const uint lane = lid % SB_PROGPOW_LANES;
    __local uint* group_share = share + (lid - lane);
    const uint gid = (uint)get_global_id(0);

    __global const uint* dag_words = (__global const uint*)dag;
    for (uint w = lid; w < SB_PROGPOW_CACHE_WORDS; w += SB_GROUP_SIZE) l1[w] = dag_words[w];

    uint header[8];
    for (int i = 0; i < 8; ++i) header[i] = job[i];
    const ulong nonce = (((ulong)job[9] << 32) | job[8]) + gid;
    const ulong target64 = ((ulong)job[11] << 32) | job[10];
    uint state2[8];
    sb_kawpow_initial_keccak(state2, header, nonce);
    uint digest[8];
    for (int i = 0; i < 8; ++i) digest[i] = 0;
    barrier(CLK_LOCAL_MEM_FENCE);

    for (uint h = 0; h < SB_PROGPOW_LANES; ++h) {
        /* Hash h of the lane group: the seed of work-item h's nonce. */
        if (lane == h) {
            group_share[0] = state2[0];
            group_share[1] = state2[1];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        const ulong seed = ((ulong)group_share[1] << 32) | group_share[0];
        barrier(CLK_LOCAL_MEM_FENCE);
        uint mix[SB_PROGPOW_REGS];
        sb_progpow_fill_mix(mix, seed, lane);
        for (uint loop = 0; loop < SB_PROGPOW_CNT_DAG; ++loop) {
            if (lane == loop % SB_PROGPOW_LANES) group_share[0] = mix[0];
            barrier(CLK_LOCAL_MEM_FENCE);
            const uint item = group_share[0] % SB_DAG_ITEMS_256;
            barrier(CLK_LOCAL_MEM_FENCE);
            const uint4 d = dag[item * SB_PROGPOW_LANES + ((lane ^ loop) % SB_PROGPOW_LANES)];
            const uint words[4] = {d.x, d.y, d.z, d.w};
            sb_progpow_period_round(mix, l1, words);
        }
        group_share[lane] = sb_progpow_lane_hash(mix);
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lane == h) {
            for (int i = 0; i < 8; ++i) digest[i] = SB_FNV_OFFSET_BASIS;
            for (uint l = 0; l < SB_PROGPOW_LANES; ++l) digest[l % 8u] = sb_fnv1a(digest[l % 8u], group_share[l]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    uint final_words[8];
    sb_kawpow_final_keccak(final_words, state2, digest);
    const ulong top64 = ((ulong)SB_BSWAP32(final_words[0]) << 32) | SB_BSWAP32(final_words[1]);
    if (gid < count && top64 <= target64) {
        const uint slot = atomic_inc(&result[0]);
        if (slot < (uint)SB_MAX_CANDIDATES) {
            __global volatile uint* out = result + 1u + slot * SB_SLOT_WORDS;
            out[0] = (uint)nonce;
            out[1] = (uint)(nonce >> 32);
            for (int i = 0; i < 8; ++i) out[2 + i] = digest[i];
        }
    }
}
