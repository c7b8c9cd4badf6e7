// The dashboard of a bridge that mines Bitcoin and Ravencoin at once (issue 14): a
// SHA-256d chain and a KAWPOW chain in one statistics, served by the real web server on
// 127.0.0.1, then read through the JSON API, /metrics (checked by `promtool check
// metrics`) and the page in Debian's Chromium (tests/browser/dashboard_mixed.mjs).
//
// There is no Ravencoin node on the test machines (bcoin is Bitcoin only), so the daemon is
// not run: the statistics are fed through the calls the daemon makes (the dispatcher's
// share sink, on_template, on_block_found, and the sources of sessions, devices, nodes and
// the submitter, as bridge/app/cmd_run.cpp wires them), by a thread that sends every
// miner's shares once a second as a Stratum session or a device would. The Ravencoin
// chain's template is the recorded Ravencoin Core regtest one (tests/vectors/
// ravencoin.json) made hard (bits 1d00ffff, difficulty 1) so that the two chains' network
// difficulties and odds differ; its found block is a real accepted KAWPOW block.
//
// What a miner must see: each chain's hashrate on its own (SHA-256d and KAWPOW hashes never
// added up: no bridge hashrate, a chain label with the algorithm on every metric), both
// chains' difficulty and odds, every worker under its own chain (a name used on both
// chains is two workers), the KAWPOW devices building a dataset or searching, and a worker
// name with markup shown as text.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <rapidjson/document.h>
#include <rapidjson/ostreamwrapper.h>
#include <rapidjson/writer.h>

#include "child_process.hpp"
#include "eventually.hpp"
#include "raven_template.hpp"
#include "sb/core/hex.hpp"
#include "stats/estimator.hpp"
#include "stats/statistics.hpp"
#include "vectors.hpp"
#include "web/server.hpp"

using namespace sb;
using namespace sb::bridge;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

const std::string hostile_worker = "rvn.<img src=x onerror=alert(1)>";

// A miner as the statistics see it: a Stratum session (or a local device) on one chain
// sending a share of `difficulty` once a second, so that its hashrate is
// difficulty × hashes_per_difficulty per second.
struct miner {
    std::size_t chain;
    consumer_id consumer;
    std::string worker;
    std::string user_agent;  // "" for a device
    double difficulty;
    double rate() const { return difficulty * stats::hashes_per_difficulty; }
};

// Display-order hex to the internal order of hashes.
hash256 internal_hash(const std::string& display_hex) {
    auto h = from_hex_fixed<32>(display_hex);
    REQUIRE(h.has_value());
    hash256 out = *h;
    std::reverse(out.begin(), out.end());
    return out;
}

std::string text_of(const rapidjson::Value& v) {
    return v.IsString() ? std::string(v.GetString(), v.GetStringLength()) : std::string();
}

rapidjson::Document get_json(std::uint16_t port, const std::string& path) {
    const auto [code, body] = test::http_get_loopback(port, path);
    rapidjson::Document d;
    d.Parse(body.c_str());
    if (code != 200 || d.HasParseError()) d.SetNull();
    return d;
}

// Runs f when the scope ends, however it ends (a failed REQUIRE included): threads are
// joined before their objects go.
struct at_exit {
    std::function<void()> f;
    ~at_exit() { f(); }
};

