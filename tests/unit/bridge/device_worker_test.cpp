// The device worker against a real dispatcher, with test-double searchers: an honest one
// that hashes every nonce with core sha256d, a lying one that reports nonces it never
// checked, a counting one that "scans" without hashing (to use up nonce ranges fast),
// and one whose device is lost. Templates are the bcoin regtest fixture of
// getblocktemplate.json, with bits 1d00ffff when blocks must not be found by chance.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <rapidjson/document.h>

#include "dispatch/dispatcher.hpp"
#include "dispatch/job.hpp"
#include "fake_node.hpp"  // io_runner
#include "mining/device_worker.hpp"
#include "sb/core/hex.hpp"
#include "sb/core/pow.hpp"
#include "sb/core/sha256.hpp"
#include "sb/core/uint256.hpp"
#include "sb/node/internal/json.hpp"
#include "sb/node/template.hpp"
#include "share_tally.hpp"
#include "vectors.hpp"

using namespace sb;
using namespace std::chrono_literals;
using bridge::mining::device_worker;
using bridge::mining::device_worker_state;

namespace {

const bytes& payout_a() {
    static const bytes s = *from_hex("0014751e76e8199196d454941c45d1b3a323f1433bd6");
    return s;
}

// The fixture template; prev_tag changes previousblockhash (a new tip); hard replaces the
// regtest bits (half of all hashes are blocks) by difficulty 1.
std::shared_ptr<const node::block_template> tmpl(int prev_tag, bool hard) {
    rapidjson::Document d = test::vector_member_copy("getblocktemplate.json", "bcoin_presegwit");
    if (prev_tag != 0) {
        std::string h(64, '0');
        h[63] = static_cast<char>('0' + prev_tag);
        d["previousblockhash"].SetString(h.c_str(), d.GetAllocator());
    }
    if (hard) {
        d["bits"].SetString("1d00ffff", d.GetAllocator());
        d["target"].SetString("00000000ffff0000000000000000000000000000000000000000000000000000", d.GetAllocator());
    }
    auto t = node::parse_block_template(d, params(network::bitcoin_regtest));
    REQUIRE_MESSAGE(t, t.error().message());
    return std::make_shared<const node::block_template>(std::move(*t));
}

std::uint32_t top_word(const std::array<std::uint8_t, 80>& header, std::uint32_t nonce) {
    auto h = header;
    for (int i = 0; i < 4; ++i) h[76 + i] = static_cast<std::uint8_t>(nonce >> (8 * i));
    return uint256::from_hash(sha256d_header(h.data())).limb(7);
}

enum class mode {
    honest,    // hashes every nonce on the CPU and reports those meeting target_word
    lying,     // reports nonces of the range whose hash does NOT meet target_word
    counting,  // reports count hashes and no candidate, without hashing
    lost,      // like counting, then device_lost-style failure after fail_after calls
};

struct call {
    std::array<std::uint8_t, 80> header;
    std::uint32_t first;
    std::uint64_t count;
    std::uint32_t target_word;
    std::chrono::steady_clock::time_point at;  // when the call started
};

// A sha256d_searcher test double. Records every call.
class test_searcher final : public gpu::sha256d_searcher {
public:
    test_searcher(mode m, std::uint64_t batch, std::chrono::milliseconds delay = 0ms) : mode_(m), batch_(batch), delay_(delay) {
        info_.id = "test:0";
        info_.backend = "test";
        info_.name = "test double";
    }
    const gpu::device_info& info() const override { return info_; }
    result<gpu::search_outcome> search(const gpu::sha256d_work& work, std::uint32_t first, std::uint64_t count,
                                       std::string* detail) override {
        {
            std::lock_guard lock(mu_);
            calls_.push_back({work.header, first, count, work.target_word, std::chrono::steady_clock::now()});
        }
        if (delay_ > 0ms) std::this_thread::sleep_for(delay_);
        gpu::search_outcome out;
        out.hashes = count;
        switch (mode_) {
            case mode::honest:
                for (std::uint64_t i = 0; i < count; ++i) {
                    const auto n = static_cast<std::uint32_t>(first + i);
                    if (top_word(work.header, n) > work.target_word) continue;
                    if (out.nonces.size() < gpu::max_search_candidates) out.nonces.push_back(n);
                    else ++out.dropped;
                }
                break;
            case mode::lying:
                for (std::uint64_t i = 0; i < count && out.nonces.size() < gpu::max_search_candidates; ++i) {
                    const auto n = static_cast<std::uint32_t>(first + i);
                    if (top_word(work.header, n) > work.target_word) out.nonces.push_back(n);
                }
                break;
            case mode::counting:
                break;
            case mode::lost:
                if (calls() > fail_after) {
                    if (detail) *detail = "the test device fell off the bus";
                    return gpu::gpu_errc::device_lost;
                }
                break;
        }
        if (mode_ == mode::counting || mode_ == mode::lost) std::this_thread::sleep_for(1ms);
        return out;
    }
    std::uint64_t batch_size(unsigned intensity) const override {
        intensity_seen_ = intensity;
        return batch_;
    }

