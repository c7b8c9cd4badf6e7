// Judging one share (stratum.md §3 and §5; DESIGN.md §3 "Shares"), the same order for
// every algorithm: the solution is evaluated once (mining_algorithm::evaluate), then
//   1. nothing to evaluate (wrong kind, bad_extranonce2_size, bad_header_hash) → that;
//   2. the BLOCK CHECK: a hash that meets the job's network target is a block, assembled
//      and handed on whatever else is wrong with the share, and the share is answered
//      accepted (a stale, duplicate or low-difficulty share that solved a block is not
//      "rejected": the miner would be told the opposite of what the bridge did, issue 13
//      §3);
//   3. an invalid proof (KAWPOW's mix hash: bad_mix_hash);
//   4. the algorithm's checks before the stale check (KAWPOW: nonce range);
//   5. job stale (job_not_found);
//   6. the algorithm's checks after it (SHA-256d: ntime window, version bits);
//   7. duplicate (the job's set of shares that met their target);
//   8. share target (low_difficulty), else accepted and remembered for 7.
// Only shares that met their target are remembered, so the duplicate set grows with real
// work only: free random nonces can neither fill it nor make the job stale for every
// miner (a low-difficulty share sent twice is 23 both times).
#pragma once

#include <optional>
#include <string>

#include "dispatch/algorithm.hpp"
#include "dispatch/job_store.hpp"
#include "dispatch/work.hpp"

namespace sb::bridge {

struct judgement {
    share_result result;  // status, block flag, hash, difficulty, Stratum code and text
    // The assembled block when the share solved one; block_error when it could not be
    // assembled (to be logged loudly).
    std::optional<bytes> block;
    std::string block_error;
};

// Judges s on e's job for a consumer whose extranonce1 is extranonce1. Thread-safe: e's
// duplicate set has its own lock; nothing else is shared. Costs what evaluate() costs.
judgement judge_share(const mining_algorithm& algo, job_entry& e, byte_span extranonce1, const submission& s);

// The result for a share that never reached a job (unknown consumer, unknown job id).
share_result rejected(share_status why);

}  // namespace sb::bridge
