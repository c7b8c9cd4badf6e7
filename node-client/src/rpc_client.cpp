// The Beast side of the RPC client: one keep-alive connection, a queue of calls sent one
// at a time, per-call deadlines, reconnect back-off. The only node-client TU that
// includes Beast (each one costs ~15 s of compile time).
#include "sb/node/rpc_client.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>

#include <fcntl.h>
#include <pwd.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/optional/optional.hpp>

#include "backoff.hpp"

namespace sb::node {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using steady = std::chrono::steady_clock;

// One call (single or batch) from call() until its handler is posted.
struct pending_call {
    std::uint64_t first_id = 0;
    bool is_batch = false;
    std::size_t batch_count = 0;
    // The request body: head, then the streamed params when there are some, then tail
    // (without a stream, head is the whole body).
    std::string head;
    std::shared_ptr<params_stream> stream;
    std::string tail;
    rpc_client::reply_handler on_reply;
    rpc_client::batch_handler on_batch;
    std::chrono::milliseconds timeout{0};
    std::function<void(const request_written&)> on_written;
    std::optional<asio::steady_timer> timer;
    bool done = false;           // the handler has been posted
    bool timed_out = false;      // the deadline passed while the call was on the wire
    bool auth_retried = false;   // re-sent once after a 401 with a re-read cookie
    bool stale_retried = false;  // re-sent once after an idle keep-alive connection died
};
using call_ptr = std::shared_ptr<pending_call>;

// A Beast body of a pending call's three parts, read where they are (no copy of the body):
// the serializer asks for more each time what it got is written, so a streamed part is
// produced as the connection takes it. Small pieces (the JSON around the params) travel
// with the next large one: one write each, not a write of two bytes.
struct call_body {
    struct value_type {
        std::shared_ptr<const pending_call> call;
    };

    static std::uint64_t size(const value_type& v) {
        const pending_call& c = *v.call;
        return c.head.size() + (c.stream ? c.stream->size() : 0) + c.tail.size();
    }

    class writer {
    public:
        using const_buffers_type = std::array<asio::const_buffer, 4>;

        template <bool is_request, class Fields>
        writer(const http::header<is_request, Fields>&, const value_type& v) : call_(*v.call) {}

        void init(error_code& ec) { ec = {}; }

        boost::optional<std::pair<const_buffers_type, bool>> get(error_code& ec) {
            ec = {};
            // Pieces are gathered until they make this many bytes (or there are no more).
            constexpr std::size_t gather_bytes = 1024;
            const_buffers_type out{};
            std::size_t n = 0, gathered = 0;
            while (n < out.size() && pos_ < total() && gathered < gather_bytes) {
                const asio::const_buffer piece = next_piece();
                // A stream that gives nothing would spin here: its contract says at least one byte.
                if (piece.size() == 0) {
                    ec = asio::error::invalid_argument;
                    return boost::none;
                }
                out[n++] = piece;
                pos_ += piece.size();
                gathered += piece.size();
            }
            if (n == 0) return boost::none;
            return std::make_pair(out, pos_ < total());
        }

    private:
        std::size_t streamed() const { return call_.stream ? call_.stream->size() : 0; }
        std::size_t total() const { return call_.head.size() + streamed() + call_.tail.size(); }

        // The bytes at pos_, up to the end of the part they are in.
        asio::const_buffer next_piece() {
            const std::size_t head = call_.head.size();
            if (pos_ < head) return asio::buffer(call_.head.data() + pos_, head - pos_);
            const std::size_t end_of_stream = head + streamed();
            if (pos_ < end_of_stream) {
                const std::string_view text = call_.stream->read(pos_ - head).substr(0, end_of_stream - pos_);
                return asio::buffer(text.data(), text.size());
            }
            return asio::buffer(call_.tail.data() + (pos_ - end_of_stream), total() - pos_);
        }

