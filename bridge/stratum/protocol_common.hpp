// Pieces both Stratum dialects (SHA-256d: protocol.hpp, KAWPOW: kawpow_protocol.hpp) use
// to read requests: typed params, printable copies of miner-supplied text, difficulty
// values in their many spellings, and the solo payout of a username.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "sb/config/config.hpp"
#include "sb/core/bytes.hpp"
#include "sb/core/chain.hpp"
#include "sb/core/result.hpp"
#include "stratum/codec.hpp"

namespace sb::bridge::stratum {

// params[i] as a string view ("" when absent or not a string).
std::string_view string_param(const message& m, std::size_t i) noexcept;
bool is_string_param(const message& m, std::size_t i) noexcept;

// At most max_chars of s, every byte outside printable ASCII replaced by '?'.
std::string printable(std::string_view s, std::size_t max_chars);

// A positive finite difficulty from a number or a numeric string; nullopt otherwise
// (NaN, infinities, zero, negatives, text).
std::optional<double> difficulty_value(const rapidjson::Value& v) noexcept;

// "d=N" among comma-separated password tokens ("x,d=512", "d=0.001").
std::optional<double> password_difficulty(std::string_view pass);

// The payout script of a username "ADDRESS[.worker]" for the network. Errors: those of
// address_to_script.
result<bytes> username_payout_script(std::string_view username, network net);

// 1..max_digits hex digits after an optional "0x"/"0X" (either case) as a big-endian
// number, left-padded. nullopt for anything else.
std::optional<std::uint64_t> parse_hex_u64(std::string_view hex, std::size_t max_digits = 16) noexcept;

}  // namespace sb::bridge::stratum
