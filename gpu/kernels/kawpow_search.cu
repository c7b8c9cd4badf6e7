/* CUDA KAWPOW nonce search (gpu.md §2.2, the structure of kawpowminer's progpow_search §2.5),
 * compiled at run time by NVRTC (gpu/src/cuda_kawpow.cpp), one module per ProgPoW period.
 *
 * Embedded at build time with its headers inlined (gpu/cmake/embed_kernel.cmake); not compiled
 * by nvcc. The host replaces the marker line below with the period's round, written out from
 * the same sb_progpow_build_program the CPU reference interprets (progpow_period_source, which
 * also defines SB_DAG_ITEMS_256, the dataset's 256-byte item count, as a constant), and
 * compiles with -DSB_BLOCK_SIZE=b -DSB_MAX_CANDIDATES=m.
 *
 * A block of b threads is b/16 lane groups (two per warp). Each thread owns one nonce; the 16
 * threads of a lane group compute their 16 hashes one after another, each hash with all 16
 * lanes, exchanging by warp shuffle within the 16-lane segment (the hash seed, each loop's DAG
 * index, the lane hashes). The 16 KiB L1 cache (the dataset's first 4096 words) is copied to
 * shared memory once per block. A thread keeps the mix of its own nonce, runs the final keccak
 * and, when the top 64 bits of the final hash (big-endian) are at most the job's, writes its
 * nonce and mix to the result buffer behind an atomic counter.
 *
 * job (12 words): header words 0-7, start nonce (low, high), target's top 64 bits (low, high).
 * result: [0] the candidate count; slot i at 1 + 10 i: nonce low, high, mix words 0-7.
 */
#include "sb/pow/kernels/progpow.h"

/*@SB_PERIOD_PROGRAM@*/

#ifndef SB_DAG_ITEMS_256
#error "the host inserts the period program, which defines SB_DAG_ITEMS_256"
#endif
#ifndef SB_BLOCK_SIZE
#define SB_BLOCK_SIZE 256
#endif
#ifndef SB_MAX_CANDIDATES
#define SB_MAX_CANDIDATES 64
#endif
#define SB_SLOT_WORDS 10u
#define SB_FULL_MASK 0xffffffffu

struct sb_kawpow_job {
    sb_u32 words[12];
};

extern "C" __global__ void __launch_bounds__(SB_BLOCK_SIZE)
    sb_kawpow_search(const uint4* __restrict__ dag, const sb_kawpow_job job, sb_u32 count, sb_u32* result) {
    __shared__ sb_u32 l1[SB_PROGPOW_CACHE_WORDS];
    const sb_u32 tid = threadIdx.x;
    const sb_u32 lane = tid % SB_PROGPOW_LANES;
    const sb_u32 gid = blockIdx.x * SB_BLOCK_SIZE + tid;

    const sb_u32* dag_words = reinterpret_cast<const sb_u32*>(dag);
    for (sb_u32 w = tid; w < SB_PROGPOW_CACHE_WORDS; w += SB_BLOCK_SIZE) l1[w] = dag_words[w];

    sb_u32 header[8];
    for (int i = 0; i < 8; ++i) header[i] = job.words[i];
    const sb_u64 nonce = (((sb_u64)job.words[9] << 32) | job.words[8]) + gid;
    const sb_u64 target64 = ((sb_u64)job.words[11] << 32) | job.words[10];
    sb_u32 state2[8];
    sb_kawpow_initial_keccak(state2, header, nonce);
    sb_u32 digest[8];
    for (int i = 0; i < 8; ++i) digest[i] = 0;
    __syncthreads();

#pragma unroll 1
    for (sb_u32 h = 0; h < SB_PROGPOW_LANES; ++h) {
        /* Hash h of the lane group: the seed of thread h's nonce. */
        const sb_u32 seed_lo = __shfl_sync(SB_FULL_MASK, state2[0], h, SB_PROGPOW_LANES);
        const sb_u32 seed_hi = __shfl_sync(SB_FULL_MASK, state2[1], h, SB_PROGPOW_LANES);
        sb_u32 mix[SB_PROGPOW_REGS];
        sb_progpow_fill_mix(mix, ((sb_u64)seed_hi << 32) | seed_lo, lane);
#pragma unroll 1
        for (sb_u32 loop = 0; loop < SB_PROGPOW_CNT_DAG; ++loop) {
            const sb_u32 leader = __shfl_sync(SB_FULL_MASK, mix[0], loop % SB_PROGPOW_LANES, SB_PROGPOW_LANES);
            const uint4 d = dag[(leader % SB_DAG_ITEMS_256) * SB_PROGPOW_LANES + ((lane ^ loop) % SB_PROGPOW_LANES)];
            const sb_u32 words[4] = {d.x, d.y, d.z, d.w};
            sb_progpow_period_round(mix, l1, words);
        }
        const sb_u32 lane_hash = sb_progpow_lane_hash(mix);
        sb_u32 reduced[8];
        for (int i = 0; i < 8; ++i) reduced[i] = SB_FNV_OFFSET_BASIS;
        for (sb_u32 l = 0; l < SB_PROGPOW_LANES; ++l)
            reduced[l % 8u] = sb_fnv1a(reduced[l % 8u], __shfl_sync(SB_FULL_MASK, lane_hash, l, SB_PROGPOW_LANES));
        if (lane == h)
            for (int i = 0; i < 8; ++i) digest[i] = reduced[i];
    }

    sb_u32 final_words[8];
    sb_kawpow_final_keccak(final_words, state2, digest);
    const sb_u64 top64 = ((sb_u64)SB_BSWAP32(final_words[0]) << 32) | SB_BSWAP32(final_words[1]);
    if (gid < count && top64 <= target64) {
        const sb_u32 slot = atomicAdd(&result[0], 1u);
        if (slot < (sb_u32)SB_MAX_CANDIDATES) {
            sb_u32* out = result + 1u + slot * SB_SLOT_WORDS;
            out[0] = (sb_u32)nonce;
            out[1] = (sb_u32)(nonce >> 32);
            for (int i = 0; i < 8; ++i) out[2 + i] = digest[i];
        }
    }
}
