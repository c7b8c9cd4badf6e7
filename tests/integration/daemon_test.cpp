// End to end, as a user runs it: a real bcoin regtest node, the solobridge daemon with
// config/examples/regtest-bcoin.json (node and listeners overridden through SB_*
// variables), and `solobridge cpu-miner` pointed at its Stratum port. The miner's
// shares are blocks at regtest difficulty: they must reach the node and pay our address.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <regex>
#include <thread>
#include <string>

#include <rapidjson/document.h>

#include "child_process.hpp"
#include "dispatch/journal.hpp"
#include "regtest_blocks.hpp"
#include "eventually.hpp"
#include "regtest_node.hpp"
#include "sb/core/hex.hpp"

using namespace sb;

namespace {

// The daemon from the regtest example, pointed at node through SB_* overrides.
struct daemon_under_test {
    std::uint16_t stratum_port = test::free_loopback_port();
    std::uint16_t http_port = test::free_loopback_port();
    std::unique_ptr<test::child_process> process;

    void start(test::regtest_node& node, const std::string& data_dir, const std::string& log) {
        process = std::make_unique<test::child_process>(
            std::vector<std::string>{SB_SOLOBRIDGE_BIN, "--config",
                                     std::string(SB_SOURCE_DIR) + "/config/examples/regtest-bcoin.json"},
            std::vector<std::string>{"SB_NODE_RPC_URL=" + node.rpc_url(), "SB_NODE_RPC_PASSWORD=" + node.api_key(),
                                     "SB_NODE_P2P=127.0.0.1:" + std::to_string(node.p2p_port()),
                                     "SB_STRATUM_LISTEN=127.0.0.1:" + std::to_string(stratum_port),
                                     "SB_HTTP_LISTEN=127.0.0.1:" + std::to_string(http_port), "SB_DATA_DIR=" + data_dir},
            log);
        REQUIRE_MESSAGE(test::wait_for_port(stratum_port, std::chrono::seconds(30), process.get()),
                        "daemon did not open its Stratum port:\n" << process->output());
    }

    // The chain entry of /api/status.
    rapidjson::Document chain_status() {
        // No structured binding: INFO and REQUIRE_MESSAGE capture `body`, which clang
        // before 16 cannot do for a binding.
        const auto reply = test::http_get_loopback(http_port, "/api/status");
        const int code = reply.first;
        const std::string& body = reply.second;
        REQUIRE(code == 200);
        rapidjson::Document st;
        st.Parse(body.c_str());
        REQUIRE_MESSAGE(st.IsObject(), body);
        rapidjson::Document c;
        c.CopyFrom(st["chains"][0], c.GetAllocator());
        return c;
    }
};

using test::eventually;

bool coinbase_pays_us(test::regtest_node& n, const std::string& hash) {
    auto blk = n.rpc("getblock", "[\"" + hash + "\", true, true]");
    for (const auto& out : blk["tx"][0]["vout"].GetArray())
        if (out["scriptPubKey"].HasMember("hex") &&
            std::string(out["scriptPubKey"]["hex"].GetString()) == "0014751e76e8199196d454941c45d1b3a323f1433bd6")
            return true;
    return false;
}

}  // namespace

