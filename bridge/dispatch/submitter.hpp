// The block sink (DESIGN.md §3 "Blocks"; node.md §4.4): a found block is journaled
// (append + fsync) before anything else, then sent by every path at once — submitblock
// on each configured node, each over its OWN rpc_client so it never waits behind a
// template fetch or a longpoll, and the P2P relay hook — and retried until a node accepts
// it or the chain has moved past its height.
//
// Verdicts per node: accepted / duplicate → done, journal marked accepted; inconclusive
// → asked again up to max_inconclusive_retries times; rejected (or an RPC error such as
// -22 "Block decode failed") → logged loudly with the node's reason, journal marked
// rejected once no node accepted it; transport failures → retried with back-off; before
// each retry the node is asked (getblockchaininfo, getblockhash) whether its chain holds
// the block (→ accepted) or has moved past its height (→ stale). A block is given up
// (abandoned, still in the journal) after give_up_after. Each retry round of the first
// node also calls the relay hook again (P2P peers that connected since learn of the
// block; relaying is idempotent). A node's chain "has moved past" a block when it is
// higher than the block's height and holds another hash at that height; at equal height
// with another hash the block is a competitor that may still win, and is sent again.
//
// Other paths settle blocks too: settle() takes the P2P-validated chain's word (the app
// wires it to p2p_link's on_block_settled): a block that chain holds is accepted, one
// whose height it passed with another hash is stale — journal and status alike.
//
// Bounds (a runaway miner, e.g. header-only work at regtest difficulty, must not grow
// memory without bound, and no block that could still win may be dropped):
// - at most max_in_flight blocks (default max_pending_blocks) that were journaled and
//   sent at least once by every path (relayed, and every node answered or failed its
//   first submitblock) are held in memory and retried; beyond that such blocks are
//   PARKED, the highest heights first (a block's ancestors must reach the network
//   before it can). A parked block stays pending in the journal (never marked, never
//   dropped); memory keeps its hash and height only; settle() still settles it; it is
//   loaded back from the journal and sent again, lowest height first, in a batch that
//   fills the free slots once at most half of max_in_flight blocks are in flight (and
//   on every restart, by replay_journal). A batch reads the journal file once (its
//   pending blocks are in memory while the batch is picked).
// - replay_journal sends the lowest max_in_flight pending blocks at once and parks the
//   others straight away (they are on disk; a restart is no time for a burst of
//   thousands of submitblock calls): they follow as slots free, lowest heights first.
// - blocks not yet eligible (first round in progress, or journaling failed: memory holds
//   their only copy) are never parked, so the count may exceed the bound by those.
//   Without a journal nothing is parked.
// - blocks a chain has passed are settled as soon as either path knows (check_chain on
//   RPC, settle() from P2P), which frees their slots first.
// - the journal bounds its file and its memory itself (journal.hpp).
//
// Threading: submit() and set_relay() may be called from any thread; submit journals on
// the calling thread (see journal.hpp for why), everything else runs on the strand.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "dispatch/dispatcher.hpp"
#include "dispatch/journal.hpp"
#include "sb/node/rpc_client.hpp"

namespace sb::bridge {

// ---- limits ------------------------------------------------------------------------

inline constexpr int max_inconclusive_retries = 3;
inline constexpr std::chrono::milliseconds submit_retry_initial{1'000};
inline constexpr std::chrono::milliseconds submit_retry_max{60'000};
// Retrying stops (the record stays in the journal as abandoned) after this long.
inline constexpr std::chrono::milliseconds submit_give_up_after{3 * 3'600'000};
// Deadline of one submitblock call (a node validating a big block takes seconds).
inline constexpr std::chrono::milliseconds submit_call_timeout{60'000};
// Blocks whose outcome the status keeps for the dashboard.
inline constexpr std::size_t max_recent_blocks = 32;
// Blocks held in memory and retried at once; more are parked (see above).
inline constexpr std::size_t max_pending_blocks = 1024;

struct submitter_options {
    std::chrono::milliseconds retry_initial = submit_retry_initial;
    std::chrono::milliseconds retry_max = submit_retry_max;
    std::chrono::milliseconds give_up_after = submit_give_up_after;
    std::chrono::milliseconds call_timeout = submit_call_timeout;
    std::size_t max_in_flight = max_pending_blocks;
    node::client_options client;  // for each node's submit connection
    std::function<void(std::string_view)> log;  // default: stderr
};

// One block's outcome, for the dashboard.
struct submitted_block {
    std::uint32_t height = 0;
    hash256 hash{};  // internal order
    block_status status = block_status::pending;
    std::string reason;         // the node's reason when rejected, the last error otherwise
    std::uint32_t attempts = 0; // submitblock calls sent, all nodes together
};

struct submitter_status {
    std::uint64_t found = 0;
    std::uint64_t accepted = 0;
    std::uint64_t rejected = 0;
    std::uint64_t stale = 0;
    std::uint64_t abandoned = 0;
    std::uint64_t retries = 0;
    std::uint64_t journal_errors = 0;
    std::uint64_t in_flight = 0;  // blocks held in memory and retried now
    std::uint64_t parked = 0;     // blocks pending in the journal only (see above)
    std::vector<submitted_block> recent;  // newest last
};

class submitter {
public:
    // The relay hook: the P2P side announces the block to its peers. Called on the strand.
    using relay_fn = std::function<void(const found_block&)>;

    // nodes: every node that receives found blocks (chain_settings.nodes). jrnl may be
    // null (tests, or a data directory that cannot be written: blocks still go out).
    submitter(boost::asio::any_io_executor strand, std::vector<node::rpc_settings> nodes,
              std::shared_ptr<journal> jrnl, submitter_options options = {});
    // stop()
    ~submitter();
    submitter(const submitter&) = delete;
    submitter& operator=(const submitter&) = delete;

    // Journals the block (fsync) on this thread, then sends it on the strand. A block
    // already being submitted is ignored (a duplicate share of a block).
    void submit(found_block b);
    // The dispatcher's block sink: calls submit.
    block_sink sink();
    // Sends the journal's pending records again (start-up, after the journal is opened),
    // lowest heights first, at most max_in_flight at once (the rest parked, see above).
    void replay_journal();
    void set_relay(relay_fn relay);
    // Another path's word on a block still pending here (in flight or parked): accepted
    // (the P2P-validated chain holds it) or stale (that chain passed its height with
    // another block); other statuses and unknown or finished blocks are ignored.
    // Thread-safe; applied on the strand.
    void settle(const hash256& hash, block_status status, std::string reason);

    submitter_status status() const;
    // Closes the node connections and cancels retries. Idempotent.
    void stop();

private:
    class impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace sb::bridge
