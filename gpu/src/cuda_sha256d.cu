// CUDA SHA-256d nonce search kernel: the portable round code of sb/gpu/kernels/sha256d.h
// (funnel-shift rotates, LOP3-friendly Ch/Maj), the job's constants as a __grid_constant__
// parameter (constant bank, no copy), several nonces per thread, and candidates written to
// a small result buffer behind an atomicAdd counter.
#include "cuda_sha256d_launch.hpp"

namespace sb::gpu::detail {
namespace {

__global__ void __launch_bounds__(cuda_threads_per_block)
    sha256d_search_kernel(const __grid_constant__ sb_sha256d_job job, std::uint32_t first, std::uint32_t count,
                          std::uint32_t* result) {
    const std::uint32_t base = (blockIdx.x * cuda_threads_per_block + threadIdx.x) * cuda_nonces_per_thread;
    if (base >= count) return;
    const std::uint32_t n = min(cuda_nonces_per_thread, count - base);
    std::uint32_t nonce = first + base;
#pragma unroll 1
    for (std::uint32_t i = 0; i < n; ++i, ++nonce) {
        if (sb_sha256d_is_candidate(&job, nonce)) {
            const std::uint32_t slot = atomicAdd(&result[0], 1u);
            if (slot < cuda_result_slots) result[1 + slot] = nonce;
        }
    }
}

}  // namespace

cudaError_t cuda_launch_sha256d(const sb_sha256d_job& job, std::uint32_t first, std::uint32_t count,
                                std::uint32_t* result, cudaStream_t stream) noexcept {
    const std::uint64_t per_block = std::uint64_t{cuda_threads_per_block} * cuda_nonces_per_thread;
    const auto blocks = static_cast<unsigned>((std::uint64_t{count} + per_block - 1) / per_block);
    sha256d_search_kernel<<<blocks, cuda_threads_per_block, 0, stream>>>(job, first, count, result);
    return cudaGetLastError();
}

}  // namespace sb::gpu::detail
