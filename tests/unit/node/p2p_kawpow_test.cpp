// Ravencoin KAWPOW headers in the P2P client with its KAWPOW verifier (sb::pow's light
// verification, p2p/kawpow_verifier.hpp): the two real headers of a Ravencoin Core
// regtest node byte-exact, a chain of headers mined here on the CPU at epoch 0 synced from
// an anchor with Dark Gravity Wave checked once 180 ancestors are held, forged mix /
// wrong nHeight / pre-KAWPOW / wrong bits refused, the 120-byte store records replayed
// with the cheap check only, and a scripted Ravencoin peer whose headers and cmpctblock
// give new tips and to which a found KAWPOW block is announced by its final hash.
//
// Regtest targets (7fff…) take about two light hashes per header. Block times are past
// regtest's KAWPOW activation (3582830167, year 2083), so every call passes its own now_s.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>

#include "fake_node.hpp"  // io_runner
#include "sb/core/hex.hpp"
#include "sb/core/pow.hpp"
#include "sb/pow/ethash.hpp"
#include "sb/pow/kawpow.hpp"
#include "sb/node/p2p/anchor.hpp"
#include "sb/node/p2p/header_chain.hpp"
#include "sb/node/p2p/kawpow_verifier.hpp"
#include "sb/node/p2p/message.hpp"
#include "sb/node/p2p/peer.hpp"
#include "sb/node/p2p_link.hpp"
#include "scripted_p2p.hpp"
#include "vectors.hpp"

using namespace sb;
using namespace sb::node::p2p;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

const chain_params& rvn_regtest() { return params(network::ravencoin_regtest); }

// Ravencoin regtest with its min-difficulty / no-retarget shortcut off, so the real DGW
// v3 computation runs on regtest's easy targets.
const chain_params& rvn_dgw() {
    static const chain_params p = [] {
        chain_params c = params(network::ravencoin_regtest);
        c.no_retargeting = false;
        c.allow_min_difficulty = false;
        return c;
    }();
    return p;
}

constexpr std::int32_t anchor_h = 1000;  // the anchor's height (epoch 0)
constexpr std::uint32_t anchor_time = 3582830167u + 1000u;
constexpr std::uint32_t spacing_s = 20;  // a third of the target spacing: DGW clamps to T/3
constexpr std::uint32_t easy_bits = 0x207fffff;

hash256 boundary_of(std::uint32_t bits) {
    hash256 b{};
    compact_to_target(bits).target.to_be_bytes(b.data());
    return b;
}

const pow::ethash::epoch_context& epoch0() {
    static const pow::ethash::context_ptr ctx = pow::ethash::global_epoch_cache().get(0);
    return *ctx;
}

hash256 block_hash_of(const wire_header& w) {
    const auto k = w.to_kawpow();
    hash256 f = pow::kawpow::final_hash_from_mix(k.header_hash(), k.mix_hash, k.nonce64);
    std::reverse(f.begin(), f.end());
    return f;
}

// A KAWPOW header claiming `height`, with a nonce whose final hash meets bits.
wire_header mine(const hash256& prev, std::uint32_t height, std::uint32_t time, std::uint32_t bits) {
    ravencoin::kawpow_header h;
    h.version = 0x30000000;
    h.prev_block = prev;
    h.merkle_root = sha256d(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(&height), 4));
    h.time = time;
    h.bits = bits;
    h.height = height;
    auto r = pow::kawpow::search(epoch0(), height, h.header_hash(), boundary_of(bits), 0, 100000);
    REQUIRE(r);
    h.nonce64 = r->nonce;
    h.mix_hash = r->hash.mix_hash;
    return wire_header::from_kawpow(h);
}

// The anchor as the node's RPC would give it: a KAWPOW header taken on trust.
struct mined_chain {
    wire_header anchor;
    hash256 anchor_hash{};
    uint256 anchor_work = uint256(std::uint64_t(1'000'000));
    std::vector<wire_header> headers;  // heights anchor_h + 1 …
};

// 180 headers on the anchor with regtest's bits. On rvn_dgw() the 180th is the first
// whose bits DGW computes exactly (180 ancestors held, the anchor included), and easy
// bits are then wrong: DGW's avg × actual timespan wraps around 2^256 with 7fff…
// targets (Ravencoin's arith_uint256 does the same), leaving a target far too small to
// mine here; before, the bits are trusted.
const mined_chain& dgw_chain() {
    static const mined_chain c = [] {
        mined_chain m;
        m.anchor = mine(hash256{}, anchor_h, anchor_time, easy_bits);
        m.anchor_hash = block_hash_of(m.anchor);
        hash256 prev = m.anchor_hash;
        for (std::uint32_t i = 1; i <= std::uint32_t(dgw_past_blocks); ++i) {
            m.headers.push_back(mine(prev, anchor_h + i, anchor_time + spacing_s * i, easy_bits));
            prev = block_hash_of(m.headers.back());
        }
        return m;
    }();
    return c;
}

