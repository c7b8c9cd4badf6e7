// Hostile input against a real Stratum server on 127.0.0.1, fed by the real dispatcher
// (issue 4 "Hostile input"): each case is answered exactly as specified (an error
// [code,"message",null] with "reject-reason" for submits, a closed session, or a ban),
// and a well-behaved miner on the same server keeps getting accepted shares and
// notifies during and after every case.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <rapidjson/document.h>

#include "bridge_access.hpp"
#include "dispatch/dispatcher.hpp"
#include "sb/core/hex.hpp"
#include "sb/node/internal/json.hpp"
#include "sb/node/template.hpp"
#include "stratum/ban_list.hpp"
#include "stratum/dispatcher_source.hpp"
#include "stratum/server.hpp"
#include "stratum_test_client.hpp"
#include "vectors.hpp"

using namespace sb;
using namespace sb::bridge;
using namespace sb::bridge::stratum;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using client = test::stratum_client;

namespace {

constexpr const char* payout_address = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080";

// The bcoin regtest template of the fixture with mainnet-hard bits (no random share is
// ever a block), on the tip prev_tag (0: the fixture's), curtime moved by bump seconds.
std::shared_ptr<const node::block_template> make_template(int prev_tag, std::uint32_t bump) {
    rapidjson::Document d = test::vector_member_copy("getblocktemplate.json", "bcoin_presegwit");
    d["bits"].SetString("1d00ffff", d.GetAllocator());
    d["target"].SetString("00000000ffff0000000000000000000000000000000000000000000000000000", d.GetAllocator());
    if (prev_tag != 0) {
        char h[65];
        std::snprintf(h, sizeof h, "%064x", prev_tag);
        d["previousblockhash"].SetString(h, d.GetAllocator());
    }
    // A later template of the same tip carries new fees (an equal one makes no job).
    d["curtime"].SetUint(d["curtime"].GetUint() + bump);
    d["coinbasevalue"].SetInt64(d["coinbasevalue"].GetInt64() + bump);
    auto t = node::parse_block_template(d, params(network::bitcoin_regtest));
    REQUIRE_MESSAGE(t, t.error().message());
    return std::make_shared<const node::block_template>(std::move(*t));
}

// The dispatcher and a server with two listeners: 0 "easy" (difficulty pinned at 1e-12:
// every well-formed share on a live job is accepted) and 1 "hard" (pinned at 1, the
// network difficulty: a random share is low difficulty). Short timeouts.
struct hostile_fixture {
    explicit hostile_fixture(const std::function<void(server_options&)>& tweak = {},
                             config::payout_mode mode = config::payout_mode::fixed_address) {
        dispatcher_options d;
        d.fixed_payout_script = *from_hex("0014751e76e8199196d454941c45d1b3a323f1433bd6");
        d.extranonce2_size = 8;
        d.payout_mode = mode;
        d.job_refresh = 3600s;  // jobs come from new_template() only
        d.log = [](std::string_view) {};
        disp = std::make_shared<dispatcher>(asio::make_strand(io), params(network::bitcoin_regtest), d,
                                            [](found_block) {});
        REQUIRE_FALSE(disp->on_template(make_template(0, 0)));

        server_options o;
        for (double diff : {1e-12, 1.0}) {
            config::stratum_listener l;
            l.listen = {"127.0.0.1", 0};
            l.difficulty.initial = l.difficulty.min = l.difficulty.max = diff;
            o.listeners.push_back(l);
        }
        o.payout = mode;
        o.net = network::bitcoin_regtest;
        o.extranonce2_size = 8;
        o.subscribe_timeout = 5s;
        o.line_timeout = 5s;
        o.write_stall_timeout = 5s;
        o.bans.duration = 60s;
        o.log = [this](std::string_view s) {
            std::lock_guard lock(log_mutex);
            log_lines.emplace_back(s);
        };
        if (tweak) tweak(o);
        srv = std::make_unique<server>(io, std::make_shared<dispatcher_source>(disp), o);
        const auto ec = srv->start();
        REQUIRE_MESSAGE(!ec, ec.message());
        easy = srv->listeners().at(0).port;
        hard = srv->listeners().at(1).port;
        for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
    }
    ~hostile_fixture() {
        srv->stop();
        disp->stop();
        guard.reset();
        srv.reset();
        io.stop();
        for (auto& t : threads) t.join();
    }

    // A template on the same tip (new job, clean=false), or on a new tip (clean=true).
    void new_template(bool new_tip) {
        ++bump;
        if (new_tip) ++tip;
        REQUIRE_FALSE(disp->on_template(make_template(tip, bump)));
    }

    bool logged(std::string_view needle) const { return log_count(needle) > 0; }
    std::size_t log_count(std::string_view needle) const {
        std::lock_guard lock(log_mutex);
        std::size_t n = 0;
        for (const auto& l : log_lines) n += l.find(needle) != std::string::npos ? 1 : 0;
        return n;
    }
    bool banned() const { return !srv->bans().empty(); }

    static bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = 10s) {
        const auto until = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < until) {
            if (pred()) return true;
            std::this_thread::sleep_for(5ms);
        }
        return pred();
    }

    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
    std::shared_ptr<dispatcher> disp;
    std::unique_ptr<server> srv;
    std::uint16_t easy = 0, hard = 0;
    std::vector<std::thread> threads;
    int tip = 0;
    std::uint32_t bump = 0;
    mutable std::mutex log_mutex;
    std::vector<std::string> log_lines;
};

std::string method_of(const rapidjson::Document& d) {
    return d.HasMember("method") && d["method"].IsString() ? d["method"].GetString() : "";
}

// A job as the miner saw it in mining.notify.
struct job_info {
    std::string id;
    std::string ntime_hex;
    std::uint32_t ntime = 0;
};

// A Stratum session that follows notifies; submit() returns the reply to its request.
class session_client {
public:
    explicit session_client(std::uint16_t port) : c(port) {}

