// Header chain: proof of work and bits on real mainnet headers (tests/vectors/bitcoin.json
// `mainnet_headers`), next-work rules on synthetic ancestors (Bitcoin retarget with the
// clamps ±1, testnet3's 20-minute rule, BIP94, Ravencoin DGW v3), time rules ±1, and the
// tree itself on ground regtest headers: locator, reorg, flood bounds, persistence.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "node_access.hpp"
#include "regtest_headers.hpp"
#include "sb/core/chain.hpp"
#include "sb/core/hex.hpp"
#include "sb/core/pow.hpp"
#include "sb/node/p2p/header_chain.hpp"
#include "sb/node/p2p/limits.hpp"
#include "seed.hpp"
#include "vectors.hpp"

using namespace sb;
using namespace sb::node::p2p;

namespace {

// Far in the future: the future-time rule is tested on its own.
constexpr std::int64_t late = std::int64_t(1) << 40;

block_header real_header(const char* height) {
    const auto& doc = test::vector_json("bitcoin.json");
    auto raw = from_hex(doc["mainnet_headers"][height]["header"].GetString());
    REQUIRE(raw);
    REQUIRE(raw->size() == 80);
    return parse_header(std::span<const std::uint8_t, 80>(raw->data(), 80));
}

// Synthetic ancestors: height → (time, bits).
struct fake_chain {
    std::map<std::int32_t, header_info> blocks;
    void put(std::int32_t h, std::uint32_t time, std::uint32_t bits) { blocks[h] = {h, time, bits}; }
    header_info at(std::int32_t h) const { return blocks.at(h); }
    ancestor_fn fn() const {
        return [this](std::int32_t h) -> std::optional<header_info> {
            auto it = blocks.find(h);
            if (it == blocks.end()) return std::nullopt;
            return it->second;
        };
    }
};

// Next bits after a mainnet period ending at last_height with these times.
std::uint32_t mainnet_retarget(std::int32_t last_height, std::uint32_t first_time, std::uint32_t last_time,
                               std::uint32_t bits) {
    const chain_params& c = params(network::bitcoin_mainnet);
    fake_chain f;
    f.put(last_height - 2015, first_time, bits);
    f.put(last_height, last_time, bits);
    auto r = next_work_required(c, f.at(last_height), last_time + 600, f.fn());
    REQUIRE(r);
    return *r;
}

// A regtest header on prev with the given time, nonce ground until it meets 207fffff.
block_header mine(const hash256& prev, std::uint32_t time, std::uint32_t salt = 0) {
    return test::mine_regtest_header(prev, time, 0x207fffff, salt);
}

// n regtest headers extending from prev, one every 600 s after start_time.
std::vector<block_header> mine_chain(hash256 prev, std::uint32_t start_time, int n, std::uint32_t salt = 0) {
    std::vector<block_header> out;
    for (int i = 0; i < n; ++i) {
        out.push_back(mine(prev, start_time + 600u * std::uint32_t(i + 1), salt));
        prev = out.back().hash();
    }
    return out;
}

const chain_params& regtest() { return params(network::bitcoin_regtest); }
std::uint32_t regtest_genesis_time() { return header_chain(regtest()).root().header.time; }

std::filesystem::path temp_dir(const char* name) {
    auto d = std::filesystem::temp_directory_path() /
             (std::string("sb-p2p-") + name + "-" + std::to_string(std::random_device{}()));
    std::filesystem::remove_all(d);
    return d;
}

}  // namespace

