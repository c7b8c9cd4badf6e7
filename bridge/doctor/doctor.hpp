// `solobridge doctor`: can this setup win a block? Everything a start needs, checked on
// the machine that will run the bridge, against the live nodes: the data directory, each
// listener bound for real, each device opened with its self-test, each node reached,
// authenticated, on the configured network, synced and serving templates with our rules
// — then a fire drill per node: a block assembled from a live template with the chain's
// real coinbase by the dispatcher's own code (make_job / assemble_block), proposed to
// the node with getblocktemplate mode "proposal" (BIP23), which checks everything but
// the proof of work and stores nothing.
//
// The drill's header deliberately misses the target (a nonce whose hash is above it), so
// a node that accepts it shows that it skipped proof of work, and the drill can never be
// a real block. bcoin 1.0.2 and Bitcoin Core answer null for a valid block and a reason
// string otherwise (node.md §4.1); a node without proposal mode gets a warn line, not a
// pass.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sb/config/config.hpp"
#include "sb/core/bytes.hpp"
#include "sb/core/sha256.hpp"
#include "sb/node/node_rpc.hpp"

namespace sb::bridge::doctor {

// How long the first call to a node may take before it counts as unreachable (the later
// calls use the node's rpc_timeout_ms: a proposal of a full block takes seconds).
inline constexpr std::chrono::milliseconds default_reach_timeout{5'000};
// Templates fetched for one node's fire drill when the tip moves under it (the node
// answers "inconclusive-not-best-prevblk").
inline constexpr int max_drill_attempts = 3;
// Header lag (headers - blocks) still counted as synced: a header can arrive just before
// its block.
inline constexpr std::uint64_t max_synced_header_lag = 2;

enum class outcome {
    ok,
    warn,  // not blocking, or not verifiable (e.g. a node without proposal mode)
    fail,  // this setup cannot start, or a block found now would be lost
    skip,  // not checked because an earlier check of the same thing failed
};
// "ok", "warn", "FAIL", "skip".
std::string_view to_string(outcome o) noexcept;

struct check {
    outcome result = outcome::ok;
    std::string subject;  // what was checked: "[regtest] node http://127.0.0.1:8332", "http 127.0.0.1:8080"
    std::string finding;  // what was found
    std::string fix;      // what to do (warn and fail only)
};

// One line: "ok    subject: finding", "FAIL  subject: finding; fix: fix".
std::string format_check(const check& c);

// What one fire drill did (for tests and the summary).
struct drill_record {
    std::string chain_id;
    std::string node_url;
    std::uint32_t height = 0;
    bool kawpow = false;
    // The proposed block's header hash, internal order (SHA-256d chains; zero for KAWPOW,
    // whose drill header carries a zero mix hash and so no valid proof of work either).
    hash256 block_hash{};
    bool header_meets_target = false;
    bool tampered = false;  // options::tamper_block changed the block
    // The node's verdict; nullopt when the node gave none (RPC or transport error).
    std::optional<node::proposal_verdict> verdict;
};

struct options {
    std::chrono::milliseconds reach_timeout = default_reach_timeout;
    // Called with each check as soon as it is decided (the CLI prints as it goes).
    std::function<void(const check&)> on_check;
    // Tests only: changes the drill block before it is proposed (e.g. a byte of the merkle
    // root), to show that the node's verdict decides the drill's line.
    std::function<void(bytes& block)> tamper_block;
};

struct report {
    std::vector<check> checks;
    std::vector<drill_record> drills;
    std::size_t count(outcome o) const noexcept;
    // No check failed: everything needed to win a block holds.
    bool ready() const noexcept { return count(outcome::fail) == 0; }
};

// Runs every check for s (a validated configuration) in this order: data directory,
// per chain payout and devices, every listener bound at once (as a start binds them),
// then per chain each node and its fire drill. Blocking; binds ports and opens devices
// only for the duration of the call. Never throws for anything the nodes or the system
// answer.
report examine(const config::settings& s, const options& opts = {});

// The name of the user this process runs as (effective uid), or "uid N".
std::string effective_user();

// Epochs of headroom below which a KAWPOW device that still holds the dataset gets a warn
// line: six epochs are 45,000 blocks, about a month at Ravencoin's one block a minute.
inline constexpr int kawpow_epoch_headroom_warn = 6;

// Whether a KAWPOW device whose memory holds datasets up to epoch last_epoch can mine the
// block at height next_height (the node's next block), and for how long: fail when that
// block's epoch needs a bigger dataset, warn when fewer than kawpow_epoch_headroom_warn
// epochs remain, ok otherwise. The finding names the epoch, the dataset's size, the last
// block the device can mine and about how many days away it is at spacing_s seconds a
// block. result, finding and fix are filled; subject is left to the caller.
check kawpow_epoch_fit(std::uint64_t next_height, int last_epoch, std::int64_t spacing_s);

}  // namespace sb::bridge::doctor
