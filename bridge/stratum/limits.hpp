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

// Bytes queued for one connection's socket; a reader that lets more pile up is dropped.
inline constexpr std::size_t write_queue_limit = 1024 * 1024;
// Reading pauses while more than write_queue_limit / this is queued (Beast's bounded
// queue pattern): a client that pipelines requests but reads no replies stalls itself.
inline constexpr std::size_t write_queue_pause_divisor = 4;

// Pause after a failed accept (e.g. out of file descriptors) before accepting again.
inline constexpr std::chrono::milliseconds accept_retry_delay{100};

// Connection caps.
inline constexpr std::size_t max_connections_per_ip = 256;
inline constexpr std::size_t max_connections = 20'000;

// Version bits a miner may roll (BIP320, stratum.md §2.1); the mask assumed for a 6th
// submit param from a miner that never sent mining.configure.
inline constexpr std::uint32_t server_version_mask = 0x1fffe000;

// extranonce2 size offered (cgminer submits only ≤ 8; NerdMiner takes 2, 4 or 8).
inline constexpr unsigned default_extranonce2_size = 8;

// Jobs a session remembers (job id → difficulty in force when it was notified).
inline constexpr std::size_t max_tracked_jobs = 32;
// Rejected submits in a row after which the session is closed: a miner on a stale job
// sends a handful after a new block; hundreds in a row is a broken or hostile client
// flooding the validator.
inline constexpr std::uint32_t max_consecutive_rejects = 500;

// Longest worker name, user agent and mining.submit hex field kept or parsed.
inline constexpr std::size_t max_worker_chars = 128;
inline constexpr std::size_t max_user_agent_chars = 128;
inline constexpr std::size_t max_extranonce2_hex = 64;

// KAWPOW submits of one session being verified at once (each costs milliseconds of a
// verification thread); more are rejected without verification, so one client cannot
// queue unbounded work (stratum.md §5).
inline constexpr std::size_t max_pending_kawpow_submits = 16;

}  // namespace sb::bridge::stratum
