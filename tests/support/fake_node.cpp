#include "fake_node.hpp"

#include <atomic>
#include <mutex>
#include <optional>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace sb::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

std::string to_json(const rapidjson::Value& v) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    v.Accept(w);
    return {buf.GetString(), buf.GetSize()};
}

// Fills method / id / params from a JSON-RPC request body when it is a single call.
void describe_body(fake_request& r) {
    r.id_json = "null";
    r.params_json = "null";
    rapidjson::Document d;
    d.Parse(r.body.data(), r.body.size());
    if (d.HasParseError() || !d.IsObject()) return;
    if (auto m = d.FindMember("method"); m != d.MemberEnd() && m->value.IsString()) r.method = m->value.GetString();
    if (auto i = d.FindMember("id"); i != d.MemberEnd()) r.id_json = to_json(i->value);
    if (auto p = d.FindMember("params"); p != d.MemberEnd()) r.params_json = to_json(p->value);
}

}  // namespace

// Handlers on the node's thread hold plain pointers to impl: fake_node joins that thread
// before impl goes away, and the io_context then destroys whatever handlers are left.
struct fake_node::impl {
    struct session : std::enable_shared_from_this<session> {
        session(impl* owner, tcp::socket socket, std::size_t index)
            : owner_(owner), socket_(std::move(socket)), index_(index) {}

        void do_read() {
            parser_.emplace();
            parser_->body_limit(owner_->body_limit.load());
            http::async_read(socket_, buffer_, *parser_,
                             [self = shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); });
        }

        void on_read(error_code ec) {
            if (ec) return close();
            auto msg = parser_->release();
            fake_request r;
            r.target = std::string(msg.target());
            if (auto it = msg.find(http::field::authorization); it != msg.end()) r.authorization = std::string(it->value());
            r.body = std::move(msg.body());
            r.connection = index_;
            describe_body(r);
            owner_->handle(shared_from_this(), std::move(r));
        }

        void act(const fake_action& a) {
            if (a.ignore) return;
            auto data = std::make_shared<std::string>(a.raw);
            asio::async_write(socket_, asio::buffer(*data),
                              [self = shared_from_this(), data, close_after = a.close_after](error_code ec, std::size_t) {
                                  if (ec || close_after) return self->close();
                                  self->do_read();
                              });
        }

        void close() {
            error_code ignored;
            socket_.shutdown(tcp::socket::shutdown_both, ignored);
            socket_.close(ignored);
        }

        impl* owner_;
        tcp::socket socket_;
        std::size_t index_;
        beast::flat_buffer buffer_;
        std::optional<http::request_parser<http::string_body>> parser_;
    };

    impl(fake_script s, std::uint16_t port) : script(std::move(s)), acceptor(ioc) {
        const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
        acceptor.open(ep.protocol());
        acceptor.set_option(tcp::acceptor::reuse_address(true));
        acceptor.bind(ep);
        acceptor.listen();
        bound_port = acceptor.local_endpoint().port();
    }

    void start() {
        do_accept();
        thread = std::thread([this] { ioc.run(); });
    }

    void do_accept() {
        acceptor.async_accept([self = this](error_code ec, tcp::socket socket) {
            if (ec) return;
            std::size_t index = 0;
            {
                std::lock_guard lock(self->mu);
                index = ++self->connections;
            }
            auto s = std::make_shared<session>(self, std::move(socket), index);
            self->sessions.push_back(s);
            s->do_read();
            self->do_accept();
        });
    }

    void handle(const std::shared_ptr<session>& s, fake_request r) {
        fake_script current;
        {
            std::lock_guard lock(mu);
            requests.push_back(r);
            current = script;
        }
        const fake_action a = current ? current(r) : fake_action{};
        if (a.hold) {
            std::lock_guard lock(mu);
            held.emplace_back(s, std::move(r));
            return;
        }
        // Nothing else refers to a session that will never answer: keep it open.
        if (a.ignore) silent.push_back(s);
        s->act(a);
    }

    void kill() {
        error_code ignored;
        acceptor.close(ignored);
        for (auto& w : sessions)
            if (auto s = w.lock()) s->close();
        sessions.clear();
        silent.clear();
        std::lock_guard lock(mu);
        held.clear();
    }

    fake_script script;
    asio::io_context ioc;
    tcp::acceptor acceptor;
    std::uint16_t bound_port = 0;
    std::thread thread;
    std::atomic<std::size_t> body_limit{256u << 20};
    // Touched on the node's thread only.
    std::vector<std::weak_ptr<session>> sessions;
    std::vector<std::shared_ptr<session>> silent;  // sessions told to ignore their request

    mutable std::mutex mu;  // guards what follows
    std::vector<fake_request> requests;
    std::size_t connections = 0;
    std::vector<std::pair<std::shared_ptr<session>, fake_request>> held;
};

