#include "sb/node/template_failover.hpp"

#include <mutex>
#include <string>

namespace sb::node {

struct template_failover::impl : std::enable_shared_from_this<impl> {
    std::vector<rpc_settings> nodes;
    template_source_options options;
    template_source::template_handler on_template;
    std::vector<std::unique_ptr<template_source>> sources;

    // Written on the strand only; read by status() and the getters from any thread.
    mutable std::mutex mutex;
    std::vector<node_state> states;
    std::optional<std::size_t> active;

    void log(const std::string& line, log_level level = log_level::info) const {
        options.log.write(level, line);
    }

    std::optional<std::size_t> first_connected() const {
        for (std::size_t i = 0; i < states.size(); ++i)
            if (states[i] == node_state::connected) return i;
        return std::nullopt;
    }

    // On the strand: node i changed state (template_source on_state).
    void on_state(std::size_t i, node_state state, const std::string& problem) {
        std::optional<std::size_t> fetch_from;
        std::optional<std::size_t> was;
        std::optional<std::size_t> now;
        {
            std::lock_guard lock(mutex);
            states[i] = state;
            was = active;
            if (state == node_state::connected) {
                // Its template follows this call at once: no fetch needed.
                if (!active || i < *active) active = i;
            } else if (active == i) {
                active = first_connected();
                fetch_from = active;
            }
            now = active;
        }
        if (options.on_state) options.on_state(state, problem);
        if (was == now || nodes.size() < 2) return;
        if (!now) {
            log("no node supplies templates: " + nodes[i].url + " is " + std::string(to_string(state)) +
                " and no other configured node is connected",
                log_level::error);
            return;
        }
        std::string line = "templates now from node " + nodes[*now].url;
        if (was && *now < *was)
            line += " (connected, and before " + nodes[*was].url + " in the config)";
        else if (was)
            line += " (node " + nodes[*was].url + " is " + std::string(to_string(state)) + ")";
        log(line);
        if (fetch_from) sources[*fetch_from]->notify_new_tip();
    }

    template_use on_node_template(std::size_t i, std::shared_ptr<const block_template> t, template_reason why) {
        {
            std::lock_guard lock(mutex);
            // A standby's template is dropped: only the active node makes work.
            if (active != i) return template_use::used;
        }
        return on_template ? on_template(std::move(t), why) : template_use::used;
    }
};

template_failover::template_failover(boost::asio::any_io_executor strand, std::vector<rpc_settings> nodes,
                                     template_source_options options, template_source::template_handler on_template)
    : impl_(std::make_shared<impl>()) {
    impl_->nodes = std::move(nodes);
    impl_->options = std::move(options);
    impl_->on_template = std::move(on_template);
    impl_->states.assign(impl_->nodes.size(), node_state::connecting);
    std::weak_ptr<impl> weak = impl_;
    for (std::size_t i = 0; i < impl_->nodes.size(); ++i) {
        template_source_options o = impl_->options;
        o.name = impl_->nodes[i].url;
        o.on_state = [weak, i](node_state s, const std::string& problem) {
            if (auto self = weak.lock()) self->on_state(i, s, problem);
        };
        impl_->sources.push_back(std::make_unique<template_source>(
            strand, impl_->nodes[i], std::move(o),
            [weak, i](std::shared_ptr<const block_template> t, template_reason why) {
                auto self = weak.lock();
                return self ? self->on_node_template(i, std::move(t), why) : template_use::used;
            }));
    }
}

template_failover::~template_failover() { stop(); }

void template_failover::start() {
    for (auto& s : impl_->sources) s->start();
}

void template_failover::notify_new_tip() {
    for (auto& s : impl_->sources) s->notify_new_tip();
}

void template_failover::stop() {
    for (auto& s : impl_->sources) s->stop();
}

failover_status template_failover::status() const {
    failover_status st;
    for (const auto& s : impl_->sources) st.nodes.push_back(s->status());
    st.active = active_node();
    return st;
}

std::optional<std::size_t> template_failover::active_node() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->active;
}

bool template_failover::may_supply() const {
    std::lock_guard lock(impl_->mutex);
    for (const auto s : impl_->states)
        if (s == node_state::connected || s == node_state::connecting) return true;
    return false;
}

}  // namespace sb::node
