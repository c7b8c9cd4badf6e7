#include "sb/core/uint256.hpp"

#include "sb/core/errors.hpp"
#include "sb/core/hex.hpp"

namespace sb {

std::string uint256::to_hex() const {
    std::uint8_t le[32];
    to_le_bytes(le);
    return to_hex_reversed(le);
}

result<uint256> uint256::from_hex(std::string_view hex) {
    if (hex.size() != 64) return core_errc::hex_wrong_length;
    std::uint8_t le[32];
    for (int i = 0; i < 32; ++i) {
        // Digit pair i (from the left) is byte 31 - i of the little-endian form.
        const int hi = hex_digit_value(hex[std::size_t(2 * i)]);
        const int lo = hex_digit_value(hex[std::size_t(2 * i + 1)]);
        if (hi < 0 || lo < 0) return core_errc::hex_bad_digit;
        le[31 - i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return from_le_bytes(le);
}

}  // namespace sb
