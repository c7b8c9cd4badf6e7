// Coinbase building, jobs, header rebuild and block assembly against
// tests/vectors/bitcoin.json (regtest_block_height_1, block 413567; node.md §5.3–5.7),
// stratum_cpuminer.json (a real cpuminer 2.5.1 session; stratum.md §3, §7),
// getblocktemplate.json (bcoin- and Core-shaped templates with independently computed
// branches and commitments) and ravencoin.json (real Ravencoin templates).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "dispatch/job.hpp"
#include "sb/config/config.hpp"
#include "sb/core/block.hpp"
#include "sb/core/hex.hpp"
#include "sb/core/merkle.hpp"
#include "sb/core/pow.hpp"
#include "sb/core/script.hpp"
#include "sb/core/tx.hpp"
#include "sb/node/internal/json.hpp"
#include "sb/node/template.hpp"
#include "seed.hpp"
#include "vectors.hpp"

using namespace sb;
using bridge::job_errc;

namespace {

bytes unhex(const std::string& s) {
    auto r = from_hex(s);
    REQUIRE(r);
    return *r;
}

std::string str(const rapidjson::Value& v, const char* key) {
    REQUIRE(v.HasMember(key));
    REQUIRE(v[key].IsString());
    return v[key].GetString();
}


std::shared_ptr<const node::block_template> parse(const rapidjson::Value& gbt,
                                                  network net = network::bitcoin_regtest) {
    auto t = node::parse_block_template(gbt, params(net));
    REQUIRE_MESSAGE(t, t.error().message());
    return std::make_shared<const node::block_template>(std::move(*t));
}

const rapidjson::Value& regtest_h1() { return test::vector_json("bitcoin.json")["regtest_block_height_1"]; }

// P2WPKH of BIP173's first vector, the payout of regtest_block_height_1.
const bytes& p2wpkh_payout() {
    static const bytes s = *from_hex("0014751e76e8199196d454941c45d1b3a323f1433bd6");
    return s;
}

bridge::job_spec spec_for(const bytes& payout, std::string_view tag, std::size_t en1 = 4, std::size_t en2 = 8) {
    bridge::job_spec s;
    s.id = "1a";
    s.coinbase.payout_script = payout;
    s.coinbase.tag = tag;
    s.coinbase.extranonce1_size = en1;
    s.coinbase.extranonce2_size = en2;
    s.clean = true;
    return s;
}

// The bcoin pre-segwit fixture is the regtest height-1 template (genesis parent,
// coinbasevalue 50 BTC, the coinbase-only commitment); with a segwit rule it is the
// template behind regtest_block_height_1.
std::shared_ptr<const node::block_template> regtest_h1_template(bool segwit) {
    rapidjson::Document d = test::vector_member_copy("getblocktemplate.json", "bcoin_presegwit");
    if (segwit) d["rules"].PushBack("!segwit", d.GetAllocator());
    return parse(d);
}

// The scriptSig bytes of a coinbase built by the bridge with zero extranonces.
bytes script_sig_of(const bridge::job& j) {
    const bytes en1(j.coinbase.extranonce1_size, 0), en2(j.coinbase.extranonce2_size, 0);
    auto tx = parse_transaction(byte_span(bridge::join_coinbase(j.coinbase, en1, en2)));
    REQUIRE(tx);
    REQUIRE(is_coinbase(*tx));
    return tx->inputs[0].script_sig;
}

}  // namespace

TEST_CASE("coinbase: regtest height 1 vector gives exactly coinb1 and coinb2") {
    // Source: bitcoin.json regtest_block_height_1 (node.md §5.7): an 8-byte extranonce
    // 0000000000000001 taken as en1 00000000 ‖ en2 00000001, no tag, sequence fffffffe,
    // version 2, P2WPKH payout, commitment.
    const auto& v = regtest_h1();
    auto j = bridge::make_job(regtest_h1_template(true), spec_for(p2wpkh_payout(), "", 4, 4));
    REQUIRE_MESSAGE(j, j.error().message());
    CHECK(to_hex(j->coinbase.coinb1) == str(v, "coinb1"));
    CHECK(to_hex(j->coinbase.coinb2) == str(v, "coinb2"));
    CHECK(j->coinbase.witness_commitment);
    CHECK(j->coinbase.tag_bytes == 0);

    const bytes en1 = unhex("00000000"), en2 = unhex("00000001");
    const bytes legacy = bridge::join_coinbase(j->coinbase, en1, en2);
    CHECK(to_hex(legacy) == str(v, "coinbase_no_witness"));
    const bytes witness = bridge::coinbase_with_witness(legacy);
    CHECK(to_hex(witness) == str(v, "coinbase_with_witness"));
    CHECK(to_hex_reversed(sha256d(legacy)) == str(v, "txid"));
    CHECK(to_hex_reversed(sha256d(witness)) == str(v, "wtxid"));
    CHECK(to_hex_reversed(bridge::coinbase_txid(*j, en1, en2)) == str(v, "txid"));
}

