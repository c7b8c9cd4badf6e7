#include "seed.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace sb::test {

std::uint64_t test_seed() {
    static const std::uint64_t seed = [] {
        std::uint64_t s = 0;
        if (const char* env = std::getenv("SB_TEST_SEED"); env && *env) {
            s = std::strtoull(env, nullptr, 0);
        } else {
            s = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
        }
        std::fprintf(stderr, "random tests: SB_TEST_SEED=%llu\n", static_cast<unsigned long long>(s));
        return s;
    }();
    return seed;
}

std::mt19937_64 seeded_rng(std::uint64_t salt) {
    std::seed_seq seq{test_seed(), salt};
    return std::mt19937_64(seq);
}

}  // namespace sb::test
