// End to end for header-only work (issue 6, config p2p_header_only_work) against a real
// bcoin regtest node: the daemon's RPC URL points at a port where nothing answers, so its
// only view of the chain is the P2P link. It must say so (log and /api/status work_mode
// "header_only"), hand out coinbase-only work on the P2P-validated tip, and the blocks a
// Stratum miner finds must become the node's chain through P2P relay alone. Each settles
// as accepted over P2P while the RPC is still down, before any block is built on it: the
// node, a configured peer, answers the daemon's getheaders probe with the block's header
// once it holds it (bcoin never announces our own block back to us). When
// the RPC port starts answering (a forwarder to the node's real RPC port), work_mode goes
// back to "full" and full templates resume.
//
// The main test's miner is a Stratum test client that finds exactly one block per job and
// waits for the node to take it before mining on the next job, so the node's height is
// an exact count; a last test runs the cpu device, which finds a regtest block in
// microseconds, to show header-only work does not outrun the node. No wall-clock
// assertions: generous limits.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <rapidjson/document.h>

#include "../unit/stratum/stratum_test_client.hpp"
#include "child_process.hpp"
#include "dispatch/job.hpp"
#include "eventually.hpp"
#include "regtest_node.hpp"
#include "sb/core/hex.hpp"
#include "sb/core/uint256.hpp"

using namespace sb;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// Script of the configured payout address (bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080).
constexpr const char* payout_script_hex = "0014751e76e8199196d454941c45d1b3a323f1433bd6";

using test::eventually;

// Accepts on 127.0.0.1:listen_port and pipes every connection to 127.0.0.1:to_port, one
// blocking thread per direction; closes everything when destroyed.
class tcp_forwarder {
public:
    tcp_forwarder(std::uint16_t listen_port, std::uint16_t to_port)
        : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), listen_port)), to_port_(to_port) {
        acceptor_.non_blocking(true);
        accept_thread_ = std::thread([this] { accept_loop(); });
    }
    ~tcp_forwarder() {
        stop_ = true;
        accept_thread_.join();
        {
            std::lock_guard lock(mu_);
            boost::system::error_code ec;
            for (auto& s : sockets_) s->shutdown(tcp::socket::shutdown_both, ec);
        }
        for (auto& t : pipes_) t.join();
    }
    tcp_forwarder(const tcp_forwarder&) = delete;
    tcp_forwarder& operator=(const tcp_forwarder&) = delete;

private:
    void accept_loop() {
        while (!stop_) {
            auto in = std::make_shared<tcp::socket>(io_);
            boost::system::error_code ec;
            acceptor_.accept(*in, ec);
            if (ec) {
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
                continue;
            }
            in->non_blocking(false, ec);
            auto out = std::make_shared<tcp::socket>(io_);
            out->connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), to_port_), ec);
            if (ec) continue;
            std::lock_guard lock(mu_);
            sockets_.push_back(in);
            sockets_.push_back(out);
            pipes_.emplace_back([in, out] { pipe(*in, *out); });
            pipes_.emplace_back([in, out] { pipe(*out, *in); });
        }
    }
    static void pipe(tcp::socket& from, tcp::socket& to) {
        char buf[8192];
        for (;;) {
            boost::system::error_code ec;
            const std::size_t n = from.read_some(asio::buffer(buf), ec);
            if (ec) break;
            asio::write(to, asio::buffer(buf, n), ec);
            if (ec) break;
        }
        boost::system::error_code ec;
        to.shutdown(tcp::socket::shutdown_send, ec);
    }

    asio::io_context io_;
    tcp::acceptor acceptor_;
    std::uint16_t to_port_;
    std::atomic<bool> stop_{false};
    std::thread accept_thread_;
    std::mutex mu_;
    std::vector<std::shared_ptr<tcp::socket>> sockets_;
    std::vector<std::thread> pipes_;
};

