// P2P v1 framing and message payloads: the wire vectors of tests/vectors/bitcoin.json
// (`wire_messages`, shared/reference/node.md §5.9), decoder behaviour on split and
// hostile input, payload round trips and per-chain feature gating.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "sb/core/chain.hpp"
#include "sb/core/hex.hpp"
#include "sb/node/p2p/message.hpp"
#include "vectors.hpp"

using namespace sb;
using namespace sb::node::p2p;

namespace {

std::string wire(const char* name) {
    const auto& doc = test::vector_json("bitcoin.json");
    REQUIRE(doc["wire_messages"].HasMember(name));
    return doc["wire_messages"][name].GetString();
}

const magic_bytes& magic_of(network n) { return params(n).magic; }

bytes unhex(std::string_view h) {
    auto b = from_hex(h);
    REQUIRE(b);
    return *b;
}

// Decodes every frame in data fed in one piece; fails the test on an error.
std::vector<frame> decode_all(const magic_bytes& magic, const bytes& data) {
    frame_decoder d(magic);
    d.feed(data);
    std::vector<frame> out;
    for (;;) {
        auto f = d.next();
        REQUIRE(f);
        if (!*f) break;
        out.push_back(std::move(**f));
    }
    return out;
}

std::error_code decode_error(const magic_bytes& magic, const bytes& data) {
    frame_decoder d(magic);
    d.feed(data);
    for (;;) {
        auto f = d.next();
        if (!f) return f.error();
        if (!*f) return {};
    }
}

}  // namespace

TEST_CASE("p2p: empty-payload messages match the wire vectors") {
    CHECK(to_hex(encode_frame(magic_of(network::bitcoin_mainnet), cmd::verack, {})) == wire("verack mainnet"));
    CHECK(to_hex(encode_frame(magic_of(network::bitcoin_regtest), cmd::verack, {})) == wire("verack regtest"));
    CHECK(to_hex(encode_frame(magic_of(network::ravencoin_mainnet), cmd::verack, {})) ==
          wire("verack Ravencoin main"));
    CHECK(to_hex(encode_frame(magic_of(network::bitcoin_mainnet), cmd::sendheaders, {})) ==
          wire("sendheaders mainnet"));
}

TEST_CASE("p2p: sendcmpct ping and getheaders match the wire vectors") {
    const auto& m = magic_of(network::bitcoin_mainnet);
    CHECK(to_hex(encode_frame(m, cmd::sendcmpct, serialize(sendcmpct_message{false, 2}))) ==
          wire("sendcmpct(0,2) mainnet"));
    CHECK(to_hex(encode_frame(m, cmd::ping, serialize_ping(1))) == wire("ping(nonce=1) mainnet"));
    getheaders_message gh;
    gh.version = 70016;
    gh.locator = {params(network::bitcoin_mainnet).genesis_hash};
    CHECK(to_hex(encode_frame(m, cmd::getheaders, serialize(gh))) ==
          wire("getheaders(70016, locator=[genesis], stop=0) mainnet"));
}

TEST_CASE("p2p: the wire vectors decode back to their commands and payloads") {
    const auto& m = magic_of(network::bitcoin_mainnet);
    auto frames = decode_all(m, unhex(wire("getheaders(70016, locator=[genesis], stop=0) mainnet")));
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].command == "getheaders");
    auto gh = parse_getheaders(frames[0].payload);
    REQUIRE(gh);
    CHECK(gh->version == 70016);
    REQUIRE(gh->locator.size() == 1);
    CHECK(gh->locator[0] == params(network::bitcoin_mainnet).genesis_hash);
    CHECK(gh->hash_stop == hash256{});

    frames = decode_all(m, unhex(wire("sendcmpct(0,2) mainnet")));
    REQUIRE(frames.size() == 1);
    auto sc = parse_sendcmpct(frames[0].payload);
    REQUIRE(sc);
    CHECK_FALSE(sc->announce);
    CHECK(sc->version == 2);
}

TEST_CASE("p2p: the version payload bcoin accepted parses and re-serializes identically") {
    const std::string hex = "8011010000000000000000002fc4026b00000000010000000000000000000000000000000000ffff7f00"
                            "0001bd3c000000000000000000000000000000000000ffff7f00000100000fd975fa46e8740f102f746869"
                            "6e6272696467653a302e312f0000000000";
    const bytes payload = unhex(hex);
    auto v = parse_version(payload);
    REQUIRE(v);
    CHECK(v->version == 70016);
    CHECK(v->services == 0);
    CHECK(v->user_agent == "/thinbridge:0.1/");
    CHECK(v->start_height == 0);
    CHECK_FALSE(v->relay);
    CHECK(v->addr_recv.port == 0xbd3c);
    CHECK(v->addr_recv.ip[15] == 1);
    CHECK(to_hex(serialize(*v)) == hex);
}

