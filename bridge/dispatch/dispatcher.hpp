// The job dispatcher of one chain (DESIGN.md §3 "Jobs", "Shares"; stratum.md §3): turns
// block templates into jobs for every work consumer, owns extranonce1 allocation, and
// judges shares — the block check first, then the Stratum checks — handing blocks to a
// block sink (the submitter).
//
// Jobs are per payout script: in fixed-address mode every consumer mines the one payout
// script; in address-username mode each distinct script (set_payout) gets its own jobs,
// built when the script is first used and on every template while consumers use it.
//
// Locking: one mutex guards all state. Every public member takes it briefly and never
// calls out while holding it: consumers (on_job) are called through posts to the
// executor, and the block sink is called after the lock is released, on the thread that
// called submit_share. A share is hashed once outside the lock (one sha256d of the
// coinbase, the branch, one sha256d of the header: about a microsecond): the lock is held
// to find its job before, and to judge it (stale, ntime, version, duplicate, target) after.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include "dispatch/job.hpp"
#include "dispatch/tip_tracker.hpp"
#include "stats/share_event.hpp"
#include "dispatch/work.hpp"
#include "sb/config/config.hpp"
#include "sb/core/bytes.hpp"
#include "sb/core/chain.hpp"
#include "sb/node/template.hpp"

