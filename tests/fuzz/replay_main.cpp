// Replays a fuzz target's seed corpus without libFuzzer, then feeds it seeded mutations
// of those seeds (bit flips, truncations, insertions, splices). Exit 0 when nothing
// crashed; sanitizer builds turn memory errors into failures.
//   sb_fuzz_<name> DIR_OR_FILE...     SB_FUZZ_ITERATIONS (default 20000), SB_TEST_SEED
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

using input = std::vector<std::uint8_t>;

void load(const std::filesystem::path& p, std::vector<input>& out) {
    if (std::filesystem::is_directory(p)) {
        for (const auto& e : std::filesystem::directory_iterator(p)) load(e.path(), out);
    } else if (std::filesystem::is_regular_file(p)) {
        std::ifstream in(p, std::ios::binary);
        out.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
}

void run(const input& in) {
    // A copy in an exactly sized heap buffer, so ASan sees reads past the end.
    auto* buf = static_cast<std::uint8_t*>(std::malloc(in.empty() ? 1 : in.size()));
    if (!in.empty()) std::copy(in.begin(), in.end(), buf);
    LLVMFuzzerTestOneInput(buf, in.size());
    std::free(buf);
}

input mutate(const std::vector<input>& seeds, std::mt19937_64& rng) {
    input x = seeds[rng() % seeds.size()];
    const int rounds = 1 + static_cast<int>(rng() % 4);
    for (int r = 0; r < rounds; ++r) {
        switch (rng() % 6) {
        case 0:  // flip a bit
            if (!x.empty()) x[rng() % x.size()] ^= std::uint8_t(1u << (rng() % 8));
            break;
        case 1:  // truncate
            if (!x.empty()) x.resize(rng() % x.size());
            break;
        case 2: {  // insert random bytes
            const std::size_t pos = x.empty() ? 0 : rng() % (x.size() + 1);
            const std::size_t n = 1 + rng() % 8;
            for (std::size_t i = 0; i < n; ++i) x.insert(x.begin() + static_cast<long>(pos), std::uint8_t(rng()));
            break;
        }
        case 3:  // set a byte to an interesting value
            if (!x.empty()) {
                static constexpr std::uint8_t v[] = {0x00, 0xff, 0xfd, 0xfe, 0x7f, 0x80, 0x01};
                x[rng() % x.size()] = v[rng() % sizeof v];
            }
            break;
        case 4: {  // splice with another seed
            const input& y = seeds[rng() % seeds.size()];
            if (!y.empty()) {
                const std::size_t cut = x.empty() ? 0 : rng() % x.size();
                x.resize(cut);
                x.insert(x.end(), y.begin() + static_cast<long>(rng() % y.size()), y.end());
            }
            break;
        }
        default:  // duplicate a chunk
            if (x.size() > 1 && x.size() < (1u << 20)) {
                const std::size_t a = rng() % x.size();
                const std::size_t n = 1 + rng() % (x.size() - a);
                input chunk(x.begin() + static_cast<long>(a), x.begin() + static_cast<long>(a + n));
                x.insert(x.begin() + static_cast<long>(a), chunk.begin(), chunk.end());
            }
            break;
        }
    }
    return x;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<input> seeds;
    for (int i = 1; i < argc; ++i) load(argv[i], seeds);
    seeds.emplace_back();  // the empty input is always a case
    for (const auto& s : seeds) run(s);

    long iterations = 20000;
    if (const char* env = std::getenv("SB_FUZZ_ITERATIONS")) iterations = std::strtol(env, nullptr, 10);
    std::uint64_t seed = 1;
    if (const char* env = std::getenv("SB_TEST_SEED")) seed = std::strtoull(env, nullptr, 0);
    std::mt19937_64 rng(seed);
    for (long i = 0; i < iterations; ++i) run(mutate(seeds, rng));
    std::printf("replayed %zu seeds and %ld mutations (SB_TEST_SEED=%llu)\n", seeds.size(), iterations,
                static_cast<unsigned long long>(seed));
    return 0;
}
