#include "alerts/response.hpp"

#include <algorithm>
#include <cstdint>
#include <string>

#include "alerts/errors.hpp"
#include "alerts/event.hpp"
#include "alerts/limits.hpp"

namespace sb::bridge::alerts {

namespace {

namespace http = boost::beast::http;

// Retry-After is honoured up to a day (RFC 9110 §10.2.3; the HTTP-date form is ignored).
constexpr std::chrono::seconds max_retry_after{86'400};
// A redirect's Location as the log quotes it.
constexpr std::size_t max_location_bytes = 200;
// Digits of a Retry-After read: 9 hold every value up to the cap without overflow.
constexpr std::size_t max_retry_after_digits = 9;

}  // namespace

void limit_webhook_response(webhook_response_parser& parser) { parser.body_limit(max_response_bytes); }

send_result judge_webhook_response(const http::response_header<>& res, std::string_view host) {
    send_result r;
    r.status = res.result_int();
    if (r.status >= 200 && r.status <= 299) return r;
    r.ec = make_error_code(alerts_errc::http_status);
    r.detail = std::string(host) + " answered HTTP " + std::to_string(r.status);
    if (r.status >= 300 && r.status < 400)
        r.detail += " (a redirect" +
                    (res[http::field::location].empty()
                         ? std::string()
                         : " to " + clean_text(res[http::field::location], max_location_bytes)) +
                    ", not followed: configure the URL it points to)";
    if (r.status == 429 || r.status == 503) r.retry_after = parse_retry_after(res[http::field::retry_after]);
    return r;
}

std::chrono::seconds parse_retry_after(std::string_view v) noexcept {
    if (v.empty() || v.size() > max_retry_after_digits) return std::chrono::seconds(0);
    std::int64_t s = 0;
    for (char c : v) {
        if (c < '0' || c > '9') return std::chrono::seconds(0);
        s = s * 10 + (c - '0');
    }
    return std::min(std::chrono::seconds(s), max_retry_after);
}

}  // namespace sb::bridge::alerts
