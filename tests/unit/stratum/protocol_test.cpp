// The session state machine without sockets (stratum.md §0, §2, §3): ordering of
// server messages, difficulty bookkeeping per job, submit parsing, payout modes.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "sb/core/address.hpp"
#include "sb/core/chain.hpp"
#include "sb/core/hex.hpp"
#include "sb/core/pow.hpp"
#include "sb/core/uint256.hpp"
#include "stratum/protocol.hpp"
#include "stratum/protocol_common.hpp"
#include "stratum_test_support.hpp"

using namespace sb;
using namespace sb::bridge;
using namespace sb::bridge::stratum;
using namespace std::chrono_literals;

namespace {

class null_consumer final : public work_consumer {
public:
    void on_job(std::shared_ptr<const job>) override {}
};

sb::config::difficulty_settings diff(double initial) {
    sb::config::difficulty_settings d;
    d.initial = initial;
    d.min = 1e-6;
    return d;
}

struct harness {
    // as_given: s.difficulty as it is (the config defaults when s is default), else a
    // default difficulty becomes 0.002 (the cpuminer capture's).
    explicit harness(session_settings s = {}, bool as_given = false)
        : p(src, std::make_shared<null_consumer>(), with_defaults(std::move(s), as_given), now) {}

    session_settings with_defaults(session_settings s, bool as_given) {
        if (!as_given && s.difficulty.initial == config::difficulty_settings{}.initial) s.difficulty = diff(0.002);
        s.log = [this](std::string_view l) { logs.emplace_back(l); };
        return s;
    }
    bool logged(std::string_view needle) const {
        return std::any_of(logs.begin(), logs.end(), [&](const auto& l) { return l.find(needle) != std::string::npos; });
    }

    std::vector<std::string> send(const std::string& line) {
        session_protocol::output out;
        p.on_line(line, now, out);
        closed = out.close_reason;
        why = out.why;
        pause_until = out.pause_until;
        return test::texts(out.lines);
    }
    std::vector<std::string> job(std::shared_ptr<const bridge::job> j) {
        session_protocol::output out;
        p.on_job(std::move(j), now, out);
        return test::texts(out.lines);
    }
    void handshake(const std::string& user = "x", const std::string& pass = "x") {
        REQUIRE(send(R"({"id":1,"method":"mining.subscribe","params":["test/1"]})").size() == 1);
        auto lines = send(R"({"id":2,"method":"mining.authorize","params":[")" + user + R"(",")" + pass + R"("]})");
        REQUIRE_FALSE(lines.empty());
        REQUIRE(lines[0] == "{\"id\":2,\"result\":true,\"error\":null}\n");
    }

    test::scripted_source src;
    session_protocol::clock::time_point now{};
    std::vector<std::string> logs;
    session_protocol p;
    std::string closed;
    misbehaviour why = misbehaviour::none;
    session_protocol::clock::time_point pause_until{};
};

std::string method_of(const std::string& line) {
    rapidjson::Document d;
    d.Parse(line.c_str());
    if (!d.IsObject() || !d.HasMember("method") || !d["method"].IsString()) return {};
    return d["method"].GetString();
}

double difficulty_of(const std::string& line) {
    rapidjson::Document d;
    d.Parse<rapidjson::kParseFullPrecisionFlag>(line.c_str());  // as a miner's strtod reads it
    REQUIRE(d.IsObject());
    return d["params"][0].GetDouble();
}

std::vector<std::string> methods(const std::vector<std::string>& lines) {
    std::vector<std::string> out;
    for (const auto& l : lines) out.push_back(method_of(l));
    return out;
}

std::string submit(const std::string& job_id, const std::string& nonce, const std::string& extra = "") {
    return R"({"id":4,"method":"mining.submit","params":["x",")" + job_id + R"(","00000000","6b02c290",")" + nonce +
           "\"" + extra + "]}";
}

}  // namespace

TEST_CASE("stratum: after authorize come set_version_mask then set_difficulty then a clean notify") {
    harness h;
    h.src.push_job(test::cpuminer_job(8, "a1", std::nullopt, false));
    // ESP-Miner: configure first, with id 1.
    auto c = h.send(R"({"id":1,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"ffffffff"}]})");
    REQUIRE(c.size() == 1);
    CHECK(c[0] == "{\"id\":1,\"result\":{\"version-rolling\":true,\"version-rolling.mask\":\"1fffe000\"},\"error\":null}\n");
    auto s = h.send(R"({"id":2,"method":"mining.subscribe","params":["bitaxe/BM1368/v2.4.0"]})");
    REQUIRE(s.size() == 1);
    CHECK(method_of(s[0]).empty());
    auto a = h.send(R"({"id":3,"method":"mining.authorize","params":["w","x"]})");
    CHECK(methods(a) == std::vector<std::string>{"", "mining.set_version_mask", "mining.set_difficulty", "mining.notify"});
    REQUIRE(a.size() == 4);
    CHECK(a[3].find(",true]}") != std::string::npos);  // clean_jobs forced on the first notify
}

