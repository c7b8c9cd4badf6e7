// CUDA backend of the KAWPOW search, through the driver API and NVRTC loaded at run time
// (cuda_api.cpp): the dataset generated on the device (a module compiled once per device), and
// per-period search modules compiled by NVRTC from the embedded template with the period's
// generated round inserted. Plain C++: nothing here is compiled by nvcc or links CUDA.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "cuda_api.hpp"
#include "kawpow_internal.hpp"
#include "sb/pow/kernels/progpow.h"

namespace sb::gpu::detail {

extern const char* const kawpow_search_cu_source;  // generated: kernels/kawpow_search.cu + headers
extern const char* const ethash_dag_cu_source;     // generated: kernels/ethash_dag.cu + headers

namespace {

// Threads per block of the search (whole lane groups; two per warp) and of the generation.
constexpr unsigned cuda_search_block = 256;
constexpr unsigned cuda_dag_block = 128;

static_assert(sizeof(kawpow_job) == 48, "the kernels read the job as 12 words");

std::string version_text(int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }

// Device memory, freed with its owner: a dataset, or the light cache while one is generated.
class cuda_memory final : public kawpow_dag {
public:
    cuda_memory(const cuda_driver_api& api, CUcontext ctx, CUdeviceptr ptr) : api_(api), ctx_(ctx), ptr_(ptr) {}
    ~cuda_memory() override {
        api_.ctx_set_current(ctx_);
        api_.mem_free(ptr_);
    }
    cuda_memory(const cuda_memory&) = delete;
    cuda_memory& operator=(const cuda_memory&) = delete;
    CUdeviceptr ptr() const { return ptr_; }

private:
    const cuda_driver_api& api_;
    CUcontext ctx_;
    CUdeviceptr ptr_;
};

// A loaded module and its kernel.
class cuda_module final : public kawpow_kernel {
public:
    cuda_module(const cuda_driver_api& api, CUcontext ctx, CUmodule module, CUfunction fn)
        : api_(api), ctx_(ctx), module_(module), fn_(fn) {}
    ~cuda_module() override {
        api_.ctx_set_current(ctx_);
        api_.module_unload(module_);
    }
    cuda_module(const cuda_module&) = delete;
    cuda_module& operator=(const cuda_module&) = delete;
    CUfunction fn() const { return fn_; }

private:
    const cuda_driver_api& api_;
    CUcontext ctx_;
    CUmodule module_;
    CUfunction fn_;
};

class cuda_kawpow_backend final : public kawpow_backend {
public:
    cuda_kawpow_backend(const cuda_driver_api& api, const nvrtc_api& rtc, CUdevice device, int arch, device_info info)
        : api_(api), rtc_(rtc), device_(device), arch_(arch), info_(std::move(info)) {}

    ~cuda_kawpow_backend() override {
        if (!ctx_) return;
        api_.ctx_set_current(ctx_);
        dag_module_.reset();
        if (search_stream_) api_.stream_destroy(search_stream_);
        if (dag_stream_) api_.stream_destroy(dag_stream_);
        if (result_dev_) api_.mem_free(result_dev_);
        if (result_host_) api_.mem_free_host(result_host_);
        api_.primary_ctx_release(device_);
    }
    cuda_kawpow_backend(const cuda_kawpow_backend&) = delete;
    cuda_kawpow_backend& operator=(const cuda_kawpow_backend&) = delete;

