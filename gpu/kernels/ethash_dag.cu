/* CUDA generation of the ethash dataset (DAG) with KAWPOW's 512 parents, compiled at run time
 * by NVRTC (gpu/src/cuda_kawpow.cpp) once per opened device: one thread per 512-bit item, the
 * portable code of sb/pow/kernels/ethash.h. Embedded at build time with its headers inlined
 * (gpu/cmake/embed_kernel.cmake); not compiled by nvcc.
 */
#include "sb/pow/kernels/ethash.h"

/* Writes items start + i, i in [0, count), to dag (16 words per item). light: num_light_items
 * 64-byte items. */
extern "C" __global__ void sb_ethash_dag(sb_u32* dag, const sb_u32* __restrict__ light, sb_u32 num_light_items,
                                         sb_u32 start, sb_u32 count) {
    const sb_u32 i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= count) return;
    const sb_u32 index = start + i;
    sb_u32 item[16];
    sb_ethash_dataset_item_512(item, light, num_light_items, index, SB_ETHASH_DATASET_PARENTS);
    uint4* out = reinterpret_cast<uint4*>(dag + (sb_u64)index * 16u);
    for (int k = 0; k < 4; ++k) out[k] = make_uint4(item[4 * k], item[4 * k + 1], item[4 * k + 2], item[4 * k + 3]);
}
