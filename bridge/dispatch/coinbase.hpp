// The coinbase of a solo block, split around the extranonce for Stratum (node.md §4.3,
// stratum.md §2.5 and §3):
//
//   version 2 ‖ 01 ‖ 32×00 ‖ ffffffff ‖ len ‖ scriptSig ‖ fffffffe ‖ outputs ‖ lock time 0
//   scriptSig = BIP34 height push ‖ push(extranonce1 ‖ extranonce2) ‖ [push(tag)]
//   outputs   = payout (coinbasevalue) [‖ 0-value BIP141 witness commitment, last]
//
//   coinb1 = the bytes before extranonce1, coinb2 = the bytes after extranonce2, both in
//   the legacy (txid) serialization. The block carries the BIP144 serialization with the
//   32-byte all-zero witness reserved value when, and only when, the commitment is there.
//
// Choices: version 2 and sequence 0xfffffffe (MAX_SEQUENCE_NONFINAL) are what Core's own
// miner writes and what the regtest vector (node.md §5.7) uses; lock time 0 is final at
// every height (Core ≥ 30 writes height-1, the reason it uses a non-final sequence; both
// are valid). The tag is cut, at a UTF-8 character boundary, to what fits in 100
// scriptSig bytes after the height and extranonce, and left out when nothing fits; the
// config's 40-byte maximum always fits whole beside en1 4 + en2 8 (59 bytes at most).
// With the limits below, coinb1 + coinb2 never exceeds 300 bytes (checked at compile
// time in coinbase.cpp; stock Antminer firmware chokes on large coinbases).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dispatch/errors.hpp"
#include "sb/config/config.hpp"
#include "sb/core/bytes.hpp"
#include "sb/core/result.hpp"
#include "sb/node/template.hpp"

namespace sb::bridge {

// extranonce1 bytes a consumer (Stratum session, GPU worker) owns by default, and the
// accepted ranges of both parts (stratum.md §0 item 4: miners take 2..8 for extranonce2).
inline constexpr std::size_t default_extranonce1_bytes = 4;
inline constexpr std::size_t max_extranonce1_bytes = 8;
inline constexpr std::size_t min_extranonce2_bytes = 1;
inline constexpr std::size_t max_extranonce2_bytes = 16;
// Consensus bounds of a coinbase scriptSig (bad-cb-length, consensus/tx_check.cpp).
inline constexpr std::size_t min_coinbase_script_sig_bytes = 2;
inline constexpr std::size_t max_coinbase_script_sig_bytes = 100;
// Longest payout scriptPubKey accepted (standard ones are 22..42 bytes).
inline constexpr std::size_t max_payout_script_bytes = 100;
// Longest tag pushed (a one-byte push opcode).
inline constexpr std::size_t max_tag_push_bytes = 75;

inline constexpr std::int32_t coinbase_tx_version = 2;
inline constexpr std::uint32_t coinbase_sequence = 0xfffffffeu;
inline constexpr std::uint32_t coinbase_lock_time = 0;

// What one coinbase pays and carries. The views must outlive the build_coinbase call only.
struct coinbase_spec {
    byte_span payout_script;  // scriptPubKey that receives coinbasevalue
    std::string_view tag;     // e.g. "/solobridge/"; may be cut or left out (see above)
    std::size_t extranonce1_size = default_extranonce1_bytes;
    std::size_t extranonce2_size = 8;
};

struct coinbase_split {
    bytes coinb1;                    // legacy serialization up to extranonce1
    bytes coinb2;                    // legacy serialization after extranonce2
    std::size_t extranonce1_size = 0;
    std::size_t extranonce2_size = 0;
    bool witness_commitment = false; // commitment output present → witness in the block
    std::size_t tag_bytes = 0;       // bytes of the tag written (0: left out)
    std::size_t script_sig_bytes = 0;

    bool operator==(const coinbase_split&) const = default;
};

// The spec for a fixed-address chain: its payout script, coinbase tag and extranonce2
// size, with default_extranonce1_bytes. The views point into settings.
coinbase_spec coinbase_spec_for(const config::chain_settings& settings) noexcept;

// The BIP141 commitment script for the template's transactions: witness root over
// (32 zero bytes for the coinbase ‖ each wtxid), reserved value all zero.
bytes witness_commitment_for(const node::block_template& t);

// Builds the coinbase for t (see the file comment). The commitment is added when
// t.segwit_active; when the node also sent default_witness_commitment, the two must be
// equal byte for byte.
// Errors: payout_script_invalid, extranonce_size_invalid, script_sig_too_long,
// witness_commitment_mismatch.
result<coinbase_split> build_coinbase(const node::block_template& t, const coinbase_spec& spec);

// coinb1 ‖ extranonce1 ‖ extranonce2 ‖ coinb2: the legacy serialization, whose sha256d
// is the coinbase txid. The extranonce sizes must be the split's (checked by callers).
bytes join_coinbase(const coinbase_split& c, byte_span extranonce1, byte_span extranonce2);

// The BIP144 serialization of a legacy-serialized coinbase (one input): marker 00 and
// flag 01 after the version, and a witness of one 32-byte all-zero item (the witness
// reserved value) before the lock time. legacy must be a coinbase this module built.
bytes coinbase_with_witness(byte_span legacy);

}  // namespace sb::bridge