fake_node::fake_node(fake_script script, std::uint16_t port)
    : impl_(std::make_unique<impl>(std::move(script), port)) {
    impl_->start();
}

fake_node::~fake_node() { stop(); }

std::uint16_t fake_node::port() const { return impl_->bound_port; }

std::string fake_node::url() const { return "http://127.0.0.1:" + std::to_string(port()) + "/"; }

void fake_node::set_script(fake_script script) {
    std::lock_guard lock(impl_->mu);
    impl_->script = std::move(script);
}

void fake_node::set_body_limit(std::size_t bytes) { impl_->body_limit.store(bytes); }

void fake_node::stop() {
    if (!impl_->thread.joinable()) return;
    asio::post(impl_->ioc, [i = impl_.get()] {
        i->kill();
        i->ioc.stop();
    });
    impl_->thread.join();
}

std::vector<fake_request> fake_node::requests() const {
    std::lock_guard lock(impl_->mu);
    return impl_->requests;
}

std::size_t fake_node::request_count() const {
    std::lock_guard lock(impl_->mu);
    return impl_->requests.size();
}

std::size_t fake_node::connection_count() const {
    std::lock_guard lock(impl_->mu);
    return impl_->connections;
}

std::size_t fake_node::held_count() const {
    std::lock_guard lock(impl_->mu);
    return impl_->held.size();
}

void fake_node::release_held(fake_script answer) {
    asio::post(impl_->ioc, [i = impl_.get(), answer = std::move(answer)] {
        std::vector<std::pair<std::shared_ptr<impl::session>, fake_request>> held;
        {
            std::lock_guard lock(i->mu);
            held.swap(i->held);
        }
        for (auto& [s, r] : held) s->act(answer(r));
    });
}

std::string http_reply(unsigned status, std::string_view body, std::string_view extra_headers) {
    const char* reason = status == 200 ? "OK" : status == 401 ? "Unauthorized" : status == 500 ? "Internal Server Error" : "Status";
    std::string s = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
    s += "Content-Type: application/json\r\n";
    s += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    s += extra_headers;
    s += "\r\n";
    s += body;
    return s;
}

std::string rpc_result_body(std::string_view id_json, std::string_view result_json) {
    return R"({"result":)" + std::string(result_json) + R"(,"error":null,"id":)" + std::string(id_json) + "}";
}

std::string rpc_error_body(std::string_view id_json, int code, std::string_view message) {
    return R"({"result":null,"error":{"code":)" + std::to_string(code) + R"(,"message":")" + std::string(message) +
           R"("},"id":)" + std::string(id_json) + "}";
}

fake_action answer_result(const fake_request& request, std::string_view result_json) {
    return {http_reply(200, rpc_result_body(request.id_json, result_json))};
}

std::optional<fake_action> answer_chain_check(const fake_request& request, const chain_info& info) {
    if (request.method == "getblockchaininfo")
        return answer_result(request, R"({"chain":")" + info.chain + R"(","blocks":)" + std::to_string(info.blocks) +
                                          R"(,"bestblockhash":")" + std::string(64, 'a') +
                                          R"(","initialblockdownload":)" +
                                          (info.initial_download ? "true" : "false") + "}");
    if (request.method == "getblockhash" && request.params_json == "[0]")
        return answer_result(request, "\"" + info.genesis_hex + "\"");
    return std::nullopt;
}

struct io_runner::impl {
    asio::io_context ioc;
    asio::executor_work_guard<asio::io_context::executor_type> guard{ioc.get_executor()};
};

io_runner::io_runner() : impl_(std::make_unique<impl>()) {}

io_runner::~io_runner() {
    // Let handlers that hold the objects under test run their course before teardown.
    impl_->guard.reset();
    impl_->ioc.run_for(std::chrono::milliseconds(200));
}

boost::asio::any_io_executor io_runner::executor() { return impl_->ioc.get_executor(); }

bool io_runner::run_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        impl_->ioc.run_for(std::chrono::milliseconds(5));
    }
    return true;
}

void io_runner::run_for(std::chrono::milliseconds duration) {
    const auto deadline = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < deadline) impl_->ioc.run_for(std::chrono::milliseconds(5));
}

}  // namespace sb::test
