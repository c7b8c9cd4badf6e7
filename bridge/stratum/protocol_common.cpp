#include "stratum/protocol_common.hpp"

#include <cmath>
#include <cstdlib>

#include "sb/core/address.hpp"
#include "sb/core/hex.hpp"

namespace sb::bridge::stratum {

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

result<bytes> username_payout_script(std::string_view username, network net) {
    const std::string_view address = username.substr(0, username.find('.'));
    auto script = address_to_script(address, params(net).address);
    if (!script) return script.error();
    return std::move(script->script_pubkey);
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
