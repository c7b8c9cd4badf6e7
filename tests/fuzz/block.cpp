// Fuzz target: the block parser must never crash and, for what it accepts, re-serialize
// to the input; the merkle root, the stratum coinbase branch and the per-transaction
// direct txids must agree on what they compute.
#include <algorithm>
#include <cstdlib>
#include <vector>

#include "sb/core/block.hpp"
#include "sb/core/merkle.hpp"
#include "sb/core/tx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const sb::byte_span in(data, size);
    auto b = sb::parse_block(in);
    if (!b) return 0;
    if (b->txs.empty()) std::abort();
    const sb::bytes back = sb::serialize_block(*b, true);
    if (back.size() != size || !std::equal(back.begin(), back.end(), data)) std::abort();

    sb::byte_reader r(in);
    auto header = sb::parse_header(r);
    if (!header || !(*header == b->header)) std::abort();
    if (sb::parse_header(in.first<sb::block_header_size>()).hash() != b->header.hash()) std::abort();
    if (!r.compact_size()) std::abort();
    std::vector<sb::hash256> txids;
    for (const auto& tx : b->txs) {
        const std::size_t begin = r.position();
        if (!sb::parse_transaction(r)) std::abort();
        auto id = sb::txid_from_serialized(in.subspan(begin, r.position() - begin));
        if (!id || *id != sb::txid(tx)) std::abort();
        txids.push_back(*id);
    }
    if (!r.empty()) std::abort();
    const sb::hash256 root = sb::merkle_root(*b);
    if (sb::merkle_root(txids) != root) std::abort();
    const auto branch = sb::coinbase_merkle_branch(std::span<const sb::hash256>(txids).subspan(1));
    if (sb::fold_coinbase_branch(txids[0], branch) != root) std::abort();
    return 0;
}
