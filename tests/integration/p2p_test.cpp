// The P2P client against a real bcoin 1.0.2 regtest node on loopback: handshake, new-tip
// detection after generatetoaddress (bcoin announces by inv), headers sync, relay of a
// block we built (inv → getdata → block) that becomes the node's tip, the peer manager
// with bcoin as the configured peer (status list, new tips, relay), a header-only
// (coinbase-only) block built from the P2P tip alone that bcoin accepts, and the link
// settling a block it relayed as accepted from bcoin's answer to its getheaders probe,
// with no RPC and no block on top.
//
// bcoin answers getheaders only once its chain is "synced" (a tip with a recent
// timestamp): on a fresh node the genesis is from 2011, so the initial getheaders is
// ignored until a block is mined; generatetoaddress stamps current times, after which
// getheaders is answered.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

#include <boost/asio/strand.hpp>

#include "dispatch/job.hpp"
#include "fake_node.hpp"  // io_runner
#include "regtest_node.hpp"
#include "regtest_blocks.hpp"
#include "sb/core/address.hpp"
#include "sb/core/chain.hpp"
#include "sb/core/hex.hpp"
#include "sb/core/pow.hpp"
#include "sb/node/node_rpc.hpp"
#include "sb/node/p2p/peer.hpp"
#include "sb/node/p2p/header_template.hpp"
#include "sb/node/p2p/peer_manager.hpp"
#include "sb/node/p2p_link.hpp"
#include "sb/node/template.hpp"

using namespace sb;
using namespace sb::node::p2p;
namespace asio = boost::asio;

namespace {

const chain_params& regtest() { return params(network::bitcoin_regtest); }

// Everything a test observes of one peer.
struct observed {
    bool ready = false;
    std::optional<peer_info> info;
    std::optional<tip_change> last_tip;
    int tips = 0;
    int served = 0;
    std::optional<std::error_code> closed;
    std::string close_reason;
};

peer_callbacks record(observed& o) {
    peer_callbacks cb;
    cb.on_ready = [&o](const peer_info& i) {
        o.ready = true;
        o.info = i;
    };
    cb.on_new_tip = [&o](const tip_change& t) {
        o.last_tip = t;
        ++o.tips;
    };
    cb.on_block_served = [&o](const hash256&) { ++o.served; };
    cb.on_close = [&o](std::error_code ec, const std::string& why) {
        o.closed = ec;
        o.close_reason = why;
    };
    return cb;
}

peer_settings settings_for(const test::regtest_node& n) {
    peer_settings s;
    s.port = n.p2p_port();
    return s;
}

}  // namespace

TEST_CASE("p2p: handshake with bcoin completes and a mined block is reported as the new tip") {
    test::regtest_node n;
    test::io_runner io;
    header_chain chain(regtest());
    observed o;
    peer p(io.executor(), chain, settings_for(n), record(o));
    p.start();
    REQUIRE_MESSAGE(io.run_until([&] { return o.ready || o.closed; }), o.close_reason);
    REQUIRE(o.ready);
    CHECK(o.info->version == 70015);
    CHECK(o.info->user_agent.find("bcoin") != std::string::npos);
    CHECK(o.info->start_height == 0);

    n.generate(1, n.wallet_address());
    REQUIRE_MESSAGE(io.run_until([&] { return o.tips >= 1 || o.closed; }), o.close_reason);
    REQUIRE(o.last_tip);
    CHECK(o.last_tip->new_height == 1);
    CHECK(to_hex_reversed(o.last_tip->new_tip) == n.best_hash());
    CHECK(chain.tip().height == 1);

    // And again: each new block is followed.
    n.generate(2, n.wallet_address());
    REQUIRE(io.run_until([&] { return chain.tip().height == 3 || o.closed; }));
    CHECK(to_hex_reversed(chain.tip().hash) == n.best_hash());
    CHECK_FALSE(o.closed);
    // The first ping goes out with the handshake; bcoin answers it.
    REQUIRE(io.run_until([&] { return p.info().latency.has_value(); }, std::chrono::seconds(10)));
    std::printf("p2p: ping round trip to bcoin %lld us\n", static_cast<long long>(p.info().latency->count()));
    p.close();
    io.run_for(std::chrono::milliseconds(50));
    REQUIRE(o.closed);
    CHECK(*o.closed == p2p_errc::closed);
}

TEST_CASE("p2p: headers sync of fifty blocks from bcoin") {
    test::regtest_node n;
    test::io_runner io;
    n.generate(50, n.wallet_address());
    header_chain chain(regtest());
    observed o;
    peer p(io.executor(), chain, settings_for(n), record(o));
    p.start();
    REQUIRE_MESSAGE(io.run_until([&] { return chain.tip().height == 50 || o.closed; }, std::chrono::seconds(30)),
                    o.close_reason);
    CHECK(to_hex_reversed(chain.tip().hash) == n.best_hash());
    REQUIRE(o.last_tip);
    CHECK(o.last_tip->fork_height == 0);
    CHECK(o.info->start_height == 50);
    CHECK_FALSE(o.closed);
}

