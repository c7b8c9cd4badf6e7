// SHA-256: spec vectors, properties, and every implementation this CPU supports checked
// against OpenSSL and against the portable code.
#include <doctest/doctest.h>

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "sb/core/bytes.hpp"
#include "sb/core/hex.hpp"
#include "sb/core/sha256.hpp"
#include "seed.hpp"
#include "vectors.hpp"

using namespace sb;

namespace {

// Puts back the implementation that was active when a test began.
struct active_impl_guard {
    sha256_impl saved = sha256_active();
    active_impl_guard() = default;
    active_impl_guard(const active_impl_guard&) = delete;
    active_impl_guard& operator=(const active_impl_guard&) = delete;
    ~active_impl_guard() { sha256_force(saved); }
};

std::string name(sha256_impl impl) { return std::string(to_string(impl)); }

hash256 openssl_sha256(std::span<const std::uint8_t> data) {
    hash256 out{};
    unsigned len = 0;
    REQUIRE(EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) == 1);
    REQUIRE(len == 32);
    return out;
}

hash256 openssl_sha256d(std::span<const std::uint8_t> data) { return openssl_sha256(openssl_sha256(data)); }

bytes random_bytes(std::mt19937_64& rng, std::size_t n) {
    bytes b(n);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    return b;
}

