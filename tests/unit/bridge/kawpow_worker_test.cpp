// The KAWPOW device worker against a real dispatcher, with a test-double searcher that runs
// on the CPU over a materialised prefix of each epoch's dataset (the CPU reference's
// hash_full; the same prefix the dispatcher verifies against through
// kawpow_mining_over_prefix): an honest device, one that hashes with another period's
// program, one that hashes with another epoch's dataset, one that only counts (fast nonce
// ranges, timed batches), and ones whose dataset generation is slow or does not fit.
// Templates are the Ravencoin regtest getblocktemplate of ravencoin.json (raven_template.hpp).
// The same worker on a real OpenCL device (PoCL in CI) is in kawpow_worker_tests.inc.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "dispatch/algorithm.hpp"
#include "dispatch/dispatcher.hpp"
#include "fake_node.hpp"  // io_runner
#include "mining/device_worker.hpp"
#include "raven_template.hpp"
#include "sb/core/hex.hpp"
#include "sb/core/pow.hpp"
#include "sb/core/ravencoin.hpp"
#include "sb/core/uint256.hpp"
#include "sb/gpu/kawpow_device.hpp"
#include "sb/pow/ethash.hpp"
#include "sb/pow/kawpow.hpp"
#include "share_tally.hpp"

using namespace sb;
using namespace std::chrono_literals;
using bridge::mining::device_worker;
using bridge::mining::device_worker_state;
using test::raven_template;

namespace {

// 1024-bit items of each epoch's dataset the double and the dispatcher use (128 KiB).
constexpr std::uint32_t test_items = 509;

const bytes& payout() {
    static const bytes s = *from_hex("76a914000000000000000000000000000000000000000188ac");
    return s;
}

// The materialised prefix of an epoch's dataset, built once per process.
const std::vector<pow::ethash::hash512>& dataset_of(int epoch) {
    static std::mutex mu;
    static std::map<int, std::vector<pow::ethash::hash512>> built;
    std::lock_guard lock(mu);
    auto& slot = built[epoch];
    if (slot.empty()) {
        slot.resize(2 * std::size_t{test_items});
        pow::ethash::build_dataset(slot, pow::ethash::global_epoch_cache().get(epoch)->light_cache());
    }
    return slot;
}

enum class mode {
    honest,        // hashes every nonce with the work's period program over the dataset in use
    wrong_period,  // ... with the program of the period before the work's
    wrong_epoch,   // ... over epoch 0's dataset whatever the dataset in use
    counting,      // reports count hashes and no candidate, without hashing (delay per call)
};

struct call {
    gpu::kawpow_work work;
    std::uint64_t start;
    std::uint64_t count;
    int dataset_epoch;  // the dataset in use when the search ran
    std::chrono::steady_clock::time_point at;
};

// A kawpow_searcher test double on the CPU. Records every search and dataset switch.
class cpu_searcher final : public gpu::kawpow_searcher {
public:
    explicit cpu_searcher(mode m, std::uint64_t batch = 256, std::chrono::milliseconds delay = 0ms)
        : mode_(m), batch_(batch), delay_(delay) {
        info_.id = "test:0";
        info_.backend = "test";
        info_.name = "KAWPOW test double";
    }

    // Settings, before the worker starts.
    bool room_for_two = true;                  // prepare_dataset fits beside the current one
    std::chrono::milliseconds generation{0};   // how long a (non-prepared) generation takes
    bool out_of_memory = false;                // use_dataset refuses every dataset

    const gpu::device_info& info() const override { return info_; }