    // The primary context (shared with the CUDA runtime of the SHA-256d backend), streams, the
    // result buffers and the generation module.
    std::error_code open(std::string* detail) {
        // Sleep in cuStreamSynchronize rather than spin a core per device; refused harmlessly
        // when the context is already active with other flags.
        (void)api_.primary_ctx_set_flags(device_, CU_CTX_SCHED_BLOCKING_SYNC);
        CUresult e = api_.primary_ctx_retain(&ctx_, device_);
        if (e != CUDA_SUCCESS) {
            ctx_ = nullptr;
            return open_fail(detail, "cuDevicePrimaryCtxRetain", e);
        }
        if ((e = api_.ctx_set_current(ctx_)) != CUDA_SUCCESS) return open_fail(detail, "cuCtxSetCurrent", e);
        if ((e = api_.stream_create(&search_stream_, CU_STREAM_NON_BLOCKING)) != CUDA_SUCCESS ||
            (e = api_.stream_create(&dag_stream_, CU_STREAM_NON_BLOCKING)) != CUDA_SUCCESS)
            return open_fail(detail, "cuStreamCreate", e);
        const std::size_t bytes = sizeof(std::uint32_t) * kawpow_result_words;
        if ((e = api_.mem_alloc(&result_dev_, bytes)) != CUDA_SUCCESS) return open_fail(detail, "cuMemAlloc", e);
        if ((e = api_.mem_alloc_host(&result_host_, bytes)) != CUDA_SUCCESS)
            return open_fail(detail, "cuMemAllocHost", e);
        auto dag = load(ethash_dag_cu_source, "ethash_dag.cu", "sb_ethash_dag", {}, detail);
        if (!dag) return dag.error();
        dag_module_ = std::move(*dag);
        return {};
    }

    const device_info& info() const override { return info_; }

    std::uint64_t free_memory_bytes() override {
        api_.ctx_set_current(ctx_);
        std::size_t free_bytes = 0, total = 0;
        if (api_.mem_get_info(&free_bytes, &total) != CUDA_SUCCESS) return 0;
        return free_bytes;
    }
    std::uint64_t max_buffer_bytes() const override { return info_.memory_bytes; }
    std::uint32_t granularity() const override { return cuda_search_block; }

    result<std::unique_ptr<kawpow_dag>> generate(const kawpow_dataset& ds, const pow::ethash::progress_fn& progress,
                                                 const std::atomic<bool>& abort, std::string* detail) override {
        api_.ctx_set_current(ctx_);
        const std::uint64_t bytes = ds.bytes();
        const auto light = ds.context->light_cache();
        const std::uint64_t light_bytes = light.size() * 64;
        const std::uint64_t free_before = free_memory_bytes();
        const auto out_of_memory = [&](const char* call, CUresult e) -> std::error_code {
            if (detail)
                *detail = kawpow_memory_error(info_, ds, kawpow_generation_bytes(bytes, light_bytes), free_before) +
                          " (" + cu_error_text(api_, call, e) + ")";
            return gpu_errc::out_of_memory;
        };
        CUdeviceptr ptr = 0;
        CUresult e = api_.mem_alloc(&ptr, bytes);
        if (e != CUDA_SUCCESS) return e == CUDA_ERROR_OUT_OF_MEMORY ? out_of_memory("cuMemAlloc", e) : lost(detail, "cuMemAlloc", e);
        auto dag = std::make_unique<cuda_memory>(api_, ctx_, ptr);
        CUdeviceptr light_dev = 0;
        if ((e = api_.mem_alloc(&light_dev, light_bytes)) != CUDA_SUCCESS)
            return e == CUDA_ERROR_OUT_OF_MEMORY ? out_of_memory("cuMemAlloc", e) : lost(detail, "cuMemAlloc", e);
        const cuda_memory light_guard(api_, ctx_, light_dev);  // freed on every path out
        if ((e = api_.memcpy_htod_async(light_dev, light.front().data(), light_bytes, dag_stream_)) != CUDA_SUCCESS ||
            (e = api_.stream_synchronize(dag_stream_)) != CUDA_SUCCESS)
            return lost(detail, "cuMemcpyHtoDAsync", e);
        auto num_light = static_cast<std::uint32_t>(light.size());
        const std::uint64_t items = 2 * std::uint64_t{ds.items_1024};
        dag_schedule plan(items, cuda_dag_block, progress, abort);
        std::uint64_t start = 0, count = 0;
        while (plan.next(start, count)) {
            auto first = static_cast<std::uint32_t>(start);
            auto n = static_cast<std::uint32_t>(count);
            void* params[] = {&ptr, &light_dev, &num_light, &first, &n};
            const unsigned blocks = (n + cuda_dag_block - 1) / cuda_dag_block;
            e = api_.launch_kernel(dag_module_->fn(), blocks, 1, 1, cuda_dag_block, 1, 1, 0, dag_stream_, params, nullptr);
            if (e == CUDA_SUCCESS) e = api_.stream_synchronize(dag_stream_);
            if (e != CUDA_SUCCESS) return lost(detail, "cuLaunchKernel (dataset generation)", e);
            plan.finished();
        }
        if (plan.aborted()) return kawpow_cancelled(info_, detail);
        return std::unique_ptr<kawpow_dag>(std::move(dag));
    }

