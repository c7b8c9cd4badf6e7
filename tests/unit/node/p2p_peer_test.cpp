// The P2P peer against a scripted node on loopback (a blocking socket on its own
// thread): handshake in either order, messages before the handshake, handshake timeout,
// framing errors, pings, new-tip detection from headers, misbehaving headers, relayed
// blocks, and the getheaders probe after a relayed block is fetched (back-off, give-up,
// unsolicited and repeated answers, peers not asked). The real bcoin node is exercised
// in tests/integration/p2p_test.cpp.
#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "fake_node.hpp"  // io_runner
#include "regtest_headers.hpp"
#include "scripted_p2p.hpp"
#include "sb/core/hex.hpp"
#include "sb/core/pow.hpp"
#include "sb/core/sha256.hpp"
#include "sb/node/p2p/message.hpp"
#include "sb/node/p2p/peer.hpp"

using namespace sb;
using namespace sb::node::p2p;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

const chain_params& regtest() { return params(network::bitcoin_regtest); }

// One scripted inbound connection on regtest (tests/support/scripted_p2p.hpp).
class scripted_node : public test::scripted_p2p_node {
public:
    scripted_node() : scripted_p2p_node(regtest()) {}
    void run(std::function<void(scripted_node&)> script) {
        scripted_p2p_node::run(
            [script = std::move(script)](scripted_p2p_node& n) { script(static_cast<scripted_node&>(n)); });
    }
    static bytes version_payload(std::int32_t height = 0) {
        version_message v;
        v.version = 70015;
        v.services = node_network | node_witness;
        v.user_agent = "/scripted:1/";
        v.start_height = height;
        return serialize(v);
    }
};

struct observed {
    bool ready = false;
    std::optional<peer_info> info;
    std::optional<tip_change> tip;
    std::optional<std::error_code> closed;
    std::string reason;
};

peer_callbacks record(observed& o) {
    peer_callbacks cb;
    cb.on_ready = [&o](const peer_info& i) {
        o.ready = true;
        o.info = i;
    };
    cb.on_new_tip = [&o](const tip_change& t) { o.tip = t; };
    cb.on_close = [&o](std::error_code ec, const std::string& why) {
        o.closed = ec;
        o.reason = why;
    };
    return cb;
}

block_header mine(const hash256& prev, std::uint32_t time, std::uint32_t bits = 0x207fffff) {
    return test::mine_regtest_header(prev, time, bits);
}

peer_settings settings(std::uint16_t port) {
    peer_settings s;
    s.port = port;
    s.handshake_timeout = std::chrono::seconds(5);
    return s;
}

}  // namespace

TEST_CASE("p2p: peer handshakes then syncs headers answers pings and reports the tip") {
    scripted_node node;
    test::io_runner io;
    header_chain chain(regtest());
    const std::uint32_t t0 = chain.root().header.time;
    std::vector<block_header> hs;
    hash256 prev = regtest().genesis_hash;
    for (int i = 1; i <= 3; ++i) {
        hs.push_back(mine(prev, t0 + 600u * std::uint32_t(i)));
        prev = hs.back().hash();
    }
    std::atomic<bool> got_getheaders{false}, got_pong{false}, sent_wtxidrelay{false};
    std::atomic<std::uint32_t> our_version{0};
    node.run([&](scripted_node& s) {
        auto v = parse_version(s.read_until(cmd::version).payload);
        if (v) our_version = std::uint32_t(v->version);
        // verack before version: the order is free.
        s.send(cmd::verack);
        s.send(cmd::version, scripted_node::version_payload(3));
        for (;;) {
            frame f = s.read();
            if (f.command == cmd::wtxidrelay) sent_wtxidrelay = true;
            if (f.command == cmd::getheaders) break;
        }
        got_getheaders = true;
        s.send(cmd::headers, serialize_headers(hs));
        s.send(cmd::ping, serialize_ping(42));
        auto pong = parse_ping(s.read_until(cmd::pong).payload);
        got_pong = pong && *pong == 42;
        s.wait_closed();
    });
    observed o;
    peer p(io.executor(), chain, settings(node.port()), record(o));
    p.start();
    REQUIRE_MESSAGE(io.run_until([&] { return (o.tip && got_pong) || o.closed; }), o.reason);
    CHECK(o.ready);
    CHECK(o.info->version == 70015);
    CHECK(o.info->start_height == 3);
    CHECK(our_version == 70016);
    CHECK_FALSE(sent_wtxidrelay);  // the scripted node speaks 70015
    CHECK(got_getheaders);
    CHECK(o.tip->new_height == 3);
    CHECK(o.tip->new_tip == hs.back().hash());
    CHECK(chain.tip().height == 3);
    CHECK_FALSE(o.closed);
    p.close();
    io.run_for(std::chrono::milliseconds(20));
    REQUIRE(o.closed);
    CHECK(*o.closed == p2p_errc::closed);
}

