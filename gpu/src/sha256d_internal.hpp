// Internal to sb_gpu: what the SHA-256d backends share, and the entry points of each
// backend. Only backends.cpp decides which of the backend functions exist in a build
// (opencl_* and cuda_* are defined only when that backend is compiled in).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <system_error>

#include "sb/gpu/device.hpp"
#include "sb/gpu/kernels/sha256d.h"

namespace sb::gpu::detail {

// Nonces a search call may cover: [1, 2^32].
inline constexpr std::uint64_t max_search_count = std::uint64_t{1} << 32;
// The intensity at which batch_size() aims at nominal_batch_seconds.
inline constexpr unsigned nominal_intensity = 20;
inline constexpr double nominal_batch_seconds = 0.050;

// The per-job constants of a work item (midstate, chunk-2 words, rounds 0-2, ...).
sb_sha256d_job make_sha256d_job(const sha256d_work& work) noexcept;

// invalid_argument (with a line in *detail) unless count is in [1, 2^32].
std::error_code check_search_count(std::uint64_t count, std::string* detail);

// A searcher whose batch size follows a measured hash rate: open_sha256d times the device
// once (calibrate) and batch_size(nominal_intensity) is then about 50 ms of work; each
// intensity step doubles or halves it. Always a multiple of granularity, at most 2^32.
class batched_searcher : public sha256d_searcher {
public:
    explicit batched_searcher(std::uint64_t granularity) : granularity_(granularity ? granularity : 1) {}
    std::uint64_t batch_size(unsigned intensity) const override;
    std::uint64_t granularity() const noexcept { return granularity_; }
    // hashes/s measured by calibrate(); 0 before.
    double measured_rate() const noexcept { return rate_; }
    void set_measured_rate(double hashes_per_second) noexcept { rate_ = hashes_per_second; }

private:
    std::uint64_t granularity_;
    double rate_ = 0;
};

// Times searches of growing size (about 20 ms in all on a fast device, never more than a
// few hundred ms) and records the rate. Errors: the search's.
std::error_code calibrate(batched_searcher& searcher, std::string* detail);

// ---- backends ------------------------------------------------------------------------

// The CPU reference: the portable kernel on the host, threads threads (0: one per core).
device_info cpu_device_info();
std::unique_ptr<batched_searcher> make_cpu_searcher(unsigned threads = 0);

// OpenCL (opencl_sha256d.cpp): appends every device of every platform, ICD order, or a note.
void opencl_discover(device_list& out);
result<std::unique_ptr<batched_searcher>> opencl_open_sha256d(unsigned index, std::string* detail);

// CUDA (cuda_sha256d.cpp + cuda_sha256d.cu).
void cuda_discover(device_list& out);
result<std::unique_ptr<batched_searcher>> cuda_open_sha256d(unsigned index, std::string* detail);

}  // namespace sb::gpu::detail
