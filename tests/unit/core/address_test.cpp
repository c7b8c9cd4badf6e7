#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "sb/core/address.hpp"
#include "sb/core/base58.hpp"
#include "sb/core/bech32.hpp"
#include "sb/core/hex.hpp"
#include "seed.hpp"
#include "vectors.hpp"

using namespace sb;

namespace {

// Network address formats (node.md §2.1, §2.2); chain.hpp carries the same values.
constexpr address_format btc_mainnet{0x00, 0x05, "bc"};
constexpr address_format btc_testnet{0x6f, 0xc4, "tb"};
constexpr address_format btc_regtest{0x6f, 0xc4, "bcrt"};
constexpr address_format rvn_mainnet{60, 122, ""};
constexpr address_format rvn_testnet{111, 196, ""};

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    return out;
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && lower(s.substr(0, prefix.size())) == prefix;
}

// The network a Bitcoin vector address belongs to, from its prefix.
const address_format& btc_format_of(std::string_view a) {
    if (starts_with_ci(a, "tb1") || a[0] == 'm' || a[0] == 'n' || a[0] == '2') return btc_testnet;
    if (starts_with_ci(a, "bcrt1")) return btc_regtest;
    return btc_mainnet;
}

// Canonical display form: Bech32 in lower case, Base58 as is.
std::string canonical(std::string_view a, const address_format& fmt) {
    if (!fmt.bech32_hrp.empty() && starts_with_ci(a, std::string(fmt.bech32_hrp) + "1")) return lower(a);
    return std::string(a);
}

std::string script_hex(std::string_view address, const address_format& fmt) {
    auto r = address_to_script(address, fmt);
    if (!r) return "error: " + r.error().message();
    return to_hex(r->script_pubkey);
}

struct reason_case {
    std::string_view text;
    core_errc why;
};

}  // namespace

// ---- Base58 ----------------------------------------------------------------------------

TEST_CASE("base58: known vectors encode and decode") {
    // Source: Bitcoin Core src/test/data/base58_encode_decode.json; each pair re-derived
    // with an independent big-integer conversion.
    const struct {
        std::string_view hex, b58;
    } table[] = {
        {"", ""},
        {"61", "2g"},
        {"626262", "a3gV"},
        {"636363", "aPEr"},
        {"73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2"},
        {"00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"},
        {"516b6fcd0f", "ABnLTmg"},
        {"bf4f89001e670274dd", "3SEo3LWLoPntC"},
        {"572e4794", "3EFU7m"},
        {"ecac89cad93923c02321", "EJDM8drfXA6uyA"},
        {"10c8511e", "Rt5zm"},
        {"00000000000000000000", "1111111111"},
        {"000111d38e5fc9071ffcd20b4a763cc9ae4f252bb4e48fd66a835e252ada93ff480d6dd43dc62a641155a5",
         "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"},
    };
    for (const auto& v : table) {
        INFO(v.b58);
        const bytes raw = from_hex(v.hex).value();
        CHECK(base58_encode(raw) == v.b58);
        auto back = base58_decode(v.b58, 100);
        REQUIRE(back);
        CHECK(to_hex(*back) == v.hex);
    }
}

TEST_CASE("base58: leading zero bytes and leading ones map one to one") {
    CHECK(base58_encode(from_hex("00").value()) == "1");
    CHECK(base58_encode(from_hex("0000ff").value()) == "115Q");
    CHECK(to_hex(base58_decode("115Q", 10).value()) == "0000ff");
    CHECK(to_hex(base58_decode("1", 10).value()) == "00");
    // A '1' after the first other digit is a zero digit, not a zero byte.
    CHECK(to_hex(base58_decode("21", 10).value()) == "3a");
}

TEST_CASE("base58: characters outside the alphabet are rejected") {
    for (std::string_view s : {"0", "O", "I", "l", "1 ", " 1", "2g\n", "+", "2g-", "\xff"}) {
        INFO(s);
        CHECK(base58_decode(s, 100).error() == core_errc::address_bad_base58);
    }
    CHECK(base58_decode(std::string_view("2\0g", 3), 100).error() == core_errc::address_bad_base58);
}

