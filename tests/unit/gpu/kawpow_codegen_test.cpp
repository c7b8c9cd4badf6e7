// The per-period source the GPU kernels are built from (progpow_period_source), and the
// device memory sizing of KAWPOW datasets. Vectors: tests/vectors/kawpow.json
// (prog_init_seed_600: ifdefelse/ProgPOW test-vectors.md; dataset_sizes: cpp-kawpow).
#include <doctest/doctest.h>

#include <regex>
#include <string>
#include <vector>

#include "vector_words.hpp"
#include "sb/pow/kawpow.hpp"
#include "sb/gpu/kawpow_device.hpp"
#include "vectors.hpp"

using sb::test::word_hex;
namespace ethash = sb::pow::ethash;

namespace {

struct generated_step {
    unsigned dst;
    std::string rest;  // what follows "mix[dst] = "
};

std::vector<generated_step> steps(const std::string& source) {
    std::vector<generated_step> out;
    static const std::regex line(R"(\n    mix\[(\d+)\] = (.*);)");
    for (auto it = std::sregex_iterator(source.begin(), source.end(), line); it != std::sregex_iterator(); ++it)
        out.push_back({static_cast<unsigned>(std::stoul((*it)[1])), (*it)[2]});
    return out;
}

}  // namespace

TEST_CASE("kawpow codegen: the period source follows the ProgPoW register orders of prog_seed 600") {
    const auto& v = sb::test::vector_json("kawpow.json")["prog_init_seed_600"];
    std::vector<unsigned> src, dst;
    for (const auto& w : v["src"].GetArray()) src.push_back(word_hex(w.GetString()));
    for (const auto& w : v["dst"].GetArray()) dst.push_back(word_hex(w.GetString()));
    REQUIRE(src.size() == 32);
    REQUIRE(dst.size() == 32);

    const std::string source = sb::gpu::progpow_period_source(600, 12345);
    CHECK(source.find("#define SB_DAG_ITEMS_256 12345u\n") != std::string::npos);
    CHECK(source.find("blocks 1800..1802") != std::string::npos);
    const auto s = steps(source);
    // 11 cache steps interleaved with the first 11 of 18 math steps, then 4 DAG merges.
    REQUIRE(s.size() == SB_PROGPOW_CNT_CACHE + SB_PROGPOW_CNT_MATH + SB_PROGPOW_DAG_LOADS);
    std::size_t k = 0, dst_cnt = 0, src_cnt = 0;
    for (unsigned i = 0; i < SB_PROGPOW_CNT_MATH; ++i) {
        CAPTURE(i);
        if (i < SB_PROGPOW_CNT_CACHE) {
            const auto& c = s[k++];
            CHECK(c.dst == dst[dst_cnt++ % 32]);
            CHECK(c.rest.find("l1[mix[" + std::to_string(src[src_cnt++ % 32]) + "] % 4096u]") != std::string::npos);
        }
        const auto& m = s[k++];
        CHECK(m.dst == dst[dst_cnt++ % 32]);
        CHECK(m.rest.find("sb_progpow_math(") != std::string::npos);
    }
    CHECK(s[k].dst == 0);  // the first DAG word always merges into register 0
    for (unsigned i = 0; i < SB_PROGPOW_DAG_LOADS; ++i) {
        CHECK(s[k + i].rest.find("dag[" + std::to_string(i) + "]") != std::string::npos);
        if (i > 0) CHECK(s[k + i].dst == dst[dst_cnt++ % 32]);
    }
}

TEST_CASE("kawpow codegen: the period source is the program the CPU reference interprets, literal for literal") {
    for (const std::uint64_t seed : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{406578}, ~std::uint64_t{0} / 3}) {
        CAPTURE(seed);
        sb_progpow_program p;
        sb_progpow_build_program(&p, seed);
        const auto s = steps(sb::gpu::progpow_period_source(seed, 8190));
        REQUIRE(s.size() == 33);
        char expect[160];
        std::size_t k = 0;
        for (unsigned i = 0; i < SB_PROGPOW_CNT_MATH; ++i) {
            if (i < SB_PROGPOW_CNT_CACHE) {
                std::snprintf(expect, sizeof expect, "sb_progpow_merge(mix[%u], l1[mix[%u] %% 4096u], 0x%08xu)",
                              p.cache_dst[i], p.cache_src[i], p.cache_sel[i]);
                CHECK(s[k].dst == p.cache_dst[i]);
                CHECK(s[k++].rest == expect);
            }
            std::snprintf(expect, sizeof expect,
                          "sb_progpow_merge(mix[%u], sb_progpow_math(mix[%u], mix[%u], 0x%08xu), 0x%08xu)", p.math_dst[i],
                          p.math_src1[i], p.math_src2[i], p.math_sel1[i], p.math_sel2[i]);
            CHECK(s[k].dst == p.math_dst[i]);
            CHECK(s[k++].rest == expect);
        }
        for (unsigned i = 0; i < SB_PROGPOW_DAG_LOADS; ++i) {
            std::snprintf(expect, sizeof expect, "sb_progpow_merge(mix[%u], dag[%u], 0x%08xu)", p.dag_dst[i], i,
                          p.dag_sel[i]);
            CHECK(s[k].dst == p.dag_dst[i]);
            CHECK(s[k++].rest == expect);
        }
    }
}

TEST_CASE("kawpow device memory: epochs that fit follow the dataset sizes, one above and one below each boundary") {
    // One dataset of epoch e needs its bytes + its light cache + the margin.
    for (const int epoch : {0, 162, 590}) {
        CAPTURE(epoch);
        const std::uint64_t need = sb::gpu::kawpow_epoch_device_bytes(epoch);
        CHECK(need == ethash::full_dataset_size(epoch) + ethash::light_cache_size(epoch) +
                          sb::gpu::kawpow_device_margin_bytes);
        CHECK(sb::gpu::kawpow_max_epoch(need, 1) == epoch);
        CHECK(sb::gpu::kawpow_max_epoch(need - 1, 1) == epoch - 1);
    }
    // Two datasets (the next epoch prepared ahead): epoch e and e + 1, and e + 1's light cache.
    const int e = 590;
    const std::uint64_t two = ethash::full_dataset_size(e) + ethash::full_dataset_size(e + 1) +
                              ethash::light_cache_size(e + 1) + sb::gpu::kawpow_device_margin_bytes;
    CHECK(sb::gpu::kawpow_max_epoch(two, 2) == e);
    CHECK(sb::gpu::kawpow_max_epoch(two - 1, 2) == e - 1);
    // An 80 GB H100 holds epochs far beyond the chain's (~590 in 2026); 1 GiB holds none.
    CHECK(sb::gpu::kawpow_max_epoch(std::uint64_t{80} << 30, 1) > 8000);
    CHECK(sb::gpu::kawpow_max_epoch(std::uint64_t{1} << 30, 1) == -1);
}
