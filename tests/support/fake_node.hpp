// A scripted fake node for fault injection in node-client tests: an HTTP server on
// 127.0.0.1 (its own thread and io_context) that records every request and answers with
// whatever bytes the test's script returns, including malformed, truncated, oversized or
// no answer at all. Integration tests use a real node; this one exists to misbehave.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

namespace sb::test {

// One HTTP request as the fake node received it.
struct fake_request {
    std::string target;
    std::string authorization;   // the Authorization header, empty when absent
    std::string body;
    std::string method;          // JSON-RPC method; empty for a batch or an unparsable body
    std::string id_json;         // the request's id as JSON text ("null" when absent)
    std::string params_json;     // its params as JSON text ("null" when absent)
    std::size_t connection = 0;  // 1-based index of the connection it arrived on
};

// What the fake node does with one request.
struct fake_action {
    std::string raw;           // bytes written back verbatim
    bool close_after = false;  // close the connection once raw is written
    bool hold = false;         // answer later, in release_held()
    bool ignore = false;       // never answer; the connection stays open until stop()
};

using fake_script = std::function<fake_action(const fake_request&)>;

class fake_node {
public:
    // Listens on 127.0.0.1:port (0: a free port). The script runs on the node's thread.
    explicit fake_node(fake_script script, std::uint16_t port = 0);
    // stop()
    ~fake_node();
    fake_node(const fake_node&) = delete;
    fake_node& operator=(const fake_node&) = delete;

    std::uint16_t port() const;
    std::string url() const;  // http://127.0.0.1:<port>/

    void set_script(fake_script script);
    // Requests whose body is larger are not read: the node closes the connection as soon
    // as a request's header announces more, mid-request, with the rest unread (a node dying
    // or refusing while a big submitblock streams in). Default 256 MiB.
    void set_body_limit(std::size_t bytes);
    // Closes the listener and every connection at once, like a killed node. Idempotent.
    void stop();

    std::vector<fake_request> requests() const;
    std::size_t request_count() const;
    std::size_t connection_count() const;  // connections accepted so far
    std::size_t held_count() const;
    // Answers every held request with answer(request).
    void release_held(fake_script answer);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

// "HTTP/1.1 <status> <reason>\r\nContent-Type: application/json\r\nContent-Length: n\r\n"
// + extra_headers (each ending in \r\n) + "\r\n" + body.
std::string http_reply(unsigned status, std::string_view body, std::string_view extra_headers = {});
// {"result":<result_json>,"error":null,"id":<id_json>}
std::string rpc_result_body(std::string_view id_json, std::string_view result_json);
// {"result":null,"error":{"code":<code>,"message":"<message>"},"id":<id_json>}
std::string rpc_error_body(std::string_view id_json, int code, std::string_view message);
// The usual good answer: HTTP 200 with rpc_result_body(request.id_json, result_json).
fake_action answer_result(const fake_request& request, std::string_view result_json);

// Bitcoin regtest's genesis block hash, display order (getblockhash 0).
inline constexpr std::string_view regtest_genesis_hex =
    "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206";

// What a scripted node says about itself when a template source checks it.
struct chain_info {
    std::string chain = "regtest";                           // getblockchaininfo "chain"
    std::string genesis_hex = std::string(regtest_genesis_hex);  // getblockhash 0
    bool initial_download = false;                           // "initialblockdownload"
    int blocks = 1;
};
// The answer to getblockchaininfo or getblockhash [0] for a node described by info;
// nullopt for every other request (the script answers those itself).
std::optional<fake_action> answer_chain_check(const fake_request& request, const chain_info& info = {});

// An io_context run on the test's own thread, for the client under test.
class io_runner {
public:
    io_runner();
    ~io_runner();
    io_runner(const io_runner&) = delete;
    io_runner& operator=(const io_runner&) = delete;

    boost::asio::any_io_executor executor();
    // Runs handlers until done() is true or limit has passed; returns done(). The limit
    // only guards against hangs: tests never assert how fast something happened.
    bool run_until(const std::function<bool()>& done,
                   std::chrono::milliseconds limit = std::chrono::seconds(20));
    // Runs handlers for this long.
    void run_for(std::chrono::milliseconds duration);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace sb::test
