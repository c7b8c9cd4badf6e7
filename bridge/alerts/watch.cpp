#include "alerts/watch.hpp"

#include <memory>
#include <unordered_map>

namespace sb::bridge::alerts {

node_observation observe(const node::template_source_status& s) {
    using node::node_state;
    switch (s.state) {
        case node_state::connecting: return {};
        case node_state::connected: return {node_health::up, "supplies work again"};
        case node_state::unauthorized:
            return {node_health::unauthorized, "refuses the RPC credentials: " + s.last_error};
        case node_state::down:
        case node_state::starting:
        case node_state::syncing:
        case node_state::no_peers:
        case node_state::wrong_chain:
        case node_state::failing:
            return {node_health::down, "is " + std::string(node::to_string(s.state)) + ": " + s.last_error};
    }
    return {};
}

node_tracker::node_tracker(std::string chain, std::string node) : chain_(std::move(chain)), node_(std::move(node)) {}

std::optional<alert_event> node_tracker::update(const node_observation& o, std::chrono::system_clock::time_point at) {
    if (o.health == node_health::unknown || o.health == last_) return std::nullopt;
    const node_health before = last_;
    last_ = o.health;
    if (o.health == node_health::up && before == node_health::unknown) return std::nullopt;
    alert_event e;
    e.kind = o.health == node_health::up     ? event_kind::node_up
             : o.health == node_health::down ? event_kind::node_down
                                             : event_kind::node_unauthorized;
    e.chain = chain_;
    e.subject = node_;
    e.text = node_ + " " + o.detail;
    e.at = at;
    return e;
}

poll_fn node_poller(std::string chain, std::string node, std::function<node::template_source_status()> status) {
    auto tracker = std::make_shared<node_tracker>(std::move(chain), std::move(node));
    return [tracker, status = std::move(status)] {
        std::vector<alert_event> out;
        if (auto e = tracker->update(observe(status()))) out.push_back(std::move(*e));
        return out;
    };
}

poll_fn orphan_poller(std::string chain, std::function<std::vector<block_fate_sample>()> recent) {
    struct state {
        bool baseline = true;
        std::unordered_map<std::string, bool> orphaned;  // the previous sample's blocks
    };
    auto st = std::make_shared<state>();
    return [st, chain = std::move(chain), recent = std::move(recent)] {
        std::vector<alert_event> out;
        const auto sample = recent();
        std::unordered_map<std::string, bool> now;
        for (const auto& b : sample) {
            now[b.hash] = b.orphaned;
            if (st->baseline || !b.orphaned) continue;
            const auto it = st->orphaned.find(b.hash);
            if (it != st->orphaned.end() && it->second) continue;
            alert_event e;
            e.kind = event_kind::block_orphaned;
            e.chain = chain;
            e.subject = b.hash;
            const std::string why = b.reason.empty() ? std::string() : " (" + b.reason + ")";
            e.text = "block " + std::to_string(b.height) + " orphaned" + why + ", hash " + b.hash;
            out.push_back(std::move(e));
        }
        st->orphaned = std::move(now);
        st->baseline = false;
        return out;
    };
}

}  // namespace sb::bridge::alerts
