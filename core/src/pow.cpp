#include "sb/core/pow.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sb {

double difficulty_from_target(const uint256& target) noexcept {
    if (target.is_zero()) return std::numeric_limits<double>::infinity();
    return difficulty_1_target.to_double() / target.to_double();
}

double difficulty_from_bits(std::uint32_t bits) noexcept {
    // Core masks 0x00ffffff here (sign bit included) and scales by powers of 256 from
    // size 29, the size byte of difficulty 1 (0x1d00ffff).
    const std::uint32_t mantissa = bits & 0x00ffffffu;
    if (mantissa == 0) return std::numeric_limits<double>::infinity();
    const int size = int(bits >> 24);
    return std::ldexp(65535.0 / double(mantissa), 8 * (29 - size));
}

uint256 target_from_difficulty(double difficulty) noexcept {
    if (!(difficulty > 0.0)) return uint256::max();
    if (std::isinf(difficulty)) return uint256(1);
    // difficulty = mant * 2^exp exactly, with mant a 53-bit integer (≥ 2^52, also for
    // subnormals, since frexp normalises).
    int exp2 = 0;
    const double frac = std::frexp(difficulty, &exp2);
    const std::uint64_t mant = static_cast<std::uint64_t>(std::ldexp(frac, 53));
    const int e = exp2 - 53;
    // target = floor(0xffff * 2^k / mant) with k = 208 - e. For k < 0 the quotient is
    // 0 because mant > 0xffff.
    const int k = 208 - e;
    if (k < 0) return uint256(1);
    // Long division of 0xffff followed by k zero bits, up to 128 bits at a time. The
    // remainder stays below mant < 2^53, so each partial numerator fits easily.
    uint256 quot;
    uint256 rem(0xffff);
    const uint256 divisor(mant);
    for (int left = k; left > 0;) {
        const int chunk = std::min(left, 128);
        if (quot.bits() + chunk > uint256::bit_width) return uint256::max();
        uint256 q, r;
        uint256::divmod(rem << unsigned(chunk), divisor, q, r);
        quot = (quot << unsigned(chunk)) | q;
        rem = r;
        left -= chunk;
    }
    return quot.is_zero() ? uint256(1) : quot;
}

}  // namespace sb
