// Ethash sizes, seeds, light cache, dataset items and epoch contexts (KAWPOW parameters).
#include "sb/pow/ethash.hpp"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstring>
#include <exception>
#include <thread>
#include <utility>

#include "sb/core/bytes.hpp"
#include "sb/pow/kernels/ethash.h"
#include "sb/pow/kernels/keccak.h"

namespace sb::pow::ethash {
namespace {

bool is_prime(std::uint64_t n) noexcept {
    if (n < 2) return false;
    if (n % 2 == 0) return n == 2;
    for (std::uint64_t d = 3; d * d <= n; d += 2)
        if (n % d == 0) return false;
    return true;
}

// Spec "Parameters": the largest prime not above `upper`.
std::uint32_t largest_prime_at_most(std::uint64_t upper) noexcept {
    std::uint64_t n = upper;
    while (!is_prime(n)) --n;
    return static_cast<std::uint32_t>(n);
}

// Original Keccak sponge, rate in bytes (136 for 256-bit, 72 for 512-bit digests).
void keccak_sponge(std::uint8_t* out, std::size_t out_bytes, std::size_t rate, std::span<const std::uint8_t> in) noexcept {
    sb_u64 st[25] = {};
    const std::size_t rate_lanes = rate / 8;
    std::size_t pos = 0;
    while (in.size() - pos >= rate) {
        for (std::size_t i = 0; i < rate_lanes; ++i) st[i] ^= load_le64(in.data() + pos + 8 * i);
        sb_keccak_f1600(st);
        pos += rate;
    }
    std::uint8_t last[200] = {};
    // An empty span may hold a null pointer, which memcpy must not get even for 0 bytes.
    if (in.size() > pos) std::memcpy(last, in.data() + pos, in.size() - pos);
    last[in.size() - pos] ^= 0x01;
    last[rate - 1] ^= 0x80;
    for (std::size_t i = 0; i < rate_lanes; ++i) st[i] ^= load_le64(last + 8 * i);
    sb_keccak_f1600(st);
    for (std::size_t i = 0; i < out_bytes / 8; ++i) store_le64(out + 8 * i, st[i]);
}

void keccak512_item(hash512& h) noexcept { sb_ethash_keccak512_words(h.data()); }

}  // namespace

hash256 keccak256(std::span<const std::uint8_t> data) noexcept {
    hash256 out;
    keccak_sponge(out.data(), out.size(), 136, data);
    return out;
}

std::array<std::uint8_t, 64> keccak512(std::span<const std::uint8_t> data) noexcept {
    std::array<std::uint8_t, 64> out;
    keccak_sponge(out.data(), out.size(), 72, data);
    return out;
}

hash256 epoch_seed(int epoch) noexcept {
    assert(epoch >= 0);
    sb_u64 lanes[4] = {};
    for (int i = 0; i < epoch; ++i) sb_keccak256_32(lanes, lanes);
    hash256 out;
    for (int i = 0; i < 4; ++i) store_le64(out.data() + 8 * i, lanes[i]);
    return out;
}

int epoch_from_seed(const hash256& seed) noexcept {
    sb_u64 lanes[4] = {};
    for (int epoch = 0; epoch <= max_epoch; ++epoch) {
        hash256 s;
        for (int i = 0; i < 4; ++i) store_le64(s.data() + 8 * i, lanes[i]);
        if (s == seed) return epoch;
        sb_keccak256_32(lanes, lanes);
    }
    return -1;
}

std::uint32_t light_cache_num_items(int epoch) noexcept {
    assert(epoch >= 0 && epoch <= max_epoch);
    const std::uint64_t upper = (light_cache_init_bytes + light_cache_growth_bytes * static_cast<std::uint64_t>(epoch)) / 64;
    return largest_prime_at_most(upper);
}

std::uint64_t light_cache_size(int epoch) noexcept { return std::uint64_t{light_cache_num_items(epoch)} * 64; }

std::uint32_t full_dataset_num_items(int epoch) noexcept {
    assert(epoch >= 0 && epoch <= max_epoch);
    const std::uint64_t upper = (dataset_init_bytes + dataset_growth_bytes * static_cast<std::uint64_t>(epoch)) / 128;
    return largest_prime_at_most(upper);
}

std::uint64_t full_dataset_size(int epoch) noexcept { return std::uint64_t{full_dataset_num_items(epoch)} * 128; }

void build_light_cache(std::span<hash512> cache, const hash256& seed, const progress_fn& progress) {
    const std::size_t n = cache.size();
    if (n == 0) return;
    // Progress is reported every 1/64 of a pass: 4 passes (sequential fill + 3 rounds).
    const std::size_t step = n / 64 + 1;
    const double total = static_cast<double>(n) * (1 + light_cache_rounds);
    auto report = [&](std::size_t pass, std::size_t i) {
        if (progress && i % step == 0)
            progress("light cache", (static_cast<double>(pass) * static_cast<double>(n) + static_cast<double>(i)) / total);
    };
    // Spec "Cache generation": sequential keccak512 chain from keccak512(seed) ...
    const auto first = keccak512(seed);
    for (std::size_t k = 0; k < 16; ++k) cache[0][k] = load_le32(first.data() + 4 * k);
    for (std::size_t i = 1; i < n; ++i) {
        cache[i] = cache[i - 1];
        keccak512_item(cache[i]);
        report(0, i);
    }
    // ... then light_cache_rounds passes of RandMemoHash (Lerner 2014).
    for (std::size_t round = 0; round < light_cache_rounds; ++round) {
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t v = cache[i][0] % n;
            const std::size_t w = (n + i - 1) % n;
            hash512 x;
            for (std::size_t k = 0; k < 16; ++k) x[k] = cache[w][k] ^ cache[v][k];
            keccak512_item(x);
            cache[i] = x;
            report(round + 1, i);
        }
    }
    if (progress) progress("light cache", 1.0);
}

