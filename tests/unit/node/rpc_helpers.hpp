// Shared helpers of the node-client tests: a client pointed at a fake node, and calls
// run to completion on the test's io_runner.
#pragma once

#include <doctest/doctest.h>

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "fake_node.hpp"
#include "sb/node/internal/json.hpp"
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

// A getblocktemplate result that passes parse_block_template: block height h on a parent
// named by h (display hash ending in h's hex digits), regtest's limit bits (signet's on
// signet), no transactions; longpollid omitted when empty.
inline std::string valid_template_json(int h, std::string_view longpollid, bool signet = false) {
    char prev[65];
    std::snprintf(prev, sizeof prev, "%064x", h);
    std::string j = R"({"height":)" + std::to_string(h) + R"(,"previousblockhash":")" + prev + R"(",)" +
                    (signet ? R"("bits":"1e0377ae","target":"00000377ae000000000000000000000000000000000000000000000000000000",)"
                            : R"("bits":"207fffff","target":"7fffff0000000000000000000000000000000000000000000000000000000000",)") +
                    R"("version":536870912,"curtime":1700000000,"coinbasevalue":5000000000,"transactions":[])";
    if (!longpollid.empty()) j += R"(,"longpollid":")" + std::string(longpollid) + "\"";
    return j + "}";
}

inline node::rpc_reply call_and_wait(io_runner& io, node::rpc_client& client, node::rpc_request request,
                                     node::call_options options = {}) {
    std::optional<node::rpc_reply> out;
    client.call(std::move(request), [&](node::rpc_reply r) { out = std::move(r); }, options);
    REQUIRE(io.run_until([&] { return out.has_value(); }));
    return *out;
}

}  // namespace sb::test
