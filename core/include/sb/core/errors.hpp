// Errors of core/ parsers and decoders (hex, byte reader, transactions, blocks, addresses).
#pragma once

#include <string>
#include <system_error>

namespace sb {

enum class core_errc {
    ok = 0,
    // hex
    hex_odd_length,
    hex_bad_digit,
    hex_too_long,
    hex_wrong_length,
    // byte reader
    read_past_end,
    non_canonical_varint,
    size_too_large,
    // transactions and blocks
    tx_bad_witness_flag,
    tx_superfluous_witness,
    tx_trailing_bytes,
    block_no_transactions,
    block_trailing_bytes,
    // addresses
    address_empty,
    address_bad_base58,
    address_bad_checksum,
    address_bad_length,
    address_unknown_version,
    address_mixed_case,
    address_bad_bech32,
    address_wrong_network,
    address_bad_witness_version,
    address_bad_program_length,
    address_wrong_checksum_variant,
    address_not_supported,
    address_bad_padding,
};

const std::error_category& core_category() noexcept;

inline std::error_code make_error_code(core_errc e) noexcept {
    return {static_cast<int>(e), core_category()};
}

}  // namespace sb

template <>
struct std::is_error_code_enum<sb::core_errc> : std::true_type {};
