// The Stratum server over real loopback sockets, with scripted clients that behave like
// the real ones in stratum.md §4 and §7 (cpuminer capture in stratum_cpuminer.json).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <rapidjson/document.h>

#include "bridge_access.hpp"
#include "sb/core/pow.hpp"
#include "sb/core/uint256.hpp"
#include "self_signed_cert.hpp"
#include "stratum/protocol_common.hpp"
#include "stratum/server.hpp"
#include "stratum_test_client.hpp"
#include "stratum_test_support.hpp"
#include "vectors.hpp"

using namespace sb;
using namespace sb::bridge;
using namespace sb::bridge::stratum;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

namespace {

using test::read_limit;

// A server on 127.0.0.1:0 run by two I/O threads, fed by a scripted source.
struct server_fixture {
    explicit server_fixture(const std::function<void(server_options&)>& tweak = {}) {
        server_options o;
        config::stratum_listener l;
        l.listen = {"127.0.0.1", 0};
        l.difficulty.initial = 0.004;
        l.difficulty.min = 1e-6;
        o.listeners.push_back(l);
        o.log = [this](std::string_view s) {
            std::lock_guard lock(log_mutex);
            log_lines.emplace_back(s);
        };
        if (tweak) tweak(o);
        srv = std::make_unique<server>(io, source, o);
        const auto ec = srv->start();
        REQUIRE_MESSAGE(!ec, ec.message());
        port = srv->listeners().at(0).port;
        REQUIRE(port != 0);
        for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
    }
    ~server_fixture() {
        srv->stop();
        guard.reset();
        srv.reset();
        io.stop();
        for (auto& t : threads) t.join();
    }

    bool logged(std::string_view needle) const { return log_count(needle) > 0; }
    std::size_t log_count(std::string_view needle) const {
        std::lock_guard lock(log_mutex);
        std::size_t n = 0;
        for (const auto& l : log_lines) n += l.find(needle) != std::string::npos ? 1 : 0;
        return n;
    }

    // Waits (bounded) until pred holds.
    static bool eventually(const std::function<bool()>& pred) {
        const auto until = std::chrono::steady_clock::now() + read_limit;
        while (std::chrono::steady_clock::now() < until) {
            if (pred()) return true;
            std::this_thread::sleep_for(5ms);
        }
        return pred();
    }

    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
    std::shared_ptr<test::scripted_source> source = std::make_shared<test::scripted_source>();
    std::unique_ptr<server> srv;
    std::uint16_t port = 0;
    std::vector<std::thread> threads;
    mutable std::mutex log_mutex;
    std::vector<std::string> log_lines;
};

using client = test::stratum_client;
using tls_client = test::stratum_tls_client;

std::string method_of(const rapidjson::Document& d) {
    return d.HasMember("method") && d["method"].IsString() ? d["method"].GetString() : "";
}

// The subscribe result shape every SHA-256d client parses (stratum.md §2.2).
void check_subscribe_result(const rapidjson::Document& d, std::int64_t id, unsigned en2_size) {
    REQUIRE(d["id"].IsInt64());
    CHECK(d["id"].GetInt64() == id);
    CHECK(d["error"].IsNull());
    const auto& r = d["result"];
    REQUIRE(r.IsArray());
    REQUIRE(r.Size() == 3);
    REQUIRE(r[0].IsArray());
    REQUIRE(r[0].Size() == 2);
    CHECK(std::string(r[0][0][0].GetString()) == "mining.set_difficulty");
    CHECK(std::string(r[0][1][0].GetString()) == "mining.notify");
    CHECK(r[0][1][1].IsString());
    REQUIRE(r[1].IsString());
    CHECK(r[1].GetStringLength() == 8);
    REQUIRE(r[2].IsUint());
    CHECK(r[2].GetUint() == en2_size);
}

void check_true_reply(const rapidjson::Document& d, std::int64_t id) {
    REQUIRE(d["id"].IsInt64());
    CHECK(d["id"].GetInt64() == id);
    CHECK(d["result"].IsTrue());
    CHECK(d["error"].IsNull());
}

// The notify shape cpuminer insists on (stratum.md §2.5).
void check_notify(const rapidjson::Document& d, const std::string& job_id, bool clean) {
    REQUIRE(method_of(d) == "mining.notify");
    CHECK(d["id"].IsNull());
    const auto& p = d["params"];
    REQUIRE(p.Size() == 9);
    CHECK(std::string(p[0].GetString()) == job_id);
    CHECK(p[1].GetStringLength() == 64);
    CHECK(p[4].IsArray());
    CHECK(p[5].GetStringLength() == 8);
    CHECK(p[6].GetStringLength() == 8);
    CHECK(p[7].GetStringLength() == 8);
    CHECK(p[8].IsBool());
    CHECK(p[8].GetBool() == clean);
}

std::shared_ptr<const job> renamed(const std::shared_ptr<const job>& base, const std::string& id, bool clean = false) {
    auto j = std::make_shared<job>(*base);
    j->id = id;
    j->clean = clean;
    return j;
}

}  // namespace

