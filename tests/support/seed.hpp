// Seeded randomness for property tests: the seed comes from SB_TEST_SEED when set,
// otherwise from the clock, and is printed so that a failure can be replayed.
#pragma once

#include <cstdint>
#include <random>

namespace sb::test {

// The run's seed (printed once to stderr on first use).
std::uint64_t test_seed();
// A generator seeded from test_seed() and a per-test salt.
std::mt19937_64 seeded_rng(std::uint64_t salt = 0);

}  // namespace sb::test