TEST_CASE("p2p: peer disconnects on a message before the handshake") {
    scripted_node node;
    test::io_runner io;
    header_chain chain(regtest());
    node.run([](scripted_node& s) {
        s.read_until(cmd::version);
        s.send(cmd::ping, serialize_ping(1));
        s.wait_closed();
    });
    observed o;
    peer p(io.executor(), chain, settings(node.port()), record(o));
    p.start();
    REQUIRE(io.run_until([&] { return o.closed.has_value(); }));
    CHECK(*o.closed == p2p_errc::message_before_handshake);
    CHECK(is_punishable(*o.closed));
    CHECK(o.reason.find("ping") != std::string::npos);
}

TEST_CASE("p2p: peer gives up when the handshake does not complete in time") {
    scripted_node node;
    test::io_runner io;
    header_chain chain(regtest());
    node.run([](scripted_node& s) { s.wait_closed(); });
    observed o;
    peer_settings st = settings(node.port());
    st.handshake_timeout = std::chrono::milliseconds(200);
    st.connect_timeout = std::chrono::milliseconds(100);
    peer p(io.executor(), chain, st, record(o));
    p.start();
    REQUIRE(io.run_until([&] { return o.closed.has_value(); }));
    CHECK(*o.closed == p2p_errc::handshake_timeout);
    CHECK_FALSE(is_punishable(*o.closed));
}

TEST_CASE("p2p: peer disconnects on a bad checksum and on invalid headers") {
    SUBCASE("bad checksum") {
        scripted_node node;
        test::io_runner io;
        header_chain chain(regtest());
        node.run([](scripted_node& s) {
            s.read_until(cmd::version);
            bytes b = encode_frame(regtest().magic, cmd::version, scripted_node::version_payload());
            b[20] ^= 0xff;
            s.send_raw(b);
            s.wait_closed();
        });
        observed o;
        peer p(io.executor(), chain, settings(node.port()), record(o));
        p.start();
        REQUIRE(io.run_until([&] { return o.closed.has_value(); }));
        CHECK(*o.closed == p2p_errc::bad_checksum);
    }
    SUBCASE("bad diffbits") {
        scripted_node node;
        test::io_runner io;
        header_chain chain(regtest());
        const block_header bad = mine(regtest().genesis_hash, chain.root().header.time + 600, 0x1f7fffff);
        node.run([&](scripted_node& s) {
            s.read_until(cmd::version);
            s.send(cmd::version, scripted_node::version_payload());
            s.send(cmd::verack);
            s.read_until(cmd::getheaders);
            s.send(cmd::headers, serialize_headers({&bad, 1}));
            s.wait_closed();
        });
        observed o;
        peer p(io.executor(), chain, settings(node.port()), record(o));
        p.start();
        REQUIRE(io.run_until([&] { return o.closed.has_value(); }));
        CHECK(*o.closed == p2p_errc::header_bad_diffbits);
        CHECK(is_punishable(*o.closed));
        CHECK(chain.tip().height == 0);
    }
}

