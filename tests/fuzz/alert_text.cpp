// Fuzz target: text from outside that alerts carry (a worker name a miner chose, a node's
// explanation, a webhook's Location) as alerts::clean_text makes it fit for a message and a
// log line. The first byte is the byte limit, the rest the text. The result must fit the
// limit, be valid UTF-8 (RFC 3629) without C0 or C1 controls or DEL, equal the text when
// the text already is such and fits, and be left as it is by a second cleaning.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "alerts/event.hpp"

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

// Valid UTF-8 with no C0/C1 control and no DEL; written apart from the product's own
// decoder (ranges of RFC 3629 §4).
bool clean_utf8(std::string_view s) {
    std::size_t i = 0;
    auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    auto in = [&](std::size_t k, unsigned lo, unsigned hi) { return k < s.size() && b(k) >= lo && b(k) <= hi; };
    while (i < s.size()) {
        const unsigned c = b(i);
        std::size_t n = 0;
        if (c >= 0x20 && c < 0x7f) n = 1;
        else if (c == 0xc2) n = in(i + 1, 0xa0, 0xbf) ? 2 : 0;
        else if (c >= 0xc3 && c <= 0xdf) n = in(i + 1, 0x80, 0xbf) ? 2 : 0;
        else if (c == 0xe0) n = in(i + 1, 0xa0, 0xbf) && in(i + 2, 0x80, 0xbf) ? 3 : 0;
        else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef)
            n = in(i + 1, 0x80, 0xbf) && in(i + 2, 0x80, 0xbf) ? 3 : 0;
        else if (c == 0xed) n = in(i + 1, 0x80, 0x9f) && in(i + 2, 0x80, 0xbf) ? 3 : 0;
        else if (c == 0xf0) n = in(i + 1, 0x90, 0xbf) && in(i + 2, 0x80, 0xbf) && in(i + 3, 0x80, 0xbf) ? 4 : 0;
        else if (c >= 0xf1 && c <= 0xf3)
            n = in(i + 1, 0x80, 0xbf) && in(i + 2, 0x80, 0xbf) && in(i + 3, 0x80, 0xbf) ? 4 : 0;
        else if (c == 0xf4) n = in(i + 1, 0x80, 0x8f) && in(i + 2, 0x80, 0xbf) && in(i + 3, 0x80, 0xbf) ? 4 : 0;
        if (n == 0) return false;
        i += n;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::size_t max_bytes = data[0];
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    const std::string out = sb::bridge::alerts::clean_text(text, max_bytes);
    check(out.size() <= max_bytes);
    check(clean_utf8(out));
    if (text.size() <= max_bytes && clean_utf8(text)) check(out == text);
    check(sb::bridge::alerts::clean_text(out, max_bytes) == out);
    return 0;
}
