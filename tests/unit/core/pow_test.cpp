#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>

#include "sb/core/bytes.hpp"
#include "sb/core/hex.hpp"
#include "sb/core/pow.hpp"
#include "sb/core/sha256.hpp"
#include "seed.hpp"
#include "vectors.hpp"

using namespace sb;

namespace {

std::uint32_t parse_bits(const std::string& hex) { return static_cast<std::uint32_t>(std::stoul(hex, nullptr, 16)); }

const uint256 bitcoin_limit = uint256::max() >> 32;  // 00000000ffff…ff
const uint256 regtest_limit = uint256::max() >> 1;   // 7fff…ff

}  // namespace

TEST_CASE("pow: compact targets from bitcoin.json decode to their targets and work") {
    // Source: bitcoin.json compact_targets. A row is "<64 hex digits> (… work N)" or a
    // description; every row must at least survive compact → target → compact.
    const auto& rows = test::vector_json("bitcoin.json")["compact_targets"];
    int with_target = 0;
    for (auto it = rows.MemberBegin(); it != rows.MemberEnd(); ++it) {
        const std::uint32_t bits = parse_bits(it->name.GetString());
        const std::string text = it->value.GetString();
        CAPTURE(text);
        const compact_target c = compact_to_target(bits);
        CHECK(!c.negative);
        CHECK(!c.overflow);
        CHECK(target_to_compact(c.target) == bits);
        if (text.size() >= 64 && uint256::from_hex(text.substr(0, 64))) {
            ++with_target;
            CHECK(c.target.to_hex() == text.substr(0, 64));
        }
        if (const auto at = text.find("work "); at != std::string::npos) {
            const std::uint64_t work = std::strtoull(text.c_str() + at + 5, nullptr, 10);
            CHECK(work_from_bits(bits) == uint256(work));
            CHECK(work_from_target(c.target) == uint256(work));
        }
    }
    CHECK(with_target == 2);
    CHECK(work_from_bits(0x1d00ffff) == uint256(0x100010001ull));
    CHECK(work_from_bits(0x207fffff) == uint256(2));
}

TEST_CASE("pow: SetCompact edge cases decode as Bitcoin Core does") {
    // Rows follow Core's arith_uint256 SetCompact/GetCompact unit test; expected values
    // derived from the rules (size byte, 23-bit mantissa, sign bit 0x00800000).
    // target_to_compact never sets the sign bit, so negative rows re-encode unsigned.
    struct row {
        std::uint32_t bits;
        const char* target;  // display hex, leading zeros trimmed; "0" for zero
        bool negative;
        bool overflow;
        std::uint32_t compact;  // target_to_compact(target)
    };
    const row rows[] = {
        {0x00000000, "0", false, false, 0},
        {0x00123456, "0", false, false, 0},
        {0x01003456, "0", false, false, 0},
        {0x02000056, "0", false, false, 0},
        {0x03000000, "0", false, false, 0},
        {0x04000000, "0", false, false, 0},
        {0x00923456, "0", false, false, 0},
        {0x01803456, "0", false, false, 0},
        {0x02800056, "0", false, false, 0},
        {0x03800000, "0", false, false, 0},
        {0x04800000, "0", false, false, 0},
        {0x01123456, "12", false, false, 0x01120000},
        {0x01fedcba, "7e", true, false, 0x017e0000},
        {0x02123456, "1234", false, false, 0x02123400},
        {0x03123456, "123456", false, false, 0x03123456},
        {0x04123456, "12345600", false, false, 0x04123456},
        {0x04923456, "12345600", true, false, 0x04123456},
        {0x05009234, "92340000", false, false, 0x05009234},
        {0x02008000, "80", false, false, 0x02008000},
        {0x20123456, "1234560000000000000000000000000000000000000000000000000000000000", false, false, 0x20123456},
        // Largest sizes that still fit, and one byte past each.
        {0x220000ff, "ff00000000000000000000000000000000000000000000000000000000000000", false, false, 0x2100ff00},
        {0x22000100, "0", false, true, 0},
        {0x2100ffff, "ffff000000000000000000000000000000000000000000000000000000000000", false, false, 0x2100ffff},
        {0x21010000, "0", false, true, 0},
        {0x207fffff, "7fffff0000000000000000000000000000000000000000000000000000000000", false, false, 0x207fffff},
        {0x23000001, "0", false, true, 0},
        {0xff123456, "0", false, true, 0},
    };
    for (const row& r : rows) {
        CAPTURE(r.bits);
        const compact_target c = compact_to_target(r.bits);
        std::string want(64 - std::string(r.target).size(), '0');
        want += r.target;
        CHECK(c.target.to_hex() == want);
        CHECK(c.negative == r.negative);
        CHECK(c.overflow == r.overflow);
        // Overflowing encodings keep only the bits that fit; the re-encoding is then of
        // what is left.
        if (!r.overflow) CHECK(target_to_compact(c.target) == r.compact);
    }
}

