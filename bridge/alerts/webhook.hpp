// One configured webhook: its queue of messages and their delivery, one request at a
// time, in order. A failed request (no connection, TLS, timeout, 408/425/429 or 5xx) is
// retried with back-off: retry_initial, doubling up to retry_max (a longer Retry-After on
// 429/503 wins, within retry_max); the back-off belongs to the webhook, so messages that
// queue behind a webhook that is down do not hammer it either, and it resets on the first
// success. A message is given up once give_up_after has passed since it was queued; one
// refused with another 4xx (a bad token, a wrong URL) or redirected (3xx: redirects are not
// followed) is given up at once. Both are
// logged with the reason. The queue holds queue_limit messages behind the one being sent;
// beyond it the oldest waiting one is dropped and counted.
// Threading: everything but status() runs on the executor (one thread). The owner
// destroys the channel only once that thread has stopped: callbacks hold `this`.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "sb/core/log.hpp"
#include "alerts/event.hpp"
#include "alerts/limits.hpp"
#include "alerts/request.hpp"
#include "alerts/sender.hpp"
#include "sb/config/config.hpp"

namespace sb::bridge::alerts {

struct delivery_options {
    std::chrono::milliseconds retry_initial = alerts::retry_initial;
    std::chrono::milliseconds retry_max = alerts::retry_max;
    std::chrono::milliseconds give_up_after = alerts::give_up_after;
    std::chrono::milliseconds request_timeout = alerts::request_timeout;
    std::size_t queue_limit = webhook_queue_limit;
};

// A snapshot for the dashboard and the tests.
struct webhook_status {
    std::string label;            // "alerts.webhooks[0] (ntfy.sh)": never the URL's path or token
    std::uint64_t sent = 0;       // messages the webhook took (2xx)
    std::uint64_t given_up = 0;   // messages refused (4xx) or retried for too long
    std::uint64_t dropped = 0;    // messages dropped from a full queue
    std::uint64_t requests = 0;   // requests made, retries included
    std::uint64_t failures = 0;   // requests that failed
    std::size_t queued = 0;       // messages waiting, the one being sent included
    std::chrono::milliseconds retry_delay{0};  // the back-off now; 0 after a success
    std::string last_error;       // the last failure, empty until one
};

// A message's end at one webhook: taken (2xx), or given up (refused, retried for too long,
// or dropped from a full queue). The dashboard records them as events.
struct delivery_report {
    std::string webhook;  // the label (webhook_status::label)
    event_kind kind = event_kind::block_found;
    std::string chain;
    std::string title;  // alert_message::title: printable ASCII
    bool delivered = false;
    std::string detail;  // why it was given up; empty when delivered
};
// Called on the executor's thread; must return quickly and not throw.
using delivery_fn = std::function<void(const delivery_report&)>;

class webhook_channel {
public:

    webhook_channel(boost::asio::any_io_executor ex, std::string label, config::webhook_settings settings,
                    delivery_options options, logger log, delivery_fn on_delivery = {});
    webhook_channel(const webhook_channel&) = delete;
    webhook_channel& operator=(const webhook_channel&) = delete;

    // Sets up TLS (https: ca_file or the system store). Start-up; detail says what failed.
    std::error_code init(std::string* detail);
    bool wants(event_kind k) const noexcept { return settings_.events.test(static_cast<std::size_t>(k)); }
    // Queues m (on the executor).
    void enqueue(alert_message m);
    // Cancels the retry timer; a request in flight is abandoned with the executor.
    void stop();
    webhook_status status() const;

private:
    struct queued {
        alert_message message;
        std::chrono::steady_clock::time_point queued_at;
    };

    void send_next();
    void on_result(send_result r);
    void pop_front();
    void report(const alert_message& m, bool delivered, std::string detail) const;
    template <class F>
    void update(F&& f) {
        std::lock_guard lock(status_mutex_);
        f(status_);
    }

    boost::asio::any_io_executor ex_;
    config::webhook_settings settings_;
    delivery_options options_;
    logger log_;
    delivery_fn on_delivery_;
    std::optional<boost::asio::ssl::context> tls_;
    boost::asio::steady_timer retry_timer_;
    std::deque<queued> queue_;  // front: the message being sent, while busy_
    bool busy_ = false;
    bool stopped_ = false;
    std::uint32_t attempts_ = 0;  // of the front message
    std::chrono::milliseconds backoff_{0};
    mutable std::mutex status_mutex_;
    webhook_status status_;
};

}  // namespace sb::bridge::alerts