TEST_CASE("headers: real mainnet headers meet their targets and a changed nonce does not") {
    const uint256& limit = params(network::bitcoin_mainnet).pow_limit;
    for (const char* h : {"125552", "413567"}) {
        const block_header hdr = real_header(h);
        CHECK(to_hex_reversed(hdr.hash()) ==
              std::string(test::vector_json("bitcoin.json")["mainnet_headers"][h]["hash"].GetString()));
        CHECK(check_proof_of_work(hdr.hash(), hdr.bits, limit));
        block_header bad = hdr;
        ++bad.nonce;
        CHECK_FALSE(check_proof_of_work(bad.hash(), bad.bits, limit));
        // Off the retarget boundary a header must repeat its parent's bits.
        const std::int32_t height = std::stoi(h);
        REQUIRE(height % 2016 != 0);
        CHECK(permitted_difficulty_transition(params(network::bitcoin_mainnet), height, hdr.bits, hdr.bits));
        CHECK_FALSE(permitted_difficulty_transition(params(network::bitcoin_mainnet), height, hdr.bits, hdr.bits - 1));
        fake_chain f;
        f.put(height - 1, hdr.time - 600, hdr.bits);
        CHECK(next_work_required(params(network::bitcoin_mainnet), f.at(height - 1), hdr.time, f.fn()) == hdr.bits);
    }
}

TEST_CASE("headers: mainnet retarget matches the Core pow_tests values") {
    // Core src/test/pow_tests.cpp: real period ends on mainnet.
    CHECK(mainnet_retarget(32255, 1261130161, 1262152739, 0x1d00ffff) == 0x1d00d86au);
    CHECK(mainnet_retarget(2015, 1231006505, 1233061996, 0x1d00ffff) == 0x1d00ffffu);  // capped at pow limit
    CHECK(mainnet_retarget(68543, 1279008237, 1279297671, 0x1c05a3f4) == 0x1c0168fdu);  // lower clamp
    CHECK(mainnet_retarget(46367, 1263163443, 1269211443, 0x1c387f6f) == 0x1d00e1fdu);  // upper clamp
    const chain_params& c = params(network::bitcoin_mainnet);
    CHECK(permitted_difficulty_transition(c, 32256, 0x1d00ffff, 0x1d00d86a));
    CHECK(permitted_difficulty_transition(c, 68544, 0x1c05a3f4, 0x1c0168fd));
    CHECK_FALSE(permitted_difficulty_transition(c, 68544, 0x1c05a3f4, 0x1c0168fd - 1));
    CHECK(permitted_difficulty_transition(c, 46368, 0x1c387f6f, 0x1d00e1fd));
    CHECK_FALSE(permitted_difficulty_transition(c, 46368, 0x1c387f6f, 0x1d00e1fd + 1));
}

TEST_CASE("headers: retarget clamps at a quarter and four times the timespan") {
    constexpr std::uint32_t t0 = 1'400'000'000;
    constexpr std::uint32_t bits = 0x1b0404cb;
    constexpr std::uint32_t T = 1'209'600;
    // Mantissas chosen so that one second moves the compact result: 0x7fffff before a
    // quarter, 0x1fffff before a fourfold.
    auto next = [&](std::uint32_t actual, std::uint32_t b = 0x1b0404cb) {
        return mainnet_retarget(2016 * 100 - 1, t0, t0 + actual, b);
    };
    CHECK(next(T) == bits);
    CHECK(next(T / 4 - 1, 0x1b7fffff) == next(T / 4, 0x1b7fffff));
    CHECK(next(T / 4 + 1, 0x1b7fffff) != next(T / 4, 0x1b7fffff));
    CHECK(next(T * 4 + 1, 0x1b1fffff) == next(T * 4, 0x1b1fffff));
    CHECK(next(T * 4 - 1, 0x1b1fffff) != next(T * 4, 0x1b1fffff));
    CHECK(next(0) == next(T / 4));
    // Off the boundary (height % 2016 != 2015) nothing changes whatever the times.
    const chain_params& c = params(network::bitcoin_mainnet);
    fake_chain f;
    f.put(2016 * 100 - 2, t0, bits);
    CHECK(next_work_required(c, f.at(2016 * 100 - 2), t0 + 100000, f.fn()) == bits);
    // On the boundary without the period's first header the rule cannot be computed.
    fake_chain g;
    g.put(2016 * 100 - 1, t0, bits);
    CHECK_FALSE(next_work_required(c, g.at(2016 * 100 - 1), t0 + 600, g.fn()));
}

