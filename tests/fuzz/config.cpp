// Fuzz target: configuration text must give settings or errors, never a crash, and every
// error must carry a position inside the text.
#include <cstdlib>
#include <string_view>

#include "sb/config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto r = sb::config::load_text(text, "fuzz.json");
    if (r.value.has_value() == !r.errors.empty()) std::abort();
    for (const auto& e : r.errors)
        if (e.at.line < 0 || e.at.column < 0 || e.message.empty()) std::abort();
    return 0;
}