namespace {

// A block on bcoin's tip built from its template through our RPC client and job code.
struct built {
    block_header header;
    bytes block;
};

built build_block(test::io_runner& io, test::regtest_node& n, const char* id) {
    node::rpc_client client(io.executor(), test::rpc_settings_for(n));
    auto b = test::grind_block(test::fetch_template(io, client), id, "/solobridge-p2p-test/");
    return {b.header, std::move(b.block)};
}

// Connects a fresh peer, relays b and waits until bcoin's tip is b.
void relay_and_check(test::io_runner& io, test::regtest_node& n, const built& b, bool compact) {
    header_chain chain(regtest());
    observed o;
    peer_settings s = settings_for(n);
    s.compact_blocks = compact;
    peer p(io.executor(), chain, s, record(o));
    p.start();
    const std::string tip_before = n.best_hash();
    REQUIRE_MESSAGE(io.run_until([&] {
        return (o.ready && to_hex_reversed(chain.tip().hash) == tip_before) || o.closed;
    }), o.close_reason);

    p.send_block(std::make_shared<relayed_block>(chain.chain(), b.block));
    const std::string ours = to_hex_reversed(b.header.hash());
    const bool accepted = io.run_until([&] {
        if (o.closed) return true;
        if (o.served == 0) return false;
        return n.best_hash() == ours;
    }, std::chrono::seconds(30));
    REQUIRE_MESSAGE(accepted, o.close_reason, "\n", n.log_tail());
    CHECK_FALSE(o.closed);
    CHECK(o.served == 1);
    CHECK(n.best_hash() == ours);
    CHECK(chain.tip().hash == b.header.hash());
}

}  // namespace

TEST_CASE("p2p: blocks relayed over P2P only become the bcoin tip as cmpctblock and as block") {
    test::regtest_node n;
    test::io_runner io;
    n.generate(1, n.wallet_address());  // a recent tip, so bcoin considers itself synced
    {
        INFO("with sendcmpct: bcoin asks getdata(MSG_CMPCT_BLOCK)");
        relay_and_check(io, n, build_block(io, n, "p2p1"), true);
    }
    {
        INFO("without sendcmpct: bcoin asks getdata(MSG_WITNESS_BLOCK)");
        relay_and_check(io, n, build_block(io, n, "p2p2"), false);
    }
}

TEST_CASE("p2p manager: bcoin as the configured peer is listed followed and relayed to") {
    test::regtest_node n;
    test::io_runner io;
    n.generate(1, n.wallet_address());
    header_chain chain(regtest());
    peer_manager_options o;
    // A host name for the user's node, resolved by an injected resolver (no DNS in tests).
    o.configured = {{"bcoin.test", n.p2p_port()}};
    o.resolve = [](const std::string& host, std::uint16_t port, resolve_handler done) {
        std::vector<peer_address> out;
        if (host == "bcoin.test") out.push_back(*peer_address::from_numeric("127.0.0.1", port));
        done(out);
    };
    int tips = 0, served = 0;
    o.on_new_tip = [&](const tip_change&) { ++tips; };
    o.on_block_served = [&](const hash256&) { ++served; };
    peer_manager m(io.executor(), chain, o);
    m.start();
    REQUIRE(io.run_until([&] { return m.connected_count() == 1 && chain.tip().height == 1; }));
    auto ps = m.peers();
    REQUIRE(ps.size() == 1);
    CHECK(ps[0].configured);
    CHECK(ps[0].configured_as == "bcoin.test:" + std::to_string(n.p2p_port()));
    CHECK(ps[0].address == "127.0.0.1:" + std::to_string(n.p2p_port()));
    CHECK(ps[0].user_agent.find("bcoin") != std::string::npos);
    CHECK_FALSE(ps[0].inbound);
    CHECK(ps[0].since > 0);

    n.generate(1, n.wallet_address());
    REQUIRE(io.run_until([&] { return chain.tip().height == 2; }));
    CHECK(to_hex_reversed(chain.tip().hash) == n.best_hash());
    REQUIRE(io.run_until([&] { auto p = m.peers(); return !p.empty() && p[0].height == 2; }, std::chrono::seconds(5)));

    const built b = build_block(io, n, "mgr1");
    m.relay(std::make_shared<const bytes>(b.block));
    const std::string ours = to_hex_reversed(b.header.hash());
    REQUIRE_MESSAGE(io.run_until([&] { return served > 0 && n.best_hash() == ours; }, std::chrono::seconds(30)),
                    n.log_tail());
    CHECK(tips >= 2);
    m.stop();
    io.run_for(std::chrono::milliseconds(50));
}

