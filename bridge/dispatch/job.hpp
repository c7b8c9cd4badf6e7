// Stratum v1 jobs for SHA-256d chains: a template plus its coinbase split, merkle branch
// and header fields, the header rebuild of a submitted share exactly as miners do it
// (stratum.md §3), and the block that submitblock takes (node.md §4.3).
//
// Byte orders on the wire (stratum.md §2.5, pinned by the cpuminer capture):
//   prevhash      internal-order hash with the bytes of each 4-byte word reversed
//   coinb1/coinb2 serialized bytes
//   merkle_branch internal-order hashes (raw sha256d output)
//   version, nbits, ntime  8 hex digits, big-endian rendering of the uint32 (the header
//                          holds them little-endian)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dispatch/coinbase.hpp"
#include "dispatch/errors.hpp"
#include "sb/core/block.hpp"
#include "sb/core/bytes.hpp"
#include "sb/core/ravencoin.hpp"
#include "sb/core/result.hpp"
#include "sb/core/sha256.hpp"
#include "sb/core/uint256.hpp"
#include "sb/node/template.hpp"

namespace sb::bridge {

// Longest job id handed to miners (printable ASCII; cgminer checks it).
inline constexpr std::size_t max_job_id_chars = 32;

// The KAWPOW side of a Ravencoin job (stratum.md §5, gpu.md §2.3-2.4). KAWPOW miners roll
// a 64-bit nonce and never see the coinbase, so the job's coinbase carries a fixed
// extranonce (all zero bytes) and the 80-byte input and its header hash belong to the job
// alone; sessions split the nonce space by a prefix instead (their extranonce1).
struct kawpow_work {
    // LE32 version || prev_block || merkle_root || LE32 ntime || LE32 bits || LE32 height.
    std::array<std::uint8_t, ravencoin::kawpow_input_size> input{};
    hash256 header_hash{};  // progpow order: the Stratum notify[1] and RPC hex
    hash256 seed_hash{};    // ethash epoch seed (notify[2])
    int epoch = 0;          // height / 7500
};

struct job {
    std::string id;
    // The template the job came from; null for a job rebuilt from notify fields, which
    // can check shares but not assemble blocks.
    std::shared_ptr<const node::block_template> tmpl;
    hash256 prev_block{};                // internal order
    coinbase_split coinbase;
    std::vector<hash256> merkle_branch;  // internal order, bottom level first
    std::uint32_t version = 0;           // header nVersion before any rolling
    std::uint32_t bits = 0;
    std::uint32_t ntime = 0;             // max(curtime, mintime), Unix seconds
    bool clean = false;                  // clean_jobs: miners drop older jobs
    uint256 target;                      // network target of bits
    std::uint32_t height = 0;
    std::uint32_t mintime = 0;           // earliest header time the node accepts
    std::optional<kawpow_work> kawpow;   // set for KAWPOW jobs (make_kawpow_job)
};

// What a job is built from besides the template.
struct job_spec {
    std::string id;
    coinbase_spec coinbase;
    bool clean = false;
};

// Builds a job for t. Errors: no_template (t null), job_id_invalid, and those of
// build_coinbase.
result<job> make_job(std::shared_ptr<const node::block_template> t, const job_spec& spec);

// A KAWPOW job for t: make_job, then the coinbase's extranonce fixed to zeros and the
// 80-byte input, header hash and epoch seed computed. Errors: those of make_job.
result<job> make_kawpow_job(std::shared_ptr<const node::block_template> t, const job_spec& spec);
// (Re)computes j.kawpow from the job's fields, e.g. after its ntime moved.
void set_kawpow_work(job& j);

// The extranonce bytes a KAWPOW job's coinbase carries (extranonce1 ‖ extranonce2 sizes,
// all zero).
bytes kawpow_fixed_extranonce(const job& j);

// The 120-byte header of a KAWPOW job with a miner's nonce and mix hash (progpow order).
// Precondition: j.kawpow.
ravencoin::kawpow_header kawpow_header_for(const job& j, std::uint64_t nonce64, const hash256& mix_hash);

// The block for submitblock: the 120-byte header ‖ CompactSize(1 + txs) ‖ coinbase (with
// the fixed extranonce) ‖ template transactions. Errors: no_template, not_kawpow.
result<bytes> assemble_kawpow_block(const job& j, std::uint64_t nonce64, const hash256& mix_hash);

// The seven KAWPOW mining.notify params (stratum.md §5): job id, header hash, seed hash,
// share target (64 hex, big-endian), clean, height (a JSON integer), nbits (8 hex).
struct kawpow_notify_params {
    std::string job_id;
    std::string header_hash;
    std::string seed_hash;
    std::string target;
    bool clean_jobs = false;
    std::uint32_t height = 0;
    std::string nbits;
};
// Precondition: j.kawpow.
kawpow_notify_params to_kawpow_notify(const job& j, const uint256& share_target);

// The nine mining.notify params as strings (and the bool).
struct notify_params {
    std::string job_id;
    std::string prevhash;                    // stratum word order
    std::string coinb1;
    std::string coinb2;
    std::vector<std::string> merkle_branch;  // internal order
    std::string version;                     // 8 hex, big-endian
    std::string nbits;
    std::string ntime;
    bool clean_jobs = false;
};

notify_params to_notify(const job& j);

// A job from notify fields alone (tests, and checking shares of an upstream job): no
// template, so no block assembly; target from nbits; height and mintime 0.
// Errors: notify_invalid (a field of the wrong length or not hex, or nbits not a
// target), job_id_invalid, extranonce_size_invalid.
result<job> job_from_notify(const notify_params& n, std::size_t extranonce1_size, std::size_t extranonce2_size);

// prevhash in Stratum form: 64 hex digits, the internal-order bytes of each 4-byte word
// reversed (equivalently the display hash with its eight words in reverse order).
std::string prevhash_to_stratum(const hash256& prev_block);
// Inverse of prevhash_to_stratum. Errors: the hex errors of core (64 digits required).
result<hash256> prevhash_from_stratum(std::string_view prevhash_stratum);

// 8 lower-case hex digits, most significant first (version, nbits, ntime, nonce).
std::string u32_to_stratum_hex(std::uint32_t v);
// Inverse: exactly 8 hex digits, either case. Errors: the hex errors of core.
result<std::uint32_t> u32_from_stratum_hex(std::string_view hex);

// BIP310 version rolling: the job's bits outside mask, the miner's inside.
constexpr std::uint32_t apply_version_bits(std::uint32_t job_version, std::uint32_t version_bits,
                                           std::uint32_t mask) noexcept {
    return (job_version & ~mask) | (version_bits & mask);
}

// sha256d(coinb1 ‖ extranonce1 ‖ extranonce2 ‖ coinb2), internal order. The sizes must
// be the job's.
hash256 coinbase_txid(const job& j, byte_span extranonce1, byte_span extranonce2) noexcept;

// The header a miner hashed: version as given (already rolled), prev_block, the merkle
// root folded from the coinbase txid through the branch, ntime, the job's bits, nonce.
// Errors: extranonce_size_mismatch.
result<block_header> rebuild_header(const job& j, byte_span extranonce1, byte_span extranonce2,
                                    std::uint32_t ntime, std::uint32_t nonce, std::uint32_t version);

// The block for submitblock: header ‖ CompactSize(1 + template transactions) ‖ coinbase
// (BIP144 form with the reserved value when the job has a witness commitment) ‖ each
// template transaction's data verbatim. header must be rebuild_header's for the same
// extranonces. Errors: no_template, extranonce_size_mismatch.
result<bytes> assemble_block(const job& j, byte_span extranonce1, byte_span extranonce2,
                             const block_header& header);

}  // namespace sb::bridge
