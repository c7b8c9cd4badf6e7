// The dashboard's HTTP listener and serializer on loopback sockets (issue 14 "Web"):
// routes, auth, limits, headers, hostile text, the WebSocket and /metrics.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <rapidjson/document.h>

#include "stats/statistics.hpp"
#include "web/serialize.hpp"
#include "web/server.hpp"

using namespace sb;
using namespace sb::bridge;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

const std::string hostile = "<img src=x onerror=alert(1)>";

struct fixture {
    asio::io_context io;
    std::shared_ptr<stats::statistics> st;
    std::shared_ptr<stats::share_sink> sink;
    std::unique_ptr<web::server> srv;
    std::vector<std::thread> threads;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;

    std::shared_ptr<std::string> node_error = std::make_shared<std::string>();

    explicit fixture(web::server_options o = {}, int workers = 3) {
        stats::statistics_options so;
        so.tick = 50ms;
        so.log = [](std::string_view) {};
        so.version = "test";
        st = std::make_shared<stats::statistics>(so);
        stats::chain_sources src;
        src.id = "regtest";
        src.rpc_urls = {"http://127.0.0.1:1"};
        src.templates = [e = node_error] {
            node::failover_status f;
            f.nodes.resize(1);
            f.nodes[0].last_error = *e;
            return f;
        };
        st->add_chain(src);
        sink = st->sink(0);
        for (int i = 0; i < workers; ++i) share(static_cast<consumer_id>(i + 1), i == 0 ? hostile : "rig" + std::to_string(i));
        st->tick_now();
        o.host = o.host.empty() ? "127.0.0.1" : o.host;
        o.port = 0;
        o.log = [](std::string_view) {};
        srv = std::make_unique<web::server>(io, st, nullptr, o);
        guard.emplace(io.get_executor());
    }
    void run() {
        REQUIRE_FALSE(srv->start());
        for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
    }
    ~fixture() {
        st->stop();
        srv->stop();
        guard.reset();
        io.stop();
        for (auto& t : threads) t.join();
    }
    void share(consumer_id id, const std::string& worker) {
        stats::share_event e;
        e.consumer = id;
        e.worker = worker;
        e.share_difficulty = 8;
        e.hash_difficulty = 16;
        e.at = std::chrono::system_clock::now();
        sink->on_share(e);
    }

    // One request on a fresh connection; returns the response (status 0 when none came).
    http::response<http::string_body> get(const std::string& target, std::vector<std::pair<std::string, std::string>> headers = {},
                                          http::verb verb = http::verb::get) {
        asio::io_context cio;
        tcp::socket s(cio);
        s.connect({asio::ip::make_address("127.0.0.1"), srv->port()});
        http::request<http::string_body> req{verb, target, 11};
        req.set(http::field::host, "127.0.0.1:" + std::to_string(srv->port()));
        for (auto& [k, v] : headers) req.set(k, v);
        req.keep_alive(false);
        http::write(s, req);
        beast::flat_buffer buf;
        http::response<http::string_body> res;
        beast::error_code ec;
        http::read(s, buf, res, ec);
        if (ec) res.result(0);
        return res;
    }
};

rapidjson::Document parse(const std::string& body) {
    rapidjson::Document d;
    d.Parse(body.c_str());
    REQUIRE_MESSAGE(!d.HasParseError(), body);
    return d;
}

// A dashboard's WebSocket to the fixture's server, handshaken. A small receive buffer
// (bytes; 0: the system's) makes a client that never reads stall the server's writes soon.
std::unique_ptr<websocket::stream<tcp::socket>> open_ws(asio::io_context& cio, std::uint16_t port,
                                                        int receive_buffer = 0) {
    auto ws = std::make_unique<websocket::stream<tcp::socket>>(cio);
    ws->next_layer().open(tcp::v4());
    if (receive_buffer > 0) ws->next_layer().set_option(asio::socket_base::receive_buffer_size(receive_buffer));
    ws->next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
    ws->handshake("127.0.0.1:" + std::to_string(port), "/ws");
    return ws;
}

}  // namespace

