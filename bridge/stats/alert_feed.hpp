// The statistics' events that become alerts (issue 14 "Alerts"): a worker going offline
// and coming back, and a hashrate drop across the alerts' threshold
// (alerts.hashrate_drop_ratio, statistics_options::alert_drop_ratio), handed to the
// notifier (alerts/notifier.hpp) as alert events. Found blocks, orphans and the nodes'
// states reach the notifier from the block sink and the notifier's own watches
// (app/cmd_run.cpp), not from here.
#pragma once

#include <functional>

#include "alerts/event.hpp"
#include "stats/events.hpp"

namespace sb::bridge::stats {

class alert_feed final : public event_listener {
public:
    // post: notifier::post (an O(1) enqueue that never throws). drop_ratio: the alerts'
    // hashrate-drop threshold; drops across another threshold (the dashboard's) are not
    // alerts.
    using post_fn = std::function<void(alerts::alert_event)>;
    alert_feed(post_fn post, double drop_ratio);

    // Subjects: the worker name, or for a chain's whole hashrate the chain id (event.hpp).
    void on_event(const event& e) noexcept override;

private:
    post_fn post_;
    double drop_ratio_;
};

}  // namespace sb::bridge::stats
