// The only Asio/Beast TU of the dashboard. Beast-example style: do_x / on_x handlers on
// one strand per session, the error checked first in each handler.
#include "web/server.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdint>
#include <functional>
#include <mutex>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "stats/history.hpp"
#include "stats/statistics.hpp"
#include "web/assets.hpp"
#include "web/serialize.hpp"

namespace sb::bridge::web {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

// Scripts, styles and connections from this origin only; nothing inline, no frames.
constexpr std::string_view content_security_policy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// A query parameter that must be a whole decimal number, all of it (no sign for unsigned
// types, no trailing text): "12abc" and "-1" are refused, not read as 12 or a huge offset.
template <class T>
bool whole_number(std::string_view s, T& out) noexcept {
    const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= s.size()) return std::nullopt;
            const int hi = hex_digit(s[i + 1]), lo = hex_digit(s[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            c = static_cast<char>(hi * 16 + lo);
            if (c == '\0') return std::nullopt;
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        out += c;
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view in) {
    auto val = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    while (!in.empty() && in.back() == '=') in.remove_suffix(1);
    std::string out;
    unsigned buf = 0;
    int bits = 0;
    for (char c : in) {
        const int v = val(c);
        if (v < 0) return std::nullopt;
        buf = (buf << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buf >> bits) & 0xff);
        }
    }
    return out;
}

// Compares without an early exit, so the time taken says nothing about the secret.
bool equal_secret(std::string_view a, std::string_view b) noexcept {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % (b.empty() ? 1 : b.size())]);
    return diff == 0 && !b.empty();
}

std::string host_of(std::string_view host_header) {
    std::string_view h = host_header;
    if (!h.empty() && h.front() == '[') {
        const auto end = h.find(']');
        return std::string(end == std::string_view::npos ? h : h.substr(0, end + 1));
    }
    const auto colon = h.find(':');
    return std::string(h.substr(0, colon));
}

bool is_ip_literal(std::string_view h) {
    if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
    boost::system::error_code ec;
    (void)asio::ip::make_address(std::string(h), ec);
    return !ec;
}

using response = http::response<http::string_body>;

}  // namespace

bool is_loopback_host(std::string_view host) noexcept {
    std::string h(host);
    if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
    boost::system::error_code ec;
    const auto a = asio::ip::make_address(h, ec);
    return !ec && a.is_loopback();
}

std::optional<parsed_target> parse_target(std::string_view target) {
    if (target.empty() || target.front() != '/' || target.size() > max_target_bytes) return std::nullopt;
    parsed_target out;
    const auto q = target.find('?');
    auto path = percent_decode(target.substr(0, q), false);
    if (!path) return std::nullopt;
    out.path = std::move(*path);
    if (q == std::string_view::npos) return out;
    std::string_view query = target.substr(q + 1);
    const auto hash = query.find('#');
    if (hash != std::string_view::npos) return std::nullopt;
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view part = query.substr(0, amp);
        if (!part.empty()) {
            const auto eq = part.find('=');
            auto k = percent_decode(part.substr(0, eq), true);
            auto v = percent_decode(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1), true);
            if (!k || !v) return std::nullopt;
            if (out.params.size() >= 32) return std::nullopt;
            out.params.emplace_back(std::move(*k), std::move(*v));
        }
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return out;
}

struct server::impl : std::enable_shared_from_this<server::impl> {
    class ws_session;

    impl(asio::io_context& io_, std::shared_ptr<stats::statistics> s, std::shared_ptr<stats::history> h, server_options o)
        : io(io_), acceptor(asio::make_strand(io_)), stats(std::move(s)), hist(std::move(h)), options(std::move(o)) {
    }

    asio::io_context& io;
    tcp::acceptor acceptor;
    std::shared_ptr<stats::statistics> stats;
    std::shared_ptr<stats::history> hist;
    server_options options;
    std::uint16_t port = 0;
    std::atomic<std::size_t> connections{0};
    std::atomic<bool> stopped{false};

    mutable std::mutex ws_mu;
    std::vector<std::weak_ptr<ws_session>> sockets;

    void do_accept();
    void publish(std::shared_ptr<const stats::snapshot> s);
    bool authorized(const http::request<http::empty_body>& req) const;
    bool host_allowed(const http::request<http::empty_body>& req) const;
    // Serves req; done gets the response on whatever thread finished it (the session
    // posts back to its strand).
    void route(const http::request<http::empty_body>& req, std::function<void(response)> done);
};

