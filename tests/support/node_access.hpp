// Tests' access to node-client members that exist for them only (sb/core/test_access.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "sb/core/block.hpp"
#include "sb/core/test_access.hpp"
#include "sb/node/p2p/header_chain.hpp"
#include "sb/node/p2p/peer_manager.hpp"
#include "sb/node/rpc_client.hpp"

namespace sb::test {

template <>
struct access<node::p2p::header_chain> {
    using chain = node::p2p::header_chain;
    static std::size_t unconnected_count(const chain& c) noexcept { return c.unconnected_count(); }
    static std::size_t low_work_count(const chain& c) noexcept { return c.low_work_count(); }
    static void set_low_work_limits(chain& c, std::int32_t margin_blocks, std::size_t max_headers) noexcept {
        c.set_low_work_limits(margin_blocks, max_headers);
    }
    // wire_headers_after as 80-byte headers.
    static std::vector<block_header> headers_after(const chain& c, std::span<const hash256> locator,
                                                   const hash256& hash_stop, std::size_t max_count) {
        std::vector<block_header> out;
        for (const auto& w : c.wire_headers_after(locator, hash_stop, max_count)) out.push_back(w.base);
        return out;
    }
};

template <>
struct access<node::p2p::peer_manager> {
    static std::size_t known_addresses(const node::p2p::peer_manager& m) { return m.known_addresses(); }
    static std::size_t discouraged_count(const node::p2p::peer_manager& m) { return m.discouraged_count(); }
};

template <>
struct access<node::rpc_client> {
    static void call_batch(node::rpc_client& c, std::vector<node::rpc_request> requests,
                           node::rpc_client::batch_handler handler, node::call_options options = {}) {
        c.call_batch(std::move(requests), std::move(handler), options);
    }
};

}  // namespace sb::test
