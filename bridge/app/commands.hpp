// Sub-commands of the solobridge binary. Each returns the process exit code:
// 0 success, 2 bad usage or bad input (with a message on stderr).
#pragma once

#include <span>
#include <string_view>

namespace sb::app {

inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;
inline constexpr int exit_usage = 2;

using args = std::span<const std::string_view>;

int cmd_hash(args a);   // solobridge hash sha256d HEADER_HEX
int cmd_bench(args a);  // solobridge bench sha256d-cpu|sha256d --device ID|kawpow-verify [--seconds S]
int cmd_devices(args a);  // solobridge devices: mining devices (CUDA, OpenCL, cpu)
int cmd_check_config(args a);  // solobridge check-config FILE [overrides]
int cmd_doctor(args a);        // solobridge doctor FILE [overrides]: can this setup win a block?
int cmd_cpu_miner(args a);
int cmd_run(args a);           // solobridge --config FILE [overrides]: the daemon     // solobridge cpu-miner --url HOST:PORT --user NAME ...

}  // namespace sb::app