namespace {

void security_headers(response& r) {
    r.set(http::field::server, "solobridge");
    r.set("Content-Security-Policy", content_security_policy);
    r.set("X-Content-Type-Options", "nosniff");
    r.set("X-Frame-Options", "DENY");
    r.set("Referrer-Policy", "no-referrer");
}

response make_response(const http::request<http::empty_body>& req, http::status st, std::string_view type, std::string body) {
    response r;
    r.version(req.version());
    r.result(st);
    security_headers(r);
    r.set(http::field::content_type, type);
    r.set(http::field::cache_control, "no-store");
    r.body() = std::move(body);
    r.keep_alive(req.keep_alive());
    r.prepare_payload();
    return r;
}

response json_response(const http::request<http::empty_body>& req, std::string body) {
    return make_response(req, http::status::ok, "application/json", std::move(body));
}

response error_response(const http::request<http::empty_body>& req, http::status st, std::string_view message) {
    std::string body = "{\"error\":\"";
    for (char c : message) body += (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) ? '?' : c;
    body += "\"}";
    return make_response(req, st, "application/json", std::move(body));
}

}  // namespace

// ---- WebSocket ------------------------------------------------------------------------

class server::impl::ws_session : public std::enable_shared_from_this<ws_session> {
public:
    ws_session(tcp::socket socket, std::shared_ptr<server::impl> srv) : ws_(std::move(socket)), srv_(std::move(srv)) {}
    ~ws_session() { srv_->connections.fetch_sub(1); }

    void start(http::request<http::empty_body> req) {
        websocket::stream_base::timeout t = websocket::stream_base::timeout::suggested(beast::role_type::server);
        t.idle_timeout = std::chrono::seconds(60);
        t.keep_alive_pings = true;
        ws_.set_option(t);
        ws_.read_message_max(max_ws_message_bytes);
        ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& r) {
            r.set(http::field::server, "solobridge");
        }));
        ws_.async_accept(req, beast::bind_front_handler(&ws_session::on_accept, shared_from_this()));
    }

    // A new message for this client (from any thread).
    void send(std::shared_ptr<const std::string> msg) {
        asio::post(ws_.get_executor(), [self = shared_from_this(), msg = std::move(msg)]() mutable {
            self->on_send(std::move(msg));
        });
    }

    void close() {
        asio::post(ws_.get_executor(), [self = shared_from_this()] {
            if (self->closed_) return;
            self->closed_ = true;
            self->write_timer_.cancel();
            beast::get_lowest_layer(self->ws_).close();
        });
    }

private:
    void on_accept(beast::error_code ec) {
        if (ec) return;
        accepted_ = true;
        // The snapshot first.
        auto snap = srv_->stats->latest();
        on_send(std::make_shared<const std::string>(summary_json(*snap, "snapshot")));
        do_read();
    }

    void do_read() {
        ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) {
                self->closed_ = true;
                return;
            }
            self->buffer_.consume(self->buffer_.size());  // dashboards send nothing we use
            self->do_read();
        });
    }

    void on_send(std::shared_ptr<const std::string> msg) {
        if (closed_ || !accepted_) return;
        if (writing_) {
            // One message waits at most; a newer snapshot replaces it.
            if (pending_ && ++skipped_ > max_ws_skipped_updates) {
                srv_->options.log.warn("a dashboard fell behind by " + std::to_string(skipped_) + " updates: dropped");
                closed_ = true;
                beast::get_lowest_layer(ws_).close();
                return;
            }
            pending_ = std::move(msg);
            return;
        }
        do_write(std::move(msg));
    }

    void do_write(std::shared_ptr<const std::string> msg) {
        writing_ = true;
        current_ = std::move(msg);
        // The write's own timer, not the tcp_stream's expiry: that expiry would also time out
        // the read pending beside the write (the stream arms a read with whatever expiry
        // was set when it started), and the websocket's idle timeout governs reading.
        const std::uint64_t seq = ++write_seq_;
        write_timer_.expires_after(srv_->options.ws_write_timeout);
        write_timer_.async_wait([self = shared_from_this(), seq](beast::error_code ec) {
            if (ec || !self->writing_ || self->write_seq_ != seq || self->closed_) return;
            self->srv_->options.log.warn("a dashboard took longer than " +
                                         std::to_string(self->srv_->options.ws_write_timeout.count()) +
                                         " ms to take an update: dropped");
            self->closed_ = true;
            beast::get_lowest_layer(self->ws_).close();
        });
        ws_.text(true);
        ws_.async_write(asio::buffer(*current_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
            self->writing_ = false;
            self->write_timer_.cancel();
            if (ec) {
                self->closed_ = true;
                return;
            }
            if (self->pending_) {
                self->skipped_ = 0;
                self->do_write(std::move(self->pending_));
            }
        });
    }

    websocket::stream<beast::tcp_stream> ws_;
    std::shared_ptr<server::impl> srv_;
    asio::steady_timer write_timer_{ws_.get_executor()};
    std::uint64_t write_seq_ = 0;
    beast::flat_buffer buffer_;
    std::shared_ptr<const std::string> current_;
    std::shared_ptr<const std::string> pending_;
    unsigned skipped_ = 0;
    bool writing_ = false;
    bool accepted_ = false;
    bool closed_ = false;
};