TEST_CASE("pow: target_to_compact never sets the sign bit") {
    CHECK(target_to_compact(uint256(0x80)) == 0x02008000);
    CHECK(target_to_compact(uint256(0x800000)) == 0x04008000);
    CHECK(target_to_compact(uint256::max()) == 0x2100ffff);
    CHECK(target_to_compact(bitcoin_limit) == 0x1d00ffff);
    CHECK(target_to_compact(regtest_limit) == 0x207fffff);
    CHECK(target_to_compact(uint256()) == 0);
}

TEST_CASE("pow: normalised targets round-trip through compact bits") {
    auto rng = test::seeded_rng(1337);
    for (int i = 0; i < 2000; ++i) {
        // A mantissa with a non-zero top byte and clear sign bit, at a byte position
        // that keeps the number within 256 bits.
        const std::uint32_t mantissa = 0x010000u + static_cast<std::uint32_t>(rng() % (0x800000u - 0x010000u));
        const unsigned shift_bytes = static_cast<unsigned>(rng() % 30);
        const uint256 target = uint256(mantissa) << (8 * shift_bytes);
        CAPTURE(target.to_hex());
        const std::uint32_t bits = target_to_compact(target);
        CHECK((bits & 0x00800000u) == 0);
        const compact_target c = compact_to_target(bits);
        CHECK(c.target == target);
        CHECK(!c.negative);
        CHECK(!c.overflow);
    }
}

TEST_CASE("pow: any target re-encodes to the largest compact value not above it") {
    auto rng = test::seeded_rng(1338);
    for (int i = 0; i < 2000; ++i) {
        uint256 target;
        for (int l = 0; l < 8; ++l) target.set_limb(l, static_cast<std::uint32_t>(rng()));
        target >>= static_cast<unsigned>(rng() % 256);
        CAPTURE(target.to_hex());
        const std::uint32_t bits = target_to_compact(target);
        const compact_target c = compact_to_target(bits);
        CHECK(!c.negative);
        CHECK(!c.overflow);
        CHECK(c.target <= target);
        // Truncation drops at most the bytes below the 2- or 3-byte mantissa.
        const unsigned size = bits >> 24;
        if (size > 3) CHECK(target - c.target < (uint256(1) << (8 * (size - 3))));
        else CHECK(c.target == target);
        CHECK(target_to_compact(c.target) == bits);
    }
}

TEST_CASE("pow: a hash equal to the target passes and one above fails") {
    for (std::uint32_t bits : {0x1d00ffffu, 0x18058436u, 0x1a44b9f2u, 0x207fffffu}) {
        CAPTURE(bits);
        const uint256 limit = bits == 0x207fffffu ? regtest_limit : bitcoin_limit;
        const uint256 target = compact_to_target(bits).target;
        CHECK(check_proof_of_work(target, bits, limit));
        CHECK(check_proof_of_work(target - uint256(1), bits, limit));
        CHECK(check_proof_of_work(uint256(), bits, limit));
        CHECK_FALSE(check_proof_of_work(target + uint256(1), bits, limit));
        CHECK_FALSE(check_proof_of_work(uint256::max(), bits, limit));
        CHECK(check_proof_of_work(target.to_hash(), bits, limit));
        CHECK_FALSE(check_proof_of_work((target + uint256(1)).to_hash(), bits, limit));
    }
}

