#include <doctest/doctest.h>

#include "sb/core/bytes.hpp"
#include "sb/core/hex.hpp"
#include "seed.hpp"

using namespace sb;

TEST_CASE("hex: decoding is case-insensitive and encoding is lower case") {
    auto r = from_hex("00aBcDeF9f");
    REQUIRE(r);
    CHECK(to_hex(*r) == "00abcdef9f");
    CHECK(to_hex_reversed(*r) == "9fefcdab00");
}

TEST_CASE("hex: malformed input gives the precise error") {
    CHECK(from_hex("abc").error() == core_errc::hex_odd_length);
    CHECK(from_hex("0g").error() == core_errc::hex_bad_digit);
    CHECK(from_hex(" 00").error() == core_errc::hex_odd_length);
    CHECK(from_hex("0x00").error() == core_errc::hex_bad_digit);
    CHECK(from_hex("0000", 3).error() == core_errc::hex_too_long);
    CHECK(from_hex("0000", 4));
    CHECK(from_hex_fixed<2>("000000").error() == core_errc::hex_wrong_length);
    CHECK(from_hex_fixed<2>("00000").error() == core_errc::hex_odd_length);
    CHECK(from_hex_fixed<2>("0000"));
    CHECK(from_hex("").value().empty());
}

TEST_CASE("hex: random bytes round-trip") {
    auto rng = test::seeded_rng(1);
    for (int i = 0; i < 200; ++i) {
        bytes b(rng() % 100);
        for (auto& x : b) x = static_cast<std::uint8_t>(rng());
        auto back = from_hex(to_hex(b));
        REQUIRE(back);
        CHECK(*back == b);
    }
}

TEST_CASE("bytes: CompactSize uses the shortest form at every boundary") {
    struct row { std::uint64_t v; const char* hex; };
    const row rows[] = {
        {0, "00"}, {0xfc, "fc"}, {0xfd, "fdfd00"}, {0xffff, "fdffff"}, {0x10000, "fe00000100"},
        {0xffffffff, "feffffffff"}, {0x100000000ull, "ff0000000001000000"},
        {0xffffffffffffffffull, "ffffffffffffffffff"},
    };
    for (const auto& r : rows) {
        byte_writer w;
        w.compact_size(r.v);
        CHECK(to_hex(w.data()) == r.hex);
        CHECK(w.size() == compact_size_len(r.v));
        byte_reader rd(w.data());
        auto back = rd.compact_size(UINT64_MAX);
        REQUIRE(back);
        CHECK(*back == r.v);
        CHECK(rd.empty());
    }
}

TEST_CASE("bytes: non-canonical and oversized CompactSize are rejected without moving") {
    for (const char* hex : {"fdfc00", "fe0000ffff" /* 0xffff0000 is canonical */, "fdff"}) {
        auto b = from_hex(hex).value();
        byte_reader rd(b);
        auto r = rd.compact_size(UINT64_MAX);
        if (std::string_view(hex) == "fe0000ffff") {
            CHECK(r);
            continue;
        }
        CHECK(!r);
        CHECK(rd.position() == 0);
    }
    CHECK(byte_reader(from_hex("fdfc00").value()).compact_size().error() == core_errc::non_canonical_varint);
    CHECK(byte_reader(from_hex("fe00000003").value()).compact_size(max_compact_size).error() ==
          core_errc::size_too_large);
    CHECK(byte_reader(from_hex("fe00000002").value()).compact_size(max_compact_size));
    CHECK(byte_reader(from_hex("fe01000002").value()).compact_size(max_compact_size).error() ==
          core_errc::size_too_large);
}

TEST_CASE("bytes: reader stops at the end of the data") {
    auto b = from_hex("0102030405").value();
    byte_reader rd(b);
    CHECK(rd.u32le().value() == 0x04030201u);
    CHECK(rd.u32le().error() == core_errc::read_past_end);
    CHECK(rd.position() == 4);
    CHECK(rd.u8().value() == 5);
    CHECK(rd.u8().error() == core_errc::read_past_end);
    auto c = from_hex("0501").value();  // announces 5 bytes, holds 1
    byte_reader rd2(c);
    CHECK(rd2.var_bytes().error() == core_errc::read_past_end);
    CHECK(rd2.position() == 0);
}

TEST_CASE("bytes: writer and reader agree on every integer width") {
    byte_writer w;
    w.u8(0xab);
    w.u16le(0x1234);
    w.u32le(0xdeadbeef);
    w.u32be(0xdeadbeef);
    w.u64le(0x0102030405060708ull);
    w.i32le(-2);
    w.i64le(-3);
    w.var_bytes(from_hex("cafe").value());
    CHECK(to_hex(w.data()) ==
          "ab3412efbeaddedeadbeef0807060504030201feffffff" "fdffffffffffffff" "02cafe");
    byte_reader rd(w.data());
    CHECK(rd.u8().value() == 0xab);
    CHECK(rd.u16le().value() == 0x1234);
    CHECK(rd.u32le().value() == 0xdeadbeefu);
    CHECK(rd.skip(4) == std::error_code{});
    CHECK(rd.u64le().value() == 0x0102030405060708ull);
    CHECK(rd.i32le().value() == -2);
    CHECK(rd.i64le().value() == -3);
    CHECK(to_hex(rd.var_bytes().value()) == "cafe");
    CHECK(rd.empty());
}