TEST_CASE("stratum: a cpuminer session replayed from the capture gets answers of the right shapes") {
    server_fixture f([](server_options& o) { o.extranonce2_size = 4; });
    f.source->push_job(test::cpuminer_job(4, "11"));
    const auto& v = test::vector_json("stratum_cpuminer.json");

    client c(f.port);
    // cpuminer's own spacing and key order (stratum.md §7).
    c.send_line(R"({"id": 1, "method": "mining.subscribe", "params": ["cpuminer/2.5.1"]})");
    auto sub = c.read_json();
    check_subscribe_result(sub, 1, 4);
    CHECK(std::string(sub["result"][1].GetString()) == v["extranonce1"].GetString());  // f0000001

    c.send_line(R"({"id": 2, "method": "mining.authorize", "params": ["x", "x"]})");
    check_true_reply(c.read_json(), 2);
    auto diff = c.read_json();
    REQUIRE(method_of(diff) == "mining.set_difficulty");
    CHECK(diff["id"].IsNull());
    CHECK(diff["params"][0].GetDouble() == doctest::Approx(0.004));
    auto notify = c.read_json();
    check_notify(notify, "11", true);
    CHECK(std::string(notify["params"][1].GetString()) == v["notify"]["prevhash"].GetString());
    CHECK(std::string(notify["params"][2].GetString()) == v["notify"]["coinb1"].GetString());

    // cpuminer answers a server request; the answer needs nothing back.
    c.send_line(R"({"id": "gv-1", "error": null, "result": "cpuminer/2.5.1"})");
    c.send_line(v["submit_request_raw"].GetString());
    auto ok = c.read_json();
    CHECK(ok["id"].GetInt() == 4);
    CHECK(ok["result"].IsTrue());
    CHECK(ok["error"].IsNull());
    // The second share (0.002332) is low at 0.004: error[1] is what cpuminer logs.
    c.send_line(v["second_submit_low_difficulty"]["raw"].GetString());
    auto low = c.read_json();
    CHECK(low["id"].GetInt() == 4);
    CHECK(low["result"].IsFalse());
    REQUIRE(low["error"].IsArray());
    CHECK(low["error"][0].GetInt() == 23);
    CHECK(std::string(low["error"][1].GetString()) == "Low difficulty share");
    CHECK(low["error"][2].IsNull());

    test::access<server>::broadcast_message(*f.srv, "hello from the bridge");
    auto msg = c.read_json();
    CHECK(method_of(msg) == "client.show_message");
    test::access<server>::broadcast_reconnect(*f.srv, "127.0.0.1", f.port, 0);
    auto rc = c.read_json();
    REQUIRE(method_of(rc) == "client.reconnect");
    CHECK(rc["params"][1].GetUint() == f.port);

    // The reconnect: cpuminer resubscribes with its old subscription id.
    client c2(f.port);
    c2.send_line(v["reconnect_resubscribe_raw"].GetString());
    auto sub2 = c2.read_json();
    check_subscribe_result(sub2, 1, 4);
    CHECK(std::string(sub2["result"][1].GetString()) != std::string(sub["result"][1].GetString()));

    auto shares = f.source->shares();
    REQUIRE(shares.size() == 2);
    CHECK(shares[0].nonce == 0x41234e01);
    CHECK(shares[0].difficulty == doctest::Approx(0.004));
}

TEST_CASE("stratum: ESP-Miner pipelines configure subscribe authorize and submits six params") {
    server_fixture f;
    f.source->push_job(test::cpuminer_job(8, "e1"));
    client c(f.port);
    c.send(R"({"id":1,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"ffffffff"}]})"
           "\n"
           R"({"id":2,"method":"mining.subscribe","params":["bitaxe/BM1368/v2.4.0-6-g04d027b"]})"
           "\n"
           R"({"id":3,"method":"mining.authorize","params":["bc1qworker.bitaxe","x"]})"
           "\n");
    auto conf = c.read_json();
    CHECK(conf["id"].GetInt() == 1);
    CHECK(conf["result"]["version-rolling"].IsTrue());
    CHECK(std::string(conf["result"]["version-rolling.mask"].GetString()) == "1fffe000");
    CHECK(conf["result"].MemberCount() == 2);
    check_subscribe_result(c.read_json(), 2, 8);
    check_true_reply(c.read_json(), 3);
    auto mask = c.read_json();
    CHECK(method_of(mask) == "mining.set_version_mask");
    CHECK(std::string(mask["params"][0].GetString()) == "1fffe000");
    CHECK(method_of(c.read_json()) == "mining.set_difficulty");
    check_notify(c.read_json(), "e1", true);

    c.send_line(R"({"id":4,"method":"mining.suggest_difficulty","params":[1000]})");
    check_true_reply(c.read_json(), 4);
    c.send_line(R"({"id":5,"method":"mining.extranonce.subscribe","params":[]})");
    check_true_reply(c.read_json(), 5);
    f.source->force_verdict(share_status::accepted);
    c.send_line(R"({"id":6,"method":"mining.submit","params":["bc1qworker.bitaxe","e1","0000000000000000","6b02c290","0000a1b2","00006000"]})");
    check_true_reply(c.read_json(), 6);
    // ESP-Miner's ping answer is a request-shaped "pong": ignored, the session goes on.
    c.send_line(R"({"id":7,"method":"pong","params":[]})");
    c.send_line(R"({"id":8,"method":"mining.multi_version","params":[1]})");
    check_true_reply(c.read_json(), 8);

    auto shares = f.source->shares();
    REQUIRE(shares.size() == 1);
    CHECK(shares[0].version == 0x20006000);
    CHECK(shares[0].version_mask == 0x1fffe000);
    CHECK(shares[0].extranonce2.size() == 8);
}