TEST_CASE("pow: invalid bits fail the proof-of-work check whatever the hash") {
    const uint256 zero_hash;
    CHECK_FALSE(check_proof_of_work(zero_hash, 0x04923456, regtest_limit));  // negative
    CHECK_FALSE(check_proof_of_work(zero_hash, 0x00000000, regtest_limit));  // zero
    CHECK_FALSE(check_proof_of_work(zero_hash, 0x01003456, regtest_limit));  // zero after shift
    CHECK_FALSE(check_proof_of_work(zero_hash, 0xff123456, regtest_limit));  // overflow
    CHECK_FALSE(check_proof_of_work(zero_hash, 0x1d010000, bitcoin_limit));  // above the limit
    CHECK_FALSE(check_proof_of_work(zero_hash, 0x207fffff, bitcoin_limit));
    CHECK(check_proof_of_work(zero_hash, 0x1d00ffff, bitcoin_limit));
    CHECK(!valid_target(0x1d010000, bitcoin_limit));
    CHECK(valid_target(0x1d00ffff, bitcoin_limit) == difficulty_1_target);
}

TEST_CASE("pow: real mainnet headers meet the target in their bits") {
    // Source: bitcoin.json mainnet_headers (blocks 125552 and 413567).
    const auto& headers = test::vector_json("bitcoin.json")["mainnet_headers"];
    int n = 0;
    for (auto it = headers.MemberBegin(); it != headers.MemberEnd(); ++it, ++n) {
        CAPTURE(it->name.GetString());
        auto header = from_hex_fixed<80>(it->value["header"].GetString());
        REQUIRE(header);
        const hash256 hash = sha256d_header(header->data());
        CHECK(to_hex_reversed(hash) == it->value["hash"].GetString());
        const std::uint32_t bits = load_le32(header->data() + 72);
        if (it->value.HasMember("bits")) CHECK(bits == parse_bits(it->value["bits"].GetString()));
        CHECK(check_proof_of_work(hash, bits, bitcoin_limit));
        CHECK(uint256::from_hash(hash) <= compact_to_target(bits).target);
        // The largest compact target below the hash (compact encoding rounds down) is
        // missed by it.
        const std::uint32_t tight = target_to_compact(uint256::from_hash(hash) - uint256(1));
        CHECK_FALSE(check_proof_of_work(hash, tight, bitcoin_limit));
    }
    CHECK(n == 2);
}

TEST_CASE("pow: difficulty 1 is the target of 1d00ffff") {
    CHECK(difficulty_1_target == compact_to_target(0x1d00ffff).target);
    CHECK(difficulty_from_bits(0x1d00ffff) == 1.0);
    CHECK(difficulty_from_target(difficulty_1_target) == 1.0);
    CHECK(target_from_difficulty(1.0) == difficulty_1_target);
    CHECK(target_to_compact(target_from_difficulty(1.0)) == 0x1d00ffff);
}

TEST_CASE("pow: difficulty of block 413567 follows from its bits") {
    const auto& block = test::vector_json("bitcoin.json")["mainnet_headers"]["413567"];
    const std::uint32_t bits = parse_bits(block["bits"].GetString());
    CHECK(bits == 0x18058436);
    // 65535 * 2^40 / 0x58436 = 199312067531.243…, the difficulty explorers show for
    // blocks 413280-415295.
    CHECK(difficulty_from_bits(bits) == doctest::Approx(199312067531.243).epsilon(1e-12));
    CHECK(difficulty_from_target(compact_to_target(bits).target) == difficulty_from_bits(bits));
    CHECK(compact_to_target(bits).target == uint256(0x58436) << 168);
}

TEST_CASE("pow: difficulty of tiny and huge targets") {
    CHECK(difficulty_from_bits(0x207fffff) == doctest::Approx(4.6565423739069247e-10).epsilon(1e-12));
    CHECK(difficulty_from_target(regtest_limit) == doctest::Approx(4.6565423739069247e-10).epsilon(1e-9));
    CHECK(std::isinf(difficulty_from_target(uint256())));
    CHECK(std::isinf(difficulty_from_bits(0x1d000000)));
    CHECK(difficulty_from_target(uint256(1)) == doctest::Approx(std::ldexp(65535.0, 208)));
}

TEST_CASE("pow: integer difficulties give the exact floor of the difficulty-1 target") {
    for (double d : {2.0, 3.0, 7.0, 1000.0, 65536.0, 194254820283.0, 9007199254740991.0}) {
        CAPTURE(d);
        const uint256 divisor(static_cast<std::uint64_t>(d));
        CHECK(target_from_difficulty(d) == difficulty_1_target / divisor);
    }
    auto rng = test::seeded_rng(7);
    for (int i = 0; i < 500; ++i) {
        const std::uint64_t m = 1 + (rng() >> (11 + rng() % 53));
        CHECK(target_from_difficulty(double(m)) == difficulty_1_target / uint256(m));
    }
}

