// `solobridge cpu-miner`: a small Stratum v1 SHA-256d client that mines on one CPU
// thread. It is the demo's miner (scripts/run.sh) and a real client for end-to-end
// tests; it speaks the protocol the way cpuminer does (stratum.md §7): subscribe,
// authorize, follow set_difficulty/notify, submit shares that meet the share target.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

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
#include "sb/core/hex.hpp"
#include "sb/core/pow.hpp"

namespace sb::app {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;

// A miner never needs a longer line than this (stratum.md §1: 16 KiB server cap).
constexpr std::size_t max_line_bytes = 64 * 1024;
constexpr std::uint32_t nonces_per_poll = 1u << 14;

struct options {
    std::string host = "127.0.0.1";
    std::string port = "3333";
    std::string user = "solobridge-cpu";
    std::string pass = "x";
    double seconds = 0;            // 0: until the connection closes
    std::uint64_t max_shares = 0;  // 0: no limit
    bool version_rolling = false;  // BIP310: negotiate a mask and roll version bits
};

struct miner_state {
    std::string extranonce1_hex;
    bytes extranonce1;
    std::size_t extranonce2_size = 0;
    double difficulty = 1.0;
    double pending_difficulty = 1.0;  // applies from the next notify (stratum.md §0.5)
    std::optional<bridge::job> job;
    uint256 share_target;
    std::uint64_t extranonce2 = 0;
    std::uint32_t nonce = 0;
    std::uint64_t hashes = 0, submitted = 0, accepted = 0, rejected = 0, blocks = 0;
    int next_id = 4;                // 1 subscribe, 2 authorize, 3 configure, then submits
    std::uint32_t version_mask = 0; // granted by mining.configure (0: no rolling)
    std::uint32_t version_roll = 0; // counter spread over the mask's bits
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
    o.host = std::string(url.substr(0, colon));
    o.port = std::string(url.substr(colon + 1));
    return true;
}

// Handles one line from the server. Returns false when the session cannot go on.
bool handle_line(const std::string& line, miner_state& st) {
    rapidjson::Document d;
    d.Parse(line.c_str(), line.size());
    if (d.HasParseError() || !d.IsObject()) {
        std::fprintf(stderr, "cpu-miner: server sent a line that is not a JSON object: %.200s\n", line.c_str());
        return false;
    }
    const bool has_method = d.HasMember("method") && d["method"].IsString();
    if (!has_method) {
        const int id = d.HasMember("id") && d["id"].IsInt() ? d["id"].GetInt() : -1;
        const bool ok = d.HasMember("result") && !d["result"].IsNull() && !(d["result"].IsBool() && !d["result"].GetBool());
        if (id == 1) {  // subscribe: [[subscriptions], extranonce1, extranonce2_size]
            const auto& r = d["result"];
            if (!ok || !r.IsArray() || r.Size() < 3 || !r[1].IsString() || !r[2].IsUint()) {
                std::fprintf(stderr, "cpu-miner: subscribe failed: %.200s\n", line.c_str());
                return false;
            }
            st.extranonce1_hex = r[1].GetString();
            auto en1 = from_hex(st.extranonce1_hex, 64);
            if (!en1) return false;
            st.extranonce1 = *en1;
            st.extranonce2_size = r[2].GetUint();
            if (st.extranonce2_size < 1 || st.extranonce2_size > 8) {
                std::fprintf(stderr, "cpu-miner: extranonce2_size %zu is not 1..8\n", st.extranonce2_size);
                return false;
            }
            std::printf("cpu-miner: subscribed, extranonce1 %s, extranonce2 %zu bytes\n", st.extranonce1_hex.c_str(),
                        st.extranonce2_size);
        } else if (id == 2) {
            if (!ok) {
                std::fprintf(stderr, "cpu-miner: authorize refused: %.200s\n", line.c_str());
                return false;
            }
            std::printf("cpu-miner: authorized\n");
        } else if (id == 3) {  // configure: {"version-rolling":true,"version-rolling.mask":"..."}
            const auto& r = d["result"];
            if (ok && r.IsObject() && r.HasMember("version-rolling") && r["version-rolling"].IsBool() &&
                r["version-rolling"].GetBool() && r.HasMember("version-rolling.mask") &&
                r["version-rolling.mask"].IsString()) {
                auto m = bridge::u32_from_stratum_hex(r["version-rolling.mask"].GetString());
                if (m) st.version_mask = *m;
            }
            std::printf("cpu-miner: version rolling %s (mask %08x)\n", st.version_mask ? "on" : "refused",
                        st.version_mask);
        } else if (id >= 4) {
            if (ok) {
                ++st.accepted;
            } else {
                ++st.rejected;
                std::printf("cpu-miner: share rejected: %.200s\n", line.c_str());
            }
        }
        return true;
    }
    const std::string method = d["method"].GetString();
    const rapidjson::Value* params = d.HasMember("params") && d["params"].IsArray() ? &d["params"] : nullptr;
    if (method == "mining.set_difficulty" && params && params->Size() >= 1 && (*params)[0].IsNumber()) {
        st.pending_difficulty = (*params)[0].GetDouble();
    } else if (method == "mining.notify" && params && params->Size() >= 9) {
        const auto& p = *params;
        bridge::notify_params n;
        auto str = [&](rapidjson::SizeType i) { return p[i].IsString() ? std::string(p[i].GetString()) : std::string(); };
        n.job_id = str(0);
        n.prevhash = str(1);
        n.coinb1 = str(2);
        n.coinb2 = str(3);
        if (p[4].IsArray())
            for (const auto& b : p[4].GetArray()) n.merkle_branch.emplace_back(b.IsString() ? b.GetString() : "");
        n.version = str(5);
        n.nbits = str(6);
        n.ntime = str(7);
        n.clean_jobs = p[8].IsBool() && p[8].GetBool();
        auto j = bridge::job_from_notify(n, st.extranonce1.size(), st.extranonce2_size);
        if (!j) {
            std::fprintf(stderr, "cpu-miner: unusable notify (%s): %.300s\n", j.error().message().c_str(), line.c_str());
            return true;
        }
        st.job = std::move(*j);
        st.difficulty = st.pending_difficulty;
        st.share_target = target_from_difficulty(st.difficulty);
        st.extranonce2 = 0;
        st.nonce = 0;
    } else if (method == "client.reconnect") {
        std::printf("cpu-miner: server asked to reconnect; stopping\n");
        return false;
    }
    return true;
}

int run(const options& o) {
    asio::io_context io;
    tcp::socket socket(io);
    boost::system::error_code ec;
    tcp::resolver resolver(io);
    auto endpoints = resolver.resolve(o.host, o.port, ec);
    if (!ec) asio::connect(socket, endpoints, ec);
    if (ec) {
        std::fprintf(stderr, "cpu-miner: cannot connect to %s:%s: %s\n", o.host.c_str(), o.port.c_str(),
                     ec.message().c_str());
        return exit_failure;
    }
    std::printf("cpu-miner: connected to %s:%s as %s\n", o.host.c_str(), o.port.c_str(), o.user.c_str());
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
    hello += string_array_line("mining.subscribe", {"solobridge-cpu/" SB_VERSION}, 1) +
                              string_array_line("mining.authorize", {o.user, o.pass}, 2);
    asio::write(socket, asio::buffer(hello), ec);
    socket.non_blocking(true);

    miner_state st;
    std::string inbuf;
    const auto start = clock::now();
    auto last_report = start;
    char buf[4096];
    for (;;) {
        // Read what has arrived without waiting.
        for (;;) {
            const std::size_t n = socket.read_some(asio::buffer(buf), ec);
            if (ec == asio::error::would_block) break;
            if (ec) {
                std::printf("cpu-miner: connection closed (%s)\n", ec.message().c_str());
                goto done;
            }
            inbuf.append(buf, n);
            if (inbuf.size() > max_line_bytes && inbuf.find('\n') == std::string::npos) {
                std::fprintf(stderr, "cpu-miner: server line longer than %zu bytes\n", max_line_bytes);
                goto done;
            }
        }
        for (auto nl = inbuf.find('\n'); nl != std::string::npos; nl = inbuf.find('\n')) {
            std::string line = inbuf.substr(0, nl);
            inbuf.erase(0, nl + 1);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (line.empty()) continue;
            if (!handle_line(line, st)) goto done;
        }
        const auto now = clock::now();
        if (o.seconds > 0 && now - start >= std::chrono::duration<double>(o.seconds)) break;
        if (o.max_shares > 0 && st.accepted + st.rejected >= o.max_shares) break;
        if (now - last_report >= std::chrono::seconds(10)) {
            const double secs = std::chrono::duration<double>(now - start).count();
            std::printf("cpu-miner: %.2f kH/s, difficulty %g, shares %llu accepted %llu rejected\n",
                        static_cast<double>(st.hashes) / secs / 1e3, st.difficulty,
                        static_cast<unsigned long long>(st.accepted), static_cast<unsigned long long>(st.rejected));
            std::fflush(stdout);
            last_report = now;
        }
        if (!st.job) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            continue;
        }
        // Hash a batch of nonces for the current extranonce2.
        bytes en2(st.extranonce2_size);
        for (std::size_t i = 0; i < en2.size(); ++i) en2[en2.size() - 1 - i] = std::uint8_t(st.extranonce2 >> (8 * i));
        // With a mask, every batch hashes another version: spread a counter over the mask.
        std::uint32_t version_bits = 0;
        if (st.version_mask != 0) {
            ++st.version_roll;
            std::uint32_t c = st.version_roll;
            for (std::uint32_t bit = 1; bit != 0 && c != 0; bit <<= 1) {
                if ((st.version_mask & bit) == 0) continue;
                if (c & 1) version_bits |= bit;
                c >>= 1;
            }
        }
        const std::uint32_t version = bridge::apply_version_bits(st.job->version, version_bits, st.version_mask);
        const std::uint32_t end = st.nonce + nonces_per_poll;
        for (std::uint32_t nonce = st.nonce; nonce != end; ++nonce) {
            auto h = bridge::rebuild_header(*st.job, st.extranonce1, en2, st.job->ntime, nonce, version);
            if (!h) goto done;
            const hash256 hash = h->hash();
            ++st.hashes;
            if (uint256::from_hash(hash) > st.share_target) continue;
            const bool block = uint256::from_hash(hash) <= st.job->target;
            const std::string line =
                st.version_mask == 0
                    ? string_array_line("mining.submit",
                                        {o.user, st.job->id, to_hex(en2), bridge::u32_to_stratum_hex(st.job->ntime),
                                         bridge::u32_to_stratum_hex(nonce)},
                                        st.next_id++)
                    : string_array_line("mining.submit",
                                        {o.user, st.job->id, to_hex(en2), bridge::u32_to_stratum_hex(st.job->ntime),
                                         bridge::u32_to_stratum_hex(nonce), bridge::u32_to_stratum_hex(version_bits)},
                                        st.next_id++);
            socket.non_blocking(false);
            asio::write(socket, asio::buffer(line), ec);
            socket.non_blocking(true);
            if (ec) goto done;
            ++st.submitted;
            if (block) {
                ++st.blocks;
                std::printf("cpu-miner: block candidate %s submitted\n", to_hex_reversed(hash).c_str());
            }
        }
        st.nonce = end;
        if (st.nonce == 0) ++st.extranonce2;  // nonce space used up: roll extranonce2
    }
done:
    const double secs = std::chrono::duration<double>(clock::now() - start).count();
    std::printf("cpu-miner: %llu hashes in %.1f s, %llu shares submitted, %llu accepted, %llu rejected, %llu block candidates\n",
                static_cast<unsigned long long>(st.hashes), secs, static_cast<unsigned long long>(st.submitted),
                static_cast<unsigned long long>(st.accepted), static_cast<unsigned long long>(st.rejected),
                static_cast<unsigned long long>(st.blocks));
    return st.accepted > 0 || o.max_shares == 0 ? exit_ok : exit_failure;
}

}  // namespace

