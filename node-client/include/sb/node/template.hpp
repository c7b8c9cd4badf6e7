// Block templates: getblocktemplate results (BIP22/BIP23, BIP145; node.md §4.2) checked
// and turned into typed fields (node_rpc.hpp fetch_block_template; the reader is in
// sb/node/internal/json.hpp). Accepts what Bitcoin Core, bcoin (toolchain.md §4.6, §4.8)
// and Ravencoin (node.md §2.3, §4.6) return; anything else that is well-formed also
// parses.
//
// Byte order: every hash256 here is in internal order (sha256d output as serialized);
// the RPC shows previousblockhash, txid and hash byte-reversed and they are reversed
// while parsing.
//
// The input is untrusted: nothing throws, wrong types and out-of-range values give a
// template_errc naming the field, and every count is bounded before anything is
// allocated for it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "sb/core/bytes.hpp"
#include "sb/core/chain.hpp"
#include "sb/core/result.hpp"
#include "sb/core/sha256.hpp"
#include "sb/core/uint256.hpp"

namespace sb::node {

// ---- limits ------------------------------------------------------------------------

// Transactions in one template: well above what a block can hold (the smallest
// transaction is 60 bytes, 240 weight units, so 4,000,000 weight fits 16,666 of them;
// Ravencoin's 8,000,000 twice that).
inline constexpr std::size_t max_template_transactions = 100'000;
// Bytes of one transaction's data (MAX_BLOCK_WEIGHT: no transaction is larger).
inline constexpr std::size_t max_template_tx_bytes = 4'000'000;
// Bytes of all transactions' data together (Ravencoin's 8 MB size limit).
inline constexpr std::size_t max_template_total_tx_bytes = 8'000'000;
// Entries in `rules`, and characters in one rule name.
inline constexpr std::size_t max_template_rules = 64;
inline constexpr std::size_t max_rule_chars = 64;
// Characters of longpollid (Core: 64-hex tip hash plus a decimal counter).
inline constexpr std::size_t max_longpollid_chars = 256;
// Bytes of default_witness_commitment (Core writes exactly 38) and signet_challenge.
inline constexpr std::size_t max_witness_commitment_bytes = 80;
inline constexpr std::size_t max_signet_challenge_bytes = 10'000;

// ---- errors ------------------------------------------------------------------------

// One code per field and failure; messages name the getblocktemplate field.
enum class template_errc {
    ok = 0,
    not_an_object,
    height_missing,
    height_invalid,                    // not an integer in [1, 2^32-1]
    previousblockhash_missing,
    previousblockhash_invalid,         // not 64 hex digits
    bits_missing,
    bits_invalid,                      // not 8 hex digits, or not a valid target for the chain
    target_missing,
    target_invalid,                    // not 64 hex digits
    bits_target_mismatch,              // target != the target bits encodes
    version_missing,
    version_invalid,                   // not an integer in [-2^31, 2^32-1]
    curtime_missing,
    curtime_invalid,                   // not an integer in [0, 2^32-1]
    mintime_invalid,
    coinbasevalue_missing,
    coinbasevalue_invalid,             // not an integer in [0, MAX_MONEY]
    transactions_missing,
    transactions_invalid,              // not an array, or more than max_template_transactions
    transaction_invalid,               // an element is not an object
    transaction_data_missing,
    transaction_data_invalid,          // not hex, too large, or not one transaction
    transaction_is_coinbase,
    transactions_too_large,            // more than max_template_total_tx_bytes together
    transaction_txid_missing,
    transaction_txid_invalid,
    transaction_txid_mismatch,         // txid differs from the txid of data
    transaction_hash_invalid,
    transaction_hash_mismatch,         // hash differs from the wtxid of data
    transaction_fee_invalid,
    transaction_weight_invalid,
    transaction_sigops_invalid,
    transaction_depends_invalid,       // not an array of 1-based indices of earlier entries
    rules_invalid,                     // not an array of short strings
    rule_unsupported,                  // a "!"-prefixed rule this parser does not understand (BIP9)
    default_witness_commitment_invalid,  // not hex, or not an OP_RETURN aa21a9ed commitment
    longpollid_invalid,
    signet_challenge_invalid,
};

const std::error_category& template_category() noexcept;

inline std::error_code make_error_code(template_errc e) noexcept {
    return {static_cast<int>(e), template_category()};
}

}  // namespace sb::node

template <>
struct std::is_error_code_enum<sb::node::template_errc> : std::true_type {};

namespace sb::node {

// ---- the template ------------------------------------------------------------------

struct template_tx {
    bytes data;                 // serialized as the node sent it (BIP144 format with witness)
    hash256 txid{};             // internal order; checked against data
    hash256 wtxid{};            // internal order; computed from data (checked against `hash`)
    bool has_witness = false;   // some input carries witness data
    std::int64_t fee = 0;       // base units; 0 when the node did not say
    std::int64_t weight = 0;    // BIP141 weight units; computed from data when absent
    std::int64_t sigops = 0;    // as the node counts them (cost units post-segwit); 0 when absent
    std::vector<std::uint32_t> depends;  // 1-based indices of earlier entries it spends
};

// Where a template came from.
enum class template_origin : std::uint8_t {
    node,         // the node's getblocktemplate
    p2p_headers,  // built from P2P-validated headers alone (p2p/header_template.hpp):
                  // coinbase only, no transactions
};

struct block_template {
    coin_type coin = coin_type::bitcoin;
    template_origin origin = template_origin::node;
    std::uint32_t height = 0;          // height of the block to build, ≥ 1
    hash256 prev_block{};              // internal order
    std::int32_t version = 0;          // nVersion as the header carries it
    std::uint32_t version_u32 = 0;     // the same 32 bits unsigned (Stratum renders this)
    std::uint32_t bits = 0;            // compact target
    uint256 target;                    // == compact_to_target(bits)
    std::uint32_t curtime = 0;         // Unix seconds
    std::uint32_t mintime = 0;         // Unix seconds; curtime when the node gave none
    std::int64_t coinbase_value = 0;   // base units: subsidy + fees
    std::vector<template_tx> transactions;  // block order, coinbase excluded
    std::set<std::string, std::less<>> rules;
    // Whether the coinbase must carry a BIP141 witness commitment. Bitcoin: "segwit" or
    // "!segwit" in rules (never from default_witness_commitment, which bcoin sends before
    // activation). Ravencoin: see fetch_block_template (node_rpc.hpp).
    bool segwit_active = false;
    std::optional<bytes> default_witness_commitment;  // the node's commitment script
    std::optional<std::string> longpollid;
    std::optional<bytes> signet_challenge;

    // True when some template transaction carries witness data.
    bool any_witness() const noexcept;
};

// True when a and b make the same block apart from the header time: origin, coin, height,
// parent, version, bits, coinbase value, the rules that shape the coinbase (segwit_active,
// witness commitment, signet challenge) and the transactions (txids and wtxids, in order).
// curtime, mintime and longpollid are not compared: the job's ntime moves on its own.
bool same_work(const block_template& a, const block_template& b) noexcept;

}  // namespace sb::node