TEST_CASE("pow: fractional difficulties below 1 give larger targets") {
    CHECK(target_from_difficulty(0.5) == difficulty_1_target << 1);
    CHECK(target_from_difficulty(1.0 / 65536) == difficulty_1_target << 16);
    CHECK(target_from_difficulty(std::ldexp(1.0, -32)) == difficulty_1_target << 32);
    // 0.001 is not a dyadic fraction: the target is floor(diff1 * 2^k / m) for the
    // double's exact value m / 2^k.
    int e = 0;
    const double f = std::frexp(0.001, &e);
    const std::uint64_t m = static_cast<std::uint64_t>(std::ldexp(f, 53));
    const unsigned k = static_cast<unsigned>(53 - e);
    REQUIRE(k > 32);
    // floor(diff1 * 2^k / m) in two long-division steps, so nothing exceeds 256 bits.
    uint256 q1, r1, q2, r2;
    uint256::divmod(difficulty_1_target << 32, uint256(m), q1, r1);
    uint256::divmod(r1 << (k - 32), uint256(m), q2, r2);
    CHECK(target_from_difficulty(0.001) == (q1 << (k - 32)) + q2);
    CHECK(difficulty_from_target(target_from_difficulty(0.001)) == doctest::Approx(0.001).epsilon(1e-12));
}

TEST_CASE("pow: target from difficulty saturates at both ends") {
    // diff1 / d fits in 256 bits only while d > 65535 / 2^48 (just below 2^-32).
    const double overflowing = 65535.0 / std::ldexp(1.0, 48);
    CHECK(target_from_difficulty(overflowing) == uint256::max());
    CHECK(target_from_difficulty(std::nextafter(overflowing, 1.0)) < uint256::max());
    CHECK(target_from_difficulty(std::nextafter(overflowing, 1.0)) > difficulty_1_target << 31);
    CHECK(target_from_difficulty(std::ldexp(1.0, -33)) == uint256::max());
    CHECK(target_from_difficulty(1e-80) == uint256::max());
    CHECK(target_from_difficulty(std::numeric_limits<double>::denorm_min()) == uint256::max());
    CHECK(target_from_difficulty(0.0) == uint256::max());
    CHECK(target_from_difficulty(-1.0) == uint256::max());
    CHECK(target_from_difficulty(std::numeric_limits<double>::quiet_NaN()) == uint256::max());
    CHECK(target_from_difficulty(1e80) == uint256(1));
    CHECK(target_from_difficulty(std::numeric_limits<double>::infinity()) == uint256(1));
    CHECK(target_from_difficulty(std::numeric_limits<double>::max()) == uint256(1));
}

TEST_CASE("pow: difficulty survives a round trip through the target") {
    auto rng = test::seeded_rng(8);
    // Below about 2.3e-10 (2^-32) the target saturates, so stay above it.
    std::uniform_real_distribution<double> exponent(-9.5, 15.0);
    for (int i = 0; i < 1000; ++i) {
        const double d = std::pow(10.0, exponent(rng));
        CAPTURE(d);
        CHECK(difficulty_from_target(target_from_difficulty(d)) == doctest::Approx(d).epsilon(1e-12));
    }
}

TEST_CASE("pow: work is 2 to the 256 over target plus one") {
    for (unsigned k = 1; k < 256; ++k) {
        CAPTURE(k);
        const uint256 target = (uint256(1) << k) - uint256(1);
        CHECK(work_from_target(target) == uint256(1) << (256 - k));
    }
    CHECK(work_from_target(uint256::max()) == uint256(1));
    CHECK(work_from_target(uint256()) == uint256());
    CHECK(work_from_target(uint256(1)) == uint256(1) << 255);
    CHECK(work_from_target(uint256(2)) == uint256::max() / uint256(3));  // 2^256 ≡ 1 (mod 3)
    CHECK(work_from_bits(0x04923456).is_zero());  // negative
    CHECK(work_from_bits(0xff123456).is_zero());  // overflow
    CHECK(work_from_bits(0x01003456).is_zero());  // zero
}
