// `solobridge hash sha256d HEADER_HEX`: checking a share or a block header by hand.
// `solobridge hash kawpow --height H --header-hash HEX --nonce HEX16`: a KAWPOW share by hand.
#include <charconv>
#include <cstdio>
#include <string>

#include "commands.hpp"
#include "sb/core/hex.hpp"
#include "sb/core/sha256.hpp"
#include "sb/pow/ethash.hpp"
#include "sb/pow/kawpow.hpp"

namespace sb::app {
namespace {

std::string_view strip_0x(std::string_view hex) {
    if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex.remove_prefix(2);
    return hex;
}

int kawpow_usage_error(const std::string& why) {
    std::fprintf(stderr, "solobridge hash kawpow: %s\n", why.c_str());
    return exit_usage;
}

// Hex conventions of tests/vectors/kawpow.json: header hash as progpow reads it (the RPC
// pprpcheader / Stratum hex), nonce as the big-endian rendering of the u64, outputs in
// byte order.
int hash_kawpow(args a) {
    std::string_view height_s, header_s, nonce_s;
    bool have_height = false, have_header = false, have_nonce = false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (i + 1 >= a.size()) return kawpow_usage_error("missing value after '" + std::string(a[i]) + "'");
        if (a[i] == "--height") {
            height_s = a[++i];
            have_height = true;
        } else if (a[i] == "--header-hash") {
            header_s = a[++i];
            have_header = true;
        } else if (a[i] == "--nonce") {
            nonce_s = a[++i];
            have_nonce = true;
        } else {
            return kawpow_usage_error("unknown option '" + std::string(a[i]) + "'");
        }
    }
    if (!have_height || !have_header || !have_nonce)
        return kawpow_usage_error("--height, --header-hash and --nonce are all required");

    std::uint64_t height = 0;
    const auto [hend, hec] = std::from_chars(height_s.data(), height_s.data() + height_s.size(), height);
    if (hec != std::errc{} || hend != height_s.data() + height_s.size() || height_s.empty())
        return kawpow_usage_error("--height must be a decimal block height, got '" + std::string(height_s) + "'");
    if (sb::pow::ethash::epoch_number(height) > sb::pow::ethash::max_epoch)
        return kawpow_usage_error("--height beyond the last ethash epoch (" +
                                  std::to_string(sb::pow::ethash::max_epoch) + ")");

    header_s = strip_0x(header_s);
    const auto header = from_hex_fixed<32>(header_s);
    if (!header)
        return kawpow_usage_error("--header-hash must be 64 hex digits (32 bytes), got '" + std::string(header_s) + "'");

    nonce_s = strip_0x(nonce_s);
    const auto nonce_bytes = from_hex_fixed<8>(nonce_s);
    if (!nonce_bytes)
        return kawpow_usage_error("--nonce must be 16 hex digits (a big-endian u64), got '" + std::string(nonce_s) + "'");
    std::uint64_t nonce = 0;
    for (const std::uint8_t b : *nonce_bytes) nonce = (nonce << 8) | b;

    const auto ctx = sb::pow::ethash::global_epoch_cache().get(sb::pow::ethash::epoch_number(height));
    const auto r = sb::pow::kawpow::hash(*ctx, height, *header, nonce);
    std::printf("mix_hash %s\nfinal_hash %s\n", to_hex(r.mix_hash).c_str(), to_hex(r.final_hash).c_str());
    return exit_ok;
}

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

int run_hash(args a) {
    if (!a.empty() && a[0] == "kawpow") return hash_kawpow(a.subspan(1));
    if (a.size() != 2) {
        print_usage(hash_command, stderr);
        return exit_usage;
    }
    if (a[0] == "sha256d") return hash_sha256d(a[1]);
    std::fprintf(stderr, "solobridge hash: unknown algorithm '%.*s' (known: sha256d, kawpow)\n", static_cast<int>(a[0].size()),
                 a[0].data());
    return exit_usage;
}

}  // namespace

const command hash_command{
    "hash",
    "hash a block header (sha256d) or a KAWPOW share by hand",
    "usage: solobridge hash sha256d HEADER_HEX\n"
    "       solobridge hash kawpow --height H --header-hash HEX64 --nonce HEX16\n"
    "\n"
    "sha256d: HEADER_HEX is an 80-byte header (160 hex digits, 0x prefix allowed); prints its\n"
    "         block hash in display order.\n"
    "kawpow:  H is the block height (decimal), HEX64 the header hash as RPCs and Stratum show\n"
    "         it, HEX16 the 64-bit nonce (big-endian); prints mix_hash and final_hash.\n"
    "Exit status 0, or 2 for malformed input.\n",
    false,
    run_hash,
};

}  // namespace sb::app
