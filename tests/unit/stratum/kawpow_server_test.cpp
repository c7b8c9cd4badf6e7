// The KAWPOW dialect over real sockets (stratum.md §5): a server on 127.0.0.1 in front of
// the real dispatcher with Ravencoin regtest templates, shares verified on a separate
// thread pool as in the daemon, and clients that talk like kawpowminer, XMRig and T-Rex.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <rapidjson/document.h>

#include "dispatch/dispatcher.hpp"
#include "sb/core/hex.hpp"
#include "sb/core/pow.hpp"
#include "sb/core/uint256.hpp"
#include "sb/pow/ethash.hpp"
#include "sb/pow/kawpow.hpp"
#include "sb/node/internal/json.hpp"
#include "sb/node/template.hpp"
#include "stratum/dispatcher_source.hpp"
#include "stratum/server.hpp"
#include "stratum_test_client.hpp"
#include "vectors.hpp"

using namespace sb;
using namespace sb::bridge;
using namespace sb::bridge::stratum;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using client = test::stratum_client;

namespace {

// fees: added to coinbasevalue (a later template of the same tip; an equal one makes no job).
std::shared_ptr<const node::block_template> raven_tmpl(std::int64_t fees = 0) {
    rapidjson::Document d = test::vector_member_copy("ravencoin.json", "getblocktemplate_kawpow_with_tx");
    d["coinbasevalue"].SetInt64(d["coinbasevalue"].GetInt64() + fees);
    auto t = node::parse_block_template(d, params(network::ravencoin_regtest));
    REQUIRE_MESSAGE(t, t.error().message());
    return std::make_shared<const node::block_template>(std::move(*t));
}

// A share target that clamps to regtest's network target.
config::difficulty_settings tiny_difficulty() {
    config::difficulty_settings d;
    d.initial = 1e-9;
    d.min = 1e-12;
    return d;
}

struct kawpow_fixture {
    explicit kawpow_fixture(const config::difficulty_settings& difficulty = tiny_difficulty()) {
        dispatcher_options d;
        d.fixed_payout_script = *from_hex("76a914000000000000000000000000000000000000000188ac");
        d.log = [](std::string_view) {};
        disp = std::make_shared<dispatcher>(asio::make_strand(io), params(network::ravencoin_regtest), d,
                                            [this](found_block b) {
                                                std::lock_guard lock(mu);
                                                blocks.push_back(std::move(b));
                                            });
        REQUIRE_FALSE(disp->on_template(raven_tmpl()));
        server_options o;
        config::stratum_listener l;
        l.listen = {"127.0.0.1", 0};
        l.difficulty = difficulty;
        o.listeners.push_back(l);
        o.net = network::ravencoin_regtest;
        o.dialect = dialect::kawpow;
        o.verify = [this](std::function<void()> task) { asio::post(pool, std::move(task)); };
        o.log = [](std::string_view) {};
        srv = std::make_unique<server>(io, std::make_shared<dispatcher_source>(disp), o);
        REQUIRE_FALSE(srv->start());
        port = srv->listeners().at(0).port;
        for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
    }
    ~kawpow_fixture() {
        srv->stop();
        disp->stop();
        pool.join();
        guard.reset();
        srv.reset();
        io.stop();
        for (auto& t : threads) t.join();
    }
    std::size_t block_count() {
        std::lock_guard lock(mu);
        return blocks.size();
    }

    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
    asio::thread_pool pool{2};
    std::mutex mu;
    std::vector<found_block> blocks;
    std::shared_ptr<dispatcher> disp;
    std::unique_ptr<server> srv;
    std::uint16_t port = 0;
    std::vector<std::thread> threads;
};

rapidjson::Document parse(const std::string& line) {
    rapidjson::Document d;
    d.Parse(line.c_str());
    REQUIRE_MESSAGE(d.IsObject(), line);
    return d;
}

std::string next(client& c) {
    auto line = c.read_line();
    REQUIRE(line);
    return *line;
}

struct job_seen {
    std::string id;
    hash256 header_hash{};
    std::uint32_t height = 0;
    uint256 target;
};

// subscribe + authorize as `agent`; returns the nonce prefix and the first job.
std::pair<std::uint16_t, job_seen> handshake(client& c, const std::string& agent) {
    c.send_line(R"({"id":1,"jsonrpc":"2.0","method":"mining.subscribe","params":[")" + agent + R"("]})");
    auto sub = parse(next(c));
    REQUIRE(sub["result"].IsArray());
    const auto prefix = static_cast<std::uint16_t>(std::stoul(sub["result"][1].GetString(), nullptr, 16));
    c.send_line(R"({"id":2,"jsonrpc":"2.0","method":"mining.authorize","params":["RWorker.rig","x"]})");
    CHECK(next(c) == R"({"id":2,"result":true,"error":null})");
    auto st = parse(next(c));
    CHECK(std::string(st["method"].GetString()) == "mining.set_target");
    auto n = parse(next(c));
    CHECK(std::string(n["method"].GetString()) == "mining.notify");
    const auto& p = n["params"];
    REQUIRE(p.Size() == 7);
    CHECK(std::string(p[3].GetString()) == st["params"][0].GetString());
    job_seen j;
    j.id = p[0].GetString();
    j.header_hash = *from_hex_fixed<32>(p[1].GetString());
    REQUIRE(p[5].IsUint());
    j.height = p[5].GetUint();
    j.target = *uint256::from_hex(p[3].GetString());
    return {prefix, j};
}

std::string hex16(std::uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

// A nonce with the prefix whose final hash `meets` (the client's view of the share target).
std::pair<std::uint64_t, pow::kawpow::hash_result> mine_where(const job_seen& j, std::uint16_t prefix,
                                                             const std::function<bool(const uint256&)>& meets) {
    const auto ctx = pow::ethash::global_epoch_cache().get(0);
    for (std::uint64_t i = 0; i < 300; ++i) {
        const std::uint64_t nonce = (std::uint64_t{prefix} << 48) | i;
        const auto h = pow::kawpow::hash(*ctx, j.height, j.header_hash, nonce);
        if (meets(uint256::from_be_bytes(h.final_hash.data()))) return {nonce, h};
    }
    FAIL("no nonce");
    return {};
}

// A nonce with the prefix whose final hash meets the job's share target.
std::pair<std::uint64_t, pow::kawpow::hash_result> mine(const job_seen& j, std::uint16_t prefix) {
    return mine_where(j, prefix, [&](const uint256& v) { return v <= j.target; });
}

}  // namespace

TEST_CASE("kawpow server: kawpowminer and XMRig sessions get distinct prefixes and their shares are verified") {
    kawpow_fixture f;
    client kawpowminer(f.port);
    client xmrig(f.port);
    const auto [prefix_a, job_a] = handshake(kawpowminer, "kawpowminer/1.2.4");
    const auto [prefix_b, job_b] = handshake(xmrig, "XMRig/6.21.0");
    CHECK(prefix_a != prefix_b);
    CHECK(job_a.header_hash == job_b.header_hash);  // one job for every session: the nonce space is split

    // kawpowminer: "0x" everywhere; the reply comes after the verification on the pool.
    const auto [nonce_a, hash_a] = mine(job_a, prefix_a);
    kawpowminer.send_line(R"({"id":40,"jsonrpc":"2.0","method":"mining.submit","params":["RWorker.rig",")" + job_a.id +
                          R"(","0x)" + hex16(nonce_a) + R"(","0x)" + to_hex(job_a.header_hash) + R"(","0x)" +
                          to_hex(hash_a.mix_hash) + R"("]})");
    CHECK(next(kawpowminer) == R"({"id":40,"result":true,"error":null})");
    // XMRig: no "0x"; its nonce carries the other prefix.
    const auto [nonce_b, hash_b] = mine(job_b, prefix_b);
    xmrig.send_line(R"({"id":7,"jsonrpc":"2.0","method":"mining.submit","params":["RWorker.rig",")" + job_b.id + R"(",")" +
                    hex16(nonce_b) + R"(",")" + to_hex(job_b.header_hash) + R"(",")" + to_hex(hash_b.mix_hash) +
                    R"("]})");
    CHECK(next(xmrig) == R"({"id":7,"result":true,"error":null})");
    // At regtest bits the share target is the network target: both were blocks.
    CHECK(f.block_count() == 2);

    // XMRig's block sent again from the other session: out of its range and a duplicate,
    // but a block that went to the node again, so the reply must not say otherwise.
    kawpowminer.send_line(R"({"id":41,"method":"mining.submit","params":["RWorker.rig",")" + job_a.id + R"(","0x)" +
                          hex16(nonce_b) + R"(","0x)" + to_hex(job_a.header_hash) + R"(","0x)" +
                          to_hex(hash_b.mix_hash) + R"("]})");
    CHECK(next(kawpowminer) == R"({"id":41,"result":true,"error":null})");
    CHECK(f.block_count() == 3);
    // Hashrate reports get true.
    xmrig.send_line(R"({"id":9,"method":"eth_submitHashrate","params":["0x00000000000000000000000000000000000000000000000000000000000f4240","0x01"]})");
    CHECK(next(xmrig) == R"({"id":9,"result":true,"error":null})");
}

