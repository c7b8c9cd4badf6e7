// Runtime selection of the SHA-256 implementation.
//
// Each implementation is a table of three entry points (compression, sha256d of a header,
// sha256d of 64-byte inputs). On first use the CPU is asked what it has (CPUID, XGETBV),
// every candidate it has runs a known-answer self-test, and the fastest that passes is
// published through one atomic pointer. SB_SHA256_IMPL=generic|sha-ni|avx2 in the
// environment overrides the choice at start-up (tests and benchmarks).
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "sb/core/bytes.hpp"
#include "sb/core/sha256.hpp"

#if defined(SB_X86_64)
#include <cpuid.h>
#endif

namespace sb {
namespace detail {
using sha256_transform_fn = void (*)(std::uint32_t state[8], const std::uint8_t* blocks, std::size_t n) noexcept;
sha256_transform_fn sha256_active_transform() noexcept;
}  // namespace detail

namespace {

using transform_fn = detail::sha256_transform_fn;
using header_fn = void (*)(std::uint8_t out[32], const std::uint8_t header[80]) noexcept;
using d64_fn = void (*)(std::uint8_t* out, const std::uint8_t* in, std::size_t n) noexcept;

struct impl_table {
    sha256_impl impl;
    transform_fn transform;
    header_fn header;
    d64_fn d64;
};

// ---- single-buffer paths built on any compression function --------------------------

// Second SHA-256 of sha256d: the 32-byte digest in state, padded for 256 bits.
template <transform_fn T>
void second_hash(std::uint8_t out[32], const std::uint32_t first[8]) noexcept {
    std::uint8_t block[64] = {};
    for (int i = 0; i < 8; ++i) store_be32(block + 4 * i, first[i]);
    block[32] = 0x80;
    block[62] = 0x01;  // 256 bits, big-endian
    std::array<std::uint32_t, 8> s = sha256_initial_state;
    T(s.data(), block, 1);
    for (int i = 0; i < 8; ++i) store_be32(out + 4 * i, s[i]);
}

template <transform_fn T>
void header_via(std::uint8_t out[32], const std::uint8_t header[80]) noexcept {
    std::uint8_t tail[64] = {};
    std::memcpy(tail, header + 64, 16);
    tail[16] = 0x80;
    tail[62] = 0x02;  // 640 bits, big-endian
    tail[63] = 0x80;
    std::array<std::uint32_t, 8> s = sha256_initial_state;
    T(s.data(), header, 1);
    T(s.data(), tail, 1);
    second_hash<T>(out, s.data());
}

template <transform_fn T>
void d64_via(std::uint8_t* out, const std::uint8_t* in, std::size_t n) noexcept {
    static constexpr std::uint8_t pad[64] = {0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                             0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                             0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                             0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x00};
    for (; n > 0; --n, in += 64, out += 32) {
        std::array<std::uint32_t, 8> s = sha256_initial_state;
        T(s.data(), in, 1);
        T(s.data(), pad, 1);
        second_hash<T>(out, s.data());
    }
}

constexpr impl_table generic_table{sha256_impl::generic, &detail::sha256_transform_generic,
                                   &header_via<&detail::sha256_transform_generic>,
                                   &d64_via<&detail::sha256_transform_generic>};

// ---- x86-64 flavours ----------------------------------------------------------------

#if defined(SB_X86_64)

void d64_shani(std::uint8_t* out, const std::uint8_t* in, std::size_t n) noexcept {
    for (; n >= 2; n -= 2, in += 128, out += 64) detail::sha256d64_shani_2way(out, in);
    if (n == 1) detail::sha256d64_shani_1way(out, in);
}

void d64_avx2(std::uint8_t* out, const std::uint8_t* in, std::size_t n) noexcept {
    for (; n >= 8; n -= 8, in += 512, out += 256) detail::sha256d64_avx2_8way(out, in);
    d64_via<&detail::sha256_transform_generic>(out, in, n);
}

// sha-ni: everything on the SHA unit. Measured on AMD EPYC (Zen) the two-way SHA-NI
// sha256d64 beats the eight-way AVX2 one (docs/PERFORMANCE.md), so a CPU with both
// uses this table for merkle levels too.
constexpr impl_table shani_table{sha256_impl::shani, &detail::sha256_transform_shani, &detail::sha256d_header_shani,
                                 &d64_shani};
// avx2: multi-buffer sha256d64 only; single hashes stay on the portable code.
constexpr impl_table avx2_table{sha256_impl::avx2, &detail::sha256_transform_generic,
                                &header_via<&detail::sha256_transform_generic>, &d64_avx2};

struct cpu_features {
    bool shani = false;
    bool avx2 = false;
};

// Intel SDM vol. 2A, CPUID: leaf 1 ECX bit 9 SSSE3, bit 19 SSE4.1, bit 27 OSXSAVE,
// bit 28 AVX; leaf 7 subleaf 0 EBX bit 5 AVX2, bit 29 SHA. AVX2 also needs the OS to
// save YMM state: XCR0 bits 1 (SSE) and 2 (AVX), read with XGETBV (SDM vol. 1 §13.3).
cpu_features detect_cpu() noexcept {
    cpu_features f;
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (__get_cpuid(1, &a, &b, &c, &d) == 0) return f;
    const bool ssse3 = (c >> 9) & 1, sse41 = (c >> 19) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    unsigned a7 = 0, b7 = 0, c7 = 0, d7 = 0;
    if (__get_cpuid_count(7, 0, &a7, &b7, &c7, &d7) == 0) return f;
    f.shani = ((b7 >> 29) & 1) && ssse3 && sse41;
    if (osxsave && avx && ((b7 >> 5) & 1)) {
        unsigned xcr0_lo = 0, xcr0_hi = 0;
        __asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
        f.avx2 = (xcr0_lo & 0x6) == 0x6;
    }
    return f;
}

const cpu_features& cpu() noexcept {
    static const cpu_features f = detect_cpu();
    return f;
}

#endif  // SB_X86_64

// The table of impl when this CPU and build have it, else nullptr.
const impl_table* table_for(sha256_impl impl) noexcept {
    switch (impl) {
    case sha256_impl::generic: return &generic_table;
#if defined(SB_X86_64)
    case sha256_impl::shani: return cpu().shani ? &shani_table : nullptr;
    case sha256_impl::avx2: return cpu().avx2 ? &avx2_table : nullptr;
#else
    case sha256_impl::shani:
    case sha256_impl::avx2: return nullptr;
#endif
    }
    return nullptr;
}

// ---- known-answer self-test ---------------------------------------------------------

constexpr std::uint8_t hex_nibble(char c) noexcept {
    return static_cast<std::uint8_t>(c <= '9' ? c - '0' : c - 'a' + 10);
}
template <std::size_t N>
constexpr std::array<std::uint8_t, N> from_hex_literal(const char (&s)[2 * N + 1]) noexcept {
    std::array<std::uint8_t, N> out{};
    for (std::size_t i = 0; i < N; ++i) out[i] = static_cast<std::uint8_t>(hex_nibble(s[2 * i]) << 4 | hex_nibble(s[2 * i + 1]));
    return out;
}

// FIPS 180-2 appendix B.1 and B.2 (kept in the FIPS 180-4 examples).
constexpr auto abc_digest = from_hex_literal<32>("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
constexpr auto two_block_digest =
    from_hex_literal<32>("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
// Bitcoin mainnet genesis block header and its sha256d (internal order).
constexpr auto genesis_header = from_hex_literal<80>(
    "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3"
    "888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c");
constexpr auto genesis_sha256d =
    from_hex_literal<32>("6fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000");

bool digest_is(const std::array<std::uint32_t, 8>& s, const std::array<std::uint8_t, 32>& want) noexcept {
    std::uint8_t got[32];
    for (int i = 0; i < 8; ++i) store_be32(got + 4 * i, s[i]);
    return std::memcmp(got, want.data(), 32) == 0;
}

bool self_test(const impl_table& t) noexcept {
    // Compression, one block: "abc" padded by hand (FIPS 180-4 §5.1.1).
    {
        std::uint8_t block[64] = {'a', 'b', 'c', 0x80};
        block[63] = 24;
        std::array<std::uint32_t, 8> s = sha256_initial_state;
        t.transform(s.data(), block, 1);
        if (!digest_is(s, abc_digest)) return false;
    }
    // Compression, two blocks in one call: the 448-bit message.
    {
        std::uint8_t blocks[128] = {};
        std::memcpy(blocks, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56);
        blocks[56] = 0x80;
        blocks[126] = 0x01;  // 448 bits = 0x1c0
        blocks[127] = 0xc0;
        std::array<std::uint32_t, 8> s = sha256_initial_state;
        t.transform(s.data(), blocks, 2);
        if (!digest_is(s, two_block_digest)) return false;
    }
    // Header path: the genesis block, then a header with every byte in play, against
    // the portable path.
    std::uint8_t data[64 * 19];
    std::uint32_t x = 0x2545f491u;
    for (auto& byte : data) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;  // xorshift32: any fixed spread of bytes
        byte = static_cast<std::uint8_t>(x);
    }
    {
        std::uint8_t got[32], want[32];
        t.header(got, genesis_header.data());
        if (std::memcmp(got, genesis_sha256d.data(), 32) != 0) return false;
        t.header(got, data);
        generic_table.header(want, data);
        if (std::memcmp(got, want, 32) != 0) return false;
    }
    // Multi-block compression and 19 sha256d64 inputs (every batch width plus remainders)
    // against the portable code, which the vectors above pin down.
    {
        std::array<std::uint32_t, 8> s = sha256_initial_state, r = sha256_initial_state;
        t.transform(s.data(), data, 19);
        detail::sha256_transform_generic(r.data(), data, 19);
        if (s != r) return false;
        std::uint8_t got[32 * 19], want[32 * 19];
        t.d64(got, data, 19);
        generic_table.d64(want, data, 19);
        if (std::memcmp(got, want, sizeof got) != 0) return false;
    }
    return true;
}

// ---- the active table -----------------------------------------------------------------

std::atomic<const impl_table*> active_table{nullptr};

bool parse_impl(std::string_view name, sha256_impl& impl) noexcept {
    for (const sha256_impl i : {sha256_impl::generic, sha256_impl::shani, sha256_impl::avx2}) {
        if (to_string(i) == name) {
            impl = i;
            return true;
        }
    }
    return false;
}

const impl_table* choose_at_startup() noexcept {
    if (const char* env = std::getenv("SB_SHA256_IMPL"); env != nullptr && *env != '\0') {
        sha256_impl wanted{};
        const impl_table* t = parse_impl(env, wanted) ? table_for(wanted) : nullptr;
        if (t != nullptr && self_test(*t)) return t;
        // Start-up only, and silently ignoring the override would mislead a benchmark.
        std::fprintf(stderr, "solobridge: SB_SHA256_IMPL=%s is unknown, unsupported or fails its self-test; "
                             "choosing automatically\n", env);
    }
    // Fastest first: SHA-NI wins single hashes and, where measured, merkle levels too.
    for (const sha256_impl i : {sha256_impl::shani, sha256_impl::avx2}) {
        const impl_table* t = table_for(i);
        if (t != nullptr && self_test(*t)) return t;
    }
    return &generic_table;
}

const impl_table& init_active() noexcept {
    // A function-local static gives thread-safe once-only selection; the atomic then lets
    // sha256_force replace the choice.
    static const bool done = [] {
        const impl_table* expected = nullptr;
        active_table.compare_exchange_strong(expected, choose_at_startup(), std::memory_order_acq_rel);
        return true;
    }();
    (void)done;
    return *active_table.load(std::memory_order_acquire);
}

inline const impl_table& active() noexcept {
    if (const impl_table* t = active_table.load(std::memory_order_acquire)) [[likely]]
        return *t;
    return init_active();
}

}  // namespace

namespace detail {
sha256_transform_fn sha256_active_transform() noexcept { return active().transform; }
}  // namespace detail

std::string_view to_string(sha256_impl impl) noexcept {
    switch (impl) {
    case sha256_impl::generic: return "generic";
    case sha256_impl::shani: return "sha-ni";
    case sha256_impl::avx2: return "avx2";
    }
    return "?";
}

std::vector<sha256_impl> sha256_supported() {
    std::vector<sha256_impl> out;
    for (const sha256_impl i : {sha256_impl::generic, sha256_impl::shani, sha256_impl::avx2})
        if (table_for(i) != nullptr) out.push_back(i);
    return out;
}

sha256_impl sha256_active() noexcept { return active().impl; }

bool sha256_force(sha256_impl impl) noexcept {
    init_active();  // a later first use must not overwrite the forced choice
    const impl_table* t = table_for(impl);
    if (t == nullptr || !self_test(*t)) return false;
    active_table.store(t, std::memory_order_release);
    return true;
}

bool sha256_self_test(sha256_impl impl) noexcept {
    const impl_table* t = table_for(impl);
    return t != nullptr && self_test(*t);
}

hash256 sha256d_header(const std::uint8_t header[80]) noexcept {
    hash256 h;
    active().header(h.data(), header);
    return h;
}

void sha256d64(std::uint8_t* out, const std::uint8_t* in, std::size_t n) noexcept {
    if (n > 0) active().d64(out, in, n);
}

}  // namespace sb
