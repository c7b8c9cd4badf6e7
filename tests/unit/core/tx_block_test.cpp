// Transactions, blocks and merkle trees against tests/vectors/bitcoin.json (node.md §5.1,
// §5.3–5.7) and block413567.raw (Core's bench block, 1,557 transactions).
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "sb/core/block.hpp"
#include "sb/core/bytes.hpp"
#include "sb/core/hex.hpp"
#include "sb/core/merkle.hpp"
#include "sb/core/sha256.hpp"
#include "sb/core/tx.hpp"
#include "seed.hpp"
#include "vectors.hpp"

using namespace sb;

namespace {

const rapidjson::Value& vec(const char* section) {
    const auto& doc = test::vector_json("bitcoin.json");
    REQUIRE(doc.HasMember(section));
    return doc[section];
}

std::string str(const rapidjson::Value& v, const char* key) {
    REQUIRE(v.HasMember(key));
    REQUIRE(v[key].IsString());
    return v[key].GetString();
}

bytes unhex(const std::string& s) {
    auto r = from_hex(s);
    REQUIRE(r);
    return *r;
}


const rapidjson::Value& block413567_vec() { return vec("mainnet_headers")["413567"]; }

block parse_block413567() {
    const bytes raw = test::read_vector_bytes("block413567.raw");
    auto b = parse_block(raw);
    REQUIRE_MESSAGE(b, b.error().message());
    return std::move(*b);
}

bytes random_bytes(std::mt19937_64& rng, std::size_t max_len) {
    // Lengths around the CompactSize 0xfd boundary show up now and then.
    const std::size_t n = rng() % 8 == 0 ? 0xfa + rng() % 8 : rng() % (max_len + 1);
    bytes b(n);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    return b;
}

transaction random_transaction(std::mt19937_64& rng) {
    transaction tx;
    tx.version = static_cast<std::int32_t>(rng());
    tx.lock_time = static_cast<std::uint32_t>(rng());
    // At least one input: a legacy transaction with no inputs but some outputs cannot be
    // told from the BIP144 marker (its round trip is covered separately).
    tx.inputs.resize(1 + rng() % 4);
    const bool witness = rng() % 2 == 0;
    for (auto& in : tx.inputs) {
        for (auto& b : in.prev_txid) b = static_cast<std::uint8_t>(rng());
        in.prev_index = static_cast<std::uint32_t>(rng());
        in.script_sig = random_bytes(rng, 120);
        in.sequence = static_cast<std::uint32_t>(rng());
        if (witness) {
            in.witness.resize(rng() % 4);
            for (auto& item : in.witness) item = random_bytes(rng, 80);
        }
    }
    if (witness && !tx.has_witness()) tx.inputs.back().witness.push_back(bytes{});
    tx.outputs.resize(rng() % 4);
    for (auto& out : tx.outputs) {
        out.value = static_cast<std::int64_t>(rng());
        out.script_pubkey = random_bytes(rng, 60);
    }
    return tx;
}

transaction without_witness(transaction tx) {
    for (auto& in : tx.inputs) in.witness.clear();
    return tx;
}

}  // namespace

// ---- transactions ------------------------------------------------------------------

TEST_CASE("tx: genesis coinbase parses and re-serializes identically") {
    const auto& v = vec("genesis_coinbase_mainnet");
    const bytes raw = unhex(str(v, "hex"));
    auto tx = parse_transaction(raw);
    REQUIRE_MESSAGE(tx, tx.error().message());
    CHECK(tx->version == 1);
    REQUIRE(tx->inputs.size() == 1);
    REQUIRE(tx->outputs.size() == 1);
    CHECK(tx->outputs[0].value == 5000000000);
    CHECK(tx->inputs[0].script_sig.size() == 0x4d);
    CHECK(tx->lock_time == 0);
    CHECK(is_coinbase(*tx));
    CHECK_FALSE(tx->has_witness());
    CHECK(serialize(*tx, false) == raw);
    CHECK(serialize(*tx, true) == raw);
    CHECK(serialized_size(*tx, true) == raw.size());
    CHECK(to_hex_reversed(txid(*tx)) == str(v, "txid"));
    CHECK(txid(*tx) == test::hash_from_display(str(v, "txid")));
    CHECK(wtxid(*tx) == txid(*tx));
    auto direct = txid_from_serialized(raw);
    REQUIRE(direct);
    CHECK(*direct == txid(*tx));
}

