// What the statistics tell subscribers (the alerts in bridge/alerts, the WebSocket, the
// history's events table) when something a miner cares about happens. The statistics
// decide that it happened; subscribers decide what to do about it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace sb::bridge::stats {

enum class event_kind : std::uint8_t {
    block_found,     // a share met the network target (worker, height, hash in detail)
    block_fate,      // a found block's fate changed (fate: "accepted", "orphaned", ...)
    worker_offline,  // a worker went offline (no share for the offline multiple, or gone)
    worker_online,   // a worker that was offline (or new) sends shares again
    hashrate_drop,   // a worker's (or, worker empty, the chain's) 5 m hashrate fell below
                     // a threshold's share of its 1 h hashrate (event::ratio: which one)
    hashrate_recovered,  // back above halfway from that share to the 1 h hashrate
    node_state,      // the node's RPC link changed state (state: "connected", "down", ...)
    new_tip,         // the work moved to a new tip (height)
    history_error,   // the history database is unavailable (detail says why)
    alert_sent,      // an alert went to a webhook (state "delivered") or was given up
                     // ("given_up"); statistics::note_event, from the alerts
};
inline constexpr std::size_t event_kind_count = 10;
// "block_found", "block_fate", ... (the names above).
const char* to_string(event_kind k) noexcept;

struct event {
    event_kind kind = event_kind::block_found;
    std::chrono::system_clock::time_point at;
    std::string chain;   // chain id ("" for the bridge as a whole)
    std::string worker;  // the worker concerned, "" when none
    std::string state;   // block_fate: the fate; node_state: the link state; alert_sent:
                         // "delivered" or "given_up"; else ""
    std::string hash;    // block_found / block_fate: block hash (display order)
    std::uint32_t height = 0;  // block_found / block_fate / new_tip
    double value = 0;    // hashrate_drop / hashrate_recovered: the 5 m hashrate (H/s)
    double reference = 0;  // hashrate_drop / hashrate_recovered: the 1 h hashrate (H/s)
    double ratio = 0;      // hashrate_drop / hashrate_recovered: the threshold (share of 1 h);
                           // not kept in the history
    std::string detail;  // a human sentence
};

// A subscriber. Called on the statistics thread, in event order, once per event; must
// return quickly (queue the work) and must not throw.
class event_listener {
public:
    virtual ~event_listener() = default;
    virtual void on_event(const event& e) noexcept = 0;
};

}  // namespace sb::bridge::stats
