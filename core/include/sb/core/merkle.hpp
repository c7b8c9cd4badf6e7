// Bitcoin merkle trees: the header's merkle root over txids, the BIP141 witness root and
// commitment, and the stratum merkle branch that lets a miner rebuild the root from the
// coinbase alone (stratum.md §3, node.md §4.3).
//
// Byte order: every hash256 in and out of this header is in internal order (sha256d
// output as serialized in headers and stratum branches); displays reverse it.
#pragma once

#include <span>
#include <vector>

#include "sb/core/block.hpp"
#include "sb/core/bytes.hpp"
#include "sb/core/sha256.hpp"

namespace sb {

// Merkle root of leaves: each level pairs neighbours as sha256d(left || right), an odd
// level duplicating its last node, until one node is left. One leaf is its own root; no
// leaves give 32 zero bytes (as Core). When mutated is given it is set to whether some
// level had two equal neighbours in a pair (the CVE-2012-2459 duplicate-tx mutation).
hash256 merkle_root(std::vector<hash256> leaves, bool* mutated = nullptr);

// Root over the block's txids: the value its header should carry.
hash256 merkle_root(const block& b);

// BIP141 witness root: leaves are the wtxids, with the coinbase's replaced by 32 zeros.
hash256 witness_merkle_root(const block& b);

// BIP141 commitment output script (38 bytes):
// 6a 24 aa21a9ed || sha256d(witness_root || reserved_value). reserved_value is the
// coinbase input's single witness item (32 zero bytes in Core's templates).
bytes witness_commitment_script(const hash256& witness_root, const hash256& reserved_value);

// Stratum merkle branch for the coinbase (leaf 0): given the txids of every other
// transaction in block order, the sibling of the coinbase's path at each level, bottom
// first. ceil(log2(1 + size)) entries; empty when the coinbase is alone.
std::vector<hash256> coinbase_merkle_branch(std::span<const hash256> txids_excluding_coinbase);

// Miner side of the branch: h = coinbase_txid; for each b: h = sha256d(h || b).
// With the branch from coinbase_merkle_branch this is the block's merkle root.
hash256 fold_coinbase_branch(const hash256& coinbase_txid, std::span<const hash256> branch) noexcept;

}  // namespace sb