// ---- HTTP -----------------------------------------------------------------------------

namespace {

class http_session : public std::enable_shared_from_this<http_session> {
public:
    http_session(tcp::socket socket, std::shared_ptr<server::impl> srv) : stream_(std::move(socket)), srv_(std::move(srv)) {}
    ~http_session() {
        if (!handed_over_) srv_->connections.fetch_sub(1);
    }

    void start() { do_read(); }

private:
    void do_read() {
        parser_.emplace();
        parser_->header_limit(max_request_bytes);
        parser_->body_limit(0);
        stream_.expires_after(request_timeout);
        http::async_read(stream_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(beast::error_code ec) {
        if (ec) return;  // closed, timed out or malformed (over the limits): drop
        auto req = parser_->release();
        if (websocket::is_upgrade(req)) {
            auto target = parse_target(req.target());
            if (!target || target->path != "/ws") return write(error_response(req, http::status::not_found, "not found"));
            if (!srv_->host_allowed(req)) return write(error_response(req, http::status::forbidden, "host not allowed"));
            if (!srv_->authorized(req)) {
                auto r = error_response(req, http::status::unauthorized, "authentication required");
                r.set(http::field::www_authenticate, "Basic realm=\"solobridge\"");
                return write(std::move(r));
            }
            // A page of another site may not open our WebSocket with the user's credentials.
            if (auto origin = req.find(http::field::origin); origin != req.end()) {
                const std::string o(origin->value());
                const std::string host(req[http::field::host]);
                if (o != "http://" + host && o != "https://" + host)
                    return write(error_response(req, http::status::forbidden, "cross-origin WebSocket refused"));
            }
            {
                std::lock_guard lock(srv_->ws_mu);
                std::erase_if(srv_->sockets, [](const auto& w) { return w.expired(); });
                if (srv_->sockets.size() >= srv_->options.max_websockets)
                    return write(error_response(req, http::status::service_unavailable, "too many dashboards connected"));
            }
            stream_.expires_never();
            handed_over_ = true;
            auto ws = std::make_shared<server::impl::ws_session>(stream_.release_socket(), srv_);
            {
                std::lock_guard lock(srv_->ws_mu);
                srv_->sockets.push_back(ws);
            }
            ws->start(std::move(req));
            return;
        }
        ++served_;
        keep_alive_ = req.keep_alive() && served_ < max_requests_per_connection;
        const bool head = req.method() == http::verb::head;
        srv_->route(req, [self = shared_from_this(), head](response r) {
            asio::post(self->stream_.get_executor(), [self, head, r = std::move(r)]() mutable {
                if (head) {
                    r.body().clear();
                    r.prepare_payload();
                }
                self->write(std::move(r));
            });
        });
    }

    void write(response r) {
        if (!keep_alive_) r.keep_alive(false);
        res_ = std::make_shared<response>(std::move(r));
        stream_.expires_after(request_timeout);
        http::async_write(stream_, *res_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return;
            if (!self->res_->keep_alive()) {
                beast::error_code ignored;
                self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                return;
            }
            self->do_read();
        });
    }

    beast::tcp_stream stream_;
    std::shared_ptr<server::impl> srv_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::empty_body>> parser_;
    std::shared_ptr<response> res_;
    unsigned served_ = 0;
    bool keep_alive_ = true;
    bool handed_over_ = false;
};

}  // namespace

void server::impl::do_accept() {
    acceptor.async_accept(asio::make_strand(io), [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
        if (!ec) {
            if (self->connections.load() >= self->options.max_connections) {
                beast::error_code ignored;
                socket.close(ignored);
            } else {
                self->connections.fetch_add(1);
                std::make_shared<http_session>(std::move(socket), self)->start();
            }
        }
        self->do_accept();
    });
}

void server::impl::publish(std::shared_ptr<const stats::snapshot> s) {
    std::vector<std::shared_ptr<ws_session>> live;
    {
        std::lock_guard lock(ws_mu);
        for (auto it = sockets.begin(); it != sockets.end();) {
            if (auto p = it->lock()) {
                live.push_back(std::move(p));
                ++it;
            } else {
                it = sockets.erase(it);
            }
        }
    }
    if (live.empty()) return;
    // Serialized once for every dashboard.
    auto msg = std::make_shared<const std::string>(summary_json(*s, "update"));
    for (auto& w : live) w->send(msg);
}

bool server::impl::authorized(const http::request<http::empty_body>& req) const {
    if (options.token.empty() && options.user.empty()) return true;
    const auto it = req.find(http::field::authorization);
    if (it == req.end()) return false;
    const std::string_view v(it->value().data(), it->value().size());
    if (v.starts_with("Bearer ") && !options.token.empty()) return equal_secret(v.substr(7), options.token);
    if (v.starts_with("Basic ")) {
        const auto decoded = base64_decode(v.substr(6));
        if (!decoded) return false;
        const auto colon = decoded->find(':');
        if (colon == std::string::npos) return false;
        const std::string_view user = std::string_view(*decoded).substr(0, colon);
        const std::string_view pass = std::string_view(*decoded).substr(colon + 1);
        if (!options.token.empty() && equal_secret(pass, options.token)) return true;
        if (!options.user.empty()) return equal_secret(user, options.user) & equal_secret(pass, options.password);
    }
    return false;
}

bool server::impl::host_allowed(const http::request<http::empty_body>& req) const {
    // With credentials a rebinding page gains nothing; without, only our own names pass.
    if (!options.token.empty() || !options.user.empty()) return true;
    const auto it = req.find(http::field::host);
    if (it == req.end()) return req.version() < 11;
    const std::string h = host_of(std::string_view(it->value().data(), it->value().size()));
    return h == "localhost" || is_ip_literal(h) || h == options.host;
}

void server::impl::route(const http::request<http::empty_body>& req, std::function<void(response)> done) {
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
        auto r = error_response(req, http::status::method_not_allowed, "only GET and HEAD");
        r.set(http::field::allow, "GET, HEAD");
        return done(std::move(r));
    }
    if (!host_allowed(req)) return done(error_response(req, http::status::forbidden, "host not allowed"));
    if (!authorized(req)) {
        auto r = error_response(req, http::status::unauthorized, "authentication required");
        r.set(http::field::www_authenticate, "Basic realm=\"solobridge\"");
        return done(std::move(r));
    }
    const auto target = parse_target(req.target());
    if (!target) return done(error_response(req, http::status::bad_request, "bad request target"));
    const std::string& path = target->path;
    const auto& params = target->params;
    auto param = [&](std::string_view k) -> std::string {
        for (const auto& [pk, pv] : params)
            if (pk == k) return pv;
        return {};
    };

