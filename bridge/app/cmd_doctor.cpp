// `solobridge doctor FILE [FLAGS]`: can this setup win a block? The configuration is read
// as a start reads it (file, SB_* environment, flags), then bridge/doctor checks what a
// start needs and runs the fire drill. Exit 0 when nothing failed, 2 otherwise.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "commands.hpp"
#include "doctor/doctor.hpp"
#include "sb/config/config.hpp"

namespace sb::app {
namespace {

int run_doctor(args a);

}  // namespace

const command doctor_command{
    "doctor",
    "check that this setup can win a block, with a fire drill (exit 0 ready, 2 not)",
    "usage: solobridge doctor FILE [OVERRIDES]\n"
    "\n"
    "Checks, on this machine and against the live nodes, everything a start of the bridge\n"
    "with FILE needs, one line per check (ok, warn, FAIL with its fix, skip):\n"
    "  the configuration (as check-config), data_dir writable, payout address,\n"
    "  every device opened with its self-test, every Stratum and HTTP listener bound,\n"
    "  per node: cookie readable, reachable and authenticated, on the configured network,\n"
    "  synced, getblocktemplate with our rules, and a fire drill: a block built from a live\n"
    "  template with the real coinbase, checked by the node without proof of work\n"
    "  (getblocktemplate mode \"proposal\", BIP23; nothing is mined or submitted).\n"
    "Stop a running bridge first: its listeners would be reported as in use.\n"
    "Exit status: 0 when every check needed to win a block passed, 2 otherwise.\n",
    true,
    run_doctor,
};

namespace {

int run_doctor(args a) {
    if (a.empty() || a[0].empty() || a[0].starts_with("-")) {
        print_usage(doctor_command, stderr);
        return exit_usage;
    }
    const std::string file(a[0]);
    std::vector<std::string> unknown;
    std::vector<config::config_error> errors;
    auto overrides = config::overrides_from_env([](const char* n) { return std::getenv(n); });
    auto flags = config::overrides_from_args({a.begin() + 1, a.end()}, unknown, errors);
    overrides.insert(overrides.end(), flags.begin(), flags.end());
    for (const auto& u : unknown) std::fprintf(stderr, "solobridge doctor: unknown option '%s'\n", u.c_str());
    if (!unknown.empty()) return exit_usage;

    auto r = config::load_file(file, overrides);
    errors.insert(errors.end(), r.errors.begin(), r.errors.end());
    if (!errors.empty()) {
        for (const auto& e : errors) {
            bridge::doctor::check c{bridge::doctor::outcome::fail, "config", e.to_string(),
                                    "correct that setting (config/README.md describes every key)"};
            std::printf("%s\n", bridge::doctor::format_check(c).c_str());
        }
        std::printf("doctor: %s cannot be used (%zu error%s): nothing else was checked\n", file.c_str(), errors.size(),
                    errors.size() == 1 ? "" : "s");
        return exit_usage;
    }
    std::printf("%s\n", bridge::doctor::format_check({bridge::doctor::outcome::ok, "config", file + " is valid", {}}).c_str());
    std::fflush(stdout);

    bridge::doctor::options opts;
    opts.on_check = [](const bridge::doctor::check& c) {
        std::printf("%s\n", bridge::doctor::format_check(c).c_str());
        std::fflush(stdout);
    };
    const auto report = bridge::doctor::examine(*r.value, opts);
    const std::size_t fails = report.count(bridge::doctor::outcome::fail);
    const std::size_t warns = report.count(bridge::doctor::outcome::warn);
    if (fails == 0) {
        std::printf("doctor: ready: every check needed to win a block passed%s\n",
                    warns == 0 ? "" : (" (" + std::to_string(warns) + " warning" + (warns == 1 ? "" : "s") + " above)").c_str());
        return exit_ok;
    }
    std::printf("doctor: NOT ready: %zu check%s failed: fix the FAIL lines above, then run doctor again\n", fails,
                fails == 1 ? "" : "s");
    return exit_usage;
}

}  // namespace
}  // namespace sb::app
