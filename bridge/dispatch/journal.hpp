// The found-block journal (DESIGN.md §3 "Blocks"): every block a share produced is
// recorded in a file in the data directory, with every later change of its fate, so that
// a restart sends again the blocks still pending and brings back the history and the
// counters. Records are append-only; the file is compacted when it is opened and again
// while running.
//
// Never on the found-block path: append_found and mark only queue a record and return.
// A writer thread of the journal's own writes what is queued and fsyncs it (group commit:
// the records queued while one fsync runs are written together and made durable by the
// next). The caller learns of durability through the record's done callback, which runs
// on the writer thread. The sender does not wait for it: a found block goes on the wire
// at once and is on disk a few milliseconds later (one fsync); a crash in between loses
// the record of a block that is already out.
//
// Compaction runs on a thread of its own and never holds up a record: it builds the new
// file from what is durable up to an offset X (from memory and from the found records at
// their known offsets, so it never reads the whole file into memory, whatever its size),
// and only then hands it to the writer, which appends the records written after X, fsyncs,
// renames it over the journal and fsyncs the directory. A crash at any point leaves either
// the old file or the new one, both complete (tests/unit/bridge/journal_test.cpp kills a
// child process at each step to show it).
//
// Bounds (the journal must not grow without bound, and must never lose a pending block):
// - compaction keeps a pending block's found record (its bytes: it may have to be sent
//   again), a summary record without bytes for every other block, and drops the oldest
//   final blocks beyond max_finished into one tally record that keeps their count per
//   status (the counters survive; their history does not). While running, it starts once
//   the bytes appended since the last one exceed max(compact_min_bytes, the file's size
//   after it): the file stays within about twice its live size plus that minimum.
// - memory holds one summary per block (no block bytes); load() reads pending blocks back
//   from their offsets in the file, as many as a byte budget allows.
//
// Record format: one line of printable ASCII per record, fields separated by one space,
// the last field a check value over the rest of the line:
//
//   found <height> <hash> <unix_time> <block_hex> <check>
//   mark  <hash> <status> <unix_time> <reason> <check>
//   block <height> <hash> <found_time> <status> <status_time> <reason> <check>
//   tally <confirmed> <orphaned> <stale> <rejected> <abandoned> <check>
//
//   hash      64 hex digits, display order (as explorers show it); for a found record it
//             must be the hash the block-hash function gives for the block's bytes
//   status    pending | accepted | confirmed | orphaned | stale | rejected | abandoned
//   reason    printable ASCII, at most max_journal_reason_chars, "-" if none; a space (or
//             a control character) is written as '_' and every '_' reads back as a space
//   numbers   decimal without leading zeros
//   check     8 hex digits: the first 4 bytes of sha256d(everything before " <check>")
//
// Files written before block and tally records existed (found and mark only, statuses
// pending, accepted, rejected, stale, abandoned) read as they always did.
//
// The file is untrusted on read (a crash mid-write, a full disk, a hand edit): a record
// that does not parse, whose check fails, or that is cut short (the truncated tail) is
// skipped with a warning; nothing throws on its content. A line longer than
// max_journal_line_bytes is skipped without being held in memory.
//
// Threading: every public member is thread-safe. No member but open(), compact() and
// flush() waits for the disk.
#pragma once

#include <array>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <vector>

#include "sb/core/log.hpp"
#include "sb/core/bytes.hpp"
#include "sb/core/result.hpp"
#include "sb/core/sha256.hpp"
#include "sb/core/test_access.hpp"

