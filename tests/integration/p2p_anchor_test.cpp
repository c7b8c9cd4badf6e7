// The P2P header chain anchored at a header from a real bcoin regtest node's RPC
// (getblockchaininfo, getblockhash, getblockheader verbose and raw) instead of genesis:
// the anchor fetched and checked, the chain synced from it over P2P, a block mined by the
// node arriving as a new tip, the store resumed on restart or replaced when it does not
// hold the node's header, and the daemon's p2p_link doing the same by itself, with the
// RPC down at start (stored chain resumed; no store: P2P waits for the node), and the
// solobridge daemon with `p2p_anchor: "rpc"` in its config.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <thread>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/strand.hpp>

#include "child_process.hpp"
#include "fake_node.hpp"  // io_runner
#include "regtest_blocks.hpp"
#include "regtest_node.hpp"
#include "sb/core/chain.hpp"
#include "sb/core/hex.hpp"
#include "sb/node/p2p/anchor.hpp"
#include "sb/node/p2p/peer.hpp"
#include "sb/node/p2p_link.hpp"

using namespace sb;
using namespace sb::node::p2p;

namespace {

const chain_params& regtest() { return params(network::bitcoin_regtest); }

std::string hash_at(test::regtest_node& n, int height) {
    auto b = n.rpc("getblockhash", "[" + std::to_string(height) + "]");
    REQUIRE(b.IsString());
    return b.GetString();
}

struct temp_dir {
    std::filesystem::path path;
    explicit temp_dir(const std::string& tag) {
        path = std::filesystem::temp_directory_path() / ("sb-p2p-anchor-" + tag);
        std::filesystem::remove_all(path);
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

rpc_anchor fetch(test::io_runner& io, test::regtest_node& n) {
    node::rpc_client client(io.executor(), test::rpc_settings_for(n));
    std::optional<result<rpc_anchor>> got;
    std::string detail;
    fetch_rpc_anchor(client, regtest(), {}, [&](result<rpc_anchor> a, const std::string& d) {
        got = std::move(a);
        detail = d;
    });
    REQUIRE(io.run_until([&] { return got.has_value(); }));
    REQUIRE_MESSAGE(got->has_value(), got->error().message(), " ", detail);
    return **got;
}

// Runs a peer against n on chain until the tip reaches height.
struct synced_peer {
    bool ready = false;
    int tips = 0;
    std::optional<tip_change> last;
    std::optional<std::error_code> closed;
    std::string why;
    std::unique_ptr<peer> p;

    synced_peer(test::io_runner& io, test::regtest_node& n, header_chain& chain) {
        peer_settings s;
        s.port = n.p2p_port();
        peer_callbacks cb;
        cb.on_ready = [this](const peer_info&) { ready = true; };
        cb.on_new_tip = [this](const tip_change& t) {
            last = t;
            ++tips;
        };
        cb.on_close = [this](std::error_code ec, const std::string& w) {
            closed = ec;
            why = w;
        };
        p = std::make_unique<peer>(io.executor(), chain, s, cb);
        p->start();
    }
};

}  // namespace

TEST_CASE("p2p anchor: the header chain starts at bcoin's RPC header and follows a block the node mines") {
    test::regtest_node n;
    test::io_runner io;
    temp_dir dir("sync-" + std::to_string(n.rpc_port()));
    n.generate(40, n.wallet_address());

    const rpc_anchor a = fetch(io, n);
    // Regtest bits never change: anchor_min_depth below the tip.
    CHECK(a.height == 40 - anchor_min_depth);
    CHECK(to_hex_reversed(a.hash) == hash_at(n, a.height));
    CHECK(a.header.base.hash() == a.hash);
    CHECK_FALSE(a.header.kawpow);
    // Work 2 per regtest block (bits 207fffff), genesis included.
    CHECK(a.chain_work == uint256(std::uint64_t(2 * (a.height + 1))));

    header_chain chain(regtest());
    std::string why;
    REQUIRE(anchor_header_chain(chain, a, dir.path, why));
    INFO(why);
    CHECK(why.find("anchored at the node's header") != std::string::npos);
    CHECK(chain.root().height == a.height);
    CHECK(chain.root().hash == a.hash);
    CHECK(chain.size() == 1);

    {
        synced_peer sp(io, n, chain);
        REQUIRE_MESSAGE(io.run_until([&] { return chain.tip().height == 40 || sp.closed; }, std::chrono::seconds(30)),
                        sp.why);
        REQUIRE_MESSAGE(!sp.closed, "the peer closed: ", sp.why, " (", sp.closed->message(), ")");
        CHECK(to_hex_reversed(chain.tip().hash) == n.best_hash());
        // Only the headers above the anchor were fetched and held.
        CHECK(chain.size() == std::size_t(40 - a.height + 1));
        CHECK(chain.tip().chain_work == uint256(std::uint64_t(2 * 41)));

        n.generate(1, n.wallet_address());
        REQUIRE_MESSAGE(io.run_until([&] { return chain.tip().height == 41 || sp.closed; }), sp.why);
        REQUIRE(sp.last);
        CHECK(sp.last->new_height == 41);
        CHECK(to_hex_reversed(sp.last->new_tip) == n.best_hash());
        CHECK_FALSE(sp.closed);
        sp.p->close();
        io.run_for(std::chrono::milliseconds(50));
    }

    SUBCASE("a restart with the same anchor resumes the stored chain") {
        header_chain again(regtest());
        REQUIRE(anchor_header_chain(again, a, dir.path, why));
        CHECK(why.find("resuming the stored header chain") != std::string::npos);
        CHECK(again.root().height == a.height);
        CHECK(again.tip().height == 41);
        CHECK(to_hex_reversed(again.tip().hash) == n.best_hash());
    }
    SUBCASE("without the RPC the stored anchored chain is resumed") {
        header_chain again(regtest());
        REQUIRE(anchor_header_chain(again, std::nullopt, dir.path, why));
        CHECK(why.find("without the node's RPC") != std::string::npos);
        CHECK(again.tip().height == 41);
    }
    SUBCASE("a store that does not hold the node's anchor is replaced") {
        n.generate(30, n.wallet_address());  // tip 71: anchor 51, above the stored tip 41
        const rpc_anchor later = fetch(io, n);
        CHECK(later.height == 71 - anchor_min_depth);
        header_chain again(regtest());
        REQUIRE(anchor_header_chain(again, later, dir.path, why));
        CHECK(why.find("anchored at the node's header") != std::string::npos);
        CHECK(again.root().height == later.height);
        CHECK(again.tip().height == later.height);
        // And the replaced store now holds the new root.
        const auto stored = header_chain::read_store_anchor(dir.path, regtest());
        REQUIRE(stored);
        CHECK(stored->hash == later.hash);
        CHECK(stored->height == later.height);
    }
}

TEST_CASE("p2p anchor: a short bcoin chain gives the genesis root") {
    test::regtest_node n;
    test::io_runner io;
    temp_dir dir("short-" + std::to_string(n.rpc_port()));
    n.generate(5, n.wallet_address());
    const rpc_anchor a = fetch(io, n);
    CHECK(a.height == 0);
    CHECK(a.hash == regtest().genesis_hash);
    header_chain chain(regtest());
    std::string why;
    REQUIRE(anchor_header_chain(chain, a, dir.path, why));
    CHECK(why.find("genesis") != std::string::npos);
    CHECK(chain.root().hash == regtest().genesis_hash);
    CHECK_FALSE(header_chain::read_store_anchor(dir.path, regtest()));
}

namespace {

struct link_log {
    std::vector<std::string> lines;
    bool has(const std::string& s) const {
        return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(s) != std::string::npos; });
    }
    std::string all() const {
        std::string out;
        for (const auto& l : lines) out += l + "\n";
        return out;
    }
};

node::p2p_link_options link_options(test::regtest_node& n, const std::filesystem::path& dir, link_log& log, int& tips,
                                   node::rpc_settings rpc) {
    node::p2p_link_options o;
    o.peers = {{"127.0.0.1", n.p2p_port()}};
    o.target_outbound = 0;
    o.data_dir = dir.string();
    o.anchor_from_rpc = true;
    o.anchor_rpc = std::move(rpc);
    o.anchor_retry = std::chrono::milliseconds(200);
    o.on_new_tip = [&tips](const node::p2p::tip_change&) {
        ++tips;
        return false;
    };
    o.log = [&log](std::string_view l) { log.lines.emplace_back(l); };
    return o;
}

bool connected(const node::p2p_link& l) {
    const auto ps = l.peers();
    return std::any_of(ps.begin(), ps.end(), [](const peer_status& p) { return p.connected; });
}

}  // namespace

