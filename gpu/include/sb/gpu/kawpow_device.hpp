// KAWPOW on mining devices: the searcher every GPU backend (OpenCL, CUDA) implements, the
// dataset (DAG) it holds, and what fits in a device's memory.
//
// A searcher holds one dataset on the device, generated there from the host's light cache
// (pow::ethash::epoch_context, 512 parents), and hashes nonce ranges with the ProgPoW program of
// the work's period (height / 3). Each period's kernel is generated from the program the CPU
// reference uses (sb_progpow_build_program) and compiled at run time; the next period's is
// compiled in the background when a period is first used, so a period boundary does not
// stall. Work for a height whose epoch is not the dataset's is refused: a searcher cannot hash
// with the wrong DAG or program.
//
// Candidate rule (gpu.md §2.2 step 8): the kernel keeps a nonce when the top 64 bits of its
// final hash (read big-endian) are at most the boundary's top 64 bits; the searcher then
// recomputes the final hash from the kernel's mix (two keccak-f800, no DAG) and keeps exactly
// the nonces whose final hash meets the boundary. The mix itself comes from the device: the
// caller light-verifies every candidate on the CPU (pow::kawpow::verify) before it counts.
//
// Byte orders as in sb/pow/kawpow.hpp.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sb/core/result.hpp"
#include "sb/core/sha256.hpp"
#include "sb/gpu/device.hpp"
#include "sb/pow/ethash.hpp"

namespace sb::gpu {

// The dataset a searcher holds: an epoch's light cache and the number of 1024-bit items.
// Mining uses the epoch's whole dataset (for_epoch); tests use a few MiB of it (any count
// >= pow::kawpow::min_dataset_items_1024: the items are a prefix of the epoch's dataset).
struct kawpow_dataset {
    pow::ethash::context_ptr context;
    std::uint32_t items_1024 = 0;

    static kawpow_dataset for_epoch(pow::ethash::context_ptr ctx) {
        const std::uint32_t n = ctx ? ctx->full_dataset_num_items() : 0;
        return {std::move(ctx), n};
    }
    int epoch() const noexcept { return context ? context->epoch() : -1; }
    std::uint64_t bytes() const noexcept { return std::uint64_t{items_1024} * 128; }
    bool operator==(const kawpow_dataset& o) const noexcept {
        return epoch() == o.epoch() && items_1024 == o.items_1024;
    }
};

// The kernels index the dataset's 16-byte words with 32 bits: fewer than 2^29 1024-bit items
// (64 GiB; the chain reaches that around epoch 8000).
inline constexpr std::uint32_t max_kawpow_dataset_items_1024 = std::uint32_t{1} << 29;

// Device memory a dataset of `dataset_bytes` needs while it is generated: the dataset, the
// light cache (freed once the dataset is built) and a margin for kernels and buffers.
inline constexpr std::uint64_t kawpow_device_margin_bytes = std::uint64_t{64} << 20;
std::uint64_t kawpow_generation_bytes(std::uint64_t dataset_bytes, std::uint64_t light_cache_bytes) noexcept;
// ... for epoch `epoch`'s full dataset. Precondition: 0 <= epoch <= pow::ethash::max_epoch.
std::uint64_t kawpow_epoch_device_bytes(int epoch) noexcept;

// The largest epoch whose full dataset fits in memory_bytes, `datasets` (1..8) at once (1:
// mining; 2: the next epoch's prepared while the current one is mined) plus one light cache and the
// margin; -1 when not even epoch 0 fits. Datasets grow with the epoch, so every epoch up to
// the result fits. Capped below the first epoch of max_kawpow_dataset_items_1024 items, and
// to datasets of at most max_buffer_bytes when that is not 0 (a dataset is one buffer).
int kawpow_max_epoch(std::uint64_t memory_bytes, unsigned datasets = 1, std::uint64_t max_buffer_bytes = 0) noexcept;

// What a search hashes: the header hash (as pow::kawpow::hash reads it) at a block height (its
// epoch must be the dataset's; its period picks the program), against a boundary.
struct kawpow_work {
    hash256 header_hash{};
    std::uint64_t height = 0;
    hash256 boundary{};  // big-endian, most significant byte first
};

struct kawpow_candidate {
    std::uint64_t nonce = 0;
    hash256 mix_hash{};    // as the device computed it (light-verify before use)
    hash256 final_hash{};  // from the mix on the host; meets the work's boundary
};

// Most candidates one search call returns; more are counted in dropped.
inline constexpr std::size_t max_kawpow_candidates = 64;
// A dataset generation's launches are shortened (from 1/64 of the dataset) until each takes
// about this long at most: the longest an abort_generation() waits.
inline constexpr double kawpow_max_generation_launch_seconds = 0.25;

struct kawpow_outcome {
    std::vector<kawpow_candidate> candidates;  // in no particular order
    std::uint64_t dropped = 0;                 // beyond max_kawpow_candidates
    std::uint64_t hashes = 0;                  // nonces scanned (the count asked for)
};

class kawpow_searcher {
public:
    virtual ~kawpow_searcher() = default;
    virtual const device_info& info() const = 0;

