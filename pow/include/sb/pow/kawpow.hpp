// KAWPOW (Ravencoin's ProgPoW 0.9.4 variant) on the CPU: the reference every GPU result is
// checked against. Light evaluation: DAG items are computed from the epoch's light cache.
//
// Spec: shared/reference/gpu.md §2.2 (hash definition) and §2.3 (byte orders); the round
// functions are the portable kernels in sb/gpu/kernels/ (progpow.h, ethash.h, keccak.h).
//
// Byte orders: header_hash is the 32 bytes progpow reads (the RPC/Stratum hex, i.e. the
// byte-reversed sha256d of the 80-byte KAWPOW input); mix_hash and final_hash are output
// bytes in order (their hex is what RPCs print; the block hash shown by a node is the hex of
// final_hash). The boundary (target) is 32 bytes, most significant first; a hash meets it
// when its bytes read as a big-endian number are <= the boundary.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "sb/core/sha256.hpp"
#include "sb/pow/ethash.hpp"
#include "sb/pow/kernels/progpow.h"

namespace sb::pow::kawpow {

inline constexpr std::uint64_t period_length = SB_PROGPOW_PERIOD;

struct hash_result {
    hash256 mix_hash{};
    hash256 final_hash{};
    bool operator==(const hash_result&) const = default;
};

// The per-period program for a block height (prog_seed = height / 3).
sb_progpow_program program_for_height(std::uint64_t height) noexcept;

// Full KAWPOW hash by light evaluation (~0.25 M dataset-parent reads; milliseconds).
// Precondition: ctx.epoch() == ethash::epoch_number(height).
hash_result hash(const ethash::epoch_context& ctx, std::uint64_t height, const hash256& header_hash,
                 std::uint64_t nonce) noexcept;
// As hash(), with a program already built for this height's period (search loops).
hash_result hash(const ethash::epoch_context& ctx, const sb_progpow_program& program, const hash256& header_hash,
                 std::uint64_t nonce) noexcept;

// ---- datasets of any size -------------------------------------------------------------
// On the chain a hash reads the epoch's whole dataset: ethash::full_dataset_num_items(epoch)
// 1024-bit items (what hash() above uses). These take the item count as a parameter so that
// GPU kernels can be checked bit-exact against the reference on a dataset of a few MiB: a
// prefix of the epoch's dataset (items do not depend on the count; only the modulus of the
// DAG index does). At least min_dataset_items_1024 items: the L1 cache is the first 16 KiB.
inline constexpr std::uint32_t min_dataset_items_1024 = 128;

// Light evaluation over dataset_items_1024 items. Precondition: dataset_items_1024 >=
// min_dataset_items_1024. With ctx.full_dataset_num_items() it is hash() above.
hash_result hash(const ethash::epoch_context& ctx, const sb_progpow_program& program, std::uint32_t dataset_items_1024,
                 const hash256& header_hash, std::uint64_t nonce) noexcept;

// Evaluation over a materialised dataset (ethash::build_dataset): the 512-bit items of
// dataset.size() / 2 1024-bit items, the L1 cache its first 256 items. Microseconds per hash
// instead of light evaluation's milliseconds. Precondition: dataset.size() >=
// 2 * min_dataset_items_1024 (an odd last 512-bit item is never read).
hash_result hash_full(std::span<const ethash::hash512> dataset, const sb_progpow_program& program,
                      const hash256& header_hash, std::uint64_t nonce) noexcept;

// The final hash implied by a claimed mix_hash, without the DAG (two keccak-f800): cheap
// first check of a share before the light evaluation.
hash256 final_hash_from_mix(const hash256& header_hash, const hash256& mix_hash, std::uint64_t nonce) noexcept;

// hash (big-endian reading) <= boundary (big-endian).
bool meets_boundary(const hash256& hash, const hash256& boundary) noexcept;

enum class verify_status : std::uint8_t {
    ok,
    high_hash,         // final hash above the boundary (checked first, without the DAG)
    invalid_mix_hash,  // the claimed mix does not match the light evaluation
    wrong_epoch,       // ctx is not the epoch of `height`
};
std::string_view to_string(verify_status s) noexcept;

// Light verification as a node does it: final hash from the claimed mix against the
// boundary, then the mix recomputed from the light cache.
verify_status verify(const ethash::epoch_context& ctx, std::uint64_t height, const hash256& header_hash,
                     const hash256& mix_hash, std::uint64_t nonce, const hash256& boundary) noexcept;

struct search_result {
    std::uint64_t nonce = 0;
    hash_result hash;
};
// The first nonce in [start_nonce, start_nonce + count) whose final hash meets the
// boundary, on this thread (a reference and a test oracle, not a miner).
std::optional<search_result> search(const ethash::epoch_context& ctx, std::uint64_t height, const hash256& header_hash,
                                    const hash256& boundary, std::uint64_t start_nonce, std::uint64_t count) noexcept;

}  // namespace sb::pow::kawpow
