// The block sink (DESIGN.md §3 "Blocks"; node.md §4.4): a found block goes on the wire
// at once, by every path together — submitblock on each configured node, each over its
// OWN rpc_client so it never waits behind a template fetch, a longpoll or a chain query,
// and the P2P relay hook — while the journal records it in parallel on its own thread
// (journal.hpp: nothing here waits for the disk). Then the submitter follows the block
// until its fate is known, and tells it truthfully.
//
// Fates (block_status, journal.hpp), decided from the node's chain and the P2P chain,
// never from submitblock's answer alone:
// - submitblock's verdict per node: rejected (a reason, or an RPC error such as -22
//   "Block decode failed") → logged loudly; once every node has spoken and none holds
//   the block it is rejected, with the node's reason. accepted, duplicate, inconclusive
//   (and duplicate-inconclusive) only say the node holds the block: with Core the P2P
//   relay arrives first, so "duplicate" is the usual answer even for a sibling that never
//   became the tip. Transport failures are retried with back-off; before each retry the
//   node's chain is asked, and a block given up after give_up_after is abandoned.
// - the chain watch asks one node (the first that answers; each node has a second client
//   for these queries) for its best block every watch_interval, and when it changed
//   getblockhash at the height of each block whose fate is open:
//     the main chain holds the block   → accepted, with confirmations (tip − height + 1);
//                                        confirmed at coinbase_maturity (final)
//     another block at its height, the tip above it
//                                      → orphaned (it went out in time and lost, or a
//                                        reorganization took it out after it was accepted),
//                                        or stale when the chain already held a block at its
//                                        height when it was found (final)
//     another block at its height, the tip at it: a competitor that may still lose, so
//     the block stays pending; an accepted block that left the main chain is pending again.
//   Only the heights that can have changed are asked (a tip that extends the last one
//   changes none below it).
// - "when it was found": the highest chain height known at that moment, from the watch,
//   from settle() and from note_tip() (the owner feeds it the templates' heights).
// - settle() takes the P2P-validated chain's word the same way: a block that chain holds
//   is accepted (the RPC watch goes on counting its confirmations), one whose height it
//   passed with another block is orphaned or stale.
// Every change of fate is logged, counted and written to the journal; replay_journal()
// brings the history, the counters and `recent` back after a restart, sends the pending
// blocks again and goes on watching the accepted ones.
//
// Bounds (a runaway miner, e.g. header-only work at regtest difficulty, must not grow
// memory without bound, and no block that could still win may be dropped):
// - at most max_in_flight blocks (default max_pending_blocks) that are still being sent
//   (some node has neither taken nor refused them), that are journaled and that were sent
//   at least once by every path (relayed, and every node answered or failed its first
//   submitblock) are held in memory with their bytes and retried; beyond that such blocks
//   are PARKED, the highest heights first (a block's ancestors must reach the network
//   before it can). A parked block stays pending in the journal; memory keeps its hash
//   and height only; settle() still settles it; it is loaded back from the journal (on
//   the journal's background thread, at most refill_max_bytes per batch) and sent again,
//   lowest height first, once at most half of max_in_flight blocks are being sent (and on
//   every restart, by replay_journal).
// - a block whose sending is over (every node took or refused it) keeps no bytes: the
//   watch needs its hash and height only.
// - replay_journal sends the lowest max_in_flight pending blocks at once (as many as
//   refill_max_bytes allows) and parks the others straight away.
// - blocks not yet eligible (first round in progress, or journaling failed or not done:
//   memory holds their only copy) are never parked, so the count may exceed the bound by
//   those; and no block is parked while a higher one is still waiting to become eligible
//   (the order by height holds). Without a journal nothing is parked.
// - the journal bounds its file and its memory itself (journal.hpp).
//
// Threading: submit(), settle(), note_tip(), set_relay() and status() may be called from
// any thread. submit() takes a lock and posts the sending to the strand: it never waits for
// the disk or the network. Everything else runs on the strand; the journal record of a
// found block is queued there right after the block is sent (so that the journal's hex
// encoding and hashing never take a core from the sending) and written on the journal's
// thread. The first request to each node is logged once written (the found-block timeline:
// first bytes and all bytes, in ms after the block was found).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "sb/core/log.hpp"
#include "dispatch/dispatcher.hpp"
#include "dispatch/journal.hpp"
#include "sb/node/rpc_client.hpp"