    void subscribe() {
        c.send_line(R"({"id":1,"method":"mining.subscribe","params":["hostile-test/1"]})");
        auto d = reply_to(1);
        REQUIRE(d["result"].IsArray());
    }
    void configure(const std::string& mask = "1fffe000") {
        c.send_line(R"({"id":3,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":")" +
                    mask + R"("}]})");
        auto d = reply_to(3);
        REQUIRE(d["result"].IsObject());
    }
    // Authorizes and waits for the first notify.
    void authorize(const std::string& user = "w") {
        c.send_line(R"({"id":2,"method":"mining.authorize","params":[")" + user + R"(","x"]})");
        auto d = reply_to(2);
        REQUIRE_MESSAGE(d["result"].IsTrue(), "authorize refused");
        if (job.id.empty()) wait_notify();
    }

    // The reply with this id; notifications before it are taken in.
    rapidjson::Document reply_to(std::int64_t id) {
        while (true) {
            auto d = c.read_json();
            if (d.HasMember("method") && d["id"].IsNull()) {
                take(d);
                continue;
            }
            REQUIRE(d.HasMember("id"));
            REQUIRE_MESSAGE(d["id"].IsInt64(), "reply without an integer id");
            REQUIRE(d["id"].GetInt64() == id);
            return d;
        }
    }
    // Waits for the next mining.notify.
    void wait_notify(std::optional<bool> clean = std::nullopt) {
        while (true) {
            auto d = c.read_json();
            if (method_of(d) == "mining.notify") {
                take(d);
                if (clean) CHECK(d["params"][8].GetBool() == *clean);
                return;
            }
            if (d.HasMember("method")) take(d);
        }
    }

    std::string submit_line(std::int64_t id, const std::string& en2, const std::string& ntime,
                            const std::string& nonce, const std::optional<std::string>& vbits = std::nullopt,
                            const std::optional<std::string>& job_id = std::nullopt) const {
        std::string line = R"({"id":)" + std::to_string(id) + R"(,"method":"mining.submit","params":["w",")" +
                           job_id.value_or(job.id) + R"(",")" + en2 + R"(",")" + ntime + R"(",")" + nonce + "\"";
        if (vbits) line += ",\"" + *vbits + "\"";
        return line + "]}";
    }
    // A well-formed share on the current job with a fresh nonce.
    rapidjson::Document submit_fresh(std::int64_t id = 100) {
        char nonce[9];
        std::snprintf(nonce, sizeof nonce, "%08x", next_nonce++);
        c.send_line(submit_line(id, "0000000000000000", job.ntime_hex, nonce));
        return reply_to(id);
    }
    void expect_accepted() {
        auto d = submit_fresh();
        CHECK_MESSAGE(d["result"].IsTrue(), "share of the well-behaved miner not accepted");
        CHECK(d["error"].IsNull());
    }

    client c;
    job_info job;
    std::uint32_t next_nonce = 1;

private:
    void take(const rapidjson::Document& d) {
        if (method_of(d) != "mining.notify") return;
        job.id = d["params"][0].GetString();
        job.ntime_hex = d["params"][7].GetString();
        job.ntime = *parse_u32_hex(job.ntime_hex);
    }
};

// The well-behaved miner: authorized on the easy listener, one accepted share.
std::unique_ptr<session_client> good_miner(hostile_fixture& f, const std::string& user = "good") {
    auto g = std::make_unique<session_client>(f.easy);
    g->subscribe();
    g->authorize(user);
    g->expect_accepted();
    return g;
}

// After a case: the good miner still mines, and gets the next job.
void good_miner_keeps_mining(hostile_fixture& f, session_client& g) {
    g.expect_accepted();
    f.new_template(false);
    g.wait_notify(false);
    g.expect_accepted();
}

std::string hex_of(std::uint32_t v) {
    char b[9];
    std::snprintf(b, sizeof b, "%08x", v);
    return b;
}

// ---- the table ----------------------------------------------------------------------

enum class start_at { connected, subscribed, authorized, configured };
enum class answer {
    error,   // [code,"message",null] (+ "reject-reason"), the session stays open
    exact,   // this exact reply line, the session stays open
    closed,  // the server closes the session; log names the reason
};

struct hostile_case {
    std::string name;
    start_at start = start_at::connected;
    // The bytes sent, terminators included; built from the session's current job.
    std::function<std::string(const session_client&)> bytes;
    answer expect = answer::closed;
    int code = 0;                 // error
    std::string message;          // error: its text; exact: the whole line; closed: a log fragment
    bool reject_reason = false;   // error: "reject-reason" present
    bool hard = false;            // on the difficulty-1 listener
    bool username_mode = false;   // address-username payout mode
};

std::string line(const std::string& json) { return json + "\n"; }
std::string submit(const session_client& s, const std::string& en2, const std::string& ntime, const std::string& nonce,
                   const std::optional<std::string>& vbits = std::nullopt,
                   const std::optional<std::string>& job = std::nullopt) {
    return s.submit_line(7, en2, ntime, nonce, vbits, job) + "\n";
}
const std::string en2_ok = "00000000000000ff";

