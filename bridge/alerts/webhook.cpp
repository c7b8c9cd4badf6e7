#include "alerts/webhook.hpp"

#include <algorithm>

#include "alerts/errors.hpp"

namespace sb::bridge::alerts {

namespace {

std::string seconds_text(std::chrono::milliseconds d) {
    if (d < std::chrono::seconds(1)) return std::to_string(d.count()) + " ms";
    return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " s";
}

// A redirect (not followed: the configured URL is the one to fix), or a 4xx other than 408
// (timeout), 425 (too early) and 429 (too many requests): the webhook refuses this request
// as it is, and asking again would not change its mind.
bool refused_for_good(const send_result& r) {
    return r.ec == alerts_errc::http_status && r.status >= 300 && r.status < 500 && r.status != 408 &&
           r.status != 425 && r.status != 429;
}

}  // namespace

webhook_channel::webhook_channel(boost::asio::any_io_executor ex, std::string label, config::webhook_settings settings,
                                 delivery_options options, logger log, delivery_fn on_delivery)
    : ex_(ex),
      settings_(std::move(settings)),
      options_(options),
      log_(std::move(log)),
      on_delivery_(std::move(on_delivery)),
      retry_timer_(ex) {
    status_.label = std::move(label);
}

std::error_code webhook_channel::init(std::string* detail) {
    if (!settings_.parsed.tls) return {};
    tls_.emplace(boost::asio::ssl::context::tls_client);
    return make_client_context(*tls_, settings_.ca_file, detail);
}

void webhook_channel::enqueue(alert_message m) {
    if (stopped_) return;
    const std::size_t first_waiting = busy_ ? 1 : 0;
    if (queue_.size() - first_waiting >= options_.queue_limit) {
        const alert_message& old = queue_[first_waiting].message;
        log_(status_.label + ": queue full, dropping the oldest alert waiting (" + old.title + ")");
        report(old, false, "dropped: the webhook's queue was full");
        queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(first_waiting));
        update([](webhook_status& s) { ++s.dropped; });
    }
    queue_.push_back({std::move(m), std::chrono::steady_clock::now()});
    update([n = queue_.size()](webhook_status& s) { s.queued = n; });
    if (!busy_) send_next();
}

void webhook_channel::send_next() {
    if (stopped_ || queue_.empty()) {
        busy_ = false;
        return;
    }
    busy_ = true;
    update([](webhook_status& s) { ++s.requests; });
    send_request(ex_, tls_ ? &*tls_ : nullptr, settings_.parsed, make_request(settings_, queue_.front().message),
                 options_.request_timeout, [this](send_result r) { on_result(std::move(r)); });
}

void webhook_channel::report(const alert_message& m, bool delivered, std::string detail) const {
    if (!on_delivery_) return;
    try {
        delivery_report r;
        r.webhook = status_.label;
        r.kind = m.kind;
        r.chain = m.chain;
        r.title = m.title;
        r.delivered = delivered;
        r.detail = std::move(detail);
        on_delivery_(r);
    } catch (...) {
        // Out of memory: the report is lost; the alert itself is not affected.
    }
}

void webhook_channel::pop_front() {
    queue_.pop_front();
    attempts_ = 0;
    update([n = queue_.size()](webhook_status& s) { s.queued = n; });
}

void webhook_channel::on_result(send_result r) {
    if (stopped_) return;
    const std::string& title = queue_.front().message.title;
    if (!r.ec) {
        if (attempts_ > 0)
            log_(status_.label + ": delivered \"" + title + "\" after " + std::to_string(attempts_ + 1) + " attempts");
        backoff_ = std::chrono::milliseconds(0);
        report(queue_.front().message, true, {});  // before the counts, which tests wait on
        update([](webhook_status& s) {
            ++s.sent;
            s.retry_delay = std::chrono::milliseconds(0);
        });
        pop_front();
        return send_next();
    }
    update([&](webhook_status& s) {
        ++s.failures;
        s.last_error = r.detail;
    });
    ++attempts_;
    const auto age = std::chrono::steady_clock::now() - queue_.front().queued_at;
    if (refused_for_good(r) || age >= options_.give_up_after) {
        log_(status_.label + ": gave up \"" + title + "\" after " + std::to_string(attempts_) + " attempt" +
             (attempts_ == 1 ? "" : "s") + ": " + r.detail +
             (refused_for_good(r) ? " (the webhook refuses it: check the URL, token and headers)" : ""));
        report(queue_.front().message, false, r.detail);
        update([](webhook_status& s) { ++s.given_up; });
        pop_front();
        return send_next();
    }
    backoff_ = backoff_ == std::chrono::milliseconds(0) ? options_.retry_initial
                                                         : std::min(options_.retry_max, backoff_ * 2);
    const auto delay = std::max(backoff_, std::min(std::chrono::duration_cast<std::chrono::milliseconds>(r.retry_after),
                                                   options_.retry_max));
    update([delay](webhook_status& s) { s.retry_delay = delay; });
    log_(status_.label + ": \"" + title + "\" not delivered: " + r.detail + "; retrying in " + seconds_text(delay));
    retry_timer_.expires_after(delay);
    retry_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec && !stopped_) send_next();
    });
}

void webhook_channel::stop() {
    stopped_ = true;
    retry_timer_.cancel();
}

webhook_status webhook_channel::status() const {
    std::lock_guard lock(status_mutex_);
    return status_;
}

}  // namespace sb::bridge::alerts