struct temp_dir {
    std::string path;
    temp_dir() {
        char tmpl[] = "/tmp/sb-dashboard-mixed-XXXXXX";
        const char* made = mkdtemp(tmpl);
        REQUIRE(made != nullptr);
        path = made;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

}  // namespace

TEST_CASE("integration: the dashboard of a SHA-256d chain and a KAWPOW chain together: per-chain hashrates never summed, "
          "API, /metrics and a real browser") {
    temp_dir dir;
    const auto started = std::chrono::system_clock::now();
    const std::string btc = "btc-regtest", rvn = "rvn-regtest";

    // Bitcoin: two ASICs and the CPU device; Ravencoin: three GPU rigs (one with a hostile
    // name) and two OpenCL devices, one searching epoch 0, one building the epoch-1 dataset
    // (no shares meanwhile). "farm.shared" mines both chains: two workers, one per chain.
    const std::vector<miner> miners = {
        {0, 1, "bitaxe-1", "bitaxe/BM1368/v2.4.0", 128},       // 550 GH/s
        {0, 2, "farm.shared", "cgminer/4.12.1", 512},          // 2.2 TH/s
        {0, 3, "device cpu", "", 0.0005},                      // 2.1 MH/s
        {1, 11, "gpu-rig-1", "kawpowminer/1.2.4", 0.008},      // 34 MH/s
        {1, 12, "farm.shared", "T-Rex/0.26.8", 0.016},         // 69 MH/s
        {1, 13, hostile_worker, "kawpowminer/1.2.4", 0.004},   // 17 MH/s
        {1, 14, "device opencl:1", "", 0.006},                 // 26 MH/s
    };
    double chain_rate[2] = {0, 0};
    for (const auto& m : miners) chain_rate[m.chain] += m.rate();

    stats::statistics_options so;
    so.log = [](std::string_view) {};
    so.version = "test";
    auto st = std::make_shared<stats::statistics>(so);

    // What the daemon's parts report, as cmd_run.cpp's stats_sources reads them.
    std::vector<std::vector<stratum::session_stats>> sessions(2);
    for (const auto& m : miners) {
        if (m.user_agent.empty()) continue;
        stratum::session_stats s;
        s.session_id = s.consumer = m.consumer;
        s.remote = "192.0.2." + std::to_string(m.consumer) + ":4" + std::to_string(1000 + m.consumer);
        s.user_agent = m.user_agent;
        s.worker = m.worker;
        s.subscribed = s.authorized = true;
        s.difficulty = m.difficulty;
        s.connected_at = started;
        sessions[m.chain].push_back(s);
    }
    auto device = [&](const miner& m, const char* id, const char* name, const char* backend, const char* algorithm) {
        mining::device_worker_stats d;
        d.device_id = id;
        d.device_name = name;
        d.backend = backend;
        d.algorithm = algorithm;
        d.state = mining::device_worker_state::mining;
        d.consumer = m.consumer;
        d.intensity = 20;
        d.hashrate_1m = d.hashrate_5m = m.rate();
        d.share_difficulty = m.difficulty;
        return d;
    };
    std::vector<std::vector<mining::device_worker_stats>> devices(2);
    devices[0].push_back(device(miners[2], "cpu", "x86-64 (2 threads)", "cpu", "sha256d"));
    auto searching = device(miners[6], "opencl:1", "gfx1030", "opencl", "kawpow");
    searching.dag_epoch = 0;
    searching.dag_bytes = 1'082'130'304;
    searching.dag_seconds = 41.5;
    devices[1].push_back(searching);
    mining::device_worker_stats building;  // switching to epoch 1: no shares while it builds
    building.device_id = "opencl:0";
    building.device_name = "gfx1030";
    building.backend = "opencl";
    building.algorithm = "kawpow";
    building.state = mining::device_worker_state::building_dag;
    building.consumer = 15;
    building.dag_epoch = 0;
    building.dag_building_epoch = 1;
    building.dag_progress = 0.42;
    devices[1].push_back(building);

    // The chains' work: Bitcoin regtest at height 2 on the block of height 1 (the vector's
    // regtest block), Ravencoin regtest at height 260 on the real KAWPOW block 259.
    const auto& btc_block = test::vector_json("bitcoin.json")["regtest_block_height_1"];
    const auto& rvn_block = test::vector_json("ravencoin.json")["kawpow_blocks_accepted"][1];
    REQUIRE(rvn_block["height"].GetUint() == 259);
    const hash256 btc_tip = internal_hash(text_of(btc_block["hash"]));
    const hash256 rvn_tip = internal_hash(text_of(rvn_block["final_hash_block_hash"]));
    node::block_template btc_template;
    btc_template.height = 2;
    btc_template.prev_block = btc_tip;
    btc_template.bits = 0x207fffff;
    btc_template.coinbase_value = 50 * coin_units;
    const auto rvn_template = test::raven_template({.height = 260, .hard = true});
    REQUIRE(rvn_template->bits == 0x1d00ffff);

    std::mutex mu;
    std::vector<submitter_status> submitted(2);
    auto add_chain = [&](std::size_t i, const std::string& id, network net, const node::block_template& t, hash256 tip) {
        stats::chain_sources src;
        src.id = id;
        src.net = net;
        src.rpc_urls = {i == 0 ? "http://127.0.0.1:48332" : "http://127.0.0.1:18766"};
        src.templates = [] {
            node::failover_status f;
            f.active = 0;
            f.nodes.resize(1);
            f.nodes[0].state = node::node_state::connected;
            f.nodes[0].templates = 3;
            return f;
        };
        src.dispatcher = [height = t.height, tip] {
            dispatcher_stats d;
            d.height = height;
            d.prev_block = tip;
            return d;
        };
        src.sessions = [&, i] {
            std::lock_guard lock(mu);
            return sessions[i];
        };
        src.devices = [&, i] {
            std::lock_guard lock(mu);
            return devices[i];
        };
        src.submitter = [&, i] {
            std::lock_guard lock(mu);
            return submitted[i];
        };
        REQUIRE(st->add_chain(src) == i);
        st->on_template(i, t);
    };
    add_chain(0, btc, network::bitcoin_regtest, btc_template, btc_tip);
    add_chain(1, rvn, network::ravencoin_regtest, *rvn_template, rvn_tip);
    std::vector<std::shared_ptr<stats::share_sink>> sinks = {st->sink(0), st->sink(1)};

    // The blocks found: handed to the submitter (pending), then the block's share, as the
    // dispatcher reports them.
    auto found = [&](std::size_t chain, std::uint32_t height, const hash256& hash, const std::string& worker) {
        found_block b;
        b.height = height;
        b.hash = hash;
        b.worker = worker;
        submitted_block sb;
        sb.height = height;
        sb.hash = hash;
        sb.found_time = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::seconds>(started.time_since_epoch()).count());
        {
            std::lock_guard lock(mu);
            submitted[chain].found = submitted[chain].pending = 1;
            submitted[chain].recent.push_back(sb);
        }
        st->on_block_found(chain, b);
    };

