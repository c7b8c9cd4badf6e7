// `solobridge bench sha256d-cpu`: headers hashed per second on one core, for every SHA-256
// implementation this CPU supports. Prints one figure per line; never fails on speed.
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "commands.hpp"
#include "sb/core/bytes.hpp"
#include "sb/core/sha256.hpp"

namespace sb::app {
namespace {

int bench_sha256d_cpu(double seconds) {
    using clock = std::chrono::steady_clock;
    const sha256_impl original = sha256_active();
    std::array<std::uint8_t, 80> header{};
    for (std::size_t i = 0; i < header.size(); ++i) header[i] = static_cast<std::uint8_t>(i * 7 + 1);

    std::printf("# sha256d of 80-byte headers, one thread; active by default: %s\n",
                std::string(to_string(original)).c_str());
    for (const sha256_impl impl : sha256_supported()) {
        if (!sha256_force(impl)) {
            std::printf("sha256d-cpu %-8s refused (self-test failed)\n", std::string(to_string(impl)).c_str());
            continue;
        }
        std::uint32_t sink = 0;
        std::uint64_t n = 0;
        // Warm up, then measure in batches so the clock is read rarely.
        for (int i = 0; i < 10000; ++i) sink ^= sha256d_header(header.data())[0];
        const auto start = clock::now();
        const auto stop = start + std::chrono::duration<double>(seconds);
        auto now = start;
        do {
            for (int i = 0; i < 4096; ++i) {
                store_le32(header.data() + 76, static_cast<std::uint32_t>(n + i));
                sink ^= sha256d_header(header.data())[31];
            }
            n += 4096;
            now = clock::now();
        } while (now < stop);
        const double secs = std::chrono::duration<double>(now - start).count();
        std::printf("sha256d-cpu %-8s %8.3f M headers/s per core  (%llu in %.2f s, sink %u)\n",
                    std::string(to_string(impl)).c_str(), static_cast<double>(n) / secs / 1e6,
                    static_cast<unsigned long long>(n), secs, sink & 1);

        // Merkle nodes: 64-byte inputs, through the multi-buffer path where one exists.
        std::array<std::uint8_t, 64 * 64> nodes{};
        std::array<std::uint8_t, 32 * 64> out{};
        for (std::size_t i = 0; i < nodes.size(); ++i) nodes[i] = static_cast<std::uint8_t>(i);
        std::uint64_t m = 0;
        const auto mstart = clock::now();
        const auto mstop = mstart + std::chrono::duration<double>(seconds);
        do {
            for (int i = 0; i < 64; ++i) {
                sha256d64(out.data(), nodes.data(), 64);
                nodes[0] ^= out[5];
            }
            m += 64 * 64;
            now = clock::now();
        } while (now < mstop);
        const double msecs = std::chrono::duration<double>(now - mstart).count();
        std::printf("sha256d64   %-8s %8.3f M nodes/s per core\n", std::string(to_string(impl)).c_str(),
                    static_cast<double>(m) / msecs / 1e6);
    }
    sha256_force(original);
    return exit_ok;
}

}  // namespace

int cmd_bench(args a) {
    if (a.empty()) {
        std::fputs("usage: solobridge bench sha256d-cpu [--seconds S]\n", stderr);
        return exit_usage;
    }
    double seconds = 2.0;
    for (std::size_t i = 1; i < a.size(); ++i) {
        if (a[i] == "--seconds" && i + 1 < a.size()) {
            seconds = std::strtod(std::string(a[++i]).c_str(), nullptr);
            if (!(seconds > 0.0 && seconds <= 600.0)) {
                std::fputs("solobridge bench: --seconds must be in (0, 600]\n", stderr);
                return exit_usage;
            }
        } else {
            std::fprintf(stderr, "solobridge bench: unknown option '%.*s'\n", static_cast<int>(a[i].size()),
                         a[i].data());
            return exit_usage;
        }
    }
    if (a[0] == "sha256d-cpu") return bench_sha256d_cpu(seconds);
    std::fprintf(stderr, "solobridge bench: unknown benchmark '%.*s' (known: sha256d-cpu)\n",
                 static_cast<int>(a[0].size()), a[0].data());
    return exit_usage;
}

}  // namespace sb::app
