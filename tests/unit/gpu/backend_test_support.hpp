// Shared by sb_opencl_tests and sb_cuda_tests: the devices of one backend, each opened once
// per process, and the skip (exit 77) when the backend has no device at run time.
#pragma once

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sb/gpu/device.hpp"

namespace sb::test::gpu {

// CTest's SKIP_RETURN_CODE for these binaries.
inline constexpr int skip_exit_code = 77;

// The ids of backend's devices; exits the process with skip_exit_code, after saying why,
// when there is none.
inline std::vector<std::string> device_ids_or_skip(const std::string& backend) {
    const sb::gpu::device_list list = sb::gpu::discover_devices();
    std::vector<std::string> ids;
    for (const auto& d : list.devices)
        if (d.backend == backend) ids.push_back(d.id);
    if (ids.empty()) {
        std::fprintf(stderr, "SKIP: no %s device here:", backend.c_str());
        for (const auto& n : list.notes) std::fprintf(stderr, " [%s]", n.c_str());
        std::fprintf(stderr, "\n");
        std::fflush(stdout);
        std::fflush(stderr);
        std::_Exit(skip_exit_code);
    }
    return ids;
}

// The opened searcher of id (kernel built and self-tested once per process).
inline sb::gpu::sha256d_searcher& opened(const std::string& id) {
    static std::map<std::string, std::unique_ptr<sb::gpu::sha256d_searcher>> cache;
    auto& slot = cache[id];
    if (!slot) {
        std::string detail;
        auto r = sb::gpu::open_sha256d(id, &detail);
        REQUIRE_MESSAGE(r.has_value(), id << ": " << detail);
        slot = std::move(*r);
        MESSAGE(id << ": " << slot->info().name << " (" << slot->info().platform << ")");
    }
    return *slot;
}

}  // namespace sb::test::gpu
