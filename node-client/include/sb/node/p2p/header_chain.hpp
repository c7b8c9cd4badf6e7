// An in-memory tree of block headers with Core's contextual checks, most-work tip
// selection, locators, and an append-only file store. No I/O besides that file; not
// thread-safe (the peer uses it from its strand).
//
// Hashes are in internal byte order (sha256d output). Heights are block heights; times
// Unix seconds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "sb/core/block.hpp"
#include "sb/core/chain.hpp"
#include "sb/core/result.hpp"
#include "sb/core/sha256.hpp"
#include "sb/core/test_access.hpp"
#include "sb/core/uint256.hpp"
#include "sb/node/p2p/errors.hpp"
#include "sb/node/p2p/limits.hpp"
#include "sb/node/p2p/wire_header.hpp"

namespace sb::node::p2p {

// ---- next-work rules (Core / Ravencoin pow.cpp), usable on synthetic ancestors --------

struct header_info {
    std::int32_t height = 0;
    std::uint32_t time = 0;
    std::uint32_t bits = 0;
};
// The ancestor of the block being checked at a given height (≤ its parent's height);
// nullopt when that header is not held (an anchored chain).
using ancestor_fn = std::function<std::optional<header_info>(std::int32_t height)>;

// Bits required of the block after prev whose time is new_time: Bitcoin 2016-block
// retarget (first = last − 2015, clamp [T/4, 4T], capped at pow_limit), testnet3's
// 20-minute rule and last-non-min-difficulty walk, BIP94's first-block base, no change
// on regtest, Ravencoin DGW v3 from dgw_activation_height. nullopt when an ancestor it
// needs is missing: use permitted_difficulty_transition then.
std::optional<std::uint32_t> next_work_required(const chain_params& chain, const header_info& prev,
                                                std::uint32_t new_time, const ancestor_fn& ancestor);
// Ravencoin Dark Gravity Wave v3 (node.md §2.2), for the block after prev.
std::optional<std::uint32_t> dark_gravity_wave(const chain_params& chain, const header_info& prev,
                                               std::uint32_t new_time, const ancestor_fn& ancestor);
// Core's PermittedDifficultyTransition for a block at height whose parent has old_bits:
// any change on min-difficulty networks; elsewhere equal bits off the retarget
// boundary and at most ×4/÷4 (after compact rounding) on it. Ravencoin after DGW: any
// valid target (DGW has no cheap bound; node.md §3 "trust DGW until 180 headers").
bool permitted_difficulty_transition(const chain_params& chain, std::int32_t height, std::uint32_t old_bits,
                                     std::uint32_t new_bits);
// Median of times (Core's GetMedianTimePast over up to 11 blocks); 0 when empty.
std::int64_t median_time(std::span<const std::uint32_t> times);
// The time rules of ContextualCheckBlockHeader for a header at height: time above
// median_time_past (header_time_too_old), at most now_s + the chain's max future time
// for that height (header_time_too_new), and on BIP94 chains a period's first block no
// more than max_timewarp_s before its parent (header_timewarp). Empty when all hold.
std::error_code check_header_time(const chain_params& chain, std::int32_t height, std::uint32_t time,
                                  std::uint32_t prev_time, std::int64_t median_time_past, std::int64_t now_s);

// ---- KAWPOW proof of work (injected) -----------------------------------------------------

enum class kawpow_check : std::uint8_t {
    hash_only,  // final hash from the claimed mix (two keccak rounds): headers from our own store
    full,       // also the mix recomputed by light evaluation (epoch cache; ~20 ms): headers from peers
};
// Computes final_hash (progpow output order, i.e. display order) of a KAWPOW header from
// its claimed mix; with kawpow_check::full also recomputes the mix from the epoch's light
// cache and returns header_invalid_mix when it differs. The target is checked by the
// chain, not here. Called on the chain's strand; must not throw.
using kawpow_verifier =
    std::function<std::error_code(const ravencoin::kawpow_header& header, kawpow_check check, hash256& final_hash)>;

// ---- the tree -----------------------------------------------------------------------

struct header_entry {
    // Bitcoin: the header. Ravencoin KAWPOW: its 80-byte KAWPOW input (nonce = nHeight);
    // header_chain::wire() adds the nonce64/mix tail kept beside it.
    block_header header;
    hash256 hash{};
    std::int32_t height = 0;
    uint256 chain_work;        // cumulative, including this header
    std::uint32_t parent = 0;  // index in the tree; the root's parent is itself
};

// A change of best tip. fork_* is the last header the old and new active chains share
// (equal to old_* when the new tip simply extends the old one).
struct tip_change {
    hash256 old_tip{};
    std::int32_t old_height = 0;
    hash256 new_tip{};
    std::int32_t new_height = 0;
    hash256 fork_point{};
    std::int32_t fork_height = 0;
    bool reorg() const noexcept { return fork_point != old_tip; }
};

enum class add_status : std::uint8_t {
    added,        // valid, in the tree (with any stored children it connected)
    duplicate,    // already in the tree
    unconnected,  // parent unknown; kept (bounded) until the parent arrives
};

struct add_result {
    add_status status = add_status::added;
    std::size_t added = 0;          // headers newly in the tree
    std::optional<tip_change> tip;  // set when the best tip changed
};

class header_chain {
public:
    // A chain rooted at the network's genesis header.
    explicit header_chain(const chain_params& chain);
    // A chain rooted at a trusted anchor header with its height and cumulative work.
    // Ancestors of the anchor are unknown: checks that need them fall back as documented
    // at next_work_required, and the median-time-past rule applies once 11 headers
    // (the anchor included) are held below the new one.
    header_chain(const chain_params& chain, const block_header& anchor, std::int32_t height, const uint256& chain_work);
    // The same for any wire header (a KAWPOW header on Ravencoin), whose block hash the
    // caller has established (internal order; for KAWPOW the reversed final hash).
    header_chain(const chain_params& chain, const wire_header& anchor, const hash256& anchor_hash, std::int32_t height,
                 const uint256& chain_work);
    ~header_chain();
    // Forgets every header (and closes the store file) and starts again from a new root:
    // genesis, or an anchor as in the constructors above. The verifier and low-work
    // limits stay. For re-anchoring before any peer uses the chain.
    void reset_to_genesis();
    void reset_to_anchor(const wire_header& anchor, const hash256& anchor_hash, std::int32_t height,
                         const uint256& chain_work);
    header_chain(const header_chain&) = delete;
    header_chain& operator=(const header_chain&) = delete;