TEST_CASE("web: targets are split and percent-decoded, bad ones are refused") {
    auto t = web::parse_target("/api/v1/workers/regtest/a%2Fb%20c?q=x%3Dy&limit=5&flag");
    REQUIRE(t);
    CHECK(t->path == "/api/v1/workers/regtest/a/b c");
    REQUIRE(t->params.size() == 3);
    CHECK(t->params[0] == std::pair<std::string, std::string>("q", "x=y"));
    CHECK(t->params[2].first == "flag");
    CHECK_FALSE(web::parse_target("api/status"));
    CHECK_FALSE(web::parse_target("/a%2"));
    CHECK_FALSE(web::parse_target("/a%zz"));
    CHECK_FALSE(web::parse_target("/a%00b"));
    CHECK_FALSE(web::parse_target("/" + std::string(3000, 'a')));
    CHECK(web::is_loopback_host("127.0.0.1"));
    CHECK(web::is_loopback_host("[::1]"));
    CHECK_FALSE(web::is_loopback_host("0.0.0.0"));
    CHECK_FALSE(web::is_loopback_host("localhost"));
}

TEST_CASE("web: the page, the API and /api/status are served with a Content-Security-Policy") {
    fixture f;
    f.run();
    auto page = f.get("/");
    CHECK(page.result() == http::status::ok);
    CHECK(page[http::field::content_type] == "text/html; charset=utf-8");
    CHECK(std::string(page["Content-Security-Policy"]).find("script-src 'self'") != std::string::npos);
    CHECK(page["X-Content-Type-Options"] == "nosniff");
    CHECK(page.body().find("<script src=\"/app.js\"") != std::string::npos);
    CHECK(f.get("/chart.js").body().find("Chart.js") != std::string::npos);
    auto openapi = parse(f.get("/api/v1/openapi.json").body());
    CHECK(std::string(openapi["openapi"].GetString()).starts_with("3."));

    auto status = parse(f.get("/api/status").body());
    CHECK(std::string(status["version"].GetString()) == "test");
    CHECK(std::string(status["chains"][0]["id"].GetString()) == "regtest");
    for (const char* k : {"node", "tip", "job_height", "work_mode", "p2p_peers", "sessions", "stratum_bans", "devices",
                          "shares", "blocks"})
        CHECK_MESSAGE(status["chains"][0].HasMember(k), k);

    auto summary = parse(f.get("/api/v1/status").body());
    CHECK(summary["workers"]["total"].GetUint() == 3);
    CHECK(summary["hashrate"]["5m"].GetDouble() > 0);
    CHECK_FALSE(summary["hashrate_mixed_algorithms"].GetBool());
    CHECK(std::string(summary["chains"][0]["algorithm"].GetString()) == "sha256d");
    CHECK(parse(f.get("/api/v1/chains").body()).IsArray());
    CHECK(f.get("/api/v1/chains/regtest").result() == http::status::ok);
    CHECK(f.get("/api/v1/chains/nope").result() == http::status::not_found);
    CHECK(parse(f.get("/api/v1/devices").body()).IsArray());
    CHECK(parse(f.get("/api/v1/blocks").body()).IsArray());
    found_block b;
    b.height = 7;
    b.hash[0] = 1;
    b.worker = hostile;
    f.st->on_block_found(0, b);
    f.st->tick_now();
    auto blocks = parse(f.get("/api/v1/blocks").body());
    REQUIRE(blocks.Size() == 1);
    CHECK(blocks[0]["height"].GetUint() == 7);
    CHECK(std::string(blocks[0]["worker"].GetString()) == hostile);
    CHECK(std::string(blocks[0]["status"].GetString()) == "pending");
    CHECK(parse(f.get("/api/v1/events").body()).IsArray());
    CHECK(parse(f.get("/api/v1/addresses").body()).IsArray());
    CHECK(parse(f.get("/api/v1/connections").body())["total"].GetUint() == 0);
    CHECK(parse(f.get("/api/v1/history?scope=chain&key=regtest&range=3600").body())["points"].IsArray());
    CHECK(f.get("/api/v1/history?scope=other").result() == http::status::bad_request);
    CHECK(f.get("/api/v1/history?step=7").result() == http::status::bad_request);
    CHECK(f.get("/nothing").result() == http::status::not_found);
}

