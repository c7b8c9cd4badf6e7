// Shared by the KAWPOW cases of sb_opencl_tests and sb_cuda_tests: a small dataset (2 MiB of
// epoch 0, materialised on the CPU as the oracle), each device opened once per process with
// that dataset in use, and the CPU scan the device's candidates are compared with.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backend_test_support.hpp"
#include "vector_words.hpp"
#include "sb/pow/kawpow.hpp"
#include "sb/gpu/kawpow_device.hpp"
#include "seed.hpp"

namespace sb::test::gpu {

// 2 MiB of epoch 0's dataset: an odd count of 1024-bit items, as the chain's prime counts are.
inline constexpr std::uint32_t small_items_1024 = 16381;

// SB_TEST_KAWPOW_FULL_DAG=1 runs the full epoch-0 dataset (1 GiB, generated on the device;
// 45 to 75 minutes on PoCL on a busy 2-core machine) against the cpp-kawpow vectors.
inline bool run_full_dataset() {
    const char* v = std::getenv("SB_TEST_KAWPOW_FULL_DAG");
    return v != nullptr && std::string(v) == "1";
}

inline sb::gpu::kawpow_dataset small_dataset(int epoch = 0) {
    static sb::pow::ethash::epoch_context_cache cache(4);
    return {cache.get(epoch), small_items_1024};
}

// The CPU's copy of small_dataset(epoch), built once per process.
inline const std::vector<sb::pow::ethash::hash512>& small_dataset_cpu(int epoch = 0) {
    static std::map<int, std::vector<sb::pow::ethash::hash512>> built;
    auto& slot = built[epoch];
    if (slot.empty()) {
        slot.resize(2 * std::size_t{small_items_1024});
        sb::pow::ethash::build_dataset(slot, small_dataset(epoch).context->light_cache());
    }
    return slot;
}

// The KAWPOW searcher of id with small_dataset(0) in use, opened once per process.
inline sb::gpu::kawpow_searcher& kawpow_opened(const std::string& id) {
    static std::map<std::string, std::unique_ptr<sb::gpu::kawpow_searcher>> cache;
    auto& slot = cache[id];
    if (!slot) {
        std::string detail;
        auto r = sb::gpu::open_kawpow(id, &detail);
        REQUIRE_MESSAGE(r.has_value(), id << ": " << detail);
        slot = std::move(*r);
        MESSAGE(id << ": " << slot->info().name << " (" << slot->info().platform << ")");
    }
    if (!(slot->dataset() == small_dataset(0))) {
        std::string detail;
        const auto ec = slot->use_dataset(small_dataset(0), {}, &detail);
        REQUIRE_MESSAGE(!ec, id << ": " << ec.message() << ": " << detail);
    }
    return *slot;
}

inline sb::hash256 random_hash(std::mt19937_64& rng) {
    sb::hash256 h;
    for (auto& b : h) b = static_cast<std::uint8_t>(rng());
    return h;
}

inline sb::hash256 all_ones() {
    sb::hash256 h;
    h.fill(0xff);
    return h;
}

// Every nonce of [start, start + count) whose final hash meets work.boundary, by the CPU
// reference over the materialised dataset.
inline std::vector<sb::gpu::kawpow_candidate> cpu_scan(const std::vector<sb::pow::ethash::hash512>& dataset,
                                                       const sb::gpu::kawpow_work& work, std::uint64_t start,
                                                       std::uint64_t count) {
    const sb_progpow_program program = sb::pow::kawpow::program_for_height(work.height);
    std::vector<sb::gpu::kawpow_candidate> out;
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint64_t nonce = start + i;
        const auto h = sb::pow::kawpow::hash_full(dataset, program, work.header_hash, nonce);
        if (sb::pow::kawpow::meets_boundary(h.final_hash, work.boundary)) out.push_back({nonce, h.mix_hash, h.final_hash});
    }
    return out;
}

}  // namespace sb::test::gpu
