// `solobridge cpu-miner`: a small Stratum v1 SHA-256d client that mines on one CPU
// thread. It is the demo's miner (scripts/run.sh) and a real client for end-to-end
// tests; it speaks the protocol the way cpuminer does (stratum.md §7): subscribe,
// authorize, follow set_difficulty/notify, submit shares that meet the share target.
// When the connection fails or drops (the bridge restarts) it connects again after a
// back-off, as a miner's firmware does.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <csignal>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "commands.hpp"
#include "dispatch/job.hpp"
#include "mining/cpu_miner_lines.hpp"
#include "sb/core/hex.hpp"
#include "sb/core/pow.hpp"

namespace sb::app {
namespace {

using bridge::mining::counters;
using bridge::mining::handle_line;
using bridge::mining::max_reconnect_delay;
using bridge::mining::outcome;
using bridge::mining::session_state;

// SIGINT/SIGTERM: finish like --seconds does (the summary is printed, exit 0 after an
// accepted share).
std::atomic<bool> stop_requested{false};
extern "C" void on_stop_signal(int) { stop_requested.store(true); }

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;

// A miner never needs a longer line than this (stratum.md §1: 16 KiB server cap).
constexpr std::size_t max_line_bytes = 64 * 1024;
constexpr std::uint32_t nonces_per_poll = 1u << 14;
// Reconnecting: the first wait, doubled after every session that never got work, up to
// the cap (cpu_miner_lines.hpp, which also caps a server's client.reconnect wait); a
// session that was authorized and got a job starts the next wait afresh.
constexpr std::chrono::milliseconds first_reconnect_delay{1000};
// A TCP connect that has not completed by then counts as failed.
constexpr std::chrono::seconds connect_timeout{10};
constexpr std::chrono::seconds report_interval{10};

struct options {
    std::string host;
    std::string port;
    std::string user = "solobridge-cpu";
    std::string pass = "x";
    double seconds = 0;            // 0: no time limit
    std::uint64_t max_shares = 0;  // 0: no limit
    bool version_rolling = false;  // BIP310: negotiate a mask and roll version bits
};


std::string json_line(const char* method, const rapidjson::Value& params, int id) {
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    w.StartObject();
    w.Key("id");
    w.Int(id);
    w.Key("method");
    w.String(method);
    w.Key("params");
    params.Accept(w);
    w.EndObject();
    return std::string(sb.GetString(), sb.GetSize()) + "\n";
}

std::string string_array_line(const char* method, std::initializer_list<std::string> items, int id) {
    rapidjson::Document d(rapidjson::kArrayType);
    for (const auto& s : items) d.PushBack(rapidjson::Value(s.c_str(), d.GetAllocator()), d.GetAllocator());
    return json_line(method, d, id);
}

bool parse_url(std::string_view url, options& o) {
    for (std::string_view prefix : {"stratum+tcp://", "tcp://"})
        if (url.starts_with(prefix)) url.remove_prefix(prefix.size());
    const auto colon = url.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == url.size()) return false;
    const std::string_view port = url.substr(colon + 1);
    unsigned p = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc{} || end != port.data() + port.size() || p == 0 || p > 65535) return false;
    o.host = std::string(url.substr(0, colon));
    o.port = std::string(port);
    return true;
}

std::string hello_lines(const options& o) {
    std::string hello;
    if (o.version_rolling) {
        // BIP310, as ESP-Miner sends it: configure first.
        rapidjson::Document p(rapidjson::kArrayType);
        auto& al = p.GetAllocator();
        rapidjson::Value exts(rapidjson::kArrayType), args(rapidjson::kObjectType);
        exts.PushBack("version-rolling", al);
        args.AddMember("version-rolling.mask", "1fffe000", al);
        args.AddMember("version-rolling.min-bit-count", 2, al);
        p.PushBack(exts, al);
        p.PushBack(args, al);
        hello += json_line("mining.configure", p, 3);
    }
    return hello + string_array_line("mining.subscribe", {"solobridge-cpu/" SB_VERSION}, 1) +
           string_array_line("mining.authorize", {o.user, o.pass}, 2);
}

