// Keeps block templates flowing from one node over RPC: a template at start, a longpoll
// held open on its own connection (re-issued with each new longpollid), a fetch at once
// when another path (P2P) reports a new tip, and a periodic refresh. Templates are parsed
// and checked here (template.hpp) and handed on typed. A template the receiver finds
// behind the best tip it knows is fetched again after a short back-off until the node
// catches up. Failures back off and retry; the dashboard reads status().
//
// Node health: the source knows the node's state (node_health.hpp) from the first call
// that shows it — a refused connect of either connection, a 401, an RPC error, a
// template that fails the checks — logs each change of state once (what failed and what
// to do; recovery too) and reports it in status(). A template is handed on only when the
// chain check (getblockchaininfo, getblockhash 0: the configured network's genesis, not in
// initial block download) passed on the very connection the template came over
// (client_status::link_epoch): a node that restarted, or was replaced on its address, is
// checked again before anything it sends becomes work.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

#include "sb/core/log.hpp"
#include "sb/core/chain.hpp"
#include "sb/node/limits.hpp"
#include "sb/node/node_health.hpp"
#include "sb/node/rpc_client.hpp"
#include "sb/node/rpc_reply.hpp"
#include "sb/node/template.hpp"

namespace sb::node {

// Why a template was fetched.
enum class template_reason {
    initial,   // the first fetch after start()
    longpoll,  // the node answered the open longpoll (new tip, or mempool changes)
    new_tip,   // notify_new_tip(): another path saw a new block
    refresh,   // the periodic refresh, or a retry after a failed fetch
    behind,    // again: the last template built on a tip older than the best known one
};

// What the receiver did with a template.
enum class template_use {
    used,    // it builds on the best tip the receiver knows (used, or equal to its work)
    behind,  // it builds on an older tip: fetch again (behind_retry_initial, doubling)
};
std::string_view to_string(template_reason r) noexcept;

struct template_source_options {
    sb::network net = sb::network::bitcoin_regtest;  // signet adds the "signet" rule
    // A template at least this often (chain_settings.template_refresh_s); zero: never.
    std::chrono::milliseconds refresh = default_template_refresh;
    // Each longpoll request is abandoned and re-issued after this long.
    std::chrono::milliseconds longpoll_timeout = sb::node::longpoll_timeout;
    // Back-off between failed fetches and failed longpolls.
    std::chrono::milliseconds retry_initial = backoff_initial;
    std::chrono::milliseconds retry_max = template_retry_max;
    // Fetches after a template the receiver found behind: the first after
    // behind_retry_initial, doubling up to behind_retry_max, until one is used (Bitcoin
    // Core answers from its cached template until its UpdateTip has run: milliseconds).
    std::chrono::milliseconds behind_retry_initial{50};
    std::chrono::milliseconds behind_retry_max{1'000};
    client_options client;  // for both connections (its on_connect_failed is the source's)
    // How the log names the node; empty: the RPC URL.
    std::string name;
    // One line per change of the node's state (not per retry), on the strand.
    logger log;
    // Each change of state, on the strand, after status() shows it and before the
    // template that brought `connected` (if any) goes to the handler. problem: empty for
    // connected.
    std::function<void(node_state state, const std::string& problem)> on_state;
};

struct template_source_status {
    std::optional<std::chrono::system_clock::time_point> last_template_at;
    std::uint64_t templates = 0;  // delivered so far
    std::uint64_t templates_behind = 0;  // of those, found behind by the receiver
    node_state state = node_state::connecting;
    std::optional<std::chrono::system_clock::time_point> state_since;  // the last change of state
    // What is wrong now, with what to do about it; empty while connected (a recovered
    // node leaves no stale text).
    std::string last_error;
    bool longpoll_active = false; // a longpoll request is outstanding (sent, or waiting
                                  // for its connection)
    bool longpoll_supported = true;  // false once the node sent a template without longpollid
    client_status rpc;            // the connection for fetches
    client_status longpoll_rpc;   // the connection held by the longpoll
};

class template_source {
public:
    // A checked template (parse_block_template for options.net) and why it was fetched;
    // returns what the receiver did with it. Called on the strand, never after stop(). A
    // template that fails the checks is not delivered: it counts as a failed fetch
    // (last_error names the field) and is retried with back-off.
    using template_handler =
        std::function<template_use(std::shared_ptr<const block_template> t, template_reason why)>;

    // strand: as for rpc_client; both RPC connections and all timers run on it.
    template_source(boost::asio::any_io_executor strand, rpc_settings rpc, template_source_options options,
                    template_handler on_template);
    // Stops (see stop()).
    ~template_source();
    template_source(const template_source&) = delete;
    template_source& operator=(const template_source&) = delete;

    // Fetches the first template and starts the longpoll and refresh cycle. Once only.
    void start();
    // A new tip was seen elsewhere: fetch now (coalesced with a fetch already running).
    // Ignored before start().
    void notify_new_tip();
    // Cancels timers and outstanding requests. No handler call starts after stop()
    // returns when it is called on the strand; from another thread, a call already
    // running on the strand may finish. Idempotent.
    void stop();

    template_source_status status() const;

private:
    class impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace sb::node