TEST_CASE("integration: the daemon's log has timestamps and levels, and log_level drops the lines below it") {
    // No node: its RPC port is closed, so the node-down line (warn) comes at once.
    const std::string dir =
        (std::filesystem::temp_directory_path() / ("sb-daemon-log-" + std::to_string(::getpid()))).string();
    struct cleanup {
        std::string dir;
        ~cleanup() {
            std::error_code ec;
            std::filesystem::remove_all(dir, ec);
        }
    } cleanup_dir{dir};
    std::filesystem::create_directories(dir);
    auto run = [&](const std::string& level) {
        const std::uint16_t stratum_port = test::free_loopback_port();
        std::vector<std::string> env = {"SB_NODE_RPC_URL=http://127.0.0.1:" + std::to_string(test::free_loopback_port()),
                                        "SB_NODE_P2P=127.0.0.1:" + std::to_string(test::free_loopback_port()),
                                        "SB_STRATUM_LISTEN=127.0.0.1:" + std::to_string(stratum_port),
                                        "SB_HTTP_LISTEN=127.0.0.1:" + std::to_string(test::free_loopback_port()),
                                        "SB_DATA_DIR=" + dir + "/" + level};
        if (level != "default") env.push_back("SB_LOG_LEVEL=" + level);
        test::child_process daemon(
            {SB_SOLOBRIDGE_BIN, "--config", std::string(SB_SOURCE_DIR) + "/config/examples/regtest-bcoin.json"}, env,
            dir + "/" + level + ".log");
        REQUIRE(test::wait_for_port(stratum_port, std::chrono::seconds(30), &daemon));
        CHECK(eventually([&] { return daemon.output().find(" warn  [regtest] node ") != std::string::npos; },
                         std::chrono::seconds(30)));
        CHECK(daemon.terminate() == 0);
        return daemon.output();
    };
    const std::string info = run("default");
    INFO(info);
    // 2026-12-07T01:56:00.460Z info  [regtest] stratum listening on 127.0.0.1:PORT, once.
    const std::regex listening(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info  \[regtest\] stratum listening on 127\.0\.0\.1:\d+)");
    CHECK(std::distance(std::sregex_iterator(info.begin(), info.end(), listening), std::sregex_iterator()) == 1);
    const std::string warn = run("warn");
    INFO(warn);
    CHECK(warn.find(" info  ") == std::string::npos);
    CHECK(warn.find("stratum listening") == std::string::npos);
}