namespace sb::bridge {

// ---- limits ------------------------------------------------------------------------

// Largest block a record may carry (Ravencoin's 8 MB size limit; Bitcoin's is 4 MB).
inline constexpr std::size_t max_journal_block_bytes = 8'000'000;
// Longest record line: the block hex plus the other fields.
inline constexpr std::size_t max_journal_line_bytes = 2 * max_journal_block_bytes + 256;
// Longest reason kept in a mark record (node reasons are short: "bad-txnmrklroot").
inline constexpr std::size_t max_journal_reason_chars = 128;
// Final blocks (see is_final) kept by compaction as summaries, newest first; the older
// ones only count in the tally record. Pending and accepted ones are always kept.
inline constexpr std::size_t max_journal_finished_records = 1000;
// Runtime compaction starts once this many bytes (or the size after the last compaction,
// whichever is larger) were appended since the last one.
inline constexpr std::size_t journal_compact_min_bytes = 1u << 20;

// ---- records -----------------------------------------------------------------------

// A found block's fate (submitter.hpp says how each is decided).
enum class block_status {
    pending,    // found and sent; not (yet) in the main chain, its height not passed
    accepted,   // in the node's main chain, fewer than coinbase_maturity confirmations
    confirmed,  // coinbase_maturity confirmations: final
    orphaned,   // the main chain passed its height with another block after it went out
                // (it lost a race, or a reorganization took it out): final
    stale,      // the chain already held a block at its height when it was found: final
    rejected,   // the node refused it (reason says why): final
    abandoned,  // no node gave a verdict before the submitter gave up: final
};
inline constexpr std::size_t block_status_count = 7;
std::string_view to_string(block_status s) noexcept;
// Parses the names above. nullopt for anything else.
std::optional<block_status> block_status_from_string(std::string_view s) noexcept;
// True for the statuses that never change again (confirmed, orphaned, stale, rejected,
// abandoned).
bool is_final(block_status s) noexcept;

enum class journal_errc {
    ok = 0,
    record_invalid,     // a line that is not a record of the format above
    check_mismatch,     // the check value does not match the line
    block_invalid,      // block hex not hex, too short, too long, or hash ≠ its block hash
    line_too_long,      // more than max_journal_line_bytes
    io_error,           // open, read, write, fsync or rename failed (logged with errno's text)
    unknown_block,      // mark() for a hash that has no found record
    closed,             // the journal is shutting down: the record was not written
};
const std::error_category& journal_category() noexcept;
inline std::error_code make_error_code(journal_errc e) noexcept { return {static_cast<int>(e), journal_category()}; }

}  // namespace sb::bridge

template <>
struct std::is_error_code_enum<sb::bridge::journal_errc> : std::true_type {};

