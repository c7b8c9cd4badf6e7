// Hashrate estimators on known share streams, and the odds arithmetic (issue 14 "Tests").
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "seed.hpp"
#include "stats/estimator.hpp"

using namespace sb::bridge::stats;

namespace {

constexpr std::size_t m1 = static_cast<std::size_t>(window::m1);
constexpr std::size_t m5 = static_cast<std::size_t>(window::m5);
constexpr std::size_t h1 = static_cast<std::size_t>(window::h1);
constexpr std::size_t d1 = static_cast<std::size_t>(window::d1);
constexpr std::size_t d7 = static_cast<std::size_t>(window::d7);

}  // namespace

TEST_CASE("estimator: a steady stream reads its rate in every window once the window has passed") {
    // Difficulty 64 every 2 s = 32 difficulty-1 shares a second.
    const double t0 = 1'700'000'000;
    decayed_rates r(t0);
    double t = t0;
    for (int i = 0; i < 8 * 86400 / 2; ++i) {
        t += 2;
        r.add(64, t);
    }
    const auto h = r.at(t + 1);
    const double expected = 32 * hashes_per_difficulty;
    // Just after a share the 1 m sum stands ~1/60 above the mean of its saw-tooth.
    CHECK(h[m1] == doctest::Approx(expected).epsilon(0.03));
    CHECK(h[m5] == doctest::Approx(expected).epsilon(0.01));
    CHECK(h[h1] == doctest::Approx(expected).epsilon(0.01));
    CHECK(h[d1] == doctest::Approx(expected).epsilon(0.01));
    CHECK(h[d7] == doctest::Approx(expected).epsilon(0.01));
}

TEST_CASE("estimator: a young stream is not read low in the long windows (time bias removed)") {
    const double t0 = 1'700'000'000;
    decayed_rates r(t0);
    for (int i = 1; i <= 60; ++i) r.add(10, t0 + i);  // 10 per second for one minute
    const auto h = r.at(t0 + 60);
    const double expected = 10 * hashes_per_difficulty;
    CHECK(h[h1] == doctest::Approx(expected).epsilon(0.02));
    CHECK(h[d1] == doctest::Approx(expected).epsilon(0.02));
    CHECK(h[d7] == doctest::Approx(expected).epsilon(0.02));
}

TEST_CASE("estimator: a stopped miner decays to zero in the short windows first") {
    const double t0 = 1'700'000'000;
    decayed_rates r(t0);
    double t = t0;
    for (int i = 0; i < 12 * 3600; ++i) r.add(1, t += 1);  // long enough that no young-stream bias is left
    const auto before = r.at(t);
    const auto after = r.at(t + 600);  // ten minutes without a share
    CHECK(after[m1] < before[m1] * 1e-4);
    CHECK(after[m5] < before[m5] * 0.14);
    CHECK(after[h1] == doctest::Approx(before[h1] * std::exp(-600.0 / 3600)).epsilon(0.01));
    CHECK(r.at(t0 - 10)[m1] >= 0);  // a clock before the stream reads no negative rate
}

TEST_CASE("estimator: a Poisson stream of shares is estimated within its noise") {
    auto rng = sb::test::seeded_rng(14);
    const double rate = 0.5;  // shares a second
    std::exponential_distribution<double> gap(rate);
    const double t0 = 1'700'000'000;
    decayed_rates r(t0);
    double t = t0;
    while (t < t0 + 10 * 3600) r.add(256, t += gap(rng));
    const auto h = r.at(t);
    const double expected = rate * 256 * hashes_per_difficulty;
    // 1 h window: ~1800 shares weigh in, relative noise ~ 1/sqrt(2 · 1800) ≈ 1.7 %.
    CHECK(h[h1] == doctest::Approx(expected).epsilon(0.1));
    CHECK(h[m5] == doctest::Approx(expected).epsilon(0.35));
}

