// A block header as the P2P wire carries it: Bitcoin's 80 bytes, or on Ravencoin the
// 76-byte prefix followed by either the X16R nonce (80 bytes, nTime before the KAWPOW
// activation time) or nHeight, nNonce64 and the mix hash (120 bytes; node.md §2.4).
//
// A KAWPOW header is held as its 80-byte KAWPOW input in `base` (nHeight in the nonce
// slot, so base.serialize() is the CKAWPOWInput) plus the 40-byte tail. Byte orders as in
// sb/core/ravencoin.hpp: mix_hash in progpow output order (reversed on the wire).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "sb/core/block.hpp"
#include "sb/core/bytes.hpp"
#include "sb/core/chain.hpp"
#include "sb/core/ravencoin.hpp"
#include "sb/core/result.hpp"

namespace sb::node::p2p {

// The part of a KAWPOW header after its 80-byte input.
struct kawpow_tail {
    std::uint64_t nonce64 = 0;
    hash256 mix_hash{};  // progpow output order
    bool operator==(const kawpow_tail&) const = default;
};

struct wire_header {
    block_header base;  // KAWPOW: base.nonce is nHeight
    bool kawpow = false;
    kawpow_tail tail;   // meaningful when kawpow

    static wire_header classic(const block_header& h) noexcept { return wire_header{h, false, {}}; }
    static wire_header from_kawpow(const ravencoin::kawpow_header& h) noexcept;
    ravencoin::kawpow_header to_kawpow() const noexcept;
    std::size_t size() const noexcept { return kawpow ? ravencoin::kawpow_header_size : block_header_size; }
    // 80 or 120 bytes as on the wire.
    void write(byte_writer& w) const;
    bytes serialize() const;

    bool operator==(const wire_header&) const = default;
};

// Reads one header at the reader's position in the layout of its algorithm, which the
// chain gives by the header's nTime (chain_params::algorithm_at): SHA-256d 80 bytes;
// KAWPOW 120 bytes (the 76-byte prefix, then the tail); X16R/X16Rv2 (Ravencoin before
// KAWPOW) header_unsupported_pow, as they cannot be checked (the reader is left past the
// 80 bytes). Errors: read_past_end (core) for short input, header_unsupported_pow.
result<wire_header> read_wire_header(byte_reader& in, const chain_params& chain);

}  // namespace sb::node::p2p
