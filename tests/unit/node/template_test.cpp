// getblocktemplate parsing against tests/vectors/getblocktemplate.json (bcoin- and
// Core-shaped templates, values computed independently) and the real Ravencoin templates
// in tests/vectors/ravencoin.json.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "sb/core/hex.hpp"
#include "sb/core/pow.hpp"
#include "sb/node/internal/json.hpp"
#include "sb/node/template.hpp"
#include "vectors.hpp"

using namespace sb;
using node::template_errc;

namespace {


rapidjson::Document gbt(const char* name) { return test::vector_member_copy("getblocktemplate.json", name); }


const chain_params& btc_regtest() { return params(network::bitcoin_regtest); }

// MAX_MONEY (amount.h): 21e6 BTC, 21e9 RVN, in base units.
constexpr std::int64_t bitcoin_max_money = 21'000'000LL * 100'000'000LL;
constexpr std::int64_t ravencoin_max_money = 21'000'000'000LL * 100'000'000LL;

std::error_code parse_error(const rapidjson::Value& v, const chain_params& chain = btc_regtest()) {
    return node::parse_block_template(v, chain).error();
}

void set_string(rapidjson::Document& d, rapidjson::Value& obj, const char* key, const std::string& value) {
    rapidjson::Value v(value.c_str(), static_cast<rapidjson::SizeType>(value.size()), d.GetAllocator());
    if (obj.HasMember(key))
        obj[key] = v;
    else
        obj.AddMember(rapidjson::StringRef(key), v, d.GetAllocator());
}

// One mutation of the bcoin post-segwit fixture and the error it must give.
struct bad_case {
    const char* what;
    std::function<void(rapidjson::Document&)> mutate;
    template_errc expected;
};

void check_cases(const std::vector<bad_case>& cases) {
    for (const bad_case& c : cases) {
        CAPTURE(c.what);
        rapidjson::Document d = gbt("bcoin_postsegwit");
        c.mutate(d);
        const std::error_code ec = parse_error(d);
        CHECK(ec == c.expected);
        CHECK(ec.message() == make_error_code(c.expected).message());
    }
}

rapidjson::Value& tx0(rapidjson::Document& d) { return d["transactions"][0]; }

}  // namespace

TEST_CASE("template: bcoin post-segwit template gives every typed field") {
    const rapidjson::Document d = gbt("bcoin_postsegwit");
    auto t = node::parse_block_template(d, btc_regtest());
    REQUIRE_MESSAGE(t, t.error().message());
    CHECK(t->coin == coin_type::bitcoin);
    CHECK(t->height == 451);
    CHECK(t->prev_block == test::hash_from_display(d["previousblockhash"].GetString()));
    CHECK(t->bits == 0x207fffffu);
    CHECK(t->target == compact_to_target(0x207fffffu).target);
    CHECK(t->version == 0x20000000);
    CHECK(t->version_u32 == 0x20000000u);
    CHECK(t->curtime == 1700000450u);
    CHECK(t->mintime == 1700000300u);
    CHECK(t->coinbase_value == 5000025000);
    CHECK(t->rules.size() == 3);
    CHECK(t->rules.contains("!segwit"));
    CHECK(t->segwit_active);
    REQUIRE(t->default_witness_commitment);
    CHECK(to_hex(*t->default_witness_commitment) == d["default_witness_commitment"].GetString());
    REQUIRE(t->longpollid);
    CHECK(*t->longpollid == d["longpollid"].GetString());
    CHECK_FALSE(t->signet_challenge);

    REQUIRE(t->transactions.size() == 3);
    CHECK(t->any_witness());
    for (std::size_t i = 0; i < 3; ++i) {
        CAPTURE(i);
        const auto& j = d["transactions"][static_cast<rapidjson::SizeType>(i)];
        const node::template_tx& tx = t->transactions[i];
        CHECK(to_hex(tx.data) == j["data"].GetString());
        CHECK(tx.txid == test::hash_from_display(j["txid"].GetString()));
        CHECK(tx.wtxid == test::hash_from_display(j["hash"].GetString()));
        CHECK(tx.fee == j["fee"].GetInt64());
        CHECK(tx.weight == j["weight"].GetInt64());
        CHECK(tx.sigops == j["sigops"].GetInt64());
    }
    CHECK_FALSE(t->transactions[0].has_witness);
    CHECK(t->transactions[0].txid == t->transactions[0].wtxid);
    CHECK(t->transactions[1].has_witness);
    CHECK(t->transactions[2].has_witness);
    CHECK(t->transactions[2].depends == std::vector<std::uint32_t>{1});
}

