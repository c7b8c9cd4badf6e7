#include "sb/core/base58.hpp"

#include <algorithm>
#include <array>

#include "sb/core/sha256.hpp"

namespace sb {
namespace {

constexpr std::string_view alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

// Digit value of each byte, or -1 for bytes outside the alphabet.
constexpr std::array<std::int8_t, 256> digit_table = [] {
    std::array<std::int8_t, 256> t{};
    t.fill(-1);
    for (std::size_t i = 0; i < alphabet.size(); ++i)
        t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return t;
}();

// An upper bound on the Base58 characters that n bytes can need: each leading zero byte
// takes one char and the rest log(256)/log(58) ≈ 1.3657 chars per byte, rounded up.
// Base58 is a bijection (no leading '1' inside the number part), so a longer string
// cannot decode into n bytes.
constexpr std::size_t max_chars_for(std::size_t n) noexcept { return n + (n * 37 + 99) / 100 + 1; }

}  // namespace

std::string base58_encode(std::span<const std::uint8_t> data) {
    std::size_t zeros = 0;
    while (zeros < data.size() && data[zeros] == 0) ++zeros;

    // Base-58 digits of the number part, least significant first.
    std::vector<std::uint8_t> digits;
    digits.reserve((data.size() - zeros) * 138 / 100 + 1);
    for (std::size_t i = zeros; i < data.size(); ++i) {
        unsigned carry = data[i];
        for (auto& d : digits) {
            carry += unsigned(d) << 8;
            d = static_cast<std::uint8_t>(carry % 58);
            carry /= 58;
        }
        while (carry != 0) {
            digits.push_back(static_cast<std::uint8_t>(carry % 58));
            carry /= 58;
        }
    }

    std::string out(zeros, '1');
    out.reserve(zeros + digits.size());
    for (auto it = digits.rbegin(); it != digits.rend(); ++it) out.push_back(alphabet[*it]);
    return out;
}

result<bytes> base58_decode(std::string_view s, std::size_t max_bytes) {
    // Validate every character first, so the error does not depend on the length.
    for (char c : s)
        if (digit_table[static_cast<unsigned char>(c)] < 0) return core_errc::address_bad_base58;
    if (s.size() > max_chars_for(max_bytes)) return core_errc::address_bad_length;

    std::size_t zeros = 0;
    while (zeros < s.size() && s[zeros] == '1') ++zeros;
    if (zeros > max_bytes) return core_errc::address_bad_length;
    const std::size_t limit = max_bytes - zeros;

    // The number part in base 256, least significant byte first; never above limit bytes.
    std::vector<std::uint8_t> le;
    le.reserve(std::min(limit, s.size()));
    for (std::size_t i = zeros; i < s.size(); ++i) {
        unsigned carry = static_cast<unsigned>(digit_table[static_cast<unsigned char>(s[i])]);
        for (auto& b : le) {
            carry += unsigned(b) * 58;
            b = static_cast<std::uint8_t>(carry & 0xff);
            carry >>= 8;
        }
        while (carry != 0) {
            if (le.size() == limit) return core_errc::address_bad_length;
            le.push_back(static_cast<std::uint8_t>(carry & 0xff));
            carry >>= 8;
        }
    }

    bytes out(zeros, 0);
    out.insert(out.end(), le.rbegin(), le.rend());
    return out;
}

std::string base58check_encode(std::span<const std::uint8_t> payload) {
    bytes buf(payload.begin(), payload.end());
    const hash256 h = sha256d(payload);
    buf.insert(buf.end(), h.begin(), h.begin() + base58_checksum_bytes);
    return base58_encode(buf);
}

result<bytes> base58check_decode(std::string_view s, std::size_t max_payload_bytes) {
    auto raw = base58_decode(s, max_payload_bytes + base58_checksum_bytes);
    if (!raw) return raw.error();
    bytes& b = *raw;
    if (b.size() < base58_checksum_bytes) return core_errc::address_bad_length;
    const std::size_t n = b.size() - base58_checksum_bytes;
    const hash256 h = sha256d(std::span<const std::uint8_t>(b.data(), n));
    if (!std::equal(h.begin(), h.begin() + base58_checksum_bytes, b.begin() + static_cast<std::ptrdiff_t>(n)))
        return core_errc::address_bad_checksum;
    b.resize(n);
    return std::move(b);
}

}  // namespace sb
