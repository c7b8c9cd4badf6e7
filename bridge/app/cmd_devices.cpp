// `solobridge devices`: every mining device this binary can use (CUDA, OpenCL, the CPU
// reference), with the id that config and --device take, and a note for each compiled
// backend that found no device. Always exits 0: a machine with only the CPU is normal.
#include <cstdio>
#include <string>

#include "commands.hpp"
#include "sb/gpu/device.hpp"

namespace sb::app {

int cmd_devices(args a) {
    if (!a.empty()) {
        std::fputs("usage: solobridge devices\n", stderr);
        return exit_usage;
    }
    const gpu::device_list list = gpu::discover_devices();
    std::printf("%-10s %-7s %10s %6s  %s\n", "id", "backend", "memory", "units", "name [platform]");
    for (const auto& d : list.devices) {
        const double gib = static_cast<double>(d.memory_bytes) / (1024.0 * 1024.0 * 1024.0);
        std::printf("%-10s %-7s %6.1f GiB %6u  %s%s%s%s\n", d.id.c_str(), d.backend.c_str(), gib, d.compute_units,
                    d.name.c_str(), d.platform.empty() ? "" : " [", d.platform.c_str(), d.platform.empty() ? "" : "]");
    }
    for (const auto& n : list.notes) std::printf("note: %s\n", n.c_str());
    return exit_ok;
}

}  // namespace sb::app
