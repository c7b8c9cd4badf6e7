// A line-oriented Stratum test client over TCP or TLS with bounded waits, for the server
// tests (server_test.cpp, hostile_test.cpp). Blocking calls on its own io_context.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <type_traits>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <doctest/doctest.h>
#include <rapidjson/document.h>

namespace sb::test {

// Limits only guard against hangs; no test asserts how fast anything happened.
inline constexpr std::chrono::seconds read_limit{10};

namespace stratum_client_detail {
namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// A line-oriented test client with bounded waits, over TCP or TLS.
template <class Stream>
class basic_client {
public:
    static constexpr bool is_tls = std::is_same_v<Stream, ssl::stream<tcp::socket>>;

    // receive_buffer > 0: the socket's receive buffer (SO_RCVBUF, set before connecting,
    // which also stops the kernel from growing it): a small one makes the server queue.
    explicit basic_client(std::uint16_t port, ssl::context* tls = nullptr, int receive_buffer = 0)
        requires(!is_tls)
        : stream_(io_) {
        (void)tls;
        connect(port, receive_buffer);
    }
    basic_client(std::uint16_t port, ssl::context& tls)
        requires(is_tls)
        : stream_(io_, tls) {
        connect(port);
        boost::system::error_code ec;
        stream_.handshake(ssl::stream_base::client, ec);
        REQUIRE_MESSAGE(!ec, ec.message());
    }

    void send(const std::string& text) {
        boost::system::error_code ec;
        asio::write(stream_, asio::buffer(text), ec);
        REQUIRE_MESSAGE(!ec, ec.message());
    }
    void send_line(const std::string& line) { send(line + "\n"); }
    // For bytes the server may refuse midway (it closes on them): false on a write error.
    bool try_send(const std::string& text) {
        boost::system::error_code ec;
        asio::write(stream_, asio::buffer(text), ec);
        return !ec;
    }
    bool eof() const noexcept { return eof_; }

    // The next line (terminator stripped), or nullopt on close or after the limit.
    std::optional<std::string> read_line(std::chrono::steady_clock::duration limit = read_limit) {
        if (auto line = take_line()) return line;
        if (eof_) return std::nullopt;
        bool done = false;
        boost::system::error_code result;
        asio::async_read_until(stream_, asio::dynamic_buffer(buf_), '\n',
                               [&](const boost::system::error_code& ec, std::size_t) {
                                   done = true;
                                   result = ec;
                               });
        io_.restart();
        io_.run_for(limit);
        if (!done) {
            lowest().cancel();
            io_.restart();
            io_.run();
            return take_line();
        }
        if (result) eof_ = true;
        return take_line();
    }

    rapidjson::Document read_json() {
        auto line = read_line();
        REQUIRE_MESSAGE(line.has_value(), "no line from the server");
        rapidjson::Document d;
        d.Parse(line->c_str());
        REQUIRE_MESSAGE(d.IsObject(), *line);
        return d;
    }

    // True when the server closes the connection within the limit (lines are skipped).
    bool closed_by_server() {
        const auto until = std::chrono::steady_clock::now() + read_limit;
        while (std::chrono::steady_clock::now() < until) {
            read_line(until - std::chrono::steady_clock::now());
            if (eof_) return true;
        }
        return false;
    }

    tcp::socket& lowest() {
        if constexpr (is_tls)
            return stream_.next_layer();
        else
            return stream_;
    }

private:
    void connect(std::uint16_t port, int receive_buffer = 0) {
        boost::system::error_code ec;
        if (receive_buffer > 0) {
            lowest().open(tcp::v4(), ec);
            REQUIRE_MESSAGE(!ec, ec.message());
            lowest().set_option(tcp::socket::receive_buffer_size(receive_buffer), ec);
            REQUIRE_MESSAGE(!ec, ec.message());
        }
        lowest().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
        REQUIRE_MESSAGE(!ec, ec.message());
    }
    std::optional<std::string> take_line() {
        const auto nl = buf_.find('\n');
        if (nl == std::string::npos) return std::nullopt;
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
    }

    asio::io_context io_;
    Stream stream_;
    std::string buf_;
    bool eof_ = false;
};

}  // namespace stratum_client_detail

using stratum_client = stratum_client_detail::basic_client<boost::asio::ip::tcp::socket>;
using stratum_tls_client = stratum_client_detail::basic_client<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>>;

}  // namespace sb::test
