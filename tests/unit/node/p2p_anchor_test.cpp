// The RPC anchor of the P2P header chain without a node: where it sits below the tip per
// chain, how getblockhash / getblockheader replies are read, and fetch_rpc_anchor against
// a scripted node that lies (a raw header that does not hash to the hash it named, an X16R
// header on Ravencoin), and a young Ravencoin chain whose usual anchor predates KAWPOW
// (anchored at its first KAWPOW header instead). The real bcoin node:
// tests/integration/p2p_anchor_test.cpp.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

#include "fake_node.hpp"
#include "rpc_helpers.hpp"
#include "regtest_headers.hpp"
#include "sb/core/hex.hpp"
#include "sb/node/errors.hpp"
#include "sb/node/internal/json.hpp"
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

namespace {

// A young Ravencoin regtest chain as the node's RPC shows it: heights below first_kawpow
// are 80-byte X16Rv2 headers (times before the switch), from first_kawpow to tip 120-byte
// KAWPOW headers. The KAWPOW hashes are those of the test verifier below.
struct young_rvn_chain {
    std::vector<std::string> hash_hex, raw_hex;  // by height
    std::map<std::string, int> height_of;

    young_rvn_chain(int tip, int first_kawpow) {
        const chain_params& rvn = params(network::ravencoin_regtest);
        hash256 prev{};
        for (int h = 0; h <= tip; ++h) {
            hash256 hash{};
            std::string raw;
            if (h < first_kawpow) {
                block_header b;
                b.version = 0x20000000;
                b.prev_block = prev;
                b.time = rvn.x16rv2_activation_time + std::uint32_t(h) * 60;
                b.bits = 0x207fffff;
                b.nonce = std::uint32_t(h);
                raw = to_hex(b.serialize());
                hash = b.hash();  // X16R's is unknown here; any distinct hash will do
            } else {
                ravencoin::kawpow_header k;
                k.version = 0x20000000;
                k.prev_block = prev;
                k.time = rvn.kawpow_activation_time + std::uint32_t(h) * 60;
                k.bits = 0x207fffff;
                k.height = std::uint32_t(h);
                raw = to_hex(wire_header::from_kawpow(k).serialize());
                const hash256 final_hash = k.header_hash();  // the test verifier's "final hash"
                std::reverse_copy(final_hash.begin(), final_hash.end(), hash.begin());
            }
            hash_hex.push_back(to_hex_reversed(hash));
            raw_hex.push_back(raw);
            height_of[hash_hex.back()] = h;
            prev = hash;
        }
    }

    test::fake_script script() const {
        return [this](const test::fake_request& r) {
            rapidjson::Document p;
            p.Parse(r.params_json.c_str());
            if (r.method == "getblockchaininfo")
                return test::answer_result(r, R"({"chain":"regtest","blocks":)" + std::to_string(hash_hex.size() - 1) +
                                                  R"(,"bestblockhash":")" + hash_hex.back() + R"("})");
            if (r.method == "getblockhash") {
                const int h = p[0].GetInt();
                if (h < 0 || h >= int(hash_hex.size())) return test::answer_result(r, "null");
                return test::answer_result(r, "\"" + hash_hex[std::size_t(h)] + "\"");
            }
            const auto it = height_of.find(p[0].GetString());
            if (r.method != "getblockheader" || it == height_of.end()) return test::answer_result(r, "null");
            if (p[1].GetBool())
                return test::answer_result(r, R"({"hash":")" + it->first + R"(","height":)" + std::to_string(it->second) +
                                                  R"(,"chainwork":")" + std::string(62, '0') + R"(2a"})");
            return test::answer_result(r, "\"" + raw_hex[std::size_t(it->second)] + "\"");
        };
    }
};

// Stands in for light evaluation: the "final hash" is the header hash.
const kawpow_verifier header_hash_verifier = [](const ravencoin::kawpow_header& h, kawpow_check, hash256& final_hash) {
    final_hash = h.header_hash();
    return std::error_code{};
};

std::optional<result<rpc_anchor>> fetch_young(const young_rvn_chain& c, std::string& detail, std::size_t* calls = nullptr) {
    test::fake_node n(c.script());
    test::io_runner io;
    rpc_client client(io.executor(), test::settings_for(n));
    std::optional<result<rpc_anchor>> got;
    fetch_rpc_anchor(client, params(network::ravencoin_regtest), header_hash_verifier,
                     [&](result<rpc_anchor> a, const std::string& d) {
                         got = std::move(a);
                         detail = d;
                     });
    REQUIRE(io.run_until([&] { return got.has_value(); }));
    if (calls != nullptr) *calls = n.request_count();
    return got;
}

}  // namespace

