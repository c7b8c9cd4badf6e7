#include "sb/core/bech32.hpp"

#include <array>

namespace sb {
namespace {

constexpr std::string_view charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

// 5-bit value of each lower-case character, or -1 outside the charset.
constexpr std::array<std::int8_t, 128> charset_rev = [] {
    std::array<std::int8_t, 128> t{};
    t.fill(-1);
    for (std::size_t i = 0; i < charset.size(); ++i)
        t[static_cast<unsigned char>(charset[i])] = static_cast<std::int8_t>(i);
    return t;
}();

// Final checksum constants: BIP173 and BIP350.
constexpr std::uint32_t bech32_const = 1;
constexpr std::uint32_t bech32m_const = 0x2bc830a3;

constexpr std::uint32_t variant_const(bech32_variant v) noexcept {
    return v == bech32_variant::bech32 ? bech32_const : bech32m_const;
}

// The BCH code's generator step (BIP173 "Checksum"): one 5-bit value into the state.
constexpr std::uint32_t polymod_step(std::uint32_t chk, std::uint8_t v) noexcept {
    constexpr std::array<std::uint32_t, 5> gen = {0x3b6a57b2u, 0x26508e6du, 0x1ea119fau,
                                                  0x3d4233ddu, 0x2a1462b3u};
    const std::uint32_t top = chk >> 25;
    chk = ((chk & 0x1ffffffu) << 5) ^ v;
    for (unsigned i = 0; i < 5; ++i)
        if ((top >> i) & 1u) chk ^= gen[i];
    return chk;
}

constexpr char to_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; }

// Checksum state after the expanded hrp (high bits, 0, low bits) of a lower-case hrp.
std::uint32_t polymod_hrp(std::string_view hrp) noexcept {
    std::uint32_t chk = 1;
    for (char c : hrp) chk = polymod_step(chk, static_cast<std::uint8_t>(static_cast<unsigned char>(c) >> 5));
    chk = polymod_step(chk, 0);
    for (char c : hrp) chk = polymod_step(chk, static_cast<std::uint8_t>(static_cast<unsigned char>(c) & 31));
    return chk;
}

bool valid_hrp_char(char c) noexcept { return c >= 33 && c <= 126; }

}  // namespace

result<std::string> bech32_encode(std::string_view hrp, std::span<const std::uint8_t> data5,
                                  bech32_variant variant) {
    if (hrp.empty()) return core_errc::address_bad_bech32;
    if (hrp.size() + 1 + data5.size() + bech32_checksum_length > bech32_max_length)
        return core_errc::address_bad_length;
    std::string out;
    out.reserve(hrp.size() + 1 + data5.size() + bech32_checksum_length);
    for (char c : hrp) {
        if (!valid_hrp_char(c)) return core_errc::address_bad_bech32;
        out.push_back(to_lower(c));
    }
    std::uint32_t chk = polymod_hrp(std::string_view(out));
    out.push_back('1');
    for (std::uint8_t v : data5) {
        if (v >= 32) return core_errc::address_bad_bech32;
        chk = polymod_step(chk, v);
        out.push_back(charset[v]);
    }
    for (std::size_t i = 0; i < bech32_checksum_length; ++i) chk = polymod_step(chk, 0);
    chk ^= variant_const(variant);
    for (std::size_t i = 0; i < bech32_checksum_length; ++i)
        out.push_back(charset[(chk >> (5 * (bech32_checksum_length - 1 - i))) & 31]);
    return out;
}

