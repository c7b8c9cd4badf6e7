// The launch plan of a KAWPOW dataset generation (gpu/src/kawpow_internal.hpp, used by the
// OpenCL and CUDA backends): every item once and in order, progress at most every 1/64 and
// ending at 1, launches shortened when slow, and abort seen before the next launch. Fast and
// slow launches are simulated with sleeps; nothing asserts how long anything took.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>
#include <thread>
#include <vector>

#include "kawpow_internal.hpp"

using sb::gpu::detail::dag_schedule;
using sb::gpu::detail::kawpow_dag_progress_steps;

TEST_CASE("kawpow dag schedule: fast launches cover every item once and in order with progress per 1/64") {
    const std::uint64_t items = 1'000'003, group = 128;
    std::atomic<bool> abort{false};
    std::vector<double> reports;
    const sb::pow::ethash::progress_fn progress = [&](std::string_view stage, double f) {
        CHECK(stage == "dag");
        reports.push_back(f);
    };
    dag_schedule plan(items, group, progress, abort);
    std::uint64_t expect = 0, first = 0, count = 0, launches = 0, largest = 0;
    while (plan.next(first, count)) {
        CHECK(first == expect);
        CHECK(count > 0);
        CHECK((count % group == 0 || first + count == items));
        expect += count;
        largest = std::max(largest, count);
        ++launches;
        plan.finished();
    }
    CHECK(expect == items);
    CHECK_FALSE(plan.aborted());
    // Launches grow from one group (no sleep here: each is "fast") up to one progress step.
    CHECK(largest <= (items / kawpow_dag_progress_steps + group - 1) / group * group);
    CHECK(launches < 200);
    REQUIRE(!reports.empty());
    CHECK(reports.size() <= kawpow_dag_progress_steps + 1);
    CHECK(reports.back() == 1.0);
    for (std::size_t i = 1; i < reports.size(); ++i) CHECK(reports[i] > reports[i - 1]);
}

TEST_CASE("kawpow dag schedule: a slow launch shortens the next ones and abort stops before the next launch") {
    const std::uint64_t items = 64 * 1024, group = 64;
    std::atomic<bool> abort{false};
    dag_schedule plan(items, group, {}, abort);
    std::uint64_t first = 0, count = 0;
    // Fast launches first: they grow.
    for (int i = 0; i < 4; ++i) {
        REQUIRE(plan.next(first, count));
        plan.finished();
    }
    REQUIRE(plan.next(first, count));
    const std::uint64_t grown = count;
    CHECK(grown > group);
    // This one "takes" longer than the limit: the next launch is smaller (one group at least).
    std::this_thread::sleep_for(std::chrono::duration<double>(sb::gpu::kawpow_max_generation_launch_seconds * 2));
    plan.finished();
    REQUIRE(plan.next(first, count));
    CHECK(count < grown);
    CHECK(count >= group);
    CHECK(count % group == 0);
    plan.finished();
    abort = true;
    CHECK(plan.aborted());
    CHECK_FALSE(plan.next(first, count));
}
