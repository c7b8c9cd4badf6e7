#include "sb/node/template_source.hpp"

#include <atomic>
#include <mutex>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "backoff.hpp"
#include "sb/node/node_rpc.hpp"

namespace sb::node {
namespace {

namespace asio = boost::asio;
using error_code = boost::system::error_code;

// The template's longpollid, when it has a usable one.
std::optional<std::string> longpollid_of(const rapidjson::Value& gbt) {
    const auto it = gbt.FindMember("longpollid");
    if (it == gbt.MemberEnd() || !it->value.IsString()) return std::nullopt;
    const std::size_t n = it->value.GetStringLength();
    if (n == 0 || n > max_node_text_bytes) return std::nullopt;
    return std::string(it->value.GetString(), n);
}

}  // namespace

std::string_view to_string(template_reason r) noexcept {
    switch (r) {
    case template_reason::initial: return "initial";
    case template_reason::longpoll: return "longpoll";
    case template_reason::new_tip: return "new_tip";
    case template_reason::refresh: return "refresh";
    case template_reason::behind: return "behind";
    }
    return "unknown";
}

class template_source::impl : public std::enable_shared_from_this<impl> {
public:
    impl(asio::any_io_executor ex, const rpc_settings& rpc, template_source_options options,
         template_handler on_template)
        : ex_(std::move(ex)),
          options_(options),
          on_template_(std::move(on_template)),
          signet_(options.net == sb::network::bitcoin_signet),
          chain_(sb::params(options.net)),
          client_(ex_, rpc, options.client),
          longpoll_client_(ex_, rpc, options.client),
          refresh_timer_(ex_),
          retry_timer_(ex_),
          longpoll_retry_timer_(ex_),
          behind_timer_(ex_),
          fetch_backoff_(options.retry_initial, options.retry_max),
          behind_backoff_(options.behind_retry_initial, options.behind_retry_max),
          longpoll_backoff_(options.retry_initial, options.retry_max) {}

    void start() {
        asio::post(ex_, [self = shared_from_this()] {
            if (self->started_ || self->stopped()) return;
            self->started_ = true;
            self->fetch(template_reason::initial);
        });
    }

    void notify_new_tip() {
        asio::post(ex_, [self = shared_from_this()] {
            if (self->started_) self->fetch(template_reason::new_tip);
        });
    }

    void stop() {
        stopped_.store(true);
        asio::dispatch(ex_, [self = shared_from_this()] { self->do_stop(); });
    }

    template_source_status status() const {
        template_source_status s;
        {
            std::lock_guard lock(status_mutex_);
            s = status_;
        }
        s.rpc = client_.status();
        s.longpoll_rpc = longpoll_client_.status();
        return s;
    }

private:
    bool stopped() const noexcept { return stopped_.load(); }

    // ---- plain fetches -----------------------------------------------------------------

    void fetch(template_reason reason) {
        if (stopped()) return;
        if (fetch_in_flight_) {
            // The running fetch may predate the event: fetch once more after it.
            if (!queued_reason_) queued_reason_ = reason;
            return;
        }
        fetch_in_flight_ = true;
        retry_timer_.cancel();
        getblocktemplate(client_, {signet_, {}},
                         [self = shared_from_this(), reason](rpc_reply r) { self->on_fetch(reason, std::move(r)); });
    }

    void on_fetch(template_reason reason, rpc_reply r) {
        fetch_in_flight_ = false;
        if (stopped()) return;
        if (r.ok() && !r.value->IsObject())
            r = rpc_reply::failure(node_errc::bad_reply, "template is not a JSON object");
        if (!r.ok()) {
            note_error("getblocktemplate: " + r.error.to_string());
            // The retry also serves an event queued meanwhile.
            queued_reason_.reset();
            retry_timer_.expires_after(fetch_backoff_.next());
            retry_timer_.async_wait([self = shared_from_this(), reason](error_code ec) {
                if (!ec && !self->stopped()) self->fetch(reason);
            });
            return;
        }
        auto t = parse_block_template(*r.value, chain_);
        if (!t) {
            note_error("getblocktemplate: the node's template was refused: " + t.error().message());
            queued_reason_.reset();
            retry_timer_.expires_after(fetch_backoff_.next());
            retry_timer_.async_wait([self = shared_from_this(), reason](error_code ec) {
                if (!ec && !self->stopped()) self->fetch(reason);
            });
            return;
        }
        fetch_backoff_.reset();
        const auto id = longpollid_of(*r.value);
        deliver(std::make_shared<const block_template>(std::move(*t)), reason);
        if (id && !longpoll_in_flight_ && !longpoll_waiting_) {
            longpollid_ = *id;
            update_status([](template_source_status& s) { s.longpoll_supported = true; });
            do_longpoll();
        } else if (!id && !longpoll_in_flight_ && !longpoll_waiting_) {
            update_status([](template_source_status& s) { s.longpoll_supported = false; });
        }
        if (queued_reason_) {
            const auto next = *queued_reason_;
            queued_reason_.reset();
            fetch(next);
        }
    }

    // ---- longpoll ----------------------------------------------------------------------

    void do_longpoll() {
        if (stopped() || longpoll_in_flight_ || longpollid_.empty()) return;
        longpoll_in_flight_ = true;
        longpoll_waiting_ = false;
        update_status([](template_source_status& s) { s.longpoll_active = true; });
        getblocktemplate(longpoll_client_, {signet_, longpollid_},
                         [self = shared_from_this()](rpc_reply r) { self->on_longpoll(std::move(r)); },
                         call_options{options_.longpoll_timeout});
    }