TEST_CASE("tx: block 413567 coinbase txid matches") {
    const auto& v = vec("block413567_coinbase");
    const bytes raw = unhex(str(v, "hex"));
    auto tx = parse_transaction(raw);
    REQUIRE(tx);
    CHECK(is_coinbase(*tx));
    CHECK(tx->outputs.size() == 1);
    CHECK(tx->outputs[0].value == 2531310238);
    CHECK(to_hex(tx->outputs[0].script_pubkey) == "76a914c825a1ecf2a6830c4401620c3a16f1995057c2ab88ac");
    CHECK(to_hex(byte_span(tx->inputs[0].script_sig).first(4)) == "037f4f06");
    CHECK(to_hex_reversed(txid(*tx)) == str(v, "txid"));
    CHECK(serialize(*tx, true) == raw);
}

TEST_CASE("tx: regtest coinbase with witness gives both serializations and ids") {
    const auto& v = vec("regtest_block_height_1");
    const bytes with = unhex(str(v, "coinbase_with_witness"));
    const bytes without = unhex(str(v, "coinbase_no_witness"));
    auto tx = parse_transaction(with);
    REQUIRE_MESSAGE(tx, tx.error().message());
    CHECK(tx->has_witness());
    CHECK(is_coinbase(*tx));
    REQUIRE(tx->inputs[0].witness.size() == 1);
    CHECK(tx->inputs[0].witness[0] == bytes(32, 0));
    CHECK(tx->inputs[0].sequence == 0xfffffffeu);
    CHECK(serialize(*tx, true) == with);
    CHECK(serialize(*tx, false) == without);
    CHECK(serialized_size(*tx, true) == with.size());
    CHECK(serialized_size(*tx, false) == without.size());
    CHECK(to_hex_reversed(txid(*tx)) == str(v, "txid"));
    CHECK(to_hex_reversed(wtxid(*tx)) == str(v, "wtxid"));
    auto from_with = txid_from_serialized(with);
    auto from_without = txid_from_serialized(without);
    REQUIRE(from_with);
    REQUIRE(from_without);
    CHECK(*from_with == txid(*tx));
    CHECK(*from_without == txid(*tx));

    auto legacy = parse_transaction(without);
    REQUIRE(legacy);
    CHECK_FALSE(legacy->has_witness());
    CHECK(*legacy == without_witness(*tx));
}

TEST_CASE("tx: coinb1 and extranonce and coinb2 rebuild the regtest coinbase") {
    // The vector's scriptSig is 0a 51 08 <8 bytes>: OP_1 (height 1) and a push of the
    // 8-byte extranonce, whose value here is 00000000 00000001 (en1 || en2).
    const auto& v = vec("regtest_block_height_1");
    bytes rebuilt = unhex(str(v, "coinb1"));
    const bytes extranonce = unhex("0000000000000001");
    const bytes coinb2 = unhex(str(v, "coinb2"));
    rebuilt.insert(rebuilt.end(), extranonce.begin(), extranonce.end());
    rebuilt.insert(rebuilt.end(), coinb2.begin(), coinb2.end());
    CHECK(rebuilt == unhex(str(v, "coinbase_no_witness")));
    auto tx = parse_transaction(rebuilt);
    REQUIRE(tx);
    CHECK(to_hex(tx->inputs[0].script_sig) == "5108" + to_hex(extranonce));
}

TEST_CASE("tx: truncation at every byte of the genesis coinbase is an error") {
    const bytes raw = unhex(str(vec("genesis_coinbase_mainnet"), "hex"));
    for (std::size_t n = 0; n < raw.size(); ++n) {
        const byte_span part(raw.data(), n);
        auto tx = parse_transaction(part);
        REQUIRE_FALSE(tx);
        CHECK(tx.error() == core_errc::read_past_end);
        CHECK_FALSE(txid_from_serialized(part));
        byte_reader r(part);
        CHECK_FALSE(parse_transaction(r));
        CHECK(r.position() == 0);
    }
}

