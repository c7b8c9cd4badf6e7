// Fuzz target: address parsing (Base58Check, Bech32/Bech32m, segwit) must never crash,
// and whatever it accepts must round-trip through its encoder.
#include <cstdlib>
#include <string>
#include <string_view>

#include "sb/core/address.hpp"
#include "sb/core/base58.hpp"
#include "sb/core/bech32.hpp"

namespace {

constexpr sb::address_format formats[] = {
    {0x00, 0x05, "bc"}, {0x6f, 0xc4, "tb"}, {0x6f, 0xc4, "bcrt"}, {60, 122, ""}, {111, 196, ""}};

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    return out;
}

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view s(reinterpret_cast<const char*>(data), size);

    if (auto b = sb::base58_decode(s, 128)) check(sb::base58_encode(*b) == s);
    if (auto b = sb::base58check_decode(s, 128)) check(sb::base58check_encode(*b) == s);

    if (auto d = sb::bech32_decode(s)) {
        auto again = sb::bech32_encode(d->hrp, d->data, d->variant);
        check(again && *again == lower(s));
        if (auto w = sb::segwit_decode(d->hrp, s)) {
            auto enc = sb::segwit_encode(d->hrp, w->version, w->program);
            check(enc && *enc == lower(s));
        }
    }

    for (const auto& fmt : formats) {
        auto r = sb::address_to_script(s, fmt);
        if (!r) continue;
        // An accepted address has a display form that parses to the same script.
        auto shown = sb::script_to_address(r->script_pubkey, fmt);
        check(static_cast<bool>(shown));
        auto again = sb::address_to_script(*shown, fmt);
        check(again && again->script_pubkey == r->script_pubkey && again->type == r->type);
        check(*shown == s || *shown == lower(s));
    }
    return 0;
}