hash256 hash_of(std::string_view s) {
    return sha256_hash({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
}

std::string hex(const hash256& h) { return to_hex(h); }

// Runs body once with each supported implementation forced, then restores the original.
template <class Body>
void for_each_impl(Body body) {
    active_impl_guard guard;
    for (const sha256_impl impl : sha256_supported()) {
        INFO("implementation: " << name(impl));
        REQUIRE(sha256_force(impl));
        REQUIRE(sha256_active() == impl);
        body(impl);
    }
}

}  // namespace

// FIPS 180-4 examples (NIST CSRC "SHA-256" example values, and FIPS 180-2 appendix B).
TEST_CASE("sha256: FIPS example messages give the published digests with every implementation") {
    for_each_impl([](sha256_impl) {
        CHECK(hex(hash_of("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        CHECK(hex(hash_of("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        CHECK(hex(hash_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
        CHECK(hex(hash_of("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
                          "mnopqrstnopqrstu")) == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
        // One million 'a', fed in uneven pieces so that blocks straddle writes.
        const std::string piece(997, 'a');
        sha256 h;
        std::size_t left = 1000000;
        while (left > 0) {
            const std::size_t take = std::min(left, piece.size());
            h.write({reinterpret_cast<const std::uint8_t*>(piece.data()), take});
            left -= take;
        }
        CHECK(hex(h.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    });
}

// A message of 56 bytes mod 64 or more leaves no room for the 0x80 byte and the 8-byte
// length (FIPS 180-4 §5.1.1), so padding spills into one more block.
TEST_CASE("sha256: padding boundaries one byte either side agree with OpenSSL") {
    for_each_impl([](sha256_impl) {
        for (const std::size_t edge : {55u, 56u, 64u, 119u, 120u, 128u}) {
            for (std::size_t n = edge - 1; n <= edge + 1; ++n) {
                const bytes msg(n, static_cast<std::uint8_t>(n));
                INFO("length " << n);
                CHECK(sha256_hash(msg) == openssl_sha256(msg));
            }
        }
    });
}

TEST_CASE("sha256: incremental hashing equals one-shot at every split point") {
    auto rng = test::seeded_rng(0x5a256);
    const bytes msg = random_bytes(rng, 200);
    const hash256 want = openssl_sha256(msg);
    const std::span<const std::uint8_t> all(msg);
    for_each_impl([&](sha256_impl) {
        for (std::size_t i = 0; i <= msg.size(); ++i) {
            INFO("split at " << i);
            sha256 h;
            h.write(all.first(i)).write(all.subspan(i));
            CHECK(h.finalize() == want);
            // Three pieces, the second possibly empty.
            const std::size_t j = i + (rng() % (msg.size() - i + 1));
            sha256 h3;
            h3.write(all.first(i)).write(all.subspan(i, j - i)).write(all.subspan(j));
            CHECK(h3.finalize() == want);
        }
        // An empty piece with no storage (libstdc++'s empty vector has null data) after a
        // partial block changes nothing (UBSan refuses memcpy from a null pointer).
        const bytes none;
        sha256 hn;
        hn.write(all.first(17)).write(none).write(all.subspan(17));
        CHECK(hn.finalize() == want);
        // reset() makes the object reusable.
        sha256 h;
        h.write(all.first(17));
        h.reset();
        h.write(all);
        CHECK(h.finalize() == want);
    });
}

TEST_CASE("sha256: every implementation matches OpenSSL on random lengths") {
    auto rng = test::seeded_rng(0x055a1);
    for_each_impl([&](sha256_impl) {
        for (std::size_t n = 0; n <= 300; ++n) {
            const bytes msg = random_bytes(rng, n);
            INFO("length " << n);
            CHECK(sha256_hash(msg) == openssl_sha256(msg));
            CHECK(sha256d(msg) == openssl_sha256d(msg));
        }
    });
}

TEST_CASE("sha256: the header fast path equals sha256d of the same 80 bytes") {
    auto rng = test::seeded_rng(0x80);
    for_each_impl([&](sha256_impl) {
        for (int i = 0; i < 300; ++i) {
            const bytes header = random_bytes(rng, 80);
            const hash256 want = openssl_sha256d(header);
            CHECK(sha256d_header(header.data()) == want);
            CHECK(sha256d(header) == want);
        }
    });
}

TEST_CASE("sha256: sha256d64 matches sha256d per node for every batch size from 0 to 20") {
    auto rng = test::seeded_rng(0x64);
    constexpr std::size_t max_n = 20;
    const bytes in = random_bytes(rng, 64 * max_n);
    std::vector<hash256> want(max_n);
    for (std::size_t i = 0; i < max_n; ++i) want[i] = openssl_sha256d({in.data() + 64 * i, 64});

    for_each_impl([&](sha256_impl) {
        for (std::size_t n = 0; n <= max_n; ++n) {
            INFO("batch of " << n);
            // Canary bytes after the n digests must survive: nothing is written past 32n.
            bytes out(32 * max_n + 32, 0xa5);
            sha256d64(out.data(), in.data(), n);
            for (std::size_t i = 0; i < n; ++i) CHECK(std::memcmp(out.data() + 32 * i, want[i].data(), 32) == 0);
            CHECK(std::all_of(out.begin() + static_cast<std::ptrdiff_t>(32 * n), out.end(),
                              [](std::uint8_t b) { return b == 0xa5; }));
        }
        // Input that is not 32-byte aligned reaches the vector loads unaligned.
        bytes shifted(64 * 9 + 1);
        std::memcpy(shifted.data() + 1, in.data(), 64 * 9);
        bytes out(32 * 9 + 1);
        sha256d64(out.data() + 1, shifted.data() + 1, 9);
        for (std::size_t i = 0; i < 9; ++i) CHECK(std::memcmp(out.data() + 1 + 32 * i, want[i].data(), 32) == 0);
    });
}

// tests/vectors/sha256d_kernel.json: Bitcoin mainnet blocks 0 and 1 (see its "source").
TEST_CASE("sha256: midstate and digests of Bitcoin blocks match the kernel vectors") {
    const auto& doc = test::vector_json("sha256d_kernel.json");
    REQUIRE(doc.HasMember("blocks"));
    const auto& blocks = doc["blocks"];
    REQUIRE(blocks.Size() >= 2);
    for_each_impl([&](sha256_impl) {
        for (const auto& b : blocks.GetArray()) {
            INFO(b["name"].GetString());
            const auto header = from_hex_fixed<80>(b["header80_hex"].GetString());
            REQUIRE(header);

            std::ostringstream mid;
            const auto midstate = sha256_midstate(header->data());
            for (std::size_t i = 0; i < 8; ++i) {
                char word[9];
                std::snprintf(word, sizeof word, "%08x", midstate[i]);
                mid << (i ? " " : "") << word;
            }
            CHECK(mid.str() == b["midstate_be_words"].GetString());

            CHECK(hex(sha256_hash(*header)) == b["sha256_header_digest"].GetString());
            const hash256 d = sha256d_header(header->data());
            CHECK(hex(d) == b["sha256d_digest"].GetString());
            CHECK(hex(sha256d(*header)) == b["sha256d_digest"].GetString());
            CHECK(to_hex_reversed(d) == b["block_hash_display"].GetString());
            // H7 == 0: the last four digest bytes, the leading zeros of the display hash.
            CHECK(load_be32(d.data() + 28) == 0);
        }
    });
}

TEST_CASE("sha256: every supported implementation passes its self-test and generic is always there") {
    const auto supported = sha256_supported();
    REQUIRE(!supported.empty());
    CHECK(supported.front() == sha256_impl::generic);
    CHECK(std::find(supported.begin(), supported.end(), sha256_active()) != supported.end());
    for (const sha256_impl impl : supported) {
        INFO("implementation: " << name(impl));
        CHECK(sha256_self_test(impl));
    }
}

TEST_CASE("sha256: forcing an unsupported implementation fails and keeps the active one") {
    active_impl_guard guard;
    const auto supported = sha256_supported();
    for (const sha256_impl start : supported) {
        REQUIRE(sha256_force(start));
        // An out-of-range value is unsupported everywhere; real ones only on some CPUs.
        std::vector<sha256_impl> absent{static_cast<sha256_impl>(99)};
        for (const sha256_impl impl : {sha256_impl::generic, sha256_impl::shani, sha256_impl::avx2})
            if (std::find(supported.begin(), supported.end(), impl) == supported.end()) absent.push_back(impl);
        for (const sha256_impl impl : absent) {
            INFO("forcing " << static_cast<int>(impl) << " while " << name(start) << " is active");
            CHECK_FALSE(sha256_force(impl));
            CHECK_FALSE(sha256_self_test(impl));
            CHECK(sha256_active() == start);
            CHECK(hex(hash_of("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        }
    }
    CHECK(to_string(static_cast<sha256_impl>(99)) == "?");
}

TEST_CASE("sha256: implementation names are the ones SB_SHA256_IMPL accepts") {
    CHECK(to_string(sha256_impl::generic) == "generic");
    CHECK(to_string(sha256_impl::shani) == "sha-ni");
    CHECK(to_string(sha256_impl::avx2) == "avx2");
}
