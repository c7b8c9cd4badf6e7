// Scripted P2P peers for tests: blocking sockets on 127.0.0.1 driven by a script on its
// own thread, speaking v1 frames with a chain's magic. Scripts must not use doctest
// macros (they run off the test thread): they report through atomics and strings the
// test checks afterwards. A closed connection throws out of read(), which ends the
// script quietly.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include "sb/core/bytes.hpp"
#include "sb/core/chain.hpp"
#include "sb/node/p2p/message.hpp"

namespace sb::test {

// One connection: frames out, frames in.
class p2p_script_conn {
public:
    p2p_script_conn(boost::asio::ip::tcp::socket socket, const node::p2p::magic_bytes& magic)
        : socket_(std::move(socket)), magic_(magic), decoder_(magic) {}

    void send(std::string_view command, const bytes& payload = {}) {
        boost::asio::write(socket_, boost::asio::buffer(node::p2p::encode_frame(magic_, command, payload)));
    }
    void send_raw(const bytes& b) { boost::asio::write(socket_, boost::asio::buffer(b)); }

    // Next frame from the peer; throws when the connection closes or a frame is bad.
    node::p2p::frame read() {
        for (;;) {
            auto f = decoder_.next();
            if (!f) throw std::runtime_error("bad frame from peer");
            if (*f) return std::move(**f);
            std::uint8_t buf[4096];
            const std::size_t n = socket_.read_some(boost::asio::buffer(buf));
            decoder_.feed({buf, n});
        }
    }
    // Frames until one with this command; the commands of the others go to skipped.
    node::p2p::frame read_until(std::string_view command) {
        for (;;) {
            node::p2p::frame f = read();
            if (f.command == command) return f;
            skipped.push_back(f.command);
        }
    }
    // Answers the peer's handshake as a full node (NODE_NETWORK | NODE_WITNESS) of this
    // protocol version at height: waits for its version, sends version and verack.
    void answer_handshake(std::int32_t protocol_version, std::int32_t height = 0,
                          std::string user_agent = "/scripted:1/") {
        read_until(node::p2p::cmd::version);
        node::p2p::version_message v;
        v.version = protocol_version;
        v.services = node::p2p::node_network | node::p2p::node_witness;
        v.user_agent = std::move(user_agent);
        v.start_height = height;
        send(node::p2p::cmd::version, node::p2p::serialize(v));
        send(node::p2p::cmd::verack);
    }
    // Blocks until the peer closes the connection (always ends by throwing).
    void wait_closed() {
        for (;;) read();
    }
    int fd() { return socket_.native_handle(); }

    std::vector<std::string> skipped;

protected:
    boost::asio::ip::tcp::socket& socket() { return socket_; }

private:
    boost::asio::ip::tcp::socket socket_;
    node::p2p::magic_bytes magic_;
    node::p2p::frame_decoder decoder_;
};

namespace detail {
struct io_holder {
    boost::asio::io_context ctx;
};
}  // namespace detail

// A node that accepts one inbound connection on 127.0.0.1 and runs a script on it.
class scripted_p2p_node : private detail::io_holder, public p2p_script_conn {
public:
    explicit scripted_p2p_node(const chain_params& chain)
        : p2p_script_conn(boost::asio::ip::tcp::socket(ctx), chain.magic),
          acceptor_(ctx, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {}
    ~scripted_p2p_node() {
        if (thread_.joinable()) thread_.join();
    }
    scripted_p2p_node(const scripted_p2p_node&) = delete;
    scripted_p2p_node& operator=(const scripted_p2p_node&) = delete;

    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

    // Accepts, runs script, closes; on a thread of its own, joined by the destructor.
    void run(std::function<void(scripted_p2p_node&)> script) {
        thread_ = std::thread([this, script = std::move(script)] {
            try {
                acceptor_.accept(socket());
                script(*this);
            } catch (const std::exception&) {
                // The peer closed the connection: expected in most scripts.
            }
            boost::system::error_code ignored;
            socket().close(ignored);
        });
    }

private:
    boost::asio::ip::tcp::acceptor acceptor_;
    std::thread thread_;
};

}  // namespace sb::test
