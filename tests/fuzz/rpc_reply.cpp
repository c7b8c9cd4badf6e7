// Fuzz target: the JSON-RPC reply envelope (single and batch), the submitblock verdict,
// the BIP23 proposal verdict, getblockchaininfo and the P2P anchor's and the found-block
// watch's getblockhash/getblockheader readers, fed the node's bytes, and the node health
// states drawn from them (classify_failure, check_chain). Nothing may crash, and every
// outcome must be coherent (an error code on failure, a bounded message without control
// characters, since it reaches log lines and alerts; a value on success).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sb/core/chain.hpp"
#include "sb/core/hex.hpp"
#include "sb/node/internal/json.hpp"
#include "sb/node/limits.hpp"
#include "sb/node/node_health.hpp"
#include "sb/node/node_rpc.hpp"
#include "sb/node/rpc_reply.hpp"

namespace {

bool no_controls(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
    return true;
}

// The state a failed call shows follows the error, and its text stays printable.
void check_health(const sb::node::rpc_error& e) {
    using sb::node::node_state;
    const auto p = sb::node::classify_failure("getblocktemplate", e);
    if (!no_controls(p.text) || !p.text.starts_with("getblocktemplate: ")) std::abort();
    node_state want = node_state::failing;
    if (e.code == sb::node::node_errc::unauthorized) want = node_state::unauthorized;
    if (e.code == sb::node::node_errc::rpc_error) {
        if (e.rpc_code == sb::node::rpc_code_in_warmup) want = node_state::starting;
        if (e.rpc_code == sb::node::rpc_code_client_in_initial_download) want = node_state::syncing;
        if (e.rpc_code == sb::node::rpc_code_client_not_connected) want = node_state::no_peers;
    }
    if (p.state != want) std::abort();
}

void check(const sb::node::rpc_reply& r) {
    if (r.ok()) {
        // A usable value of a successful reply must be readable by the typed parsers.
        const auto verdict = sb::node::parse_submit_verdict(json_of(r.value));
        if (verdict && verdict->reason.size() > sb::node::max_node_text_bytes) std::abort();
        if (const auto info = sb::node::parse_blockchain_info(json_of(r.value))) {
            if (!no_controls(info->chain) || info->chain.size() > sb::node::max_node_text_bytes) std::abort();
            // The node's own genesis (the configured one) and another: wrong_chain only for the second.
            const auto& chain = sb::params(sb::network::bitcoin_mainnet);
            const auto same = sb::node::check_chain(*info, sb::to_hex_reversed(chain.genesis_hash), chain);
            if (same && (same->state != sb::node::node_state::syncing || !*info->initialblockdownload)) std::abort();
            const auto other = sb::node::check_chain(*info, std::string(64, '0'), chain);
            if (!other || other->state != sb::node::node_state::wrong_chain || !no_controls(other->text)) std::abort();
        }
        // The P2P anchor's readers (getblockhash, getblockheader verbose and raw).
        const auto hash = sb::node::parse_block_hash(json_of(r.value));
        if (hash && hash->size() != 64) std::abort();
        const auto summary = sb::node::parse_block_header_summary(json_of(r.value));
        if (summary && summary->height < 0) std::abort();
        const auto raw = sb::node::parse_block_header_raw(json_of(r.value));
        if (raw && (raw->size() < 80 || raw->size() > 120)) std::abort();
        // The doctor's BIP23 proposal verdict: valid exactly for null, else a bounded reason.
        const auto proposal = sb::node::parse_proposal_verdict(json_of(r.value));
        if (proposal && (proposal->valid != json_of(r.value).IsNull() || proposal->valid != proposal->reason.empty() ||
                         proposal->reason.size() > sb::node::max_node_text_bytes))
            std::abort();
        return;
    }
    if (r.error.code.category() != sb::node::node_category()) std::abort();
    if (!no_controls(r.error.message)) std::abort();
    check_health(r.error);
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