hash512 dataset_item_512(std::span<const hash512> light_cache, std::uint64_t index) noexcept {
    hash512 out;
    sb_ethash_dataset_item_512(out.data(), light_cache.front().data(), static_cast<sb_u32>(light_cache.size()), index,
                               dataset_parents);
    return out;
}

void build_dataset(std::span<hash512> out, std::span<const hash512> light_cache, unsigned threads) {
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
    const std::size_t n = out.size();
    threads = static_cast<unsigned>(std::min<std::size_t>(threads, n == 0 ? 1 : n));
    const auto fill = [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) out[i] = dataset_item_512(light_cache, i);
    };
    std::vector<std::thread> workers;
    const std::size_t share = (n + threads - 1) / threads;
    for (unsigned t = 1; t < threads; ++t)
        workers.emplace_back(fill, std::min(n, t * share), std::min(n, (t + 1) * share));
    fill(0, std::min(n, share));
    for (auto& w : workers) w.join();
}

std::shared_ptr<const epoch_context> epoch_context::build(int epoch, const progress_fn& progress) {
    assert(epoch >= 0 && epoch <= max_epoch);
    std::shared_ptr<epoch_context> ctx(new epoch_context());
    ctx->epoch_ = epoch;
    ctx->full_dataset_num_items_ = ethash::full_dataset_num_items(epoch);
    ctx->light_cache_.resize(light_cache_num_items(epoch));
    build_light_cache(ctx->light_cache_, epoch_seed(epoch), progress);
    for (std::uint32_t i = 0; i < l1_cache_words / 16; ++i) {
        const hash512 item = ctx->dataset_item_512(i);
        std::memcpy(ctx->l1_cache_.data() + 16 * i, item.data(), sizeof item);
    }
    if (progress) progress("l1 cache", 1.0);
    return ctx;
}

std::shared_future<context_ptr> epoch_context_cache::lookup_or_insert(int epoch,
                                                                     std::shared_ptr<std::promise<context_ptr>>& build) {
    const std::lock_guard lock(mutex_);
    const std::uint64_t now = ++clock_;
    if (auto it = entries_.find(epoch); it != entries_.end()) {
        it->second.last_use = now;
        return it->second.ready;
    }
    build = std::make_shared<std::promise<context_ptr>>();
    entry e{build->get_future().share(), now};
    auto ready = e.ready;
    entries_.emplace(epoch, std::move(e));
    // Evicting drops only the cache's reference: holders of a context keep it alive.
    while (entries_.size() > capacity_) {
        auto oldest = entries_.begin();
        for (auto it = entries_.begin(); it != entries_.end(); ++it)
            if (it->second.last_use < oldest->second.last_use) oldest = it;
        entries_.erase(oldest);
    }
    return ready;
}

void epoch_context_cache::run_build(const std::shared_ptr<std::promise<context_ptr>>& promise, int epoch,
                                    const progress_fn& progress) {
    try {
        promise->set_value(epoch_context::build(epoch, progress));
    } catch (...) {
        // Waiters see the failure once; the next request builds again (e.g. after bad_alloc).
        {
            const std::lock_guard lock(mutex_);
            entries_.erase(epoch);
        }
        promise->set_exception(std::current_exception());
    }
}

context_ptr epoch_context_cache::get(int epoch, const progress_fn& progress) {
    std::shared_ptr<std::promise<context_ptr>> build;
    auto ready = lookup_or_insert(epoch, build);
    if (build) run_build(build, epoch, progress);
    return ready.get();
}

std::shared_future<context_ptr> epoch_context_cache::get_async(int epoch, const progress_fn& progress) {
    std::shared_ptr<std::promise<context_ptr>> build;
    auto ready = lookup_or_insert(epoch, build);
    if (build) std::thread([this, build, epoch, progress] { run_build(build, epoch, progress); }).detach();
    return ready;
}

context_ptr epoch_context_cache::find(int epoch) const {
    const std::lock_guard lock(mutex_);
    const auto it = entries_.find(epoch);
    if (it == entries_.end()) return nullptr;
    if (it->second.ready.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return nullptr;
    try {
        return it->second.ready.get();
    } catch (...) {
        return nullptr;
    }
}

epoch_context_cache& global_epoch_cache() {
    static epoch_context_cache cache(2);
    return cache;
}

}  // namespace sb::pow::ethash
