// P2P v1 framing and the message payloads a thin client needs (shared/reference/node.md
// §1). No I/O here: the frame decoder is fed bytes and hands out frames.
//
// Byte orders: integers little-endian unless named otherwise; hashes (locator, inventory,
// hash_stop, headers) in internal order (sha256d output, the reverse of display order);
// the port inside a net_address is big-endian.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sb/core/block.hpp"
#include "sb/core/bytes.hpp"
#include "sb/core/chain.hpp"
#include "sb/core/result.hpp"
#include "sb/core/sha256.hpp"
#include "sb/node/p2p/errors.hpp"
#include "sb/node/p2p/limits.hpp"
#include "sb/node/p2p/wire_header.hpp"

namespace sb::node::p2p {

using magic_bytes = std::array<std::uint8_t, 4>;

// Command names.
namespace cmd {
inline constexpr std::string_view version = "version";
inline constexpr std::string_view verack = "verack";
inline constexpr std::string_view ping = "ping";
inline constexpr std::string_view pong = "pong";
inline constexpr std::string_view sendheaders = "sendheaders";
inline constexpr std::string_view sendcmpct = "sendcmpct";
inline constexpr std::string_view getheaders = "getheaders";
inline constexpr std::string_view headers = "headers";
inline constexpr std::string_view inv = "inv";
inline constexpr std::string_view getdata = "getdata";
inline constexpr std::string_view notfound = "notfound";
inline constexpr std::string_view block = "block";
inline constexpr std::string_view cmpctblock = "cmpctblock";
inline constexpr std::string_view feefilter = "feefilter";
inline constexpr std::string_view wtxidrelay = "wtxidrelay";
inline constexpr std::string_view sendaddrv2 = "sendaddrv2";
inline constexpr std::string_view reject = "reject";
inline constexpr std::string_view getaddr = "getaddr";
inline constexpr std::string_view addr = "addr";
inline constexpr std::string_view addrv2 = "addrv2";
}  // namespace cmd

// First 4 bytes of sha256d(payload).
std::array<std::uint8_t, 4> payload_checksum(byte_span payload) noexcept;

// One whole v1 message: magic || command NUL-padded to 12 || LE32 length || checksum ||
// payload. command must be 1..12 printable ASCII characters.
bytes encode_frame(const magic_bytes& magic, std::string_view command, byte_span payload);
// The message's first frame_header_bytes (the checksum is a hash of the whole payload), for
// a payload written from where it is rather than copied behind them.
std::array<std::uint8_t, frame_header_bytes> encode_frame_header(const magic_bytes& magic, std::string_view command,
                                                                 byte_span payload) noexcept;

struct frame {
    std::string command;  // without the NUL padding
    bytes payload;
};

// Incremental v1 frame decoder. feed() appends received bytes; next() returns the next
// complete frame, nullopt when more bytes are needed, or an error (bad_magic,
// bad_command, oversize, bad_checksum) after which the decoder stays failed and the peer
// must be disconnected. Holds at most one partial frame plus the bytes last fed.
class frame_decoder {
public:
    explicit frame_decoder(const magic_bytes& magic, std::size_t max_payload = max_payload_bytes) noexcept
        : magic_(magic), max_payload_(max_payload) {}