TEST_CASE("p2p link: the daemon anchors at the node's RPC header, follows new blocks and resumes without the RPC") {
    test::regtest_node n;
    test::io_runner io;
    temp_dir dir("link-" + std::to_string(n.rpc_port()));
    n.generate(30, n.wallet_address());
    const std::string anchor_hash = hash_at(n, 30 - anchor_min_depth);

    {
        link_log log;
        int tips = 0;
        node::p2p_link link(boost::asio::make_strand(io.executor()), regtest(),
                           link_options(n, dir.path, log, tips, test::rpc_settings_for(n)));
        link.start();
        REQUIRE_MESSAGE(io.run_until([&] { return log.has("anchored at the node's header " + anchor_hash); }),
                        log.all());
        // Synced to the node's tip from the anchor (a new tip), then a mined block.
        REQUIRE_MESSAGE(io.run_until([&] { return tips >= 1 && connected(link); }, std::chrono::seconds(30)), log.all());
        const int before = tips;
        n.generate(1, n.wallet_address());
        REQUIRE_MESSAGE(io.run_until([&] { return tips > before && log.has("at height 31"); }), log.all());
        link.stop();
        io.run_for(std::chrono::milliseconds(100));
    }

    node::rpc_settings dead = test::rpc_settings_for(n);
    dead.url = "http://127.0.0.1:" + std::to_string(test::free_loopback_port());
    dead.timeout = std::chrono::milliseconds(500);
    {
        INFO("the RPC is down at start: the stored anchored chain is resumed and P2P runs");
        link_log log;
        int tips = 0;
        node::p2p_link link(boost::asio::make_strand(io.executor()), regtest(), link_options(n, dir.path, log, tips, dead));
        link.start();
        REQUIRE_MESSAGE(io.run_until([&] { return log.has("resuming the stored header chain without the node's RPC"); }),
                        log.all());
        CHECK(log.has("no anchor header from the node's RPC"));
        REQUIRE_MESSAGE(io.run_until([&] { return connected(link); }, std::chrono::seconds(30)), log.all());
        n.generate(1, n.wallet_address());
        REQUIRE_MESSAGE(io.run_until([&] { return tips >= 1 && log.has("at height 32"); }), log.all());
        link.stop();
        io.run_for(std::chrono::milliseconds(100));
    }
    {
        INFO("the RPC is down and nothing is stored: no peer, the anchor is asked for again");
        temp_dir empty("empty-" + std::to_string(n.rpc_port()));
        link_log log;
        int tips = 0;
        node::p2p_link link(boost::asio::make_strand(io.executor()), regtest(), link_options(n, empty.path, log, tips, dead));
        link.start();
        REQUIRE_MESSAGE(io.run_until([&] {
            return std::count_if(log.lines.begin(), log.lines.end(), [](const std::string& l) {
                       return l.find("P2P waits for it") != std::string::npos;
                   }) >= 2;
        }), log.all());
        CHECK_FALSE(connected(link));
        CHECK(tips == 0);
        link.stop();
        io.run_for(std::chrono::milliseconds(100));
    }
}

