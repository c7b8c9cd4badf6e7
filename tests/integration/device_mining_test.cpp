// End to end with local devices: a real bcoin regtest node and the solobridge daemon
// configured with a device worker and no Stratum miner at all. Regtest blocks are found
// at difficulty ~0, so the device's first candidates are blocks: the node must accept
// them and their coinbase must pay the configured address. The "cpu" device (the CPU
// reference searcher) runs everywhere; "opencl:0" runs where an OpenCL device exists
// (PoCL on the CPU in CI) and is skipped, with a message, where none does.
//
// Ravencoin (KAWPOW): no Ravencoin node is available to the tests, so a scripted node
// serves the recorded regtest template. The daemon must open the chain's device for KAWPOW
// and start generating the template's epoch dataset (1 GiB: most of an hour on PoCL, so it
// is not mined to the end here; the worker's mining on the dispatcher is tested on PoCL with
// a 2 MiB dataset in sb_opencl_tests), and stop at once when asked.
#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include <rapidjson/document.h>

#include "child_process.hpp"
#include "eventually.hpp"
#include "fake_node.hpp"
#include "regtest_node.hpp"
#include "sb/core/chain.hpp"
#include "sb/core/hex.hpp"
#include "sb/gpu/device.hpp"
#include "vectors.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

using namespace sb;

namespace {

constexpr const char* payout_script_hex = "0014751e76e8199196d454941c45d1b3a323f1433bd6";

using test::eventually;

// A daemon configuration for node with the given devices JSON and no Stratum listener.
std::string write_config(test::regtest_node& node, const std::string& devices, std::uint16_t http_port) {
    const std::string path = node.dir() + "/devices.json";
    std::ofstream out(path);
    out << R"({ "data_dir": ")" << node.dir() << R"(/bridge-data",
  "http": { "listen": "127.0.0.1:)" << http_port << R"(" },
  "chains": [ { "id": "regtest", "network": "bitcoin-regtest",
    "nodes": [ { "rpc_url": ")" << node.rpc_url() << R"(", "rpc_user": "solobridge", "rpc_password": ")"
        << node.api_key() << R"(", "p2p": "127.0.0.1:)" << node.p2p_port() << R"(", "rpc_timeout_ms": 10000 } ],
    "payout": { "address": "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080" },
    "coinbase_tag": "/solobridge-device/",
    "devices": )" << devices << R"( } ] })";
    return path;
}

bool coinbase_pays_us(test::regtest_node& n, const std::string& hash) {
    auto blk = n.rpc("getblock", "[\"" + hash + "\", true, true]");
    for (const auto& out : blk["tx"][0]["vout"].GetArray())
        if (out["scriptPubKey"].HasMember("hex") && std::string(out["scriptPubKey"]["hex"].GetString()) == payout_script_hex)
            return true;
    return false;
}