// The bridge's verifier, counting its calls by kind.
struct counting_verifier {
    std::shared_ptr<std::atomic<int>> cheap = std::make_shared<std::atomic<int>>(0);
    std::shared_ptr<std::atomic<int>> full = std::make_shared<std::atomic<int>>(0);
    kawpow_verifier get() const {
        auto inner = make_kawpow_verifier({});
        return [inner, c = cheap, f = full](const ravencoin::kawpow_header& h, kawpow_check k, hash256& out) {
            ++*(k == kawpow_check::full ? f : c);
            return inner(h, k, out);
        };
    }
};

std::unique_ptr<header_chain> anchored(const chain_params& chain, const mined_chain& m, kawpow_verifier v) {
    auto c = std::make_unique<header_chain>(chain, m.anchor, m.anchor_hash, anchor_h, m.anchor_work);
    c->set_kawpow_verifier(std::move(v));
    return c;
}

std::int64_t now_after(const wire_header& h) { return std::int64_t(h.base.time) + 1; }

}  // namespace

TEST_CASE("p2p kawpow: the two headers a Ravencoin node accepted parse serialize and hash byte-exact") {
    const rapidjson::Document& doc = test::vector_json("ravencoin.json");
    const auto& blocks = doc["kawpow_blocks_accepted"];
    REQUIRE(blocks.Size() == 2);
    header_chain chain(rvn_regtest());
    chain.set_kawpow_verifier(make_kawpow_verifier({}));
    for (const auto& b : blocks.GetArray()) {
        const std::string raw_hex = b["header120"].GetString();
        INFO("height " << b["height"].GetInt());
        auto raw = from_hex(raw_hex);
        REQUIRE(raw);
        REQUIRE(raw->size() == 120);
        // A headers message holding it.
        byte_writer msg;
        msg.compact_size(1);
        msg.raw(*raw);
        msg.u8(0);
        const bytes payload = msg.take();
        auto hs = parse_headers(payload, rvn_regtest());
        REQUIRE(hs);
        REQUIRE(hs->size() == 1);
        const wire_header& w = hs->front();
        CHECK(w.kawpow);
        CHECK(w.base.nonce == std::uint32_t(b["height"].GetInt()));
        CHECK(to_hex(w.serialize()) == raw_hex);
        CHECK(serialize_wire_headers(*hs) == payload);
        CHECK(to_hex(w.to_kawpow().header_hash()) == b["header_hash"].GetString());
        CHECK(to_hex(w.tail.mix_hash) == b["mix_hash"].GetString());
        // The block hash a node shows is the final hash: our internal order is its reverse.
        auto hash = chain.hash_of(w);
        REQUIRE(hash);
        CHECK(to_hex_reversed(*hash) == b["final_hash_block_hash"].GetString());
        // Full light verification agrees.
        hash256 final_hash{};
        const auto verify = make_kawpow_verifier({});
        CHECK_FALSE(verify(w.to_kawpow(), kawpow_check::full, final_hash));
        CHECK(to_hex(final_hash) == b["final_hash_block_hash"].GetString());
        // The same header at the start of a cmpctblock.
        bytes cb = *raw;
        for (int i = 0; i < 8; ++i) cb.push_back(0);
        cb.push_back(0);
        cb.push_back(0);
        auto from_cb = parse_cmpctblock_header(cb, rvn_regtest());
        REQUIRE(from_cb);
        CHECK(*from_cb == w);
    }
    // The same bytes dated before KAWPOW are an X16R header: refused, not misread.
    auto raw = from_hex(blocks[0]["header120"].GetString());
    REQUIRE(raw);
    store_le32(raw->data() + 68, rvn_regtest().kawpow_activation_time - 1);
    byte_writer msg;
    msg.compact_size(1);
    msg.raw(*raw);
    msg.u8(0);
    auto refused = parse_headers(msg.take(), rvn_regtest());
    REQUIRE_FALSE(refused);
    CHECK(refused.error() == p2p_errc::header_unsupported_pow);
    // And Bitcoin chains keep reading 80 bytes.
    byte_reader in(*raw);
    auto btc = read_wire_header(in, params(network::bitcoin_regtest));
    REQUIRE(btc);
    CHECK_FALSE(btc->kawpow);
    CHECK(in.position() == 80);
}

