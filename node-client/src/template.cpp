#include "sb/node/template.hpp"

#include <algorithm>
#include <limits>
#include <string>

#include "sb/core/hex.hpp"
#include "sb/core/pow.hpp"
#include "sb/core/tx.hpp"
#include "sb/node/internal/json.hpp"

namespace sb::node {
namespace {

class template_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "sb.node.template"; }

    std::string message(int ev) const override {
        switch (static_cast<template_errc>(ev)) {
        case template_errc::ok: return "ok";
        case template_errc::not_an_object: return "getblocktemplate: result is not an object";
        case template_errc::height_missing: return "getblocktemplate: height missing";
        case template_errc::height_invalid: return "getblocktemplate: height is not an integer in 1..2147483647";
        case template_errc::previousblockhash_missing: return "getblocktemplate: previousblockhash missing";
        case template_errc::previousblockhash_invalid:
            return "getblocktemplate: previousblockhash is not 64 hex digits";
        case template_errc::bits_missing: return "getblocktemplate: bits missing";
        case template_errc::bits_invalid:
            return "getblocktemplate: bits is not 8 hex digits of a valid target for this chain";
        case template_errc::target_missing: return "getblocktemplate: target missing";
        case template_errc::target_invalid: return "getblocktemplate: target is not 64 hex digits";
        case template_errc::bits_target_mismatch:
            return "getblocktemplate: target differs from the target that bits encodes";
        case template_errc::version_missing: return "getblocktemplate: version missing";
        case template_errc::version_invalid: return "getblocktemplate: version is not a 32-bit integer";
        case template_errc::curtime_missing: return "getblocktemplate: curtime missing";
        case template_errc::curtime_invalid: return "getblocktemplate: curtime is not an integer in 0..2^32-1";
        case template_errc::mintime_invalid: return "getblocktemplate: mintime is not an integer in 0..2^32-1";
        case template_errc::coinbasevalue_missing: return "getblocktemplate: coinbasevalue missing";
        case template_errc::coinbasevalue_invalid:
            return "getblocktemplate: coinbasevalue is not an integer in 0..MAX_MONEY";
        case template_errc::transactions_missing: return "getblocktemplate: transactions missing";
        case template_errc::transactions_invalid:
            return "getblocktemplate: transactions is not an array of at most 100000 entries";
        case template_errc::transaction_invalid: return "getblocktemplate: transactions[] entry is not an object";
        case template_errc::transaction_data_missing: return "getblocktemplate: transactions[].data missing";
        case template_errc::transaction_data_invalid:
            return "getblocktemplate: transactions[].data is not the hex of one transaction";
        case template_errc::transaction_is_coinbase:
            return "getblocktemplate: transactions[].data is a coinbase transaction";
        case template_errc::transactions_too_large:
            return "getblocktemplate: transactions[].data exceed 8000000 bytes together";
        case template_errc::transaction_txid_missing: return "getblocktemplate: transactions[].txid missing";
        case template_errc::transaction_txid_invalid:
            return "getblocktemplate: transactions[].txid is not 64 hex digits";
        case template_errc::transaction_txid_mismatch:
            return "getblocktemplate: transactions[].txid differs from the txid of its data";
        case template_errc::transaction_hash_invalid:
            return "getblocktemplate: transactions[].hash is not 64 hex digits";
        case template_errc::transaction_hash_mismatch:
            return "getblocktemplate: transactions[].hash differs from the wtxid of its data";
        case template_errc::transaction_fee_invalid:
            return "getblocktemplate: transactions[].fee is not an integer in 0..MAX_MONEY";
        case template_errc::transaction_weight_invalid:
            return "getblocktemplate: transactions[].weight is not a non-negative integer";
        case template_errc::transaction_sigops_invalid:
            return "getblocktemplate: transactions[].sigops is not a non-negative integer";
        case template_errc::transaction_depends_invalid:
            return "getblocktemplate: transactions[].depends is not a list of earlier 1-based entries";
        case template_errc::rules_invalid: return "getblocktemplate: rules is not an array of short strings";
        case template_errc::rule_unsupported:
            return "getblocktemplate: rules has a required (!) rule this bridge does not support";
        case template_errc::default_witness_commitment_invalid:
            return "getblocktemplate: default_witness_commitment is not a hex witness commitment script";
        case template_errc::longpollid_invalid:
            return "getblocktemplate: longpollid is not a string of at most 256 characters";
        case template_errc::signet_challenge_invalid: return "getblocktemplate: signet_challenge is not hex";
        }
        return "getblocktemplate: unknown error";
    }
};

