#include "sb/gpu/backends.hpp"

namespace sb::gpu {

std::vector<backend_info> backends() {
    return {
#ifdef SB_HAVE_CUDA
        {"cuda", true, "built with the CUDA toolkit"},
#else
        {"cuda", false, "not built: configure with the CUDA toolkit (nvcc) installed, SB_CUDA=AUTO|ON"},
#endif
#ifdef SB_HAVE_OPENCL
        {"opencl", true, "built against the OpenCL ICD loader"},
#else
        {"opencl", false, "not built: install ocl-icd-opencl-dev and opencl-headers, SB_OPENCL=AUTO|ON"},
#endif
    };
}

}  // namespace sb::gpu
