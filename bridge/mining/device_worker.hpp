// A local mining device as a work consumer of the dispatcher (DESIGN.md §3, issue 7
// "Device workers", issue 15 for KAWPOW). The worker registers with the dispatcher like a
// Stratum session (its own extranonce1 from add_consumer) and runs a searcher on its own
// thread. Two algorithms, one worker and one statistics interface (stats()):
//
// SHA-256d (sha256d_searcher): take the newest job → rebuild_header(job, en1, en2, job.ntime,
// nonce, job.version) → search batches of the nonce space (batch_size(intensity) nonces a
// call) → when the 2^32 nonces of a header are used up, en2 + 1 (a new coinbase, so a new
// merkle root). Every candidate is re-hashed on the CPU (core sha256d of the rebuilt
// header); one whose hash does not meet the work's target_word is a hardware error.
//
// KAWPOW (kawpow_searcher, Ravencoin): the worker's extranonce1 is the top bytes of the
// 64-bit nonce (2 bytes: its own 2^48 nonces, stratum.md §5); it searches the job's header
// hash at the job's height (the searcher runs that height's period program) over a counter
// that goes on across jobs (no nonce is searched twice for one header). The device holds the
// job's epoch dataset: a job of another epoch first makes the worker switch (state
// building_dag; the epoch context comes from pow::ethash::global_epoch_cache(), which the
// dispatcher fills ahead), and from kawpow_prepare_blocks before an epoch's end the next
// epoch's dataset is prepared beside the current one when device memory holds both (else the
// switch generates it at the boundary). Every candidate is light-verified on the CPU before it
// goes anywhere: the mix recomputed from the epoch's light cache with the program of the job
// the batch searched, and the final hash against the batch's boundary; a candidate that fails
// (a device fault, or a mix from another period's program or epoch's dataset) is a hardware
// error and never submitted. So an epoch or period change cannot submit work hashed with the
// wrong program: the verification uses the searched job's, and the dispatcher verifies again.
// The light verification takes milliseconds (about 20 ms at epoch 590) on this thread; the
// share difficulty keeps it to about one a share_interval.
//
// Both: a candidate that passes goes into the same dispatcher's submit, which runs the block
// check first (a block is found whatever the share difficulty) and judges it like an external
// miner's share.
//
// Job switch: a new job (clean or not) is taken at the next batch boundary, so the
// switch takes at most one search call. batch_size() is specified to keep a call around
// 50 ms, and the worker lowers its intensity when a call takes longer than
// max_batch_duration (100 ms; KAWPOW: when a batch at the searcher's measured rate would, so
// a period kernel's compile does not count): a clean job reaches the device within ~50 ms
// (at most 100 ms) plus the dispatcher's post. The unit tests measure it.
//
// Share difficulty: chosen from the measured hashrate so that a share arrives about
// every share_interval (5 s), clamped to the network difficulty (so every block is also
// a share) and to at least min_share_difficulty; sub-1 values are normal on small
// devices. It feeds the statistics (and, for KAWPOW, bounds the CPU's verification work).
//
// After a block is found, the worker pauses until a job on another tip arrives (a second
// block on the same parent could only orphan the first), or block_pause has passed (the
// node may have refused the block).
//
// Threading: start/stop/stats may be called from any thread. on_job arrives on the
// dispatcher's executor and only stores the job. A searcher error (device_lost,
// out_of_memory for an epoch's dataset, ...) stops this worker with a logged reason;
// nothing else is affected.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "sb/core/log.hpp"
#include "dispatch/dispatcher.hpp"
#include "sb/core/bytes.hpp"
#include "sb/gpu/device.hpp"
#include "sb/gpu/kawpow_device.hpp"