TEST_CASE("kawpow server: T-Rex gets a fresh job on a new template with the target in set_target and notify") {
    kawpow_fixture f;
    client trex(f.port);
    const auto [prefix, first] = handshake(trex, "T-Rex/0.26.8");
    (void)prefix;
    REQUIRE_FALSE(f.disp->on_template(raven_tmpl(1000)));  // same tip, new fees: a new job, not clean
    auto n = parse(next(trex));
    CHECK(std::string(n["method"].GetString()) == "mining.notify");
    CHECK(std::string(n["params"][0].GetString()) != first.id);
    CHECK_FALSE(n["params"][4].GetBool());
    CHECK(*uint256::from_hex(n["params"][3].GetString()) == first.target);
}

TEST_CASE("kawpow server: garbage closes that session only") {
    kawpow_fixture f;
    client good(f.port);
    const auto [prefix, j] = handshake(good, "kawpowminer/1.2.4");
    client bad(f.port);
    bad.send_line("{\"id\":1,\"method\":");
    CHECK_FALSE(bad.read_line(5s));
    good.send_line(R"({"id":3,"method":"eth_submitHashrate","params":["0x01","0x01"]})");
    CHECK(next(good) == R"({"id":3,"result":true,"error":null})");
    (void)prefix;
    (void)j;
}