TEST_CASE("headers: testnet3 twenty-minute rule and the last non-min-difficulty bits") {
    const chain_params& c = params(network::bitcoin_testnet3);
    constexpr std::uint32_t real = 0x1c00ffff;
    constexpr std::uint32_t t = 1'500'000'000;
    fake_chain f;
    f.put(2016 * 10 + 4, t - 5000, real);
    for (int h = 2016 * 10 + 5; h <= 2016 * 10 + 9; ++h) f.put(h, t - 1000 + std::uint32_t(h), c.pow_limit_bits);
    const header_info prev = f.at(2016 * 10 + 9);
    CHECK(next_work_required(c, prev, prev.time + 1200, f.fn()) == real);
    CHECK(next_work_required(c, prev, prev.time + 1201, f.fn()) == c.pow_limit_bits);
    // The walk stops at a period start even when it is min-difficulty.
    fake_chain g;
    g.put(2016 * 10, t, c.pow_limit_bits);
    g.put(2016 * 10 + 1, t + 1, c.pow_limit_bits);
    CHECK(next_work_required(c, g.at(2016 * 10 + 1), t + 2, g.fn()) == c.pow_limit_bits);
    // Mainnet has no such rule.
    CHECK(next_work_required(params(network::bitcoin_mainnet), f.at(2016 * 10 + 4), t + 100000, f.fn()) == real);
    // Min-difficulty networks permit any transition.
    CHECK(permitted_difficulty_transition(c, 2016 * 10 + 3, real, c.pow_limit_bits));
}

TEST_CASE("headers: BIP94 retargets from the first block of the period") {
    const chain_params& c = params(network::bitcoin_testnet4);
    constexpr std::uint32_t t0 = 1'720'000'000;
    fake_chain f;
    f.put(2016 * 5, t0, 0x1c00ffff);
    f.put(2016 * 6 - 1, t0 + 1'209'600, c.pow_limit_bits);  // a min-difficulty block ends the period
    CHECK(next_work_required(c, f.at(2016 * 6 - 1), t0 + 1'210'200, f.fn()) == 0x1c00ffffu);
    // testnet3 would have based it on the last block's (min-difficulty) bits.
    CHECK(next_work_required(params(network::bitcoin_testnet3), f.at(2016 * 6 - 1), t0 + 1'210'200, f.fn()) ==
          c.pow_limit_bits);
}

TEST_CASE("headers: time rules at their boundaries") {
    const chain_params& c = params(network::bitcoin_mainnet);
    constexpr std::int64_t mtp = 1'600'000'000;
    constexpr std::int64_t now = 1'700'000'000;
    CHECK(check_header_time(c, 100, mtp, mtp, mtp, now) == p2p_errc::header_time_too_old);
    CHECK_FALSE(check_header_time(c, 100, mtp + 1, mtp, mtp, now));
    CHECK_FALSE(check_header_time(c, 100, std::uint32_t(now + 7200), mtp, mtp, now));
    CHECK(check_header_time(c, 100, std::uint32_t(now + 7201), mtp, mtp, now) == p2p_errc::header_time_too_new);
    // Ravencoin after DGW activation: 720 s; before it: 7200 s.
    const chain_params& r = params(network::ravencoin_mainnet);
    CHECK_FALSE(check_header_time(r, r.dgw_activation_height, std::uint32_t(now + 720), mtp, mtp, now));
    CHECK(check_header_time(r, r.dgw_activation_height, std::uint32_t(now + 721), mtp, mtp, now) ==
          p2p_errc::header_time_too_new);
    CHECK_FALSE(check_header_time(r, r.dgw_activation_height - 1, std::uint32_t(now + 7200), mtp, mtp, now));
    // BIP94 timewarp: only at a period start, 600 s before the parent at most.
    const chain_params& t4 = params(network::bitcoin_testnet4);
    const std::uint32_t prev = std::uint32_t(mtp + 5000);
    CHECK_FALSE(check_header_time(t4, 2016 * 3, prev - 600, prev, mtp, now));
    CHECK(check_header_time(t4, 2016 * 3, prev - 601, prev, mtp, now) == p2p_errc::header_timewarp);
    CHECK_FALSE(check_header_time(t4, 2016 * 3 + 1, prev - 601, prev, mtp, now));
    CHECK_FALSE(check_header_time(params(network::bitcoin_testnet3), 2016 * 3, prev - 601, prev, mtp, now));
    // Median of the last 11: the middle of the sorted times.
    const std::uint32_t times[] = {5, 1, 9, 3, 7, 11, 2, 8, 4, 10, 6};
    CHECK(median_time(times) == 6);
    CHECK(median_time(std::span<const std::uint32_t>(times, 2)) == 5);
}