std::vector<hostile_case> hostile_cases() {
    using S = const session_client&;
    std::vector<hostile_case> v;
    auto closed = [&](std::string name, start_at at, std::function<std::string(S)> b, std::string log) {
        v.push_back({std::move(name), at, std::move(b), answer::closed, 0, std::move(log)});
    };
    auto error = [&](std::string name, start_at at, std::function<std::string(S)> b, int code, std::string msg,
                     bool rr) { v.push_back({std::move(name), at, std::move(b), answer::error, code, std::move(msg), rr}); };
    auto exact = [&](std::string name, start_at at, std::function<std::string(S)> b, std::string reply) {
        v.push_back({std::move(name), at, std::move(b), answer::exact, 0, std::move(reply)});
    };
    const auto C = start_at::connected, Sub = start_at::subscribed, A = start_at::authorized,
               Cf = start_at::configured;

    // Framing and JSON.
    closed("invalid JSON", C, [](S) { return line(R"({"id":7,"method":"mining.subscribe",)"); }, "line is not JSON");
    closed("non-object JSON (array)", C, [](S) { return line("[1,2,3]"); }, "not a JSON object");
    closed("non-object JSON (string)", C, [](S) { return line(R"("mining.subscribe")"); }, "not a JSON object");
    closed("two objects on one line", C,
           [](S) { return line(R"({"id":7,"method":"mining.subscribe"}{"id":8,"method":"mining.subscribe"})"); },
           "line is not JSON");
    closed("line over 16 KiB", C, [](S) { return std::string(max_line_bytes + 1, ' ') + "\n"; }, "line longer");
    closed("unterminated line over 16 KiB", C, [](S) { return std::string(max_line_bytes + 100, '{'); },
           "line longer");
    closed("deep nesting", C,
           [](S) {
               return line(R"({"id":7,"method":"mining.subscribe","params":)" + std::string(2000, '[') +
                           std::string(2000, ']') + "}");
           },
           "nested too deep");
    exact("nesting at the depth cap is parsed", C,
          [](S) {
              return line(R"({"id":7,"method":"mining.extranonce.subscribe","params":)" +
                          std::string(max_json_depth - 1, '[') + std::string(max_json_depth - 1, ']') + "}");
          },
          R"({"id":7,"result":true,"error":null})");
    closed("id of the wrong type (object)", C,
           [](S) { return line(R"({"id":{"n":7},"method":"mining.subscribe","params":[]})"); }, "id is not");
    closed("id of the wrong type (float)", C,
           [](S) { return line(R"({"id":7.5,"method":"mining.subscribe","params":[]})"); }, "id is not");
    closed("method of the wrong type", C, [](S) { return line(R"({"id":7,"method":7,"params":[]})"); },
           "method is not a string");
    closed("empty method", C, [](S) { return line(R"({"id":7,"method":"","params":[]})"); },
           "method is not a string");
    closed("params of the wrong type (string)", C,
           [](S) { return line(R"({"id":7,"method":"mining.subscribe","params":"x"})"); }, "params is not");
    closed("NUL byte inside a line", C,
           [](S) { return std::string(R"({"id":7,"method":"mining.sub)") + '\0' + R"(scribe","params":[]})" "\n"; },
           "line is not JSON");
    closed("NUL byte after a valid object", C,
           [](S) { return std::string(R"({"id":7,"method":"mining.subscribe","params":[]})") + '\0' + "junk\n"; },
           "line is not JSON");
    closed("invalid UTF-8 in a string", C,
           [](S) { return line("{\"id\":7,\"method\":\"mining.subscribe\",\"params\":[\"\xff\xfe\xc0\x80\"]}"); },
           "line is not JSON");
    closed("invalid UTF-8 outside strings", C, [](S) { return line("\xff\xfe{}"); }, "line is not JSON");
    closed("CR-only terminators never end a line", C,
           [](S) {
               return std::string(R"({"id":7,"method":"mining.subscribe","params":[]})") + "\r" +
                      R"({"id":8,"method":"mining.subscribe","params":[]})" + "\r";
           },
           "slowloris");
    exact("empty lines flood is skipped", C,
          [](S) {
              std::string b;
              for (int i = 0; i < 20'000; ++i) b += i % 3 == 0 ? "\r\n" : i % 3 == 1 ? "\n" : " \t\n";
              return b + line(R"({"id":7,"method":"mining.extranonce.subscribe","params":[]})");
          },
          R"({"id":7,"result":true,"error":null})");
    exact("a response-shaped line is ignored", C,
          [](S) {
              return line(R"({"id":99,"result":true,"error":null})") +
                     line(R"({"id":7,"method":"mining.extranonce.subscribe","params":[]})");
          },
          R"({"id":7,"result":true,"error":null})");

    // Methods and order.
    error("unknown method", Sub, [](S) { return line(R"({"id":7,"method":"mining.get_transactions","params":[]})"); },
          20, "Unknown method", false);
    error("submit before subscribe", C,
          [](S) { return line(R"({"id":7,"method":"mining.submit","params":["w","1","00","00000000","00000000"]})"); },
          25, "Not subscribed", true);
    error("submit before authorize", Sub,
          [](S) { return line(R"({"id":7,"method":"mining.submit","params":["w","1","00","00000000","00000000"]})"); },
          24, "Unauthorized worker", true);
    error("authorize before subscribe", C,
          [](S) { return line(R"({"id":7,"method":"mining.authorize","params":["w","x"]})"); }, 25, "Not subscribed",
          false);
    error("authorize with params not an array", Sub,
          [](S) { return line(R"({"id":7,"method":"mining.authorize","params":{"user":"w"}})"); }, 24,
          "Unauthorized worker", false);
    error("authorize with an extremely long worker name", Sub,
          [](S) {
              return line(R"({"id":7,"method":"mining.authorize","params":[")" + std::string(10'000, 'w') +
                          R"(","x"]})");
          },
          24, "Unauthorized worker", false);
    {
        hostile_case c{"authorize with a bad address (address-username mode)", Sub,
                       [](S) { return line(R"({"id":7,"method":"mining.authorize","params":["1BadAddress.rig","x"]})"); },
                       answer::error, 24,
                       "username must be your bitcoin-regtest payout address (bcrt1q... or m... or n... or 2...), "
                       "optionally followed by .workername"};
        c.username_mode = true;
        v.push_back(c);
    }
    error("submit with params not an array", A,
          [](S s) { return line(R"({"id":7,"method":"mining.submit","params":{"job":")" + s.job.id + R"("}})"); }, 20,
          "Invalid submit params", true);
    error("submit with a number among its params", A,
          [](S s) { return line(R"({"id":7,"method":"mining.submit","params":["w",")" + s.job.id +
                                R"(","0000000000000000",1296688603,"00000000"]})"); },
          20, "Invalid submit params", true);
    error("submit with four params", A,
          [](S s) { return line(R"({"id":7,"method":"mining.submit","params":["w",")" + s.job.id +
                                R"(","0000000000000000","00000000"]})"); },
          20, "Invalid submit params", true);

    // Submit fields.
    error("bad hex in extranonce2", A, [](S s) { return submit(s, "zz000000000000ff", s.job.ntime_hex, "00000001"); },
          20, "Invalid extranonce2", true);
    error("odd-length extranonce2", A, [](S s) { return submit(s, "000000000000000", s.job.ntime_hex, "00000001"); },
          20, "Invalid extranonce2", true);
    error("extranonce2 over 32 bytes", A,
          [](S s) { return submit(s, std::string(66, '0'), s.job.ntime_hex, "00000001"); }, 20, "Invalid extranonce2",
          true);
    error("wrong extranonce2 size", A, [](S s) { return submit(s, "000000ff", s.job.ntime_hex, "00000001"); }, 20,
          "incorrect size of extranonce2", true);
    error("bad hex in ntime", A, [](S s) { return submit(s, en2_ok, "zzzzzzzz", "00000001"); }, 20, "Invalid ntime",
          true);
    error("bad hex in nonce", A, [](S s) { return submit(s, en2_ok, s.job.ntime_hex, "0000000g"); }, 20,
          "Invalid nonce", true);
    error("nonce too long", A, [](S s) { return submit(s, en2_ok, s.job.ntime_hex, "000000001"); }, 20,
          "Invalid nonce", true);
    error("empty nonce", A, [](S s) { return submit(s, en2_ok, s.job.ntime_hex, ""); }, 20, "Invalid nonce", true);
    error("bad hex in version bits", A, [](S s) { return submit(s, en2_ok, s.job.ntime_hex, "00000001", "2000x000"); },
          20, "Invalid version bits", true);
    error("ntime below the job ntime", A, [](S s) { return submit(s, en2_ok, hex_of(s.job.ntime - 1), "00000001"); },
          20, "ntime out of range", true);
    error("ntime above the job ntime + 7000", A,
          [](S s) { return submit(s, en2_ok, hex_of(s.job.ntime + 7001), "00000001"); }, 20, "ntime out of range",
          true);
    error("version bits outside the negotiated mask", Cf,
          [](S s) { return submit(s, en2_ok, s.job.ntime_hex, "00000001", "00000001"); }, 20, "invalid version bits",
          true);
    error("version rolling without configure outside the BIP320 mask", A,
          [](S s) { return submit(s, en2_ok, s.job.ntime_hex, "00000001", "e0000000"); }, 20, "invalid version bits",
          true);
    exact("version rolling without configure inside the BIP320 mask is tolerated", A,
          [](S s) { return submit(s, en2_ok, s.job.ntime_hex, "00000001", "00002000"); },
          R"({"id":7,"result":true,"error":null})");
    error("unknown job id", A, [](S s) { return submit(s, en2_ok, s.job.ntime_hex, "00000001", std::nullopt, "nope"); },
          21, "Job not found", true);
    error("job id of 1000 characters", A,
          [](S s) { return submit(s, en2_ok, s.job.ntime_hex, "00000001", std::nullopt, std::string(1000, '7')); }, 21,
          "Job not found", true);
    {
        hostile_case c{"low-difficulty share", A,
                       [](S s) { return submit(s, en2_ok, s.job.ntime_hex, "00000001"); }, answer::error, 23,
                       "Low difficulty share", true};
        c.hard = true;
        v.push_back(c);
    }

    // mining.suggest_difficulty and mining.configure.
    error("suggest_difficulty NaN as a string", Sub,
          [](S) { return line(R"({"id":7,"method":"mining.suggest_difficulty","params":["NaN"]})"); }, 20,
          "Invalid difficulty", false);
    closed("suggest_difficulty bare NaN token", Sub,
           [](S) { return line(R"({"id":7,"method":"mining.suggest_difficulty","params":[NaN]})"); },
           "line is not JSON");
    error("suggest_difficulty negative", Sub,
          [](S) { return line(R"({"id":7,"method":"mining.suggest_difficulty","params":[-512]})"); }, 20,
          "Invalid difficulty", false);
    error("suggest_difficulty zero", Sub,
          [](S) { return line(R"({"id":7,"method":"mining.suggest_difficulty","params":[0]})"); }, 20,
          "Invalid difficulty", false);
    error("suggest_difficulty a non-numeric string", Sub,
          [](S) { return line(R"({"id":7,"method":"mining.suggest_difficulty","params":["lots"]})"); }, 20,
          "Invalid difficulty", false);
    error("suggest_difficulty infinite as a string", Sub,
          [](S) { return line(R"({"id":7,"method":"mining.suggest_difficulty","params":["1e999"]})"); }, 20,
          "Invalid difficulty", false);
    error("suggest_difficulty empty", Sub,
          [](S) { return line(R"({"id":7,"method":"mining.suggest_difficulty","params":[]})"); }, 20,
          "Invalid difficulty", false);
    closed("suggest_difficulty number beyond a double", Sub,
           [](S) { return line(R"({"id":7,"method":"mining.suggest_difficulty","params":[1e400]})"); },
           "line is not JSON");
    exact("suggest_difficulty huge but finite is accepted", Sub,
          [](S) { return line(R"({"id":7,"method":"mining.suggest_difficulty","params":[1e300]})"); },
          R"({"id":7,"result":true,"error":null})");
    error("configure with params not an array of codes", C,
          [](S) { return line(R"({"id":7,"method":"mining.configure","params":["version-rolling",{}]})"); }, 20,
          "Invalid configure params", false);
    exact("configure with a mask of all ones gets the server mask", C,
          [](S) {
              return line(
                  R"({"id":7,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"ffffffff"}]})");
          },
          R"({"id":7,"result":{"version-rolling":true,"version-rolling.mask":"1fffe000"},"error":null})");
    exact("configure with a non-hex mask", C,
          [](S) {
              return line(
                  R"({"id":7,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"zzzzzzzz"}]})");
          },
          R"({"id":7,"result":{"version-rolling":false},"error":null})");
    exact("configure with a nine-digit mask", C,
          [](S) {
              return line(
                  R"({"id":7,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"1fffe0000"}]})");
          },
          R"({"id":7,"result":{"version-rolling":false},"error":null})");
    exact("configure with a numeric mask", C,
          [](S) {
              return line(
                  R"({"id":7,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":536862720}]})");
          },
          R"({"id":7,"result":{"version-rolling":false},"error":null})");
    exact("configure with an absurd minimum difficulty", C,
          [](S) {
              return line(
                  R"({"id":7,"method":"mining.configure","params":[["minimum-difficulty"],{"minimum-difficulty.value":-1}]})");
          },
          R"({"id":7,"result":{"minimum-difficulty":false},"error":null})");
    {
        std::string codes, reply;
        for (int i = 0; i < 200; ++i) codes += (i ? ",\"x" : "\"x") + std::to_string(i) + "\"";
        for (std::size_t i = 0; i < max_configure_extensions; ++i)
            reply += (i ? ",\"x" : "\"x") + std::to_string(i) + "\":false";
        exact("configure with 200 unknown extensions answers only the first ones", C,
              [codes](S) { return line(R"({"id":7,"method":"mining.configure","params":[[)" + codes + "],{}]}"); },
              R"({"id":7,"result":{)" + reply + R"(},"error":null})");
    }
    return v;
}

