// The found-block journal (DESIGN.md §3 "Blocks"): every block a share produced is
// appended to a file in the data directory and fsync'ed BEFORE it is sent anywhere, so a
// crash between finding a block and delivering it loses nothing; a restart replays the
// records still pending. Records are append-only; later verdicts are appended as "mark"
// records and the file is compacted when it is opened and again while running.
//
// Bounds (the journal must not grow without bound, and must never lose a pending block):
// - compaction keeps every pending record and the newest max_journal_finished_records
//   finished ones; it writes a temporary file, fsyncs it, renames it over the journal and
//   fsyncs the directory, so a crash at any point leaves either the old or the new file,
//   both complete. While running, a mark() compacts once the bytes appended since the
//   last compaction exceed max(journal_compact_min_bytes, the file's size after it): the
//   file stays within about twice its live size plus that minimum. append_found never
//   compacts (it is on the found-block path, where latency matters).
// - memory holds one summary per entry (no block bytes): pending() reads the blocks back
//   from the file. Finished summaries beyond max_journal_finished_records are dropped
//   from memory at compaction, as from the file.
//
// Record format: one line of printable ASCII per record, fields separated by one space,
// the last field a check value over the rest of the line:
//
//   found <height> <hash> <unix_time> <block_hex> <check>
//   mark <hash> <status> <unix_time> <reason> <check>
//
//   hash      64 hex digits, display order (as explorers show it); for a found record it
//             must be the sha256d of the block's first 80 bytes
//   status    pending | accepted | rejected | stale | abandoned
//   reason    printable ASCII without spaces, at most max_journal_reason_chars, "-" if none
//   check     8 hex digits: the first 4 bytes of sha256d(everything before " <check>")
//
// The file is untrusted on read (a crash mid-write, a full disk, a hand edit): a record
// that does not parse, whose check fails, or that is cut short (the truncated tail) is
// skipped with a warning; nothing throws on its content.
//
// Threading: every member is thread-safe (one mutex). append_found and mark block the
// caller for a write and an fsync; they run once per found block (rare), which is why
// they stay on the caller's thread instead of a dedicated one: a thread hop would add
// latency to the one event where latency matters, and the durability guarantee is
// simplest to state when append_found returns only once the record is on disk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "sb/core/bytes.hpp"
#include "sb/core/result.hpp"
#include "sb/core/sha256.hpp"

namespace sb::bridge {

// ---- limits ------------------------------------------------------------------------

// Largest block a record may carry (Ravencoin's 8 MB size limit; Bitcoin's is 4 MB).
inline constexpr std::size_t max_journal_block_bytes = 8'000'000;
// Longest record line: the block hex plus the other fields.
inline constexpr std::size_t max_journal_line_bytes = 2 * max_journal_block_bytes + 256;
// Bytes read from a journal file when it is opened (compaction keeps it far smaller).
inline constexpr std::size_t max_journal_file_bytes = 256u << 20;
// Longest reason kept in a mark record (node reasons are short: "bad-txnmrklroot").
inline constexpr std::size_t max_journal_reason_chars = 128;
// Finished (not pending) records kept by compaction, newest first; pending ones are
// always kept.
inline constexpr std::size_t max_journal_finished_records = 1000;
// Runtime compaction starts once this many bytes (or the size after the last compaction,
// whichever is larger) were appended since the last one.
inline constexpr std::size_t journal_compact_min_bytes = 1u << 20;

// ---- records -----------------------------------------------------------------------

enum class block_status {
    pending,    // found, not yet accepted by any node
    accepted,   // a node said accepted or duplicate, or the block is in its chain
    rejected,   // a node rejected it (reason says why); kept, never retried
    stale,      // the chain moved past its height without it
    abandoned,  // retried for too long (or inconclusive too often) without a verdict
};
std::string_view to_string(block_status s) noexcept;

enum class journal_errc {
    ok = 0,
    record_invalid,     // a line that is not a record of the format above
    check_mismatch,     // the check value does not match the line
    block_invalid,      // block hex not hex, too short, too long, or hash ≠ its header hash
    line_too_long,      // more than max_journal_line_bytes
    io_error,           // open, write, fsync or rename failed (the message has errno's text)
    unknown_block,      // mark() for a hash that has no found record
};
const std::error_category& journal_category() noexcept;
inline std::error_code make_error_code(journal_errc e) noexcept { return {static_cast<int>(e), journal_category()}; }

}  // namespace sb::bridge

