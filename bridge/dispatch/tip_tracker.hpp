// The best tip the dispatcher knows, from every path at once (issue 13 §1): the parent of
// each node template (getblocktemplate: poll, longpoll, a fetch after a new tip) and the
// P2P-validated header chain's tip. Work never moves backwards: a template whose parent is
// lower than the best known tip never becomes work (the caller asks the node again), so a
// late reply for an old tip — Bitcoin Core answers a fetch from its cached template
// before its UpdateTip, and the reply can land after the newer longpoll answer — cannot
// take miners back to a tip the network has left.
//
// Rules (heights are block heights: a template for height h builds on a parent at h - 1):
// - a template whose parent is the best tip is used;
// - one whose parent is higher than the best tip is used and its parent becomes the best
//   tip (the node saw a block before P2P did, or P2P is not configured);
// - one whose parent is at the best tip's height with another hash is used and its parent
//   becomes the best tip: two blocks of equal height have equal work within a retarget
//   period, and the node's first-seen choice is the tip it relays our block on top of;
// - one whose parent is lower is refused (`behind`), until the node has disagreed for
//   max_node_lag in a row: then it is used and its parent becomes the best tip. The node
//   is the authority on validity: a block whose header passed P2P checks may still be
//   invalid (the node rejects it and never builds on it), the operator may have called
//   invalidateblock, and on testnets a chain with more work can be shorter.
// - a P2P tip higher than the best tip becomes the best tip (`news`: current work is
//   stale); a P2P tip at or below the best tip's height changes nothing (P2P is still
//   syncing, or it is the tip the work already builds on, or a tie the node decided).
//
// Not thread-safe: the dispatcher calls it under its lock. No I/O, no clock of its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "sb/core/sha256.hpp"
#include "sb/core/test_access.hpp"

namespace sb::bridge {

// How long the node may keep answering templates on a lower parent than the best known
// tip before the node's tip is followed anyway. Long enough for a slow node (a Raspberry
// Pi validating a full block takes seconds), short enough that an invalid block announced
// over P2P costs seconds of work, not a block interval.
inline constexpr std::chrono::milliseconds default_max_node_lag{20'000};

struct chain_tip {
    hash256 hash{};  // internal order
    std::uint32_t height = 0;
    friend bool operator==(const chain_tip&, const chain_tip&) = default;
};

enum class template_verdict {
    on_best,      // builds on the best tip
    newer,        // builds on a tip higher than (or level with) the best one: now the best
    behind,       // builds on a lower tip: not to be used; ask the node again
    after_lag,    // lower, but the node has disagreed for max_node_lag: used, now the best
};

enum class p2p_verdict {
    news,     // a higher tip: current work is stale
    known,    // the best tip already
    ignored,  // at or below the best tip's height with another hash
};

class tip_tracker {
public:
    using clock = std::chrono::steady_clock;

    explicit tip_tracker(std::chrono::milliseconds max_node_lag = default_max_node_lag) : max_node_lag_(max_node_lag) {}

    // A node template for block height `height` (≥ 1) on `prev_block`, received at now.
    template_verdict on_template(const hash256& prev_block, std::uint32_t height, clock::time_point now);
    // The P2P header chain's new best tip (hash, its height).
    p2p_verdict on_p2p_tip(const hash256& hash, std::uint32_t height);

    std::optional<chain_tip> best() const noexcept { return best_; }

private:
    friend struct test::access<tip_tracker>;
    // Tests only (test::access): since when the node's templates have been behind the
    // best tip (no template used since); nullopt when the last template was used.
    std::optional<clock::time_point> behind_since() const noexcept { return behind_since_; }

    std::chrono::milliseconds max_node_lag_;
    std::optional<chain_tip> best_;
    std::optional<clock::time_point> behind_since_;
};

std::string_view to_string(template_verdict v) noexcept;

}  // namespace sb::bridge