// Connects within connect_timeout. Returns the error, or success with socket open.
boost::system::error_code connect_within_timeout(asio::io_context& io, tcp::socket& socket, const options& o) {
    boost::system::error_code ec;
    tcp::resolver resolver(io);
    const auto endpoints = resolver.resolve(o.host, o.port, ec);
    if (ec) return ec;
    bool done = false;
    asio::async_connect(socket, endpoints, [&](const boost::system::error_code& e, const tcp::endpoint&) {
        ec = e;
        done = true;
    });
    io.restart();
    io.run_for(connect_timeout);
    if (!done) {
        socket.close();
        io.restart();
        io.run();  // the cancelled handler
        return asio::error::timed_out;
    }
    return ec;
}

class miner {
public:
    explicit miner(const options& o) : o_(o), start_(clock::now()), last_report_(start_) {}

    // Sessions one after another until a limit is reached or the server refuses us.
    int run() {
        std::chrono::milliseconds delay = first_reconnect_delay;
        outcome end = outcome::reconnect;
        for (;;) {
            std::optional<std::chrono::milliseconds> server_wait;
            bool got_work = false;
            end = session(server_wait, got_work);
            if (end != outcome::reconnect) break;
            if (got_work) delay = first_reconnect_delay;
            const auto wait = server_wait ? *server_wait : delay;
            if (!server_wait) delay = std::min(delay * 2, max_reconnect_delay);
            std::printf("cpu-miner: reconnecting to %s:%s in %.1f s\n", o_.host.c_str(), o_.port.c_str(),
                        static_cast<double>(wait.count()) / 1000.0);
            std::fflush(stdout);
            if (!sleep_within_limit(wait)) {
                end = outcome::finished;
                break;
            }
        }
        const double secs = std::chrono::duration<double>(clock::now() - start_).count();
        std::printf("cpu-miner: %llu hashes in %.1f s, %llu shares submitted, %llu accepted, %llu rejected, %llu block "
                    "candidates, %llu connection%s\n",
                    static_cast<unsigned long long>(c_.hashes), secs, static_cast<unsigned long long>(c_.submitted),
                    static_cast<unsigned long long>(c_.accepted), static_cast<unsigned long long>(c_.rejected),
                    static_cast<unsigned long long>(c_.blocks), static_cast<unsigned long long>(connections_),
                    connections_ == 1 ? "" : "s");
        if (end == outcome::refused) return exit_failure;
        return c_.accepted > 0 || o_.max_shares == 0 ? exit_ok : exit_failure;
    }

private:
    bool limit_reached(clock::time_point now) const {
        if (stop_requested.load()) return true;
        if (o_.seconds > 0 && now - start_ >= std::chrono::duration<double>(o_.seconds)) return true;
        return o_.max_shares > 0 && c_.accepted + c_.rejected >= o_.max_shares;
    }