TEST_CASE("p2p anchor: a Ravencoin chain younger than the anchor depth is anchored at its first KAWPOW header") {
    constexpr int tip = 60;
    for (const int first : {1, 2, 7, 31, 59, 60}) {
        CAPTURE(first);
        const young_rvn_chain c(tip, first);
        std::string detail;
        std::size_t calls = 0;
        auto got = fetch_young(c, detail, &calls);
        REQUIRE_MESSAGE(*got, detail);
        CHECK((*got)->height == first);
        CHECK((*got)->first_kawpow);
        CHECK((*got)->header.kawpow);
        CHECK(to_hex_reversed((*got)->hash) == c.hash_hex[std::size_t(first)]);
        // Bisection: the anchor's own four calls, the tip probe and about log2(60) probes
        // of two calls each, then the chosen header's three.
        CHECK(calls <= 4 + 2 + 2 * 6 + 3);
    }
}

TEST_CASE("p2p anchor: a Ravencoin chain whose switch lies above the usual anchor is anchored at its first KAWPOW header") {
    // Tip 300: the usual anchor (height 100) is X16Rv2; KAWPOW starts at 150.
    const young_rvn_chain c(300, 150);
    std::string detail;
    auto got = fetch_young(c, detail);
    REQUIRE_MESSAGE(*got, detail);
    CHECK((*got)->height == 150);
    CHECK((*got)->first_kawpow);
    // Once the chain is 200 blocks past its switch the usual anchor is KAWPOW: no search.
    const young_rvn_chain old(400, 150);
    got = fetch_young(old, detail);
    REQUIRE_MESSAGE(*got, detail);
    CHECK((*got)->height == 400 - dgw_past_blocks - anchor_min_depth);
    CHECK_FALSE((*got)->first_kawpow);
}

TEST_CASE("p2p anchor: a Ravencoin chain whose tip still predates KAWPOW has no anchor and says so") {
    for (const int tip : {0, 1, 60, 250}) {
        CAPTURE(tip);
        const young_rvn_chain c(tip, tip + 1);
        std::string detail;
        auto got = fetch_young(c, detail);
        REQUIRE_FALSE(*got);
        CHECK((*got).error() == p2p_errc::header_unsupported_pow);
        CHECK(detail.find("the node's tip at height " + std::to_string(tip) + " predates KAWPOW") != std::string::npos);
        CHECK(detail.find("P2P starts once the node's chain has a KAWPOW block") != std::string::npos);
    }
}

TEST_CASE("p2p anchor: the first-KAWPOW anchor roots the header chain and the log line says what it is") {
    const young_rvn_chain c(60, 7);
    std::string detail;
    auto got = fetch_young(c, detail);
    REQUIRE_MESSAGE(*got, detail);
    const auto dir = std::filesystem::temp_directory_path() / ("sb-anchor-first-kawpow-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    header_chain chain(params(network::ravencoin_regtest));
    chain.set_kawpow_verifier(header_hash_verifier);
    std::string why;
    REQUIRE(anchor_header_chain(chain, **got, dir, why));
    CHECK(chain.root().height == 7);
    CHECK(to_hex_reversed(chain.root().hash) == c.hash_hex[7]);
    CHECK(why.find("(height 7, the chain's first KAWPOW header") != std::string::npos);
    std::filesystem::remove_all(dir);
}
