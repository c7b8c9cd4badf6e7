// The Stratum v1 server of one chain (the SHA-256d or the KAWPOW dialect): a TCP (optionally TLS) listener per
// configured Stratum port, connection caps, and one session per connection fed with
// work by a work_source (the dispatcher). Sessions are tracked for the dashboard.
//
// First bytes: a plain listener closes a connection that opens with a TLS handshake
// record quietly (no ban score; cgminer-family clients try TLS first, then plain). A TLS
// listener peeks at the first byte: a TLS record is served over TLS; plain Stratum is
// served in plain too where the listener has tls.accept_plain, else closed quietly.
//
// Threading: the io_context may be run by any number of threads. Each session runs on its
// own strand; the connection table is guarded by one mutex, held briefly. Every public
// member is thread-safe.
//
// Memory: an idle plain-TCP session holds no read or write buffer (docs/PERFORMANCE.md,
// "What a session holds"); a TLS session keeps a read buffer, and OpenSSL its own state.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "sb/core/log.hpp"
#include "sb/config/config.hpp"
#include "sb/core/test_access.hpp"
#include "stratum/ban_list.hpp"
#include "stratum/limits.hpp"
#include "stratum/protocol.hpp"
#include "stratum/work_source.hpp"

namespace boost::asio {
class io_context;
}

namespace sb::bridge::stratum {

namespace detail {
struct server_state;
}

// The Stratum dialect a server speaks: SHA-256d (stratum.md §0-§4) or KAWPOW (§5).
enum class dialect : std::uint8_t { sha256d, kawpow };

// Runs a task off the I/O threads (KAWPOW share verification).
using task_runner = std::function<void(std::function<void()>)>;

struct server_options {
    // One listener each; port 0 binds a free port (listeners() reports it).
    std::vector<config::stratum_listener> listeners;
    stratum::dialect dialect = stratum::dialect::sha256d;
    // KAWPOW: where submits are verified (milliseconds each). It must outlive every
    // session, and run each task exactly once. Empty: on the session's I/O thread, which
    // is for tests only (a miner's reply then waits behind other verifications).
    task_runner verify;
    config::payout_mode payout = config::payout_mode::fixed_address;
    network net = network::bitcoin_regtest;
    unsigned extranonce2_size = default_extranonce2_size;
    std::chrono::milliseconds subscribe_timeout = stratum::subscribe_timeout;
    std::chrono::milliseconds share_idle_timeout = stratum::share_idle_timeout;
    std::chrono::milliseconds line_timeout = stratum::line_timeout;
    std::chrono::milliseconds write_stall_timeout = stratum::write_stall_timeout;
    std::size_t write_queue_limit = stratum::write_queue_limit;
    std::size_t max_connections_per_ip = stratum::max_connections_per_ip;
    std::size_t max_connections = stratum::max_connections;
    // Rejected-submit pacing per session (limits.hpp); 0 turns it off.
    std::uint32_t rejected_submit_burst = stratum::rejected_submit_burst;
    std::uint32_t rejected_submits_per_s = stratum::rejected_submits_per_s;
    bool send_version_mask = true;
    // Misbehaviour scores and bans per IP (limits.hpp "ban list").
    ban_settings bans;
    // How often a quiet close (limits.hpp) is logged per address and kind.
    std::chrono::milliseconds quiet_close_log_interval = stratum::quiet_close_log_interval;
    // Loopback clients are scored and banned like any other. Behind a local TLS
    // terminator or Stratum proxy every miner appears as 127.0.0.1, and one misbehaving
    // miner would lock all of them out of reconnecting: such a setup sets this to false.
    bool ban_loopback = true;
    logger log;  // default: stderr, one line per event
};

// The options for a configured chain (its Stratum listeners, dialect, payout mode,
// network, extranonce2 size, ban settings and per-IP connection cap); the other limits
// keep their defaults and verify is empty.
server_options server_options_for(const config::chain_settings& chain);

// The new-tip fan-out as the server did it, for the newest tip: from its first clean job
// reaching the server (the work source handing it to the first session) to each session's
// clean notify being handed to the kernel (the write that took its last byte returned).
// Sessions that got no notify (not yet authorized) and those whose notify is still queued
// are not counted.
struct notify_fanout {
    std::string job_id;  // the tip's first clean job; empty before the first new tip
    std::chrono::steady_clock::time_point received_at{};
    std::size_t sessions = 0;  // clean notifies handed to the kernel so far
    // Nearest-rank percentiles and the last one, after received_at.
    std::chrono::nanoseconds p50{}, p99{}, last{};
};

// A ban in force, for the dashboard.
struct ban_info {
    std::string ip;  // the address, or an IPv6 /64 as "prefix::/64"
    std::chrono::system_clock::time_point until;
    std::string reason;
    std::uint64_t refused = 0;  // connections refused since the ban
};

struct listener_info {
    std::string address;  // as bound
    std::uint16_t port = 0;
    bool tls = false;
    bool plain = true;  // serves plain TCP: a plain listener, or TLS with accept_plain
};

class server {
public:
    server(boost::asio::io_context& io, std::shared_ptr<work_source> source, server_options options);
    // stop()
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // Binds every listener and starts accepting. Errors: an address that does not
    // resolve or bind, a TLS certificate or key that does not load; nothing is left
    // listening on error.
    std::error_code start();
    // The bound listeners, in configuration order (after start).
    std::vector<listener_info> listeners() const;

    // Stops accepting and closes every session. Idempotent.
    void stop();

    // Every open connection, for the dashboard.
    std::vector<session_stats> snapshot() const;
    std::size_t connection_count() const;
    // The bans in force, oldest first.
    std::vector<ban_info> bans() const;
    // The newest tip's clean-notify fan-out so far.
    notify_fanout last_fanout() const;

private:
    friend struct test::access<server>;
    // Tests only (test::access): client.reconnect / client.show_message to every
    // subscribed session (stratum.md §2.9); nothing in the daemon sends them yet.
    void broadcast_reconnect(std::string_view host, std::uint16_t port, unsigned wait_s);
    void broadcast_message(std::string_view text);

    std::shared_ptr<detail::server_state> impl_;
};

}  // namespace sb::bridge::stratum