TEST_CASE("job: regtest height 1 header rebuilt from the job hashes to the vector") {
    // Source: bitcoin.json regtest_block_height_1 header_nonce0 and hash.
    const auto& v = regtest_h1();
    auto j = bridge::make_job(regtest_h1_template(true), spec_for(p2wpkh_payout(), "", 4, 4));
    REQUIRE(j);
    CHECK(j->ntime == 1296688603u);
    CHECK(j->bits == 0x207fffffu);
    CHECK(j->version == 0x20000000u);
    CHECK(j->merkle_branch.empty());
    const bytes en1 = unhex("00000000"), en2 = unhex("00000001");
    auto h = bridge::rebuild_header(*j, en1, en2, j->ntime, 0, j->version);
    REQUIRE(h);
    CHECK(to_hex(h->serialize()) == str(v, "header_nonce0"));
    CHECK(to_hex_reversed(h->hash()) == str(v, "hash"));

    auto block = bridge::assemble_block(*j, en1, en2, *h);
    REQUIRE(block);
    CHECK(to_hex(*block) == str(v, "header_nonce0") + "01" + str(v, "coinbase_with_witness"));
}

TEST_CASE("coinbase: bcoin pre-segwit template has no commitment output and no witness") {
    auto t = regtest_h1_template(false);
    REQUIRE(t->default_witness_commitment);
    auto j = bridge::make_job(t, spec_for(p2wpkh_payout(), "", 4, 4));
    REQUIRE(j);
    CHECK_FALSE(j->coinbase.witness_commitment);
    // The vector's coinb2 less its commitment output: one output, same payout.
    CHECK(to_hex(j->coinbase.coinb2) ==
          "feffffff0100f2052a01000000160014751e76e8199196d454941c45d1b3a323f1433bd600000000");
    const bytes zeros(4, 0);
    auto h = bridge::rebuild_header(*j, zeros, zeros, j->ntime, 7, j->version);
    REQUIRE(h);
    auto raw = bridge::assemble_block(*j, zeros, zeros, *h);
    REQUIRE(raw);
    auto b = parse_block(*raw);
    REQUIRE(b);
    REQUIRE(b->txs.size() == 1);
    CHECK_FALSE(b->txs[0].has_witness());
    CHECK(b->txs[0].outputs.size() == 1);
    CHECK(b->txs[0].outputs[0].value == 5000000000);
    CHECK(merkle_root(*b) == b->header.merkle_root);
}