TEST_CASE("template: bcoin pre-segwit template is segwit-inactive despite default_witness_commitment") {
    const rapidjson::Document d = gbt("bcoin_presegwit");
    auto t = node::parse_block_template(d, btc_regtest());
    REQUIRE_MESSAGE(t, t.error().message());
    CHECK(t->rules.empty());
    CHECK(t->default_witness_commitment);
    CHECK_FALSE(t->segwit_active);
    CHECK(t->transactions.empty());
    CHECK(t->height == 1);
    CHECK(t->prev_block == params(network::bitcoin_regtest).genesis_hash);
}

TEST_CASE("template: segwit activity follows the rule set not the commitment") {
    for (const char* rule : {"segwit", "!segwit"}) {
        CAPTURE(rule);
        rapidjson::Document d = gbt("bcoin_presegwit");
        d["rules"].PushBack(rapidjson::Value(rule, d.GetAllocator()), d.GetAllocator());
        auto t = node::parse_block_template(d, btc_regtest());
        REQUIRE(t);
        CHECK(t->segwit_active);
    }
    rapidjson::Document d = gbt("bcoin_postsegwit");
    d.RemoveMember("default_witness_commitment");
    auto t = node::parse_block_template(d, btc_regtest());
    REQUIRE(t);
    CHECK(t->segwit_active);
    CHECK_FALSE(t->default_witness_commitment);
}

TEST_CASE("template: Core regtest template parses") {
    const rapidjson::Document d = gbt("core_regtest");
    auto t = node::parse_block_template(d, btc_regtest());
    REQUIRE_MESSAGE(t, t.error().message());
    CHECK(t->height == 200);
    CHECK(t->segwit_active);
    CHECK(t->rules.contains("taproot"));
    CHECK(t->coinbase_value == 2500015000);
    CHECK(t->mintime == 1735689601u);
    CHECK(t->curtime == 1735689700u);
    REQUIRE(t->transactions.size() == 2);
    CHECK(t->transactions[1].has_witness);
}

TEST_CASE("template: Ravencoin templates parse and segwit follows witness data") {
    // Source: ravencoin.json, real Ravencoin Core 4.6.1 regtest output.
    const chain_params& rvn = params(network::ravencoin_regtest);
    const rapidjson::Document with_tx = test::vector_member_copy("ravencoin.json", "getblocktemplate_kawpow_with_tx");
    auto t = node::parse_block_template(with_tx, rvn);
    REQUIRE_MESSAGE(t, t.error().message());
    CHECK(t->coin == rvn.coin);
    CHECK(t->height == 259);
    CHECK(t->version_u32 == 805307072u);
    CHECK(t->coinbase_value == 250010000000);
    CHECK(t->rules.empty());
    REQUIRE(t->transactions.size() == 1);
    CHECK(t->transactions[0].fee == 10000000);
    CHECK_FALSE(t->any_witness());
    CHECK(t->default_witness_commitment);
    CHECK_FALSE(t->segwit_active);

    for (const char* name :
         {"getblocktemplate_kawpow_height1_with_miningaddress", "getblocktemplate_x16rv2_pre_kawpow"}) {
        CAPTURE(name);
        const rapidjson::Document d = test::vector_member_copy("ravencoin.json", name);
        auto r = node::parse_block_template(d, rvn);
        REQUIRE_MESSAGE(r, r.error().message());
        CHECK(r->transactions.empty());
        CHECK_FALSE(r->segwit_active);
    }
}

