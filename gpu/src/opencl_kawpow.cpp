// OpenCL backend of the KAWPOW search: the dataset generated on the device (a program built
// once per device), and per-period search programs built at run time from the embedded
// template with the period's generated round inserted.
#include <algorithm>
#include <atomic>
#include <string>
#include <utility>
#include <vector>

#include "kawpow_internal.hpp"
#include "opencl_api.hpp"
#include "sb/pow/kernels/progpow.h"

namespace sb::gpu::detail {

extern const char* const kawpow_search_cl_source;  // generated: kernels/kawpow_search.cl + headers
extern const char* const ethash_dag_cl_source;     // generated: kernels/ethash_dag.cl + headers

namespace {

// Work-items per work-group of the search (a multiple of 16: whole lane groups) unless the
// device allows fewer; work-items per work-group of the generation.
constexpr std::size_t cl_search_group_size = 128;
constexpr std::size_t cl_dag_group_size = 128;
// The longest build log kept in an error line.
constexpr std::size_t max_build_log_chars = 4000;

void release(cl_mem h) { clReleaseMemObject(h); }
void release(cl_kernel h) { clReleaseKernel(h); }
void release(cl_program h) { clReleaseProgram(h); }
void release(cl_command_queue h) { clReleaseCommandQueue(h); }
void release(cl_context h) { clReleaseContext(h); }

// One OpenCL object, released with its owner.
template <class T>
class cl_ref {
public:
    cl_ref() = default;
    explicit cl_ref(T h) : h_(h) {}
    cl_ref(cl_ref&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    cl_ref& operator=(cl_ref&& o) noexcept {
        if (this != &o) {
            reset();
            h_ = std::exchange(o.h_, nullptr);
        }
        return *this;
    }
    ~cl_ref() { reset(); }
    void reset() {
        if (h_) release(h_);
        h_ = nullptr;
    }
    T get() const { return h_; }
    explicit operator bool() const { return h_ != nullptr; }

private:
    T h_ = nullptr;
};

bool is_allocation_failure(cl_int e) {
    return e == CL_MEM_OBJECT_ALLOCATION_FAILURE || e == CL_OUT_OF_RESOURCES || e == CL_INVALID_BUFFER_SIZE ||
           e == CL_OUT_OF_HOST_MEMORY;
}

std::string with_log(std::string line, const std::string& log) {
    line += "; build log:\n";
    line += log.size() > max_build_log_chars ? log.substr(0, max_build_log_chars) + "\n[...]" : log;
    return line;
}

// A dataset buffer; gives its bytes back to the backend's account when released.
class cl_dag final : public kawpow_dag {
public:
    cl_dag(cl_ref<cl_mem> buffer, std::uint64_t bytes, std::atomic<std::uint64_t>& account)
        : buffer_(std::move(buffer)), bytes_(bytes), account_(account) {}
    ~cl_dag() override { account_ -= bytes_; }
    cl_mem buffer() const { return buffer_.get(); }

private:
    cl_ref<cl_mem> buffer_;
    std::uint64_t bytes_;
    std::atomic<std::uint64_t>& account_;
};

class cl_period_kernel final : public kawpow_kernel {
public:
    cl_period_kernel(cl_ref<cl_program> program, cl_ref<cl_kernel> kernel)
        : program_(std::move(program)), kernel_(std::move(kernel)) {}
    cl_kernel kernel() const { return kernel_.get(); }

private:
    cl_ref<cl_program> program_;
    cl_ref<cl_kernel> kernel_;
};

class opencl_kawpow_backend final : public kawpow_backend {
public:
    opencl_kawpow_backend(cl_device_entry entry, std::size_t group_size) : entry_(std::move(entry)), group_(group_size) {
        total_ = entry_.info.memory_bytes;
        max_alloc_ = entry_.info.max_buffer_bytes;
    }

