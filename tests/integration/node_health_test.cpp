// Node health against real bcoin 1.0.2 regtest nodes: templates from the first healthy of
// two nodes while the first is stopped and after it is back; P2P to a configured node that
// restarts on the same ports, reconnected and the delay printed; the daemon with a wrong
// password on its first node, saying so in its log and /api/status while the second
// supplies the work.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <rapidjson/document.h>

#include "child_process.hpp"
#include "eventually.hpp"
#include "fake_node.hpp"  // io_runner
#include "regtest_node.hpp"
#include "sb/core/chain.hpp"
#include "sb/core/hex.hpp"
#include "sb/node/p2p/header_chain.hpp"
#include "sb/node/p2p/peer_manager.hpp"
#include "sb/node/template_failover.hpp"

using namespace sb;
using namespace std::chrono_literals;
using test::eventually;

namespace {

node::rpc_settings rpc_of(const test::regtest_node& n) {
    node::rpc_settings s;
    s.url = n.rpc_url();
    s.user = "solobridge";
    s.password = n.api_key();
    s.timeout = 10s;
    return s;
}

// The parents of the templates a receiver got, display order, thread-safe.
struct parents {
    std::mutex mu;
    std::vector<std::string> seen;
    void add(const hash256& h) {
        std::lock_guard lock(mu);
        seen.push_back(to_hex_reversed(h));
    }
    bool last_is(const std::string& hash) {
        std::lock_guard lock(mu);
        return !seen.empty() && seen.back() == hash;
    }
};

// An io_context run by a thread of its own, so that timers run while the test blocks
// (a node restart takes seconds).
struct io_thread {
    boost::asio::io_context io;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{io.get_executor()};
    std::thread thread{[this] { io.run(); }};
    ~io_thread() {
        guard.reset();
        io.stop();
        thread.join();
    }
};

}  // namespace

TEST_CASE("integration: templates come from the second bcoin node while the first is stopped and from the first again when it is back") {
    test::regtest_node a;
    test::regtest_node b;
    a.generate(3, a.wallet_address());
    b.generate(5, b.wallet_address());  // two chains: a template's parent says which node made it
    io_thread t;
    parents got;
    std::mutex log_mu;
    std::vector<std::string> lines;
    node::template_source_options o;
    o.net = network::bitcoin_regtest;
    o.refresh = 0ms;
    o.log = [&](std::string_view l) {
        std::lock_guard lock(log_mu);
        lines.emplace_back(l);
    };
    node::template_failover f(boost::asio::make_strand(t.io), {rpc_of(a), rpc_of(b)}, o,
                              [&](std::shared_ptr<const node::block_template> tpl, node::template_reason) {
                                  got.add(tpl->prev_block);
                                  return node::template_use::used;
                              });
    f.start();
    const std::string a_tip = a.best_hash();
    REQUIRE(eventually([&] { return f.active_node() == 0 && got.last_is(a_tip); }, 60s));

    a.kill_now();
    const std::string b_tip = b.best_hash();
    REQUIRE_MESSAGE(eventually([&] { return f.active_node() == 1 && got.last_is(b_tip); }, 60s), b.log_tail());
    CHECK(f.status().nodes[0].state == node::node_state::down);
    // Templates keep coming from b: its next block arrives by its longpoll.
    b.generate(1, b.wallet_address());
    const std::string b_next = b.best_hash();
    REQUIRE(eventually([&] { return got.last_is(b_next); }, 60s));

    a.restart();  // same ports, a fresh chain
    a.generate(2, a.wallet_address());
    const std::string a_back = a.best_hash();
    REQUIRE_MESSAGE(eventually([&] { return f.active_node() == 0 && got.last_is(a_back); }, 60s), a.log_tail());
    const auto st = f.status();
    CHECK(st.nodes[0].state == node::node_state::connected);
    CHECK(st.nodes[0].last_error.empty());
    CHECK(st.nodes[1].state == node::node_state::connected);
    f.stop();
    std::this_thread::sleep_for(100ms);

    std::lock_guard lock(log_mu);
    std::size_t down = 0, again = 0;
    for (const auto& l : lines) {
        MESSAGE(l);
        down += l.find(a.rpc_url()) != std::string::npos && l.find(": down: ") != std::string::npos ? 1 : 0;
        again += l.find(a.rpc_url()) != std::string::npos && l.find("connected again") != std::string::npos ? 1 : 0;
    }
    CHECK(down == 1);
    CHECK(again == 1);
}