    // Validates and adds one header. now_s is the clock for the future-time rule.
    // Errors: header_high_hash, header_bad_diffbits, header_bad_version,
    // header_time_too_old, header_time_too_new (not remembered: may become valid),
    // header_timewarp, header_invalid_parent, header_unsupported_pow, on KAWPOW chains
    // header_bad_height and header_invalid_mix, header_low_work (a valid header
    // whose chain work is more than the low-work margin below the tip's, once the
    // low-work budget is spent; not remembered). Invalid hashes are remembered
    // (bounded) so their descendants fail fast.
    result<add_result> add(const block_header& h, std::int64_t now_s);
    // A headers message: must be continuous (header_not_continuous), then each is added
    // in order; stops at the first error. status is that of the first header.
    result<add_result> add_all(std::span<const block_header> headers, std::int64_t now_s);
    // The same for headers in the chain's wire layout. On Ravencoin a header must be
    // KAWPOW (else header_unsupported_pow) and a verifier must be set; its nHeight must be
    // its height (header_bad_height), its final hash meet the target (header_high_hash)
    // and its mix be right (header_invalid_mix; checked last, being the costly part).
    // DGW bits are checked exactly once 180 ancestors are held and trusted before.
    result<add_result> add(const wire_header& h, std::int64_t now_s);
    result<add_result> add_all(std::span<const wire_header> headers, std::int64_t now_s);

    // KAWPOW proof of work for Ravencoin chains; without one their headers are refused
    // with header_unsupported_pow. Set it before open_store.
    void set_kawpow_verifier(kawpow_verifier v) { verifier_ = std::move(v); }
    const kawpow_verifier& verifier() const noexcept { return verifier_; }
    // Block hashes whose kawpow_check::full already passed elsewhere (a worker thread,
    // see peer_settings::offload): their next add skips the light evaluation, every other
    // check still runs. Each is used once; at most max_preverified are kept.
    void note_verified(std::span<const hash256> hashes);
    // The block hash (internal order) of a header in this chain's layout: sha256d, or for
    // KAWPOW the reversed final hash from the claimed mix (kawpow_check::hash_only).
    // Errors: header_unsupported_pow (X16R, or KAWPOW without a verifier).
    result<hash256> hash_of(const wire_header& h) const;
    // An entry of this tree as the wire carries it (with its KAWPOW tail).
    wire_header wire(const header_entry& e) const;

