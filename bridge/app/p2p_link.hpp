// The daemon's P2P link: a header chain kept in the data directory and a peer manager
// around it (the user's node and any configured peers first, optionally public peers
// learned from addr messages and DNS seeds), new tips passed on at once, found blocks
// relayed to every connected peer.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "sb/core/bytes.hpp"
#include "sb/core/chain.hpp"
#include "sb/node/p2p/peer_manager.hpp"
#include "sb/node/template.hpp"

namespace sb::app {

struct p2p_link_options {
    // Configured peers, the user's node first (host names or numeric addresses).
    std::vector<node::p2p::peer_endpoint> peers;
    // Outbound connections in all; public peers fill what the configured ones leave.
    std::size_t target_outbound = node::p2p::default_target_outbound;
    bool dns_seeds = false;  // query the network's DNS seeds (public networks only)
    std::string data_dir;    // headers-<chain>.dat lives here
    std::function<void()> on_new_tip;  // after a header that moved the best tip validated
    std::function<void(std::string_view)> log;

    // Header-only work (optional, off by default): while rpc_reachable() is false and a
    // peer is connected, a coinbase-only template on the P2P tip goes to
    // on_header_template at once and again on every new tip; when rpc_reachable() is
    // true again the mode ends (the template source's next full template takes over).
    // rpc_reachable is polled every header_only_poll on the P2P strand; thread-safe.
    bool header_only = false;
    std::function<bool()> rpc_reachable;
    std::function<void(std::shared_ptr<const node::block_template>)> on_header_template;
    std::chrono::milliseconds header_only_poll{1000};
};

class p2p_link {
public:
    // strand: all P2P work runs there.
    p2p_link(boost::asio::any_io_executor strand, const chain_params& chain, p2p_link_options options);
    ~p2p_link();
    p2p_link(const p2p_link&) = delete;
    p2p_link& operator=(const p2p_link&) = delete;

    void start();
    // Announces a found block to every connected peer (served when they ask). Thread-safe.
    void relay(bytes block);
    void stop();
    // The peer list for the status API. Thread-safe.
    std::vector<node::p2p::peer_status> peers() const;
    // True while header-only templates are being handed out. Thread-safe.
    bool header_only_active() const noexcept;

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

// False for chains whose headers the P2P client cannot validate yet (Ravencoin KAWPOW).
bool p2p_supported(const chain_params& chain) noexcept;

}  // namespace sb::app