    void on_longpoll(rpc_reply r) {
        longpoll_in_flight_ = false;
        if (stopped()) return;
        update_status([](template_source_status& s) { s.longpoll_active = false; });
        if (r.ok() && !r.value->IsObject())
            r = rpc_reply::failure(node_errc::bad_reply, "template is not a JSON object");
        if (!r.ok()) {
            // A quiet chain: nothing changed within the timeout, so simply ask again.
            if (r.error.code == node_errc::timeout) return do_longpoll();
            note_error("longpoll: " + r.error.to_string());
            return wait_then_longpoll();
        }
        auto t = parse_block_template(*r.value, chain_);
        if (!t) {
            note_error("longpoll: the node's template was refused: " + t.error().message());
            return wait_then_longpoll();
        }
        longpoll_backoff_.reset();
        const auto id = longpollid_of(*r.value);
        deliver(std::make_shared<const block_template>(std::move(*t)), template_reason::longpoll);
        if (!id) {
            // BIP22 lets a server omit longpollid: fall back to refresh and new-tip fetches.
            longpollid_.clear();
            update_status([](template_source_status& s) { s.longpoll_supported = false; });
            return;
        }
        if (*id == longpollid_) return wait_then_longpoll();  // answered without a change: do not spin
        longpollid_ = *id;
        do_longpoll();
    }

    void wait_then_longpoll() {
        longpoll_waiting_ = true;
        longpoll_retry_timer_.expires_after(longpoll_backoff_.next());
        longpoll_retry_timer_.async_wait([self = shared_from_this()](error_code ec) {
            if (ec || self->stopped()) return;
            self->longpoll_waiting_ = false;
            self->do_longpoll();
        });
    }

    // ---- delivery ----------------------------------------------------------------------

    void deliver(std::shared_ptr<const block_template> t, template_reason reason) {
        update_status([](template_source_status& s) {
            s.last_template_at = std::chrono::system_clock::now();
            ++s.templates;
        });
        arm_refresh();
        if (stopped() || !on_template_) return;
        if (on_template_(std::move(t), reason) == template_use::used) {
            behind_backoff_.reset();
            behind_timer_.cancel();
            behind_armed_ = false;
            return;
        }
        update_status([](template_source_status& s) { ++s.templates_behind; });
        // Ask again until the node builds on the tip the receiver knows. One timer: a
        // second behind template while it runs does not push the fetch further away.
        if (behind_armed_) return;
        behind_armed_ = true;
        behind_timer_.expires_after(behind_backoff_.next());
        behind_timer_.async_wait([self = shared_from_this()](error_code ec) {
            if (ec || self->stopped()) return;
            self->behind_armed_ = false;
            self->fetch(template_reason::behind);
        });
    }

    // The refresh period counts from the last template, whatever brought it.
    void arm_refresh() {
        if (options_.refresh <= std::chrono::milliseconds::zero()) return;
        refresh_timer_.expires_after(options_.refresh);
        refresh_timer_.async_wait([self = shared_from_this()](error_code ec) {
            if (!ec && !self->stopped()) self->fetch(template_reason::refresh);
        });
    }

    void do_stop() {
        refresh_timer_.cancel();
        retry_timer_.cancel();
        longpoll_retry_timer_.cancel();
        behind_timer_.cancel();
        client_.close();
        longpoll_client_.close();
        update_status([](template_source_status& s) { s.longpoll_active = false; });
    }

    template <class F>
    void update_status(F&& f) {
        std::lock_guard lock(status_mutex_);
        f(status_);
    }

    void note_error(std::string text) {
        update_status([&](template_source_status& s) { s.last_error = std::move(text); });
    }

    asio::any_io_executor ex_;
    template_source_options options_;
    template_handler on_template_;
    bool signet_;
    const sb::chain_params& chain_;
    rpc_client client_;           // plain fetches
    rpc_client longpoll_client_;  // the longpoll, held open on its own connection
    asio::steady_timer refresh_timer_;
    asio::steady_timer retry_timer_;
    asio::steady_timer longpoll_retry_timer_;
    asio::steady_timer behind_timer_;
    detail::backoff fetch_backoff_;
    detail::backoff behind_backoff_;
    detail::backoff longpoll_backoff_;

    bool started_ = false;
    bool fetch_in_flight_ = false;
    std::optional<template_reason> queued_reason_;
    bool longpoll_in_flight_ = false;
    bool longpoll_waiting_ = false;  // a failed or unchanged longpoll waits for its back-off
    bool behind_armed_ = false;      // behind_timer_ will fetch
    std::string longpollid_;
    std::atomic<bool> stopped_{false};

    mutable std::mutex status_mutex_;
    template_source_status status_;
};

template_source::template_source(asio::any_io_executor strand, rpc_settings rpc, template_source_options options,
                                 template_handler on_template)
    : impl_(std::make_shared<impl>(std::move(strand), rpc, options, std::move(on_template))) {}

template_source::~template_source() { impl_->stop(); }

void template_source::start() { impl_->start(); }

void template_source::notify_new_tip() { impl_->notify_new_tip(); }

void template_source::stop() { impl_->stop(); }

template_source_status template_source::status() const { return impl_->status(); }

}  // namespace sb::node