// Runs the daemon with one device until the node has 3 blocks from it.
void mine_with_device(const std::string& device_id) {
    test::regtest_node node;
    const std::uint16_t http_port = test::free_loopback_port();
    const std::string config =
        write_config(node, R"([ { "id": ")" + device_id + R"(", "intensity": 16 } ])", http_port);
    test::child_process daemon({SB_SOLOBRIDGE_BIN, "--config", config}, {}, node.dir() + "/daemon.log");
    INFO("daemon output:\n" << daemon.output());
    REQUIRE_MESSAGE(test::wait_for_port(http_port, std::chrono::seconds(60), &daemon),
                    "daemon did not open its HTTP port:\n" << daemon.output());

    // Height advances with blocks from the device alone.
    CHECK(eventually([&] { return node.rpc("getblockchaininfo")["blocks"].GetUint() >= 3; }, std::chrono::seconds(120)));
    const unsigned height = node.rpc("getblockchaininfo")["blocks"].GetUint();
    REQUIRE(height >= 1);
    for (unsigned h = 1; h <= std::min(height, 3u); ++h) {
        const std::string hash = node.rpc("getblockhash", "[" + std::to_string(h) + "]").GetString();
        CAPTURE(h);
        CHECK(coinbase_pays_us(node, hash));
    }

    // /api/status shows the worker and its blocks.
    // No structured binding: INFO and REQUIRE_MESSAGE capture `body`, which clang
    // before 16 cannot do for a binding.
    const auto reply = test::http_get_loopback(http_port, "/api/status");
    const int code = reply.first;
    const std::string& body = reply.second;
    REQUIRE(code == 200);
    rapidjson::Document st;
    st.Parse(body.c_str());
    REQUIRE_MESSAGE(st.IsObject(), body);
    const auto& chain = st["chains"][0];
    REQUIRE_MESSAGE(chain["devices"].IsArray(), body);
    REQUIRE(chain["devices"].Size() == 1);
    const auto& dev = chain["devices"][0];
    INFO(body);
    CHECK(std::string(dev["id"].GetString()) == device_id);
    CHECK(std::string(dev["state"].GetString()) != "failed");
    CHECK(dev["hashes"].GetUint64() > 0);
    CHECK(dev["blocks"].GetUint64() >= 1);
    CHECK(dev["shares"]["accepted"].GetUint64() >= 1);
    CHECK(dev["hardware_errors"].GetUint64() == 0);
    CHECK(daemon.output().find("device " + device_id) != std::string::npos);
    // The dashboard lists the device among the workers, beside Stratum miners, as a device
    // with a hashrate from its shares.
    const std::string worker = dev["worker"].GetString();
    CHECK(worker.find(device_id) != std::string::npos);
    CHECK(eventually(
        [&] {
            const auto [c, b] = test::http_get_loopback(http_port, "/api/v1/workers");
            rapidjson::Document w;
            w.Parse(b.c_str());
            if (c != 200 || !w.IsObject()) return false;
            for (const auto& row : w["workers"].GetArray())
                if (std::string(row["name"].GetString()) == worker)
                    return std::string(row["firmware"].GetString()) == "device" && row["hashrate"]["5m"].GetDouble() > 0;
            return false;
        },
        std::chrono::seconds(30)));
    // In the node's main chain (accepted), or 100 deep already (confirmed): the chain watch
    // says so a moment after the node took them.
    CHECK(eventually(
        [&] {
            const auto [c, b] = test::http_get_loopback(http_port, "/api/status");
            rapidjson::Document s;
            s.Parse(b.c_str());
            if (c != 200 || !s.IsObject()) return false;
            const auto& blocks = s["chains"][0]["blocks"];
            return blocks["accepted"].GetUint64() + blocks["confirmed"].GetUint64() >= 1;
        },
        std::chrono::seconds(60)));

    CHECK(daemon.terminate() == 0);
}

}  // namespace

TEST_CASE("integration: the daemon's cpu device worker alone finds blocks the node accepts") {
    mine_with_device("cpu");
}

TEST_CASE("integration: the daemon's OpenCL device worker alone finds blocks the node accepts") {
    std::string id;
    for (const auto& d : gpu::discover_devices().devices)
        if (d.id == "opencl:0") id = d.id;
    if (id.empty()) {
        std::string notes;
        for (const auto& n : gpu::discover_devices().notes) notes += n + "; ";
        MESSAGE("SKIPPED: no OpenCL device in this environment (" << notes << ")");
        return;
    }
    mine_with_device(id);
}

TEST_CASE("integration: a device that cannot be opened stops the daemon with exit 2 and names it") {
    test::regtest_node node;
    const std::uint16_t http_port = test::free_loopback_port();
    // cuda:99 / opencl:99 exist nowhere (a CUDA-less build says the backend is not built).
    const std::string config = write_config(node, R"([ { "id": "cpu" }, { "id": "opencl:99" } ])", http_port);
    test::child_process daemon({SB_SOLOBRIDGE_BIN, "--config", config}, {}, node.dir() + "/daemon.log");
    const auto rc = daemon.wait_for_exit(std::chrono::seconds(60));
    INFO("daemon output:\n" << daemon.output());
    REQUIRE(rc.has_value());
    CHECK(*rc == 2);
    CHECK(daemon.output().find("device opencl:99 cannot be used") != std::string::npos);
    CHECK(!test::wait_for_port(http_port, std::chrono::milliseconds(200)));
}

