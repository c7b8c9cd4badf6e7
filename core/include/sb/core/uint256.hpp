// Unsigned 256-bit integer for targets, hashes read as numbers, difficulty and chain work.
//
// Representation: eight 32-bit limbs, least significant first. 32-bit limbs keep the same
// code usable where 64-bit multiplies are slow (GPU kernels include this header later),
// so it stays C++17-clean: no concepts, no <=>, no std::span.
//
// Byte orders: the "little-endian bytes" of a uint256 are its internal byte order, the
// order in which sha256d writes a block hash; Bitcoin compares a block hash with its
// target by reading those 32 bytes as a little-endian number. The "display hex" is the
// big-endian form (most significant digit first, 64 digits), as RPC and explorers show
// hashes and targets.
//
// Overflow: +, -, * and << wrap modulo 2^256 (like unsigned built-in types); >> and <<
// by 256 or more give 0. Division or remainder by zero does not trap: a / 0 is
// 2^256-1 and a % 0 is a (see divmod). Nothing here throws or allocates, except the
// hex conversions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sb/core/result.hpp"

namespace sb {

// A hash in internal byte order (same type as in sha256.hpp, redeclared so that this
// header needs no C++20 header).
using hash256 = std::array<std::uint8_t, 32>;

class uint256 {
public:
    static constexpr int limb_count = 8;
    static constexpr int bit_width = 256;

    constexpr uint256() noexcept = default;
    // Implicit on purpose: small constants (0, 1, a difficulty-1 mantissa) mix freely
    // with uint256 operands.
    constexpr uint256(std::uint64_t v) noexcept {  // NOLINT(google-explicit-constructor)
        w_[0] = static_cast<std::uint32_t>(v);
        w_[1] = static_cast<std::uint32_t>(v >> 32);
    }

    // 2^256 - 1.
    static constexpr uint256 max() noexcept {
        uint256 r;
        for (int i = 0; i < limb_count; ++i) r.w_[i] = 0xffffffffu;
        return r;
    }

    // ---- bytes and text ----------------------------------------------------------

    // From 32 bytes, least significant first (internal order, as sha256d outputs).
    static constexpr uint256 from_le_bytes(const std::uint8_t* p32) noexcept {
        uint256 r;
        for (int i = 0; i < limb_count; ++i) {
            const std::uint8_t* p = p32 + 4 * i;
            r.w_[i] = std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 |
                      std::uint32_t(p[2]) << 16 | std::uint32_t(p[3]) << 24;
        }
        return r;
    }
    // From 32 bytes, most significant first (KAWPOW/ethash final hashes, display order).
    static constexpr uint256 from_be_bytes(const std::uint8_t* p32) noexcept {
        uint256 r;
        for (int i = 0; i < limb_count; ++i) {
            const std::uint8_t* p = p32 + 4 * (limb_count - 1 - i);
            r.w_[i] = std::uint32_t(p[3]) | std::uint32_t(p[2]) << 8 |
                      std::uint32_t(p[1]) << 16 | std::uint32_t(p[0]) << 24;
        }
        return r;
    }
    // A sha256d hash (internal order) as the number Bitcoin compares with the target.
    static constexpr uint256 from_hash(const hash256& h) noexcept { return from_le_bytes(h.data()); }

    // Writes 32 bytes, least significant first.
    constexpr void to_le_bytes(std::uint8_t* out32) const noexcept {
        for (int i = 0; i < limb_count; ++i) {
            out32[4 * i + 0] = static_cast<std::uint8_t>(w_[i]);
            out32[4 * i + 1] = static_cast<std::uint8_t>(w_[i] >> 8);
            out32[4 * i + 2] = static_cast<std::uint8_t>(w_[i] >> 16);
            out32[4 * i + 3] = static_cast<std::uint8_t>(w_[i] >> 24);
        }
    }
    // Writes 32 bytes, most significant first.
    constexpr void to_be_bytes(std::uint8_t* out32) const noexcept {
        for (int i = 0; i < 32; ++i) out32[i] = byte(31 - i);
    }
    // The 32 little-endian bytes as a hash256 (internal order).
    constexpr hash256 to_hash() const noexcept {
        hash256 h{};
        for (int i = 0; i < 32; ++i) h[std::size_t(i)] = byte(i);
        return h;
    }