    std::error_code use_dataset(const gpu::kawpow_dataset& ds, const pow::ethash::progress_fn& progress,
                                std::string* detail) override {
        if (ds == dataset_) return {};
        const bool was_prepared = prepared_ && *prepared_ == ds;
        {
            std::lock_guard lock(mu_);
            switches_.push_back({ds.epoch(), was_prepared});
        }
        prepared_.reset();
        dataset_ = {};
        if (out_of_memory) {
            if (detail) *detail = "test:0 (KAWPOW test double): the epoch dataset needs more than the 0 bytes free";
            return gpu::gpu_errc::out_of_memory;
        }
        if (!was_prepared) {
            const auto until = std::chrono::steady_clock::now() + generation;
            while (std::chrono::steady_clock::now() < until) {
                if (abort_.load()) {
                    if (detail) *detail = "test:0: dataset generation cancelled";
                    return gpu::gpu_errc::cancelled;
                }
                if (progress) progress("dag", 0.5);
                std::this_thread::sleep_for(5ms);
            }
            if (progress) progress("dag", 1.0);
        }
        (void)dataset_of(ds.epoch());
        dataset_ = ds;
        return {};
    }
    bool prepare_dataset(const gpu::kawpow_dataset& ds, const pow::ethash::progress_fn&) override {
        if (!room_for_two) return false;
        prepared_ = ds;
        return true;
    }
    void abort_generation() noexcept override { abort_.store(true); }
    const gpu::kawpow_dataset& dataset() const override { return dataset_; }
    double last_generation_seconds() const override { return 0.001; }

    result<gpu::kawpow_outcome> search(const gpu::kawpow_work& work, std::uint64_t start, std::uint64_t count,
                                       std::string* detail) override {
        const auto t0 = std::chrono::steady_clock::now();
        {
            std::lock_guard lock(mu_);
            calls_.push_back({work, start, count, dataset_.epoch(), t0});
        }
        // As the real searcher: work of another epoch than the dataset's is refused.
        if (!dataset_.context || pow::ethash::epoch_number(work.height) != dataset_.epoch()) {
            if (detail) *detail = "work of another epoch than the dataset's";
            return gpu::gpu_errc::invalid_argument;
        }
        gpu::kawpow_outcome out;
        out.hashes = count;
        if (mode_ == mode::counting) {
            std::this_thread::sleep_for(delay_ > 0ms ? delay_ : 1ms);
        } else {
            const std::uint64_t height = mode_ == mode::wrong_period ? work.height - pow::kawpow::period_length : work.height;
            const sb_progpow_program program = pow::kawpow::program_for_height(height);
            const auto& ds = dataset_of(mode_ == mode::wrong_epoch ? 0 : dataset_.epoch());
            for (std::uint64_t i = 0; i < count; ++i) {
                const std::uint64_t nonce = start + i;
                const auto h = pow::kawpow::hash_full(ds, program, work.header_hash, nonce);
                if (!pow::kawpow::meets_boundary(h.final_hash, work.boundary)) continue;
                if (out.candidates.size() < gpu::max_kawpow_candidates) out.candidates.push_back({nonce, h.mix_hash, h.final_hash});
                else ++out.dropped;
            }
        }
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        rate_ = static_cast<double>(count) / std::max(secs, 1e-6);
        return out;
    }

    std::uint64_t batch_size(unsigned intensity) const override {
        unsigned none = 0;
        first_intensity_.compare_exchange_strong(none, intensity);
        return batch_;
    }
    double measured_rate() const override { return rate_; }
    std::error_code read_dataset(std::uint64_t, std::span<pow::ethash::hash512>, std::string*) override {
        return gpu::gpu_errc::unsupported;
    }