TEST_CASE("tx: a huge input count in a small buffer fails fast") {
    // version, CompactSize 0xffffffff inputs, then a few bytes.
    const bytes raw = unhex("01000000feffffffff" + std::string(40, '0'));
    const auto start = std::chrono::steady_clock::now();
    auto tx = parse_transaction(raw);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    REQUIRE_FALSE(tx);
    CHECK((tx.error() == core_errc::read_past_end || tx.error() == core_errc::size_too_large));
    CHECK(elapsed < std::chrono::milliseconds(50));

    // Just under Core's MAX_SIZE, still far more than the bytes can hold.
    const bytes big = unhex("01000000fe00000002" + std::string(80, '0'));
    CHECK(parse_transaction(big).error() == core_errc::read_past_end);
    // The same for outputs, witness stacks and witness items.
    const bytes outs = unhex("0100000001" + std::string(64, '0') + "ffffffff00ffffffff" + "fe00000002" +
                             std::string(8, '0'));
    CHECK(parse_transaction(outs).error() == core_errc::read_past_end);
    const bytes items = unhex("010000000001" "01" + std::string(64, '0') + "ffffffff00ffffffff" "00" +
                              "fe00000002" + std::string(8, '0'));
    CHECK(parse_transaction(items).error() == core_errc::read_past_end);
}

TEST_CASE("tx: witness flag other than 1 is rejected") {
    const auto& v = vec("regtest_block_height_1");
    bytes raw = unhex(str(v, "coinbase_with_witness"));
    REQUIRE(raw[4] == 0x00);
    REQUIRE(raw[5] == 0x01);
    for (std::uint8_t flag : {std::uint8_t(2), std::uint8_t(3), std::uint8_t(0x80), std::uint8_t(0xff)}) {
        raw[5] = flag;
        CHECK(parse_transaction(raw).error() == core_errc::tx_bad_witness_flag);
        CHECK(txid_from_serialized(raw).error() == core_errc::tx_bad_witness_flag);
    }
}

TEST_CASE("tx: witness flag with only empty witness stacks is superfluous") {
    // marker, flag, one input, no outputs, one empty stack.
    const std::string input = std::string(64, '0') + "ffffffff00ffffffff";
    const bytes raw = unhex("02000000" "0001" "01" + input + "00" "00" "00000000");
    CHECK(parse_transaction(raw).error() == core_errc::tx_superfluous_witness);
    // With no inputs at all there is no witness either.
    CHECK(parse_transaction(unhex("02000000" "0001" "00" "00" "00000000")).error() ==
          core_errc::tx_superfluous_witness);
    // One stack holding one empty item counts as witness (Core's HasWitness).
    const bytes one_empty_item = unhex("02000000" "0001" "01" + input + "00" "01" "00" "00000000");
    auto tx = parse_transaction(one_empty_item);
    REQUIRE(tx);
    CHECK(tx->has_witness());
    CHECK(serialize(*tx, true) == one_empty_item);
}

TEST_CASE("tx: marker with flag 0 is the empty transaction as in Core") {
    const bytes raw = unhex("01000000" "00" "00" "11223344");
    auto tx = parse_transaction(raw);
    REQUIRE(tx);
    CHECK(tx->inputs.empty());
    CHECK(tx->outputs.empty());
    CHECK(tx->lock_time == 0x44332211u);
    CHECK(serialize(*tx, true) == raw);
    CHECK(serialize(*tx, false) == raw);
}

TEST_CASE("tx: trailing bytes after a transaction are an error") {
    bytes raw = unhex(str(vec("genesis_coinbase_mainnet"), "hex"));
    raw.push_back(0x00);
    CHECK(parse_transaction(raw).error() == core_errc::tx_trailing_bytes);
    CHECK(txid_from_serialized(raw).error() == core_errc::tx_trailing_bytes);
    byte_reader r(raw);
    auto tx = parse_transaction(r);
    REQUIRE(tx);
    CHECK(r.remaining() == 1);
}