TEST_CASE("base58: decoding stops at max_bytes on either side of the boundary") {
    // 21 bytes of 0xff: the largest 21-byte value.
    const std::string big = "Gk2Yb7VgCTZ6sjfwWYwgqTpsjGdJW";
    CHECK(base58_decode(big, 21).value().size() == 21);
    CHECK(base58_decode(big, 20).error() == core_errc::address_bad_length);
    CHECK(base58_decode(big, 22).value().size() == 21);
    CHECK(base58_decode("111", 3).value().size() == 3);
    CHECK(base58_decode("111", 2).error() == core_errc::address_bad_length);
    CHECK(base58_decode(std::string(5000, 'z'), 21).error() == core_errc::address_bad_length);
    CHECK(base58_decode(std::string(5000, '1'), 21).error() == core_errc::address_bad_length);
}

TEST_CASE("base58: random bytes round-trip") {
    auto rng = test::seeded_rng(58);
    for (int i = 0; i < 300; ++i) {
        bytes b(rng() % 40);
        const std::size_t zeros = b.empty() ? 0 : rng() % (b.size() + 1);
        for (std::size_t j = zeros; j < b.size(); ++j) b[j] = static_cast<std::uint8_t>(rng());
        const std::string s = base58_encode(b);
        auto back = base58_decode(s, b.size());
        REQUIRE(back);
        CHECK(*back == b);
        auto checked = base58check_decode(base58check_encode(b), b.size());
        REQUIRE(checked);
        CHECK(*checked == b);
    }
}

TEST_CASE("base58: Base58Check finds a wrong checksum and a short input") {
    const bytes payload = from_hex("0062e907b15cbf27d5425399ebf6f0fb50ebb88f18").value();
    CHECK(base58check_encode(payload) == "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa");
    CHECK(base58check_decode("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", 21).value() == payload);
    CHECK(base58check_decode("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", 21).error() ==
          core_errc::address_bad_checksum);
    CHECK(base58check_decode("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", 20).error() ==
          core_errc::address_bad_length);
    CHECK(base58check_decode("", 21).error() == core_errc::address_bad_length);
    CHECK(base58check_decode("2g", 21).error() == core_errc::address_bad_length);
    CHECK(base58check_decode(base58check_encode({}), 21).value().empty());
}

// ---- Bech32 / Bech32m ------------------------------------------------------------------

TEST_CASE("bech32: BIP173 and BIP350 valid strings decode with their variant") {
    // Source: BIP173 and BIP350 "Test vectors", valid strings.
    const struct {
        std::string_view s;
        bech32_variant v;
    } table[] = {
        {"A12UEL5L", bech32_variant::bech32},
        {"a12uel5l", bech32_variant::bech32},
        {"an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
         bech32_variant::bech32},
        {"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw", bech32_variant::bech32},
        {"11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
         bech32_variant::bech32},
        {"split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w", bech32_variant::bech32},
        {"?1ezyfcl", bech32_variant::bech32},
        {"A1LQFN3A", bech32_variant::bech32m},
        {"a1lqfn3a", bech32_variant::bech32m},
        {"an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6",
         bech32_variant::bech32m},
        {"abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx", bech32_variant::bech32m},
        {"11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr8",
         bech32_variant::bech32m},
        {"split1checkupstagehandshakeupstreamerranterredcaperredlc445v", bech32_variant::bech32m},
        {"?1v759aa", bech32_variant::bech32m},
    };
    for (const auto& v : table) {
        INFO(v.s);
        auto d = bech32_decode(v.s);
        REQUIRE(d);
        CHECK(d->variant == v.v);
        auto again = bech32_encode(d->hrp, d->data, d->variant);
        REQUIRE(again);
        CHECK(*again == lower(v.s));
    }
}

