#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>

#include "sb/core/hex.hpp"
#include "sb/core/sha256.hpp"
#include "sb/core/uint256.hpp"
#include "seed.hpp"
#include "vectors.hpp"

using namespace sb;

namespace {

uint256 hex256(const char* display) {
    auto r = uint256::from_hex(display);
    REQUIRE(r);
    return *r;
}

uint256 pow2(unsigned k) { return uint256(1) << k; }

// Shift-and-subtract long division, one quotient bit per step: the second
// implementation the Knuth division is checked against.
void reference_divmod(const uint256& a, const uint256& b, uint256& q, uint256& r) {
    q = uint256();
    r = uint256();
    for (int i = 255; i >= 0; --i) {
        const bool carry = r.bits() == 256;
        r <<= 1;
        if (!((a >> unsigned(i)) & uint256(1)).is_zero()) r |= uint256(1);
        if (carry || r >= b) {
            r -= b;
            q |= pow2(unsigned(i));
        }
    }
}

// Random operands rich in the limb patterns that stress quotient estimation: zero,
// all ones, lone top bits, and varying lengths.
uint256 random_operand(std::mt19937_64& rng) {
    uint256 v;
    const int limbs = 1 + int(rng() % 8);
    for (int i = 0; i < limbs; ++i) {
        std::uint32_t w = 0;
        switch (rng() % 6) {
        case 0: w = 0; break;
        case 1: w = 0xffffffffu; break;
        case 2: w = 0x80000000u; break;
        case 3: w = 0x7fffffffu; break;
        case 4: w = 1; break;
        default: w = static_cast<std::uint32_t>(rng()); break;
        }
        v.set_limb(i, w);
    }
    return v >> unsigned(rng() % 32);
}

}  // namespace

// Compile-time use: targets and limits can be constants.
static_assert(uint256(1) + uint256(1) == uint256(2));
static_assert((uint256(0xffff) << 208).bits() == 224);
static_assert(uint256::max() + uint256(1) == uint256());
static_assert(uint256(1000) / uint256(7) == uint256(142));
static_assert(uint256(1000) % uint256(7) == uint256(6));

TEST_CASE("uint256: little-endian bytes are the internal order of a block hash") {
    const auto& doc = test::vector_json("bitcoin.json");
    const auto& block = doc["mainnet_headers"]["413567"];
    auto header = from_hex_fixed<80>(block["header"].GetString());
    REQUIRE(header);
    const hash256 h = sha256d_header(header->data());
    const uint256 n = uint256::from_hash(h);
    CHECK(n.to_hex() == block["hash"].GetString());
    CHECK(n.to_hash() == h);
    std::uint8_t le[32];
    n.to_le_bytes(le);
    CHECK(hash256{} != h);
    for (int i = 0; i < 32; ++i) CHECK(le[i] == h[std::size_t(i)]);
    std::uint8_t be[32];
    n.to_be_bytes(be);
    CHECK(uint256::from_be_bytes(be) == n);
    CHECK(to_hex({be, 32}) == block["hash"].GetString());
    CHECK(n.byte(31) == 0);
    CHECK(n.byte(0) == 0x69);
}

TEST_CASE("uint256: display hex parses exactly 64 digits of either case") {
    const uint256 v = hex256("00000000FFFF0000000000000000000000000000000000000000000000000000");
    CHECK(v == uint256(0xffff) << 208);
    CHECK(v.to_hex() == "00000000ffff0000000000000000000000000000000000000000000000000000");
    CHECK(hex256("0000000000000000000000000000000000000000000000000000000000000001") == uint256(1));
    CHECK(uint256::from_hex(std::string(63, '0')).error() == core_errc::hex_wrong_length);
    CHECK(uint256::from_hex(std::string(65, '0')).error() == core_errc::hex_wrong_length);
    CHECK(uint256::from_hex(std::string(66, '0')).error() == core_errc::hex_wrong_length);
    CHECK(uint256::from_hex("").error() == core_errc::hex_wrong_length);
    CHECK(uint256::from_hex("0x" + std::string(62, '0')).error() == core_errc::hex_bad_digit);
    CHECK(uint256::from_hex(std::string(63, '0') + "g").error() == core_errc::hex_bad_digit);
    CHECK(uint256::max().to_hex() == std::string(64, 'f'));
}

TEST_CASE("uint256: random values round-trip through hex and bytes") {
    auto rng = test::seeded_rng(256);
    for (int i = 0; i < 200; ++i) {
        const uint256 v = random_operand(rng);
        auto back = uint256::from_hex(v.to_hex());
        REQUIRE(back);
        CHECK(*back == v);
        CHECK(uint256::from_hash(v.to_hash()) == v);
    }
}

TEST_CASE("uint256: comparison orders by the most significant limb first") {
    const uint256 high = pow2(255);
    const uint256 low = uint256::max() >> 1;
    CHECK(low < high);
    CHECK(high > low);
    CHECK(low <= low);
    CHECK(low >= low);
    CHECK(low != high);
    CHECK(uint256(5) == 5);
    CHECK(uint256(0xffffffffull) < uint256(0x100000000ull));
    CHECK(uint256::compare(uint256(3), uint256(4)) == -1);
    CHECK(uint256::compare(uint256(4), uint256(4)) == 0);
    CHECK(uint256::compare(pow2(200), uint256(4)) == 1);
}