TEST_CASE("template: Ravencoin template with witness data is segwit-active") {
    // Ravencoin's own template above, with the bcoin fixture's P2WPKH spend added.
    rapidjson::Document d = test::vector_member_copy("ravencoin.json", "getblocktemplate_kawpow_with_tx");
    const rapidjson::Document b = gbt("bcoin_postsegwit");
    rapidjson::Value tx;
    tx.CopyFrom(b["transactions"][1], d.GetAllocator());
    d["transactions"].PushBack(tx, d.GetAllocator());
    auto t = node::parse_block_template(d, params(network::ravencoin_regtest));
    REQUIRE_MESSAGE(t, t.error().message());
    CHECK(t->any_witness());
    CHECK(t->segwit_active);
}

TEST_CASE("template: optional fields take their defaults") {
    rapidjson::Document d = gbt("bcoin_postsegwit");
    d.RemoveMember("mintime");
    d.RemoveMember("rules");
    d.RemoveMember("longpollid");
    d.RemoveMember("default_witness_commitment");
    for (auto& tx : d["transactions"].GetArray()) {
        tx.RemoveMember("hash");
        tx.RemoveMember("fee");
        tx.RemoveMember("weight");
        tx.RemoveMember("sigops");
        tx.RemoveMember("depends");
    }
    auto t = node::parse_block_template(d, btc_regtest());
    REQUIRE_MESSAGE(t, t.error().message());
    CHECK(t->mintime == t->curtime);
    CHECK(t->rules.empty());
    CHECK_FALSE(t->segwit_active);
    CHECK_FALSE(t->longpollid);
    CHECK_FALSE(t->default_witness_commitment);
    const rapidjson::Document full = gbt("bcoin_postsegwit");
    for (std::size_t i = 0; i < t->transactions.size(); ++i) {
        CAPTURE(i);
        const auto& j = full["transactions"][static_cast<rapidjson::SizeType>(i)];
        CHECK(t->transactions[i].weight == j["weight"].GetInt64());  // computed from data
        CHECK(t->transactions[i].wtxid == test::hash_from_display(j["hash"].GetString()));
        CHECK(t->transactions[i].fee == 0);
        CHECK(t->transactions[i].depends.empty());
    }
}

TEST_CASE("template: signet_challenge and the signet rule are accepted") {
    rapidjson::Document d = gbt("core_regtest");
    d["rules"].PushBack("!signet", d.GetAllocator());
    set_string(d, d, "signet_challenge", "51");
    auto t = node::parse_block_template(d, btc_regtest());
    REQUIRE_MESSAGE(t, t.error().message());
    REQUIRE(t->signet_challenge);
    CHECK(to_hex(*t->signet_challenge) == "51");
}

TEST_CASE("template: missing required fields each give their named error") {
    const std::vector<std::pair<const char*, template_errc>> fields = {
        {"height", template_errc::height_missing},
        {"previousblockhash", template_errc::previousblockhash_missing},
        {"bits", template_errc::bits_missing},
        {"target", template_errc::target_missing},
        {"version", template_errc::version_missing},
        {"curtime", template_errc::curtime_missing},
        {"coinbasevalue", template_errc::coinbasevalue_missing},
        {"transactions", template_errc::transactions_missing},
    };
    // No structured binding: CAPTURE's lambda cannot capture one before clang 16.
    for (const auto& entry : fields) {
        const char* const field = entry.first;
        const template_errc errc = entry.second;
        CAPTURE(field);
        rapidjson::Document d = gbt("bcoin_postsegwit");
        d.RemoveMember(field);
        const std::error_code ec = parse_error(d);
        CHECK(ec == errc);
        CHECK(ec.message().find(field) != std::string::npos);
    }
    rapidjson::Document d = gbt("bcoin_postsegwit");
    tx0(d).RemoveMember("data");
    CHECK(parse_error(d) == template_errc::transaction_data_missing);
    d = gbt("bcoin_postsegwit");
    tx0(d).RemoveMember("txid");
    CHECK(parse_error(d) == template_errc::transaction_txid_missing);
}