TEST_CASE("tx: random transactions round-trip with and without witness") {
    auto rng = test::seeded_rng(0x7478);
    for (int i = 0; i < 300; ++i) {
        const transaction tx = random_transaction(rng);
        const bytes with = serialize(tx, true);
        const bytes without = serialize(tx, false);
        CHECK(with.size() == serialized_size(tx, true));
        CHECK(without.size() == serialized_size(tx, false));
        auto back = parse_transaction(with);
        REQUIRE_MESSAGE(back, back.error().message());
        CHECK(*back == tx);
        auto legacy = parse_transaction(without);
        REQUIRE_MESSAGE(legacy, legacy.error().message());
        CHECK(*legacy == without_witness(tx));
        CHECK(txid(*back) == sha256d(without));
        CHECK(wtxid(*back) == sha256d(with));
        auto direct = txid_from_serialized(with);
        REQUIRE(direct);
        CHECK(*direct == txid(tx));
        CHECK((tx.has_witness() ? with != without : with == without));
    }
}

// ---- blocks --------------------------------------------------------------------------

TEST_CASE("block: genesis block parses and its header hashes to the genesis hash") {
    const auto& g = vec("genesis_headers")["mainnet"];
    bytes raw = unhex(str(g, "header"));
    raw.push_back(0x01);
    const bytes cb = unhex(str(vec("genesis_coinbase_mainnet"), "hex"));
    raw.insert(raw.end(), cb.begin(), cb.end());
    REQUIRE(raw.size() == 285);
    auto b = parse_block(raw);
    REQUIRE(b);
    REQUIRE(b->txs.size() == 1);
    CHECK(to_hex_reversed(b->header.hash()) == str(g, "hash"));
    CHECK(b->header.version == 1);
    CHECK(b->header.bits == 0x1d00ffffu);
    CHECK(b->header.nonce == 2083236893u);
    CHECK(b->header.merkle_root == txid(b->txs[0]));
    CHECK(merkle_root(*b) == b->header.merkle_root);
    CHECK(serialize_block(*b, true) == raw);
}

TEST_CASE("block: headers round-trip and hash for every vector header") {
    const auto& headers = vec("genesis_headers");
    for (auto it = headers.MemberBegin(); it != headers.MemberEnd(); ++it) {
        CAPTURE(it->name.GetString());
        const bytes raw = unhex(str(it->value, "header"));
        REQUIRE(raw.size() == block_header_size);
        byte_reader r(raw);
        auto h = parse_header(r);
        REQUIRE(h);
        CHECK(r.empty());
        CHECK(to_hex(h->serialize()) == to_hex(raw));
        CHECK(to_hex_reversed(h->hash()) == str(it->value, "hash"));
    }
    const bytes short_header(79, 0);
    byte_reader r(short_header);
    CHECK(parse_header(r).error() == core_errc::read_past_end);
    CHECK(r.position() == 0);
}

TEST_CASE("block: 413567 parses all transactions and re-serializes byte for byte") {
    const bytes raw = test::read_vector_bytes("block413567.raw");
    REQUIRE(raw.size() == 999887);
    const auto start = std::chrono::steady_clock::now();
    auto b = parse_block(raw);
    const auto parse_us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
    MESSAGE("parse_block(413567): " << parse_us << " us");
    REQUIRE_MESSAGE(b, b.error().message());
    const auto& v = block413567_vec();
    CHECK(b->txs.size() == v["tx_count"].GetUint());
    CHECK(to_hex_reversed(b->header.hash()) == str(v, "hash"));
    CHECK(to_hex(b->header.serialize()) == str(v, "header"));
    CHECK(b->header.time == v["time"].GetUint());
    CHECK(b->header.nonce == v["nonce"].GetUint());
    CHECK(b->header.bits == 0x18058436u);
    CHECK(is_coinbase(b->txs[0]));
    CHECK(std::none_of(b->txs.begin() + 1, b->txs.end(), [](const transaction& tx) { return is_coinbase(tx); }));
    // Pre-segwit: no transaction carries a witness, so both serializations agree.
    CHECK(std::none_of(b->txs.begin(), b->txs.end(), [](const transaction& tx) { return tx.has_witness(); }));
    CHECK(serialize_block(*b, true) == raw);
    CHECK(serialize_block(*b, false) == raw);
}

