// The RPC anchor of the P2P header chain without a node: where it sits below the tip per
// chain, how getblockhash / getblockheader replies are read, and fetch_rpc_anchor against
// a scripted node that lies (a raw header that does not hash to the hash it named, an X16R
// header on Ravencoin). The real bcoin node: tests/integration/p2p_anchor_test.cpp.
#include <doctest/doctest.h>

#include <optional>
#include <string>

#include "fake_node.hpp"
#include "rpc_helpers.hpp"
#include "regtest_headers.hpp"
#include "sb/core/hex.hpp"
#include "sb/node/errors.hpp"
#include "sb/node/node_rpc.hpp"
#include "sb/node/p2p/anchor.hpp"

using namespace sb;
using namespace sb::node;
using namespace sb::node::p2p;

namespace {

rapidjson::Document json(const char* text) {
    rapidjson::Document d;
    d.Parse(text);
    REQUIRE(!d.HasParseError());
    return d;
}

}  // namespace

TEST_CASE("p2p anchor: the anchor height leaves the retarget rule checkable on each chain") {
    const chain_params& btc = params(network::bitcoin_mainnet);
    // 840005 is 1349 blocks into its period (838656): the period start.
    CHECK(anchor_height(btc, 840'005) == 838'656);
    // 5 blocks into a period: the previous period's start, so reorgs stay above it.
    CHECK(anchor_height(btc, 838'661) == 836'640);
    CHECK(anchor_height(btc, 10) == 0);
    CHECK(anchor_height(btc, 0) == 0);
    // Regtest bits never change: only the reorg margin.
    CHECK(anchor_height(params(network::bitcoin_regtest), 40) == 40 - anchor_min_depth);
    CHECK(anchor_height(params(network::bitcoin_regtest), 3) == 0);
    // Ravencoin: DGW's 180 ancestors plus the margin.
    CHECK(anchor_height(params(network::ravencoin_mainnet), 3'000'000) == 3'000'000 - dgw_past_blocks - anchor_min_depth);
    CHECK(anchor_height(params(network::ravencoin_regtest), 100) == 0);
}

TEST_CASE("p2p anchor: getblockhash and getblockheader replies are read strictly") {
    const std::string h(64, 'a');
    CHECK(*parse_block_hash(json(("\"" + h + "\"").c_str())) == h);
    CHECK(parse_block_hash(json("\"abc\"")).error() == node_errc::bad_reply);
    CHECK(parse_block_hash(json("5")).error() == node_errc::bad_reply);

    auto s = parse_block_header_summary(json(
        (R"({"hash":")" + h + R"(","height":20,"chainwork":")" + std::string(62, '0') + R"(2a","bits":"207fffff"})").c_str()));
    REQUIRE(s);
    CHECK(s->height == 20);
    CHECK(s->chainwork == std::string(62, '0') + "2a");
    CHECK(parse_block_header_summary(json(R"({"hash":"00","height":1,"chainwork":"00"})")).error() == node_errc::bad_reply);
    CHECK(parse_block_header_summary(json((R"({"hash":")" + h + R"(","height":-1,"chainwork":")" + h + R"("})").c_str()))
              .error() == node_errc::bad_reply);
    CHECK(parse_block_header_summary(json((R"({"hash":")" + h + R"(","height":1})").c_str())).error() ==
          node_errc::bad_reply);

    CHECK(parse_block_header_raw(json(("\"" + std::string(160, '0') + "\"").c_str()))->size() == 80);
    CHECK(parse_block_header_raw(json(("\"" + std::string(240, '0') + "\"").c_str()))->size() == 120);
    CHECK(parse_block_header_raw(json(("\"" + std::string(158, '0') + "\"").c_str())).error() == node_errc::bad_reply);
    CHECK(parse_block_header_raw(json(("\"" + std::string(242, '0') + "\"").c_str())).error() == node_errc::bad_reply);
    CHECK(parse_block_header_raw(json(("\"" + std::string(160, 'x') + "\"").c_str())).error() == node_errc::bad_reply);
}

namespace {

// A scripted node at height tip whose header at the anchor height (20) is raw.
test::fake_script node_with(const std::string& hash_hex, const std::string& raw_hex, int tip = 40) {
    return [=](const test::fake_request& r) {
        if (r.method == "getblockchaininfo")
            return test::answer_result(r, R"({"chain":"regtest","blocks":)" + std::to_string(tip) +
                                              R"(,"bestblockhash":")" + hash_hex + R"("})");
        if (r.method == "getblockhash") return test::answer_result(r, "\"" + hash_hex + "\"");
        if (r.method == "getblockheader" && r.params_json.find("true") != std::string::npos)
            return test::answer_result(r, R"({"hash":")" + hash_hex + R"(","height":20,"chainwork":")" +
                                              std::string(62, '0') + R"(2a"})");
        return test::answer_result(r, "\"" + raw_hex + "\"");
    };
}

std::optional<result<rpc_anchor>> fetch(test::fake_node& n, const chain_params& chain, std::string& detail) {
    test::io_runner io;
    rpc_client client(io.executor(), test::settings_for(n));
    std::optional<result<rpc_anchor>> got;
    fetch_rpc_anchor(client, chain, {}, [&](result<rpc_anchor> a, const std::string& d) {
        got = std::move(a);
        detail = d;
    });
    REQUIRE(io.run_until([&] { return got.has_value(); }));
    return got;
}

}  // namespace

TEST_CASE("p2p anchor: a header that does not hash to the named hash or predates KAWPOW is refused") {
    const chain_params& regtest = params(network::bitcoin_regtest);
    const block_header h = test::mine_regtest_header(regtest.genesis_hash, 1'700'000'000);
    const std::string raw = to_hex(h.serialize());
    std::string detail;
    {
        test::fake_node n(node_with(to_hex_reversed(h.hash()), raw));
        auto got = fetch(n, regtest, detail);
        REQUIRE_MESSAGE(*got, detail);
        CHECK((*got)->height == 20);
        CHECK((*got)->hash == h.hash());
        CHECK((*got)->chain_work == uint256(std::uint64_t(42)));
        CHECK((*got)->header.base == h);
    }
    {
        test::fake_node n(node_with(std::string(64, 'b'), raw));
        auto got = fetch(n, regtest, detail);
        REQUIRE_FALSE(*got);
        CHECK(detail.find("hashes to") != std::string::npos);
    }
    {
        // A Ravencoin node whose header at the anchor height is X16R (regtest without
        // mocktime): the chain cannot start there.
        test::fake_node n(node_with(to_hex_reversed(h.hash()), raw, 20 + dgw_past_blocks + anchor_min_depth));
        auto got = fetch(n, params(network::ravencoin_regtest), detail);
        REQUIRE_FALSE(*got);
        CHECK((*got).error() == p2p_errc::header_unsupported_pow);
        CHECK(detail.find("predates KAWPOW") != std::string::npos);
    }
}
