// Shared helpers of the node-client tests: a client pointed at a fake node, and calls
// run to completion on the test's io_runner.
#pragma once

#include <doctest/doctest.h>

#include <optional>
#include <string>

#include "fake_node.hpp"
#include "sb/node/rpc_client.hpp"

namespace sb::test {

inline node::rpc_settings settings_for(const fake_node& node, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    node::rpc_settings s;
    s.url = node.url();
    s.user = "u";
    s.password = "p";
    s.timeout = timeout;
    return s;
}

// Back-off short enough that reconnect tests take a moment, not seconds.
inline node::client_options fast_options() {
    node::client_options o;
    o.backoff_initial = std::chrono::milliseconds(20);
    o.backoff_max = std::chrono::milliseconds(200);
    return o;
}

inline node::rpc_reply call_and_wait(io_runner& io, node::rpc_client& client, node::rpc_request request,
                                     node::call_options options = {}) {
    std::optional<node::rpc_reply> out;
    client.call(std::move(request), [&](node::rpc_reply r) { out = std::move(r); }, options);
    REQUIRE(io.run_until([&] { return out.has_value(); }));
    return *out;
}

}  // namespace sb::test