// The chain entry of /api/status; an empty object when the daemon does not answer.
rapidjson::Document chain_status(std::uint16_t http_port) {
    rapidjson::Document c(rapidjson::kObjectType);
    const auto [code, body] = test::http_get_loopback(http_port, "/api/status");
    if (code != 200) return c;
    rapidjson::Document st;
    st.Parse(body.c_str());
    if (!st.IsObject() || !st.HasMember("chains") || !st["chains"].IsArray() || st["chains"].Empty()) return c;
    c.CopyFrom(st["chains"][0], c.GetAllocator());
    return c;
}

std::string work_mode(std::uint16_t http_port) {
    const auto c = chain_status(http_port);
    return c.HasMember("work_mode") && c["work_mode"].IsString() ? c["work_mode"].GetString() : "";
}

std::uint64_t blocks_counter(std::uint16_t http_port, const char* name) {
    const auto c = chain_status(http_port);
    if (!c.HasMember("blocks") || !c["blocks"].HasMember(name)) return 0;
    return c["blocks"][name].GetUint64();
}

std::uint32_t node_height(test::regtest_node& n) { return n.rpc("getblockchaininfo")["blocks"].GetUint(); }

bool coinbase_only_paying_us(test::regtest_node& n, const std::string& hash) {
    auto blk = n.rpc("getblock", "[\"" + hash + "\", true, true]");
    if (!blk["tx"].IsArray() || blk["tx"].Size() != 1) return false;
    for (const auto& o : blk["tx"][0]["vout"].GetArray())
        if (o["scriptPubKey"].HasMember("hex") && std::string(o["scriptPubKey"]["hex"].GetString()) == payout_script_hex)
            return true;
    return false;
}

// A Stratum miner that mines one block per job, on request.
class one_block_miner {
public:
    explicit one_block_miner(std::uint16_t port) : client_(port) {
        client_.send_line(R"({"id":1,"method":"mining.subscribe","params":["header-only-test/1"]})");
        client_.send_line(R"({"id":2,"method":"mining.authorize","params":["test.rig","x"]})");
    }

    // Reads lines until a job on prev (display hex) arrives; the newest such job is kept.
    bool wait_for_job_on(const std::string& prev_display, std::chrono::seconds limit) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        if (job_ && to_hex_reversed(job_->prev_block) == prev_display) return true;
        while (std::chrono::steady_clock::now() < deadline) {
            auto line = client_.read_line(std::chrono::seconds(1));
            if (!line) {
                if (client_.eof()) return false;
                continue;
            }
            handle(*line);
            if (job_ && to_hex_reversed(job_->prev_block) == prev_display) return true;
        }
        return false;
    }

    // Finds a nonce meeting the network target of the current job and submits it.
    // Returns the block hash (display order).
    std::string mine_and_submit() {
        REQUIRE(job_.has_value());
        REQUIRE(!extranonce1_.empty());
        bytes en2(extranonce2_size_, 0);
        en2.back() = std::uint8_t(++submitted_);
        for (std::uint32_t nonce = 0;; ++nonce) {
            auto h = bridge::rebuild_header(*job_, extranonce1_, en2, job_->ntime, nonce, job_->version);
            REQUIRE(h);
            const hash256 hash = h->hash();
            if (uint256::from_hash(hash) > job_->target) continue;
            client_.send_line(R"({"id":)" + std::to_string(10 + submitted_) +
                              R"(,"method":"mining.submit","params":["test.rig",")" + job_->id + R"(",")" +
                              to_hex(en2) + R"(",")" + bridge::u32_to_stratum_hex(job_->ntime) + R"(",")" +
                              bridge::u32_to_stratum_hex(nonce) + R"("]})");
            return to_hex_reversed(hash);
        }
    }

