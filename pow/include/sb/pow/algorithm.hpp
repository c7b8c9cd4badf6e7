// What differs per proof-of-work algorithm at the level of headers and blocks (issue 12,
// the lower half of the proof-of-work seam): the size of a serialized header and the hash
// that names a block. The node client, the found-block journal, the submitter and the
// dispatcher call this instead of branching on the coin. The mining half (jobs, share
// judging, block assembly, Stratum conventions) is bridge/dispatch/algorithm.hpp, built on
// this one; it lives in the bridge because it needs templates and jobs, while this half
// needs only bytes, so node-client can use it without the bridge.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "sb/core/bytes.hpp"
#include "sb/core/chain.hpp"
#include "sb/core/sha256.hpp"

namespace sb::pow {

class header_algorithm {
public:
    virtual ~header_algorithm() = default;

    virtual pow_algorithm id() const noexcept = 0;
    // "sha256d", "kawpow".
    virtual std::string_view name() const noexcept = 0;
    // Bytes of a serialized header (80; KAWPOW 120).
    virtual std::size_t header_bytes() const noexcept = 0;
    // The hash that names the block whose serialization starts with `block` (internal
    // order, as getblockhash shows reversed): SHA-256d of the 80-byte header; KAWPOW the
    // final hash implied by the header's mix hash (two keccak-f800, no DAG: it names the
    // block but does not prove its work). nullopt when `block` is shorter than a header.
    virtual std::optional<hash256> block_hash(byte_span block) const noexcept = 0;
};

// The algorithm of a: sha256d or kawpow. Precondition: one the bridge mines (not x16r or
// x16rv2, which it can neither mine nor verify).
const header_algorithm& header_algorithm_of(pow_algorithm a) noexcept;

// The algorithm of the blocks the bridge mines on chain now and from now on (Bitcoin:
// sha256d; Ravencoin: kawpow, since its activation in 2020).
pow_algorithm mined_algorithm(const chain_params& chain) noexcept;

}  // namespace sb::pow