TEST_CASE("p2p: peer asks for headers on an unknown block inv and announces then serves a relayed block") {
    scripted_node node;
    test::io_runner io;
    header_chain chain(regtest());
    const block_header h1 = mine(regtest().genesis_hash, chain.root().header.time + 600);
    // Served as given for MSG_WITNESS_BLOCK: the peer does not judge the block.
    const auto raw_header = h1.serialize();
    bytes block(raw_header.begin(), raw_header.end());
    block.push_back(0);
    std::atomic<int> getheaders_seen{0};
    std::atomic<bool> got_inv{false}, got_block{false}, got_headers{false};
    node.run([&](scripted_node& s) {
        s.read_until(cmd::version);
        s.send(cmd::version, scripted_node::version_payload());
        s.send(cmd::verack);
        s.send(cmd::sendheaders);
        s.read_until(cmd::getheaders);
        ++getheaders_seen;
        const inventory unknown{inv_type::block, hash256{0xab}};
        s.send(cmd::inv, serialize_inv({&unknown, 1}));
        s.read_until(cmd::getheaders);
        ++getheaders_seen;
        // It asked for headers announcements: a headers message first, then the inv.
        auto announced = parse_headers(s.read_until(cmd::headers).payload);
        got_headers = announced && announced->size() == 1 && (*announced)[0] == h1;
        auto inv = parse_inv(s.read_until(cmd::inv).payload);
        got_inv = inv && inv->size() == 1 && (*inv)[0].hash == h1.hash();
        const inventory want{inv_type::witness_block, h1.hash()};
        s.send(cmd::getdata, serialize_inv({&want, 1}));
        got_block = s.read_until(cmd::block).payload == block;
        s.wait_closed();
    });
    observed o;
    auto callbacks = record(o);
    std::optional<block_sent> sent;
    callbacks.on_block_sent = [&](const block_sent& b) { sent = b; };
    peer p(io.executor(), chain, settings(node.port()), callbacks);
    p.start();
    REQUIRE_MESSAGE(io.run_until([&] { return getheaders_seen == 2 || o.closed; }), o.reason);
    // Told sendcmpct (protocol 70015): a cmpctblock is what it would most likely ask for.
    CHECK(p.likely_fetch() == relayed_block::form::compact);
    auto relayed = std::make_shared<relayed_block>(chain.chain(), block);
    p.send_block(relayed);
    REQUIRE_MESSAGE(io.run_until([&] { return got_block || o.closed; }), o.reason);
    // The answer's timeline: the whole message written, reported once.
    REQUIRE(io.run_until([&] { return sent.has_value(); }));
    CHECK(sent->hash == h1.hash());
    CHECK(sent->command == cmd::block);
    CHECK(sent->bytes == frame_header_bytes + block.size());
    CHECK(sent->made_at == relayed->made_at());
    CHECK(sent->first_write <= sent->last_write);
    // It asked for a witness block: that is what it will most likely ask for next time.
    CHECK(p.likely_fetch() == relayed_block::form::as_built);
    CHECK(got_headers);
    CHECK(got_inv);
    CHECK(p.info().wants_headers);
    CHECK(chain.tip().hash == h1.hash());
    CHECK_FALSE(o.closed);
}

TEST_CASE("p2p: a relayed block's messages are built once for every peer, the block itself not copied") {
    header_chain chain(regtest());
    const block_header h1 = mine(regtest().genesis_hash, chain.root().header.time + 600);
    const auto raw_header = h1.serialize();
    // One coinbase-like transaction without witnesses: enough to parse.
    bytes block(raw_header.begin(), raw_header.end());
    const auto tx = from_hex(
        "01000000" "01" "0000000000000000000000000000000000000000000000000000000000000000" "ffffffff" "01" "51"
        "ffffffff" "01" "00f2052a01000000" "01" "51" "00000000");
    REQUIRE(tx);
    block.push_back(1);
    block.insert(block.end(), tx->begin(), tx->end());
    const auto raw = std::make_shared<const bytes>(block);
    relayed_block relayed(regtest(), raw);
    auto whole = [](const relayed_block::message& m) {
        bytes out(m.header.begin(), m.header.end());
        out.insert(out.end(), m.payload->begin(), m.payload->end());
        return out;
    };
    const auto as_built = relayed.get(relayed_block::form::as_built);
    REQUIRE(as_built);
    CHECK(as_built->command == cmd::block);
    CHECK(as_built->payload.get() == raw.get());
    CHECK(whole(*as_built) == encode_frame(regtest().magic, cmd::block, block));
    CHECK(relayed.get(relayed_block::form::as_built) == as_built);  // built once
    // Without witness data the stripped form is the same bytes, shared as well.
    const auto no_witness = relayed.get(relayed_block::form::no_witness);
    REQUIRE(no_witness);
    CHECK(no_witness->payload.get() == raw.get());
    const auto compact = relayed.get(relayed_block::form::compact);
    REQUIRE(compact);
    CHECK(compact->command == cmd::cmpctblock);
    REQUIRE(compact->payload->size() >= block_header_size + 8);
    std::uint64_t nonce = 0;
    for (std::size_t i = 0; i < 8; ++i) nonce |= std::uint64_t((*compact->payload)[block_header_size + i]) << (8 * i);
    const auto expected = serialize_cmpctblock_prefilled(block, nonce);
    REQUIRE(expected);
    CHECK(whole(*compact) == encode_frame(regtest().magic, cmd::cmpctblock, *expected));
    CHECK(relayed.get(relayed_block::form::compact) == compact);

    // Bytes after the header that are no transactions: no compact form; MSG_BLOCK gets the
    // block as built.
    bytes filler(raw_header.begin(), raw_header.end());
    filler.push_back(7);
    relayed_block odd(regtest(), filler);
    CHECK_FALSE(odd.get(relayed_block::form::compact));
    REQUIRE(odd.get(relayed_block::form::no_witness));
    CHECK(whole(*odd.get(relayed_block::form::no_witness)) == encode_frame(regtest().magic, cmd::block, filler));
}