TEST_CASE("coinbase: bcoin post-segwit template puts the commitment last and the reserved value in the witness") {
    const rapidjson::Document d = test::vector_member_copy("getblocktemplate.json", "bcoin_postsegwit");
    const auto& expected = test::vector_json("getblocktemplate.json")["bcoin_postsegwit_expected"];
    auto t = parse(d);
    auto j = bridge::make_job(t, spec_for(p2wpkh_payout(), "/solobridge/"));
    REQUIRE_MESSAGE(j, j.error().message());
    CHECK(j->height == 451);
    CHECK(j->mintime == 1700000300u);
    CHECK(j->ntime == 1700000450u);
    CHECK(j->coinbase.tag_bytes == 12);

    // Merkle branch from the txids, internal order (computed independently).
    const auto& branch = expected["merkle_branch_internal"];
    REQUIRE(j->merkle_branch.size() == branch.Size());
    const bridge::notify_params n = bridge::to_notify(*j);
    for (rapidjson::SizeType i = 0; i < branch.Size(); ++i) {
        CHECK(to_hex(j->merkle_branch[i]) == std::string(branch[i].GetString()));
        CHECK(n.merkle_branch[i] == std::string(branch[i].GetString()));
    }

    const bytes en1 = unhex("deadbeef"), en2 = unhex("0102030405060708");
    auto h = bridge::rebuild_header(*j, en1, en2, j->ntime + 5, 0x12345678, j->version);
    REQUIRE(h);
    auto raw = bridge::assemble_block(*j, en1, en2, *h);
    REQUIRE(raw);
    auto b = parse_block(*raw);
    REQUIRE_MESSAGE(b, b.error().message());
    REQUIRE(b->txs.size() == 4);
    CHECK(b->header == *h);
    CHECK(merkle_root(*b) == h->merkle_root);

    const transaction& cb = b->txs[0];
    REQUIRE(cb.outputs.size() == 2);
    CHECK(cb.outputs[0].value == t->coinbase_value);
    CHECK(cb.outputs[0].script_pubkey == p2wpkh_payout());
    CHECK(cb.outputs[1].value == 0);
    CHECK(to_hex(cb.outputs[1].script_pubkey) == expected["witness_commitment"].GetString());
    CHECK(cb.outputs[1].script_pubkey == witness_commitment_script(witness_merkle_root(*b), hash256{}));
    REQUIRE(cb.inputs[0].witness.size() == 1);
    CHECK(cb.inputs[0].witness[0] == bytes(32, 0));
    CHECK(cb.inputs[0].sequence == 0xfffffffeu);
    CHECK(cb.version == 2);
    CHECK(cb.lock_time == 0);
    CHECK(txid(cb) == bridge::coinbase_txid(*j, en1, en2));

    // Template transactions follow verbatim, in order.
    std::size_t offset = raw->size();
    for (std::size_t i = t->transactions.size(); i-- > 0;) offset -= t->transactions[i].data.size();
    for (const node::template_tx& tx : t->transactions) {
        CHECK(std::equal(tx.data.begin(), tx.data.end(), raw->begin() + static_cast<std::ptrdiff_t>(offset)));
        offset += tx.data.size();
    }
    CHECK(offset == raw->size());
}

TEST_CASE("job: Core regtest template gives the expected merkle branch and commitment") {
    const rapidjson::Document d = test::vector_member_copy("getblocktemplate.json", "core_regtest");
    const auto& expected = test::vector_json("getblocktemplate.json")["core_regtest_expected"];
    auto t = parse(d);
    CHECK(to_hex(bridge::witness_commitment_for(*t)) == expected["witness_commitment"].GetString());
    auto j = bridge::make_job(t, spec_for(p2wpkh_payout(), "/solobridge/"));
    REQUIRE_MESSAGE(j, j.error().message());
    const auto& branch = expected["merkle_branch_internal"];
    REQUIRE(j->merkle_branch.size() == branch.Size());
    for (rapidjson::SizeType i = 0; i < branch.Size(); ++i)
        CHECK(to_hex(j->merkle_branch[i]) == std::string(branch[i].GetString()));
    // Core's curtime is above mintime: ntime is curtime.
    CHECK(j->ntime == 1735689700u);
}

TEST_CASE("coinbase: a node commitment that disagrees with ours is an error") {
    rapidjson::Document d = test::vector_member_copy("getblocktemplate.json", "bcoin_postsegwit");
    // The coinbase-only commitment: right shape, wrong transactions.
    d["default_witness_commitment"].SetString(
        "6a24aa21a9ede2f61c3f71d1defd3fa999dfa36953755c690689799962b48bebd836974e8cf9", d.GetAllocator());
    auto j = bridge::make_job(parse(d), spec_for(p2wpkh_payout(), ""));
    CHECK(j.error() == job_errc::witness_commitment_mismatch);
}