    found(0, 1, btc_tip, "bitaxe-1");
    found(1, 259, rvn_tip, "gpu-rig-1");

    // The miners: a share each a second (first the shares of the two blocks, which the
    // dispatcher reports after handing the blocks over).
    std::atomic<bool> mining{true};
    std::thread farm([&] {
        auto next = std::chrono::steady_clock::now();
        bool first = true;
        while (mining.load()) {
            for (const auto& m : miners) {
                stats::share_event e;
                e.consumer = m.consumer;
                e.worker = m.worker;
                e.share_difficulty = m.difficulty;
                e.hash_difficulty = m.difficulty * 1.5;
                e.block = first && (m.consumer == 1 || m.consumer == 11);
                // A block's hash meets the share target and the network's (regtest's 4.7e-10, the
                // hard Ravencoin template's 1).
                if (e.block) e.hash_difficulty = std::max(m.difficulty * 3, 1.3);
                e.at = std::chrono::system_clock::now();
                sinks[m.chain]->on_share(e);
            }
            first = false;
            next += 1s;
            std::this_thread::sleep_until(next);
        }
    });
    at_exit stop_farm{[&] {
        mining = false;
        farm.join();
        st->stop();
    }};
    st->start();

    asio::io_context io;
    auto guard = asio::make_work_guard(io);
    web::server_options wo;
    wo.host = "127.0.0.1";
    wo.port = 0;
    wo.metrics_per_worker = true;
    wo.log = [](std::string_view) {};
    web::server srv(io, st, nullptr, wo);
    REQUIRE_FALSE(srv.start());
    std::vector<std::thread> io_threads;
    for (int i = 0; i < 2; ++i) io_threads.emplace_back([&io] { io.run(); });
    at_exit stop_web{[&] {
        srv.stop();
        guard.reset();
        io.stop();
        for (auto& t : io_threads) t.join();
    }};
    const std::uint16_t port = srv.port();

