// `solobridge cpu-miner` against a real Stratum server that goes away and comes back: a
// bcoin regtest node, the daemon from the regtest example, the miner pointed at its
// Stratum port; the daemon is stopped while the miner mines and started again on the
// same ports. The miner must keep trying (with back-off) and mine on the new daemon.
#include <doctest/doctest.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "eventually.hpp"
#include "regtest_node.hpp"

using namespace sb;

namespace {

std::unique_ptr<test::child_process> start_daemon(test::regtest_node& node, std::uint16_t stratum_port,
                                                  std::uint16_t http_port, const std::string& data_dir,
                                                  const std::string& log) {
    auto d = std::make_unique<test::child_process>(
        std::vector<std::string>{SB_SOLOBRIDGE_BIN, "--config",
                                 std::string(SB_SOURCE_DIR) + "/config/examples/regtest-bcoin.json"},
        std::vector<std::string>{"SB_NODE_RPC_URL=" + node.rpc_url(), "SB_NODE_RPC_PASSWORD=" + node.api_key(),
                                 "SB_NODE_P2P=127.0.0.1:" + std::to_string(node.p2p_port()),
                                 "SB_STRATUM_LISTEN=127.0.0.1:" + std::to_string(stratum_port),
                                 "SB_HTTP_LISTEN=127.0.0.1:" + std::to_string(http_port), "SB_DATA_DIR=" + data_dir},
        log);
    REQUIRE_MESSAGE(test::wait_for_port(stratum_port, std::chrono::seconds(30), d.get()),
                    "daemon did not open its Stratum port:\n" << d->output());
    return d;
}

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
    return n;
}

std::uint64_t height(test::regtest_node& node) { return node.rpc("getblockchaininfo")["blocks"].GetUint64(); }

}  // namespace

TEST_CASE("integration: cpu-miner reconnects with back-off when the bridge stops and mines on the restarted bridge") {
    test::regtest_node node;
    const std::uint16_t stratum_port = test::free_loopback_port();
    const std::uint16_t http_port = test::free_loopback_port();
    const std::string data_dir = node.dir() + "/bridge-data";
    auto daemon = start_daemon(node, stratum_port, http_port, data_dir, node.dir() + "/daemon1.log");

    // At regtest difficulty the share target is the network's (clamped): every share is a
    // block, and the miner waits for the next tip after each. The node's height counts them.
    test::child_process miner({SB_SOLOBRIDGE_BIN, "cpu-miner", "--url", "127.0.0.1:" + std::to_string(stratum_port),
                               "--user", "demo.rig1", "--seconds", "240"},
                              {}, node.dir() + "/miner.log");
    INFO("miner output:\n" << miner.output());
    REQUIRE(test::eventually([&] { return height(node) >= 1; }, std::chrono::seconds(120)));
    REQUIRE(miner.running());
    CHECK(daemon->terminate() == 0);

    // The bridge is gone: the miner notices, waits, and its next attempts are refused.
    REQUIRE(test::eventually([&] { return miner.output().find("cannot connect to 127.0.0.1") != std::string::npos; },
                             std::chrono::seconds(30)));
    CHECK(miner.running());
    CHECK(miner.output().find("reconnecting to 127.0.0.1:" + std::to_string(stratum_port) + " in 1.0 s") !=
          std::string::npos);
    const std::uint64_t before_restart = height(node);

    daemon = start_daemon(node, stratum_port, http_port, data_dir, node.dir() + "/daemon2.log");
    INFO("second daemon output:\n" << daemon->output());
    // Shares after the restart are blocks on the node too.
    REQUIRE(test::eventually([&] { return count(miner.output(), "cpu-miner: authorized") >= 2; },
                             std::chrono::seconds(60)));
    CHECK(test::eventually([&] { return height(node) > before_restart; }, std::chrono::seconds(60)));
    // SIGTERM ends it like --seconds: the summary, exit 0 after accepted shares.
    CHECK(miner.terminate() == 0);
    CHECK(miner.output().find(", 2 connections\n") != std::string::npos);
    CHECK(daemon->terminate() == 0);
}

TEST_CASE("integration: cpu-miner stops with exit 1 when the bridge refuses its username, without reconnecting") {
    test::regtest_node node;
    const std::uint16_t stratum_port = test::free_loopback_port();
    const std::uint16_t http_port = test::free_loopback_port();
    // address-username mode without a fallback address: a worker name is refused at authorize.
    const std::string path = node.dir() + "/username.json";
    {
        std::ofstream out(path);
        out << R"({ "data_dir": ")" << node.dir() << R"(/bridge-data",
  "http": { "listen": "127.0.0.1:)" << http_port << R"(" },
  "chains": [ { "id": "regtest", "network": "bitcoin-regtest",
    "nodes": [ { "rpc_url": ")" << node.rpc_url() << R"(", "rpc_user": "solobridge",
                 "rpc_password": ")" << node.api_key() << R"(" } ],
    "payout": { "mode": "address-username" },
    "stratum": [ { "listen": "127.0.0.1:)" << stratum_port << R"(" } ] } ] })";
    }
    test::child_process daemon({SB_SOLOBRIDGE_BIN, "--config", path}, {}, node.dir() + "/daemon.log");
    REQUIRE_MESSAGE(test::wait_for_port(stratum_port, std::chrono::seconds(30), &daemon),
                    "daemon did not open its Stratum port:\n" << daemon.output());

    test::child_process miner({SB_SOLOBRIDGE_BIN, "cpu-miner", "--url", "127.0.0.1:" + std::to_string(stratum_port),
                               "--user", "rig1", "--seconds", "120"},
                              {}, node.dir() + "/miner.log");
    const auto rc = miner.wait_for_exit(std::chrono::seconds(60));
    INFO("miner output:\n" << miner.output());
    REQUIRE(rc.has_value());
    CHECK(*rc == 1);
    CHECK(miner.output().find("authorize refused") != std::string::npos);
    CHECK(miner.output().find("reconnecting") == std::string::npos);
    CHECK(miner.output().find(", 1 connection\n") != std::string::npos);
    CHECK(daemon.terminate() == 0);
}
