// Fuzz target: what an alert webhook's server answers (bridge/alerts). The bytes go
// through the response parser as the sender sets it up (limit_webhook_response), fed in
// pieces whose size comes from the first byte as reads would deliver them, and a response
// whose header was read is judged as the sender judges it (judge_webhook_response).
// Nothing may crash; the result must follow the status (delivered exactly for 2xx), its
// detail must stay short and free of control characters whatever the server's Location
// says (it goes into a log line), and Retry-After must count only on 429 and 503, as whole
// seconds up to a day.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/beast/core/flat_buffer.hpp>

#include "alerts/errors.hpp"
#include "alerts/limits.hpp"
#include "alerts/response.hpp"

namespace http = boost::beast::http;
namespace alerts = sb::bridge::alerts;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

constexpr std::string_view host = "hooks.example:8443";

// No C0 control, DEL or C1 control (U+0080..U+009F, 0xC2 0x80..0x9F in UTF-8).
bool printable(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7f) return false;
        if (c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) < 0xa0) return false;
    }
    return true;
}

void check_result(const http::response_header<>& res, const alerts::send_result& r) {
    const unsigned status = res.result_int();
    check(r.status == status);
    const bool delivered = status >= 200 && status <= 299;
    check(!r.ec == delivered);
    if (delivered) {
        check(r.detail.empty() && r.retry_after.count() == 0);
        return;
    }
    check(r.ec == alerts::alerts_errc::http_status);
    check(r.detail.starts_with(std::string(host) + " answered HTTP " + std::to_string(status)));
    // Host, status, a cleaned Location of at most 200 bytes and the fixed words around it.
    check(r.detail.size() <= host.size() + 300 && printable(r.detail));
    if (status == 429 || status == 503) {
        check(r.retry_after == alerts::parse_retry_after(res[http::field::retry_after]));
    } else {
        check(r.retry_after.count() == 0);
    }
}

void check_retry_after(std::string_view v) {
    const auto s = alerts::parse_retry_after(v);
    check(s.count() >= 0 && s.count() <= 86'400);
    if (s.count() == 0) return;
    check(!v.empty() && v.size() <= 9 && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }));
    check(s.count() == std::min<long long>(std::stoll(std::string(v)), 86'400));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::size_t step = std::size_t(data[0] % 32) + 1;
    const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);

    alerts::webhook_response_parser parser;
    alerts::limit_webhook_response(parser);
    boost::beast::flat_buffer buffer;
    boost::beast::error_code ec;
    std::size_t fed = 0;
    while (!parser.is_done() && !ec) {
        // Parse what the buffer holds; on need_more, read the next piece; at the end of
        // the bytes the server has closed.
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
    // The sender judges any response whose header came, complete or not.
    if (!parser.is_header_done()) return 0;
    check(parser.get().body().size() <= alerts::max_response_bytes);
    const auto& res = parser.get().base();
    check_result(res, alerts::judge_webhook_response(res, host));
    check_retry_after(res[http::field::retry_after]);
    return 0;
}
