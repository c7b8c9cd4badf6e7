// A webhook's HTTP response without a socket: the parser as the sender sets it up, and
// what a response says about the delivery. sender.cpp runs these on each request; the
// fuzz target tests/fuzz/webhook_response.cpp runs them on raw bytes. A Beast header:
// include it only where Beast is compiled anyway.
#pragma once

#include <chrono>
#include <string_view>

#include <boost/beast/http.hpp>

#include "alerts/sender.hpp"

namespace sb::bridge::alerts {

using webhook_response_parser = boost::beast::http::response_parser<boost::beast::http::string_body>;

// Sets the sender's limits on a fresh parser: a body of at most max_response_bytes
// (limits.hpp); the header keeps Beast's default limit.
void limit_webhook_response(webhook_response_parser& parser);

// What a response whose header has been read says (a body cut short or over the limit
// changes nothing: the status is all that matters). 2xx: an empty result but the status.
// Any other status: alerts_errc::http_status, with detail "<host> answered HTTP <status>"
// and, for a 3xx, the Location it names (printable text only, cut to a few hundred bytes);
// a 429 or 503 also gives its Retry-After (parse_retry_after).
send_result judge_webhook_response(const boost::beast::http::response_header<>& res, std::string_view host);

// A Retry-After value in delay-seconds (RFC 9110 §10.2.3), at most a day; 0 for an empty
// value, the HTTP-date form or anything else.
std::chrono::seconds parse_retry_after(std::string_view v) noexcept;

}  // namespace sb::bridge::alerts