TEST_CASE("stratum: set_version_mask is never sent before authorize") {
    harness h;
    h.src.push_job(test::cpuminer_job(8));
    std::vector<std::string> before;
    for (const char* l : {R"({"id":0,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"1fffe000","version-rolling.min-bit-count":16}]})",
                          R"({"id":1,"method":"mining.subscribe","params":["Braiins OS 2019-06-05",null,"host:3333",null]})"}) {
        auto lines = h.send(l);
        before.insert(before.end(), lines.begin(), lines.end());
    }
    CHECK(std::count(before.begin(), before.end(), std::string()) == 0);
    for (const auto& l : before) CHECK(method_of(l).empty());
    // Configure after authorize: its reply only, no unsolicited mask.
    h.send(R"({"id":2,"method":"mining.authorize","params":["w","x"]})");
    auto late = h.send(R"({"id":5,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"00c00000"}]})");
    REQUIRE(late.size() == 1);
    CHECK(late[0].find("\"version-rolling.mask\":\"00c00000\"") != std::string::npos);
}

TEST_CASE("stratum: configure answers only the requested extensions") {
    harness h;
    // WhatsMiner M30S+: only version-rolling without min-bit-count (SRI #1173).
    auto w = h.send(R"({"id": 196, "method": "mining.configure", "params": [["version-rolling"], {"version-rolling.mask": "1fffe000"}]})");
    REQUIRE(w.size() == 1);
    CHECK(w[0] == "{\"id\":196,\"result\":{\"version-rolling\":true,\"version-rolling.mask\":\"1fffe000\"},\"error\":null}\n");
    // DATUM field traffic: three extensions, each answered, nothing more.
    auto d = h.send(R"({"id":1,"method":"mining.configure","params":[["version-rolling","minimum-difficulty","subscribe-extranonce"],{"version-rolling.mask":"1fffe000","version-rolling.min-bit-count":16,"minimum-difficulty.value":2048}]})");
    REQUIRE(d.size() == 1);
    CHECK(d[0] == "{\"id\":1,\"result\":{\"version-rolling\":true,\"version-rolling.mask\":\"1fffe000\",\"minimum-difficulty\":true,\"subscribe-extranonce\":true},\"error\":null}\n");
    // An unknown extension gets false; a broken mask refuses version rolling.
    auto u = h.send(R"({"id":2,"method":"mining.configure","params":[["x-magic","version-rolling"],{"version-rolling.mask":"zz"}]})");
    REQUIRE(u.size() == 1);
    CHECK(u[0] == "{\"id\":2,\"result\":{\"x-magic\":false,\"version-rolling\":false},\"error\":null}\n");
}

TEST_CASE("stratum: the configure minimum-difficulty holds the session floor") {
    harness h;
    h.send(R"({"id":1,"method":"mining.configure","params":[["minimum-difficulty"],{"minimum-difficulty.value":2048}]})");
    h.src.push_job(test::cpuminer_job(8));
    h.handshake();
    CHECK(h.p.stats().difficulty == 2048);
}

TEST_CASE("stratum: a difficulty change is sent only before a notify and old jobs keep their difficulty") {
    harness h;
    h.src.push_job(test::cpuminer_job(8, "j1"));
    h.handshake();
    const double d1 = h.p.stats().difficulty;
    CHECK(d1 == doctest::Approx(0.002));
    h.src.force_verdict(share_status::accepted);
    // A burst of shares: vardiff wants more, but nothing is sent until the next job.
    for (int i = 0; i < 50; ++i) {
        auto r = h.send(submit("j1", "0000000" + std::to_string(i % 10)));
        REQUIRE(r.size() == 1);
        CHECK(method_of(r[0]).empty());
    }
    h.now += 1s;
    auto lines = h.job(test::cpuminer_job(8, "j2", std::nullopt, false));
    REQUIRE(methods(lines) == std::vector<std::string>{"mining.set_difficulty", "mining.notify"});
    const double d2 = difficulty_of(lines[0]);
    CHECK(d2 > d1);
    CHECK(lines[1].find(",false]}") != std::string::npos);  // the job's own clean flag

    h.send(submit("j1", "00000001"));
    h.send(submit("j2", "00000001"));
    h.send(submit("nope", "00000001"));
    auto shares = h.src.shares();
    REQUIRE(shares.size() == 53);
    CHECK(shares[50].difficulty == doctest::Approx(d1));  // the old job: old difficulty
    CHECK(shares[51].difficulty == doctest::Approx(d2));
    CHECK(shares[52].difficulty == doctest::Approx(d2));  // unknown job: current

    // A notify without a change carries no set_difficulty; a repeated job id is not re-sent.
    h.src.force_verdict(std::nullopt);
    h.now += 10s;
    auto again = h.job(test::cpuminer_job(8, "j3", std::nullopt, false));
    CHECK(methods(again) == std::vector<std::string>{"mining.notify"});
    CHECK(h.job(test::cpuminer_job(8, "j3")).empty());
}