    // Sleeps for wait, or until --seconds runs out (false then).
    bool sleep_within_limit(std::chrono::milliseconds wait) const {
        auto until = clock::now() + wait;
        if (o_.seconds > 0) {
            const auto deadline =
                start_ + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(o_.seconds));
            if (deadline <= until) {
                std::this_thread::sleep_until(deadline);
                return false;
            }
        }
        std::this_thread::sleep_until(until);
        return true;
    }

    void report(clock::time_point now, const session_state& st) {
        if (now - last_report_ < report_interval) return;
        const double secs = std::chrono::duration<double>(now - start_).count();
        std::printf("cpu-miner: %.2f kH/s, difficulty %g, shares %llu accepted %llu rejected\n",
                    static_cast<double>(c_.hashes) / secs / 1e3, st.difficulty,
                    static_cast<unsigned long long>(c_.accepted), static_cast<unsigned long long>(c_.rejected));
        std::fflush(stdout);
        last_report_ = now;
    }

    outcome session(std::optional<std::chrono::milliseconds>& server_wait, bool& got_work) {
        asio::io_context io;
        tcp::socket socket(io);
        if (const auto ec = connect_within_timeout(io, socket, o_)) {
            std::fprintf(stderr, "cpu-miner: cannot connect to %s:%s: %s\n", o_.host.c_str(), o_.port.c_str(),
                         ec.message().c_str());
            return limit_reached(clock::now()) ? outcome::finished : outcome::reconnect;
        }
        ++connections_;
        std::printf("cpu-miner: connected to %s:%s as %s\n", o_.host.c_str(), o_.port.c_str(), o_.user.c_str());
        std::fflush(stdout);
        boost::system::error_code ec;
        asio::write(socket, asio::buffer(hello_lines(o_)), ec);
        if (ec) {
            std::printf("cpu-miner: connection lost (%s)\n", ec.message().c_str());
            return outcome::reconnect;
        }
        socket.non_blocking(true);

        session_state st;
        std::string inbuf;
        char buf[4096];
        for (;;) {
            // Read what has arrived without waiting.
            for (;;) {
                const std::size_t n = socket.read_some(asio::buffer(buf), ec);
                if (ec == asio::error::would_block) break;
                if (ec) {
                    std::printf("cpu-miner: connection closed (%s)\n", ec.message().c_str());
                    return outcome::reconnect;
                }
                inbuf.append(buf, n);
                if (inbuf.size() > max_line_bytes && inbuf.find('\n') == std::string::npos) {
                    std::fprintf(stderr, "cpu-miner: server line longer than %zu bytes\n", max_line_bytes);
                    return outcome::reconnect;
                }
            }
            for (auto nl = inbuf.find('\n'); nl != std::string::npos; nl = inbuf.find('\n')) {
                std::string line = inbuf.substr(0, nl);
                inbuf.erase(0, nl + 1);
                if (!line.empty() && line.back() == '\r') line.pop_back();
                if (line.empty()) continue;
                const outcome r = handle_line(line, st, c_, stdout, stderr);
                got_work = got_work || (st.authorized && st.job.has_value());
                if (r != outcome::go_on) {
                    server_wait = st.server_wait;
                    return r;
                }
            }
            const auto now = clock::now();
            if (limit_reached(now)) return outcome::finished;
            report(now, st);
            if (!st.job || st.job->prev_block == st.solved_parent) {
                // No work, or the tip this job builds on already has our block: wait for
                // the next notify.
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
                continue;
            }
            if (const outcome r = hash_batch(socket, st); r != outcome::go_on) return r;
        }
    }

    // Hashes one batch of nonces for the current extranonce2 and submits every share.
    outcome hash_batch(tcp::socket& socket, session_state& st) {
        bytes en2(st.extranonce2_size);
        for (std::size_t i = 0; i < en2.size(); ++i) en2[en2.size() - 1 - i] = std::uint8_t(st.extranonce2 >> (8 * i));
        // With a mask, every batch hashes another version: spread a counter over the mask.
        std::uint32_t version_bits = 0;
        if (st.version_mask != 0) {
            ++st.version_roll;
            std::uint32_t n = st.version_roll;
            for (std::uint32_t bit = 1; bit != 0 && n != 0; bit <<= 1) {
                if ((st.version_mask & bit) == 0) continue;
                if (n & 1) version_bits |= bit;
                n >>= 1;
            }
        }
        const std::uint32_t version = bridge::apply_version_bits(st.job->version, version_bits, st.version_mask);
        const std::uint32_t end = st.nonce + nonces_per_poll;
        for (std::uint32_t nonce = st.nonce; nonce != end; ++nonce) {
            auto h = bridge::rebuild_header(*st.job, st.extranonce1, en2, st.job->ntime, nonce, version);
            if (!h) {
                std::fprintf(stderr, "cpu-miner: cannot build a header from job %s: %s\n", st.job->id.c_str(),
                             h.error().message().c_str());
                return outcome::reconnect;
            }
            const hash256 hash = h->hash();
            ++c_.hashes;
            if (uint256::from_hash(hash) > st.share_target) continue;
            const bool block = uint256::from_hash(hash) <= st.job->target;
            const std::string line =
                st.version_mask == 0
                    ? string_array_line("mining.submit",
                                        {o_.user, st.job->id, to_hex(en2), bridge::u32_to_stratum_hex(st.job->ntime),
                                         bridge::u32_to_stratum_hex(nonce)},
                                        st.next_id++)
                    : string_array_line("mining.submit",
                                        {o_.user, st.job->id, to_hex(en2), bridge::u32_to_stratum_hex(st.job->ntime),
                                         bridge::u32_to_stratum_hex(nonce), bridge::u32_to_stratum_hex(version_bits)},
                                        st.next_id++);
            boost::system::error_code ec;
            socket.non_blocking(false);
            asio::write(socket, asio::buffer(line), ec);
            socket.non_blocking(true);
            if (ec) {
                std::printf("cpu-miner: connection lost while submitting (%s)\n", ec.message().c_str());
                return outcome::reconnect;
            }
            ++c_.submitted;
            if (block) {
                ++c_.blocks;
                std::printf("cpu-miner: block candidate %s submitted\n", to_hex_reversed(hash).c_str());
                st.solved_parent = st.job->prev_block;
                st.nonce = nonce + 1;
                if (st.nonce == 0) ++st.extranonce2;
                return outcome::go_on;
            }
        }
        st.nonce = end;
        if (st.nonce == 0) ++st.extranonce2;  // nonce space used up: roll extranonce2
        return outcome::go_on;
    }

    const options& o_;
    counters c_;
    std::uint64_t connections_ = 0;
    const clock::time_point start_;
    clock::time_point last_report_;
};

