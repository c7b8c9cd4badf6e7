// Internal to sb_gpu: what a KAWPOW backend (OpenCL, CUDA) provides, and the kernel layout
// both backends share. The policy around it (datasets and their preparation ahead, the period
// kernels compiled in the background, the self-checks, the exact boundary test) is written
// once in kawpow_device.cpp. Only backends.cpp decides which backend functions exist.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "sb/gpu/kawpow_device.hpp"

namespace sb::gpu::detail {

// The marker line of the search kernel templates (gpu/kernels/kawpow_search.{cl,cu}) that the
// period's generated round replaces.
inline constexpr const char* kawpow_period_marker = "/*@SB_PERIOD_PROGRAM@*/";

// Result buffer of a launch, in 32-bit words: [0] counts every candidate of the kernel's
// 64-bit rule; slot i (i < max_kawpow_candidates) at 1 + i * kawpow_slot_words holds the
// nonce (low, high word) and the 8 mix words.
inline constexpr std::size_t kawpow_slot_words = 10;
inline constexpr std::size_t kawpow_result_words = 1 + max_kawpow_candidates * kawpow_slot_words;

// The per-launch constants, 12 words as both kernels read them: header words 0-7, the start
// nonce (low, high) and the boundary's top 64 bits (low, high word of the big-endian value).
struct kawpow_job {
    std::uint32_t words[12] = {};
};
kawpow_job make_kawpow_job(const kawpow_work& work, std::uint64_t start_nonce) noexcept;

// Most nonces one launch covers (a search call of up to 2^32 nonces is several launches).
inline constexpr std::uint32_t kawpow_max_launch_nonces = std::uint32_t{1} << 24;

struct kawpow_hit {
    std::uint64_t nonce = 0;
    std::uint32_t mix[8] = {};
};

// A dataset in device memory, and a compiled period kernel: backend types behind these bases.
class kawpow_dag {
public:
    virtual ~kawpow_dag() = default;
};
class kawpow_kernel {
public:
    virtual ~kawpow_kernel() = default;
};

class kawpow_backend {
public:
    virtual ~kawpow_backend() = default;
    virtual const device_info& info() const = 0;
    // Bytes still free for new allocations: the driver's figure where it reports one (CUDA),
    // else the device's total less what this backend holds (OpenCL).
    virtual std::uint64_t free_memory_bytes() = 0;
    // The largest single buffer the device allows (OpenCL's CL_DEVICE_MAX_MEM_ALLOC_SIZE).
    virtual std::uint64_t max_buffer_bytes() const = 0;
    // Allocates and generates `dataset` on the device: the light cache uploaded, every
    // 512-bit item computed in the launches of a dag_schedule (progress "dag" after each 1/64),
    // the light cache freed. Runs on its own queue/stream: safe while launch() runs on another
    // thread. Errors: out_of_memory, device_lost, with the driver's words in *detail;
    // cancelled once abort is set (checked before each launch).
    virtual result<std::unique_ptr<kawpow_dag>> generate(const kawpow_dataset& dataset,
                                                         const pow::ethash::progress_fn& progress,
                                                         const std::atomic<bool>& abort, std::string* detail) = 0;
    // Copies 512-bit items [first, first + out.size()) of `dag` to the host.
    virtual std::error_code read(const kawpow_dag& dag, std::uint64_t first, std::span<pow::ethash::hash512> out,
                                 std::string* detail) = 0;
    // Compiles the search kernel of period prog_seed for datasets of items_256 256-byte items.
    // Thread-safe: the searcher compiles the next period on a background thread.
    virtual result<std::shared_ptr<kawpow_kernel>> compile(std::uint64_t prog_seed, std::uint32_t items_256,
                                                           std::string* detail) = 0;
    // Hashes job's start nonce + [0, count), count in [1, kawpow_max_launch_nonces]; appends
    // the stored slots to hits and sets *found to the kernel's candidate count.
    virtual std::error_code launch(const kawpow_kernel& kernel, const kawpow_dag& dag, const kawpow_job& job,
                                   std::uint32_t count, std::vector<kawpow_hit>& hits, std::uint64_t& found,
                                   std::string* detail) = 0;
    // Nonces per work-group / block: the launch granule.
    virtual std::uint32_t granularity() const = 0;
};

// The launches of one dataset generation of `items` 512-bit items, in work-groups of `group`
// items. Progress is reported after each 1/kawpow_dag_progress_steps of the items (and at the
// end). Launches start at one work-group and double while a launch takes under a quarter of
// kawpow_max_generation_launch_seconds, up to one progress step (a GPU: a few dozen launches
// in all); a launch that took longer shrinks the next ones in proportion (a CPU OpenCL driver:
// many small launches), so abort is noticed within about that time.
inline constexpr std::uint64_t kawpow_dag_progress_steps = 64;

class dag_schedule {
public:
    dag_schedule(std::uint64_t items, std::uint64_t group, const pow::ethash::progress_fn& progress,
                 const std::atomic<bool>& abort) noexcept;
    // The next launch's first item and count; false when every item is done or abort is set.
    bool next(std::uint64_t& first, std::uint64_t& count);
    // The launch next() gave is complete.
    void finished();
    bool aborted() const noexcept { return abort_.load(std::memory_order_relaxed); }

private:
    std::uint64_t items_;
    std::uint64_t group_;
    std::uint64_t step_;    // items per progress report
    std::uint64_t launch_;  // items of the next launch
    std::uint64_t done_ = 0;
    std::uint64_t reported_ = 0;  // items done at the last progress report
    std::uint64_t pending_ = 0;   // items of the launch in flight
    std::chrono::steady_clock::time_point started_{};
    pow::ethash::progress_fn progress_;
    const std::atomic<bool>& abort_;  // the searcher's: outlives the generation
};

// The cancelled error of a generation stopped by abort, with "<id>: dataset generation
// cancelled" in *detail.
std::error_code kawpow_cancelled(const device_info& info, std::string* detail);

// Parses a result buffer (kawpow_result_words words) into hits.
void read_kawpow_results(const std::uint32_t* words, std::vector<kawpow_hit>& hits, std::uint64_t& found);

// The searcher every backend shares.
std::unique_ptr<kawpow_searcher> make_kawpow_searcher(std::unique_ptr<kawpow_backend> backend);

// "opencl:0 (NVIDIA H100 80GB HBM3): the epoch 590 dataset needs 5.67 GiB (...) but 3.20 GiB
// is free": the out_of_memory line.
std::string kawpow_memory_error(const device_info& info, const kawpow_dataset& dataset, std::uint64_t needed,
                                std::uint64_t free_bytes);

// ---- backends ------------------------------------------------------------------------

// OpenCL (opencl_kawpow.cpp).
result<std::unique_ptr<kawpow_backend>> opencl_open_kawpow(unsigned index, std::string* detail);
// CUDA through the driver API and NVRTC, both loaded at run time (cuda_kawpow.cpp).
result<std::unique_ptr<kawpow_backend>> cuda_open_kawpow(unsigned index, std::string* detail);
// "" when NVRTC loads, else why not.
std::string cuda_kawpow_unavailable();

}  // namespace sb::gpu::detail
