// OpenCL backend of the SHA-256d search: device discovery over every platform (ids
// opencl:0.. in ICD order) and a searcher that builds the embedded kernel at run time.
#include <algorithm>
#include <string>
#include <vector>

#include "opencl_api.hpp"
#include "sha256d_internal.hpp"

namespace sb::gpu::detail {

extern const char* const sha256d_cl_source;  // generated: kernels/sha256d.cl + headers

namespace {

// Nonces one work-item scans, the work-group size we ask for, and the most nonces one
// kernel launch covers (a search of 2^32 nonces is several launches).
constexpr unsigned cl_nonces_per_item = 32;
constexpr std::size_t cl_preferred_local_size = 256;
constexpr std::uint64_t cl_max_launch_nonces = std::uint64_t{1} << 30;

class opencl_searcher final : public batched_searcher {
public:
    opencl_searcher(device_info info, std::size_t local_size, cl_context ctx, cl_command_queue queue,
                    cl_program program, cl_kernel kernel, cl_mem job, cl_mem result)
        : batched_searcher(local_size * cl_nonces_per_item),
          info_(std::move(info)),
          local_size_(local_size),
          ctx_(ctx),
          queue_(queue),
          program_(program),
          kernel_(kernel),
          job_(job),
          result_(result) {}

    ~opencl_searcher() override {
        if (result_) clReleaseMemObject(result_);
        if (job_) clReleaseMemObject(job_);
        if (kernel_) clReleaseKernel(kernel_);
        if (program_) clReleaseProgram(program_);
        if (queue_) clReleaseCommandQueue(queue_);
        if (ctx_) clReleaseContext(ctx_);
    }
    opencl_searcher(const opencl_searcher&) = delete;
    opencl_searcher& operator=(const opencl_searcher&) = delete;

    const device_info& info() const override { return info_; }

    result<search_outcome> search(const sha256d_work& work, std::uint32_t first, std::uint64_t count,
                                  std::string* detail) override {
        if (auto ec = check_search_count(count, detail)) return ec;
        const sb_sha256d_job job = make_sha256d_job(work);
        const cl_int e = clEnqueueWriteBuffer(queue_, job_, CL_TRUE, 0, sizeof job, &job, 0, nullptr, nullptr);
        if (e != CL_SUCCESS) return lost(detail, "clEnqueueWriteBuffer", e);
        search_outcome out;
        out.hashes = count;
        std::uint64_t done = 0;
        while (done < count) {
            const std::uint64_t n = std::min(count - done, cl_max_launch_nonces);
            if (auto ec = launch(static_cast<std::uint32_t>(first + done), static_cast<std::uint32_t>(n), out, detail))
                return ec;
            done += n;
        }
        return out;
    }

private:
    std::error_code lost(std::string* detail, const char* call, cl_int e) {
        if (detail) *detail = info_.id + ": " + cl_error_text(call, e);
        return gpu_errc::device_lost;
    }

    std::error_code launch(std::uint32_t first, std::uint32_t n, search_outcome& out, std::string* detail) {
        const cl_uint zero = 0;
        cl_int e = clEnqueueWriteBuffer(queue_, result_, CL_FALSE, 0, sizeof zero, &zero, 0, nullptr, nullptr);
        if (e != CL_SUCCESS) return lost(detail, "clEnqueueWriteBuffer", e);
        const cl_uint cl_first = first, cl_count = n;
        if ((e = clSetKernelArg(kernel_, 0, sizeof job_, &job_)) != CL_SUCCESS ||
            (e = clSetKernelArg(kernel_, 1, sizeof cl_first, &cl_first)) != CL_SUCCESS ||
            (e = clSetKernelArg(kernel_, 2, sizeof cl_count, &cl_count)) != CL_SUCCESS ||
            (e = clSetKernelArg(kernel_, 3, sizeof result_, &result_)) != CL_SUCCESS)
            return lost(detail, "clSetKernelArg", e);
        const std::uint64_t items = (std::uint64_t{n} + cl_nonces_per_item - 1) / cl_nonces_per_item;
        const std::size_t global = static_cast<std::size_t>((items + local_size_ - 1) / local_size_ * local_size_);
        const std::size_t local = local_size_;
        if ((e = clEnqueueNDRangeKernel(queue_, kernel_, 1, nullptr, &global, &local, 0, nullptr, nullptr)) !=
            CL_SUCCESS)
            return lost(detail, "clEnqueueNDRangeKernel", e);
        cl_uint buf[1 + max_search_candidates];
        if ((e = clEnqueueReadBuffer(queue_, result_, CL_TRUE, 0, sizeof buf, buf, 0, nullptr, nullptr)) != CL_SUCCESS)
            return lost(detail, "clEnqueueReadBuffer", e);
        const std::uint64_t found = buf[0];
        const std::uint64_t stored = std::min<std::uint64_t>(found, max_search_candidates);
        for (std::uint64_t i = 0; i < stored; ++i) {
            if (out.nonces.size() < max_search_candidates) out.nonces.push_back(buf[1 + i]);
            else ++out.dropped;
        }
        out.dropped += found - stored;
        return {};
    }

