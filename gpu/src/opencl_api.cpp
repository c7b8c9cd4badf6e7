// The OpenCL API loaded at run time, and device enumeration shared by the OpenCL backends.
#include "opencl_api.hpp"

#include <dlfcn.h>

#include <cstring>

namespace sb::gpu::detail {

#define SB_OPENCL_DEFINE(name) decltype(&::name) name = nullptr;
SB_OPENCL_FUNCTIONS(SB_OPENCL_DEFINE)
#undef SB_OPENCL_DEFINE

namespace {

// The ICD loader's soname, then the development symlink some systems have instead.
constexpr const char* opencl_library_names[] = {"libOpenCL.so.1", "libOpenCL.so"};

struct load_state {
    bool ok = false;
    std::string why;
};

load_state load_opencl() {
    load_state s;
    void* lib = nullptr;
    for (const char* name : opencl_library_names) {
        lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
        if (lib) break;
        if (s.why.empty()) s.why = dlerror();
    }
    if (!lib) return s;  // why: the first name's dlerror (the one that matters)
    // The library stays loaded for the life of the process: the pointers below live as long.
#define SB_OPENCL_LOAD(name)                                                                 \
    name = reinterpret_cast<decltype(name)>(dlsym(lib, #name));                              \
    if (!name) {                                                                             \
        s.why = std::string("the OpenCL ICD loader lacks ") + #name + " (OpenCL 1.2 needed)"; \
        return s;                                                                            \
    }
    SB_OPENCL_FUNCTIONS(SB_OPENCL_LOAD)
#undef SB_OPENCL_LOAD
    s.ok = true;
    s.why.clear();
    return s;
}

const char* cl_error_name(cl_int e) {
    switch (e) {
        case CL_SUCCESS: return "CL_SUCCESS";
        case CL_DEVICE_NOT_FOUND: return "CL_DEVICE_NOT_FOUND";
        case CL_DEVICE_NOT_AVAILABLE: return "CL_DEVICE_NOT_AVAILABLE";
        case CL_COMPILER_NOT_AVAILABLE: return "CL_COMPILER_NOT_AVAILABLE";
        case CL_MEM_OBJECT_ALLOCATION_FAILURE: return "CL_MEM_OBJECT_ALLOCATION_FAILURE";
        case CL_OUT_OF_RESOURCES: return "CL_OUT_OF_RESOURCES";
        case CL_OUT_OF_HOST_MEMORY: return "CL_OUT_OF_HOST_MEMORY";
        case CL_BUILD_PROGRAM_FAILURE: return "CL_BUILD_PROGRAM_FAILURE";
        case CL_INVALID_VALUE: return "CL_INVALID_VALUE";
        case CL_INVALID_PLATFORM: return "CL_INVALID_PLATFORM";
        case CL_INVALID_DEVICE: return "CL_INVALID_DEVICE";
        case CL_INVALID_CONTEXT: return "CL_INVALID_CONTEXT";
        case CL_INVALID_COMMAND_QUEUE: return "CL_INVALID_COMMAND_QUEUE";
        case CL_INVALID_MEM_OBJECT: return "CL_INVALID_MEM_OBJECT";
        case CL_INVALID_BUILD_OPTIONS: return "CL_INVALID_BUILD_OPTIONS";
        case CL_INVALID_PROGRAM_EXECUTABLE: return "CL_INVALID_PROGRAM_EXECUTABLE";
        case CL_INVALID_KERNEL_NAME: return "CL_INVALID_KERNEL_NAME";
        case CL_INVALID_KERNEL_ARGS: return "CL_INVALID_KERNEL_ARGS";
        case CL_INVALID_ARG_SIZE: return "CL_INVALID_ARG_SIZE";
        case CL_INVALID_WORK_GROUP_SIZE: return "CL_INVALID_WORK_GROUP_SIZE";
        case CL_INVALID_WORK_ITEM_SIZE: return "CL_INVALID_WORK_ITEM_SIZE";
        case CL_INVALID_GLOBAL_WORK_SIZE: return "CL_INVALID_GLOBAL_WORK_SIZE";
        case CL_INVALID_OPERATION: return "CL_INVALID_OPERATION";
        case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
        default: return "OpenCL error";
    }
}

}  // namespace

bool opencl_api_loaded(std::string* why) {
    static const load_state state = load_opencl();
    if (!state.ok && why) *why = state.why;
    return state.ok;
}

std::string cl_error_text(const char* call, cl_int e) {
    return std::string(call) + ": " + cl_error_name(e) + " (" + std::to_string(e) + ")";
}

namespace {

std::string platform_string(cl_platform_id p, cl_platform_info what) {
    std::size_t n = 0;
    if (clGetPlatformInfo(p, what, 0, nullptr, &n) != CL_SUCCESS || n == 0) return {};
    std::string s(n, '\0');
    if (clGetPlatformInfo(p, what, n, s.data(), nullptr) != CL_SUCCESS) return {};
    s.resize(std::strlen(s.c_str()));
    return s;
}

std::string device_string(cl_device_id d, cl_device_info what) {
    std::size_t n = 0;
    if (clGetDeviceInfo(d, what, 0, nullptr, &n) != CL_SUCCESS || n == 0) return {};
    std::string s(n, '\0');
    if (clGetDeviceInfo(d, what, n, s.data(), nullptr) != CL_SUCCESS) return {};
    s.resize(std::strlen(s.c_str()));
    return s;
}

}  // namespace

std::vector<cl_device_entry> opencl_enumerate(std::string* note) {
    std::vector<cl_device_entry> out;
    std::string why;
    if (!opencl_api_loaded(&why)) {
        if (note) *note = "opencl: no device (" + why + ")";
        return out;
    }
    cl_uint np = 0;
    cl_int e = clGetPlatformIDs(0, nullptr, &np);
    if (e != CL_SUCCESS || np == 0) {
        if (note)
            *note = e == CL_SUCCESS || e == -1001 ? "opencl: no device (the ICD loader found no OpenCL platform)"
                                                  : "opencl: no device (" + cl_error_text("clGetPlatformIDs", e) + ")";
        return out;
    }
    std::vector<cl_platform_id> platforms(np);
    if ((e = clGetPlatformIDs(np, platforms.data(), nullptr)) != CL_SUCCESS) {
        if (note) *note = "opencl: no device (" + cl_error_text("clGetPlatformIDs", e) + ")";
        return out;
    }
    std::string skipped;
    for (cl_platform_id p : platforms) {
        cl_uint nd = 0;
        e = clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, nullptr, &nd);
        if (e != CL_SUCCESS || nd == 0) {
            if (e != CL_SUCCESS && e != CL_DEVICE_NOT_FOUND)
                skipped += "; platform '" + platform_string(p, CL_PLATFORM_NAME) + "': " +
                           cl_error_text("clGetDeviceIDs", e);
            continue;
        }
        std::vector<cl_device_id> devices(nd);
        if (clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, nd, devices.data(), nullptr) != CL_SUCCESS) continue;
        const std::string platform =
            platform_string(p, CL_PLATFORM_NAME) + " (" + platform_string(p, CL_PLATFORM_VERSION) + ")";
        for (cl_device_id d : devices) {
            cl_device_entry entry{p, d, {}};
            entry.info.id = "opencl:" + std::to_string(out.size());
            entry.info.backend = "opencl";
            entry.info.name = device_string(d, CL_DEVICE_NAME);
            entry.info.platform = platform;
            entry.info.memory_bytes = cl_device_value<cl_ulong>(d, CL_DEVICE_GLOBAL_MEM_SIZE);
            entry.info.compute_units = cl_device_value<cl_uint>(d, CL_DEVICE_MAX_COMPUTE_UNITS);
            entry.info.max_buffer_bytes = cl_device_value<cl_ulong>(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE);
            out.push_back(std::move(entry));
        }
    }
    if (out.empty() && note) *note = "opencl: no device (no platform reported a device" + skipped + ")";
    return out;
}

result<cl_device_entry> opencl_device_at(unsigned index, std::string* detail) {
    std::string note;
    auto devices = opencl_enumerate(&note);
    if (devices.empty()) {
        if (detail) *detail = note.substr(note.find(' ') + 1);  // without "opencl: "
        return gpu_errc::no_device;
    }
    if (index >= devices.size()) {
        if (detail)
            *detail = "no such device (" + std::to_string(devices.size()) + " OpenCL device" +
                      (devices.size() == 1 ? "" : "s") + ")";
        return gpu_errc::unknown_device;
    }
    return std::move(devices[index]);
}

std::string cl_build_log(cl_program program, cl_device_id device) {
    std::size_t n = 0;
    std::string log;
    if (clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, nullptr, &n) == CL_SUCCESS && n) {
        log.resize(n);
        if (clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, n, log.data(), nullptr) != CL_SUCCESS)
            return {};
        log.resize(std::strlen(log.c_str()));
    }
    return log;
}

}  // namespace sb::gpu::detail
