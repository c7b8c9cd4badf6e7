// The contract between the job dispatcher and the consumers of work (Stratum sessions,
// local GPU workers). The dispatcher owns jobs, extranonce1 allocation and share
// judgement; a consumer owns its connection, its difficulty and its job-id ↔ difficulty
// bookkeeping. (DESIGN.md §3, stratum.md §0 and §3.)
//
// Threading: every dispatcher member function is thread-safe and returns quickly (a share
// is hashed once, outside the dispatcher's lock; node calls happen elsewhere, after the
// reply). on_job is called from the dispatcher's executor; a consumer posts it to its own
// strand.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "dispatch/job.hpp"
#include "sb/core/bytes.hpp"
#include "sb/core/sha256.hpp"

namespace sb::bridge {

// A consumer of work as the dispatcher sees it.
class work_consumer {
public:
    virtual ~work_consumer() = default;
    // A new job for this consumer (its payout script's coinbase). j->clean tells whether
    // older jobs are now stale. Called at least every job_refresh_interval.
    virtual void on_job(std::shared_ptr<const job> j) = 0;
};

using consumer_id = std::uint64_t;

// One share as a consumer received it. Sizes are checked by the dispatcher.
struct share {
    std::string job_id;
    bytes extranonce2;
    std::uint32_t ntime = 0;
    std::uint32_t nonce = 0;
    // The header version the miner hashed: job version with rolled bits already applied
    // (apply_version_bits). version_mask is the BIP310 mask negotiated on the connection,
    // 0 when the miner may not roll.
    std::uint32_t version = 0;
    std::uint32_t version_mask = 0;
    // The share difficulty in force for this job on this connection (the one sent before
    // its notify), so a difficulty change never rejects shares of older jobs.
    double difficulty = 1.0;
    std::string worker;  // username as given, for statistics and logs
};

// A KAWPOW share as a consumer received it (stratum.md §5: the submit's nonce, header
// hash and mix hash, "0x" stripped and parsed).
struct kawpow_share {
    std::string job_id;
    std::uint64_t nonce = 0;  // the 64-bit nonce, the consumer's prefix in its top bytes
    hash256 header_hash{};    // as the miner sent it, progpow order
    hash256 mix_hash{};       // progpow order
    double difficulty = 1.0;  // share difficulty in force for this job on this connection
    std::string worker;
};

// Verdicts, in the order the checks run after the block check (stratum.md §3); the KAWPOW
// checks (§5) come last in the list but run before the block check, except bad_mix_hash,
// which is the light verification itself.
enum class share_status {
    accepted,
    job_not_found,          // Stratum 21
    duplicate,              // 22
    low_difficulty,         // 23
    bad_ntime,              // 20 "ntime out of range"
    bad_version,            // 20 "invalid version bits"
    bad_extranonce2_size,   // 20 "incorrect size of extranonce2"
    unknown_consumer,       // 25 "not subscribed"
    bad_header_hash,        // 20 "invalid header hash" (KAWPOW: not the job's)
    nonce_out_of_range,     // 24 "nonce out of worker range" (KAWPOW: another prefix)
    bad_mix_hash,           // 20 "invalid mix hash" (KAWPOW: light verification failed)
};
inline constexpr std::size_t share_status_count = 11;

struct share_result {
    share_status status = share_status::accepted;
    // True when the header met the network target: the block was handed to the
    // submitter whatever status says (a stale or duplicate share can still be a block).
    bool block = false;
    hash256 hash{};              // sha256d of the header (KAWPOW: final hash), internal order
    double hash_difficulty = 0;  // difficulty the hash achieved (diff-1 / hash)
    int stratum_code = 0;        // 0 when accepted, else 20..25
    std::string reason;          // short text for the error and "reject-reason"
};

// Stratum error code and message for a status (code 0 for accepted).
int stratum_error_code(share_status s) noexcept;
const char* stratum_error_message(share_status s) noexcept;

}  // namespace sb::bridge
