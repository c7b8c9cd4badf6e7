// Ethash with KAWPOW's parameters (epoch length 7500, 512 dataset parents): epoch numbers,
// seed hashes, light cache and dataset sizes, the light cache, dataset items computed from
// it, and the epoch context (light cache + ProgPoW L1 cache) with a thread-safe cache.
//
// Spec: the Ethash specification (ethereum.org "Ethash": sizes, seed, cache, dataset
// generation) with the KAWPOW changes of shared/reference/gpu.md §2.1. Sizes are computed
// with the spec's prime search, not a table.
//
// Byte orders: light cache and dataset items are arrays of little-endian uint32 words (16
// per 64-byte item); seed hashes and Keccak digests are in output byte order.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <vector>

#include "sb/core/sha256.hpp"

namespace sb::pow::ethash {

inline constexpr std::uint64_t epoch_length = 7500;         // KAWPOW; ethash proper: 30000
inline constexpr std::uint32_t dataset_parents = 512;       // KAWPOW; ethash proper: 256
inline constexpr int max_epoch = 32639;                     // largest epoch whose sizes fit uint32 item counts
inline constexpr std::uint64_t light_cache_init_bytes = std::uint64_t{1} << 24;
inline constexpr std::uint64_t light_cache_growth_bytes = std::uint64_t{1} << 17;
inline constexpr std::uint64_t dataset_init_bytes = std::uint64_t{1} << 30;
inline constexpr std::uint64_t dataset_growth_bytes = std::uint64_t{1} << 23;
inline constexpr std::size_t light_cache_rounds = 3;        // RandMemoHash passes
inline constexpr std::size_t l1_cache_words = 4096;         // ProgPoW L1 = first 16 KiB of the dataset

// 16 little-endian words: one 64-byte light cache or dataset item.
using hash512 = std::array<std::uint32_t, 16>;

constexpr int epoch_number(std::uint64_t height) noexcept { return static_cast<int>(height / epoch_length); }

// keccak256 applied `epoch` times to 32 zero bytes. Precondition: 0 <= epoch.
hash256 epoch_seed(int epoch) noexcept;
// The epoch whose seed is `seed`, searching epochs [0, max_epoch]; -1 when none matches.
int epoch_from_seed(const hash256& seed) noexcept;

// Sizes per the spec: the largest prime count of items not above the linear bound.
// Precondition: 0 <= epoch <= max_epoch.
std::uint32_t light_cache_num_items(int epoch) noexcept;  // 64-byte items
std::uint64_t light_cache_size(int epoch) noexcept;       // bytes
std::uint32_t full_dataset_num_items(int epoch) noexcept; // 128-byte (1024-bit) items
std::uint64_t full_dataset_size(int epoch) noexcept;      // bytes

// Original Keccak (0x01 padding, as ethash uses), digests in output byte order.
hash256 keccak256(std::span<const std::uint8_t> data) noexcept;
std::array<std::uint8_t, 64> keccak512(std::span<const std::uint8_t> data) noexcept;

// Progress of a long build: stage name and fraction done in [0, 1]. Called from the
// building thread, at most a few hundred times per build; must not throw.
using progress_fn = std::function<void(std::string_view stage, double fraction)>;

// Fills `cache` (light_cache_num_items(epoch) items) from the epoch's seed.
void build_light_cache(std::span<hash512> cache, const hash256& seed, const progress_fn& progress = {});

// Dataset item `index` (512-bit) from a light cache, with `dataset_parents` parents.
hash512 dataset_item_512(std::span<const hash512> light_cache, std::uint64_t index) noexcept;

// Materialises 512-bit dataset items 0 .. out.size() - 1 (the items do not depend on the
// dataset's size, so any prefix of the epoch's dataset is exact), split over `threads`
// threads (0: one per core). Seconds for a few MiB; the full dataset is a GPU's job.
void build_dataset(std::span<hash512> out, std::span<const hash512> light_cache, unsigned threads = 0);

// What KAWPOW light evaluation needs for one epoch. Immutable once built; share it freely
// between threads through shared_ptr<const epoch_context>.
class epoch_context {
public:
    // Builds the light cache and the L1 cache; seconds per epoch (docs/PERFORMANCE.md).
    // Throws std::bad_alloc; precondition 0 <= epoch <= max_epoch.
    static std::shared_ptr<const epoch_context> build(int epoch, const progress_fn& progress = {});

    int epoch() const noexcept { return epoch_; }
    std::span<const hash512> light_cache() const noexcept { return light_cache_; }
    std::uint32_t full_dataset_num_items() const noexcept { return full_dataset_num_items_; }
    // Dataset words 0..4095 (dataset items 0..255).
    const std::array<std::uint32_t, l1_cache_words>& l1_cache() const noexcept { return l1_cache_; }
    hash512 dataset_item_512(std::uint64_t index) const noexcept { return ethash::dataset_item_512(light_cache_, index); }

private:
    epoch_context() = default;
    int epoch_ = 0;
    std::uint32_t full_dataset_num_items_ = 0;
    std::vector<hash512> light_cache_;
    std::array<std::uint32_t, l1_cache_words> l1_cache_{};
};

using context_ptr = std::shared_ptr<const epoch_context>;

// Thread-safe cache of built epoch contexts, keeping the `capacity` most recently requested
// (2 for a bridge: the current epoch and the next one, prefetched). Concurrent requests for
// one epoch share one build. Builds run either on the calling thread (get) or on a
// background thread of their own (get_async / prefetch), never on an I/O thread's behalf
// unless it calls get().
class epoch_context_cache {
public:
    explicit epoch_context_cache(std::size_t capacity = 2) : capacity_(capacity < 1 ? 1 : capacity) {}
    epoch_context_cache(const epoch_context_cache&) = delete;
    epoch_context_cache& operator=(const epoch_context_cache&) = delete;

    // The context for `epoch`, building it on this thread when nobody has started it.
    // Rethrows a failed build's exception.
    context_ptr get(int epoch, const progress_fn& progress = {});
    // Starts a build on a new thread when absent; never blocks on a build.
    std::shared_future<context_ptr> get_async(int epoch, const progress_fn& progress = {});
    // get_async for `epoch`, result ignored: call with current epoch + 1. The cache must
    // outlive background builds (the global cache does).
    void prefetch(int epoch) { (void)get_async(epoch); }
    // The context when already built, else null; never blocks.
    context_ptr find(int epoch) const;

private:
    struct entry {
        std::shared_future<context_ptr> ready;
        std::uint64_t last_use = 0;
    };
    // Returns the entry's future and whether this caller must build it (promise set).
    std::shared_future<context_ptr> lookup_or_insert(int epoch, std::shared_ptr<std::promise<context_ptr>>& build);
    void run_build(const std::shared_ptr<std::promise<context_ptr>>& promise, int epoch, const progress_fn& progress);
    std::size_t capacity_;
    mutable std::mutex mutex_;
    std::map<int, entry> entries_;
    std::uint64_t clock_ = 0;
};

// The process-wide cache (capacity 2) the bridge and the CLI use.
epoch_context_cache& global_epoch_cache();

}  // namespace sb::pow::ethash
