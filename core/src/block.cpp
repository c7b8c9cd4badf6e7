#include "sb/core/block.hpp"

#include <algorithm>

namespace sb {

std::array<std::uint8_t, block_header_size> block_header::serialize() const noexcept {
    std::array<std::uint8_t, block_header_size> out;
    store_le32(out.data(), static_cast<std::uint32_t>(version));
    std::copy(prev_block.begin(), prev_block.end(), out.begin() + 4);
    std::copy(merkle_root.begin(), merkle_root.end(), out.begin() + 36);
    store_le32(out.data() + 68, time);
    store_le32(out.data() + 72, bits);
    store_le32(out.data() + 76, nonce);
    return out;
}

hash256 block_header::hash() const noexcept {
    const auto raw = serialize();
    return sha256d_header(raw.data());
}

block_header parse_header(std::span<const std::uint8_t, block_header_size> data) noexcept {
    block_header h;
    h.version = static_cast<std::int32_t>(load_le32(data.data()));
    std::copy(data.begin() + 4, data.begin() + 36, h.prev_block.begin());
    std::copy(data.begin() + 36, data.begin() + 68, h.merkle_root.begin());
    h.time = load_le32(data.data() + 68);
    h.bits = load_le32(data.data() + 72);
    h.nonce = load_le32(data.data() + 76);
    return h;
}

result<block_header> parse_header(byte_reader& in) noexcept {
    auto raw = in.raw(block_header_size);
    if (!raw) return raw.error();
    return parse_header(raw->first<block_header_size>());
}

result<block> parse_block(byte_span data) {
    byte_reader r(data);
    block b;
    auto header = parse_header(r);
    if (!header) return header.error();
    b.header = *header;
    auto n = r.compact_size();
    if (!n) return n.error();
    if (*n == 0) return core_errc::block_no_transactions;
    if (*n > r.remaining() / min_tx_bytes) return core_errc::read_past_end;
    b.txs.reserve(static_cast<std::size_t>(*n));
    for (std::uint64_t i = 0; i < *n; ++i) {
        auto tx = parse_transaction(r);
        if (!tx) return tx.error();
        b.txs.push_back(std::move(*tx));
    }
    if (!r.empty()) return core_errc::block_trailing_bytes;
    return b;
}

bytes serialize_block(const block& b, bool with_witness) {
    std::size_t size = block_header_size + compact_size_len(b.txs.size());
    for (const transaction& tx : b.txs) size += serialized_size(tx, with_witness);
    byte_writer out(size);
    const auto header = b.header.serialize();
    // assign() rather than raw(): GCC 12 warns falsely (-Wstringop-overflow) about
    // insert's reallocation path into the just-reserved buffer.
    out.data().assign(header.begin(), header.end());
    out.compact_size(b.txs.size());
    for (const transaction& tx : b.txs) serialize(out, tx, with_witness);
    return out.take();
}

}  // namespace sb