TEST_CASE("template: bits and target that disagree give bits_target_mismatch") {
    check_cases({
        {"target one above",
         [](auto& d) {
             set_string(d, d, "target", "7fffff0000000000000000000000000000000000000000000000000000000001");
         },
         template_errc::bits_target_mismatch},
        {"bits of another target", [](auto& d) { set_string(d, d, "bits", "207ffffe"); },
         template_errc::bits_target_mismatch},
        {"bits above pow_limit", [](auto& d) { set_string(d, d, "bits", "2100ffff"); }, template_errc::bits_invalid},
        {"negative bits", [](auto& d) { set_string(d, d, "bits", "20ffffff"); }, template_errc::bits_invalid},
        {"zero bits", [](auto& d) { set_string(d, d, "bits", "00000000"); }, template_errc::bits_invalid},
    });
}

TEST_CASE("template: transaction ids that disagree with the data are errors") {
    check_cases({
        {"txid of another transaction",
         [](auto& d) { set_string(d, tx0(d), "txid", d["transactions"][1]["txid"].GetString()); },
         template_errc::transaction_txid_mismatch},
        {"txid given as wtxid of a witness transaction",
         [](auto& d) { set_string(d, d["transactions"][1], "txid", d["transactions"][1]["hash"].GetString()); },
         template_errc::transaction_txid_mismatch},
        {"txid in internal order",
         [](auto& d) {
             std::string s = tx0(d)["txid"].GetString();
             auto b = from_hex(s);
             std::reverse(b->begin(), b->end());
             set_string(d, tx0(d), "txid", to_hex(*b));
         },
         template_errc::transaction_txid_mismatch},
        {"hash of another transaction",
         [](auto& d) { set_string(d, d["transactions"][1], "hash", d["transactions"][2]["hash"].GetString()); },
         template_errc::transaction_hash_mismatch},
    });
}

TEST_CASE("template: bad hex gives the field's error") {
    const std::string zeros63(63, '0');
    check_cases({
        {"previousblockhash short", [&](auto& d) { set_string(d, d, "previousblockhash", zeros63); },
         template_errc::previousblockhash_invalid},
        {"previousblockhash not hex", [&](auto& d) { set_string(d, d, "previousblockhash", zeros63 + "g"); },
         template_errc::previousblockhash_invalid},
        {"bits 7 digits", [](auto& d) { set_string(d, d, "bits", "207ffff"); }, template_errc::bits_invalid},
        {"bits with prefix", [](auto& d) { set_string(d, d, "bits", "0x207fffff"); }, template_errc::bits_invalid},
        {"target not hex", [&](auto& d) { set_string(d, d, "target", zeros63 + "z"); }, template_errc::target_invalid},
        {"data odd length", [](auto& d) { set_string(d, tx0(d), "data", "0200000"); },
         template_errc::transaction_data_invalid},
        {"data not hex", [](auto& d) { set_string(d, tx0(d), "data", "zz"); }, template_errc::transaction_data_invalid},
        {"data truncated",
         [](auto& d) {
             std::string s = tx0(d)["data"].GetString();
             set_string(d, tx0(d), "data", s.substr(0, s.size() - 2));
         },
         template_errc::transaction_data_invalid},
        {"data with a trailing byte",
         [](auto& d) { set_string(d, tx0(d), "data", std::string(tx0(d)["data"].GetString()) + "00"); },
         template_errc::transaction_data_invalid},
        {"data empty", [](auto& d) { set_string(d, tx0(d), "data", ""); }, template_errc::transaction_data_invalid},
        {"txid short", [&](auto& d) { set_string(d, tx0(d), "txid", zeros63); },
         template_errc::transaction_txid_invalid},
        {"hash not hex", [&](auto& d) { set_string(d, tx0(d), "hash", zeros63 + "x"); },
         template_errc::transaction_hash_invalid},
        {"commitment not hex", [](auto& d) { set_string(d, d, "default_witness_commitment", "6a24zz"); },
         template_errc::default_witness_commitment_invalid},
        {"commitment without the aa21a9ed header",
         [](auto& d) {
             set_string(d, d, "default_witness_commitment",
                        "6a24aa21a9ee326641a523f811bfb837a897c7b13f347d101fd869e4067e823ce5ef3c0b91a1");
         },
         template_errc::default_witness_commitment_invalid},
        {"commitment too short", [](auto& d) { set_string(d, d, "default_witness_commitment", "6a24aa21a9ed00"); },
         template_errc::default_witness_commitment_invalid},
        {"signet_challenge not hex", [](auto& d) { set_string(d, d, "signet_challenge", "5"); },
         template_errc::signet_challenge_invalid},
    });
}