TEST_CASE("coinbase: Ravencoin template without witness data carries no commitment") {
    // Source: ravencoin.json getblocktemplate_kawpow_with_tx (real node output). Our
    // commitment over its transaction equals the node's default_witness_commitment,
    // which pins the wtxid and witness-root computation on real data.
    const rapidjson::Document d = test::vector_member_copy("ravencoin.json", "getblocktemplate_kawpow_with_tx");
    auto t = parse(d, network::ravencoin_regtest);
    REQUIRE(t->default_witness_commitment);
    CHECK(bridge::witness_commitment_for(*t) == *t->default_witness_commitment);
    const bytes p2pkh = unhex("76a9144cca71ea20de35e7aed3c6c8deba7a1df03942b888ac");
    auto j = bridge::make_job(t, spec_for(p2pkh, "/solobridge/"));
    REQUIRE(j);
    CHECK_FALSE(j->coinbase.witness_commitment);
    const bytes en1(4, 0), en2(8, 0);
    auto tx = parse_transaction(byte_span(bridge::join_coinbase(j->coinbase, en1, en2)));
    REQUIRE(tx);
    REQUIRE(tx->outputs.size() == 1);
    CHECK(tx->outputs[0].value == 250010000000);
    REQUIRE(j->merkle_branch.size() == 1);
    CHECK(j->merkle_branch[0] == t->transactions[0].txid);
}

TEST_CASE("job: merkle branch of block 413567 matches the vector") {
    // Source: block413567.raw and bitcoin.json mainnet_headers 413567 (node.md §5.4).
    const auto& v = test::vector_json("bitcoin.json")["mainnet_headers"]["413567"];
    auto blk = parse_block(test::read_vector_bytes("block413567.raw"));
    REQUIRE(blk);
    REQUIRE(blk->txs.size() == 1557);

    // The block's transactions as a node would list them in a template.
    rapidjson::Document d;
    d.SetObject();
    auto& a = d.GetAllocator();
    const auto add_str = [&](const char* key, const std::string& s) {
        rapidjson::Value value(s.c_str(), static_cast<rapidjson::SizeType>(s.size()), a);
        d.AddMember(rapidjson::StringRef(key), value, a);
    };
    d.AddMember("height", 413567, a);
    add_str("previousblockhash", to_hex_reversed(blk->header.prev_block));
    add_str("bits", str(v, "bits"));
    add_str("target", compact_to_target(blk->header.bits).target.to_hex());
    d.AddMember("version", blk->header.version, a);
    d.AddMember("curtime", blk->header.time, a);
    d.AddMember("coinbasevalue", blk->txs[0].outputs[0].value, a);
    rapidjson::Value txs(rapidjson::kArrayType);
    for (std::size_t i = 1; i < blk->txs.size(); ++i) {
        rapidjson::Value e(rapidjson::kObjectType);
        const std::string data = to_hex(serialize(blk->txs[i], true));
        const std::string id = to_hex_reversed(txid(blk->txs[i]));
        e.AddMember("data", rapidjson::Value(data.c_str(), static_cast<rapidjson::SizeType>(data.size()), a), a);
        e.AddMember("txid", rapidjson::Value(id.c_str(), static_cast<rapidjson::SizeType>(id.size()), a), a);
        txs.PushBack(e, a);
    }
    d.AddMember("transactions", txs, a);

    auto t = parse(d, network::bitcoin_mainnet);
    CHECK_FALSE(t->segwit_active);
    auto j = bridge::make_job(t, spec_for(unhex("76a914c825a1ecf2a6830c4401620c3a16f1995057c2ab88ac"), "/x/"));
    REQUIRE(j);
    REQUIRE(j->merkle_branch.size() == static_cast<std::size_t>(v["merkle_branch_levels"].GetInt()));
    const auto& first = v["merkle_branch_first_two_internal"];
    CHECK(to_hex(j->merkle_branch[0]) == first[0].GetString());
    CHECK(to_hex(j->merkle_branch[1]) == first[1].GetString());
    // All eleven levels: the real coinbase folds to the header's merkle root.
    CHECK(fold_coinbase_branch(txid(blk->txs[0]), j->merkle_branch) == blk->header.merkle_root);
    CHECK(to_hex_reversed(j->prev_block) == to_hex_reversed(blk->header.prev_block));
}

