// The alerts' event API: what the statistics, the submitter and the node wiring report
// (alert_event, handed to notifier::post), and what the grouper makes of them for the
// webhooks (alert_message).
//
// Who posts what (subject: what events group by):
//   block_found        the submitter's sink     subject: block hash (display hex)
//   block_orphaned     the orphan watch         subject: block hash
//   worker_offline     the statistics           subject: worker name ("user.worker")
//   worker_online      the statistics           subject: worker name
//   hashrate_drop      the statistics           subject: worker name, or the chain id for
//                                               the chain's whole hashrate
//   node_down          the node watch           subject: the node's RPC URL
//   node_unauthorized  the node watch           subject: the node's RPC URL
//   node_up            the node watch           subject: the node's RPC URL
// (the watches: watch.hpp)
// A state change may be posted on every observation: the grouper sends a change of state
// once, and a recovery only for a subject whose problem was sent.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sb/config/config.hpp"
#include "sb/core/uint256.hpp"

namespace sb::bridge::alerts {

using event_kind = config::alert_kind;
using config::to_string;

// One thing that happened. Any text is accepted: subject and text are cut (at a UTF-8
// boundary) to max_subject_bytes and max_event_text_bytes, and control characters and
// invalid UTF-8 become '?' before they reach a message.
struct alert_event {
    event_kind kind = event_kind::block_found;
    std::string chain;    // chain id (config chains[i].id); empty for the whole bridge
    std::string subject;  // see the table above
    std::string text;     // one line for a person, e.g. "rig7: no share for 12 min"
    std::chrono::system_clock::time_point at = std::chrono::system_clock::now();
};

// What goes to the webhooks: one event, or several of one kind and chain grouped.
struct alert_message {
    event_kind kind = event_kind::block_found;
    std::string chain;
    // "solobridge btc: 12 workers offline": printable ASCII only (it travels in ntfy's
    // Title header), built from the kind and the chain id, never from event text.
    std::string title;
    // The grouped texts, at most max_message_text_bytes of valid UTF-8 without control
    // characters other than '\n'.
    std::string text;
    std::vector<std::string> subjects;  // the subjects named, at most max_listed_subjects
    std::size_t count = 0;              // subjects in all (named or not)
    std::chrono::system_clock::time_point at;  // the newest event's time
};

// Subjects and texts as messages carry them (see alert_event).
std::string clean_text(std::string_view text, std::size_t max_bytes);

// The event the submitter's sink posts for a found block (height, hash in internal
// order, the worker whose share it was).
alert_event block_found_event(std::string chain, std::uint32_t height, const hash256& hash, std::string_view worker,
                              std::chrono::system_clock::time_point at = std::chrono::system_clock::now());

}  // namespace sb::bridge::alerts
