// Fuzz target: the JSON-RPC reply envelope (single and batch), the submitblock verdict,
// the BIP23 proposal verdict, getblockchaininfo and the P2P anchor's
// getblockhash/getblockheader readers, fed the
// node's bytes. Nothing may crash, and every outcome must be coherent (an error code on
// failure, a bounded message, a value on success).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "sb/node/limits.hpp"
#include "sb/node/node_rpc.hpp"
#include "sb/node/rpc_reply.hpp"

namespace {

void check(const sb::node::rpc_reply& r) {
    if (r.ok()) {
        // A usable value of a successful reply must be readable by the typed parsers.
        const auto verdict = sb::node::parse_submit_verdict(r.value.get());
        if (verdict && verdict->reason.size() > sb::node::max_node_text_bytes) std::abort();
        (void)sb::node::parse_blockchain_info(r.value.get());
        // The P2P anchor's readers (getblockhash, getblockheader verbose and raw).
        const auto hash = sb::node::parse_block_hash(r.value.get());
        if (hash && hash->size() != 64) std::abort();
        const auto summary = sb::node::parse_block_header_summary(r.value.get());
        if (summary && summary->height < 0) std::abort();
        const auto raw = sb::node::parse_block_header_raw(r.value.get());
        if (raw && (raw->size() < 80 || raw->size() > 120)) std::abort();
        // The doctor's BIP23 proposal verdict: valid exactly for null, else a bounded reason.
        const auto proposal = sb::node::parse_proposal_verdict(r.value.get());
        if (proposal && (proposal->valid != r.value.get().IsNull() || proposal->valid != proposal->reason.empty() ||
                         proposal->reason.size() > sb::node::max_node_text_bytes))
            std::abort();
        return;
    }
    if (r.error.code.category() != sb::node::node_category()) std::abort();
    (void)sb::node::proposal_unsupported(r.error);
    if (r.error.code == sb::node::node_errc::rpc_error && r.error.message.size() > sb::node::max_node_text_bytes)
        std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string body(reinterpret_cast<const char*>(data), size);
    check(sb::node::parse_reply(200, body, 1));
    check(sb::node::parse_reply(500, body, 1));
    const auto batch = sb::node::parse_batch_reply(200, body, 1, 3);
    if (batch.ok()) {
        if (batch.value.size() != 3) std::abort();
        for (const auto& r : batch.value) check(r);
    } else if (batch.error.code.category() != sb::node::node_category()) {
        std::abort();
    }
    return 0;
}
