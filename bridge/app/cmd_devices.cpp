// `solobridge devices`: every mining device this binary can use (CUDA, OpenCL, the CPU
// reference), with the id that config and --device take, the KAWPOW epochs whose dataset
// fits in its memory, and a note for each compiled backend that found no device. Always
// exits 0: a machine with only the CPU is normal.
#include <cstdio>
#include <string>

#include "commands.hpp"
#include "sb/gpu/device.hpp"
#include "sb/gpu/kawpow_device.hpp"
#include "sb/pow/ethash.hpp"

namespace sb::app {
namespace {

double gib(std::uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0); }

// "kawpow: epochs 0-9999 fit (blocks below ...); 0-4999 with the next epoch prepared ahead".
void print_kawpow_fit(const gpu::device_info& d) {
    if (const std::string why = gpu::kawpow_unavailable_reason(d); !why.empty()) {
        std::printf("%-10s kawpow: %s\n", "", why.c_str());
        return;
    }
    const int one = gpu::kawpow_max_epoch(d.memory_bytes, 1, d.max_buffer_bytes);
    if (one < 0) {
        std::printf("%-10s kawpow: no epoch fits (epoch 0 needs %.2f GiB", "", gib(gpu::kawpow_epoch_device_bytes(0)));
        if (d.max_buffer_bytes != 0)
            std::printf(", a %.2f GiB buffer; the driver allows %.2f GiB", gib(pow::ethash::full_dataset_size(0)),
                        gib(d.max_buffer_bytes));
        std::printf(")\n");
        return;
    }
    const int two = gpu::kawpow_max_epoch(d.memory_bytes, 2, d.max_buffer_bytes);
    const auto first_height_after = [](int epoch) {
        return static_cast<unsigned long long>(epoch + 1) * pow::ethash::epoch_length;
    };
    std::printf("%-10s kawpow: epochs 0-%d fit (blocks below %llu; epoch %d's dataset %.2f GiB)", "", one,
                first_height_after(one), one, gib(pow::ethash::full_dataset_size(one)));
    if (d.max_buffer_bytes != 0 && d.max_buffer_bytes < d.memory_bytes)
        std::printf(" (the driver's largest buffer, %.2f GiB, limits the dataset)", gib(d.max_buffer_bytes));
    if (two >= 0) std::printf("; 0-%d with the next epoch's prepared ahead", two);
    else std::printf("; none with the next epoch's prepared ahead (switched at the boundary)");
    std::printf("\n");
}

}  // namespace

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
        print_kawpow_fit(d);
    }
    for (const auto& n : list.notes) std::printf("note: %s\n", n.c_str());
    return exit_ok;
}

}  // namespace

const command devices_command{
    "devices",
    "list the mining devices (id, backend, memory, compute units, KAWPOW epochs that fit)",
    "usage: solobridge devices\n"
    "\n"
    "Lists every mining device this binary can use (CUDA, OpenCL, the CPU reference) with the\n"
    "id that a chain's \"devices\" entry and `solobridge bench sha256d --device` take, the\n"
    "KAWPOW epochs whose dataset fits in its memory (alone, and beside the next epoch's\n"
    "prepared ahead), and a note for each compiled backend that found no device. Exit status 0.\n",
    false,
    run_devices,
};

}  // namespace sb::app
