// The statistics sink of the dispatcher (issue 12 "statistics sink", issue 14): every share
// the dispatcher judges — Stratum sessions and local devices alike — is reported once, as
// an event, to one sink. The dispatcher keeps no per-consumer statistics of its own; the
// dashboard's statistics (bridge/stats) aggregate these events.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "dispatch/work.hpp"

namespace sb::bridge::stats {

// One judged share. The views are valid for the duration of the call only.
struct share_event {
    consumer_id consumer = 0;  // the dispatcher's id of the session or device
    std::string_view worker;   // the username the share came with, at most 128 chars
    share_status status = share_status::accepted;
    // A block: the header met the network target (the block went to the submitter; status
    // is accepted then, see dispatcher.hpp).
    bool block = false;
    // The difficulty of the share target in force for the share (what an accepted share
    // credits to hashrate estimates), and the difficulty its hash achieved (best shares).
    double share_difficulty = 0;
    double hash_difficulty = 0;
    std::chrono::system_clock::time_point at;
};

class share_sink {
public:
    virtual ~share_sink() = default;
    // Called on the thread that judged the share (a Stratum I/O thread, a KAWPOW
    // verification thread or a device worker) after the verdict, outside the dispatcher's
    // lock. Must be cheap (O(1)), must not block on a bridge-wide lock and must not throw.
    virtual void on_share(const share_event& e) noexcept = 0;
};

}  // namespace sb::bridge::stats