// Brings a hostile session to the case's starting state.
void prepare(session_client& h, start_at at) {
    if (at == start_at::configured) h.configure();
    if (at != start_at::connected) h.subscribe();
    if (at == start_at::authorized || at == start_at::configured) h.authorize();
}

void run_case(const hostile_case& hc) {
    hostile_fixture f(
        [](server_options& o) {
            o.line_timeout = 300ms;  // the CR-only case ends on it
        },
        hc.username_mode ? config::payout_mode::address_username : config::payout_mode::fixed_address);
    auto good = good_miner(f, hc.username_mode ? std::string(payout_address) + ".good" : "good");
    session_client h(hc.hard ? f.hard : f.easy);
    prepare(h, hc.start);

    const bool sent = h.c.try_send(hc.bytes(h));
    // During: the good miner's share is judged while the hostile bytes are handled.
    good->expect_accepted();

    switch (hc.expect) {
        case answer::error: {
            CHECK(sent);
            auto d = h.reply_to(7);
            CHECK(d["result"].IsNull() == !hc.reject_reason);
            CHECK(d["result"].IsFalse() == hc.reject_reason);
            REQUIRE(d["error"].IsArray());
            REQUIRE(d["error"].Size() == 3);
            CHECK(d["error"][0].GetInt() == hc.code);
            CHECK(std::string(d["error"][1].GetString()) == hc.message);
            CHECK(d["error"][2].IsNull());
            CHECK(d.HasMember("reject-reason") == hc.reject_reason);
            if (hc.reject_reason) CHECK(std::string(d["reject-reason"].GetString()) == hc.message);
            // The session goes on.
            h.c.send_line(R"({"id":8,"method":"mining.extranonce.subscribe","params":[]})");
            CHECK(h.reply_to(8)["result"].IsTrue());
            break;
        }
        case answer::exact: {
            CHECK(sent);
            std::optional<std::string> got;
            while ((got = h.c.read_line()) && got->find(R"("id":null)") != std::string::npos) {
            }
            REQUIRE(got);
            CHECK(*got == hc.message);
            h.c.send_line(R"({"id":8,"method":"mining.extranonce.subscribe","params":[]})");
            CHECK(h.reply_to(8)["result"].IsTrue());
            break;
        }
        case answer::closed:
            CHECK(h.c.closed_by_server());
            CHECK(hostile_fixture::eventually([&] { return f.logged(hc.message); }));
            // One misbehaving session scores its IP but stays under the ban threshold (the
            // good miner from the same IP would only withhold a ban, and that is logged).
            CHECK_FALSE(f.banned());
            CHECK_FALSE(f.logged("not banned although"));
            break;
    }
    // After: the good miner mines on, and gets new work.
    good_miner_keeps_mining(f, *good);
}

}  // namespace

