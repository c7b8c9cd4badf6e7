// Alerts (issue 14): events from the statistics, the submitter and the node wiring, grouped
// (grouper.hpp) and sent to every configured webhook that wants their kind (webhook.hpp),
// over HTTP or HTTPS, from a thread of the notifier's own.
//
// Never in mining's way: post() is an O(1) enqueue under a short lock, from any thread; a
// full queue drops its oldest event (counted in status().dropped_events) and never
// blocks. Grouping, formatting, TLS and retries all run on the notifier's thread.
//
// Who posts: event.hpp lists the kinds and their subjects.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "sb/core/log.hpp"
#include "alerts/event.hpp"
#include "alerts/grouper.hpp"
#include "alerts/limits.hpp"
#include "alerts/watch.hpp"
#include "alerts/webhook.hpp"
#include "sb/config/config.hpp"

namespace sb::bridge::alerts {

struct notifier_options {
    config::alert_settings settings;  // webhooks, min_interval_s
    // Tuning; the defaults are limits.hpp's (min_interval: settings.min_interval_s).
    // Tests shrink them.
    std::optional<std::chrono::milliseconds> min_interval;
    std::chrono::milliseconds coalesce = state_coalesce_delay;
    delivery_options delivery;
    std::size_t event_queue = event_queue_limit;
    std::chrono::milliseconds poll_interval = alerts::poll_interval;
    logger log;  // default: stderr
    // Every message's end at each webhook (webhook.hpp), on the notifier's thread.
    delivery_fn on_delivery;
};

struct notifier_status {
    std::uint64_t posted = 0;          // events post() took (dropped ones included)
    std::uint64_t dropped_events = 0;  // events dropped from a full queue
    std::vector<webhook_status> webhooks;
};

class notifier {
public:
    explicit notifier(notifier_options options);
    // stop()
    ~notifier();
    notifier(const notifier&) = delete;
    notifier& operator=(const notifier&) = delete;

    // Sets up each webhook (TLS context, CA file) and starts the thread. Once. Start-up:
    // an error names the webhook and what failed in *detail; nothing is sent then.
    std::error_code start(std::string* detail = nullptr);

    // Queues e for grouping and sending. Any thread, any time (before start() too: events
    // wait in the queue); O(1). A kind no webhook wants is dropped here.
    void post(alert_event e) noexcept;

    // Calls poll every poll interval on the notifier's thread and takes the events it
    // returns (watch.hpp: node_poller, orphan_poller). Any thread, any time; poll must
    // stay callable until stop() returns.
    void watch(poll_fn poll);

    // Stops the thread; what is queued or being retried is abandoned. Idempotent.
    void stop();

    notifier_status status() const;

private:
    void drain();
    void accept(const alert_event& e, std::chrono::steady_clock::time_point now);
    void arm_flush();
    void on_flush();
    void poll();
    void log(std::string_view text) const;

    notifier_options options_;
    config::alert_kinds wanted_;
    boost::asio::io_context io_;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
    grouper grouper_;
    std::vector<std::unique_ptr<webhook_channel>> webhooks_;
    boost::asio::steady_timer flush_timer_;
    std::optional<std::chrono::steady_clock::time_point> flush_armed_for_;
    boost::asio::steady_timer poll_timer_;
    std::vector<poll_fn> pollers_;  // the notifier's thread only
    std::thread thread_;
    bool started_ = false;
    std::atomic<bool> stopped_{false};

    mutable std::mutex queue_mutex_;
    std::deque<alert_event> queue_;
    bool drain_posted_ = false;
    std::uint64_t posted_ = 0;
    std::uint64_t dropped_ = 0;
};

}  // namespace sb::bridge::alerts
