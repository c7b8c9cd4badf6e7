// Fuzz target: a node's cookie file as the RPC client reads it (its first max_cookie_bytes
// bytes). The credentials must be the first line exactly, hold a ':' and no line break,
// and their Basic-auth encoding must be base64 of exactly those bytes (so a hostile
// cookie cannot put a line break into the Authorization header).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sb/node/limits.hpp"
#include "sb/node/rpc_client.hpp"

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

// RFC 4648 decoding of padded input; aborts on anything else.
std::string base64_decode(std::string_view s) {
    check(s.size() % 4 == 0);
    std::string out;
    for (std::size_t i = 0; i < s.size(); i += 4) {
        const bool last = i + 4 == s.size();
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = s[i + std::size_t(k)];
            if (c == '=') {
                check(last && k >= 2);
                ++pad;
                v[k] = 0;
            } else {
                check(pad == 0);
                v[k] = base64_value(c);
                check(v[k] >= 0);
            }
        }
        const unsigned n = unsigned(v[0]) << 18 | unsigned(v[1]) << 12 | unsigned(v[2]) << 6 | unsigned(v[3]);
        out += char(n >> 16);
        if (pad < 2) out += char(n >> 8 & 0xff);
        if (pad < 1) out += char(n & 0xff);
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view head(reinterpret_cast<const char*>(data), std::min(size, sb::node::max_cookie_bytes));
    const auto credentials = sb::node::cookie_credentials(head);
    const std::string_view first_line = head.substr(0, head.find_first_of("\r\n"));
    check(credentials.has_value() == (first_line.find(':') != std::string_view::npos));
    if (!credentials) return 0;
    check(*credentials == first_line);
    const std::string encoded = sb::node::base64_encode(*credentials);
    check(std::none_of(encoded.begin(), encoded.end(), [](char c) { return c == '\r' || c == '\n'; }));
    check(base64_decode(encoded) == *credentials);
    return 0;
}
