// `solobridge check-config FILE [--override VALUE ...]`: validates a configuration offline
// and exits 0 when it is usable, 2 with every problem listed otherwise. What depends on the
// machine that runs the bridge (nodes, cookie files, devices, free ports) is for doctor.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "commands.hpp"
#include "sb/config/config.hpp"

namespace sb::app {
namespace {

int run_check_config(args a) {
    if (a.empty()) {
        print_usage(check_config_command, stderr);
        return exit_usage;
    }
    const std::string file(a[0]);
    std::vector<std::string> unknown;
    std::vector<config::config_error> errors;
    auto overrides = config::overrides_from_env([](const char* n) { return std::getenv(n); });
    auto flags = config::overrides_from_args({a.begin() + 1, a.end()}, unknown, errors);
    overrides.insert(overrides.end(), flags.begin(), flags.end());
    for (const auto& u : unknown) std::fprintf(stderr, "solobridge check-config: unknown option '%s'\n", u.c_str());
    auto r = config::load_file(file, overrides);
    errors.insert(errors.end(), r.errors.begin(), r.errors.end());
    if (!errors.empty() || !unknown.empty()) {
        for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
        std::fprintf(stderr, "%s: %zu error%s\n", file.c_str(), errors.size() + unknown.size(),
                     errors.size() + unknown.size() == 1 ? "" : "s");
        return exit_usage;
    }
    const config::settings& s = *r.value;
    std::printf("%s: ok\n", file.c_str());
    for (const auto& c : s.chains) {
        std::printf("  chain %s (%s): %zu node%s, %zu stratum listener%s, payout %s\n", c.id.c_str(),
                    std::string(params(c.net).name).c_str(), c.nodes.size(), c.nodes.size() == 1 ? "" : "s",
                    c.stratum.size(), c.stratum.size() == 1 ? "" : "s",
                    c.payout.mode == config::payout_mode::fixed_address ? c.payout.address.c_str()
                                                                        : "the miner's username address");
    }
    if (s.http.enabled) std::printf("  dashboard http://%s/\n", s.http.listen.to_string().c_str());
    std::printf("  checked offline: `solobridge doctor %s` checks the nodes, cookie files, devices and ports "
                "on the machine that runs the bridge\n",
                file.c_str());
    return exit_ok;
}

}  // namespace

const command check_config_command{
    "check-config",
    "validate a configuration file (exit 0 valid, 2 invalid)",
    "usage: solobridge check-config FILE [OVERRIDES]\n"
    "\n"
    "Reads FILE as `solobridge run --config FILE` would, with the same environment variables\n"
    "and override flags, and prints either \"FILE: ok\" with a summary of each chain (exit 0)\n"
    "or every problem with its line, column and key path (exit 2). It starts nothing and\n"
    "contacts no node: it checks the file alone and may run on another machine. Nodes, cookie\n"
    "files, devices and free ports are checked by `solobridge doctor FILE` where the bridge runs.\n",
    true,
    run_check_config,
};

}  // namespace sb::app