    // Each chain's hashrate is its own miners' (within the estimator's noise on a busy
    // machine), never the sum of both algorithms.
    auto near = [](double got, double want) { return std::isfinite(got) && std::abs(got / want - 1) < 0.25; };
    {  // settled: every miner counted
        std::string last;
        const bool settled = test::eventually(
            [&] {
                const auto [code, body] = test::http_get_loopback(port, "/api/v1/status");
                last = body;
                rapidjson::Document s;
                s.Parse(body.c_str());
                if (code != 200 || !s.IsObject()) return false;
                const auto& c = s["chains"];
                return c.Size() == 2 && near(c[0]["stats"]["hashrate"]["1m"].GetDouble(), chain_rate[0]) &&
                       near(c[1]["stats"]["hashrate"]["1m"].GetDouble(), chain_rate[1]) &&
                       near(c[1]["stats"]["hashrate"]["5m"].GetDouble(), chain_rate[1]) &&
                       c[0]["stats"]["workers"]["online"].GetUint() == 3 && c[1]["stats"]["workers"]["online"].GetUint() == 4;
            },
            60s);
        INFO("last /api/v1/status: " << last);
        REQUIRE(settled);
    }

    {  // the summary and the chains
        auto s = get_json(port, "/api/v1/status");
        REQUIRE(s.IsObject());
        CHECK(s["hashrate_mixed_algorithms"].GetBool());
        // No bridge hashrate: SHA-256d and KAWPOW hashes do not add up.
        for (const char* w : {"1m", "5m", "1h", "1d", "7d"}) CHECK_MESSAGE(s["hashrate"][w].IsNull(), w);
        const auto& c = s["chains"];
        CHECK(text_of(c[0]["id"]) == btc);
        CHECK(text_of(c[0]["algorithm"]) == "sha256d");
        CHECK(text_of(c[1]["id"]) == rvn);
        CHECK(text_of(c[1]["algorithm"]) == "kawpow");
        CHECK(text_of(c[1]["coin"]) == "ravencoin");
        CHECK(c[0]["tip"]["height"].GetUint() == 1);
        CHECK(c[1]["tip"]["height"].GetUint() == 259);
        CHECK(c[0]["template"]["network_difficulty"].GetDouble() == doctest::Approx(4.656542373906925e-10));
        CHECK(c[1]["template"]["network_difficulty"].GetDouble() == doctest::Approx(1.0));
        CHECK(c[1]["template"]["transactions"].GetUint() == 1);  // the recorded template's transaction
        // Each chain's odds at its own hashrate and difficulty.
        for (rapidjson::SizeType i = 0; i < 2; ++i) {
            const double h1 = c[i]["stats"]["hashrate"]["1h"].GetDouble();
            const double diff = c[i]["template"]["network_difficulty"].GetDouble();
            CHECK(c[i]["stats"]["odds"]["expected_seconds"].GetDouble() ==
                  doctest::Approx(diff * stats::hashes_per_difficulty / h1).epsilon(1e-6));
        }
        CHECK(c[0]["stats"]["workers"]["online"].GetUint() == 3);
        CHECK(c[1]["stats"]["workers"]["online"].GetUint() == 4);
        auto chain = get_json(port, "/api/v1/chains/" + rvn);
        REQUIRE(chain.IsObject());
        CHECK(text_of(chain["algorithm"]) == "kawpow");
    }