TEST_CASE("bech32: BIP173 and BIP350 invalid strings are rejected with the reason") {
    using namespace std::string_view_literals;
    // Source: BIP173 and BIP350 "Test vectors", invalid strings.
    const reason_case table[] = {
        {"\x20" "1nwldj5"sv, core_errc::address_bad_bech32},   // hrp char out of range
        {"\x7f" "1axkwrx"sv, core_errc::address_bad_bech32},
        {"\x80" "1eym55h"sv, core_errc::address_bad_bech32},
        {"an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx"sv,
         core_errc::address_bad_length},                       // overall max length exceeded
        {"pzry9x0s0muk"sv, core_errc::address_bad_bech32},     // no separator
        {"1pzry9x0s0muk"sv, core_errc::address_bad_bech32},    // empty hrp
        {"x1b4n0q5v"sv, core_errc::address_bad_bech32},        // invalid data char
        {"li1dgmt3"sv, core_errc::address_bad_bech32},         // checksum too short
        {"de1lg7wt\xff"sv, core_errc::address_bad_bech32},     // invalid char in checksum
        {"A1G7SGD8"sv, core_errc::address_bad_checksum},       // checksum over upper-case hrp
        {"10a06t8"sv, core_errc::address_bad_bech32},          // empty hrp
        {"1qzzfhee"sv, core_errc::address_bad_bech32},         // empty hrp
        {"\x20" "1xj0phk"sv, core_errc::address_bad_bech32},
        {"\x7f" "1g6xzxy"sv, core_errc::address_bad_bech32},
        {"\x80" "1vctc34"sv, core_errc::address_bad_bech32},
        {"an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11d6pts4"sv,
         core_errc::address_bad_length},
        {"qyrz8wqd2c9m"sv, core_errc::address_bad_bech32},
        {"1qyrz8wqd2c9m"sv, core_errc::address_bad_bech32},
        {"y1b0jsk6g"sv, core_errc::address_bad_bech32},
        {"lt1igcx5c0"sv, core_errc::address_bad_bech32},
        {"in1muywd"sv, core_errc::address_bad_bech32},
        {"mm1crxm3i"sv, core_errc::address_bad_bech32},
        {"au1s5cgom"sv, core_errc::address_bad_bech32},
        {"M1VUXWEZ"sv, core_errc::address_bad_checksum},
        {"16plkw9"sv, core_errc::address_bad_bech32},
        {"1p2gdwpf"sv, core_errc::address_bad_bech32},
        // Beyond the BIP tables.
        {"A12uEL5L"sv, core_errc::address_mixed_case},
        {""sv, core_errc::address_bad_bech32},
        {"a12uel5l "sv, core_errc::address_bad_bech32},
    };
    for (const auto& v : table) {
        INFO(v.text);
        auto d = bech32_decode(v.text);
        CHECK(d.error() == v.why);
    }
}

TEST_CASE("bech32: the 90-character limit holds on either side") {
    const std::string at = "11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j";
    REQUIRE(at.size() == bech32_max_length);
    CHECK(bech32_decode(at));
    const bytes data5(bech32_max_length - 2 - bech32_checksum_length, 0);
    CHECK(bech32_encode("1", data5, bech32_variant::bech32).value() == at);
    const bytes one_more(data5.size() + 1, 0);
    CHECK(bech32_encode("1", one_more, bech32_variant::bech32).error() == core_errc::address_bad_length);
    CHECK(bech32_decode(at + "q").error() == core_errc::address_bad_length);
}

TEST_CASE("bech32: encode refuses a bad hrp and data values above 31") {
    const bytes ok{0, 1, 31};
    const bytes bad{0, 32};
    CHECK(bech32_encode("", ok, bech32_variant::bech32).error() == core_errc::address_bad_bech32);
    CHECK(bech32_encode("a b", ok, bech32_variant::bech32).error() == core_errc::address_bad_bech32);
    CHECK(bech32_encode("a", bad, bech32_variant::bech32).error() == core_errc::address_bad_bech32);
    CHECK(bech32_encode("A", ok, bech32_variant::bech32m).value().substr(0, 2) == "a1");
}

TEST_CASE("bech32: bit conversion pads on encode and enforces BIP173 padding on decode") {
    CHECK(convert_8_to_5(from_hex("ff").value()) == bytes{31, 28});
    CHECK(convert_5_to_8(bytes{31, 28}).value() == bytes{0xff});
    // Non-zero padding bits.
    CHECK(convert_5_to_8(bytes{31, 29}).error() == core_errc::address_bad_padding);
    // Five leftover bits: a whole extra group of padding.
    CHECK(convert_5_to_8(bytes{31, 28, 0}).error() == core_errc::address_bad_padding);
    CHECK(convert_5_to_8(bytes{32}).error() == core_errc::address_bad_bech32);
    CHECK(convert_5_to_8(bytes{}).value().empty());

    auto rng = test::seeded_rng(32);
    for (int i = 0; i < 200; ++i) {
        bytes b(rng() % 65);
        for (auto& x : b) x = static_cast<std::uint8_t>(rng());
        const bytes five = convert_8_to_5(b);
        CHECK(five.size() == (b.size() * 8 + 4) / 5);
        CHECK(convert_5_to_8(five).value() == b);
    }
}

