// CUDA backend of the SHA-256d search, host side: discovery through the CUDA runtime (linked
// statically; the driver library is loaded by the runtime at run time, so a binary built with
// CUDA starts on machines without a GPU or driver) and the searcher that drives the kernel
// of cuda_sha256d.cu.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <string>

#include "cuda_sha256d_launch.hpp"
#include "sha256d_internal.hpp"

namespace sb::gpu::detail {
namespace {

static_assert(cuda_result_slots == max_search_candidates, "the CUDA result buffer holds max_search_candidates");

// The most nonces one kernel launch covers (a search of 2^32 nonces is several launches).
constexpr std::uint64_t cuda_max_launch_nonces = std::uint64_t{1} << 30;

std::string cuda_error_text(const char* call, cudaError_t e) {
    return std::string(call) + ": " + cudaGetErrorString(e) + " (" + cudaGetErrorName(e) + ")";
}

std::string version_text(int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }

// The number of devices, or a note saying why there is none.
int device_count(std::string* note) {
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        // No driver, no device, insufficient driver: all mean "no device" here.
        if (note) *note = "cuda: no device (" + cuda_error_text("cudaGetDeviceCount", e) + ")";
        cudaGetLastError();  // clear the sticky-free error state
        return 0;
    }
    if (n == 0 && note) *note = "cuda: no device (cudaGetDeviceCount reports 0 devices)";
    return n;
}

device_info describe(int index) {
    device_info d;
    d.id = "cuda:" + std::to_string(index);
    d.backend = "cuda";
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, index) == cudaSuccess) {
        d.name = prop.name;
        d.memory_bytes = prop.totalGlobalMem;
        d.compute_units = static_cast<unsigned>(prop.multiProcessorCount);
        d.platform = "compute capability " + std::to_string(prop.major) + "." + std::to_string(prop.minor);
    }
    int runtime = 0, driver = 0;
    cudaRuntimeGetVersion(&runtime);
    cudaDriverGetVersion(&driver);
    d.platform += (d.platform.empty() ? "" : ", ") + std::string("CUDA runtime ") + version_text(runtime) +
                  ", driver " + version_text(driver);
    return d;
}

class cuda_searcher final : public batched_searcher {
public:
    cuda_searcher(device_info info, int device, cudaStream_t stream, std::uint32_t* d_result, std::uint32_t* h_result)
        : batched_searcher(std::uint64_t{cuda_threads_per_block} * cuda_nonces_per_thread),
          info_(std::move(info)),
          device_(device),
          stream_(stream),
          d_result_(d_result),
          h_result_(h_result) {}

    ~cuda_searcher() override {
        cudaSetDevice(device_);
        if (stream_) cudaStreamDestroy(stream_);
        if (d_result_) cudaFree(d_result_);
        if (h_result_) cudaFreeHost(h_result_);
    }
    cuda_searcher(const cuda_searcher&) = delete;
    cuda_searcher& operator=(const cuda_searcher&) = delete;

    const device_info& info() const override { return info_; }

    result<search_outcome> search(const sha256d_work& work, std::uint32_t first, std::uint64_t count,
                                  std::string* detail) override {
        if (auto ec = check_search_count(count, detail)) return ec;
        // The calling thread may not be the one that opened the device.
        if (cudaError_t e = cudaSetDevice(device_); e != cudaSuccess) return lost(detail, "cudaSetDevice", e);
        const sb_sha256d_job job = make_sha256d_job(work);
        search_outcome out;
        out.hashes = count;
        for (std::uint64_t done = 0; done < count;) {
            const std::uint64_t n = std::min(count - done, cuda_max_launch_nonces);
            cudaError_t e = cudaMemsetAsync(d_result_, 0, sizeof(std::uint32_t), stream_);
            if (e != cudaSuccess) return lost(detail, "cudaMemsetAsync", e);
            e = cuda_launch_sha256d(job, static_cast<std::uint32_t>(first + done), static_cast<std::uint32_t>(n),
                                    d_result_, stream_);
            if (e != cudaSuccess) return lost(detail, "kernel launch", e);
            e = cudaMemcpyAsync(h_result_, d_result_, sizeof(std::uint32_t) * (1 + cuda_result_slots),
                                cudaMemcpyDeviceToHost, stream_);
            if (e != cudaSuccess) return lost(detail, "cudaMemcpyAsync", e);
            if ((e = cudaStreamSynchronize(stream_)) != cudaSuccess) return lost(detail, "cudaStreamSynchronize", e);
            const std::uint64_t found = h_result_[0];
            const std::uint64_t stored = std::min<std::uint64_t>(found, cuda_result_slots);
            for (std::uint64_t i = 0; i < stored; ++i) {
                if (out.nonces.size() < max_search_candidates) out.nonces.push_back(h_result_[1 + i]);
                else ++out.dropped;
            }
            out.dropped += found - stored;
            done += n;
        }
        return out;
    }

private:
    std::error_code lost(std::string* detail, const char* call, cudaError_t e) {
        if (detail) *detail = info_.id + ": " + cuda_error_text(call, e);
        return gpu_errc::device_lost;
    }

    device_info info_;
    int device_;
    cudaStream_t stream_;
    std::uint32_t* d_result_;
    std::uint32_t* h_result_;
};

}  // namespace

void cuda_discover(device_list& out) {
    std::string note;
    const int n = device_count(&note);
    if (n == 0) out.notes.push_back(note);
    for (int i = 0; i < n; ++i) out.devices.push_back(describe(i));
}

result<std::unique_ptr<batched_searcher>> cuda_open_sha256d(unsigned index, std::string* detail) {
    std::string note;
    const int n = device_count(&note);
    if (n == 0) {
        if (detail) *detail = note.substr(note.find(' ') + 1);  // without "cuda: "
        return gpu_errc::no_device;
    }
    if (index >= static_cast<unsigned>(n)) {
        if (detail)
            *detail = "no such device (" + std::to_string(n) + " CUDA device" + (n == 1 ? "" : "s") + ")";
        return gpu_errc::unknown_device;
    }
    const int device = static_cast<int>(index);
    const auto fail = [&](const char* call, cudaError_t e) -> std::error_code {
        if (detail) *detail = cuda_error_text(call, e);
        return gpu_errc::driver_error;
    };
    cudaError_t e = cudaSetDevice(device);
    if (e != cudaSuccess) return fail("cudaSetDevice", e);
    // Sleep in cudaStreamSynchronize instead of spinning a CPU core per device. Fails
    // harmlessly when the device's context already exists.
    if (cudaSetDeviceFlags(cudaDeviceScheduleBlockingSync) != cudaSuccess) cudaGetLastError();
    cudaStream_t stream = nullptr;
    std::uint32_t* d_result = nullptr;
    std::uint32_t* h_result = nullptr;
    const auto release = [&] {
        if (stream) cudaStreamDestroy(stream);
        if (d_result) cudaFree(d_result);
        if (h_result) cudaFreeHost(h_result);
    };
    const std::size_t bytes = sizeof(std::uint32_t) * (1 + cuda_result_slots);
    if ((e = cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking)) != cudaSuccess ||
        (e = cudaMalloc(reinterpret_cast<void**>(&d_result), bytes)) != cudaSuccess ||
        (e = cudaMallocHost(reinterpret_cast<void**>(&h_result), bytes)) != cudaSuccess) {
        release();
        return fail("device set-up", e);
    }
    return std::unique_ptr<batched_searcher>(
        std::make_unique<cuda_searcher>(describe(device), device, stream, d_result, h_result));
}

}  // namespace sb::gpu::detail
