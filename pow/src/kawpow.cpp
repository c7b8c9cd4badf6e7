// KAWPOW light evaluation on the CPU, from the portable kernels (gpu.md §2.2 steps 1-8).
#include "sb/pow/kawpow.hpp"

#include <array>
#include <cassert>
#include <cstring>

#include "sb/core/bytes.hpp"
#include "sb/pow/kernels/ethash.h"

namespace sb::pow::kawpow {
namespace {

using lane_mix = std::array<sb_u32, SB_PROGPOW_REGS>;

void load_words(sb_u32 out[8], const hash256& h) noexcept {
    for (int i = 0; i < 8; ++i) out[i] = load_le32(h.data() + 4 * i);
}

hash256 store_words(const sb_u32 words[8]) noexcept {
    hash256 out;
    for (int i = 0; i < 8; ++i) store_le32(out.data() + 4 * i, words[i]);
    return out;
}

// Step 5-6: the 64 loops, then the lane reduction. fetch(item, index) writes the 64 words of
// 256-byte DAG item `index` (light evaluation or a materialised dataset).
template <class FetchItem>
void hash_mix(sb_u32 mix_hash[8], const sb_u32* l1, sb_u32 num_items_256, const sb_progpow_program& program,
              sb_u64 seed, FetchItem fetch) noexcept {
    std::array<lane_mix, SB_PROGPOW_LANES> mix;
    for (sb_u32 l = 0; l < SB_PROGPOW_LANES; ++l) sb_progpow_fill_mix(mix[l].data(), seed, l);
    std::array<sb_u32, SB_PROGPOW_ITEM_WORDS> item;
    for (sb_u32 loop = 0; loop < SB_PROGPOW_CNT_DAG; ++loop) {
        fetch(item.data(), sb_progpow_item_index(mix[loop % SB_PROGPOW_LANES][0], num_items_256));
        for (sb_u32 l = 0; l < SB_PROGPOW_LANES; ++l)
            sb_progpow_lane_round(mix[l].data(), l, loop, &program, l1, item.data());
    }
    for (int i = 0; i < 8; ++i) mix_hash[i] = SB_FNV_OFFSET_BASIS;
    for (sb_u32 l = 0; l < SB_PROGPOW_LANES; ++l)
        mix_hash[l % 8] = sb_fnv1a(mix_hash[l % 8], sb_progpow_lane_hash(mix[l].data()));
}

// Steps 2-7 around a mix function of the hash seed.
template <class MixFn>
hash_result hash_with(const hash256& header_hash, std::uint64_t nonce, MixFn mix_fn) noexcept {
    sb_u32 header[8];
    load_words(header, header_hash);
    sb_u32 state2[8];
    sb_kawpow_initial_keccak(state2, header, nonce);
    sb_u32 mix_hash[8];
    mix_fn(mix_hash, sb_kawpow_hash_seed(state2));
    sb_u32 final_words[8];
    sb_kawpow_final_keccak(final_words, state2, mix_hash);
    return {store_words(mix_hash), store_words(final_words)};
}

}  // namespace

sb_progpow_program program_for_height(std::uint64_t height) noexcept {
    sb_progpow_program program;
    sb_progpow_build_program(&program, height / period_length);
    return program;
}

hash_result hash(const ethash::epoch_context& ctx, const sb_progpow_program& program, std::uint32_t dataset_items_1024,
                 const hash256& header_hash, std::uint64_t nonce) noexcept {
    assert(dataset_items_1024 >= min_dataset_items_1024);
    const auto light = ctx.light_cache();
    return hash_with(header_hash, nonce, [&](sb_u32 mix_hash[8], sb_u64 seed) {
        // 256-byte items: the ethash dataset's 1024-bit items, two per ProgPoW item.
        hash_mix(mix_hash, ctx.l1_cache().data(), dataset_items_1024 / 2, program, seed,
                 [&](sb_u32* item, sb_u32 index) {
                     sb_ethash_dataset_items_512_x4(item, light.front().data(), static_cast<sb_u32>(light.size()),
                                                    std::uint64_t{index} * 4, ethash::dataset_parents);
                 });
    });
}

hash_result hash(const ethash::epoch_context& ctx, const sb_progpow_program& program, const hash256& header_hash,
                 std::uint64_t nonce) noexcept {
    return hash(ctx, program, ctx.full_dataset_num_items(), header_hash, nonce);
}

hash_result hash_full(std::span<const ethash::hash512> dataset, const sb_progpow_program& program,
                      const hash256& header_hash, std::uint64_t nonce) noexcept {
    assert(dataset.size() >= 2 * std::size_t{min_dataset_items_1024});
    const sb_u32* words = dataset.front().data();
    return hash_with(header_hash, nonce, [&](sb_u32 mix_hash[8], sb_u64 seed) {
        hash_mix(mix_hash, words, static_cast<sb_u32>(dataset.size() / 4), program, seed,
                 [&](sb_u32* item, sb_u32 index) {
                     std::memcpy(item, words + std::size_t{index} * SB_PROGPOW_ITEM_WORDS,
                                 SB_PROGPOW_ITEM_WORDS * sizeof(sb_u32));
                 });
    });
}

hash_result hash(const ethash::epoch_context& ctx, std::uint64_t height, const hash256& header_hash,
                 std::uint64_t nonce) noexcept {
    assert(ctx.epoch() == ethash::epoch_number(height));
    return hash(ctx, program_for_height(height), header_hash, nonce);
}

hash256 final_hash_from_mix(const hash256& header_hash, const hash256& mix_hash, std::uint64_t nonce) noexcept {
    sb_u32 header[8];
    load_words(header, header_hash);
    sb_u32 mix[8];
    load_words(mix, mix_hash);
    sb_u32 state2[8];
    sb_kawpow_initial_keccak(state2, header, nonce);
    sb_u32 final_words[8];
    sb_kawpow_final_keccak(final_words, state2, mix);
    return store_words(final_words);
}

bool meets_boundary(const hash256& hash, const hash256& boundary) noexcept {
    return std::memcmp(hash.data(), boundary.data(), hash.size()) <= 0;
}

std::string_view to_string(verify_status s) noexcept {
    switch (s) {
        case verify_status::ok: return "ok";
        case verify_status::high_hash: return "high-hash";
        case verify_status::invalid_mix_hash: return "invalid-mix-hash";
        case verify_status::wrong_epoch: return "wrong-epoch";
    }
    return "unknown";
}

verify_status verify(const ethash::epoch_context& ctx, std::uint64_t height, const hash256& header_hash,
                     const hash256& mix_hash, std::uint64_t nonce, const hash256& boundary) noexcept {
    if (ctx.epoch() != ethash::epoch_number(height)) return verify_status::wrong_epoch;
    if (!meets_boundary(final_hash_from_mix(header_hash, mix_hash, nonce), boundary)) return verify_status::high_hash;
    if (hash(ctx, height, header_hash, nonce).mix_hash != mix_hash) return verify_status::invalid_mix_hash;
    return verify_status::ok;
}

std::optional<search_result> search(const ethash::epoch_context& ctx, std::uint64_t height, const hash256& header_hash,
                                    const hash256& boundary, std::uint64_t start_nonce, std::uint64_t count) noexcept {
    assert(ctx.epoch() == ethash::epoch_number(height));
    const sb_progpow_program program = program_for_height(height);
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint64_t nonce = start_nonce + i;
        const hash_result r = hash(ctx, program, header_hash, nonce);
        if (meets_boundary(r.final_hash, boundary)) return search_result{nonce, r};
    }
    return std::nullopt;
}

}  // namespace sb::pow::kawpow
