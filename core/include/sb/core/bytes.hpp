// Byte writer and bounded byte reader with Bitcoin's little-endian integers and CompactSize.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "sb/core/errors.hpp"
#include "sb/core/result.hpp"

namespace sb {

using bytes = std::vector<std::uint8_t>;
using byte_span = std::span<const std::uint8_t>;

// Largest size a CompactSize length may announce when reading (Core's MAX_SIZE).
inline constexpr std::uint64_t max_compact_size = 0x02000000;

inline void store_le32(std::uint8_t* p, std::uint32_t v) noexcept {
    p[0] = std::uint8_t(v); p[1] = std::uint8_t(v >> 8); p[2] = std::uint8_t(v >> 16); p[3] = std::uint8_t(v >> 24);
}
inline void store_be32(std::uint8_t* p, std::uint32_t v) noexcept {
    p[3] = std::uint8_t(v); p[2] = std::uint8_t(v >> 8); p[1] = std::uint8_t(v >> 16); p[0] = std::uint8_t(v >> 24);
}
inline std::uint32_t load_le32(const std::uint8_t* p) noexcept {
    return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 | std::uint32_t(p[3]) << 24;
}
inline std::uint32_t load_be32(const std::uint8_t* p) noexcept {
    return std::uint32_t(p[3]) | std::uint32_t(p[2]) << 8 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[0]) << 24;
}
inline std::uint64_t load_le64(const std::uint8_t* p) noexcept {
    return std::uint64_t(load_le32(p)) | std::uint64_t(load_le32(p + 4)) << 32;
}
inline void store_le64(std::uint8_t* p, std::uint64_t v) noexcept {
    store_le32(p, std::uint32_t(v)); store_le32(p + 4, std::uint32_t(v >> 32));
}

// Appends serialized fields to a byte vector.
class byte_writer {
public:
    byte_writer() = default;
    explicit byte_writer(std::size_t reserve) { buf_.reserve(reserve); }

    void u8(std::uint8_t v) { buf_.push_back(v); }
    void u16le(std::uint16_t v) { u8(std::uint8_t(v)); u8(std::uint8_t(v >> 8)); }
    void u32le(std::uint32_t v) { std::uint8_t b[4]; store_le32(b, v); raw({b, 4}); }
    void u32be(std::uint32_t v) { std::uint8_t b[4]; store_be32(b, v); raw({b, 4}); }
    void u64le(std::uint64_t v) { std::uint8_t b[8]; store_le64(b, v); raw({b, 8}); }
    void i32le(std::int32_t v) { u32le(static_cast<std::uint32_t>(v)); }
    void i64le(std::int64_t v) { u64le(static_cast<std::uint64_t>(v)); }
    // CompactSize: 1, 3, 5 or 9 bytes, shortest form.
    void compact_size(std::uint64_t v);
    void raw(byte_span b) { buf_.insert(buf_.end(), b.begin(), b.end()); }
    // CompactSize length followed by the bytes.
    void var_bytes(byte_span b) { compact_size(b.size()); raw(b); }

    const bytes& data() const noexcept { return buf_; }
    bytes& data() noexcept { return buf_; }
    bytes take() noexcept { return std::move(buf_); }
    std::size_t size() const noexcept { return buf_.size(); }

private:
    bytes buf_;
};

// Size in bytes of the CompactSize encoding of v.
constexpr std::size_t compact_size_len(std::uint64_t v) noexcept {
    return v < 0xfd ? 1 : v <= 0xffff ? 3 : v <= 0xffffffff ? 5 : 9;
}

// Reads fields from a span; never reads past its end. Every read reports read_past_end
// instead of throwing, and leaves the position unchanged on failure.
class byte_reader {
public:
    explicit byte_reader(byte_span data) noexcept : data_(data) {}

    std::size_t remaining() const noexcept { return data_.size() - pos_; }
    std::size_t position() const noexcept { return pos_; }
    bool empty() const noexcept { return remaining() == 0; }
    byte_span rest() const noexcept { return data_.subspan(pos_); }

    result<std::uint8_t> u8() noexcept;
    result<std::uint16_t> u16le() noexcept;
    result<std::uint32_t> u32le() noexcept;
    result<std::uint64_t> u64le() noexcept;
    result<std::int32_t> i32le() noexcept;
    result<std::int64_t> i64le() noexcept;
    // CompactSize; non-canonical encodings and values above max are rejected
    // (non_canonical_varint, size_too_large).
    result<std::uint64_t> compact_size(std::uint64_t max = max_compact_size) noexcept;
    // n bytes as a view into the input.
    result<byte_span> raw(std::size_t n) noexcept;
    // CompactSize length (at most max) followed by that many bytes, as a view.
    result<byte_span> var_bytes(std::uint64_t max = max_compact_size) noexcept;
    template <std::size_t N>
    result<std::array<std::uint8_t, N>> array() noexcept {
        auto r = raw(N);
        if (!r) return r.error();
        std::array<std::uint8_t, N> a;
        std::memcpy(a.data(), r->data(), N);
        return a;
    }
    std::error_code skip(std::size_t n) noexcept;

private:
    byte_span data_;
    std::size_t pos_ = 0;
};

}  // namespace sb
