// One webhook request: resolve, connect, TLS (https: the server's certificate checked
// against the trust store of the given context, for the URL's host name or IP address,
// with SNI for names), POST, read the response's status. A fresh connection each time:
// alerts are rare, and a connection kept open would only go stale.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <system_error>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ssl/context.hpp>

#include "alerts/request.hpp"
#include "sb/config/config.hpp"

namespace sb::bridge::alerts {

struct send_result {
    std::error_code ec;      // empty when the webhook answered 2xx; alerts_errc::http_status
                             // for another status; otherwise what failed (resolve, connect,
                             // TLS, timeout, a broken response)
    unsigned status = 0;     // the HTTP status, when a response header came
    // A 429 or 503 response's Retry-After in seconds (0: none, or not in seconds).
    std::chrono::seconds retry_after{0};
    std::string detail;      // for the log: what failed, with the TLS verification reason
};

// Sends req to url and calls done exactly once, on ex (which must be an io_context's
// executor run by one thread, or a strand). tls: the client context for https URLs
// (required for them, ignored for http); it must outlive the request. The whole request
// is bounded by timeout.
void send_request(boost::asio::any_io_executor ex, boost::asio::ssl::context* tls, const config::webhook_url& url,
                  const webhook_request& req, std::chrono::milliseconds timeout, std::function<void(send_result)> done);

// A client context for webhooks: TLS 1.2 or later, peer verification on, trusting
// ca_file (PEM) when given, the system store otherwise. Start-up only: the error names
// the file or the OpenSSL reason.
std::error_code make_client_context(boost::asio::ssl::context& ctx, const std::string& ca_file, std::string* detail);

}  // namespace sb::bridge::alerts
