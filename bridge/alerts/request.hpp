// The HTTP request a webhook gets for a message, in its format (pure: no I/O).
//
// json: POST <url>, Content-Type: application/json, the body
//   {"source":"solobridge","kind":"worker_offline","chain":"btc",
//    "title":"solobridge btc: 12 workers offline","text":"12 workers offline: a, b, …",
//    "subjects":["a","b",…],"count":12,"time":"2026-12-06T22:46:55Z","unix_time":1796597215,
//    "priority":4}
//   (kind: config alert_kind names; subjects: those named, at most max_listed_subjects;
//   count: all of them; priority: ntfy's scale below).
// ntfy (docs.ntfy.sh/publish): POST <url> (the topic URL), the text as a text/plain UTF-8
//   body, and the headers Title (the title), Priority (1-5: 5 block_found; 4
//   block_orphaned, worker_offline, node_down, node_unauthorized; 3 hashrate_drop,
//   worker_online, node_up) and Tags (an emoji short code for the kind, then the chain id).
// Both: "Authorization: Bearer <token>" when the webhook has a token, then the webhook's
// own headers. Host, User-Agent, Content-Length and Connection are the sender's.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "alerts/event.hpp"
#include "sb/config/config.hpp"

namespace sb::bridge::alerts {

struct webhook_request {
    std::string target;  // request-target: the URL's path and query
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

// ntfy's priority for a kind (1 min … 5 max).
int priority_of(event_kind k) noexcept;
// The request for message m to webhook w.
webhook_request make_request(const config::webhook_settings& w, const alert_message& m);

}  // namespace sb::bridge::alerts