    std::size_t calls() const {
        std::lock_guard lock(mu_);
        return calls_.size();
    }
    std::vector<call> recorded() const {
        std::lock_guard lock(mu_);
        return calls_;
    }
    std::size_t fail_after = 3;
    mutable std::atomic<unsigned> intensity_seen_{0};

private:
    mode mode_;
    std::uint64_t batch_;
    std::chrono::milliseconds delay_;
    gpu::device_info info_;
    mutable std::mutex mu_;
    std::vector<call> calls_;
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
        o.fixed_payout_script = payout_a();
        o.coinbase_tag = "/test/";
        o.extranonce2_size = 4;
        o.log = [](std::string_view) {};
        d = std::make_shared<bridge::dispatcher>(io.executor(), params(network::bitcoin_regtest), std::move(o),
                                                 [this](bridge::found_block b) {
                                                     std::lock_guard lock(mu);
                                                     blocks.push_back(std::move(b));
                                                 });
    }
    ~fixture() { d->stop(); }

    // A worker on this dispatcher driving searcher (kept for inspection through *raw).
    std::unique_ptr<device_worker> worker(std::unique_ptr<test_searcher> s, test_searcher*& raw,
                                          std::chrono::milliseconds share_interval = 20ms) {
        raw = s.get();
        bridge::mining::device_worker_options o;
        o.intensity = 12;
        o.share_interval = share_interval;
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
    test::consumer_tally consumer(bridge::consumer_id id) {
        if (!listed(id)) FAIL("consumer not listed");
        return tally->of(id);
    }
    bool listed(bridge::consumer_id id) {
        for (const auto& c : d->stats().consumers)
            if (c.id == id) return true;
        return false;
    }
};

hash256 prev_of(const std::array<std::uint8_t, 80>& header) {
    hash256 h;
    std::copy(header.begin() + 4, header.begin() + 36, h.begin());
    return h;
}

}  // namespace