int cmd_cpu_miner(args a) {
    options o;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const std::string_view flag = a[i];
        if (i + 1 >= a.size()) {
            std::fprintf(stderr, "solobridge cpu-miner: %.*s needs a value\n", static_cast<int>(flag.size()), flag.data());
            return exit_usage;
        }
        const std::string value(a[++i]);
        if (flag == "--url") {
            if (!parse_url(value, o)) {
                std::fprintf(stderr, "solobridge cpu-miner: --url must be [stratum+tcp://]host:port\n");
                return exit_usage;
            }
        } else if (flag == "--user") {
            o.user = value;
        } else if (flag == "--pass") {
            o.pass = value;
        } else if (flag == "--seconds") {
            o.seconds = std::strtod(value.c_str(), nullptr);
        } else if (flag == "--version-rolling") {
            if (value != "on" && value != "off") {
                std::fprintf(stderr, "solobridge cpu-miner: --version-rolling takes on or off\n");
                return exit_usage;
            }
            o.version_rolling = value == "on";
        } else if (flag == "--max-shares") {
            o.max_shares = std::strtoull(value.c_str(), nullptr, 10);
        } else {
            std::fprintf(stderr, "solobridge cpu-miner: unknown option '%.*s'\n", static_cast<int>(flag.size()), flag.data());
            return exit_usage;
        }
    }
    return run(o);
}

}  // namespace sb::app