    // Context, queues, buffers and the generation program; *detail says which call failed.
    std::error_code open(std::string* detail) {
        const auto open_fail = [](std::string* d, const char* call, cl_int e) -> std::error_code {
            if (d) *d = cl_error_text(call, e);  // open_kawpow names the device
            return gpu_errc::driver_error;
        };
        cl_int e = CL_SUCCESS;
        const cl_context_properties props[] = {CL_CONTEXT_PLATFORM,
                                               reinterpret_cast<cl_context_properties>(entry_.platform), 0};
        ctx_ = cl_ref<cl_context>(clCreateContext(props, 1, &entry_.device, nullptr, nullptr, &e));
        if (!ctx_) return open_fail(detail, "clCreateContext", e);
        search_queue_ = cl_ref<cl_command_queue>(clCreateCommandQueue(ctx_.get(), entry_.device, 0, &e));
        if (!search_queue_) return open_fail(detail, "clCreateCommandQueue", e);
        dag_queue_ = cl_ref<cl_command_queue>(clCreateCommandQueue(ctx_.get(), entry_.device, 0, &e));
        if (!dag_queue_) return open_fail(detail, "clCreateCommandQueue", e);
        job_ = cl_ref<cl_mem>(clCreateBuffer(ctx_.get(), CL_MEM_READ_ONLY, sizeof(kawpow_job), nullptr, &e));
        if (!job_) return open_fail(detail, "clCreateBuffer", e);
        result_ = cl_ref<cl_mem>(
            clCreateBuffer(ctx_.get(), CL_MEM_READ_WRITE, sizeof(cl_uint) * kawpow_result_words, nullptr, &e));
        if (!result_) return open_fail(detail, "clCreateBuffer", e);
        auto dag_program = build(ethash_dag_cl_source, "", detail);
        if (!dag_program) return dag_program.error();
        dag_program_ = std::move(*dag_program);
        return {};
    }

    const device_info& info() const override { return entry_.info; }

    std::uint64_t free_memory_bytes() override {
        const std::uint64_t held = allocated_.load();
        return total_ > held ? total_ - held : 0;
    }
    std::uint64_t max_buffer_bytes() const override { return max_alloc_; }
    std::uint32_t granularity() const override { return static_cast<std::uint32_t>(group_); }

    result<std::unique_ptr<kawpow_dag>> generate(const kawpow_dataset& ds, const pow::ethash::progress_fn& progress,
                                                 const std::atomic<bool>& abort, std::string* detail) override {
        const std::uint64_t bytes = ds.bytes();
        const auto light = ds.context->light_cache();
        const std::uint64_t light_bytes = light.size() * 64;
        const std::uint64_t free_before = free_memory_bytes();
        const auto out_of_memory = [&](const char* call, cl_int e) -> std::error_code {
            if (detail)
                *detail = kawpow_memory_error(entry_.info, ds, kawpow_generation_bytes(bytes, light_bytes), free_before) +
                          " (" + cl_error_text(call, e) + ")";
            return gpu_errc::out_of_memory;
        };
        cl_int e = CL_SUCCESS;
        cl_ref<cl_mem> buffer(clCreateBuffer(ctx_.get(), CL_MEM_READ_WRITE, bytes, nullptr, &e));
        if (!buffer) return is_allocation_failure(e) ? out_of_memory("clCreateBuffer", e) : fail(detail, "clCreateBuffer", e);
        allocated_ += bytes;
        auto dag = std::make_unique<cl_dag>(std::move(buffer), bytes, allocated_);
        cl_ref<cl_mem> light_buffer(clCreateBuffer(ctx_.get(), CL_MEM_READ_ONLY, light_bytes, nullptr, &e));
        if (!light_buffer)
            return is_allocation_failure(e) ? out_of_memory("clCreateBuffer", e) : fail(detail, "clCreateBuffer", e);
        // Drivers allocate on first use: a failure to place a buffer shows up here or at the launch.
        e = clEnqueueWriteBuffer(dag_queue_.get(), light_buffer.get(), CL_TRUE, 0, light_bytes, light.front().data(), 0,
                                 nullptr, nullptr);
        if (e != CL_SUCCESS)
            return is_allocation_failure(e) ? out_of_memory("clEnqueueWriteBuffer", e)
                                            : lost(detail, "clEnqueueWriteBuffer", e);
        // A kernel object of its own: this may run on a background thread beside launch().
        cl_ref<cl_kernel> kernel(clCreateKernel(dag_program_.get(), "sb_ethash_dag", &e));
        if (!kernel) return fail(detail, "clCreateKernel", e);
        const cl_mem dag_mem = dag->buffer();
        const cl_mem light_mem = light_buffer.get();
        const auto num_light = static_cast<cl_uint>(light.size());
        const std::uint64_t items = 2 * std::uint64_t{ds.items_1024};
        dag_schedule plan(items, cl_dag_group_size, progress, abort);
        std::uint64_t start = 0, count = 0;
        while (plan.next(start, count)) {
            const auto first = static_cast<cl_uint>(start);
            const auto n = static_cast<cl_uint>(count);
            if ((e = clSetKernelArg(kernel.get(), 0, sizeof dag_mem, &dag_mem)) != CL_SUCCESS ||
                (e = clSetKernelArg(kernel.get(), 1, sizeof light_mem, &light_mem)) != CL_SUCCESS ||
                (e = clSetKernelArg(kernel.get(), 2, sizeof num_light, &num_light)) != CL_SUCCESS ||
                (e = clSetKernelArg(kernel.get(), 3, sizeof first, &first)) != CL_SUCCESS ||
                (e = clSetKernelArg(kernel.get(), 4, sizeof n, &n)) != CL_SUCCESS)
                return lost(detail, "clSetKernelArg", e);
            const std::size_t local = cl_dag_group_size;
            const std::size_t global = (n + local - 1) / local * local;
            e = clEnqueueNDRangeKernel(dag_queue_.get(), kernel.get(), 1, nullptr, &global, &local, 0, nullptr,
                                       nullptr);
            if (e == CL_SUCCESS) e = clFinish(dag_queue_.get());
            if (e != CL_SUCCESS)
                return is_allocation_failure(e) ? out_of_memory("clEnqueueNDRangeKernel", e)
                                                : lost(detail, "clEnqueueNDRangeKernel", e);
            plan.finished();
        }
        if (plan.aborted()) return kawpow_cancelled(entry_.info, detail);
        return std::unique_ptr<kawpow_dag>(std::move(dag));
    }