TEST_CASE("stratum: Braiins OS configures with id 0 and a four-param subscribe") {
    server_fixture f;
    f.source->push_job(test::cpuminer_job(8, "ahoj"));
    client c(f.port);
    c.send_line(R"({"id":0,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"1fffe000","version-rolling.min-bit-count":16}]})");
    auto conf = c.read_line();
    REQUIRE(conf);
    CHECK(*conf == R"({"id":0,"result":{"version-rolling":true,"version-rolling.mask":"1fffe000"},"error":null})");
    c.send_line(R"({"id":1,"method":"mining.subscribe","params":["Braiins OS 2019-06-05",null,"stratum.slushpool.com:3333",null]})");
    check_subscribe_result(c.read_json(), 1, 8);
    c.send_line(R"({"id":2,"method":"mining.authorize","params":["braiins.worker0","x"]})");
    check_true_reply(c.read_json(), 2);
    CHECK(method_of(c.read_json()) == "mining.set_version_mask");
    CHECK(method_of(c.read_json()) == "mining.set_difficulty");
    check_notify(c.read_json(), "ahoj", true);
    f.source->force_verdict(share_status::accepted);
    c.send_line(R"({"id":3,"method":"mining.submit","params":["braiins.worker0","ahoj","0000000000000000","5d10bc0a","0443c37b","00000000"]})");
    check_true_reply(c.read_json(), 3);
}

TEST_CASE("stratum: NerdMiner reads the first line as the subscribe result") {
    server_fixture f;
    client c(f.port);
    REQUIRE(server_fixture::eventually([&] { return f.srv->connection_count() == 1; }));
    // Unsolicited traffic before the subscribe reply would break NerdMiner: a broadcast
    // and a job arriving now must not reach it.
    test::access<server>::broadcast_message(*f.srv, "too early");
    f.source->push_job(test::cpuminer_job(8, "n1"));
    std::this_thread::sleep_for(50ms);
    c.send_line(R"({"id":1,"method":"mining.subscribe","params":["NerdMinerV2/1.6.3"]})");
    check_subscribe_result(c.read_json(), 1, 8);
    // Authorize and suggest_difficulty pipelined; the authorize reply is never read by it.
    c.send(R"({"id":2,"method":"mining.authorize","params":["bc1qnerd","x"]})"
           "\n"
           R"({"id":3,"method":"mining.suggest_difficulty","params":[0.00015]})"
           "\n");
    check_true_reply(c.read_json(), 2);
    CHECK(method_of(c.read_json()) == "mining.set_difficulty");
    check_notify(c.read_json(), "n1", true);
    check_true_reply(c.read_json(), 3);
    // Unpadded nonce from String(nonce, HEX) and the constant extranonce2.
    c.send_line(R"({"id":4,"method":"mining.submit","params":["bc1qnerd","n1","0000000000000001","6b02c290","1E01"]})");
    auto r = c.read_json();
    CHECK(r["id"].GetInt() == 4);
    auto shares = f.source->shares();
    REQUIRE(shares.size() == 1);
    CHECK(shares[0].nonce == 0x1e01);
}

TEST_CASE("stratum: WhatsMiner gets a configure reply with only the requested keys") {
    server_fixture f;
    client c(f.port);
    c.send_line(R"({"id": 196, "method": "mining.configure", "params": [["version-rolling"], {"version-rolling.mask": "1fffe000"}]})");
    auto conf = c.read_line();
    REQUIRE(conf);
    CHECK(*conf == R"({"id":196,"result":{"version-rolling":true,"version-rolling.mask":"1fffe000"},"error":null})");
    c.send_line(R"({"id": 197, "method": "mining.subscribe", "params": ["whatsminer/v1.0", "0a1b2c3d"]})");
    check_subscribe_result(c.read_json(), 197, 8);
}