TEST_CASE("p2p kawpow: mined headers sync from an anchor and DGW bits are checked once 180 are held") {
    const mined_chain& m = dgw_chain();
    counting_verifier counts;
    auto chain = anchored(rvn_dgw(), m, counts.get());
    const std::span<const wire_header> all(m.headers);

    // 179 headers: fewer than 180 ancestors held, their bits are trusted.
    auto r = chain->add_all(all.first(dgw_past_blocks - 1), now_after(m.headers[dgw_past_blocks - 2]));
    REQUIRE_MESSAGE(r, r.error().message());
    CHECK(r->added == std::size_t(dgw_past_blocks - 1));
    REQUIRE(r->tip);
    CHECK(r->tip->new_height == anchor_h + dgw_past_blocks - 1);
    CHECK(chain->tip().hash == block_hash_of(m.headers[dgw_past_blocks - 2]));
    CHECK(*counts.full == dgw_past_blocks - 1);  // each header verified by light evaluation once

    // The 180th: DGW is computed exactly now, from the headers held, and differs.
    const wire_header& last = m.headers.back();
    const auto required = dark_gravity_wave(
        rvn_dgw(), header_info{anchor_h + dgw_past_blocks - 1, m.headers[dgw_past_blocks - 2].base.time, easy_bits},
        last.base.time, [&](std::int32_t h) -> std::optional<header_info> {
            if (h == anchor_h) return header_info{h, m.anchor.base.time, m.anchor.base.bits};
            if (h < anchor_h) return std::nullopt;
            const wire_header& w = m.headers[std::size_t(h - anchor_h - 1)];
            return header_info{h, w.base.time, w.base.bits};
        });
    REQUIRE(required);
    CHECK(*required != easy_bits);
    auto bad = chain->add(last, now_after(last));
    REQUIRE_FALSE(bad);
    CHECK(bad.error() == p2p_errc::header_bad_diffbits);
    CHECK(*counts.full == dgw_past_blocks - 1);  // refused before the costly check

    // The same header on a chain anchored one block later (179 ancestors held for it):
    // trusted, accepted.
    header_chain later(rvn_dgw(), m.headers[0], block_hash_of(m.headers[0]), anchor_h + 1, m.anchor_work);
    later.set_kawpow_verifier(make_kawpow_verifier({}));
    auto ok = later.add_all(all.subspan(1), now_after(last));
    REQUIRE_MESSAGE(ok, ok.error().message());
    CHECK(later.tip().height == anchor_h + dgw_past_blocks);
    CHECK(later.tip().hash == block_hash_of(last));
    CHECK(later.wire(later.tip()) == last);
}

TEST_CASE("p2p kawpow: a forged mix a wrong nHeight a pre-KAWPOW header and a missing verifier are refused") {
    const mined_chain& m = dgw_chain();
    auto chain = anchored(rvn_regtest(), m, make_kawpow_verifier({}));
    const wire_header& good = m.headers[0];
    const std::int64_t now = now_after(good);

    // A forged mix whose cheap final hash still meets the target: only the light
    // evaluation catches it.
    wire_header forged = good;
    const hash256 boundary = boundary_of(good.base.bits);
    bool found = false;
    for (int k = 1; k < 256 && !found; ++k) {
        forged.tail.mix_hash = good.tail.mix_hash;
        forged.tail.mix_hash[0] ^= std::uint8_t(k);
        const auto kh = forged.to_kawpow();
        found = pow::kawpow::meets_boundary(pow::kawpow::final_hash_from_mix(kh.header_hash(), kh.mix_hash, kh.nonce64),
                                            boundary);
    }
    REQUIRE(found);
    auto r = chain->add(forged, now);
    REQUIRE_FALSE(r);
    CHECK(r.error() == p2p_errc::header_invalid_mix);

    // A forged mix whose final hash misses the target: the cheap check refuses it.
    wire_header high = good;
    found = false;
    for (int k = 1; k < 256 && !found; ++k) {
        high.tail.mix_hash = good.tail.mix_hash;
        high.tail.mix_hash[1] ^= std::uint8_t(k);
        const auto kh = high.to_kawpow();
        found = !pow::kawpow::meets_boundary(
            pow::kawpow::final_hash_from_mix(kh.header_hash(), kh.mix_hash, kh.nonce64), boundary);
    }
    REQUIRE(found);
    r = chain->add(high, now);
    REQUIRE_FALSE(r);
    CHECK(r.error() == p2p_errc::header_high_hash);

    // Valid proof of work for height +2, placed at +1.
    const wire_header lying = mine(m.anchor_hash, anchor_h + 2, good.base.time, easy_bits);
    r = chain->add(lying, now);
    REQUIRE_FALSE(r);
    CHECK(r.error() == p2p_errc::header_bad_height);

    // An 80-byte (X16R-era) header cannot be checked.
    block_header x16r = good.base;
    x16r.time = rvn_regtest().kawpow_activation_time - 1;
    r = chain->add(x16r, now);
    REQUIRE_FALSE(r);
    CHECK(r.error() == p2p_errc::header_unsupported_pow);

    // Without a verifier a Ravencoin chain checks nothing and accepts nothing.
    header_chain blind(rvn_regtest(), m.anchor, m.anchor_hash, anchor_h, m.anchor_work);
    r = blind.add(good, now);
    REQUIRE_FALSE(r);
    CHECK(r.error() == p2p_errc::header_unsupported_pow);

    // The real header is still welcome after all that.
    r = chain->add(good, now);
    REQUIRE_MESSAGE(r, r.error().message());
    CHECK(chain->tip().height == anchor_h + 1);
    CHECK(chain->size() == 2);
}