private:
    void handle(const std::string& line) {
        rapidjson::Document d;
        d.Parse(line.c_str());
        if (!d.IsObject()) return;
        if (d.HasMember("id") && d["id"].IsInt() && d["id"].GetInt() == 1 && d.HasMember("result") &&
            d["result"].IsArray() && d["result"].Size() >= 3 && d["result"][1].IsString() && d["result"][2].IsUint()) {
            auto en1 = from_hex(d["result"][1].GetString(), 64);
            if (en1) extranonce1_ = *en1;
            extranonce2_size_ = d["result"][2].GetUint();
            return;
        }
        if (!d.HasMember("method") || !d["method"].IsString() || std::string(d["method"].GetString()) != "mining.notify")
            return;
        const auto& p = d["params"];
        if (!p.IsArray() || p.Size() < 9 || extranonce1_.empty()) return;
        bridge::notify_params n;
        n.job_id = p[0].GetString();
        n.prevhash = p[1].GetString();
        n.coinb1 = p[2].GetString();
        n.coinb2 = p[3].GetString();
        for (const auto& b : p[4].GetArray()) n.merkle_branch.emplace_back(b.GetString());
        n.version = p[5].GetString();
        n.nbits = p[6].GetString();
        n.ntime = p[7].GetString();
        n.clean_jobs = p[8].GetBool();
        auto j = bridge::job_from_notify(n, extranonce1_.size(), extranonce2_size_);
        REQUIRE_MESSAGE(j, line);
        job_ = std::move(*j);
    }

    test::stratum_client client_;
    bytes extranonce1_;
    std::size_t extranonce2_size_ = 0;
    std::optional<bridge::job> job_;
    unsigned submitted_ = 0;
};

// The daemon in header-only mode: RPC URL on a port where nothing answers, P2P to node.
struct header_only_daemon {
    std::uint16_t http_port = test::free_loopback_port();
    std::uint16_t stratum_port = test::free_loopback_port();
    std::uint16_t dead_rpc_port = test::free_loopback_port();
    std::unique_ptr<test::child_process> process;

    // devices_json: the chain's "devices" array (e.g. a cpu device), empty for none.
    explicit header_only_daemon(test::regtest_node& node, const std::string& devices_json = "[]") {
        const std::string path = node.dir() + "/header-only.json";
        {
            std::ofstream out(path);
            out << R"({ "data_dir": ")" << node.dir() << R"(/bridge-data",
  "http": { "listen": "127.0.0.1:)" << http_port << R"(" },
  "chains": [ { "id": "regtest", "network": "bitcoin-regtest",
    "nodes": [ { "rpc_url": "http://127.0.0.1:)" << dead_rpc_port << R"(", "rpc_user": "solobridge",
                 "rpc_password": ")" << node.api_key() << R"(", "p2p": "127.0.0.1:)" << node.p2p_port()
                << R"(", "rpc_timeout_ms": 2000 } ],
    "payout": { "address": "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080" },
    "stratum": [ { "listen": "127.0.0.1:)" << stratum_port << R"(",
                   "difficulty": { "initial": 0.001, "min": 0.0001, "max": 1000 } } ],
    "template_refresh_s": 1,
    "p2p_header_only_work": true,
    "devices": )" << devices_json << R"( } ] })";
        }
        process = std::make_unique<test::child_process>(std::vector<std::string>{SB_SOLOBRIDGE_BIN, "--config", path},
                                                        std::vector<std::string>{}, node.dir() + "/daemon.log");
    }
    std::string journal_text(test::regtest_node& node) const {
        std::ifstream in(node.dir() + "/bridge-data/regtest.found-blocks");
        return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
};

}  // namespace

