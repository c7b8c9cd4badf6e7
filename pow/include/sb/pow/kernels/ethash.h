/* Ethash dataset items as KAWPOW uses them (Ethash spec, "Dataset generation";
 * cpp-kawpow lib/ethash/ethash.cpp): a 512-bit item is computed from the light cache with
 * ETHASH_DATASET_PARENTS = 512 parents (ethash proper uses 256).
 *
 * Layout: the light cache is an array of 64-byte items, each 16 little-endian uint32
 * words; a 512-bit item is 16 such words. The address space of the light cache pointer is
 * SB_LIGHT_AS (OpenCL: __global; empty on the host and in CUDA). Portable dialect.
 */
#ifndef SB_GPU_KERNELS_ETHASH_H
#define SB_GPU_KERNELS_ETHASH_H

#include "keccak.h"

#ifndef SB_LIGHT_AS
#define SB_LIGHT_AS
#endif

#define SB_ETHASH_FNV_PRIME 0x01000193u
#define SB_ETHASH_DATASET_PARENTS 512u

/* Ethash's FNV-1 variant (multiply, then xor): not ProgPoW's fnv1a. */
SB_FN sb_u32 sb_ethash_fnv1(sb_u32 u, sb_u32 v) { return (u * SB_ETHASH_FNV_PRIME) ^ v; }

/* Keccak-512 over 16 little-endian words, in place. */
SB_FN void sb_ethash_keccak512_words(sb_u32 w[16]) {
    sb_u64 lanes[8];
    for (int i = 0; i < 8; ++i) lanes[i] = (sb_u64)w[2 * i] | ((sb_u64)w[2 * i + 1] << 32);
    sb_keccak512_64(lanes, lanes);
    for (int i = 0; i < 8; ++i) {
        w[2 * i] = (sb_u32)lanes[i];
        w[2 * i + 1] = (sb_u32)(lanes[i] >> 32);
    }
}

/* Dataset item `index` (512-bit) from a light cache of `num_light_items` 64-byte items.
 * out: 16 little-endian words. `parents` is SB_ETHASH_DATASET_PARENTS for KAWPOW. The first
 * parent is index mod num_light_items over the full 64-bit index; the seed word is the low
 * 32 bits (cpp-kawpow item_state; only matters for indices >= 2^32, which no epoch reaches). */
SB_FN void sb_ethash_dataset_item_512(sb_u32 out[16], SB_LIGHT_AS const sb_u32* light, sb_u32 num_light_items,
                                      sb_u64 index, sb_u32 parents) {
    const sb_u32 seed = (sb_u32)index;
    SB_LIGHT_AS const sb_u32* first = light + (index % num_light_items) * 16u;
    for (int k = 0; k < 16; ++k) out[k] = first[k];
    out[0] ^= seed;
    sb_ethash_keccak512_words(out);
    for (sb_u32 r = 0; r < parents; ++r) {
        const sb_u32 parent = sb_ethash_fnv1(seed ^ r, out[r % 16u]) % num_light_items;
        SB_LIGHT_AS const sb_u32* p = light + (sb_u64)parent * 16u;
        for (int k = 0; k < 16; ++k) out[k] = sb_ethash_fnv1(out[k], p[k]);
    }
    sb_ethash_keccak512_words(out);
}

/* Four consecutive items index0..index0+3 (one 256-byte ProgPoW DAG item when index0 is a
 * multiple of 4), their parent walks interleaved: the four dependency chains of random
 * light-cache reads overlap, which is what bounds a light evaluation on a CPU. Same result
 * as four calls of sb_ethash_dataset_item_512. out: 64 words, item k at words 16k..16k+15. */
SB_FN void sb_ethash_dataset_items_512_x4(sb_u32 out[64], SB_LIGHT_AS const sb_u32* light, sb_u32 num_light_items,
                                          sb_u64 index0, sb_u32 parents) {
    sb_u32 seed[4];
    for (int j = 0; j < 4; ++j) {
        const sb_u64 index = index0 + (sb_u64)j;
        seed[j] = (sb_u32)index;
        SB_LIGHT_AS const sb_u32* first = light + (index % num_light_items) * 16u;
        for (int k = 0; k < 16; ++k) out[16 * j + k] = first[k];
        out[16 * j] ^= seed[j];
        sb_ethash_keccak512_words(out + 16 * j);
    }
    for (sb_u32 r = 0; r < parents; ++r) {
        for (int j = 0; j < 4; ++j) {
            sb_u32* mix = out + 16 * j;
            const sb_u32 parent = sb_ethash_fnv1(seed[j] ^ r, mix[r % 16u]) % num_light_items;
            SB_LIGHT_AS const sb_u32* p = light + (sb_u64)parent * 16u;
            for (int k = 0; k < 16; ++k) mix[k] = sb_ethash_fnv1(mix[k], p[k]);
        }
    }
    for (int j = 0; j < 4; ++j) sb_ethash_keccak512_words(out + 16 * j);
}

#endif /* SB_GPU_KERNELS_ETHASH_H */