TEST_CASE("headers: Dark Gravity Wave on synthetic 180-block windows") {
    const chain_params& c = params(network::ravencoin_mainnet);
    const std::uint32_t kp = c.kawpow_activation_time;
    constexpr std::int32_t last = 2'000'000;
    const std::uint32_t bits = 0x1b01c1a5;
    auto window = [&](std::uint32_t spacing, std::uint32_t start) {
        fake_chain f;
        for (int i = 0; i < dgw_past_blocks; ++i) f.put(last - i, start + spacing * std::uint32_t(dgw_past_blocks - 1 - i), bits);
        return f;
    };
    const uint256 t = compact_to_target(bits).target;
    // Steady 60 s blocks: the window spans 179 intervals against a 180-interval target.
    {
        fake_chain f = window(60, kp + 1000);
        const uint256 expect = t * uint256(179 * 60) / uint256(180 * 60);
        CHECK(dark_gravity_wave(c, f.at(last), f.at(last).time + 60, f.fn()) == target_to_compact(expect));
        CHECK(next_work_required(c, f.at(last), f.at(last).time + 60, f.fn()) == target_to_compact(expect));
    }
    // Clamps at a third and three times the target timespan.
    {
        fake_chain fast = window(0, kp + 1000);
        CHECK(dark_gravity_wave(c, fast.at(last), kp + 2000, fast.fn()) ==
              target_to_compact(t * uint256(60) / uint256(180)));
        fake_chain slow = window(1000, kp + 1000);
        const uint256 slow_t = t * uint256(3);
        CHECK(dark_gravity_wave(c, slow.at(last), slow.at(last).time + 60, slow.fn()) ==
              target_to_compact(slow_t > c.pow_limit ? c.pow_limit : slow_t));
    }
    // A KAWPOW block after a window that is not all KAWPOW gets kawpow_limit.
    {
        fake_chain f = window(60, kp - 60 * 100);
        CHECK(dark_gravity_wave(c, f.at(last), f.at(last).time + 60, f.fn()) == c.kawpow_limit_bits);
    }
    // The running value multiplies by the loop counter (not a true mean).
    {
        fake_chain f;
        for (int i = 0; i < dgw_past_blocks; ++i)
            f.put(last - i, kp + 1000 + 60u * std::uint32_t(dgw_past_blocks - 1 - i), i % 2 ? 0x1b01c1a5 : 0x1b02c1a5);
        uint256 avg;
        for (int n = 1; n <= dgw_past_blocks; ++n) {
            const uint256 tn = compact_to_target(f.at(last - (n - 1)).bits).target;
            avg = n == 1 ? tn : (avg * uint256(std::uint64_t(n)) + tn) / uint256(std::uint64_t(n + 1));
        }
        CHECK(dark_gravity_wave(c, f.at(last), f.at(last).time + 60, f.fn()) ==
              target_to_compact(avg * uint256(179 * 60) / uint256(180 * 60)));
    }
    // Fewer than 180 blocks: pow limit; a missing ancestor: unknown.
    {
        const chain_params& test = params(network::ravencoin_testnet);
        fake_chain f = window(60, kp);
        CHECK(dark_gravity_wave(test, header_info{179, kp, bits}, kp + 60, f.fn()) == test.pow_limit_bits);
        fake_chain g;
        g.put(last, kp + 1000, bits);
        CHECK_FALSE(dark_gravity_wave(c, g.at(last), kp + 1060, g.fn()));
        CHECK(permitted_difficulty_transition(c, last + 1, bits, 0x1c00ffff));
    }
}

