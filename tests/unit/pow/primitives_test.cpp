// Keccak-f800/f1600 and the ProgPoW primitives from the portable kernels, run on the CPU.
// Vectors: tests/vectors/kawpow.json (ProgPoW test-vectors.md @ d035ae5, XKCP
// KeccakF-800-IntermediateValues).
#include <doctest/doctest.h>

#include <array>
#include <string>
#include <vector>

#include "pow_test_support.hpp"
#include "sb/core/bytes.hpp"
#include "sb/core/hex.hpp"
#include "sb/pow/ethash.hpp"
#include "sb/pow/kernels/keccak.h"
#include "sb/pow/kernels/progpow.h"
#include "vectors.hpp"

using namespace sb::test::pow;

namespace {
const rapidjson::Value& kawpow(const char* member) {
    const auto& doc = sb::test::vector_json("kawpow.json");
    REQUIRE(doc.HasMember(member));
    return doc[member];
}
}  // namespace

TEST_CASE("keccak: f800 from the zero state matches XKCP after one and two permutations") {
    const auto& v = kawpow("keccak_f800_from_zero_state");
    sb_u32 st[25] = {};
    for (const char* key : {"after_1", "after_2"}) {
        sb_keccak_f800(st);
        const auto& want = v[key];
        REQUIRE(want.Size() == 25);
        for (unsigned i = 0; i < 25; ++i) CHECK_MESSAGE(st[i] == word_hex(want[i].GetString()), key << " word " << i);
    }
}

TEST_CASE("keccak: keccak256 of the empty string is the original-padding digest") {
    CHECK(sb::to_hex(sb::pow::ethash::keccak256({})) == kawpow("keccak256_empty").GetString());
}

TEST_CASE("keccak: sponge splits at the rate boundary like the fixed-length kernels") {
    // keccak256 of 32 bytes through the general sponge equals the one-block kernel; and
    // inputs around the 136-byte rate (one block below, at, above) differ from each other.
    std::array<std::uint8_t, 32> in{};
    for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<std::uint8_t>(i * 3 + 1);
    sb_u64 lanes[4];
    for (int i = 0; i < 4; ++i) lanes[i] = sb::load_le64(in.data() + 8 * i);
    sb_keccak256_32(lanes, lanes);
    sb::hash256 fixed;
    for (int i = 0; i < 4; ++i) sb::store_le64(fixed.data() + 8 * i, lanes[i]);
    CHECK(sb::pow::ethash::keccak256(in) == fixed);
    std::vector<std::uint8_t> big(137, 0x5a);
    const auto a = sb::pow::ethash::keccak256(std::span(big).first(135));
    const auto b = sb::pow::ethash::keccak256(std::span(big).first(136));
    const auto c = sb::pow::ethash::keccak256(big);
    CHECK(a != b);
    CHECK(b != c);
}

TEST_CASE("progpow: fnv1a chain matches the spec table") {
    const auto& v = kawpow("fnv1a");
    REQUIRE(v.Size() > 0);
    for (const auto& row : v.GetArray())
        CHECK(sb_fnv1a(word_hex(row["h"].GetString()), word_hex(row["d"].GetString())) == word_hex(row["result"].GetString()));
}

TEST_CASE("progpow: kiss99 draws 1 to 4 and 100000 match the spec") {
    const auto& v = kawpow("kiss99");
    sb_kiss99_state st{v["z"].GetUint(), v["w"].GetUint(), v["jsr"].GetUint(), v["jcong"].GetUint()};
    const auto& results = v["results"];
    std::uint32_t r = 0;
    for (unsigned n = 1; n <= 100000; ++n) {
        r = sb_kiss99(&st);
        const std::string key = std::to_string(n);
        if (results.HasMember(key.c_str())) CHECK_MESSAGE(r == results[key.c_str()].GetUint(), "draw " << n);
    }
}

TEST_CASE("progpow: fill_mix lanes 0 and 13 match the spec") {
    const auto& v = kawpow("fill_mix");
    const std::uint64_t seed = nonce_hex(v["seed"].GetString());
    for (const auto& [name, lane] : {std::pair{"lane_0", 0u}, std::pair{"lane_13", 13u}}) {
        const char* const key = name;  // CHECK_MESSAGE's lambda cannot capture a binding before clang 16
        sb_u32 mix[32];
        sb_progpow_fill_mix(mix, seed, lane);
        const auto& want = v[key];
        REQUIRE(want.Size() == 32);
        for (unsigned i = 0; i < 32; ++i) CHECK_MESSAGE(mix[i] == word_hex(want[i].GetString()), key << " reg " << i);
    }
}

TEST_CASE("progpow: program init for prog_seed 600 gives the spec register orders and rng state") {
    const auto& v = kawpow("prog_init_seed_600");
    sb_kiss99_state st;
    sb_u32 dst[32], src[32];
    sb_progpow_init(&st, dst, src, 600);
    for (unsigned i = 0; i < 32; ++i) {
        CHECK_MESSAGE(src[i] == word_hex(v["src"][i].GetString()), "src " << i);
        CHECK_MESSAGE(dst[i] == word_hex(v["dst"][i].GetString()), "dst " << i);
    }
    const auto& k = v["kiss99_state"];
    CHECK(st.z == word_hex(k["z"].GetString()));
    CHECK(st.w == word_hex(k["w"].GetString()));
    CHECK(st.jsr == word_hex(k["jsr"].GetString()));
    CHECK(st.jcong == word_hex(k["jcong"].GetString()));
}

TEST_CASE("progpow: program for a period draws distinct math sources and starts DAG merges at register 0") {
    for (std::uint64_t seed : {0ull, 1ull, 600ull, 1470000ull}) {
        sb_progpow_program p;
        sb_progpow_build_program(&p, seed);
        CHECK(p.dag_dst[0] == 0);
        for (unsigned i = 0; i < SB_PROGPOW_CNT_MATH; ++i) {
            CHECK(p.math_src1[i] != p.math_src2[i]);
            CHECK(p.math_src1[i] < 32);
            CHECK(p.math_src2[i] < 32);
            CHECK(p.math_dst[i] < 32);
        }
    }
}

TEST_CASE("progpow: merge table covers its four paths") {
    const auto& v = kawpow("merge");
    REQUIRE(v.Size() == 4);
    for (const auto& row : v.GetArray())
        CHECK_MESSAGE(sb_progpow_merge(word_hex(row["a"].GetString()), word_hex(row["b"].GetString()),
                                       word_hex(row["r"].GetString())) == word_hex(row["result"].GetString()),
                      row["path"].GetString());
}

TEST_CASE("progpow: math table covers its eleven ops") {
    const auto& v = kawpow("math");
    REQUIRE(v.Size() == 12);
    for (const auto& row : v.GetArray())
        CHECK_MESSAGE(sb_progpow_math(word_hex(row["a"].GetString()), word_hex(row["b"].GetString()),
                                      word_hex(row["r"].GetString())) == word_hex(row["result"].GetString()),
                      row["op"].GetString());
}

TEST_CASE("progpow: math clz of zero is 32 and rotations by 0 and 32 are the identity") {
    CHECK(sb_progpow_math(0, 0, 9) == 64);
    CHECK(sb_progpow_math(0x12345678u, 0, 4) == 0x12345678u);
    CHECK(sb_progpow_math(0x12345678u, 32, 5) == 0x12345678u);
}