TEST_CASE("integration: with the RPC down the daemon mines header-only work that reaches the node over P2P alone") {
    test::regtest_node node;
    node.generate(3, node.wallet_address());  // a few headers to sync first
    const std::uint32_t start_height = node_height(node);
    header_only_daemon d(node);
    const std::uint16_t http_port = d.http_port;
    test::child_process& daemon = *d.process;
    // Both read files only (no assertions inside): safe in a lazily evaluated INFO.
    INFO("daemon output:\n" << daemon.output());
    INFO("node log:\n" << node.log_tail(40));
    REQUIRE(test::wait_for_port(http_port, std::chrono::seconds(60), &daemon));

    // The mode is announced in the log and the API.
    REQUIRE(eventually([&] { return work_mode(http_port) == "header_only"; }, std::chrono::seconds(120)));
    CHECK(daemon.output().find("HEADER-ONLY WORK") != std::string::npos);

    // Three blocks, one at a time: each on the node's tip, each taken by the node over
    // P2P before the next is mined, and each settled accepted over P2P while it is the
    // node's tip: no block on top of it, the RPC still down.
    one_block_miner miner(d.stratum_port);
    constexpr std::uint32_t blocks_to_mine = 3;
    std::vector<std::string> mined;
    for (std::uint32_t k = 0; k < blocks_to_mine; ++k) {
        const std::string tip = node.rpc("getbestblockhash").GetString();
        REQUIRE_MESSAGE(miner.wait_for_job_on(tip, std::chrono::seconds(120)), "no job on the node's tip " << tip);
        mined.push_back(miner.mine_and_submit());
        const bool taken = eventually([&] { return node_height(node) == start_height + k + 1; }, std::chrono::seconds(120));
        // Values for messages are taken first: a message is evaluated inside doctest's
        // reporter, where a nested assertion (node.rpc checks its reply) would deadlock.
        const std::uint32_t height_now = node_height(node);
        REQUIRE_MESSAGE(taken, "node height " << height_now << " after block " << k + 1);
        const bool settled = eventually([&] { return blocks_counter(http_port, "accepted") == k + 1; },
                                        std::chrono::seconds(60));
        const std::uint64_t accepted_now = blocks_counter(http_port, "accepted");
        REQUIRE_MESSAGE(settled, "accepted " << accepted_now << " after block " << k + 1);
        CHECK(node_height(node) == start_height + k + 1);
        CHECK(std::string(node.rpc("getbestblockhash").GetString()) == mined[k]);
    }
    // The node's chain is exactly our blocks, coinbase-only, paying the configured address.
    for (std::uint32_t k = 0; k < blocks_to_mine; ++k) {
        const std::string at = node.rpc("getblockhash", "[" + std::to_string(start_height + k + 1) + "]").GetString();
        CHECK(at == mined[k]);
        CHECK(coinbase_only_paying_us(node, at));
    }
    CHECK(blocks_counter(http_port, "found") == blocks_to_mine);
    CHECK(blocks_counter(http_port, "accepted") == blocks_to_mine);
    CHECK(blocks_counter(http_port, "in_flight") == 0);  // settled: no longer sent
    CHECK(blocks_counter(http_port, "parked") == 0);
    CHECK(work_mode(http_port) == "header_only");  // the RPC never answered
    // Settled by the node's answers to the probe, not by a block on top.
    for (const auto& h : mined) CHECK(daemon.output().find("holds relayed block " + h) != std::string::npos);
    CHECK(node_height(node) == start_height + blocks_to_mine);
    // The journal is written on its own thread, a moment after the status changes.
    for (const auto& h : mined)
        CHECK(eventually([&] { return d.journal_text(node).find("mark " + h + " accepted") != std::string::npos; },
                         std::chrono::seconds(30)));

    // The RPC answers again: full templates resume.
    tcp_forwarder rpc(d.dead_rpc_port, node.rpc_port());
    CHECK(eventually([&] { return work_mode(http_port) == "full"; }, std::chrono::seconds(120)));
    CHECK(eventually(
        [&] {
            const auto c = chain_status(http_port);
            return c.HasMember("node") && c["node"]["reachable"].GetBool() && c["node"]["templates"].GetUint64() > 0 &&
                   c["job_height"].GetUint() == node_height(node) + 1;
        },
        std::chrono::seconds(120)));
    CHECK(daemon.output().find("header-only work ended") != std::string::npos);
    CHECK(daemon.terminate() == 0);
}

