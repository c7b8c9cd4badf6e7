// `solobridge devices`: every mining device this binary can use (CUDA, OpenCL, the CPU
// reference), with the id that config and --device take, and a note for each compiled
// backend that found no device. Always exits 0: a machine with only the CPU is normal.
#include <cstdio>
#include <string>

#include "commands.hpp"
#include "sb/gpu/device.hpp"

namespace sb::app {

namespace {

int run_devices(args a) {
    if (!a.empty()) {
        print_usage(devices_command, stderr);
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

}  // namespace

const command devices_command{
    "devices",
    "list the mining devices (id, backend, memory, compute units)",
    "usage: solobridge devices\n"
    "\n"
    "Lists every mining device this binary can use (CUDA, OpenCL, the CPU reference) with the\n"
    "id that a chain's \"devices\" entry and `solobridge bench sha256d --device` take, and a\n"
    "note for each compiled backend that found no device. Exit status 0.\n",
    false,
    run_devices,
};

}  // namespace sb::app