    void feed(byte_span data);
    result<std::optional<frame>> next();
    // Bytes received but not yet returned as frames.
    std::size_t buffered() const noexcept { return buf_.size() - pos_; }

private:
    magic_bytes magic_;
    std::size_t max_payload_;
    bytes buf_;
    std::size_t pos_ = 0;
    std::error_code failed_;
};

// ---- payloads ---------------------------------------------------------------------------

// v1 net_addr without time: LE64 services || 16-byte IPv6 (IPv4-mapped) || BE16 port.
struct net_address {
    std::uint64_t services = 0;
    std::array<std::uint8_t, 16> ip{};
    std::uint16_t port = 0;
    // ::ffff:a.b.c.d with a the top byte of ipv4_host_order.
    static net_address ipv4(std::uint32_t ipv4_host_order, std::uint16_t port, std::uint64_t services = 0) noexcept;
};

struct version_message {
    std::int32_t version = 0;
    std::uint64_t services = 0;
    std::int64_t timestamp = 0;  // Unix seconds
    net_address addr_recv;
    net_address addr_from;
    std::uint64_t nonce = 0;
    std::string user_agent;  // at most max_user_agent_bytes
    std::int32_t start_height = 0;
    bool relay = true;  // BIP37; absent on the wire means true
};
bytes serialize(const version_message& v);
// Errors: malformed_payload, bad_user_agent. Trailing bytes after relay are ignored
// (newer fields may follow).
result<version_message> parse_version(byte_span payload);

// ping/pong: LE64 nonce.
bytes serialize_ping(std::uint64_t nonce);
result<std::uint64_t> parse_ping(byte_span payload);

// BIP152 sendcmpct: u8 announce (0/1) || LE64 version.
struct sendcmpct_message {
    bool announce = false;
    std::uint64_t version = 2;
};
bytes serialize(const sendcmpct_message& m);
// Errors: malformed_payload (also an announce byte other than 0 or 1, as Core).
result<sendcmpct_message> parse_sendcmpct(byte_span payload);

// getheaders: LE32 version || CompactSize n || n locator hashes || hash_stop.
struct getheaders_message {
    std::uint32_t version = 0;
    std::vector<hash256> locator;  // at most max_locator_entries
    hash256 hash_stop{};           // zero: as many as possible
};
bytes serialize(const getheaders_message& m);
// Errors: malformed_payload, locator_too_large.
result<getheaders_message> parse_getheaders(byte_span payload);

// headers: CompactSize n (<= 2000) || n × (80-byte header || CompactSize 0). Bitcoin
// layout only: Ravencoin's 120-byte KAWPOW headers (node.md §2.4) are not parsed here.
bytes serialize_headers(std::span<const block_header> headers);
// Errors: too_many_headers, malformed_payload (tx count not 0, short or trailing bytes).
result<std::vector<block_header>> parse_headers(byte_span payload);

// headers by the chain's layout (wire_header.hpp): Bitcoin 80 bytes; Ravencoin 120-byte
// KAWPOW headers. Errors: those of parse_headers, and header_unsupported_pow for a
// Ravencoin header dated before the KAWPOW activation time (X16R/X16Rv2).
bytes serialize_wire_headers(std::span<const wire_header> headers);
result<std::vector<wire_header>> parse_headers(byte_span payload, const chain_params& chain);

// Inventory types (protocol.h GetDataMsg).
namespace inv_type {
inline constexpr std::uint32_t tx = 1;
inline constexpr std::uint32_t block = 2;
inline constexpr std::uint32_t cmpct_block = 4;
inline constexpr std::uint32_t witness_flag = 1u << 30;
inline constexpr std::uint32_t witness_block = block | witness_flag;
}  // namespace inv_type

struct inventory {
    std::uint32_t type = 0;
    hash256 hash{};
    bool operator==(const inventory&) const = default;
};
// inv / getdata / notfound: CompactSize n (<= 50000) || n × (LE32 type || hash).
bytes serialize_inv(std::span<const inventory> items);
// Errors: too_many_inv, malformed_payload.
result<std::vector<inventory>> parse_inv(byte_span payload);

// The 80-byte header at the start of a BIP152 cmpctblock; the rest is not needed to
// follow the tip. Errors: malformed_payload.
result<block_header> parse_cmpctblock_header(byte_span payload);
// The same by the chain's header layout (a 120-byte header on Ravencoin after KAWPOW).
// Errors: malformed_payload, header_unsupported_pow.
result<wire_header> parse_cmpctblock_header(byte_span payload, const chain_params& chain);

// A BIP152 cmpctblock (version 2) for a whole serialized block with every transaction
// prefilled and no short IDs, so the receiver needs nothing from its mempool: header ||
// LE64 nonce || CompactSize 0 || CompactSize n || n × (CompactSize 0 || tx as in the
// block). Errors: those of parse_header / parse_transaction, malformed_payload for
// trailing bytes.
result<bytes> serialize_cmpctblock_prefilled(byte_span block, std::uint64_t nonce);

// ---- per-chain features ----------------------------------------------------------------

// What to send a peer, decided by chain first (chain_params::p2p_wtxid_addrv2,
// p2p_compact_blocks) and version second: Ravencoin reuses Bitcoin's version numbers for
// unrelated features and has no wtxidrelay/sendaddrv2.
struct peer_features {
    bool wtxidrelay = false;   // send before our verack
    bool sendaddrv2 = false;   // send before our verack
    bool sendheaders = false;  // send after the handshake
    bool sendcmpct = false;    // send sendcmpct(0, 2) after the handshake
};
peer_features features_for(const chain_params& chain, std::int32_t peer_version) noexcept;
// The protocol version we announce on chain (chain_params::p2p_protocol_version).
std::int32_t our_protocol_version(const chain_params& chain) noexcept;
// NODE_WITNESS where the chain has segwit, else 0.
std::uint64_t our_services(const chain_params& chain) noexcept;

}  // namespace sb::node::p2p
