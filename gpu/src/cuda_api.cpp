// The CUDA driver API and NVRTC loaded at run time, and compiling a source with NVRTC.
#include "cuda_api.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>

namespace sb::gpu::detail {
namespace {

// The driver's soname, then the development symlink.
constexpr const char* driver_library_names[] = {"libcuda.so.1", "libcuda.so"};
// NVRTC's development symlink, then the sonames of the releases that have nvrtcGetCUBIN.
constexpr const char* nvrtc_library_names[] = {"libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2"};
constexpr const char* cuda_home_variables[] = {"CUDA_HOME", "CUDA_PATH"};
constexpr const char* default_cuda_home = "/usr/local/cuda";
// The longest NVRTC log kept in an error line.
constexpr std::size_t max_log_chars = 4000;

// Opens the first of `candidates` that loads; *why lists what each attempt said.
void* open_first(const std::vector<std::string>& candidates, std::string* opened, std::string* why) {
    std::string tried;
    for (const auto& name : candidates) {
        if (void* lib = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL)) {
            *opened = name;
            return lib;
        }
        const char* e = dlerror();
        tried += (tried.empty() ? "" : "; ") + (e ? std::string(e) : name + ": not loadable");
    }
    if (why) *why = tried;
    return nullptr;
}

// Fill every member of `api` from lib; false with the missing symbol in *why.
#define SB_CUDA_RESOLVE(member, symbol, declared)                                        \
    api.member = reinterpret_cast<decltype(api.member)>(dlsym(lib, symbol));             \
    if (!api.member) {                                                                   \
        if (why) *why = api.library + " lacks " + symbol;                                \
        return false;                                                                    \
    }

bool resolve(void* lib, cuda_driver_api& api, std::string* why) {
    SB_CUDA_DRIVER_FUNCTIONS(SB_CUDA_RESOLVE)
    return true;
}

bool resolve(void* lib, nvrtc_api& api, std::string* why) {
    SB_NVRTC_FUNCTIONS(SB_CUDA_RESOLVE)
    return true;
}

#undef SB_CUDA_RESOLVE

struct driver_state {
    cuda_driver_api api;
    bool ok = false;
    std::string why;
};

driver_state load_driver() {
    driver_state s;
    void* lib = open_first({std::begin(driver_library_names), std::end(driver_library_names)}, &s.api.library, &s.why);
    if (!lib) return s;
    // Loaded for the life of the process, like the function pointers taken from it.
    if (!resolve(lib, s.api, &s.why)) return s;
    if (const CUresult e = s.api.init(0); e != CUDA_SUCCESS) {
        s.why = cu_error_text(s.api, "cuInit", e);
        return s;
    }
    s.ok = true;
    return s;
}

struct nvrtc_state {
    nvrtc_api api;
    bool ok = false;
    std::string why;
};

nvrtc_state load_nvrtc() {
    nvrtc_state s;
    std::vector<std::string> candidates;
    if (const char* explicit_path = std::getenv("SB_NVRTC_LIBRARY"); explicit_path && *explicit_path)
        candidates.emplace_back(explicit_path);
    for (const char* name : nvrtc_library_names) candidates.emplace_back(name);
    std::vector<std::string> homes;
    for (const char* var : cuda_home_variables)
        if (const char* v = std::getenv(var); v && *v) homes.emplace_back(v);
    homes.emplace_back(default_cuda_home);
    for (const auto& home : homes)
        for (const char* name : nvrtc_library_names) candidates.push_back(home + "/lib64/" + name);
    void* lib = open_first(candidates, &s.api.library, &s.why);
    if (!lib) {
        s.why = "NVRTC (libnvrtc.so, from the CUDA toolkit) not found: " + s.why;
        return s;
    }
    if (!resolve(lib, s.api, &s.why)) return s;
    s.ok = true;
    return s;
}

std::string nvrtc_error_text(const nvrtc_api& api, const char* call, nvrtcResult e) {
    return std::string(call) + ": " + api.get_error_string(e);
}

}  // namespace