TEST_CASE("bech32: segwit_encode enforces the version and program-length rules") {
    const bytes p20(20, 0x11), p32(32, 0x22), p2(2, 0x33), p40(40, 0x44), p1(1), p41(41), p16(16);
    CHECK(segwit_encode("bc", 0, p20));
    CHECK(segwit_encode("bc", 0, p32));
    CHECK(segwit_encode("bc", 0, p16).error() == core_errc::address_bad_program_length);
    CHECK(segwit_encode("bc", 1, p2));
    CHECK(segwit_encode("bc", 16, p40));
    CHECK(segwit_encode("bc", 1, p1).error() == core_errc::address_bad_program_length);
    CHECK(segwit_encode("bc", 1, p41).error() == core_errc::address_bad_program_length);
    CHECK(segwit_encode("bc", 17, p20).error() == core_errc::address_bad_witness_version);
    for (std::uint8_t v = 0; v <= 16; ++v) {
        const bytes& p = v == 0 ? p32 : p40;
        auto a = segwit_encode("tb", v, p);
        REQUIRE(a);
        auto back = segwit_decode("tb", *a);
        REQUIRE(back);
        CHECK(back->version == v);
        CHECK(back->program == p);
        CHECK(bech32_decode(*a).value().variant == (v == 0 ? bech32_variant::bech32 : bech32_variant::bech32m));
    }
}

// ---- Addresses -------------------------------------------------------------------------

TEST_CASE("address: every valid vector gives its script on its own network") {
    const auto& doc = test::vector_json("bitcoin.json");
    const auto& valid = doc["addresses_valid"];
    REQUIRE(valid.Size() >= 10);
    for (const auto& v : valid.GetArray()) {
        const std::string a = v["address"].GetString();
        INFO(a);
        CHECK(script_hex(a, btc_format_of(a)) == v["script"].GetString());
    }
}

TEST_CASE("address: script kinds follow the witness version and program length") {
    using k = payout_script::kind;
    const struct {
        std::string_view a;
        k type;
    } table[] = {
        {"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", k::p2pkh},
        {"3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", k::p2sh},
        {"BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", k::p2wpkh},
        {"bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3", k::p2wsh},
        {"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", k::p2tr},
        {"bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y", k::witness_unknown},
        {"BC1SW50QGDZ25J", k::witness_unknown},
    };
    for (const auto& v : table) {
        INFO(v.a);
        auto r = address_to_script(v.a, btc_mainnet);
        REQUIRE(r);
        CHECK(r->type == v.type);
    }
    CHECK(to_string(k::p2tr) == "p2tr");
    CHECK(to_string(k::witness_unknown) == "witness_unknown");
}

TEST_CASE("address: BIP350 v2 address gives OP_2 and a 16-byte push") {
    // Source: BIP350 valid segwit addresses.
    CHECK(script_hex("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", btc_mainnet) ==
          "5210751e76e8199196d454941c45d1b3a323");
    // The same program under BIP173's Bech32 checksum is no longer valid.
    CHECK(address_to_script("bc1zw508d6qejxtdg4y5r3zarvaryvg6kdaj", btc_mainnet).error() ==
          core_errc::address_wrong_checksum_variant);
}

TEST_CASE("address: every invalid vector is rejected with its specific reason") {
    const auto& doc = test::vector_json("bitcoin.json");
    const auto& invalid = doc["addresses_invalid"];
    REQUIRE(invalid.Size() >= 4);
    for (const auto& v : invalid.GetArray()) {
        const std::string a = v["address"].GetString();
        const std::string why = v["why"].GetString();
        INFO(a << " (" << why << ")");
        // The file's reasons: a Bech32/Bech32m mix-up, or a program of the wrong length.
        const bool checksum = why.find("hecksum") != std::string::npos;
        const bool program = why.find("program") != std::string::npos;
        REQUIRE((checksum || program));
        const core_errc want =
            checksum ? core_errc::address_wrong_checksum_variant : core_errc::address_bad_program_length;
        CHECK(address_to_script(a, btc_format_of(a)).error() == want);
    }
}

