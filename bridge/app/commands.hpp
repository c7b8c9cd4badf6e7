// Sub-commands of the solobridge binary. Each returns the process exit code:
// 0 success, 2 bad usage or bad input (with a message on stderr).
//
// Every sub-command is one `command` entry in the table of main.cpp. main answers
// `solobridge help NAME`, `solobridge NAME --help` and `solobridge NAME -h` from the entry
// (usage on stdout, exit 0) before the handler runs, so a handler never sees --help.
#pragma once

#include <cstdio>
#include <span>
#include <string_view>

namespace sb::app {

inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;
inline constexpr int exit_usage = 2;

using args = std::span<const std::string_view>;

struct command {
    std::string_view name;     // as typed: "check-config"
    std::string_view summary;  // one line for the general help
    // The full usage text, starting "usage: solobridge NAME ...", ending in a newline.
    std::string_view usage;
    // The usage also lists the configuration override flags (config::override_specs()).
    bool takes_config_overrides = false;
    int (*run)(args a) = nullptr;  // a: the arguments after NAME
};

// Writes c's usage (and the override flags when it takes them) to out.
void print_usage(const command& c, std::FILE* out);

extern const command hash_command;          // cmd_hash.cpp
extern const command bench_command;         // cmd_bench.cpp
extern const command devices_command;       // cmd_devices.cpp
extern const command check_config_command;  // cmd_check_config.cpp
extern const command cpu_miner_command;     // cmd_cpu_miner.cpp
extern const command doctor_command;        // cmd_doctor.cpp

int cmd_run(args a);  // solobridge run --config FILE [overrides]: the daemon (cmd_run.cpp)

}  // namespace sb::app
