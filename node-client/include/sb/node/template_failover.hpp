// Templates from the first healthy node of a chain's list (chain_settings.nodes, in config
// order). One template_source per node, all running at once on one strand, each with its
// own longpoll, refresh, chain check and health (template_source.hpp); only the ACTIVE
// node's templates reach the handler, the others' are dropped.
//
// The active node is the first node in config order whose state is `connected` (on the
// configured chain, synced, its last template usable). When it leaves that state (down,
// unauthorized, starting, syncing, no_peers, wrong_chain, failing), the next connected node
// takes over at once and is asked for a fresh template; when an earlier node is connected
// again it takes over with the template that brought it back. A node that never passed the
// chain check never supplies a template, so no template from a node on another network is
// ever handed on. With no node connected there is no active node and no template. At start
// the first node to answer supplies work until an earlier one is connected (milliseconds
// later when both are up): waiting instead could leave miners idle for a connect timeout
// behind a node whose host does not answer.
//
// Why every node runs a full source rather than a standby that is probed only when needed:
// the standby's health is known before it is needed (a switch costs one getblocktemplate,
// not a connect, a chain check and a back-off), and the same path that serves templates
// proves the node can serve them. The price is a longpoll and a refresh every
// template_refresh_s on each standby node.
//
// Threading: everything runs on the strand given to the constructor. start(), stop(),
// notify_new_tip(), status(), active_node() and may_supply() may be called from any thread.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "sb/node/template_source.hpp"

namespace sb::node {

struct failover_status {
    std::optional<std::size_t> active;      // index of the node whose templates are used
    std::vector<template_source_status> nodes;  // one per node, in config order
};

class template_failover {
public:
    // nodes: at least one, in config order. options: as for each template_source (its
    // name is ignored: each node is named by its RPC URL; log and on_state see every
    // node's changes; log also gets a line for each change of the active node when there
    // are several). on_template: the active node's templates, as template_source's
    // handler gets them.
    template_failover(boost::asio::any_io_executor strand, std::vector<rpc_settings> nodes,
                      template_source_options options, template_source::template_handler on_template);
    // Stops (see stop()).
    ~template_failover();
    template_failover(const template_failover&) = delete;
    template_failover& operator=(const template_failover&) = delete;

    // Starts every node's source. Once only.
    void start();
    // A new tip was seen elsewhere: every node fetches now (the standbys stay current).
    void notify_new_tip();
    // Stops every source; as template_source::stop(). Idempotent.
    void stop();

    failover_status status() const;
    // The active node's index: the first healthy node, nullopt while none is.
    std::optional<std::size_t> active_node() const;
    // True while some node supplies templates or may still do so (connecting: nothing
    // known yet); false when every node is known to be unable (down, unauthorized, …).
    bool may_supply() const;

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace sb::node