TEST_CASE("stratum hostile: every case of the table gets its specified answer and the good miner mines on") {
    const auto cases = hostile_cases();
    CHECK(cases.size() >= 30);
    for (const auto& hc : cases) {
        INFO("case: ", hc.name);
        run_case(hc);
    }
    MESSAGE(cases.size(), " hostile cases run");
}

TEST_CASE("stratum hostile: a duplicate share is rejected with 22") {
    hostile_fixture f;
    auto good = good_miner(f);
    session_client h(f.easy);
    h.subscribe();
    h.authorize();
    const auto share = h.submit_line(7, en2_ok, h.job.ntime_hex, "0000abcd");
    h.c.send_line(share);
    CHECK(h.reply_to(7)["result"].IsTrue());
    good->expect_accepted();
    h.c.send_line(share);
    auto d = h.reply_to(7);
    CHECK(d["result"].IsFalse());
    CHECK(d["error"][0].GetInt() == 22);
    CHECK(std::string(d["error"][1].GetString()) == "Duplicate share");
    CHECK(std::string(d["reject-reason"].GetString()) == "Duplicate share");
    good_miner_keeps_mining(f, *good);
}

TEST_CASE("stratum hostile: a share on a job from before a new tip is stale with 21") {
    hostile_fixture f;
    auto good = good_miner(f);
    session_client h(f.easy);
    h.subscribe();
    h.authorize();
    const auto old_job = h.job;
    f.new_template(true);
    h.wait_notify(true);
    good->wait_notify(true);
    CHECK(h.job.id != old_job.id);
    h.c.send_line(h.submit_line(7, en2_ok, old_job.ntime_hex, "00000001", std::nullopt, old_job.id));
    auto d = h.reply_to(7);
    CHECK(d["error"][0].GetInt() == 21);
    CHECK(std::string(d["reject-reason"].GetString()) == "Job not found");
    good_miner_keeps_mining(f, *good);
}

TEST_CASE("stratum hostile: a miner that sends 1,000 stale shares after a new block is neither closed nor banned") {
    // A single scored close would ban: the threshold is one garbage session.
    hostile_fixture f([](server_options& o) { o.bans.threshold = ban_score_garbage; });
    session_client h(f.easy);
    h.subscribe();
    h.authorize();
    h.expect_accepted();
    const auto old_job = h.job;
    f.new_template(true);
    h.wait_notify(true);
    REQUIRE(h.job.id != old_job.id);
    // The firmware keeps submitting what it found on the old job (Bitcoin Core run: 500
    // "Job not found" in a row closed the miner and banned its IP).
    std::string stale;
    for (std::uint32_t i = 0; i < 1000; ++i)
        stale += h.submit_line(1000 + i, en2_ok, old_job.ntime_hex, hex_of(i), std::nullopt, old_job.id) + "\n";
    h.c.send(stale);
    for (std::uint32_t i = 0; i < 1000; ++i) {
        auto d = h.reply_to(1000 + i);  // every one answered, in order
        REQUIRE(d["error"].IsArray());
        REQUIRE(d["error"][0].GetInt() == 21);
    }
    // Its next valid share is accepted, on the same connection.
    h.expect_accepted();
    CHECK(f.srv->connection_count() == 1);
    CHECK_FALSE(f.banned());
    CHECK_FALSE(f.logged(": closed:"));
    // And the server still bans: one garbage session reaches this threshold.
    h.c.send_line("garbage");
    CHECK(h.c.closed_by_server());
    CHECK(hostile_fixture::eventually([&] { return f.banned(); }));
}

TEST_CASE("stratum hostile: a flood of rejected shares is paced, never closed nor banned") {
    hostile_fixture f([](server_options& o) {
        o.rejected_submit_burst = 20;
        o.rejected_submits_per_s = 2000;
        o.bans.threshold = ban_score_garbage;
    });
    auto good = good_miner(f);
    session_client h(f.easy);
    h.subscribe();
    h.authorize();
    // Far past the burst: ntime below the job's, every one rejected (20).
    std::string flood;
    for (std::uint32_t i = 0; i < 600; ++i)
        flood += h.submit_line(1000 + i, en2_ok, hex_of(h.job.ntime - 1), hex_of(i)) + "\n";
    CHECK(h.c.try_send(flood));
    good->expect_accepted();  // during the flood: pacing is per session
    for (std::uint32_t i = 0; i < 600; ++i) {
        auto d = h.reply_to(1000 + i);
        REQUIRE(d["error"].IsArray());
        REQUIRE(d["error"][0].GetInt() == 20);
    }
    CHECK(hostile_fixture::eventually([&] { return f.logged("reading is paused between them"); }));
    CHECK(f.log_count("reading is paused between them") == 1);  // once per connection
    h.expect_accepted();
    CHECK(f.srv->connection_count() == 2);
    CHECK_FALSE(f.banned());
    good_miner_keeps_mining(f, *good);
}

TEST_CASE("stratum hostile: a flood of error replies closes the session and scores the IP like a garbage line") {
    hostile_fixture f;
    const int needed = static_cast<int>((ban_threshold + ban_score_error_flood - 1) / ban_score_error_flood);
    REQUIRE(needed > 1);
    for (int i = 0; i < needed; ++i) {
        CHECK_FALSE(f.banned());  // one flood session does not ban on its own
        session_client h(f.easy);
        h.subscribe();
        std::string flood;
        for (std::uint32_t k = 0; k <= max_consecutive_errors; ++k)
            flood += R"({"id":7,"method":"mining.no_such_method","params":[]})" "\n";
        h.c.try_send(flood);
        CHECK(h.c.closed_by_server());
        REQUIRE(hostile_fixture::eventually([&] { return f.srv->connection_count() == 0; }));
    }
    CHECK(f.logged("error replies in a row"));
    CHECK(hostile_fixture::eventually([&] { return f.banned(); }));
}

TEST_CASE("stratum hostile: error replies interleaved with good requests do not close the session") {
    hostile_fixture f;
    session_client h(f.easy);
    h.subscribe();
    std::string mixed;
    for (std::uint32_t i = 0; i < 3 * max_consecutive_errors; ++i)
        mixed += i % 50 == 49 ? R"({"id":7,"method":"mining.extranonce.subscribe","params":[]})" "\n"
                              : R"({"id":7,"method":"mining.no_such_method","params":[]})" "\n";
    mixed += R"({"id":8,"method":"mining.extranonce.subscribe","params":[]})" "\n";
    h.c.send(mixed);
    CHECK(h.reply_to(7)["error"][0].GetInt() == 20);  // the first reply
    bool seen = false;
    for (int i = 0; i < 3 * static_cast<int>(max_consecutive_errors) && !seen; ++i) {
        auto l = h.c.read_line();
        REQUIRE(l);
        seen = l->find(R"("id":8)") != std::string::npos;
    }
    CHECK(seen);
    CHECK_FALSE(f.banned());
}

