// The limits of the alerts module in one place. Alerts are rare and small: every queue is
// bounded, every text is cut, and every request has a deadline, so that a flapping farm,
// a hostile worker name or a webhook that never answers costs bounded memory and never
// touches mining.
#pragma once

#include <chrono>
#include <cstddef>

namespace sb::bridge::alerts {

// Events posted and not yet grouped (post() drops the oldest beyond it, with a counter).
inline constexpr std::size_t event_queue_limit = 4096;
// Messages waiting for one webhook behind the one being sent (the oldest is dropped).
inline constexpr std::size_t webhook_queue_limit = 64;

// A worker or node change waits this long for others before its message goes out: a
// statistics sweep reports many workers within seconds, and a node restart that is over
// within it sends nothing. Block and hashrate alerts go out at once.
inline constexpr std::chrono::milliseconds state_coalesce_delay{5'000};

// Delivery: the first retry after retry_initial, doubling up to retry_max (or the
// server's Retry-After, if longer, within retry_max); a message is given up once
// give_up_after has passed since its first attempt.
inline constexpr std::chrono::milliseconds retry_initial{2'000};
inline constexpr std::chrono::milliseconds retry_max{300'000};
inline constexpr std::chrono::milliseconds give_up_after{3'600'000};
// One request, from resolving the name to the end of the response.
inline constexpr std::chrono::milliseconds request_timeout{15'000};
// Bytes of a webhook's response read (the status is all that matters).
inline constexpr std::size_t max_response_bytes = 64 * 1024;

// Texts. ntfy takes messages up to 4096 bytes (longer ones become attachments).
inline constexpr std::size_t max_message_text_bytes = 4000;
inline constexpr std::size_t max_subject_bytes = 128;
inline constexpr std::size_t max_event_text_bytes = 512;
// Subjects named in one grouped message ("12 workers offline: a, b, … and 2 more").
inline constexpr std::size_t max_listed_subjects = 20;
// Subjects one group holds between two messages; more are counted, not listed.
inline constexpr std::size_t max_pending_subjects = 65'536;
// Subjects whose problem was sent (workers offline, nodes down) that one group remembers
// so that their recovery can be sent; beyond it a recovery goes unreported.
inline constexpr std::size_t max_notified_subjects = 65'536;
// Block hashes already reported, per group (a block found twice is reported once).
inline constexpr std::size_t max_remembered_blocks = 256;

// How often the watches (watch.hpp) sample the nodes' and the found blocks' state.
inline constexpr std::chrono::milliseconds poll_interval{2'000};

}  // namespace sb::bridge::alerts
