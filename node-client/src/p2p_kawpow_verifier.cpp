#include "sb/node/p2p/kawpow_verifier.hpp"

#include <string>

#include "sb/pow/ethash.hpp"
#include "sb/pow/kawpow.hpp"

namespace sb::node::p2p {

kawpow_verifier make_kawpow_verifier(logger log) {
    return [log = std::move(log)](const ravencoin::kawpow_header& h, kawpow_check check,
                                  hash256& final_hash) -> std::error_code {
        const hash256 header_hash = h.header_hash();
        if (check == kawpow_check::hash_only) {
            final_hash = pow::kawpow::final_hash_from_mix(header_hash, h.mix_hash, h.nonce64);
            return {};
        }
        const int epoch = pow::ethash::epoch_number(h.height);
        if (epoch > pow::ethash::max_epoch) return make_error_code(p2p_errc::header_high_hash);
        auto& cache = pow::ethash::global_epoch_cache();
        pow::ethash::context_ptr ctx = cache.find(epoch);
        if (!ctx) {
            log("p2p: building KAWPOW epoch " + std::to_string(epoch) +
                    " to check P2P headers (seconds; the check waits for it)");
            try {
                ctx = cache.get(epoch);
            } catch (const std::exception&) {
                // Out of memory: the header cannot be checked now; not the peer's fault,
                // but it must not be accepted either.
                return make_error_code(p2p_errc::header_unsupported_pow);
            }
        }
        const auto r = pow::kawpow::hash(*ctx, h.height, header_hash, h.nonce64);
        if (r.mix_hash != h.mix_hash) return make_error_code(p2p_errc::header_invalid_mix);
        final_hash = r.final_hash;
        return {};
    };
}

}  // namespace sb::node::p2p