TEST_CASE("job: cpuminer session rebuilds the captured header and hash") {
    // Source: stratum_cpuminer.json (cpuminer 2.5.1 wire capture; stratum.md §3 and §7).
    const auto& s = test::vector_json("stratum_cpuminer.json");
    const auto& nv = s["notify"];
    bridge::notify_params n;
    n.job_id = str(nv, "job_id");
    n.prevhash = str(nv, "prevhash");
    n.coinb1 = str(nv, "coinb1");
    n.coinb2 = str(nv, "coinb2");
    for (const auto& b : nv["merkle_branch"].GetArray()) n.merkle_branch.emplace_back(b.GetString());
    n.version = str(nv, "version");
    n.nbits = str(nv, "nbits");
    n.ntime = str(nv, "ntime");
    n.clean_jobs = nv["clean_jobs"].GetBool();
    const std::size_t en2_size = s["subscribe_reply"]["result"][2].GetUint();
    auto j = bridge::job_from_notify(n, 4, en2_size);
    REQUIRE_MESSAGE(j, j.error().message());
    CHECK_FALSE(j->tmpl);

    // The accepted submit: ["x", "11", "00000000", "6b02c290", "41234e01"].
    const bytes en1 = unhex(str(s, "extranonce1")), en2 = unhex("00000000");
    auto ntime = bridge::u32_from_stratum_hex("6b02c290");
    auto nonce = bridge::u32_from_stratum_hex("41234e01");
    REQUIRE(ntime);
    REQUIRE(nonce);
    auto h = bridge::rebuild_header(*j, en1, en2, *ntime, *nonce, j->version);
    REQUIRE(h);
    CHECK(to_hex(h->serialize()) == str(s, "rebuilt_header"));
    CHECK(to_hex_reversed(h->hash()) == str(s, "hash_display"));
    // A job without a template checks shares but cannot make blocks.
    CHECK(bridge::assemble_block(*j, en1, en2, *h).error() == job_errc::no_template);

    // And back: the same notify params, field for field.
    const bridge::notify_params back = bridge::to_notify(*j);
    CHECK(back.job_id == n.job_id);
    CHECK(back.prevhash == n.prevhash);
    CHECK(back.coinb1 == n.coinb1);
    CHECK(back.coinb2 == n.coinb2);
    CHECK(back.merkle_branch == n.merkle_branch);
    CHECK(back.version == n.version);
    CHECK(back.nbits == n.nbits);
    CHECK(back.ntime == n.ntime);
    CHECK(back.clean_jobs == n.clean_jobs);
}

TEST_CASE("job: a template on block 840000 notifies the prevhash and numbers cpuminer received") {
    // Source: stratum.md §3: block 840000's display hash and the captured notify.
    const auto& nv = test::vector_json("stratum_cpuminer.json")["notify"];
    rapidjson::Document d = test::vector_member_copy("getblocktemplate.json", "core_regtest");
    d["previousblockhash"].SetString("0000000000000000000320283a032748cef8227873ff4872689bf23f1cda83a5",
                                     d.GetAllocator());
    d["bits"].SetString("17034219", d.GetAllocator());
    d["target"].SetString(compact_to_target(0x17034219u).target.to_hex().c_str(), d.GetAllocator());
    d["curtime"].SetUint(0x6b02c290u);
    d["mintime"].SetUint(0x6b02c000u);
    d["height"].SetInt(840001);
    auto j = bridge::make_job(parse(d, network::bitcoin_mainnet), spec_for(p2wpkh_payout(), "/solobridge/"));
    REQUIRE_MESSAGE(j, j.error().message());
    const bridge::notify_params n = bridge::to_notify(*j);
    CHECK(n.job_id == "1a");
    CHECK(n.prevhash == str(nv, "prevhash"));
    CHECK(n.version == str(nv, "version"));
    CHECK(n.nbits == str(nv, "nbits"));
    CHECK(n.ntime == str(nv, "ntime"));
    CHECK(n.clean_jobs);
    auto back = bridge::prevhash_from_stratum(n.prevhash);
    REQUIRE(back);
    CHECK(*back == j->prev_block);
    // The scriptSig starts with the height push, as at block 840000 (0340d10c) + 1.
    CHECK(to_hex(script_sig_of(*j)).rfind("0341d10c", 0) == 0);
}

