#include "sb/gpu/device.hpp"

namespace sb::gpu {
namespace {

class gpu_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "sb.gpu"; }
    std::string message(int ev) const override {
        switch (static_cast<gpu_errc>(ev)) {
            case gpu_errc::ok: return "ok";
            case gpu_errc::unknown_device: return "unknown device";
            case gpu_errc::backend_not_built: return "backend not built into this binary";
            case gpu_errc::no_device: return "no device";
            case gpu_errc::driver_error: return "driver error";
            case gpu_errc::build_failed: return "kernel build failed";
            case gpu_errc::self_test_failed: return "self-test failed";
            case gpu_errc::invalid_argument: return "invalid argument";
            case gpu_errc::device_lost: return "device lost";
            case gpu_errc::out_of_memory: return "not enough device memory";
            case gpu_errc::unsupported: return "not supported by this device";
            case gpu_errc::cancelled: return "cancelled";
        }
        return "unknown gpu error";
    }
};

}  // namespace

const std::error_category& gpu_category() noexcept {
    static const gpu_category_impl category;
    return category;
}

}  // namespace sb::gpu