TEST_CASE("template: wrong JSON types give the field's error") {
    check_cases({
        {"height as string", [](auto& d) { set_string(d, d, "height", "451"); }, template_errc::height_invalid},
        {"height zero", [](auto& d) { d["height"].SetInt(0); }, template_errc::height_invalid},
        {"height negative", [](auto& d) { d["height"].SetInt(-1); }, template_errc::height_invalid},
        {"height fractional", [](auto& d) { d["height"].SetDouble(451.5); }, template_errc::height_invalid},
        {"height above int32", [](auto& d) { d["height"].SetInt64(0x80000000LL); }, template_errc::height_invalid},
        {"previousblockhash number", [](auto& d) { d["previousblockhash"].SetInt(1); },
         template_errc::previousblockhash_invalid},
        {"bits number", [](auto& d) { d["bits"].SetUint(0x207fffff); }, template_errc::bits_invalid},
        {"target null", [](auto& d) { d["target"].SetNull(); }, template_errc::target_invalid},
        {"version string", [](auto& d) { set_string(d, d, "version", "20000000"); }, template_errc::version_invalid},
        {"version above uint32", [](auto& d) { d["version"].SetInt64(0x100000000LL); }, template_errc::version_invalid},
        {"curtime negative", [](auto& d) { d["curtime"].SetInt(-5); }, template_errc::curtime_invalid},
        {"curtime above uint32", [](auto& d) { d["curtime"].SetUint64(1ULL << 32); }, template_errc::curtime_invalid},
        {"mintime bool", [](auto& d) { d["mintime"].SetBool(true); }, template_errc::mintime_invalid},
        {"coinbasevalue negative", [](auto& d) { d["coinbasevalue"].SetInt(-1); },
         template_errc::coinbasevalue_invalid},
        {"coinbasevalue above MAX_MONEY", [](auto& d) { d["coinbasevalue"].SetInt64(bitcoin_max_money + 1); },
         template_errc::coinbasevalue_invalid},
        {"coinbasevalue in BTC", [](auto& d) { d["coinbasevalue"].SetDouble(50.0); },
         template_errc::coinbasevalue_invalid},
        {"coinbasevalue uint64 max", [](auto& d) { d["coinbasevalue"].SetUint64(~0ULL); },
         template_errc::coinbasevalue_invalid},
        {"transactions object", [](auto& d) { d["transactions"].SetObject(); }, template_errc::transactions_invalid},
        {"transaction a string", [](auto& d) { tx0(d).SetString("00"); }, template_errc::transaction_invalid},
        {"data number", [](auto& d) { tx0(d)["data"].SetInt(2); }, template_errc::transaction_data_invalid},
        {"txid array", [](auto& d) { tx0(d)["txid"].SetArray(); }, template_errc::transaction_txid_invalid},
        {"fee negative", [](auto& d) { tx0(d)["fee"].SetInt(-1); }, template_errc::transaction_fee_invalid},
        {"fee fractional", [](auto& d) { tx0(d)["fee"].SetDouble(0.0001); }, template_errc::transaction_fee_invalid},
        {"weight string", [](auto& d) { set_string(d, tx0(d), "weight", "900"); },
         template_errc::transaction_weight_invalid},
        {"sigops negative", [](auto& d) { tx0(d)["sigops"].SetInt(-4); }, template_errc::transaction_sigops_invalid},
        {"depends number", [](auto& d) { tx0(d)["depends"].SetInt(1); }, template_errc::transaction_depends_invalid},
        {"depends on itself", [](auto& d) { d["transactions"][2]["depends"][0].SetInt(3); },
         template_errc::transaction_depends_invalid},
        {"depends on entry 0", [](auto& d) { d["transactions"][2]["depends"][0].SetInt(0); },
         template_errc::transaction_depends_invalid},
        {"depends on a later entry", [](auto& d) { tx0(d)["depends"].PushBack(2, d.GetAllocator()); },
         template_errc::transaction_depends_invalid},
        {"rules object", [](auto& d) { d["rules"].SetObject(); }, template_errc::rules_invalid},
        {"rule number", [](auto& d) { d["rules"].PushBack(7, d.GetAllocator()); }, template_errc::rules_invalid},
        {"rule empty", [](auto& d) { d["rules"].PushBack("", d.GetAllocator()); }, template_errc::rules_invalid},
        {"required rule unknown", [](auto& d) { d["rules"].PushBack("!newfork", d.GetAllocator()); },
         template_errc::rule_unsupported},
        {"commitment number", [](auto& d) { d["default_witness_commitment"].SetInt(0); },
         template_errc::default_witness_commitment_invalid},
        {"longpollid number", [](auto& d) { d["longpollid"].SetInt(3); }, template_errc::longpollid_invalid},
    });
    rapidjson::Document arr;
    arr.SetArray();
    CHECK(parse_error(arr) == template_errc::not_an_object);
    rapidjson::Document null_doc;
    CHECK(parse_error(null_doc) == template_errc::not_an_object);
}