TEST_CASE("coinbase: coinb1 and coinb2 of a plain template stay within 300 bytes") {
    const bytes p2wsh = unhex("00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262");
    const std::string tag(config::max_coinbase_tag_bytes, 't');
    for (bool segwit : {false, true}) {
        CAPTURE(segwit);
        auto j = bridge::make_job(regtest_h1_template(segwit), spec_for(p2wsh, tag, 4, 8));
        REQUIRE(j);
        CHECK(j->coinbase.coinb1.size() + j->coinbase.coinb2.size() <= 300);
    }
}

TEST_CASE("coinbase: scriptSig stays within 100 bytes with a 40-byte tag and 8-byte extranonce2") {
    // A 40-byte tag (the config maximum) fits whole beside any height push and
    // en1 4 + en2 8; longer tags are cut to the bytes left, larger extranonces cut them
    // further, and the scriptSig never passes 100 bytes.
    const std::string tag40(config::max_coinbase_tag_bytes, 'a');
    auto t = regtest_h1_template(true);
    auto j = bridge::make_job(t, spec_for(p2wpkh_payout(), tag40, 4, 8));
    REQUIRE(j);
    CHECK(j->coinbase.tag_bytes == 40);
    CHECK(j->coinbase.script_sig_bytes == 1 + 1 + 12 + 1 + 40);
    CHECK(script_sig_of(*j).size() == j->coinbase.script_sig_bytes);

    rapidjson::Document d = test::vector_member_copy("getblocktemplate.json", "bcoin_postsegwit");
    d["height"].SetInt(0x7fffffff);  // the longest height push: 5 bytes
    auto high = parse(d);
    for (std::size_t en2 : {std::size_t{1}, std::size_t{8}, bridge::max_extranonce2_bytes}) {
        for (std::size_t tag_len : {0u, 40u, 75u, 80u, 200u}) {
            CAPTURE(en2);
            CAPTURE(tag_len);
            const std::string tag(tag_len, 'b');
            auto jj = bridge::make_job(high, spec_for(p2wpkh_payout(), tag, bridge::max_extranonce1_bytes, en2));
            REQUIRE(jj);
            const bytes sig = script_sig_of(*jj);
            CHECK(sig.size() == jj->coinbase.script_sig_bytes);
            CHECK(sig.size() <= bridge::max_coinbase_script_sig_bytes);
            CHECK(sig.size() >= bridge::min_coinbase_script_sig_bytes);
            const std::size_t fixed = 5 + 1 + bridge::max_extranonce1_bytes + en2;
            const std::size_t room = 100 - fixed - 1;
            CHECK(jj->coinbase.tag_bytes == std::min({tag_len, room, bridge::max_tag_push_bytes}));
        }
    }
}

TEST_CASE("coinbase: a cut tag never splits a UTF-8 character") {
    // 100 - (height 1 + push 1 + 4 + 16) - tag push 1 = 77 → capped at 75 bytes; a tag of
    // 2-byte characters keeps 74 of them.
    std::string tag;
    for (int i = 0; i < 60; ++i) tag += "\xc3\xa9";
    auto j = bridge::make_job(regtest_h1_template(true), spec_for(p2wpkh_payout(), tag, 4, 16));
    REQUIRE(j);
    CHECK(j->coinbase.tag_bytes == 74);
}

TEST_CASE("coinbase: BIP34 heights 1 to 16 use OP_N and 17 a one-byte push") {
    // Source: node.md §4.3 and §5.5; Core rejects 01 01 for height 1.
    for (int height = 1; height <= 17; ++height) {
        CAPTURE(height);
        rapidjson::Document d = test::vector_member_copy("getblocktemplate.json", "bcoin_presegwit");
        d["height"].SetInt(height);
        auto j = bridge::make_job(parse(d), spec_for(p2wpkh_payout(), "", 4, 4));
        REQUIRE(j);
        const bytes sig = script_sig_of(*j);
        CHECK(sig.size() >= bridge::min_coinbase_script_sig_bytes);
        if (height <= 16) {
            CHECK(sig[0] == 0x50 + height);
            CHECK(sig[1] == 8);  // the extranonce push follows
        } else {
            CHECK(sig[0] == 0x01);
            CHECK(sig[1] == 0x11);
            CHECK(sig[2] == 8);
        }
        const bytes push = bip34_height_push(height);
        CHECK(std::equal(push.begin(), push.end(), sig.begin()));
    }
}