TEST_CASE("p2p: version without the relay byte means relay and a long user agent is refused") {
    version_message v;
    v.version = 70015;
    v.user_agent = "/x/";
    bytes b = serialize(v);
    b.pop_back();
    auto p = parse_version(b);
    REQUIRE(p);
    CHECK(p->relay);
    b.resize(b.size() - 10);
    CHECK(parse_version(b).error() == p2p_errc::malformed_payload);

    v.user_agent.assign(max_user_agent_bytes, 'a');
    CHECK(parse_version(serialize(v)));
    byte_writer w;
    w.i32le(70015);
    w.u64le(0);
    w.i64le(0);
    w.raw(bytes(52, 0));
    w.u64le(0);
    w.compact_size(max_user_agent_bytes + 1);
    w.raw(bytes(max_user_agent_bytes + 1, 'a'));
    w.i32le(0);
    CHECK(parse_version(w.data()).error() == p2p_errc::bad_user_agent);
}

TEST_CASE("p2p: decoder yields the same frames at every split point") {
    const auto& m = magic_of(network::bitcoin_mainnet);
    bytes stream = unhex(wire("verack mainnet"));
    for (const char* n : {"sendcmpct(0,2) mainnet", "ping(nonce=1) mainnet",
                          "getheaders(70016, locator=[genesis], stop=0) mainnet", "sendheaders mainnet"}) {
        const bytes b = unhex(wire(n));
        stream.insert(stream.end(), b.begin(), b.end());
    }
    const auto whole = decode_all(m, stream);
    REQUIRE(whole.size() == 5);
    for (std::size_t a = 0; a <= stream.size(); ++a) {
        for (std::size_t step : {std::size_t(1), std::size_t(7)}) {
            frame_decoder d(m);
            std::vector<frame> got;
            auto drain = [&] {
                for (;;) {
                    auto f = d.next();
                    REQUIRE(f);
                    if (!*f) return;
                    got.push_back(std::move(**f));
                }
            };
            d.feed({stream.data(), a});
            drain();
            for (std::size_t i = a; i < stream.size(); i += step) {
                d.feed({stream.data() + i, std::min(step, stream.size() - i)});
                drain();
            }
            REQUIRE(got.size() == whole.size());
            for (std::size_t i = 0; i < got.size(); ++i) {
                CHECK(got[i].command == whole[i].command);
                CHECK(got[i].payload == whole[i].payload);
            }
            CHECK(d.buffered() == 0);
        }
    }
}

TEST_CASE("p2p: decoder rejects bad magic bad checksum bad padding and oversize") {
    const auto& m = magic_of(network::bitcoin_mainnet);
    bytes ping = unhex(wire("ping(nonce=1) mainnet"));

    CHECK(decode_error(magic_of(network::bitcoin_regtest), ping) == p2p_errc::bad_magic);
    // A wrong first byte fails before the header is complete.
    CHECK(decode_error(m, bytes{0x00}) == p2p_errc::bad_magic);

    bytes b = ping;
    b.back() ^= 1;
    CHECK(decode_error(m, b) == p2p_errc::bad_checksum);
    b = ping;
    b[20] ^= 1;
    CHECK(decode_error(m, b) == p2p_errc::bad_checksum);

    b = ping;
    b[4 + 5] = 'x';  // after "ping\0": a non-NUL byte in the padding
    CHECK(decode_error(m, b) == p2p_errc::bad_command);
    b = ping;
    b[4] = 0;  // empty command
    CHECK(decode_error(m, b) == p2p_errc::bad_command);
    b = ping;
    b[5] = 0x07;  // control character
    CHECK(decode_error(m, b) == p2p_errc::bad_command);

    // Length max_payload_bytes is accepted as a header; one more is refused at once.
    b = ping;
    store_le32(b.data() + 16, static_cast<std::uint32_t>(max_payload_bytes));
    b.resize(frame_header_bytes);
    CHECK_FALSE(decode_error(m, b));
    store_le32(b.data() + 16, static_cast<std::uint32_t>(max_payload_bytes + 1));
    CHECK(decode_error(m, b) == p2p_errc::oversize);

    // Truncated: no frame, no error, and the error is sticky once seen.
    b = ping;
    b.pop_back();
    frame_decoder d(m);
    d.feed(b);
    auto f = d.next();
    REQUIRE(f);
    CHECK_FALSE(*f);
    d.feed(bytes{0xff});
    CHECK(d.next().error() == p2p_errc::bad_checksum);
    d.feed(unhex(wire("verack mainnet")));
    CHECK(d.next().error() == p2p_errc::bad_checksum);
}

