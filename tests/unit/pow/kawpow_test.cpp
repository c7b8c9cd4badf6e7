// KAWPOW hash, verification and search on the CPU reference, and real Ravencoin headers.
// Vectors: tests/vectors/kawpow.json (cpp-kawpow progpow_test_vectors.hpp) and
// tests/vectors/ravencoin.json (blocks accepted by Ravencoin Core 4.6.1 in regtest).
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "pow_test_support.hpp"
#include "sb/core/hex.hpp"
#include "sb/core/ravencoin.hpp"
#include "sb/pow/kawpow.hpp"
#include "vectors.hpp"

using namespace sb::test::pow;
namespace ethash = sb::pow::ethash;
namespace kawpow = sb::pow::kawpow;

namespace {

const rapidjson::Value& vectors(const char* file, const char* member) {
    const auto& doc = sb::test::vector_json(file);
    REQUIRE(doc.HasMember(member));
    return doc[member];
}

struct hash_vector {
    std::uint64_t height;
    sb::hash256 header_hash;
    std::uint64_t nonce;
    sb::hash256 mix_hash;
    sb::hash256 final_hash;
};

hash_vector read_hash_vector(const rapidjson::Value& row) {
    return {row["block_height"].GetUint64(), hash_hex(row["header_hash"].GetString()),
            nonce_hex(row["nonce"].GetString()), hash_hex(row["mix_hash"].GetString()),
            hash_hex(row["final_hash"].GetString())};
}

const sb::hash256 max_boundary = [] {
    sb::hash256 b;
    b.fill(0xff);
    return b;
}();

// boundary + delta as a 256-bit big-endian number (delta = +1 or -1; no wrap in use here).
sb::hash256 add_be(sb::hash256 h, int delta) {
    for (std::size_t i = h.size(); i-- > 0;) {
        if (delta > 0) {
            if (++h[i] != 0) break;
        } else {
            if (h[i]-- != 0) break;
        }
    }
    return h;
}

}  // namespace

TEST_CASE("kawpow: every cpp-kawpow hash vector gives its mix and final hash") {
    const auto& rows = vectors("kawpow.json", "hash");
    REQUIRE(rows.Size() == 8);
    for (const auto& row : rows.GetArray()) {
        const auto v = read_hash_vector(row);
        const auto& ctx = context(ethash::epoch_number(v.height));
        const auto r = kawpow::hash(ctx, v.height, v.header_hash, v.nonce);
        CHECK_MESSAGE(sb::to_hex(r.mix_hash) == sb::to_hex(v.mix_hash), "height " << v.height);
        CHECK_MESSAGE(sb::to_hex(r.final_hash) == sb::to_hex(v.final_hash), "height " << v.height);
        CHECK(kawpow::final_hash_from_mix(v.header_hash, v.mix_hash, v.nonce) == v.final_hash);
    }
}

TEST_CASE("kawpow: verification accepts the vector nonce and rejects its neighbours and a flipped mix byte") {
    const auto v = read_hash_vector(vectors("kawpow.json", "hash")[1]);
    const auto& ctx = context(ethash::epoch_number(v.height));
    CHECK(kawpow::verify(ctx, v.height, v.header_hash, v.mix_hash, v.nonce, max_boundary) == kawpow::verify_status::ok);
    CHECK(kawpow::verify(ctx, v.height, v.header_hash, v.mix_hash, v.nonce + 1, max_boundary) ==
          kawpow::verify_status::invalid_mix_hash);
    CHECK(kawpow::verify(ctx, v.height, v.header_hash, v.mix_hash, v.nonce - 1, max_boundary) ==
          kawpow::verify_status::invalid_mix_hash);
    for (std::size_t byte : {std::size_t{0}, std::size_t{17}, std::size_t{31}}) {
        auto mix = v.mix_hash;
        mix[byte] ^= 0x01;
        CHECK(kawpow::verify(ctx, v.height, v.header_hash, mix, v.nonce, max_boundary) ==
              kawpow::verify_status::invalid_mix_hash);
    }
    CHECK(kawpow::verify(ctx, v.height + ethash::epoch_length, v.header_hash, v.mix_hash, v.nonce, max_boundary) ==
          kawpow::verify_status::wrong_epoch);
}

TEST_CASE("kawpow: target boundary is inclusive one step above and below the final hash") {
    const auto v = read_hash_vector(vectors("kawpow.json", "hash")[2]);
    const auto& ctx = context(ethash::epoch_number(v.height));
    const auto verify = [&](const sb::hash256& boundary) {
        return kawpow::verify(ctx, v.height, v.header_hash, v.mix_hash, v.nonce, boundary);
    };
    CHECK(verify(v.final_hash) == kawpow::verify_status::ok);
    CHECK(verify(add_be(v.final_hash, +1)) == kawpow::verify_status::ok);
    CHECK(verify(add_be(v.final_hash, -1)) == kawpow::verify_status::high_hash);
    CHECK(kawpow::meets_boundary(v.final_hash, v.final_hash));
    CHECK_FALSE(kawpow::meets_boundary(v.final_hash, add_be(v.final_hash, -1)));
}

TEST_CASE("kawpow: search finds nonce 395 from 300 and nothing in 700 to 799") {
    const auto& s = vectors("kawpow.json", "search");
    const std::uint64_t height = s["block_height"].GetUint64();
    const auto header = hash_hex(s["header_hash"].GetString());
    const auto boundary = hash_hex(s["boundary"].GetString());
    const auto& ctx = context(s["epoch"].GetInt());
    const auto found = kawpow::search(ctx, height, header, boundary, 300, 100);
    REQUIRE(found.has_value());
    CHECK(found->nonce == s["start_nonce_300_count_100_finds_nonce"].GetUint64());
    CHECK(found->hash == kawpow::hash(ctx, height, header, found->nonce));
    CHECK(kawpow::verify(ctx, height, header, found->hash.mix_hash, found->nonce, boundary) ==
          kawpow::verify_status::ok);
    CHECK(s["start_nonce_700_count_100_finds"].IsNull());
    CHECK_FALSE(kawpow::search(ctx, height, header, boundary, 700, 100).has_value());
}

