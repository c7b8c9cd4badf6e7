// The portable SHA-256d search kernel (sb/gpu/kernels/sha256d.h) run on the host, its
// precompute tricks against a plain SHA-256, the "cpu" searcher and the start-up self-test.
// Vectors: tests/vectors/sha256d_kernel.json (Bitcoin mainnet blocks 0 and 1).
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "vector_words.hpp"
#include "sb/core/bytes.hpp"
#include "sb/core/hex.hpp"
#include "sb/core/sha256.hpp"
#include "sb/gpu/device.hpp"
#include "sb/gpu/kernels/sha256d.h"
#include "sha256d_search_checks.hpp"
#include "vectors.hpp"

using namespace sb::test::gpu;
using sb::test::hash_hex;
using sb::test::word_hex;
namespace gpu = sb::gpu;

namespace {

// ---- a plain SHA-256 (FIPS 180-4 §6.2.2), round by round, independent of the kernel ----

using words8 = std::array<std::uint32_t, 8>;

std::uint32_t rotr(std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

struct plain_sha256 {
    std::array<std::uint32_t, 64> w{};
    words8 s{};  // a..h

    plain_sha256(const words8& state, const std::array<std::uint32_t, 16>& block) : s(state) {
        for (int t = 0; t < 16; ++t) w[t] = block[t];
        for (int t = 16; t < 64; ++t) {
            const std::uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
            const std::uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
            w[t] = s1 + w[t - 7] + s0 + w[t - 16];
        }
    }
    void round(int t) {
        auto [a, b, c, d, e, f, g, h] = s;
        const std::uint32_t t1 =
            h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + sb::detail::sha256_k[t] + w[t];
        const std::uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        s = {t1 + t2, a, b, c, d + t1, e, f, g};
    }
    void rounds(int from, int to) {
        for (int t = from; t < to; ++t) round(t);
    }
};

words8 compress(const words8& state, const std::array<std::uint32_t, 16>& block) {
    plain_sha256 p(state, block);
    p.rounds(0, 64);
    words8 out;
    for (int i = 0; i < 8; ++i) out[i] = state[i] + p.s[i];
    return out;
}

std::array<std::uint32_t, 16> chunk2_block(const std::array<std::uint8_t, 80>& header) {
    std::array<std::uint32_t, 16> m{};
    for (int i = 0; i < 4; ++i) m[i] = sb::load_be32(header.data() + 64 + 4 * i);
    m[4] = 0x80000000u;
    m[15] = 640;
    return m;
}

std::array<std::uint32_t, 16> second_block(const words8& h1) {
    std::array<std::uint32_t, 16> m{};
    for (int i = 0; i < 8; ++i) m[i] = h1[i];
    m[8] = 0x80000000u;
    m[15] = 256;
    return m;
}

sb_sha256d_job job_for(const std::array<std::uint8_t, 80>& header, std::uint32_t target_word) {
    const auto mid = sb::sha256_midstate(header.data());
    sb_sha256d_job job;
    sb_sha256d_prepare(&job, mid.data(), sb::load_be32(header.data() + 64), sb::load_be32(header.data() + 68),
                       sb::load_be32(header.data() + 72), target_word);
    return job;
}

words8 words_hex(const std::string& spaced) {
    std::istringstream in(spaced);
    words8 w{};
    for (auto& x : w) {
        std::string tok;
        in >> tok;
        x = word_hex(tok);
    }
    return w;
}

words8 digest_words(const sb::hash256& d) {
    words8 w;
    for (int i = 0; i < 8; ++i) w[i] = sb::load_be32(d.data() + 4 * i);
    return w;
}

struct block_vector {
    std::string name;
    std::array<std::uint8_t, 80> header;
    words8 midstate;
    std::array<std::uint32_t, 4> chunk2;
    std::uint32_t nonce;
    words8 first_digest;
    words8 final_words;
};

std::vector<block_vector> block_vectors() {
    const auto& doc = sb::test::vector_json("sha256d_kernel.json");
    REQUIRE(doc.HasMember("blocks"));
    std::vector<block_vector> out;
    for (const auto& row : doc["blocks"].GetArray()) {
        block_vector v;
        v.name = row["name"].GetString();
        auto h = sb::from_hex_fixed<80>(row["header80_hex"].GetString());
        REQUIRE(h.has_value());
        v.header = *h;
        v.midstate = words_hex(row["midstate_be_words"].GetString());
        const words8 c = words_hex(std::string(row["chunk2_W0_W3_be"].GetString()) + " 0 0 0 0");
        std::copy_n(c.begin(), 4, v.chunk2.begin());
        v.nonce = word_hex(row["nonce_le_u32"].GetString());
        v.first_digest = digest_words(hash_hex(row["sha256_header_digest"].GetString()));
        v.final_words = words_hex(row["H0_H7_final_words"].GetString());
        out.push_back(v);
    }
    REQUIRE(out.size() == 2);
    return out;
}

}  // namespace

TEST_CASE("sha256d kernel: the host precompute gives the vectors' midstate and chunk-2 words") {
    for (const auto& v : block_vectors()) {
        CAPTURE(v.name);
        const sb_sha256d_job job = job_for(v.header, 0);
        for (int i = 0; i < 8; ++i) CHECK(job.midstate[i] == v.midstate[i]);
        for (int i = 0; i < 3; ++i) CHECK(job.w[i] == v.chunk2[i]);
        // W3 is the byte-swapped little-endian nonce.
        CHECK(SB_BSWAP32(v.nonce) == v.chunk2[3]);
    }
}

TEST_CASE("sha256d kernel: the first digest and the final and top words match the vectors") {
    for (const auto& v : block_vectors()) {
        CAPTURE(v.name);
        const sb_sha256d_job job = job_for(v.header, 0);
        sb_u32 h1[8];
        sb_sha256d_first_hash(&job, SB_BSWAP32(v.nonce), h1);
        for (int i = 0; i < 8; ++i) CHECK(h1[i] == v.first_digest[i]);
        words8 h1w;
        std::copy_n(h1, 8, h1w.begin());
        const words8 final_words = compress(sb::sha256_initial_state, second_block(h1w));
        CHECK(final_words == v.final_words);
        // The early exit: e after round 60 is H7 - IV7.
        CHECK(sb_sha256d_second_e60(h1) + SB_SHA256_IV7 == v.final_words[7]);
        CHECK(sb_sha256d_second_e60(h1) == SB_SHA256D_E60_ZERO);
        CHECK(sb_sha256d_top_word(&job, v.nonce) == 0);
    }
}

TEST_CASE("sha256d kernel: the block nonces are candidates at target_word 0 and their neighbours are not") {
    for (const auto& v : block_vectors()) {
        CAPTURE(v.name);
        const sb_sha256d_job job = job_for(v.header, 0);
        CHECK(sb_sha256d_is_candidate(&job, v.nonce) == 1);
        for (const std::uint32_t d : {1u, 2u, 3u}) {
            CHECK(sb_sha256d_is_candidate(&job, v.nonce + d) == 0);
            CHECK(sb_sha256d_is_candidate(&job, v.nonce - d) == 0);
        }
    }
}

TEST_CASE("sha256d kernel: random headers give the core sha256d's first digest and top word") {
    auto rng = sb::test::seeded_rng(0x5a256d01);
    for (int i = 0; i < 2000; ++i) {
        const auto work = random_work(rng, 0);
        const auto nonce = static_cast<std::uint32_t>(rng());
        CAPTURE(i);
        const sb_sha256d_job job = job_for(work.header, 0);
        auto header = work.header;
        sb::store_le32(header.data() + 76, nonce);
        sb_u32 h1[8];
        sb_sha256d_first_hash(&job, SB_BSWAP32(nonce), h1);
        const words8 expected_h1 = digest_words(sb::sha256_hash(header));
        for (int k = 0; k < 8; ++k) CHECK(h1[k] == expected_h1[k]);
        CHECK(sb_sha256d_top_word(&job, nonce) == core_top_word(work.header, nonce));
    }
}

TEST_CASE("sha256d kernel: each precomputed value equals the plain SHA-256 computation") {
    auto rng = sb::test::seeded_rng(0x5a256d02);
    for (int i = 0; i < 500; ++i) {
        const auto work = random_work(rng, 0);
        const auto nonce = static_cast<std::uint32_t>(rng());
        CAPTURE(i);
        auto header = work.header;
        sb::store_le32(header.data() + 76, nonce);
        const sb_sha256d_job job = job_for(work.header, 0);
        const auto mid = sb::sha256_midstate(header.data());
        plain_sha256 p(mid, chunk2_block(header));
        // Rounds 0-2 do not depend on the nonce.
        p.rounds(0, 3);
        for (int k = 0; k < 8; ++k) CHECK(job.state2[k] == p.s[k]);
        // Round 3: a and e are the folded sums plus W3.
        p.round(3);
        CHECK(job.r3_a + p.w[3] == p.s[0]);
        CHECK(job.r3_e + p.w[3] == p.s[4]);
        // Message schedule words and partial sums.
        const auto s0 = [](std::uint32_t x) { return rotr(x, 7) ^ rotr(x, 18) ^ (x >> 3); };
        const auto s1 = [](std::uint32_t x) { return rotr(x, 17) ^ rotr(x, 19) ^ (x >> 10); };
        CHECK(job.w16 == p.w[16]);
        CHECK(job.w17 == p.w[17]);
        CHECK(job.w16k == p.w[16] + sb::detail::sha256_k[16]);
        CHECK(job.w17k == p.w[17] + sb::detail::sha256_k[17]);
        CHECK(job.pre18 + s0(p.w[3]) == p.w[18]);
        CHECK(job.pre19 + p.w[3] == p.w[19]);
        CHECK(job.pre31 + s1(p.w[29]) + p.w[24] == p.w[31]);
        CHECK(job.pre32 + s1(p.w[30]) + p.w[25] == p.w[32]);
        // The second hash's e after round 60 is its H7 less IV7.
        sb_u32 h1[8];
        sb_sha256d_first_hash(&job, p.w[3], h1);
        words8 h1w;
        std::copy_n(h1, 8, h1w.begin());
        plain_sha256 q(sb::sha256_initial_state, second_block(h1w));
        q.rounds(0, 61);
        CHECK(sb_sha256d_second_e60(h1) == q.s[4]);
        CHECK(compress(sb::sha256_initial_state, second_block(h1w))[7] == q.s[4] + SB_SHA256_IV7);
    }
}

TEST_CASE("sha256d kernel: is_candidate agrees with the top word at every kind of target") {
    auto rng = sb::test::seeded_rng(0x5a256d03);
    for (int i = 0; i < 2000; ++i) {
        const auto work = random_work(rng, 0);
        const auto nonce = static_cast<std::uint32_t>(rng());
        const std::uint32_t top = core_top_word(work.header, nonce);
        for (const std::uint32_t target : {0u, top - 1, top, top + 1, 0x00ffffffu, 0xffffffffu}) {
            if (target == 0xffffffffu && top == 0) continue;
            const sb_sha256d_job job = job_for(work.header, target);
            CAPTURE(target);
            CHECK(sb_sha256d_is_candidate(&job, nonce) == (top <= target ? 1 : 0));
        }
    }
}

TEST_CASE("cpu searcher: finds exactly the nonces a core sha256d scan finds") {
    std::string detail;
    auto s = gpu::open_sha256d("cpu", &detail);
    REQUIRE_MESSAGE(s.has_value(), detail);
    CHECK((*s)->info().id == "cpu");
    CHECK((*s)->info().backend == "cpu");
    check_searcher_matches_core(**s, 0x5a256d04, 4096);
    // A range above the single-thread threshold, split across threads, wrapping past 2^32.
    auto rng = sb::test::seeded_rng(0x5a256d05);
    auto work = random_work(rng, 0x000fffffu);
    check_range(**s, work, 0xffff0000u, std::uint64_t{1} << 17);
}

TEST_CASE("cpu searcher: finds nothing at a target no hash of the range meets") {
    auto s = gpu::open_sha256d("cpu");
    REQUIRE(s.has_value());
    check_wrong_target(**s, 0x5a256d06, 2048);
}

TEST_CASE("cpu searcher: count 0 and counts above 2^32 are invalid arguments") {
    auto s = gpu::open_sha256d("cpu");
    REQUIRE(s.has_value());
    check_bad_counts(**s);
}

TEST_CASE("cpu searcher: more candidates than the result buffer holds are counted as dropped") {
    auto s = gpu::open_sha256d("cpu");
    REQUIRE(s.has_value());
    gpu::sha256d_work work;
    work.target_word = 0xffffffffu;  // every nonce
    auto r = (*s)->search(work, 10, 100);
    REQUIRE(r.has_value());
    CHECK(r->nonces.size() == gpu::max_search_candidates);
    CHECK(r->dropped == 100 - gpu::max_search_candidates);
    CHECK(r->hashes == 100);
}

TEST_CASE("cpu searcher: batch sizes grow with intensity and stay within 2^32") {
    auto s = gpu::open_sha256d("cpu");
    REQUIRE(s.has_value());
    check_batch_sizes(**s);
}

namespace {

// A searcher that wraps the CPU reference and spoils its answers in one way.
class spoiled_searcher final : public gpu::sha256d_searcher {
public:
    enum class fault { shifted_nonces, no_wrap, extra_nonce, short_count };
    spoiled_searcher(std::unique_ptr<gpu::sha256d_searcher> inner, fault f) : inner_(std::move(inner)), fault_(f) {}
    const gpu::device_info& info() const override { return inner_->info(); }
    std::uint64_t batch_size(unsigned i) const override { return inner_->batch_size(i); }
    sb::result<gpu::search_outcome> search(const gpu::sha256d_work& work, std::uint32_t first, std::uint64_t count,
                                           std::string* detail) override {
        if (fault_ == fault::no_wrap) count = std::min<std::uint64_t>(count, (std::uint64_t{1} << 32) - first);
        auto r = inner_->search(work, first, count, detail);
        if (!r) return r;
        switch (fault_) {
            case fault::shifted_nonces:
                for (auto& n : r->nonces) n += 1;
                break;
            case fault::extra_nonce: r->nonces.push_back(first); break;
            case fault::short_count: r->hashes -= 1; break;
            case fault::no_wrap: break;
        }
        return r;
    }

private:
    std::unique_ptr<gpu::sha256d_searcher> inner_;
    fault fault_;
};

}  // namespace

TEST_CASE("self-test: the CPU reference passes") {
    auto s = gpu::open_sha256d("cpu");
    REQUIRE(s.has_value());
    std::string detail;
    CHECK_FALSE(gpu::self_test_sha256d(**s, &detail));
    CHECK(detail.empty());
}

TEST_CASE("self-test: a searcher with wrong answers is refused with a readable detail") {
    using fault = spoiled_searcher::fault;
    const struct {
        fault f;
        const char* expect;
    } cases[] = {
        {fault::shifted_nonces, "genesis header (nonces 0x7c2bac1b + 5): expected candidates {0x7c2bac1d}, got {0x7c2bac1e}"},
        {fault::extra_nonce, "genesis header"},
        {fault::short_count, "hashes, expected 5"},
        {fault::no_wrap, "wrap-around range"},
    };
    for (const auto& c : cases) {
        INFO(c.expect);
        auto inner = gpu::open_sha256d("cpu");
        REQUIRE(inner.has_value());
        spoiled_searcher s(std::move(*inner), c.f);
        std::string detail;
        const std::error_code ec = gpu::self_test_sha256d(s, &detail);
        CHECK(ec == gpu::gpu_errc::self_test_failed);
        CHECK(detail.find(c.expect) != std::string::npos);
    }
}

TEST_CASE("open_sha256d: ids that name no device are refused with a readable line") {
    for (const char* id : {"", "gpu:0", "opencl:", "cuda:x", "opencl:-1", "cpu:0", "CPU"}) {
        CAPTURE(id);
        std::string detail;
        auto r = gpu::open_sha256d(id, &detail);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error() == gpu::gpu_errc::unknown_device);
        CHECK(detail.find("not a device id") != std::string::npos);
    }
    // An index beyond the devices of a backend: unknown_device, backend_not_built or no_device.
    for (const char* id : {"opencl:999", "cuda:999"}) {
        CAPTURE(id);
        std::string detail;
        auto r = gpu::open_sha256d(id, &detail);
        REQUIRE_FALSE(r.has_value());
        const std::error_code ec = r.error();
        CHECK((ec == gpu::gpu_errc::unknown_device || ec == gpu::gpu_errc::backend_not_built ||
               ec == gpu::gpu_errc::no_device || ec == gpu::gpu_errc::driver_error));
        CHECK(detail.rfind(id, 0) == 0);
    }
}

TEST_CASE("discover_devices: lists the cpu reference and a note for every backend without devices") {
    const gpu::device_list list = gpu::discover_devices();
    const auto cpu = std::find_if(list.devices.begin(), list.devices.end(), [](const auto& d) { return d.id == "cpu"; });
    REQUIRE(cpu != list.devices.end());
    CHECK(cpu->backend == "cpu");
    CHECK(cpu->compute_units >= 1);
    bool any_cuda = false, any_opencl = false;
    for (const auto& d : list.devices) {
        any_cuda |= d.backend == "cuda";
        any_opencl |= d.backend == "opencl";
    }
    const auto noted = [&](const char* prefix) {
        return std::any_of(list.notes.begin(), list.notes.end(), [&](const std::string& n) { return n.rfind(prefix, 0) == 0; });
    };
    CHECK((any_cuda || noted("cuda:")));
    CHECK((any_opencl || noted("opencl:")));
    CHECK(gpu::make_error_code(gpu::gpu_errc::self_test_failed).message() == "self-test failed");
}