namespace sb::bridge {

// ---- limits ------------------------------------------------------------------------

// Every consumer gets a job with a new id at least this often (stratum.md §0 item 6).
inline constexpr std::chrono::milliseconds job_refresh_interval{30'000};
// Jobs of the current tip that stay valid per payout script (ckpool keeps older
// workbases of the same prevhash).
inline constexpr std::size_t max_live_jobs_per_payout = 16;
// Jobs remembered per payout script in all, stale ones included (so that a late share on
// the previous tip still gets its block check).
inline constexpr std::size_t max_jobs_per_payout = 32;
// Distinct shares remembered per job for the duplicate check (only shares that met their
// target count). A job that fills up turns stale (its shares get job_not_found) and its
// payout gets a fresh job at once.
inline constexpr std::size_t max_share_keys_per_job = 1u << 16;
// ntime window after the job's ntime (ckpool: job_ntime ≤ ntime ≤ job_ntime + 7000).
inline constexpr std::uint32_t max_ntime_ahead_s = 7000;
// Consensus bound on a header's time in the future (MAX_FUTURE_BLOCK_TIME, 2 h).
inline constexpr std::uint32_t max_future_block_time_s = 7200;

// ---- errors ------------------------------------------------------------------------

enum class dispatch_errc {
    ok = 0,
    unknown_consumer,       // no live consumer has this id
    payout_script_invalid,  // empty, or longer than max_payout_script_bytes
    payout_mismatch,        // fixed-address mode: a script other than the configured one
    template_invalid,       // on_template: no template
    job_build_failed,       // make_job failed for the template (see log)
    template_behind,        // the template builds on a tip older than the best known one
                            // (tip_tracker.hpp): not used; ask the node again
};
const std::error_category& dispatch_category() noexcept;
inline std::error_code make_error_code(dispatch_errc e) noexcept { return {static_cast<int>(e), dispatch_category()}; }

}  // namespace sb::bridge

template <>
struct std::is_error_code_enum<sb::bridge::dispatch_errc> : std::true_type {};

namespace sb::bridge {

// A block found by a share, as the block sink receives it.
struct found_block {
    std::uint32_t height = 0;
    hash256 hash{};        // internal order
    hash256 prev_block{};  // internal order
    bytes block;           // what submitblock takes (assemble_block)
    std::string job_id;
    consumer_id consumer = 0;
    std::string worker;
};
using block_sink = std::function<void(found_block)>;

struct dispatcher_options {
    std::string coinbase_tag = "/solobridge/";
    std::size_t extranonce2_size = 8;
    config::payout_mode payout_mode = config::payout_mode::fixed_address;
    bytes fixed_payout_script;  // fixed_address mode: required
    std::chrono::milliseconds job_refresh = job_refresh_interval;  // tests shrink it
    // How long the node may answer templates behind the best known tip before its tip is
    // followed anyway (tip_tracker.hpp); tests shrink it.
    std::chrono::milliseconds max_node_lag = default_max_node_lag;
    // Clock for ntime bumps on refresh (Unix seconds); tests pin it. Default: system clock.
    std::function<std::uint32_t()> unix_time;
    std::function<void(std::string_view)> log;  // default: stderr
    // Gets every judged share (stats/share_event.hpp); may be null.
    std::shared_ptr<stats::share_sink> share_sink;
};

// The options for a configured chain.
dispatcher_options dispatcher_options_for(const config::chain_settings& chain);

// What add_consumer hands out.
struct consumer_slot {
    consumer_id id = 0;
    // Unique among live consumers: default_extranonce1_bytes, or on KAWPOW chains
    // kawpow_nonce_prefix_bytes (the top bytes of the miner's 64-bit nonce).
    bytes extranonce1;
};

// KAWPOW sessions split the 64-bit nonce by a 2-byte prefix (stratum.md §5).
inline constexpr std::size_t kawpow_nonce_prefix_bytes = 2;

// Statistics of one consumer, for the dashboard.
struct consumer_stats {
    consumer_id id = 0;
    std::string worker;  // the last worker name seen in a share
    bytes extranonce1;
    std::uint64_t accepted = 0;
    double accepted_difficulty = 0;  // sum of the difficulties of accepted shares
    // Rejections by status (index: static_cast<size_t>(share_status)).
    std::array<std::uint64_t, share_status_count> rejected{};
    double best_share_difficulty = 0;
    std::uint64_t blocks = 0;
    std::optional<std::chrono::system_clock::time_point> last_share_at;
};

struct dispatcher_stats {
    std::uint64_t templates = 0;          // templates that made jobs
    std::uint64_t templates_unchanged = 0;  // equal in substance to the current one: no job
    std::uint64_t templates_behind = 0;   // refused: built on a tip older than the best
    std::uint64_t jobs_issued = 0;
    std::uint64_t blocks_found = 0;
    std::uint64_t shares_accepted = 0;  // since start, including consumers that have left
    std::uint64_t shares_rejected = 0;
    std::uint32_t height = 0;  // of the current template, 0 before the first
    hash256 prev_block{};      // the tip the current template builds on (internal order)
    std::optional<chain_tip> best_tip;  // the best tip known from every path
    bool work_stale = false;   // a newer tip is known and no template for it arrived yet
    std::vector<consumer_stats> consumers;
};

class dispatcher {
public:
    // strand: where on_job posts and the refresh timer run. chain: for parsing templates.
    // sink: gets every block a share finds (see submit_share).
    dispatcher(boost::asio::any_io_executor strand, const chain_params& chain, dispatcher_options options,
               block_sink sink);
    // stop()
    ~dispatcher();
    dispatcher(const dispatcher&) = delete;
    dispatcher& operator=(const dispatcher&) = delete;

    // Registers a consumer (held weakly: a consumer that dies just stops getting jobs;
    // call remove_consumer anyway to free its extranonce1). Returns id 0 (refused) only
    // when every extranonce1 is live: 65,536 consumers on a KAWPOW chain. No job is posted here: the
    // consumer asks current_job() when it is ready (after subscribe/authorize), and gets
    // on_job from then on. In fixed-address mode the consumer mines the fixed payout at
    // once; in address-username mode only after set_payout.
    consumer_slot add_consumer(std::shared_ptr<work_consumer> consumer);
    // Frees the id and its extranonce1. Unknown ids are ignored.
    void remove_consumer(consumer_id id);
    // The payout script (scriptPubKey) this consumer's blocks pay. Address-username mode:
    // builds the script's job from the current template when it has none yet.
    // Fixed-address mode: the configured script is accepted (no-op), others are refused.
    // Errors: unknown_consumer, payout_script_invalid, payout_mismatch, job_build_failed.
    std::error_code set_payout(consumer_id id, byte_span script_pubkey);
    // The newest job for this consumer; null before the first template, before set_payout
    // in address-username mode, or for an unknown id.
    std::shared_ptr<const job> current_job(consumer_id id) const;