    // Display hex: 64 lower-case digits, most significant first.
    std::string to_hex() const;
    // Parses display hex: exactly 64 digits, either case, no prefix.
    // Errors: hex_wrong_length (also for odd lengths), hex_bad_digit.
    static result<uint256> from_hex(std::string_view hex);

    // ---- inspection ----------------------------------------------------------------

    // Limb i (0 = least significant 32 bits); i must be in [0, 8).
    constexpr std::uint32_t limb(int i) const noexcept { return w_[i]; }
    constexpr void set_limb(int i, std::uint32_t v) noexcept { w_[i] = v; }
    // Byte i of the little-endian form (0 = least significant); i must be in [0, 32).
    constexpr std::uint8_t byte(int i) const noexcept {
        return static_cast<std::uint8_t>(w_[i / 4] >> (8 * (i % 4)));
    }
    // The low 64 bits.
    constexpr std::uint64_t low64() const noexcept {
        return std::uint64_t(w_[0]) | std::uint64_t(w_[1]) << 32;
    }
    constexpr bool is_zero() const noexcept {
        for (int i = 0; i < limb_count; ++i)
            if (w_[i] != 0) return false;
        return true;
    }
    // Position of the highest set bit plus one; 0 for zero, 256 for values ≥ 2^255.
    constexpr int bits() const noexcept {
        for (int i = limb_count - 1; i >= 0; --i) {
            if (w_[i] != 0) {
                int n = 32;
                std::uint32_t v = w_[i];
                while ((v & 0x80000000u) == 0) { v <<= 1; --n; }
                return 32 * i + n;
            }
        }
        return 0;
    }
    // Nearest double (round to nearest even; exact below 2^53). Used for difficulty.
    constexpr double to_double() const noexcept {
        const int n = bits();
        if (n <= 64) return double(low64());
        // The top 64 bits with every lower bit folded into bit 0 (a sticky bit): the
        // 64-to-53-bit rounding of that value is the correct rounding of the whole.
        unsigned shift = unsigned(n - 64);
        std::uint64_t top = (*this >> shift).low64();
        if (!(*this << (256u - shift)).is_zero()) top |= 1u;
        double r = double(top);
        for (; shift >= 32; shift -= 32) r *= 4294967296.0;
        return r * double(std::uint64_t(1) << shift);
    }

    // ---- comparison ----------------------------------------------------------------

    // -1, 0 or 1 as a is below, equal to or above b.
    static constexpr int compare(const uint256& a, const uint256& b) noexcept {
        for (int i = limb_count - 1; i >= 0; --i) {
            if (a.w_[i] < b.w_[i]) return -1;
            if (a.w_[i] > b.w_[i]) return 1;
        }
        return 0;
    }
    friend constexpr bool operator==(const uint256& a, const uint256& b) noexcept { return compare(a, b) == 0; }
    friend constexpr bool operator!=(const uint256& a, const uint256& b) noexcept { return compare(a, b) != 0; }
    friend constexpr bool operator<(const uint256& a, const uint256& b) noexcept { return compare(a, b) < 0; }
    friend constexpr bool operator<=(const uint256& a, const uint256& b) noexcept { return compare(a, b) <= 0; }
    friend constexpr bool operator>(const uint256& a, const uint256& b) noexcept { return compare(a, b) > 0; }
    friend constexpr bool operator>=(const uint256& a, const uint256& b) noexcept { return compare(a, b) >= 0; }

    // ---- bitwise -------------------------------------------------------------------

