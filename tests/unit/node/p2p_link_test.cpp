// How p2p_link settles our own relayed block by asking the configured peer that fetched
// it (getheaders probe: locator the block's parent, hash_stop the block), against a
// scripted configured peer on loopback: the probe follows the peer's getdata, an answer
// with our header settles the block accepted, an empty answer is asked again and settles
// nothing, a competitor's header settles nothing by itself (and the stale rule still
// needs a header above it), and a block accepted on the peer's answer alone is reported
// again should the chain pass it with another block. The real bcoin node answers the probe in
// tests/integration/p2p_test.cpp and header_only_test.cpp.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

#include <boost/asio/strand.hpp>

#include "fake_node.hpp"  // io_runner
#include "regtest_headers.hpp"
#include "scripted_p2p.hpp"
#include "sb/core/hex.hpp"
#include "sb/node/p2p/message.hpp"
#include "sb/node/p2p_link.hpp"

using namespace sb;
using namespace sb::node::p2p;
namespace asio = boost::asio;

namespace {

const chain_params& regtest() { return params(network::bitcoin_regtest); }

// What the scripted peer sends back to the first probe.
// our_header_then_passed: our header, then the competitor and a header on it.
enum class answer { our_header, our_header_then_passed, empty, competitor };

struct settled_block {
    hash256 hash{};
    std::int32_t height = 0;
    bool accepted = false;
};

// The headers of one case: h1 on genesis (the peer's tip), our block on h1, a competitor
// of ours on h1 and a header on that competitor.
struct case_chain {
    block_header h1, ours, competitor, above_competitor;
    bytes block;  // our block as relayed: its header and no transaction (the peer does not judge it)
    case_chain() {
        const std::uint32_t t0 = node::p2p::header_chain(regtest()).root().header.time;
        h1 = test::mine_regtest_header(regtest().genesis_hash, t0 + 600);
        ours = test::mine_regtest_header(h1.hash(), t0 + 1200, 0x207fffff, 1);
        competitor = test::mine_regtest_header(h1.hash(), t0 + 1200, 0x207fffff, 2);
        above_competitor = test::mine_regtest_header(competitor.hash(), t0 + 1800);
        const auto raw = ours.serialize();
        block.assign(raw.begin(), raw.end());
        block.push_back(0);
    }
};

// What the script saw (it runs off the test thread: atomics and a mutex, no doctest).
struct probe_seen {
    std::mutex mu;
    std::vector<getheaders_message> probes;  // getheaders after the block was served
    std::atomic<bool> served{false};         // the block came back for the getdata
    std::atomic<bool> answered{false};       // the answer was sent and the peer processed it
    std::atomic<bool> done{false};           // the script reached its end
    std::size_t count() {
        std::lock_guard lock(mu);
        return probes.size();
    }
};

// One p2p_link with the scripted peer configured; relays our block once the peer's header
// is the tip and the peer is connected. The script answers the first probe as told.
struct link_case {
    case_chain c;
    test::scripted_p2p_node node{regtest()};
    test::io_runner io;
    std::filesystem::path dir;
    std::vector<std::string> log;
    std::vector<settled_block> settled;
    std::int32_t tip_height = 0;
    probe_seen seen;
    std::optional<node::p2p_link> link;

    explicit link_case(answer a) {
        dir = std::filesystem::temp_directory_path() /
              ("sb-p2p-link-probe-" + std::to_string(::getpid()) + "-" + std::to_string(int(a)));
        std::filesystem::remove_all(dir);
        node.run([this, a](test::scripted_p2p_node& s) { script(s, a); });
        node::p2p_link_options o;
        o.peers = {{"127.0.0.1", node.port()}};
        o.target_outbound = 0;
        o.data_dir = dir.string();
        o.on_new_tip = [this](const tip_change& t) {
            tip_height = t.new_height;
            return false;
        };
        o.on_block_settled = [this](const hash256& h, std::int32_t height, bool accepted) {
            settled.push_back({h, height, accepted});
        };
        o.log = [this](std::string_view l) { log.emplace_back(l); };
        link.emplace(asio::make_strand(io.executor()), regtest(), o);
        link->start();
    }
    ~link_case() {
        link->stop();
        io.run_for(std::chrono::milliseconds(50));
        link.reset();
        std::filesystem::remove_all(dir);
    }