TEST_CASE("address: BIP173 invalid addresses are rejected with the reason") {
    // Source: BIP173 "Invalid addresses". The v1+ entries carry Bech32 checksums, which
    // BIP350 now refuses first: their reason becomes the checksum variant.
    const reason_case table[] = {
        {"tc1qw508d6qejxtdg4y5r3zarvary0c5xw7kg3g4ty", core_errc::address_wrong_network},
        {"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", core_errc::address_bad_checksum},
        {"BC13W508D6QEJXTDG4Y5R3ZARVARY0C5XW7KN40WF2", core_errc::address_bad_witness_version},
        {"bc1rw5uspcuh", core_errc::address_wrong_checksum_variant},
        {"bc10w508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kw5rljs90",
         core_errc::address_wrong_checksum_variant},
        {"BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P", core_errc::address_bad_program_length},
        {"tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sL5k7", core_errc::address_mixed_case},
        {"bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du", core_errc::address_wrong_checksum_variant},
        {"tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3pjxtptv", core_errc::address_bad_padding},
        {"bc1gmk9yu", core_errc::address_bad_program_length},
    };
    for (const auto& v : table) {
        INFO(v.text);
        CHECK(address_to_script(v.text, btc_format_of(v.text)).error() == v.why);
    }
}

TEST_CASE("address: BIP350 invalid addresses are rejected with the reason") {
    // Source: BIP350 "Test vectors for v0-v16 native segregated witness addresses", invalid.
    const reason_case table[] = {
        {"tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut", core_errc::address_wrong_network},
        {"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",
         core_errc::address_wrong_checksum_variant},
        {"tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf",
         core_errc::address_wrong_checksum_variant},
        {"BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",
         core_errc::address_wrong_checksum_variant},
        {"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh", core_errc::address_wrong_checksum_variant},
        {"tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47",
         core_errc::address_wrong_checksum_variant},
        {"bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4", core_errc::address_bad_bech32},
        {"BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R",
         core_errc::address_bad_witness_version},
        {"bc1pw5dgrnzv", core_errc::address_bad_program_length},
        {"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",
         core_errc::address_bad_program_length},
        {"BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P", core_errc::address_bad_program_length},
        {"tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq", core_errc::address_mixed_case},
        {"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf", core_errc::address_bad_padding},
        {"tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j", core_errc::address_bad_padding},
        {"bc1gmk9yu", core_errc::address_bad_program_length},
    };
    for (const auto& v : table) {
        INFO(v.text);
        CHECK(address_to_script(v.text, btc_format_of(v.text)).error() == v.why);
    }
}

TEST_CASE("address: Ravencoin R and r addresses carry the hash160 of the Bitcoin testnet m address") {
    const auto& doc = test::vector_json("bitcoin.json");
    const auto& same = doc["ravencoin_same_hash160"];
    REQUIRE(same.Size() == 3);
    const std::string r_p2pkh = same[0]["address"].GetString();
    const std::string r_p2sh = same[1]["address"].GetString();
    const std::string m_p2pkh = same[2]["address"].GetString();

    auto btc = address_to_script(m_p2pkh, btc_testnet);
    REQUIRE(btc);
    REQUIRE(btc->type == payout_script::kind::p2pkh);
    const std::string h160 = to_hex(btc->script_pubkey).substr(6, 40);

    auto rp = address_to_script(r_p2pkh, rvn_mainnet);
    REQUIRE(rp);
    CHECK(rp->type == payout_script::kind::p2pkh);
    CHECK(to_hex(rp->script_pubkey) == "76a914" + h160 + "88ac");

    auto rs = address_to_script(r_p2sh, rvn_mainnet);
    REQUIRE(rs);
    CHECK(rs->type == payout_script::kind::p2sh);
    CHECK(to_hex(rs->script_pubkey) == "a914" + h160 + "87");

    // Ravencoin testnet shares Bitcoin testnet's version bytes.
    CHECK(script_hex(m_p2pkh, rvn_testnet) == to_hex(btc->script_pubkey));
    CHECK(script_to_address(rp->script_pubkey, rvn_mainnet).value() == r_p2pkh);
    CHECK(script_to_address(rs->script_pubkey, rvn_mainnet).value() == r_p2sh);
    CHECK(script_to_address(rp->script_pubkey, btc_testnet).value() == m_p2pkh);

    CHECK(address_to_script(r_p2pkh, btc_mainnet).error() == core_errc::address_wrong_network);
    CHECK(address_to_script(r_p2sh, btc_mainnet).error() == core_errc::address_wrong_network);
    CHECK(address_to_script(r_p2pkh, rvn_testnet).error() == core_errc::address_wrong_network);
}