namespace {

// A chain of n regtest headers on genesis, each made a "block" of size bytes (served as
// given: the peer does not judge the body).
std::vector<bytes> relay_blocks(std::size_t n, std::size_t size, std::uint32_t time0) {
    std::vector<bytes> out;
    hash256 prev = regtest().genesis_hash;
    for (std::size_t i = 0; i < n; ++i) {
        const block_header h = mine(prev, time0 + 600 * std::uint32_t(i + 1));
        const auto raw = h.serialize();
        bytes b(raw.begin(), raw.end());
        b.resize(size, std::uint8_t(i));
        out.push_back(std::move(b));
        prev = h.hash();
    }
    return out;
}

hash256 block_hash(const bytes& b) { return sha256d(byte_span(b.data(), block_header_size)); }

// Asks for one block with getdata(witness block); true when the block comes back, false
// on notfound.
bool fetch(scripted_node& s, const bytes& block) {
    const inventory want{inv_type::witness_block, block_hash(block)};
    s.send(cmd::getdata, serialize_inv({&want, 1}));
    for (;;) {
        frame f = s.read();
        if (f.command == cmd::block) return f.payload == block;
        if (f.command == cmd::notfound) return false;
    }
}

}  // namespace

TEST_CASE("p2p: relayed blocks are kept by bytes so a peer fetches an early one after many more") {
    scripted_node node;
    test::io_runner io;
    header_chain chain(regtest());
    // Forty small blocks (five times the old count limit of 8), announced one by one.
    const auto blocks = relay_blocks(40, 200, chain.root().header.time);
    std::atomic<int> invs{0};
    std::atomic<bool> first_served{false}, last_served{false}, reannounced{false};
    node.run([&](scripted_node& s) {
        s.read_until(cmd::version);
        s.send(cmd::version, scripted_node::version_payload());
        s.send(cmd::verack);
        while (invs < 40) {
            s.read_until(cmd::inv);
            ++invs;
        }
        // The peer asks late, as bcoin does after validating the ones before.
        first_served = fetch(s, blocks.front());
        last_served = fetch(s, blocks.back());
        // Relayed again: announced again, held once.
        auto inv = parse_inv(s.read_until(cmd::inv).payload);
        reannounced = inv && inv->size() == 1 && (*inv)[0].hash == block_hash(blocks.front());
        s.wait_closed();
    });
    observed o;
    peer p(io.executor(), chain, settings(node.port()), record(o));
    p.start();
    REQUIRE_MESSAGE(io.run_until([&] { return o.ready || o.closed.has_value(); }), o.reason);
    for (const auto& b : blocks) p.send_block(std::make_shared<relayed_block>(chain.chain(), b));
    REQUIRE_MESSAGE(io.run_until([&] { return last_served || o.closed.has_value(); }), o.reason);
    CHECK(first_served);
    p.send_block(std::make_shared<relayed_block>(chain.chain(), blocks.front()));
    REQUIRE_MESSAGE(io.run_until([&] { return reannounced || o.closed.has_value(); }), o.reason);
    CHECK(chain.tip().hash == block_hash(blocks.back()));
    CHECK_FALSE(o.closed);
}

