// Outbound peers around one header_chain: the configured peers (the user's own node
// first; always kept, reconnected with back-off, never discouraged or netgroup-limited),
// and public peers learned from addr/addrv2 or DNS seeds up to a target count, at most
// one per /16 (IPv4) or /32 (IPv6) netgroup, reconnected with exponential back-off per
// address, misbehaving ones disconnected and discouraged for a time. Inbound: none.
//
// Threading: everything runs on the executor given to the constructor, which must be a
// strand (or an io context run by one thread): every peer and the header chain share
// it. start(), stop(), relay(), peers() and the counters may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "sb/core/log.hpp"
#include "sb/core/bytes.hpp"
#include "sb/core/chain.hpp"
#include "sb/core/test_access.hpp"
#include "sb/node/p2p/addr.hpp"
#include "sb/node/p2p/header_chain.hpp"
#include "sb/node/p2p/peer.hpp"

namespace sb::node::p2p {

// A configured peer: a host name or numeric address, and a port.
struct peer_endpoint {
    std::string host;
    std::uint16_t port = 0;
    std::string to_string() const;
};

// Hands the addresses of host (any order; empty on failure) to done. The manager calls
// it on its strand and accepts done from any thread.
using resolve_handler = std::function<void(std::vector<peer_address>)>;
using resolver_fn = std::function<void(const std::string& host, std::uint16_t port, resolve_handler done)>;

// DNS seed host names of a public network (Core / Ravencoin chainparams); empty for
// regtest and networks without seeds.
std::span<const std::string_view> dns_seeds(network net) noexcept;

struct peer_manager_options {
    std::vector<peer_endpoint> configured;  // connected first and always kept
    bool use_dns_seeds = false;             // query dns_seeds(chain) for public peers
    // Outbound connections wanted in all, configured ones included; public peers fill
    // the rest. 0 or fewer than the configured peers: configured peers only.
    std::size_t target_outbound = default_target_outbound;
    // Accept learned addresses that are not publicly routable (loopback tests).
    bool allow_non_routable = false;
    std::chrono::seconds discourage_for = discourage_time;
    std::chrono::milliseconds backoff_first = backoff_initial;
    std::chrono::milliseconds backoff_cap_configured = backoff_max_configured;
    std::chrono::milliseconds backoff_cap_learned = backoff_max_learned;
    // Cap of a configured peer's wait after a failed connect (connect_retry_max_configured).
    std::chrono::milliseconds connect_retry_configured = connect_retry_max_configured;
    // How often empty public slots are filled and the status snapshot refreshed.
    std::chrono::milliseconds tick = std::chrono::milliseconds{1000};
    // Timeouts and features of every connection (address, port and confirm_relayed are
    // set per connection).
    peer_settings peer;
    // Name resolution; empty: Asio's resolver. Tests inject one so they never touch DNS.
    resolver_fn resolve;

    std::function<void(const tip_change&)> on_new_tip;   // on the strand, right after validation
    std::function<void(const hash256&)> on_block_served;  // a peer fetched a relayed block
    // A configured peer's active chain holds a relayed block it fetched: its answer to the
    // getheaders probe was that block's header (peer_settings::confirm_relayed, which the
    // manager sets for configured peers only; public peers are not asked). Logged too.
    std::function<void(const hash256&)> on_block_held;
    // A relayed block's message was written to a peer (also logged, with its timeline).
    std::function<void(const block_sent&)> on_block_sent;
    logger log;
};

// One row of the peer list (dashboard, GET /api/status).
struct peer_status {
    std::string address;        // numeric host:port connected to (empty while resolving)
    std::string configured_as;  // the configured host:port; empty for public peers
    bool configured = false;
    bool connected = false;  // handshake complete
    std::string user_agent;
    std::int32_t height = 0;
    std::optional<double> ping_ms;
    bool inbound = false;
    std::int64_t since = 0;  // Unix seconds of the handshake; 0 while not connected
};

// The wait before a configured peer is tried again, after waiting `previous` (zero after
// a connection that reached the handshake, or at start): backoff_first, then doubling up to
// backoff_cap_configured; after a connect that failed (why == p2p_errc::connect_failed) at
// most connect_retry_configured (see connect_retry_max_configured).
std::chrono::milliseconds configured_retry_delay(std::chrono::milliseconds previous, std::error_code why,
                                                 const peer_manager_options& options) noexcept;

class peer_manager {
public:
    peer_manager(boost::asio::any_io_executor strand, header_chain& headers, peer_manager_options options);
    // Closes every connection; destroy on the io thread or while the context is stopped.
    ~peer_manager();
    peer_manager(const peer_manager&) = delete;
    peer_manager& operator=(const peer_manager&) = delete;

    void start();
    void stop();
    // Relays a found block to every connected peer (see peer::send_block): one
    // relayed_block shared by all of them, and right after the announcements the messages
    // each peer is likely to fetch (peer::likely_fetch) are built, before its getdata
    // arrives (on peer_settings::offload's worker when set, else on the strand). Returns at
    // once; logs when no peer is connected.
    void relay(std::shared_ptr<const bytes> block);

    // Snapshots, refreshed on every connection event and every tick. Thread-safe.
    std::vector<peer_status> peers() const;
    std::size_t connected_count() const;

private:
    friend struct test::access<peer_manager>;
    // Tests only (test::access): addresses in the book, and those of them discouraged,
    // as of the last snapshot.
    std::size_t known_addresses() const;
    std::size_t discouraged_count() const;

    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace sb::node::p2p