template <>
struct std::is_error_code_enum<sb::bridge::journal_errc> : std::true_type {};

namespace sb::bridge {

// One record as parsed from (or written to) a line.
struct journal_record {
    enum class kind { found, mark };
    kind type = kind::found;
    std::uint32_t height = 0;   // found only
    hash256 hash{};             // internal order
    std::uint64_t time = 0;     // Unix seconds
    bytes block;                // found only
    block_status status = block_status::pending;  // mark only (found implies pending)
    std::string reason;         // mark only; empty when none
};

// The line for a record, without the newline. The reason is sanitized (spaces and
// control characters become '_', cut to max_journal_reason_chars).
std::string format_journal_record(const journal_record& r);
// Parses one line (without its newline). Never throws. Errors: record_invalid,
// check_mismatch, block_invalid, line_too_long.
result<journal_record> parse_journal_record(std::string_view line);

// What a journal file holds after replay: the latest state of each block, in the order
// blocks were first found.
struct journal_entry {
    std::uint32_t height = 0;
    hash256 hash{};  // internal order
    std::uint64_t found_time = 0;
    bytes block;
    block_status status = block_status::pending;
    std::string reason;
    std::uint64_t status_time = 0;
};

struct journal_replay {
    std::vector<journal_entry> entries;
    std::size_t skipped = 0;       // lines skipped as invalid (each one warned about)
    bool truncated_tail = false;   // the last line had no newline (a cut write): skipped
};
// Replays journal text: found records create entries, mark records update them (a mark
// for an unknown block is skipped). warn, when set, gets one line per skipped record.
journal_replay replay_journal(std::string_view text, const std::function<void(std::string_view)>& warn = {});

// ---- the journal file --------------------------------------------------------------

class journal {
public:
    using log_fn = std::function<void(std::string_view)>;

    // Opens (creating it and its directory when missing) the journal at path, replays
    // it, and compacts it (rewrite to a temporary file, fsync, rename). Start-up only.
    // Errors: io_error when the file cannot be read or written.
    static result<std::unique_ptr<journal>> open(const std::string& path, log_fn log = {});

    journal(const journal&) = delete;
    journal& operator=(const journal&) = delete;
    ~journal();

    // Appends a found record and fsyncs it. Returns only once the record is durable (or
    // an io_error; the caller still sends the block: losing the journal is better than
    // losing the block). A block already journaled is not written again (no error).
    std::error_code append_found(std::uint32_t height, const hash256& hash, byte_span block, std::uint64_t time);
    // Appends a mark record (fsync'ed) and updates the entry. Errors: unknown_block, io_error.
    std::error_code mark(const hash256& hash, block_status status, std::string_view reason, std::uint64_t time);

    // Entries still pending (what a restart must send again), with their block bytes,
    // read back from the file (memory keeps no block bytes). A block whose found record
    // could not be written (io_error from append_found) is not among them.
    std::vector<journal_entry> pending() const;
    // All entries without their block bytes, for the dashboard.
    std::vector<journal_entry> entries() const;
    // Compacts the file now (see the bounds above). Errors: io_error (the old file is
    // kept and appending goes on there).
    std::error_code compact();
    // Bytes in the file now (what was written at the last compaction plus appends).
    std::uint64_t file_bytes() const;
    bool contains(const hash256& hash) const;
    // Records skipped as invalid when the file was opened.
    std::size_t skipped_at_open() const;
    const std::string& path() const noexcept { return path_; }

private:
    journal(std::string path, log_fn log);
    std::error_code append_line(const std::string& line);
    std::error_code compact_locked();
    journal_entry* find_locked(const hash256& hash);

    struct hash_hasher {
        std::size_t operator()(const hash256& h) const noexcept;
    };

    const std::string path_;
    const log_fn log_;
    mutable std::mutex mu_;  // guards everything below
    int fd_ = -1;
    std::vector<journal_entry> entries_;  // in the order found; never with block bytes
    std::unordered_map<hash256, std::size_t, hash_hasher> index_;  // hash → entries_ index
    std::size_t skipped_ = 0;
    std::uint64_t compacted_bytes_ = 0;  // file size right after the last compaction
    std::uint64_t appended_bytes_ = 0;   // appended since
};

// Unix seconds now, for record times.
std::uint64_t unix_now() noexcept;

}  // namespace sb::bridge