    {  // workers: per chain; the same name on both chains is two workers with their own rates
        auto w = get_json(port, "/api/v1/workers?chain=" + rvn);
        REQUIRE(w.IsObject());
        CHECK(w["total"].GetUint() == 4);
        for (const auto& row : w["workers"].GetArray()) CHECK(text_of(row["chain"]) == rvn);
        for (std::size_t i : {1u, 4u}) {
            const auto& m = miners[i];
            const std::string path = "/api/v1/workers/" + (m.chain == 0 ? btc : rvn) + "/farm.shared";
            // Its own miner's rate (polled: a stream seconds old reads within the estimator's
            // young-stream error only after a few shares).
            CHECK(test::eventually(
                [&] {
                    auto one = get_json(port, path);
                    return one.IsObject() && near(one["worker"]["hashrate"]["1m"].GetDouble(), m.rate());
                },
                30s));
            auto one = get_json(port, path);
            REQUIRE(one.IsObject());
            CHECK(text_of(one["worker"]["chain"]) == (m.chain == 0 ? btc : rvn));
            CHECK(text_of(one["worker"]["user_agent"]) == m.user_agent);
            CHECK(one["connections"].Size() == 1);
        }
        auto hostile = get_json(port, "/api/v1/workers?q=onerror");
        REQUIRE(hostile.IsObject());
        REQUIRE(hostile["total"].GetUint() == 1);
        CHECK(text_of(hostile["workers"][0]["name"]) == hostile_worker);
        CHECK(text_of(hostile["workers"][0]["chain"]) == rvn);
        // Markup stays escaped in the JSON text itself.
        CHECK(test::http_get_loopback(port, "/api/v1/workers?q=onerror").second.find('<') == std::string::npos);
    }

    {  // devices: the KAWPOW dataset being built on one, searched on the other
        auto d = get_json(port, "/api/v1/devices");
        REQUIRE(d.IsArray());
        REQUIRE(d.Size() == 3);
        CHECK(text_of(d[0]["id"]) == "cpu");
        CHECK(text_of(d[0]["algorithm"]) == "sha256d");
        CHECK_FALSE(d[0].HasMember("dag"));
        CHECK(text_of(d[1]["id"]) == "opencl:1");
        CHECK(text_of(d[1]["state"]) == "mining");
        CHECK(d[1]["dag"]["epoch"].GetInt() == 0);
        CHECK(d[1]["dag"]["building_epoch"].GetInt() == -1);
        CHECK(text_of(d[2]["id"]) == "opencl:0");
        CHECK(text_of(d[2]["chain"]) == rvn);
        CHECK(text_of(d[2]["state"]) == "building_dag");
        CHECK(d[2]["dag"]["building_epoch"].GetInt() == 1);
        CHECK(d[2]["dag"]["progress"].GetDouble() == doctest::Approx(0.42));
    }

    {  // blocks: each under its chain
        auto b = get_json(port, "/api/v1/blocks");
        REQUIRE(b.IsArray());
        REQUIRE(b.Size() == 2);
        for (const auto& x : b.GetArray()) {
            const bool is_rvn = text_of(x["chain"]) == rvn;
            CHECK(x["height"].GetUint() == (is_rvn ? 259u : 1u));
            CHECK(text_of(x["hash"]) == text_of(is_rvn ? rvn_block["final_hash_block_hash"] : btc_block["hash"]));
            CHECK(text_of(x["worker"]) == (is_rvn ? "gpu-rig-1" : "bitaxe-1"));
        }
    }

    {  // /metrics: every hashrate series names its chain and algorithm; promtool accepts it
        const auto [code, m] = test::http_get_loopback(port, "/metrics");
        REQUIRE(code == 200);
        std::ofstream(dir.path + "/metrics.txt") << m;
        // Not a structured binding: INFO captures it in a lambda, which clang 14 refuses.
        const auto checked =
            test::run_shell("promtool check metrics < '" + dir.path + "/metrics.txt'", dir.path + "/promtool.log", 60s);
        INFO(checked.second);
        CHECK(checked.first == 0);
        std::size_t chain_series = 0, device_series = 0, worker_series = 0;
        std::istringstream lines(m);
        for (std::string line; std::getline(lines, line);) {
            if (line.empty() || line[0] == '#') continue;
            const bool on_btc = line.find("{chain=\"" + btc + "\"") != std::string::npos;
            const bool on_rvn = line.find("{chain=\"" + rvn + "\"") != std::string::npos;
            const std::string algorithm = on_btc ? "sha256d" : "kawpow";
            auto check_series = [&](const char* family, std::size_t& n) {
                if (!line.starts_with(std::string(family) + "{")) return;
                INFO(line);
                CHECK((on_btc || on_rvn));  // never a series without its chain
                CHECK(line.find(",algorithm=\"" + algorithm + "\",") != std::string::npos);
                ++n;
            };
            check_series("solobridge_hashrate_hashes_per_second", chain_series);
            check_series("solobridge_device_hashrate_hashes_per_second", device_series);
            check_series("solobridge_worker_hashrate_hashes_per_second", worker_series);
        }
        CHECK(chain_series == 2 * stats::window_count);
        CHECK(device_series == 3);
        CHECK(worker_series == 3 * miners.size());
        CHECK(m.find("solobridge_network_difficulty{chain=\"" + rvn + "\"} 1\n") != std::string::npos);
    }