TEST_CASE("device worker: an honest device's candidates become accepted shares after a CPU re-hash") {
    fixture f;
    REQUIRE(!f.d->on_template(tmpl(0, true)));
    test_searcher* s = nullptr;
    auto w = f.worker(std::make_unique<test_searcher>(mode::honest, 4096), s);
    const auto t0 = std::chrono::steady_clock::now();
    REQUIRE(!w->start());
    REQUIRE(f.io.run_until([&] { return w->stats().shares_accepted >= 3; }));
    w->stop();
    const double elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto st = w->stats();
    INFO(f.log_text());
    CHECK(st.state == device_worker_state::stopped);
    CHECK(st.hardware_errors == 0);
    CHECK(st.shares_rejected == 0);
    CHECK(st.blocks == 0);
    CHECK(f.block_count() == 0);
    CHECK(st.candidates >= st.shares_accepted);
    CHECK(st.hashes == st.batches * 4096);
    // The decayed rates agree with hashes over the time mined (loosely: the machine is
    // shared, and the 1 m and 5 m weights differ).
    const double mean = static_cast<double>(st.hashes) / elapsed_s;
    CHECK(st.hashrate_1m > mean / 3);
    CHECK(st.hashrate_1m < mean * 3);
    CHECK(st.hashrate_5m > mean / 3);
    CHECK(st.hashrate_5m < mean * 3);
    // Sub-1 share difficulty chosen from the measured rate, never below the floor nor
    // above the network difficulty (1 here).
    CHECK(st.share_difficulty >= bridge::mining::min_share_difficulty);
    CHECK(st.share_difficulty <= 1.0);
    CHECK(!st.job_id.empty());
    CHECK(st.device_id == "test:0");
    CHECK(s->intensity_seen_.load() == 12);
    // The dispatcher judged the same shares: none was refused.
    bool found = false;
    for (const auto& c : f.d->stats().consumers) found |= c.id == st.consumer;
    CHECK(!found);  // the slot was freed by stop()
    CHECK(f.d->stats().shares_accepted == st.shares_accepted);
    CHECK(f.d->stats().shares_rejected == 0);
}

TEST_CASE("device worker: candidates of a lying device are hardware errors and never reach the dispatcher") {
    fixture f;
    REQUIRE(!f.d->on_template(tmpl(0, true)));
    test_searcher* s = nullptr;
    auto w = f.worker(std::make_unique<test_searcher>(mode::lying, 4096), s);
    REQUIRE(!w->start());
    REQUIRE(f.io.run_until([&] { return w->stats().hardware_errors >= 200; }));
    const auto c = f.consumer(w->stats().consumer);
    w->stop();
    const auto st = w->stats();
    // Every reported nonce misses target_word: all of them are hardware errors.
    CHECK(st.hardware_errors == st.candidates);
    CHECK(st.shares_accepted == 0);
    CHECK(c.accepted == 0);
    std::uint64_t rejected = 0;
    for (auto r : c.rejected) rejected += r;
    CHECK(rejected == 0);
    CHECK(f.d->stats().shares_rejected == 0);
}

TEST_CASE("device worker: a block goes to the sink once and the worker waits for the next tip") {
    fixture f;
    REQUIRE(!f.d->on_template(tmpl(0, false)));  // regtest bits: every other hash is a block
    test_searcher* s = nullptr;
    auto w = f.worker(std::make_unique<test_searcher>(mode::honest, 4096), s);
    REQUIRE(!w->start());
    REQUIRE(f.io.run_until([&] { return f.block_count() >= 1; }));
    // Paused: no second block on the same parent, however many candidates are blocks.
    f.io.run_for(300ms);
    CHECK(f.block_count() == 1);
    CHECK(w->stats().blocks == 1);
    CHECK(w->stats().state == device_worker_state::waiting);
    // Share difficulty clamped to the network difficulty: every block is a share.
    CHECK(w->stats().share_difficulty <= difficulty_from_bits(0x207fffff));

    REQUIRE(!f.d->on_template(tmpl(1, false)));  // the node's next tip
    REQUIRE(f.io.run_until([&] { return f.block_count() >= 2; }));
    w->stop();
    std::lock_guard lock(f.mu);
    CHECK(f.blocks[0].prev_block != f.blocks[1].prev_block);
    CHECK(f.blocks[1].prev_block == tmpl(1, false)->prev_block);
    CHECK(w->stats().blocks == 2);
    CHECK(w->stats().hardware_errors == 0);
}