namespace sb::bridge::mining {

// ---- limits ------------------------------------------------------------------------

// The worker aims at one share this often (statistics only).
inline constexpr std::chrono::milliseconds share_interval{5'000};
// A search call longer than this lowers the intensity by one step (halves the batch), so
// that a job switch stays within ~50-100 ms whatever intensity was configured.
inline constexpr std::chrono::milliseconds max_batch_duration{100};
// The batch time batch_size() aims at; the first share difficulty assumes it.
inline constexpr std::chrono::milliseconds nominal_batch_duration{50};
// The share difficulty never goes below this (a target whose top word is 0xffff: one
// candidate in 65536 hashes at most), unless the network difficulty is lower.
inline constexpr double min_share_difficulty = 1.0 / 65536;
// How long the worker waits for a job on a new tip after it found a block.
inline constexpr std::chrono::milliseconds block_pause{5'000};
// Intensity range (the searchers' batch_size).
inline constexpr unsigned min_intensity = 1;
inline constexpr unsigned max_intensity = 32;
// KAWPOW: from this many blocks before an epoch's end the next epoch's dataset is prepared
// beside the current one (Ravencoin: about 20 minutes; a GPU generates one in seconds).
inline constexpr std::uint32_t kawpow_prepare_blocks = 20;

struct device_worker_options {
    unsigned intensity = 20;  // min_intensity..max_intensity
    // The payout script to set_payout (needed in address-username mode; in fixed-address
    // mode the configured script or empty).
    bytes payout_script;
    std::string worker_name;  // share.worker, e.g. "device opencl:0"
    std::chrono::milliseconds share_interval = mining::share_interval;  // tests shorten it
    double min_share_difficulty = mining::min_share_difficulty;        // tests lower it
    logger log;                          // default: stderr
    // KAWPOW: the 1024-bit items of each epoch's dataset the device holds and the worker
    // verifies against; 0 (the daemon): the whole dataset. Tests give a prefix of a few MiB,
    // with a dispatcher on kawpow_mining_over_prefix() of the same count.
    std::uint32_t kawpow_dataset_items_1024 = 0;
};

enum class device_worker_state {
    starting,      // not started yet
    waiting,       // no job (no template yet, or paused after a block)
    building_dag,  // KAWPOW: switching the device to the job's epoch dataset
    mining,
    stopped,   // stop() was called
    failed,    // the searcher failed; see last_error
};
const char* to_string(device_worker_state s) noexcept;

struct device_worker_stats {
    std::string device_id;  // "opencl:0"
    std::string device_name;
    std::string backend;
    std::string algorithm;  // "sha256d", "kawpo"
    device_worker_state state = device_worker_state::starting;
    std::string last_error;  // why the worker failed, "" otherwise
    consumer_id consumer = 0;
    bytes extranonce1;              // KAWPOW: the top bytes of every nonce the device searches
    std::uint64_t extranonce2 = 0;  // SHA-256d: the counter now in use
    unsigned intensity = 0;         // now in force (may be below the configured one)
    std::uint64_t hashes = 0;       // nonces scanned since start
    double hashrate_1m = 0;         // hashes/s, exponentially decayed over 1 and 5 minutes
    double hashrate_5m = 0;
    std::uint64_t batches = 0;             // search calls
    std::uint64_t candidates = 0;          // nonces the device reported
    std::uint64_t dropped_candidates = 0;  // beyond max_search_candidates
    std::uint64_t hardware_errors = 0;     // candidates the CPU check refused (never submitted)
    std::uint64_t shares_accepted = 0;
    std::uint64_t shares_rejected = 0;
    std::uint64_t blocks = 0;        // submitted shares the dispatcher found to be blocks
    double share_difficulty = 0;     // now in force
    std::string job_id;              // the job being searched (KAWPOW building_dag: the job the dataset is for), "" when none
    std::uint32_t job_height = 0;
    std::uint64_t jobs = 0;          // jobs switched to
    // KAWPOW: the dataset (DAG) on the device.
    int dag_epoch = -1;             // epoch of the dataset searches read; -1 before the first
    std::uint64_t dag_bytes = 0;    // its size on the device
    double dag_seconds = 0;         // its generation time on the device
    int dag_building_epoch = -1;    // the epoch being switched to (state building_dag), else -1
    double dag_progress = 0;        // fraction of that generation done (0..1)
    int dag_next_epoch = -1;        // the next epoch's dataset prepared beside it, else -1
    std::uint64_t dag_switches = 0;  // datasets switched to since start
};

class device_worker {
public:
    // The worker owns the searcher. Nothing runs until start(). SHA-256d chains take a
    // sha256d_searcher, KAWPOW chains a kawpow_searcher (the dispatcher's algorithm decides
    // which jobs it gets; a worker given jobs of the other kind stops with a reason).
    device_worker(std::shared_ptr<dispatcher> d, std::unique_ptr<gpu::sha256d_searcher> searcher,
                  device_worker_options options);
    device_worker(std::shared_ptr<dispatcher> d, std::unique_ptr<gpu::kawpow_searcher> searcher,
                  device_worker_options options);
    // stop()
    ~device_worker();
    device_worker(const device_worker&) = delete;
    device_worker& operator=(const device_worker&) = delete;

    // Registers with the dispatcher (add_consumer, set_payout when a payout script is
    // given) and starts the thread. Errors: unknown_consumer (the dispatcher had no
    // extranonce1 left) and those of set_payout; nothing is started then.
    std::error_code start();
    // Asks the thread to stop, waits for the search call in flight (at most one batch; a
    // KAWPOW dataset generation is abandoned within about
    // gpu::kawpow_max_generation_launch_seconds, and the searcher generates none afterwards),
    // joins it and frees the consumer slot. Idempotent.
    void stop();

    device_worker_stats stats() const;

private:
    struct state;
    std::shared_ptr<state> s_;
};

}  // namespace sb::bridge::mining
