// Mining devices and the SHA-256d nonce search every backend (CUDA, OpenCL, the CPU
// reference) implements. The device worker in bridge/ drives a sha256d_searcher; it never
// sees which backend is behind it (DESIGN.md §2: only the backend registry knows).
//
// Candidate rule (gpu.md §1.3): the kernel computes only the hash's most significant
// 32-bit word — bytes 28..31 of the internal-order sha256d digest read little-endian, the
// first 8 hex digits of the display hash — and reports a nonce when that word is at most
// sha256d_work::target_word. Candidates are therefore a superset of the hashes that meet
// the full target: the caller re-hashes every candidate on the CPU before it counts.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "sb/core/result.hpp"

namespace sb::gpu {

// ---- errors ------------------------------------------------------------------------

enum class gpu_errc {
    ok = 0,
    unknown_device,       // the id names no device of a compiled backend
    backend_not_built,    // "cuda:0" in a build without CUDA, and so on
    no_device,            // the backend is built but the driver reports no device
    driver_error,         // a driver/runtime call failed (the detail says which)
    build_failed,         // OpenCL: the kernel did not compile for the device
    self_test_failed,     // the start-up known-answer test gave a wrong answer
    invalid_argument,     // count 0 or above 2^32, and the like
    device_lost,          // a search failed after the device was opened
    out_of_memory,        // the device cannot hold what was asked (the detail says how much)
    unsupported,          // the device does not do this (the cpu device and KAWPOW)
    cancelled,            // KAWPOW: a dataset generation stopped by abort_generation()
};
const std::error_category& gpu_category() noexcept;
inline std::error_code make_error_code(gpu_errc e) noexcept { return {static_cast<int>(e), gpu_category()}; }

}  // namespace sb::gpu

template <>
struct std::is_error_code_enum<sb::gpu::gpu_errc> : std::true_type {};

namespace sb::gpu {

// ---- devices -----------------------------------------------------------------------

struct device_info {
    std::string id;        // "cuda:0", "opencl:1", "cpu": what config and --device name
    std::string backend;   // "cuda", "opencl", "cpu"
    std::string name;      // as the driver reports it, e.g. "NVIDIA H100 80GB HBM3"
    std::string platform;  // OpenCL platform, CUDA runtime/driver versions, "" for cpu
    std::uint64_t memory_bytes = 0;
    unsigned compute_units = 0;  // SMs, OpenCL compute units, or CPU threads
    // The largest single buffer the driver allows (OpenCL's CL_DEVICE_MAX_MEM_ALLOC_SIZE); 0
    // when it sets no limit below memory_bytes.
    std::uint64_t max_buffer_bytes = 0;
};

struct device_list {
    std::vector<device_info> devices;
    // One line per compiled backend that contributed no device, saying why ("cuda: no
    // device (cudaGetDeviceCount: no CUDA-capable device is detected)").
    std::vector<std::string> notes;
};

// Every device of every compiled backend, plus the CPU reference ("cpu"). Never throws;
// a missing driver is a note, not an error. OpenCL ids number devices across all
// platforms in ICD order.
device_list discover_devices();

// ---- SHA-256d search -----------------------------------------------------------------

// What a search scans: an 80-byte header whose nonce (bytes 76..79) is replaced by each
// nonce of the range.
struct sha256d_work {
    std::array<std::uint8_t, 80> header{};
    // Candidate when the hash's top word (see the file comment) <= target_word. 0 for any
    // share of difficulty >= 1; larger for easier targets (tests, sub-1 difficulties).
    std::uint32_t target_word = 0;
};

// Most candidates one search call returns; more are counted in dropped.
inline constexpr std::size_t max_search_candidates = 64;

struct search_outcome {
    std::vector<std::uint32_t> nonces;  // candidates, in no particular order
    std::uint64_t dropped = 0;          // candidates beyond max_search_candidates
    std::uint64_t hashes = 0;           // nonces scanned (the count asked for)
};

class sha256d_searcher {
public:
    virtual ~sha256d_searcher() = default;
    virtual const device_info& info() const = 0;
    // Scans the nonces first, first + 1, ... first + count - 1, modulo 2^32 (a range may
    // wrap past 0xffffffff to 0). count in [1, 2^32]. Blocking; call from one thread.
    // Errors: invalid_argument, device_lost (with the driver's words in *detail when
    // detail is not null).
    virtual result<search_outcome> search(const sha256d_work& work, std::uint32_t first, std::uint64_t count,
                                          std::string* detail = nullptr) = 0;
    // Nonces per search call that keep one call around 50 ms at intensity 1..32 (each
    // step doubles the batch from the backend's base size). Always a multiple of the
    // backend's launch granularity and at most 2^32.
    // The searchers open_sha256d returns time their device once when opened: intensity 20
    // is then about 50 ms of work on that device, and each step up or down doubles or
    // halves it (clamped to one launch granule and to 2^32).
    virtual std::uint64_t batch_size(unsigned intensity) const = 0;
};

// The known-answer test open_sha256d runs: searches over the genesis and block-1 headers of
// sha256d_kernel.json (their nonces must be found, the neighbours must not) and a range
// that wraps past 0xffffffff, compared with the CPU reference. Exposed so that tests can
// show a searcher with wrong answers is refused. Errors: self_test_failed (and the
// search's own errors), with the failing case in *detail.
std::error_code self_test_sha256d(sha256d_searcher& searcher, std::string* detail = nullptr);

// Opens a device by id ("cuda:0", "opencl:1", "cpu"), builds its kernel and runs the
// start-up known-answer test (the genesis and block-1 headers of sha256d_kernel.json plus
// a wrap-around range). Errors: unknown_device, backend_not_built, no_device,
// driver_error, build_failed, self_test_failed — each with a readable line in *detail.
result<std::unique_ptr<sha256d_searcher>> open_sha256d(std::string_view device_id, std::string* detail = nullptr);

}  // namespace sb::gpu