TEST_CASE("address: an address of another network is refused as wrong network") {
    const std::string_view main_p2pkh = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa";
    const std::string_view main_p2sh = "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy";
    const std::string_view bc = "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3";
    const std::string_view tb = "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7";
    CHECK(address_to_script(main_p2pkh, btc_testnet).error() == core_errc::address_wrong_network);
    CHECK(address_to_script(main_p2sh, btc_testnet).error() == core_errc::address_wrong_network);
    CHECK(address_to_script(main_p2pkh, rvn_mainnet).error() == core_errc::address_wrong_network);
    CHECK(address_to_script(bc, btc_testnet).error() == core_errc::address_wrong_network);
    CHECK(address_to_script(bc, btc_regtest).error() == core_errc::address_wrong_network);
    CHECK(address_to_script(tb, btc_mainnet).error() == core_errc::address_wrong_network);
    CHECK(address_to_script(lower("BC1SW50QGDZ25J"), btc_testnet).error() == core_errc::address_wrong_network);
    // A foreign well-known hrp wins even over a broken checksum.
    CHECK(address_to_script("tb1qqqqqqqqq", btc_mainnet).error() == core_errc::address_wrong_network);

    const bytes prog(20, 0xab);
    const std::string rt = segwit_encode("bcrt", 0, prog).value();
    CHECK(script_hex(rt, btc_regtest) == "0014" + to_hex(prog));
    CHECK(address_to_script(rt, btc_mainnet).error() == core_errc::address_wrong_network);
    CHECK(address_to_script(rt, btc_testnet).error() == core_errc::address_wrong_network);
}

TEST_CASE("address: networks without an hrp refuse Bech32 as not supported") {
    CHECK(address_to_script("bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3", rvn_mainnet)
              .error() == core_errc::address_not_supported);
    CHECK(address_to_script("BC1SW50QGDZ25J", rvn_mainnet).error() == core_errc::address_not_supported);
    CHECK(address_to_script("tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", rvn_testnet)
              .error() == core_errc::address_not_supported);
    // Any valid Bech32 string, whatever its hrp.
    CHECK(address_to_script(segwit_encode("xyz", 0, bytes(20, 1)).value(), rvn_mainnet).error() ==
          core_errc::address_not_supported);
    CHECK(script_to_address(from_hex("0014751e76e8199196d454941c45d1b3a323f1433bd6").value(), rvn_mainnet)
              .error() == core_errc::address_not_supported);
}

TEST_CASE("address: Bech32 in mixed case is refused and in upper case accepted") {
    const std::string_view lc = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4";
    CHECK(script_hex(lc, btc_mainnet) == "0014751e76e8199196d454941c45d1b3a323f1433bd6");
    CHECK(script_hex("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", btc_mainnet) ==
          "0014751e76e8199196d454941c45d1b3a323f1433bd6");
    CHECK(address_to_script("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kV8F3T4", btc_mainnet).error() ==
          core_errc::address_mixed_case);
    CHECK(address_to_script("Bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", btc_mainnet).error() ==
          core_errc::address_mixed_case);
}

TEST_CASE("address: empty input surrounding whitespace and overlong input are refused") {
    const std::string a = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa";
    const std::string b = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4";
    CHECK(address_to_script("", btc_mainnet).error() == core_errc::address_empty);
    CHECK(address_to_script(" " + a, btc_mainnet).error() == core_errc::address_bad_base58);
    CHECK(address_to_script(a + "\n", btc_mainnet).error() == core_errc::address_bad_base58);
    CHECK(address_to_script(b + " ", btc_mainnet).error() == core_errc::address_bad_bech32);
    CHECK(address_to_script(" " + b, btc_mainnet).error() == core_errc::address_bad_base58);
    CHECK(address_to_script(std::string(91, '1'), btc_mainnet).error() == core_errc::address_bad_length);
    CHECK(address_to_script(std::string(90, '1'), btc_mainnet).error() == core_errc::address_bad_length);
}

