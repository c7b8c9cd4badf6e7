// Internal to sb_gpu: the one entry point of cuda_sha256d.cu (compiled by nvcc), called by
// cuda_sha256d.cpp. Plain types only, so that nvcc never sees the C++20 headers.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "sb/gpu/kernels/sha256d.h"

namespace sb::gpu::detail {

// Threads per block and nonces per thread of the CUDA kernel: one block scans
// cuda_threads_per_block * cuda_nonces_per_thread nonces.
inline constexpr unsigned cuda_threads_per_block = 256;
inline constexpr unsigned cuda_nonces_per_thread = 32;
// Words of the result buffer: the candidate counter, then this many nonces.
inline constexpr unsigned cuda_result_slots = 64;

// Enqueues a search of nonces first + i, i in [0, count), count in [1, 2^31], on stream.
// result (device memory, 1 + cuda_result_slots words) must have its counter zeroed.
cudaError_t cuda_launch_sha256d(const sb_sha256d_job& job, std::uint32_t first, std::uint32_t count,
                                std::uint32_t* result, cudaStream_t stream) noexcept;

}  // namespace sb::gpu::detail
