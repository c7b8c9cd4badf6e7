// Every limit and default time of the node client, in one place.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace sb::node {

// Largest HTTP reply body accepted from the node. A mainnet template carrying 4 MB of
// transaction hex is about 8 MB of JSON; 32 MiB leaves room for fat templates and
// Ravencoin asset data while bounding what a hostile node can make us hold.
inline constexpr std::size_t max_reply_bytes = 32u << 20;
// Largest HTTP reply header block (status line and fields).
inline constexpr std::uint32_t max_reply_header_bytes = 16u << 10;
// Largest cookie file read (Core writes "__cookie__:" + 64 hex digits).
inline constexpr std::size_t max_cookie_bytes = 1024;
// Calls waiting on one client beyond which new calls fail with queue_full.
inline constexpr std::size_t max_queued_calls = 256;
// Node-supplied text (error messages, submitblock reasons) is cut to this length and
// stripped of control characters before it reaches logs or the dashboard.
inline constexpr std::size_t max_node_text_bytes = 512;

// Per-call timeout when the settings give none (Core's own HTTP server times out at 30 s).
inline constexpr std::chrono::milliseconds default_call_timeout{30'000};
// Longest a TCP connect may take before the attempt counts as failed.
inline constexpr std::chrono::milliseconds connect_timeout{10'000};
// A longpoll is held open this long, then re-issued (Core answers on a tip change, and
// after 60 s on mempool changes; a quiet chain may never answer).
inline constexpr std::chrono::milliseconds longpoll_timeout{600'000};
// Reconnect / retry back-off: doubles from initial to max, each delay jittered by ±25 %.
inline constexpr std::chrono::milliseconds backoff_initial{250};
inline constexpr std::chrono::milliseconds backoff_max{30'000};
// After a refused connect the back-off stops growing here. A refusal comes back at once
// from a host that is up with nothing listening on the port — the node is restarting —
// so asking every second costs one round trip and finds the node within a second of its
// return (after a long outage the plain back-off would wait up to backoff_max).
inline constexpr std::chrono::milliseconds refused_backoff_max{1'000};
// Longest wait between template attempts after a failed one (template_source): a node
// that answers with errors (still starting, syncing, refusing the credentials) is asked
// again at least this often, so its recovery shows within seconds; each attempt is one
// cheap call, and the log records changes of state, not attempts.
inline constexpr std::chrono::milliseconds template_retry_max{5'000};
// A template is fetched at least this often (chain_settings.template_refresh_s).
inline constexpr std::chrono::milliseconds default_template_refresh{30'000};

}  // namespace sb::node
