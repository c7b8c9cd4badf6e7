#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <set>
#include <string>

#include "sb/core/bytes.hpp"
#include "sb/core/chain.hpp"
#include "sb/core/hex.hpp"
#include "sb/core/pow.hpp"
#include "sb/core/sha256.hpp"
#include "vectors.hpp"

using namespace sb;

namespace {

std::string magic_hex(const chain_params& p) { return to_hex(p.magic); }

}  // namespace

TEST_CASE("chain: every network is listed once in enumerator order") {
    const auto all = all_networks();
    REQUIRE(all.size() == 8);
    std::set<std::string_view> names;
    for (std::size_t i = 0; i < all.size(); ++i) {
        CHECK(static_cast<std::size_t>(all[i].net) == i);
        CHECK(&params(all[i].net) == &all[i]);
        names.insert(all[i].name);
    }
    CHECK(names.size() == all.size());
}

TEST_CASE("chain: names and networks round-trip and unknown names are rejected") {
    for (const chain_params& p : all_networks()) {
        CAPTURE(p.name);
        auto net = network_from_name(p.name);
        REQUIRE(net);
        CHECK(*net == p.net);
        CHECK(to_string(p.net) == p.name);
        CHECK(p.name.substr(0, p.coin_name.size()) == p.coin_name);
    }
    CHECK(network_from_name("bitcoin-mainnet") == network::bitcoin_mainnet);
    CHECK(network_from_name("ravencoin-regtest") == network::ravencoin_regtest);
    for (const char* bad : {"", "bitcoin", "Bitcoin-mainnet", "bitcoin-testnet", "bitcoin-mainnet ", "ravencoin-main",
                            "rvn-mainnet", "bitcoin_mainnet"}) {
        CAPTURE(bad);
        CHECK_FALSE(network_from_name(bad));
    }
}

TEST_CASE("chain: Bitcoin genesis headers hash to their stored genesis hashes") {
    // Source: bitcoin.json genesis_headers.
    const struct { const char* key; network net; } rows[] = {
        {"mainnet", network::bitcoin_mainnet},   {"testnet3", network::bitcoin_testnet3},
        {"testnet4", network::bitcoin_testnet4}, {"signet", network::bitcoin_signet},
        {"regtest", network::bitcoin_regtest},
    };
    const auto& doc = test::vector_json("bitcoin.json")["genesis_headers"];
    for (const auto& r : rows) {
        CAPTURE(r.key);
        const chain_params& p = params(r.net);
        CHECK(to_hex(p.genesis_header) == doc[r.key]["header"].GetString());
        const hash256 h = sha256d_header(p.genesis_header.data());
        CHECK(h == p.genesis_hash);
        CHECK(to_hex_reversed(h) == doc[r.key]["hash"].GetString());
        CHECK(p.algorithm_at(load_le32(p.genesis_header.data() + 68)) == pow_algorithm::sha256d);
    }
}

TEST_CASE("chain: Ravencoin genesis headers carry the genesis coinbase txid as merkle root") {
    // Source: bitcoin.json ravencoin_genesis (80-byte X16R headers; the X16R hash is
    // not recomputed, the coinbase txid is).
    const auto& doc = test::vector_json("bitcoin.json")["ravencoin_genesis"];
    const std::string txid = doc["coinbase_txid"].GetString();
    auto coinbase = from_hex(doc["coinbase"].GetString());
    REQUIRE(coinbase);
    CHECK(to_hex_reversed(sha256d(*coinbase)) == txid);
    const struct { const char* key; network net; } rows[] = {
        {"mainnet", network::ravencoin_mainnet},
        {"testnet", network::ravencoin_testnet},
        {"regtest", network::ravencoin_regtest},
    };
    for (const auto& r : rows) {
        CAPTURE(r.key);
        const chain_params& p = params(r.net);
        CHECK(to_hex(p.genesis_header) == doc["headers_80"][r.key].GetString());
        CHECK(to_hex_reversed({p.genesis_header.data() + 36, 32}) == txid);
        CHECK(p.algorithm_at(load_le32(p.genesis_header.data() + 68)) == pow_algorithm::x16r);
    }
}

