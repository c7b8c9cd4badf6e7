// Internal to sb_gpu: the OpenCL API, loaded at run time, and what the OpenCL backends share
// (device enumeration, error text, build logs).
//
// The ICD loader (libOpenCL.so.1) is opened with dlopen on first use instead of being linked,
// so that solobridge starts, and mines on CUDA or the CPU, on a machine without it. CL/cl.h
// still supplies the types and prototypes; each function the backends call is a pointer
// below, declared in sb::gpu::detail under the API's own name. Unqualified calls in this
// namespace (clGetPlatformIDs(...)) find the pointer, which hides the global prototype, so
// nothing references the library's symbols at link time (a call that slipped past would be
// an undefined reference when linking, not a silent dependency). Every entry point calls
// opencl_api_loaded() before the first OpenCL call.
#pragma once

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "sb/gpu/device.hpp"

// X(name): every OpenCL function the backends call.
#define SB_OPENCL_FUNCTIONS(X)                                                                                       \
    X(clGetPlatformIDs)                                                                                              \
    X(clGetPlatformInfo)                                                                                             \
    X(clGetDeviceIDs)                                                                                                \
    X(clGetDeviceInfo)                                                                                               \
    X(clCreateContext)                                                                                               \
    X(clReleaseContext)                                                                                              \
    X(clCreateCommandQueue)                                                                                          \
    X(clReleaseCommandQueue)                                                                                         \
    X(clCreateProgramWithSource)                                                                                     \
    X(clBuildProgram)                                                                                                \
    X(clGetProgramBuildInfo)                                                                                         \
    X(clReleaseProgram)                                                                                              \
    X(clCreateKernel)                                                                                                \
    X(clReleaseKernel)                                                                                               \
    X(clSetKernelArg)                                                                                                \
    X(clGetKernelWorkGroupInfo)                                                                                      \
    X(clCreateBuffer)                                                                                                \
    X(clReleaseMemObject)                                                                                            \
    X(clEnqueueWriteBuffer)                                                                                          \
    X(clEnqueueReadBuffer)                                                                                           \
    X(clEnqueueNDRangeKernel)                                                                                        \
    X(clFinish)

namespace sb::gpu::detail {

#define SB_OPENCL_DECLARE(name) extern decltype(&::name) name;
SB_OPENCL_FUNCTIONS(SB_OPENCL_DECLARE)
#undef SB_OPENCL_DECLARE

// Loads the ICD loader and every function above, once per process (thread-safe). False when
// the library or a function is missing, with the reason in *why ("libOpenCL.so.1: cannot open
// shared object file ...").
bool opencl_api_loaded(std::string* why = nullptr);

// "clBuildProgram: CL_BUILD_PROGRAM_FAILURE (-11)".
std::string cl_error_text(const char* call, cl_int e);

struct cl_device_entry {
    cl_platform_id platform;
    cl_device_id device;
    device_info info;
};

// Every device of every platform, in ICD order (ids opencl:0, opencl:1, ...). *note says why
// the list is empty ("opencl: no device (...)"), including a missing ICD loader.
std::vector<cl_device_entry> opencl_enumerate(std::string* note);

// The device at `index` of opencl_enumerate, or no_device / unknown_device with the reason in
// *detail.
result<cl_device_entry> opencl_device_at(unsigned index, std::string* detail);

// The build log of `program` for `device` ("" when the driver gives none).
std::string cl_build_log(cl_program program, cl_device_id device);

// A device value of type T (CL_DEVICE_MAX_MEM_ALLOC_SIZE, ...); T{} when the query fails.
template <class T>
T cl_device_value(cl_device_id d, cl_device_info what) {
    T v{};
    if (clGetDeviceInfo(d, what, sizeof v, &v, nullptr) != CL_SUCCESS) return T{};
    return v;
}

}  // namespace sb::gpu::detail
