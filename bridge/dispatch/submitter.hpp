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
// (abandoned, still in the journal) after give_up_after.
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

struct submitter_options {
    std::chrono::milliseconds retry_initial = submit_retry_initial;
    std::chrono::milliseconds retry_max = submit_retry_max;
    std::chrono::milliseconds give_up_after = submit_give_up_after;
    std::chrono::milliseconds call_timeout = submit_call_timeout;
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
    // Sends the journal's pending records again (start-up, after the journal is opened).
    void replay_journal();
    void set_relay(relay_fn relay);

    submitter_status status() const;
    // Closes the node connections and cancels retries. Idempotent.
    void stop();

private:
    class impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace sb::bridge