TEST_CASE("stratum hostile: repeated garbage sessions from one IP add up to a ban that refuses connections until it expires") {
    hostile_fixture f([](server_options& o) { o.bans.duration = 1500ms; });
    const int needed = static_cast<int>((ban_threshold + ban_score_garbage - 1) / ban_score_garbage);
    for (int i = 0; i < needed; ++i) {
        CHECK_FALSE(f.banned());
        client bad(f.easy);
        bad.try_send("GET / HTTP/1.1\r\n\r\n");
        CHECK(bad.closed_by_server());
        REQUIRE(hostile_fixture::eventually([&] { return f.srv->connection_count() == 0; }));
    }
    REQUIRE(hostile_fixture::eventually([&] { return f.banned(); }));
    auto bans = f.srv->bans();
    REQUIRE(bans.size() == 1);
    CHECK(bans[0].ip == "127.0.0.1");
    CHECK(bans[0].reason.find("line is not JSON") != std::string::npos);
    CHECK(bans[0].until > std::chrono::system_clock::now());
    CHECK(f.logged("127.0.0.1: banned for"));

    // A banned IP is closed right after accept, before anything is read or answered.
    client refused(f.easy);
    refused.try_send(R"({"id":1,"method":"mining.subscribe","params":[]})" "\n");
    CHECK(refused.closed_by_server());
    CHECK(f.logged("refused: banned"));
    CHECK(f.srv->bans().at(0).refused >= 1);

    // The ban expires.
    REQUIRE(hostile_fixture::eventually([&] { return !f.banned(); }));
    session_client again(f.easy);
    again.subscribe();
    again.authorize();
    again.expect_accepted();
}

TEST_CASE("stratum hostile: a miner that is mining keeps its IP from being banned for another client's garbage") {
    hostile_fixture f;
    auto good = good_miner(f);
    const int needed = static_cast<int>((ban_threshold + ban_score_garbage - 1) / ban_score_garbage);
    for (int i = 0; i < 3 * needed; ++i) {
        client bad(f.easy);
        bad.try_send("GET / HTTP/1.1\r\n\r\n");
        CHECK(bad.closed_by_server());  // each garbage session is still closed
        REQUIRE(hostile_fixture::eventually([&] { return f.srv->connection_count() == 1; }));
    }
    CHECK_FALSE(f.banned());
    CHECK(f.log_count("not banned although") == 3);  // once each time the threshold was reached
    good_miner_keeps_mining(f, *good);
    // Another miner from the same IP (the farm behind one NAT) is served.
    auto other = std::make_unique<session_client>(f.easy);
    other->subscribe();
    other->authorize("other");
    other->expect_accepted();

    // Once no session from the address is mining, the same garbage bans it: a subscribed
    // session without an accepted share vouches for nothing.
    session_client idle(f.easy);
    idle.subscribe();
    good.reset();
    other.reset();
    REQUIRE(hostile_fixture::eventually([&] { return f.srv->connection_count() == 1; }));
    for (int i = 0; i < needed; ++i) {
        client bad(f.easy);
        bad.try_send("GET / HTTP/1.1\r\n\r\n");
        CHECK(bad.closed_by_server());
        REQUIRE(hostile_fixture::eventually([&] { return f.srv->connection_count() == 1; }));
    }
    CHECK(hostile_fixture::eventually([&] { return f.banned(); }));
}

namespace {

// Opens a connection with a real TLS ClientHello (OpenSSL, as cgminer-family firmware
// does before it falls back to plain TCP). True when the handshake failed because the
// server closed the connection (a plain listener never answers a ServerHello).
bool tls_hello_closed(std::uint16_t port) {
    asio::io_context io;
    ssl::context ctx(ssl::context::tls_client);
    ctx.set_verify_mode(ssl::verify_none);
    ssl::stream<tcp::socket> s(io, ctx);
    boost::system::error_code ec;
    s.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    REQUIRE_MESSAGE(!ec, ec.message());
    bool done = false;
    s.async_handshake(ssl::stream_base::client, [&](const boost::system::error_code& e) {
        done = true;
        ec = e;
    });
    io.run_for(test::read_limit);
    return done && ec;
}

}  // namespace

TEST_CASE("stratum hostile: a TLS ClientHello 20 times from one IP scores nothing, and a good miner from it is served") {
    // Loopback bans on (the default) and a threshold a single garbage session reaches:
    // if a ClientHello scored anything, 127.0.0.1 would be banned after the first.
    hostile_fixture f([](server_options& o) {
        REQUIRE(o.ban_loopback);
        o.bans.threshold = ban_score_garbage;
    });
    for (int i = 0; i < 20; ++i) {
        CHECK(tls_hello_closed(f.easy));
        REQUIRE(hostile_fixture::eventually([&] { return f.srv->connection_count() == 0; }));
    }
    CHECK_FALSE(f.banned());
    // Logged once for the address, not once per connection.
    CHECK(f.log_count("a TLS handshake on a plain Stratum listener") == 1);
    CHECK_FALSE(f.logged("refused: banned"));

    // A good miner from the same IP: subscribes, authorizes, gets a job, mines.
    {
        session_client g(f.easy);
        g.subscribe();
        g.authorize("farm-miner");
        CHECK_FALSE(g.job.id.empty());
        g.expect_accepted();
    }
    REQUIRE(hostile_fixture::eventually([&] { return f.srv->connection_count() == 0; }));

    // The ban path is live in this server: one garbage session bans 127.0.0.1.
    client bad(f.easy);
    bad.try_send("\x16garbage that is not a TLS record\n");
    CHECK(bad.closed_by_server());
    CHECK(hostile_fixture::eventually([&] { return f.banned(); }));
}

TEST_CASE("stratum hostile: connections that never subscribe are closed without ban score") {
    hostile_fixture f([](server_options& o) {
        o.subscribe_timeout = 200ms;
        o.bans.threshold = 1;  // any score bans
    });
    for (int i = 0; i < 5; ++i) {
        client idle(f.easy);
        CHECK(idle.closed_by_server());
    }
    CHECK(f.logged("no mining.subscribe within the subscribe timeout"));
    REQUIRE(hostile_fixture::eventually([&] { return f.srv->connection_count() == 0; }));
    CHECK_FALSE(f.banned());
    session_client ok(f.easy);
    ok.subscribe();
}