TEST_CASE("web: a hostile worker name is JSON text that no page can take for markup") {
    fixture f;
    f.run();
    const auto body = f.get("/api/v1/workers?q=img").body();
    CHECK(body.find('<') == std::string::npos);
    CHECK(body.find('>') == std::string::npos);
    auto d = parse(body);
    REQUIRE(d["total"].GetUint() == 1);
    CHECK(std::string(d["workers"][0]["name"].GetString()) == hostile);  // the same text after JSON.parse
    // One worker by chain and name, the name percent-encoded.
    auto one = f.get("/api/v1/workers/regtest/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E");
    CHECK(one.result() == http::status::ok);
    CHECK(std::string(parse(one.body())["worker"]["name"].GetString()) == hostile);
    CHECK(f.get("/api/v1/workers/regtest/nobody").result() == http::status::not_found);
}

TEST_CASE("web: workers are filtered, sorted and paged, bad parameters are refused") {
    fixture f({}, 25);
    f.run();
    auto page = parse(f.get("/api/v1/workers?limit=10&offset=20&sort=name").body());
    CHECK(page["total"].GetUint() == 25);
    CHECK(page["workers"].Size() == 5);
    auto desc = parse(f.get("/api/v1/workers?sort=name&order=desc&limit=1").body());
    CHECK(std::string(desc["workers"][0]["name"].GetString()) == "rig9");
    CHECK(parse(f.get("/api/v1/workers?state=online").body())["total"].GetUint() == 25);
    CHECK(parse(f.get("/api/v1/workers?state=offline").body())["total"].GetUint() == 0);
    CHECK(f.get("/api/v1/workers?limit=0").result() == http::status::bad_request);
    CHECK(f.get("/api/v1/workers?limit=100000").result() == http::status::bad_request);
    CHECK(f.get("/api/v1/workers?sort=evil").result() == http::status::bad_request);
    CHECK(f.get("/api/v1/workers?state=sleeping").result() == http::status::bad_request);
    CHECK(f.get("/api/v1/workers?bogus=1").result() == http::status::bad_request);
    // Numbers are whole numbers, all of them: no trailing text, no sign, no overflow.
    CHECK(f.get("/api/v1/connections?offset=1").result() == http::status::ok);
    CHECK(f.get("/api/v1/connections?offset=12abc").result() == http::status::bad_request);
    CHECK(f.get("/api/v1/connections?offset=-1").result() == http::status::bad_request);
    CHECK(f.get("/api/v1/connections?limit=99999999999999999999999").result() == http::status::bad_request);
    CHECK(f.get("/api/v1/history?range=3600x").result() == http::status::bad_request);
    CHECK(f.get("/api/v1/history?step=60&range=86400").result() == http::status::ok);
}

TEST_CASE("web: nothing changes state: only GET and HEAD, bodies and oversized heads are refused") {
    fixture f;
    f.run();
    auto post = f.get("/api/status", {}, http::verb::post);
    CHECK(post.result() == http::status::method_not_allowed);
    CHECK(f.get("/api/status", {}, http::verb::delete_).result() == http::status::method_not_allowed);
    auto head = f.get("/api/status", {}, http::verb::head);
    CHECK(head.result() == http::status::ok);
    // A head beyond max_request_bytes: the connection is dropped without a response.
    CHECK(f.get("/api/status", {{"X-Pad", std::string(web::max_request_bytes + 100, 'a')}}).result_int() == 0);
    // A request with a body is not read as a request.
    asio::io_context cio;
    tcp::socket s(cio);
    s.connect({asio::ip::make_address("127.0.0.1"), f.srv->port()});
    const std::string req = "POST /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello";
    asio::write(s, asio::buffer(req));
    std::string got(64, '\0');
    beast::error_code ec;
    const auto n = s.read_some(asio::buffer(got), ec);
    got.resize(ec ? 0 : n);
    CHECK(got.find("200 OK") == std::string::npos);
}