TEST_CASE("integration: with the RPC down a block the peers' chain passes is marked orphaned over P2P") {
    test::regtest_node node;
    node.generate(3, node.wallet_address());
    const std::uint32_t start_height = node_height(node);
    header_only_daemon d(node);
    test::child_process& daemon = *d.process;
    INFO("daemon output:\n" << daemon.output());
    INFO("node log:\n" << node.log_tail(40));
    REQUIRE(test::wait_for_port(d.http_port, std::chrono::seconds(60), &daemon));
    REQUIRE(eventually([&] { return work_mode(d.http_port) == "header_only"; }, std::chrono::seconds(120)));

    one_block_miner miner(d.stratum_port);
    const std::string tip = node.rpc("getbestblockhash").GetString();
    REQUIRE(miner.wait_for_job_on(tip, std::chrono::seconds(120)));
    const std::string ours = miner.mine_and_submit();
    REQUIRE(eventually([&] { return node_height(node) == start_height + 1; }, std::chrono::seconds(120)));
    REQUIRE(std::string(node.rpc("getbestblockhash").GetString()) == ours);

    // The node drops our block and mines two of its own at its height and above: the
    // daemon hears them over P2P, its chain passes our block's height with another block.
    // Our block went out in time (it was the node's tip): it lost, so it is orphaned, not
    // stale.
    node.rpc("invalidateblock", "[\"" + ours + "\"]");
    REQUIRE(node_height(node) == start_height);
    node.generate(2, node.wallet_address());
    CHECK(eventually([&] { return blocks_counter(d.http_port, "orphaned") == 1; }, std::chrono::seconds(120)));
    CHECK(blocks_counter(d.http_port, "accepted") == 0);
    CHECK(blocks_counter(d.http_port, "stale") == 0);
    CHECK(eventually([&] { return d.journal_text(node).find("mark " + ours + " orphaned") != std::string::npos; },
                     std::chrono::seconds(30)));
    // Work follows the peers' chain: the next job is on the node's new tip.
    const std::string new_tip = node.rpc("getbestblockhash").GetString();
    CHECK(miner.wait_for_job_on(new_tip, std::chrono::seconds(120)));
    CHECK(daemon.terminate() == 0);
}

TEST_CASE("integration: with the RPC down the cpu device's header-only blocks all reach the node over P2P") {
    // At regtest difficulty the device finds a block in microseconds: header-only work
    // must not outrun the node (mining on a block no peer fetched yet), and a block the
    // node asks for late must still be served. Before both held, the node got notfound
    // for its first request and stayed where it was while the daemon found thousands.
    test::regtest_node node;
    node.generate(3, node.wallet_address());
    const std::uint32_t start_height = node_height(node);
    header_only_daemon d(node, R"([ { "id": "cpu", "intensity": 12 } ])");
    test::child_process& daemon = *d.process;
    INFO("daemon output:\n" << daemon.output());
    INFO("node log:\n" << node.log_tail(40));
    REQUIRE(test::wait_for_port(d.http_port, std::chrono::seconds(60), &daemon));
    constexpr std::uint32_t wanted = 10;
    const bool grew = eventually([&] { return node_height(node) >= start_height + wanted; }, std::chrono::seconds(180));
    const std::uint32_t height_now = node_height(node);
    REQUIRE_MESSAGE(grew, "node height " << height_now);
    CHECK(daemon.output().find("HEADER-ONLY WORK") != std::string::npos);
    // Every block the node took is ours: coinbase-only, paying the configured address.
    for (std::uint32_t h = start_height + 1; h <= start_height + wanted; ++h)
        CHECK(coinbase_only_paying_us(node, node.rpc("getblockhash", "[" + std::to_string(h) + "]").GetString()));
    // The daemon mined no faster than the node took its blocks: found is the node's
    // growth, plus the block in flight and a sibling for each fetch that lagged more than
    // the device's block pause (a loaded machine): a handful, never a runaway.
    CHECK(daemon.terminate() == 0);
    const std::uint32_t final_height = node_height(node);
    const std::string journal = d.journal_text(node);
    std::size_t found = 0;
    for (std::size_t at = journal.find("found "); at != std::string::npos; at = journal.find("\nfound ", at + 1)) ++found;
    CHECK(found >= final_height - start_height);
    CHECK(found <= final_height - start_height + 10);
}