        const pending_call& call_;
        std::size_t pos_ = 0;
    };
};

// The peer closed or reset a connection: on a reused keep-alive connection with no reply
// byte received, the node most likely dropped it while idle.
bool is_stale_connection_error(const error_code& ec) {
    return ec == http::error::end_of_stream || ec == asio::error::eof ||
           ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
           ec == asio::error::connection_aborted;
}

rpc_error map_transport_error(const error_code& ec) {
    if (ec == http::error::body_limit) return {node_errc::body_too_large, 0, "reply body exceeds the limit"};
    if (ec == http::error::header_limit) return {node_errc::bad_http, 0, "reply header exceeds the limit"};
    if (ec == asio::error::operation_aborted) return {node_errc::cancelled, 0, ec.message()};
    if (is_stale_connection_error(ec) || ec == http::error::partial_message)
        return {node_errc::connection_lost, 0, ec.message()};
    if (ec.category() == http::make_error_code(http::error::bad_version).category())
        return {node_errc::bad_http, 0, ec.message()};
    return {node_errc::connection_lost, 0, ec.message()};
}

std::string describe_ms(std::chrono::milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

// "user NAME (uid N)" of the effective user: the one whose rights decide whether the
// cookie file can be read.
std::string effective_user() {
    const uid_t uid = ::geteuid();
    const long hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
    std::string buf(hint > 0 ? static_cast<std::size_t>(hint) : 16384, '\0');
    passwd pw{};
    passwd* found = nullptr;
    if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found && found->pw_name)
        return "user " + std::string(found->pw_name) + " (uid " + std::to_string(uid) + ")";
    return "uid " + std::to_string(uid);
}

// What to check when a connect fails, for the errors an operator can act on.
std::string connect_advice(const error_code& ec) {
    if (ec == asio::error::connection_refused)
        return ": is the node running, with server=1, and do its rpcbind/rpcport match rpc_url?";
    if (ec == beast::error::timeout) return ": is the host up, and does a firewall let the RPC port through?";
    if (ec == asio::error::host_unreachable || ec == asio::error::network_unreachable)
        return ": is the host in rpc_url reachable from here?";
    return {};
}

}  // namespace

class rpc_client::impl : public std::enable_shared_from_this<impl> {
public:
    impl(asio::any_io_executor ex, rpc_settings settings, client_options options)
        : ex_(std::move(ex)),
          settings_(std::move(settings)),
          options_(options),
          url_(parse_http_url(settings_.url)),
          resolver_(ex_),
          stream_(ex_),
          backoff_timer_(ex_),
          backoff_(options_.backoff_initial, options_.backoff_max) {
        if (settings_.timeout <= std::chrono::milliseconds::zero()) settings_.timeout = default_call_timeout;
        if (url_) {
            const bool v6 = url_->host.find(':') != std::string::npos;
            host_header_ = (v6 ? "[" + url_->host + "]" : url_->host) + ":" + std::to_string(url_->port);
        }
        if (settings_.cookie_file.empty() && (!settings_.user.empty() || !settings_.password.empty()))
            auth_header_ = "Basic " + base64_encode(settings_.user + ":" + settings_.password);
    }

    std::uint64_t take_ids(std::size_t n) { return next_id_.fetch_add(std::max<std::size_t>(n, 1)); }

    void submit(call_ptr c, call_options options) {
        c->timeout = options.timeout == std::chrono::milliseconds::zero() ? settings_.timeout : options.timeout;
        asio::post(ex_, [self = shared_from_this(), c = std::move(c)]() mutable { self->enqueue(std::move(c)); });
    }

    void close() {
        asio::post(ex_, [self = shared_from_this()] { self->do_close(); });
    }

    client_status status() const {
        std::lock_guard lock(status_mutex_);
        return status_;
    }

private:
    // ---- queue -------------------------------------------------------------------------