    std::error_code read(const kawpow_dag& dag, std::uint64_t first, std::span<pow::ethash::hash512> out,
                         std::string* detail) override {
        api_.ctx_set_current(ctx_);
        const CUdeviceptr from = static_cast<const cuda_memory&>(dag).ptr() + first * 64;
        CUresult e = api_.memcpy_dtoh_async(out.data(), from, out.size() * 64, search_stream_);
        if (e == CUDA_SUCCESS) e = api_.stream_synchronize(search_stream_);
        return e == CUDA_SUCCESS ? std::error_code{} : lost(detail, "cuMemcpyDtoHAsync", e);
    }

    result<std::shared_ptr<kawpow_kernel>> compile(std::uint64_t prog_seed, std::uint32_t items_256,
                                                   std::string* detail) override {
        std::string source = kawpow_search_cu_source;
        const auto at = source.find(kawpow_period_marker);
        if (at == std::string::npos) {
            if (detail) *detail = "the embedded search kernel has no period marker";
            return gpu_errc::build_failed;
        }
        source.replace(at, std::string_view(kawpow_period_marker).size(), progpow_period_source(prog_seed, items_256));
        auto module = load(source, "kawpow_search.cu", "sb_kawpow_search",
                           {"-DSB_BLOCK_SIZE=" + std::to_string(cuda_search_block),
                            "-DSB_MAX_CANDIDATES=" + std::to_string(max_kawpow_candidates)},
                           detail);
        if (!module) return module.error();
        return std::shared_ptr<kawpow_kernel>(std::move(*module));
    }

    std::error_code launch(const kawpow_kernel& k, const kawpow_dag& dag, const kawpow_job& job, std::uint32_t count,
                           std::vector<kawpow_hit>& hits, std::uint64_t& found, std::string* detail) override {
        api_.ctx_set_current(ctx_);
        CUdeviceptr dag_ptr = static_cast<const cuda_memory&>(dag).ptr();
        kawpow_job j = job;
        std::uint32_t n = count;
        CUdeviceptr result = result_dev_;
        void* params[] = {&dag_ptr, &j, &n, &result};
        const unsigned blocks = (count + cuda_search_block - 1) / cuda_search_block;
        CUresult e = api_.memset_d32_async(result_dev_, 0, 1, search_stream_);
        if (e != CUDA_SUCCESS) return lost(detail, "cuMemsetD32Async", e);
        e = api_.launch_kernel(static_cast<const cuda_module&>(k).fn(), blocks, 1, 1, cuda_search_block, 1, 1, 0,
                               search_stream_, params, nullptr);
        if (e != CUDA_SUCCESS) return lost(detail, "cuLaunchKernel", e);
        e = api_.memcpy_dtoh_async(result_host_, result_dev_, sizeof(std::uint32_t) * kawpow_result_words,
                                   search_stream_);
        if (e == CUDA_SUCCESS) e = api_.stream_synchronize(search_stream_);
        if (e != CUDA_SUCCESS) return lost(detail, "cuStreamSynchronize", e);
        read_kawpow_results(static_cast<const std::uint32_t*>(result_host_), hits, found);
        return {};
    }

private:
    std::error_code open_fail(std::string* detail, const char* call, CUresult e) const {
        if (detail) *detail = cu_error_text(api_, call, e);  // open_kawpow names the device
        return gpu_errc::driver_error;
    }
    std::error_code lost(std::string* detail, const char* call, CUresult e) const {
        if (detail) *detail = info_.id + ": " + cu_error_text(api_, call, e);
        return gpu_errc::device_lost;
    }

