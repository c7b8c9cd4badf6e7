#include "sb/node/p2p/message.hpp"

#include <algorithm>
#include <cstring>

namespace sb::node::p2p {
namespace {

constexpr std::size_t inventory_bytes = 36;
constexpr std::size_t headers_entry_min_bytes = block_header_size + 1;

bool printable(std::uint8_t c) noexcept { return c >= 0x20 && c <= 0x7e; }

std::error_code malformed() noexcept { return make_error_code(p2p_errc::malformed_payload); }

void write_address(byte_writer& w, const net_address& a) {
    w.u64le(a.services);
    w.raw(a.ip);
    w.u8(std::uint8_t(a.port >> 8));
    w.u8(std::uint8_t(a.port));
}

bool read_address(byte_reader& in, net_address& a) {
    auto services = in.u64le();
    auto ip = in.array<16>();
    auto port = in.array<2>();
    if (!services || !ip || !port) return false;
    a.services = *services;
    a.ip = *ip;
    a.port = std::uint16_t((*port)[0] << 8 | (*port)[1]);
    return true;
}

}  // namespace

std::array<std::uint8_t, 4> payload_checksum(byte_span payload) noexcept {
    const hash256 h = sha256d(payload);
    return {h[0], h[1], h[2], h[3]};
}

std::array<std::uint8_t, frame_header_bytes> encode_frame_header(const magic_bytes& magic, std::string_view command,
                                                                 byte_span payload) noexcept {
    std::array<std::uint8_t, frame_header_bytes> h{};
    std::memcpy(h.data(), magic.data(), magic.size());
    std::memcpy(h.data() + magic.size(), command.data(), std::min(command.size(), command_bytes));
    const auto n = static_cast<std::uint32_t>(payload.size());
    for (std::size_t i = 0; i < 4; ++i) h[magic.size() + command_bytes + i] = static_cast<std::uint8_t>(n >> (8 * i));
    const auto sum = payload_checksum(payload);
    std::memcpy(h.data() + magic.size() + command_bytes + 4, sum.data(), sum.size());
    return h;
}

bytes encode_frame(const magic_bytes& magic, std::string_view command, byte_span payload) {
    const auto header = encode_frame_header(magic, command, payload);
    bytes frame(header.size() + payload.size());
    std::memcpy(frame.data(), header.data(), header.size());
    // An empty payload's data may be null, which memcpy must not be given even for 0 bytes.
    if (!payload.empty()) std::memcpy(frame.data() + header.size(), payload.data(), payload.size());
    return frame;
}

void frame_decoder::feed(byte_span data) {
    if (failed_) return;
    // Drop consumed bytes before growing, so the buffer holds one partial frame at most
    // plus what was just fed.
    if (pos_ > 0 && (pos_ == buf_.size() || pos_ >= buf_.size() / 2)) {
        buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
        pos_ = 0;
    }
    buf_.insert(buf_.end(), data.begin(), data.end());
}

result<std::optional<frame>> frame_decoder::next() {
    if (failed_) return failed_;
    const std::size_t avail = buf_.size() - pos_;
    const std::uint8_t* p = buf_.data() + pos_;
    // Check what we can as soon as the bytes are here: a wrong magic is reported before
    // the rest of the header arrives.
    const std::size_t magic_have = std::min(avail, magic_.size());
    if (!std::equal(p, p + magic_have, magic_.begin())) return failed_ = make_error_code(p2p_errc::bad_magic);
    if (avail < frame_header_bytes) return std::optional<frame>{};

    const std::uint8_t* name = p + 4;
    std::size_t len = 0;
    while (len < command_bytes && name[len] != 0) {
        if (!printable(name[len])) return failed_ = make_error_code(p2p_errc::bad_command);
        ++len;
    }
    if (len == 0) return failed_ = make_error_code(p2p_errc::bad_command);
    for (std::size_t i = len; i < command_bytes; ++i)
        if (name[i] != 0) return failed_ = make_error_code(p2p_errc::bad_command);

    const std::uint32_t size = load_le32(p + 16);
    if (size > max_payload_) return failed_ = make_error_code(p2p_errc::oversize);
    if (avail < frame_header_bytes + size) return std::optional<frame>{};

    const byte_span payload(p + frame_header_bytes, size);
    const auto sum = payload_checksum(payload);
    if (!std::equal(sum.begin(), sum.end(), p + 20)) return failed_ = make_error_code(p2p_errc::bad_checksum);

    frame f;
    f.command.assign(reinterpret_cast<const char*>(name), len);
    f.payload.assign(payload.begin(), payload.end());
    pos_ += frame_header_bytes + size;
    return std::optional<frame>(std::move(f));
}

net_address net_address::ipv4(std::uint32_t ipv4_host_order, std::uint16_t port, std::uint64_t services) noexcept {
    net_address a;
    a.services = services;
    a.ip[10] = 0xff;
    a.ip[11] = 0xff;
    store_be32(a.ip.data() + 12, ipv4_host_order);
    a.port = port;
    return a;
}

bytes serialize(const version_message& v) {
    byte_writer w(128);
    w.i32le(v.version);
    w.u64le(v.services);
    w.i64le(v.timestamp);
    write_address(w, v.addr_recv);
    write_address(w, v.addr_from);
    w.u64le(v.nonce);
    const std::size_t ua_len = std::min(v.user_agent.size(), max_user_agent_bytes);
    w.var_bytes({reinterpret_cast<const std::uint8_t*>(v.user_agent.data()), ua_len});
    w.i32le(v.start_height);
    w.u8(v.relay ? 1 : 0);
    return w.take();
}

result<version_message> parse_version(byte_span payload) {
    byte_reader in(payload);
    version_message v;
    auto version = in.i32le();
    auto services = in.u64le();
    auto timestamp = in.i64le();
    if (!version || !services || !timestamp) return malformed();
    v.version = *version;
    v.services = *services;
    v.timestamp = *timestamp;
    if (!read_address(in, v.addr_recv) || !read_address(in, v.addr_from)) return malformed();
    auto nonce = in.u64le();
    if (!nonce) return malformed();
    v.nonce = *nonce;
    auto ua_len = in.compact_size();
    if (!ua_len) return malformed();
    if (*ua_len > max_user_agent_bytes) return make_error_code(p2p_errc::bad_user_agent);
    auto ua = in.raw(static_cast<std::size_t>(*ua_len));
    auto height = in.i32le();
    if (!ua || !height) return malformed();
    v.user_agent.assign(reinterpret_cast<const char*>(ua->data()), ua->size());
    v.start_height = *height;
    if (!in.empty()) v.relay = *in.u8() != 0;
    return v;
}

bytes serialize_ping(std::uint64_t nonce) {
    byte_writer w(8);
    w.u64le(nonce);
    return w.take();
}

result<std::uint64_t> parse_ping(byte_span payload) {
    if (payload.size() != 8) return malformed();
    return load_le64(payload.data());
}

bytes serialize(const sendcmpct_message& m) {
    byte_writer w(9);
    w.u8(m.announce ? 1 : 0);
    w.u64le(m.version);
    return w.take();
}

result<sendcmpct_message> parse_sendcmpct(byte_span payload) {
    if (payload.size() != 9 || payload[0] > 1) return malformed();
    return sendcmpct_message{payload[0] == 1, load_le64(payload.data() + 1)};
}

bytes serialize(const getheaders_message& m) {
    byte_writer w(4 + 3 + 32 * (m.locator.size() + 1));
    w.u32le(m.version);
    w.compact_size(m.locator.size());
    for (const hash256& h : m.locator) w.raw(h);
    w.raw(m.hash_stop);
    return w.take();
}

result<getheaders_message> parse_getheaders(byte_span payload) {
    byte_reader in(payload);
    getheaders_message m;
    auto version = in.u32le();
    auto n = in.compact_size();
    if (!version || !n) return malformed();
    if (*n > max_locator_entries) return make_error_code(p2p_errc::locator_too_large);
    m.version = *version;
    m.locator.reserve(static_cast<std::size_t>(*n));
    for (std::uint64_t i = 0; i < *n; ++i) {
        auto h = in.array<32>();
        if (!h) return malformed();
        m.locator.push_back(*h);
    }
    auto stop = in.array<32>();
    if (!stop || !in.empty()) return malformed();
    m.hash_stop = *stop;
    return m;
}

bytes serialize_headers(std::span<const block_header> headers) {
    byte_writer w(3 + headers.size() * headers_entry_min_bytes);
    w.compact_size(headers.size());
    for (const block_header& h : headers) {
        w.raw(h.serialize());
        w.u8(0);
    }
    return w.take();
}

result<std::vector<block_header>> parse_headers(byte_span payload) {
    byte_reader in(payload);
    auto n = in.compact_size();
    if (!n) return malformed();
    if (*n > max_headers_per_message) return make_error_code(p2p_errc::too_many_headers);
    if (*n * headers_entry_min_bytes > in.remaining()) return malformed();
    std::vector<block_header> out;
    out.reserve(static_cast<std::size_t>(*n));
    for (std::uint64_t i = 0; i < *n; ++i) {
        auto h = parse_header(in);
        auto txs = in.compact_size();
        if (!h || !txs || *txs != 0) return malformed();
        out.push_back(*h);
    }
    if (!in.empty()) return malformed();
    return out;
}

bytes serialize_inv(std::span<const inventory> items) {
    byte_writer w(3 + items.size() * inventory_bytes);
    w.compact_size(items.size());
    for (const inventory& i : items) {
        w.u32le(i.type);
        w.raw(i.hash);
    }
    return w.take();
}

result<std::vector<inventory>> parse_inv(byte_span payload) {
    byte_reader in(payload);
    auto n = in.compact_size();
    if (!n) return malformed();
    if (*n > max_inv_entries) return make_error_code(p2p_errc::too_many_inv);
    if (*n * inventory_bytes != in.remaining()) return malformed();
    std::vector<inventory> out(static_cast<std::size_t>(*n));
    for (inventory& i : out) {
        i.type = *in.u32le();
        i.hash = *in.array<32>();
    }
    return out;
}

wire_header wire_header::from_kawpow(const ravencoin::kawpow_header& h) noexcept {
    wire_header w;
    w.base.version = h.version;
    w.base.prev_block = h.prev_block;
    w.base.merkle_root = h.merkle_root;
    w.base.time = h.time;
    w.base.bits = h.bits;
    w.base.nonce = h.height;
    w.kawpow = true;
    w.tail = kawpow_tail{h.nonce64, h.mix_hash};
    return w;
}

ravencoin::kawpow_header wire_header::to_kawpow() const noexcept {
    ravencoin::kawpow_header h;
    h.version = base.version;
    h.prev_block = base.prev_block;
    h.merkle_root = base.merkle_root;
    h.time = base.time;
    h.bits = base.bits;
    h.height = base.nonce;
    h.nonce64 = tail.nonce64;
    h.mix_hash = tail.mix_hash;
    return h;
}

void wire_header::write(byte_writer& w) const {
    if (kawpow) {
        w.raw(to_kawpow().serialize());
    } else {
        w.raw(base.serialize());
    }
}

bytes wire_header::serialize() const {
    byte_writer w(size());
    write(w);
    return w.take();
}

result<wire_header> read_wire_header(byte_reader& in, const chain_params& chain) {
    // The 76-byte prefix is common to every layout; its nTime (offset 68) names the
    // block's algorithm, and so the layout that follows.
    const byte_span rest = in.rest();
    if (rest.size() < block_header_size) return make_error_code(core_errc::read_past_end);
    switch (chain.algorithm_at(load_le32(rest.data() + 68))) {
    case pow_algorithm::sha256d: {
        auto h = parse_header(in);
        if (!h) return h.error();
        return wire_header::classic(*h);
    }
    case pow_algorithm::kawpow: {
        auto raw = in.raw(ravencoin::kawpow_header_size);
        if (!raw) return raw.error();
        return wire_header::from_kawpow(ravencoin::parse_kawpow_header(
            std::span<const std::uint8_t, ravencoin::kawpow_header_size>(raw->data(), raw->size())));
    }
    case pow_algorithm::x16r:
    case pow_algorithm::x16rv2: break;
    }
    (void)in.skip(block_header_size);
    return make_error_code(p2p_errc::header_unsupported_pow);
}

bytes serialize_wire_headers(std::span<const wire_header> headers) {
    byte_writer w(3 + headers.size() * (ravencoin::kawpow_header_size + 1));
    w.compact_size(headers.size());
    for (const wire_header& h : headers) {
        h.write(w);
        w.u8(0);
    }
    return w.take();
}

result<std::vector<wire_header>> parse_headers(byte_span payload, const chain_params& chain) {
    byte_reader in(payload);
    auto n = in.compact_size();
    if (!n) return malformed();
    if (*n > max_headers_per_message) return make_error_code(p2p_errc::too_many_headers);
    if (*n * headers_entry_min_bytes > in.remaining()) return malformed();
    std::vector<wire_header> out;
    out.reserve(static_cast<std::size_t>(*n));
    for (std::uint64_t i = 0; i < *n; ++i) {
        auto h = read_wire_header(in, chain);
        if (!h) {
            if (h.error() == p2p_errc::header_unsupported_pow) return h.error();
            return malformed();
        }
        auto txs = in.compact_size();
        if (!txs || *txs != 0) return malformed();
        out.push_back(*h);
    }
    if (!in.empty()) return malformed();
    return out;
}

result<wire_header> parse_cmpctblock_header(byte_span payload, const chain_params& chain) {
    byte_reader in(payload);
    auto h = read_wire_header(in, chain);
    if (!h) return h.error() == p2p_errc::header_unsupported_pow ? h.error() : malformed();
    return *h;
}

result<block_header> parse_cmpctblock_header(byte_span payload) {
    if (payload.size() < block_header_size) return malformed();
    return parse_header(payload.first<block_header_size>());
}

result<bytes> serialize_cmpctblock_prefilled(byte_span block, std::uint64_t nonce) {
    byte_reader in(block);
    auto header = in.raw(block_header_size);
    if (!header) return header.error();
    auto n = in.compact_size();
    if (!n) return n.error();
    byte_writer w(block.size() + 16 + static_cast<std::size_t>(*n));
    w.raw(*header);
    w.u64le(nonce);
    w.compact_size(0);
    w.compact_size(*n);
    for (std::uint64_t i = 0; i < *n; ++i) {
        const std::size_t start = in.position();
        auto tx = parse_transaction(in);
        if (!tx) return tx.error();
        // Differential index: each prefilled index is one past the previous.
        w.compact_size(0);
        w.raw(block.subspan(start, in.position() - start));
    }
    if (!in.empty()) return malformed();
    return w.take();
}

peer_features features_for(const chain_params& chain, std::int32_t peer_version) noexcept {
    peer_features f;
    f.sendheaders = peer_version >= sendheaders_version;
    // Version numbers collide across chains (node.md §1.4): the chain says which features
    // exist, the version whether the peer has them.
    if (chain.p2p_wtxid_addrv2) {
        f.wtxidrelay = peer_version >= wtxid_relay_version;
        f.sendaddrv2 = peer_version >= wtxid_relay_version;
    }
    if (chain.p2p_compact_blocks) f.sendcmpct = peer_version >= short_ids_blocks_version;
    return f;
}

std::int32_t our_protocol_version(const chain_params& chain) noexcept { return chain.p2p_protocol_version; }

std::uint64_t our_services(const chain_params& chain) noexcept { return chain.has_segwit ? node_witness : 0; }

}  // namespace sb::node::p2p
