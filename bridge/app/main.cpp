// solobridge: the daemon and its command-line tools.
#include <algorithm>
#include <array>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "commands.hpp"
#include "sb/config/config.hpp"
#include "sb/gpu/backends.hpp"

namespace sb::app {
namespace {

int run_backends(args a) {
    if (!a.empty()) {
        std::fputs("usage: solobridge backends\n", stderr);
        return exit_usage;
    }
    for (const auto& b : sb::gpu::backends())
        std::printf("%-7s %s  %.*s\n", std::string(b.name).c_str(), b.compiled ? "yes" : "no ",
                    static_cast<int>(b.detail.size()), b.detail.data());
    return exit_ok;
}

int run_version(args a) {
    if (!a.empty()) {
        std::fputs("usage: solobridge version\n", stderr);
        return exit_usage;
    }
    std::printf("solobridge %s\n", SB_VERSION);
    return exit_ok;
}

int run_help(args a);

// The daemon's options are the configuration overrides, listed by print_usage.
const command run_command{
    "run",
    "run the bridge (the daemon) with a configuration file",
    "usage: solobridge run --config FILE [OVERRIDES]\n"
    "       solobridge --config FILE [OVERRIDES]\n"
    "\n"
    "Runs the bridge until SIGINT or SIGTERM: per chain the node's templates become Stratum\n"
    "work, every share is checked and a found block goes to every node and P2P peer at once.\n"
    "Exit status 0 after a clean stop, 2 when the configuration or a listener is unusable.\n"
    "The file is described in config/README.md; check it first with `solobridge check-config`.\n",
    true,
    cmd_run,
};

const command backends_command{
    "backends",
    "list the GPU backends built into this binary",
    "usage: solobridge backends\n"
    "\n"
    "Lists each GPU backend (cuda, opencl) and whether this binary was built with it.\n",
    false,
    run_backends,
};

const command version_command{
    "version",
    "print the version",
    "usage: solobridge version\n"
    "       solobridge --version\n",
    false,
    run_version,
};

const command help_command{
    "help",
    "print the general help, or a command's usage",
    "usage: solobridge help [COMMAND]\n"
    "\n"
    "Without COMMAND: the list of commands. With it: that command's usage (also given by\n"
    "`solobridge COMMAND --help` and `solobridge COMMAND -h`).\n",
    false,
    run_help,
};

// Every sub-command. A new one is one entry here plus its `command` definition.
const std::array commands = {
    &run_command,     &check_config_command, &doctor_command,    &cpu_miner_command, &hash_command, &bench_command,
    &devices_command, &backends_command,     &version_command,   &help_command,
};

const command* find_command(std::string_view name) {
    const auto it = std::find_if(commands.begin(), commands.end(), [&](const command* c) { return c->name == name; });
    return it == commands.end() ? nullptr : *it;
}

void print_general_help(std::FILE* out) {
    std::fputs("usage: solobridge COMMAND [ARGS]\n"
               "       solobridge --config FILE [OVERRIDES]   (short for `solobridge run --config FILE`)\n"
               "\n"
               "commands:\n",
               out);
    for (const command* c : commands)
        std::fprintf(out, "  %-14.*s %.*s\n", static_cast<int>(c->name.size()), c->name.data(),
                     static_cast<int>(c->summary.size()), c->summary.data());
    std::fputs("\n`solobridge help COMMAND` or `solobridge COMMAND --help` prints a command's usage.\n"
               "The configuration file: config/README.md; operating the bridge: docs/OPERATING.md.\n",
               out);
}

int run_help(args a) {
    if (a.empty()) {
        print_general_help(stdout);
        return exit_ok;
    }
    const command* c = a.size() == 1 ? find_command(a[0]) : nullptr;
    if (c == nullptr) {
        std::fprintf(stderr, "solobridge help: unknown command '%.*s'\n\n", static_cast<int>(a[0].size()), a[0].data());
        print_general_help(stderr);
        return exit_usage;
    }
    print_usage(*c, stdout);
    return exit_ok;
}

bool asks_for_help(args a) {
    return std::any_of(a.begin(), a.end(), [](std::string_view s) { return s == "--help" || s == "-h"; });
}

}  // namespace

void print_usage(const command& c, std::FILE* out) {
    std::fwrite(c.usage.data(), 1, c.usage.size(), out);
    if (!c.takes_config_overrides) return;
    std::fputs("\nOVERRIDES (each also an environment variable; a flag wins over the variable, which wins\n"
               "over the file; they apply to the first chain, its first node and first listener):\n",
               out);
    for (const auto& s : config::override_specs())
        std::fprintf(out, "  %-24.*s %-24.*s sets %.*s\n", static_cast<int>(s.flag.size()), s.flag.data(),
                     static_cast<int>(s.env.size()), s.env.data(), static_cast<int>(s.path.size()), s.path.data());
}

}  // namespace sb::app

int main(int argc, char** argv) {
    using namespace sb::app;
    const std::vector<std::string_view> a(argv + 1, argv + argc);
    if (a.empty()) {
        print_general_help(stderr);
        return exit_usage;
    }
    if (a[0] == "--help" || a[0] == "-h") return run_help({});
    if (a[0] == "--version") return run_version({});
    // `solobridge --config FILE ...` is the daemon, as before the run command existed.
    const bool bare_run = a[0] == "--config" || a[0].starts_with("--config=");
    const command* c = bare_run ? &run_command : find_command(a[0]);
    if (c == nullptr) {
        std::fprintf(stderr, "solobridge: unknown command '%.*s'\n\n", static_cast<int>(a[0].size()), a[0].data());
        print_general_help(stderr);
        return exit_usage;
    }
    const args rest = bare_run ? args(a) : args(a).subspan(1);
    if (asks_for_help(rest)) {
        print_usage(*c, stdout);
        return exit_ok;
    }
    return c->run(rest);
}
