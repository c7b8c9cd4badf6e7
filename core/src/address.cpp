#include "sb/core/address.hpp"

#include <algorithm>
#include <array>

#include "sb/core/base58.hpp"
#include "sb/core/bech32.hpp"

namespace sb {
namespace {

constexpr std::uint8_t op_0 = 0x00;
constexpr std::uint8_t op_1 = 0x51;
constexpr std::uint8_t op_16 = 0x60;
constexpr std::uint8_t op_dup = 0x76;
constexpr std::uint8_t op_hash160 = 0xa9;
constexpr std::uint8_t op_equal = 0x87;
constexpr std::uint8_t op_equalverify = 0x88;
constexpr std::uint8_t op_checksig = 0xac;

constexpr std::size_t hash160_bytes = 20;
// Version byte plus hash160.
constexpr std::size_t base58_payload_bytes = 1 + hash160_bytes;

// Hrps of the well-known networks (Bitcoin mainnet, testnets and signet, regtest): a
// non-Base58 address starting with one of these on another network is "wrong network",
// even when its checksum is broken too.
constexpr std::array<std::string_view, 3> known_hrps = {"bc", "tb", "bcrt"};
// Base58 version bytes of the well-known networks: Bitcoin mainnet (0x00, 0x05), Bitcoin
// test networks and Ravencoin testnet/regtest (0x6f, 0xc4), Ravencoin mainnet (60, 122).
constexpr std::array<std::uint8_t, 6> known_versions = {0x00, 0x05, 0x6f, 0xc4, 60, 122};

// True when s starts with hrp followed by the separator '1', ignoring ASCII case.
bool has_hrp_prefix(std::string_view s, std::string_view hrp) noexcept {
    if (hrp.empty() || s.size() <= hrp.size()) return false;
    for (std::size_t i = 0; i < hrp.size(); ++i) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
        char h = hrp[i];
        if (h >= 'A' && h <= 'Z') h = char(h - 'A' + 'a');
        if (c != h) return false;
    }
    return s[hrp.size()] == '1';
}

payout_script witness_script(const segwit_program& w) {
    payout_script out;
    out.script_pubkey.reserve(2 + w.program.size());
    out.script_pubkey.push_back(w.version == 0 ? op_0 : static_cast<std::uint8_t>(op_1 - 1 + w.version));
    // Programs are 2..40 bytes: a direct push whose opcode is the length.
    out.script_pubkey.push_back(static_cast<std::uint8_t>(w.program.size()));
    out.script_pubkey.insert(out.script_pubkey.end(), w.program.begin(), w.program.end());
    if (w.version == 0) {
        out.type = w.program.size() == 20 ? payout_script::kind::p2wpkh : payout_script::kind::p2wsh;
    } else if (w.version == 1 && w.program.size() == 32) {
        out.type = payout_script::kind::p2tr;
    } else {
        out.type = payout_script::kind::witness_unknown;
    }
    return out;
}

payout_script hash_script(payout_script::kind k, std::span<const std::uint8_t> hash) {
    payout_script out;
    out.type = k;
    auto& s = out.script_pubkey;
    if (k == payout_script::kind::p2pkh) {
        s = {op_dup, op_hash160, std::uint8_t(hash160_bytes)};
        s.insert(s.end(), hash.begin(), hash.end());
        s.push_back(op_equalverify);
        s.push_back(op_checksig);
    } else {
        s = {op_hash160, std::uint8_t(hash160_bytes)};
        s.insert(s.end(), hash.begin(), hash.end());
        s.push_back(op_equal);
    }
    return out;
}

// The error for a Bech32 address whose hrp is not fmt's.
core_errc foreign_bech32(const address_format& fmt) noexcept {
    return fmt.bech32_hrp.empty() ? core_errc::address_not_supported : core_errc::address_wrong_network;
}

}  // namespace

std::string_view to_string(payout_script::kind k) noexcept {
    switch (k) {
    case payout_script::kind::p2pkh: return "p2pkh";
    case payout_script::kind::p2sh: return "p2sh";
    case payout_script::kind::p2wpkh: return "p2wpkh";
    case payout_script::kind::p2wsh: return "p2wsh";
    case payout_script::kind::p2tr: return "p2tr";
    case payout_script::kind::witness_unknown: return "witness_unknown";
    }
    return "unknown";
}

result<payout_script> address_to_script(std::string_view address, const address_format& fmt) {
    if (address.empty()) return core_errc::address_empty;
    if (address.size() > max_address_chars) return core_errc::address_bad_length;

    if (has_hrp_prefix(address, fmt.bech32_hrp)) {
        auto w = segwit_decode(fmt.bech32_hrp, address);
        if (!w) return w.error();
        return witness_script(*w);
    }
    auto payload = base58check_decode(address, base58_payload_bytes);
    if (!payload) {
        // Not Base58Check. A segwit address of another network deserves a clearer error
        // than "bad Base58": a well-known hrp, or any string with a valid Bech32 checksum.
        for (std::string_view hrp : known_hrps)
            if (has_hrp_prefix(address, hrp)) return foreign_bech32(fmt);
        if (bech32_decode(address)) return foreign_bech32(fmt);
        return payload.error();
    }
    if (payload->size() != base58_payload_bytes) return core_errc::address_bad_length;
    const std::uint8_t version = (*payload)[0];
    const std::span<const std::uint8_t> hash(payload->data() + 1, hash160_bytes);
    if (version == fmt.p2pkh_version) return hash_script(payout_script::kind::p2pkh, hash);
    if (version == fmt.p2sh_version) return hash_script(payout_script::kind::p2sh, hash);
    if (std::find(known_versions.begin(), known_versions.end(), version) != known_versions.end())
        return core_errc::address_wrong_network;
    return core_errc::address_unknown_version;
}

result<std::string> script_to_address(std::span<const std::uint8_t> s, const address_format& fmt) {
    if (s.size() == 25 && s[0] == op_dup && s[1] == op_hash160 && s[2] == hash160_bytes &&
        s[23] == op_equalverify && s[24] == op_checksig) {
        std::array<std::uint8_t, base58_payload_bytes> p{};
        p[0] = fmt.p2pkh_version;
        std::copy(s.begin() + 3, s.begin() + 23, p.begin() + 1);
        return base58check_encode(p);
    }
    if (s.size() == 23 && s[0] == op_hash160 && s[1] == hash160_bytes && s[22] == op_equal) {
        std::array<std::uint8_t, base58_payload_bytes> p{};
        p[0] = fmt.p2sh_version;
        std::copy(s.begin() + 2, s.begin() + 22, p.begin() + 1);
        return base58check_encode(p);
    }
    // Witness program (BIP141): a version opcode, then one direct push of 2..40 bytes.
    if (s.size() >= 4 && s.size() <= 42 && (s[0] == op_0 || (s[0] >= op_1 && s[0] <= op_16)) &&
        std::size_t(s[1]) + 2 == s.size()) {
        if (fmt.bech32_hrp.empty()) return core_errc::address_not_supported;
        const std::uint8_t version = s[0] == op_0 ? 0 : static_cast<std::uint8_t>(s[0] - op_1 + 1);
        if (check_segwit_program(version, s.size() - 2)) return core_errc::address_not_supported;
        return segwit_encode(fmt.bech32_hrp, version, s.subspan(2));
    }
    return core_errc::address_not_supported;
}

}  // namespace sb
