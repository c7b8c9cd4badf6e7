// The checks every sha256d_searcher backend must pass against the core sha256d (used by
// sb_gpu_tests for the CPU reference, and by sb_opencl_tests / sb_cuda_tests per device).
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "sb/core/bytes.hpp"
#include "sb/core/sha256.hpp"
#include "sb/gpu/device.hpp"
#include "seed.hpp"

namespace sb::test::gpu {

// The hash's top word (bytes 28..31 of the digest, little-endian) by the core sha256d.
inline std::uint32_t core_top_word(std::array<std::uint8_t, 80> header, std::uint32_t nonce) {
    sb::store_le32(header.data() + 76, nonce);
    const sb::hash256 d = sb::sha256d_header(header.data());
    return sb::load_le32(d.data() + 28);
}

// Brute force with the core sha256d: every nonce of the range whose top word <= target_word.
inline std::vector<std::uint32_t> core_scan(const sb::gpu::sha256d_work& work, std::uint32_t first,
                                            std::uint64_t count) {
    std::vector<std::uint32_t> out;
    for (std::uint64_t i = 0; i < count; ++i) {
        const auto nonce = static_cast<std::uint32_t>(first + i);
        if (core_top_word(work.header, nonce) <= work.target_word) out.push_back(nonce);
    }
    return out;
}

inline sb::gpu::sha256d_work random_work(std::mt19937_64& rng, std::uint32_t target_word) {
    sb::gpu::sha256d_work w;
    for (auto& b : w.header) b = static_cast<std::uint8_t>(rng());
    w.target_word = target_word;
    return w;
}

inline std::string hex32(std::uint32_t v) {
    char buf[12];
    std::snprintf(buf, sizeof buf, "0x%08x", v);
    return buf;
}

// Searches the range and checks the candidates equal the core brute force exactly.
inline void check_range(sb::gpu::sha256d_searcher& s, const sb::gpu::sha256d_work& work, std::uint32_t first,
                        std::uint64_t count) {
    CAPTURE(s.info().id);
    INFO("range " << hex32(first) << " + " << count << ", target_word " << hex32(work.target_word));
    std::vector<std::uint32_t> expected = core_scan(work, first, count);
    REQUIRE_MESSAGE(expected.size() <= sb::gpu::max_search_candidates, "test range too wide for the result buffer");
    std::string detail;
    auto r = s.search(work, first, count, &detail);
    REQUIRE_MESSAGE(r.has_value(), detail);
    std::vector<std::uint32_t> got = r->nonces;
    std::sort(got.begin(), got.end());
    std::sort(expected.begin(), expected.end());
    CHECK(got == expected);
    CHECK(r->dropped == 0);
    CHECK(r->hashes == count);
}

// Seeded jobs over ranges: ordinary, crossing the 2^32 wrap, ending at the last nonce, one
// nonce; at an easy target (about 1 in 256) and a wrong one (no candidate expected).
inline void check_searcher_matches_core(sb::gpu::sha256d_searcher& s, std::uint64_t salt, std::uint64_t width) {
    auto rng = sb::test::seeded_rng(salt);
    for (int job = 0; job < 3; ++job) {
        const auto work = random_work(rng, 0x00ffffffu);
        const auto first = static_cast<std::uint32_t>(rng());
        check_range(s, work, first, width);
        check_range(s, work, static_cast<std::uint32_t>(0 - width / 2 - (rng() % 97)), width);  // wraps
        check_range(s, work, static_cast<std::uint32_t>(0 - width), width);                    // ends at 0xffffffff
        check_range(s, work, 0xffffffffu, 1);
        check_range(s, work, 0xffffffffu, 2);  // the last nonce, then 0
    }
}

// A target no hash of the range meets: the CPU finds none, so must the device.
inline void check_wrong_target(sb::gpu::sha256d_searcher& s, std::uint64_t salt, std::uint64_t width) {
    auto rng = sb::test::seeded_rng(salt);
    int checked = 0;
    for (int attempt = 0; attempt < 20 && checked < 3; ++attempt) {
        const auto work = random_work(rng, 0x0000ffffu);
        const auto first = static_cast<std::uint32_t>(rng());
        if (!core_scan(work, first, width).empty()) continue;
        std::string detail;
        auto r = s.search(work, first, width, &detail);
        REQUIRE_MESSAGE(r.has_value(), detail);
        CHECK(r->nonces.empty());
        CHECK(r->dropped == 0);
        ++checked;
    }
    CHECK(checked == 3);
}

// count 0 and above 2^32 are refused with invalid_argument.
inline void check_bad_counts(sb::gpu::sha256d_searcher& s) {
    sb::gpu::sha256d_work work;
    for (const std::uint64_t count : {std::uint64_t{0}, (std::uint64_t{1} << 32) + 1, ~std::uint64_t{0}}) {
        CAPTURE(count);
        std::string detail;
        auto r = s.search(work, 0, count, &detail);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error() == sb::gpu::gpu_errc::invalid_argument);
        CHECK_FALSE(detail.empty());
    }
}

// The batch sizes: growing with intensity, at most 2^32, at most doubling per step
// until the cap.
inline void check_batch_sizes(const sb::gpu::sha256d_searcher& s) {
    const std::uint64_t unit = s.batch_size(1);
    REQUIRE(unit >= 1);
    std::uint64_t prev = 0;
    for (unsigned i = 1; i <= 32; ++i) {
        const std::uint64_t b = s.batch_size(i);
        CAPTURE(i);
        CHECK(b >= prev);
        CHECK(b <= (std::uint64_t{1} << 32));
        if (prev != 0 && b < (std::uint64_t{1} << 31)) CHECK(b <= 2 * prev + unit);
        prev = b;
    }
}

}  // namespace sb::test::gpu