namespace {

// A Ravencoin regtest node as the daemon sees it: its chain and genesis, the recorded KAWPOW
// template (longpolls held), nothing else.
test::fake_script raven_node() {
    const rapidjson::Document t = test::vector_member_copy("ravencoin.json", "getblocktemplate_kawpow_with_tx");
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    t.Accept(w);
    const std::string tmpl = buf.GetString();
    const std::string tip = t["previousblockhash"].GetString();
    const std::string genesis = to_hex_reversed(params(network::ravencoin_regtest).genesis_hash);
    return [tmpl, tip, genesis](const test::fake_request& r) -> test::fake_action {
        if (r.method == "getblockchaininfo")
            return test::answer_result(r, R"({"chain":"regtest","blocks":258,"headers":258,"initialblockdownload":false,)"
                                          R"("bestblockhash":")" + tip + "\"}");
        if (r.method == "getblockhash") return test::answer_result(r, "\"" + genesis + "\"");
        if (r.method == "getblocktemplate") {
            if (r.params_json.find("longpollid") != std::string::npos) {
                test::fake_action held;
                held.hold = true;
                return held;
            }
            return test::answer_result(r, tmpl);
        }
        return {test::http_reply(500, test::rpc_error_body(r.id_json, -32601, "Method not found"))};
    };
}

}  // namespace

TEST_CASE("integration: a Ravencoin chain's OpenCL device is opened for KAWPOW and builds the epoch dataset until "
          "SIGTERM stops it") {
    bool have_opencl = false;
    for (const auto& d : gpu::discover_devices().devices) have_opencl |= d.id == "opencl:0";
    if (!have_opencl) {
        MESSAGE("SKIPPED: no OpenCL device in this environment");
        return;
    }
    test::fake_node node(raven_node());
    // Its own folder, removed afterwards.
    struct temp_dir {
        std::filesystem::path path = std::filesystem::temp_directory_path() /
                                     ("sb-kawpow-device-" + std::to_string(::getpid()));
        temp_dir() { std::filesystem::remove_all(path); std::filesystem::create_directories(path); }
        ~temp_dir() {
            std::error_code ec;
            std::filesystem::remove_all(path, ec);
        }
    } tmp;
    const std::string dir = tmp.path.string();
    const std::uint16_t http_port = test::free_loopback_port();
    const std::string path = dir + "/rvn.json";
    {
        std::ofstream out(path);
        out << R"({ "data_dir": ")" << dir << R"(/bridge-data",
  "http": { "listen": "127.0.0.1:)" << http_port << R"(" },
  "chains": [ { "id": "rvn", "network": "ravencoin-regtest",
    "nodes": [ { "rpc_url": ")" << node.url() << R"(", "rpc_user": "u", "rpc_password": "p" } ],
    "payout": { "address": "mpXwg4jMtRhuSpVq4xS3HFHmCmWp9NyGKt" },
    "devices": [ { "id": "opencl:0", "intensity": 18 } ] } ] })";
    }
    test::child_process daemon({SB_SOLOBRIDGE_BIN, "--config", path}, {}, dir + "/daemon.log");
    INFO("daemon output:\n" << daemon.output());
    REQUIRE_MESSAGE(test::wait_for_port(http_port, std::chrono::seconds(60), &daemon),
                    "daemon did not open its HTTP port:\n" << daemon.output());

    // The worker took the template's job (epoch 0) and generates its dataset on the device.
    std::string body;
    const bool building = eventually(
        [&] {
            const auto [code, b] = test::http_get_loopback(http_port, "/api/status");
            body = b;
            rapidjson::Document st;
            st.Parse(b.c_str());
            if (code != 200 || !st.IsObject()) return false;
            const auto& dev = st["chains"][0]["devices"][0];
            return std::string(dev["state"].GetString()) == "building_dag" && dev["dag"]["building_epoch"].GetInt() == 0;
        },
        std::chrono::seconds(120));
    INFO(body);
    REQUIRE(building);
    rapidjson::Document st;
    st.Parse(body.c_str());
    const auto& dev = st["chains"][0]["devices"][0];
    CHECK(std::string(dev["algorithm"].GetString()) == "kawpow");
    CHECK(std::string(dev["backend"].GetString()) == "opencl");
    CHECK(dev["dag"]["epoch"].GetInt() == -1);
    CHECK(std::string(dev["error"].GetString()).empty());
    CHECK(daemon.output().find("device opencl:0 (") != std::string::npos);
    CHECK(daemon.output().find("mining kawpow") != std::string::npos);
    // Once the epoch-0 context is built on the host, the generation on the device starts.
    CHECK(eventually(
        [&] {
            return daemon.output().find("switching to the epoch 0 dataset (1.00 GiB): generating it on the device") !=
                   std::string::npos;
        },
        std::chrono::seconds(60)));

    // SIGTERM stops the generation in flight: a clean exit well within the grace.
    CHECK(daemon.terminate(std::chrono::seconds(60)) == 0);
}
