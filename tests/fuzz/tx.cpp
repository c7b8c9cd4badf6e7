// Fuzz target: the transaction parser must never crash and, for what it accepts, be
// exact: re-serializing gives the input, the direct txid agrees with the parsed one, and
// the reader-based parse stops exactly at the end. Rejected input is rejected the same
// way by every entry point.
#include <algorithm>
#include <cstdlib>

#include "sb/core/sha256.hpp"
#include "sb/core/tx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const sb::byte_span in(data, size);
    auto tx = sb::parse_transaction(in);
    auto direct = sb::txid_from_serialized(in);
    sb::byte_reader r(in);
    auto streamed = sb::parse_transaction(r);
    if (!tx) {
        if (direct || direct.error() != tx.error()) std::abort();
        if (streamed) {
            if (tx.error() != sb::core_errc::tx_trailing_bytes || r.empty()) std::abort();
        } else if (r.position() != 0) {
            std::abort();
        }
        return 0;
    }
    if (!direct || !streamed || !r.empty()) std::abort();
    const sb::bytes with = sb::serialize(*tx, true);
    if (with.size() != size || !std::equal(with.begin(), with.end(), data)) std::abort();
    if (sb::serialized_size(*tx, true) != size) std::abort();
    const sb::bytes without = sb::serialize(*tx, false);
    if (sb::serialized_size(*tx, false) != without.size()) std::abort();
    if (tx->has_witness() == (without.size() == size)) std::abort();
    if (sb::txid(*tx) != *direct || sb::txid(*tx) != sb::sha256d(without)) std::abort();
    if (sb::wtxid(*tx) != sb::sha256d(in)) std::abort();
    if (!(*streamed == *tx)) std::abort();
    // The legacy form parses back to the same transaction less its witnesses, except for
    // the one shape it cannot express: no inputs but some outputs reads as a BIP144 marker.
    if (!tx->inputs.empty() || tx->outputs.empty()) {
        auto legacy = sb::parse_transaction(without);
        if (!legacy) std::abort();
        sb::transaction stripped = *tx;
        for (auto& txin : stripped.inputs) txin.witness.clear();
        if (!(*legacy == stripped)) std::abort();
    }
    return 0;
}