TEST_CASE("p2p: a command of exactly 12 characters round trips") {
    const auto& m = magic_of(network::bitcoin_mainnet);
    const auto frames = decode_all(m, encode_frame(m, "abcdefghijkl", bytes{1, 2, 3}));
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].command == "abcdefghijkl");
    CHECK(frames[0].payload == bytes{1, 2, 3});
}

TEST_CASE("p2p: headers payload round trip and bounds") {
    const auto& doc = test::vector_json("bitcoin.json");
    const bytes raw = unhex(doc["mainnet_headers"]["125552"]["header"].GetString());
    const block_header h = parse_header(std::span<const std::uint8_t, 80>(raw.data(), 80));
    std::vector<block_header> hs(3, h);
    auto parsed = parse_headers(serialize_headers(hs));
    REQUIRE(parsed);
    CHECK(*parsed == hs);

    // A non-zero transaction count is malformed, as are trailing bytes.
    bytes b = serialize_headers(hs);
    b[1 + 80] = 1;
    CHECK(parse_headers(b).error() == p2p_errc::malformed_payload);
    b = serialize_headers(hs);
    b.push_back(0);
    CHECK(parse_headers(b).error() == p2p_errc::malformed_payload);
    b = serialize_headers(hs);
    b.pop_back();
    CHECK(parse_headers(b).error() == p2p_errc::malformed_payload);

    std::vector<block_header> many(max_headers_per_message, h);
    auto ok = parse_headers(serialize_headers(many));
    REQUIRE(ok);
    CHECK(ok->size() == max_headers_per_message);
    byte_writer w;
    w.compact_size(max_headers_per_message + 1);
    CHECK(parse_headers(w.data()).error() == p2p_errc::too_many_headers);
    CHECK(parse_headers({}).error() == p2p_errc::malformed_payload);
}

TEST_CASE("p2p: inv and getheaders bounds") {
    std::vector<inventory> items = {{inv_type::block, hash256{1}}, {inv_type::witness_block, hash256{2}}};
    auto p = parse_inv(serialize_inv(items));
    REQUIRE(p);
    CHECK(*p == items);
    byte_writer w;
    w.compact_size(max_inv_entries + 1);
    CHECK(parse_inv(w.data()).error() == p2p_errc::too_many_inv);
    bytes b = serialize_inv(items);
    b.pop_back();
    CHECK(parse_inv(b).error() == p2p_errc::malformed_payload);

    getheaders_message gh;
    gh.version = 70016;
    gh.locator.assign(max_locator_entries, hash256{7});
    auto g = parse_getheaders(serialize(gh));
    REQUIRE(g);
    CHECK(g->locator.size() == max_locator_entries);
    gh.locator.push_back(hash256{});
    CHECK(parse_getheaders(serialize(gh)).error() == p2p_errc::locator_too_large);
}

TEST_CASE("p2p: ping sendcmpct and cmpctblock payloads are checked") {
    CHECK(*parse_ping(serialize_ping(0x0102030405060708ull)) == 0x0102030405060708ull);
    CHECK(parse_ping(bytes(7, 0)).error() == p2p_errc::malformed_payload);
    CHECK(parse_ping(bytes(9, 0)).error() == p2p_errc::malformed_payload);
    bytes sc = serialize(sendcmpct_message{true, 2});
    CHECK(parse_sendcmpct(sc)->announce);
    sc[0] = 2;  // Core treats an announce byte other than 0/1 as misbehaviour
    CHECK(parse_sendcmpct(sc).error() == p2p_errc::malformed_payload);
    CHECK(parse_cmpctblock_header(bytes(79, 0)).error() == p2p_errc::malformed_payload);
    CHECK(parse_cmpctblock_header(bytes(200, 0)));
}

TEST_CASE("p2p: features are gated by chain not by version number alone") {
    const auto btc = features_for(params(network::bitcoin_mainnet), 70016);
    CHECK(btc.wtxidrelay);
    CHECK(btc.sendaddrv2);
    CHECK(btc.sendcmpct);
    CHECK(btc.sendheaders);
    const auto bcoin = features_for(params(network::bitcoin_regtest), 70015);
    CHECK_FALSE(bcoin.wtxidrelay);
    CHECK_FALSE(bcoin.sendaddrv2);
    CHECK(bcoin.sendcmpct);
    // Ravencoin 70028 is above 70016 but has no wtxidrelay/sendaddrv2.
    const auto rvn = features_for(params(network::ravencoin_mainnet), 70028);
    CHECK_FALSE(rvn.wtxidrelay);
    CHECK_FALSE(rvn.sendaddrv2);
    CHECK(rvn.sendheaders);
    CHECK(our_protocol_version(params(network::bitcoin_mainnet)) == 70016);
    CHECK(our_protocol_version(params(network::ravencoin_mainnet)) >= 70027);
    CHECK(our_services(params(network::bitcoin_mainnet)) == node_witness);
}
