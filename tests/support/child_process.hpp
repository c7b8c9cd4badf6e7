// A child process for end-to-end tests: started with extra environment, output to a
// file, killed when the test process dies (PR_SET_PDEATHSIG) and by the destructor.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace sb::test {

class child_process {
public:
    // argv[0] is the program (a path, or a name looked up in PATH). env entries are "NAME=value", added to this process's.
    child_process(std::vector<std::string> argv, std::vector<std::string> env, std::string log_path);
    ~child_process();
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    pid_t pid() const noexcept { return pid_; }
    // Exit status once the process has ended within timeout, else nullopt. A process
    // killed by a signal reports 128 + signal.
    std::optional<int> wait_for_exit(std::chrono::milliseconds timeout);
    // True while the process runs.
    bool running();
    // SIGTERM, then SIGKILL after grace; returns the exit status.
    int terminate(std::chrono::milliseconds grace = std::chrono::seconds(10));
    // SIGKILL and reap.
    void kill_now();
    // The whole output file.
    std::string output() const;

private:
    pid_t pid_ = -1;
    std::optional<int> status_;
    std::string log_path_;
};

// True once something accepts TCP connections on 127.0.0.1:port, waiting up to timeout
// (and giving up early when child has exited).
bool wait_for_port(std::uint16_t port, std::chrono::milliseconds timeout, child_process* child = nullptr);

// Runs command with /bin/sh, its output to log, and waits up to timeout (REQUIRE: it
// ended). Returns {exit status, the command and its whole output}: show the second with
// INFO beside a check of the first, so that a failure carries the reason the command gave.
std::pair<int, std::string> run_shell(const std::string& command, const std::string& log,
                                      std::chrono::seconds timeout);

// GET http://127.0.0.1:port<path> with Connection: close; returns {status code, body}
// ({0, ""} when nothing answered).
std::pair<int, std::string> http_get_loopback(std::uint16_t port, const std::string& path);

}  // namespace sb::test
