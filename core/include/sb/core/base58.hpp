// Base58 and Base58Check (the legacy address encoding: P2PKH, P2SH).
// Alphabet 123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz; each leading '1'
// stands for one leading 0x00 byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "sb/core/bytes.hpp"
#include "sb/core/errors.hpp"
#include "sb/core/result.hpp"

namespace sb {

// Length of the Base58Check checksum: the first 4 bytes of sha256d(payload).
inline constexpr std::size_t base58_checksum_bytes = 4;

// Base58 of data: one '1' per leading zero byte, then the big-endian number in base 58.
// The empty input gives the empty string. Quadratic in data.size(): meant for short
// inputs (addresses, keys).
std::string base58_encode(std::span<const std::uint8_t> data);

// Decodes Base58 into at most max_bytes bytes. Work is bounded by s.size() and max_bytes:
// an input that cannot fit is refused before any arithmetic.
// Errors: address_bad_base58 (a character outside the alphabet, whitespace included),
// address_bad_length (the decoded value would exceed max_bytes).
result<bytes> base58_decode(std::string_view s, std::size_t max_bytes);

// Base58 of payload followed by its 4-byte sha256d checksum.
std::string base58check_encode(std::span<const std::uint8_t> payload);

// Decodes Base58Check and returns the payload without its checksum (at most
// max_payload_bytes bytes).
// Errors: as base58_decode, plus address_bad_length (fewer than 4 bytes),
// address_bad_checksum.
result<bytes> base58check_decode(std::string_view s, std::size_t max_payload_bytes);

}  // namespace sb
