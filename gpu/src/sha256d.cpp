// SHA-256d search: the pieces every backend shares (job precompute, batch sizing, the
// start-up known-answer test) and the "cpu" backend, which runs the portable kernel of
// sb/gpu/kernels/sha256d.h on the host.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <thread>

#include <unistd.h>

#include "sb/core/bytes.hpp"
#include "sb/core/hex.hpp"
#include "sb/core/sha256.hpp"
#include "sha256d_internal.hpp"

namespace sb::gpu {
namespace detail {

sb_sha256d_job make_sha256d_job(const sha256d_work& work) noexcept {
    const std::array<std::uint32_t, 8> mid = sha256_midstate(work.header.data());
    sb_sha256d_job job;
    sb_sha256d_prepare(&job, mid.data(), load_be32(work.header.data() + 64), load_be32(work.header.data() + 68),
                       load_be32(work.header.data() + 72), work.target_word);
    return job;
}

std::error_code check_search_count(std::uint64_t count, std::string* detail) {
    if (count >= 1 && count <= max_search_count) return {};
    if (detail) *detail = "search count " + std::to_string(count) + " is outside [1, 2^32]";
    return gpu_errc::invalid_argument;
}

std::uint64_t batched_searcher::batch_size(unsigned intensity) const {
    intensity = std::clamp(intensity, 1u, 32u);
    // Before calibration: 1024 launch units at the nominal intensity.
    const double nominal = rate_ > 0 ? rate_ * nominal_batch_seconds : static_cast<double>(granularity_) * 1024;
    const double want = std::ldexp(nominal, static_cast<int>(intensity) - static_cast<int>(nominal_intensity));
    const double capped = std::clamp(want, static_cast<double>(granularity_), static_cast<double>(max_search_count));
    const auto units = static_cast<std::uint64_t>(capped) / granularity_;
    return std::min(std::max<std::uint64_t>(units, 1) * granularity_, max_search_count / granularity_ * granularity_);
}

std::error_code calibrate(batched_searcher& searcher, std::string* detail) {
    // Any header will do: the cost of a nonce does not depend on the data.
    sha256d_work work;
    using clock = std::chrono::steady_clock;
    std::uint64_t n = searcher.granularity();
    std::uint64_t total = 0;
    while (true) {
        const auto t0 = clock::now();
        auto r = searcher.search(work, static_cast<std::uint32_t>(total), n, detail);
        const double s = std::chrono::duration<double>(clock::now() - t0).count();
        if (!r) return r.error();
        total += n;
        if (s >= 0.010 || n >= max_search_count || total >= (std::uint64_t{1} << 36)) {
            searcher.set_measured_rate(static_cast<double>(n) / std::max(s, 1e-6));
            return {};
        }
        // Aim the next try at ~12 ms, growing at least 2x and at most 64x.
        const double grow = std::clamp(0.012 / std::max(s, 1e-6), 2.0, 64.0);
        n = std::min<std::uint64_t>(static_cast<std::uint64_t>(static_cast<double>(n) * grow), max_search_count);
        n = std::max<std::uint64_t>(n / searcher.granularity(), 1) * searcher.granularity();
    }
}

// ---- the CPU reference backend -----------------------------------------------------------

namespace {

// Each thread of a search gets at least this many nonces (thread start-up is ~50 us); also
// the CPU searcher's batch granularity.
constexpr std::uint64_t cpu_nonces_per_thread_min = 4096;

void scan_range(const sb_sha256d_job& job, std::uint32_t first, std::uint64_t count,
                std::vector<std::uint32_t>& found) {
    std::uint32_t nonce = first;
    for (std::uint64_t i = 0; i < count; ++i, ++nonce)
        if (sb_sha256d_is_candidate(&job, nonce)) found.push_back(nonce);
}

class cpu_searcher final : public batched_searcher {
public:
    explicit cpu_searcher(unsigned threads) : batched_searcher(cpu_nonces_per_thread_min), threads_(threads) {
        info_ = cpu_device_info();
        info_.compute_units = threads_;
        info_.name = "CPU reference (portable kernel, " + std::to_string(threads_) + " thread" +
                     (threads_ == 1 ? "" : "s") + ")";
    }

    const device_info& info() const override { return info_; }

    result<search_outcome> search(const sha256d_work& work, std::uint32_t first, std::uint64_t count,
                                  std::string* detail) override {
        if (auto ec = check_search_count(count, detail)) return ec;
        const sb_sha256d_job job = make_sha256d_job(work);
        const auto parts = static_cast<unsigned>(
            std::clamp<std::uint64_t>(count / cpu_nonces_per_thread_min, 1, threads_));
        std::vector<std::vector<std::uint32_t>> found(parts);
        if (parts == 1) {
            scan_range(job, first, count, found[0]);
        } else {
            std::vector<std::thread> pool;
            pool.reserve(parts);
            std::uint64_t begin = 0;
            for (unsigned p = 0; p < parts; ++p) {
                const std::uint64_t end = count * (p + 1) / parts;
                pool.emplace_back([&job, &found, p, first, begin, end] {
                    scan_range(job, static_cast<std::uint32_t>(first + begin), end - begin, found[p]);
                });
                begin = end;
            }
            for (auto& t : pool) t.join();
        }
        search_outcome out;
        out.hashes = count;
        for (const auto& part : found)
            for (const std::uint32_t nonce : part) {
                if (out.nonces.size() < max_search_candidates) out.nonces.push_back(nonce);
                else ++out.dropped;
            }
        return out;
    }

private:
    unsigned threads_;
    device_info info_;
};

}  // namespace

device_info cpu_device_info() {
    device_info d;
    d.id = "cpu";
    d.backend = "cpu";
    d.name = "CPU reference (portable kernel)";
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0) d.memory_bytes = static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page);
    d.compute_units = std::max(1u, std::thread::hardware_concurrency());
    return d;
}