    // Makes `dataset` the one searches read. When it was prepared ahead (prepare_dataset) this
    // waits for that build and switches; otherwise it frees the current dataset first and
    // generates the new one on the device, calling progress ("dag", fraction) as it goes.
    // Blocking. Checks sampled items against the CPU and refuses the device when they differ.
    // A failed build ahead is built again here. Errors: out_of_memory (detail names the device,
    // the bytes needed and the bytes free), invalid_argument (too few or too many items, no
    // context), self_test_failed, device_lost, cancelled (abort_generation); after an error
    // other than invalid_argument the searcher holds no dataset (the old one was freed to make
    // room).
    virtual std::error_code use_dataset(const kawpow_dataset& dataset, const pow::ethash::progress_fn& progress = {},
                                        std::string* detail = nullptr) = 0;
    // Starts generating `dataset` in the background, beside the current one, when device memory
    // holds both; returns false (and does nothing) when it does not fit, in which case
    // use_dataset switches at the boundary. True when started or already prepared. progress is
    // called on the background thread.
    virtual bool prepare_dataset(const kawpow_dataset& dataset, const pow::ethash::progress_fn& progress = {}) = 0;
    // Makes every dataset generation of this searcher stop at its next launch with
    // gpu_errc::cancelled: the one use_dataset or a preparation ahead is running, and every
    // later one. For a shutdown: a slow device's generation (a CPU OpenCL driver takes most of
    // an hour for epoch 0) must not hold up a stop. Launches are kept to about
    // kawpow_max_generation_launch_seconds each, so the wait is at most about that long.
    // Thread-safe (any thread, while use_dataset runs on another); cannot be undone.
    virtual void abort_generation() noexcept = 0;
    // The dataset searches read (items_1024 == 0 before the first use_dataset).
    virtual const kawpow_dataset& dataset() const = 0;
    // Seconds the last generation took on the device (not counting the wait for a prepared one).
    virtual double last_generation_seconds() const = 0;

    // Hashes the nonces start, start + 1, ..., start + count - 1 (modulo 2^64) of `work`.
    // count in [1, 2^32]. Blocking; call from one thread (prepare_dataset's build may run
    // meanwhile). Compiles the work's period kernel when it is not ready (the first use of a
    // period also checks two of its hashes against the CPU reference) and starts compiling the
    // next one. Errors: invalid_argument (count, no dataset, work of another epoch),
    // build_failed, self_test_failed, device_lost; with a line in *detail.
    virtual result<kawpow_outcome> search(const kawpow_work& work, std::uint64_t start, std::uint64_t count,
                                          std::string* detail = nullptr) = 0;

    // Nonces per search call: one launch granule until a search has been timed, then about
    // 50 ms of work at intensity 20, doubling or halving per step (1..32), at most 2^32.
    virtual std::uint64_t batch_size(unsigned intensity) const = 0;
    // hashes/s of the searches so far (0 before the first).
    virtual double measured_rate() const = 0;

    // Copies 512-bit dataset items [first, first + out.size()) of the current dataset from the
    // device (tests and the generation check). Errors: invalid_argument (out of range),
    // device_lost.
    virtual std::error_code read_dataset(std::uint64_t first, std::span<pow::ethash::hash512> out,
                                         std::string* detail = nullptr) = 0;
};

// Opens a device by id ("opencl:N", "cuda:N") for KAWPOW: context, queues and the dataset
// generation kernel; no dataset yet. CUDA needs NVRTC and the driver at run time (both are
// loaded on demand: a machine without them still runs everything else). Errors:
// unknown_device, backend_not_built, no_device, unsupported ("cpu"), driver_error,
// build_failed; each with a readable line in *detail.
result<std::unique_ptr<kawpow_searcher>> open_kawpow(std::string_view device_id, std::string* detail = nullptr);

// Why `device` cannot run KAWPOW in this process, "" when it can as far as can be told without
// opening it: the cpu device does not mine KAWPOW; CUDA devices need NVRTC at run time.
std::string kawpow_unavailable_reason(const device_info& device);

// The source of period prog_seed's ProgPoW round for the kernels (OpenCL C and CUDA alike): a
// function sb_progpow_period_round(mix, l1, dag) written out from sb_progpow_build_program,
// and SB_DAG_ITEMS_256 defined as dataset_items_256. Exposed for the tests.
std::string progpow_period_source(std::uint64_t prog_seed, std::uint32_t dataset_items_256);

}  // namespace sb::gpu
