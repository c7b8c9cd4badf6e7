// What state a node is in, as the template source sees it, and what an operator should do
// about each failure. Pure functions: the template source feeds them call outcomes and
// getblockchaininfo / getblockhash(0) replies; tests feed them the same.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "sb/core/chain.hpp"
#include "sb/node/node_rpc.hpp"
#include "sb/node/rpc_reply.hpp"

namespace sb::node {

// JSON-RPC error codes of Bitcoin Core (rpc/protocol.h), shared by Ravencoin.
inline constexpr int rpc_code_client_not_connected = -9;       // no peers (getblocktemplate, mainnet)
inline constexpr int rpc_code_client_in_initial_download = -10;  // still in initial block download
inline constexpr int rpc_code_in_warmup = -28;                  // loading the block index, verifying, …

// A node's state, from the first call that shows it. Only `connected` supplies templates.
enum class node_state {
    connecting,    // nothing answered yet
    connected,     // on the configured chain, synced, and its last template was usable
    down,          // no connection (refused, unreachable, lost) or no reply in time
    unauthorized,  // HTTP 401/403: credentials, cookie or rpcallowip
    starting,      // the node answers -28 while it loads (block index, wallet, verification)
    syncing,       // initial block download (-10, or initialblockdownload on a public network)
    no_peers,      // the node has no peers and refuses to hand out work (-9)
    wrong_chain,   // its genesis block is not the configured network's
    failing,       // it answers, but not with a usable template (RPC error, refused template, …)
};
// "connecting", "connected", "down", "unauthorized", "starting", "syncing", "no_peers",
// "wrong_chain", "failing": the words of /api/status.
std::string_view to_string(node_state s) noexcept;

// A state with the line that explains it (what failed, and what to do).
struct node_problem {
    node_state state = node_state::failing;
    std::string text;
};

// The state a failed call shows, with its explanation: connect_failed / connection_lost /
// timeout → down; unauthorized → unauthorized; RPC errors -28 / -10 / -9 → starting /
// syncing / no_peers; everything else → failing. `what` names the call
// ("getblocktemplate"). The rpc_client's texts already carry the connect and credential
// advice; the RPC-error states get theirs here.
node_problem classify_failure(std::string_view what, const rpc_error& e);

// Whether a node reporting `info` (getblockchaininfo) with genesis block `genesis_hex`
// (getblockhash 0, display order) may supply templates for `chain`: nullopt when it may;
// wrong_chain when the genesis differs (the chain name the node reports is only quoted:
// Bitcoin and Ravencoin mainnet both say "main"); syncing when the node reports
// initialblockdownload on any network but regtest (a fresh regtest chain counts as being
// in initial download until its first block, and nobody else will mine that block).
std::optional<node_problem> check_chain(const blockchain_info& info, std::string_view genesis_hex,
                                        const chain_params& chain);

}  // namespace sb::node