TEST_CASE("stratum: cgminer gets extranonce2_size 8 and integer ids throughout") {
    server_fixture f;
    f.source->push_job(test::cpuminer_job(8, "c1"));
    client c(f.port);
    c.send_line(R"({"params": ["cgminer/4.12.1"], "id": 0, "method": "mining.subscribe"})");
    auto sub = c.read_json();
    check_subscribe_result(sub, 0, 8);
    CHECK(sub["result"][2].GetUint() <= 8);  // cgminer submits only with ≤ 8
    c.send_line(R"({"params": ["user", "pass"], "id": 1, "method": "mining.authorize"})");
    check_true_reply(c.read_json(), 1);
    c.send_line(R"({"params": [2048], "id": 2, "method": "mining.suggest_difficulty"})");
    // Every line the server sends has an integer id (replies) or null (notifications).
    for (int i = 0; i < 3; ++i) {
        auto d = c.read_json();
        CHECK((d["id"].IsNull() || d["id"].IsInt64()));
    }
    c.send_line(R"({"params": [], "id": 3, "method": "mining.get_transactions"})");
    auto unknown = c.read_json();
    CHECK(unknown["id"].GetInt() == 3);
    CHECK(unknown["error"][0].GetInt() == 20);
    // The session stays open after an unknown method.
    c.send_line(R"({"params": [], "id": 4, "method": "mining.extranonce.subscribe"})");
    check_true_reply(c.read_json(), 4);
}

TEST_CASE("stratum: a difficulty change reaches the miner only with the next job") {
    server_fixture f;
    f.source->push_job(test::cpuminer_job(8, "d1"));
    client c(f.port);
    c.send_line(R"({"id":1,"method":"mining.subscribe","params":[]})");
    c.read_json();
    c.send_line(R"({"id":2,"method":"mining.authorize","params":["x","x"]})");
    c.read_json();
    const double d1 = c.read_json()["params"][0].GetDouble();
    c.read_json();
    f.source->force_verdict(share_status::accepted);
    for (int i = 0; i < 40; ++i)
        c.send_line(R"({"id":4,"method":"mining.submit","params":["x","d1","0000000000000000","6b02c290","0000000)" +
                    std::to_string(i % 10) + "\"]}");
    for (int i = 0; i < 40; ++i) {
        auto d = c.read_json();
        CHECK(method_of(d).empty());  // replies only: no set_difficulty between jobs
    }
    f.source->push_job(renamed(test::cpuminer_job(8), "d2"));
    auto diff = c.read_json();
    REQUIRE(method_of(diff) == "mining.set_difficulty");
    const double d2 = diff["params"][0].GetDouble();
    CHECK(d2 > d1);
    check_notify(c.read_json(), "d2", false);
    c.send_line(R"({"id":5,"method":"mining.submit","params":["x","d1","0000000000000000","6b02c290","000000ff"]})");
    c.read_json();
    auto shares = f.source->shares();
    REQUIRE(shares.size() == 41);
    CHECK(shares.back().difficulty == doctest::Approx(d1));
}

TEST_CASE("stratum: the server reports the new-tip fan-out of its clean notifies") {
    server_fixture f;
    CHECK(f.srv->last_fanout().job_id.empty());
    f.source->push_job(test::cpuminer_job(8, "f1"));
    client a(f.port), b(f.port);
    for (client* c : {&a, &b}) {
        c->send_line(R"({"id":1,"method":"mining.subscribe","params":[]})");
        c->read_json();
        c->send_line(R"({"id":2,"method":"mining.authorize","params":["x","x"]})");
        c->read_json();
        REQUIRE(method_of(c->read_json()) == "mining.set_difficulty");
        check_notify(c->read_json(), "f1", true);
    }
    // A new session's first notify is sent clean, but it is no new tip.
    CHECK(f.srv->last_fanout().job_id.empty());

    auto tip = std::make_shared<job>(*test::cpuminer_job(8));
    tip->id = "f2";
    tip->clean = true;
    tip->prev_block[0] ^= 1;
    f.source->push_job(tip);
    check_notify(a.read_json(), "f2", true);
    check_notify(b.read_json(), "f2", true);
    REQUIRE(server_fixture::eventually([&] { return f.srv->last_fanout().sessions == 2; }));
    auto fo = f.srv->last_fanout();
    CHECK(fo.job_id == "f2");
    CHECK(fo.received_at != std::chrono::steady_clock::time_point{});
    CHECK(fo.p50 <= fo.p99);
    CHECK(fo.p99 <= fo.last);

    // Another clean job on the same tip counts no session twice.
    f.source->push_job(renamed(tip, "f3", true));
    check_notify(a.read_json(), "f3", true);
    check_notify(b.read_json(), "f3", true);
    fo = f.srv->last_fanout();
    CHECK(fo.job_id == "f2");
    CHECK(fo.sessions == 2);

    // The next tip starts a new round.
    auto next = std::make_shared<job>(*tip);
    next->id = "f4";
    next->prev_block[0] ^= 2;
    f.source->push_job(next);
    check_notify(a.read_json(), "f4", true);
    check_notify(b.read_json(), "f4", true);
    REQUIRE(server_fixture::eventually([&] { return f.srv->last_fanout().sessions == 2; }));
    CHECK(f.srv->last_fanout().job_id == "f4");
}