TEST_CASE("block: hostile blocks are rejected") {
    const auto& g = vec("genesis_headers")["mainnet"];
    const bytes header = unhex(str(g, "header"));
    const bytes cb = unhex(str(vec("genesis_coinbase_mainnet"), "hex"));

    bytes no_txs = header;
    no_txs.push_back(0x00);
    CHECK(parse_block(no_txs).error() == core_errc::block_no_transactions);

    bytes huge = header;
    for (std::uint8_t b : {0xfe, 0xff, 0xff, 0xff, 0x01}) huge.push_back(b);
    huge.insert(huge.end(), cb.begin(), cb.end());
    CHECK(parse_block(huge).error() == core_errc::read_past_end);

    bytes trailing = header;
    trailing.push_back(0x01);
    trailing.insert(trailing.end(), cb.begin(), cb.end());
    trailing.push_back(0x00);
    CHECK(parse_block(trailing).error() == core_errc::block_trailing_bytes);

    bytes two_claimed = header;
    two_claimed.push_back(0x02);
    two_claimed.insert(two_claimed.end(), cb.begin(), cb.end());
    CHECK(parse_block(two_claimed).error() == core_errc::read_past_end);

    for (std::size_t n = 0; n < 80; ++n) CHECK(parse_block(byte_span(header.data(), n)).error() == core_errc::read_past_end);
}

TEST_CASE("block: random blocks round-trip with and without witness") {
    auto rng = test::seeded_rng(0x626c);
    for (int i = 0; i < 30; ++i) {
        block b;
        b.header.version = static_cast<std::int32_t>(rng());
        for (auto& x : b.header.prev_block) x = static_cast<std::uint8_t>(rng());
        b.header.time = static_cast<std::uint32_t>(rng());
        b.header.bits = static_cast<std::uint32_t>(rng());
        b.header.nonce = static_cast<std::uint32_t>(rng());
        b.txs.resize(1 + rng() % 6);
        for (auto& tx : b.txs) tx = random_transaction(rng);
        b.header.merkle_root = merkle_root(b);
        auto back = parse_block(serialize_block(b, true));
        REQUIRE(back);
        CHECK(*back == b);
        auto stripped = parse_block(serialize_block(b, false));
        REQUIRE(stripped);
        CHECK(stripped->header == b.header);
        CHECK(merkle_root(*stripped) == b.header.merkle_root);
    }
}

TEST_CASE("block: regtest header from the coinbase txid reproduces header_nonce0 and its hash") {
    const auto& v = vec("regtest_block_height_1");
    auto cb = parse_transaction(unhex(str(v, "coinbase_with_witness")));
    REQUIRE(cb);
    const auto& g = vec("genesis_headers")["regtest"];
    block b;
    b.header.version = 0x20000000;
    b.header.prev_block = test::hash_from_display(str(g, "hash"));
    b.header.time = 1296688603;
    b.header.bits = 0x207fffff;
    b.header.nonce = 0;
    b.txs.push_back(*cb);
    b.header.merkle_root = merkle_root(b);
    CHECK(b.header.merkle_root == txid(*cb));
    CHECK(fold_coinbase_branch(txid(*cb), coinbase_merkle_branch({})) == b.header.merkle_root);
    CHECK(to_hex(b.header.serialize()) == str(v, "header_nonce0"));
    CHECK(to_hex_reversed(b.header.hash()) == str(v, "hash"));

    // The submitblock form carries the witness; parsing it back gives the same block.
    const bytes raw = serialize_block(b, true);
    auto back = parse_block(raw);
    REQUIRE(back);
    CHECK(*back == b);
}

// ---- merkle trees ----------------------------------------------------------------------

TEST_CASE("merkle: 413567 root recomputed equals the header root") {
    const block b = parse_block413567();
    const auto& v = block413567_vec();
    const hash256 root = merkle_root(b);
    CHECK(root == b.header.merkle_root);
    CHECK(to_hex_reversed(root) == str(v, "merkle_root_display"));
    CHECK(to_hex_reversed(txid(b.txs[0])) == str(v, "coinbase_txid_display"));

    std::vector<hash256> leaves;
    const bytes raw = test::read_vector_bytes("block413567.raw");
    byte_reader r(raw);
    REQUIRE(r.skip(block_header_size) == std::error_code{});
    REQUIRE(r.compact_size());
    while (!r.empty()) {
        const std::size_t begin = r.position();
        REQUIRE(parse_transaction(r));
        auto id = txid_from_serialized(byte_span(raw).subspan(begin, r.position() - begin));
        REQUIRE(id);
        leaves.push_back(*id);
    }
    REQUIRE(leaves.size() == b.txs.size());
    bool mutated = true;
    CHECK(merkle_root(leaves, &mutated) == root);
    CHECK_FALSE(mutated);
}