TEST_CASE("coinbase: invalid payout scripts and extranonce sizes are refused") {
    auto t = regtest_h1_template(true);
    CHECK(bridge::make_job(t, spec_for(bytes{}, "")).error() == job_errc::payout_script_invalid);
    CHECK(bridge::make_job(t, spec_for(bytes(bridge::max_payout_script_bytes + 1, 0x51), "")).error() ==
          job_errc::payout_script_invalid);
    CHECK(bridge::make_job(t, spec_for(p2wpkh_payout(), "", 4, 0)).error() == job_errc::extranonce_size_invalid);
    CHECK(bridge::make_job(t, spec_for(p2wpkh_payout(), "", 9, 8)).error() == job_errc::extranonce_size_invalid);
    CHECK(bridge::make_job(t, spec_for(p2wpkh_payout(), "", 4, 17)).error() == job_errc::extranonce_size_invalid);
    CHECK(bridge::make_job(t, spec_for(p2wpkh_payout(), "", 0, 8)));
}

TEST_CASE("job: ids must be short printable ASCII") {
    auto t = regtest_h1_template(true);
    for (const char* bad : {"", "a b", "\x01", "0123456789abcdef0123456789abcdef0"}) {
        CAPTURE(bad);
        auto s = spec_for(p2wpkh_payout(), "");
        s.id = bad;
        CHECK(bridge::make_job(t, s).error() == job_errc::job_id_invalid);
    }
    CHECK(bridge::make_job(nullptr, spec_for(p2wpkh_payout(), "")).error() == job_errc::no_template);
}

TEST_CASE("job: extranonces of the wrong size are refused") {
    auto j = bridge::make_job(regtest_h1_template(true), spec_for(p2wpkh_payout(), "", 4, 8));
    REQUIRE(j);
    const bytes en1(4, 0), en2(8, 0), short_en2(7, 0), long_en1(5, 0);
    CHECK(bridge::rebuild_header(*j, en1, short_en2, 0, 0, 0).error() == job_errc::extranonce_size_mismatch);
    CHECK(bridge::rebuild_header(*j, long_en1, en2, 0, 0, 0).error() == job_errc::extranonce_size_mismatch);
    auto h = bridge::rebuild_header(*j, en1, en2, 0, 0, 0);
    REQUIRE(h);
    CHECK(bridge::assemble_block(*j, en1, short_en2, *h).error() == job_errc::extranonce_size_mismatch);
}

TEST_CASE("job: ntime is never below mintime") {
    rapidjson::Document d = test::vector_member_copy("getblocktemplate.json", "core_regtest");
    d["mintime"].SetUint(d["curtime"].GetUint() + 10);
    auto j = bridge::make_job(parse(d), spec_for(p2wpkh_payout(), ""));
    REQUIRE(j);
    CHECK(j->ntime == j->mintime);
}

TEST_CASE("job: version rolling keeps the job's bits outside the mask") {
    // BIP310: (job & ~mask) | (bits & mask); mask 1fffe000 (BIP320).
    CHECK(bridge::apply_version_bits(0x20000000u, 0x00000000u, 0x1fffe000u) == 0x20000000u);
    CHECK(bridge::apply_version_bits(0x20000000u, 0x1fffe000u, 0x1fffe000u) == 0x3fffe000u);
    CHECK(bridge::apply_version_bits(0x20000004u, 0xffffffffu, 0x1fffe000u) == 0x3fffe004u);
    CHECK(bridge::apply_version_bits(0x20000000u, 0x12345678u, 0) == 0x20000000u);
    auto j = bridge::make_job(regtest_h1_template(true), spec_for(p2wpkh_payout(), "", 4, 4));
    REQUIRE(j);
    const bytes zeros(4, 0);
    const std::uint32_t rolled = bridge::apply_version_bits(j->version, 0x00002000u, 0x1fffe000u);
    auto h = bridge::rebuild_header(*j, zeros, zeros, j->ntime, 0, rolled);
    REQUIRE(h);
    CHECK(static_cast<std::uint32_t>(h->version) == 0x20002000u);
}