TEST_CASE("stratum: the line cap is 16 KiB and one byte more closes the session") {
    server_fixture f;
    client c(f.port);
    std::string fits = R"({"id":1,"method":"mining.extranonce.subscribe","params":[]})";
    fits.resize(max_line_bytes, ' ');  // trailing spaces are valid JSON whitespace
    c.send_line(fits);
    check_true_reply(c.read_json(), 1);
    c.send(std::string(max_line_bytes + 1, ' ') + "\n");
    CHECK(c.closed_by_server());
    CHECK(server_fixture::eventually([&] { return f.logged("line longer"); }));

    client unterminated(f.port);
    unterminated.send(std::string(max_line_bytes + 1, '{'));
    CHECK(unterminated.closed_by_server());
}

TEST_CASE("stratum: garbage closes that session only") {
    server_fixture f;
    client bad(f.port);
    client good(f.port);
    bad.send_line("this is not json");
    CHECK(bad.closed_by_server());
    good.send_line(R"({"id":1,"method":"mining.subscribe","params":[]})");
    check_subscribe_result(good.read_json(), 1, 8);
}

TEST_CASE("stratum: a slow reader is dropped with bounded memory") {
    server_fixture f([](server_options& o) { o.write_queue_limit = 64 * 1024; });
    auto base = test::cpuminer_job(8, "s0");
    f.source->push_job(base);
    client c(f.port);
    c.send_line(R"({"id":1,"method":"mining.subscribe","params":[]})");
    c.send_line(R"({"id":2,"method":"mining.authorize","params":["x","x"]})");
    REQUIRE(server_fixture::eventually([&] {
        auto s = f.srv->snapshot();
        return s.size() == 1 && s[0].authorized;
    }));
    // The client reads nothing more; jobs keep coming until the server gives up on it.
    bool dropped = false;
    for (int i = 1; i < 200'000 && !dropped; ++i) {
        f.source->push_job(renamed(base, "s" + std::to_string(i)));
        if (i % 500 == 0) {
            std::this_thread::sleep_for(1ms);
            dropped = f.srv->connection_count() == 0;
        }
    }
    CHECK(server_fixture::eventually([&] { return f.srv->connection_count() == 0; }));
    CHECK(server_fixture::eventually([&] { return f.logged("slow reader"); }));
    CHECK(f.source->live_consumers() == 0);
}

TEST_CASE("stratum: a reader that falls behind and catches up gets every line intact and in order") {
    // Notifies of ~13 KiB (a 200-hash merkle branch), ~6.5 MiB of them: more than the
    // kernel holds (a 4 KiB receive buffer here, at most tcp_wmem's 4 MiB on the server's
    // side), so the server queues lines, some of them partly written, and sends the rest as
    // the client reads.
    constexpr int jobs = 500;
    server_fixture f([](server_options& o) { o.write_queue_limit = 16 * 1024 * 1024; });
    auto wide = std::make_shared<job>(*test::cpuminer_job(8));
    wide->merkle_branch.assign(200, hash256{});
    auto base = renamed(wide, "q0");
    f.source->push_job(base);
    client c(f.port, nullptr, 4096);
    c.send_line(R"({"id":1,"method":"mining.subscribe","params":[]})");
    c.read_json();
    c.send_line(R"({"id":2,"method":"mining.authorize","params":["x","x"]})");
    c.read_json();
    REQUIRE(method_of(c.read_json()) == "mining.set_difficulty");
    check_notify(c.read_json(), "q0", true);
    for (int i = 1; i <= jobs; ++i) f.source->push_job(renamed(base, "q" + std::to_string(i)));
    // Replies interleave with the queued notifies in the order they were produced.
    c.send_line(R"({"id":3,"method":"mining.extranonce.subscribe","params":[]})");
    bool replied = false;
    for (int i = 1; i <= jobs; ++i) {
        auto d = c.read_json();
        if (method_of(d).empty()) {
            check_true_reply(d, 3);
            replied = true;
            d = c.read_json();
        }
        check_notify(d, "q" + std::to_string(i), false);
    }
    if (!replied) check_true_reply(c.read_json(), 3);
    CHECK(f.srv->connection_count() == 1);
    CHECK_FALSE(f.logged("slow reader"));
}

TEST_CASE("stratum: the per-IP cap refuses extra connections") {
    server_fixture f([](server_options& o) { o.max_connections_per_ip = 2; });
    auto a = std::make_unique<client>(f.port);
    client b(f.port);
    REQUIRE(server_fixture::eventually([&] { return f.srv->connection_count() == 2; }));
    client refused(f.port);
    CHECK(refused.closed_by_server());
    CHECK(f.logged("per-IP connection cap"));
    b.send_line(R"({"id":1,"method":"mining.subscribe","params":[]})");
    check_subscribe_result(b.read_json(), 1, 8);
    a.reset();
    REQUIRE(server_fixture::eventually([&] { return f.srv->connection_count() == 1; }));
    client again(f.port);
    again.send_line(R"({"id":1,"method":"mining.subscribe","params":[]})");
    check_subscribe_result(again.read_json(), 1, 8);
}