std::unique_ptr<batched_searcher> make_cpu_searcher(unsigned threads) {
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
    return std::make_unique<cpu_searcher>(threads);
}

}  // namespace detail

// ---- the start-up known-answer test --------------------------------------------------------

namespace {

struct known_block {
    const char* name;
    const char* header_hex;
    std::uint32_t nonce;
};

// sha256d_kernel.json: Bitcoin mainnet blocks 0 and 1 (hash top word 0 at their nonces).
constexpr known_block known_blocks[] = {
    {"genesis header",
     "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3"
     "888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c",
     0x7c2bac1du},
    {"block-1 header",
     "010000006fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000982051fd1e4ba744bbbe680e1fee14677ba1a3c3"
     "540bf7b1cdb606e857233e0e61bc6649ffff001d01e36299",
     0x9962e301u},
};

// The wrap-around case: 1024 nonces from 0xfffffe00 through 0xffffffff to 0x1ff, at a target
// that lets about one nonce in 64 through.
constexpr std::uint32_t wrap_first = 0xfffffe00u;
constexpr std::uint64_t wrap_count = 1024;
constexpr std::uint32_t wrap_target_word = 0x03ffffffu;

std::string nonce_list(std::vector<std::uint32_t> nonces) {
    std::sort(nonces.begin(), nonces.end());
    std::string s = "{";
    char buf[16];
    for (std::size_t i = 0; i < nonces.size(); ++i) {
        std::snprintf(buf, sizeof buf, "%s0x%08x", i ? ", " : "", nonces[i]);
        s += buf;
    }
    return s + "}";
}

std::error_code fail(std::string* detail, const std::string& what) {
    if (detail) *detail = what;
    return gpu_errc::self_test_failed;
}

// Runs one case: the searcher must report exactly `expected` (any order), drop nothing and
// count every nonce.
std::error_code run_case(sha256d_searcher& s, const std::string& name, const sha256d_work& work, std::uint32_t first,
                         std::uint64_t count, std::vector<std::uint32_t> expected, std::string* detail) {
    std::string why;
    auto r = s.search(work, first, count, &why);
    if (!r) {
        if (detail) *detail = name + ": search failed: " + why;
        return r.error();
    }
    std::vector<std::uint32_t> got = r->nonces;
    std::sort(got.begin(), got.end());
    std::sort(expected.begin(), expected.end());
    char range[64];
    std::snprintf(range, sizeof range, " (nonces 0x%08x + %llu)", first, static_cast<unsigned long long>(count));
    if (got != expected || r->dropped != 0)
        return fail(detail, s.info().id + ": " + name + range + ": expected candidates " + nonce_list(expected) +
                                ", got " + nonce_list(got) +
                                (r->dropped ? " and " + std::to_string(r->dropped) + " dropped" : ""));
    if (r->hashes != count)
        return fail(detail, s.info().id + ": " + name + range + ": reported " + std::to_string(r->hashes) +
                                " hashes, expected " + std::to_string(count));
    return {};
}

}  // namespace

std::error_code self_test_sha256d(sha256d_searcher& searcher, std::string* detail) {
    sha256d_work wrap_work;
    for (const known_block& b : known_blocks) {
        sha256d_work work;
        const auto header = from_hex_fixed<80>(b.header_hex);
        if (!header) return fail(detail, "internal: bad known header");
        work.header = *header;
        work.target_word = 0;
        // The nonce and its two neighbours on each side: only the nonce is a candidate.
        if (auto ec = run_case(searcher, b.name, work, b.nonce - 2, 5, {b.nonce}, detail)) return ec;
        wrap_work = work;
    }
    // The last header, at an easy target, over a range that wraps past 0xffffffff; the
    // expected nonces come from the core sha256d, not from the kernel code.
    wrap_work.target_word = wrap_target_word;
    std::vector<std::uint32_t> expected;
    std::array<std::uint8_t, 80> h = wrap_work.header;
    for (std::uint64_t i = 0; i < wrap_count; ++i) {
        const auto nonce = static_cast<std::uint32_t>(wrap_first + i);
        store_le32(h.data() + 76, nonce);
        const hash256 d = sha256d_header(h.data());
        if (load_le32(d.data() + 28) <= wrap_target_word) expected.push_back(nonce);
    }
    return run_case(searcher, "wrap-around range", wrap_work, wrap_first, wrap_count, expected, detail);
}

}  // namespace sb::gpu