    constexpr uint256 operator~() const noexcept {
        uint256 r;
        for (int i = 0; i < limb_count; ++i) r.w_[i] = ~w_[i];
        return r;
    }
    constexpr uint256& operator&=(const uint256& b) noexcept {
        for (int i = 0; i < limb_count; ++i) w_[i] &= b.w_[i];
        return *this;
    }
    constexpr uint256& operator|=(const uint256& b) noexcept {
        for (int i = 0; i < limb_count; ++i) w_[i] |= b.w_[i];
        return *this;
    }
    constexpr uint256& operator^=(const uint256& b) noexcept {
        for (int i = 0; i < limb_count; ++i) w_[i] ^= b.w_[i];
        return *this;
    }
    // Shift left by n bits, dropping bits shifted past 2^255; n ≥ 256 gives 0.
    constexpr uint256& operator<<=(unsigned n) noexcept {
        uint256 r;
        if (n < 256) {
            const int limbs = int(n / 32);
            const unsigned b = n % 32;
            for (int i = limb_count - 1; i >= limbs; --i) {
                std::uint32_t v = w_[i - limbs] << b;
                if (b != 0 && i - limbs - 1 >= 0) v |= w_[i - limbs - 1] >> (32 - b);
                r.w_[i] = v;
            }
        }
        return *this = r;
    }
    // Shift right by n bits; n ≥ 256 gives 0.
    constexpr uint256& operator>>=(unsigned n) noexcept {
        uint256 r;
        if (n < 256) {
            const int limbs = int(n / 32);
            const unsigned b = n % 32;
            for (int i = 0; i + limbs < limb_count; ++i) {
                std::uint32_t v = w_[i + limbs] >> b;
                if (b != 0 && i + limbs + 1 < limb_count) v |= w_[i + limbs + 1] << (32 - b);
                r.w_[i] = v;
            }
        }
        return *this = r;
    }

    // ---- arithmetic (mod 2^256) ------------------------------------------------------

    constexpr uint256& operator+=(const uint256& b) noexcept {
        std::uint64_t carry = 0;
        for (int i = 0; i < limb_count; ++i) {
            const std::uint64_t s = carry + w_[i] + b.w_[i];
            w_[i] = static_cast<std::uint32_t>(s);
            carry = s >> 32;
        }
        return *this;
    }
    constexpr uint256& operator-=(const uint256& b) noexcept {
        std::uint64_t borrow = 0;
        for (int i = 0; i < limb_count; ++i) {
            const std::uint64_t d = std::uint64_t(w_[i]) - b.w_[i] - borrow;
            w_[i] = static_cast<std::uint32_t>(d);
            borrow = (d >> 32) & 1u;
        }
        return *this;
    }
    constexpr uint256& operator++() noexcept { return *this += uint256(1); }
    constexpr uint256& operator--() noexcept { return *this -= uint256(1); }
    constexpr uint256 operator++(int) noexcept { uint256 t = *this; ++*this; return t; }
    constexpr uint256 operator--(int) noexcept { uint256 t = *this; --*this; return t; }
    // Two's-complement negation: 2^256 - a (0 for 0).
    constexpr uint256 operator-() const noexcept { uint256 r = ~*this; return ++r; }

    // Schoolbook product of the low 256 bits. 32- and 64-bit factors convert implicitly
    // (one overload only, so that a uint64_t never narrows to a 32-bit parameter); zero
    // limbs of b are skipped, which makes small factors cheap.
    constexpr uint256& operator*=(const uint256& b) noexcept {
        uint256 r;
        for (int j = 0; j < limb_count; ++j) {
            if (b.w_[j] == 0) continue;
            std::uint64_t carry = 0;
            for (int i = 0; i + j < limb_count; ++i) {
                const std::uint64_t p = carry + r.w_[i + j] + std::uint64_t(w_[i]) * b.w_[j];
                r.w_[i + j] = static_cast<std::uint32_t>(p);
                carry = p >> 32;
            }
        }
        return *this = r;
    }