using json = rapidjson::Value;

// Largest plausible weight and sigop figures for one transaction: a whole block's worth.
constexpr std::int64_t max_tx_weight = 4 * static_cast<std::int64_t>(max_template_tx_bytes);
constexpr std::int64_t max_tx_sigops = 1'000'000;

// Required rules ("!" prefix, BIP9) this parser understands: segwit is handled by the
// coinbase builder; signet only adds signet_challenge (a trivial challenge needs no
// block solution).
constexpr std::string_view understood_required_rules[] = {"!segwit", "!signet"};

const json* find(const json& obj, const char* key) noexcept {
    const auto it = obj.FindMember(key);
    return it == obj.MemberEnd() ? nullptr : &it->value;
}

std::string_view str(const json& v) noexcept { return {v.GetString(), v.GetStringLength()}; }

bool get_int(const json& v, std::int64_t lo, std::int64_t hi, std::int64_t& out) noexcept {
    // Values above INT64_MAX (IsUint64 only) lie outside every range used here.
    if (!v.IsInt64()) return false;
    const std::int64_t x = v.GetInt64();
    if (x < lo || x > hi) return false;
    out = x;
    return true;
}

// A 64-hex-digit display-order hash as internal order.
bool get_display_hash(const json& v, hash256& out) {
    if (!v.IsString()) return false;
    auto h = from_hex_fixed<32>(str(v));
    if (!h) return false;
    out = *h;
    std::reverse(out.begin(), out.end());
    return true;
}

// Hex of at most max_bytes bytes.
bool get_hex(const json& v, std::size_t max_bytes, bytes& out) {
    if (!v.IsString()) return false;
    auto b = from_hex(str(v), 2 * max_bytes);
    if (!b) return false;
    out = std::move(*b);
    return true;
}