TEST_CASE("stratum: suggest_difficulty takes int float array and string forms before or after authorize") {
    for (const char* form : {"[512]", "[512.0]", "[[512]]", "512", "[\"512\"]"}) {
        CAPTURE(form);
        harness h;
        h.src.push_job(test::cpuminer_job(8));
        auto r = h.send(std::string(R"({"id":9,"method":"mining.suggest_difficulty","params":)") + form + "}");
        REQUIRE(r.size() == 1);
        CHECK(r[0] == "{\"id\":9,\"result\":true,\"error\":null}\n");
        h.handshake();
        CHECK(h.p.stats().difficulty == 512);
    }
    for (const char* bad : {"[]", "[-1]", "[0]", "[\"x\"]", "[{}]"}) {
        CAPTURE(bad);
        harness h;
        auto r = h.send(std::string(R"({"id":9,"method":"mining.suggest_difficulty","params":)") + bad + "}");
        REQUIRE(r.size() == 1);
        CHECK(r[0].find("\"error\":[20,") != std::string::npos);
        CHECK(h.closed.empty());
    }
    // After authorize (ESP-Miner, NerdMiner every 30 s): applies with the next job.
    harness h;
    h.src.push_job(test::cpuminer_job(8, "j1"));
    h.handshake();
    for (int i = 0; i < 3; ++i) {
        auto r = h.send(R"({"id":4,"method":"mining.suggest_difficulty","params":[0.00015]})");
        REQUIRE(r.size() == 1);
        CHECK(methods(r) == std::vector<std::string>{""});
    }
    auto lines = h.job(test::cpuminer_job(8, "j2"));
    REQUIRE(methods(lines) == std::vector<std::string>{"mining.set_difficulty", "mining.notify"});
    CHECK(difficulty_of(lines[0]) == doctest::Approx(0.00015));
}

TEST_CASE("stratum: the password d=N sets the starting difficulty") {
    harness h;
    h.src.push_job(test::cpuminer_job(8));
    h.handshake("x", "x,d=256");
    CHECK(h.p.stats().difficulty == 256);
}

