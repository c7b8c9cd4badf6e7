// `solobridge bench sha256d-cpu`: headers hashed per second on one core, for every SHA-256
// implementation this CPU supports. Prints one figure per line; never fails on speed.
// `solobridge bench sha256d --device ID`: a mining device's search rate (below).
// `solobridge bench kawpow --device ID [--epoch E]`: the device's dataset generation time and
// KAWPOW search rate (below).
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "commands.hpp"
#include "sb/core/bytes.hpp"
#include "sb/core/sha256.hpp"
#include "sb/gpu/device.hpp"
#include "sb/gpu/kawpow_device.hpp"
#include "sb/pow/ethash.hpp"
#include "sb/pow/kawpow.hpp"

namespace sb::app {
namespace {

constexpr int mainnet_epoch = 590;  // height ~4.43 M, mid-2026 (gpu.md §2.6)

struct rate {
    double mean_per_s = 0;  // operations over the whole run
    double best_per_s = 0;  // the fastest single batch
    double cpu_per_s = 0;   // operations per second of this process's CPU time
    std::uint64_t ops = 0;
    double secs = 0;
};

// Runs batch() (which does ops_per_batch operations) until `seconds` have passed. On a
// shared machine the wall-clock mean counts time this thread spent waiting for a CPU; the
// rate per CPU-second and the best batch (about a millisecond) are less disturbed by it.
template <class Batch>
rate measure(double seconds, std::uint64_t ops_per_batch, Batch batch) {
    using clock = std::chrono::steady_clock;
    for (int i = 0; i < 8; ++i) batch();  // warm up caches and clocks
    rate r;
    const std::clock_t cpu_start = std::clock();
    const auto start = clock::now();
    const auto stop = start + std::chrono::duration<double>(seconds);
    auto now = start;
    do {
        const auto before = now;
        batch();
        r.ops += ops_per_batch;
        now = clock::now();
        const double dt = std::chrono::duration<double>(now - before).count();
        if (dt > 0) r.best_per_s = std::max(r.best_per_s, static_cast<double>(ops_per_batch) / dt);
    } while (now < stop);
    r.secs = std::chrono::duration<double>(now - start).count();
    r.mean_per_s = static_cast<double>(r.ops) / r.secs;
    const double cpu_secs = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
    if (cpu_secs > 0) r.cpu_per_s = static_cast<double>(r.ops) / cpu_secs;
    return r;
}

int bench_sha256d_cpu(double seconds) {
    const sha256_impl original = sha256_active();
    std::array<std::uint8_t, 80> header{};
    for (std::size_t i = 0; i < header.size(); ++i) header[i] = static_cast<std::uint8_t>(i * 7 + 1);

    std::printf("# one thread; wall-clock mean, per CPU-second, and best ~1 ms batch\n");
    std::printf("# active by default: %s\n", std::string(to_string(original)).c_str());
    for (const sha256_impl impl : sha256_supported()) {
        const std::string name(to_string(impl));
        if (!sha256_force(impl)) {
            std::printf("sha256d-cpu %-8s refused (self-test failed)\n", name.c_str());
            continue;
        }
        // Headers as a miner hashes them: only the nonce changes.
        std::uint32_t sink = 0, nonce = 0;
        constexpr std::uint64_t headers_per_batch = 4096;
        const rate h = measure(seconds, headers_per_batch, [&] {
            for (std::uint64_t i = 0; i < headers_per_batch; ++i) {
                store_le32(header.data() + 76, nonce++);
                sink ^= sha256d_header(header.data())[31];
            }
        });
        std::printf("sha256d-cpu %-8s %8.3f M headers/s per core (per CPU-s %7.3f, best batch %7.3f; %llu in %.2f s, "
                    "sink %u)\n",
                    name.c_str(), h.mean_per_s / 1e6, h.cpu_per_s / 1e6, h.best_per_s / 1e6,
                    static_cast<unsigned long long>(h.ops), h.secs, sink & 1);

        // Merkle nodes: 64-byte inputs, through the multi-buffer path where one exists.
        std::array<std::uint8_t, 64 * 64> nodes{};
        std::array<std::uint8_t, 32 * 64> out{};
        for (std::size_t i = 0; i < nodes.size(); ++i) nodes[i] = static_cast<std::uint8_t>(i);
        constexpr std::uint64_t nodes_per_batch = 64 * 64;
        const rate m = measure(seconds, nodes_per_batch, [&] {
            for (int i = 0; i < 64; ++i) {
                sha256d64(out.data(), nodes.data(), 64);
                nodes[0] ^= out[5];
            }
        });
        std::printf("sha256d64   %-8s %8.3f M nodes/s per core   (per CPU-s %7.3f, best batch %7.3f)\n",
                    name.c_str(), m.mean_per_s / 1e6, m.cpu_per_s / 1e6, m.best_per_s / 1e6);
    }
    sha256_force(original);
    return exit_ok;
}

// `solobridge bench kawpow-verify`: epoch-context build time (light cache + L1 cache) for
// epoch 0 and a mid-2026 mainnet epoch, then light verifications per second on one core.
int bench_kawpow_verify(double seconds) {
    namespace ethash = sb::pow::ethash;
    namespace kawpow = sb::pow::kawpow;
    using clock = std::chrono::steady_clock;
    std::printf("# one thread; light verification = final hash from the mix, then the mix recomputed\n");
    ethash::context_ptr ctx;
    for (const int epoch : {0, mainnet_epoch}) {
        const auto start = clock::now();
        ctx = ethash::epoch_context::build(epoch);
        const double secs = std::chrono::duration<double>(clock::now() - start).count();
        std::printf("kawpow-context epoch %-4d %7.2f s  (light cache %.1f MiB)\n", epoch, secs,
                    static_cast<double>(ctx->light_cache().size() * 64) / (1024.0 * 1024.0));
    }
    const std::uint64_t height = static_cast<std::uint64_t>(mainnet_epoch) * ethash::epoch_length + 17;
    hash256 header{};
    for (std::size_t i = 0; i < header.size(); ++i) header[i] = static_cast<std::uint8_t>(i * 13 + 5);
    hash256 boundary;
    boundary.fill(0xff);
    // Valid shares to verify: their mix hashes come from the same reference.
    constexpr std::uint64_t shares = 8;
    std::array<hash256, shares> mixes;
    for (std::uint64_t n = 0; n < shares; ++n) mixes[n] = kawpow::hash(*ctx, height, header, n).mix_hash;
    std::uint64_t failures = 0, nonce = 0;
    const rate r = measure(seconds, 1, [&] {
        const std::uint64_t n = nonce++ % shares;
        failures += kawpow::verify(*ctx, height, header, mixes[n], n, boundary) != kawpow::verify_status::ok;
    });
    std::printf("kawpow-verify epoch %-4d %8.1f verifications/s per core (per CPU-s %.1f, best %.1f; %llu in %.2f s, "
                "failures %llu)\n",
                mainnet_epoch, r.mean_per_s, r.cpu_per_s, r.best_per_s, static_cast<unsigned long long>(r.ops), r.secs,
                static_cast<unsigned long long>(failures));
    return failures == 0 ? exit_ok : exit_failure;
}

// `solobridge bench sha256d --device ID`: the device's SHA-256d search (the same call the
// device worker makes, at target_word 0) in batches of batch_size(intensity) nonces; a
// warm-up of about a fifth of the run first. Every candidate is re-hashed on the CPU; a
// candidate whose hash misses the target is a hardware error and fails the run.
int bench_sha256d_device(const std::string& device, double seconds, unsigned intensity) {
    using clock = std::chrono::steady_clock;
    std::string detail;
    const auto opened_at = clock::now();
    auto opened = gpu::open_sha256d(device, &detail);
    if (!opened) {
        std::fprintf(stderr, "solobridge bench: %s\n", detail.c_str());
        return exit_failure;
    }
    const double open_secs = std::chrono::duration<double>(clock::now() - opened_at).count();
    gpu::sha256d_searcher& s = **opened;
    const std::uint64_t batch = s.batch_size(intensity);
    std::printf("# %s: %s%s%s%s\n", s.info().id.c_str(), s.info().name.c_str(), s.info().platform.empty() ? "" : " [",
                s.info().platform.c_str(), s.info().platform.empty() ? "" : "]");
    std::printf("# opened (kernel build, self-test, calibration) in %.2f s; intensity %u, batch %llu nonces\n",
                open_secs, intensity, static_cast<unsigned long long>(batch));

    gpu::sha256d_work work;
    for (std::size_t i = 0; i < work.header.size(); ++i) work.header[i] = static_cast<std::uint8_t>(i * 7 + 1);
    work.target_word = 0;
    std::uint64_t candidates = 0, hardware_errors = 0, next = 0;
    const auto run = [&](double secs, std::uint64_t& hashes, double& elapsed, double& best) {
        const auto start = clock::now();
        const auto stop = start + std::chrono::duration<double>(secs);
        auto now = start;
        do {
            if (next + batch > (std::uint64_t{1} << 32)) {  // next header: a new "extranonce"
                next = 0;
                ++work.header[0];
            }
            const auto before = now;
            auto r = s.search(work, static_cast<std::uint32_t>(next), batch, &detail);
            if (!r) return false;
            next += batch;
            hashes += r->hashes;
            now = clock::now();
            const double dt = std::chrono::duration<double>(now - before).count();
            if (dt > 0) best = std::max(best, static_cast<double>(r->hashes) / dt);
            candidates += r->nonces.size() + r->dropped;
            for (const std::uint32_t nonce : r->nonces) {
                auto h = work.header;
                store_le32(h.data() + 76, nonce);
                if (load_le32(sha256d_header(h.data()).data() + 28) > work.target_word) ++hardware_errors;
            }
        } while (now < stop);
        elapsed = std::chrono::duration<double>(now - start).count();
        return true;
    };
    std::uint64_t warm_hashes = 0, hashes = 0;
    double warm_secs = 0, secs = 0, warm_best = 0, best = 0;
    if (!run(std::max(0.2, seconds / 5), warm_hashes, warm_secs, warm_best) || !run(seconds, hashes, secs, best)) {
        std::fprintf(stderr, "solobridge bench: %s\n", detail.c_str());
        return exit_failure;
    }
    const double rate = static_cast<double>(hashes) / secs;
    std::printf("sha256d %s %.3f MH/s = %.0f hashes/s (best batch %.3f MH/s; %llu hashes in %.2f s after %.2f s "
                "warm-up; %llu candidates, %llu hardware errors)\n",
                s.info().id.c_str(), rate / 1e6, rate, best / 1e6, static_cast<unsigned long long>(hashes), secs,
                warm_secs, static_cast<unsigned long long>(candidates), static_cast<unsigned long long>(hardware_errors));
    return hardware_errors == 0 ? exit_ok : exit_failure;
}

// `solobridge bench kawpow --device ID`: builds the epoch's light cache on the host, generates
// its full dataset on the device (the time printed is the device's), then searches batches of
// batch_size(intensity) nonces at one block height, after a warm-up of about a fifth of the
// run (which includes the period kernel's compile and its check against the CPU). The
// boundary is set from the warm-up rate for about two candidates a second; every candidate
// is light-verified on the CPU, and one that fails is a hardware error and fails the run.
int bench_kawpow_device(const std::string& device, int epoch, double seconds, unsigned intensity) {
    namespace ethash = sb::pow::ethash;
    namespace kawpow = sb::pow::kawpow;
    using clock = std::chrono::steady_clock;
    const auto since = [](clock::time_point t) { return std::chrono::duration<double>(clock::now() - t).count(); };
    std::string detail;
    auto opened_at = clock::now();
    auto opened = gpu::open_kawpow(device, &detail);
    if (!opened) {
        std::fprintf(stderr, "solobridge bench: %s\n", detail.c_str());
        return exit_failure;
    }
    gpu::kawpow_searcher& s = **opened;
    std::printf("# %s: %s%s%s%s\n", s.info().id.c_str(), s.info().name.c_str(), s.info().platform.empty() ? "" : " [",
                s.info().platform.c_str(), s.info().platform.empty() ? "" : "]");
    std::printf("# opened (context, dataset kernel build) in %.2f s\n", since(opened_at));
    std::fflush(stdout);

    const auto light_at = clock::now();
    const ethash::context_ptr ctx = ethash::epoch_context::build(epoch);
    std::printf("# epoch %d: light cache (%.1f MiB) built on the host in %.2f s\n", epoch,
                static_cast<double>(ctx->light_cache().size() * 64) / (1024.0 * 1024.0), since(light_at));
    std::fflush(stdout);
    const auto dataset = gpu::kawpow_dataset::for_epoch(ctx);
    int reported = -1;
    const auto progress = [&](std::string_view, double fraction) {
        const int tenth = static_cast<int>(fraction * 10);
        if (tenth == reported) return;
        reported = tenth;
        std::printf("# dataset %3d%%\n", tenth * 10);
        std::fflush(stdout);
    };
    if (auto ec = s.use_dataset(dataset, progress, &detail)) {
        std::fprintf(stderr, "solobridge bench: %s\n", detail.c_str());
        return exit_failure;
    }
    const double gen = s.last_generation_seconds();
    const double dataset_gib = static_cast<double>(dataset.bytes()) / (1024.0 * 1024.0 * 1024.0);
    std::printf("kawpow-dag %s epoch %d: %.2f GiB generated on the device in %.3f s (%.1f MiB/s)\n",
                s.info().id.c_str(), epoch, dataset_gib, gen, gen > 0 ? dataset_gib * 1024.0 / gen : 0.0);
    std::fflush(stdout);

    gpu::kawpow_work work;
    for (std::size_t i = 0; i < work.header_hash.size(); ++i) work.header_hash[i] = static_cast<std::uint8_t>(i * 13 + 5);
    work.height = static_cast<std::uint64_t>(epoch) * ethash::epoch_length + 17;
    work.boundary = hash256{};  // the warm-up keeps nothing
    std::uint64_t next = 0, candidates = 0, hardware_errors = 0, verified = 0;
    const auto run = [&](double secs, std::uint64_t& hashes, double& elapsed, double& best) {
        const auto start = clock::now();
        const auto stop = start + std::chrono::duration<double>(secs);
        auto now = start;
        do {
            const std::uint64_t batch = s.batch_size(intensity);
            const auto before = now;
            auto r = s.search(work, next, batch, &detail);
            if (!r) return false;
            next += batch;
            hashes += r->hashes;
            now = clock::now();
            const double dt = std::chrono::duration<double>(now - before).count();
            if (dt > 0) best = std::max(best, static_cast<double>(r->hashes) / dt);
            candidates += r->candidates.size() + r->dropped;
            for (const auto& c : r->candidates) {
                ++verified;
                if (kawpow::verify(*ctx, work.height, work.header_hash, c.mix_hash, c.nonce, work.boundary) !=
                    kawpow::verify_status::ok)
                    ++hardware_errors;
            }
        } while (now < stop);
        elapsed = std::chrono::duration<double>(now - start).count();
        return true;
    };
    std::uint64_t warm_hashes = 0, hashes = 0;
    double warm_secs = 0, secs = 0, warm_best = 0, best = 0;
    if (!run(std::max(0.2, seconds / 5), warm_hashes, warm_secs, warm_best)) {
        std::fprintf(stderr, "solobridge bench: %s\n", detail.c_str());
        return exit_failure;
    }
    // About two candidates a second at the warm-up's rate: top 64 bits of the boundary =
    // 2^64 / (rate / 2).
    const double per_candidate = std::max(1.0, s.measured_rate() / 2);
    const double top = std::ldexp(1.0, 64) / per_candidate;
    const std::uint64_t top64 = top >= std::ldexp(1.0, 64) ? ~std::uint64_t{0} : static_cast<std::uint64_t>(top);
    work.boundary.fill(0xff);
    for (int i = 0; i < 8; ++i) work.boundary[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(top64 >> (56 - 8 * i));
    if (!run(seconds, hashes, secs, best)) {
        std::fprintf(stderr, "solobridge bench: %s\n", detail.c_str());
        return exit_failure;
    }
    const double rate = static_cast<double>(hashes) / secs;
    std::printf("kawpow %s epoch %d: %.3f MH/s = %.0f hashes/s (best batch %.3f MH/s; intensity %u, batch %llu; %llu "
                "hashes in %.2f s after %.2f s warm-up; %llu candidates, %llu light-verified, %llu hardware errors)\n",
                s.info().id.c_str(), epoch, rate / 1e6, rate, best / 1e6, intensity,
                static_cast<unsigned long long>(s.batch_size(intensity)), static_cast<unsigned long long>(hashes), secs,
                warm_secs, static_cast<unsigned long long>(candidates), static_cast<unsigned long long>(verified),
                static_cast<unsigned long long>(hardware_errors));
    return hardware_errors == 0 ? exit_ok : exit_failure;
}

int run_bench(args a) {
    if (a.empty()) {
        print_usage(bench_command, stderr);
        return exit_usage;
    }
    double seconds = 2.0;
    std::string device;
    unsigned intensity = 20;
    int epoch = mainnet_epoch;
    for (std::size_t i = 1; i < a.size(); ++i) {
        if (a[i] == "--epoch" && i + 1 < a.size()) {
            const std::string v(a[++i]);
            char* end = nullptr;
            const long n = std::strtol(v.c_str(), &end, 10);
            if (v.empty() || *end != '\0' || n < 0 || n > sb::pow::ethash::max_epoch) {
                std::fprintf(stderr, "solobridge bench: --epoch must be 0..%d\n", sb::pow::ethash::max_epoch);
                return exit_usage;
            }
            epoch = static_cast<int>(n);
            continue;
        }
        if (a[i] == "--device" && i + 1 < a.size()) {
            device = std::string(a[++i]);
            continue;
        }
        if (a[i] == "--intensity" && i + 1 < a.size()) {
            const std::string v(a[++i]);
            char* end = nullptr;
            const unsigned long n = std::strtoul(v.c_str(), &end, 10);
            if (v.empty() || *end != '\0' || n < 1 || n > 32) {
                std::fputs("solobridge bench: --intensity must be 1..32\n", stderr);
                return exit_usage;
            }
            intensity = static_cast<unsigned>(n);
            continue;
        }
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
    if (a[0] == "sha256d") {
        if (device.empty()) {
            std::fputs("solobridge bench sha256d: --device ID is required (see `solobridge devices`)\n", stderr);
            return exit_usage;
        }
        return bench_sha256d_device(device, seconds, intensity);
    }
    if (a[0] == "kawpow") {
        if (device.empty()) {
            std::fputs("solobridge bench kawpow: --device ID is required (see `solobridge devices`)\n", stderr);
            return exit_usage;
        }
        return bench_kawpow_device(device, epoch, seconds, intensity);
    }
    if (a[0] == "sha256d-cpu") return bench_sha256d_cpu(seconds);
    if (a[0] == "kawpow-verify") return bench_kawpow_verify(seconds);
    std::fprintf(stderr, "solobridge bench: unknown benchmark '%.*s' (known: sha256d, sha256d-cpu, kawpow, kawpow-verify)\n",
                 static_cast<int>(a[0].size()), a[0].data());
    return exit_usage;
}

}  // namespace

const command bench_command{
    "bench",
    "measure hashing speed: the CPU's SHA-256d, KAWPOW verification, a mining device (SHA-256d, KAWPOW)",
    "usage: solobridge bench sha256d-cpu [--seconds S]\n"
    "       solobridge bench kawpow-verify [--seconds S]\n"
    "       solobridge bench sha256d --device ID [--seconds S] [--intensity I]\n"
    "       solobridge bench kawpow --device ID [--epoch E] [--seconds S] [--intensity I]\n"
    "\n"
    "sha256d-cpu    80-byte headers and 64-byte merkle nodes hashed per second on one core,\n"
    "               for every SHA-256 implementation this CPU supports\n"
    "kawpow-verify  KAWPOW epoch-context build time and light verifications per second\n"
    "sha256d        a mining device's SHA-256d search rate after a warm-up; ID as\n"
    "               `solobridge devices` lists it (cpu, opencl:N, cuda:N). Exit 1 when the\n"
    "               device cannot be opened or returns a candidate the CPU does not confirm\n"
    "kawpow         a GPU's KAWPOW dataset generation time for epoch E and its search rate\n"
    "               after a warm-up (opencl:N, cuda:N); every candidate light-verified on\n"
    "               the CPU, exit 1 when one fails or the device cannot hold the dataset\n"
    "--epoch E      the KAWPOW epoch, 0..32639 (default 590, mid-2026 mainnet; 0 is 1 GiB)\n"
    "--seconds S    how long each measurement runs, 0 < S <= 600 (default 2)\n"
    "--intensity I  1..32, each step doubles the nonces per search call (default 20)\n",
    false,
    run_bench,
};

}  // namespace sb::app
