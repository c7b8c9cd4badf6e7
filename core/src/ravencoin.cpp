// Ravencoin KAWPOW header serialization (Ravencoin src/primitives/block.h, CBlockHeader
// SerializationOp with nTime >= nKAWPOWActivationTime; CKAWPOWInput).
#include "sb/core/ravencoin.hpp"

#include <algorithm>
#include <cstring>

#include "sb/core/bytes.hpp"

namespace sb::ravencoin {

std::array<std::uint8_t, kawpow_input_size> kawpow_header::serialize_input() const noexcept {
    std::array<std::uint8_t, kawpow_input_size> out{};
    store_le32(out.data(), static_cast<std::uint32_t>(version));
    std::memcpy(out.data() + 4, prev_block.data(), 32);
    std::memcpy(out.data() + 36, merkle_root.data(), 32);
    store_le32(out.data() + 68, time);
    store_le32(out.data() + 72, bits);
    store_le32(out.data() + 76, height);
    return out;
}

hash256 kawpow_header_hash(std::span<const std::uint8_t, kawpow_input_size> input) noexcept {
    hash256 h = sha256d(input);
    std::reverse(h.begin(), h.end());
    return h;
}

hash256 kawpow_header::header_hash() const noexcept {
    const auto input = serialize_input();
    return kawpow_header_hash(input);
}

std::array<std::uint8_t, kawpow_header_size> kawpow_header::serialize() const noexcept {
    std::array<std::uint8_t, kawpow_header_size> out{};
    const auto input = serialize_input();
    std::memcpy(out.data(), input.data(), input.size());
    store_le64(out.data() + 80, nonce64);
    std::reverse_copy(mix_hash.begin(), mix_hash.end(), out.begin() + 88);
    return out;
}

kawpow_header parse_kawpow_header(std::span<const std::uint8_t, kawpow_header_size> data) noexcept {
    kawpow_header h;
    h.version = static_cast<std::int32_t>(load_le32(data.data()));
    std::memcpy(h.prev_block.data(), data.data() + 4, 32);
    std::memcpy(h.merkle_root.data(), data.data() + 36, 32);
    h.time = load_le32(data.data() + 68);
    h.bits = load_le32(data.data() + 72);
    h.height = load_le32(data.data() + 76);
    h.nonce64 = load_le64(data.data() + 80);
    std::reverse_copy(data.begin() + 88, data.end(), h.mix_hash.begin());
    return h;
}

}  // namespace sb::ravencoin