TEST_CASE("kawpow: header hash of an 80-byte input is the byte-reversed sha256d") {
    const auto& v = vectors("kawpow.json", "header_hash_from_input80");
    const auto input = sb::from_hex_fixed<80>(v["input80"].GetString());
    REQUIRE(input.has_value());
    const auto header_hash = sb::ravencoin::kawpow_header_hash(*input);
    CHECK(sb::to_hex(header_hash) == v["header_hash"].GetString());
    CHECK(sb::to_hex(sb::sha256d(*input)) == v["sha256d_bytes"].GetString());
    sb::ravencoin::kawpow_header h;
    h.version = 0x30000000;
    for (std::size_t i = 0; i < 32; ++i) {
        h.prev_block[i] = static_cast<std::uint8_t>(i);
        h.merkle_root[i] = static_cast<std::uint8_t>(0x20 + i);
    }
    h.time = 1700000000;
    h.bits = 0x1b00ffff;
    h.height = 3900123;
    CHECK(h.serialize_input() == *input);
    CHECK(h.header_hash() == header_hash);
}

TEST_CASE("kawpow: Ravencoin regtest blocks rebuild, hash to their block hash and verify") {
    const auto& rows = vectors("ravencoin.json", "kawpow_blocks_accepted");
    REQUIRE(rows.Size() == 2);
    for (const auto& row : rows.GetArray()) {
        const std::uint64_t height = row["height"].GetUint64();
        const auto raw = sb::from_hex_fixed<120>(row["header120"].GetString());
        REQUIRE(raw.has_value());
        const auto header = sb::ravencoin::parse_kawpow_header(*raw);
        CHECK(header.height == height);
        CHECK(header.nonce64 == nonce_hex(row["nonce"].GetString()));
        CHECK(sb::to_hex(header.mix_hash) == row["mix_hash"].GetString());
        CHECK(sb::to_hex(header.header_hash()) == row["header_hash"].GetString());
        CHECK(header.serialize() == *raw);

        const auto& ctx = context(ethash::epoch_number(height));
        const auto r = kawpow::hash(ctx, height, header.header_hash(), header.nonce64);
        CHECK_MESSAGE(sb::to_hex(r.final_hash) == row["final_hash_block_hash"].GetString(), "height " << height);
        CHECK_MESSAGE(r.mix_hash == header.mix_hash, "height " << height);
        // The regtest target from nBits 0x207fffff: 7fffff00...00.
        auto target = hash_hex("7fffff0000000000000000000000000000000000000000000000000000000000");
        CHECK(kawpow::verify(ctx, height, header.header_hash(), header.mix_hash, header.nonce64, target) ==
              kawpow::verify_status::ok);
        // A mix written without the byte reversal is what the node rejects (invalid-mix-hash).
        auto unreversed = header.mix_hash;
        std::reverse(unreversed.begin(), unreversed.end());
        CHECK(kawpow::verify(ctx, height, header.header_hash(), unreversed, header.nonce64, max_boundary) ==
              kawpow::verify_status::invalid_mix_hash);
    }
}

TEST_CASE("kawpow: a dataset of any size: light evaluation and the materialised prefix agree, and the count matters") {
    // 2 MiB: an odd count of 1024-bit items, as on the chain (whose counts are prime).
    constexpr std::uint32_t items_1024 = 16381;
    const auto& ctx = context(0);
    std::vector<ethash::hash512> dataset(2 * std::size_t{items_1024});
    ethash::build_dataset(dataset, ctx.light_cache(), 2);
    // The split over threads covers every item: samples at both ends and at the split.
    for (const std::size_t i : {std::size_t{0}, std::size_t{1}, dataset.size() / 2 - 1, dataset.size() / 2,
                                dataset.size() - 1})
        CHECK_MESSAGE(dataset[i] == ctx.dataset_item_512(i), "item " << i);
    CHECK(std::equal(dataset.front().begin(), dataset.front().end(), ctx.l1_cache().begin()));

    const auto header = hash_hex("63155f732f2bf556967f906155b510c917e48e99685ead76ea83f4eca03ab12b");
    for (const std::uint64_t height : {std::uint64_t{0}, std::uint64_t{3}, std::uint64_t{7499}}) {
        const auto program = kawpow::program_for_height(height);
        for (const std::uint64_t nonce : {std::uint64_t{0}, std::uint64_t{0x123456789abcdef0}, ~std::uint64_t{0}}) {
            CAPTURE(height);
            CAPTURE(nonce);
            const auto light = kawpow::hash(ctx, program, items_1024, header, nonce);
            CHECK(kawpow::hash_full(dataset, program, header, nonce) == light);
            CHECK(kawpow::final_hash_from_mix(header, light.mix_hash, nonce) == light.final_hash);
            CHECK(kawpow::hash(ctx, program, items_1024 - 2, header, nonce).mix_hash != light.mix_hash);
        }
    }
    // The chain's count is what hash(ctx, height, ...) reads: vector 1 (height 49, epoch 0).
    const auto v = read_hash_vector(vectors("kawpow.json", "hash")[1]);
    const auto r = kawpow::hash(ctx, kawpow::program_for_height(v.height), ctx.full_dataset_num_items(), v.header_hash,
                                v.nonce);
    CHECK(r.mix_hash == v.mix_hash);
    CHECK(r.final_hash == v.final_hash);
}