TEST_CASE("estimator: a stream opened by its first share is not read high while it is young") {
    // A worker is first seen by its first share: the stream starts at that share. Over many
    // Poisson streams the mean reading at a young age is the true rate; counting the opening
    // share would read (n + 1) / n high: +20 % at 10 s with half a share a second.
    auto rng = sb::test::seeded_rng(1414);
    const double rate = 0.5;  // shares a second
    std::exponential_distribution<double> gap(rate);
    const double t0 = 1'700'000'000;
    const double expected = rate * 64 * hashes_per_difficulty;
    for (const double age : {10.0, 30.0, 120.0}) {
        CAPTURE(age);
        constexpr int streams = 4000;
        double sum_m1 = 0, sum_h1 = 0;
        for (int k = 0; k < streams; ++k) {
            decayed_rates r(t0);
            r.add(64, t0);  // the opening share
            for (double t = t0 + gap(rng); t <= t0 + age; t += gap(rng)) r.add(64, t);
            const auto h = r.at(t0 + age);
            sum_m1 += h[m1];
            sum_h1 += h[h1];
        }
        // The mean of 4000 streams: relative noise at most 1/sqrt(4000 · 0.5 · 10) ≈ 0.7 %.
        CHECK(sum_m1 / streams == doctest::Approx(expected).epsilon(0.04));
        CHECK(sum_h1 / streams == doctest::Approx(expected).epsilon(0.04));
    }
    // The opening share alone is no rate yet; the second one gives one.
    decayed_rates r(t0);
    r.add(64, t0);
    CHECK(r.at(t0 + 30)[m1] == 0);
    r.add(64, t0 + 2);
    CHECK(r.at(t0 + 2)[m1] > 0);
    // A stream whose start came before its first share (a chain total started with the
    // bridge) counts that share.
    decayed_rates chain(t0);
    chain.add(64, t0 + 1);
    CHECK(chain.at(t0 + 30)[m1] > 0);
}

TEST_CASE("estimator: merged streams read as their sum, bad difficulties are ignored") {
    const double t0 = 1'700'000'000;
    decayed_rates a(t0), b(t0), sum(t0);
    for (int i = 1; i <= 3600; ++i) {
        a.add(2, t0 + i);
        b.add(6, t0 + i);
    }
    sum.merge(a, t0 + 3600);
    sum.merge(b, t0 + 3600);
    CHECK(sum.at(t0 + 3600)[m5] == doctest::Approx(8 * hashes_per_difficulty).epsilon(0.02));
    decayed_rates c(t0);
    c.add(-1, t0 + 1);
    c.add(std::nan(""), t0 + 1);
    c.add(INFINITY, t0 + 1);
    c.add(0, t0 + 1);
    CHECK(c.at(t0 + 10)[m1] == 0);
}

TEST_CASE("odds: expected time to a block and the chance within a period (Poisson)") {
    // 100 TH/s against difficulty 1e14: 1e14 · 4295032833 / 1e14 s.
    CHECK(expected_block_seconds(1e14, 1e14) == doctest::Approx(hashes_per_difficulty));
    // Expected time one day: the chance within a day is 1 - 1/e.
    const double h = 1e12;
    const double d = day_s * h / hashes_per_difficulty;
    const block_odds o = odds_for(h, d);
    CHECK(o.expected_s == doctest::Approx(day_s));
    CHECK(o.day == doctest::Approx(1 - std::exp(-1.0)));
    CHECK(o.week == doctest::Approx(1 - std::exp(-7.0)));
    CHECK(o.month == doctest::Approx(1 - std::exp(-30.436875)));
    CHECK(o.year == doctest::Approx(1.0));
    // A 500 GH/s Bitaxe against a 1e14 network keeps its tiny odds exactly (no 1 - exp
    // cancellation): λt = 86400 · 5e11 / (1e14 · 4295032833).
    const block_odds tiny = odds_for(5e11, 1e14);
    const double lt = day_s * 5e11 / (1e14 * hashes_per_difficulty);
    CHECK(tiny.day == doctest::Approx(lt).epsilon(1e-9));
    CHECK(odds_for(1, 1e30).day > 0);
    // Nothing mining, or no difficulty yet: never, and no chance.
    for (const block_odds& z : {odds_for(0, 1e14), odds_for(1e12, 0), odds_for(std::nan(""), 1), odds_for(-5, 1)}) {
        CHECK(std::isinf(z.expected_s));
        CHECK(z.day == 0);
        CHECK(z.year == 0);
    }
}