TEST_CASE("web: a page of another site cannot use the dashboard (Host and Origin checked)") {
    fixture f;
    f.run();
    CHECK(f.get("/api/status", {{"Host", "evil.example:8080"}}).result() == http::status::forbidden);
    CHECK(f.get("/api/status", {{"Host", "localhost:8080"}}).result() == http::status::ok);
    // A cross-origin WebSocket is refused.
    asio::io_context cio;
    websocket::stream<tcp::socket> ws(cio);
    ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), f.srv->port()});
    ws.set_option(websocket::stream_base::decorator([](websocket::request_type& r) { r.set(http::field::origin, "http://evil.example"); }));
    beast::error_code ec;
    websocket::response_type res;
    ws.handshake(res, "127.0.0.1:" + std::to_string(f.srv->port()), "/ws", ec);
    CHECK(ec);
    CHECK(res.result() == http::status::forbidden);
}

TEST_CASE("web: off loopback a token or basic auth is required on every request and the WebSocket") {
    SUBCASE("refused without credentials configured") {
        web::server_options o;
        o.host = "0.0.0.0";
        fixture f(o);
        CHECK(f.srv->start() == std::make_error_code(std::errc::permission_denied));
    }
    SUBCASE("token") {
        web::server_options o;
        o.token = "0123456789abcdef";
        fixture f(o);
        f.run();
        auto none = f.get("/api/status");
        CHECK(none.result() == http::status::unauthorized);
        CHECK(std::string(none[http::field::www_authenticate]).starts_with("Basic"));
        CHECK(f.get("/metrics").result() == http::status::unauthorized);
        CHECK(f.get("/", {{"Authorization", "Bearer wrong-token-000000"}}).result() == http::status::unauthorized);
        CHECK(f.get("/api/status", {{"Authorization", "Bearer 0123456789abcdef"}}).result() == http::status::ok);
        // The token as a basic-auth password (what a browser prompt sends): "x:0123456789abcdef".
        CHECK(f.get("/", {{"Authorization", "Basic eDowMTIzNDU2Nzg5YWJjZGVm"}}).result() == http::status::ok);
        asio::io_context cio;
        websocket::stream<tcp::socket> ws(cio);
        ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), f.srv->port()});
        beast::error_code ec;
        ws.handshake("127.0.0.1", "/ws", ec);
        CHECK(ec);
    }
    SUBCASE("basic") {
        web::server_options o;
        o.user = "me";
        o.password = "secret";
        fixture f(o);
        f.run();
        CHECK(f.get("/", {{"Authorization", "Basic bWU6c2VjcmV0"}}).result() == http::status::ok);     // me:secret
        CHECK(f.get("/", {{"Authorization", "Basic bWU6c2VjcmV1"}}).result() == http::status::unauthorized);  // me:secreu
        CHECK(f.get("/", {{"Authorization", "Basic !!!"}}).result() == http::status::unauthorized);
    }
}

TEST_CASE("web: the WebSocket sends a snapshot, then updates, a cap on dashboards") {
    web::server_options o;
    o.max_websockets = 2;
    fixture f(o);
    f.run();
    f.st->start();
    asio::io_context cio;
    auto open = [&](beast::error_code& ec) {
        auto ws = std::make_unique<websocket::stream<tcp::socket>>(cio);
        ws->next_layer().connect({asio::ip::make_address("127.0.0.1"), f.srv->port()});
        ws->handshake("127.0.0.1:" + std::to_string(f.srv->port()), "/ws", ec);
        return ws;
    };
    beast::error_code ec;
    auto a = open(ec);
    REQUIRE_FALSE(ec);
    beast::flat_buffer buf;
    a->read(buf);
    auto first = parse(beast::buffers_to_string(buf.data()));
    CHECK(std::string(first["type"].GetString()) == "snapshot");
    CHECK(first["workers"]["total"].GetUint() == 3);
    buf.clear();
    a->read(buf);
    auto second = parse(beast::buffers_to_string(buf.data()));
    CHECK(std::string(second["type"].GetString()) == "update");
    CHECK(second["sequence"].GetUint64() > first["sequence"].GetUint64());
    auto b = open(ec);
    REQUIRE_FALSE(ec);
    auto c = open(ec);
    CHECK(ec);  // the third is refused (503)
    CHECK(f.srv->websocket_count() == 2);
}

