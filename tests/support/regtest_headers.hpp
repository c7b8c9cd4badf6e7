// Regtest block headers for tests and benchmarks that need valid proof of work: the nonce
// is ground until the header meets its bits (207fffff by default: a few tries).
#pragma once

#include <cstdint>

#include "sb/core/block.hpp"
#include "sb/core/chain.hpp"
#include "sb/core/pow.hpp"

namespace sb::test {

// A header on prev at time with the given bits; salt (in the merkle root) makes siblings
// with the same prev and time differ.
inline block_header mine_regtest_header(const hash256& prev, std::uint32_t time, std::uint32_t bits = 0x207fffff,
                                        std::uint32_t salt = 0) {
    block_header h;
    h.version = 0x20000000;
    h.prev_block = prev;
    h.merkle_root[0] = static_cast<std::uint8_t>(salt);
    h.merkle_root[1] = static_cast<std::uint8_t>(salt >> 8);
    h.time = time;
    h.bits = bits;
    const uint256& limit = params(network::bitcoin_regtest).pow_limit;
    while (!check_proof_of_work(h.hash(), h.bits, limit)) ++h.nonce;
    return h;
}

}  // namespace sb::test