TEST_CASE("template: a coinbase among the transactions is refused") {
    // Source: bitcoin.json block413567_coinbase.
    const auto& cb = test::vector_json("bitcoin.json")["block413567_coinbase"];
    check_cases({{"coinbase as transaction",
                  [&](auto& d) {
                      set_string(d, tx0(d), "data", cb["hex"].GetString());
                      set_string(d, tx0(d), "txid", cb["txid"].GetString());
                  },
                  template_errc::transaction_is_coinbase}});
}

TEST_CASE("template: hostile sizes are refused") {
    check_cases({
        {"more transactions than any block holds",
         [](auto& d) {
             auto& txs = d["transactions"];
             txs.SetArray();
             txs.Reserve(static_cast<rapidjson::SizeType>(node::max_template_transactions + 1), d.GetAllocator());
             for (std::size_t i = 0; i <= node::max_template_transactions; ++i)
                 txs.PushBack(rapidjson::Value(rapidjson::kObjectType), d.GetAllocator());
         },
         template_errc::transactions_invalid},
        {"transaction data above the block size",
         [](auto& d) { set_string(d, tx0(d), "data", std::string(2 * node::max_template_tx_bytes + 2, '0')); },
         template_errc::transaction_data_invalid},
        {"longpollid of 257 characters", [](auto& d) { set_string(d, d, "longpollid", std::string(257, 'a')); },
         template_errc::longpollid_invalid},
        {"rule name of 65 characters",
         [](auto& d) {
             rapidjson::Value rule(std::string(65, 'r').c_str(), d.GetAllocator());
             d["rules"].PushBack(rule, d.GetAllocator());
         },
         template_errc::rules_invalid},
    });
}

TEST_CASE("template: Ravencoin money range allows more than Bitcoin's") {
    rapidjson::Document d = test::vector_member_copy("ravencoin.json", "getblocktemplate_kawpow_height1_with_miningaddress");
    d["coinbasevalue"].SetInt64(bitcoin_max_money + 1);
    CHECK(node::parse_block_template(d, params(network::ravencoin_regtest)));
    CHECK(parse_error(d, params(network::bitcoin_regtest)) == template_errc::coinbasevalue_invalid);
    d["coinbasevalue"].SetInt64(ravencoin_max_money + 1);
    CHECK(parse_error(d, params(network::ravencoin_regtest)) == template_errc::coinbasevalue_invalid);
}