TEST_CASE("headers: a regtest chain grows and the locator has the Core shape") {
    header_chain chain(regtest());
    const auto hs = mine_chain(regtest().genesis_hash, regtest_genesis_time(), 50);
    auto r = chain.add_all(hs, late);
    REQUIRE(r);
    CHECK(r->added == 50);
    REQUIRE(r->tip);
    CHECK(r->tip->new_height == 50);
    CHECK(r->tip->fork_height == 0);
    CHECK_FALSE(r->tip->reorg());
    CHECK(chain.tip().height == 50);
    CHECK(chain.tip().hash == hs.back().hash());
    CHECK(chain.tip().chain_work == uint256(2 * 51));
    const std::vector<std::int32_t> expect = {50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 37, 33, 25, 9, 0};
    const auto loc = chain.locator();
    REQUIRE(loc.size() == expect.size());
    for (std::size_t i = 0; i < loc.size(); ++i) CHECK(chain.find(loc[i])->height == expect[i]);
    // Serving getheaders: after the first locator hash on the active chain.
    const hash256 at10 = chain.at_height(10)->hash;
    auto after = test::access<header_chain>::headers_after(chain, std::vector<hash256>{hash256{9}, at10}, hash256{}, 2000);
    REQUIRE(after.size() == 40);
    CHECK(after.front() == hs[10]);
    after = test::access<header_chain>::headers_after(chain, std::vector<hash256>{at10}, chain.at_height(15)->hash, 2000);
    CHECK(after.size() == 5);
    CHECK(test::access<header_chain>::headers_after(chain, {}, hash256{}, 3).size() == 3);
    CHECK(chain.add(hs[5], late)->status == add_status::duplicate);
}

TEST_CASE("headers: more work reorganizes and equal work keeps the first seen") {
    header_chain chain(regtest());
    const std::uint32_t t = regtest_genesis_time();
    const auto a = mine_chain(regtest().genesis_hash, t, 5, 1);
    REQUIRE(chain.add_all(a, late));
    // A branch from height 2 of the same length: no switch.
    auto b = mine_chain(a[1].hash(), t + 1200, 3, 2);
    auto r = chain.add_all(b, late);
    REQUIRE(r);
    CHECK_FALSE(r->tip);
    CHECK(chain.tip().hash == a.back().hash());
    // One more header on the branch: it has more work now.
    const block_header extra = mine(b.back().hash(), t + 5000, 2);
    r = chain.add(extra, late);
    REQUIRE(r);
    REQUIRE(r->tip);
    CHECK(r->tip->reorg());
    CHECK(r->tip->fork_height == 2);
    CHECK(r->tip->fork_point == a[1].hash());
    CHECK(r->tip->old_height == 5);
    CHECK(r->tip->new_height == 6);
    CHECK(chain.at_height(3)->hash == b[0].hash());
    CHECK(chain.at_height(6)->hash == extra.hash());
}

TEST_CASE("headers: invalid headers are refused with a reason and poison their descendants") {
    header_chain chain(regtest());
    const std::uint32_t t = regtest_genesis_time();
    const auto hs = mine_chain(regtest().genesis_hash, t, 12);
    REQUIRE(chain.add_all(hs, late));

    block_header bad_bits = hs.back();
    bad_bits.prev_block = hs.back().hash();
    bad_bits.bits = 0x1f7fffff;
    bad_bits.nonce = 0;
    while (!check_proof_of_work(bad_bits.hash(), bad_bits.bits, regtest().pow_limit)) ++bad_bits.nonce;
    CHECK(chain.add(bad_bits, late).error() == p2p_errc::header_bad_diffbits);
    CHECK(is_punishable(make_error_code(p2p_errc::header_bad_diffbits)));
    const block_header child = mine(bad_bits.hash(), t + 50000);
    CHECK(chain.add(child, late).error() == p2p_errc::header_invalid_parent);

    block_header high = mine(hs.back().hash(), t + 600 * 13);
    while (check_proof_of_work(high.hash(), high.bits, regtest().pow_limit)) ++high.nonce;
    CHECK(chain.add(high, late).error() == p2p_errc::header_high_hash);

    // Median of the last 11 is the time of height 7 (600 s steps).
    const std::uint32_t mtp = t + 600 * 7;
    CHECK(chain.add(mine(hs.back().hash(), mtp), late).error() == p2p_errc::header_time_too_old);
    CHECK(chain.add(mine(hs.back().hash(), mtp + 1), late));

    // Too new is not remembered: the same header is accepted once the clock catches up.
    const block_header future = mine(hs.back().hash(), t + 100000, 3);
    CHECK(chain.add(future, std::int64_t(future.time) - 7201).error() == p2p_errc::header_time_too_new);
    CHECK_FALSE(is_punishable(make_error_code(p2p_errc::header_time_too_new)));
    CHECK(chain.add(future, std::int64_t(future.time) - 7200));

    // Not continuous.
    std::vector<block_header> gap = {hs[0], hs[2]};
    CHECK(header_chain(regtest()).add_all(gap, late).error() == p2p_errc::header_not_continuous);
    // Ravencoin proof of work is not sha256d.
    header_chain rvn(params(network::ravencoin_regtest));
    block_header r = hs[0];
    r.prev_block = params(network::ravencoin_regtest).genesis_hash;
    CHECK(rvn.add(r, late).error() == p2p_errc::header_unsupported_pow);
}