result<bech32_decoded> bech32_decode(std::string_view s) {
    if (s.size() > bech32_max_length) return core_errc::address_bad_length;
    bool lower = false, upper = false;
    for (char c : s) {
        if (!valid_hrp_char(c)) return core_errc::address_bad_bech32;
        if (c >= 'a' && c <= 'z') lower = true;
        if (c >= 'A' && c <= 'Z') upper = true;
    }
    if (lower && upper) return core_errc::address_mixed_case;

    // The separator is the last '1': the hrp may itself contain '1's.
    const std::size_t sep = s.rfind('1');
    if (sep == std::string_view::npos || sep == 0) return core_errc::address_bad_bech32;
    if (s.size() - sep - 1 < bech32_checksum_length) return core_errc::address_bad_bech32;

    bech32_decoded d;
    d.hrp.reserve(sep);
    for (std::size_t i = 0; i < sep; ++i) d.hrp.push_back(to_lower(s[i]));
    std::uint32_t chk = polymod_hrp(d.hrp);
    d.data.reserve(s.size() - sep - 1);
    for (std::size_t i = sep + 1; i < s.size(); ++i) {
        const std::int8_t v = charset_rev[static_cast<unsigned char>(to_lower(s[i]))];
        if (v < 0) return core_errc::address_bad_bech32;
        d.data.push_back(static_cast<std::uint8_t>(v));
        chk = polymod_step(chk, static_cast<std::uint8_t>(v));
    }
    if (chk == bech32_const) {
        d.variant = bech32_variant::bech32;
    } else if (chk == bech32m_const) {
        d.variant = bech32_variant::bech32m;
    } else {
        return core_errc::address_bad_checksum;
    }
    d.data.resize(d.data.size() - bech32_checksum_length);
    return d;
}

bytes convert_8_to_5(std::span<const std::uint8_t> data) {
    bytes out;
    out.reserve((data.size() * 8 + 4) / 5);
    std::uint32_t acc = 0;
    unsigned bits = 0;
    for (std::uint8_t b : data) {
        acc = ((acc << 8) | b) & 0xfffu;
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out.push_back(static_cast<std::uint8_t>((acc >> bits) & 31));
        }
    }
    if (bits > 0) out.push_back(static_cast<std::uint8_t>((acc << (5 - bits)) & 31));
    return out;
}

result<bytes> convert_5_to_8(std::span<const std::uint8_t> data5) {
    bytes out;
    out.reserve(data5.size() * 5 / 8);
    std::uint32_t acc = 0;
    unsigned bits = 0;
    for (std::uint8_t v : data5) {
        if (v >= 32) return core_errc::address_bad_bech32;
        acc = ((acc << 5) | v) & 0xfffu;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xff));
        }
    }
    // BIP173: at most 4 bits of padding, all zero.
    if (bits >= 5 || (acc & ((1u << bits) - 1)) != 0) return core_errc::address_bad_padding;
    return out;
}

std::error_code check_segwit_program(std::uint8_t version, std::size_t program_size) noexcept {
    if (version > segwit_max_version) return core_errc::address_bad_witness_version;
    if (version == 0) {
        // BIP141: P2WPKH (20) or P2WSH (32) only.
        if (program_size != 20 && program_size != 32) return core_errc::address_bad_program_length;
    } else if (program_size < 2 || program_size > 40) {
        return core_errc::address_bad_program_length;
    }
    return {};
}

result<std::string> segwit_encode(std::string_view hrp, std::uint8_t version,
                                  std::span<const std::uint8_t> program) {
    if (auto ec = check_segwit_program(version, program.size())) return ec;
    bytes data5;
    data5.reserve(1 + (program.size() * 8 + 4) / 5);
    data5.push_back(version);
    const bytes conv = convert_8_to_5(program);
    data5.insert(data5.end(), conv.begin(), conv.end());
    return bech32_encode(hrp, data5, version == 0 ? bech32_variant::bech32 : bech32_variant::bech32m);
}

result<segwit_program> segwit_decode(std::string_view hrp, std::string_view addr) {
    auto d = bech32_decode(addr);
    if (!d) return d.error();
    if (d->hrp.size() != hrp.size()) return core_errc::address_wrong_network;
    for (std::size_t i = 0; i < hrp.size(); ++i)
        if (d->hrp[i] != to_lower(hrp[i])) return core_errc::address_wrong_network;
    // BIP173 "Empty data section": not even a witness version.
    if (d->data.empty()) return core_errc::address_bad_program_length;

    const std::uint8_t version = d->data[0];
    if (version > segwit_max_version) return core_errc::address_bad_witness_version;
    // BIP350: v0 keeps Bech32, every later version uses Bech32m.
    const bech32_variant want = version == 0 ? bech32_variant::bech32 : bech32_variant::bech32m;
    if (d->variant != want) return core_errc::address_wrong_checksum_variant;

    auto prog = convert_5_to_8(std::span<const std::uint8_t>(d->data).subspan(1));
    if (!prog) return prog.error();
    if (auto ec = check_segwit_program(version, prog->size())) return ec;
    return segwit_program{version, std::move(*prog)};
}

}  // namespace sb
