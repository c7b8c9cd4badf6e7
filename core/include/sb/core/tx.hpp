// Bitcoin transactions: the legacy serialization and BIP144's extended (witness)
// serialization, txid / wtxid, and coinbase helpers.
//
// Byte order: every hash256 here (prev_txid, txid, wtxid) is in internal order, the
// sha256d output as it appears inside serialized data. Explorers and RPC display the
// reverse; use to_hex_reversed for that.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "sb/core/bytes.hpp"
#include "sb/core/errors.hpp"
#include "sb/core/result.hpp"
#include "sb/core/sha256.hpp"

namespace sb {

// Smallest serialized sizes, used to bound counts read from untrusted bytes before
// anything is allocated for them.
inline constexpr std::size_t min_tx_in_bytes = 41;   // prevout 36, script length 1, sequence 4
inline constexpr std::size_t min_tx_out_bytes = 9;   // value 8, script length 1
inline constexpr std::size_t min_tx_bytes = 10;      // version 4, two counts, lock_time 4

// prev_index of a coinbase input (with prev_txid all zero).
inline constexpr std::uint32_t coinbase_prev_index = 0xffffffffu;

struct tx_in {
    hash256 prev_txid{};          // internal order
    std::uint32_t prev_index = 0;
    bytes script_sig;
    std::uint32_t sequence = 0xffffffffu;
    std::vector<bytes> witness;   // BIP141 witness stack; empty when none

    bool operator==(const tx_in&) const = default;
};

struct tx_out {
    std::int64_t value = 0;       // satoshis; not range-checked by the parser
    bytes script_pubkey;

    bool operator==(const tx_out&) const = default;
};

struct transaction {
    std::int32_t version = 1;
    std::vector<tx_in> inputs;
    std::vector<tx_out> outputs;
    std::uint32_t lock_time = 0;

    // True when some input has a non-empty witness stack (Core's HasWitness).
    bool has_witness() const noexcept;

    bool operator==(const transaction&) const = default;
};

// Reads one transaction at the reader's position, legacy or BIP144 extended format.
// As in Core, a zero input count is read as the BIP144 marker: the next byte is the flag;
// flag 0 means a transaction with no inputs and no outputs, flag 1 means witness data
// follows the outputs, any other flag is rejected. Counts are checked against the bytes
// left before anything is allocated.
// Errors: read_past_end, non_canonical_varint, size_too_large, tx_bad_witness_flag,
// tx_superfluous_witness (flag 1 but every witness stack empty). On error the reader's
// position is unchanged.
result<transaction> parse_transaction(byte_reader& in);

// Parses exactly one transaction filling all of data.
// Errors: as above, plus tx_trailing_bytes.
result<transaction> parse_transaction(byte_span data);

// Serialization. With with_witness and has_witness() the BIP144 extended format is
// written; otherwise the legacy format (so with_witness on a witness-less transaction
// gives the same bytes as without).
bytes serialize(const transaction& tx, bool with_witness);
// Appends the serialization to out.
void serialize(byte_writer& out, const transaction& tx, bool with_witness);
// Size in bytes of serialize(tx, with_witness).
std::size_t serialized_size(const transaction& tx, bool with_witness) noexcept;

// sha256d of the legacy serialization, internal order.
hash256 txid(const transaction& tx);
// sha256d of the extended serialization, internal order; equals txid() without witness.
hash256 wtxid(const transaction& tx);

// Txid of one serialized transaction (either format) straight from its bytes, without
// building a transaction or re-serializing: the marker, flag and witness section are
// skipped while hashing. Errors: as parse_transaction(byte_span).
result<hash256> txid_from_serialized(byte_span data);

// True for a coinbase: exactly one input, spending prev_txid all zero with
// prev_index 0xffffffff.
bool is_coinbase(const transaction& tx) noexcept;

}  // namespace sb