TEST_CASE("p2p: the relay store drops the oldest blocks beyond max_relay_bytes") {
    scripted_node node;
    test::io_runner io;
    header_chain chain(regtest());
    // Five blocks of a fifth of the bound plus one byte (each under the 4 MB frame cap):
    // together one past the bound, so the first is dropped and the other four kept.
    constexpr std::size_t count = 5;
    const std::size_t size = max_relay_bytes / count + 1;
    const auto blocks = relay_blocks(count, size, chain.root().header.time);
    std::atomic<int> invs{0};
    std::atomic<bool> done{false};
    std::array<std::atomic<int>, count> served{};
    for (auto& v : served) v = -1;
    node.run([&](scripted_node& s) {
        s.read_until(cmd::version);
        s.send(cmd::version, scripted_node::version_payload());
        s.send(cmd::verack);
        while (invs < int(count)) {
            s.read_until(cmd::inv);
            ++invs;
        }
        for (std::size_t i = 0; i < count; ++i) served[i] = fetch(s, blocks[i]) ? 1 : 0;
        done = true;
        s.wait_closed();
    });
    observed o;
    peer p(io.executor(), chain, settings(node.port()), record(o));
    p.start();
    REQUIRE_MESSAGE(io.run_until([&] { return o.ready || o.closed.has_value(); }), o.reason);
    for (const auto& b : blocks) p.send_block(std::make_shared<relayed_block>(chain.chain(), b));
    REQUIRE_MESSAGE(io.run_until([&] { return done || o.closed.has_value(); }, std::chrono::seconds(60)), o.reason);
    CHECK(served[0] == 0);  // notfound: evicted by bytes
    for (std::size_t i = 1; i < count; ++i) CHECK(served[i] == 1);
    CHECK_FALSE(o.closed);
}

namespace {

// A ping answered: every message sent before it was handled.
void barrier(scripted_node& s, std::uint64_t nonce) {
    s.send(cmd::ping, serialize_ping(nonce));
    for (;;) {
        auto pong = parse_ping(s.read_until(cmd::pong).payload);
        if (pong && *pong == nonce) return;
    }
}

bool is_probe_for(const frame& f, const bytes& block) {
    auto m = parse_getheaders(f.payload);
    const block_header h = parse_header(std::span<const std::uint8_t, block_header_size>(block.data(), block_header_size));
    return m && m->locator.size() == 1 && m->locator[0] == h.prev_block && m->hash_stop == block_hash(block);
}

}  // namespace

TEST_CASE("p2p: a peer that fetched a relayed block is probed with back-off and its header reported once per probe") {
    scripted_node node;
    test::io_runner io;
    header_chain chain(regtest());
    const auto blocks = relay_blocks(1, 100, chain.root().header.time);
    const bytes& block = blocks.front();
    const block_header ours =
        parse_header(std::span<const std::uint8_t, block_header_size>(block.data(), block_header_size));
    const auto our_headers = serialize_headers(std::vector<block_header>{ours});
    std::atomic<int> held{0};
    std::atomic<int> held_unsolicited{-1}, held_after_give_up{-1}, held_answered{-1}, held_repeated{-1};
    std::atomic<int> probes_ok{0};
    std::atomic<bool> fourth_probe{true}, done{false};
    node.run([&](scripted_node& s) {
        s.read_until(cmd::version);
        s.send(cmd::version, scripted_node::version_payload());
        s.send(cmd::verack);
        s.read_until(cmd::inv);
        // Our header before the peer fetched the block: no probe is open, nothing reported.
        s.send(cmd::headers, our_headers);
        barrier(s, 1);
        held_unsolicited = held.load();
        // Fetched, then asked three times (at once, 20 ms and 60 ms later), never answered.
        if (!fetch(s, block)) return;
        for (int i = 0; i < 3; ++i)
            if (is_probe_for(s.read_until(cmd::getheaders), block)) ++probes_ok;
        // The probe ended 80 ms after the third try; well past that, no fourth came.
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        s.skipped.clear();
        barrier(s, 2);
        fourth_probe = std::find(s.skipped.begin(), s.skipped.end(), std::string(cmd::getheaders)) != s.skipped.end();
        // An answer after the probe ended reports nothing.
        s.send(cmd::headers, our_headers);
        barrier(s, 3);
        held_after_give_up = held.load();
        // Fetched again: asked again; the answer is reported, a repeat of it is not.
        if (!fetch(s, block)) return;
        if (is_probe_for(s.read_until(cmd::getheaders), block)) ++probes_ok;
        s.send(cmd::headers, our_headers);
        barrier(s, 4);
        held_answered = held.load();
        s.send(cmd::headers, our_headers);
        barrier(s, 5);
        held_repeated = held.load();
        done = true;
        s.wait_closed();
    });
    observed o;
    auto callbacks = record(o);
    std::vector<hash256> held_hashes;
    callbacks.on_relayed_held = [&](const hash256& h) {
        held_hashes.push_back(h);
        ++held;
    };
    peer_settings ps = settings(node.port());
    ps.confirm_relayed = true;
    ps.relay_probe_wait = std::chrono::milliseconds(20);
    ps.relay_probe_tries = 3;
    peer p(io.executor(), chain, ps, callbacks);
    p.start();
    REQUIRE_MESSAGE(io.run_until([&] { return o.ready || o.closed.has_value(); }), o.reason);
    p.send_block(std::make_shared<relayed_block>(chain.chain(), block));
    REQUIRE_MESSAGE(io.run_until([&] { return done || o.closed.has_value(); }), o.reason);
    CHECK(held_unsolicited == 0);
    CHECK(probes_ok == 4);
    CHECK_FALSE(fourth_probe);
    CHECK(held_after_give_up == 0);
    CHECK(held_answered == 1);
    CHECK(held_repeated == 1);
    REQUIRE(held_hashes.size() == 1);
    CHECK(held_hashes[0] == ours.hash());
    CHECK_FALSE(o.closed);  // our own header coming back is no misbehaviour
}

