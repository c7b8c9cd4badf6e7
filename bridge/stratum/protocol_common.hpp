// Pieces both Stratum dialects (SHA-256d: protocol.hpp, KAWPOW: kawpow_protocol.hpp) use
// to read requests: typed params, printable copies of miner-supplied text, difficulty
// values in their many spellings, the network difficulty a job's share difficulty is
// clamped to, and the solo payout of a username.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include <rapidjson/document.h>

#include "sb/config/config.hpp"
#include "sb/core/bytes.hpp"
#include "sb/core/chain.hpp"
#include "sb/core/result.hpp"
#include "sb/core/uint256.hpp"
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

// The share difficulty of a job whose network target is network_target: its
// difficulty (difficulty_1_target / target), lowered by a few ulps where needed so that
// target_from_difficulty of it is never below (harder than) network_target; a share
// that is a block then always meets it. 0 (no clamp) for a zero target.
double network_share_difficulty(const uint256& network_target) noexcept;

// The payout script of a username "ADDRESS[.worker]" for the network. Errors: those of
// address_to_script.
result<bytes> username_payout_script(std::string_view username, network net);

// How net's addresses begin, from its chain parameters, e.g. "bc1q... or 1... or 3..."
// (Bitcoin mainnet), "R... or r..." (Ravencoin mainnet).
std::string address_forms(network net);

// The authorize refusal text for a username whose address part failed to decode with
// error: what the username must be on net, with address_forms; preceded by the decoder's
// detail when the address part looks like an address (it starts like one of any network's
// forms and has an address's length and alphabet: a mistyped address, one of another
// network) rather than a plain worker name.
std::string payout_username_error(std::string_view username, network net, const std::error_code& error);

// 1..max_digits hex digits after an optional "0x"/"0X" (either case) as a big-endian
// number, left-padded. nullopt for anything else.
std::optional<std::uint64_t> parse_hex_u64(std::string_view hex, std::size_t max_digits = 16) noexcept;

}  // namespace sb::bridge::stratum