TEST_CASE("headers: versions below 4 are obsolete from the BIP34 BIP66 and BIP65 heights") {
    // Regtest activates all three at height 1 (Core chainparams): versions 1-3 are
    // bad-version there, 4 and the version-bits versions pass.
    REQUIRE(regtest().bip34_height == 1);
    REQUIRE(regtest().bip65_height == 1);
    const std::uint32_t t = regtest_genesis_time() + 600;
    auto with_version = [&](std::int32_t v) {
        block_header h = mine(regtest().genesis_hash, t);
        h.version = v;
        h.nonce = 0;
        while (!check_proof_of_work(h.hash(), h.bits, regtest().pow_limit)) ++h.nonce;
        return h;
    };
    for (std::int32_t v : {0, 1, 2, 3}) {
        header_chain chain(regtest());
        CAPTURE(v);
        CHECK(chain.add(with_version(v), late).error() == p2p_errc::header_bad_version);
        CHECK(is_punishable(make_error_code(p2p_errc::header_bad_version)));
    }
    for (std::int32_t v : {4, 0x20000000}) {
        header_chain chain(regtest());
        CAPTURE(v);
        CHECK(chain.add(with_version(v), late));
    }
}

TEST_CASE("headers: unconnected headers wait for their parent within a bound") {
    header_chain chain(regtest());
    const auto hs = mine_chain(regtest().genesis_hash, regtest_genesis_time(), 3);
    CHECK(chain.add(hs[2], late)->status == add_status::unconnected);
    CHECK(chain.add(hs[1], late)->status == add_status::unconnected);
    CHECK(test::access<header_chain>::unconnected_count(chain) == 2);
    auto r = chain.add(hs[0], late);
    REQUIRE(r);
    CHECK(r->added == 3);
    REQUIRE(r->tip);
    CHECK(r->tip->new_height == 3);
    CHECK(test::access<header_chain>::unconnected_count(chain) == 0);

    const std::uint64_t seed = test::test_seed();
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    for (std::size_t i = 0; i < max_unconnected_headers * 4; ++i) {
        block_header junk;
        for (auto& b : junk.prev_block) b = static_cast<std::uint8_t>(rng());
        junk.nonce = static_cast<std::uint32_t>(rng());
        CHECK(chain.add(junk, late)->status == add_status::unconnected);
    }
    CHECK(test::access<header_chain>::unconnected_count(chain) == max_unconnected_headers);
    CHECK(chain.size() == 4);
}

TEST_CASE("headers: an anchored chain checks what it can and falls back otherwise") {
    const chain_params& c = params(network::bitcoin_mainnet);
    const block_header anchor = real_header("413567");
    header_chain chain(c, anchor, 413567, uint256(1) << 84);
    CHECK(chain.tip().height == 413567);
    CHECK(chain.locator() == std::vector<hash256>{anchor.hash()});
    // A header on the anchor with the anchor's bits but no valid proof of work.
    block_header next;
    next.version = 4;
    next.prev_block = anchor.hash();
    next.time = anchor.time + 600;
    next.bits = anchor.bits;
    CHECK(chain.add(next, late).error() == p2p_errc::header_high_hash);
}

