#include "alerts/notifier.hpp"

#include <boost/asio/post.hpp>

#include <cstdio>

namespace sb::bridge::alerts {

namespace asio = boost::asio;

notifier::notifier(notifier_options options)
    : options_(std::move(options)),
      io_(1),
      grouper_(grouper_options{options_.min_interval.value_or(std::chrono::seconds(options_.settings.min_interval_s)),
                               options_.coalesce}),
      flush_timer_(io_),
      poll_timer_(io_) {
    options_.event_queue = std::max<std::size_t>(1, options_.event_queue);
    const auto& hooks = options_.settings.webhooks;
    for (std::size_t i = 0; i < hooks.size(); ++i) {
        wanted_ |= hooks[i].events;
        webhooks_.push_back(std::make_unique<webhook_channel>(
            io_.get_executor(), "alerts.webhooks[" + std::to_string(i) + "] (" + hooks[i].parsed.host + ")", hooks[i],
            options_.delivery, [this](std::string_view t) { log(t); }, options_.on_delivery));
    }
}

notifier::~notifier() { stop(); }

std::error_code notifier::start(std::string* detail) {
    if (started_ || stopped_) return {};
    for (auto& w : webhooks_) {
        std::string d;
        if (auto ec = w->init(&d)) {
            if (detail != nullptr) *detail = w->status().label + ": " + d;
            return ec;
        }
    }
    started_ = true;
    work_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
    return {};
}

void notifier::post(alert_event e) noexcept {
    if (!wanted_.test(static_cast<std::size_t>(e.kind)) || stopped_) return;
    bool schedule = false;
    try {
        {
            std::lock_guard lock(queue_mutex_);
            ++posted_;
            if (queue_.size() >= options_.event_queue) {
                queue_.pop_front();
                ++dropped_;
            }
            queue_.push_back(std::move(e));
            schedule = !drain_posted_;
            drain_posted_ = true;
        }
        if (schedule) asio::post(io_, [this] { drain(); });
    } catch (...) {
        // Out of memory: the event is lost, counted; the next post schedules the drain.
        std::lock_guard lock(queue_mutex_);
        ++dropped_;
        if (schedule) drain_posted_ = false;
    }
}

void notifier::drain() {
    std::deque<alert_event> batch;
    {
        std::lock_guard lock(queue_mutex_);
        batch.swap(queue_);
        drain_posted_ = false;
    }
    const auto now = std::chrono::steady_clock::now();
    for (const auto& e : batch) accept(e, now);
    arm_flush();
}

void notifier::accept(const alert_event& e, std::chrono::steady_clock::time_point now) {
    if (wanted_.test(static_cast<std::size_t>(e.kind))) grouper_.add(e, now);
}

void notifier::arm_flush() {
    const auto next = grouper_.next_due();
    if (!next || (flush_armed_for_ && *flush_armed_for_ <= *next)) return;
    flush_armed_for_ = next;
    flush_timer_.expires_at(*next);
    flush_timer_.async_wait([this](boost::system::error_code ec) {
        if (ec) return;
        flush_armed_for_.reset();
        on_flush();
    });
}

void notifier::on_flush() {
    for (const auto& m : grouper_.due(std::chrono::steady_clock::now()))
        for (auto& w : webhooks_)
            if (w->wants(m.kind)) w->enqueue(m);
    arm_flush();
}

void notifier::watch(poll_fn poll) {
    if (stopped_) return;
    asio::post(io_, [this, fn = std::move(poll)]() mutable {
        // The first sample at once: it is the baseline the later ones are compared with.
        for (const auto& e : fn()) accept(e, std::chrono::steady_clock::now());
        pollers_.push_back(std::move(fn));
        if (pollers_.size() == 1) {
            poll_timer_.expires_after(options_.poll_interval);
            poll_timer_.async_wait([this](boost::system::error_code ec) {
                if (!ec) this->poll();
            });
        }
        arm_flush();
    });
}

void notifier::poll() {
    const auto now = std::chrono::steady_clock::now();
    for (auto& p : pollers_)
        for (const auto& e : p()) accept(e, now);
    arm_flush();
    poll_timer_.expires_after(options_.poll_interval);
    poll_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) poll();
    });
}

void notifier::stop() {
    if (stopped_.exchange(true)) return;
    if (thread_.joinable()) {
        io_.stop();
        thread_.join();
    }
    for (auto& w : webhooks_) w->stop();
    flush_timer_.cancel();
    poll_timer_.cancel();
}

notifier_status notifier::status() const {
    notifier_status s;
    {
        std::lock_guard lock(queue_mutex_);
        s.posted = posted_;
        s.dropped_events = dropped_;
    }
    for (const auto& w : webhooks_) s.webhooks.push_back(w->status());
    return s;
}

void notifier::log(std::string_view text) const { options_.log(text); }

}  // namespace sb::bridge::alerts
