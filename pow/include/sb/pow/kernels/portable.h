/* Portable kernel dialect: the one source of the KAWPOW and SHA-256d round functions.
 *
 * These headers compile as host C/C++ (the CPU reference and the unit tests), as CUDA and
 * as OpenCL C (STYLE.md, "One algorithm, three targets"). Rules for code under kernels/:
 * plain C99 that OpenCL C 1.2 accepts: no templates, references, classes, recursion, VLAs,
 * function pointers or library calls; every function is SB_FN; tables are SB_CONSTANT;
 * 32-bit and 64-bit unsigned words only through sb_u32 / sb_u64.
 *
 * Address spaces: pointers that a GPU kernel passes from global or local memory are
 * qualified with a macro a kernel may define before including these headers:
 *   SB_CACHE_AS  the ProgPoW L1 cache (4096 words; OpenCL kernels use __local)
 *   SB_PROG_AS   the per-period program (OpenCL: __constant or __global)
 *   SB_ITEM_AS   a 256-byte DAG item (OpenCL: __global)
 * On the host and in CUDA (generic addressing) they are empty.
 */
#ifndef SB_GPU_KERNELS_PORTABLE_H
#define SB_GPU_KERNELS_PORTABLE_H

#if defined(__OPENCL_C_VERSION__) || defined(__OPENCL_VERSION__)

typedef uint sb_u32;
typedef ulong sb_u64;
#define SB_FN static inline
#define SB_CONSTANT __constant
#define SB_ROTL32(x, n) rotate((uint)(x), (uint)(n))
#define SB_ROTR32(x, n) rotate((uint)(x), (uint)(32u - ((n) & 31u)))
#define SB_ROTL64(x, n) rotate((ulong)(x), (ulong)(n))
#define SB_CLZ32(x) clz((uint)(x))
#define SB_POPCOUNT32(x) popcount((uint)(x))
#define SB_MUL_HI32(a, b) mul_hi((uint)(a), (uint)(b))
#define SB_MIN32(a, b) min((uint)(a), (uint)(b))
/* bitselect(a, b, c): each bit from b where c has a 1, from a where it has a 0 (BFI on AMD). */
#define SB_BITSELECT(a, b, c) bitselect((uint)(a), (uint)(b), (uint)(c))
#define SB_BSWAP32(x) (rotate((uint)(x) & 0x00ff00ffu, 24u) | rotate((uint)(x) & 0xff00ff00u, 8u))

#else /* host C / C++, and CUDA (device code uses the intrinsics, nvcc's host pass the C) */

#if defined(__CUDACC_RTC__)
/* NVRTC (kernels compiled at run time) has no C library headers. */
typedef unsigned int sb_u32;
typedef unsigned long long sb_u64;
#else
#include <stdint.h>
typedef uint32_t sb_u32;
typedef uint64_t sb_u64;
#endif

#if defined(__CUDACC__)
#define SB_FN static __host__ __device__ __forceinline__
#define SB_CONSTANT static __device__ __constant__ const
#else
#define SB_FN static inline
#define SB_CONSTANT static const
#endif

#if defined(__CUDA_ARCH__)

#define SB_ROTL32(x, n) __funnelshift_l((x), (x), (n))
#define SB_ROTR32(x, n) __funnelshift_r((x), (x), (n))
#define SB_ROTL64(x, n) (((x) << ((n) & 63u)) | ((x) >> ((64u - ((n) & 63u)) & 63u)))
#define SB_CLZ32(x) ((sb_u32)__clz((int)(x)))
#define SB_POPCOUNT32(x) ((sb_u32)__popc((x)))
#define SB_MUL_HI32(a, b) __umulhi((a), (b))
#define SB_MIN32(a, b) umin((a), (b))
/* a ^ (c & (b ^ a)): ptxas fuses the three operations into one LOP3. */
#define SB_BITSELECT(a, b, c) ((a) ^ ((c) & ((b) ^ (a))))
#define SB_BSWAP32(x) __byte_perm((x), 0u, 0x0123u)

#else

SB_FN sb_u32 sb_host_rotl32(sb_u32 x, sb_u32 n) {
    n &= 31u;
    return n == 0u ? x : (sb_u32)((x << n) | (x >> (32u - n)));
}
SB_FN sb_u32 sb_host_rotr32(sb_u32 x, sb_u32 n) {
    n &= 31u;
    return n == 0u ? x : (sb_u32)((x >> n) | (x << (32u - n)));
}
SB_FN sb_u64 sb_host_rotl64(sb_u64 x, sb_u32 n) {
    n &= 63u;
    return n == 0u ? x : (sb_u64)((x << n) | (x >> (64u - n)));
}
/* clz(0) = 32 as in OpenCL and CUDA; __builtin_clz(0) is undefined. */
SB_FN sb_u32 sb_host_clz32(sb_u32 x) { return x == 0u ? 32u : (sb_u32)__builtin_clz(x); }

#define SB_ROTL32(x, n) sb_host_rotl32((x), (sb_u32)(n))
#define SB_ROTR32(x, n) sb_host_rotr32((x), (sb_u32)(n))
#define SB_ROTL64(x, n) sb_host_rotl64((x), (sb_u32)(n))
#define SB_CLZ32(x) sb_host_clz32((x))
#define SB_POPCOUNT32(x) ((sb_u32)__builtin_popcount((x)))
#define SB_MUL_HI32(a, b) ((sb_u32)(((sb_u64)(a) * (sb_u64)(b)) >> 32))
#define SB_MIN32(a, b) ((a) < (b) ? (a) : (b))
#define SB_BITSELECT(a, b, c) ((a) ^ ((c) & ((b) ^ (a))))
#define SB_BSWAP32(x) ((sb_u32)__builtin_bswap32((x)))

#endif

#endif

#ifndef SB_CACHE_AS
#define SB_CACHE_AS
#endif
#ifndef SB_PROG_AS
#define SB_PROG_AS
#endif
#ifndef SB_ITEM_AS
#define SB_ITEM_AS
#endif

#endif /* SB_GPU_KERNELS_PORTABLE_H */