TEST_CASE("p2p link: the anchor comes from the node anchor_node names and from none while none is healthy") {
    test::regtest_node n;
    test::io_runner io;
    n.generate(30, n.wallet_address());
    const std::string anchor_hash = hash_at(n, 30 - anchor_min_depth);
    node::rpc_settings dead = test::rpc_settings_for(n);
    dead.url = "http://127.0.0.1:" + std::to_string(test::free_loopback_port());
    {
        INFO("no node's health known yet, then the node is healthy: anchored at its header");
        temp_dir dir("pick-" + std::to_string(n.rpc_port()));
        link_log log;
        int tips = 0;
        bool healthy = false;
        int asked = 0;
        auto o = link_options(n, dir.path, log, tips, dead);  // anchor_rpc must not be used
        o.anchor_wait = std::chrono::milliseconds(20);
        o.anchor_node = [&] {
            ++asked;
            node::p2p_link_options::anchor_choice c;
            if (healthy) c.node = test::rpc_settings_for(n);
            else c.pending = true;
            return c;
        };
        node::p2p_link link(boost::asio::make_strand(io.executor()), regtest(), o);
        link.start();
        REQUIRE(io.run_until([&] { return asked >= 5; }));
        CHECK(log.lines.empty());  // waiting for a verdict is not a failure
        healthy = true;
        REQUIRE_MESSAGE(io.run_until([&] { return log.has("anchored at the node's header " + anchor_hash); }),
                        log.all());
        REQUIRE_MESSAGE(io.run_until([&] { return connected(link); }, std::chrono::seconds(30)), log.all());
        link.stop();
        io.run_for(std::chrono::milliseconds(100));
    }
    {
        INFO("every node known unhealthy and nothing stored: no anchor, no peer, asked again");
        temp_dir empty("none-" + std::to_string(n.rpc_port()));
        link_log log;
        int tips = 0;
        auto o = link_options(n, empty.path, log, tips, test::rpc_settings_for(n));
        o.anchor_node = [] { return node::p2p_link_options::anchor_choice{}; };
        node::p2p_link link(boost::asio::make_strand(io.executor()), regtest(), o);
        link.start();
        REQUIRE_MESSAGE(io.run_until([&] {
            return std::count_if(log.lines.begin(), log.lines.end(), [](const std::string& l) {
                       return l.find("no configured node is healthy") != std::string::npos &&
                              l.find("P2P waits for it") != std::string::npos;
                   }) >= 2;
        }), log.all());
        CHECK_FALSE(connected(link));
        CHECK_FALSE(log.has("anchored at"));
        link.stop();
        io.run_for(std::chrono::milliseconds(100));
    }
}