TEST_CASE("integration: a miner on the daemon finds blocks that become the node's chain") {
    test::regtest_node node;
    const std::uint16_t stratum_port = test::free_loopback_port();
    const std::uint16_t http_port = test::free_loopback_port();
    const std::string data_dir = node.dir() + "/bridge-data";

    test::child_process daemon(
        {SB_SOLOBRIDGE_BIN, "--config", std::string(SB_SOURCE_DIR) + "/config/examples/regtest-bcoin.json"},
        {"SB_NODE_RPC_URL=" + node.rpc_url(), "SB_NODE_RPC_PASSWORD=" + node.api_key(),
         "SB_NODE_P2P=127.0.0.1:" + std::to_string(node.p2p_port()),
         "SB_STRATUM_LISTEN=127.0.0.1:" + std::to_string(stratum_port),
         "SB_HTTP_LISTEN=127.0.0.1:" + std::to_string(http_port), "SB_DATA_DIR=" + data_dir},
        node.dir() + "/daemon.log");
    REQUIRE_MESSAGE(test::wait_for_port(stratum_port, std::chrono::seconds(30), &daemon),
                    "daemon did not open its Stratum port:\n" << daemon.output());

    test::child_process miner({SB_SOLOBRIDGE_BIN, "cpu-miner", "--url", "stratum+tcp://127.0.0.1:" + std::to_string(stratum_port),
                               "--user", "demo.rig1", "--max-shares", "5", "--seconds", "120"},
                              {}, node.dir() + "/miner.log");
    const auto miner_rc = miner.wait_for_exit(std::chrono::seconds(180));
    INFO("miner output:\n" << miner.output());
    INFO("daemon output:\n" << daemon.output());
    REQUIRE(miner_rc.has_value());
    CHECK(*miner_rc == 0);

    // Every accepted share at regtest difficulty is a block: the node must have them.
    bool advanced = false;
    for (int i = 0; i < 100 && !advanced; ++i) {
        auto info = node.rpc("getblockchaininfo");
        advanced = info["blocks"].GetUint() >= 1;
        if (!advanced) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    REQUIRE(advanced);
    auto best = node.rpc("getbestblockhash");
    auto blk = node.rpc("getblock", std::string("[\"") + best.GetString() + "\", true, true]");
    REQUIRE(blk["tx"].IsArray());
    const auto& coinbase = blk["tx"][0];
    bool pays_us = false;
    for (const auto& out : coinbase["vout"].GetArray())
        if (out["scriptPubKey"].HasMember("hex") &&
            std::string(out["scriptPubKey"]["hex"].GetString()) == "0014751e76e8199196d454941c45d1b3a323f1433bd6")
            pays_us = true;
    CHECK(pays_us);

    // The found blocks were journaled (in parallel with sending them).
    bool journal_has_blocks = false;
    for (const auto& e : std::filesystem::directory_iterator(data_dir))
        if (e.path().filename().string().find("found-blocks") != std::string::npos && e.file_size() > 0)
            journal_has_blocks = true;
    CHECK(journal_has_blocks);

    // The status endpoint tells the same story, once the statistics have ticked (at once
    // on a found block, or within min_tick_gap of the last such tick).
    // No structured binding: INFO and REQUIRE_MESSAGE capture `body`, which clang
    // before 16 cannot do for a binding.
    std::pair<int, std::string> reply;
    rapidjson::Document st;
    eventually(
        [&] {
            reply = test::http_get_loopback(http_port, "/api/status");
            st.Parse(reply.second.c_str());
            return reply.first == 200 && st.IsObject() && st["chains"][0]["blocks"]["found"].GetUint64() >= 1;
        },
        std::chrono::seconds(10));
    const int code = reply.first;
    const std::string& body = reply.second;
    REQUIRE(code == 200);
    REQUIRE_MESSAGE(st.IsObject(), body);
    const auto& chain = st["chains"][0];
    CHECK(std::string(chain["id"].GetString()) == "regtest");
    CHECK(chain["node"]["reachable"].GetBool());
    CHECK(chain["shares"]["accepted"].GetUint64() >= 1);
    CHECK(chain["blocks"]["found"].GetUint64() >= 1);
    CHECK(chain["blocks"]["recent"].IsArray());
    CHECK(chain["tip"]["height"].GetUint() + 1 == chain["job_height"].GetUint());
    CHECK(chain["stratum_bans"].IsArray());
    CHECK(chain["stratum_bans"].Size() == 0);  // a well-behaved miner is never banned
    CHECK(test::http_get_loopback(http_port, "/nothing").first == 404);
    // The node's tip is one of ours: the chain watch reports it accepted, with its
    // confirmations, a moment after the node took it.
    CHECK(eventually(
        [&] {
            const auto [c, b] = test::http_get_loopback(http_port, "/api/status");
            rapidjson::Document s;
            s.Parse(b.c_str());
            return c == 200 && s.IsObject() && s["chains"][0]["blocks"]["accepted"].GetUint64() >= 1;
        },
        std::chrono::seconds(30)));

    CHECK(daemon.terminate() == 0);
}

TEST_CASE("integration: a block journaled before a crash is submitted when the daemon starts again") {
    test::regtest_node node;
    const std::string data_dir = node.dir() + "/bridge-data";
    // What a daemon killed right after journaling leaves behind: a found block on disk
    // that no node has seen.
    test::io_runner io;
    node::rpc_client client(io.executor(), test::rpc_settings_for(node));
    const test::built_block b = test::grind_block(test::fetch_template(io, client), "crash1", "/solobridge-test/");
    {
        bridge::journal_options o;
        o.block_hash = [](byte_span block) -> std::optional<hash256> {
            if (block.size() <= 80) return std::nullopt;
            return sha256d(block.first(80));
        };
        auto j = bridge::journal::open(data_dir + "/regtest.found-blocks", std::move(o));
        REQUIRE(j);
        (*j)->append_found(b.job.height, b.header.hash(), std::make_shared<const bytes>(b.block), 1700000000);
        REQUIRE(!(*j)->flush());
    }
    REQUIRE(node.rpc("getblockchaininfo")["blocks"].GetUint() == 0);

    daemon_under_test d;
    d.start(node, data_dir, node.dir() + "/daemon.log");
    const std::string ours = to_hex_reversed(b.header.hash());
    INFO("daemon output:\n" << d.process->output());
    CHECK(eventually([&] { return node.best_hash() == ours; }, std::chrono::seconds(60)));
    CHECK(d.process->terminate() == 0);
}

TEST_CASE("integration: blocks found while the node is down reach it when it returns") {
    test::regtest_node node;
    const std::string data_dir = node.dir() + "/bridge-data";
    daemon_under_test d;
    d.start(node, data_dir, node.dir() + "/daemon.log");
    INFO("daemon output:\n" << d.process->output());
    REQUIRE(eventually([&] { return d.chain_status()["job_height"].GetUint() == 1; }, std::chrono::seconds(30)));

    node.kill_now();
    test::child_process miner({SB_SOLOBRIDGE_BIN, "cpu-miner", "--url", "127.0.0.1:" + std::to_string(d.stratum_port),
                               "--user", "demo.rig1", "--max-shares", "2", "--seconds", "60"},
                              {}, node.dir() + "/miner.log");
    REQUIRE(miner.wait_for_exit(std::chrono::seconds(90)) == 0);
    CHECK(d.chain_status()["blocks"]["found"].GetUint64() >= 1);
    CHECK(d.chain_status()["blocks"]["accepted"].GetUint64() == 0);

    // Same ports, a fresh in-memory chain at genesis: the blocks (height 1) still connect.
    node.restart();
    CHECK(eventually([&] { return node.rpc("getblockchaininfo")["blocks"].GetUint() >= 1; }, std::chrono::seconds(120)));
    CHECK(coinbase_pays_us(node, node.best_hash()));
    CHECK(eventually([&] { return d.chain_status()["blocks"]["accepted"].GetUint64() >= 1; }, std::chrono::seconds(30)));
    CHECK(d.process->terminate() == 0);
}

TEST_CASE("integration: a version-rolling miner on the daemon mines the node's mempool transactions") {
    test::regtest_node node;
    const std::string wallet = node.wallet_address();
    node.generate(101, wallet);
    // The wallet indexes blocks asynchronously; coinbase outputs spend at 100 confirmations.
    REQUIRE(eventually(
        [&] {
            auto u = node.wallet_rpc("listunspent");
            for (const auto& c : u.GetArray())
                if (c["confirmations"].GetDouble() >= 100) return true;
            return false;
        },
        std::chrono::seconds(30)));
    std::vector<std::string> txids;
    for (const char* amount : {"1.25", "2.5"})
        txids.emplace_back(node.wallet_rpc("sendtoaddress", "[\"" + wallet + "\"," + amount + "]").GetString());

    daemon_under_test d;
    d.start(node, node.dir() + "/bridge-data", node.dir() + "/daemon.log");
    INFO("daemon output:\n" << d.process->output());
    test::child_process miner({SB_SOLOBRIDGE_BIN, "cpu-miner", "--url", "127.0.0.1:" + std::to_string(d.stratum_port),
                               "--user", "esp.rig", "--version-rolling", "on", "--max-shares", "3", "--seconds", "90"},
                              {}, node.dir() + "/miner.log");
    INFO("miner output:\n" << miner.output());
    REQUIRE(miner.wait_for_exit(std::chrono::seconds(120)) == 0);
    CHECK(miner.output().find("version rolling on (mask 1fffe000)") != std::string::npos);

    REQUIRE(eventually([&] { return node.rpc("getblockchaininfo")["blocks"].GetUint() >= 102; }, std::chrono::seconds(30)));
    // The first block may be coinbase-only: when the P2P chain reaches the node's tip before
    // the first template arrives, miners get work on that tip at once (on_tip_template); the
    // transactions come with the template, in one of the next blocks.
    const unsigned tip = node.rpc("getblockchaininfo")["blocks"].GetUint();
    std::vector<std::string> in_blocks;
    for (unsigned height = 102; height <= tip; ++height) {
        const std::string h = node.rpc("getblockhash", "[" + std::to_string(height) + "]").GetString();
        auto blk = node.rpc("getblock", "[\"" + h + "\", true, false]");
        INFO(height << " " << h);
        CHECK(coinbase_pays_us(node, h));
        // Rolled bits inside the BIP310 mask, the template's top bits kept.
        const auto version = static_cast<std::uint32_t>(blk["version"].GetInt64());
        CHECK((version & 0x1fffe000u) != 0);
        CHECK((version & ~0x1fffe000u) == 0x20000000u);
        for (const auto& t : blk["tx"].GetArray())
            in_blocks.emplace_back(t.IsString() ? t.GetString() : t["txid"].GetString());
    }
    for (const auto& id : txids) CHECK_MESSAGE(std::find(in_blocks.begin(), in_blocks.end(), id) != in_blocks.end(), id);
    CHECK(d.process->terminate() == 0);
}
