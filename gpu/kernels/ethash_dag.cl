/* OpenCL generation of the ethash dataset (DAG) with KAWPOW's 512 parents: one work-item per
 * 512-bit item, the portable code of sb/pow/kernels/ethash.h reading the light cache from
 * global memory. Embedded at build time with its headers inlined
 * (gpu/cmake/embed_kernel.cmake) and built once per opened device.
 */
#define SB_LIGHT_AS __global
#include "sb/pow/kernels/ethash.h"

/* Writes items start + i, i in [0, count), to dag (16 words per item). light: num_light_items
 * 64-byte items. The global size may exceed count (rounded up to the work-group size). */
__kernel void sb_ethash_dag(__global uint* dag, __global const uint* light, const uint num_light_items,
                            const uint start, const uint count) {
    const uint i = (uint)get_global_id(0);
    if (i >= count) return;
    const uint index = start + i;
    uint item[16];
    sb_ethash_dataset_item_512(item, light, num_light_items, index, SB_ETHASH_DATASET_PARENTS);
    __global uint* out = dag + (ulong)index * 16u;
    for (int k = 0; k < 16; ++k) out[k] = item[k];
}
