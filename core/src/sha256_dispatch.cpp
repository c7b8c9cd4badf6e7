// Runtime selection of the SHA-256 implementation (placeholder: generic only; the
// hardware implementations and their self-tests are added beside this file).
#include <cstring>

#include "sb/core/bytes.hpp"
#include "sb/core/sha256.hpp"

namespace sb {
namespace detail {
using sha256_transform_fn = void (*)(std::uint32_t state[8], const std::uint8_t* blocks, std::size_t n) noexcept;
sha256_transform_fn sha256_active_transform() noexcept { return &sha256_transform_generic; }
}  // namespace detail

std::string_view to_string(sha256_impl impl) noexcept {
    switch (impl) {
    case sha256_impl::generic: return "generic";
    case sha256_impl::shani: return "sha-ni";
    case sha256_impl::avx2: return "avx2";
    }
    return "?";
}

std::vector<sha256_impl> sha256_supported() { return {sha256_impl::generic}; }
sha256_impl sha256_active() noexcept { return sha256_impl::generic; }
bool sha256_force(sha256_impl impl) noexcept { return impl == sha256_impl::generic; }
bool sha256_self_test(sha256_impl impl) noexcept { return impl == sha256_impl::generic; }

hash256 sha256d_header(const std::uint8_t header[80]) noexcept { return sha256d({header, 80}); }

void sha256d64(std::uint8_t* out, const std::uint8_t* in, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
        const hash256 h = sha256d({in + 64 * i, 64});
        std::memcpy(out + 32 * i, h.data(), 32);
    }
}

}  // namespace sb