    device_info info_;
    std::size_t local_size_;
    cl_context ctx_;
    cl_command_queue queue_;
    cl_program program_;
    cl_kernel kernel_;
    cl_mem job_;  // one sb_sha256d_job, rewritten by each search
    cl_mem result_;
};

}  // namespace

void opencl_discover(device_list& out) {
    std::string note;
    auto devices = opencl_enumerate(&note);
    if (devices.empty()) out.notes.push_back(note);
    for (auto& d : devices) out.devices.push_back(std::move(d.info));
}

result<std::unique_ptr<batched_searcher>> opencl_open_sha256d(unsigned index, std::string* detail) {
    auto found = opencl_device_at(index, detail);
    if (!found) return found.error();
    const cl_device_entry& entry = *found;
    const auto fail = [&](const char* call, cl_int e) -> std::error_code {
        if (detail) *detail = cl_error_text(call, e);
        return gpu_errc::driver_error;
    };
    // Each handle is owned by the searcher once it exists; until then by these guards.
    struct guards {
        cl_context ctx = nullptr;
        cl_command_queue queue = nullptr;
        cl_program program = nullptr;
        cl_kernel kernel = nullptr;
        cl_mem job = nullptr;
        cl_mem result = nullptr;
        ~guards() {
            if (result) clReleaseMemObject(result);
            if (job) clReleaseMemObject(job);
            if (kernel) clReleaseKernel(kernel);
            if (program) clReleaseProgram(program);
            if (queue) clReleaseCommandQueue(queue);
            if (ctx) clReleaseContext(ctx);
        }
    } g;
    cl_int e = CL_SUCCESS;
    const cl_context_properties props[] = {CL_CONTEXT_PLATFORM, reinterpret_cast<cl_context_properties>(entry.platform),
                                           0};
    g.ctx = clCreateContext(props, 1, &entry.device, nullptr, nullptr, &e);
    if (!g.ctx) return fail("clCreateContext", e);
    g.queue = clCreateCommandQueue(g.ctx, entry.device, 0, &e);
    if (!g.queue) return fail("clCreateCommandQueue", e);
    const char* src = sha256d_cl_source;
    g.program = clCreateProgramWithSource(g.ctx, 1, &src, nullptr, &e);
    if (!g.program) return fail("clCreateProgramWithSource", e);
    const std::string options = "-DSB_NONCES_PER_ITEM=" + std::to_string(cl_nonces_per_item) +
                                " -DSB_MAX_CANDIDATES=" + std::to_string(max_search_candidates);
    e = clBuildProgram(g.program, 1, &entry.device, options.c_str(), nullptr, nullptr);
    if (e != CL_SUCCESS) {
        if (detail) *detail = cl_error_text("clBuildProgram", e) + "; build log:\n" + cl_build_log(g.program, entry.device);
        return gpu_errc::build_failed;
    }
    g.kernel = clCreateKernel(g.program, "sb_sha256d_search", &e);
    if (!g.kernel) return fail("clCreateKernel", e);
    g.job = clCreateBuffer(g.ctx, CL_MEM_READ_ONLY, sizeof(sb_sha256d_job), nullptr, &e);
    if (!g.job) return fail("clCreateBuffer", e);
    g.result = clCreateBuffer(g.ctx, CL_MEM_READ_WRITE, sizeof(cl_uint) * (1 + max_search_candidates), nullptr, &e);
    if (!g.result) return fail("clCreateBuffer", e);
    std::size_t kernel_max = 0;
    if ((e = clGetKernelWorkGroupInfo(g.kernel, entry.device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kernel_max,
                                      &kernel_max, nullptr)) != CL_SUCCESS)
        return fail("clGetKernelWorkGroupInfo", e);
    // The largest power of two up to both the preferred size and what the kernel allows.
    std::size_t local = 1;
    while (local * 2 <= std::min(cl_preferred_local_size, kernel_max)) local *= 2;
    auto searcher =
        std::make_unique<opencl_searcher>(entry.info, local, g.ctx, g.queue, g.program, g.kernel, g.job, g.result);
    g.ctx = nullptr;  // now owned by the searcher
    g.queue = nullptr;
    g.program = nullptr;
    g.kernel = nullptr;
    g.job = nullptr;
    g.result = nullptr;
    return std::unique_ptr<batched_searcher>(std::move(searcher));
}

}  // namespace sb::gpu::detail
