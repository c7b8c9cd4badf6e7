// Ethash with KAWPOW parameters: seeds, sizes, light caches, dataset items, epoch contexts.
// Vectors: tests/vectors/kawpow.json (cpp-kawpow test_ethash.cpp, 512 parents, epoch 7500).
#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "pow_test_support.hpp"
#include "sb/core/bytes.hpp"
#include "sb/core/hex.hpp"
#include "sb/pow/ethash.hpp"
#include "sb/pow/kernels/ethash.h"
#include "vectors.hpp"

using namespace sb::test::pow;
namespace ethash = sb::pow::ethash;

namespace {

const rapidjson::Value& kawpow(const char* member) {
    const auto& doc = sb::test::vector_json("kawpow.json");
    REQUIRE(doc.HasMember(member));
    return doc[member];
}

std::string item_hex(const ethash::hash512& item) {
    std::array<std::uint8_t, 64> bytes;
    for (int i = 0; i < 16; ++i) sb::store_le32(bytes.data() + 4 * i, item[static_cast<std::size_t>(i)]);
    return sb::to_hex(bytes);
}

sb::hash256 light_cache_digest(const ethash::epoch_context& ctx) {
    std::vector<std::uint8_t> bytes(ctx.light_cache().size() * 64);
    for (std::size_t i = 0; i < ctx.light_cache().size(); ++i)
        for (std::size_t k = 0; k < 16; ++k) sb::store_le32(bytes.data() + 64 * i + 4 * k, ctx.light_cache()[i][k]);
    return ethash::keccak256(bytes);
}

void check_light_cache_vector(int epoch) {
    for (const auto& row : kawpow("light_cache_keccak256").GetArray()) {
        if (row["epoch"].GetInt() != epoch) continue;
        CHECK(sb::to_hex(light_cache_digest(context(epoch))) == row["hash"].GetString());
        return;
    }
    FAIL("no light cache vector for epoch " << epoch);
}

}  // namespace

TEST_CASE("ethash: epoch number steps every 7500 blocks") {
    CHECK(ethash::epoch_number(0) == 0);
    CHECK(ethash::epoch_number(7499) == 0);
    CHECK(ethash::epoch_number(7500) == 1);
    CHECK(ethash::epoch_number(1219736) == 162);
}

TEST_CASE("ethash: epoch seeds match the vectors and map back to their epoch") {
    for (const auto& row : kawpow("epoch_seed").GetArray()) {
        const int epoch = row["epoch"].GetInt();
        const auto seed = ethash::epoch_seed(epoch);
        CHECK_MESSAGE(sb::to_hex(seed) == row["seed"].GetString(), "epoch " << epoch);
        if (epoch <= 2048) CHECK(ethash::epoch_from_seed(seed) == epoch);
    }
    CHECK(ethash::epoch_from_seed(hash_hex(std::string(64, 'f'))) == -1);
}

TEST_CASE("ethash: light cache and dataset sizes come from the prime search") {
    const auto& rows = kawpow("dataset_sizes");
    REQUIRE(rows.Size() == 54);
    for (const auto& row : rows.GetArray()) {
        const int epoch = row["epoch"].GetInt();
        CHECK_MESSAGE(ethash::light_cache_size(epoch) == row["light_cache_bytes"].GetUint64(), "epoch " << epoch);
        CHECK_MESSAGE(ethash::full_dataset_size(epoch) == row["full_dataset_bytes"].GetUint64(), "epoch " << epoch);
    }
}

TEST_CASE("ethash: light cache of epoch 0 hashes to the vector") { check_light_cache_vector(0); }

TEST_CASE("ethash: light cache of epoch 171 hashes to the vector") { check_light_cache_vector(171); }

// 285 MB and about ten seconds: run with SB_TEST_KAWPOW_ALL=1.
TEST_CASE("ethash: light cache of epoch 2047 hashes to the vector" * doctest::skip(!run_slow_vectors())) {
    check_light_cache_vector(2047);
}

TEST_CASE("ethash: L1 cache of epoch 0 starts with the vector words") {
    const auto& want = kawpow("l1_cache_epoch0_first_20_words");
    const auto& l1 = context(0).l1_cache();
    for (unsigned i = 0; i < want.Size(); ++i) CHECK_MESSAGE(l1[i] == want[i].GetUint(), "word " << i);
    // The L1 cache is dataset items 0..255 laid end to end.
    const auto item255 = context(0).dataset_item_512(255);
    for (std::size_t k = 0; k < 16; ++k) CHECK(l1[255 * 16 + k] == item255[k]);
}

TEST_CASE("ethash: dataset items of epoch 13 with 512 parents match the vectors") {
    const auto& ctx = context(13);
    const auto& rows = kawpow("dataset_items_epoch13_1024bit");
    REQUIRE(rows.Size() > 0);
    for (const auto& row : rows.GetArray()) {
        const std::uint64_t index = row["index"].GetUint64();
        CHECK_MESSAGE(item_hex(ctx.dataset_item_512(2 * index)) == row["hash512_0"].GetString(), "index " << index);
        CHECK_MESSAGE(item_hex(ctx.dataset_item_512(2 * index + 1)) == row["hash512_1"].GetString(), "index " << index);
    }
}

TEST_CASE("ethash: context cache shares one build between concurrent requests and evicts beyond capacity") {
    ethash::epoch_context_cache cache(1);
    std::atomic<int> builds_reported{0};
    const ethash::progress_fn progress = [&](std::string_view stage, double fraction) {
        if (stage == "l1 cache" && fraction >= 1.0) ++builds_reported;
    };
    auto pending = cache.get_async(0, progress);
    ethash::context_ptr a, b;
    std::thread t1([&] { a = cache.get(0, progress); });
    std::thread t2([&] { b = pending.get(); });
    t1.join();
    t2.join();
    REQUIRE(a);
    CHECK(a == b);
    CHECK(builds_reported == 1);
    CHECK(cache.find(0) == a);
    CHECK(cache.find(1) == nullptr);
    // A newer epoch pushes epoch 0 out; holders of the old context keep it alive.
    auto c1 = cache.get_async(1);
    CHECK(cache.find(0) == nullptr);
    CHECK(a->epoch() == 0);
    CHECK(c1.get()->epoch() == 1);
    CHECK(cache.find(1) == c1.get());
}

TEST_CASE("ethash: four interleaved dataset items equal four single items") {
    const auto& ctx = context(13);
    for (const std::uint64_t index0 : {std::uint64_t{0}, std::uint64_t{4} * 514079, std::uint64_t{4} * 9502715}) {
        std::array<std::uint32_t, 64> four{};
        sb_ethash_dataset_items_512_x4(four.data(), ctx.light_cache().front().data(),
                                       static_cast<sb_u32>(ctx.light_cache().size()), index0, ethash::dataset_parents);
        for (std::size_t j = 0; j < 4; ++j) {
            const auto single = ctx.dataset_item_512(index0 + j);
            for (std::size_t k = 0; k < 16; ++k) CHECK_MESSAGE(four[16 * j + k] == single[k], "item " << index0 + j);
        }
    }
}
