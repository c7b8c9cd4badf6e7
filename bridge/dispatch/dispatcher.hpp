// The job dispatcher of one chain (DESIGN.md §3 "Jobs", "Shares"; stratum.md §3): turns
// block templates into jobs for every work consumer, gives each consumer its slice of the
// nonce space, and has its shares judged — the block check first, then the Stratum checks
// — handing blocks to a block sink (the submitter) and every verdict to a statistics sink.
//
// It is made of single-purpose parts: the chain's proof-of-work algorithm
// (algorithm.hpp: job construction, solution evaluation, block assembly), the extranonce
// space (extranonce_space.hpp), the job store and builder (job_store.hpp), the share judge
// (share_judge.hpp) and the best-tip tracker (tip_tracker.hpp); this class wires them and
// carries no per-coin branch.
//
// Locking: one mutex guards the consumer table, the extranonce space, the job store and
// the tip tracker; every public member takes it briefly and never calls out while holding
// it except to log: consumers (on_job) are called through posts to the executor, the
// block and statistics sinks after it is released, on the thread that submitted. A share
// takes the lock once, to find its consumer and job; it is then evaluated and judged
// outside it (the job's duplicate set has its own lock), so I/O threads judging shares at
// once hash in parallel and never wait behind a template.
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
#include "sb/core/log.hpp"
#include "dispatch/algorithm.hpp"
#include "dispatch/job.hpp"
#include "dispatch/job_store.hpp"
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
// Blocks on one parent handed to the block sink. Where the network target is trivial
// (regtest, testnet's 20-minute rule, a fresh signet) a miner finds blocks faster than the
// node can make the next template, and thousands of sibling blocks would all go to the
// node and the journal although only one can extend the parent; ours compete with each
// other. Beyond this many the shares are still blocks (answered accepted, counted,
// logged once per parent) but are not sent. On a network with real difficulty two blocks
// on one parent from one bridge do not happen.
inline constexpr std::size_t max_blocks_per_parent = 8;
// (The job store's limits are in job_store.hpp, the SHA-256d ntime window in algorithm.hpp.)

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
    logger log;  // default: stderr
    // Gets every judged share (stats/share_event.hpp); may be null.
    std::shared_ptr<stats::share_sink> share_sink;
    // The proof-of-work algorithm; null (the daemon): the chain's, algorithm_for(chain).
    // Tests of devices holding a dataset prefix give kawpow_mining_over_prefix().
    std::shared_ptr<const mining_algorithm> algorithm;
};

// The options for a configured chain.
dispatcher_options dispatcher_options_for(const config::chain_settings& chain);

// What add_consumer hands out.
struct consumer_slot {
    consumer_id id = 0;
    // Unique among live consumers, mining_algorithm::extranonce1_bytes() long (SHA-256d:
    // the coinbase's extranonce1; KAWPOW: the top bytes of the miner's 64-bit nonce).
    bytes extranonce1;
};

struct dispatcher_stats {
    std::uint64_t templates = 0;          // templates that made jobs
    std::uint64_t templates_unchanged = 0;  // equal in substance to the current one: no job
    std::uint64_t templates_behind = 0;   // refused: built on a tip older than the best
    std::uint64_t jobs_issued = 0;
    std::uint64_t blocks_found = 0;
    std::uint64_t blocks_not_sent = 0;  // siblings beyond max_blocks_per_parent (see there)
    std::uint64_t shares_accepted = 0;  // since start, including consumers that have left
    std::uint64_t shares_rejected = 0;
    std::uint32_t height = 0;  // of the current template, 0 before the first
    hash256 prev_block{};      // the tip the current template builds on (internal order)
    std::optional<chain_tip> best_tip;  // the best tip known from every path
    bool work_stale = false;   // a newer tip is known and no template for it arrived yet
    std::vector<consumer_slot> consumers;  // live consumers by id (per-consumer figures: the share sink)
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

    // Judges a share (share_judge.hpp for the order; the block check comes first and a
    // share that solved a block is accepted whatever else is wrong with it): consumer
    // known (unknown_consumer), job id among the consumer's payout jobs, stale ones
    // included (job_not_found, no block check: there is nothing to rebuild), then the
    // chain's algorithm evaluates it and the judge decides. A block goes to the block sink
    // before this returns; every verdict goes to the share sink.
    // SHA-256d: share.version is the header version (work.hpp), or, equally accepted, the
    // miner's raw version_bits with no bit outside the mask (BIP310 "bits only" form).
    // KAWPOW takes milliseconds (light evaluation; the first share of an epoch waits for
    // its context build, seconds): never call it from an I/O thread on a KAWPOW chain.
    share_result submit(consumer_id id, const submission& s);
    share_result submit_share(consumer_id id, const share& s) { return submit(id, submission(s)); }
    share_result submit_kawpow_share(consumer_id id, const kawpow_share& s) { return submit(id, submission(s)); }

    // The chain's proof-of-work algorithm.
    const mining_algorithm& algorithm() const noexcept;

    dispatcher_stats stats() const;

    // Cancels the refresh timer; no on_job is posted afterwards. Idempotent.
    void stop();

private:
    class impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace sb::bridge