    std::error_code read(const kawpow_dag& dag, std::uint64_t first, std::span<pow::ethash::hash512> out,
                         std::string* detail) override {
        const auto& d = static_cast<const cl_dag&>(dag);
        const cl_int e = clEnqueueReadBuffer(search_queue_.get(), d.buffer(), CL_TRUE, first * 64, out.size() * 64,
                                             out.data(), 0, nullptr, nullptr);
        return e == CL_SUCCESS ? std::error_code{} : lost(detail, "clEnqueueReadBuffer", e);
    }

    result<std::shared_ptr<kawpow_kernel>> compile(std::uint64_t prog_seed, std::uint32_t items_256,
                                                   std::string* detail) override {
        std::string source = kawpow_search_cl_source;
        const auto at = source.find(kawpow_period_marker);
        if (at == std::string::npos) {
            if (detail) *detail = "the embedded search kernel has no period marker";
            return gpu_errc::build_failed;
        }
        source.replace(at, std::string_view(kawpow_period_marker).size(), progpow_period_source(prog_seed, items_256));
        const std::string options = "-DSB_GROUP_SIZE=" + std::to_string(group_) +
                                    " -DSB_MAX_CANDIDATES=" + std::to_string(max_kawpow_candidates);
        auto program = build(source.c_str(), options, detail);
        if (!program) return program.error();
        cl_int e = CL_SUCCESS;
        cl_ref<cl_kernel> kernel(clCreateKernel(program->get(), "sb_kawpow_search", &e));
        if (!kernel) return fail(detail, "clCreateKernel", e);
        return std::shared_ptr<kawpow_kernel>(std::make_shared<cl_period_kernel>(std::move(*program), std::move(kernel)));
    }

