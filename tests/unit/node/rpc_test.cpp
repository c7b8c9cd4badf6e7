// The JSON-RPC client: envelope parsing without sockets, then the HTTP client against
// the scripted fake node for every fault the node can throw at it.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <unistd.h>

#include "fake_node.hpp"
#include "node_access.hpp"
#include "rpc_helpers.hpp"
#include "sb/node/internal/json.hpp"
#include "sb/node/limits.hpp"
#include "sb/node/rpc_client.hpp"
#include "sb/node/rpc_reply.hpp"

using namespace sb::node;
using sb::test::answer_result;
using sb::test::call_and_wait;
using sb::test::fake_action;
using sb::test::fake_node;
using sb::test::fake_request;
using sb::test::http_reply;
using sb::test::io_runner;
using sb::test::rpc_error_body;
using sb::test::settings_for;

namespace {

// A node that answers every call with result 42.
fake_action answer_42(const fake_request& r) { return answer_result(r, "42"); }

// A cookie file in the temp directory, removed at the end of the test.
struct temp_cookie {
    std::filesystem::path path;
    explicit temp_cookie(const std::string& content) {
        static std::atomic<int> counter{0};
        path = std::filesystem::temp_directory_path() /
               ("sb_node_test_cookie_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        write(content);
    }
    ~temp_cookie() {
        std::error_code ec;
        std::filesystem::remove(path, ec);
    }
    void write(const std::string& content) const {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << content;
    }
};

}  // namespace

// ---- envelope, without sockets -------------------------------------------------------

TEST_CASE("rpc: request body is a JSON-RPC 1.0 call") {
    CHECK(make_request_body({"getblocktemplate", R"([{"rules":["segwit"]}])"}, 7) ==
          R"({"jsonrpc":"1.0","id":7,"method":"getblocktemplate","params":[{"rules":["segwit"]}]})");
    CHECK(make_request_body({"getblockchaininfo", ""}, 1) ==
          R"({"jsonrpc":"1.0","id":1,"method":"getblockchaininfo","params":[]})");
    CHECK(make_batch_body(std::vector<rpc_request>{{"a", "[]"}, {"b", "[1]"}}, 5) ==
          R"([{"jsonrpc":"1.0","id":5,"method":"a","params":[]},{"jsonrpc":"1.0","id":6,"method":"b","params":[1]}])");
    CHECK(json_quote("a\"b\\c\n") == R"("a\"b\\c\n")");
}

TEST_CASE("rpc: a reply with a result is a success even when the result is null") {
    auto r = parse_reply(200, R"({"result":null,"error":null,"id":3})", 3);
    REQUIRE(r.ok());
    CHECK(json_of(r.value).IsNull());
    r = parse_reply(200, R"({"result":{"a":[1,2]},"id":3})", 3);
    REQUIRE(r.ok());
    CHECK(json_of(r.value)["a"][1].GetInt() == 2);
}

TEST_CASE("rpc: an error object gives the node's code and message whatever the HTTP status") {
    for (unsigned status : {200u, 400u, 404u, 500u}) {
        CAPTURE(status);
        const auto r = parse_reply(status, R"({"result":null,"error":{"code":-8,"message":"bad param"},"id":1})", 1);
        CHECK(r.error.code == node_errc::rpc_error);
        CHECK(r.error.rpc_code == -8);
        CHECK(r.error.message == "bad param");
    }
    // Core answers a request it could not parse with a null id.
    const auto r = parse_reply(500, R"({"result":null,"error":{"code":-32700,"message":"Parse error"},"id":null})", 9);
    CHECK(r.error.code == node_errc::rpc_error);
    CHECK(r.error.rpc_code == -32700);
}

TEST_CASE("rpc: malformed replies give bad_json bad_reply or http_status") {
    struct row {
        unsigned status;
        const char* body;
        node_errc want;
    };
    // Each row: what a broken or hostile node might send.
    const row rows[] = {
        {200, "", node_errc::bad_json},
        {200, "<html>502</html>", node_errc::bad_json},
        {200, R"({"result":1,"id":1)", node_errc::bad_json},             // truncated
        {200, R"({"result":1,"id":1} trailing)", node_errc::bad_json},   // garbage after
        {200, "[1,2]", node_errc::bad_reply},                           // not an object
        {200, "42", node_errc::bad_reply},
        {200, R"({"id":1})", node_errc::bad_reply},                      // neither result nor error
        {200, R"({"result":1,"id":2})", node_errc::bad_reply},           // another call's id
        {200, R"({"result":1,"id":"1"})", node_errc::bad_reply},         // id of the wrong type
        {200, R"({"result":1})", node_errc::bad_reply},                  // no id
        {200, R"({"result":null,"error":"oops","id":1})", node_errc::bad_reply},
        {200, R"({"result":null,"error":{"message":"x"},"id":1})", node_errc::bad_reply},
        {200, R"({"result":null,"error":{"code":1.5,"message":"x"},"id":1})", node_errc::bad_reply},
        {502, "Bad Gateway", node_errc::http_status},
        {500, R"({"result":1,"id":1})", node_errc::http_status},
        {401, "", node_errc::unauthorized},
        {403, R"({"result":1,"id":1})", node_errc::unauthorized},
    };
    for (const auto& r : rows) {
        CAPTURE(r.status);
        CAPTURE(r.body);
        CHECK(parse_reply(r.status, r.body, 1).error.code == r.want);
    }
    // A raw NUL byte is never JSON, even after a complete value.
    CHECK(parse_reply(200, std::string("{\"result\":1,\"id\":1}\0", 20), 1).error.code == node_errc::bad_json);
}

TEST_CASE("rpc: deep nesting is parsed without exhausting the stack") {
    std::string deep = R"({"result":)" + std::string(2'000'000, '[') + std::string(2'000'000, ']') + R"(,"id":1})";
    const auto r = parse_reply(200, deep, 1);
    CHECK(r.ok());
    std::string open_only = std::string(2'000'000, '[');
    CHECK(parse_reply(200, open_only, 1).error.code == node_errc::bad_json);
}

TEST_CASE("rpc: node text is bounded and free of control characters") {
    const std::string msg(10'000, 'x');
    const auto r = parse_reply(500, R"({"error":{"code":-1,"message":")" + msg + R"(\u0000\n"},"id":1})", 1);
    CHECK(r.error.code == node_errc::rpc_error);
    CHECK(r.error.message.size() == max_node_text_bytes);
    CHECK(sanitize_node_text(std::string("a\nb\0c", 5)) == "a?b?c");
}

TEST_CASE("rpc: batch replies are matched by id in any order") {
    const auto r = parse_batch_reply(
        200,
        R"([{"result":"third","id":12},{"result":null,"error":{"code":-5,"message":"no"},"id":11},)"
        R"({"result":"first","id":10},{"result":"stray","id":99},{"result":"again","id":10}])",
        10, 4);
    REQUIRE(r.ok());
    REQUIRE(r.value.size() == 4);
    REQUIRE(r.value[0].ok());
    CHECK(std::string(json_of(r.value[0].value).GetString()) == "first");
    CHECK(r.value[1].error.code == node_errc::rpc_error);
    CHECK(r.value[1].error.rpc_code == -5);
    REQUIRE(r.value[2].ok());
    CHECK(std::string(json_of(r.value[2].value).GetString()) == "third");
    CHECK(r.value[3].error.code == node_errc::bad_reply);  // the node left id 13 out

    CHECK(parse_batch_reply(200, R"({"result":1,"id":1})", 1, 1).error.code == node_errc::bad_reply);
    const auto whole = parse_batch_reply(500, R"({"error":{"code":-32700,"message":"Parse error"},"id":null})", 1, 2);
    CHECK(whole.error.code == node_errc::rpc_error);
    CHECK(whole.error.rpc_code == -32700);
}

TEST_CASE("rpc: only http URLs are accepted") {
    auto u = parse_http_url("http://127.0.0.1:18443");
    REQUIRE(u);
    CHECK(u->host == "127.0.0.1");
    CHECK(u->port == 18443);
    CHECK(u->target == "/");
    u = parse_http_url("HTTP://[::1]:8332/wallet/w1");
    REQUIRE(u);
    CHECK(u->host == "::1");
    CHECK(u->port == 8332);
    CHECK(u->target == "/wallet/w1");
    u = parse_http_url("http://node.local");
    REQUIRE(u);
    CHECK(u->port == 80);
    for (const char* bad : {"https://127.0.0.1:8332", "127.0.0.1:8332", "http://", "http://:8332", "http://h:0",
                            "http://h:65536", "http://h:12x", "http://u:p@h:1", "http://[::1", "http://[::1]x"}) {
        CAPTURE(bad);
        CHECK(!parse_http_url(bad));
    }
}

TEST_CASE("rpc: base64 matches the RFC 4648 vectors") {
    // RFC 4648 §10.
    CHECK(base64_encode("") == "");
    CHECK(base64_encode("f") == "Zg==");
    CHECK(base64_encode("fo") == "Zm8=");
    CHECK(base64_encode("foo") == "Zm9v");
    CHECK(base64_encode("foob") == "Zm9vYg==");
    CHECK(base64_encode("fooba") == "Zm9vYmE=");
    CHECK(base64_encode("foobar") == "Zm9vYmFy");
}

// ---- over HTTP, against the fake node ------------------------------------------------

TEST_CASE("rpc: two calls share one keep-alive connection") {
    fake_node node(answer_42);
    io_runner io;
    rpc_client client(io.executor(), settings_for(node));
    const auto a = call_and_wait(io, client, {"getblockcount", "[]"});
    const auto b = call_and_wait(io, client, {"getblockcount", "[]"});
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(json_of(a.value).GetInt() == 42);
    CHECK(node.connection_count() == 1);
    const auto reqs = node.requests();
    REQUIRE(reqs.size() == 2);
    CHECK(reqs[0].method == "getblockcount");
    CHECK(reqs[0].id_json != reqs[1].id_json);
    CHECK(reqs[0].target == "/");
    CHECK(client.status().state == link_state::connected);
    CHECK(client.status().calls_ok == 2);
}

TEST_CASE("rpc: basic auth header carries user and password") {
    fake_node node(answer_42);
    io_runner io;
    auto s = settings_for(node);
    s.user = "alice";
    s.password = "s3cret";
    rpc_client client(io.executor(), s);
    REQUIRE(call_and_wait(io, client, {"getblockcount", "[]"}).ok());
    REQUIRE(node.request_count() == 1);
    CHECK(node.requests()[0].authorization == "Basic YWxpY2U6czNjcmV0");  // base64("alice:s3cret")
}

TEST_CASE("rpc: cookie file supplies the credentials") {
    temp_cookie cookie("__cookie__:abc123\n");
    fake_node node(answer_42);
    io_runner io;
    auto s = settings_for(node);
    s.user.clear();
    s.password.clear();
    s.cookie_file = cookie.path.string();
    rpc_client client(io.executor(), s);
    REQUIRE(call_and_wait(io, client, {"getblockcount", "[]"}).ok());
    CHECK(node.requests()[0].authorization == "Basic X19jb29raWVfXzphYmMxMjM=");  // __cookie__:abc123
}

TEST_CASE("rpc: cookie is re-read after a 401 and the call retried") {
    temp_cookie cookie("__cookie__:abc123");
    std::atomic<bool> restarted{false};
    // The node accepts the cookie of its current run only.
    fake_node node([&](const fake_request& r) {
        const std::string want = restarted ? "Basic X19jb29raWVfXzpkZWY0NTY=" : "Basic X19jb29raWVfXzphYmMxMjM=";
        if (r.authorization != want) return fake_action{http_reply(401, "")};
        return answer_result(r, "42");
    });
    io_runner io;
    auto s = settings_for(node);
    s.user.clear();
    s.password.clear();
    s.cookie_file = cookie.path.string();
    rpc_client client(io.executor(), s);
    REQUIRE(call_and_wait(io, client, {"getblockcount", "[]"}).ok());

    // The node restarts with a new cookie; the client still holds the old one.
    cookie.write("__cookie__:def456\n");
    restarted = true;
    const auto r = call_and_wait(io, client, {"getblockcount", "[]"});
    CHECK_MESSAGE(r.ok(), r.error.to_string());
    const auto reqs = node.requests();
    REQUIRE(reqs.size() == 3);
    CHECK(reqs[1].authorization == "Basic X19jb29raWVfXzphYmMxMjM=");
    CHECK(reqs[2].authorization == "Basic X19jb29raWVfXzpkZWY0NTY=");
}

TEST_CASE("rpc: HTTP 401 with user and password is unauthorized") {
    fake_node node([](const fake_request&) { return fake_action{http_reply(401, "")}; });
    io_runner io;
    rpc_client client(io.executor(), settings_for(node));
    const auto r = call_and_wait(io, client, {"getblockcount", "[]"});
    CHECK(r.error.code == node_errc::unauthorized);
    CHECK(node.request_count() == 1);  // no retry: the password will not change by itself
}

TEST_CASE("rpc: HTTP 500 with a JSON-RPC error body is an rpc error") {
    fake_node node([](const fake_request& r) {
        return fake_action{http_reply(500, rpc_error_body(r.id_json, -22, "Block decode failed"))};
    });
    io_runner io;
    rpc_client client(io.executor(), settings_for(node));
    const auto r = call_and_wait(io, client, {"submitblock", R"(["00"])"});
    CHECK(r.error.code == node_errc::rpc_error);
    CHECK(r.error.rpc_code == -22);
    CHECK(r.error.message == "Block decode failed");
    // An RPC error is an answer: the connection stays up for the next call.
    CHECK(client.status().state == link_state::connected);
    CHECK(call_and_wait(io, client, {"submitblock", R"(["00"])"}).error.code == node_errc::rpc_error);
    CHECK(node.connection_count() == 1);
}

TEST_CASE("rpc: HTTP error status without a JSON-RPC body is an http status error") {
    fake_node node([](const fake_request&) { return fake_action{http_reply(502, "Bad Gateway")}; });
    io_runner io;
    rpc_client client(io.executor(), settings_for(node));
    const auto r = call_and_wait(io, client, {"getblockcount", "[]"});
    CHECK(r.error.code == node_errc::http_status);
    CHECK(r.error.message.find("502") != std::string::npos);
}

TEST_CASE("rpc: garbage body is bad json and garbage HTTP is bad http") {
    fake_node node([](const fake_request& r) {
        if (r.method == "garbage_body") return fake_action{http_reply(200, "\x01\x02<html>not json")};
        return fake_action{"SSH-2.0-OpenSSH_9.2\r\n\r\n", true};
    });
    io_runner io;
    rpc_client client(io.executor(), settings_for(node));
    CHECK(call_and_wait(io, client, {"garbage_body", "[]"}).error.code == node_errc::bad_json);
    CHECK(call_and_wait(io, client, {"garbage_http", "[]"}).error.code == node_errc::bad_http);
    // The client recovers on a new connection.
    node.set_script(answer_42);
    CHECK(call_and_wait(io, client, {"getblockcount", "[]"}).ok());
}

TEST_CASE("rpc: truncated body then close is a lost connection") {
    fake_node node([](const fake_request&) {
        return fake_action{"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"result\":", true};
    });
    io_runner io;
    rpc_client client(io.executor(), settings_for(node));
    const auto r = call_and_wait(io, client, {"getblockcount", "[]"});
    CHECK(r.error.code == node_errc::connection_lost);
    CHECK(client.status().state == link_state::down);
    CHECK(!client.status().last_error.empty());
}

TEST_CASE("rpc: body announced above the limit is refused") {
    fake_node node([](const fake_request&) {
        // Content-Length twice the limit; the client must not wait for (or hold) the body.
        return fake_action{"HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(2 * max_reply_bytes) + "\r\n\r\n{"};
    });
    io_runner io;
    rpc_client client(io.executor(), settings_for(node));
    CHECK(call_and_wait(io, client, {"getblocktemplate", "[]"}).error.code == node_errc::body_too_large);
}

TEST_CASE("rpc: chunked body growing above the limit is refused") {
    fake_node node([](const fake_request&) {
        std::string raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        const std::string chunk(1000, 'a');
        for (int i = 0; i < 8; ++i) raw += "3e8\r\n" + chunk + "\r\n";
        raw += "0\r\n\r\n";
        return fake_action{raw};
    });
    io_runner io;
    auto options = sb::test::fast_options();
    options.reply_limit_bytes = 4096;
    rpc_client client(io.executor(), settings_for(node), options);
    CHECK(call_and_wait(io, client, {"getblocktemplate", "[]"}).error.code == node_errc::body_too_large);
}

TEST_CASE("rpc: chunked body within the limit is accepted") {
    fake_node node([](const fake_request& r) {
        const std::string body = sb::test::rpc_result_body(r.id_json, R"("chunked")");
        const std::string half1 = body.substr(0, body.size() / 2), half2 = body.substr(body.size() / 2);
        auto hex = [](std::size_t n) {
            char buf[16];
            std::snprintf(buf, sizeof buf, "%zx", n);
            return std::string(buf);
        };
        return fake_action{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + hex(half1.size()) + "\r\n" +
                           half1 + "\r\n" + hex(half2.size()) + "\r\n" + half2 + "\r\n0\r\n\r\n"};
    });
    io_runner io;
    rpc_client client(io.executor(), settings_for(node));
    const auto r = call_and_wait(io, client, {"getblocktemplate", "[]"});
    REQUIRE_MESSAGE(r.ok(), r.error.to_string());
    CHECK(std::string(json_of(r.value).GetString()) == "chunked");
}

TEST_CASE("rpc: a node that accepts and never answers times out") {
    fake_node node([](const fake_request&) { return fake_action{{}, false, false, true}; });
    io_runner io;
    rpc_client client(io.executor(), settings_for(node, std::chrono::milliseconds(300)));
    const auto r = call_and_wait(io, client, {"getblockcount", "[]"});
    CHECK(r.error.code == node_errc::timeout);
    // The next call does not reuse the connection that may still carry a late reply.
    node.set_script(answer_42);
    CHECK(call_and_wait(io, client, {"getblockcount", "[]"}).ok());
    CHECK(node.connection_count() == 2);
}

TEST_CASE("rpc: a reply that stalls halfway times out") {
    fake_node node([](const fake_request&) {
        fake_action a;
        a.raw = "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{\"res";  // then nothing, connection open
        return a;
    });
    io_runner io;
    rpc_client client(io.executor(), settings_for(node, std::chrono::milliseconds(300)));
    CHECK(call_and_wait(io, client, {"getblockcount", "[]"}).error.code == node_errc::timeout);
}

TEST_CASE("rpc: the per-call timeout overrides the settings") {
    fake_node node([](const fake_request&) { return fake_action{{}, false, false, true}; });
    io_runner io;
    rpc_client client(io.executor(), settings_for(node, std::chrono::seconds(60)));
    const auto r = call_and_wait(io, client, {"getblockcount", "[]"}, call_options{std::chrono::milliseconds(200)});
    CHECK(r.error.code == node_errc::timeout);
}

TEST_CASE("rpc: node down at start is retried with back-off and the call completes when it appears") {
    std::uint16_t port = 0;
    {
        fake_node probe(answer_42);
        port = probe.port();
    }  // nothing listens on port now
    io_runner io;
    sb::node::rpc_settings s;
    s.url = "http://127.0.0.1:" + std::to_string(port) + "/";
    s.timeout = std::chrono::seconds(30);
    rpc_client client(io.executor(), s, sb::test::fast_options());
    std::optional<rpc_reply> reply;
    client.call({"getblockcount", "[]"}, [&](rpc_reply r) { reply = std::move(r); });

    REQUIRE(io.run_until([&] { return client.status().consecutive_failures >= 2; }));
    const auto down = client.status();
    CHECK(down.state == link_state::down);
    CHECK(down.last_error.find("cannot connect") != std::string::npos);
    CHECK(down.retry_delay > std::chrono::milliseconds::zero());
    CHECK(!reply);  // the call waits for the node, within its deadline

    fake_node node(answer_42, port);
    REQUIRE(io.run_until([&] { return reply.has_value(); }));
    CHECK_MESSAGE(reply->ok(), reply->error.to_string());
    CHECK(client.status().state == link_state::connected);
    CHECK(client.status().consecutive_failures == 0);
}

TEST_CASE("rpc: a call waiting for an unreachable node fails with connect_failed at its deadline") {
    std::uint16_t port = 0;
    {
        fake_node probe(answer_42);
        port = probe.port();
    }
    io_runner io;
    sb::node::rpc_settings s;
    s.url = "http://127.0.0.1:" + std::to_string(port) + "/";
    s.timeout = std::chrono::milliseconds(300);
    rpc_client client(io.executor(), s, sb::test::fast_options());
    const auto r = call_and_wait(io, client, {"getblockcount", "[]"});
    CHECK(r.error.code == node_errc::connect_failed);
    CHECK(r.error.message.find("cannot connect") != std::string::npos);
}

TEST_CASE("rpc: an idle keep-alive connection closed by the node is replaced transparently") {
    // The node advertises keep-alive, then drops the connection once it has answered.
    fake_node node([](const fake_request& r) {
        auto a = answer_result(r, "42");
        a.close_after = true;
        return a;
    });
    io_runner io;
    rpc_client client(io.executor(), settings_for(node));
    REQUIRE(call_and_wait(io, client, {"getblockcount", "[]"}).ok());
    io.run_for(std::chrono::milliseconds(50));
    const auto r = call_and_wait(io, client, {"getblockcount", "[]"});
    CHECK_MESSAGE(r.ok(), r.error.to_string());
    CHECK(node.connection_count() == 2);
}

TEST_CASE("rpc: Connection close from the node is honoured") {
    fake_node node([](const fake_request& r) {
        return fake_action{http_reply(200, sb::test::rpc_result_body(r.id_json, "1"), "Connection: close\r\n"), true};
    });
    io_runner io;
    rpc_client client(io.executor(), settings_for(node));
    REQUIRE(call_and_wait(io, client, {"a", "[]"}).ok());
    REQUIRE(call_and_wait(io, client, {"b", "[]"}).ok());
    CHECK(node.connection_count() == 2);
}

TEST_CASE("rpc: batch over HTTP gets replies matched by id in any order") {
    fake_node node([](const fake_request& r) {
        // Reverse order, from the ids in the request body.
        rapidjson::Document d;
        d.Parse(r.body.c_str());
        std::string out = "[";
        for (rapidjson::SizeType i = d.Size(); i-- > 0;) {
            const auto id = d[i]["id"].GetUint64();
            out += R"({"result":")" + std::string(d[i]["method"].GetString()) + R"(","error":null,"id":)" +
                   std::to_string(id) + "}";
            if (i != 0) out += ",";
        }
        out += "]";
        return fake_action{http_reply(200, out)};
    });
    io_runner io;
    rpc_client client(io.executor(), settings_for(node));
    std::optional<batch_reply> reply;
    sb::test::access<rpc_client>::call_batch(client,
                                             {{"getblockcount", "[]"}, {"getbestblockhash", "[]"}, {"getdifficulty", "[]"}},
                                             [&](batch_reply r) { reply = std::move(r); });
    REQUIRE(io.run_until([&] { return reply.has_value(); }));
    REQUIRE_MESSAGE(reply->ok(), reply->error.to_string());
    REQUIRE(reply->value.size() == 3);
    CHECK(std::string(json_of(reply->value[0].value).GetString()) == "getblockcount");
    CHECK(std::string(json_of(reply->value[1].value).GetString()) == "getbestblockhash");
    CHECK(std::string(json_of(reply->value[2].value).GetString()) == "getdifficulty");
    CHECK(node.request_count() == 1);
}

TEST_CASE("rpc: calls queue behind each other on one connection") {
    fake_node node(answer_42);
    io_runner io;
    rpc_client client(io.executor(), settings_for(node));
    int done = 0;
    for (int i = 0; i < 10; ++i)
        client.call({"getblockcount", "[]"}, [&](rpc_reply r) {
            CHECK(r.ok());
            ++done;
        });
    REQUIRE(io.run_until([&] { return done == 10; }));
    CHECK(node.connection_count() == 1);
}

TEST_CASE("rpc: close cancels waiting and running calls") {
    fake_node node([](const fake_request&) { return fake_action{{}, false, false, true}; });
    io_runner io;
    rpc_client client(io.executor(), settings_for(node));
    std::vector<rpc_reply> replies;
    for (int i = 0; i < 3; ++i) client.call({"getblockcount", "[]"}, [&](rpc_reply r) { replies.push_back(std::move(r)); });
    REQUIRE(io.run_until([&] { return node.request_count() == 1; }));
    client.close();
    REQUIRE(io.run_until([&] { return replies.size() == 3; }));
    for (const auto& r : replies) CHECK(r.error.code == node_errc::cancelled);
    std::optional<rpc_reply> late;
    client.call({"getblockcount", "[]"}, [&](rpc_reply r) { late = std::move(r); });
    REQUIRE(io.run_until([&] { return late.has_value(); }));
    CHECK(late->error.code == node_errc::cancelled);
}

TEST_CASE("rpc: a bad URL fails every call with bad_url") {
    io_runner io;
    sb::node::rpc_settings s;
    s.url = "https://127.0.0.1:1/";
    rpc_client client(io.executor(), s);
    CHECK(call_and_wait(io, client, {"getblockcount", "[]"}).error.code == node_errc::bad_url);
}
