// Asynchronous JSON-RPC 1.0 client of one node over HTTP/1.1 (Beast).
//
// One client = one keep-alive connection; calls are queued and sent one at a time, so a
// call that must not wait behind others (a longpoll, a found block) gets its own client.
// Threading: the client runs on the executor it is given, which must be a strand (or
// an io_context run by one thread); its handlers, timers and callbacks all run there.
// call(), close() and status() may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "sb/core/test_access.hpp"
#include "sb/node/errors.hpp"
#include "sb/node/limits.hpp"
#include "sb/node/rpc_reply.hpp"

namespace sb::node {

// How to reach and authenticate to the node (from config node_settings).
struct rpc_settings {
    std::string url;          // http://host[:port][/path]; https is not supported
    std::string user;         // Basic auth when user or password is set (bcoin: any user,
    std::string password;     //   password = API key)
    std::string cookie_file;  // Core's .cookie ("user:password" on one line); when set it wins
                              // over user/password and is re-read on each (re)connect and
                              // after a 401, since the node rewrites it on restart
    std::chrono::milliseconds timeout = default_call_timeout;  // per call (rpc_timeout_ms)
};

// Tuning; the defaults are the limits in limits.hpp. Tests shrink them.
struct client_options {
    std::size_t reply_limit_bytes = max_reply_bytes;
    std::chrono::milliseconds connect_timeout = sb::node::connect_timeout;
    std::chrono::milliseconds backoff_initial = sb::node::backoff_initial;
    std::chrono::milliseconds backoff_max = sb::node::backoff_max;
    // Cap of the back-off after a refused connect (see refused_backoff_max).
    std::chrono::milliseconds refused_backoff_max = sb::node::refused_backoff_max;
    // Called on the strand each time a connection attempt fails (what: the line that
    // also lands in last_error), while the calls that wait go on waiting until their
    // deadline: a watcher learns at once that the node is down.
    std::function<void(const std::string& what)> on_connect_failed;
};

// A call without a deadline (use with care: only a longpoll, and even it has a bound).
inline constexpr std::chrono::milliseconds no_timeout = std::chrono::milliseconds::max();

// When a request went out: for timelines (the found-block log), never for decisions.
struct request_written {
    std::chrono::steady_clock::time_point first_write;  // its first bytes were handed to the kernel
    std::chrono::steady_clock::time_point last_write;   // all of it was
    std::size_t bytes = 0;                              // HTTP header and body
};

struct call_options {
    // Whole-call deadline from the moment of call(): waiting for a connection, sending,
    // and reading the reply. Zero: rpc_settings::timeout. no_timeout: none.
    std::chrono::milliseconds timeout{0};
    // Called on the strand each time the whole request has been written (a call re-sent
    // on a new connection is written again), before its reply is read. Empty: not called.
    std::function<void(const request_written&)> on_written{};
};

enum class link_state {
    connecting,    // no connection proven yet, or an attempt is in progress
    connected,     // the last connect and exchange worked
    down,          // the last attempt failed; the next one waits for the back-off
    unauthorized,  // the node answered HTTP 401/403 (after re-reading the cookie); the
                   // next reply that is not 401/403 makes the link connected again
};
std::string_view to_string(link_state s) noexcept;

// A snapshot for the dashboard.
struct client_status {
    link_state state = link_state::connecting;
    // The current problem: set by a failed connect or call, cleared by a connect after a
    // connect failure and by a call that gets a usable reply (a stale 401 text does not
    // outlive a fixed cookie). Empty while the link works.
    std::string last_error;
    std::uint32_t consecutive_failures = 0; // connect failures since the last success
    // Counts connections opened after the previous one was lost (refused, reset, closed
    // by the node without saying so in a reply, timed out): the first connection is 1. A
    // node that restarted, perhaps as another node, is always behind a new value; an
    // orderly "Connection: close" in a reply does not change it.
    std::uint64_t link_epoch = 0;
    std::chrono::milliseconds retry_delay{0};  // back-off before the next attempt, when down
    std::uint64_t calls_ok = 0;             // calls that got a reply (including RPC errors)
    std::uint64_t calls_failed = 0;         // calls that got no usable reply
};

class rpc_client {
public:
    using reply_handler = std::function<void(rpc_reply)>;
    using batch_handler = std::function<void(batch_reply)>;

    // Nothing happens until the first call. A URL that does not parse makes every call
    // fail with bad_url.
    rpc_client(boost::asio::any_io_executor strand, rpc_settings settings, client_options options = {});
    // Closes the client (see close()).
    ~rpc_client();
    rpc_client(const rpc_client&) = delete;
    rpc_client& operator=(const rpc_client&) = delete;

    // Sends request and calls handler exactly once, on the strand, with the result or an
    // error: connect_failed (the deadline passed before any connection could be made),
    // timeout, unauthorized, http_status, bad_http, body_too_large, bad_json, bad_reply,
    // rpc_error, connection_lost, queue_full or cancelled. While the node is unreachable
    // the call waits, and the client reconnects with jittered exponential back-off, until
    // the call's deadline. A call that fails because the node silently closed an idle
    // keep-alive connection is retried once on a new connection; a 401 with cookie auth
    // is retried once after re-reading the cookie. The texts of connect_failed and
    // unauthorized say what to check (server=1 and rpcbind/rpcport for a refused
    // connect; rpc_user/rpc_password, the cookie file and who may read it, or rpcallowip
    // for 401/403). A request with streamed params is written as its stream produces the
    // text (rpc_request::streamed_params): the HTTP header, the JSON before the params and
    // the first piece in one write, then a piece per write.
    void call(rpc_request request, reply_handler handler, call_options options = {});

    // Closes the connection and fails every waiting or running call with cancelled (their
    // handlers still run, on the strand). Later calls fail with cancelled. Idempotent.
    void close();

    client_status status() const;

private:
    friend struct test::access<rpc_client>;
    // Tests only (test::access): sends the requests as one JSON-RPC batch; the handler
    // gets the replies in request order, matched by id (see parse_batch_reply). An empty
    // batch succeeds at once.
    void call_batch(std::vector<rpc_request> requests, batch_handler handler, call_options options = {});

    class impl;
    std::shared_ptr<impl> impl_;
};

// An http:// URL split for the client. host keeps no brackets ("::1").
struct http_url {
    std::string host;
    std::uint16_t port = 80;
    std::string target = "/";  // path (and query) sent in the request line
};
// Parses "http://host[:port][/path]" (scheme case-insensitive, IPv6 host in brackets).
// nullopt: another scheme, user info, an empty host or a bad port.
std::optional<http_url> parse_http_url(std::string_view url);

// RFC 4648 base64 (with padding), for the Basic Authorization header.
std::string base64_encode(std::string_view bytes);

// The "user:password" of a cookie file (Core writes "__cookie__:<hex>") from the file's
// first bytes (the client reads at most max_cookie_bytes): the text before the first CR or
// LF. nullopt when that text holds no ':'.
std::optional<std::string> cookie_credentials(std::string_view file_head);

}  // namespace sb::node
