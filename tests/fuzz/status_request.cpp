// Fuzz target: bytes from an HTTP client of the status endpoint (bridge/web). They go
// through the request parser as the server sets it up (limit_status_request), fed in
// pieces whose size comes from the first byte as reads would deliver them, and a request
// that parses gets the server's response (make_status_response). Nothing may crash; the
// response must be the one the route table promises, and it must serialize to HTTP that
// parses back to the same status and body.
//
// The pattern for every HTTP or WebSocket endpoint of bridge/web: the server exposes its
// parser setup and a handler from parsed request to response without a socket; the
// target feeds raw bytes through the first and checks the second's promises.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>

#include "web/status_http.hpp"

namespace http = boost::beast::http;
namespace web = sb::bridge::web;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

constexpr std::string_view status_json = R"({"chains":[]})";

void check_response(const web::status_request& req, const web::status_response& res, int status_calls) {
    const bool get_or_head = req.method() == http::verb::get || req.method() == http::verb::head;
    const bool route = get_or_head && req.target() == "/api/status";
    check(status_calls == (route ? 1 : 0));
    if (route) {
        check(res.result() == http::status::ok);
    } else {
        check(res.result() == (get_or_head ? http::status::not_found : http::status::method_not_allowed));
    }
    check(!res.keep_alive() && res.version() == req.version());
    const bool head = req.method() == http::verb::head;
    check(!head || res.body().empty());
    if (route && !head) check(res.body() == status_json);

    // On the wire and back, as a client reads it (no body after a HEAD).
    std::ostringstream wire;
    wire << res;
    const std::string text = wire.str();
    http::response_parser<http::string_body> back;
    back.skip(head);
    back.eager(true);
    boost::beast::error_code ec;
    const std::size_t used = back.put(boost::asio::buffer(text), ec);
    if (!ec && !back.is_done()) back.put_eof(ec);
    check(!ec && back.is_done() && used == text.size());
    check(back.get().result() == res.result() && back.get().body() == res.body());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::size_t step = std::size_t(data[0] % 32) + 1;
    const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);

    web::status_request_parser parser;
    web::limit_status_request(parser);
    boost::beast::flat_buffer buffer;
    boost::beast::error_code ec;
    std::size_t fed = 0;
    while (!parser.is_done() && !ec) {
        // Parse what the buffer holds; on need_more, read the next piece; at the end of
        // the bytes the client has closed.
        const std::size_t used = parser.put(buffer.data(), ec);
        buffer.consume(used);
        if (ec == http::error::need_more) ec = {};
        if (ec || parser.is_done()) break;
        if (used > 0) continue;
        if (fed == in.size()) {
            parser.put_eof(ec);
            break;
        }
        const std::size_t n = std::min(step, in.size() - fed);
        const auto space = buffer.prepare(n);
        std::copy_n(in.data() + fed, n, static_cast<char*>(space.data()));
        buffer.commit(n);
        fed += n;
    }
    if (!parser.is_done()) return 0;
    check(!ec);
    int status_calls = 0;
    const web::status_response res = web::make_status_response(parser.get(), [&] {
        ++status_calls;
        return std::string(status_json);
    });
    check_response(parser.get(), res, status_calls);
    return 0;
}
