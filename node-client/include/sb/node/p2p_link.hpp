// The P2P link to a chain's network: a header chain kept in the data directory and a
// peer manager around it (the user's node and any configured peers first, optionally
// public peers learned from addr messages and DNS seeds). It is the P2P template source
// (new tips passed on at once, with coinbase-only work on them; header-only work while
// the node's RPC is down), relays found blocks to every connected peer and settles them
// by the peers' chain (asking the configured peers that fetched one whether their chain
// holds it). The daemon wires its callbacks to the dispatcher and the
// submitter.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "sb/core/log.hpp"
#include "sb/core/bytes.hpp"
#include "sb/core/chain.hpp"
#include "sb/node/p2p/header_chain.hpp"
#include "sb/node/p2p/peer_manager.hpp"
#include "sb/node/rpc_client.hpp"
#include "sb/node/template.hpp"

namespace sb::node {

// Relayed blocks whose fate the link watches (on_block_settled); beyond it the lowest
// heights are no longer watched (the submitter still holds and retries them).
inline constexpr std::size_t max_watched_relayed_blocks = 4096;

struct p2p_link_options {
    // Configured peers, the user's node first (host names or numeric addresses).
    std::vector<p2p::peer_endpoint> peers;
    // Outbound connections in all; public peers fill what the configured ones leave.
    std::size_t target_outbound = p2p::default_target_outbound;
    bool dns_seeds = false;  // query the network's DNS seeds (public networks only)
    std::string data_dir;    // headers-<chain>.dat lives here
    // Where the header chain starts (config `p2p_anchor`). false: genesis (resuming the
    // store). true: a header some depth below the node's tip taken from its RPC at
    // anchor_rpc (p2p/anchor.hpp; a store that holds it is resumed instead); while
    // the RPC gives none and no anchored store exists, no peer is connected and the
    // anchor is asked for again after anchor_retry, doubling up to 5 minutes.
    bool anchor_from_rpc = false;
    rpc_settings anchor_rpc;
    // When set, asked before each anchor attempt which node to take the anchor from (the
    // daemon: the chain's first healthy node, template_failover::active_node), replacing
    // anchor_rpc, so a node on another network or still syncing never gives the anchor.
    // No node and pending (some node's health is not known yet, e.g. at start): ask again
    // after anchor_wait. No node and not pending: the attempt fails as when the RPC is
    // unreachable (the stored anchored chain is resumed, else P2P waits and asks again).
    struct anchor_choice {
        std::optional<rpc_settings> node;
        bool pending = false;
    };
    std::function<anchor_choice()> anchor_node;
    std::chrono::milliseconds anchor_wait{250};
    std::chrono::milliseconds anchor_retry{10'000};
    // KAWPOW proof of work of the headers of a chain that mines KAWPOW
    // (p2p::make_kawpow_verifier); without it such a chain refuses every KAWPOW header.
    // Never called for SHA-256d headers.
    p2p::kawpow_verifier kawpow_verifier;
    // Unix seconds for the header future-time rule; empty: the system clock (tests of
    // Ravencoin regtest's KAWPOW era, dated 2083, set it).
    std::function<std::int64_t()> clock;
    // Worker pool for KAWPOW light verification of headers batches (peer_settings::offload);
    // empty: on the P2P strand.
    std::function<void(std::function<void()>)> offload;
    // After a header that moved the best tip validated, and once at start for the tip the
    // header store (or the anchor) already holds. Returns whether the receiver's work is
    // behind this tip (it then fetches a template); see on_tip_template.
    std::function<bool(const p2p::tip_change&)> on_new_tip;
    // Work on the new tip before the node's template for it arrives (chains where
    // p2p::header_only_work_possible): when on_new_tip returned true and the tip is not
    // our own relayed block, a coinbase-only template on it (p2p/header_template.hpp)
    // goes here at once. The receiver uses it only while no template of the node builds
    // on that tip, so miners leave the old tip within a fraction of a millisecond instead
    // of mining stale blocks until the node has validated the block and answered. Our
    // own block is left to the node: should the node refuse it, nothing would have been
    // mined on top of it.
    std::function<void(std::shared_ptr<const block_template>)> on_tip_template;
    logger log;
    // A relayed block (relay with hash and height) settled by the P2P-validated active
    // chain, on the strand: accepted when the block is on the active chain at or below a
    // header a peer sent us (a peer holds it, or built on it); stale when the active chain
    // holds another block at its height and a header above that height that a peer sent
    // and we did not relay (the chain moved past it; a competitor at equal height is not
    // enough) while the tree holds the block's own header off that chain. Once per block, except that a block
    // accepted on a configured peer's answer alone (below) stays watched until a peer
    // builds on it, and is reported once more, not accepted, should the chain pass its
    // height with another block first (the submitter then calls it orphaned).
    // Headers that entered the chain only because we relayed them are never evidence by
    // themselves: our own block becomes our P2P tip at once, before any peer has it. Our
    // own block's header counts once a configured peer sent it back: each time a
    // configured peer fetches a relayed block (getdata), it is asked with getheaders
    // (locator: the block's parent; hash_stop: the block) right behind the block and again
    // after 0.5 s, doubling, for about a minute (p2p/limits.hpp). Core and bcoin answer
    // with the headers after that parent on their active chain up to hash_stop: exactly
    // our header once they connected the block, so it settles accepted without waiting for
    // a block on top (about ten minutes on mainnet, while the node's RPC may be down). An
    // empty answer (not connected yet, or refused) waits for the next try; a competitor's
    // header at the block's height is validated and added like any header and settles
    // nothing by itself. Public peers are not asked and their echo of our header is no
    // evidence: sending back a header we announced costs a peer nothing.
    std::function<void(const hash256& hash, std::int32_t height, bool accepted)> on_block_settled;

    // Header-only work (optional, off by default; only where
    // p2p::header_only_work_possible, else the option is ignored with a log line): while
    // rpc_reachable() is false and a peer is connected, a coinbase-only template on the
    // P2P tip goes to on_header_template at once and again on every new tip; when
    // rpc_reachable() is true again the mode ends (the template source's next full
    // template takes over).
    // rpc_reachable is polled every header_only_poll on the P2P strand; thread-safe.
    // A tip that is our own relayed block (relay with hash) gets its template only once
    // a peer fetched that block (getdata): mining on top of a block no peer has would
    // only build a chain the network may never take (at regtest difficulty, thousands of
    // blocks a second while the peer still asks for the first).
    bool header_only = false;
    std::function<bool()> rpc_reachable;
    std::function<void(std::shared_ptr<const block_template>)> on_header_template;
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
    // Announces a found block to every connected peer (served when they ask; the bytes are
    // shared, not copied). Thread-safe.
    void relay(std::shared_ptr<const bytes> block);
    // The same, and watches the block (hash in internal order, its height) for
    // on_block_settled and the header-only gate above. Relaying a block again re-announces
    // it (peers that connected since learn of it). Thread-safe.
    void relay(std::shared_ptr<const bytes> block, const hash256& hash, std::int32_t height);
    void stop();
    // The peer list for the status API. Thread-safe.
    std::vector<p2p::peer_status> peers() const;
    // True while header-only templates are being handed out. Thread-safe.
    bool header_only_active() const noexcept;

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

// False for chains whose mined headers the P2P client cannot validate (their proof of
// work is neither SHA-256d nor KAWPOW). A chain whose early headers it cannot validate
// needs the RPC anchor (chain_params::p2p_needs_rpc_anchor).
bool p2p_supported(const chain_params& chain) noexcept;

}  // namespace sb::node