TEST_CASE("merkle: 413567 stratum branch folds from the coinbase txid to the root") {
    const block b = parse_block413567();
    const auto& v = block413567_vec();
    std::vector<hash256> others;
    for (std::size_t i = 1; i < b.txs.size(); ++i) others.push_back(txid(b.txs[i]));
    const auto branch = coinbase_merkle_branch(others);
    REQUIRE(branch.size() == v["merkle_branch_levels"].GetUint());
    // Given as internal order: the hex is the bytes as they go into sha256d(h || b).
    const auto& first_two = v["merkle_branch_first_two_internal"];
    CHECK(to_hex(branch[0]) == first_two[0].GetString());
    CHECK(to_hex(branch[1]) == first_two[1].GetString());
    // node.md §5.4 lists all eleven; spot-check the last.
    CHECK(to_hex(branch[10]) == "e1e99064bbd336f5add09085fdcebfc1482e91f9f581f4b12f492ed360768adc");
    CHECK(fold_coinbase_branch(txid(b.txs[0]), branch) == b.header.merkle_root);
}

TEST_CASE("merkle: witness commitment of a coinbase-only block matches the template and the regtest output") {
    const std::string expected = str(vec("witness_commitment_coinbase_only_template"), "script");
    const auto& v = vec("regtest_block_height_1");
    auto cb = parse_transaction(unhex(str(v, "coinbase_with_witness")));
    REQUIRE(cb);
    block b;
    b.txs.push_back(*cb);
    const hash256 root = witness_merkle_root(b);
    CHECK(root == hash256{});
    const hash256 reserved{};
    const bytes script = witness_commitment_script(root, reserved);
    CHECK(script.size() == 38);
    CHECK(to_hex(script) == expected);
    REQUIRE(cb->outputs.size() == 2);
    CHECK(cb->outputs.back().script_pubkey == script);
    CHECK(cb->outputs.back().value == 0);
}

TEST_CASE("merkle: small trees follow the duplicate-last rule") {
    hash256 a{}, b{}, c{};
    a[0] = 1;
    b[0] = 2;
    c[0] = 3;
    auto pair = [](const hash256& l, const hash256& r) {
        std::uint8_t buf[64];
        std::copy(l.begin(), l.end(), buf);
        std::copy(r.begin(), r.end(), buf + 32);
        return sha256d(buf);
    };
    using leaves = std::vector<hash256>;
    CHECK(merkle_root(leaves{}) == hash256{});
    CHECK(merkle_root(leaves{a}) == a);
    CHECK(merkle_root(leaves{a, b}) == pair(a, b));
    CHECK(merkle_root(leaves{a, b, c}) == pair(pair(a, b), pair(c, c)));
    bool mutated = false;
    CHECK(merkle_root(leaves{a, b, c, c}, &mutated) == merkle_root(leaves{a, b, c}));
    CHECK(mutated);
    merkle_root(leaves{a, b, c}, &mutated);
    CHECK_FALSE(mutated);

    CHECK(coinbase_merkle_branch({}).empty());
    const std::vector<hash256> bc{b, c};
    const auto branch = coinbase_merkle_branch(bc);
    REQUIRE(branch.size() == 2);
    CHECK(branch[0] == b);
    CHECK(branch[1] == pair(c, c));
}

TEST_CASE("merkle: folding the coinbase branch gives the root for every tree size up to 70") {
    auto rng = test::seeded_rng(0x6d6b);
    for (std::size_t n = 1; n <= 70; ++n) {
        CAPTURE(n);
        std::vector<hash256> leaves(n);
        for (auto& h : leaves)
            for (auto& x : h) x = static_cast<std::uint8_t>(rng());
        const auto branch = coinbase_merkle_branch(std::span<const hash256>(leaves).subspan(1));
        std::size_t levels = 0;
        while ((std::size_t{1} << levels) < n) ++levels;
        CHECK(branch.size() == levels);
        CHECK(fold_coinbase_branch(leaves[0], branch) == merkle_root(leaves));
    }
}
