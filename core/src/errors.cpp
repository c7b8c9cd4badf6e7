#include "sb/core/errors.hpp"

namespace sb {
namespace {

class core_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "sb.core"; }
    std::string message(int ev) const override {
        switch (static_cast<core_errc>(ev)) {
        case core_errc::ok: return "ok";
        case core_errc::hex_odd_length: return "hex string has an odd number of digits";
        case core_errc::hex_bad_digit: return "hex string contains a character that is not a hex digit";
        case core_errc::hex_too_long: return "hex string is longer than allowed";
        case core_errc::hex_wrong_length: return "hex string does not have the expected length";
        case core_errc::read_past_end: return "data ends before the field it should contain";
        case core_errc::non_canonical_varint: return "CompactSize is not in its shortest encoding";
        case core_errc::size_too_large: return "size field exceeds the allowed maximum";
        case core_errc::tx_bad_witness_flag: return "transaction has a witness marker with a flag other than 1";
        case core_errc::tx_superfluous_witness: return "transaction has the witness flag but no witness data";
        case core_errc::tx_trailing_bytes: return "bytes left after the transaction";
        case core_errc::block_no_transactions: return "block has no transactions";
        case core_errc::block_trailing_bytes: return "bytes left after the block";
        case core_errc::address_empty: return "address is empty";
        case core_errc::address_bad_base58: return "address contains a character outside the Base58 alphabet";
        case core_errc::address_bad_checksum: return "address checksum does not match";
        case core_errc::address_bad_length: return "address decodes to the wrong number of bytes";
        case core_errc::address_unknown_version: return "address version byte is not one of this network's";
        case core_errc::address_mixed_case: return "bech32 address mixes upper and lower case";
        case core_errc::address_bad_bech32: return "address is not valid bech32/bech32m";
        case core_errc::address_wrong_network: return "address belongs to another network";
        case core_errc::address_bad_witness_version: return "segwit version is above 16";
        case core_errc::address_bad_program_length: return "witness program has an invalid length";
        case core_errc::address_wrong_checksum_variant:
            return "wrong checksum variant (v0 needs bech32, v1 and above need bech32m)";
        case core_errc::address_not_supported: return "this network has no such address type";
        case core_errc::address_bad_padding:
            return "bech32 data has more than 4 padding bits or non-zero padding (BIP173)";
        }
        return "unknown core error";
    }
};

}  // namespace

const std::error_category& core_category() noexcept {
    static const core_category_impl cat;
    return cat;
}

}  // namespace sb