TEST_CASE("headers: below an anchor the median-time-past rule waits for eleven held headers") {
    // Blocks mined in one second share a timestamp (bcoin's generatetoaddress): the true
    // median time past is not above them, but the median of a cut-short window would be.
    const block_header anchor = test::mine_regtest_header(regtest().genesis_hash, 1'700'000'000);
    header_chain chain(regtest(), anchor, 500, uint256(1002));
    hash256 prev = anchor.hash();
    for (int i = 0; i < 10; ++i) {
        const block_header h = test::mine_regtest_header(prev, anchor.time);
        auto r = chain.add(h, late);
        REQUIRE_MESSAGE(r, "header ", i, ": ", r.error().message());
        prev = h.hash();
    }
    // Eleven held now (anchor included): the rule applies, equal times are too old.
    const block_header same = test::mine_regtest_header(prev, anchor.time);
    auto r = chain.add(same, late);
    REQUIRE_FALSE(r);
    CHECK(r.error() == p2p_errc::header_time_too_old);
    CHECK(chain.add(test::mine_regtest_header(prev, anchor.time + 1), late));
    CHECK(chain.tip().height == 511);
    // At genesis the short window is Core's own rule: an equal time is refused at once.
    header_chain from_genesis(regtest());
    const block_header g1 = test::mine_regtest_header(regtest().genesis_hash, regtest_genesis_time());
    CHECK(from_genesis.add(g1, late).error() == p2p_errc::header_time_too_old);
}

TEST_CASE("headers: the store replays on restart and tolerates a corrupt tail") {
    const auto dir = temp_dir("store");
    const auto hs = mine_chain(regtest().genesis_hash, regtest_genesis_time(), 30);
    {
        header_chain chain(regtest());
        REQUIRE_FALSE(chain.open_store(dir));
        REQUIRE(chain.add_all(hs, late));
    }
    const auto file = dir / "headers-bitcoin-regtest.dat";
    const auto full_size = std::filesystem::file_size(file);
    CHECK(full_size == 40 + 30 * 80);
    {
        header_chain chain(regtest());
        REQUIRE_FALSE(chain.open_store(dir));
        CHECK(chain.tip().height == 30);
        CHECK(chain.tip().hash == hs.back().hash());
    }
    // A torn record is cut off.
    {
        std::ofstream out(file, std::ios::binary | std::ios::app);
        out.write("garbage-partial-record", 22);
    }
    {
        header_chain chain(regtest());
        REQUIRE_FALSE(chain.open_store(dir));
        CHECK(chain.tip().height == 30);
        CHECK(std::filesystem::file_size(file) == full_size);
        // Appending goes on after the good records.
        REQUIRE(chain.add(mine(hs.back().hash(), hs.back().time + 600), late));
    }
    CHECK(std::filesystem::file_size(file) == full_size + 80);
    // A corrupted record 21 (height 21) and everything after it are dropped.
    {
        std::fstream io(file, std::ios::binary | std::ios::in | std::ios::out);
        io.seekp(40 + 20 * 80 + 76);
        io.put('\x55');
    }
    {
        header_chain chain(regtest());
        REQUIRE_FALSE(chain.open_store(dir));
        CHECK(chain.tip().height == 20);
        CHECK(std::filesystem::file_size(file) == 40 + 20 * 80);
    }
    // Another chain's file is replaced, not replayed.
    {
        header_chain other(params(network::bitcoin_testnet3));
        std::filesystem::copy_file(file, dir / "headers-bitcoin-testnet3.dat");
        REQUIRE_FALSE(other.open_store(dir));
        CHECK(other.tip().height == 0);
        CHECK(std::filesystem::file_size(dir / "headers-bitcoin-testnet3.dat") == 40);
    }
    std::filesystem::remove_all(dir);
}
