// Per-session vardiff on a fake clock (stratum.md §0.5, §2.4, §2.7).
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>

#include "stratum/vardiff.hpp"

using namespace sb::bridge::stratum;
using namespace std::chrono_literals;

namespace {

sb::config::difficulty_settings settings(double initial, double min = 0.001, double max = 1e15, double target = 10) {
    sb::config::difficulty_settings s;
    s.initial = initial;
    s.min = min;
    s.max = max;
    s.target_share_seconds = target;
    return s;
}

bool is_power_of_two(double d) { return std::exp2(std::round(std::log2(d))) == d; }

constexpr double no_network = 0;

}  // namespace

TEST_CASE("vardiff: starts at the initial difficulty clamped to the limits") {
    const vardiff::clock::time_point t0{};
    CHECK(vardiff(settings(1024), t0).current() == 1024);
    CHECK(vardiff(settings(1024, 0.001, 256), t0).current() == 256);
    CHECK(vardiff(settings(0.0001, 0.01), t0).current() == 0.01);
}

TEST_CASE("vardiff: shares at the target rate keep the difficulty") {
    vardiff::clock::time_point t{};
    vardiff v(settings(64), t);
    for (int round = 0; round < 5; ++round) {
        for (int i = 0; i < 6; ++i) {
            t += 10s;
            v.on_share(t, v.current());
        }
        CHECK_FALSE(v.retarget(t, no_network));
    }
    CHECK(v.current() == 64);
}

TEST_CASE("vardiff: shares far too fast jump at once to a power of two") {
    vardiff::clock::time_point t{};
    vardiff v(settings(1), t);
    // 100 shares in 1 s at difficulty 1: one per 10 s needs about 1000 → 1024.
    for (int i = 0; i < 100; ++i) v.on_share(t + 10ms * i, v.current());
    t += 1s;
    auto d = v.retarget(t, no_network);
    REQUIRE(d);
    CHECK(*d == 1024);
    CHECK(v.current() == 1024);
}

TEST_CASE("vardiff: a few fast shares are enough for the fast path") {
    vardiff::clock::time_point t{};
    vardiff v(settings(16), t);
    for (int i = 0; i < 3; ++i) v.on_share(t += 100ms, v.current());
    auto d = v.retarget(t, no_network);
    REQUIRE(d);
    CHECK(*d > 16);
    CHECK(is_power_of_two(*d));
}

TEST_CASE("vardiff: too few shares wait for more data") {
    vardiff::clock::time_point t{};
    vardiff v(settings(16), t);
    v.on_share(t += 5s, v.current());
    v.on_share(t += 5s, v.current());
    CHECK_FALSE(v.retarget(t, no_network));  // 2 shares in 10 s: neither fast nor enough
}

TEST_CASE("vardiff: difficulty decays when no share arrives and goes below 1") {
    vardiff::clock::time_point t{};
    vardiff v(settings(1024, 0.0001), t);
    CHECK_FALSE(v.retarget(t + 20s, no_network));  // under idle_periods: too early to judge
    double last = v.current();
    for (int i = 0; i < 40 && v.current() > 0.001; ++i) {
        t += 30s;
        if (auto d = v.retarget(t, no_network)) {
            CHECK(*d < last);
            CHECK(is_power_of_two(*d));
            last = *d;
        }
    }
    CHECK(v.current() < 1);
    CHECK(v.current() >= 0.0001);
}

TEST_CASE("vardiff: clamps to min max and the network difficulty") {
    vardiff::clock::time_point t{};
    vardiff up(settings(1, 0.5, 8), t);
    for (int i = 0; i < 1000; ++i) up.on_share(t, up.current());
    auto d = up.retarget(t + 1s, no_network);
    REQUIRE(d);
    CHECK(*d == 8);

    vardiff net(settings(1), t);
    for (int i = 0; i < 1000; ++i) net.on_share(t, net.current());
    d = net.retarget(t + 1s, 100);
    REQUIRE(d);
    CHECK(*d == 100);  // never above the network: every share could be a block

    vardiff down(settings(1, 0.25), t);
    d = down.retarget(t + 1000s, no_network);
    REQUIRE(d);
    CHECK(*d == 0.25);
}

TEST_CASE("vardiff: a suggestion applies at the next retarget and restarts the window") {
    vardiff::clock::time_point t{};
    vardiff v(settings(1024, 1e-6), t);
    v.suggest(0.00015, t);  // NerdMiner's default
    CHECK(v.current() == 1024);
    auto d = v.retarget(t, no_network);
    REQUIRE(d);
    CHECK(*d == doctest::Approx(0.00015));
    CHECK_FALSE(v.retarget(t, no_network));
    v.suggest(-1, t);
    v.suggest(std::nan(""), t);
    CHECK_FALSE(v.retarget(t, no_network));
}

TEST_CASE("vardiff: the configure minimum raises the floor") {
    vardiff::clock::time_point t{};
    vardiff v(settings(64), t);
    v.set_floor(2048);
    auto d = v.retarget(t + 100s, no_network);
    REQUIRE(d);
    CHECK(*d == 2048);
    CHECK_FALSE(v.retarget(t + 1000s, no_network));
}

TEST_CASE("vardiff: a job's difficulty is never above its network difficulty, even below min") {
    const vardiff::clock::time_point t0{};
    const vardiff v(settings(1024, 0.001), t0);
    CHECK(v.for_network(1e6) == 1024);
    CHECK(v.for_network(1024) == 1024);
    CHECK(v.for_network(100) == 100);
    // Bitcoin regtest (bits 207fffff): far below difficulty.min.
    CHECK(v.for_network(4.6565423739069247e-10) == 4.6565423739069247e-10);
    CHECK(v.for_network(0) == 1024);  // no network difficulty known: no clamp
    CHECK(v.current() == 1024);
}

TEST_CASE("vardiff: an easy job neither lowers the own difficulty nor passes its shares for a higher hashrate") {
    vardiff::clock::time_point t{};
    vardiff v(settings(1024), t);
    // Testnet's 20-minute rule: jobs at difficulty 1 for a while. The miner's rate at
    // 1024 is one share per 10 s, so at difficulty 1 it sends ~102 per second.
    for (int round = 0; round < 5; ++round) {
        CHECK_FALSE(v.retarget(t, 1));
        for (int i = 0; i < 1024; ++i) v.on_share(t, v.for_network(1));
        t += 10s;
    }
    CHECK_FALSE(v.retarget(t, 1));
    CHECK(v.current() == 1024);
    // The next hard job gets it back.
    CHECK_FALSE(v.retarget(t, 1e9));
    CHECK(v.for_network(1e9) == 1024);
}

TEST_CASE("vardiff: a move up from the share rate stops at the network difficulty") {
    vardiff::clock::time_point t{};
    vardiff v(settings(0.001, 1e-12), t);
    // 1000 shares in 1 s at 0.001 call for 8, but the network difficulty is 0.5.
    for (int i = 0; i < 1000; ++i) v.on_share(t, v.current());
    auto d = v.retarget(t + 1s, 0.5);
    REQUIRE(d);
    CHECK(*d == 0.5);
    // A suggestion is not capped: it is the miner's own difficulty, which for_network
    // clamps per job (testnet: the next hard job gets it).
    v.suggest(4096, t + 1s);
    d = v.retarget(t + 1s, 0.5);
    REQUIRE(d);
    CHECK(*d == 4096);
    CHECK(v.for_network(0.5) == 0.5);
    CHECK(v.for_network(1e6) == 4096);
}