TEST_CASE("web: a dashboard that stops reading is dropped, not buffered") {
    fixture f;
    f.run();
    // Big updates (a 256 KB node error in every one), one every 50 ms.
    *f.node_error = std::string(256 * 1024, 'e');
    f.st->start();
    asio::io_context cio;
    const auto ws = open_ws(cio, f.srv->port(), 4096);
    // Never read: the server's socket buffer fills, writes stall, the updates waiting pile
    // up one at a time until the client is dropped (max_ws_skipped_updates ticks later).
    bool dropped = false;
    for (int i = 0; i < 600 && !dropped; ++i) {
        std::this_thread::sleep_for(50ms);
        dropped = f.srv->websocket_count() == 0;
    }
    CHECK(dropped);
}

TEST_CASE("web: a dashboard that keeps reading stays connected past the write timeout") {
    // Updates every 50 ms for four write timeouts: the client reads them all and must not
    // be dropped (a write's timeout once also timed out the pending read: every dashboard
    // was cut off ws_write_timeout after it connected and showed "reconnecting").
    web::server_options o;
    o.ws_write_timeout = 500ms;
    fixture f(o);
    f.run();
    f.st->start();
    asio::io_context cio;
    const auto ws = open_ws(cio, f.srv->port());
    const auto until = std::chrono::steady_clock::now() + 4 * o.ws_write_timeout;
    int messages = 0;
    beast::error_code ec;
    while (!ec && std::chrono::steady_clock::now() < until) {
        beast::flat_buffer buf;
        ws->read(buf, ec);
        if (!ec) ++messages;
    }
    CHECK_MESSAGE(!ec, ec.message());
    CHECK(messages >= 10);
    CHECK(f.srv->websocket_count() == 1);
}

TEST_CASE("web: a WebSocket write stalled past the write timeout drops the client") {
    // One big snapshot and no updates after it (the statistics never tick): the write stalls
    // on a client that never reads, and only the write timeout can drop it.
    web::server_options o;
    o.ws_write_timeout = 300ms;
    fixture f(o);
    *f.node_error = std::string(4 * 1024 * 1024, 'e');
    f.st->tick_now();
    f.run();
    asio::io_context cio;
    const auto ws = open_ws(cio, f.srv->port(), 4096);
    bool connected = false, dropped = false;
    for (int i = 0; i < 200 && !dropped; ++i) {
        std::this_thread::sleep_for(25ms);
        const auto n = f.srv->websocket_count();
        connected = connected || n == 1;
        dropped = connected && n == 0;
    }
    CHECK(dropped);
}

TEST_CASE("web: /metrics is Prometheus text with escaped labels and capped per-worker series") {
    web::server_options o;
    o.metrics_per_worker = true;
    o.metrics_max_workers = 2;
    fixture f(o, 5);
    f.share(50, "quote\"back\\slash");
    f.st->tick_now();
    f.run();
    const auto res = f.get("/metrics");
    CHECK(res[http::field::content_type] == "text/plain; version=0.0.4; charset=utf-8");
    const std::string& m = res.body();
    CHECK(m.find("# TYPE solobridge_hashrate_hashes_per_second gauge") != std::string::npos);
    CHECK(m.find("solobridge_hashrate_hashes_per_second{chain=\"regtest\",algorithm=\"sha256d\",window=\"5m\"}") !=
          std::string::npos);
    CHECK(m.find("solobridge_worker_hashrate_hashes_per_second{chain=\"regtest\",algorithm=\"sha256d\",worker=") !=
          std::string::npos);
    CHECK(m.find("solobridge_metrics_workers_omitted 4") != std::string::npos);
    // The node's state, one series per state: only the current one is 1.
    const std::string node = "solobridge_node_state{chain=\"regtest\",node=\"http://127.0.0.1:1\",state=";
    CHECK(m.find(node + "\"connecting\"} 1\n") != std::string::npos);
    CHECK(m.find(node + "\"connected\"} 0\n") != std::string::npos);
    CHECK(m.find(node + "\"unauthorized\"} 0\n") != std::string::npos);
    std::size_t worker_lines = 0;
    for (std::size_t p = 0; (p = m.find("\nsolobridge_worker_online{", p)) != std::string::npos; ++p) ++worker_lines;
    CHECK(worker_lines == 2);
    CHECK(web::prometheus_label("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
    // Off: no per-worker series at all.
    fixture g;
    g.run();
    CHECK(g.get("/metrics").body().find("solobridge_worker_") == std::string::npos);
}
