// Fuzz target: arbitrary bytes as a found-block journal file. Replay must skip what does
// not parse, never crash; every record that parses must format back to the same line.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "dispatch/journal.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto replay = sb::bridge::replay_journal(text);
    for (const auto& e : replay.entries)
        if (e.block.size() <= 80 || sb::sha256d(sb::byte_span(e.block.data(), 80)) != e.hash) std::abort();
    // Line by line: a record that parses is its own canonical form.
    std::string_view rest = text;
    while (!rest.empty()) {
        const std::size_t nl = rest.find('\n');
        const std::string_view line = rest.substr(0, nl);
        if (auto r = sb::bridge::parse_journal_record(line)) {
            if (sb::bridge::format_journal_record(*r) != line) std::abort();
        }
        if (nl == std::string_view::npos) break;
        rest.remove_prefix(nl + 1);
    }
    return 0;
}
