// The dashboard's HTTP listener (issue 14 "Web"), on Beast: the embedded page and its
// assets at GET /, the JSON API under /api/v1/ (described by /api/v1/openapi.json) and the
// older /api/status, live updates over /ws (a snapshot on connect, then every statistics
// tick, and at once on a found block, a new tip, a worker going offline or a node state
// change, at least statistics_options::min_tick_gap apart), and Prometheus text at
// /metrics. Everything comes from the statistics' snapshot through web/serialize.hpp.
//
// Security: loopback by default; bound to any other address it requires a bearer token or
// HTTP basic auth (config http.token / http.user + http.password), checked on every
// request and WebSocket upgrade. No endpoint changes state (GET and HEAD only). Requests
// are limited in size and time, connections and WebSockets are capped, a WebSocket whose
// reader falls behind is dropped (never buffered: at most one message waits), pages carry
// a Content-Security-Policy that allows scripts from this origin only, and the Host and
// Origin headers must name this server (no DNS rebinding, no cross-site WebSocket).
//
// Threading: sessions on strands of the io_context; the statistics' publish callback only
// posts. start/stop from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "sb/core/log.hpp"

namespace boost::asio {
class io_context;
}

namespace sb::bridge::stats {
class statistics;
class history;
}  // namespace sb::bridge::stats

namespace sb::bridge::web {

// ---- limits ------------------------------------------------------------------------

// Largest request head (request line and headers); bodies are refused.
inline constexpr std::size_t max_request_bytes = 8 * 1024;
// Longest request target (path and query).
inline constexpr std::size_t max_target_bytes = 2048;
// A request must arrive within this; a kept-alive connection idles at most this long.
inline constexpr std::chrono::seconds request_timeout{15};
// Requests served on one kept-alive connection.
inline constexpr unsigned max_requests_per_connection = 1000;
// Largest message a dashboard may send over /ws (they send none; control frames only).
inline constexpr std::size_t max_ws_message_bytes = 1024;
// Updates a WebSocket may fall behind (each newer one replaces the waiting one) before
// it is dropped as a slow reader.
inline constexpr unsigned max_ws_skipped_updates = 10;
// A WebSocket write that takes longer drops the client (server_options::ws_write_timeout).
inline constexpr std::chrono::seconds ws_write_timeout{20};

struct server_options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080;
    // Bearer token (also accepted as the password of basic auth, any user name).
    std::string token;
    // Basic auth.
    std::string user;
    std::string password;
    bool metrics_per_worker = false;
    std::size_t metrics_max_workers = 1000;
    std::size_t max_connections = 256;
    std::size_t max_websockets = 128;
    // A WebSocket write that takes longer drops the client; reading has its own idle
    // timeout (60 s, kept alive by pings). Shorter in tests.
    std::chrono::milliseconds ws_write_timeout = web::ws_write_timeout;
    logger log;  // default: stderr
};

// True for a loopback IP literal ("127.0.0.1", "::1", "[::1]", 127.x.y.z).
bool is_loopback_host(std::string_view host) noexcept;

// A request target split into a percent-decoded path and query parameters. nullopt for a
// target that is not origin-form, too long, or badly encoded (a "%" not followed by two
// hex digits, a decoded NUL). Never throws.
struct parsed_target {
    std::string path;
    std::vector<std::pair<std::string, std::string>> params;
};
std::optional<parsed_target> parse_target(std::string_view target);

class server {
public:
    server(boost::asio::io_context& io, std::shared_ptr<stats::statistics> stats, std::shared_ptr<stats::history> hist,
           server_options options);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // Binds and starts accepting. Errors: the bind/listen error, or
    // std::errc::permission_denied for a non-loopback address without token or user.
    std::error_code start();
    std::uint16_t port() const noexcept;
    // Closes the listener and every WebSocket. Idempotent.
    void stop();
    std::size_t websocket_count() const;

    struct impl;  // server.cpp's; public so that its sessions can hold it

private:
    std::shared_ptr<impl> impl_;
};

}  // namespace sb::bridge::web
