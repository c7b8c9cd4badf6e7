#include "stats/alert_feed.hpp"

#include <utility>

namespace sb::bridge::stats {

alert_feed::alert_feed(post_fn post, double drop_ratio) : post_(std::move(post)), drop_ratio_(drop_ratio) {}

void alert_feed::on_event(const event& e) noexcept {
    alerts::alert_event a;
    switch (e.kind) {
        case event_kind::worker_offline: a.kind = alerts::event_kind::worker_offline; break;
        case event_kind::worker_online: a.kind = alerts::event_kind::worker_online; break;
        case event_kind::hashrate_drop:
            if (!(drop_ratio_ > 0) || e.ratio != drop_ratio_) return;
            a.kind = alerts::event_kind::hashrate_drop;
            break;
        default: return;
    }
    try {
        a.chain = e.chain;
        a.subject = e.worker.empty() ? e.chain : e.worker;
        a.text = e.detail;
        a.at = e.at;
    } catch (...) {
        return;  // out of memory: no alert rather than no statistics
    }
    if (post_) post_(std::move(a));
}

}  // namespace sb::bridge::stats