    // A template, from the node (origin node) or built from P2P headers (origin
    // p2p_headers). It becomes work only when it builds on the best tip known from every
    // path (tip_tracker.hpp); otherwise template_behind is returned, nothing changes and
    // the caller asks the node again. A template equal in substance to the current one
    // (same_work: parent, transactions, coinbase value, ...) makes no job. A p2p_headers
    // template on the parent the node's current template already builds on is not used
    // either (the node's carries the transactions). Otherwise jobs are built for every
    // payout: clean when the parent differs from the last template's or on_new_tip()
    // made the jobs stale since; a new parent makes every older job stale (kept only for
    // the block check), otherwise the last max_live_jobs_per_payout jobs stay valid.
    // Every consumer with a payout gets on_job.
    // Errors: template_invalid (null), template_behind, job_build_failed (consumers keep
    // their current jobs).
    std::error_code on_template(std::shared_ptr<const node::block_template> t);
    // The P2P-validated chain's new best tip (its hash and height). When it is higher
    // than the best tip known (tip_tracker.hpp), current jobs are stale until a template
    // on it arrives, and true is returned: the caller fetches a template now. False when
    // the work already builds on it or it is not ahead (P2P still syncing).
    bool on_new_tip(const hash256& tip, std::uint32_t height);

    // Judges a share (stratum.md §3) in this order:
    //   consumer known (unknown_consumer), job id among the consumer's payout jobs,
    //   including stale ones (job_not_found, no block check: there is nothing to rebuild),
    //   extranonce2 size (bad_extranonce2_size: the header cannot be rebuilt) — then the
    //   header is rebuilt and hashed once and the BLOCK CHECK runs: hash ≤ the job's
    //   network target hands the assembled block to the sink before this returns,
    //   whatever the verdict — then job stale (job_not_found), ntime in [job.ntime,
    //   job.ntime + 7000] and ≥ mintime (bad_ntime), version bits outside the mask equal
    //   to the job's (bad_version, BIP310), duplicate (job, en1, en2, ntime, nonce,
    //   version) (duplicate), hash ≤ target_from_difficulty(difficulty) (accepted, else
    //   low_difficulty).
    // share.version is the header version (work.hpp), or, equally accepted, the miner's
    // raw version_bits with no bit outside the mask (BIP310 "bits only" form), which is
    // applied to the job's version. The "full version" form is the header version.
    share_result submit_share(consumer_id id, const share& s);

    // Judges a KAWPOW share (stratum.md §5), for chains whose jobs are KAWPOW: consumer
    // known, job id (job_not_found), header hash equal to the job's (bad_header_hash) —
    // then the final hash from the claimed mix (two keccak-f800); only when it meets the
    // share or the network target is the mix checked by light evaluation (bad_mix_hash),
    // so a worthless share never touches the DAG — then the BLOCK CHECK (a verified final
    // hash ≤ network target hands the 120-byte-header block to the sink whatever the
    // verdict), then the nonce's top 16 bits equal to the consumer's extranonce1
    // (nonce_out_of_range), job stale (job_not_found), share target (low_difficulty),
    // duplicate (same job and final hash) and accepted.
    // Takes milliseconds (light evaluation; the first share of an epoch waits for its
    // context build, seconds): never call it from an I/O thread. The lock is not held
    // during the verification.
    share_result submit_kawpow_share(consumer_id id, const kawpow_share& s);

    dispatcher_stats stats() const;

    // Cancels the refresh timer; no on_job is posted afterwards. Idempotent.
    void stop();

private:
    class impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace sb::bridge
