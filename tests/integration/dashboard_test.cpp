// The dashboard end to end (issue 14 "Tests"): a real bcoin regtest node, the daemon with
// config/examples/regtest-bcoin.json (plus alerts to a local webhook receiver),
// `solobridge cpu-miner` under a hostile worker name, then the JSON API, the WebSocket,
// /metrics checked by `promtool check metrics` and scraped by a real Prometheus server,
// the page in Debian's Chromium (tests/browser/dashboard.mjs), and the alerts of a found
// block and of the miner stopping. scripts/install-deps.sh installs prometheus, chromium
// and the browser driver.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <rapidjson/document.h>
#include <rapidjson/ostreamwrapper.h>
#include <rapidjson/writer.h>

#include "child_process.hpp"
#include "eventually.hpp"
#include "receiver.hpp"
#include "regtest_node.hpp"

using namespace sb;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

namespace {

const std::string hostile_worker = "demo.<img src=x onerror=alert(1)>";
const std::string example_config = std::string(SB_SOURCE_DIR) + "/config/examples/regtest-bcoin.json";

// The example configuration with the top-level members of `extra` (a JSON object) added,
// written to `path`.
std::string example_config_with(const std::string& path, const std::string& extra) {
    std::ifstream in(example_config);
    std::stringstream text;
    text << in.rdbuf();
    rapidjson::Document d;
    d.Parse<rapidjson::kParseCommentsFlag | rapidjson::kParseTrailingCommasFlag>(text.str().c_str());
    REQUIRE_FALSE(d.HasParseError());
    rapidjson::Document x;
    x.Parse(extra.c_str());
    REQUIRE(x.IsObject());
    for (auto& m : x.GetObject())
        d.AddMember(rapidjson::Value(m.name, d.GetAllocator()), rapidjson::Value(m.value, d.GetAllocator()),
                    d.GetAllocator());
    std::ofstream out(path);
    rapidjson::OStreamWrapper os(out);
    rapidjson::Writer<rapidjson::OStreamWrapper> w(os);
    d.Accept(w);
    return path;
}

// The alerts of one kind the receiver has, as parsed JSON bodies, from request `from` on.
std::vector<rapidjson::Document> alerts_of(const test::http_receiver& rx, const std::string& kind, std::size_t from = 0) {
    std::vector<rapidjson::Document> out;
    const auto reqs = rx.requests();
    for (std::size_t i = from; i < reqs.size(); ++i) {
        rapidjson::Document d;
        d.Parse(reqs[i].body.c_str(), reqs[i].body.size());
        if (d.IsObject() && d.HasMember("kind") && d["kind"].IsString() && kind == d["kind"].GetString())
            out.push_back(std::move(d));
    }
    return out;
}

struct dashboard_daemon {
    std::uint16_t stratum_port = test::free_loopback_port();
    std::uint16_t http_port = test::free_loopback_port();
    std::unique_ptr<test::child_process> process;

    void start(test::regtest_node& node, const std::string& data_dir, const std::string& log,
               const std::string& config = example_config) {
        std::vector<std::string> env{"SB_NODE_RPC_URL=" + node.rpc_url(), "SB_NODE_RPC_PASSWORD=" + node.api_key(),
                                     "SB_NODE_P2P=127.0.0.1:" + std::to_string(node.p2p_port()),
                                     "SB_STRATUM_LISTEN=127.0.0.1:" + std::to_string(stratum_port),
                                     "SB_HTTP_LISTEN=127.0.0.1:" + std::to_string(http_port), "SB_DATA_DIR=" + data_dir};
        process = std::make_unique<test::child_process>(std::vector<std::string>{SB_SOLOBRIDGE_BIN, "--config", config},
                                                        env, log);
        REQUIRE_MESSAGE(test::wait_for_port(http_port, 30s, process.get()), "no dashboard:\n" << process->output());
    }

