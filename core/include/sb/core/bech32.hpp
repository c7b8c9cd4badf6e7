// Bech32 (BIP173) and Bech32m (BIP350) strings, and segwit addresses built on them.
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

// Longest Bech32 string BIP173 allows (hrp, separator, data and checksum).
inline constexpr std::size_t bech32_max_length = 90;
// Checksum length in 5-bit characters.
inline constexpr std::size_t bech32_checksum_length = 6;
// Highest segwit version (OP_16).
inline constexpr std::uint8_t segwit_max_version = 16;

// Which checksum constant a string uses: 1 (BIP173) or 0x2bc830a3 (BIP350).
enum class bech32_variant : std::uint8_t { bech32, bech32m };

// A decoded Bech32/Bech32m string.
struct bech32_decoded {
    std::string hrp;    // lower case
    bytes data;         // 5-bit values, checksum removed
    bech32_variant variant;
};

// Encodes hrp, 5-bit data and the checksum of the given variant; output is lower case.
// Errors: address_bad_bech32 (hrp empty, hrp char outside 33..126, a data value ≥ 32),
// address_bad_length (result longer than bech32_max_length).
result<std::string> bech32_encode(std::string_view hrp, std::span<const std::uint8_t> data5,
                                  bech32_variant variant);

// Decodes a Bech32 or Bech32m string (all lower or all upper case), telling which
// variant its checksum matches.
// Errors: address_bad_length (longer than bech32_max_length), address_bad_bech32 (a char
// outside 33..126, no separator, empty hrp, checksum shorter than 6 chars, a data char
// outside the charset), address_mixed_case, address_bad_checksum (neither variant).
result<bech32_decoded> bech32_decode(std::string_view s);

// Regroups bytes into 5-bit values, most significant bit first, zero-padding the last one.
bytes convert_8_to_5(std::span<const std::uint8_t> data);

// Regroups 5-bit values into bytes, most significant bit first. The leftover bits must
// be fewer than 5 and all zero (BIP173).
// Errors: address_bad_bech32 (a value ≥ 32), address_bad_padding.
result<bytes> convert_5_to_8(std::span<const std::uint8_t> data5);

// A witness version and program, as a segwit address carries them.
struct segwit_program {
    std::uint8_t version;
    bytes program;
};

// Checks the BIP141/BIP350 shape of a witness program.
// Errors: address_bad_witness_version (above 16), address_bad_program_length (v0 not 20
// or 32 bytes; v1..16 outside 2..40 bytes).
std::error_code check_segwit_program(std::uint8_t version, std::size_t program_size) noexcept;

// Segwit address for hrp (lower case): Bech32 for v0, Bech32m for v1..16 (BIP350).
// Errors: as check_segwit_program, plus those of bech32_encode.
result<std::string> segwit_encode(std::string_view hrp, std::uint8_t version,
                                  std::span<const std::uint8_t> program);

// Decodes a segwit address that must carry hrp (compared case-insensitively).
// Errors: those of bech32_decode; address_wrong_network (another hrp);
// address_bad_program_length (no data at all, or a length check_segwit_program refuses);
// address_bad_witness_version; address_wrong_checksum_variant (v0 with Bech32m, v1+ with
// Bech32); address_bad_padding.
result<segwit_program> segwit_decode(std::string_view hrp, std::string_view addr);

}  // namespace sb
