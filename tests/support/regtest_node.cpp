#include "regtest_node.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <random>
#include <string_view>
#include <thread>
#include <vector>

#include "seed.hpp"

namespace sb::test {
namespace {

constexpr auto start_timeout = std::chrono::seconds(90);
// Launches on fresh ports when bcoin could not bind the ones it was given.
constexpr int max_launch_attempts = 3;

// The first port of the kernel's ephemeral range (net.ipv4.ip_local_port_range): bind
// to port 0 and the source port of every outgoing connection are drawn from it.
unsigned ephemeral_low() {
    std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
    unsigned lo = 0, hi = 0;
    if (in >> lo >> hi && lo > 0 && lo <= hi && hi <= 65535) return lo;
    return 32768;  // Linux's default
}

// Whether bcoin's log (the node's stdout) says it listens on port: "… server listening
// on 127.0.0.1 (port=N)." for the node's HTTP (RPC), the wallet's and the P2P pool.
bool log_says_listening(const std::string& log, std::string_view server, std::uint16_t port) {
    const std::string line = std::string(server) + " listening on 127.0.0.1 (port=" + std::to_string(port) + ")";
    return log.find(line) != std::string::npos;
}

int connect_loopback(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    timeval tv{120, 0};  // generatetoaddress of hundreds of blocks takes seconds in pure JS
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

std::string base64(const std::string& in) {
    static constexpr char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
        out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
    }
    if (i + 1 == in.size()) {
        const unsigned v = (unsigned char)in[i] << 16;
        out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
    } else if (i + 2 == in.size()) {
        const unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
        out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
    }
    return out;
}

std::string find_bcoin() {
    const std::string path = std::string(SB_REGTEST_NODE_DIR) + "/node_modules/bcoin/bin/node";
    REQUIRE_MESSAGE(std::filesystem::exists(path),
                    "bcoin is not installed at " << path << ": run scripts/install-deps.sh (or scripts/test.sh)");
    return path;
}

}  // namespace

std::uint16_t free_loopback_port() {
    // Below the ephemeral range: a port from inside it is free only until the kernel hands
    // it out again, to another test's listener on port 0 or as the source port of any
    // outgoing connection, and under a parallel test run that can happen before the
    // caller binds it (bcoin, for one, then exits with EADDRINUSE seconds after its RPC
    // port opened, while the port answers connections for someone else). Nothing is
    // given a port below that range unless it asks for that port by number.
    const unsigned ephemeral_lo = ephemeral_low();
    const unsigned lo = std::max(1024u, ephemeral_lo / 2);
    REQUIRE_MESSAGE(lo + 1 < ephemeral_lo, "no room for test ports below the ephemeral range");
    // Seeded per process, not from the test seed: parallel test processes must not walk
    // the same sequence of ports.
    static std::mt19937 rng(std::random_device{}() ^ static_cast<unsigned>(::getpid()));
    std::uniform_int_distribution<unsigned> pick(lo, ephemeral_lo - 1);
    for (int attempt = 0; attempt < 1000; ++attempt) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd >= 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(static_cast<std::uint16_t>(pick(rng)));
        const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        ::close(fd);
        if (free) return ntohs(a.sin_port);
    }
    FAIL("no free loopback port below the ephemeral range");
    return 0;
}

regtest_node::regtest_node() {
    auto rng = seeded_rng(0x4e0de);
    api_key_ = "key" + std::to_string(rng());
    dir_ = (std::filesystem::temp_directory_path() / ("sb-regtest-" + std::to_string(::getpid()) + "-" +
                                                      std::to_string(rng() % 1000000)))
               .string();
    std::filesystem::create_directories(dir_);
    for (int attempt = 1;; ++attempt) {
        rpc_port_ = free_loopback_port();
        p2p_port_ = free_loopback_port();
        wallet_port_ = free_loopback_port();
        if (rpc_port_ == p2p_port_ || p2p_port_ == wallet_port_ || rpc_port_ == wallet_port_) continue;
        // Another process may still have bound one of them since (a parallel test that
        // drew the same number): bcoin then exits, and fresh ports are tried.
        if (launch(attempt < max_launch_attempts)) return;
    }
}

void regtest_node::restart() {
    kill_now();
    launch(false);
}

