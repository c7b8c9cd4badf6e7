// Every consumer's slice of the nonce space (DESIGN.md §1): a value of a fixed number of
// bytes, unique among live consumers, handed out big-endian as its extranonce1 (the
// coinbase's extranonce1 on SHA-256d chains, the top bytes of the 64-bit nonce on KAWPOW).
// No two consumers ever hash the same header.
//
// Not thread-safe: the dispatcher holds its lock around every call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_set>

#include "sb/core/bytes.hpp"

namespace sb::bridge {

class extranonce_space {
public:
    // bytes: 1 to 4. The first value is random, so a miner reconnecting with an extranonce1
    // of a previous run is unlikely to meet this run's.
    explicit extranonce_space(std::size_t bytes);

    // A value no live consumer holds, big-endian; nullopt when every one is live
    // (256^bytes consumers). Ends after few steps: live values are a sparse subset.
    std::optional<bytes> allocate();
    // Frees a value allocate() returned; anything else is ignored.
    void release(byte_span extranonce1);
    std::size_t live() const noexcept { return live_.size(); }
    std::size_t width() const noexcept { return bytes_; }

private:
    std::size_t bytes_;
    std::uint64_t space_;
    std::uint64_t next_;
    std::unordered_set<std::uint32_t> live_;
};

}  // namespace sb::bridge
