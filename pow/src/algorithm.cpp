#include "sb/pow/algorithm.hpp"

#include <algorithm>
#include <limits>

#include "sb/core/ravencoin.hpp"
#include "sb/pow/kawpow.hpp"

namespace sb::pow {
namespace {

class sha256d_headers final : public header_algorithm {
public:
    pow_algorithm id() const noexcept override { return pow_algorithm::sha256d; }
    std::string_view name() const noexcept override { return "sha256d"; }
    std::size_t header_bytes() const noexcept override { return classic_header_bytes; }
    std::optional<hash256> block_hash(byte_span block) const noexcept override {
        if (block.size() < classic_header_bytes) return std::nullopt;
        return sha256d(block.first(classic_header_bytes));
    }
};

class kawpow_headers final : public header_algorithm {
public:
    pow_algorithm id() const noexcept override { return pow_algorithm::kawpow; }
    std::string_view name() const noexcept override { return "kawpow"; }
    std::size_t header_bytes() const noexcept override { return kawpow_header_bytes; }
    std::optional<hash256> block_hash(byte_span block) const noexcept override {
        if (block.size() < kawpow_header_bytes) return std::nullopt;
        const auto h = ravencoin::parse_kawpow_header(block.first<ravencoin::kawpow_header_size>());
        // The final hash reads big-endian; a block hash is kept in internal (little-endian) order.
        hash256 final_hash = kawpow::final_hash_from_mix(h.header_hash(), h.mix_hash, h.nonce64);
        std::reverse(final_hash.begin(), final_hash.end());
        return final_hash;
    }
};

}  // namespace

const header_algorithm& header_algorithm_of(pow_algorithm a) noexcept {
    static const sha256d_headers sha256d_algo;
    static const kawpow_headers kawpow_algo;
    return a == pow_algorithm::kawpow ? static_cast<const header_algorithm&>(kawpow_algo) : sha256d_algo;
}

pow_algorithm mined_algorithm(const chain_params& chain) noexcept {
    return chain.algorithm_at(std::numeric_limits<std::uint32_t>::max());
}

}  // namespace sb::pow
