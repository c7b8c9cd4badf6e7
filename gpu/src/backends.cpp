// The backend registry: the only file that knows which GPU backends this build contains.
#include "sb/gpu/backends.hpp"

#include <charconv>

#include "kawpow_internal.hpp"
#include "sb/gpu/device.hpp"
#include "sha256d_internal.hpp"

namespace sb::gpu {

std::vector<backend_info> backends() {
    return {
#ifdef SB_HAVE_CUDA
        {"cuda", true, "built with the CUDA toolkit"},
#else
        {"cuda", false, "not built: configure with the CUDA toolkit (nvcc) installed, SB_CUDA=AUTO|ON"},
#endif
#ifdef SB_HAVE_OPENCL
        {"opencl", true, "built with the OpenCL headers; libOpenCL.so.1 is loaded at run time"},
#else
        {"opencl", false, "not built: install opencl-headers (and ocl-icd-libopencl1 to run), SB_OPENCL=AUTO|ON"},
#endif
    };
}

device_list discover_devices() {
    device_list out;
#ifdef SB_HAVE_CUDA
    detail::cuda_discover(out);
#else
    out.notes.push_back("cuda: not built into this binary");
#endif
#ifdef SB_HAVE_OPENCL
    detail::opencl_discover(out);
#else
    out.notes.push_back("opencl: not built into this binary");
#endif
    out.devices.push_back(detail::cpu_device_info());
    return out;
}

namespace {

// "opencl:3" -> 3; false when the text after the prefix is not a plain decimal index.
bool parse_index(std::string_view text, unsigned& index) {
    if (text.empty() || text.size() > 6) return false;
    const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), index);
    return ec == std::errc{} && p == text.data() + text.size();
}

std::error_code refuse(std::string* detail, std::error_code ec, std::string line) {
    if (detail) *detail = std::move(line);
    return ec;
}

}  // namespace

result<std::unique_ptr<sha256d_searcher>> open_sha256d(std::string_view device_id, std::string* detail) {
    const std::string id(device_id);
    std::string why;
    result<std::unique_ptr<detail::batched_searcher>> opened = make_error_code(gpu_errc::unknown_device);
    unsigned index = 0;
    if (device_id == "cpu") {
        opened = detail::make_cpu_searcher();
    } else if (device_id.starts_with("opencl:") && parse_index(device_id.substr(7), index)) {
#ifdef SB_HAVE_OPENCL
        opened = detail::opencl_open_sha256d(index, &why);
#else
        return refuse(detail, gpu_errc::backend_not_built, id + ": this binary was built without OpenCL");
#endif
    } else if (device_id.starts_with("cuda:") && parse_index(device_id.substr(5), index)) {
#ifdef SB_HAVE_CUDA
        opened = detail::cuda_open_sha256d(index, &why);
#else
        return refuse(detail, gpu_errc::backend_not_built, id + ": this binary was built without CUDA");
#endif
    } else {
        return refuse(detail, gpu_errc::unknown_device,
                      "'" + id + "' is not a device id (cpu, opencl:N, cuda:N; see `solobridge devices`)");
    }
    if (!opened) return refuse(detail, opened.error(), id + ": " + (why.empty() ? opened.error().message() : why));
    std::unique_ptr<detail::batched_searcher> searcher = std::move(*opened);
    if (auto ec = self_test_sha256d(*searcher, &why))
        return refuse(detail, ec, id + ": refused, the start-up self-test failed: " + why);
    if (auto ec = detail::calibrate(*searcher, &why)) return refuse(detail, ec, id + ": calibration failed: " + why);
    return std::unique_ptr<sha256d_searcher>(std::move(searcher));
}

std::string kawpow_unavailable_reason(const device_info& device) {
    if (device.backend == "cpu") return "the CPU reference verifies KAWPOW shares but does not mine them";
#ifdef SB_HAVE_CUDA
    if (device.backend == "cuda") return detail::cuda_kawpow_unavailable();
#endif
    return {};
}

result<std::unique_ptr<kawpow_searcher>> open_kawpow(std::string_view device_id, std::string* detail) {
    const std::string id(device_id);
    std::string why;
    result<std::unique_ptr<detail::kawpow_backend>> opened = make_error_code(gpu_errc::unknown_device);
    unsigned index = 0;
    if (device_id == "cpu") {
        return refuse(detail, gpu_errc::unsupported,
                      "cpu: the CPU reference does not mine KAWPOW (one light evaluation takes milliseconds); "
                      "use a GPU (see `solobridge devices`)");
    } else if (device_id.starts_with("opencl:") && parse_index(device_id.substr(7), index)) {
#ifdef SB_HAVE_OPENCL
        opened = detail::opencl_open_kawpow(index, &why);
#else
        return refuse(detail, gpu_errc::backend_not_built, id + ": this binary was built without OpenCL");
#endif
    } else if (device_id.starts_with("cuda:") && parse_index(device_id.substr(5), index)) {
#ifdef SB_HAVE_CUDA
        opened = detail::cuda_open_kawpow(index, &why);
#else
        return refuse(detail, gpu_errc::backend_not_built, id + ": this binary was built without CUDA");
#endif
    } else {
        return refuse(detail, gpu_errc::unknown_device,
                      "'" + id + "' is not a device id (opencl:N, cuda:N; see `solobridge devices`)");
    }
    if (!opened) return refuse(detail, opened.error(), id + ": " + (why.empty() ? opened.error().message() : why));
    return detail::make_kawpow_searcher(std::move(*opened));
}

}  // namespace sb::gpu