TEST_CASE("job: stratum number and prevhash renderings round-trip") {
    CHECK(bridge::u32_to_stratum_hex(0x20000000u) == "20000000");
    CHECK(bridge::u32_to_stratum_hex(0x0000000au) == "0000000a");
    CHECK(*bridge::u32_from_stratum_hex("ABCDEF01") == 0xabcdef01u);
    CHECK_FALSE(bridge::u32_from_stratum_hex("1234567"));
    CHECK_FALSE(bridge::u32_from_stratum_hex("123456789"));
    CHECK_FALSE(bridge::prevhash_from_stratum(std::string(62, '0')));
    hash256 h{};
    for (std::size_t i = 0; i < 32; ++i) h[i] = static_cast<std::uint8_t>(i);
    CHECK(bridge::prevhash_to_stratum(h).substr(0, 16) == "0302010007060504");
    CHECK(*bridge::prevhash_from_stratum(bridge::prevhash_to_stratum(h)) == h);
}

TEST_CASE("job: malformed notify fields are refused") {
    const auto& nv = test::vector_json("stratum_cpuminer.json")["notify"];
    const auto base = [&] {
        bridge::notify_params n;
        n.job_id = str(nv, "job_id");
        n.prevhash = str(nv, "prevhash");
        n.coinb1 = str(nv, "coinb1");
        n.coinb2 = str(nv, "coinb2");
        n.version = str(nv, "version");
        n.nbits = str(nv, "nbits");
        n.ntime = str(nv, "ntime");
        return n;
    };
    REQUIRE(bridge::job_from_notify(base(), 4, 4));
    auto n = base();
    n.prevhash.pop_back();
    CHECK(bridge::job_from_notify(n, 4, 4).error() == job_errc::notify_invalid);
    n = base();
    n.merkle_branch.emplace_back("00");
    CHECK(bridge::job_from_notify(n, 4, 4).error() == job_errc::notify_invalid);
    n = base();
    n.nbits = "00000000";
    CHECK(bridge::job_from_notify(n, 4, 4).error() == job_errc::notify_invalid);
    n = base();
    n.coinb1 = "0";
    CHECK(bridge::job_from_notify(n, 4, 4).error() == job_errc::notify_invalid);
    CHECK(bridge::job_from_notify(base(), 4, 0).error() == job_errc::extranonce_size_invalid);
}

TEST_CASE("job: random extranonces give headers that commit to the assembled block") {
    // Property: for any extranonce2, the rebuilt header's merkle root is the root of
    // the assembled block, and the block's witness commitment holds.
    auto rng = test::seeded_rng(0x6a6f62);
    auto t = parse(test::vector_member_copy("getblocktemplate.json", "bcoin_postsegwit"));
    auto j = bridge::make_job(t, spec_for(p2wpkh_payout(), "/solobridge/", 4, 8));
    REQUIRE(j);
    for (int i = 0; i < 32; ++i) {
        bytes en1(4), en2(8);
        for (auto& b : en1) b = static_cast<std::uint8_t>(rng());
        for (auto& b : en2) b = static_cast<std::uint8_t>(rng());
        const auto nonce = static_cast<std::uint32_t>(rng());
        auto h = bridge::rebuild_header(*j, en1, en2, j->ntime, nonce, j->version);
        REQUIRE(h);
        auto raw = bridge::assemble_block(*j, en1, en2, *h);
        REQUIRE(raw);
        auto b = parse_block(*raw);
        REQUIRE(b);
        CHECK(merkle_root(*b) == h->merkle_root);
        CHECK(b->txs[0].outputs.back().script_pubkey == witness_commitment_script(witness_merkle_root(*b), hash256{}));
        CHECK(serialize_block(*b, true) == *raw);
    }
}

TEST_CASE("coinbase: spec from chain settings uses the configured payout tag and extranonce2 size") {
    config::chain_settings c;
    c.payout.script_pubkey = p2wpkh_payout();
    c.coinbase_tag = "/cfg/";
    c.extranonce2_size = 6;
    const bridge::coinbase_spec s = bridge::coinbase_spec_for(c);
    CHECK(std::equal(s.payout_script.begin(), s.payout_script.end(), p2wpkh_payout().begin(), p2wpkh_payout().end()));
    CHECK(s.tag == "/cfg/");
    CHECK(s.extranonce1_size == bridge::default_extranonce1_bytes);
    CHECK(s.extranonce2_size == 6);
}