    for (const auto& a : embedded_assets())
        if (a.path == path) {
            response r = make_response(req, http::status::ok, a.content_type, std::string(a.body));
            r.set(http::field::cache_control, "no-cache");
            return done(std::move(r));
        }

    const auto snap = stats->latest();
    if (path == "/api/status") return done(json_response(req, status_json(*snap)));
    if (path == "/metrics") {
        metrics_options mo{options.metrics_per_worker, options.metrics_max_workers};
        return done(make_response(req, http::status::ok, "text/plain; version=0.0.4; charset=utf-8", metrics_text(*snap, mo)));
    }
    if (path == "/api/v1/status") return done(json_response(req, summary_json(*snap)));
    if (path == "/api/v1/chains") return done(json_response(req, chains_json(*snap)));
    if (path.starts_with("/api/v1/chains/")) {
        if (auto c = chain_json(*snap, std::string_view(path).substr(15))) return done(json_response(req, std::move(*c)));
        return done(error_response(req, http::status::not_found, "no such chain"));
    }
    if (path == "/api/v1/workers") {
        worker_query q;
        if (auto err = parse_worker_query(params, q); !err.empty())
            return done(error_response(req, http::status::bad_request, err));
        return done(json_response(req, workers_json(*snap, q)));
    }
    if (path.starts_with("/api/v1/workers/")) {
        // /api/v1/workers/{chain}/{name}: the name may hold '/' (percent-decoded already).
        const std::string_view rest = std::string_view(path).substr(16);
        const auto slash = rest.find('/');
        if (slash != std::string_view::npos)
            if (auto w = worker_json(*snap, rest.substr(0, slash), rest.substr(slash + 1))) return done(json_response(req, std::move(*w)));
        return done(error_response(req, http::status::not_found, "no such worker"));
    }
    if (path == "/api/v1/connections") {
        std::size_t offset = 0, limit = 100;
        const std::string o = param("offset"), l = param("limit");
        if ((!o.empty() && !whole_number(o, offset)) || (!l.empty() && !whole_number(l, limit)))
            return done(error_response(req, http::status::bad_request, "offset and limit must be whole numbers"));
        limit = std::min<std::size_t>(limit, max_page_size);
        return done(json_response(req, connections_json(*snap, offset, limit)));
    }
    if (path == "/api/v1/addresses") return done(json_response(req, addresses_json(*snap)));
    if (path == "/api/v1/devices") return done(json_response(req, devices_json(*snap)));
    if (path == "/api/v1/events") return done(json_response(req, events_json(*snap)));
    if (path == "/api/v1/blocks") {
        if (!hist) return done(json_response(req, blocks_json(*snap, {})));
        auto r = std::make_shared<http::request<http::empty_body>>(req);
        hist->query_blocks(stats::max_blocks_in_memory, [r, snap, done](std::vector<stats::block_view> stored) {
            done(json_response(*r, blocks_json(*snap, stored)));
        });
        return;
    }
    if (path == "/api/v1/history") {
        // scope=bridge|chain|worker, key=(chain id | chain/worker), range=seconds, step=60|600|3600.
        const std::string scope = param("scope").empty() ? "bridge" : param("scope");
        const std::string k = param("key");
        if (scope != "bridge" && scope != "chain" && scope != "worker")
            return done(error_response(req, http::status::bad_request, "scope must be bridge, chain or worker"));
        std::int64_t range = 3600, step = 0;
        const std::string range_text = param("range"), step_text = param("step");
        if ((!range_text.empty() && !whole_number(range_text, range)) || (!step_text.empty() && !whole_number(step_text, step)))
            return done(error_response(req, http::status::bad_request, "range and step must be whole numbers"));
        if (range <= 0 || range > 366 * 86400) return done(error_response(req, http::status::bad_request, "range out of bounds"));
        if (step == 0) step = range <= 86400 ? stats::step_minute : range <= 30 * 86400 ? stats::step_ten_minutes : stats::step_hour;
        if (step != stats::step_minute && step != stats::step_ten_minutes && step != stats::step_hour)
            return done(error_response(req, http::status::bad_request, "step must be 60, 600 or 3600"));
        const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(snap->at.time_since_epoch()).count();
        if (!hist) return done(json_response(req, series_json(scope, k, step, {})));
        auto r = std::make_shared<http::request<http::empty_body>>(req);
        hist->query_series(scope, k, now - range, now + 1, step, [r, scope, k, step, done](std::vector<stats::series_sample> pts) {
            done(json_response(*r, series_json(scope, k, step, pts)));
        });
        return;
    }
    return done(error_response(req, http::status::not_found, "not found; see /api/v1/openapi.json"));
}