TEST_CASE("uint256: shifts cross limb boundaries and drop bits past either end") {
    const uint256 one(1);
    for (unsigned k : {0u, 1u, 31u, 32u, 33u, 63u, 64u, 100u, 224u, 255u}) {
        const uint256 v = one << k;
        CHECK(v.bits() == int(k) + 1);
        CHECK((v >> k) == one);
    }
    CHECK((one << 256).is_zero());
    CHECK((one << 1000).is_zero());
    CHECK((uint256::max() >> 256).is_zero());
    CHECK((uint256::max() >> 255) == one);
    CHECK((uint256::max() << 255) == pow2(255));
    CHECK((uint256(0x123456789abcdef0ull) << 4) == uint256(0x23456789abcdef00ull) + pow2(64));
    CHECK((uint256(0x123456789abcdef0ull) >> 36) == uint256(0x1234567ull));
}

TEST_CASE("uint256: addition and subtraction wrap modulo 2 to the 256") {
    CHECK(uint256::max() + uint256(1) == uint256());
    CHECK(uint256() - uint256(1) == uint256::max());
    CHECK(uint256(0xffffffffull) + uint256(1) == uint256(0x100000000ull));
    CHECK(pow2(128) - uint256(1) == (uint256::max() >> 128));
    CHECK(-uint256(1) == uint256::max());
    CHECK(-uint256() == uint256());
    uint256 v = uint256::max();
    CHECK((v++) == uint256::max());
    CHECK(v.is_zero());
    CHECK((--v) == uint256::max());
}

TEST_CASE("uint256: multiplication keeps the low 256 bits of the product") {
    // (2^256 - 1)^2 = 2^512 - 2^257 + 1 ≡ 1.
    CHECK(uint256::max() * uint256::max() == uint256(1));
    CHECK((pow2(128) * pow2(128)).is_zero());
    CHECK(pow2(127) * pow2(128) == pow2(255));
    const std::uint64_t m64 = 0xffffffffffffffffull;
    CHECK(uint256(m64) * m64 == hex256("00000000000000000000000000000000fffffffffffffffe0000000000000001"));
    const std::uint32_t m32 = 0xffffffffu;
    CHECK(uint256(m32) * m32 == uint256(0xfffffffe00000001ull));
    CHECK(uint256(7) * 6 == uint256(42));
    CHECK(uint256::max() * 2u == uint256::max() - uint256(1));
}

TEST_CASE("uint256: division by zero saturates instead of trapping") {
    uint256 q, r;
    uint256::divmod(uint256(42), uint256(), q, r);
    CHECK(q == uint256::max());
    CHECK(r == uint256(42));
    CHECK(uint256(42) / uint256() == uint256::max());
    CHECK(uint256(42) % uint256() == uint256(42));
}

TEST_CASE("uint256: division matches known quotients") {
    CHECK(uint256::max() / uint256::max() == uint256(1));
    CHECK(uint256::max() / uint256(1) == uint256::max());
    CHECK(uint256(5) / uint256(7) == uint256());
    CHECK(uint256(5) % uint256(7) == uint256(5));
    CHECK(pow2(255) / pow2(100) == pow2(155));
    CHECK(uint256::max() / uint256(0xffffffffull) ==
          hex256("0000000100000001000000010000000100000001000000010000000100000001"));
    // Needs the add-back step of algorithm D: the two-digit estimate is one too large.
    const uint256 u = hex256("000000000000000000000000000000007fffffff800000000000000000000000");
    const uint256 v = hex256("0000000000000000000000000000000000000000800000000000000000000001");
    uint256 q, r, rq, rr;
    uint256::divmod(u, v, q, r);
    reference_divmod(u, v, rq, rr);
    CHECK(q == rq);
    CHECK(r == rr);
    CHECK(q * v + r == u);
}

TEST_CASE("uint256: division agrees with shift-and-subtract on random operands") {
    auto rng = test::seeded_rng(257);
    for (int i = 0; i < 5000; ++i) {
        const uint256 a = random_operand(rng);
        uint256 b = random_operand(rng);
        if (b.is_zero()) b = uint256(1);
        uint256 q, r, rq, rr;
        uint256::divmod(a, b, q, r);
        reference_divmod(a, b, rq, rr);
        REQUIRE(q == rq);
        REQUIRE(r == rr);
        CHECK(r < b);
        CHECK(q * b + r == a);
    }
}

TEST_CASE("uint256: bit length and zero test") {
    CHECK(uint256().bits() == 0);
    CHECK(uint256().is_zero());
    CHECK(uint256(1).bits() == 1);
    CHECK(!uint256(1).is_zero());
    CHECK(uint256(0x80000000ull).bits() == 32);
    CHECK(uint256::max().bits() == 256);
    CHECK(pow2(64).low64() == 0);
    CHECK(uint256(0x1234567890abcdefull).low64() == 0x1234567890abcdefull);
}

TEST_CASE("uint256: conversion to double rounds to nearest even") {
    CHECK(uint256().to_double() == 0.0);
    CHECK(uint256(12345).to_double() == 12345.0);
    CHECK(pow2(200).to_double() == std::ldexp(1.0, 200));
    CHECK(uint256::max().to_double() == std::ldexp(1.0, 256));
    // (2^53 + 1) * 2^100 lies halfway between two doubles: ties go to the even one...
    const uint256 tie = (pow2(53) + uint256(1)) << 100;
    CHECK(tie.to_double() == std::ldexp(1.0, 153));
    // ...but any lower bit set makes it round up.
    CHECK((tie + uint256(1)).to_double() == std::ldexp(double((1ull << 53) + 2), 100));
    CHECK((uint256(0xffff) << 208).to_double() == std::ldexp(65535.0, 208));
}
