#include "alerts/node_watch.hpp"

#include "sb/node/errors.hpp"

namespace sb::bridge::alerts {

node_observation observe(const node::template_source_status& prev, const node::template_source_status& cur) {
    // The longpoll connection is the one that is always open: it sees a node that died
    // between two template fetches first.
    if (cur.rpc.state == node::link_state::down) return {node_health::down, cur.rpc.last_error};
    if (cur.longpoll_rpc.state == node::link_state::down) return {node_health::down, cur.longpoll_rpc.last_error};
    const bool replied = cur.templates > prev.templates || cur.rpc.calls_ok > prev.rpc.calls_ok ||
                         cur.longpoll_rpc.calls_ok > prev.longpoll_rpc.calls_ok;
    if (replied && cur.rpc.state == node::link_state::connected) return {node_health::up, {}};
    // rpc_error::to_string() starts with the error's message.
    static const std::string refused = node::make_error_code(node::node_errc::unauthorized).message();
    if (cur.rpc.calls_failed > prev.rpc.calls_failed && cur.rpc.calls_ok == prev.rpc.calls_ok &&
        cur.rpc.last_error.starts_with(refused))
        return {node_health::unauthorized, cur.rpc.last_error};
    return {};
}

node_tracker::node_tracker(std::string chain, std::string node) : chain_(std::move(chain)), node_(std::move(node)) {}

std::optional<alert_event> node_tracker::update(const node_observation& o, std::chrono::system_clock::time_point at) {
    if (o.health == node_health::unknown || o.health == last_) return std::nullopt;
    const node_health before = last_;
    last_ = o.health;
    alert_event e;
    e.chain = chain_;
    e.subject = node_;
    e.at = at;
    switch (o.health) {
        case node_health::down:
            e.kind = event_kind::node_down;
            e.text = node_ + " is down: " + o.problem;
            return e;
        case node_health::unauthorized:
            e.kind = event_kind::node_unauthorized;
            e.text = node_ + " refuses the RPC credentials (" + o.problem +
                     "): check rpc_user/rpc_password or rpc_cookie_file and who may read it";
            return e;
        case node_health::up:
            if (before == node_health::unknown) return std::nullopt;
            e.kind = event_kind::node_up;
            e.text = node_ + " answers again";
            return e;
        case node_health::unknown: break;
    }
    return std::nullopt;
}

}  // namespace sb::bridge::alerts