TEST_CASE("device worker: a clean job reaches the device within one batch") {
    fixture f;
    REQUIRE(!f.d->on_template(tmpl(0, true)));
    test_searcher* s = nullptr;
    // 20 ms per search call; batch_size() promises ~50 ms on real devices.
    auto w = f.worker(std::make_unique<test_searcher>(mode::counting, 1u << 20, 20ms), s);
    REQUIRE(!w->start());
    REQUIRE(f.io.run_until([&] { return s->calls() >= 3; }));

    const hash256 new_prev = tmpl(2, true)->prev_block;
    const auto t0 = std::chrono::steady_clock::now();
    REQUIRE(!f.d->on_template(tmpl(2, true)));
    auto first_new = [&]() -> std::optional<call> {
        for (const auto& c : s->recorded())
            if (prev_of(c.header) == new_prev) return c;
        return std::nullopt;
    };
    REQUIRE(f.io.run_until([&] { return first_new().has_value(); }));
    const auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(first_new()->at - t0);
    MESSAGE("clean-job switch: " << latency.count() << " ms with 20 ms search calls");
    // Counted in search calls, not milliseconds: at most the call in flight (and one that
    // began before the job's post ran) searched the old tip after the new template; a
    // worker that kept the old job until its nonce range ran out would make 4096.
    std::size_t old_after = 0;
    for (const auto& c : s->recorded())
        if (c.at >= t0 && prev_of(c.header) != new_prev && c.at < first_new()->at) ++old_after;
    CHECK(old_after <= 2);
    f.io.run_for(100ms);
    w->stop();
    // Nothing searched the old tip after the switch.
    bool switched = false;
    for (const auto& c : s->recorded()) {
        if (prev_of(c.header) == new_prev) switched = true;
        else CHECK_FALSE(switched);
    }
    CHECK(w->stats().job_height == 1);
    CHECK(w->stats().jobs == 2);
}

TEST_CASE("device worker: extranonce2 advances when a header's 2^32 nonces are used up") {
    fixture f;
    REQUIRE(!f.d->on_template(tmpl(0, true)));
    test_searcher* s = nullptr;
    auto w = f.worker(std::make_unique<test_searcher>(mode::counting, 1u << 30), s);
    REQUIRE(!w->start());
    REQUIRE(f.io.run_until([&] { return s->calls() >= 9; }));
    const auto job = f.d->current_job(w->stats().consumer);
    REQUIRE(job);
    w->stop();
    const auto calls = s->recorded();
    const auto st = w->stats();
    REQUIRE(calls.size() >= 9);
    for (std::size_t i = 0; i < 8; ++i) {
        CAPTURE(i);
        CHECK(calls[i].first == static_cast<std::uint32_t>((i % 4) << 30));
        CHECK(calls[i].count == (std::uint64_t(1) << 30));
    }
    // Same header for the four quarters, a new merkle root (only) after them.
    CHECK(calls[1].header == calls[0].header);
    CHECK(calls[3].header == calls[0].header);
    CHECK(calls[4].header != calls[0].header);
    CHECK(std::equal(calls[4].header.begin(), calls[4].header.begin() + 36, calls[0].header.begin()));
    CHECK(std::equal(calls[4].header.begin() + 68, calls[4].header.end(), calls[0].header.begin() + 68));
    // The headers are the job's with this worker's extranonce1 and extranonce2 = 0, 1, 2
    // (little-endian counter).
    CHECK(st.extranonce1.size() == bridge::default_extranonce1_bytes);
    CHECK(st.extranonce2 >= 2);
    for (std::uint8_t en2 = 0; en2 < 3; ++en2) {
        CAPTURE(int(en2));
        auto h = bridge::rebuild_header(*job, st.extranonce1, bytes{en2, 0, 0, 0}, job->ntime, 0, job->version);
        REQUIRE(h);
        CHECK(h->serialize() == calls[4 * en2].header);
    }
}