    const chain_params& chain() const noexcept { return chain_; }
    const header_entry& tip() const noexcept { return nodes_[best_]; }
    const header_entry& root() const noexcept { return nodes_[0]; }
    // Header with this hash, or nullptr. Pointers stay valid until the next add.
    const header_entry* find(const hash256& hash) const;
    // The active-chain header at height, or nullptr outside [root height, tip height].
    const header_entry* at_height(std::int32_t height) const;
    bool contains(const hash256& hash) const { return find(hash) != nullptr; }
    std::size_t size() const noexcept { return nodes_.size(); }

    // Core's locator from the tip: 10 entries stepping back by 1, then doubling steps,
    // the root last; at most max_locator_entries.
    std::vector<hash256> locator() const;
    // Headers of the active chain after the first locator hash found on it (after the
    // root when none is), up to and including hash_stop, at most max_count, in the wire
    // layout (120-byte KAWPOW headers on Ravencoin).
    std::vector<wire_header> wire_headers_after(std::span<const hash256> locator, const hash256& hash_stop,
                                                std::size_t max_count) const;

    // Opens (creating) the store file in dir and replays it: headers re-validated in
    // order (KAWPOW headers with the cheap kawpow_check::hash_only: they were fully
    // checked when they arrived), the file truncated at the first short or invalid
    // record. From then on every added header is appended. Records are 80 bytes, 120 on
    // Ravencoin chains. An anchored chain's file also records its anchor (header, height,
    // chain work; see stored_anchor). A file of another chain or root is replaced.
    // Errors: std::errc values from the file system.
    std::error_code open_store(const std::filesystem::path& dir);
    // The store file's path for chain in dir.
    static std::filesystem::path store_path(const std::filesystem::path& dir, const chain_params& chain);

    // The anchor recorded in an anchored chain's store file in dir; nullopt when there is
    // no such file, it belongs to another network, or it is rooted at genesis.
    struct stored_anchor {
        wire_header header;
        hash256 hash{};
        std::int32_t height = 0;
        uint256 chain_work;
    };
    static std::optional<stored_anchor> read_store_anchor(const std::filesystem::path& dir, const chain_params& chain);

private:
    friend struct test::access<header_chain>;

    // Tests only (test::access). Headers waiting for their parent; headers stored while
    // their chain work was more than the margin below the tip's.
    std::size_t unconnected_count() const noexcept { return unconnected_.size(); }
    std::size_t low_work_count() const noexcept { return low_work_count_; }
    // Tests only. The low-work defence's limits (limits.hpp): a header whose cumulative
    // work is below the tip's minus margin_blocks × the tip's block work is low work; at
    // most max_headers such headers are stored over the chain's lifetime, later ones fail
    // with header_low_work. Headers replayed from the store are counted, never refused.
    void set_low_work_limits(std::int32_t margin_blocks, std::size_t max_headers) noexcept {
        low_work_margin_blocks_ = margin_blocks;
        max_low_work_headers_ = max_headers;
    }

    result<add_result> add_one(const wire_header& h, const hash256& hash, std::int64_t now_s, bool from_store);
    std::error_code validate(const wire_header& h, const hash256& hash, std::uint32_t parent, std::int64_t now_s,
                             bool from_store) const;
    std::vector<std::uint8_t> store_prefix() const;
    std::size_t store_record_bytes() const noexcept;
    std::optional<header_info> ancestor_info(std::uint32_t from, std::int32_t height) const;
    std::uint32_t ancestor(std::uint32_t from, std::int32_t height) const;
    void remember_invalid(const hash256& hash);
    std::optional<tip_change> update_best(std::uint32_t old_best);
    void append_to_store(const wire_header& h);
    void push_entry(const header_entry& e, const wire_header& w);
    void clear();

    const chain_params& chain_;
    std::vector<header_entry> nodes_;
    std::unordered_map<hash256, std::uint32_t, hash256_hasher> index_;
    std::vector<std::uint32_t> active_;  // active_[height - root height]
    std::uint32_t best_ = 0;
    std::vector<kawpow_tail> tails_;  // KAWPOW chains only: tails_[i] belongs to nodes_[i]
    kawpow_verifier verifier_;
    std::unordered_set<hash256, hash256_hasher> preverified_;
    bool anchored_ = false;
    bool root_kawpow_ = false;
    std::deque<std::pair<wire_header, hash256>> unconnected_;
    std::unordered_set<hash256, hash256_hasher> invalid_;
    std::deque<hash256> invalid_order_;
    std::FILE* store_ = nullptr;
    std::int32_t low_work_margin_blocks_ = p2p::low_work_margin_blocks;
    std::size_t max_low_work_headers_ = p2p::max_low_work_headers;
    std::size_t low_work_count_ = 0;
};

}  // namespace sb::node::p2p
