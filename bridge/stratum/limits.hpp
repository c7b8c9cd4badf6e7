// Every limit and default of the Stratum server in one place (STYLE.md). Timeouts are the
// production values; server_options lets tests shorten them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace sb::bridge::stratum {

// Longest inbound line, terminator excluded (stratum.md §0.1: ~16 KiB; a longer line
// closes the session).
inline constexpr std::size_t max_line_bytes = 16 * 1024;
// Bytes asked of the socket per read.
inline constexpr std::size_t read_chunk_bytes = 4096;

// A connection that has not subscribed by then is closed (the TLS handshake included).
inline constexpr std::chrono::milliseconds subscribe_timeout{30'000};
// A subscribed connection that has submitted nothing for this long is closed
// (NerdMiner reconnects itself after 10 min without a notify; stratum.md §1).
inline constexpr std::chrono::milliseconds share_idle_timeout{10 * 60'000};

// A line must be complete (its newline received) this long after its first byte, or the
// connection is closed: a slowloris client trickling bytes without a newline holds a
// connection and a buffer for nothing. Real miners send a line in one write. Before
// mining.subscribe the shorter subscribe_timeout closes a trickling connection first.
inline constexpr std::chrono::milliseconds line_timeout{60'000};
// A write to the socket that has not completed after this long drops the connection: a
// client that pipelines requests and never reads its replies stalls our writes (and,
// through the paused reading, itself) with bounded memory; this releases it.
inline constexpr std::chrono::milliseconds write_stall_timeout{60'000};

// Bytes queued for one connection's socket; a reader that lets more pile up is dropped.
inline constexpr std::size_t write_queue_limit = 1024 * 1024;
// Reading pauses while more than write_queue_limit / this is queued (Beast's bounded
// queue pattern): a client that pipelines requests but reads no replies stalls itself.
inline constexpr std::size_t write_queue_pause_divisor = 4;
// Queued lines handed to one gathered write (writev; IOV_MAX is 1024 on Linux).
inline constexpr std::size_t max_gather_lines = 64;

// Pause after a failed accept (e.g. out of file descriptors) before accepting again.
inline constexpr std::chrono::milliseconds accept_retry_delay{100};

// Connection caps. The per-IP cap is the default of the chain key
// stratum_max_connections_per_ip (a farm behind NAT or a Stratum proxy shares one IP).
inline constexpr std::size_t max_connections_per_ip = 256;
inline constexpr std::size_t max_connections = 20'000;

// Version bits a miner may roll (BIP320, stratum.md §2.1); the mask assumed for a 6th
// submit param from a miner that never sent mining.configure.
inline constexpr std::uint32_t server_version_mask = 0x1fffe000;

// extranonce2 size offered (cgminer submits only ≤ 8; NerdMiner takes 2, 4 or 8).
inline constexpr unsigned default_extranonce2_size = 8;

// Jobs a session remembers (job id → difficulty in force when it was notified).
inline constexpr std::size_t max_tracked_jobs = 32;
// Rejected shares (stale / job not found, low difficulty, duplicate, bad ntime, malformed
// fields, submits before authorize) never close a session and never add ban score. They
// are what real firmware sends after every new block, and more of them when the bridge is
// slow to move to a new tip: a Bitcoin Core run saw a miner send 500 "Job not found" in a
// row, which used to close it and ban its IP (and with it every miner behind that NAT).
// What a rejected submit costs is a parse, a job lookup under the dispatcher's lock and
// at most one header hash; what must not happen is one client forging them for free at line
// rate. So each session has a token bucket: rejected_submit_burst rejects at once, then
// rejected_submits_per_s on average. An empty bucket pauses reading from that connection
// until a token is back: every submit is still judged (a stale share can still be a block)
// and answered in order, the client is only slowed, and the pause hurts nobody else (it
// is per session, not per IP). Real miners stay far below it: ~17 rejects/s in the Core
// run, a handful per block normally.
inline constexpr std::uint32_t rejected_submit_burst = 1000;
inline constexpr std::uint32_t rejected_submits_per_s = 100;

// Requests in a row answered with an error other than a share verdict (unknown method,
// authorize before subscribe, bad params, ...) after which the session is closed as a
// protocol-violation flood (ban_score_error_flood). Any request answered without an
// error, a rejected share included, resets the count.
inline constexpr std::uint32_t max_consecutive_errors = 100;

// JSON nesting deeper than this is refused before parsing (Stratum messages nest 3
// deep; a 16 KiB line of '[' must not cost a deep recursion).
inline constexpr std::size_t max_json_depth = 16;
// mining.configure extensions answered per request; more are ignored.
inline constexpr std::size_t max_configure_extensions = 16;

// --- ban list (ban_list.hpp) ---
// Bans are for hostile floods, not firmware habits. A session closed for a protocol
// violation (garbage bytes, an over-long line, an error-reply flood) adds a score to its
// IP (an IPv6 address counts per /64); an IP whose score reaches the threshold (chain key
// stratum_ban_threshold) is banned for the duration (stratum_ban_duration_s): its new
// connections are closed right after accept, without reading. Sessions already open stay
// (each is judged on its own behaviour). A score is forgotten ban_score_memory after the
// IP's last misbehaviour.
// What never scores: rejected shares (above); a TLS ClientHello on a plain listener
// (cgminer-family clients try TLS first, then plain) and a plain Stratum line on a
// TLS-only listener (both closed quietly, logged once per IP per
// quiet_close_log_interval); a TLS handshake that fails on a connection whose first byte
// opened a TLS record (an old TLS version, a miner that does not trust the certificate;
// logged the same way); slow clients (no subscribe
// in time, slowloris lines, a reader that does not read): they flood nothing, each holds
// one connection slot (bounded by the per-IP cap) until its timeout closes it, and idle
// pre-opened connections of a Stratum proxy or a flaky Wi-Fi link look just like them.
// A single client must never lock out the other miners behind its IP: while a session
// from that IP (or /64) that has had a share accepted is open, a ban is withheld (the
// score starts again from 0, the misbehaving sessions are still closed one by one).
// Proof of work vouches for the address; a flood from it is still bounded per session
// (closes, the rejected-submit bucket) and per IP (the connection cap).
inline constexpr std::uint32_t ban_threshold = 100;
inline constexpr std::chrono::milliseconds ban_duration{15 * 60'000};
inline constexpr std::chrono::milliseconds ban_score_memory{15 * 60'000};
// Scores per kind of misbehaviour: with the default threshold a client that sends one
// garbage line (or floods error replies) per connection is banned after four
// connections, one over-long line per connection after two.
inline constexpr std::uint32_t ban_score_error_flood = 25;
inline constexpr std::uint32_t ban_score_oversize_line = 50;
inline constexpr std::uint32_t ban_score_garbage = 25;
// Quiet closes (TLS on a plain listener, plain on a TLS-only one, failed TLS handshakes)
// are logged once per IP and kind, then at most once per interval with a count.
inline constexpr std::chrono::milliseconds quiet_close_log_interval{10 * 60'000};
inline constexpr std::size_t max_quiet_close_log_ips = 4096;
// Bounds of the tables: the oldest ban (or the least recently scored IP) is evicted.
inline constexpr std::size_t max_banned_ips = 4096;
inline constexpr std::size_t max_scored_ips = 16'384;

// Longest worker name, user agent and mining.submit hex field kept or parsed.
inline constexpr std::size_t max_worker_chars = 128;
inline constexpr std::size_t max_user_agent_chars = 128;
inline constexpr std::size_t max_extranonce2_hex = 64;

// KAWPOW submits of one session being verified at once (each costs milliseconds of a
// verification thread); more are rejected without verification, so one client cannot
// queue unbounded work (stratum.md §5).
inline constexpr std::size_t max_pending_kawpow_submits = 16;

}  // namespace sb::bridge::stratum
