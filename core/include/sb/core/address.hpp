// Payout addresses → scriptPubKey, per network: Base58Check (P2PKH, P2SH) and
// bech32/bech32m segwit addresses (BIP173, BIP350).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sb/core/bytes.hpp"
#include "sb/core/errors.hpp"
#include "sb/core/result.hpp"

namespace sb {

// How one network writes addresses. bech32_hrp is empty for networks without segwit
// addresses (Ravencoin).
struct address_format {
    std::uint8_t p2pkh_version;
    std::uint8_t p2sh_version;
    std::string_view bech32_hrp;
};


// Longest address text accepted (BIP173's Bech32 limit; Base58 addresses are ≤ 35 chars).
inline constexpr std::size_t max_address_chars = 90;

// The output script a payout address stands for.
struct payout_script {
    enum class kind : std::uint8_t {
        p2pkh,            // OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG
        p2sh,             // OP_HASH160 <20> OP_EQUAL
        p2wpkh,           // OP_0 <20>
        p2wsh,            // OP_0 <32>
        p2tr,             // OP_1 <32>
        witness_unknown,  // OP_1..OP_16 <2..40>, other than p2tr
    };
    bytes script_pubkey;
    kind type;
};

// "p2pkh", "p2sh", "p2wpkh", "p2wsh", "p2tr", "witness_unknown".
std::string_view to_string(payout_script::kind k) noexcept;

// The scriptPubKey that pays address on the network fmt describes. The address must be
// exact: no surrounding whitespace (callers trim). Bech32/Bech32m is tried when fmt has
// an hrp and the address starts with hrp + "1" (any case); Base58Check otherwise.
// Errors: address_empty; address_bad_length (more than max_address_chars, or a payload
// that is not 21 bytes); the Base58Check errors (address_bad_base58,
// address_bad_checksum); address_unknown_version; address_wrong_network (a version byte
// or hrp of another well-known network, or any valid Bech32 string with another hrp);
// address_not_supported (a Bech32 address on a network without segwit addresses); the
// segwit_decode errors (address_mixed_case, address_bad_bech32, address_bad_checksum,
// address_bad_witness_version, address_bad_program_length,
// address_wrong_checksum_variant, address_bad_padding).
result<payout_script> address_to_script(std::string_view address, const address_format& fmt);

// The canonical address of a standard output script on fmt's network, for display:
// Base58Check for P2PKH/P2SH, lower-case Bech32/Bech32m for witness programs.
// Errors: address_not_supported (not one of the payout_script kinds, or a witness
// program on a network without an hrp).
result<std::string> script_to_address(std::span<const std::uint8_t> script_pubkey,
                                      const address_format& fmt);

}  // namespace sb
