// The proof-of-work seam of the mining side (issue 12; DESIGN.md §1 "one proof-of-work
// interface"): everything about jobs, solutions and blocks that differs between SHA-256d
// (80-byte header, miners roll extranonce2/ntime/version and a 32-bit nonce) and KAWPOW
// (120-byte header, miners roll a 64-bit nonce and prove a mix hash). The dispatcher, the
// share judge and the job store call this interface and carry no per-coin branches; the
// header-level half (block hash of serialized bytes, header size) is sb/pow/algorithm.hpp,
// which the node client uses too.
//
// Implementations are stateless and thread-safe (one instance per algorithm, for the
// whole process): algorithm_for(chain).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>

#include "dispatch/job.hpp"
#include "dispatch/work.hpp"
#include "sb/core/bytes.hpp"
#include "sb/core/chain.hpp"
#include "sb/core/log.hpp"
#include "sb/core/result.hpp"
#include "sb/core/uint256.hpp"
#include "sb/node/template.hpp"
#include "sb/pow/algorithm.hpp"

namespace sb::bridge {

// SHA-256d ntime window after the job's ntime (ckpool: job_ntime ≤ ntime ≤ job_ntime + 7000).
inline constexpr std::uint32_t max_ntime_ahead_s = 7000;
// SHA-256d nonces tried for a header that misses the job's target (assemble_unsolved;
// at regtest's easiest target half of them do).
inline constexpr std::uint32_t max_unsolved_nonces = 256;

// A solution as a consumer submitted it: the SHA-256d Stratum fields, or KAWPOW's nonce,
// header hash and mix hash.
using submission = std::variant<share, kawpow_share>;

// The job id, username and share difficulty every submission carries.
const std::string& job_id_of(const submission& s) noexcept;
const std::string& worker_of(const submission& s) noexcept;
double difficulty_of(const submission& s) noexcept;

// What evaluating a submission against its job found.
struct solution {
    // Set when the submission cannot be evaluated at all (wrong kind for the job,
    // bad_extranonce2_size, bad_header_hash): no hash, no block check.
    std::optional<share_status> unusable;
    hash256 hash{};              // the block hash the solution's header has (internal order)
    uint256 value;               // the number compared with targets (hash read as a number)
    double hash_difficulty = 0;  // difficulty the hash achieved
    // KAWPOW: the claimed mix hash failed light verification (bad_mix_hash). Never a block.
    bool invalid = false;
    // The block, when the hash meets the job's network target and the solution is valid
    // (what submitblock takes); null otherwise. block_error says why a block could not be
    // assembled (logged loudly).
    std::optional<bytes> block;
    std::string block_error;
    // SHA-256d: the header version the miner hashed (BIP310 "bits only" form resolved).
    std::uint32_t header_version = 0;
};

// A block of a job without a valid proof of work (assemble_unsolved).
struct unsolved_block {
    bytes block;
    // SHA-256d: the header's hash (internal order) and whether it meets the job's target
    // all the same (true only when every one of max_unsolved_nonces nonces met it, as
    // at the easiest regtest targets). KAWPOW: nullopt and false (a zero mix hash proves
    // nothing, whatever the final hash it implies).
    std::optional<hash256> header_hash;
    bool meets_target = false;
};

class mining_algorithm {
public:
    virtual ~mining_algorithm() = default;

    // The header-level half (block hash, header size).
    virtual const pow::header_algorithm& headers() const noexcept = 0;
    std::string_view name() const noexcept { return headers().name(); }

    // Bytes of the slice of the nonce space each consumer owns, handed out as its
    // extranonce1: 4 (SHA-256d: in the coinbase); KAWPOW 2 (the top bytes of the miner's
    // 64-bit nonce, stratum.md §5).
    virtual std::size_t extranonce1_bytes() const noexcept = 0;

    // ---- jobs ---------------------------------------------------------------------------
    // Whether the block of t is mined with this algorithm (a Ravencoin template whose time
    // falls before the chain's KAWPOW activation is not). Errors: job_errc::wrong_algorithm.
    std::error_code can_mine(const node::block_template& t, const chain_params& chain) const noexcept;
    // The job for t. Errors: those of make_job (job.hpp).
    virtual result<job> make_job(std::shared_ptr<const node::block_template> t, const job_spec& spec) const = 0;
    // The job's header time moved (a refresh): recompute what depends on it (KAWPOW: the
    // header hash).
    virtual void retime(job& j, std::uint32_t ntime) const = 0;
    // A template became current: start what its first shares will need, off the caller's
    // thread (KAWPOW: the epoch contexts of its epoch and the next). Progress goes to log
    // while it lives: a build may outlast whoever started it.
    using log_ptr = std::weak_ptr<const logger>;
    virtual void prepare(const node::block_template& t, const log_ptr& log) const = 0;

    // ---- solutions ----------------------------------------------------------------------
    // Rebuilds and hashes (SHA-256d) or checks the claimed mix (KAWPOW: the final hash from
    // the mix first, the light evaluation only when the hash meets the share's or the
    // network target, so a worthless share never touches the DAG) and assembles the block
    // when the hash meets the job's network target. extranonce1 is the consumer's.
    // SHA-256d takes about a microsecond; KAWPOW milliseconds (seconds for the first share
    // of an epoch whose context is still being built): never call it from an I/O thread
    // for KAWPOW, and never under a lock.
    virtual solution evaluate(const job& j, byte_span extranonce1, const submission& s) const = 0;
    // The algorithm's own checks after the block check, in stratum.md order: those that
    // come before the stale-job check (KAWPOW: the nonce inside the consumer's range) and
    // those after it (SHA-256d: ntime window and BIP310 version bits). nullopt: passed.
    virtual std::optional<share_status> check_before_stale(const job& j, byte_span extranonce1,
                                                           const submission& s) const noexcept = 0;
    virtual std::optional<share_status> check_after_stale(const job& j, const submission& s,
                                                          const solution& sol) const noexcept = 0;

    // ---- proposals ----------------------------------------------------------------------
    // The block a solution of j would make, assembled as evaluate assembles it but with a
    // solution that is no proof of work, for a BIP23 proposal (the node checks everything
    // but the proof of work: the doctor's fire drill). SHA-256d: extranonces all zero and
    // the first nonce from 0 whose header misses j's target; KAWPOW: nonce 0 and a zero
    // mix hash. Errors: those of block assembly (job.hpp).
    virtual result<unsolved_block> assemble_unsolved(const job& j) const = 0;

    // ---- Stratum conventions ------------------------------------------------------------
    // The share target of a Stratum difficulty (both dialects use Bitcoin's difficulty-1
    // target, stratum.md §2.3 and §5), and the difficulty of a target.
    uint256 share_target(double difficulty) const noexcept;
    double difficulty_of_target(const uint256& target) const noexcept;
};

// The mining algorithm of chain's blocks (pow::mined_algorithm).
const mining_algorithm& algorithm_for(const chain_params& chain) noexcept;
const mining_algorithm& algorithm_of(pow_algorithm a) noexcept;

// KAWPOW whose light verification reads only the first dataset_items_1024 (at least
// pow::kawpow::min_dataset_items_1024) 1024-bit items of each epoch's dataset, as the GPU
// kernel tests do: for tests that mine on a device holding such a prefix (seconds to
// generate on a CPU OpenCL driver instead of most of an hour). Its shares and blocks are
// valid for that prefix only, never on a chain; the daemon never uses it.
std::shared_ptr<const mining_algorithm> kawpow_mining_over_prefix(std::uint32_t dataset_items_1024);

}  // namespace sb::bridge
