// Errors of the P2P client: framing, message payloads, header validation and the peer
// connection. Each is also a disconnect reason (see is_punishable).
#pragma once

#include <system_error>

namespace sb::node::p2p {

enum class p2p_errc {
    ok = 0,
    // framing (v1 transport)
    bad_magic,          // the 4 message-start bytes are not the chain's magic
    bad_command,        // command not printable ASCII followed only by NUL padding
    oversize,           // payload length above max_payload_bytes
    bad_checksum,       // checksum differs from sha256d(payload)[0..4)
    // payloads
    malformed_payload,  // a payload that does not parse, or has trailing bytes
    too_many_headers,   // headers message with more than max_headers_per_message
    too_many_inv,       // inv/getdata/notfound with more than max_inv_entries
    locator_too_large,  // getheaders with more than max_locator_entries
    bad_user_agent,     // version subver longer than max_user_agent_bytes
    too_many_addr,      // addr/addrv2 with more than max_addr_entries
    // header validation (Core's reject reasons in brackets)
    header_high_hash,       // hash above target, or bits invalid / above the pow limit [high-hash]
    header_bad_diffbits,    // bits differ from the required next work [bad-diffbits]
    header_time_too_old,    // time not above the median of the last 11 [time-too-old]
    header_time_too_new,    // time beyond now + max future; not punishable [time-too-new]
    header_timewarp,        // BIP94: period start more than 600 s before its parent [time-timewarp-attack]
    header_invalid_parent,  // descends from a header found invalid [bad-prevblk]
    header_not_continuous,  // headers of one message do not link up
    header_unsupported_pow, // the chain's proof of work is not sha256d (Ravencoin)
    header_low_work,        // a side branch too far below the tip's work, and the low-work budget is spent
    header_invalid_mix,     // KAWPOW: the claimed mix hash differs from the light evaluation [invalid-mix-hash]
    header_bad_height,      // KAWPOW: nHeight differs from the header's height in the chain
    header_bad_version,     // version below 2/3/4 once BIP34/66/65 are active at its height [bad-version]
    // connection
    connect_failed,
    connection_lost,
    handshake_timeout,
    ping_timeout,
    message_before_handshake,
    duplicate_version,
    obsolete_version,        // the peer's protocol version is below what we accept
    unconnecting_headers,    // too many headers messages that do not connect
    write_queue_full,
    misbehaving,             // misbehaviour points reached the disconnect threshold (low-work floods)
    closed,                  // closed by us (close())
};

const std::error_category& p2p_category() noexcept;

inline std::error_code make_error_code(p2p_errc e) noexcept { return {static_cast<int>(e), p2p_category()}; }

// True when e is misbehaviour that Core would answer with discouragement: a peer that
// sends it is disconnected and not preferred again. Time-too-new, timeouts and
// connection losses are not punishable.
bool is_punishable(std::error_code e) noexcept;

}  // namespace sb::node::p2p

template <>
struct std::is_error_code_enum<sb::node::p2p::p2p_errc> : std::true_type {};