    std::vector<call> recorded() const {
        std::lock_guard lock(mu_);
        return calls_;
    }
    std::size_t calls() const {
        std::lock_guard lock(mu_);
        return calls_.size();
    }
    struct dataset_switch {
        int epoch;
        bool prepared;  // it had been prepared ahead
    };
    std::vector<dataset_switch> switches() const {
        std::lock_guard lock(mu_);
        return switches_;
    }
    bool aborted() const { return abort_.load(); }
    // The intensity of the first batch_size() call (the worker may lower it later when a
    // batch takes long on a loaded machine).
    mutable std::atomic<unsigned> first_intensity_{0};

private:
    mode mode_;
    std::uint64_t batch_;
    std::chrono::milliseconds delay_;
    gpu::device_info info_;
    gpu::kawpow_dataset dataset_;
    std::optional<gpu::kawpow_dataset> prepared_;
    std::atomic<bool> abort_{false};
    double rate_ = 0;
    mutable std::mutex mu_;
    std::vector<call> calls_;
    std::vector<dataset_switch> switches_;
};

struct fixture {
    test::io_runner io;
    std::mutex mu;
    std::vector<bridge::found_block> blocks;
    std::vector<std::string> log;
    std::shared_ptr<test::share_tally> tally = std::make_shared<test::share_tally>();
    std::shared_ptr<bridge::dispatcher> d;

    fixture() {
        bridge::dispatcher_options o;
        o.share_sink = tally;
        o.fixed_payout_script = payout();
        o.coinbase_tag = "/test/";
        o.log = [](std::string_view) {};
        o.algorithm = bridge::kawpow_mining_over_prefix(test_items);
        d = std::make_shared<bridge::dispatcher>(io.executor(), params(network::ravencoin_regtest), std::move(o),
                                                 [this](bridge::found_block b) {
                                                     std::lock_guard lock(mu);
                                                     blocks.push_back(std::move(b));
                                                 });
    }
    ~fixture() { d->stop(); }

    std::unique_ptr<device_worker> worker(std::unique_ptr<cpu_searcher> s, cpu_searcher*& raw) {
        raw = s.get();
        bridge::mining::device_worker_options o;
        o.intensity = 12;
        o.share_interval = 20ms;
        o.min_share_difficulty = 1e-12;
        o.kawpow_dataset_items_1024 = test_items;
        o.log = [this](std::string_view t) {
            std::lock_guard lock(mu);
            log.emplace_back(t);
        };
        return std::make_unique<device_worker>(d, std::move(s), o);
    }
    std::size_t block_count() {
        std::lock_guard lock(mu);
        return blocks.size();
    }
    std::string log_text() {
        std::lock_guard lock(mu);
        std::string s;
        for (const auto& l : log) s += l + "\n";
        return s;
    }
    bool listed(bridge::consumer_id id) {
        for (const auto& c : d->stats().consumers)
            if (c.id == id) return true;
        return false;
    }
};

std::uint64_t prefix_of(const device_worker& w) {
    const auto en1 = w.stats().extranonce1;
    REQUIRE(en1.size() == 2);
    return std::uint64_t{en1[0]} << 56 | std::uint64_t{en1[1]} << 48;
}

// The found block's header, light-verified over the test prefix with its height's program.
void check_block(const bridge::found_block& b, std::uint64_t prefix) {
    REQUIRE(b.block.size() > ravencoin::kawpow_header_size);
    const auto h = ravencoin::parse_kawpow_header(
        std::span<const std::uint8_t, ravencoin::kawpow_header_size>(b.block.data(), ravencoin::kawpow_header_size));
    CHECK(h.height == b.height);
    CHECK((h.nonce64 & 0xffff000000000000ull) == prefix);
    const auto ctx = pow::ethash::global_epoch_cache().get(pow::ethash::epoch_number(h.height));
    const auto cpu = pow::kawpow::hash(*ctx, pow::kawpow::program_for_height(h.height), test_items, h.header_hash(),
                                       h.nonce64);
    CHECK(cpu.mix_hash == h.mix_hash);
    const auto target = valid_target(h.bits, uint256::max());
    REQUIRE(target);
    CHECK(uint256::from_be_bytes(cpu.final_hash.data()) <= *target);
}

}  // namespace

