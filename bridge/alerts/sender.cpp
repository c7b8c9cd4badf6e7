#include "alerts/sender.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <memory>
#include <optional>

#include "alerts/errors.hpp"
#include "alerts/limits.hpp"
#include "alerts/response.hpp"

namespace sb::bridge::alerts {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

bool is_ip_literal(const std::string& host) {
    error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

std::string host_header(const config::webhook_url& u) {
    std::string h = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
    if (u.port != (u.tls ? 443 : 80)) h += ":" + std::to_string(u.port);
    return h;
}

// One request as a chain of handlers on the executor (Beast's client examples). Stream:
// beast::tcp_stream or beast::ssl_stream<beast::tcp_stream>.
template <class Stream>
class attempt : public std::enable_shared_from_this<attempt<Stream>> {
public:
    static constexpr bool tls = !std::is_same_v<Stream, beast::tcp_stream>;

    template <class... StreamArgs>
    attempt(asio::any_io_executor ex, const config::webhook_url& url, const webhook_request& req,
            std::chrono::milliseconds timeout, std::function<void(send_result)> done, StreamArgs&&... stream_args)
        : url_(url),
          timeout_(timeout),
          done_(std::move(done)),
          resolver_(ex),
          deadline_(ex),
          stream_(ex, std::forward<StreamArgs>(stream_args)...) {
        req_.method(http::verb::post);
        req_.target(req.target);
        req_.version(11);
        req_.set(http::field::host, host_header(url));
        req_.set(http::field::user_agent, "solobridge");
        req_.set(http::field::connection, "close");
        for (const auto& [name, value] : req.headers) req_.set(name, value);
        req_.body() = req.body;
        req_.prepare_payload();
        limit_webhook_response(parser_);
    }

    void run() {
        // One deadline for the whole request: resolving has no timeout of its own.
        deadline_.expires_after(timeout_);
        deadline_.async_wait([self = this->shared_from_this()](error_code ec) {
            if (ec || self->finished_) return;
            self->timed_out_ = true;
            self->resolver_.cancel();
            beast::get_lowest_layer(self->stream_).close();
        });
        resolver_.async_resolve(url_.host, std::to_string(url_.port),
                                beast::bind_front_handler(&attempt::on_resolve, this->shared_from_this()));
    }

private:
    void on_resolve(error_code ec, tcp::resolver::results_type results) {
        if (ec) return fail(ec, "cannot resolve " + url_.host);
        beast::get_lowest_layer(stream_).async_connect(
            results, beast::bind_front_handler(&attempt::on_connect, this->shared_from_this()));
    }

    void on_connect(error_code ec, const tcp::endpoint&) {
        if (ec) return fail(ec, "cannot connect to " + host_header(url_));
        if constexpr (tls) {
            SSL* ssl = stream_.native_handle();
            // SNI for names only (RFC 6066 §3: no IP literals); the certificate must name
            // the host (or carry the IP address) we asked for.
            bool ok = true;
            if (is_ip_literal(url_.host)) {
                ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url_.host.c_str()) == 1;
            } else {
                ok = SSL_set_tlsext_host_name(ssl, url_.host.c_str()) == 1 &&
                     SSL_set1_host(ssl, url_.host.c_str()) == 1;
            }
            if (!ok) return fail(make_error_code(alerts_errc::tls_setup_failed), "TLS set-up for " + url_.host);
            stream_.async_handshake(ssl::stream_base::client,
                                    beast::bind_front_handler(&attempt::on_handshake, this->shared_from_this()));
        } else {
            do_write();
        }
    }

    void on_handshake(error_code ec) {
        if (ec) {
            std::string what = "TLS handshake with " + host_header(url_);
            if constexpr (tls) {
                const long v = SSL_get_verify_result(stream_.native_handle());
                if (v != X509_V_OK) what += " (certificate: " + std::string(X509_verify_cert_error_string(v)) + ")";
            }
            return fail(ec, what);
        }
        do_write();
    }

    void do_write() {
        http::async_write(stream_, req_, beast::bind_front_handler(&attempt::on_write, this->shared_from_this()));
    }

    void on_write(error_code ec, std::size_t) {
        if (ec) return fail(ec, "sending to " + host_header(url_));
        http::async_read(stream_, buffer_, parser_,
                         beast::bind_front_handler(&attempt::on_read, this->shared_from_this()));
    }

    void on_read(error_code ec, std::size_t) {
        // The status is all we need: a response cut short after its header still counts.
        if (ec && !parser_.is_header_done()) return fail(ec, "reading the response of " + host_header(url_));
        finish(judge_webhook_response(parser_.get().base(), host_header(url_)));
    }

    void fail(error_code ec, std::string what) {
        send_result r;
        if (timed_out_) {
            r.ec = make_error_code(alerts_errc::timeout);
            r.detail = what + ": no complete response within " + std::to_string(timeout_.count()) + " ms";
        } else {
            r.ec = ec;
            r.detail = what + ": " + ec.message();
        }
        finish(std::move(r));
    }

    void finish(send_result r) {
        if (finished_) return;
        finished_ = true;
        deadline_.cancel();
        error_code ignored;
        beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
        beast::get_lowest_layer(stream_).close();
        auto done = std::move(done_);
        done(std::move(r));
    }

    config::webhook_url url_;
    std::chrono::milliseconds timeout_;
    std::function<void(send_result)> done_;
    tcp::resolver resolver_;
    asio::steady_timer deadline_;
    Stream stream_;
    http::request<http::string_body> req_;
    webhook_response_parser parser_;
    beast::flat_buffer buffer_;
    bool timed_out_ = false;
    bool finished_ = false;
};

}  // namespace

void send_request(asio::any_io_executor ex, ssl::context* tls, const config::webhook_url& url,
                  const webhook_request& req, std::chrono::milliseconds timeout,
                  std::function<void(send_result)> done) {
    if (url.tls) {
        if (tls == nullptr) {
            send_result r;
            r.ec = make_error_code(alerts_errc::tls_setup_failed);
            r.detail = "no TLS context for " + url.host;
            asio::post(ex, [done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
            return;
        }
        using tls_stream = beast::ssl_stream<beast::tcp_stream>;
        std::make_shared<attempt<tls_stream>>(ex, url, req, timeout, std::move(done), *tls)->run();
    } else {
        std::make_shared<attempt<beast::tcp_stream>>(ex, url, req, timeout, std::move(done))->run();
    }
}

std::error_code make_client_context(ssl::context& ctx, const std::string& ca_file, std::string* detail) {
    auto fail = [detail](alerts_errc e, std::string text) {
        if (detail != nullptr) *detail = std::move(text);
        return make_error_code(e);
    };
    if (SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION) != 1)
        return fail(alerts_errc::tls_setup_failed, "cannot require TLS 1.2");
    ctx.set_verify_mode(ssl::verify_peer);
    error_code ec;
    if (ca_file.empty()) {
        ctx.set_default_verify_paths(ec);
        if (ec)
            return fail(alerts_errc::tls_setup_failed, "cannot load the system's trusted certificates: " + ec.message());
    } else {
        ctx.load_verify_file(ca_file, ec);
        if (ec) return fail(alerts_errc::ca_file_unreadable, ca_file + ": " + ec.message());
    }
    return {};
}

}  // namespace sb::bridge::alerts
