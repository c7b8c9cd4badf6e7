#include "sb/core/hex.hpp"

namespace sb {
namespace {
constexpr char digits[] = "0123456789abcdef";
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
    std::string s(bytes.size() * 2, '0');
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        s[2 * i] = digits[bytes[i] >> 4];
        s[2 * i + 1] = digits[bytes[i] & 15];
    }
    return s;
}

std::string to_hex_reversed(std::span<const std::uint8_t> bytes) {
    std::string s(bytes.size() * 2, '0');
    const std::size_t n = bytes.size();
    for (std::size_t i = 0; i < n; ++i) {
        s[2 * i] = digits[bytes[n - 1 - i] >> 4];
        s[2 * i + 1] = digits[bytes[n - 1 - i] & 15];
    }
    return s;
}

std::error_code decode_hex_into(std::string_view hex, std::span<std::uint8_t> out) {
    if (hex.size() % 2 != 0) return core_errc::hex_odd_length;
    if (hex.size() / 2 != out.size()) return core_errc::hex_wrong_length;
    for (std::size_t i = 0; i < out.size(); ++i) {
        const int hi = hex_digit_value(hex[2 * i]);
        const int lo = hex_digit_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return core_errc::hex_bad_digit;
        out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return {};
}

result<std::vector<std::uint8_t>> from_hex(std::string_view hex, std::size_t max_digits) {
    if (hex.size() > max_digits) return core_errc::hex_too_long;
    if (hex.size() % 2 != 0) return core_errc::hex_odd_length;
    std::vector<std::uint8_t> out(hex.size() / 2);
    if (auto ec = decode_hex_into(hex, out)) return ec;
    return out;
}

}  // namespace sb
