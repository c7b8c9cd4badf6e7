// The registry of GPU backends: which ones this build contains, and why not.
#pragma once

#include <string_view>
#include <vector>

namespace sb::gpu {

struct backend_info {
    std::string_view name;    // "cuda", "opencl"
    bool compiled;            // built into this binary
    std::string_view detail;  // how to get it when not compiled
};

// Every backend solobridge knows of, compiled in or not.
std::vector<backend_info> backends();

}  // namespace sb::gpu