result<template_tx> parse_tx(const json& v, std::size_t index, std::int64_t max_money,
                             std::size_t& total_bytes) {
    if (!v.IsObject()) return template_errc::transaction_invalid;
    template_tx t;

    const json* data = find(v, "data");
    if (!data) return template_errc::transaction_data_missing;
    if (!data->IsString()) return template_errc::transaction_data_invalid;
    const std::size_t data_bytes = data->GetStringLength() / 2;
    if (data_bytes > max_template_tx_bytes) return template_errc::transaction_data_invalid;
    if (data_bytes > max_template_total_tx_bytes - total_bytes) return template_errc::transactions_too_large;
    if (!get_hex(*data, max_template_tx_bytes, t.data)) return template_errc::transaction_data_invalid;
    total_bytes += t.data.size();
    auto tx = parse_transaction(byte_span(t.data));
    if (!tx) return template_errc::transaction_data_invalid;
    if (is_coinbase(*tx)) return template_errc::transaction_is_coinbase;
    t.has_witness = tx->has_witness();
    t.txid = txid(*tx);
    // data round-trips through the parser (canonical CompactSizes, no superfluous
    // witness), so with witness data its hash is the wtxid.
    t.wtxid = t.has_witness ? sha256d(t.data) : t.txid;

    const json* id = find(v, "txid");
    if (!id) return template_errc::transaction_txid_missing;
    hash256 given{};
    if (!get_display_hash(*id, given)) return template_errc::transaction_txid_invalid;
    if (given != t.txid) return template_errc::transaction_txid_mismatch;

    if (const json* h = find(v, "hash")) {
        if (!get_display_hash(*h, given)) return template_errc::transaction_hash_invalid;
        if (given != t.wtxid) return template_errc::transaction_hash_mismatch;
    }
    if (const json* f = find(v, "fee")) {
        if (!get_int(*f, 0, max_money, t.fee)) return template_errc::transaction_fee_invalid;
    }
    if (const json* w = find(v, "weight")) {
        if (!get_int(*w, 0, max_tx_weight, t.weight)) return template_errc::transaction_weight_invalid;
    } else {
        // BIP141: base size × 3 + total size.
        t.weight = static_cast<std::int64_t>(3 * serialized_size(*tx, false) + t.data.size());
    }
    if (const json* s = find(v, "sigops")) {
        if (!get_int(*s, 0, max_tx_sigops, t.sigops)) return template_errc::transaction_sigops_invalid;
    }
    if (const json* d = find(v, "depends")) {
        // 1-based indices of earlier entries: at most index of them, each in [1, index].
        if (!d->IsArray() || d->Size() > index) return template_errc::transaction_depends_invalid;
        t.depends.reserve(d->Size());
        for (const json& e : d->GetArray()) {
            std::int64_t dep = 0;
            if (!get_int(e, 1, static_cast<std::int64_t>(index), dep))
                return template_errc::transaction_depends_invalid;
            t.depends.push_back(static_cast<std::uint32_t>(dep));
        }
    }
    return t;
}

}  // namespace

const std::error_category& template_category() noexcept {
    static const template_category_impl category;
    return category;
}

bool block_template::any_witness() const noexcept {
    return std::any_of(transactions.begin(), transactions.end(),
                       [](const template_tx& t) { return t.has_witness; });
}

bool same_work(const block_template& a, const block_template& b) noexcept {
    if (a.origin != b.origin || a.coin != b.coin || a.height != b.height || a.prev_block != b.prev_block ||
        a.version != b.version || a.bits != b.bits || a.coinbase_value != b.coinbase_value ||
        a.segwit_active != b.segwit_active || a.default_witness_commitment != b.default_witness_commitment ||
        a.signet_challenge != b.signet_challenge || a.transactions.size() != b.transactions.size())
        return false;
    return std::equal(a.transactions.begin(), a.transactions.end(), b.transactions.begin(),
                      [](const template_tx& x, const template_tx& y) { return x.txid == y.txid && x.wtxid == y.wtxid; });
}