namespace sb::bridge {

// ---- limits ------------------------------------------------------------------------

inline constexpr std::chrono::milliseconds submit_retry_initial{1'000};
inline constexpr std::chrono::milliseconds submit_retry_max{60'000};
// Retrying stops (the record stays in the journal as abandoned) after this long.
inline constexpr std::chrono::milliseconds submit_give_up_after{3 * 3'600'000};
// Deadline of one submitblock call (a node validating a big block takes seconds).
inline constexpr std::chrono::milliseconds submit_call_timeout{60'000};
// How often the chain watch asks the node for its best block while a fate is open.
inline constexpr std::chrono::milliseconds chain_watch_interval{5'000};
// Confirmations at which a block's coinbase can be spent (Bitcoin and Ravencoin): final.
inline constexpr std::uint32_t coinbase_maturity = 100;
// Blocks whose outcome the status keeps for the dashboard.
inline constexpr std::size_t max_recent_blocks = 32;
// Blocks held in memory and sent at once; more are parked (see above).
inline constexpr std::size_t max_pending_blocks = 1024;
// Block bytes one refill batch (or the replay at start-up) loads back from the journal.
inline constexpr std::size_t max_refill_bytes = 64u << 20;

// A found block's first submitblock request written to a node (the found-block timeline).
struct submit_written {
    hash256 hash{};        // internal order
    std::size_t node = 0;  // index in the submitter's nodes
    std::chrono::steady_clock::time_point found;  // submit() took the block
    node::request_written write;                  // its first and last write, its bytes
};

struct submitter_options {
    std::chrono::milliseconds retry_initial = submit_retry_initial;
    std::chrono::milliseconds retry_max = submit_retry_max;
    std::chrono::milliseconds give_up_after = submit_give_up_after;
    std::chrono::milliseconds call_timeout = submit_call_timeout;
    std::chrono::milliseconds watch_interval = chain_watch_interval;
    std::size_t max_in_flight = max_pending_blocks;
    std::size_t refill_max_bytes = max_refill_bytes;
    node::client_options client;  // for each node's submit and watch connections
    logger log;  // default: stderr
    // Called on the strand when the first submitblock request of a block found by submit()
    // has been written to a node (it is logged too). For tools (the found-block latency
    // benchmark); empty: not called.
    std::function<void(const submit_written&)> on_submit_written;
};

// One block's fate, for the dashboard.
struct submitted_block {
    std::uint32_t height = 0;
    hash256 hash{};  // internal order
    block_status status = block_status::pending;
    std::string reason;             // why it is rejected, orphaned or stale; the last error while pending
    std::uint32_t attempts = 0;     // submitblock calls sent, all nodes together (since start)
    std::uint32_t confirmations = 0;  // while accepted or once confirmed; 0 when unknown
    std::uint64_t found_time = 0;   // Unix seconds
    bool parked = false;            // pending in the journal only (see above)
};

// Every found block is counted under exactly one status, its current one: found is their
// sum. After a restart they come back from the journal (blocks older than its history
// still count, through its tally).
struct submitter_status {
    std::uint64_t found = 0;
    std::uint64_t pending = 0;
    std::uint64_t accepted = 0;
    std::uint64_t confirmed = 0;
    std::uint64_t orphaned = 0;
    std::uint64_t stale = 0;
    std::uint64_t rejected = 0;
    std::uint64_t abandoned = 0;
    std::uint64_t retries = 0;         // since start
    std::uint64_t journal_errors = 0;  // since start: records that could not be written
    std::uint64_t in_flight = 0;  // blocks held in memory and being sent now
    std::uint64_t parked = 0;     // blocks pending in the journal only (see above)
    std::uint64_t watched = 0;    // blocks sent whose fate the chain watch follows
    std::vector<submitted_block> recent;  // the newest max_recent_blocks found, oldest first
};

class submitter {
public:
    // The relay hook: the P2P side announces the block to its peers. Called on the strand;
    // the block is shared, not copied (keep what is needed of it, e.g. by the aliasing
    // constructor for its bytes).
    using relay_fn = std::function<void(const std::shared_ptr<const found_block>&)>;

    // nodes: every node that receives found blocks (chain_settings.nodes). jrnl may be
    // null (tests, or a data directory that cannot be written: blocks still go out).
    submitter(boost::asio::any_io_executor strand, std::vector<node::rpc_settings> nodes,
              std::shared_ptr<journal> jrnl, submitter_options options = {});
    // stop()
    ~submitter();
    submitter(const submitter&) = delete;
    submitter& operator=(const submitter&) = delete;

    // Sends the block by every path (on the strand) and queues its journal record. A block
    // already known (being sent, parked, or in the journal) is ignored: a duplicate share.
    void submit(found_block b);
    // The dispatcher's block sink: calls submit.
    block_sink sink();
    // Start-up, after the journal is opened and before submit(): restores counters and
    // recent from the journal, sends its pending blocks again (lowest heights first, at
    // most max_in_flight at once, the rest parked) and watches its accepted ones.
    void replay_journal();
    void set_relay(relay_fn relay);
    // The P2P-validated chain's word on a block whose fate is open here: accepted (that
    // chain holds it), or stale / orphaned (that chain passed its height with another
    // block; which of the two the block becomes is decided here, see above). Other
    // statuses, and unknown or final blocks, are ignored. Thread-safe; applied on the strand.
    void settle(const hash256& hash, block_status status, std::string reason);
    // Another path saw the chain reach this height (a template on top of it, a P2P tip):
    // a block found later at or below it is stale if it loses. Thread-safe, lock-free.
    void note_tip(std::uint32_t height);

    submitter_status status() const;
    // Closes the node connections and cancels retries and the watch. Idempotent.
    void stop();

private:
    class impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace sb::bridge