TEST_CASE("device worker: stop joins the thread within one batch and frees the extranonce1") {
    fixture f;
    REQUIRE(!f.d->on_template(tmpl(0, true)));
    test_searcher* s = nullptr;
    auto w = f.worker(std::make_unique<test_searcher>(mode::counting, 1u << 20, 20ms), s);
    REQUIRE(!w->start());
    REQUIRE(f.io.run_until([&] { return s->calls() >= 2; }));
    // The share difficulty follows the measured speed: 2^20 nonces per ~20 ms call, one
    // share per share_interval (20 ms here) → about 2^20 / 2^32 = 1/4096.
    const double d = w->stats().share_difficulty;
    // A loaded machine only makes calls slower, so the difficulty lower, down to the floor.
    CHECK(d >= bridge::mining::min_share_difficulty);
    CHECK(d < 1.0 / 4096 * 1.5);
    const auto id = w->stats().consumer;
    CHECK(f.listed(id));
    const auto t0 = std::chrono::steady_clock::now();
    w->stop();
    const auto took = std::chrono::steady_clock::now() - t0;
    // A hang guard, not a timing target: one 20 ms call was in flight.
    CHECK(took < 10s);
    const auto n = s->calls();
    f.io.run_for(100ms);
    CHECK(s->calls() == n);
    CHECK(!f.listed(id));
    CHECK(w->stats().state == device_worker_state::stopped);
    w->stop();  // idempotent
    w.reset();  // the destructor after stop
}

TEST_CASE("device worker: a worker without a template waits and then mines the first job") {
    fixture f;
    test_searcher* s = nullptr;
    auto w = f.worker(std::make_unique<test_searcher>(mode::counting, 1u << 20), s);
    REQUIRE(!w->start());
    f.io.run_for(100ms);
    CHECK(s->calls() == 0);
    CHECK(w->stats().state == device_worker_state::waiting);
    REQUIRE(!f.d->on_template(tmpl(0, true)));
    REQUIRE(f.io.run_until([&] { return s->calls() >= 1; }));
    CHECK(w->stats().state == device_worker_state::mining);
    w->stop();
}

TEST_CASE("device worker: a lost device stops its worker with the reason and leaves the dispatcher running") {
    fixture f;
    REQUIRE(!f.d->on_template(tmpl(0, true)));
    test_searcher* s = nullptr;
    auto w = f.worker(std::make_unique<test_searcher>(mode::lost, 1u << 20), s);
    REQUIRE(!w->start());
    REQUIRE(f.io.run_until([&] { return w->stats().state == device_worker_state::failed; }));
    const auto st = w->stats();
    CHECK(st.last_error == "device lost: the test device fell off the bus");
    CHECK(f.log_text().find("stopped: search failed") != std::string::npos);
    CHECK(s->calls() == s->fail_after + 1);
    REQUIRE(f.io.run_until([&] { return !f.listed(st.consumer); }));
    // The dispatcher still serves others.
    REQUIRE(!f.d->on_template(tmpl(1, true)));
    CHECK(f.d->stats().jobs_issued >= 1);
    w->stop();
    CHECK(w->stats().state == device_worker_state::failed);
}

TEST_CASE("device worker: the cpu searcher of sb::gpu mines accepted shares with no hardware errors") {
    fixture f;
    REQUIRE(!f.d->on_template(tmpl(0, true)));
    std::string detail;
    auto opened = gpu::open_sha256d("cpu", &detail);
    REQUIRE_MESSAGE(opened, opened.error().message() << ": " << detail);
    bridge::mining::device_worker_options o;
    o.intensity = 12;
    o.share_interval = 20ms;
    o.log = [](std::string_view) {};
    device_worker w(f.d, std::move(*opened), o);
    REQUIRE(!w.start());
    REQUIRE(f.io.run_until([&] { return w.stats().shares_accepted >= 3; }));
    w.stop();
    const auto st = w.stats();
    CHECK(st.device_id == "cpu");
    CHECK(st.backend == "cpu");
    CHECK(st.hardware_errors == 0);
    CHECK(st.shares_rejected == 0);
    CHECK(f.d->stats().shares_accepted == st.shares_accepted);
}