namespace {

struct probe_outcome {
    bool probed = false;  // a getheaders came right behind the block
    int held = 0;         // on_relayed_held calls after our header was sent back
    bool closed = false;
};

// Relays a block to a scripted peer that fetches it, then sends its header back.
probe_outcome fetch_and_echo(bool confirm_relayed) {
    scripted_node node;
    test::io_runner io;
    header_chain chain(regtest());
    const auto blocks = relay_blocks(1, 100, chain.root().header.time);
    const bytes& block = blocks.front();
    const block_header ours =
        parse_header(std::span<const std::uint8_t, block_header_size>(block.data(), block_header_size));
    std::atomic<bool> probed{false}, done{false};
    node.run([&](scripted_node& s) {
        s.read_until(cmd::version);
        s.send(cmd::version, scripted_node::version_payload());
        s.send(cmd::verack);
        s.read_until(cmd::inv);
        if (!fetch(s, block)) return;
        s.skipped.clear();
        barrier(s, 1);
        for (const auto& c : s.skipped) probed = probed || c == cmd::getheaders;
        s.send(cmd::headers, serialize_headers(std::vector<block_header>{ours}));
        barrier(s, 2);
        done = true;
        s.wait_closed();
    });
    observed o;
    auto callbacks = record(o);
    probe_outcome out;
    callbacks.on_relayed_held = [&](const hash256&) { ++out.held; };
    peer_settings ps = settings(node.port());
    ps.confirm_relayed = confirm_relayed;
    peer p(io.executor(), chain, ps, callbacks);
    p.start();
    REQUIRE_MESSAGE(io.run_until([&] { return o.ready || o.closed.has_value(); }), o.reason);
    p.send_block(std::make_shared<relayed_block>(chain.chain(), block));
    REQUIRE_MESSAGE(io.run_until([&] { return done || o.closed.has_value(); }), o.reason);
    out.probed = probed;
    out.closed = o.closed.has_value();
    return out;
}

}  // namespace

TEST_CASE("p2p: only a peer asked to confirm relayed blocks is probed, and only its answer is reported") {
    // A public peer (confirm_relayed off): not asked, and its echo of our header is no evidence.
    const auto off = fetch_and_echo(false);
    CHECK_FALSE(off.probed);
    CHECK(off.held == 0);
    CHECK_FALSE(off.closed);
    // A configured peer: asked right behind the block, its answer reported.
    const auto on = fetch_and_echo(true);
    CHECK(on.probed);
    CHECK(on.held == 1);
    CHECK_FALSE(on.closed);
}
