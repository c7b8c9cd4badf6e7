// A minimal HTTP endpoint for the daemon's state: GET /api/status returns a JSON document
// made by a callback. Loopback by default (config http.listen). The full dashboard, API,
// WebSocket and metrics build on this listener later.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

namespace boost::asio {
class io_context;
}

namespace sb::bridge::web {

// Largest request head accepted; bodies are not accepted at all.
inline constexpr std::size_t max_request_bytes = 8 * 1024;
// A client must send its request within this time.
inline constexpr std::chrono::seconds request_timeout{10};

class status_server {
public:
    // status_json is called on an I/O thread for each request; it must be thread-safe and
    // quick (it reads snapshots).
    status_server(boost::asio::io_context& io, std::string host, std::uint16_t port,
                  std::function<std::string()> status_json);
    ~status_server();
    status_server(const status_server&) = delete;
    status_server& operator=(const status_server&) = delete;

    // Binds and starts accepting. Errors: the bind/listen error.
    std::error_code start();
    std::uint16_t port() const noexcept;
    void stop();

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace sb::bridge::web