TEST_CASE("kawpow device worker: an honest device's candidates are light-verified and become accepted shares") {
    fixture f;
    REQUIRE(!f.d->on_template(raven_template({.hard = true})));
    cpu_searcher* s = nullptr;
    auto w = f.worker(std::make_unique<cpu_searcher>(mode::honest), s);
    REQUIRE(!w->start());
    REQUIRE(f.io.run_until([&] { return w->stats().shares_accepted >= 3; }, 60s));
    w->stop();
    const auto st = w->stats();
    INFO(f.log_text());
    CHECK(st.algorithm == "kawpow");
    CHECK(st.state == device_worker_state::stopped);
    CHECK(st.hardware_errors == 0);
    CHECK(st.shares_rejected == 0);
    CHECK(st.blocks == 0);
    CHECK(f.block_count() == 0);
    CHECK(st.candidates >= st.shares_accepted);
    CHECK(st.hashes == st.batches * 256);
    CHECK(st.hashrate_1m > 0);
    CHECK(st.share_difficulty > 0);
    CHECK(st.share_difficulty < 1.0);
    CHECK(st.job_height == 259);
    CHECK(s->first_intensity_.load() == 12);
    CHECK(st.intensity <= 12);
    // The dataset: epoch 0's prefix, generated once.
    CHECK(st.dag_epoch == 0);
    CHECK(st.dag_bytes == std::uint64_t{test_items} * 128);
    CHECK(st.dag_switches == 1);
    CHECK(st.dag_building_epoch == -1);
    CHECK(st.dag_next_epoch == -1);
    // Every search ran in this worker's 2^48 nonces, one batch after the other.
    const std::uint64_t prefix = prefix_of(*w);
    const auto calls = s->recorded();
    REQUIRE(!calls.empty());
    for (std::size_t i = 0; i < calls.size(); ++i) {
        CAPTURE(i);
        CHECK((calls[i].start & 0xffff000000000000ull) == prefix);
        CHECK(calls[i].start == prefix + 256 * i);
        CHECK(calls[i].work.height == 259);
    }
    // The dispatcher judged the same shares: all accepted, none a block.
    CHECK(f.d->stats().shares_accepted == st.shares_accepted);
    CHECK(f.d->stats().shares_rejected == 0);
    CHECK(f.tally->of(st.consumer).accepted == st.shares_accepted);
    CHECK(!f.listed(st.consumer));  // freed by stop()
}

TEST_CASE("kawpow device worker: a block is verified by the dispatcher and goes to the sink once and the worker "
          "waits for the next tip") {
    fixture f;
    REQUIRE(!f.d->on_template(raven_template()));  // bits 207fffff: every other hash is a block
    cpu_searcher* s = nullptr;
    auto w = f.worker(std::make_unique<cpu_searcher>(mode::honest), s);
    REQUIRE(!w->start());
    REQUIRE(f.io.run_until([&] { return f.block_count() >= 1; }, 60s));
    f.io.run_for(300ms);
    CHECK(f.block_count() == 1);
    CHECK(w->stats().blocks == 1);
    CHECK(w->stats().state == device_worker_state::waiting);
    CHECK(w->stats().share_difficulty <= difficulty_from_bits(0x207fffff));

    REQUIRE(!f.d->on_template(raven_template({.prev_tag = 1})));  // the node's next tip
    REQUIRE(f.io.run_until([&] { return f.block_count() >= 2; }, 60s));
    w->stop();
    std::lock_guard lock(f.mu);
    CHECK(f.blocks[0].prev_block != f.blocks[1].prev_block);
    CHECK(f.blocks[1].prev_block == raven_template({.prev_tag = 1})->prev_block);
    for (const auto& b : f.blocks) check_block(b, prefix_of(*w));
    CHECK(w->stats().hardware_errors == 0);
    CHECK(f.tally->of(w->stats().consumer).blocks == 2);
}

