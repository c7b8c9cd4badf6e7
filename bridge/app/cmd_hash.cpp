// `solobridge hash sha256d HEADER_HEX`: checking a share or a block header by hand.
#include <cstdio>
#include <string>

#include "commands.hpp"
#include "sb/core/hex.hpp"
#include "sb/core/sha256.hpp"

namespace sb::app {
namespace {

constexpr const char* hash_usage = "usage: solobridge hash sha256d HEADER_HEX   (80 bytes = 160 hex digits)\n";

int hash_sha256d(std::string_view hex) {
    // Pasted headers often carry a 0x prefix or surrounding whitespace; accept those only.
    while (!hex.empty() && (hex.front() == ' ' || hex.front() == '\t' || hex.front() == '\n')) hex.remove_prefix(1);
    while (!hex.empty() && (hex.back() == ' ' || hex.back() == '\t' || hex.back() == '\n' || hex.back() == '\r'))
        hex.remove_suffix(1);
    if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex.remove_prefix(2);
    auto header = from_hex_fixed<80>(hex);
    if (!header) {
        std::string why = header.error().message();
        if (header.error() == core_errc::hex_wrong_length)
            why = "expected 160 hex digits (80 bytes), got " + std::to_string(hex.size());
        std::fprintf(stderr, "solobridge hash sha256d: %s\n", why.c_str());
        return exit_usage;
    }
    const hash256 h = sha256d_header(header->data());
    std::printf("%s\n", to_hex_reversed(h).c_str());
    return exit_ok;
}

}  // namespace

int cmd_hash(args a) {
    if (a.size() != 2) {
        std::fputs(hash_usage, stderr);
        return exit_usage;
    }
    if (a[0] == "sha256d") return hash_sha256d(a[1]);
    std::fprintf(stderr, "solobridge hash: unknown algorithm '%.*s' (known: sha256d)\n", static_cast<int>(a[0].size()),
                 a[0].data());
    return exit_usage;
}

}  // namespace sb::app