TEST_CASE("chain: genesis hashes meet their own bits within the pow limit") {
    for (const chain_params& p : all_networks()) {
        CAPTURE(p.name);
        const std::uint32_t bits = load_le32(p.genesis_header.data() + 72);
        CHECK(check_proof_of_work(p.genesis_hash, bits, p.pow_limit));
        CHECK(compact_to_target(bits).target <= p.pow_limit);
    }
}

TEST_CASE("chain: pow limits and their compact forms agree") {
    for (const chain_params& p : all_networks()) {
        CAPTURE(p.name);
        CHECK(target_to_compact(p.pow_limit) == p.pow_limit_bits);
        const compact_target c = compact_to_target(p.pow_limit_bits);
        CHECK(!c.negative);
        CHECK(!c.overflow);
        CHECK(c.target <= p.pow_limit);
        CHECK(valid_target(p.pow_limit_bits, p.pow_limit));
        if (p.coin == coin_type::ravencoin) {
            CHECK(target_to_compact(p.kawpow_limit) == p.kawpow_limit_bits);
            CHECK(p.kawpow_limit <= p.pow_limit);
        } else {
            CHECK(p.kawpow_limit.is_zero());
            CHECK(p.kawpow_limit_bits == 0);
        }
    }
    // Source: bitcoin.json compact_targets descriptions (node.md §5.11).
    CHECK(params(network::bitcoin_mainnet).pow_limit_bits == 0x1d00ffff);
    CHECK(params(network::bitcoin_signet).pow_limit_bits == 0x1e0377ae);
    CHECK(params(network::bitcoin_regtest).pow_limit_bits == 0x207fffff);
    CHECK(params(network::ravencoin_mainnet).pow_limit_bits == 0x1e0fffff);
    CHECK(params(network::ravencoin_mainnet).kawpow_limit_bits == 0x1c00ffff);
    CHECK(params(network::ravencoin_testnet).kawpow_limit_bits == 0x1e00ffff);
}

TEST_CASE("chain: message start bytes match the wire vectors") {
    // Source: bitcoin.json wire_messages (each message begins with its network's magic).
    const auto& wire = test::vector_json("bitcoin.json")["wire_messages"];
    CHECK(std::string(wire["verack mainnet"].GetString()).substr(0, 8) == magic_hex(params(network::bitcoin_mainnet)));
    CHECK(std::string(wire["verack regtest"].GetString()).substr(0, 8) == magic_hex(params(network::bitcoin_regtest)));
    CHECK(std::string(wire["verack Ravencoin main"].GetString()).substr(0, 8) ==
          magic_hex(params(network::ravencoin_mainnet)));
    CHECK(magic_hex(params(network::bitcoin_regtest)) == "fabfb5da");
    CHECK(magic_hex(params(network::bitcoin_testnet3)) == "0b110907");
    CHECK(magic_hex(params(network::bitcoin_testnet4)) == "1c163f28");
    CHECK(magic_hex(params(network::bitcoin_signet)) == "0a03cf40");
    const auto ascii = [](const chain_params& p) { return std::string(p.magic.begin(), p.magic.end()); };
    CHECK(ascii(params(network::ravencoin_mainnet)) == "RAVN");
    CHECK(ascii(params(network::ravencoin_testnet)) == "RVNT");
    CHECK(ascii(params(network::ravencoin_regtest)) == "CROW");
}

TEST_CASE("chain: default ports") {
    CHECK(params(network::bitcoin_mainnet).p2p_port == 8333);
    CHECK(params(network::bitcoin_mainnet).rpc_port == 8332);
    CHECK(params(network::bitcoin_testnet4).p2p_port == 48333);
    CHECK(params(network::bitcoin_regtest).rpc_port == 18443);
    CHECK(params(network::ravencoin_mainnet).p2p_port == 8767);
    CHECK(params(network::ravencoin_mainnet).rpc_port == 8766);
    CHECK(params(network::ravencoin_testnet).p2p_port == 18770);
}

