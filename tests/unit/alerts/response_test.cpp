// A webhook's response as the sender judges it, from raw bytes through the sender's
// parser set-up (no socket): the status decides, a redirect's Location is quoted cleaned,
// Retry-After counts on 429 and 503 only.
#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>

#include "alerts/errors.hpp"
#include "alerts/limits.hpp"
#include "alerts/response.hpp"

using namespace sb::bridge::alerts;
namespace http = boost::beast::http;

namespace {

// Parses a whole response as the sender's parser does; the header must be complete.
send_result judge(std::string_view wire) {
    webhook_response_parser p;
    limit_webhook_response(p);
    p.eager(true);
    boost::beast::error_code ec;
    p.put(boost::asio::buffer(wire.data(), wire.size()), ec);
    REQUIRE(p.is_header_done());
    return judge_webhook_response(p.get().base(), "hooks.example");
}

}  // namespace

TEST_CASE("alerts response: 2xx is delivered, with its status") {
    const auto r = judge("HTTP/1.1 204 No Content\r\n\r\n");
    CHECK(!r.ec);
    CHECK(r.status == 204);
    CHECK(r.detail.empty());
}

TEST_CASE("alerts response: another status is http_status naming the host and the status") {
    const auto r = judge("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
    CHECK(r.ec == alerts_errc::http_status);
    CHECK(r.status == 401);
    CHECK(r.detail == "hooks.example answered HTTP 401");
    CHECK(r.retry_after.count() == 0);
}

TEST_CASE("alerts response: a redirect quotes its Location without control characters") {
    // The parser refuses C0 controls and DEL in a field value but passes any byte above
    // 0x7f: a C1 control (U+0085) and bytes that are not UTF-8 each become '?'.
    const auto r = judge("HTTP/1.1 301 Moved\r\nLocation: https://other.example/x\xc2\x85\xff\r\n\r\n");
    CHECK(r.ec == alerts_errc::http_status);
    CHECK(r.detail ==
          "hooks.example answered HTTP 301 (a redirect to https://other.example/x???, not followed: configure the URL "
          "it points to)");
}

TEST_CASE("alerts response: a long Location is cut") {
    const auto r = judge("HTTP/1.1 302 Found\r\nLocation: https://other.example/" + std::string(1000, 'a') + "\r\n\r\n");
    CHECK(r.detail.size() < 400);
    CHECK(r.detail.find("...") != std::string::npos);
}

TEST_CASE("alerts response: Retry-After counts on 429 and 503 only, capped at a day") {
    CHECK(judge("HTTP/1.1 429 Too Many\r\nRetry-After: 120\r\n\r\n").retry_after.count() == 120);
    CHECK(judge("HTTP/1.1 503 Busy\r\nRetry-After: 999999999\r\n\r\n").retry_after.count() == 86'400);
    CHECK(judge("HTTP/1.1 500 Oops\r\nRetry-After: 120\r\n\r\n").retry_after.count() == 0);
}

TEST_CASE("alerts response: Retry-After in another form than delay-seconds is ignored") {
    CHECK(parse_retry_after("").count() == 0);
    CHECK(parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT").count() == 0);
    CHECK(parse_retry_after("-5").count() == 0);
    CHECK(parse_retry_after("1234567890").count() == 0);  // more digits than any value up to the cap needs
    CHECK(parse_retry_after("0").count() == 0);
    CHECK(parse_retry_after("86401").count() == 86'400);
}

TEST_CASE("alerts response: a body over the limit still leaves the status") {
    const std::string wire = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(max_response_bytes + 1) + "\r\n\r\n";
    webhook_response_parser p;
    limit_webhook_response(p);
    boost::beast::error_code ec;
    p.put(boost::asio::buffer(wire), ec);
    CHECK(ec == http::error::body_limit);
    REQUIRE(p.is_header_done());
    CHECK(!judge_webhook_response(p.get().base(), "hooks.example").ec);
}