TEST_CASE("integration: a configured bcoin node restarted on the same ports is reconnected over P2P within about a second") {
    test::regtest_node n;
    n.generate(1, n.wallet_address());
    io_thread t;
    node::p2p::header_chain chain(params(network::bitcoin_regtest));
    node::p2p::peer_manager_options o;
    o.configured = {{"127.0.0.1", n.p2p_port()}};
    o.target_outbound = 1;
    node::p2p::peer_manager m(boost::asio::make_strand(t.io), chain, o);
    m.start();
    REQUIRE(eventually([&] { return m.connected_count() == 1; }, 60s, 10ms));

    // Down long enough for a doubling back-off to reach 16 s (attempts 0.5, 1.5, 3.5, 7.5, 15.5 s
    // after the loss; bcoin takes about 4 s to open its P2P port after the restart).
    const auto down_for = 12s;
    n.kill_now();
    REQUIRE(eventually([&] { return m.connected_count() == 0; }, 30s, 10ms));
    std::this_thread::sleep_for(down_for);
    n.restart();  // returns once both its RPC and P2P ports accept connections
    const auto port_open = std::chrono::steady_clock::now();
    REQUIRE_MESSAGE(eventually([&] { return m.connected_count() == 1; }, 60s, 10ms), n.log_tail());
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - port_open).count();
    std::printf("p2p reconnect after a node restart: %lld ms after its P2P port accepted connections (node down "
                "%lld s; configured-peer connect retry %lld ms)\n",
                static_cast<long long>(ms), static_cast<long long>(down_for.count()),
                static_cast<long long>(o.connect_retry_configured.count()));
    std::fflush(stdout);
    m.stop();
    std::this_thread::sleep_for(100ms);
}

TEST_CASE("integration: the daemon logs a wrong password on its first node once and shows it in the status while the second supplies the work") {
    test::regtest_node a;
    test::regtest_node b;
    b.generate(2, b.wallet_address());
    const std::uint16_t http_port = test::free_loopback_port();
    const std::uint16_t stratum_port = test::free_loopback_port();
    const std::string path = a.dir() + "/two-nodes.json";
    {
        std::ofstream out(path);
        out << R"({ "data_dir": ")" << a.dir() << R"(/bridge-data",
  "http": { "listen": "127.0.0.1:)" << http_port << R"(" },
  "chains": [ { "id": "regtest", "network": "bitcoin-regtest",
    "nodes": [ { "rpc_url": ")" << a.rpc_url() << R"(", "rpc_user": "solobridge", "rpc_password": "not-the-key" },
               { "rpc_url": ")" << b.rpc_url() << R"(", "rpc_user": "solobridge", "rpc_password": ")" << b.api_key() << R"(" } ],
    "payout": { "address": "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080" },
    "stratum": [ { "listen": "127.0.0.1:)" << stratum_port << R"(",
                   "difficulty": { "initial": 0.001, "min": 0.0001, "max": 1000 } } ] } ] })";
    }
    test::child_process daemon({SB_SOLOBRIDGE_BIN, "--config", path}, {}, a.dir() + "/daemon.log");
    REQUIRE_MESSAGE(test::wait_for_port(http_port, 30s, &daemon), daemon.output());

    rapidjson::Document c;
    const auto chain_status = [&] {
        const auto [code, body] = test::http_get_loopback(http_port, "/api/status");
        c.SetNull();
        if (code != 200) return false;
        rapidjson::Document st;
        st.Parse(body.c_str());
        if (!st.IsObject()) return false;
        c.CopyFrom(st["chains"][0], c.GetAllocator());
        return true;
    };
    const std::uint32_t b_height = b.rpc("getblockchaininfo")["blocks"].GetUint();
    REQUIRE_MESSAGE(eventually(
                        [&] {
                            return chain_status() && c["job_height"].GetUint() == b_height + 1 &&
                                   std::string(c["nodes"][0]["state"].GetString()) == "unauthorized";
                        },
                        60s),
                    daemon.output());
    const auto& nodes = c["nodes"];
    REQUIRE(nodes.Size() == 2);
    CHECK(std::string(nodes[0]["rpc_url"].GetString()) == a.rpc_url());
    CHECK_FALSE(nodes[0]["active"].GetBool());
    CHECK(std::string(nodes[0]["last_error"].GetString()).find("check rpc_password") != std::string::npos);
    CHECK(nodes[0]["reachable"].GetBool());  // it answers; the state says why it is not used
    CHECK(std::string(nodes[1]["state"].GetString()) == "connected");
    CHECK(nodes[1]["active"].GetBool());
    CHECK(std::string(nodes[1]["last_error"].GetString()).empty());
    // The old "node" object is the node the work comes from.
    CHECK(std::string(c["node"]["rpc_url"].GetString()) == b.rpc_url());
    CHECK(std::string(c["node"]["state"].GetString()) == "connected");

    std::this_thread::sleep_for(2s);  // the first node is asked again and again meanwhile
    CHECK(daemon.terminate() == 0);
    const std::string out = daemon.output();
    MESSAGE(out);
    std::size_t refused = 0;
    for (std::size_t at = out.find("unauthorized: "); at != std::string::npos; at = out.find("unauthorized: ", at + 1))
        ++refused;
    CHECK(refused == 1);
    CHECK(out.find("node " + a.rpc_url() + ": unauthorized: ") != std::string::npos);
    CHECK(out.find("templates now from node " + b.rpc_url()) != std::string::npos);
}
