// Internal to sb_gpu: the CUDA driver API (libcuda.so.1) and NVRTC (libnvrtc), both loaded
// at run time with dlopen and neither linked, so that a binary built with CUDA starts, and
// mines SHA-256d or on OpenCL, on a machine without a GPU driver or without the CUDA toolkit.
// cuda.h and nvrtc.h supply only the types and prototypes; every call goes through the tables
// below, filled from the libraries by their exported (versioned) symbol names.
#pragma once

#include <cuda.h>
#include <nvrtc.h>

#include <string>
#include <vector>

namespace sb::gpu::detail {

// X(member, exported symbol, declared name): the driver functions the KAWPOW backend calls.
// The declared name is the one cuda.h's versioning macros map the plain name to.
#define SB_CUDA_DRIVER_FUNCTIONS(X)                                                   \
    X(init, "cuInit", cuInit)                                                         \
    X(driver_get_version, "cuDriverGetVersion", cuDriverGetVersion)                   \
    X(get_error_name, "cuGetErrorName", cuGetErrorName)                               \
    X(get_error_string, "cuGetErrorString", cuGetErrorString)                         \
    X(device_get_count, "cuDeviceGetCount", cuDeviceGetCount)                         \
    X(device_get, "cuDeviceGet", cuDeviceGet)                                         \
    X(device_get_name, "cuDeviceGetName", cuDeviceGetName)                            \
    X(device_get_attribute, "cuDeviceGetAttribute", cuDeviceGetAttribute)             \
    X(device_total_mem, "cuDeviceTotalMem_v2", cuDeviceTotalMem_v2)                   \
    X(primary_ctx_retain, "cuDevicePrimaryCtxRetain", cuDevicePrimaryCtxRetain)       \
    X(primary_ctx_release, "cuDevicePrimaryCtxRelease_v2", cuDevicePrimaryCtxRelease_v2) \
    X(primary_ctx_set_flags, "cuDevicePrimaryCtxSetFlags_v2", cuDevicePrimaryCtxSetFlags_v2) \
    X(ctx_set_current, "cuCtxSetCurrent", cuCtxSetCurrent)                            \
    X(mem_get_info, "cuMemGetInfo_v2", cuMemGetInfo_v2)                               \
    X(mem_alloc, "cuMemAlloc_v2", cuMemAlloc_v2)                                      \
    X(mem_free, "cuMemFree_v2", cuMemFree_v2)                                         \
    X(mem_alloc_host, "cuMemAllocHost_v2", cuMemAllocHost_v2)                         \
    X(mem_free_host, "cuMemFreeHost", cuMemFreeHost)                                  \
    X(memcpy_htod_async, "cuMemcpyHtoDAsync_v2", cuMemcpyHtoDAsync_v2)                \
    X(memcpy_dtoh_async, "cuMemcpyDtoHAsync_v2", cuMemcpyDtoHAsync_v2)                \
    X(memset_d32_async, "cuMemsetD32Async", cuMemsetD32Async)                         \
    X(stream_create, "cuStreamCreate", cuStreamCreate)                                \
    X(stream_destroy, "cuStreamDestroy_v2", cuStreamDestroy_v2)                       \
    X(stream_synchronize, "cuStreamSynchronize", cuStreamSynchronize)                 \
    X(module_load_data, "cuModuleLoadData", cuModuleLoadData)                         \
    X(module_unload, "cuModuleUnload", cuModuleUnload)                                \
    X(module_get_function, "cuModuleGetFunction", cuModuleGetFunction)                \
    X(launch_kernel, "cuLaunchKernel", cuLaunchKernel)

// X(member, exported symbol, declared name): the NVRTC functions.
#define SB_NVRTC_FUNCTIONS(X)                                                \
    X(version, "nvrtcVersion", nvrtcVersion)                                 \
    X(get_error_string, "nvrtcGetErrorString", nvrtcGetErrorString)          \
    X(create_program, "nvrtcCreateProgram", nvrtcCreateProgram)              \
    X(destroy_program, "nvrtcDestroyProgram", nvrtcDestroyProgram)           \
    X(compile_program, "nvrtcCompileProgram", nvrtcCompileProgram)           \
    X(get_program_log_size, "nvrtcGetProgramLogSize", nvrtcGetProgramLogSize) \
    X(get_program_log, "nvrtcGetProgramLog", nvrtcGetProgramLog)             \
    X(get_ptx_size, "nvrtcGetPTXSize", nvrtcGetPTXSize)                      \
    X(get_ptx, "nvrtcGetPTX", nvrtcGetPTX)                                   \
    X(get_cubin_size, "nvrtcGetCUBINSize", nvrtcGetCUBINSize)                \
    X(get_cubin, "nvrtcGetCUBIN", nvrtcGetCUBIN)                             \
    X(get_num_supported_archs, "nvrtcGetNumSupportedArchs", nvrtcGetNumSupportedArchs) \
    X(get_supported_archs, "nvrtcGetSupportedArchs", nvrtcGetSupportedArchs)

#define SB_CUDA_API_MEMBER(member, symbol, declared) decltype(&::declared) member = nullptr;

struct cuda_driver_api {
    SB_CUDA_DRIVER_FUNCTIONS(SB_CUDA_API_MEMBER)
    std::string library;  // the path or name that was opened
};

struct nvrtc_api {
    SB_NVRTC_FUNCTIONS(SB_CUDA_API_MEMBER)
    std::string library;
};

#undef SB_CUDA_API_MEMBER

// The driver API, loaded (and cuInit called) once per process; null with the reason in *why
// when libcuda.so.1 is missing, lacks a function, or cuInit fails.
const cuda_driver_api* cuda_driver(std::string* why = nullptr);

// NVRTC, loaded once per process; null with the reason in *why (every place tried). Looks in
// $SB_NVRTC_LIBRARY (a path), then the loader's search path, then $CUDA_HOME/lib64,
// $CUDA_PATH/lib64 and /usr/local/cuda/lib64, for libnvrtc.so and its sonames 13, 12, 11.2.
const nvrtc_api* nvrtc(std::string* why = nullptr);

// "cuMemAlloc: out of memory (CUDA_ERROR_OUT_OF_MEMORY)".
std::string cu_error_text(const cuda_driver_api& api, const char* call, CUresult e);

// A CUDA C++ source compiled by NVRTC for one architecture (major * 10 + minor, e.g. 90): a
// CUBIN when this NVRTC supports the architecture, else PTX of the highest virtual architecture
// it supports below it (the driver compiles that when the module is loaded).
struct nvrtc_output {
    std::vector<char> image;  // for cuModuleLoadData (PTX is NUL-terminated)
    bool cubin = false;
    std::string arch_option;  // the --gpu-architecture given
};
// Errors: false with the compile log (or the failing call) in *detail.
bool nvrtc_compile(const nvrtc_api& api, const std::string& source, const char* name, int arch,
                   const std::vector<std::string>& options, nvrtc_output& out, std::string* detail);

}  // namespace sb::gpu::detail