    void enqueue(call_ptr c) {
        if (closed_) return finish_error(c, {node_errc::cancelled, 0, "client closed"});
        if (!url_) return finish_error(c, {node_errc::bad_url, 0, sanitize_node_text(settings_.url)});
        if (c->is_batch && c->batch_count == 0) return finish_http(c, 200, "[]");
        if (queue_.size() >= max_queued_calls) return finish_error(c, {node_errc::queue_full, 0, {}});
        if (c->timeout != no_timeout) {
            c->timer.emplace(ex_);
            c->timer->expires_after(c->timeout);
            c->timer->async_wait([self = shared_from_this(), c](error_code ec) { self->on_call_timeout(c, ec); });
        }
        queue_.push_back(std::move(c));
        do_next();
    }

    // Starts whatever can start: a connection when calls wait and none is open, or the
    // next call when the connection is idle.
    void do_next() {
        if (closed_ || active_ || connecting_ || backoff_pending_) return;
        while (!queue_.empty() && queue_.front()->done) queue_.pop_front();
        if (queue_.empty()) return;
        if (!connected_) return do_resolve();
        active_ = std::move(queue_.front());
        queue_.pop_front();
        do_write();
    }

    void on_call_timeout(const call_ptr& c, error_code ec) {
        if (ec || c->done || closed_) return;
        c->timed_out = true;
        if (active_ == c) {
            lost_ = true;
            // The aborted read or write completes the call in fail_active.
            close_connection();
            return;
        }
        const auto it = std::find(queue_.begin(), queue_.end(), c);
        if (it != queue_.end()) queue_.erase(it);
        if (!connected_ && !last_connect_error_.empty())
            finish_error(c, {node_errc::connect_failed, 0, last_connect_error_});
        else
            finish_error(c, {node_errc::timeout, 0, "no reply within " + describe_ms(c->timeout)});
    }

    // ---- connection --------------------------------------------------------------------

    void do_resolve() {
        connecting_ = true;
        update_status([](client_status& s) {
            if (s.consecutive_failures == 0) s.state = link_state::connecting;
        });
        resolver_.async_resolve(url_->host, std::to_string(url_->port),
                                beast::bind_front_handler(&impl::on_resolve, shared_from_this()));
    }

    void on_resolve(error_code ec, tcp::resolver::results_type results) {
        if (closed_) return;
        if (ec)
            return on_connect_failed("cannot resolve " + url_->host + ": " + ec.message() +
                                         ": check the host name in rpc_url",
                                     false);
        stream_.expires_after(options_.connect_timeout);
        stream_.async_connect(results, beast::bind_front_handler(&impl::on_connect, shared_from_this()));
    }

    void on_connect(error_code ec, const tcp::endpoint&) {
        if (closed_) return;
        stream_.expires_never();
        if (ec)
            return on_connect_failed("cannot connect to " + host_header_ + ": " + ec.message() + connect_advice(ec),
                                     ec == asio::error::connection_refused);
        connecting_ = false;
        connected_ = true;
        exchanges_ = 0;
        last_connect_error_.clear();
        if (lost_) ++link_epoch_;
        lost_ = false;
        buffer_.consume(buffer_.size());
        error_code ignored;
        stream_.socket().set_option(tcp::no_delay(true), ignored);
        // Detects a node host that vanished without a reset while a longpoll is held.
        stream_.socket().set_option(asio::socket_base::keep_alive(true), ignored);
        backoff_.reset();
        if (!settings_.cookie_file.empty()) load_cookie();
        update_status([&](client_status& s) {
            // A connection proves nothing about credentials: a refusal stands until a reply.
            if (s.state != link_state::unauthorized) {
                s.state = link_state::connected;
                s.last_error.clear();
            }
            s.consecutive_failures = 0;
            s.retry_delay = std::chrono::milliseconds::zero();
            s.link_epoch = link_epoch_;
        });
        do_next();
    }