TEST_CASE("address: Base58Check payloads other than 21 bytes and unknown versions are refused") {
    bytes p = from_hex("0062e907b15cbf27d5425399ebf6f0fb50ebb88f18").value();
    p[0] = 0x30;  // Litecoin P2PKH: no network we know of here.
    CHECK(address_to_script(base58check_encode(p), btc_mainnet).error() == core_errc::address_unknown_version);
    p[0] = 0x00;
    p.push_back(0);
    CHECK(address_to_script(base58check_encode(p), btc_mainnet).error() == core_errc::address_bad_length);
    p.resize(20);
    CHECK(address_to_script(base58check_encode(p), btc_mainnet).error() == core_errc::address_bad_length);
    CHECK(address_to_script("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", btc_mainnet).error() ==
          core_errc::address_bad_checksum);
    CHECK(address_to_script("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfN0", btc_mainnet).error() ==
          core_errc::address_bad_base58);
}

TEST_CASE("address: every single-character substitution of a valid address is refused") {
    const auto& doc = test::vector_json("bitcoin.json");
    std::vector<std::pair<std::string, const address_format*>> all;
    for (const auto& v : doc["addresses_valid"].GetArray()) {
        const std::string a = v["address"].GetString();
        all.emplace_back(a, &btc_format_of(a));
    }
    const auto& same = doc["ravencoin_same_hash160"];
    all.emplace_back(same[0]["address"].GetString(), &rvn_mainnet);
    all.emplace_back(same[1]["address"].GetString(), &rvn_mainnet);
    all.emplace_back(same[2]["address"].GetString(), &btc_testnet);

    std::size_t tried = 0;
    for (const auto& [a, fmt] : all) {
        REQUIRE(address_to_script(a, *fmt));
        for (std::size_t i = 0; i < a.size(); ++i) {
            for (int c = 0; c < 256; ++c) {
                if (char(c) == a[i]) continue;
                std::string m = a;
                m[i] = char(c);
                ++tried;
                if (address_to_script(m, *fmt)) FAIL_CHECK("accepted: " << m);
            }
        }
    }
    CHECK(tried > 100000);
}

TEST_CASE("address: script_to_address inverts address_to_script") {
    const auto& doc = test::vector_json("bitcoin.json");
    for (const auto& v : doc["addresses_valid"].GetArray()) {
        const std::string a = v["address"].GetString();
        INFO(a);
        const address_format& fmt = btc_format_of(a);
        auto s = address_to_script(a, fmt);
        REQUIRE(s);
        auto back = script_to_address(s->script_pubkey, fmt);
        REQUIRE(back);
        CHECK(*back == canonical(a, fmt));
    }
    auto rng = test::seeded_rng(173);
    for (int i = 0; i < 200; ++i) {
        const auto v = static_cast<std::uint8_t>(rng() % 17);
        bytes prog(v == 0 ? (rng() % 2 ? 20 : 32) : 2 + rng() % 39);
        for (auto& x : prog) x = static_cast<std::uint8_t>(rng());
        const std::string a = segwit_encode("bcrt", v, prog).value();
        auto s = address_to_script(a, btc_regtest);
        REQUIRE(s);
        CHECK(script_to_address(s->script_pubkey, btc_regtest).value() == a);
    }
}

TEST_CASE("address: script_to_address refuses scripts that are no payout address") {
    for (std::string_view hex : {
             "",
             "6a",                                            // OP_RETURN
             "76a914751e76e8199196d454941c45d1b3a323f1433bd688ad",  // OP_CHECKSIGVERIFY
             "a914751e76e8199196d454941c45d1b3a323f1433bd688",      // OP_EQUALVERIFY
             "0010751e76e8199196d454941c45d1b3a323",                // v0, 16 bytes
             "5101aa",                                              // v1, 1 byte
             "0014751e76e8199196d454941c45d1b3a323f1433bd600",      // trailing byte
             "4f02aaaa",                                            // OP_1NEGATE
             "21" "02aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "ac",  // P2PK
         }) {
        INFO(hex);
        CHECK(script_to_address(from_hex(hex).value(), btc_mainnet).error() == core_errc::address_not_supported);
    }
}