const cuda_driver_api* cuda_driver(std::string* why) {
    static const driver_state state = load_driver();
    if (!state.ok) {
        if (why) *why = state.why;
        return nullptr;
    }
    return &state.api;
}

const nvrtc_api* nvrtc(std::string* why) {
    static const nvrtc_state state = load_nvrtc();
    if (!state.ok) {
        if (why) *why = state.why;
        return nullptr;
    }
    return &state.api;
}

std::string cu_error_text(const cuda_driver_api& api, const char* call, CUresult e) {
    const char* name = nullptr;
    const char* text = nullptr;
    if (api.get_error_name(e, &name) != CUDA_SUCCESS) name = nullptr;
    if (api.get_error_string(e, &text) != CUDA_SUCCESS) text = nullptr;
    return std::string(call) + ": " + (text ? text : "CUDA error") + " (" + (name ? name : std::to_string(e)) + ")";
}

bool nvrtc_compile(const nvrtc_api& api, const std::string& source, const char* name, int arch,
                   const std::vector<std::string>& options, nvrtc_output& out, std::string* detail) {
    // The architectures this NVRTC generates code for: SASS for `arch` itself, else PTX of the
    // closest one below it.
    int count = 0;
    std::vector<int> archs;
    if (api.get_num_supported_archs(&count) == NVRTC_SUCCESS && count > 0) {
        archs.resize(static_cast<std::size_t>(count));
        if (api.get_supported_archs(archs.data()) != NVRTC_SUCCESS) archs.clear();
    }
    const bool native = std::find(archs.begin(), archs.end(), arch) != archs.end();
    int virtual_arch = arch;
    if (!native) {
        virtual_arch = 0;
        for (const int a : archs)
            if (a <= arch) virtual_arch = std::max(virtual_arch, a);
        if (virtual_arch == 0) {
            if (detail)
                *detail = "this NVRTC (" + api.library + ") generates code for no architecture at or below sm_" +
                          std::to_string(arch);
            return false;
        }
    }
    out.cubin = native;
    out.arch_option = std::string("--gpu-architecture=") + (native ? "sm_" : "compute_") + std::to_string(virtual_arch);

    nvrtcProgram program = nullptr;
    nvrtcResult e = api.create_program(&program, source.c_str(), name, 0, nullptr, nullptr);
    if (e != NVRTC_SUCCESS) {
        if (detail) *detail = nvrtc_error_text(api, "nvrtcCreateProgram", e);
        return false;
    }
    std::vector<const char*> argv = {out.arch_option.c_str()};
    for (const auto& o : options) argv.push_back(o.c_str());
    e = api.compile_program(program, static_cast<int>(argv.size()), argv.data());
    std::string log;
    std::size_t log_size = 0;
    if (api.get_program_log_size(program, &log_size) == NVRTC_SUCCESS && log_size > 1) {
        log.resize(log_size);
        if (api.get_program_log(program, log.data()) != NVRTC_SUCCESS) log.clear();
        while (!log.empty() && (log.back() == '\0' || log.back() == '\n')) log.pop_back();
    }
    bool ok = e == NVRTC_SUCCESS;
    if (!ok && detail) {
        *detail = nvrtc_error_text(api, "nvrtcCompileProgram", e) + " (" + out.arch_option + "); log:\n" +
                  (log.size() > max_log_chars ? log.substr(0, max_log_chars) + "\n[...]" : log);
    }
    if (ok) {
        std::size_t size = 0;
        e = native ? api.get_cubin_size(program, &size) : api.get_ptx_size(program, &size);
        if (e == NVRTC_SUCCESS) {
            out.image.resize(size);
            e = native ? api.get_cubin(program, out.image.data()) : api.get_ptx(program, out.image.data());
        }
        if (e != NVRTC_SUCCESS) {
            ok = false;
            if (detail) *detail = nvrtc_error_text(api, native ? "nvrtcGetCUBIN" : "nvrtcGetPTX", e);
        }
    }
    api.destroy_program(&program);
    return ok;
}

}  // namespace sb::gpu::detail