    // refused: the host answered that nothing listens (see refused_backoff_max).
    void on_connect_failed(std::string what, bool refused) {
        connecting_ = false;
        connected_ = false;
        lost_ = true;
        stream_.close();
        last_connect_error_ = what;
        auto delay = backoff_.next();
        if (refused) delay = std::min(delay, std::max(options_.refused_backoff_max, std::chrono::milliseconds(1)));
        update_status([&](client_status& s) {
            s.state = link_state::down;
            s.last_error = what;
            ++s.consecutive_failures;
            s.retry_delay = delay;
        });
        if (options_.on_connect_failed)
            asio::post(ex_, [cb = options_.on_connect_failed, what] { cb(what); });
        backoff_pending_ = true;
        backoff_timer_.expires_after(delay);
        backoff_timer_.async_wait(beast::bind_front_handler(&impl::on_backoff, shared_from_this()));
    }

    void on_backoff(error_code) {
        if (closed_) return;
        backoff_pending_ = false;
        do_next();
    }

    void close_connection() {
        error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.close();
        connected_ = false;
    }

    // Bitcoin Core writes "__cookie__:<hex>" on start (and removes it on shutdown); a
    // restarted node has a new one. A cookie that cannot be read leaves the last good
    // one in use and says why in cookie_problem_ (quoted when the node refuses us).
    void load_cookie() {
        const std::string& path = settings_.cookie_file;
        cookie_problem_.clear();
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            const int err = errno;
            if (err == ENOENT)
                cookie_problem_ = "cookie file " + path +
                                  " does not exist: is the node running, and is rpc_cookie_file the .cookie in its "
                                  "datadir (testnet4, signet, regtest: in the network's subdirectory)?";
            else if (err == EACCES || err == EPERM)
                cookie_problem_ = "cookie file " + path + " not readable by " + effective_user() + " (" +
                                  std::strerror(err) +
                                  "): let that user read it (Bitcoin Core: rpccookieperms=group and the user in the "
                                  "node's group) or run the bridge as the node's user";
            else
                cookie_problem_ = "cookie file " + path + " cannot be read: " + std::strerror(err);
            return note_error(cookie_problem_);
        }
        std::string text(max_cookie_bytes, '\0');
        std::size_t got = 0;
        while (got < text.size()) {
            const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                cookie_problem_ = "cookie file " + path + " cannot be read: " + std::strerror(errno);
                break;
            }
            if (n == 0) break;
            got += static_cast<std::size_t>(n);
        }
        ::close(fd);
        if (!cookie_problem_.empty()) return note_error(cookie_problem_);
        text.resize(got);
        const auto credentials = cookie_credentials(text);
        if (!credentials) {
            cookie_problem_ = "cookie file " + path + " holds no user:password";
            return note_error(cookie_problem_);
        }
        auth_header_ = "Basic " + base64_encode(*credentials);
    }

    // The unauthorized error for an HTTP 401/403, saying what to check.
    rpc_error refusal(unsigned status) const {
        std::string what;
        if (status == 403) {
            what = "HTTP 403 Forbidden: the node does not accept RPC from this address: check rpcallowip (and "
                   "rpcbind) in the node's config";
        } else if (!settings_.cookie_file.empty()) {
            what = "HTTP 401 Unauthorized: ";
            what += cookie_problem_.empty()
                        ? "the node refused the cookie from " + settings_.cookie_file +
                              ": is it the .cookie of the node at " + host_header_ +
                              " (testnet4, signet, regtest: in the network's subdirectory)?"
                        : cookie_problem_;
        } else if (settings_.user.empty() && settings_.password.empty()) {
            what = "HTTP 401 Unauthorized: no credentials configured: set rpc_cookie_file, or rpc_user and "
                   "rpc_password";
        } else {
            what = "HTTP 401 Unauthorized: the node refused rpc_user '" + sanitize_node_text(settings_.user) +
                   "' and its password: check rpc_password (and rpc_user) against the node's rpcauth or "
                   "rpcuser/rpcpassword (bcoin: the API key)";
        }
        return {node_errc::unauthorized, 0, std::move(what)};
    }

    // ---- one exchange ------------------------------------------------------------------

    void do_write() {
        req_ = {};
        req_.method(http::verb::post);
        req_.target(url_->target);
        req_.version(11);
        req_.set(http::field::host, host_header_);
        req_.set(http::field::user_agent, "solobridge");
        req_.set(http::field::content_type, "application/json");
        if (!auth_header_.empty()) req_.set(http::field::authorization, auth_header_);
        req_.keep_alive(true);
        req_.body().call = active_;
        req_.prepare_payload();
        parser_.emplace();
        parser_->body_limit(static_cast<std::uint64_t>(options_.reply_limit_bytes));
        parser_->header_limit(max_reply_header_bytes);
        serializer_.emplace(req_);
        written_ = {};
        write_some();
    }

    // One write at a time (not http::async_write): the moment the first one completes is
    // the request's first_write, and a streamed body is produced between writes.
    void write_some() {
        http::async_write_some(stream_, *serializer_, beast::bind_front_handler(&impl::on_write, shared_from_this()));
    }

    void on_write(error_code ec, std::size_t n) {
        if (closed_) return;
        if (ec) return fail_active(ec);
        const auto now = steady::now();
        if (written_.bytes == 0) written_.first_write = now;
        written_.bytes += n;
        if (!serializer_->is_done()) return write_some();
        written_.last_write = now;
        end_write();
        if (active_->on_written) active_->on_written(written_);
        http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&impl::on_read, shared_from_this()));
    }

    void on_read(error_code ec, std::size_t) {
        if (closed_) return;
        if (ec) return fail_active(ec);
        ++exchanges_;
        auto msg = parser_->release();
        parser_.reset();
        const unsigned status = msg.result_int();
        if (!msg.keep_alive()) close_connection();
        auto c = std::move(active_);
        if (c->done) return do_next();
        const bool refused = status == 401 || status == 403;
        if (refused && !settings_.cookie_file.empty() && !c->auth_retried) {
            c->auth_retried = true;
            load_cookie();
            queue_.push_front(std::move(c));
            return do_next();
        }
        if (refused) {
            auto e = refusal(status);
            update_status([](client_status& s) { s.state = link_state::unauthorized; });
            finish_error(c, std::move(e));
            return do_next();
        }
        finish_http(c, status, std::move(msg.body()));
        do_next();
    }

    // The request no longer needs its body: the call (and a streamed body's producer) is
    // not kept alive by a finished write.
    void end_write() {
        serializer_.reset();
        req_.body().call.reset();
    }

    // The running call's read or write failed.
    void fail_active(error_code ec) {
        end_write();
        auto c = std::move(active_);
        const bool got_bytes = parser_ && parser_->got_some();
        const bool reused = exchanges_ > 0;
        parser_.reset();
        close_connection();
        lost_ = true;
        if (!c->done) {
            if (c->timed_out) {
                finish_error(c, {node_errc::timeout, 0, "no complete reply within " + describe_ms(c->timeout)});
            } else if (!got_bytes && reused && !c->stale_retried && is_stale_connection_error(ec)) {
                c->stale_retried = true;
                queue_.push_front(std::move(c));
            } else {
                auto e = map_transport_error(ec);
                update_status([&](client_status& s) { s.state = link_state::down; });
                finish_error(c, std::move(e));
            }
        }
        do_next();
    }

    // ---- completion --------------------------------------------------------------------

    void finish_error(const call_ptr& c, rpc_error e) {
        if (c->done) return;
        c->done = true;
        if (c->timer) c->timer->cancel();
        note_error(e.to_string());
        update_status([](client_status& s) { ++s.calls_failed; });
        if (c->is_batch) {
            batch_reply r;
            r.error = std::move(e);
            post_handler(std::move(c->on_batch), std::move(r));
        } else {
            rpc_reply r;
            r.error = std::move(e);
            post_handler(std::move(c->on_reply), std::move(r));
        }
    }

    void finish_http(const call_ptr& c, unsigned status, std::string body) {
        if (c->done) return;
        c->done = true;
        if (c->timer) c->timer->cancel();
        if (c->is_batch) {
            auto r = parse_batch_reply(status, std::move(body), c->first_id, c->batch_count);
            count_reply(r.error);
            post_handler(std::move(c->on_batch), std::move(r));
        } else {
            auto r = parse_reply(status, std::move(body), c->first_id);
            count_reply(r.error);
            post_handler(std::move(c->on_reply), std::move(r));
        }
    }

    void count_reply(const rpc_error& e) {
        const bool usable = !e.code || e.code == node_errc::rpc_error;
        update_status([&](client_status& s) {
            if (usable) {
                // The node answered the call: whatever failed before is over.
                s.state = link_state::connected;
                s.last_error.clear();
                ++s.calls_ok;
            } else {
                s.last_error = e.to_string();
                ++s.calls_failed;
            }
        });
    }

    template <class Handler, class Reply>
    void post_handler(Handler h, Reply r) {
        if (!h) return;
        asio::post(ex_, [h = std::move(h), r = std::move(r)]() mutable { h(std::move(r)); });
    }

    void do_close() {
        if (closed_) return;
        closed_ = true;
        backoff_timer_.cancel();
        resolver_.cancel();
        close_connection();
        if (active_) finish_error(active_, {node_errc::cancelled, 0, "client closed"});
        active_.reset();
        for (auto& c : queue_) finish_error(c, {node_errc::cancelled, 0, "client closed"});
        queue_.clear();
    }

    // ---- status ------------------------------------------------------------------------

    template <class F>
    void update_status(F&& f) {
        std::lock_guard lock(status_mutex_);
        f(status_);
    }

    void note_error(std::string text) {
        update_status([&](client_status& s) { s.last_error = std::move(text); });
    }

    asio::any_io_executor ex_;
    rpc_settings settings_;
    client_options options_;
    std::optional<http_url> url_;
    std::string host_header_;
    std::string auth_header_;

    tcp::resolver resolver_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    http::request<call_body> req_;
    std::optional<http::request_serializer<call_body>> serializer_;
    request_written written_;  // of the request being written
    std::optional<http::response_parser<http::string_body>> parser_;
    asio::steady_timer backoff_timer_;
    detail::backoff backoff_;

    std::deque<call_ptr> queue_;
    call_ptr active_;               // the call on the wire
    bool connecting_ = false;       // resolve or connect in progress
    bool connected_ = false;        // an open connection (idle or busy)
    bool backoff_pending_ = false;  // waiting before the next connect attempt
    bool closed_ = false;
    std::uint64_t exchanges_ = 0;   // replies read on the current connection
    std::string last_connect_error_;
    std::string cookie_problem_;    // why the cookie file could not be used, empty when it could
    bool lost_ = true;              // the last connection was lost (or none was made yet)
    std::uint64_t link_epoch_ = 0;  // client_status::link_epoch
    std::atomic<std::uint64_t> next_id_{1};

    mutable std::mutex status_mutex_;
    client_status status_;
};

