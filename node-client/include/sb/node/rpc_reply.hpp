// JSON-RPC 1.0 messages as the node client sends and receives them: request bodies,
// the reply envelope ({"result":…,"error":…,"id":…}) and batch replies. Pure functions,
// no I/O: the HTTP client feeds them status and body, and the fuzz target feeds them
// hostile bytes. Replies never throw; every failure is an rpc_error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "sb/node/errors.hpp"

namespace sb::node {

// Why a call failed. code is a node_errc. For rpc_error, rpc_code and message are the
// node's JSON-RPC error (e.g. -22 "Block decode failed"); for other codes message says
// more (HTTP status, JSON parse offset, socket error, …). Node text is bounded and has
// no control characters (max_node_text_bytes).
struct rpc_error {
    std::error_code code;
    int rpc_code = 0;
    std::string message;

    // "node returned a JSON-RPC error: -22 Block decode failed", "…: <message>".
    std::string to_string() const;
};

// Outcome of a call: value when ok(), otherwise error. T must be default-constructible.
template <class T>
struct rpc_result {
    rpc_error error;  // error.code is empty on success
    T value{};

    bool ok() const noexcept { return !error.code; }
    explicit operator bool() const noexcept { return ok(); }

    static rpc_result failure(std::error_code code, std::string message = {}, int rpc_code = 0) {
        rpc_result r;
        r.error = rpc_error{code, rpc_code, std::move(message)};
        return r;
    }
};

// The "result" of one call as the node sent it, keeping its reply alive; copies share
// the reply. Default: JSON null. Its JSON stays inside node-client: the typed calls
// (node_rpc.hpp) read it and hand out typed results; node-client's own code and tests
// read it through sb/node/internal/json.hpp.
class rpc_value {
public:
    rpc_value() noexcept = default;

private:
    friend struct rpc_value_access;
    // The JSON value, sharing ownership of the parsed reply it lives in; empty: JSON null.
    std::shared_ptr<const void> value_;
};

// The value of a single call's "result".
using rpc_reply = rpc_result<rpc_value>;
// The replies of a batch, in the order of its requests (matched by id).
using batch_reply = rpc_result<std::vector<rpc_reply>>;

// JSON text of a call's params produced while the request is written (a block's hex,
// megabytes of it): the client asks for it piece by piece as the connection takes the
// bytes, so the first bytes leave before the rest exists. Trusted code only, like
// params_json. The client reads it on its strand, perhaps again from the start (a call
// re-sent on a new connection).
class params_stream {
public:
    virtual ~params_stream() = default;
    // Its exact length in bytes (the request's Content-Length goes out first).
    virtual std::size_t size() const = 0;
    // The bytes from offset (< size()) on, at least one; they stay valid and unchanged as
    // long as this object lives.
    virtual std::string_view read(std::size_t offset) = 0;
};

// One JSON-RPC call. params_json is JSON text (an array, or an object for named
// parameters) inserted verbatim: it must come from trusted code, never from outside.
struct rpc_request {
    std::string method;
    std::string params_json = "[]";
    // When set, the params are this stream's text and params_json is not used; the bytes
    // on the wire are those of the same call with the text in params_json.
    std::shared_ptr<params_stream> streamed_params{};
};

// The body up to its params: {"jsonrpc":"1.0","id":<id>,"method":"<method>","params":
std::string request_head(std::string_view method, std::uint64_t id);
// request_head, params_json, "}". A streamed request's params are not included.
std::string make_request_body(const rpc_request& request, std::uint64_t id);
// A JSON array of requests with ids first_id, first_id+1, …
std::string make_batch_body(std::span<const rpc_request> requests, std::uint64_t first_id);

// JSON text of a string (quotes and escapes added), for building params_json.
std::string json_quote(std::string_view text);

// The reply to one call, from the HTTP status and body of the node's answer.
//   401/403                       → unauthorized
//   any status, JSON-RPC error    → rpc_error with the node's code and message (Core sends
//                                   its RPC errors with HTTP 500, 404 or 400)
//   2xx with "result"             → the result (which may be JSON null)
//   other non-2xx                 → http_status
// Also bad_json (not JSON, or NUL bytes), bad_reply (not an object, no result and no
// error, a malformed error object, or an id other than `id`; a null id is accepted only
// with an error, as Core sends for requests it could not parse).
rpc_reply parse_reply(unsigned http_status, std::string body, std::uint64_t id);

// The replies to a batch of `count` calls with ids first_id…first_id+count-1, in that
// order, whatever order the node used. A reply missing for some id is bad_reply in that
// slot; replies with unknown or repeated ids are ignored. The whole batch fails when
// the body is not an array (a single JSON-RPC error object gives its rpc_error).
batch_reply parse_batch_reply(unsigned http_status, std::string body, std::uint64_t first_id,
                              std::size_t count);

// Node-supplied text made safe to log: cut to max_node_text_bytes, control characters
// replaced by '?'.
std::string sanitize_node_text(std::string_view text);

}  // namespace sb::node