    // Quotient and remainder of a / b (Knuth, TAOCP 4.3.1, algorithm D, on 32-bit digits).
    // b == 0: quotient 2^256-1 and remainder a, so that callers never trap on bad input.
    static constexpr void divmod(const uint256& a, const uint256& b, uint256& quot, uint256& rem) noexcept {
        quot = uint256();
        rem = uint256();
        if (b.is_zero()) { quot = max(); rem = a; return; }
        if (a < b) { rem = a; return; }
        int n = limb_count;
        while (b.w_[n - 1] == 0) --n;
        int m = limb_count;
        while (a.w_[m - 1] == 0) --m;

        if (n == 1) {
            const std::uint64_t d = b.w_[0];
            std::uint64_t r = 0;
            for (int i = m - 1; i >= 0; --i) {
                const std::uint64_t cur = (r << 32) | a.w_[i];
                quot.w_[i] = static_cast<std::uint32_t>(cur / d);
                r = cur % d;
            }
            rem.w_[0] = static_cast<std::uint32_t>(r);
            return;
        }

        // Normalise so that the divisor's top digit has its high bit set; the quotient
        // estimate from the top two digits is then at most 2 too large.
        unsigned s = 0;
        for (std::uint32_t top = b.w_[n - 1]; (top & 0x80000000u) == 0; top <<= 1) ++s;
        std::uint32_t vn[limb_count] = {};
        std::uint32_t un[limb_count + 1] = {};
        for (int i = n - 1; i > 0; --i)
            vn[i] = (b.w_[i] << s) | (s ? b.w_[i - 1] >> (32 - s) : 0u);
        vn[0] = b.w_[0] << s;
        un[m] = s ? a.w_[m - 1] >> (32 - s) : 0u;
        for (int i = m - 1; i > 0; --i)
            un[i] = (a.w_[i] << s) | (s ? a.w_[i - 1] >> (32 - s) : 0u);
        un[0] = a.w_[0] << s;

        constexpr std::uint64_t base = std::uint64_t(1) << 32;
        constexpr std::uint64_t mask = base - 1;
        for (int j = m - n; j >= 0; --j) {
            const std::uint64_t num = (std::uint64_t(un[j + n]) << 32) | un[j + n - 1];
            std::uint64_t qhat = num / vn[n - 1];
            std::uint64_t rhat = num % vn[n - 1];
            while (qhat >= base || qhat * vn[n - 2] > ((rhat << 32) | un[j + n - 2])) {
                --qhat;
                rhat += vn[n - 1];
                if (rhat >= base) break;
            }
            // un[j..j+n] -= qhat * vn[0..n); borrow counts whole units of 2^32 owed.
            std::uint64_t borrow = 0;
            for (int i = 0; i < n; ++i) {
                const std::uint64_t p = qhat * vn[i];
                const std::uint64_t sub = (p & mask) + borrow;
                const std::uint64_t cur = un[i + j];
                un[i + j] = static_cast<std::uint32_t>(cur - sub);
                borrow = (p >> 32) + (cur < sub ? ((sub - cur + mask) >> 32) : 0);
            }
            const std::uint64_t top = un[j + n];
            un[j + n] = static_cast<std::uint32_t>(top - borrow);
            if (top < borrow) {
                // qhat was one too large: add the divisor back once.
                --qhat;
                std::uint64_t carry = 0;
                for (int i = 0; i < n; ++i) {
                    const std::uint64_t t = std::uint64_t(un[i + j]) + vn[i] + carry;
                    un[i + j] = static_cast<std::uint32_t>(t);
                    carry = t >> 32;
                }
                un[j + n] = static_cast<std::uint32_t>(un[j + n] + carry);
            }
            quot.w_[j] = static_cast<std::uint32_t>(qhat);
        }
        for (int i = 0; i < n; ++i)
            rem.w_[i] = (un[i] >> s) | (s ? un[i + 1] << (32 - s) : 0u);
    }
    // a / b; b == 0 gives 2^256-1.
    constexpr uint256& operator/=(const uint256& b) noexcept {
        uint256 q, r;
        divmod(*this, b, q, r);
        return *this = q;
    }
    // a % b; b == 0 gives a.
    constexpr uint256& operator%=(const uint256& b) noexcept {
        uint256 q, r;
        divmod(*this, b, q, r);
        return *this = r;
    }

    friend constexpr uint256 operator+(uint256 a, const uint256& b) noexcept { return a += b; }
    friend constexpr uint256 operator-(uint256 a, const uint256& b) noexcept { return a -= b; }
    friend constexpr uint256 operator*(uint256 a, const uint256& b) noexcept { return a *= b; }
    friend constexpr uint256 operator/(uint256 a, const uint256& b) noexcept { return a /= b; }
    friend constexpr uint256 operator%(uint256 a, const uint256& b) noexcept { return a %= b; }
    friend constexpr uint256 operator&(uint256 a, const uint256& b) noexcept { return a &= b; }
    friend constexpr uint256 operator|(uint256 a, const uint256& b) noexcept { return a |= b; }
    friend constexpr uint256 operator^(uint256 a, const uint256& b) noexcept { return a ^= b; }
    friend constexpr uint256 operator<<(uint256 a, unsigned n) noexcept { return a <<= n; }
    friend constexpr uint256 operator>>(uint256 a, unsigned n) noexcept { return a >>= n; }

private:
    std::uint32_t w_[limb_count] = {};
};

}  // namespace sb
