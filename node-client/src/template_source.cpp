#include "sb/node/template_source.hpp"

#include <atomic>
#include <mutex>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "backoff.hpp"
#include "sb/node/internal/json.hpp"
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
    // Lets the RPC clients' connect-failure callbacks reach the source without keeping it
    // alive (they are made before the source is owned by a shared_ptr).
    struct self_ref {
        std::weak_ptr<impl> source;
    };

public:
    impl(asio::any_io_executor ex, const rpc_settings& rpc, template_source_options options,
         template_handler on_template)
        : ex_(std::move(ex)),
          options_(std::move(options)),
          on_template_(std::move(on_template)),
          signet_(options_.net == sb::network::bitcoin_signet),
          chain_(sb::params(options_.net)),
          name_(options_.name.empty() ? rpc.url : options_.name),
          ref_(std::make_shared<self_ref>()),
          client_(ex_, rpc, watched(options_.client, ref_)),
          longpoll_client_(ex_, rpc, watched(options_.client, ref_)),
          refresh_timer_(ex_),
          retry_timer_(ex_),
          longpoll_retry_timer_(ex_),
          behind_timer_(ex_),
          fetch_backoff_(options_.retry_initial, options_.retry_max),
          behind_backoff_(options_.behind_retry_initial, options_.behind_retry_max),
          longpoll_backoff_(options_.retry_initial, options_.retry_max) {}

    // Called once the source is owned by its shared_ptr.
    void bind() { ref_->source = weak_from_this(); }

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
    // Which connection a chain check vouches for.
    struct verified_link {
        bool ok = false;
        std::uint64_t epoch = 0;  // the client's link_epoch when the check passed
    };

    static client_options watched(client_options o, const std::shared_ptr<self_ref>& ref) {
        o.on_connect_failed = [ref](const std::string& what) {
            if (auto self = ref->source.lock()) self->on_connect_failed(what);
        };
        return o;
    }

    bool stopped() const noexcept { return stopped_.load(); }

    static bool vouched(const rpc_client& c, const verified_link& v) { return v.ok && c.status().link_epoch == v.epoch; }

    // ---- node health -------------------------------------------------------------------

    // The chain check (node_health.hpp check_chain) on one connection: then(true) when the
    // node may supply templates over it, then(false) after the state says why not.
    void verify(rpc_client& client, verified_link& link, std::function<void(bool)> then) {
        link.ok = false;
        getblockchaininfo(client, [self = shared_from_this(), &client, &link,
                                   then = std::move(then)](rpc_result<blockchain_info> info) mutable {
            if (self->stopped()) return;
            if (!info) {
                self->failed("getblockchaininfo", info.error);
                return then(false);
            }
            getblockhash(client, 0, [self, &client, &link, info = std::move(info.value),
                                     then = std::move(then)](rpc_result<std::string> genesis) {
                if (self->stopped()) return;
                if (!genesis) {
                    self->failed("getblockhash", genesis.error);
                    return then(false);
                }
                if (auto problem = check_chain(info, genesis.value, self->chain_)) {
                    self->set_state(problem->state, std::move(problem->text));
                    return then(false);
                }
                link = {true, client.status().link_epoch};
                then(true);
            });
        });
    }

    // A call failed: the state it shows.
    void failed(std::string_view what, const rpc_error& e) {
        if (e.code == node_errc::cancelled) return;
        auto p = classify_failure(what, e);
        set_state(p.state, std::move(p.text));
    }

    // Either connection could not be made: the node is down now, although the calls
    // waiting for it fail only at their deadline. A fetch is kept waiting (or scheduled)
    // so that the node's return is seen however the outage was noticed.
    void on_connect_failed(const std::string& what) {
        if (stopped() || !started_) return;
        set_state(node_state::down, what);
        if (!fetch_in_flight_ && !retry_armed_) fetch(template_reason::refresh);
    }

    void set_state(node_state state, std::string problem) {
        if (stopped()) return;
        const auto now = std::chrono::system_clock::now();
        node_state old = state;
        std::optional<std::chrono::system_clock::time_point> old_since;
        bool changed = false;
        update_status([&](template_source_status& s) {
            old = s.state;
            old_since = s.state_since;
            changed = s.state != state;
            if (changed) s.state_since = now;
            s.state = state;
            s.last_error = state == node_state::connected ? std::string() : problem;
        });
        if (!changed) {
            if (state != node_state::connected) last_problem_ = std::move(problem);
            return;
        }
        if (state == node_state::connected) {
            std::string line = "node " + name_ + ": connected";
            if (old != node_state::connecting) {
                line += " again";
                if (old_since)
                    line += " after " +
                            std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now - *old_since).count()) +
                            " s " + std::string(to_string(old)) + " (" + last_problem_ + ")";
            }
            log(line);
        } else {
            log("node " + name_ + ": " + std::string(to_string(state)) + ": " + problem, log_level::warn);
        }
        if (state != node_state::connected) last_problem_ = problem;
        if (options_.on_state) options_.on_state(state, state == node_state::connected ? std::string() : problem);
    }

    void log(const std::string& line, log_level level = log_level::info) const {
        options_.log.write(level, line);
    }

    // ---- plain fetches -----------------------------------------------------------------

    void fetch(template_reason reason) {
        if (stopped()) return;
        if (fetch_in_flight_) {
            // The running fetch may predate the event: fetch once more after it.
            if (!queued_reason_) queued_reason_ = reason;
            return;
        }
        fetch_in_flight_ = true;
        retry_armed_ = false;
        retry_timer_.cancel();
        if (vouched(client_, fetch_verified_)) return request_template(reason);
        verify(client_, fetch_verified_, [self = shared_from_this(), reason](bool ok) {
            if (ok) return self->request_template(reason);
            self->fetch_in_flight_ = false;
            self->retry_later(reason);
        });
    }

    void request_template(template_reason reason) {
        getblocktemplate(client_, {signet_, {}},
                         [self = shared_from_this(), reason](rpc_reply r) { self->on_fetch(reason, std::move(r)); });
    }

    // After a failed fetch; the retry also serves an event queued meanwhile.
    void retry_later(template_reason reason) {
        queued_reason_.reset();
        retry_armed_ = true;
        retry_timer_.expires_after(fetch_backoff_.next());
        retry_timer_.async_wait([self = shared_from_this(), reason](error_code ec) {
            if (ec || self->stopped()) return;
            self->retry_armed_ = false;
            self->fetch(reason);
        });
    }

    void on_fetch(template_reason reason, rpc_reply r) {
        fetch_in_flight_ = false;
        if (stopped()) return;
        if (r.ok() && !json_of(r.value).IsObject())
            r = rpc_reply::failure(node_errc::bad_reply, "template is not a JSON object");
        if (!r.ok()) {
            failed("getblocktemplate", r.error);
            return retry_later(reason);
        }
        if (!vouched(client_, fetch_verified_)) {
            // The connection changed under the call (the node may have restarted as
            // another): check it before anything it sent is used.
            const auto epoch = client_.status().link_epoch;
            fetch_in_flight_ = true;
            return verify(client_, fetch_verified_, [self = shared_from_this(), reason, r, epoch](bool ok) {
                self->fetch_in_flight_ = false;
                if (!ok) return self->retry_later(reason);
                if (self->fetch_verified_.epoch != epoch) return self->fetch(reason);  // yet another connection
                self->on_fetch(reason, r);
            });
        }
        auto t = parse_block_template(json_of(r.value), chain_);
        if (!t) {
            set_state(node_state::failing,
                      "getblocktemplate: the node's template was refused: " + t.error().message());
            return retry_later(reason);
        }
        fetch_backoff_.reset();
        const auto id = longpollid_of(json_of(r.value));
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
        if (vouched(longpoll_client_, longpoll_verified_)) return send_longpoll();
        verify(longpoll_client_, longpoll_verified_, [self = shared_from_this()](bool ok) {
            if (ok) return self->send_longpoll();
            self->longpoll_in_flight_ = false;
            self->update_status([](template_source_status& s) { s.longpoll_active = false; });
            self->wait_then_longpoll();
        });
    }

    void send_longpoll() {
        getblocktemplate(longpoll_client_, {signet_, longpollid_},
                         [self = shared_from_this()](rpc_reply r) { self->on_longpoll(std::move(r)); },
                         call_options{options_.longpoll_timeout});
    }

    void on_longpoll(rpc_reply r) {
        longpoll_in_flight_ = false;
        if (stopped()) return;
        update_status([](template_source_status& s) { s.longpoll_active = false; });
        if (r.ok() && !json_of(r.value).IsObject())
            r = rpc_reply::failure(node_errc::bad_reply, "template is not a JSON object");
        if (!r.ok()) {
            // A quiet chain: nothing changed within the timeout, so simply ask again.
            if (r.error.code == node_errc::timeout) return do_longpoll();
            if (r.error.code == node_errc::connection_lost) {
                // The node closed the held request: restarting, or just this connection.
                // A fetch tells which (its connect fails, or it brings a template), and
                // catches up on a tip the longpoll would have announced.
                fetch(template_reason::refresh);
            } else {
                failed("longpoll", r.error);
            }
            return wait_then_longpoll();
        }
        if (!vouched(longpoll_client_, longpoll_verified_)) {
            // Answered over a connection the chain check has not seen: check it first.
            const auto epoch = longpoll_client_.status().link_epoch;
            longpoll_in_flight_ = true;
            return verify(longpoll_client_, longpoll_verified_, [self = shared_from_this(), r, epoch](bool ok) {
                self->longpoll_in_flight_ = false;
                if (!ok) return self->wait_then_longpoll();
                if (self->longpoll_verified_.epoch != epoch) return self->do_longpoll();
                self->on_longpoll(r);
            });
        }
        auto t = parse_block_template(json_of(r.value), chain_);
        if (!t) {
            set_state(node_state::failing, "longpoll: the node's template was refused: " + t.error().message());
            return wait_then_longpoll();
        }
        longpoll_backoff_.reset();
        const auto id = longpollid_of(json_of(r.value));
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
        set_state(node_state::connected, {});
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

    asio::any_io_executor ex_;
    template_source_options options_;
    template_handler on_template_;
    bool signet_;
    const sb::chain_params& chain_;
    std::string name_;
    std::shared_ptr<self_ref> ref_;  // before the clients, which capture it
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
    bool fetch_in_flight_ = false;   // a chain check or getblocktemplate on client_
    bool retry_armed_ = false;       // retry_timer_ will fetch
    std::optional<template_reason> queued_reason_;
    bool longpoll_in_flight_ = false;  // a chain check or the longpoll on longpoll_client_
    bool longpoll_waiting_ = false;  // a failed or unchanged longpoll waits for its back-off
    bool behind_armed_ = false;      // behind_timer_ will fetch
    std::string longpollid_;
    verified_link fetch_verified_;
    verified_link longpoll_verified_;
    std::string last_problem_;  // the last failure's text, for the recovery line
    std::atomic<bool> stopped_{false};

    mutable std::mutex status_mutex_;
    template_source_status status_;
};

template_source::template_source(asio::any_io_executor strand, rpc_settings rpc, template_source_options options,
                                 template_handler on_template)
    : impl_(std::make_shared<impl>(std::move(strand), rpc, std::move(options), std::move(on_template))) {
    impl_->bind();
}

template_source::~template_source() { impl_->stop(); }

void template_source::start() { impl_->start(); }

void template_source::notify_new_tip() { impl_->notify_new_tip(); }

void template_source::stop() { impl_->stop(); }

template_source_status template_source::status() const { return impl_->status(); }

}  // namespace sb::node
