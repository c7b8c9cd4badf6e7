// Fuzz target: one P2P block header in the wire layout of Bitcoin (80 bytes) and of
// Ravencoin (120-byte KAWPOW, or the 80-byte X16R layout refused). The reader must stop
// exactly after what it accepted, stay put on short input and skip the 80 bytes of a
// refused X16R header; an accepted header must serialize back to the bytes it came from
// and, for KAWPOW, convert to and from the 120-byte header losslessly.
#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "sb/core/bytes.hpp"
#include "sb/core/chain.hpp"
#include "sb/core/errors.hpp"
#include "sb/node/p2p/errors.hpp"
#include "sb/node/p2p/wire_header.hpp"

namespace p2p = sb::node::p2p;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

void exercise(sb::byte_span in, const sb::chain_params& chain) {
    sb::byte_reader r(in);
    auto h = p2p::read_wire_header(r, chain);
    if (!h) {
        if (h.error() == p2p::p2p_errc::header_unsupported_pow) {
            // Only a header of an algorithm the bridge cannot check (X16R, X16Rv2), by its nTime.
            const sb::pow_algorithm a = chain.algorithm_at(sb::load_le32(in.data() + 68));
            check((a == sb::pow_algorithm::x16r || a == sb::pow_algorithm::x16rv2) &&
                  r.position() == sb::block_header_size);
        } else {
            check(h.error() == sb::core_errc::read_past_end && r.position() == 0);
        }
        return;
    }
    check(r.position() == h->size());
    check(h->kawpow == (h->size() == sb::ravencoin::kawpow_header_size));
    check(!h->kawpow || chain.algorithm_at(h->base.time) == sb::pow_algorithm::kawpow);
    const sb::bytes back = h->serialize();
    check(back.size() == h->size() && std::equal(back.begin(), back.end(), in.begin()));
    if (h->kawpow) {
        const sb::ravencoin::kawpow_header k = h->to_kawpow();
        check(p2p::wire_header::from_kawpow(k) == *h);
        const auto raw = k.serialize();
        check(std::equal(raw.begin(), raw.end(), in.begin()));
        check(k.header_hash() == sb::ravencoin::kawpow_header_hash(k.serialize_input()));
    } else {
        check(h->base == sb::parse_header(in.first<sb::block_header_size>()));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const sb::byte_span in(data, size);
    exercise(in, sb::params(sb::network::bitcoin_mainnet));
    exercise(in, sb::params(sb::network::ravencoin_mainnet));
    exercise(in, sb::params(sb::network::ravencoin_regtest));
    return 0;
}