TEST_CASE("kawpow device worker: candidates hashed with the wrong program or dataset are hardware errors and never "
          "submitted") {
    // bits 207fffff: had they been submitted, about half would have been blocks.
    fixture f;
    cpu_searcher* s = nullptr;
    std::unique_ptr<device_worker> w;
    SUBCASE("another period's program") {
        REQUIRE(!f.d->on_template(raven_template()));
        w = f.worker(std::make_unique<cpu_searcher>(mode::wrong_period), s);
    }
    SUBCASE("another epoch's dataset") {
        REQUIRE(!f.d->on_template(raven_template({.height = 7501})));
        w = f.worker(std::make_unique<cpu_searcher>(mode::wrong_epoch), s);
    }
    REQUIRE(!w->start());
    REQUIRE(f.io.run_until([&] { return w->stats().hardware_errors >= 20; }, 60s));
    w->stop();
    const auto st = w->stats();
    INFO(f.log_text());
    CHECK(st.hardware_errors == st.candidates);
    CHECK(st.shares_accepted == 0);
    CHECK(st.shares_rejected == 0);
    CHECK(st.blocks == 0);
    CHECK(f.block_count() == 0);
    CHECK(f.d->stats().shares_accepted == 0);
    CHECK(f.d->stats().shares_rejected == 0);
    CHECK(f.log_text().find("failed the CPU's light verification") != std::string::npos);
}

TEST_CASE("kawpow device worker: a period change takes the new program with the job and an epoch change switches "
          "the dataset first") {
    fixture f;
    REQUIRE(!f.d->on_template(raven_template()));  // height 259: period 86, epoch 0
    cpu_searcher* s = nullptr;
    auto w = f.worker(std::make_unique<cpu_searcher>(mode::honest), s);
    REQUIRE(!w->start());
    REQUIRE(f.io.run_until([&] { return f.block_count() >= 1; }, 60s));
    REQUIRE(!f.d->on_template(raven_template({.height = 262, .prev_tag = 1})));  // period 87
    REQUIRE(f.io.run_until([&] { return f.block_count() >= 2; }, 60s));
    REQUIRE(!f.d->on_template(raven_template({.height = 7500, .prev_tag = 2})));  // epoch 1
    REQUIRE(f.io.run_until([&] { return f.block_count() >= 3; }, 120s));
    w->stop();
    INFO(f.log_text());
    const auto st = w->stats();
    CHECK(st.hardware_errors == 0);
    CHECK(st.shares_rejected == 0);
    CHECK(st.dag_epoch == 1);
    CHECK(st.dag_switches == 2);
    {
        std::lock_guard lock(f.mu);
        REQUIRE(f.blocks.size() == 3);
        CHECK(f.blocks[0].height == 259);
        CHECK(f.blocks[1].height == 262);
        CHECK(f.blocks[2].height == 7500);
        for (const auto& b : f.blocks) check_block(b, prefix_of(*w));
    }
    // No search ever ran on a dataset of another epoch than its work's, and the heights
    // came in order (each job's work from its own job).
    std::uint64_t last_height = 0;
    for (const auto& c : s->recorded()) {
        CAPTURE(c.work.height);
        CHECK(c.dataset_epoch == pow::ethash::epoch_number(c.work.height));
        CHECK(c.work.height >= last_height);
        last_height = c.work.height;
    }
    const auto sw = s->switches();
    REQUIRE(sw.size() == 2);
    CHECK(sw[0].epoch == 0);
    CHECK(sw[1].epoch == 1);
    CHECK(f.log_text().find("switching to the epoch 1 dataset") != std::string::npos);
}

