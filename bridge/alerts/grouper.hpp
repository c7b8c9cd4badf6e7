// Grouping (sans-I/O: the caller passes the time), so that a flapping farm or a runaway
// miner sends a bounded number of messages.
//
// Events fall into groups by family and chain: one group per chain for each of
// block_found, block_orphaned and hashrate_drop, one for workers (offline / online) and
// one for nodes (down / unauthorized / up). A group sends at most one round of messages
// per min_interval:
// - the first event of a quiet group is sent at once (blocks, hashrate) or after
//   coalesce (workers, nodes: their changes come in bursts);
// - what arrives while the group waits or is within min_interval of its last round is
//   held (one entry per subject, its latest event) and sent in one round when the
//   interval ends: "12 workers offline: a, b, c, … and 2 more".
// Workers and nodes are states: a round reports a subject whose latest state differs from
// the state last sent for it (a worker that went offline and came back within one round
// is not reported at all), a recovery (worker_online, node_up) only for a subject whose
// problem was sent, and one message per kind (offline and back online apart). A block is
// reported once per kind, however often it is posted.
//
// Bounds: max_pending_subjects held per group between two rounds (beyond it, blocks and
// hashrate drops are counted in `count` without being named, and worker and node changes
// are not reported), max_notified_subjects problems remembered per group (beyond it a
// problem is sent but its recovery is not), max_remembered_blocks hashes per group.
// Threading: none; the notifier calls it from its own thread.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "alerts/event.hpp"
#include "alerts/limits.hpp"

namespace sb::bridge::alerts {

struct grouper_options {
    std::chrono::milliseconds min_interval{config::default_alert_min_interval_s * 1000};
    std::chrono::milliseconds coalesce = state_coalesce_delay;  // workers and nodes
};

class grouper {
public:
    using time_point = std::chrono::steady_clock::time_point;

    explicit grouper(grouper_options options = {});

    // Takes an event seen at `now`.
    void add(const alert_event& e, time_point now);
    // The messages whose time has come at `now` (each group's round, in a fixed order).
    std::vector<alert_message> due(time_point now);
    // When due() next has something; nullopt while nothing is held.
    std::optional<time_point> next_due() const;

private:
    enum class family { block_found, block_orphaned, hashrate_drop, worker, node };
    static family family_of(event_kind k) noexcept;

    struct entry {
        event_kind kind;
        std::string text;
        std::chrono::system_clock::time_point at;
    };
    struct group {
        std::optional<time_point> flush_at;  // the next round, while something is held
        std::optional<time_point> quiet_until;  // min_interval after the last round
        std::vector<std::string> order;  // held subjects, first seen first
        std::unordered_map<std::string, entry> held;
        std::size_t uncounted = 0;       // subjects beyond max_pending_subjects (counted only)
        std::unordered_map<std::string, event_kind> notified;  // problems sent (states)
        std::deque<std::string> reported;  // blocks sent, oldest first
        std::unordered_set<std::string> reported_set;
    };

    void flush(family f, const std::string& chain, group& g, std::vector<alert_message>& out);

    grouper_options options_;
    std::map<std::pair<family, std::string>, group> groups_;
};

// The message for `count` subjects of one kind and chain, `listed` of them with their
// texts (first seen first). Exposed for tests.
alert_message make_message(event_kind kind, const std::string& chain,
                           const std::vector<std::pair<std::string, std::string>>& listed, std::size_t count,
                           std::chrono::system_clock::time_point at);

}  // namespace sb::bridge::alerts