    std::error_code launch(const kawpow_kernel& k, const kawpow_dag& dag, const kawpow_job& job, std::uint32_t count,
                           std::vector<kawpow_hit>& hits, std::uint64_t& found, std::string* detail) override {
        const cl_kernel kernel = static_cast<const cl_period_kernel&>(k).kernel();
        const cl_mem dag_mem = static_cast<const cl_dag&>(dag).buffer();
        const cl_mem job_mem = job_.get();
        const cl_mem result_mem = result_.get();
        const cl_uint zero = 0, n = count;
        cl_int e = clEnqueueWriteBuffer(search_queue_.get(), job_mem, CL_FALSE, 0, sizeof job, &job, 0, nullptr, nullptr);
        if (e == CL_SUCCESS)
            e = clEnqueueWriteBuffer(search_queue_.get(), result_mem, CL_FALSE, 0, sizeof zero, &zero, 0, nullptr, nullptr);
        if (e != CL_SUCCESS) return lost(detail, "clEnqueueWriteBuffer", e);
        if ((e = clSetKernelArg(kernel, 0, sizeof dag_mem, &dag_mem)) != CL_SUCCESS ||
            (e = clSetKernelArg(kernel, 1, sizeof job_mem, &job_mem)) != CL_SUCCESS ||
            (e = clSetKernelArg(kernel, 2, sizeof n, &n)) != CL_SUCCESS ||
            (e = clSetKernelArg(kernel, 3, sizeof result_mem, &result_mem)) != CL_SUCCESS)
            return lost(detail, "clSetKernelArg", e);
        const std::size_t local = group_;
        const std::size_t global = (std::size_t{count} + local - 1) / local * local;
        e = clEnqueueNDRangeKernel(search_queue_.get(), kernel, 1, nullptr, &global, &local, 0, nullptr, nullptr);
        if (e != CL_SUCCESS) return lost(detail, "clEnqueueNDRangeKernel", e);
        // The blocking read also keeps job and zero alive until the writes above have run.
        std::uint32_t words[kawpow_result_words];
        e = clEnqueueReadBuffer(search_queue_.get(), result_mem, CL_TRUE, 0, sizeof words, words, 0, nullptr, nullptr);
        if (e != CL_SUCCESS) return lost(detail, "clEnqueueReadBuffer", e);
        read_kawpow_results(words, hits, found);
        return {};
    }

private:
    std::error_code fail(std::string* detail, const char* call, cl_int e) const {
        if (detail) *detail = entry_.info.id + ": " + cl_error_text(call, e);
        return gpu_errc::driver_error;
    }
    std::error_code lost(std::string* detail, const char* call, cl_int e) const {
        if (detail) *detail = entry_.info.id + ": " + cl_error_text(call, e);
        return gpu_errc::device_lost;
    }

    result<cl_ref<cl_program>> build(const char* source, const std::string& options, std::string* detail) {
        cl_int e = CL_SUCCESS;
        cl_ref<cl_program> program(clCreateProgramWithSource(ctx_.get(), 1, &source, nullptr, &e));
        if (!program) return fail(detail, "clCreateProgramWithSource", e);
        e = clBuildProgram(program.get(), 1, &entry_.device, options.c_str(), nullptr, nullptr);
        if (e != CL_SUCCESS) {
            if (detail) *detail = with_log(cl_error_text("clBuildProgram", e), cl_build_log(program.get(), entry_.device));
            return gpu_errc::build_failed;
        }
        return program;
    }

    cl_device_entry entry_;
    std::size_t group_;
    std::uint64_t total_ = 0;
    std::uint64_t max_alloc_ = 0;
    std::atomic<std::uint64_t> allocated_{0};  // bytes of the datasets alive
    cl_ref<cl_context> ctx_;
    cl_ref<cl_command_queue> search_queue_;  // launches and reads (the search thread)
    cl_ref<cl_command_queue> dag_queue_;     // generation (the thread that generates)
    cl_ref<cl_mem> job_;
    cl_ref<cl_mem> result_;
    cl_ref<cl_program> dag_program_;
};

}  // namespace

result<std::unique_ptr<kawpow_backend>> opencl_open_kawpow(unsigned index, std::string* detail) {
    auto found = opencl_device_at(index, detail);
    if (!found) return found.error();
    const cl_device_id device = found->device;
    // Whole lane groups, and room for the L1 cache and the exchange slots in local memory.
    std::size_t group = cl_search_group_size;
    const auto device_max = cl_device_value<std::size_t>(device, CL_DEVICE_MAX_WORK_GROUP_SIZE);
    while (group > SB_PROGPOW_LANES && group > device_max) group /= 2;
    const auto local_bytes = cl_device_value<cl_ulong>(device, CL_DEVICE_LOCAL_MEM_SIZE);
    if (group > device_max || local_bytes < SB_PROGPOW_CACHE_WORDS * 4 + group * 4) {
        if (detail)
            *detail = "the device allows work-groups of " + std::to_string(device_max) + " and " +
                      std::to_string(local_bytes) + " bytes of local memory; the KAWPOW kernel needs " +
                      std::to_string(SB_PROGPOW_LANES) + " and " + std::to_string(SB_PROGPOW_CACHE_WORDS * 4 + group * 4);
        return gpu_errc::unsupported;
    }
    auto backend = std::make_unique<opencl_kawpow_backend>(std::move(*found), group);
    if (auto ec = backend->open(detail)) return ec;
    return std::unique_ptr<kawpow_backend>(std::move(backend));
}

}  // namespace sb::gpu::detail