TEST_CASE("kawpow device worker: the next epoch's dataset is prepared near the boundary when it fits or else built "
          "at the boundary") {
    fixture f;
    cpu_searcher* s = nullptr;
    bool fits = true;
    SUBCASE("room for two datasets") { fits = true; }
    SUBCASE("room for one") { fits = false; }
    CAPTURE(fits);
    auto searcher = std::make_unique<cpu_searcher>(mode::honest);
    searcher->room_for_two = fits;
    auto w = f.worker(std::move(searcher), s);
    // The epoch's last block, no block by chance: the worker keeps mining it while epoch 1's
    // context is built in the background (the dispatcher started it with the template).
    REQUIRE(!f.d->on_template(raven_template({.height = 7499, .hard = true})));
    REQUIRE(!w->start());
    if (fits) {
        REQUIRE(f.io.run_until([&] { return w->stats().dag_next_epoch == 1; }, 120s));
    } else {
        REQUIRE(f.io.run_until([&] { return f.log_text().find("does not fit beside") != std::string::npos; }, 120s));
        CHECK(w->stats().dag_next_epoch == -1);
    }
    CHECK(w->stats().dag_epoch == 0);
    REQUIRE(!f.d->on_template(raven_template({.height = 7500, .prev_tag = 1})));
    REQUIRE(f.io.run_until([&] { return f.block_count() >= 1; }, 60s));
    w->stop();
    INFO(f.log_text());
    const auto sw = s->switches();
    REQUIRE(sw.size() == 2);
    CHECK(sw[1].epoch == 1);
    CHECK(sw[1].prepared == fits);
    CHECK(w->stats().dag_epoch == 1);
    CHECK(w->stats().dag_next_epoch == -1);
    CHECK(w->stats().hardware_errors == 0);
    std::lock_guard lock(f.mu);
    CHECK(f.blocks[0].height == 7500);
}

TEST_CASE("kawpow device worker: a clean job reaches the device within one batch") {
    fixture f;
    REQUIRE(!f.d->on_template(raven_template({.hard = true})));
    cpu_searcher* s = nullptr;
    // 20 ms per search call; batch_size() promises ~50 ms on real devices.
    auto w = f.worker(std::make_unique<cpu_searcher>(mode::counting, 1u << 20, 20ms), s);
    REQUIRE(!w->start());
    REQUIRE(f.io.run_until([&] { return s->calls() >= 3; }));

    const auto t0 = std::chrono::steady_clock::now();
    REQUIRE(!f.d->on_template(raven_template({.prev_tag = 2, .hard = true})));
    const hash256 new_header = f.d->current_job(w->stats().consumer)->kawpow->header_hash;
    auto first_new = [&]() -> std::optional<call> {
        for (const auto& c : s->recorded())
            if (c.work.header_hash == new_header) return c;
        return std::nullopt;
    };
    REQUIRE(f.io.run_until([&] { return first_new().has_value(); }));
    // Counted in search calls: at most the call in flight (and one that began before the
    // job's post ran) searched the old job after the new template.
    std::size_t old_after = 0;
    for (const auto& c : s->recorded())
        if (c.at >= t0 && c.work.header_hash != new_header && c.at < first_new()->at) ++old_after;
    CHECK(old_after <= 2);
    f.io.run_for(100ms);
    w->stop();
    bool switched = false;
    for (const auto& c : s->recorded()) {
        if (c.work.header_hash == new_header) switched = true;
        else CHECK_FALSE(switched);
    }
    CHECK(w->stats().jobs == 2);
    // The nonce counter went on across the job change: no nonce searched twice.
    const auto calls = s->recorded();
    for (std::size_t i = 1; i < calls.size(); ++i) CHECK(calls[i].start == calls[i - 1].start + calls[i - 1].count);
}