TEST_CASE("stratum: address-username mode validates the address at authorize") {
    session_settings s;
    s.payout = config::payout_mode::address_username;
    s.net = network::bitcoin_regtest;
    harness h(s);
    h.src.push_job(test::cpuminer_job(8));
    h.send(R"({"id":1,"method":"mining.subscribe","params":[]})");
    for (const char* bad : {"x", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4.rig1", "", "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt081"}) {
        CAPTURE(bad);
        auto r = h.send(std::string(R"({"id":2,"method":"mining.authorize","params":[")") + bad + R"(","x"]})");
        REQUIRE(r.size() == 1);
        CHECK(r[0].find("\"error\":[24,") != std::string::npos);
        CHECK_FALSE(h.p.authorized());
    }
    CHECK(h.src.payouts().empty());
    auto submit_before = h.send(submit("11", "41234e01"));
    REQUIRE(submit_before.size() == 1);
    CHECK(submit_before[0].find("\"error\":[24,") != std::string::npos);

    auto ok = h.send(R"({"id":3,"method":"mining.authorize","params":["bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080.rig1","x"]})");
    CHECK(methods(ok) == std::vector<std::string>{"", "mining.set_difficulty", "mining.notify"});
    REQUIRE(h.src.payouts().size() == 1);
    CHECK(to_hex(h.src.payouts()[0]) == "0014751e76e8199196d454941c45d1b3a323f1433bd6");
    CHECK(h.p.stats().worker == "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080.rig1");
}

TEST_CASE("stratum: fixed-address mode accepts any username") {
    harness h;
    h.send(R"({"id":1,"method":"mining.subscribe","params":[]})");
    for (const char* user : {"x", "anything.at.all", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"}) {
        auto r = h.send(std::string(R"({"id":2,"method":"mining.authorize","params":[")") + user + R"(","x"]})");
        REQUIRE_FALSE(r.empty());
        CHECK(r[0] == "{\"id\":2,\"result\":true,\"error\":null}\n");
    }
    CHECK(h.src.payouts().empty());
}

TEST_CASE("stratum: submit fields are parsed as the job renders them") {
    harness h;
    h.src.push_job(test::cpuminer_job(4, "11"));
    h.handshake();
    // cpuminer's accepted share; NerdMiner-style unpadded and upper-case forms of the same.
    for (const char* nonce : {"41234e01", "41234E01"}) {
        auto r = h.send(submit("11", nonce));
        REQUIRE(r.size() == 1);
    }
    h.send(R"({"id":4,"method":"mining.submit","params":["x","11","00000000","6b02c290","1e01"]})");
    // ESP-Miner: always 6 params, version_bits 0 without rolling.
    h.send(submit("11", "41234e01", ",\"00000000\""));
    // A 6th param without configure: the BIP320 mask is assumed for it.
    h.send(submit("11", "41234e01", ",\"00004000\""));
    auto shares = h.src.shares();
    REQUIRE(shares.size() == 5);
    CHECK(shares[0].nonce == 0x41234e01);
    CHECK(shares[1].nonce == 0x41234e01);
    CHECK(shares[2].nonce == 0x00001e01);
    CHECK(shares[0].ntime == 0x6b02c290);
    CHECK(shares[0].version == 0x20000000);
    CHECK(shares[0].version_mask == 0);
    CHECK(shares[3].version == 0x20000000);
    CHECK(shares[4].version == 0x20004000);
    CHECK(shares[4].version_mask == server_version_mask);
    CHECK(to_hex(shares[0].extranonce2) == "00000000");
    CHECK(shares[0].worker == "x");
}

TEST_CASE("stratum: version bits follow the negotiated mask in both BIP310 forms") {
    harness h;
    h.src.push_job(test::cpuminer_job(4, "11"));
    h.send(R"({"id":1,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"00c00000"}]})");
    h.handshake();
    h.src.force_verdict(share_status::accepted);
    h.send(submit("11", "41234e01", ",\"00400000\""));  // bits only
    h.send(submit("11", "41234e01", ",\"20800000\""));  // full version
    h.send(submit("11", "41234e01", ",\"00002000\""));  // outside the mask: the source judges it
    auto shares = h.src.shares();
    REQUIRE(shares.size() == 3);
    CHECK(shares[0].version == 0x20400000);
    CHECK(shares[0].version_mask == 0x00c00000);
    CHECK(shares[1].version == 0x20800000);
    CHECK(shares[2].version == 0x00002000);
}

TEST_CASE("stratum: malformed submits are refused with error 20 and the session stays") {
    harness h;
    h.src.push_job(test::cpuminer_job(4, "11"));
    h.handshake();
    for (const char* bad : {R"({"id":4,"method":"mining.submit","params":["x","11","00000000","6b02c290"]})",
                            R"({"id":4,"method":"mining.submit","params":["x","11","00000000","6b02c290","41234e01","0","7"]})",
                            R"({"id":4,"method":"mining.submit","params":["x","11","zz","6b02c290","41234e01"]})",
                            R"({"id":4,"method":"mining.submit","params":["x","11","00000000","6b02c2900","41234e01"]})",
                            R"({"id":4,"method":"mining.submit","params":["x","11","00000000","6b02c290",""]})",
                            R"({"id":4,"method":"mining.submit","params":["x","11","00000000","6b02c290",12]})",
                            R"({"id":4,"method":"mining.submit","params":{}})"}) {
        CAPTURE(bad);
        auto r = h.send(bad);
        REQUIRE(r.size() == 1);
        CHECK(r[0].find("{\"id\":4,\"result\":false,\"error\":[20,") == 0);
        CHECK(r[0].find("\"reject-reason\"") != std::string::npos);
        CHECK(h.closed.empty());
    }
    CHECK(h.src.shares().empty());
}

TEST_CASE("stratum: verdicts map to stratum error codes") {
    session_settings s;
    s.difficulty = diff(0.004);
    harness h(s);
    h.src.push_job(test::cpuminer_job(4, "11"));
    h.handshake();
    // The capture's shares reach 0.004456 and 0.002332 (stratum.md §3): at 0.004 the
    // second is low.
    auto low = h.send(submit("11", "a6266d01"));
    REQUIRE(low.size() == 1);
    CHECK(low[0] ==
          "{\"id\":4,\"result\":false,\"error\":[23,\"Low difficulty share\",null],\"reject-reason\":\"Low difficulty share\"}\n");
    auto ok = h.send(submit("11", "41234e01"));
    REQUIRE(ok.size() == 1);
    CHECK(ok[0] == "{\"id\":4,\"result\":true,\"error\":null}\n");
    auto stale = h.send(submit("99", "41234e01"));
    REQUIRE(stale.size() == 1);
    CHECK(stale[0].find("\"error\":[21,\"Job not found\",null]") != std::string::npos);
    h.src.force_verdict(share_status::duplicate);
    CHECK(h.send(submit("11", "41234e01"))[0].find("\"error\":[22,") != std::string::npos);
    CHECK(h.p.stats().accepted == 1);
    CHECK(h.p.stats().rejected == 3);
    CHECK(h.p.stats().last_share_at.has_value());
}

TEST_CASE("stratum: requests out of order get errors 24 and 25") {
    harness h;
    auto a = h.send(R"({"id":2,"method":"mining.authorize","params":["x","x"]})");
    REQUIRE(a.size() == 1);
    CHECK(a[0].find("\"error\":[25,") != std::string::npos);
    auto s = h.send(submit("11", "41234e01"));
    REQUIRE(s.size() == 1);
    CHECK(s[0].find("\"error\":[25,") != std::string::npos);
    h.send(R"({"id":1,"method":"mining.subscribe","params":[]})");
    s = h.send(submit("11", "41234e01"));
    REQUIRE(s.size() == 1);
    CHECK(s[0].find("\"error\":[24,") != std::string::npos);
}

TEST_CASE("stratum: extras are answered true unknown methods get error 20 and responses are ignored") {
    harness h;
    for (const char* m : {"mining.extranonce.subscribe", "mining.multi_version", "mining.hashrate", "eth_submitHashrate"}) {
        auto r = h.send(std::string(R"({"id":7,"method":")") + m + R"(","params":[1]})");
        REQUIRE(r.size() == 1);
        CHECK(r[0] == "{\"id\":7,\"result\":true,\"error\":null}\n");
    }
    auto u = h.send(R"({"id":8,"method":"mining.get_transactions","params":[]})");
    REQUIRE(u.size() == 1);
    CHECK(u[0] == "{\"id\":8,\"result\":null,\"error\":[20,\"Unknown method\",null]}\n");
    CHECK(h.send(R"({"id": "gv-1", "error": null, "result": "cpuminer/2.5.1"})").empty());
    CHECK(h.send(R"({"id":9,"method":"pong","params":[]})").empty());
    CHECK(h.closed.empty());
}

TEST_CASE("stratum: garbage closes the session with a reason") {
    for (const char* g : {"garbage", "[1,2]", R"({"id":{},"method":"x"})"}) {
        harness h;
        CHECK(h.send(g).empty());
        CHECK_FALSE(h.closed.empty());
    }
}

TEST_CASE("stratum: jobs before authorize are held and nothing precedes the subscribe reply") {
    harness h;
    h.send(R"({"id":1,"method":"mining.subscribe","params":["NerdMinerV2/1.6.3"]})");
    CHECK(h.job(test::cpuminer_job(8, "early")).empty());
    auto a = h.send(R"({"id":2,"method":"mining.authorize","params":["x","x"]})");
    CHECK(methods(a) == std::vector<std::string>{"", "mining.set_difficulty", "mining.notify"});
}

TEST_CASE("stratum: the session times out before subscribe and when no share comes") {
    session_settings s;
    s.subscribe_timeout = 30s;
    s.share_idle_timeout = 600s;
    harness h(s);
    CHECK(h.p.deadline() == h.now + 30s);
    CHECK(h.p.check_timeout(h.now + 29s).empty());
    CHECK_FALSE(h.p.check_timeout(h.now + 30s).empty());
    h.now += 10s;
    h.send(R"({"id":1,"method":"mining.subscribe","params":[]})");
    CHECK(h.p.deadline() == h.now + 600s);
    CHECK(h.p.check_timeout(h.now + 300s).empty());
    CHECK(h.src.live_consumers() == 1);
    h.p.release();
    CHECK(h.src.live_consumers() == 0);
}

TEST_CASE("stratum: rejected shares never close the session nor count as misbehaviour") {
    session_settings s;
    s.difficulty = diff(0.004);
    harness h(s);
    h.src.push_job(test::cpuminer_job(4, "11"));
    h.handshake();
    // Far past the old cap of 500 in a row (stale after a new block, low difficulty,
    // malformed fields), spread over time so that the bucket never runs dry.
    for (int i = 0; i < 3000; ++i) {
        h.now += 20ms;
        auto r = h.send(i % 2 == 0 ? submit("99", "41234e01")
                                   : R"({"id":4,"method":"mining.submit","params":["x","11","zz","6b02c290","41234e01"]})");
        REQUIRE(r.size() == 1);
        REQUIRE(r[0].find("\"result\":false") != std::string::npos);
        REQUIRE(h.closed.empty());
        REQUIRE(h.pause_until == session_protocol::clock::time_point{});
    }
    CHECK(h.why == misbehaviour::none);
    CHECK(h.p.stats().rejected == 3000);
    CHECK(h.send(submit("11", "41234e01"))[0] == "{\"id\":4,\"result\":true,\"error\":null}\n");
}

TEST_CASE("stratum: rejected submits past the burst ask for a pause until a token is back") {
    session_settings s;
    s.rejected_submit_burst = 10;
    s.rejected_submits_per_s = 100;  // one token per 10 ms
    harness h(s);
    h.src.push_job(test::cpuminer_job(4, "11"));
    h.handshake();
    // The burst: nine rejects leave a token, the tenth empties the bucket.
    for (int i = 0; i < 9; ++i) {
        h.send(submit("99", "41234e01"));
        CHECK(h.pause_until == session_protocol::clock::time_point{});
    }
    h.send(submit("99", "41234e01"));
    CHECK(h.closed.empty());
    CHECK(h.pause_until == h.now + 10ms);
    // One token back after 10 ms: one more reject, and the next pause.
    h.now += 10ms;
    h.send(submit("99", "41234e01"));
    CHECK(h.pause_until == h.now + 10ms);
    // Half a token: the pause asks for the other half.
    h.now += 15ms;
    h.send(submit("99", "41234e01"));
    CHECK(h.pause_until == h.now + 5ms);
    // Submits refused before authorize are rejected shares too: they take tokens.
    harness u(s);
    for (int i = 0; i < 10; ++i) u.send(submit("99", "41234e01"));
    CHECK(u.pause_until == u.now + 10ms);
    CHECK(u.closed.empty());
    // The bucket refills up to the burst, not beyond.
    h.now += 10s;
    for (int i = 0; i < 9; ++i) {
        h.send(submit("99", "41234e01"));
        CHECK(h.pause_until == session_protocol::clock::time_point{});
    }
    h.send(submit("99", "41234e01"));
    CHECK(h.pause_until != session_protocol::clock::time_point{});
    CHECK(h.closed.empty());
    CHECK(h.why == misbehaviour::none);
}

TEST_CASE("stratum: a submit before authorize is a rejected share, not a protocol error") {
    // NerdMiner never reads the authorize reply: refused, it submits on and on.
    harness h;
    h.send(R"({"id":1,"method":"mining.subscribe","params":[]})");
    for (std::uint32_t i = 0; i < 3 * max_consecutive_errors; ++i) {
        auto r = h.send(submit("11", "41234e01"));
        REQUIRE(r.size() == 1);
        REQUIRE(r[0] == R"({"id":4,"result":false,"error":[24,"Unauthorized worker",null],"reject-reason":"Unauthorized worker"})" "\n");
    }
    CHECK(h.closed.empty());
    CHECK(h.why == misbehaviour::none);
    CHECK(h.p.stats().rejected == 3 * max_consecutive_errors);
}

TEST_CASE("stratum: a close for misbehaviour names its kind for the ban score") {
    harness g;
    g.send("garbage");
    CHECK(g.why == misbehaviour::garbage);
    CHECK(ban_score(g.why) == ban_score_garbage);

    // Error replies in a row: the cap is allowed, one more closes as a flood; a request
    // answered without error in between starts the count again.
    harness h;
    h.send(R"({"id":1,"method":"mining.subscribe","params":[]})");
    for (std::uint32_t i = 0; i < max_consecutive_errors; ++i) h.send(R"({"id":5,"method":"nope","params":[]})");
    CHECK(h.closed.empty());
    h.send(R"({"id":6,"method":"mining.extranonce.subscribe","params":[]})");
    for (std::uint32_t i = 0; i < max_consecutive_errors; ++i) h.send(R"({"id":5,"method":"nope","params":[]})");
    CHECK(h.closed.empty());
    CHECK(h.why == misbehaviour::none);
    h.send(R"({"id":5,"method":"mining.authorize","params":[]})");  // no worker name: an error too
    CHECK(h.closed.find("error replies in a row") != std::string::npos);
    CHECK(h.why == misbehaviour::error_flood);
    // Scored like a garbage line: one such session never bans on its own.
    CHECK(ban_score(h.why) == ban_score_error_flood);
    CHECK(ban_score(h.why) < ban_threshold);
    CHECK(ban_score(misbehaviour::none) == 0);
}

TEST_CASE("stratum: the notify cache gives the line a session would build for each clean flag") {
    notify_cache cache;
    auto j = test::cpuminer_job(4, "21", std::nullopt, false);
    for (bool clean : {false, true}) {
        notify_params n = to_notify(*j);
        n.clean_jobs = clean;
        const auto first = cache.line(j, clean);
        REQUIRE(first);
        CHECK(*first == notify_job(n));
        CHECK(cache.line(j, clean) == first);  // the same shared text the second time
    }
    CHECK(cache.size() == 1);
    // A job that died is never served for a new one allocated in its place.
    for (int i = 0; i < 600; ++i) {
        auto k = test::cpuminer_job(4, "j" + std::to_string(i));
        CHECK(cache.line(k, true)->find("\"j" + std::to_string(i) + "\"") != std::string::npos);
    }
    CHECK(cache.size() <= notify_cache_sweep_at + 1);
}

TEST_CASE("stratum: sessions sharing a notify cache send the same notify as one without") {
    notify_cache cache;
    session_settings with;
    with.notifies = &cache;
    harness a(with), b;
    a.handshake();
    b.handshake();
    auto j = test::cpuminer_job(8, "77", std::nullopt, true);
    const auto la = a.job(j), lb = b.job(j);
    REQUIRE(la.size() == lb.size());
    CHECK(la == lb);
    CHECK(cache.size() == 1);
}

TEST_CASE("stratum: a session remembers its last max_tracked_jobs jobs and forgets the oldest first") {
    harness h;
    h.handshake();
    auto notified = [&](const std::string& id) {
        const auto lines = h.job(test::cpuminer_job(8, id));
        return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) {
            return l.find("\"mining.notify\"") != std::string::npos && l.find("\"" + id + "\"") != std::string::npos;
        });
    };
    const auto n = max_tracked_jobs + 8;
    for (std::size_t i = 0; i < n; ++i) REQUIRE(notified("t" + std::to_string(i)));
    // The last max_tracked_jobs are remembered (a job id is never sent twice) ...
    CHECK_FALSE(notified("t" + std::to_string(n - 1)));
    CHECK_FALSE(notified("t" + std::to_string(n - max_tracked_jobs)));
    // ... the one before them is not: it is sent again, as the newest,
    CHECK(notified("t" + std::to_string(n - max_tracked_jobs - 1)));
    // and the oldest of them made way for it.
    CHECK(notified("t" + std::to_string(n - max_tracked_jobs)));
}

TEST_CASE("stratum: sessions sharing a notify cache write the same bytes, not a copy each") {
    notify_cache cache;
    session_settings s;
    s.notifies = &cache;
    harness a(s), b(s);
    a.handshake();
    b.handshake();
    auto j = test::cpuminer_job(8, "78", std::nullopt, true);
    session_output oa, ob;
    a.p.on_job(j, a.now, oa);
    b.p.on_job(j, b.now, ob);
    REQUIRE_FALSE(oa.lines.empty());
    REQUIRE_FALSE(ob.lines.empty());
    const out_line& na = oa.lines.back();
    const out_line& nb = ob.lines.back();
    CHECK(na.shared());
    CHECK(na.text().data() == nb.text().data());
    CHECK(na == *cache.line(j, true));
    // A reply is the session's own.
    session_output reply;
    a.p.on_line(R"({"id":9,"method":"mining.ping","params":[]})", a.now, reply);
    REQUIRE(reply.lines.size() == 1);
    CHECK_FALSE(reply.lines[0].shared());
}

namespace {

// The first session's extranonce1 (scripted_source) and the submit helper's extranonce2.
const bytes first_extranonce1{0xf0, 0x00, 0x00, 0x01};
const bytes zero_extranonce2(4, 0);

const std::string true_reply = "{\"id\":4,\"result\":true,\"error\":null}\n";

}  // namespace

TEST_CASE("stratum: a job easier than the session's difficulty gets the network difficulty before its notify") {
    harness h;  // the session's own difficulty: 0.002
    h.src.push_job(test::cpuminer_job(4, "m1"));
    h.handshake();
    REQUIRE(h.p.stats().difficulty == doctest::Approx(0.002));

    const auto easy = test::regtest_job(4, "r1", false);
    h.src.push_job(easy);
    auto lines = h.job(easy);
    REQUIRE(methods(lines) == std::vector<std::string>{"mining.set_difficulty", "mining.notify"});
    const double network = difficulty_of(lines[0]);
    CHECK(network == network_share_difficulty(easy->target));
    CHECK(network == doctest::Approx(difficulty_from_bits(0x207fffff)));
    CHECK(target_from_difficulty(network) >= easy->target);
    CHECK(h.p.stats().difficulty == network);

    // A block that misses the session's own 0.002 is judged at its job's difficulty:
    // accepted, and a block.
    const std::uint32_t block = test::nonce_where(*easy, first_extranonce1, zero_extranonce2, [&](const uint256& v) {
        return v <= easy->target && v > target_from_difficulty(0.002);
    });
    CHECK(h.send(submit("r1", u32_to_stratum_hex(block))) == std::vector<std::string>{true_reply});
    CHECK(h.src.shares().back().difficulty == network);
    CHECK(h.p.stats().accepted == 1);
    CHECK(h.p.stats().blocks == 1);

    // Another easy job needs no new set_difficulty.
    const auto easy2 = test::regtest_job(4, "r2", false);
    h.src.push_job(easy2);
    CHECK(methods(h.job(easy2)) == std::vector<std::string>{"mining.notify"});
    // The next job whose network difficulty allows it brings the session's own back,
    // before its notify.
    const auto hard = test::cpuminer_job(4, "m2", std::nullopt, false);
    h.src.push_job(hard);
    lines = h.job(hard);
    REQUIRE(methods(lines) == std::vector<std::string>{"mining.set_difficulty", "mining.notify"});
    CHECK(difficulty_of(lines[0]) == doctest::Approx(0.002));
    // Each job keeps the difficulty it was notified with.
    h.send(submit("r2", "00000000"));
    CHECK(h.src.shares().back().difficulty == network);
    h.send(submit("m2", "41234e01"));
    CHECK(h.src.shares().back().difficulty == doctest::Approx(0.002));
}

TEST_CASE("stratum: d=N, suggest_difficulty, the configure minimum and difficulty.min all yield to the network difficulty") {
    struct way {
        const char* name;
        config::difficulty_settings difficulty;
        std::string before;  // a line sent before authorize
        std::string password;
        double own;
    };
    config::difficulty_settings fixed;
    fixed.initial = fixed.min = fixed.max = 512;
    const std::vector<way> ways = {
        {"the config's defaults", {}, "", "x", config::difficulty_settings{}.initial},
        {"d=N in the password", {}, "", "x,d=2048", 2048},
        {"mining.suggest_difficulty", {}, R"({"id":9,"method":"mining.suggest_difficulty","params":[4096]})", "x", 4096},
        {"configure minimum-difficulty", {},
         R"({"id":9,"method":"mining.configure","params":[["minimum-difficulty"],{"minimum-difficulty.value":8192}]})", "x",
         8192},
        {"difficulty.min = difficulty.max", fixed, "", "x", 512},
    };
    for (const auto& w : ways) {
        CAPTURE(w.name);
        session_settings s;
        s.difficulty = w.difficulty;
        harness h(s, true);
        const auto easy = test::regtest_job(4, "r1");
        h.src.push_job(easy);
        if (!w.before.empty()) REQUIRE(h.send(w.before).size() == 1);
        REQUIRE(h.send(R"({"id":1,"method":"mining.subscribe","params":[]})").size() == 1);
        auto lines = h.send(R"({"id":2,"method":"mining.authorize","params":["x",")" + w.password + R"("]})");
        REQUIRE(methods(lines) == std::vector<std::string>{"", "mining.set_difficulty", "mining.notify"});
        CHECK(difficulty_of(lines[1]) == network_share_difficulty(easy->target));
        lines = h.job(test::cpuminer_job(4, "m1", std::nullopt, false));
        REQUIRE(methods(lines) == std::vector<std::string>{"mining.set_difficulty", "mining.notify"});
        CHECK(difficulty_of(lines[0]) == w.own);
    }
}

TEST_CASE("stratum: a share that solved a block is answered true whatever else its verdict says") {
    harness h;
    h.src.push_job(test::cpuminer_job(4, "11"));
    h.handshake();
    for (auto status : {share_status::job_not_found, share_status::duplicate, share_status::low_difficulty,
                        share_status::bad_ntime}) {
        CAPTURE(static_cast<int>(status));
        h.src.force_verdict(status, true);
        CHECK(h.send(submit("11", "41234e01")) == std::vector<std::string>{true_reply});
    }
    CHECK(h.p.stats().accepted == 4);
    CHECK(h.p.stats().blocks == 4);
    CHECK(h.p.stats().rejected == 0);
    CHECK(h.logged("block found by 'x' (job 11); answered true although the share was also 'Job not found'"));
    // Without a block the same verdict is an error.
    h.src.force_verdict(share_status::low_difficulty, false);
    auto low = h.send(submit("11", "41234e01"));
    REQUIRE(low.size() == 1);
    CHECK(low[0].find("\"error\":[23,") != std::string::npos);
    CHECK(h.p.stats().rejected == 1);
    CHECK(h.p.stats().blocks == 4);
}

TEST_CASE("stratum: address-username mode says what the username must be, and why an address failed") {
    const std::string must = "username must be your bitcoin-mainnet payout address (bc1q... or 1... or 3...), "
                             "optionally followed by .workername";
    // A mistyped address keeps the decoder's detail.
    const std::string mistyped_base58 = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3";  // ...VN2 is valid
    const std::string mistyped_bech32 = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5";  // ...t4 is valid
    const std::string testnet = "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx";  // BIP173, valid on testnet
    const auto decoder = [](const std::string& a) {
        auto r = address_to_script(a, params(network::bitcoin_mainnet).address);
        REQUIRE_FALSE(r);
        return r.error().message();
    };
    struct user_case {
        std::string user;
        std::string message;
    };
    const std::vector<user_case> cases = {
        {"rig1", must},
        {"worker.1", must},
        {"", must},
        {mistyped_base58 + ".rig1", "invalid payout address: address checksum does not match; " + must},
        {mistyped_bech32, "invalid payout address: " + decoder(mistyped_bech32) + "; " + must},
        {testnet + ".rig", "invalid payout address: address belongs to another network; " + must},
    };
    session_settings s;
    s.payout = config::payout_mode::address_username;
    s.net = network::bitcoin_mainnet;
    harness h(s);
    h.send(R"({"id":1,"method":"mining.subscribe","params":[]})");
    for (const auto& c : cases) {
        CAPTURE(c.user);
        auto r = h.send(R"({"id":2,"method":"mining.authorize","params":[")" + c.user + R"(","x"]})");
        REQUIRE(r.size() == 1);
        rapidjson::Document d;
        d.Parse(r[0].c_str());
        REQUIRE(d["error"].IsArray());
        CHECK(d["error"][0].GetInt() == 24);
        CHECK(std::string(d["error"][1].GetString()) == c.message);
        CHECK(h.logged("authorize refused for '" + c.user + "': " + c.message));
        CHECK_FALSE(h.p.authorized());
    }
    CHECK(decoder(mistyped_bech32).find("checksum") != std::string::npos);
    auto ok = h.send(R"({"id":3,"method":"mining.authorize","params":["1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2.rig1","x"]})");
    REQUIRE_FALSE(ok.empty());
    CHECK(ok[0] == "{\"id\":3,\"result\":true,\"error\":null}\n");
}

TEST_CASE("stratum: address forms come from the chain parameters and match real addresses") {
    CHECK(address_forms(network::bitcoin_mainnet) == "bc1q... or 1... or 3...");
    CHECK(address_forms(network::bitcoin_testnet3) == "tb1q... or m... or n... or 2...");
    CHECK(address_forms(network::bitcoin_regtest) == "bcrt1q... or m... or n... or 2...");
    CHECK(address_forms(network::ravencoin_mainnet) == "R... or r...");
    // Every network: the addresses of the smallest and largest hashes of each kind start
    // with one of its forms.
    for (const auto& c : all_networks()) {
        CAPTURE(c.name);
        const std::string forms = address_forms(c.net);
        for (std::uint8_t fill : {0x00, 0x01, 0x7f, 0xff}) {
            bytes p2pkh = *from_hex("76a914" + std::string(40, '0') + "88ac");
            bytes p2sh = *from_hex("a914" + std::string(40, '0') + "87");
            std::fill(p2pkh.begin() + 3, p2pkh.begin() + 23, fill);
            std::fill(p2sh.begin() + 2, p2sh.begin() + 22, fill);
            for (const auto& script : {p2pkh, p2sh}) {
                auto a = script_to_address(script, c.address);
                REQUIRE(a);
                CHECK(forms.find(a->substr(0, 1) + "...") != std::string::npos);
            }
            if (!c.address.bech32_hrp.empty()) {
                bytes p2wpkh = *from_hex("0014" + std::string(40, '0'));
                std::fill(p2wpkh.begin() + 2, p2wpkh.end(), fill);
                auto a = script_to_address(p2wpkh, c.address);
                REQUIRE(a);
                CHECK(forms.find(a->substr(0, c.address.bech32_hrp.size() + 2) + "...") == 0);
            }
        }
    }
}

TEST_CASE("stratum: the network share difficulty's target is never harder than the network target") {
    std::vector<uint256> targets;
    for (std::uint32_t bits : {0x207fffffu, 0x1d00ffffu, 0x17034219u, 0x1b0404cbu, 0x1e00ffffu, 0x1f00ffffu})
        targets.push_back(compact_to_target(bits).target);
    for (const auto& c : all_networks()) {
        targets.push_back(c.pow_limit);
        if (!c.kawpow_limit.is_zero()) targets.push_back(c.kawpow_limit);
    }
    for (const auto& t : targets) {
        CAPTURE(t.to_hex());
        const double d = network_share_difficulty(t);
        CHECK(target_from_difficulty(d) >= t);
        CHECK(d <= difficulty_from_target(t));
        CHECK(d == doctest::Approx(difficulty_from_target(t)).epsilon(1e-14));
    }
    CHECK(network_share_difficulty(uint256()) == 0);
}
