// Node alerts from the template source's status (what main's node client offers: its
// status() snapshot; no callback on a change of state). The watch samples it now and
// then on the alerts thread and posts node_down, node_unauthorized and node_up when the
// node's health changes.
#pragma once

#include <optional>
#include <string>

#include "alerts/event.hpp"
#include "sb/node/template_source.hpp"

namespace sb::bridge::alerts {

enum class node_health {
    unknown,       // nothing conclusive between two samples
    up,            // a usable reply or a template since the last sample
    down,          // the fetch connection is down (refused, unreachable, lost, timed out)
    unauthorized,  // calls fail with HTTP 401/403 and none succeeds
};

struct node_observation {
    node_health health = node_health::unknown;
    std::string problem;  // for down / unauthorized: what the client reported
};

// What changed between two samples of one template source (prev: the previous sample, a
// default status for the first). Down wins (the fetch or the longpoll connection is down
// now); then a template or a usable reply since prev means up; then failed fetches with
// none usable, the last with HTTP 401/403, mean unauthorized; anything else is unknown (no
// change).
node_observation observe(const node::template_source_status& prev, const node::template_source_status& cur);

// Turns observations of one node into events: a change to down or unauthorized, and up
// after either. The first `up` is not an event (nothing to recover from).
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

}  // namespace sb::bridge::alerts
