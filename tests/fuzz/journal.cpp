// Fuzz target: arbitrary bytes as a found-block journal file. Replay must skip what does
// not parse, never crash; every record that parses must format back to the same line.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "dispatch/journal.hpp"

namespace {

// The block hash the journal's owner injects on a Bitcoin chain.
std::optional<sb::hash256> sha256d_block(sb::byte_span b) {
    if (b.size() <= 80) return std::nullopt;
    return sb::sha256d(b.first(80));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto replay = sb::bridge::replay_journal(text, sha256d_block);
    // A found record's bytes are the block its hash names; a summary (block record) has none.
    for (const auto& e : replay.entries)
        if (!e.block.empty() && sha256d_block(e.block) != e.hash) std::abort();
    // Line by line: a record that parses is its own canonical form.
    std::string_view rest = text;
    while (!rest.empty()) {
        const std::size_t nl = rest.find('\n');
        const std::string_view line = rest.substr(0, nl);
        if (auto r = sb::bridge::parse_journal_record(line, sha256d_block)) {
            if (sb::bridge::format_journal_record(*r) != line) std::abort();
        }
        if (nl == std::string_view::npos) break;
        rest.remove_prefix(nl + 1);
    }
    return 0;
}
