// Bitcoin block headers and blocks: 80-byte header serialization, header hash, and whole
// blocks as header || CompactSize(tx count) || transactions.
//
// Byte order: prev_block, merkle_root and hash() are in internal order (sha256d output as
// serialized); explorers display them reversed (to_hex_reversed).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "sb/core/bytes.hpp"
#include "sb/core/errors.hpp"
#include "sb/core/result.hpp"
#include "sb/core/sha256.hpp"
#include "sb/core/tx.hpp"

namespace sb {

inline constexpr std::size_t block_header_size = 80;

struct block_header {
    std::int32_t version = 0;
    hash256 prev_block{};    // internal order
    hash256 merkle_root{};   // internal order
    std::uint32_t time = 0;  // seconds since the Unix epoch
    std::uint32_t bits = 0;  // compact target
    std::uint32_t nonce = 0;

    // LE32 version || prev_block || merkle_root || LE32 time || LE32 bits || LE32 nonce.
    std::array<std::uint8_t, block_header_size> serialize() const noexcept;
    // sha256d of serialize(), internal order.
    hash256 hash() const noexcept;

    bool operator==(const block_header&) const = default;
};

// Decodes 80 serialized header bytes; every byte string of that size is a header.
block_header parse_header(std::span<const std::uint8_t, block_header_size> data) noexcept;
// Reads 80 bytes at the reader's position. Errors: read_past_end (position unchanged).
result<block_header> parse_header(byte_reader& in) noexcept;

struct block {
    block_header header;
    std::vector<transaction> txs;  // coinbase first

    bool operator==(const block&) const = default;
};

// Parses a whole serialized block filling all of data. The transaction count is bounded
// by what the bytes left can hold. Errors: those of parse_header and parse_transaction,
// block_no_transactions (count 0), block_trailing_bytes.
result<block> parse_block(byte_span data);

// header || CompactSize(txs.size()) || each transaction (see serialize(transaction)).
// With with_witness, transactions that have witness data use the BIP144 format, as
// submitblock expects.
bytes serialize_block(const block& b, bool with_witness);

}  // namespace sb