TEST_CASE("stratum hostile: the chain's ban threshold, ban duration and per-IP cap from the config are honoured") {
    auto r = config::load_text(R"({ "chains": [ {
        "network": "bitcoin-regtest",
        "nodes": [ { "rpc_url": "http://127.0.0.1:18443", "rpc_user": "u", "rpc_password": "p" } ],
        "payout": { "address": "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080" },
        "stratum": [ { "listen": "127.0.0.1:3333" } ],
        "stratum_ban_threshold": 50, "stratum_ban_duration_s": 1, "stratum_max_connections_per_ip": 3 } ] })",
                               "bans.json");
    REQUIRE(r.value);
    const server_options configured = server_options_for(r.value->chains[0]);
    hostile_fixture f([&](server_options& o) {
        o.bans = configured.bans;
        o.ban_loopback = configured.ban_loopback;
        o.max_connections_per_ip = configured.max_connections_per_ip;
    });
    // The per-IP cap: three connections, the fourth is refused.
    {
        std::vector<std::unique_ptr<session_client>> three;
        for (int i = 0; i < 3; ++i) {
            three.push_back(std::make_unique<session_client>(f.easy));
            three.back()->subscribe();
        }
        client fourth(f.easy);
        CHECK(fourth.closed_by_server());
        CHECK(f.logged("per-IP connection cap reached"));
        CHECK(f.srv->connection_count() == 3);
    }
    REQUIRE(hostile_fixture::eventually([&] { return f.srv->connection_count() == 0; }));
    // The threshold: two garbage sessions (25 each) ban, where the default needs four.
    for (int i = 0; i < 2; ++i) {
        CHECK_FALSE(f.banned());
        client bad(f.easy);
        bad.try_send("garbage\n");
        CHECK(bad.closed_by_server());
        REQUIRE(hostile_fixture::eventually([&] { return f.srv->connection_count() == 0; }));
    }
    REQUIRE(hostile_fixture::eventually([&] { return f.banned(); }));
    CHECK(f.logged("127.0.0.1: banned for 1 s"));
    // The duration: one second.
    const auto until = f.srv->bans().at(0).until;
    CHECK(until <= std::chrono::system_clock::now() + 1s);
    CHECK(hostile_fixture::eventually([&] { return !f.banned(); }));
    session_client again(f.easy);
    again.subscribe();
}

TEST_CASE("stratum hostile: loopback can be exempted from bans") {
    hostile_fixture f([](server_options& o) { o.ban_loopback = false; });
    for (int i = 0; i < 6; ++i) {
        client bad(f.easy);
        bad.try_send("garbage\n");
        CHECK(bad.closed_by_server());
    }
    REQUIRE(hostile_fixture::eventually([&] { return f.srv->connection_count() == 0; }));
    CHECK_FALSE(f.banned());
    session_client ok(f.easy);
    ok.subscribe();
}

TEST_CASE("stratum hostile: slowloris bytes without a newline are closed at the line deadline") {
    hostile_fixture f([](server_options& o) {
        o.line_timeout = 300ms;
        o.subscribe_timeout = 30s;
    });
    auto good = good_miner(f);
    session_client h(f.easy);
    h.subscribe();
    const std::string partial = R"({"id":7,"method":"mining.extranonce.subscribe","params":[])";
    bool alive = true;
    for (std::size_t i = 0; i < partial.size() && alive; ++i) {
        alive = h.c.try_send(partial.substr(i, 1));
        std::this_thread::sleep_for(40ms);
    }
    CHECK(h.c.closed_by_server());
    CHECK(hostile_fixture::eventually([&] { return f.logged("slowloris"); }));
    good_miner_keeps_mining(f, *good);
}

TEST_CASE("stratum hostile: one byte at a time before subscribe is closed by the subscribe timeout") {
    hostile_fixture f([](server_options& o) {
        o.subscribe_timeout = 400ms;
        o.line_timeout = 30s;
    });
    auto good = good_miner(f);
    client h(f.easy);
    const std::string req = R"({"id":1,"method":"mining.subscribe","params":[]})";
    bool alive = true;
    for (std::size_t i = 0; i < req.size() && alive; ++i) {
        alive = h.try_send(req.substr(i, 1));
        std::this_thread::sleep_for(30ms);
    }
    CHECK(h.closed_by_server());
    CHECK(hostile_fixture::eventually([&] { return f.logged("no mining.subscribe within the subscribe timeout"); }));
    good_miner_keeps_mining(f, *good);
}

TEST_CASE("stratum hostile: complete lines split across reads outlive the line deadline") {
    hostile_fixture f([](server_options& o) { o.line_timeout = 300ms; });
    session_client h(f.easy);
    h.subscribe();
    // Every line arrives in two pieces 100 ms apart; together they take far longer than
    // the line deadline, which runs per line.
    const std::string req = R"({"id":7,"method":"mining.extranonce.subscribe","params":[]})" "\n";
    for (int i = 0; i < 8; ++i) {
        h.c.send(req.substr(0, 20));
        std::this_thread::sleep_for(100ms);
        h.c.send(req.substr(20));
        CHECK(h.reply_to(7)["result"].IsTrue());
    }
    CHECK(f.srv->connection_count() == 1);
}

TEST_CASE("stratum hostile: a connection flood from one IP stops at the per-IP cap") {
    constexpr std::size_t cap = 8;
    hostile_fixture f([](server_options& o) { o.max_connections_per_ip = cap; });
    auto good = good_miner(f);
    std::vector<std::unique_ptr<client>> flood;
    for (int i = 0; i < 40; ++i) flood.push_back(std::make_unique<client>(f.easy));
    // The good miner holds one of the cap's connections; the rest of the flood is closed.
    std::vector<bool> closed(flood.size(), false);
    auto count_closed = [&] {
        std::size_t n = 0;
        for (std::size_t i = 0; i < flood.size(); ++i) {
            if (!closed[i]) {
                flood[i]->read_line(1ms);
                closed[i] = flood[i]->eof();
            }
            n += closed[i] ? 1 : 0;
        }
        return n;
    };
    const std::size_t expected = flood.size() - (cap - 1);
    CHECK(hostile_fixture::eventually([&] { return count_closed() == expected; }));
    std::this_thread::sleep_for(200ms);
    CHECK(count_closed() == expected);
    CHECK(f.logged("per-IP connection cap reached"));
    CHECK(f.srv->connection_count() == cap);
    CHECK_FALSE(f.banned());  // refusals at the cap are not misbehaviour
    good_miner_keeps_mining(f, *good);
    flood.clear();
    REQUIRE(hostile_fixture::eventually([&] { return f.srv->connection_count() == 1; }));
}