TEST_CASE("stratum: the global cap refuses connections over it") {
    server_fixture f([](server_options& o) { o.max_connections = 1; });
    client a(f.port);
    REQUIRE(server_fixture::eventually([&] { return f.srv->connection_count() == 1; }));
    client refused(f.port);
    CHECK(refused.closed_by_server());
    CHECK(f.logged("connection cap reached"));
}

TEST_CASE("stratum: a connection that does not subscribe in time is closed") {
    server_fixture f([](server_options& o) {
        o.subscribe_timeout = 200ms;
        o.share_idle_timeout = 60s;
    });
    client silent(f.port);
    client miner(f.port);
    miner.send_line(R"({"id":1,"method":"mining.subscribe","params":[]})");
    check_subscribe_result(miner.read_json(), 1, 8);
    CHECK(silent.closed_by_server());
    CHECK(f.logged("subscribe timeout"));
    // The subscribed one outlives the subscribe timeout.
    std::this_thread::sleep_for(300ms);
    miner.send_line(R"({"id":2,"method":"mining.extranonce.subscribe","params":[]})");
    check_true_reply(miner.read_json(), 2);
}

TEST_CASE("stratum: a subscribed connection without shares is closed after the idle timeout") {
    server_fixture f([](server_options& o) { o.share_idle_timeout = 200ms; });
    client c(f.port);
    c.send_line(R"({"id":1,"method":"mining.subscribe","params":[]})");
    check_subscribe_result(c.read_json(), 1, 8);
    CHECK(c.closed_by_server());
    CHECK(f.logged("idle timeout"));
}

TEST_CASE("stratum: the snapshot shows miners workers difficulty and last share") {
    server_fixture f;
    f.source->push_job(test::cpuminer_job(8, "z1"));
    client c(f.port);
    c.send_line(R"({"id":1,"method":"mining.subscribe","params":["bitaxe/BM1370/v2.5"]})");
    c.send_line(R"({"id":2,"method":"mining.authorize","params":["rig.one","x"]})");
    for (int i = 0; i < 4; ++i) c.read_json();
    f.source->force_verdict(share_status::accepted);
    c.send_line(R"({"id":3,"method":"mining.submit","params":["rig.one","z1","0000000000000000","6b02c290","00000001"]})");
    c.read_json();
    REQUIRE(server_fixture::eventually([&] {
        auto s = f.srv->snapshot();
        return s.size() == 1 && s[0].accepted == 1;
    }));
    auto s = f.srv->snapshot().at(0);
    CHECK(s.worker == "rig.one");
    CHECK(s.user_agent == "bitaxe/BM1370/v2.5");
    CHECK(s.difficulty == doctest::Approx(0.004));
    CHECK(s.extranonce1 == "f0000001");
    CHECK(s.last_share_at.has_value());
    CHECK(s.remote.rfind("127.0.0.1:", 0) == 0);
    CHECK_FALSE(s.tls);
}