TEST_CASE("p2p header-only work: a coinbase-only block built from the P2P tip alone becomes the bcoin tip") {
    test::regtest_node n;
    test::io_runner io;
    n.generate(3, n.wallet_address());
    header_chain chain(regtest());
    observed o;
    peer p(io.executor(), chain, settings_for(n), record(o));
    p.start();
    REQUIRE_MESSAGE(io.run_until([&] { return chain.tip().height == 3 || o.closed; }), o.close_reason);

    // What the node itself would ask for, to compare with (no mempool: no fees).
    node::rpc_client client(io.executor(), test::rpc_settings_for(n));
    const auto gbt = test::fetch_template(io, client);
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
    auto t = header_only_template(chain, now);
    REQUIRE(t);
    CHECK(t->height == gbt->height);
    CHECK(t->prev_block == gbt->prev_block);
    CHECK(t->bits == gbt->bits);
    CHECK(t->coinbase_value == gbt->coinbase_value);
    CHECK(t->mintime <= gbt->curtime);

    // Mined and relayed over P2P only: no RPC submission.
    auto b = test::grind_block(std::make_shared<const node::block_template>(*t), "hdr1", "/solobridge-header-only/");
    p.send_block(std::make_shared<relayed_block>(chain.chain(), b.block));
    const std::string ours = to_hex_reversed(b.header.hash());
    REQUIRE_MESSAGE(io.run_until([&] { return (o.served > 0 && n.best_hash() == ours) || o.closed; },
                                 std::chrono::seconds(30)),
                    o.close_reason, "\n", n.log_tail());
    CHECK(n.best_hash() == ours);
    CHECK_FALSE(o.closed);
}

TEST_CASE("p2p link: a block bcoin took over P2P settles accepted from its answer to getheaders, no block on top") {
    // bcoin never announces our own block back to us: before the probe, the link learned
    // that bcoin holds it only from the next block built on it.
    test::regtest_node n;
    test::io_runner io;
    n.generate(1, n.wallet_address());  // a recent tip, so bcoin answers getheaders
    const auto dir = std::filesystem::temp_directory_path() / ("sb-p2p-link-bcoin-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::vector<std::string> log;
    std::int32_t tip_height = 0;
    struct settled_block {
        hash256 hash{};
        std::int32_t height = 0;
        bool accepted = false;
    };
    std::vector<settled_block> settled;
    node::p2p_link_options o;
    o.peers = {{"127.0.0.1", n.p2p_port()}};  // the user's node: a configured peer
    o.target_outbound = 0;
    o.data_dir = dir.string();
    o.on_new_tip = [&](const tip_change& t) {
        tip_height = t.new_height;
        return false;
    };
    o.on_block_settled = [&](const hash256& h, std::int32_t height, bool accepted) {
        settled.push_back({h, height, accepted});
    };
    o.log = [&](std::string_view l) { log.emplace_back(l); };
    auto all = [&] {
        std::string out;
        for (const auto& l : log) out += l + "\n";
        return out;
    };
    {
        node::p2p_link link(asio::make_strand(io.executor()), regtest(), o);
        link.start();
        REQUIRE_MESSAGE(io.run_until([&] {
            auto ps = link.peers();
            return tip_height == 1 && !ps.empty() && ps[0].connected;
        }), all());

        // Built by the test from bcoin's template; the link itself has no RPC.
        const built b = build_block(io, n, "probe1");
        const std::string ours = to_hex_reversed(b.header.hash());
        link.relay(std::make_shared<const bytes>(b.block), b.header.hash(), 2);
        REQUIRE_MESSAGE(io.run_until([&] { return !settled.empty(); }, std::chrono::seconds(30)),
                        all(), "\n", n.log_tail());
        REQUIRE(settled.size() == 1);
        CHECK(settled[0].hash == b.header.hash());
        CHECK(settled[0].height == 2);
        CHECK(settled[0].accepted);
        // bcoin holds it as its tip, nothing on top.
        CHECK(n.best_hash() == ours);
        CHECK(n.rpc("getblockchaininfo")["blocks"].GetInt() == 2);
        auto logged = [&](const std::string& s) {
            return std::any_of(log.begin(), log.end(), [&](const std::string& l) { return l.find(s) != std::string::npos; });
        };
        CHECK(logged("holds relayed block " + ours + " (its answer to getheaders)"));
        CHECK(logged("relayed block " + ours + " at height 2 is on the peers' chain"));
        link.stop();
        io.run_for(std::chrono::milliseconds(50));
    }
    std::filesystem::remove_all(dir);
}
