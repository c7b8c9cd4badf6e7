// Fuzz target: hex decoding must never crash and must round-trip what it accepts.
#include <cstdlib>
#include <string_view>

#include "sb/core/hex.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view s(reinterpret_cast<const char*>(data), size);
    auto r = sb::from_hex(s, 4096);
    if (r) {
        const std::string back = sb::to_hex(*r);
        if (back.size() != s.size()) std::abort();
        for (std::size_t i = 0; i < s.size(); ++i)
            if (sb::hex_digit_value(back[i]) != sb::hex_digit_value(s[i])) std::abort();
    }
    return 0;
}
