#include "sb/core/merkle.hpp"

#include <algorithm>
#include <cstdint>

#include "sb/core/tx.hpp"

namespace sb {
namespace {

// Levels are hashed as contiguous arrays of 64-byte pairs through sha256d64.
static_assert(sizeof(hash256) == 32, "hash256 arrays must be contiguous 32-byte nodes");

// Replaces level (even size) by its parents, using scratch as output space.
void reduce_level(std::vector<hash256>& level, std::vector<hash256>& scratch) {
    const std::size_t parents = level.size() / 2;
    scratch.resize(parents);
    sha256d64(scratch.front().data(), level.front().data(), parents);
    level.swap(scratch);
}

}  // namespace

hash256 merkle_root(std::vector<hash256> leaves, bool* mutated) {
    bool mut = false;
    if (leaves.empty()) {
        if (mutated) *mutated = false;
        return hash256{};
    }
    std::vector<hash256> scratch;
    scratch.reserve(leaves.size() / 2 + 1);
    while (leaves.size() > 1) {
        for (std::size_t i = 0; i + 1 < leaves.size(); i += 2)
            if (leaves[i] == leaves[i + 1]) mut = true;
        if (leaves.size() % 2 != 0) leaves.push_back(leaves.back());
        reduce_level(leaves, scratch);
    }
    if (mutated) *mutated = mut;
    return leaves.front();
}

hash256 merkle_root(const block& b) {
    std::vector<hash256> leaves;
    leaves.reserve(b.txs.size());
    for (const transaction& tx : b.txs) leaves.push_back(txid(tx));
    return merkle_root(std::move(leaves));
}

hash256 witness_merkle_root(const block& b) {
    std::vector<hash256> leaves;
    leaves.reserve(b.txs.size());
    for (std::size_t i = 0; i < b.txs.size(); ++i) leaves.push_back(i == 0 ? hash256{} : wtxid(b.txs[i]));
    return merkle_root(std::move(leaves));
}

bytes witness_commitment_script(const hash256& witness_root, const hash256& reserved_value) {
    static constexpr std::uint8_t prefix[] = {0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed};
    std::uint8_t pair[64];
    std::copy(witness_root.begin(), witness_root.end(), pair);
    std::copy(reserved_value.begin(), reserved_value.end(), pair + 32);
    const hash256 commitment = sha256d(pair);
    byte_writer out(sizeof prefix + commitment.size());
    out.raw(prefix);
    out.raw(commitment);
    return out.take();
}

std::vector<hash256> coinbase_merkle_branch(std::span<const hash256> txids_excluding_coinbase) {
    // rest holds the nodes at positions 1.. of the current level; position 0, on the
    // coinbase's path, is unknown here and never needed: its sibling is rest[0].
    std::vector<hash256> branch;
    std::vector<hash256> rest(txids_excluding_coinbase.begin(), txids_excluding_coinbase.end());
    std::vector<hash256> scratch;
    while (!rest.empty()) {
        branch.push_back(rest.front());
        // Positions 2.. pair among themselves; the full level has an odd size exactly
        // when they are odd in number, and then its last node is duplicated.
        rest.erase(rest.begin());
        if (rest.size() % 2 != 0) rest.push_back(rest.back());
        if (!rest.empty()) reduce_level(rest, scratch);
    }
    return branch;
}

hash256 fold_coinbase_branch(const hash256& coinbase_txid, std::span<const hash256> branch) noexcept {
    hash256 h = coinbase_txid;
    std::uint8_t pair[64];
    for (const hash256& b : branch) {
        std::copy(h.begin(), h.end(), pair);
        std::copy(b.begin(), b.end(), pair + 32);
        sha256d64(h.data(), pair, 1);
    }
    return h;
}

}  // namespace sb
