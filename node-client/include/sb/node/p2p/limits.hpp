// Every limit, protocol constant and default time of the P2P client, in one place
// (values from Core net.h / net_processing.h / protocol.h, shared/reference/node.md §1).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace sb::node::p2p {

// v1 message header: magic(4) command(12) length(4) checksum(4).
inline constexpr std::size_t frame_header_bytes = 24;
inline constexpr std::size_t command_bytes = 12;
// MAX_PROTOCOL_MESSAGE_LENGTH (Core and Ravencoin): larger frames disconnect.
inline constexpr std::size_t max_payload_bytes = 4'000'000;
// MAX_HEADERS_RESULTS.
inline constexpr std::size_t max_headers_per_message = 2000;
// MAX_INV_SZ.
inline constexpr std::size_t max_inv_entries = 50'000;
// MAX_LOCATOR_SZ.
inline constexpr std::size_t max_locator_entries = 101;
// MAX_SUBVERSION_LENGTH.
inline constexpr std::size_t max_user_agent_bytes = 256;

// The protocol version we announce is the chain's (chain_params::p2p_protocol_version).
// Oldest peer versions we talk to: sendheaders (70012) is the least we rely on.
inline constexpr std::int32_t min_peer_version = 70012;
// Feature thresholds (Bitcoin numbering; other chains gate by chain parameter, see
// message.hpp).
inline constexpr std::int32_t sendheaders_version = 70012;
inline constexpr std::int32_t short_ids_blocks_version = 70014;
inline constexpr std::int32_t wtxid_relay_version = 70016;

inline constexpr std::uint64_t node_network = 1u << 0;
inline constexpr std::uint64_t node_witness = 1u << 3;

inline constexpr const char* user_agent = "/solobridge:0.1.0/";

// Header chain: headers that do not connect (yet) kept at most, and hashes of invalid
// headers remembered to reject their descendants without re-validation.
inline constexpr std::size_t max_unconnected_headers = 512;
inline constexpr std::size_t max_invalid_hashes = 4096;
// KAWPOW headers verified off the strand and waiting for their add (one headers message).
inline constexpr std::size_t max_preverified = 2 * 2000;
// Headers messages that do not connect before the peer is dropped.
inline constexpr int max_unconnecting_headers_msgs = 10;

// Peer timing.
inline constexpr std::chrono::milliseconds handshake_timeout{10'000};
inline constexpr std::chrono::milliseconds ping_interval{120'000};
// Core's TIMEOUT_INTERVAL: a ping unanswered this long drops the peer.
inline constexpr std::chrono::milliseconds ping_timeout{1'200'000};
inline constexpr std::chrono::milliseconds connect_timeout{10'000};
// Outgoing bytes queued beyond which the peer is dropped (a peer that stops reading).
inline constexpr std::size_t write_queue_limit_bytes = 16u << 20;
// Socket read chunk.
inline constexpr std::size_t read_chunk_bytes = 64u << 10;
// Found-block bytes each connection keeps to serve getdata (oldest dropped first, the
// newest always kept): 16 MiB is four blocks at Bitcoin's 4 MB weight limit, or tens of
// thousands of coinbase-only (header-only work) blocks, so a peer that asks for a block
// seconds after a burst of them still gets it. A count was not enough: at regtest
// difficulty eight blocks are minutes-old history in milliseconds. Blocks evicted here
// are still retried by the submitter (journal, RPC, and a re-relay on each retry).
inline constexpr std::size_t max_relay_bytes = 16u << 20;
// The getheaders probe of a relayed block a configured peer fetched
// (peer_settings::confirm_relayed): sent at once, behind the block (Core and bcoin handle a
// peer's messages in order, so the answer comes after the block's validation), then after
// 0.5 s, doubling, relay_probe_tries in all; the probe ends one more wait after the last
// (about a minute in all: the next block settles the block anyway). A connection probes at
// most max_relay_probes blocks at once; beyond that its oldest probe ends early.
inline constexpr std::chrono::milliseconds relay_probe_first_wait{500};
inline constexpr int relay_probe_tries = 7;
inline constexpr std::size_t max_relay_probes = 16;

// Addresses: MAX_ADDR_TO_SEND (more in one addr/addrv2 is misbehaviour), BIP155's
// largest address (512 bytes), the address table and the discouragement table.
inline constexpr std::size_t max_addr_entries = 1000;
inline constexpr std::size_t max_addrv2_address_bytes = 512;
inline constexpr std::size_t max_address_table = 4096;
inline constexpr std::size_t max_discouraged = 1024;
// Outbound connections (Core MAX_OUTBOUND_FULL_RELAY_CONNECTIONS).
inline constexpr std::size_t default_target_outbound = 8;
// How long a misbehaving peer is not connected to again.
inline constexpr std::chrono::seconds discourage_time{24 * 3600};
// Reconnection back-off: first delay, cap for configured peers, cap for learned ones.
inline constexpr std::chrono::milliseconds backoff_initial{500};
inline constexpr std::chrono::milliseconds backoff_max_configured{30'000};
inline constexpr std::chrono::milliseconds backoff_max_learned{600'000};
// A configured peer whose connect failed (refused: the host is up and nothing listens yet,
// or timed out) is tried again at least this often. The configured peer is the user's own
// node: when it restarts, its port stays closed for seconds and the doubling back-off would
// reach 16 s, leaving P2P (the fastest new-tip path) gone for up to that long after the node
// is back. A failed connect costs one round trip (or one connect timeout), so one a second
// is nothing to the node; a peer that accepts and then drops us still backs off in full.
inline constexpr std::chrono::milliseconds connect_retry_max_configured{1'000};

// Low-work header defence (Core's headers anti-DoS, simplified): a header whose
// cumulative work is below the tip's minus low_work_margin_blocks blocks of the tip's
// work is "low work"; the tree stores at most max_low_work_headers of them, after which
// such headers are refused (header_low_work). A peer collects misbehaviour points for
// refused low-work headers and is dropped at misbehaviour_threshold.
inline constexpr std::int32_t low_work_margin_blocks = 144;
inline constexpr std::size_t max_low_work_headers = 4000;
inline constexpr int low_work_penalty = 20;
inline constexpr int misbehaviour_threshold = 100;

}  // namespace sb::node::p2p