TEST_CASE("kawpow server: with the config's default difficulty kawpowminer, T-Rex and XMRig each mine regtest blocks") {
    // The live Ravencoin regtest run: at difficulty.initial 1024 / difficulty.min 0.001 the
    // share target was harder than the network target, and blocks were refused or never sent.
    kawpow_fixture f{config::difficulty_settings{}};
    const uint256 network = compact_to_target(0x207fffff).target;
    struct style {
        const char* agent;
        // Whether the client submits a final hash, from the target as it reads it
        // (stratum.md §5): kawpowminer notify[3], T-Rex set_target (checked equal to it by
        // handshake), XMRig the first 16 hex digits of notify[3] against the top 64 bits.
        std::function<bool(const job_seen&, const uint256&)> sends;
    };
    const std::vector<style> styles = {
        {"kawpowminer/1.2.4", [](const job_seen& j, const uint256& v) { return v <= j.target; }},
        {"T-Rex/0.26.8", [](const job_seen& j, const uint256& v) { return v <= j.target; }},
        {"XMRig/6.21.0",
         [](const job_seen& j, const uint256& v) { return (v >> 192).low64() <= (j.target >> 192).low64(); }},
    };
    std::vector<std::unique_ptr<client>> clients;
    int id = 40;
    for (const auto& s : styles) {
        CAPTURE(s.agent);
        clients.push_back(std::make_unique<client>(f.port));
        client& c = *clients.back();
        const auto [prefix, job] = handshake(c, s.agent);
        const auto& j = job;  // the lambda below cannot capture a binding before clang 16
        CHECK(j.target >= network);
        const auto [nonce, h] =
            mine_where(j, prefix, [&](const uint256& v) { return s.sends(j, v) && v <= network; });
        c.send_line(R"({"id":)" + std::to_string(id) + R"(,"method":"mining.submit","params":["RWorker.rig",")" + j.id +
                    R"(","0x)" + hex16(nonce) + R"(","0x)" + to_hex(j.header_hash) + R"(","0x)" +
                    to_hex(h.mix_hash) + R"("]})");
        CHECK(next(c) == R"({"id":)" + std::to_string(id) + R"(,"result":true,"error":null})");
        ++id;
    }
    CHECK(f.block_count() == styles.size());
}