    {  // Chromium: the page shows all of it, each chain on its own, the hostile name as text
        rapidjson::StringBuffer buf;
        rapidjson::Writer<rapidjson::StringBuffer> w(buf);
        w.StartObject();
        w.Key("hostile");
        w.String(hostile_worker.c_str());
        w.Key("chains");
        w.StartArray();
        const char* algorithms[] = {"SHA-256d", "KAWPOW"};
        const char* networks[] = {"bitcoin-regtest", "ravencoin-regtest"};
        const char* units[] = {"TH/s", "MH/s"};
        const double difficulties[] = {4.656542373906925e-10, 1.0};
        const unsigned heights[] = {1, 259};
        for (std::size_t i = 0; i < 2; ++i) {
            w.StartObject();
            w.Key("id");
            w.String(i == 0 ? btc.c_str() : rvn.c_str());
            w.Key("network");
            w.String(networks[i]);
            w.Key("algorithm");
            w.String(algorithms[i]);
            w.Key("unit");
            w.String(units[i]);
            w.Key("rate");
            w.Double(chain_rate[i]);
            w.Key("network_difficulty");
            w.Double(difficulties[i]);
            w.Key("height");
            w.Uint(heights[i]);
            w.EndObject();
        }
        w.EndArray();
        w.Key("workers");
        w.StartArray();
        for (const auto& m : miners) {
            w.StartObject();
            w.Key("name");
            w.String(m.worker.c_str());
            w.Key("chain");
            w.String(m.chain == 0 ? btc.c_str() : rvn.c_str());
            w.Key("rate");
            w.Double(m.rate());
            w.EndObject();
        }
        w.EndArray();
        w.Key("devices");
        w.StartArray();
        auto dev = [&](const char* id, const std::string& chain, const char* state, double rate) {
            w.StartObject();
            w.Key("id");
            w.String(id);
            w.Key("chain");
            w.String(chain.c_str());
            w.Key("state");
            w.String(state);
            w.Key("rate");
            w.Double(rate);
            w.EndObject();
        };
        dev("cpu", btc, "mining", miners[2].rate());
        dev("opencl:1", rvn, "mining (epoch 0)", miners[6].rate());
        dev("opencl:0", rvn, "building_dag (epoch 1 dataset 42.0 %)", 0);
        w.EndArray();
        w.Key("blocks");
        w.StartArray();
        for (std::size_t i = 0; i < 2; ++i) {
            w.StartObject();
            w.Key("chain");
            w.String(i == 0 ? btc.c_str() : rvn.c_str());
            w.Key("height");
            w.Uint(heights[i]);
            w.Key("hash");
            w.String(text_of(i == 0 ? btc_block["hash"] : rvn_block["final_hash_block_hash"]).c_str());
            w.EndObject();
        }
        w.EndArray();
        w.EndObject();
        const std::string spec = dir.path + "/expected.json";
        std::ofstream(spec) << buf.GetString();

        const std::string shot = std::string(SB_BINARY_DIR) + "/dashboard-mixed-screenshot.png";
        std::filesystem::remove(shot);
        const auto browsed = test::run_shell("node '" + std::string(SB_SOURCE_DIR) +
                                             "/tests/browser/dashboard_mixed.mjs' 'http://127.0.0.1:" + std::to_string(port) +
                                             "/' '" + shot + "' '" + spec + "'",
                                         dir.path + "/browser.log", 180s);
        INFO(browsed.second);
        CHECK(browsed.first == 0);
        CHECK(std::filesystem::exists(shot));
    }
}
