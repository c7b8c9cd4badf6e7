// SHA-256 front end: padding, incremental hashing, and the runtime choice of compression
// function. Multi-buffer and hardware implementations are selected in sha256_dispatch.
#include "sb/core/sha256.hpp"

#include <cstring>

#include "sb/core/bytes.hpp"

namespace sb {

namespace detail {
// Provided by sha256_dispatch.cpp: the active compression function.
using sha256_transform_fn = void (*)(std::uint32_t state[8], const std::uint8_t* blocks, std::size_t n) noexcept;
sha256_transform_fn sha256_active_transform() noexcept;
}  // namespace detail

void sha256::reset() noexcept {
    std::memcpy(state_, sha256_initial_state.data(), sizeof state_);
    bytes_ = 0;
}

sha256& sha256::write(std::span<const std::uint8_t> data) noexcept {
    // An empty span may hold a null pointer, which memcpy must not get even for 0 bytes.
    if (data.empty()) return *this;
    const auto transform = detail::sha256_active_transform();
    const std::uint8_t* p = data.data();
    std::size_t n = data.size();
    std::size_t used = bytes_ % 64;
    bytes_ += n;
    if (used != 0) {
        const std::size_t take = std::min<std::size_t>(64 - used, n);
        std::memcpy(buf_ + used, p, take);
        p += take; n -= take; used += take;
        if (used < 64) return *this;
        transform(state_, buf_, 1);
    }
    if (n >= 64) {
        transform(state_, p, n / 64);
        p += n / 64 * 64;
        n %= 64;
    }
    if (n > 0) std::memcpy(buf_, p, n);
    return *this;
}

void sha256::finalize(std::uint8_t out[32]) noexcept {
    static constexpr std::uint8_t pad[64] = {0x80};
    std::uint8_t len[8];
    const std::uint64_t bits = bytes_ << 3;
    for (int i = 0; i < 8; ++i) len[i] = std::uint8_t(bits >> (56 - 8 * i));
    write({pad, 1 + ((119 - (bytes_ % 64)) % 64)});
    write({len, 8});
    for (int i = 0; i < 8; ++i) store_be32(out + 4 * i, state_[i]);
}

hash256 sha256_hash(std::span<const std::uint8_t> data) noexcept {
    sha256 h;
    h.write(data);
    return h.finalize();
}

hash256 sha256d(std::span<const std::uint8_t> data) noexcept {
    const hash256 first = sha256_hash(data);
    return sha256_hash(first);
}

std::array<std::uint32_t, 8> sha256_midstate(const std::uint8_t first64[64]) noexcept {
    std::array<std::uint32_t, 8> s = sha256_initial_state;
    detail::sha256_active_transform()(s.data(), first64, 1);
    return s;
}

}  // namespace sb
