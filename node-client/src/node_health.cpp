#include "sb/node/node_health.hpp"

#include "sb/core/hex.hpp"

namespace sb::node {

std::string_view to_string(node_state s) noexcept {
    switch (s) {
    case node_state::connecting: return "connecting";
    case node_state::connected: return "connected";
    case node_state::down: return "down";
    case node_state::unauthorized: return "unauthorized";
    case node_state::starting: return "starting";
    case node_state::syncing: return "syncing";
    case node_state::no_peers: return "no_peers";
    case node_state::wrong_chain: return "wrong_chain";
    case node_state::failing: return "failing";
    }
    return "unknown";
}

node_problem classify_failure(std::string_view what, const rpc_error& e) {
    const std::string prefix = std::string(what) + ": ";
    const auto code = e.code;
    if (code == node_errc::connect_failed || code == node_errc::connection_lost)
        return {node_state::down, prefix + e.to_string()};
    if (code == node_errc::timeout)
        return {node_state::down, prefix + e.to_string() + ": is the node overloaded or stuck (rpc_timeout_ms)?"};
    if (code == node_errc::unauthorized) return {node_state::unauthorized, prefix + e.to_string()};
    if (code == node_errc::rpc_error) {
        if (e.rpc_code == rpc_code_in_warmup)
            return {node_state::starting,
                    prefix + "node is still starting (" + e.message + "); work resumes when it has loaded"};
        if (e.rpc_code == rpc_code_client_in_initial_download)
            return {node_state::syncing, prefix + "node is still syncing (initial block download: " + e.message +
                                             "); work resumes when it has caught up"};
        if (e.rpc_code == rpc_code_client_not_connected)
            return {node_state::no_peers, prefix + "node has no peers (" + e.message +
                                              "); check its network connection (connect=, onlynet=, firewall)"};
    }
    return {node_state::failing, prefix + e.to_string()};
}

std::optional<node_problem> check_chain(const blockchain_info& info, std::string_view genesis_hex,
                                        const chain_params& chain) {
    const std::string want = to_hex_reversed(chain.genesis_hash);
    if (genesis_hex != want)
        return node_problem{node_state::wrong_chain,
                            "node is on network '" + info.chain + "' (genesis " + std::string(genesis_hex) +
                                "), config says " + std::string(chain.name) + " (genesis " + want +
                                "): point rpc_url at a " + std::string(chain.name) + " node, or fix the chain's network"};
    const bool regtest = chain.net == network::bitcoin_regtest || chain.net == network::ravencoin_regtest;
    if (info.initialblockdownload.value_or(false) && !regtest)
        return node_problem{node_state::syncing, "node is still syncing (initial block download, height " +
                                                     std::to_string(info.blocks) +
                                                     "); work resumes when it has caught up"};
    return std::nullopt;
}

}  // namespace sb::node