TEST_CASE("p2p kawpow: the store keeps the anchor and 120-byte records and replays them with the cheap check only") {
    const mined_chain& m = dgw_chain();
    const auto dir = std::filesystem::temp_directory_path() / ("sb-p2p-kawpow-store-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    constexpr std::size_t n = 12;
    {
        auto chain = anchored(rvn_regtest(), m, make_kawpow_verifier({}));
        REQUIRE_FALSE(chain->open_store(dir));
        auto r = chain->add_all(std::span<const wire_header>(m.headers).first(n), now_after(m.headers[n - 1]));
        REQUIRE_MESSAGE(r, r.error().message());
        CHECK(chain->tip().height == anchor_h + std::int32_t(n));
    }
    const auto file = header_chain::store_path(dir, rvn_regtest());
    // Prefix: tag, magic, root hash, height, work, KAWPOW flag, the 120-byte root.
    constexpr std::size_t prefix = 4 + 4 + 32 + 4 + 32 + 1 + 120;
    CHECK(std::filesystem::file_size(file) == prefix + n * 120);

    const auto stored = header_chain::read_store_anchor(dir, rvn_regtest());
    REQUIRE(stored);
    CHECK(stored->header == m.anchor);
    CHECK(stored->hash == m.anchor_hash);
    CHECK(stored->height == anchor_h);
    CHECK(stored->chain_work == m.anchor_work);
    CHECK_FALSE(header_chain::read_store_anchor(dir, params(network::ravencoin_mainnet)));

    counting_verifier counts;
    header_chain again(rvn_regtest(), stored->header, stored->hash, stored->height, stored->chain_work);
    again.set_kawpow_verifier(counts.get());
    REQUIRE_FALSE(again.open_store(dir));
    CHECK(again.tip().height == anchor_h + std::int32_t(n));
    CHECK(again.tip().hash == block_hash_of(m.headers[n - 1]));
    CHECK(*counts.full == 0);
    CHECK(*counts.cheap >= int(n));
    // Served back as they came: 120-byte headers after the anchor.
    const hash256 loc[] = {m.anchor_hash};
    const auto served = again.wire_headers_after(loc, hash256{}, 2000);
    REQUIRE(served.size() == n);
    for (std::size_t i = 0; i < n; ++i) CHECK(served[i] == m.headers[i]);
    // A torn last record is cut off on the next open.
    {
        std::FILE* f = std::fopen(file.c_str(), "ab");
        REQUIRE(f);
        const std::uint8_t junk[7] = {1, 2, 3, 4, 5, 6, 7};
        std::fwrite(junk, 1, sizeof junk, f);
        std::fclose(f);
    }
    header_chain third(rvn_regtest(), stored->header, stored->hash, stored->height, stored->chain_work);
    third.set_kawpow_verifier(make_kawpow_verifier({}));
    REQUIRE_FALSE(third.open_store(dir));
    CHECK(third.tip().height == anchor_h + std::int32_t(n));
    CHECK(std::filesystem::file_size(file) == prefix + n * 120);
    std::filesystem::remove_all(dir);
}

namespace {

// One scripted inbound Ravencoin connection (tests/support/scripted_p2p.hpp).
class scripted_rvn_node : public test::scripted_p2p_node {
public:
    scripted_rvn_node() : scripted_p2p_node(rvn_regtest()) {}
    void run(std::function<void(scripted_rvn_node&)> script) {
        scripted_p2p_node::run(
            [script = std::move(script)](scripted_p2p_node& n) { script(static_cast<scripted_rvn_node&>(n)); });
    }
};

}  // namespace

TEST_CASE("p2p kawpow: a scripted Ravencoin peer's headers and cmpctblock give new tips and a found block is announced") {
    const mined_chain& m = dgw_chain();
    auto chain = anchored(rvn_regtest(), m, make_kawpow_verifier({}));
    const std::vector<wire_header> first(m.headers.begin(), m.headers.begin() + 5);
    const wire_header sixth = m.headers[5];
    const wire_header ours = m.headers[6];
    bytes our_block = ours.serialize();
    our_block.push_back(0);  // the transactions do not matter to the relay

    scripted_rvn_node node;
    std::atomic<std::int32_t> our_version{0};
    std::atomic<bool> bitcoin_only_messages{false};
    std::atomic<bool> inv_ok{false}, block_ok{false};
    const hash256 our_hash = block_hash_of(ours);
    node.run([&](scripted_rvn_node& s) {
        auto v = parse_version(s.read_until(cmd::version).payload);
        if (v) our_version = v->version;
        version_message mine_v;
        mine_v.version = 70028;
        mine_v.user_agent = "/Ravencoin:4.6.1/";
        mine_v.start_height = anchor_h + 7;
        s.send(cmd::version, serialize(mine_v));
        s.send(cmd::verack);
        s.read_until(cmd::getheaders);
        for (const auto& c : s.skipped)
            if (c == cmd::wtxidrelay || c == cmd::sendaddrv2 || c == cmd::sendcmpct) bitcoin_only_messages = true;
        s.send(cmd::headers, serialize_wire_headers(first));
        // A compact block carries the next header.
        bytes cb = sixth.serialize();
        for (int i = 0; i < 8 + 2; ++i) cb.push_back(0);
        s.send(cmd::cmpctblock, cb);
        // Our block: announced by its final hash, served on getdata as given.
        auto inv = parse_inv(s.read_until(cmd::inv).payload);
        inv_ok = inv && inv->size() == 1 && (*inv)[0].hash == our_hash;
        if (inv_ok) {
            s.send(cmd::getdata, serialize_inv(*inv));
            const frame b = s.read_until(cmd::block);
            block_ok = b.payload == our_block;
        }
        s.wait_closed();
    });

    test::io_runner io;
    std::vector<tip_change> tips;
    std::optional<std::error_code> closed;
    std::string reason;
    bool ready = false;
    peer_callbacks cb;
    cb.on_ready = [&](const peer_info&) { ready = true; };
    cb.on_new_tip = [&](const tip_change& t) { tips.push_back(t); };
    cb.on_close = [&](std::error_code ec, const std::string& w) {
        closed = ec;
        reason = w;
    };
    peer_settings s;
    s.port = node.port();
    s.clock = [&] { return now_after(ours); };  // 2083: Ravencoin regtest's KAWPOW era
    peer p(io.executor(), *chain, s, cb);
    p.start();
    REQUIRE_MESSAGE(io.run_until([&] { return chain->tip().height == anchor_h + 6 || closed; },
                                 std::chrono::seconds(30)),
                    reason);
    CHECK(ready);
    CHECK(our_version == 70028);
    CHECK_FALSE(bitcoin_only_messages);
    REQUIRE(tips.size() == 2);
    CHECK(tips[0].new_height == anchor_h + 5);
    CHECK(tips[0].new_tip == block_hash_of(first.back()));
    CHECK(tips[1].new_height == anchor_h + 6);

    p.send_block(std::make_shared<relayed_block>(chain->chain(), our_block));
    REQUIRE_MESSAGE(io.run_until([&] { return block_ok.load() || closed.has_value(); }, std::chrono::seconds(30)), reason);
    CHECK(inv_ok);
    CHECK(block_ok);
    CHECK(chain->tip().hash == our_hash);
    CHECK_FALSE(closed);
    p.close();
    io.run_for(std::chrono::milliseconds(20));
}

TEST_CASE("p2p kawpow: with an offload pool headers and cmpctblock headers are light-verified off the strand and stay in order") {
    const mined_chain& m = dgw_chain();
    std::mutex mu;
    std::set<std::thread::id> full_threads;
    int full_calls = 0;
    auto inner = make_kawpow_verifier({});
    auto chain = anchored(rvn_regtest(), m, [&, inner](const ravencoin::kawpow_header& h, kawpow_check k, hash256& out) {
        if (k == kawpow_check::full) {
            std::lock_guard lock(mu);
            full_threads.insert(std::this_thread::get_id());
            ++full_calls;
        }
        return inner(h, k, out);
    });
    const std::vector<wire_header> batch1(m.headers.begin(), m.headers.begin() + 20);
    const std::vector<wire_header> batch2(m.headers.begin() + 20, m.headers.begin() + 25);
    const wire_header compact = m.headers[25];

    scripted_rvn_node node;
    std::atomic<bool> got_pong{false};
    node.run([&](scripted_rvn_node& s) {
        s.read_until(cmd::version);
        version_message v;
        v.version = 70028;
        s.send(cmd::version, serialize(v));
        s.send(cmd::verack);
        s.read_until(cmd::getheaders);
        // Back to back: the second batch must wait for the first one's verification.
        s.send(cmd::headers, serialize_wire_headers(batch1));
        s.send(cmd::headers, serialize_wire_headers(batch2));
        bytes cb = compact.serialize();
        for (int i = 0; i < 8 + 2; ++i) cb.push_back(0);  // nonce, no short ids, no prefilled
        s.send(cmd::cmpctblock, cb);
        s.send(cmd::ping, serialize_ping(7));
        auto pong = parse_ping(s.read_until(cmd::pong).payload);
        got_pong = pong && *pong == 7;
        s.wait_closed();
    });

    asio::thread_pool pool(1);
    test::io_runner io;
    std::vector<std::int32_t> tip_heights;
    std::optional<std::error_code> closed;
    std::string reason;
    peer_callbacks cb;
    cb.on_new_tip = [&](const tip_change& t) { tip_heights.push_back(t.new_height); };
    cb.on_close = [&](std::error_code ec, const std::string& w) {
        closed = ec;
        reason = w;
    };
    peer_settings s;
    s.port = node.port();
    s.clock = [&] { return now_after(compact); };
    s.offload = [&pool](std::function<void()> task) { asio::post(pool, std::move(task)); };
    peer p(io.executor(), *chain, s, cb);
    p.start();
    const auto io_thread = std::this_thread::get_id();  // io_runner runs handlers here
    REQUIRE_MESSAGE(io.run_until([&] { return (chain->tip().height == anchor_h + 26 && got_pong) || closed; },
                                 std::chrono::seconds(30)),
                    reason);
    CHECK(tip_heights == std::vector<std::int32_t>{anchor_h + 20, anchor_h + 25, anchor_h + 26});
    {
        std::lock_guard lock(mu);
        CHECK(full_calls == 26);  // once each, none again on the strand
        CHECK(full_threads.size() == 1);
        CHECK_FALSE(full_threads.count(io_thread));
    }
    CHECK_FALSE(closed);
    p.close();
    io.run_for(std::chrono::milliseconds(20));
    pool.join();
}

TEST_CASE("p2p kawpow: the daemon's link anchors a Ravencoin chain at the node's RPC header and follows a scripted peer") {
    const mined_chain& m = dgw_chain();
    // The node's RPC (scripted): tip 200 above the anchor, so the anchor is m.anchor.
    const std::string anchor_hex = to_hex_reversed(m.anchor_hash);
    std::string work_hex(64, '0');
    {
        std::array<std::uint8_t, 32> le{};
        m.anchor_work.to_le_bytes(le.data());
        work_hex = to_hex_reversed(le);
    }
    test::fake_node rpc([&](const test::fake_request& r) {
        if (r.method == "getblockchaininfo")
            return test::answer_result(r, R"({"chain":"regtest","blocks":)" +
                                              std::to_string(anchor_h + dgw_past_blocks + anchor_min_depth) +
                                              R"(,"bestblockhash":")" + std::string(64, 'a') + R"("})");
        if (r.method == "getblockhash" && r.params_json == "[" + std::to_string(anchor_h) + "]")
            return test::answer_result(r, "\"" + anchor_hex + "\"");
        if (r.method == "getblockheader" && r.params_json.find("true") != std::string::npos)
            return test::answer_result(r, R"({"hash":")" + anchor_hex + R"(","height":)" + std::to_string(anchor_h) +
                                              R"(,"chainwork":")" + work_hex + R"("})");
        if (r.method == "getblockheader")
            return test::answer_result(r, "\"" + to_hex(m.anchor.serialize()) + "\"");
        return test::answer_result(r, "null");
    });

    const std::vector<wire_header> first(m.headers.begin(), m.headers.begin() + 5);
    scripted_rvn_node node;
    std::atomic<bool> asked_from_anchor{false};
    node.run([&](scripted_rvn_node& s) {
        s.read_until(cmd::version);
        version_message v;
        v.version = 70028;
        v.start_height = anchor_h + 5;
        s.send(cmd::version, serialize(v));
        s.send(cmd::verack);
        auto gh = parse_getheaders(s.read_until(cmd::getheaders).payload);
        asked_from_anchor = gh && gh->locator.size() == 1 && gh->locator[0] == m.anchor_hash;
        s.send(cmd::headers, serialize_wire_headers(first));
        s.wait_closed();
    });

    const auto dir = std::filesystem::temp_directory_path() / ("sb-p2p-kawpow-link-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    test::io_runner io;
    std::vector<std::string> log;
    std::vector<std::int32_t> tips;  // heights passed to on_new_tip
    node::p2p_link_options o;
    o.peers = {{"127.0.0.1", node.port()}};
    o.target_outbound = 0;
    o.data_dir = dir.string();
    o.anchor_from_rpc = true;
    o.anchor_rpc.url = rpc.url();
    o.anchor_rpc.timeout = std::chrono::seconds(5);
    o.kawpow_verifier = make_kawpow_verifier([&log](std::string_view l) { log.emplace_back(l); });
    o.clock = [&] { return now_after(first.back()); };
    asio::thread_pool pool(1);  // as the daemon does: headers verified off the P2P strand
    o.offload = [&pool](std::function<void()> task) { asio::post(pool, std::move(task)); };
    o.header_only = true;  // Bitcoin only: refused with a log line
    o.on_new_tip = [&tips](const node::p2p::tip_change& t) {
        tips.push_back(t.new_height);
        return false;
    };
    o.log = [&log](std::string_view l) { log.emplace_back(l); };
    auto has = [&log](const std::string& s) {
        return std::any_of(log.begin(), log.end(), [&](const std::string& l) { return l.find(s) != std::string::npos; });
    };
    auto all = [&log] {
        std::string out;
        for (const auto& l : log) out += l + "\n";
        return out;
    };
    CHECK(anchor_height(rvn_regtest(), anchor_h + dgw_past_blocks + anchor_min_depth) == anchor_h);
    CHECK(node::p2p_supported(rvn_regtest()));
    CHECK(rvn_regtest().p2p_needs_rpc_anchor);
    {
        node::p2p_link link(asio::make_strand(io.executor()), rvn_regtest(), o);
        link.start();
        REQUIRE_MESSAGE(io.run_until([&] { return tips.size() >= 2; }, std::chrono::seconds(30)), all());
        // The anchor is announced as the stored tip first (it ranks the node's templates),
        // then the peer's headers move the tip.
        CHECK(tips[0] == 1000);
        CHECK(tips[1] == 1005);
        CHECK(has("anchored at the node's header " + anchor_hex + " (height 1000)"));
        CHECK(has("new tip " + to_hex_reversed(block_hash_of(first.back())) + " at height 1005"));
        CHECK(has("header-only work is not available"));
        CHECK(asked_from_anchor);
        link.stop();
        io.run_for(std::chrono::milliseconds(50));
    }
    pool.join();
    // The store now holds the anchor and the five 120-byte headers.
    const auto stored = header_chain::read_store_anchor(dir, rvn_regtest());
    REQUIRE(stored);
    CHECK(stored->hash == m.anchor_hash);
    CHECK(std::filesystem::file_size(header_chain::store_path(dir, rvn_regtest())) ==
          std::uintmax_t(4 + 4 + 32 + 4 + 32 + 1 + 120 + 5 * 120));
    std::filesystem::remove_all(dir);
}

TEST_CASE("p2p kawpow: the daemon's link anchors a young Ravencoin regtest chain at its first KAWPOW header") {
    // The chain of a Ravencoin Core regtest node started with -mocktime past the switch:
    // heights 1-3 X16Rv2 (80-byte headers, made up here: their X16R hashes are never
    // checked), height 4 the first KAWPOW block (the real header of ravencoin.json), then
    // KAWPOW headers mined here. At tip 12 the usual anchor (genesis) predates KAWPOW.
    const rapidjson::Document& doc = test::vector_json("ravencoin.json");
    const auto& v4 = doc["kawpow_blocks_accepted"][0];
    REQUIRE(v4["height"].GetInt() == 4);
    auto raw4 = from_hex(v4["header120"].GetString());
    REQUIRE(raw4);
    byte_reader in4(*raw4);
    const auto first_kawpow = read_wire_header(in4, rvn_regtest());
    REQUIRE(first_kawpow);
    const std::string first_hex = v4["final_hash_block_hash"].GetString();

    constexpr std::int32_t tip = 12;
    std::vector<std::string> hash_hex(tip + 1), raw_hex(tip + 1);
    for (std::int32_t h = 0; h < 4; ++h) {
        block_header x;
        x.version = 0x20000000;
        x.time = rvn_regtest().x16rv2_activation_time + std::uint32_t(h);
        x.bits = easy_bits;
        x.nonce = std::uint32_t(h);
        raw_hex[std::size_t(h)] = to_hex(x.serialize());
        hash_hex[std::size_t(h)] = to_hex_reversed(x.hash());
    }
    hash_hex[3] = to_hex_reversed(first_kawpow->base.prev_block);  // the parent the real header names
    hash_hex[4] = first_hex;
    raw_hex[4] = v4["header120"].GetString();
    std::vector<wire_header> mined;
    const auto first_display = from_hex_fixed<32>(first_hex);
    REQUIRE(first_display);
    hash256 prev{};
    std::reverse_copy(first_display->begin(), first_display->end(), prev.begin());
    for (std::int32_t h = 5; h <= tip; ++h) {
        mined.push_back(mine(prev, std::uint32_t(h), first_kawpow->base.time + spacing_s * std::uint32_t(h - 4), easy_bits));
        prev = block_hash_of(mined.back());
        hash_hex[std::size_t(h)] = to_hex_reversed(prev);
        raw_hex[std::size_t(h)] = to_hex(mined.back().serialize());
    }
    test::fake_node rpc([&](const test::fake_request& r) {
        rapidjson::Document p;
        p.Parse(r.params_json.c_str());
        if (r.method == "getblockchaininfo")
            return test::answer_result(r, R"({"chain":"regtest","blocks":)" + std::to_string(tip) +
                                              R"(,"bestblockhash":")" + hash_hex.back() + R"("})");
        if (r.method == "getblockhash" && p[0].GetInt() >= 0 && p[0].GetInt() <= tip)
            return test::answer_result(r, "\"" + hash_hex[std::size_t(p[0].GetInt())] + "\"");
        const auto at = std::find(hash_hex.begin(), hash_hex.end(), std::string(p[0].IsString() ? p[0].GetString() : ""));
        if (r.method != "getblockheader" || at == hash_hex.end()) return test::answer_result(r, "null");
        const auto h = std::size_t(at - hash_hex.begin());
        if (p[1].GetBool())
            return test::answer_result(r, R"({"hash":")" + *at + R"(","height":)" + std::to_string(h) +
                                              R"(,"chainwork":")" + std::string(62, '0') + R"(0a"})");
        return test::answer_result(r, "\"" + raw_hex[h] + "\"");
    });

    const std::vector<wire_header> announced(mined.begin(), mined.begin() + 5);  // heights 5-9
    scripted_rvn_node node;
    std::atomic<bool> asked_from_first{false};
    node.run([&](scripted_rvn_node& s) {
        s.read_until(cmd::version);
        version_message v;
        v.version = 70028;
        v.start_height = tip;
        s.send(cmd::version, serialize(v));
        s.send(cmd::verack);
        auto gh = parse_getheaders(s.read_until(cmd::getheaders).payload);
        asked_from_first = gh && !gh->locator.empty() && to_hex_reversed(gh->locator[0]) == first_hex;
        s.send(cmd::headers, serialize_wire_headers(announced));
        s.wait_closed();
    });

    const auto dir = std::filesystem::temp_directory_path() / ("sb-p2p-kawpow-young-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    test::io_runner io;
    std::vector<std::string> log;
    std::mutex log_mutex;
    int tips = 0;
    node::p2p_link_options o;
    o.peers = {{"127.0.0.1", node.port()}};
    o.target_outbound = 0;
    o.data_dir = dir.string();
    o.anchor_from_rpc = true;
    o.anchor_rpc.url = rpc.url();
    o.anchor_rpc.timeout = std::chrono::seconds(5);
    o.kawpow_verifier = make_kawpow_verifier({});
    o.clock = [&] { return now_after(announced.back()); };
    o.on_new_tip = [&tips](const node::p2p::tip_change& t) {
        if (t.new_height > 4) ++tips;  // the anchor, announced at start, is not what is awaited
        return false;
    };
    o.log = [&](std::string_view l) {
        std::lock_guard lock(log_mutex);
        log.emplace_back(l);
    };
    auto all = [&] {
        std::lock_guard lock(log_mutex);
        std::string out;
        for (const auto& l : log) out += l + "\n";
        return out;
    };
    {
        node::p2p_link link(asio::make_strand(io.executor()), rvn_regtest(), o);
        link.start();
        REQUIRE_MESSAGE(io.run_until([&] { return tips >= 1; }, std::chrono::seconds(30)), all());
        const std::string text = all();
        CHECK(text.find("anchored at the node's header " + first_hex + " (height 4, the chain's first KAWPOW header") !=
              std::string::npos);
        CHECK(text.find("new tip " + to_hex_reversed(block_hash_of(announced.back())) + " at height 9") !=
              std::string::npos);
        CHECK(asked_from_first);
        link.stop();
        io.run_for(std::chrono::milliseconds(50));
    }
    const auto stored = header_chain::read_store_anchor(dir, rvn_regtest());
    REQUIRE(stored);
    CHECK(stored->height == 4);
    CHECK(to_hex_reversed(stored->hash) == first_hex);
    std::filesystem::remove_all(dir);
}

TEST_CASE("p2p kawpow: the daemon's link waits with a clear log line while the node's Ravencoin tip predates KAWPOW") {
    block_header x;
    x.version = 0x20000000;
    x.time = rvn_regtest().x16rv2_activation_time + 60;
    x.bits = easy_bits;
    const std::string hash = to_hex_reversed(x.hash());
    test::fake_node rpc([&](const test::fake_request& r) {
        if (r.method == "getblockchaininfo")
            return test::answer_result(r, R"({"chain":"regtest","blocks":3,"bestblockhash":")" + hash + R"("})");
        if (r.method == "getblockhash") return test::answer_result(r, "\"" + hash + "\"");
        if (r.method == "getblockheader" && r.params_json.find("true") != std::string::npos)
            return test::answer_result(r, R"({"hash":")" + hash + R"(","height":0,"chainwork":")" + std::string(62, '0') +
                                              R"(02"})");
        return test::answer_result(r, "\"" + to_hex(x.serialize()) + "\"");
    });
    const auto dir = std::filesystem::temp_directory_path() / ("sb-p2p-kawpow-pre-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    test::io_runner io;
    std::vector<std::string> log;
    std::mutex log_mutex;
    node::p2p_link_options o;
    o.peers = {{"127.0.0.1", 1}};  // never dialled: P2P waits for its anchor
    o.target_outbound = 0;
    o.data_dir = dir.string();
    o.anchor_from_rpc = true;
    o.anchor_rpc.url = rpc.url();
    o.anchor_rpc.timeout = std::chrono::seconds(5);
    o.kawpow_verifier = make_kawpow_verifier({});
    o.log = [&](std::string_view l) {
        std::lock_guard lock(log_mutex);
        log.emplace_back(l);
    };
    auto waiting = [&] {
        std::lock_guard lock(log_mutex);
        return std::any_of(log.begin(), log.end(), [](const std::string& l) {
            return l.find("the node's tip at height 3 predates KAWPOW") != std::string::npos &&
                   l.find("P2P waits for it") != std::string::npos;
        });
    };
    {
        node::p2p_link link(asio::make_strand(io.executor()), rvn_regtest(), o);
        link.start();
        CHECK(io.run_until(waiting, std::chrono::seconds(30)));
        const auto peers = link.peers();
        CHECK(std::none_of(peers.begin(), peers.end(), [](const auto& p) { return p.connected; }));
        link.stop();
        io.run_for(std::chrono::milliseconds(50));
    }
    CHECK_FALSE(std::filesystem::exists(header_chain::store_path(dir, rvn_regtest())));
    std::filesystem::remove_all(dir);
}
