#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "sb/core/hex.hpp"
#include "sb/core/script.hpp"
#include "vectors.hpp"

using namespace sb;

TEST_CASE("script: BIP34 height pushes match CScript() << height for every vector") {
    // Source: bitcoin.json bip34_height_push (node.md §5.5).
    const auto& rows = test::vector_json("bitcoin.json")["bip34_height_push"];
    int n = 0;
    for (auto it = rows.MemberBegin(); it != rows.MemberEnd(); ++it, ++n) {
        const std::int64_t height = std::stoll(it->name.GetString());
        CAPTURE(height);
        CHECK(to_hex(bip34_height_push(height)) == it->value.GetString());
    }
    CHECK(n == 21);
}

TEST_CASE("script: heights one above and below each push-size boundary") {
    CHECK(to_hex(bip34_height_push(15)) == "5f");
    CHECK(to_hex(bip34_height_push(16)) == "60");
    CHECK(to_hex(bip34_height_push(17)) == "0111");
    CHECK(to_hex(bip34_height_push(126)) == "017e");
    CHECK(to_hex(bip34_height_push(129)) == "028100");
    CHECK(to_hex(bip34_height_push(32766)) == "02fe7f");
    CHECK(to_hex(bip34_height_push(32769)) == "03018000");
    CHECK(to_hex(bip34_height_push(8388606)) == "03feff7f");
    CHECK(to_hex(bip34_height_push(8388609)) == "0401008000");
}

TEST_CASE("script: block 413567 coinbase starts with its BIP34 height push") {
    const auto& doc = test::vector_json("bitcoin.json");
    auto tx = from_hex(doc["block413567_coinbase"]["hex"].GetString());
    REQUIRE(tx);
    // version (4) | input count (1) | prevout (36) | scriptSig length (1) | scriptSig
    const auto push = bip34_height_push(413567);
    REQUIRE(tx->size() > 42 + push.size());
    CHECK(std::vector<std::uint8_t>(tx->begin() + 42, tx->begin() + 42 + long(push.size())) == push);
}

TEST_CASE("script: regtest height-1 coinbase starts with OP_1 then the extranonce push") {
    const auto& doc = test::vector_json("bitcoin.json");
    const std::string coinb1 = doc["regtest_block_height_1"]["coinb1"].GetString();
    // coinb1 ends with the scriptSig length, the height push and the 8-byte push opcode.
    std::vector<std::uint8_t> tail = bip34_height_push(1);
    tail.push_back(8);
    CHECK(coinb1.substr(coinb1.size() - 2 * tail.size()) == to_hex(tail));
}

TEST_CASE("script: script numbers use minimal sign-magnitude bytes") {
    struct row { std::int64_t n; const char* hex; };
    const row rows[] = {
        {0, ""},          {1, "01"},        {-1, "81"},       {127, "7f"},     {-127, "ff"},
        {128, "8000"},    {-128, "8080"},   {255, "ff00"},    {-255, "ff80"},  {256, "0001"},
        {32767, "ff7f"},  {-32768, "008080"}, {8388607, "ffff7f"}, {8388608, "00008000"},
        {std::numeric_limits<std::int64_t>::max(), "ffffffffffffff7f"},
        {std::numeric_limits<std::int64_t>::min(), "000000000000008080"},
    };
    for (const row& r : rows) {
        CAPTURE(r.n);
        CHECK(to_hex(script_num_serialize(r.n)) == r.hex);
    }
}

TEST_CASE("script: small integers become single opcodes") {
    std::vector<std::uint8_t> s;
    append_script_int(s, 0);
    append_script_int(s, -1);
    append_script_int(s, 1);
    append_script_int(s, 16);
    append_script_int(s, 17);
    append_script_int(s, -2);
    CHECK(to_hex(s) == "004f51600111" "0182");
}

TEST_CASE("script: data pushes pick the shortest opcode at each size boundary") {
    struct row { std::size_t size; const char* prefix; };
    const row rows[] = {
        {0, "00"},          {1, "01"},          {75, "4b"},           {76, "4c4c"},
        {255, "4cff"},      {256, "4d0001"},    {65535, "4dffff"},    {65536, "4e00000100"},
    };
    for (const row& r : rows) {
        CAPTURE(r.size);
        std::vector<std::uint8_t> data(r.size);
        for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 7 + 1);
        const auto pushed = push_data(data);
        const std::string prefix = r.prefix;
        REQUIRE(pushed.size() == prefix.size() / 2 + r.size);
        CHECK(to_hex({pushed.data(), prefix.size() / 2}) == prefix);
        CHECK(std::vector<std::uint8_t>(pushed.begin() + long(prefix.size() / 2), pushed.end()) == data);
    }
}

TEST_CASE("script: a single-byte push stays a data push") {
    const std::uint8_t one[] = {0x05};
    CHECK(to_hex(push_data(one)) == "0105");
    std::vector<std::uint8_t> s = {0x6a};
    append_push_data(s, one);
    CHECK(to_hex(s) == "6a0105");
}