result<block_template> parse_block_template(const json& gbt, const chain_params& chain) {
    if (!gbt.IsObject()) return template_errc::not_an_object;
    block_template t;
    t.coin = chain.coin;
    const std::int64_t max_money = chain.max_money;
    std::int64_t n = 0;

    const json* v = find(gbt, "height");
    if (!v) return template_errc::height_missing;
    // Core's heights are int; larger values cannot come from a real node.
    if (!get_int(*v, 1, std::numeric_limits<std::int32_t>::max(), n)) return template_errc::height_invalid;
    t.height = static_cast<std::uint32_t>(n);

    v = find(gbt, "previousblockhash");
    if (!v) return template_errc::previousblockhash_missing;
    if (!get_display_hash(*v, t.prev_block)) return template_errc::previousblockhash_invalid;

    v = find(gbt, "bits");
    if (!v) return template_errc::bits_missing;
    if (!v->IsString()) return template_errc::bits_invalid;
    auto bits = from_hex_fixed<4>(str(*v));
    if (!bits) return template_errc::bits_invalid;
    t.bits = load_be32(bits->data());
    const std::optional<uint256> bits_target = valid_target(t.bits, chain.pow_limit);
    if (!bits_target) return template_errc::bits_invalid;

    v = find(gbt, "target");
    if (!v) return template_errc::target_missing;
    if (!v->IsString()) return template_errc::target_invalid;
    auto target = uint256::from_hex(str(*v));
    if (!target) return template_errc::target_invalid;
    if (*target != *bits_target) return template_errc::bits_target_mismatch;
    t.target = *target;

    v = find(gbt, "version");
    if (!v) return template_errc::version_missing;
    // Core writes nVersion as a signed int; accept its unsigned rendering too.
    if (!get_int(*v, std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::uint32_t>::max(), n))
        return template_errc::version_invalid;
    t.version_u32 = static_cast<std::uint32_t>(n);
    t.version = static_cast<std::int32_t>(t.version_u32);

    v = find(gbt, "curtime");
    if (!v) return template_errc::curtime_missing;
    if (!get_int(*v, 0, std::numeric_limits<std::uint32_t>::max(), n)) return template_errc::curtime_invalid;
    t.curtime = static_cast<std::uint32_t>(n);

    t.mintime = t.curtime;
    if ((v = find(gbt, "mintime"))) {
        if (!get_int(*v, 0, std::numeric_limits<std::uint32_t>::max(), n)) return template_errc::mintime_invalid;
        t.mintime = static_cast<std::uint32_t>(n);
    }

    v = find(gbt, "coinbasevalue");
    if (!v) return template_errc::coinbasevalue_missing;
    if (!get_int(*v, 0, max_money, t.coinbase_value)) return template_errc::coinbasevalue_invalid;

    if ((v = find(gbt, "rules"))) {
        if (!v->IsArray() || v->Size() > max_template_rules) return template_errc::rules_invalid;
        for (const json& r : v->GetArray()) {
            if (!r.IsString() || r.GetStringLength() == 0 || r.GetStringLength() > max_rule_chars)
                return template_errc::rules_invalid;
            const std::string_view name = str(r);
            if (name.front() == '!' &&
                std::find(std::begin(understood_required_rules), std::end(understood_required_rules), name) ==
                    std::end(understood_required_rules))
                return template_errc::rule_unsupported;
            t.rules.emplace(name);
        }
    }

    v = find(gbt, "transactions");
    if (!v) return template_errc::transactions_missing;
    if (!v->IsArray() || v->Size() > max_template_transactions) return template_errc::transactions_invalid;
    t.transactions.reserve(v->Size());
    std::size_t total_bytes = 0;
    for (const json& e : v->GetArray()) {
        auto tx = parse_tx(e, t.transactions.size(), max_money, total_bytes);
        if (!tx) return tx.error();
        t.transactions.push_back(std::move(*tx));
    }

    if ((v = find(gbt, "default_witness_commitment"))) {
        bytes script;
        static constexpr std::uint8_t prefix[] = {0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed};
        if (!get_hex(*v, max_witness_commitment_bytes, script) || script.size() < 38 ||
            !std::equal(std::begin(prefix), std::end(prefix), script.begin()))
            return template_errc::default_witness_commitment_invalid;
        t.default_witness_commitment = std::move(script);
    }

    if ((v = find(gbt, "longpollid"))) {
        if (!v->IsString() || v->GetStringLength() > max_longpollid_chars) return template_errc::longpollid_invalid;
        t.longpollid = std::string(str(*v));
    }

    if ((v = find(gbt, "signet_challenge"))) {
        bytes challenge;
        if (!get_hex(*v, max_signet_challenge_bytes, challenge)) return template_errc::signet_challenge_invalid;
        t.signet_challenge = std::move(challenge);
    }

    // Where segwit comes by rule the rule decides (bcoin sends default_witness_commitment
    // before segwit activates, and a witness coinbase there is "unexpected-witness").
    // Otherwise (Ravencoin) see the header: its node never lists a segwit rule.
    if (chain.segwit_by_rule)
        t.segwit_active = t.rules.contains("segwit") || t.rules.contains("!segwit");
    else
        t.segwit_active = chain.has_segwit && t.any_witness();
    return t;
}

}  // namespace sb::node