server::server(asio::io_context& io, std::shared_ptr<stats::statistics> stats, std::shared_ptr<stats::history> hist,
               server_options options)
    : impl_(std::make_shared<impl>(io, std::move(stats), std::move(hist), std::move(options))) {}

server::~server() { stop(); }

std::error_code server::start() {
    auto& m = *impl_;
    if (!is_loopback_host(m.options.host) && m.options.token.empty() && m.options.user.empty())
        return std::make_error_code(std::errc::permission_denied);
    beast::error_code ec;
    std::string host = m.options.host;
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    const auto address = asio::ip::make_address(host, ec);
    if (ec) return ec;
    const tcp::endpoint ep(address, m.options.port);
    m.acceptor.open(ep.protocol(), ec);
    if (!ec) m.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) m.acceptor.bind(ep, ec);
    if (!ec) m.acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return ec;
    m.port = m.acceptor.local_endpoint().port();
    std::weak_ptr<impl> weak = impl_;
    m.stats->on_publish([weak](std::shared_ptr<const stats::snapshot> s, bool) {
        if (auto self = weak.lock(); self && !self->stopped.load()) self->publish(std::move(s));
    });
    m.do_accept();
    return {};
}

std::uint16_t server::port() const noexcept { return impl_->port; }

std::size_t server::websocket_count() const {
    std::lock_guard lock(impl_->ws_mu);
    std::size_t n = 0;
    for (const auto& w : impl_->sockets) n += !w.expired();
    return n;
}

void server::stop() {
    if (impl_->stopped.exchange(true)) return;
    asio::post(impl_->acceptor.get_executor(), [self = impl_] {
        beast::error_code ignored;
        self->acceptor.close(ignored);
    });
    std::vector<std::shared_ptr<impl::ws_session>> live;
    {
        std::lock_guard lock(impl_->ws_mu);
        for (auto& w : impl_->sockets)
            if (auto p = w.lock()) live.push_back(std::move(p));
    }
    for (auto& w : live) w->close();
}

}  // namespace sb::bridge::web