namespace {

// A throw-away self-signed certificate and key (P-256) in a directory of its own.
struct self_signed {
    std::filesystem::path dir, cert, key;
    self_signed() {
        dir = std::filesystem::temp_directory_path() /
              ("sb-stratum-tls-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
        std::filesystem::create_directories(dir);
        cert = dir / "cert.pem";
        key = dir / "key.pem";
        REQUIRE(test::write_self_signed_pem(cert, key));
    }
    ~self_signed() {
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
    }
};

}  // namespace

TEST_CASE("stratum: the TLS listener serves a miner over TLS") {
    self_signed files;
    server_fixture f([&](server_options& o) {
        o.listeners[0].tls = config::tls_settings{files.cert.string(), files.key.string()};
    });
    CHECK(f.srv->listeners().at(0).tls);
    f.source->push_job(test::cpuminer_job(8, "t1"));
    ssl::context ctx(ssl::context::tls_client);
    ctx.set_verify_mode(ssl::verify_none);
    tls_client c(f.port, ctx);
    c.send_line(R"({"id":1,"method":"mining.subscribe","params":["tls-miner/1"]})");
    check_subscribe_result(c.read_json(), 1, 8);
    c.send_line(R"({"id":2,"method":"mining.authorize","params":["x","x"]})");
    check_true_reply(c.read_json(), 2);
    CHECK(method_of(c.read_json()) == "mining.set_difficulty");
    check_notify(c.read_json(), "t1", true);
    auto s = f.srv->snapshot();
    REQUIRE(s.size() == 1);
    CHECK(s[0].tls);
}

TEST_CASE("stratum: a TLS listener with accept_plain serves TLS and plain miners on one port") {
    self_signed files;
    server_fixture f([&](server_options& o) {
        o.listeners[0].tls = config::tls_settings{files.cert.string(), files.key.string(), true};
        o.bans.threshold = 1;  // any ban score would ban 127.0.0.1
    });
    REQUIRE(f.srv->listeners().size() == 1);
    CHECK(f.srv->listeners()[0].tls);
    CHECK(f.srv->listeners()[0].plain);
    CHECK(f.logged("(TLS and plain TCP)"));
    f.source->push_job(test::cpuminer_job(8, "d1"));
    ssl::context ctx(ssl::context::tls_client);
    ctx.set_verify_mode(ssl::verify_none);
    tls_client t(f.port, ctx);
    client p(f.port);
    for (int i = 0; i < 2; ++i) {
        auto send = [&](const std::string& line) { i == 0 ? t.send_line(line) : p.send_line(line); };
        auto read = [&] { return i == 0 ? t.read_json() : p.read_json(); };
        send(R"({"id":1,"method":"mining.subscribe","params":["dual/1"]})");
        check_subscribe_result(read(), 1, 8);
        send(R"({"id":2,"method":"mining.authorize","params":["x","x"]})");
        check_true_reply(read(), 2);
        CHECK(method_of(read()) == "mining.set_difficulty");
        check_notify(read(), "d1", true);
    }
    auto s = f.srv->snapshot();
    REQUIRE(s.size() == 2);
    CHECK(s[0].tls != s[1].tls);
    // Garbage is still judged on the plain side of the port.
    client bad(f.port);
    bad.try_send("GET / HTTP/1.1\r\n\r\n");
    CHECK(bad.closed_by_server());
    CHECK(f.logged("line is not JSON"));
}

TEST_CASE("stratum: a TLS-only listener closes plain Stratum quietly and garbage with a ban score") {
    self_signed files;
    server_fixture f([&](server_options& o) {
        o.listeners[0].tls = config::tls_settings{files.cert.string(), files.key.string()};
        o.bans.threshold = 1;
    });
    CHECK_FALSE(f.srv->listeners().at(0).plain);
    for (int i = 0; i < 5; ++i) {
        client p(f.port);
        p.send_line(R"({"id":1,"method":"mining.subscribe","params":["plain-miner/1"]})");
        CHECK(p.closed_by_server());
        REQUIRE(server_fixture::eventually([&] { return f.srv->connection_count() == 0; }));
    }
    CHECK(f.srv->bans().empty());
    CHECK(f.log_count("plain Stratum on a TLS-only listener") == 1);
    // A TLS miner from the same address is served.
    f.source->push_job(test::cpuminer_job(8, "t2"));
    {
        ssl::context ctx(ssl::context::tls_client);
        ctx.set_verify_mode(ssl::verify_none);
        tls_client t(f.port, ctx);
        t.send_line(R"({"id":1,"method":"mining.subscribe","params":["tls-miner/1"]})");
        check_subscribe_result(t.read_json(), 1, 8);
    }
    REQUIRE(server_fixture::eventually([&] { return f.srv->connection_count() == 0; }));
    // Bytes that are neither TLS nor Stratum are scored (and here, ban at once).
    client bad(f.port);
    bad.try_send("GET / HTTP/1.1\r\n\r\n");
    CHECK(bad.closed_by_server());
    CHECK(f.logged("neither a TLS handshake nor Stratum"));
    CHECK(server_fixture::eventually([&] { return !f.srv->bans().empty(); }));
}

TEST_CASE("stratum: a TLS handshake that fails because the miner does not trust the certificate scores nothing") {
    self_signed files;
    server_fixture f([&](server_options& o) {
        o.listeners[0].tls = config::tls_settings{files.cert.string(), files.key.string()};
        o.bans.threshold = 1;
    });
    for (int i = 0; i < 3; ++i) {
        // Verification on and no CA: the client aborts the handshake with an alert.
        ssl::context ctx(ssl::context::tls_client);
        ctx.set_verify_mode(ssl::verify_peer);
        asio::io_context io;
        ssl::stream<tcp::socket> s(io, ctx);
        boost::system::error_code ec;
        s.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), f.port), ec);
        REQUIRE(!ec);
        s.handshake(ssl::stream_base::client, ec);
        CHECK(ec);
        s.next_layer().close(ec);
        REQUIRE(server_fixture::eventually([&] { return f.srv->connection_count() == 0; }));
    }
    CHECK(f.srv->bans().empty());
    CHECK(f.log_count("TLS handshake failed") == 1);
}

TEST_CASE("stratum: a TLS listener with a missing certificate fails to start") {
    asio::io_context io;
    server_options o;
    config::stratum_listener l;
    l.listen = {"127.0.0.1", 0};
    l.tls = config::tls_settings{"/nonexistent/cert.pem", "/nonexistent/key.pem"};
    o.listeners.push_back(l);
    o.log = [](std::string_view) {};
    server s(io, std::make_shared<test::scripted_source>(), o);
    CHECK(s.start());
}