TEST_CASE("p2p link: a new tip the work is behind gets coinbase-only work on it at once, our own block does not") {
    test::regtest_node n;
    test::io_runner io;
    temp_dir dir("tipwork-" + std::to_string(n.rpc_port()));
    n.generate(25, n.wallet_address());
    link_log log;
    int tips = 0;
    auto o = link_options(n, dir.path, log, tips, test::rpc_settings_for(n));
    std::vector<std::pair<std::int32_t, hash256>> new_tips;  // as on_new_tip saw them
    std::vector<std::shared_ptr<const node::block_template>> work;
    o.on_new_tip = [&](const tip_change& t) {
        new_tips.emplace_back(t.new_height, t.new_tip);
        return true;  // the receiver's work is behind every tip
    };
    o.on_tip_template = [&](std::shared_ptr<const node::block_template> t) { work.push_back(std::move(t)); };
    node::p2p_link link(boost::asio::make_strand(io.executor()), regtest(), o);
    link.start();
    REQUIRE_MESSAGE(io.run_until([&] { return connected(link) && !new_tips.empty() && new_tips.back().first == 25; },
                                 std::chrono::seconds(30)),
                    log.all());
    // The bare anchor only ranks templates; the synced tip (25) gets work.
    REQUIRE_MESSAGE(!work.empty(), log.all());
    CHECK(work.back()->height == 26);
    CHECK(work.back()->prev_block == new_tips.back().second);
    CHECK(work.back()->origin == node::template_origin::p2p_headers);
    CHECK(work.back()->transactions.empty());

    n.generate(1, n.wallet_address());  // a block of the node's
    REQUIRE_MESSAGE(io.run_until([&] { return !work.empty() && work.back()->height == 27; }), log.all());
    CHECK(work.back()->prev_block == new_tips.back().second);

    // Our own block, relayed: a new tip, but no work on top of it before the node has it.
    const std::size_t before = work.size();
    const auto own = test::grind_block(work.back(), "own", "/own/");
    link.relay(std::make_shared<const bytes>(own.block), own.header.hash(), 27);
    REQUIRE_MESSAGE(io.run_until([&] { return !new_tips.empty() && new_tips.back().first == 27; }), log.all());
    io.run_for(std::chrono::milliseconds(100));
    CHECK(work.size() == before);
    link.stop();
    io.run_for(std::chrono::milliseconds(100));
}

TEST_CASE("p2p anchor: the daemon with p2p_anchor rpc anchors at bcoin's header and hears a mined block over P2P") {
    test::regtest_node node;
    node.generate(40, node.wallet_address());
    const std::string anchor_hash = hash_at(node, 40 - anchor_min_depth);
    const std::uint16_t http_port = test::free_loopback_port();
    const std::uint16_t stratum_port = test::free_loopback_port();
    const std::string path = node.dir() + "/anchor.json";
    {
        std::ofstream out(path);
        out << R"({ "data_dir": ")" << node.dir() << R"(/bridge-data",
  "http": { "listen": "127.0.0.1:)" << http_port << R"(" },
  "chains": [ { "id": "regtest", "network": "bitcoin-regtest",
    "nodes": [ { "rpc_url": ")" << node.rpc_url() << R"(", "rpc_user": "solobridge",
                 "rpc_password": ")" << node.api_key() << R"(", "p2p": "127.0.0.1:)" << node.p2p_port() << R"(" } ],
    "payout": { "address": "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080" },
    "stratum": [ { "listen": "127.0.0.1:)" << stratum_port << R"(" } ],
    "p2p_anchor": "rpc" } ] })";
    }
    test::child_process daemon({SB_SOLOBRIDGE_BIN, "--config", path}, {}, node.dir() + "/daemon.log");
    REQUIRE(test::wait_for_port(http_port, std::chrono::seconds(60), &daemon));
    auto eventually = [&](const std::string& text) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (std::chrono::steady_clock::now() < deadline) {
            if (daemon.output().find(text) != std::string::npos) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return false;
    };
    REQUIRE_MESSAGE(eventually("anchored at the node's header " + anchor_hash), daemon.output());
    REQUIRE_MESSAGE(eventually("at height 40"), daemon.output());
    node.generate(1, node.wallet_address());
    CHECK_MESSAGE(eventually("p2p: new tip " + node.best_hash() + " at height 41"), daemon.output());
    // The store remembers the anchor.
    const auto stored = header_chain::read_store_anchor(node.dir() + "/bridge-data", regtest());
    REQUIRE(stored);
    CHECK(to_hex_reversed(stored->hash) == anchor_hash);
    daemon.terminate();
}
