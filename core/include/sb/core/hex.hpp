// Hex encoding. Input is case-insensitive and bounded; output is lower case.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sb/core/errors.hpp"
#include "sb/core/result.hpp"

namespace sb {

// Longest hex input accepted by default: 8 MiB of digits (a 4 MB block as hex).
inline constexpr std::size_t max_hex_digits = 8u << 20;

// Lower-case hex of bytes, in the order given.
std::string to_hex(std::span<const std::uint8_t> bytes);
// Lower-case hex of bytes, last byte first (display order of hashes and uint256).
std::string to_hex_reversed(std::span<const std::uint8_t> bytes);

// Decodes hex (upper or lower case, no prefix, no whitespace).
// Errors: hex_odd_length, hex_bad_digit, hex_too_long (more than max_digits digits).
result<std::vector<std::uint8_t>> from_hex(std::string_view hex,
                                           std::size_t max_digits = max_hex_digits);

// Decodes exactly N bytes. Errors: as from_hex, plus hex_wrong_length.
template <std::size_t N>
result<std::array<std::uint8_t, N>> from_hex_fixed(std::string_view hex);

// Value of one hex digit, or -1.
constexpr int hex_digit_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Decodes hex into out, which must have exactly hex.size()/2 bytes. Errors as from_hex.
std::error_code decode_hex_into(std::string_view hex, std::span<std::uint8_t> out);

template <std::size_t N>
result<std::array<std::uint8_t, N>> from_hex_fixed(std::string_view hex) {
    if (hex.size() != 2 * N) {
        if (hex.size() % 2 != 0) return core_errc::hex_odd_length;
        return core_errc::hex_wrong_length;
    }
    std::array<std::uint8_t, N> out{};
    if (auto ec = decode_hex_into(hex, out)) return ec;
    return out;
}

}  // namespace sb
