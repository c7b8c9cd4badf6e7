/* OpenCL SHA-256d nonce search: the portable round code of sb/gpu/kernels/sha256d.h, several
 * nonces per work-item, candidates into a small result buffer behind an atomic counter.
 *
 * The build embeds this file into the binary as one text, the headers it includes inlined in
 * place (gpu/cmake/embed_kernel.cmake), and compiles it at run time with
 *   -DSB_NONCES_PER_ITEM=n -DSB_MAX_CANDIDATES=m.
 * result[0] counts every candidate; result[1 + i] holds the first m of them. The job sits
 * in __constant memory (SB_JOB_AS), read through the constant cache.
 */
#define SB_JOB_AS __constant
#include "sb/gpu/kernels/sha256d.h"

#ifndef SB_NONCES_PER_ITEM
#define SB_NONCES_PER_ITEM 32
#endif
#ifndef SB_MAX_CANDIDATES
#define SB_MAX_CANDIDATES 64
#endif

/* Scans nonces first + i for i in [0, count), count <= 2^31 per launch (the caller splits).
 * job: one sb_sha256d_job in a constant buffer. */
__kernel void sb_sha256d_search(__constant const sb_sha256d_job* job, const uint first, const uint count,
                                __global volatile uint* result) {
    const uint base = (uint)get_global_id(0) * (uint)SB_NONCES_PER_ITEM;
    if (base >= count) return;
    const uint n = min((uint)SB_NONCES_PER_ITEM, count - base);
    uint nonce = first + base;
    for (uint i = 0; i < n; ++i, ++nonce) {
        if (sb_sha256d_is_candidate(job, nonce)) {
            const uint slot = atomic_inc(&result[0]);
            if (slot < (uint)SB_MAX_CANDIDATES) result[1 + slot] = nonce;
        }
    }
}
