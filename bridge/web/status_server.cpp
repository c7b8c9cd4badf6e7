#include "web/status_server.hpp"
#include "web/status_http.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace sb::bridge::web {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// One request, one response, then close: the endpoint is polled, not streamed.
class connection : public std::enable_shared_from_this<connection> {
public:
    connection(tcp::socket socket, std::function<std::string()> status)
        : stream_(std::move(socket)), status_(std::move(status)) {}

    void start() {
        limit_status_request(parser_);
        stream_.expires_after(request_timeout);
        http::async_read(stream_, buffer_, parser_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

private:
    void on_read(beast::error_code ec) {
        if (ec) return;  // closed, timed out or malformed: drop the connection
        response_ = make_status_response(parser_.get(), status_);
        stream_.expires_after(request_timeout);
        http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code, std::size_t) {
            beast::error_code ignored;
            self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        });
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    status_request_parser parser_;
    status_response response_;
    std::function<std::string()> status_;
};

}  // namespace

void limit_status_request(status_request_parser& parser) {
    parser.header_limit(max_request_bytes);
    parser.body_limit(0);
}

status_response make_status_response(const status_request& req, const std::function<std::string()>& status_json) {
    status_response response;
    response.version(req.version());
    response.keep_alive(false);
    response.set(http::field::server, "solobridge");
    response.set(http::field::cache_control, "no-store");
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
        response.result(http::status::method_not_allowed);
        response.set(http::field::allow, "GET, HEAD");
        response.body() = "only GET\n";
    } else if (req.target() == "/api/status") {
        response.result(http::status::ok);
        response.set(http::field::content_type, "application/json");
        response.body() = status_json();
    } else {
        response.result(http::status::not_found);
        response.set(http::field::content_type, "text/plain");
        response.body() = "not found; try /api/status\n";
    }
    response.prepare_payload();
    if (req.method() == http::verb::head) response.body().clear();
    return response;
}

struct status_server::impl : std::enable_shared_from_this<impl> {
    impl(asio::io_context& io, std::string h, std::uint16_t p, std::function<std::string()> s)
        : acceptor(asio::make_strand(io)), host(std::move(h)), port(p), status(std::move(s)) {}

    tcp::acceptor acceptor;
    std::string host;
    std::uint16_t port;
    std::function<std::string()> status;

    void do_accept() {
        acceptor.async_accept(asio::make_strand(acceptor.get_executor()),
                              [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
                                  if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
                                  if (!ec) std::make_shared<connection>(std::move(socket), self->status)->start();
                                  self->do_accept();
                              });
    }
};

status_server::status_server(asio::io_context& io, std::string host, std::uint16_t port,
                             std::function<std::string()> status_json)
    : impl_(std::make_shared<impl>(io, std::move(host), port, std::move(status_json))) {}

status_server::~status_server() { stop(); }

std::error_code status_server::start() {
    beast::error_code ec;
    const auto address = asio::ip::make_address(impl_->host, ec);
    if (ec) return ec;
    const tcp::endpoint ep(address, impl_->port);
    impl_->acceptor.open(ep.protocol(), ec);
    if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) impl_->acceptor.bind(ep, ec);
    if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return ec;
    impl_->port = impl_->acceptor.local_endpoint().port();
    impl_->do_accept();
    return {};
}

std::uint16_t status_server::port() const noexcept { return impl_->port; }

void status_server::stop() {
    asio::post(impl_->acceptor.get_executor(), [self = impl_] {
        beast::error_code ignored;
        self->acceptor.close(ignored);
    });
}

}  // namespace sb::bridge::web
