// Alerts end to end: the daemon with a real bcoin regtest node and `solobridge cpu-miner`,
// sending to a webhook receiver on 127.0.0.1. A found block, the node going down and
// coming back, and a node that refuses the credentials each reach the webhook.
#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include <rapidjson/document.h>

#include "child_process.hpp"
#include "eventually.hpp"
#include "receiver.hpp"
#include "regtest_node.hpp"

using namespace sb;
using test::eventually;

namespace {

// The daemon's configuration: node, one Stratum port, and alerts to the receiver at most
// once a second per kind family (a CPU miner at regtest difficulty finds a block with
// nearly every hash: they are grouped).
std::string write_config(test::regtest_node& node, std::uint16_t stratum_port, const test::http_receiver& rx,
                         const std::string& password) {
    const std::string path = node.dir() + "/alerts.json";
    std::ofstream out(path);
    out << R"({ "data_dir": ")" << node.dir() << R"(/bridge-data",
  "http": { "enabled": false },
  "alerts": { "webhooks": [ { "url": "http://127.0.0.1:)" << rx.port() << R"(/hook" } ], "min_interval_s": 1 },
  "chains": [ { "id": "regtest", "network": "bitcoin-regtest",
    "nodes": [ { "rpc_url": ")" << node.rpc_url() << R"(", "rpc_user": "solobridge", "rpc_password": ")" << password
        << R"(", "rpc_timeout_ms": 5000 } ],
    "payout": { "address": "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080" },
    "stratum": [ { "listen": "127.0.0.1:)" << stratum_port << R"(",
      "difficulty": { "initial": 0.001, "min": 0.0001, "max": 1000, "target_share_seconds": 5 } } ] } ] })";
    return path;
}

// The alerts of one kind the receiver has, as parsed JSON bodies.
std::vector<rapidjson::Document> alerts_of(const test::http_receiver& rx, const std::string& kind) {
    std::vector<rapidjson::Document> out;
    for (const auto& r : rx.requests()) {
        rapidjson::Document d;
        d.Parse(r.body.c_str(), r.body.size());
        if (d.IsObject() && d.HasMember("kind") && d["kind"].IsString() && kind == d["kind"].GetString())
            out.push_back(std::move(d));
    }
    return out;
}

}  // namespace

TEST_CASE("integration: alerts reach a webhook when a block is found and when the node goes down and comes back") {
    test::regtest_node node;
    test::http_receiver rx;
    const std::uint16_t stratum_port = test::free_loopback_port();
    const std::string config = write_config(node, stratum_port, rx, node.api_key());
    test::child_process daemon({SB_SOLOBRIDGE_BIN, "--config", config}, {}, node.dir() + "/daemon.log");
    INFO("daemon output:\n" << daemon.output());
    REQUIRE(test::wait_for_port(stratum_port, std::chrono::seconds(30), &daemon));

    test::child_process miner({SB_SOLOBRIDGE_BIN, "cpu-miner", "--url", "127.0.0.1:" + std::to_string(stratum_port),
                               "--user", "demo.rig1", "--max-shares", "1", "--seconds", "60"},
                              {}, node.dir() + "/miner.log");
    REQUIRE(miner.wait_for_exit(std::chrono::seconds(90)) == 0);
    REQUIRE(eventually([&] { return node.rpc("getblockchaininfo")["blocks"].GetUint() >= 1; }, std::chrono::seconds(30)));
    REQUIRE(eventually([&] { return !alerts_of(rx, "block_found").empty(); }, std::chrono::seconds(30)));
    // The first found block goes out alone, at once; the node holds the block at height 1
    // (the miner's others at that height compete with it).
    const auto found = alerts_of(rx, "block_found");
    const std::string hash = found[0]["subjects"][0].GetString();
    CHECK(hash.size() == 64);
    CHECK(std::string(found[0]["chain"].GetString()) == "regtest");
    CHECK(std::string(found[0]["title"].GetString()) == "solobridge regtest: block found");
    CHECK(found[0]["count"].GetUint64() == 1);
    CHECK(std::string(found[0]["text"].GetString()) == "block 1 found by demo.rig1, hash " + hash);
    CHECK(alerts_of(rx, "node_down").empty());  // a node that works is not news

    node.kill_now();
    REQUIRE(eventually([&] { return !alerts_of(rx, "node_down").empty(); }, std::chrono::seconds(60)));
    const auto down = alerts_of(rx, "node_down");
    CHECK(std::string(down[0]["subjects"][0].GetString()) == node.rpc_url());
    CHECK(std::string(down[0]["text"].GetString()).starts_with(node.rpc_url() + " is down: "));

    node.restart();
    REQUIRE(eventually([&] { return !alerts_of(rx, "node_up").empty(); }, std::chrono::seconds(90)));
    CHECK(std::string(alerts_of(rx, "node_up")[0]["text"].GetString()) == node.rpc_url() + " supplies work again");
    CHECK(alerts_of(rx, "node_down").size() == 1);
    CHECK(daemon.terminate() == 0);
}

TEST_CASE("integration: a node that refuses the daemon's RPC credentials is reported to the webhook") {
    test::regtest_node node;
    test::http_receiver rx;
    const std::uint16_t stratum_port = test::free_loopback_port();
    const std::string config = write_config(node, stratum_port, rx, "not-the-api-key");
    test::child_process daemon({SB_SOLOBRIDGE_BIN, "--config", config}, {}, node.dir() + "/daemon.log");
    INFO("daemon output:\n" << daemon.output());
    REQUIRE(test::wait_for_port(stratum_port, std::chrono::seconds(30), &daemon));
    REQUIRE(eventually([&] { return !alerts_of(rx, "node_unauthorized").empty(); }, std::chrono::seconds(60)));
    const auto a = alerts_of(rx, "node_unauthorized");
    CHECK(std::string(a[0]["title"].GetString()) == "solobridge regtest: node refuses the RPC credentials");
    CHECK(std::string(a[0]["text"].GetString()).starts_with(node.rpc_url() + " refuses the RPC credentials: "));
    CHECK(std::string(a[0]["text"].GetString()).find("401") != std::string::npos);
    CHECK(alerts_of(rx, "node_down").empty());
    CHECK(daemon.terminate() == 0);
}
