// Alerts from state the daemon's parts already keep: each node's health (the template
// sources' status) and the found blocks' fates (the submitter's status). The notifier
// samples them on its own thread (notifier::watch) and posts what changed, so neither
// part needs a hook of its own and none of their threads does alert work.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "alerts/event.hpp"
#include "sb/node/template_source.hpp"

namespace sb::bridge::alerts {

// A sampler: called every poll interval on the notifier's thread; returns the events of
// what changed since its last call.
using poll_fn = std::function<std::vector<alert_event>()>;

// ---- nodes -------------------------------------------------------------------------------

enum class node_health {
    unknown,       // connecting: nothing known yet
    up,            // connected: it supplies work
    down,          // down, or answering without being able to supply work (starting,
                   // syncing, no_peers, wrong_chain, failing): miners get no work from it
    unauthorized,  // HTTP 401/403
};

struct node_observation {
    node_health health = node_health::unknown;
    std::string detail;  // "is down: <problem>", "is syncing: <problem>", ...
};

// A template source's health (node_health.hpp states) as alerts see it.
node_observation observe(const node::template_source_status& s);

// Turns observations of one node into events: a change to down or unauthorized, and up
// after either (the first up is not an event: there is nothing to recover from).
class node_tracker {
public:
    node_tracker(std::string chain, std::string node);
    std::optional<alert_event> update(const node_observation& o,
                                      std::chrono::system_clock::time_point at = std::chrono::system_clock::now());

private:
    std::string chain_;
    std::string node_;
    node_health last_ = node_health::unknown;
};

// node_down / node_unauthorized / node_up for `node` (its RPC URL, the subject) of
// `chain`, from its template source's status. status must stay callable until the
// notifier stops.
poll_fn node_poller(std::string chain, std::string node, std::function<node::template_source_status()> status);

// ---- found blocks ------------------------------------------------------------------------

// One found block as the submitter's status shows it (the newest ones).
struct block_fate_sample {
    std::string hash;  // display hex
    std::uint32_t height = 0;
    bool orphaned = false;
    std::string reason;  // why it is orphaned
};

// block_orphaned for each block of `chain` that is orphaned now and was not at the
// previous sample (or is new since then). The first sample is the baseline: blocks
// orphaned before the daemon started are not reported again. recent must stay callable
// until the notifier stops.
poll_fn orphan_poller(std::string chain, std::function<std::vector<block_fate_sample>()> recent);

}  // namespace sb::bridge::alerts