namespace sb::bridge {

// The hash of a serialized block (internal order) as its chain names it: sha256d of the
// 80-byte header for Bitcoin, the KAWPOW final hash of the 120-byte header for Ravencoin.
// nullopt when the bytes are not a block this chain can hash (too short, say). Injected by
// the journal's owner; it must be thread-safe (the writer and compactor threads call it
// only through parse, at open, while nothing else runs).
using block_hash_fn = std::function<std::optional<hash256>(byte_span block)>;

// Per final status, in the order of the tally record.
inline constexpr std::array<block_status, 5> tally_statuses = {block_status::confirmed, block_status::orphaned,
                                                               block_status::stale, block_status::rejected,
                                                               block_status::abandoned};

// One record as parsed from (or written to) a line.
struct journal_record {
    enum class kind { found, mark, block, tally };
    kind type = kind::found;
    std::uint32_t height = 0;    // found, block
    hash256 hash{};              // internal order; found, mark, block
    std::uint64_t time = 0;      // Unix seconds: found (found time), mark, block (found time)
    bytes block;                 // found only
    block_status status = block_status::pending;  // mark, block (found implies pending)
    std::string reason;          // mark, block; empty when none
    std::uint64_t status_time = 0;  // block only
    std::array<std::uint64_t, tally_statuses.size()> tally{};  // tally only
};

// The line for a record, without the newline. The reason is sanitized (spaces and
// control characters become '_', cut to max_journal_reason_chars); parse gives '_' back
// as a space.
std::string format_journal_record(const journal_record& r);
// Parses one line (without its newline); block_hash checks a found record's hash. Never
// throws. Errors: record_invalid, check_mismatch, block_invalid, line_too_long.
result<journal_record> parse_journal_record(std::string_view line, const block_hash_fn& block_hash);

// The latest state of one block.
struct journal_entry {
    std::uint32_t height = 0;
    hash256 hash{};  // internal order
    std::uint64_t found_time = 0;
    bytes block;     // only from replay_journal and load()
    block_status status = block_status::pending;
    std::string reason;
    std::uint64_t status_time = 0;
};

// Blocks per status, including those compaction dropped into the tally (index:
// static_cast<std::size_t>(block_status)).
using journal_counts = std::array<std::uint64_t, block_status_count>;

struct journal_replay {
    std::vector<journal_entry> entries;  // in the order blocks were first found
    journal_counts tallied{};            // from tally records (blocks no longer listed)
    std::size_t skipped = 0;             // lines skipped as invalid (each one warned about)
    bool truncated_tail = false;         // the last line had no newline (a cut write): skipped
};
// Replays journal text: found and block records create entries (the first of a hash
// wins), mark records update them (a mark for an unknown block is skipped), tally records
// add up. warn, when set, gets one line per skipped record.
journal_replay replay_journal(std::string_view text, const block_hash_fn& block_hash,
                              const std::function<void(std::string_view)>& warn = {});

// Named steps of the writer and the compactor, for fault injection in tests.
enum class journal_step {
    batch_written,        // a batch is written, not yet fsync'ed
    batch_synced,         // a batch is fsync'ed, its done callbacks not yet called
    compact_file_built,   // the new file holds everything up to X and is fsync'ed
    compact_tail_copied,  // the records after X are appended and fsync'ed; not renamed yet
    compact_renamed,      // renamed over the journal; the directory not yet fsync'ed
};

struct journal_options {
    block_hash_fn block_hash;  // required
    logger log;  // default: stderr
    // Replaces ::fsync for the journal and its directory (tests and benchmarks: slow or
    // failing disks). Same contract as fsync(2): 0, or -1 with errno set.
    std::function<int(int fd)> fsync;
    // Called at each step above, on the thread taking it (tests: kill the process there).
    std::function<void(journal_step)> on_step;
    std::size_t compact_min_bytes = journal_compact_min_bytes;
    std::size_t max_finished = max_journal_finished_records;
};

// ---- the journal file --------------------------------------------------------------

class journal {
public:
    // Runs on the writer thread once the record is durable ({}), or could not be written
    // (io_error) or was never written (closed: the journal was destroyed first). Must not
    // block (post elsewhere what takes time) and must not call into this journal.
    using done_fn = std::function<void(std::error_code)>;

    // Opens (creating it and its directory when missing) the journal at path, replays it
    // (reading it line by line: any size), compacts it and starts the writer and
    // compactor threads. Start-up only: it reads and writes the whole file.
    // Errors: io_error when the file cannot be read or written; record_invalid when
    // options.block_hash is empty.
    static result<std::unique_ptr<journal>> open(const std::string& path, journal_options options);

    journal(const journal&) = delete;
    journal& operator=(const journal&) = delete;
    // Writes what is queued (flush), then stops the threads.
    ~journal();

    // Queues a found record for the block and returns at once. A block already in the
    // journal is not queued again (done still runs, once what was queued before is durable).
    void append_found(std::uint32_t height, const hash256& hash, std::shared_ptr<const bytes> block,
                      std::uint64_t time, done_fn done = {});
    // Queues a mark record and updates the entry at once. Errors: unknown_block (nothing
    // queued, done not called).
    std::error_code mark(const hash256& hash, block_status status, std::string_view reason, std::uint64_t time,
                         done_fn done = {});
    // Waits until every record queued before the call is written and fsync'ed. Errors:
    // io_error when one of them could not be written.
    std::error_code flush();