int usage_error(const std::string& why) {
    std::fprintf(stderr, "solobridge cpu-miner: %s\n(`solobridge cpu-miner --help` for the usage)\n", why.c_str());
    return exit_usage;
}

int run_cpu_miner(args a) {
    options o;
    bool have_url = false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const std::string_view flag = a[i];
        if (i + 1 >= a.size()) return usage_error(std::string(flag) + " needs a value");
        const std::string value(a[++i]);
        if (flag == "--url") {
            if (!parse_url(value, o)) return usage_error("--url must be [stratum+tcp://]HOST:PORT, not '" + value + "'");
            have_url = true;
        } else if (flag == "--user") {
            o.user = value;
        } else if (flag == "--pass") {
            o.pass = value;
        } else if (flag == "--seconds") {
            char* end = nullptr;
            o.seconds = std::strtod(value.c_str(), &end);
            if (value.empty() || *end != '\0' || !(o.seconds >= 0))
                return usage_error("--seconds must be a number of seconds >= 0, not '" + value + "'");
        } else if (flag == "--version-rolling") {
            if (value != "on" && value != "off") return usage_error("--version-rolling takes on or off");
            o.version_rolling = value == "on";
        } else if (flag == "--max-shares") {
            const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), o.max_shares);
            if (ec != std::errc{} || end != value.data() + value.size())
                return usage_error("--max-shares must be a whole number, not '" + value + "'");
        } else {
            return usage_error("unknown option '" + std::string(flag) + "'");
        }
    }
    // No default server: a miner that silently dials 127.0.0.1:3333 mines on whatever
    // happens to listen there.
    if (!have_url) return usage_error("--url HOST:PORT is required (the bridge's Stratum listener)");
    miner m(o);
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    return m.run();
}

}  // namespace

const command cpu_miner_command{
    "cpu-miner",
    "mine on one CPU thread through a Stratum v1 server (demo, tests)",
    "usage: solobridge cpu-miner --url [stratum+tcp://]HOST:PORT [--user NAME] [--pass P]\n"
    "                            [--seconds S] [--max-shares N] [--version-rolling on|off]\n"
    "\n"
    "A one-thread SHA-256d Stratum v1 client, for the demo and end-to-end tests (it is far too\n"
    "slow to find a block on a public network). When the connection fails or drops it connects\n"
    "again after 1 s, doubling to 30 s; a session that was authorized and got work starts the\n"
    "wait afresh. client.reconnect from the server reconnects to the same URL.\n"
    "\n"
    "--url URL               the Stratum listener (required)\n"
    "--user NAME             username (default solobridge-cpu; in address-username mode a\n"
    "                        payout address, optionally ADDRESS.worker)\n"
    "--pass P                password (default x; d=N asks the bridge for difficulty N)\n"
    "--seconds S             stop after S seconds (default 0: no limit)\n"
    "--max-shares N          stop after N answered shares (default 0: no limit)\n"
    "--version-rolling on    negotiate BIP310 version rolling (default off)\n"
    "\n"
    "Exit status 0; 1 when the server refused the credentials, or --max-shares was set and no\n"
    "share was accepted; 2 for bad usage.\n",
    false,
    run_cpu_miner,
};

}  // namespace sb::app