rpc_client::rpc_client(asio::any_io_executor strand, rpc_settings settings, client_options options)
    : impl_(std::make_shared<impl>(std::move(strand), std::move(settings), options)) {}

rpc_client::~rpc_client() { impl_->close(); }

void rpc_client::call(rpc_request request, reply_handler handler, call_options options) {
    auto c = std::make_shared<pending_call>();
    c->first_id = impl_->take_ids(1);
    if (request.streamed_params) {
        c->head = request_head(request.method, c->first_id);
        c->stream = std::move(request.streamed_params);
        c->tail = "}";
    } else {
        c->head = make_request_body(request, c->first_id);
    }
    c->on_reply = std::move(handler);
    c->on_written = options.on_written;
    impl_->submit(std::move(c), options);
}

void rpc_client::call_batch(std::vector<rpc_request> requests, batch_handler handler, call_options options) {
    auto c = std::make_shared<pending_call>();
    c->is_batch = true;
    c->batch_count = requests.size();
    c->first_id = impl_->take_ids(requests.size());
    c->head = make_batch_body(requests, c->first_id);
    c->on_batch = std::move(handler);
    impl_->submit(std::move(c), options);
}

void rpc_client::close() { impl_->close(); }

client_status rpc_client::status() const { return impl_->status(); }

}  // namespace sb::node
