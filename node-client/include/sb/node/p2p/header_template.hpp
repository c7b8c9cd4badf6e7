// Header-only work: a coinbase-only block template on top of the P2P-validated tip, for
// mining on while the node's RPC is unreachable (issue 6, optional mode). No I/O.
#pragma once

#include <cstdint>

#include "sb/core/result.hpp"
#include "sb/node/p2p/header_chain.hpp"
#include "sb/node/template.hpp"

namespace sb::node::p2p {

// Version of header-only blocks: BIP9 top bits, nothing signalled.
inline constexpr std::int32_t header_only_block_version = 0x20000000;

// Whether blocks of chain can be built from its headers alone: SHA-256d blocks, not on
// signet, whose blocks need a signature the bridge cannot make (BIP325).
bool header_only_work_possible(const chain_params& chain) noexcept;

// The template of the block after chain.tip(): height tip + 1, prev_block the tip, bits
// by the chain's retarget rule (next_work_required; off a retarget boundary the tip's
// bits when the ancestors it needs are not held), mintime the median time past + 1,
// curtime max(now_s, mintime), coinbase value the subsidy at that height (no fees: no
// transactions), no witness commitment (none is needed without witness data).
// Errors: header_unsupported_pow (not header_only_work_possible), header_bad_diffbits
// (the required bits cannot be derived from the headers held).
result<block_template> header_only_template(const header_chain& chain, std::int64_t now_s);

}  // namespace sb::node::p2p