TEST_CASE("stratum: server options for a chain carry its dialect and ban settings") {
    config::chain_settings c;
    c.net = network::bitcoin_regtest;
    auto o = server_options_for(c);
    CHECK(o.dialect == dialect::sha256d);
    CHECK(o.bans.enabled);
    CHECK(o.ban_loopback);
    // The config's defaults are the server's (limits.hpp).
    CHECK(o.bans.threshold == ban_threshold);
    CHECK(o.bans.duration == ban_duration);
    CHECK(o.max_connections_per_ip == max_connections_per_ip);
    c.net = network::ravencoin_mainnet;
    c.stratum_bans = false;
    c.stratum_ban_loopback = false;
    c.stratum_ban_threshold = 7;
    c.stratum_ban_duration_s = 42;
    c.stratum_max_connections_per_ip = 5;
    o = server_options_for(c);
    CHECK(o.dialect == dialect::kawpow);
    CHECK_FALSE(o.bans.enabled);
    CHECK_FALSE(o.ban_loopback);
    CHECK(o.bans.threshold == 7);
    CHECK(o.bans.duration == 42s);
    CHECK(o.max_connections_per_ip == 5);
}

TEST_CASE("stratum: with the config's default difficulty a regtest job's blocks are mined and answered true") {
    server_fixture f([](server_options& o) {
        o.listeners[0].difficulty = config::difficulty_settings{};  // initial 1024, min 0.001
        o.extranonce2_size = 4;
    });
    const auto easy = test::regtest_job(4, "r1");
    f.source->push_job(easy);
    client c(f.port);
    c.send_line(R"({"id": 1, "method": "mining.subscribe", "params": ["cpuminer/2.5.1"]})");
    check_subscribe_result(c.read_json(), 1, 4);
    c.send_line(R"({"id": 2, "method": "mining.authorize", "params": ["x", "x"]})");
    check_true_reply(c.read_json(), 2);
    // The network difficulty, before the notify (cpuminer applies it at the next notify).
    auto diff = c.read_json();
    REQUIRE(method_of(diff) == "mining.set_difficulty");
    const double network = network_share_difficulty(easy->target);
    CHECK(diff["params"][0].GetDouble() == doctest::Approx(network).epsilon(1e-15));
    check_notify(c.read_json(), "r1", true);

    // Blocks as cpuminer finds them at that difficulty: far below 1024 and difficulty.min.
    const bytes en1{0xf0, 0x00, 0x00, 0x01}, en2(4, 0);
    const auto submit = [&](const std::string& job_id, std::uint32_t nonce) {
        c.send_line(R"({"method": "mining.submit", "params": ["x", ")" + job_id + R"(", "00000000", "6b02c290", ")" +
                    u32_to_stratum_hex(nonce) + R"("], "id":4})");
        return c.read_json();
    };
    const auto block = test::nonce_where(*easy, en1, en2, [&](const uint256& v) {
        return v <= target_from_difficulty(network) && v > target_from_difficulty(0.001);
    });
    check_true_reply(submit("r1", block), 4);
    CHECK(f.source->shares().back().difficulty == network);

    // A harder job brings the session's own difficulty back, before its notify.
    f.source->push_job(renamed(test::cpuminer_job(4), "m1"));
    diff = c.read_json();
    REQUIRE(method_of(diff) == "mining.set_difficulty");
    CHECK(diff["params"][0].GetDouble() == config::difficulty_settings{}.initial);
    check_notify(c.read_json(), "m1", false);
    // The easy job keeps its difficulty: another of its blocks is accepted too.
    const auto second = test::nonce_where(
        *easy, en1, en2, [&](const uint256& v) { return v <= easy->target && v > target_from_difficulty(0.001); },
        block + 1);
    check_true_reply(submit("r1", second), 4);
    CHECK(f.source->shares().back().difficulty == network);
    CHECK(f.logged("block found by 'x' (job r1)"));
}

TEST_CASE("stratum: address-username mode tells a miner named rig1 to use a payout address") {
    server_fixture f([](server_options& o) {
        o.payout = config::payout_mode::address_username;
        o.net = network::bitcoin_mainnet;
    });
    client c(f.port);
    c.send_line(R"({"id":1,"method":"mining.subscribe","params":["bitaxe/BM1370/v2.5"]})");
    check_subscribe_result(c.read_json(), 1, 8);
    c.send_line(R"({"id":2,"method":"mining.authorize","params":["rig1","x"]})");
    auto d = c.read_json();
    REQUIRE(d["error"].IsArray());
    CHECK(d["error"][0].GetInt() == 24);
    CHECK(std::string(d["error"][1].GetString()) ==
          "username must be your bitcoin-mainnet payout address (bc1q... or 1... or 3...), optionally followed by "
          ".workername");
    CHECK(f.logged("authorize refused for 'rig1': username must be your bitcoin-mainnet payout address"));
}
