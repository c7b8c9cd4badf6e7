// solobridge: the daemon and its command-line tools.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "commands.hpp"
#include "sb/gpu/backends.hpp"

namespace {

constexpr std::string_view usage =
    "usage: solobridge --config FILE [--node-rpc-url URL] [--stratum-listen HOST:PORT] ...\n"
    "                              run the bridge (config/README.md lists the flags)\n"
    "       solobridge COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  hash sha256d HEADER_HEX     print the block hash (display order) of an 80-byte header\n"
    "  hash kawpow --height H --header-hash HEX64 --nonce HEX16\n"
    "                              print mix_hash and final_hash of a KAWPOW share\n"
    "  bench sha256d-cpu|kawpow-verify [--seconds S]\n"
    "                              sha256d of 80-byte headers per second, one core, per implementation;\n"
    "                              KAWPOW epoch-context build time and light verifications per second\n"
    "  bench sha256d --device cpu|opencl:N|cuda:N [--seconds S] [--intensity I]\n"
    "                              SHA-256d search hashes per second on a mining device, after warm-up\n"
    "  check-config FILE [FLAGS]   validate a configuration file (exit 0 valid, 2 invalid)\n"
    "  doctor FILE [FLAGS]         check that this setup can win a block: nodes, listeners, devices,\n"
    "                              and a fire drill block checked by the node (exit 0 ready, 2 not)\n"
    "  cpu-miner --url HOST:PORT --user NAME [--pass P] [--seconds S] [--max-shares N]\n"
    "            [--version-rolling on|off]\n"
    "                              mine on one CPU thread through a Stratum v1 server (demo, tests)\n"
    "  backends                    list the GPU backends built into this binary\n"
    "  devices                     list the mining devices (id, backend, memory, compute units)\n"
    "  version                     print the version\n"
    "  help                        print this text\n";

int cmd_backends() {
    for (const auto& b : sb::gpu::backends())
        std::printf("%-7s %s  %.*s\n", std::string(b.name).c_str(), b.compiled ? "yes" : "no ",
                    static_cast<int>(b.detail.size()), b.detail.data());
    return sb::app::exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string_view> a(argv + 1, argv + argc);
    if (a.empty() || a[0] == "help" || a[0] == "--help" || a[0] == "-h") {
        std::fputs(usage.data(), a.empty() ? stderr : stdout);
        return a.empty() ? sb::app::exit_usage : sb::app::exit_ok;
    }
    const std::string_view cmd = a[0];
    const sb::app::args rest(a.data() + 1, a.size() - 1);
    if (cmd == "run" || cmd == "--config" || cmd.starts_with("--config=")) {
        const sb::app::args all = cmd == "run" ? rest : sb::app::args(a.data(), a.size());
        return sb::app::cmd_run(all);
    }
    if (cmd == "hash") return sb::app::cmd_hash(rest);
    if (cmd == "bench") return sb::app::cmd_bench(rest);
    if (cmd == "check-config") return sb::app::cmd_check_config(rest);
    if (cmd == "doctor") return sb::app::cmd_doctor(rest);
    if (cmd == "cpu-miner") return sb::app::cmd_cpu_miner(rest);
    if (cmd == "backends") return cmd_backends();
    if (cmd == "devices") return sb::app::cmd_devices(rest);
    if (cmd == "version" || cmd == "--version") {
        std::printf("solobridge %s\n", SB_VERSION);
        return sb::app::exit_ok;
    }
    std::fprintf(stderr, "solobridge: unknown command '%.*s'\n\n%s", static_cast<int>(cmd.size()), cmd.data(),
                 usage.data());
    return sb::app::exit_usage;
}