TEST_CASE("stratum hostile: pipelined requests from a client that never reads are dropped with bounded memory") {
    hostile_fixture f([](server_options& o) {
        o.write_queue_limit = 64 * 1024;
        o.write_stall_timeout = 300ms;
    });
    auto good = good_miner(f);
    asio::io_context io;
    tcp::socket s(io);
    s.open(tcp::v4());
    s.set_option(asio::socket_base::receive_buffer_size(4096));
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), f.easy));
    asio::write(s, asio::buffer(std::string(R"({"id":1,"method":"mining.subscribe","params":[]})" "\n")));
    s.non_blocking(true);
    std::string batch;
    while (batch.size() < 64 * 1024) batch += R"({"id":7,"method":"mining.extranonce.subscribe","params":[]})" "\n";
    std::size_t offset = 0;  // into batch, which is sent over and over
    // Write until the server stops reading (our writes would block for a while) or the
    // server drops the connection.
    std::size_t sent = 0;
    auto blocked_since = std::chrono::steady_clock::now();
    bool dropped = false;
    while (!dropped && sent < 256u * 1024 * 1024) {
        boost::system::error_code ec;
        const auto n = s.write_some(asio::buffer(batch.data() + offset, batch.size() - offset), ec);
        if (ec == asio::error::would_block) {
            if (std::chrono::steady_clock::now() - blocked_since > 3s) break;
            std::this_thread::sleep_for(5ms);
            continue;
        }
        if (ec) {
            dropped = true;
            break;
        }
        sent += n;
        offset = (offset + n) % batch.size();
        blocked_since = std::chrono::steady_clock::now();
    }
    CHECK(hostile_fixture::eventually([&] { return f.srv->connection_count() == 1; }));
    CHECK(hostile_fixture::eventually([&] { return f.logged("slow reader"); }));
    // Never more than the write queue cap held for it, whatever was pipelined.
    MESSAGE("bytes pipelined before the drop: ", sent, std::string(f.logged("write stalled") ? " (write stalled)" : " (write queue cap)"));

    good_miner_keeps_mining(f, *good);
}

TEST_CASE("stratum hostile: the ban list bans at the threshold and expires bans") {
    ban_settings st;
    st.threshold = 100;
    st.duration = 10s;
    st.score_memory = 60s;
    ban_list b(st);
    const auto t0 = ban_list::clock::now();
    CHECK(b.add("10.0.0.1", 60, "garbage", t0) == ban_outcome::scored);
    CHECK_FALSE(b.banned("10.0.0.1", t0));
    CHECK(b.add("10.0.0.1", 40, "garbage again", t0 + 1s) == ban_outcome::banned);
    CHECK(b.banned("10.0.0.1", t0 + 2s));
    CHECK(b.add("10.0.0.1", 100, "while banned", t0 + 2s) == ban_outcome::scored);  // already banned
    CHECK_FALSE(b.banned("10.0.0.2", t0 + 2s));
    CHECK(b.bans(t0 + 2s).at(0).reason == "garbage again");
    CHECK(b.banned("10.0.0.1", t0 + 1s + 10s - 1ms));
    CHECK_FALSE(b.banned("10.0.0.1", t0 + 1s + 10s));
    CHECK(test::access<ban_list>::banned_count(b) == 0);
}

TEST_CASE("stratum hostile: the ban list withholds a ban from a vouched address and starts its score again") {
    ban_settings st;
    st.threshold = 100;
    ban_list b(st);
    const auto t0 = ban_list::clock::now();
    CHECK(b.add("10.0.0.1", 60, "garbage", t0, true) == ban_outcome::scored);
    CHECK(b.add("10.0.0.1", 60, "garbage", t0 + 1s, true) == ban_outcome::withheld);
    CHECK_FALSE(b.banned("10.0.0.1", t0 + 1s));
    CHECK(test::access<ban_list>::banned_count(b) == 0);
    // The score started again from 0: 60 more is under the threshold, even unvouched.
    CHECK(b.add("10.0.0.1", 60, "garbage", t0 + 2s) == ban_outcome::scored);
    CHECK(b.add("10.0.0.1", 60, "garbage", t0 + 3s) == ban_outcome::banned);
    // Bans off: nothing is scored at all.
    ban_settings off;
    off.enabled = false;
    ban_list n(off);
    CHECK(n.add("10.0.0.1", 1000, "x", t0) == ban_outcome::scored);
    CHECK_FALSE(n.banned("10.0.0.1", t0));
}

TEST_CASE("stratum hostile: ban scores are forgotten after the score memory") {
    ban_settings st;
    st.threshold = 100;
    st.score_memory = 60s;
    ban_list b(st);
    const auto t0 = ban_list::clock::now();
    CHECK(b.add("10.0.0.1", 90, "x", t0) == ban_outcome::scored);
    CHECK(b.add("10.0.0.1", 90, "x", t0 + 60s) == ban_outcome::scored);  // the first 90 is forgotten
    CHECK(b.add("10.0.0.1", 10, "x", t0 + 61s) == ban_outcome::banned);
}

TEST_CASE("stratum hostile: the ban list is bounded and evicts the oldest") {
    ban_settings st;
    st.threshold = 1;
    st.duration = 3600s;
    st.max_banned = 3;
    st.max_scored = 2;
    ban_list b(st);
    const auto t0 = ban_list::clock::now();
    for (int i = 1; i <= 5; ++i)
        CHECK(b.add("10.0.0." + std::to_string(i), 1, "x", t0 + std::chrono::seconds(i)) == ban_outcome::banned);
    CHECK(test::access<ban_list>::banned_count(b) == 3);
    CHECK_FALSE(b.banned("10.0.0.1", t0 + 10s));
    CHECK_FALSE(b.banned("10.0.0.2", t0 + 10s));
    CHECK(b.banned("10.0.0.5", t0 + 10s));
    // Scores alone are bounded too.
    ban_settings hs;
    hs.threshold = 100;
    hs.max_scored = 2;
    ban_list s(hs);
    for (int i = 1; i <= 10; ++i) s.add("10.1.0." + std::to_string(i), 50, "x", t0);
    CHECK(test::access<ban_list>::scored_count(s) == 2);
    CHECK(s.add("10.1.0.10", 50, "x", t0) == ban_outcome::banned);  // the newest scores were kept
}

TEST_CASE("stratum hostile: quiet closes are logged once per key, then once per interval with a count") {
    quiet_close_log q(10min, 2);
    const auto t0 = quiet_close_log::clock::now();
    std::uint64_t suppressed = 99;
    CHECK(q.note("10.0.0.1 tls-on-plain", t0, suppressed));
    CHECK(suppressed == 0);
    for (int i = 1; i <= 5; ++i) CHECK_FALSE(q.note("10.0.0.1 tls-on-plain", t0 + std::chrono::seconds(i), suppressed));
    CHECK(q.note("10.0.0.2 tls-on-plain", t0 + 1s, suppressed));  // another key: its own first line
    CHECK_FALSE(q.note("10.0.0.1 tls-on-plain", t0 + 10min - 1ms, suppressed));
    CHECK(q.note("10.0.0.1 tls-on-plain", t0 + 10min, suppressed));
    CHECK(suppressed == 6);
    CHECK_FALSE(q.note("10.0.0.1 tls-on-plain", t0 + 10min + 1s, suppressed));
    // Bounded: a third key evicts the least recently logged one (10.0.0.2).
    CHECK(q.note("10.0.0.3 tls-on-plain", t0 + 10min + 2s, suppressed));
    CHECK(q.size() == 2);
    CHECK(q.note("10.0.0.2 tls-on-plain", t0 + 10min + 3s, suppressed));  // forgotten: logged again
    CHECK_FALSE(q.note("10.0.0.3 tls-on-plain", t0 + 10min + 4s, suppressed));
}