    // Compiles `source` with NVRTC for this device and loads kernel `entry` from it.
    result<std::unique_ptr<cuda_module>> load(const std::string& source, const char* name, const char* entry,
                                              const std::vector<std::string>& options, std::string* detail) {
        nvrtc_output out;
        std::string why;
        if (!nvrtc_compile(rtc_, source, name, arch_, options, out, &why)) {
            if (detail) *detail = info_.id + ": " + name + ": " + why;
            return gpu_errc::build_failed;
        }
        api_.ctx_set_current(ctx_);
        CUmodule module = nullptr;
        CUresult e = api_.module_load_data(&module, out.image.data());
        if (e != CUDA_SUCCESS) {
            if (detail) *detail = info_.id + ": " + name + " (" + out.arch_option + "): " + cu_error_text(api_, "cuModuleLoadData", e);
            return gpu_errc::build_failed;
        }
        CUfunction fn = nullptr;
        if ((e = api_.module_get_function(&fn, module, entry)) != CUDA_SUCCESS) {
            api_.module_unload(module);
            if (detail) *detail = info_.id + ": " + name + ": " + cu_error_text(api_, "cuModuleGetFunction", e);
            return gpu_errc::build_failed;
        }
        return std::make_unique<cuda_module>(api_, ctx_, module, fn);
    }

    const cuda_driver_api& api_;
    const nvrtc_api& rtc_;
    CUdevice device_;
    int arch_;
    device_info info_;
    CUcontext ctx_ = nullptr;
    CUstream search_stream_ = nullptr;  // launches and reads (the search thread)
    CUstream dag_stream_ = nullptr;     // generation (the thread that generates)
    CUdeviceptr result_dev_ = 0;
    void* result_host_ = nullptr;
    std::unique_ptr<cuda_module> dag_module_;
};

}  // namespace

result<std::unique_ptr<kawpow_backend>> cuda_open_kawpow(unsigned index, std::string* detail) {
    std::string why;
    const cuda_driver_api* api = cuda_driver(&why);
    if (!api) {
        if (detail) *detail = "no device (the CUDA driver: " + why + ")";
        return gpu_errc::no_device;
    }
    int count = 0;
    if (const CUresult e = api->device_get_count(&count); e != CUDA_SUCCESS || count == 0) {
        if (detail) *detail = e != CUDA_SUCCESS ? "no device (" + cu_error_text(*api, "cuDeviceGetCount", e) + ")"
                                                : std::string("no device (the driver reports 0 devices)");
        return gpu_errc::no_device;
    }
    if (index >= static_cast<unsigned>(count)) {
        if (detail) *detail = "no such device (" + std::to_string(count) + " CUDA device" + (count == 1 ? "" : "s") + ")";
        return gpu_errc::unknown_device;
    }
    const nvrtc_api* rtc = nvrtc(&why);
    if (!rtc) {
        if (detail) *detail = "KAWPOW on CUDA compiles its kernels at run time: " + why;
        return gpu_errc::unsupported;
    }
    CUdevice device = 0;
    if (const CUresult e = api->device_get(&device, static_cast<int>(index)); e != CUDA_SUCCESS) {
        if (detail) *detail = cu_error_text(*api, "cuDeviceGet", e);
        return gpu_errc::driver_error;
    }
    device_info info;
    info.id = "cuda:" + std::to_string(index);
    info.backend = "cuda";
    char name[256] = {};
    if (api->device_get_name(name, sizeof name - 1, device) == CUDA_SUCCESS) info.name = name;
    std::size_t total = 0;
    if (api->device_total_mem(&total, device) == CUDA_SUCCESS) info.memory_bytes = total;
    int major = 0, minor = 0, sms = 0, driver = 0, rtc_major = 0, rtc_minor = 0;
    api->device_get_attribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device);
    api->device_get_attribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
    api->device_get_attribute(&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device);
    api->driver_get_version(&driver);
    rtc->version(&rtc_major, &rtc_minor);
    info.compute_units = static_cast<unsigned>(sms);
    info.platform = "compute capability " + std::to_string(major) + "." + std::to_string(minor) + ", driver " +
                    version_text(driver) + ", NVRTC " + std::to_string(rtc_major) + "." + std::to_string(rtc_minor);
    auto backend = std::make_unique<cuda_kawpow_backend>(*api, *rtc, device, major * 10 + minor, std::move(info));
    if (auto ec = backend->open(detail)) return ec;
    return std::unique_ptr<kawpow_backend>(std::move(backend));
}

std::string cuda_kawpow_unavailable() {
    std::string why;
    return nvrtc(&why) ? std::string{} : "KAWPOW on CUDA compiles its kernels at run time: " + why;
}

}  // namespace sb::gpu::detail