    rapidjson::Document get(const std::string& path) {
        const auto [code, body] = test::http_get_loopback(http_port, path);
        rapidjson::Document d;
        d.Parse(body.c_str());
        if (code != 200 || d.HasParseError()) d.SetNull();
        return d;
    }
};

// The miner's row of /api/v1/workers once its 5 m hashrate is above zero.
bool miner_has_hashrate(dashboard_daemon& d) {
    auto w = d.get("/api/v1/workers?q=demo");
    if (!w.IsObject() || w["total"].GetUint() != 1) return false;
    const auto& row = w["workers"][0];
    return std::string(row["name"].GetString()) == hostile_worker && row["hashrate"]["5m"].IsNumber() &&
           row["hashrate"]["5m"].GetDouble() > 0 && std::string(row["state"].GetString()) == "online";
}

}  // namespace

TEST_CASE("integration: the dashboard shows a live miner: API, WebSocket, /metrics, Prometheus, a real browser and alerts") {
    test::regtest_node node;
    const std::string dir = node.dir();
    test::http_receiver rx;
    // Alerts at most once a second per kind family: the CPU miner finds a block with nearly
    // every share at regtest difficulty.
    const std::string config = example_config_with(
        dir + "/dashboard.json", R"({"alerts": {"min_interval_s": 1, "webhooks": [{"url": "http://127.0.0.1:)" +
                                     std::to_string(rx.port()) +
                                     R"(/hook", "events": ["block_found", "worker_offline", "worker_online"]}]}})");
    dashboard_daemon d;
    d.start(node, dir + "/bridge-data", dir + "/daemon.log", config);
    INFO("daemon output:\n" << d.process->output());
    test::child_process miner({SB_SOLOBRIDGE_BIN, "cpu-miner", "--url", "127.0.0.1:" + std::to_string(d.stratum_port),
                               "--user", hostile_worker, "--seconds", "240"},
                              {}, dir + "/miner.log");
    REQUIRE_MESSAGE(test::eventually([&] { return miner_has_hashrate(d); }, 60s), "miner output:\n" << miner.output());

    {  // the WebSocket sends a snapshot, then an update at once when a block is found
        asio::io_context io;
        websocket::stream<asio::ip::tcp::socket> ws(io);
        ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), d.http_port});
        ws.handshake("127.0.0.1:" + std::to_string(d.http_port), "/ws");
        beast::flat_buffer buf;
        ws.read(buf);
        rapidjson::Document first;
        first.Parse(beast::buffers_to_string(buf.data()).c_str());
        REQUIRE(first.IsObject());
        CHECK(std::string(first["type"].GetString()) == "snapshot");
        const auto found_before = first["chains"][0]["blocks"]["found"].GetUint64();
        const auto at_before = first["time"].GetInt64();
        bool block_update = false;
        for (int i = 0; i < 120 && !block_update; ++i) {
            buf.clear();
            ws.read(buf);
            rapidjson::Document u;
            u.Parse(beast::buffers_to_string(buf.data()).c_str());
            REQUIRE(u.IsObject());
            CHECK(std::string(u["type"].GetString()) == "update");
            if (u["chains"][0]["blocks"]["found"].GetUint64() <= found_before) continue;
            for (const auto& e : u["events"].GetArray())
                if (std::string(e["kind"].GetString()) == "block_found" && e["at"].GetInt64() >= at_before &&
                    std::string(e["worker"].GetString()) == hostile_worker)
                    block_update = true;
        }
        CHECK(block_update);
    }

    {  // /metrics passes promtool and a real Prometheus scrapes the hashrate
        const auto [code, metrics] = test::http_get_loopback(d.http_port, "/metrics");
        REQUIRE(code == 200);
        const std::string file = dir + "/metrics.txt";
        std::ofstream(file) << metrics;
        const auto checked = test::run_shell("promtool check metrics < " + file, dir + "/promtool.log", 60s);
        INFO(checked.second);
        CHECK(checked.first == 0);

        const std::uint16_t prom_port = test::free_loopback_port();
        const std::string prom_dir = dir + "/prometheus";
        std::filesystem::create_directories(prom_dir + "/data");
        std::ofstream(prom_dir + "/prometheus.yml") << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                                                     << "scrape_configs:\n  - job_name: solobridge\n    static_configs:\n"
                                                     << "      - targets: ['127.0.0.1:" << d.http_port << "']\n";
        test::child_process prom({"/usr/bin/prometheus", "--config.file=" + prom_dir + "/prometheus.yml",
                                  "--storage.tsdb.path=" + prom_dir + "/data",
                                  "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
                                 {}, prom_dir + "/prometheus.log");
        REQUIRE_MESSAGE(test::wait_for_port(prom_port, 60s, &prom), prom.output());
        std::string last;
        const bool scraped = test::eventually(
            [&] {
                const auto [c, body] = test::http_get_loopback(
                    prom_port, "/api/v1/query?query=solobridge_hashrate_hashes_per_second%7Bwindow%3D%225m%22%7D");
                last = body;
                rapidjson::Document q;
                q.Parse(body.c_str());
                if (c != 200 || !q.IsObject() || std::string(q["status"].GetString()) != "success") return false;
                for (const auto& r : q["data"]["result"].GetArray())
                    if (std::stod(r["value"][1].GetString()) > 0 &&
                        std::string(r["metric"]["chain"].GetString()) == "regtest")
                        return true;
                return false;
            },
            60s);
        INFO("prometheus answered: " << last << "\n" << prom.output());
        CHECK(scraped);
        prom.terminate();
    }

    {  // Chromium loads the page, sees live data, the table, the chart, the name as text, no console error
        const std::string shot = std::string(SB_BINARY_DIR) + "/dashboard-screenshot.png";
        std::filesystem::remove(shot);
        const auto browsed = test::run_shell("node '" + std::string(SB_SOURCE_DIR) +
                                                 "/tests/browser/dashboard.mjs' 'http://127.0.0.1:" +
                                                 std::to_string(d.http_port) + "/' '" + shot + "' '" + hostile_worker + "'",
                                             dir + "/browser.log", 180s);
        INFO(browsed.second);
        CHECK(browsed.first == 0);
        CHECK(std::filesystem::exists(shot));
    }

    {  // the webhook heard of the found block
        REQUIRE(test::eventually([&] { return !alerts_of(rx, "block_found").empty(); }, 30s));
        const auto found = alerts_of(rx, "block_found");
        CHECK(std::string(found[0]["chain"].GetString()) == "regtest");
        CHECK(std::string(found[0]["subjects"][0].GetString()).size() == 64);
        CHECK(std::string(found[0]["text"].GetString()).find(" found by " + hostile_worker + ", hash ") !=
              std::string::npos);
    }

    {  // the miner stops: the worker goes offline, the webhook hears of it, the dashboard of the delivery
        const std::size_t before = rx.requests().size();
        miner.terminate();
        REQUIRE_MESSAGE(test::eventually([&] { return !alerts_of(rx, "worker_offline", before).empty(); }, 120s),
                        "daemon output:\n" << d.process->output());
        const auto off = alerts_of(rx, "worker_offline", before);
        CHECK(std::string(off[0]["title"].GetString()) == "solobridge regtest: worker offline");
        REQUIRE(off[0]["subjects"].Size() == 1);
        CHECK(std::string(off[0]["subjects"][0].GetString()) == hostile_worker);
        CHECK(std::string(off[0]["text"].GetString()) == "worker " + hostile_worker + " disconnected");
        auto w = d.get("/api/v1/workers?q=demo");
        REQUIRE(w.IsObject());
        CHECK(std::string(w["workers"][0]["state"].GetString()) == "offline");
        // Once mining stopped the events are quiet: the delivery stays among the newest.
        CHECK(test::eventually(
            [&] {
                auto ev = d.get("/api/v1/events");
                if (!ev.IsArray()) return false;
                for (const auto& e : ev.GetArray())
                    if (std::string(e["kind"].GetString()) == "alert_sent" &&
                        std::string(e["state"].GetString()) == "delivered" &&
                        std::string(e["detail"].GetString()) ==
                            "alert \"solobridge regtest: worker offline\" delivered to alerts.webhooks[0] (127.0.0.1)")
                        return true;
                return false;
            },
            30s));
    }
    CHECK(d.process->terminate() == 0);
}