TEST_CASE("chain: address formats per network") {
    const auto check = [](network n, std::uint8_t pkh, std::uint8_t sh, std::string_view hrp) {
        const address_format& f = params(n).address;
        CHECK(f.p2pkh_version == pkh);
        CHECK(f.p2sh_version == sh);
        CHECK(f.bech32_hrp == hrp);
    };
    check(network::bitcoin_mainnet, 0x00, 0x05, "bc");
    check(network::bitcoin_testnet3, 0x6f, 0xc4, "tb");
    check(network::bitcoin_testnet4, 0x6f, 0xc4, "tb");
    check(network::bitcoin_signet, 0x6f, 0xc4, "tb");
    check(network::bitcoin_regtest, 0x6f, 0xc4, "bcrt");
    check(network::ravencoin_mainnet, 60, 122, "");
    check(network::ravencoin_testnet, 111, 196, "");
    check(network::ravencoin_regtest, 111, 196, "");
}

TEST_CASE("chain: Bitcoin subsidy halves every 210000 blocks and ends") {
    const chain_params& p = params(network::bitcoin_mainnet);
    CHECK(p.subsidy(0) == 5'000'000'000);
    CHECK(p.subsidy(209999) == 5'000'000'000);
    CHECK(p.subsidy(210000) == 2'500'000'000);
    CHECK(p.subsidy(840000) == 312'500'000);
    CHECK(p.subsidy(6929999) == 1);  // halving 32: 5e9 >> 32
    CHECK(p.subsidy(6930000) == 0);  // halving 33
    CHECK(p.subsidy(64 * 210000 - 1) == 0);
    CHECK(p.subsidy(64 * 210000) == 0);
    CHECK(p.subsidy(std::numeric_limits<std::int32_t>::max()) == 0);
    CHECK(p.subsidy(-1) == 0);
    std::int64_t total = 0;
    for (std::int32_t h = 0; h < 64 * 210000; h += 210000) total += p.subsidy(h) * 210000;
    CHECK(total == 2'099'999'997'690'000);
}

TEST_CASE("chain: regtest halves every 150 blocks") {
    for (network n : {network::bitcoin_regtest, network::ravencoin_regtest}) {
        const chain_params& p = params(n);
        CAPTURE(p.name);
        CHECK(p.subsidy(149) == p.initial_subsidy);
        CHECK(p.subsidy(150) == p.initial_subsidy / 2);
        CHECK(p.subsidy(64 * 150) == 0);
    }
    CHECK(params(network::bitcoin_regtest).initial_subsidy == 50 * coin_units);
}

TEST_CASE("chain: Ravencoin subsidy is 5000 RVN halving every 2100000 blocks") {
    const chain_params& p = params(network::ravencoin_mainnet);
    CHECK(p.subsidy(0) == 5000 * coin_units);
    CHECK(p.subsidy(2099999) == 5000 * coin_units);
    CHECK(p.subsidy(2100000) == 2500 * coin_units);
    CHECK(params(network::ravencoin_testnet).halving_interval == 2100000);
    // Source: ravencoin.json regtest templates (coinbasevalue = subsidy + fees).
    const auto& doc = test::vector_json("ravencoin.json");
    for (const char* key : {"getblocktemplate_kawpow_height1_with_miningaddress", "getblocktemplate_x16rv2_pre_kawpow",
                            "getblocktemplate_kawpow_with_tx"}) {
        CAPTURE(key);
        const auto& t = doc[key];
        std::int64_t fees = 0;
        for (const auto& tx : t["transactions"].GetArray()) fees += tx["fee"].GetInt64();
        CHECK(params(network::ravencoin_regtest).subsidy(t["height"].GetInt()) == t["coinbasevalue"].GetInt64() - fees);
    }
}

TEST_CASE("chain: Ravencoin switches to KAWPOW at its activation time") {
    for (network n : {network::ravencoin_mainnet, network::ravencoin_testnet, network::ravencoin_regtest}) {
        const chain_params& p = params(n);
        CAPTURE(p.name);
        const std::uint32_t t = p.kawpow_activation_time;
        CHECK(p.algorithm_at(t - 1) == pow_algorithm::x16rv2);
        CHECK(p.algorithm_at(t) == pow_algorithm::kawpow);
        CHECK(p.algorithm_at(std::numeric_limits<std::uint32_t>::max()) == pow_algorithm::kawpow);
        CHECK(p.algorithm_at(p.x16rv2_activation_time - 1) == pow_algorithm::x16r);
        CHECK(p.algorithm_at(p.x16rv2_activation_time) == pow_algorithm::x16rv2);
        CHECK(p.header_bytes_at(t - 1) == 80);
        CHECK(p.header_bytes_at(t) == 120);
    }
    CHECK(params(network::ravencoin_mainnet).kawpow_activation_time == 1588788000u);
    CHECK(params(network::ravencoin_testnet).kawpow_activation_time == 1585159200u);
    CHECK(params(network::ravencoin_regtest).kawpow_activation_time == 3582830167u);
    CHECK(to_string(pow_algorithm::kawpow) == "kawpow");
    CHECK(to_string(pow_algorithm::x16r) == "x16r");
}

TEST_CASE("chain: accepted Ravencoin regtest KAWPOW headers are 120 bytes by their time") {
    // Source: ravencoin.json kawpow_blocks_accepted.
    const auto& blocks = test::vector_json("ravencoin.json")["kawpow_blocks_accepted"];
    const chain_params& p = params(network::ravencoin_regtest);
    for (const auto& b : blocks.GetArray()) {
        auto header = from_hex(b["header120"].GetString());
        REQUIRE(header);
        const std::uint32_t time = load_le32(header->data() + 68);
        CHECK(p.algorithm_at(time) == pow_algorithm::kawpow);
        CHECK(p.header_bytes_at(time) == header->size());
        CHECK(load_le32(header->data() + 76) == static_cast<std::uint32_t>(b["height"].GetInt()));
    }
}

TEST_CASE("chain: Bitcoin always mines sha256d in 80-byte headers") {
    for (const chain_params& p : all_networks()) {
        if (p.coin != coin_type::bitcoin) continue;
        CAPTURE(p.name);
        for (std::uint32_t t : {0u, 1588788000u, 0xffffffffu}) {
            CHECK(p.algorithm_at(t) == pow_algorithm::sha256d);
            CHECK(p.header_bytes_at(t) == 80);
        }
    }
}

TEST_CASE("chain: retarget rules, intervals and future-time limits") {
    CHECK(params(network::bitcoin_mainnet).retarget_interval() == 2016);
    CHECK(params(network::bitcoin_testnet3).retarget == retarget_rule::bitcoin_testnet3);
    CHECK(params(network::bitcoin_testnet4).retarget == retarget_rule::bitcoin_testnet4);
    CHECK(params(network::bitcoin_testnet4).enforce_bip94);
    CHECK(params(network::bitcoin_regtest).no_retargeting);
    CHECK(params(network::bitcoin_regtest).retarget == retarget_rule::none);
    CHECK(params(network::ravencoin_mainnet).retarget_interval() == 2016);
    CHECK(params(network::ravencoin_mainnet).target_spacing_s == 60);
    for (const chain_params& p : all_networks()) {
        CAPTURE(p.name);
        CHECK(p.allow_min_difficulty == (p.retarget != retarget_rule::bitcoin && p.net != network::ravencoin_mainnet));
        CHECK(p.max_future_block_time_s(0) == 7200);
    }
    const chain_params& rvn = params(network::ravencoin_mainnet);
    CHECK(rvn.max_future_block_time_s(338777) == 7200);
    CHECK(rvn.max_future_block_time_s(338778) == 720);
    CHECK(!rvn.dgw_active(338777));
    CHECK(rvn.dgw_active(338778));
    CHECK(!params(network::bitcoin_mainnet).dgw_active(1'000'000));
    CHECK(params(network::bitcoin_mainnet).max_future_block_time_s(1'000'000) == 7200);
}

TEST_CASE("chain: BIP34 and segwit activate at their heights") {
    const chain_params& p = params(network::bitcoin_mainnet);
    CHECK(!p.bip34_active(227930));
    CHECK(p.bip34_active(227931));
    CHECK(!p.segwit_active(481823));
    CHECK(p.segwit_active(481824));
    CHECK(params(network::bitcoin_testnet3).bip34_height == 21111);
    CHECK(params(network::bitcoin_regtest).segwit_active(0));
    CHECK(params(network::bitcoin_regtest).bip34_active(1));
    CHECK(params(network::ravencoin_mainnet).bip34_active(1));
    CHECK(params(network::ravencoin_mainnet).segwit_active(1));
}