TEST_CASE("kawpow device worker: two devices search disjoint nonce prefixes") {
    fixture f;
    REQUIRE(!f.d->on_template(raven_template({.hard = true})));
    cpu_searcher* a = nullptr;
    cpu_searcher* b = nullptr;
    auto wa = f.worker(std::make_unique<cpu_searcher>(mode::counting, 1u << 20), a);
    auto wb = f.worker(std::make_unique<cpu_searcher>(mode::counting, 1u << 20), b);
    REQUIRE(!wa->start());
    REQUIRE(!wb->start());
    REQUIRE(f.io.run_until([&] { return a->calls() >= 3 && b->calls() >= 3; }));
    const std::uint64_t pa = prefix_of(*wa), pb = prefix_of(*wb);
    wa->stop();
    wb->stop();
    CHECK(pa != pb);
    for (const auto& c : a->recorded()) CHECK(((c.start + c.count - 1) & 0xffff000000000000ull) == pa);
    for (const auto& c : b->recorded()) CHECK(((c.start + c.count - 1) & 0xffff000000000000ull) == pb);
}

TEST_CASE("kawpow device worker: stop abandons a dataset generation in flight") {
    fixture f;
    REQUIRE(!f.d->on_template(raven_template({.hard = true})));
    cpu_searcher* s = nullptr;
    auto searcher = std::make_unique<cpu_searcher>(mode::honest);
    searcher->generation = 600s;  // a CPU OpenCL driver's full dataset
    auto w = f.worker(std::move(searcher), s);
    REQUIRE(!w->start());
    REQUIRE(f.io.run_until([&] { return w->stats().dag_progress > 0; }, 60s));
    const auto st = w->stats();
    CHECK(st.state == device_worker_state::building_dag);
    CHECK(st.dag_building_epoch == 0);
    CHECK(st.dag_epoch == -1);
    // The status names the job the dataset is built for (the template's, height 259), not
    // an empty job at height 0.
    CHECK_FALSE(st.job_id.empty());
    CHECK(st.job_height == 259);
    CHECK(st.jobs == 0);  // built for, not yet switched to
    const auto t0 = std::chrono::steady_clock::now();
    w->stop();
    // A hang guard, not a timing target: the generation was asked to stop.
    CHECK(std::chrono::steady_clock::now() - t0 < 30s);
    CHECK(s->aborted());
    CHECK(s->calls() == 0);
    CHECK(w->stats().state == device_worker_state::stopped);
    CHECK(w->stats().last_error.empty());
}

TEST_CASE("kawpow device worker: a device without room for the epoch's dataset stops with the reason") {
    fixture f;
    REQUIRE(!f.d->on_template(raven_template({.hard = true})));
    cpu_searcher* s = nullptr;
    auto searcher = std::make_unique<cpu_searcher>(mode::honest);
    searcher->out_of_memory = true;
    auto w = f.worker(std::move(searcher), s);
    REQUIRE(!w->start());
    REQUIRE(f.io.run_until([&] { return w->stats().state == device_worker_state::failed; }, 60s));
    const auto st = w->stats();
    CHECK(st.last_error.find("epoch 0 dataset: not enough device memory") != std::string::npos);
    CHECK(st.last_error.find("0 bytes free") != std::string::npos);
    CHECK(s->calls() == 0);
    REQUIRE(f.io.run_until([&] { return !f.listed(st.consumer); }));
    // The dispatcher still serves others.
    REQUIRE(!f.d->on_template(raven_template({.prev_tag = 1, .hard = true})));
    w->stop();
    CHECK(w->stats().state == device_worker_state::failed);
}

TEST_CASE("kawpow device worker: a SHA-256d device on a KAWPOW chain stops with the reason") {
    fixture f;
    REQUIRE(!f.d->on_template(raven_template({.hard = true})));
    std::string detail;
    auto opened = gpu::open_sha256d("cpu", &detail);
    REQUIRE_MESSAGE(opened, detail);
    bridge::mining::device_worker_options o;
    o.log = [](std::string_view) {};
    device_worker w(f.d, std::move(*opened), o);
    REQUIRE(!w.start());
    REQUIRE(f.io.run_until([&] { return w.stats().state == device_worker_state::failed; }));
    CHECK(w.stats().last_error.find("KAWPOW job") != std::string::npos);
    CHECK(w.stats().hashes == 0);
    w.stop();
}