    void script(test::scripted_p2p_node& s, answer a) {
        s.answer_handshake(70015, 1);
        s.read_until(cmd::getheaders);  // the initial sync
        s.send(cmd::headers, serialize_headers(std::vector<block_header>{c.h1}));
        s.read_until(cmd::inv);  // our block announced
        const inventory want{inv_type::witness_block, c.ours.hash()};
        s.send(cmd::getdata, serialize_inv({&want, 1}));
        seen.served = s.read_until(cmd::block).payload == c.block;
        read_probe(s);
        switch (a) {
            case answer::our_header:
            case answer::our_header_then_passed:
                s.send(cmd::headers, serialize_headers(std::vector<block_header>{c.ours}));
                break;
            case answer::empty:
                s.send(cmd::headers, serialize_headers({}));
                break;
            case answer::competitor:
                s.send(cmd::headers, serialize_headers(std::vector<block_header>{c.competitor}));
                break;
        }
        barrier(s, 7);
        seen.answered = true;
        if (a == answer::empty || a == answer::competitor) read_probe(s);  // asked again
        if (a == answer::competitor || a == answer::our_header_then_passed) {
            // The peer's chain moves past our block's height on the competitor: the
            // existing stale rule, not the probe, settles ours.
            if (a == answer::our_header_then_passed)
                s.send(cmd::headers, serialize_headers(std::vector<block_header>{c.competitor}));
            s.send(cmd::headers, serialize_headers(std::vector<block_header>{c.above_competitor}));
            barrier(s, 8);
        }
        seen.done = true;
        s.wait_closed();
    }
    void read_probe(test::scripted_p2p_node& s) {
        auto m = parse_getheaders(s.read_until(cmd::getheaders).payload);
        if (!m) return;
        std::lock_guard lock(seen.mu);
        seen.probes.push_back(*m);
    }
    // A ping answered: every message sent before it was handled.
    static void barrier(test::scripted_p2p_node& s, std::uint64_t nonce) {
        s.send(cmd::ping, serialize_ping(nonce));
        for (;;) {
            auto pong = parse_ping(s.read_until(cmd::pong).payload);
            if (pong && *pong == nonce) return;
        }
    }
    // Waits for the link to be on h1 with the peer connected, then relays our block.
    void relay() {
        REQUIRE_MESSAGE(io.run_until([&] { return tip_height == 1 && !link->peers().empty() && link->peers()[0].connected; },
                                     std::chrono::seconds(20)),
                        all_log());
        link->relay(std::make_shared<const bytes>(c.block), c.ours.hash(), 2);
    }
    bool logged(const std::string& s) const {
        return std::any_of(log.begin(), log.end(), [&](const std::string& l) { return l.find(s) != std::string::npos; });
    }
    std::string all_log() const {
        std::string out;
        for (const auto& l : log) out += l + "\n";
        return out;
    }
    // Every probe asks for our block after its parent, and for nothing else.
    void check_probes() {
        std::lock_guard lock(seen.mu);
        for (const auto& p : seen.probes) {
            REQUIRE(p.locator.size() == 1);
            CHECK(p.locator[0] == c.h1.hash());
            CHECK(p.hash_stop == c.ours.hash());
        }
    }
};

}  // namespace

TEST_CASE("p2p link: a configured peer that fetched our block is asked for it and its header settles it accepted") {
    link_case t(answer::our_header);
    t.relay();
    REQUIRE_MESSAGE(t.io.run_until([&] { return !t.settled.empty(); }, std::chrono::seconds(20)), t.all_log());
    CHECK(t.seen.served);
    CHECK(t.seen.count() == 1);
    t.check_probes();
    REQUIRE(t.settled.size() == 1);
    CHECK(t.settled[0].hash == t.c.ours.hash());
    CHECK(t.settled[0].height == 2);
    CHECK(t.settled[0].accepted);
    const std::string ours = to_hex_reversed(t.c.ours.hash());
    CHECK(t.logged("holds relayed block " + ours + " (its answer to getheaders)"));
    CHECK(t.logged("relayed block " + ours + " at height 2 is on the peers' chain"));
    // The answer was the last thing the peer said: once settled, nothing more happens.
    REQUIRE(t.io.run_until([&] { return t.seen.done.load(); }));
    t.io.run_for(std::chrono::milliseconds(100));
    CHECK(t.settled.size() == 1);
}

TEST_CASE("p2p link: an empty answer to the probe is asked again and settles nothing") {
    link_case t(answer::empty);
    t.relay();
    REQUIRE_MESSAGE(t.io.run_until([&] { return t.seen.done.load(); }, std::chrono::seconds(20)), t.all_log());
    CHECK(t.seen.served);
    CHECK(t.seen.count() == 2);  // the first probe behind the block, the second after the back-off
    t.check_probes();
    CHECK(t.settled.empty());
    CHECK_FALSE(t.logged("holds relayed block"));
}

TEST_CASE("p2p link: a competitor's header in the answer does not settle our block accepted") {
    link_case t(answer::competitor);
    t.relay();
    REQUIRE_MESSAGE(t.io.run_until([&] { return t.seen.answered.load(); }, std::chrono::seconds(20)), t.all_log());
    // The competitor at our height is valid (the peer stays connected, asked again) but
    // is no evidence either way: ours stays pending.
    CHECK(t.settled.empty());
    CHECK_FALSE(t.logged("holds relayed block"));
    // A header on the competitor: the chain passed our height with another block.
    REQUIRE_MESSAGE(t.io.run_until([&] { return t.seen.done.load(); }, std::chrono::seconds(20)), t.all_log());
    REQUIRE(t.io.run_until([&] { return !t.settled.empty(); }));
    CHECK(t.seen.count() == 2);
    t.check_probes();
    REQUIRE(t.settled.size() == 1);
    CHECK(t.settled[0].hash == t.c.ours.hash());
    CHECK_FALSE(t.settled[0].accepted);
    CHECK(t.tip_height == 3);
}

TEST_CASE("p2p link: a block accepted on the peer's answer is reported passed when the chain moves past it on a competitor") {
    link_case t(answer::our_header_then_passed);
    t.relay();
    REQUIRE_MESSAGE(t.io.run_until([&] { return t.settled.size() >= 2; }, std::chrono::seconds(20)), t.all_log());
    CHECK(t.seen.count() == 1);
    t.check_probes();
    REQUIRE(t.settled.size() == 2);
    CHECK(t.settled[0].hash == t.c.ours.hash());
    CHECK(t.settled[0].accepted);
    CHECK(t.settled[1].hash == t.c.ours.hash());
    CHECK(t.settled[1].height == 2);
    CHECK_FALSE(t.settled[1].accepted);
    CHECK(t.tip_height == 3);
    CHECK(t.logged("relayed block " + to_hex_reversed(t.c.ours.hash()) +
                   " at height 2 left the peers' chain: passed with another block at its height"));
    // Nothing is watched any more: later headers settle nothing.
    REQUIRE(t.io.run_until([&] { return t.seen.done.load(); }));
    t.io.run_for(std::chrono::milliseconds(100));
    CHECK(t.settled.size() == 2);
}