    // Reads the bytes of these blocks back from the file, in the given order: those that
    // are pending and whose found record is on disk; others are left out. Stops before the
    // bytes returned would pass max_bytes (the first block is always returned).
    std::vector<journal_entry> load(const std::vector<hash256>& hashes, std::size_t max_bytes) const;
    // load() on the journal's background thread (the one that compacts): done gets the
    // entries there (empty when the journal is destroyed first). For callers that must
    // never wait for the disk.
    void load_async(std::vector<hash256> hashes, std::size_t max_bytes,
                    std::function<void(std::vector<journal_entry>)> done);
    // All entries without their block bytes, in the order found.
    std::vector<journal_entry> entries() const;
    // Blocks per status, those compaction folded into the tally included.
    journal_counts counts() const;
    // Compacts the file now and waits for it. Errors: io_error (the old file is kept and
    // appending goes on there).
    std::error_code compact();
    bool contains(const hash256& hash) const;
    const std::string& path() const noexcept { return path_; }

private:
    friend struct test::access<journal>;
    // Tests only (test::access). Bytes in the file now (what is written; queued records
    // are not counted); records skipped as invalid when the file was opened.
    std::uint64_t file_bytes() const;
    std::size_t skipped_at_open() const;

    struct file_handle;
    struct entry_rec;
    struct queued;
    struct snapshot;
    struct built;
    struct load_request;

    journal(std::string path, journal_options options);
    std::error_code open_file();
    void writer_loop();
    void compactor_loop();
    bool write_batch(std::vector<queued>& batch);
    snapshot take_snapshot_locked() const;
    result<built> build(const snapshot& s) const;
    std::error_code install(built& b, std::uint64_t x);
    int do_fsync(int fd) const;
    void step(journal_step s) const;
    void log(std::string_view line) const;
    void log_error(std::string_view line) const;

    const std::string path_;
    journal_options options_;

    // Entries, offsets and the file generation.
    mutable std::mutex mu_;
    std::vector<entry_rec> entries_;                               // in the order found
    std::unordered_map<hash256, std::size_t, hash256_hasher> index_;  // hash → entries_ index
    journal_counts tallied_{};       // blocks folded into tally records
    std::shared_ptr<file_handle> file_;  // the current file (read by load() through pread)
    std::uint64_t file_end_ = 0;         // bytes written to it
    std::uint64_t compacted_bytes_ = 0;  // its size right after the last compaction
    std::size_t skipped_ = 0;

    // The queue between callers and the writer thread.
    std::mutex qmu_;
    std::condition_variable qcv_;     // the writer waits for work
    std::condition_variable flushed_; // flush() and compact() wait for progress
    std::vector<queued> queue_;
    std::uint64_t queued_seq_ = 0;    // records queued so far
    std::uint64_t durable_seq_ = 0;   // records the writer has finished (written or failed)
    std::uint64_t failures_ = 0;      // batches that could not be made durable
    std::uint64_t failures_reported_ = 0;  // of those, reported by flush()
    bool stopping_ = false;
    bool compact_asked_ = false;       // compact() wants one now
    std::uint64_t compactions_started_ = 0;
    std::uint64_t compactions_done_ = 0;  // installed or failed
    std::error_code last_compact_error_;
    std::unique_ptr<built> ready_;     // a compacted file waiting to be installed
    std::uint64_t ready_x_ = 0;        // the offset it was built up to

    // The background (compactor) thread's work, also under qmu_.
    std::condition_variable ccv_;
    std::unique_ptr<snapshot> to_build_;
    std::vector<load_request> loads_;
    bool compacting_ = false;          // a compaction is started and not yet installed or failed
    std::uint64_t compact_retry_at_ = 0;  // after a failure: not again before file_end_ passes it

    bool torn_ = false;  // writer thread only: a failed write left a partial line at the end

    std::thread writer_;
    std::thread compactor_;
};

// Unix seconds now, for record times.
std::uint64_t unix_now() noexcept;

}  // namespace sb::bridge