bool regtest_node::launch(bool may_retry) {
    const std::string bcoin = find_bcoin();
    std::vector<std::string> args = {
        "node", bcoin, "--network=regtest", "--memory=true", "--prefix=" + dir_, "--wallet-prefix=" + dir_ + "/regtest",
        "--host=127.0.0.1", "--port=" + std::to_string(p2p_port_), "--only=127.0.0.2",
        "--http-host=127.0.0.1", "--http-port=" + std::to_string(rpc_port_),
        "--wallet-http-host=127.0.0.1", "--wallet-http-port=" + std::to_string(wallet_port_),
        "--api-key=" + api_key_, "--log-level=info", "--workers=false",
    };
    // The child truncates the log only once it runs: the lines of an earlier launch must
    // not be read as this one's.
    std::error_code ignored;
    std::filesystem::remove(dir_ + "/node.log", ignored);
    // The node must not outlive the test, even when the test crashes (child_process).
    process_ = std::make_unique<child_process>(std::move(args), std::vector<std::string>{"NODE_BACKEND=js"},
                                               dir_ + "/node.log");
    const auto deadline = std::chrono::steady_clock::now() + start_timeout;
    // Up when bcoin says it listens on both ports: a port that merely accepts connections
    // could belong to another process (the P2P port opens about 2 s after RPC,
    // toolchain.md §4.5).
    bool up = false;
    while (std::chrono::steady_clock::now() < deadline) {
        const std::string log = process_->output();
        up = log_says_listening(log, "Node HTTP server", rpc_port_) &&
             log_says_listening(log, "Wallet HTTP server", wallet_port_) && log_says_listening(log, "Pool server", p2p_port_);
        if (up) break;
        if (!process_->running()) {
            if (may_retry && log.find("EADDRINUSE") != std::string::npos) {
                MESSAGE("bcoin could not bind its ports (taken meanwhile); starting it on others");
                return false;
            }
            FAIL("bcoin exited during start-up:\n" << log_tail());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!up) {
        kill_now();
        FAIL("bcoin did not open its ports within " << start_timeout.count() << " s:\n" << log_tail());
    }
    return true;
}

regtest_node::~regtest_node() {
    if (process_) process_->terminate(std::chrono::seconds(5));
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

void regtest_node::kill_now() {
    if (process_) process_->kill_now();
}

std::string regtest_node::log_tail(std::size_t lines) const {
    std::ifstream in(dir_ + "/node.log");
    std::deque<std::string> last;
    for (std::string line; std::getline(in, line);) {
        last.push_back(line);
        if (last.size() > lines) last.pop_front();
    }
    std::string s;
    for (const auto& l : last) s += l + "\n";
    return s;
}

std::string regtest_node::rpc_raw(std::uint16_t port, const std::string& method, const std::string& params_json) {
    const std::string body = R"({"jsonrpc":"1.0","id":1,"method":")" + method + R"(","params":)" + params_json + "}";
    const std::string req = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n"
                            "Authorization: Basic " + base64("test:" + api_key_) + "\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body;
    const int fd = connect_loopback(port);
    REQUIRE_MESSAGE(fd >= 0, "cannot connect to the regtest node on port " << port);
    std::size_t sent = 0;
    while (sent < req.size()) {
        const ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
        REQUIRE(n > 0);
        sent += static_cast<std::size_t>(n);
    }
    std::string resp;
    char buf[65536];
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        resp.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    const auto split = resp.find("\r\n\r\n");
    REQUIRE_MESSAGE(split != std::string::npos, "no HTTP reply to " << method << ": '" << resp << "'");
    std::string head = resp.substr(0, split);
    std::string payload = resp.substr(split + 4);
    if (head.find("Transfer-Encoding: chunked") != std::string::npos ||
        head.find("transfer-encoding: chunked") != std::string::npos) {
        std::string joined;
        std::size_t pos = 0;
        while (pos < payload.size()) {
            const auto eol = payload.find("\r\n", pos);
            if (eol == std::string::npos) break;
            const std::size_t len = std::strtoul(payload.substr(pos, eol - pos).c_str(), nullptr, 16);
            if (len == 0) break;
            joined += payload.substr(eol + 2, len);
            pos = eol + 2 + len + 2;
        }
        payload = joined;
    }
    return payload;
}

namespace {
rapidjson::Document result_of(const std::string& method, const std::string& raw) {
    rapidjson::Document d;
    d.Parse(raw.c_str());
    REQUIRE_MESSAGE(!d.HasParseError(), method << ": reply is not JSON: " << raw);
    REQUIRE_MESSAGE(d.IsObject(), method << ": reply is not an object: " << raw);
    REQUIRE_MESSAGE((!d.HasMember("error") || d["error"].IsNull()), method << " failed: " << raw);
    rapidjson::Document r;
    r.CopyFrom(d["result"], r.GetAllocator());
    return r;
}
}  // namespace

rapidjson::Document regtest_node::rpc(const std::string& method, const std::string& params_json) {
    return result_of(method, rpc_raw(rpc_port_, method, params_json));
}

rapidjson::Document regtest_node::wallet_rpc(const std::string& method, const std::string& params_json) {
    return result_of(method, rpc_raw(wallet_port_, method, params_json));
}

std::string regtest_node::best_hash() {
    auto b = rpc("getbestblockhash");
    REQUIRE(b.IsString());
    return b.GetString();
}

std::string regtest_node::wallet_address() {
    auto a = wallet_rpc("getaccountaddress", R"(["default"])");
    REQUIRE(a.IsString());
    return a.GetString();
}

void regtest_node::generate(int blocks, const std::string& address) {
    auto r = rpc("generatetoaddress", "[" + std::to_string(blocks) + ",\"" + address + "\"]");
    REQUIRE(r.IsArray());
    REQUIRE(r.Size() == static_cast<rapidjson::SizeType>(blocks));
}

}  // namespace sb::test
