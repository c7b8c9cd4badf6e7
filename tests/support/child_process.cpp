#include "child_process.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace sb::test {

child_process::child_process(std::vector<std::string> argv, std::vector<std::string> env, std::string log_path)
    : log_path_(std::move(log_path)) {
    REQUIRE(!argv.empty());
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        const int out = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (out >= 0) {
            ::dup2(out, 1);
            ::dup2(out, 2);
        }
        for (auto& e : env) ::putenv(e.data());
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(a.data());
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
}

child_process::~child_process() {
    if (running()) terminate(std::chrono::seconds(5));
}

std::optional<int> child_process::wait_for_exit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!status_) {
        int st = 0;
        const pid_t r = ::waitpid(pid_, &st, WNOHANG);
        if (r == pid_) {
            status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            break;
        }
        if (std::chrono::steady_clock::now() >= deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return status_;
}

bool child_process::running() { return !wait_for_exit(std::chrono::milliseconds(0)); }

int child_process::terminate(std::chrono::milliseconds grace) {
    if (!running()) return *status_;
    ::kill(pid_, SIGTERM);
    if (auto s = wait_for_exit(grace)) return *s;
    ::kill(pid_, SIGKILL);
    return wait_for_exit(std::chrono::seconds(10)).value_or(-1);
}

void child_process::kill_now() {
    if (!running()) return;
    ::kill(pid_, SIGKILL);
    wait_for_exit(std::chrono::seconds(10));
}

std::string child_process::output() const {
    std::ifstream in(log_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool wait_for_port(std::uint16_t port, std::chrono::milliseconds timeout, child_process* child) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (child && !child->running()) return false;
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        ::close(fd);
        if (ok) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}



std::pair<int, std::string> http_get_loopback(std::uint16_t port, const std::string& path) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return {0, ""};
    }
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
        ::close(fd);
        return {0, ""};
    }
    std::string resp;
    char buf[16384];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) resp.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    const auto sp = resp.find(' ');
    const auto split = resp.find("\r\n\r\n");
    if (sp == std::string::npos || split == std::string::npos) return {0, ""};
    return {std::atoi(resp.c_str() + sp + 1), resp.substr(split + 4)};
}

std::pair<int, std::string> run_shell(const std::string& command, const std::string& log,
                                      std::chrono::seconds timeout) {
    child_process p({"/bin/sh", "-c", command}, {}, log);
    const auto rc = p.wait_for_exit(timeout);
    INFO(command << "\n" << p.output());
    REQUIRE(rc.has_value());
    return {*rc, command + "\n" + p.output()};
}

}  // namespace sb::test