TEST_CASE("integration: a damaged statistics database is reported and mining goes on, a restart keeps blocks and best shares") {
    test::regtest_node node;
    const std::string dir = node.dir();
    const std::string data = dir + "/bridge-data";
    std::filesystem::create_directories(data);
    {
        std::ofstream(data + "/stats.sqlite") << std::string(8192, 'x');
    }
    {
        dashboard_daemon d;
        d.start(node, data, dir + "/daemon1.log");
        INFO("daemon output:\n" << d.process->output());
        test::child_process miner({SB_SOLOBRIDGE_BIN, "cpu-miner", "--url", "127.0.0.1:" + std::to_string(d.stratum_port),
                                   "--user", "rig.one", "--max-shares", "3", "--seconds", "60"},
                                  {}, dir + "/miner1.log");
        REQUIRE(miner.wait_for_exit(90s) == 0);
        rapidjson::Document st;
        test::eventually(
            [&] {
                st = d.get("/api/v1/status");
                return st.IsObject() && st["chains"][0]["blocks"]["found"].GetUint64() >= 1;
            },
            10s);
        REQUIRE(st.IsObject());
        CHECK_FALSE(st["history"]["available"].GetBool());
        CHECK(std::string(st["history"]["error"].GetString()).find("stats.sqlite") != std::string::npos);
        CHECK(st["chains"][0]["blocks"]["found"].GetUint64() >= 1);  // mined all the same
        CHECK(d.process->output().find("history unavailable") != std::string::npos);
        CHECK(d.process->terminate() == 0);
    }
    CHECK(std::filesystem::file_size(data + "/stats.sqlite") == 8192);  // never overwritten
    std::filesystem::remove(data + "/stats.sqlite");
    double best = 0;
    {
        dashboard_daemon d;
        d.start(node, data, dir + "/daemon2.log");
        test::child_process miner({SB_SOLOBRIDGE_BIN, "cpu-miner", "--url", "127.0.0.1:" + std::to_string(d.stratum_port),
                                   "--user", "rig.two", "--max-shares", "3", "--seconds", "60"},
                                  {}, dir + "/miner2.log");
        REQUIRE(miner.wait_for_exit(90s) == 0);
        REQUIRE(test::eventually([&] { return d.get("/api/v1/workers?q=rig.two")["total"].GetUint() == 1; }, 10s));
        best = d.get("/api/v1/workers?q=rig.two")["workers"][0]["best_share_all_time"].GetDouble();
        CHECK(best > 0);
        CHECK(d.process->terminate() == 0);  // the last tick writes the counters
    }
    dashboard_daemon d;
    d.start(node, data, dir + "/daemon3.log");
    INFO("daemon output:\n" << d.process->output());
    auto st = d.get("/api/v1/status");
    CHECK(st["history"]["available"].GetBool());
    auto blocks = d.get("/api/v1/blocks");
    REQUIRE(blocks.IsArray());
    bool ours = false;
    for (const auto& b : blocks.GetArray()) ours = ours || std::string(b["worker"].GetString()) == "rig.two";
    CHECK(ours);
    // The worker is back in memory when it mines again, with its all-time best.
    test::child_process miner({SB_SOLOBRIDGE_BIN, "cpu-miner", "--url", "127.0.0.1:" + std::to_string(d.stratum_port),
                               "--user", "rig.two", "--max-shares", "1", "--seconds", "60"},
                              {}, dir + "/miner3.log");
    REQUIRE(miner.wait_for_exit(90s) == 0);
    CHECK(test::eventually(
        [&] {
            auto w = d.get("/api/v1/workers?q=rig.two");
            return w.IsObject() && w["total"].GetUint() == 1 && w["workers"][0]["best_share_all_time"].GetDouble() >= best &&
                   w["workers"][0]["shares"]["accepted"].GetUint64() >= 4;
        },
        10s));
    CHECK(d.process->terminate() == 0);
}
