#include "sb/core/bytes.hpp"

namespace sb {

void byte_writer::compact_size(std::uint64_t v) {
    if (v < 0xfd) {
        u8(std::uint8_t(v));
    } else if (v <= 0xffff) {
        u8(0xfd);
        u16le(std::uint16_t(v));
    } else if (v <= 0xffffffff) {
        u8(0xfe);
        u32le(std::uint32_t(v));
    } else {
        u8(0xff);
        u64le(v);
    }
}

result<byte_span> byte_reader::raw(std::size_t n) noexcept {
    if (n > remaining()) return core_errc::read_past_end;
    byte_span s = data_.subspan(pos_, n);
    pos_ += n;
    return s;
}

std::error_code byte_reader::skip(std::size_t n) noexcept {
    if (n > remaining()) return core_errc::read_past_end;
    pos_ += n;
    return {};
}

result<std::uint8_t> byte_reader::u8() noexcept {
    if (remaining() < 1) return core_errc::read_past_end;
    return data_[pos_++];
}

result<std::uint16_t> byte_reader::u16le() noexcept {
    if (remaining() < 2) return core_errc::read_past_end;
    std::uint16_t v = std::uint16_t(data_[pos_] | data_[pos_ + 1] << 8);
    pos_ += 2;
    return v;
}

result<std::uint32_t> byte_reader::u32le() noexcept {
    if (remaining() < 4) return core_errc::read_past_end;
    std::uint32_t v = load_le32(data_.data() + pos_);
    pos_ += 4;
    return v;
}

result<std::uint64_t> byte_reader::u64le() noexcept {
    if (remaining() < 8) return core_errc::read_past_end;
    std::uint64_t v = load_le64(data_.data() + pos_);
    pos_ += 8;
    return v;
}

result<std::int32_t> byte_reader::i32le() noexcept {
    auto r = u32le();
    if (!r) return r.error();
    return static_cast<std::int32_t>(*r);
}

result<std::int64_t> byte_reader::i64le() noexcept {
    auto r = u64le();
    if (!r) return r.error();
    return static_cast<std::int64_t>(*r);
}

result<std::uint64_t> byte_reader::compact_size(std::uint64_t max) noexcept {
    const std::size_t start = pos_;
    auto first = u8();
    if (!first) return first.error();
    std::uint64_t v = *first;
    std::uint64_t min = 0;
    if (*first == 0xfd) {
        auto r = u16le();
        if (!r) { pos_ = start; return r.error(); }
        v = *r; min = 0xfd;
    } else if (*first == 0xfe) {
        auto r = u32le();
        if (!r) { pos_ = start; return r.error(); }
        v = *r; min = 0x10000;
    } else if (*first == 0xff) {
        auto r = u64le();
        if (!r) { pos_ = start; return r.error(); }
        v = *r; min = 0x100000000ull;
    }
    if (v < min) { pos_ = start; return core_errc::non_canonical_varint; }
    if (v > max) { pos_ = start; return core_errc::size_too_large; }
    return v;
}

result<byte_span> byte_reader::var_bytes(std::uint64_t max) noexcept {
    const std::size_t start = pos_;
    auto n = compact_size(max);
    if (!n) return n.error();
    auto r = raw(static_cast<std::size_t>(*n));
    if (!r) pos_ = start;
    return r;
}

}  // namespace sb
