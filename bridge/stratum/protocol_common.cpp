#include "stratum/protocol_common.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "sb/core/address.hpp"
#include "sb/core/base58.hpp"
#include "sb/core/hex.hpp"
#include "sb/core/pow.hpp"

namespace sb::bridge::stratum {

namespace {

constexpr std::string_view base58_alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr std::string_view bech32_charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
// Lengths of a Base58Check P2PKH/P2SH address (25 bytes: version, 20-byte hash,
// checksum), and the shortest segwit address text (BIP173: hrp, "1", version, a
// 2-byte program and the 6-character checksum).
constexpr std::size_t min_base58_address_chars = 26;
constexpr std::size_t max_base58_address_chars = 35;
constexpr std::size_t min_bech32_data_chars = 1 + 4 + 6;

// The first characters a Base58Check address with this version byte can have: those of
// the smallest and the largest 25-byte payload, and every one between them.
std::string base58_first_chars(std::uint8_t version) {
    std::array<std::uint8_t, 25> lo{}, hi{};
    lo[0] = hi[0] = version;
    std::fill(hi.begin() + 1, hi.end(), std::uint8_t{0xff});
    const std::string a = base58_encode(lo), b = base58_encode(hi);
    if (a.size() != b.size()) return a.front() == b.front() ? std::string(1, a.front()) : std::string{a.front(), b.front()};
    const auto from = base58_alphabet.find(a.front()), to = base58_alphabet.find(b.front());
    return std::string(base58_alphabet.substr(from, to - from + 1));
}

std::vector<std::string> address_prefixes(network net) {
    const address_format& f = params(net).address;
    std::vector<std::string> out;
    if (!f.bech32_hrp.empty()) out.push_back(std::string(f.bech32_hrp) + "1q");
    for (std::uint8_t v : {f.p2pkh_version, f.p2sh_version})
        for (char c : base58_first_chars(v))
            if (std::find(out.begin(), out.end(), std::string(1, c)) == out.end()) out.emplace_back(1, c);
    return out;
}

bool all_of_charset(std::string_view s, std::string_view charset) {
    return std::all_of(s.begin(), s.end(), [&](char c) {
        return charset.find(static_cast<char>(std::tolower(static_cast<unsigned char>(c)))) != std::string_view::npos;
    });
}

// Whether text looks like an address of net (Base58Check or segwit), valid or not.
bool looks_like_address_of(std::string_view text, network net) {
    const address_format& f = params(net).address;
    if (!f.bech32_hrp.empty() && text.size() >= f.bech32_hrp.size() + 1 + min_bech32_data_chars) {
        std::string head(text.substr(0, f.bech32_hrp.size() + 1));
        for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (head == std::string(f.bech32_hrp) + "1" && all_of_charset(text.substr(head.size()), bech32_charset))
            return true;
    }
    if (text.size() < min_base58_address_chars || text.size() > max_base58_address_chars) return false;
    if (text.find_first_not_of(base58_alphabet) != std::string_view::npos) return false;
    for (std::uint8_t v : {f.p2pkh_version, f.p2sh_version})
        if (base58_first_chars(v).find(text.front()) != std::string::npos) return true;
    return false;
}

}  // namespace

std::string_view string_param(const message& m, std::size_t i) noexcept {
    const auto* v = param(m, i);
    if (v == nullptr || !v->IsString()) return {};
    return {v->GetString(), v->GetStringLength()};
}

bool is_string_param(const message& m, std::size_t i) noexcept {
    const auto* v = param(m, i);
    return v != nullptr && v->IsString();
}

std::string printable(std::string_view s, std::size_t max_chars) {
    std::string out;
    for (char c : s.substr(0, max_chars)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
    return out;
}

std::optional<double> difficulty_value(const rapidjson::Value& v) noexcept {
    double d = 0;
    if (v.IsNumber()) {
        d = v.GetDouble();
    } else if (v.IsString()) {
        const std::string s(v.GetString(), v.GetStringLength());
        char* end = nullptr;
        d = std::strtod(s.c_str(), &end);
        if (s.empty() || end != s.c_str() + s.size()) return std::nullopt;
    } else {
        return std::nullopt;
    }
    if (!std::isfinite(d) || d <= 0) return std::nullopt;
    return d;
}

std::optional<double> password_difficulty(std::string_view pass) {
    while (!pass.empty()) {
        const auto comma = pass.find(',');
        std::string_view token = pass.substr(0, comma);
        pass = comma == std::string_view::npos ? std::string_view{} : pass.substr(comma + 1);
        while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
        if (token.size() > 2 && token.substr(0, 2) == "d=") {
            rapidjson::Value v(token.data() + 2, static_cast<rapidjson::SizeType>(token.size() - 2));
            if (auto d = difficulty_value(v)) return d;
        }
    }
    return std::nullopt;
}

double network_share_difficulty(const uint256& network_target) noexcept {
    if (network_target.is_zero()) return 0;
    // difficulty_from_target rounds to a double; an ulp or two lower undoes a rounding
    // upwards (the target grows by ~2^-52 of itself per ulp, far more than one unit).
    constexpr int max_ulp_steps = 4;
    double d = difficulty_from_target(network_target);
    for (int i = 0; i < max_ulp_steps && target_from_difficulty(d) < network_target; ++i) d = std::nextafter(d, 0.0);
    return d;
}

result<bytes> username_payout_script(std::string_view username, network net) {
    const std::string_view address = username.substr(0, username.find('.'));
    auto script = address_to_script(address, params(net).address);
    if (!script) return script.error();
    return std::move(script->script_pubkey);
}

std::string address_forms(network net) {
    std::string out;
    for (const auto& p : address_prefixes(net)) out += (out.empty() ? "" : " or ") + p + "...";
    return out;
}

std::string payout_username_error(std::string_view username, network net, const std::error_code& error) {
    const std::string_view address = username.substr(0, username.find('.'));
    const std::string must = "username must be your " + std::string(params(net).name) + " payout address (" +
                             address_forms(net) + "), optionally followed by .workername";
    const auto nets = all_networks();
    const bool looks = std::any_of(nets.begin(), nets.end(),
                                   [&](const chain_params& c) { return looks_like_address_of(address, c.net); });
    if (!looks) return must;
    return "invalid payout address: " + error.message() + "; " + must;
}

std::optional<std::uint64_t> parse_hex_u64(std::string_view hex, std::size_t max_digits) noexcept {
    if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex.remove_prefix(2);
    if (hex.empty() || hex.size() > max_digits || max_digits > 16) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : hex) {
        const int d = hex_digit_value(c);
        if (d < 0) return std::nullopt;
        v = (v << 4) | static_cast<std::uint64_t>(d);
    }
    return v;
}

}  // namespace sb::bridge::stratum
