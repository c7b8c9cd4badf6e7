#include "alerts/event.hpp"

#include "alerts/limits.hpp"
#include "sb/core/hex.hpp"

namespace sb::bridge::alerts {

namespace {

// Length of the valid UTF-8 sequence at s[i] (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF), 0 when the bytes there are not one. C0 and C1 controls and
// DEL count as invalid: a message has no use for them, and they can forge lines.
std::size_t utf8_length(std::string_view s, std::size_t i) noexcept {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    if (c < 0x80) return (c < 0x20 || c == 0x7f) ? 0 : 1;
    auto cont = [&](std::size_t k) { return k < s.size() && (b(k) & 0xc0) == 0x80; };
    if (c >= 0xc2 && c <= 0xdf) {
        if (!cont(i + 1)) return 0;
        return (c == 0xc2 && b(i + 1) < 0xa0) ? 0 : 2;  // U+0080..U+009F: C1 controls
    }
    if (c >= 0xe0 && c <= 0xef) {
        if (!cont(i + 1) || !cont(i + 2)) return 0;
        if (c == 0xe0 && b(i + 1) < 0xa0) return 0;  // overlong
        if (c == 0xed && b(i + 1) >= 0xa0) return 0;  // surrogates
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
        if (c == 0xf0 && b(i + 1) < 0x90) return 0;  // overlong
        if (c == 0xf4 && b(i + 1) >= 0x90) return 0;  // above U+10FFFF
        return 4;
    }
    return 0;
}

}  // namespace

std::string clean_text(std::string_view text, std::size_t max_bytes) {
    constexpr std::string_view ellipsis = "...";
    std::string out;
    out.reserve(std::min(text.size(), max_bytes));
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t n = utf8_length(text, i);
        const std::size_t take = n == 0 ? 1 : n;
        if (out.size() + take > max_bytes) {
            // Cut at a character boundary, leaving room for the ellipsis.
            while (!out.empty() && out.size() + ellipsis.size() > max_bytes) {
                std::size_t k = out.size() - 1;
                while (k > 0 && (static_cast<unsigned char>(out[k]) & 0xc0) == 0x80) --k;
                out.resize(k);
            }
            if (out.size() + ellipsis.size() <= max_bytes) out += ellipsis;
            return out;
        }
        if (n == 0) out += '?';
        else out.append(text.substr(i, n));
        i += take;
    }
    return out;
}

alert_event block_found_event(std::string chain, std::uint32_t height, const hash256& hash, std::string_view worker,
                              std::chrono::system_clock::time_point at) {
    alert_event e;
    e.kind = event_kind::block_found;
    e.chain = std::move(chain);
    e.subject = to_hex_reversed(hash);
    const std::string who = worker.empty() ? std::string("an unnamed worker") : std::string(worker);
    e.text = "block " + std::to_string(height) + " found by " + who + ", hash " + e.subject;
    e.at = at;
    return e;
}

}  // namespace sb::bridge::alerts
