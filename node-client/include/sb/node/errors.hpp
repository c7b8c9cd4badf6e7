// Errors of the node client: transport, HTTP, JSON-RPC envelope and typed-call failures.
#pragma once

#include <string>
#include <system_error>

namespace sb::node {

enum class node_errc {
    ok = 0,
    bad_url,          // the RPC URL is not http://host[:port][/path]
    connect_failed,   // resolving or connecting failed (the node is down or unreachable)
    connection_lost,  // the connection closed or broke before a complete reply
    timeout,          // no complete reply within the call's timeout
    unauthorized,     // HTTP 401 or 403: wrong user/password or stale cookie
    http_status,      // another non-2xx HTTP status without a JSON-RPC error body
    bad_http,         // the reply is not well-formed HTTP/1.1
    body_too_large,   // the reply body exceeds the configured limit
    bad_json,         // the reply body is not valid JSON
    bad_reply,        // valid JSON, but not a JSON-RPC reply of the expected shape
    rpc_error,        // the node answered with a JSON-RPC error object
    queue_full,       // too many calls are waiting on this client
    cancelled,        // the client or the call was closed before it completed
};

const std::error_category& node_category() noexcept;

inline std::error_code make_error_code(node_errc e) noexcept {
    return {static_cast<int>(e), node_category()};
}

}  // namespace sb::node

template <>
struct std::is_error_code_enum<sb::node::node_errc> : std::true_type {};
