#include "dispatch/journal.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sb/core/hex.hpp"

namespace sb::bridge {

namespace {

constexpr std::size_t check_hex_chars = 8;
constexpr std::size_t hash_hex_chars = 64;
// Bytes read or copied per system call when streaming a file.
constexpr std::size_t io_chunk_bytes = 1u << 20;

class journal_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "sb.journal"; }
    std::string message(int ev) const override {
        switch (static_cast<journal_errc>(ev)) {
            case journal_errc::ok: return "ok";
            case journal_errc::record_invalid: return "journal record does not parse";
            case journal_errc::check_mismatch: return "journal record check value mismatch";
            case journal_errc::block_invalid: return "journal record block is invalid";
            case journal_errc::line_too_long: return "journal record line too long";
            case journal_errc::io_error: return "journal file I/O failed";
            case journal_errc::unknown_block: return "no journal record for this block";
            case journal_errc::closed: return "journal closed before the record was written";
        }
        return "unknown journal error";
    }
};

std::string check_of(std::string_view body) {
    const hash256 h = sha256d(byte_span(reinterpret_cast<const std::uint8_t*>(body.data()), body.size()));
    return to_hex(byte_span(h.data(), 4));
}

std::string sanitize_reason(std::string_view reason) {
    std::string out;
    for (char c : reason.substr(0, max_journal_reason_chars)) out += (c > 0x20 && c < 0x7f) ? c : '_';
    return out.empty() ? "-" : out;
}

// A reason field as read back: empty for "-", '_' shown as the space it stands for.
std::string reason_from_field(std::string_view field) {
    if (field == "-") return {};
    std::string out(field);
    std::replace(out.begin(), out.end(), '_', ' ');
    return out;
}

// The reason as memory keeps it: what a reopen will read back.
std::string kept_reason(std::string_view reason) { return reason_from_field(sanitize_reason(reason)); }

// Splits on single spaces; empty fields make the record invalid.
std::vector<std::string_view> split_fields(std::string_view line, std::size_t max_fields) {
    std::vector<std::string_view> out;
    while (out.size() < max_fields) {
        const std::size_t sp = line.find(' ');
        out.push_back(line.substr(0, sp));
        if (sp == std::string_view::npos) return out;
        line.remove_prefix(sp + 1);
    }
    out.push_back(line);  // too many fields: the caller sees the count
    return out;
}

// Decimal without leading zeros (so that a record that parses formats back to itself).
template <class T>
bool parse_uint(std::string_view s, T& out) {
    if (s.empty() || s.size() > 20 || (s.size() > 1 && s[0] == '0')) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// Only the form format_journal_record writes: a line with another spelling of the same
// record (upper-case hex) is not the journal's, whatever its check says.
bool lower_hex(std::string_view s) noexcept {
    return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool parse_hash_display(std::string_view s, hash256& out) {
    if (s.size() != hash_hex_chars || !lower_hex(s)) return false;
    auto h = from_hex_fixed<32>(s);
    if (!h) return false;
    std::reverse_copy(h->begin(), h->end(), out.begin());
    return true;
}

bool parse_reason(std::string_view s, std::string& out) {
    if (s.size() > max_journal_reason_chars) return false;
    for (char c : s)
        if (c <= 0x20 || c >= 0x7f) return false;
    out = reason_from_field(s);
    return true;
}

std::string with_check(std::string body) {
    const std::string check = check_of(body);
    body += ' ';
    body += check;
    return body;
}

std::string found_line(std::uint32_t height, const hash256& hash, std::uint64_t time, byte_span block) {
    std::string body;
    body.reserve(2 * block.size() + 128);
    body += "found ";
    body += std::to_string(height);
    body += ' ';
    body += to_hex_reversed(hash);
    body += ' ';
    body += std::to_string(time);
    body += ' ';
    body += to_hex(block);
    return with_check(std::move(body));
}

std::string mark_line(const hash256& hash, block_status s, std::uint64_t time, std::string_view reason) {
    return with_check("mark " + to_hex_reversed(hash) + ' ' + std::string(to_string(s)) + ' ' + std::to_string(time) +
                      ' ' + sanitize_reason(reason));
}

std::string block_line(std::uint32_t height, const hash256& hash, std::uint64_t found_time, block_status s,
                       std::uint64_t status_time, std::string_view reason) {
    return with_check("block " + std::to_string(height) + ' ' + to_hex_reversed(hash) + ' ' + std::to_string(found_time) +
                      ' ' + std::string(to_string(s)) + ' ' + std::to_string(status_time) + ' ' +
                      sanitize_reason(reason));
}

std::string tally_line(const journal_counts& tallied) {
    std::string body = "tally";
    for (auto s : tally_statuses) body += ' ' + std::to_string(tallied[static_cast<std::size_t>(s)]);
    return with_check(std::move(body));
}

std::string errno_text(const char* what, const std::string& path) {
    return std::string(what) + " " + path + ": " + std::strerror(errno);
}

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

bool pread_all(int fd, char* out, std::size_t size, std::uint64_t offset) {
    while (size > 0) {
        const ssize_t n = ::pread(fd, out, size, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        out += n;
        size -= static_cast<std::size_t>(n);
        offset += static_cast<std::uint64_t>(n);
    }
    return true;
}

// What applying one record did, for callers that keep more per entry (offsets).
struct applied {
    enum class what { created, updated, ignored, tallied } how = what::ignored;
    std::size_t index = 0;
};

// Applies a parsed record to entries (the replay rules in journal.hpp). keep_bytes: found
// records keep their block in the entry.
applied apply_record(journal_record& r, std::vector<journal_entry>& entries,
                     std::unordered_map<hash256, std::size_t, hash256_hasher>& index, journal_counts& tallied,
                     bool keep_bytes, bool& unknown_mark) {
    unknown_mark = false;
    using kind = journal_record::kind;
    if (r.type == kind::tally) {
        for (std::size_t i = 0; i < tally_statuses.size(); ++i)
            tallied[static_cast<std::size_t>(tally_statuses[i])] += r.tally[i];
        return {applied::what::tallied, 0};
    }
    const auto found = index.find(r.hash);
    if (r.type == kind::found || r.type == kind::block) {
        if (found != index.end()) return {applied::what::ignored, found->second};  // the first wins
        index.emplace(r.hash, entries.size());
        journal_entry e;
        e.height = r.height;
        e.hash = r.hash;
        e.found_time = r.time;
        if (r.type == kind::found) {
            if (keep_bytes) e.block = std::move(r.block);
            e.status_time = r.time;
        } else {
            e.status = r.status;
            e.reason = std::move(r.reason);
            e.status_time = r.status_time;
        }
        entries.push_back(std::move(e));
        return {applied::what::created, entries.size() - 1};
    }
    if (found == index.end()) {
        unknown_mark = true;
        return {applied::what::ignored, 0};
    }
    journal_entry& e = entries[found->second];
    e.status = r.status;
    e.reason = std::move(r.reason);
    e.status_time = r.time;
    return {applied::what::updated, found->second};
}

}  // namespace

const std::error_category& journal_category() noexcept {
    static const journal_category_impl c;
    return c;
}

std::string_view to_string(block_status s) noexcept {
    switch (s) {
        case block_status::pending: return "pending";
        case block_status::accepted: return "accepted";
        case block_status::confirmed: return "confirmed";
        case block_status::orphaned: return "orphaned";
        case block_status::stale: return "stale";
        case block_status::rejected: return "rejected";
        case block_status::abandoned: return "abandoned";
    }
    return "unknown";
}

std::optional<block_status> block_status_from_string(std::string_view s) noexcept {
    for (std::size_t i = 0; i < block_status_count; ++i) {
        const auto st = static_cast<block_status>(i);
        if (s == to_string(st)) return st;
    }
    return std::nullopt;
}

bool is_final(block_status s) noexcept {
    return s != block_status::pending && s != block_status::accepted;
}

std::uint64_t unix_now() noexcept {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

std::string format_journal_record(const journal_record& r) {
    switch (r.type) {
        case journal_record::kind::found: return found_line(r.height, r.hash, r.time, r.block);
        case journal_record::kind::mark: return mark_line(r.hash, r.status, r.time, r.reason);
        case journal_record::kind::block:
            return block_line(r.height, r.hash, r.time, r.status, r.status_time, r.reason);
        case journal_record::kind::tally: {
            journal_counts c{};
            for (std::size_t i = 0; i < tally_statuses.size(); ++i) c[static_cast<std::size_t>(tally_statuses[i])] = r.tally[i];
            return tally_line(c);
        }
    }
    return {};
}

result<journal_record> parse_journal_record(std::string_view line, const block_hash_fn& block_hash) {
    if (line.size() > max_journal_line_bytes) return journal_errc::line_too_long;
    const std::size_t last_sp = line.rfind(' ');
    if (last_sp == std::string_view::npos || line.size() - last_sp - 1 != check_hex_chars)
        return journal_errc::record_invalid;
    const std::string_view body = line.substr(0, last_sp);
    if (check_of(body) != line.substr(last_sp + 1)) return journal_errc::check_mismatch;

    const auto f = split_fields(body, 7);
    for (auto s : f)
        if (s.empty()) return journal_errc::record_invalid;
    journal_record r;
    if (f[0] == "found") {
        if (f.size() != 5) return journal_errc::record_invalid;
        r.type = journal_record::kind::found;
        if (!parse_uint(f[1], r.height) || !parse_hash_display(f[2], r.hash) || !parse_uint(f[3], r.time))
            return journal_errc::record_invalid;
        if (f[4].size() > 2 * max_journal_block_bytes || !lower_hex(f[4])) return journal_errc::block_invalid;
        auto block = from_hex(f[4], 2 * max_journal_block_bytes);
        if (!block) return journal_errc::block_invalid;
        const std::optional<hash256> h = block_hash ? block_hash(*block) : std::nullopt;
        if (!h || *h != r.hash) return journal_errc::block_invalid;
        r.block = std::move(*block);
        return r;
    }
    if (f[0] == "mark") {
        if (f.size() != 5) return journal_errc::record_invalid;
        r.type = journal_record::kind::mark;
        const auto st = block_status_from_string(f[2]);
        if (!parse_hash_display(f[1], r.hash) || !st || !parse_uint(f[3], r.time) || !parse_reason(f[4], r.reason))
            return journal_errc::record_invalid;
        r.status = *st;
        return r;
    }
    if (f[0] == "block") {
        if (f.size() != 7) return journal_errc::record_invalid;
        r.type = journal_record::kind::block;
        const auto st = block_status_from_string(f[4]);
        if (!parse_uint(f[1], r.height) || !parse_hash_display(f[2], r.hash) || !parse_uint(f[3], r.time) || !st ||
            !parse_uint(f[5], r.status_time) || !parse_reason(f[6], r.reason))
            return journal_errc::record_invalid;
        r.status = *st;
        return r;
    }
    if (f[0] == "tally") {
        if (f.size() != 1 + tally_statuses.size()) return journal_errc::record_invalid;
        r.type = journal_record::kind::tally;
        for (std::size_t i = 0; i < tally_statuses.size(); ++i)
            if (!parse_uint(f[1 + i], r.tally[i])) return journal_errc::record_invalid;
        return r;
    }
    return journal_errc::record_invalid;
}

journal_replay replay_journal(std::string_view text, const block_hash_fn& block_hash,
                              const std::function<void(std::string_view)>& warn) {
    journal_replay out;
    std::unordered_map<hash256, std::size_t, hash256_hasher> index;
    std::size_t line_no = 0;
    while (!text.empty()) {
        ++line_no;
        const std::size_t nl = text.find('\n');
        if (nl == std::string_view::npos) {
            // A write cut short by a crash: the record never completed.
            out.truncated_tail = true;
            ++out.skipped;
            if (warn) warn("line " + std::to_string(line_no) + ": truncated tail skipped");
            break;
        }
        const std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl + 1);
        if (line.empty()) continue;
        auto r = parse_journal_record(line, block_hash);
        if (!r) {
            ++out.skipped;
            if (warn) warn("line " + std::to_string(line_no) + ": " + r.error().message() + ", skipped");
            continue;
        }
        bool unknown = false;
        apply_record(*r, out.entries, index, out.tallied, true, unknown);
        if (unknown) {
            ++out.skipped;
            if (warn) warn("line " + std::to_string(line_no) + ": mark for an unknown block, skipped");
        }
    }
    return out;
}

// ---- journal internals -------------------------------------------------------------

// An open generation of the journal file; closed when the last reader lets go of it (a
// compaction renames a new file over the path while load() may still read the old one).
struct journal::file_handle {
    int fd = -1;
    explicit file_handle(int f) : fd(f) {}
    ~file_handle() {
        if (fd >= 0) ::close(fd);
    }
    file_handle(const file_handle&) = delete;
    file_handle& operator=(const file_handle&) = delete;
};

struct journal::entry_rec {
    journal_entry e;  // the latest state queued (what callers see); never with bytes
    // What the current file holds for this block (the state a compaction writes):
    bool on_disk = false;        // a found or block record of it is in the file
    bool found_on_disk = false;  // its found record is, at found_offset (found_len bytes, no newline)
    std::uint64_t found_offset = 0;
    std::uint64_t found_len = 0;
    block_status disk_status = block_status::pending;
    std::string disk_reason;
    std::uint64_t disk_status_time = 0;
};

struct journal::queued {
    enum class kind { found, mark, barrier };
    kind type = kind::barrier;
    hash256 hash{};
    std::uint32_t height = 0;
    std::uint64_t time = 0;
    std::shared_ptr<const bytes> block;
    block_status status = block_status::pending;
    std::string reason;
    done_fn done;
};

// What a compaction works from: the file's durable state up to x.
struct journal::snapshot {
    struct item {
        hash256 hash{};
        std::uint32_t height = 0;
        std::uint64_t found_time = 0;
        bool found_on_disk = false;
        std::uint64_t found_offset = 0;
        std::uint64_t found_len = 0;
        block_status status = block_status::pending;
        std::string reason;
        std::uint64_t status_time = 0;
    };
    std::shared_ptr<file_handle> file;  // may be null (no file yet)
    std::uint64_t x = 0;
    std::vector<item> items;  // blocks with a record in [0, x), in the order found
    journal_counts tallied{};
};

// A compacted file, written and fsync'ed, not yet renamed over the journal.
struct journal::built {
    int fd = -1;  // O_APPEND, readable
    std::uint64_t size = 0;
    std::vector<std::pair<hash256, std::uint64_t>> found_offsets;  // kept found records' new offsets
    std::vector<hash256> dropped;  // folded into the tally
    journal_counts tallied{};
    built() = default;
    built(built&& o) noexcept
        : fd(std::exchange(o.fd, -1)),
          size(o.size),
          found_offsets(std::move(o.found_offsets)),
          dropped(std::move(o.dropped)),
          tallied(o.tallied) {}
    built& operator=(built&&) = delete;
    ~built() {
        if (fd >= 0) ::close(fd);
    }
};

struct journal::load_request {
    std::vector<hash256> hashes;
    std::size_t max_bytes = 0;
    std::function<void(std::vector<journal_entry>)> done;
};


journal::journal(std::string path, journal_options options) : path_(std::move(path)), options_(std::move(options)) {
}

void journal::log(std::string_view line) const { options_.log(line); }
void journal::log_error(std::string_view line) const { options_.log.error(line); }

int journal::do_fsync(int fd) const { return options_.fsync ? options_.fsync(fd) : ::fsync(fd); }

void journal::step(journal_step s) const {
    if (options_.on_step) options_.on_step(s);
}

namespace {

// Streams the file at fd line by line from offset 0: on_line(line, offset) for each
// complete line of at most max_journal_line_bytes (longer ones are reported through
// on_skip and never held whole), then on_tail for an unterminated last line. Memory: one
// line and one chunk. False on a read error.
bool stream_lines(int fd, const std::function<void(std::string_view, std::uint64_t)>& on_line,
                  const std::function<void(std::string_view)>& on_skip, bool& truncated_tail) {
    truncated_tail = false;
    std::string line;
    std::uint64_t line_start = 0, pos = 0;
    bool overlong = false;
    std::vector<char> buf(io_chunk_bytes);
    for (;;) {
        const ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;
        if (n == 0) break;
        std::string_view chunk(buf.data(), static_cast<std::size_t>(n));
        while (!chunk.empty()) {
            const std::size_t nl = chunk.find('\n');
            const std::string_view part = chunk.substr(0, nl);
            if (!overlong) {
                if (line.size() + part.size() > max_journal_line_bytes) {
                    overlong = true;
                    std::string().swap(line);
                } else {
                    line.append(part);
                }
            }
            pos += part.size();
            if (nl == std::string_view::npos) break;
            ++pos;  // the newline
            chunk.remove_prefix(nl + 1);
            if (overlong) on_skip("a line longer than max_journal_line_bytes");
            else if (!line.empty()) on_line(line, line_start);
            line.clear();
            overlong = false;
            line_start = pos;
        }
    }
    if (overlong || !line.empty()) truncated_tail = true;
    return true;
}

}  // namespace

result<std::unique_ptr<journal>> journal::open(const std::string& path, journal_options options) {
    if (!options.block_hash) return journal_errc::record_invalid;
    std::unique_ptr<journal> j(new journal(path, std::move(options)));
    const std::filesystem::path p(path);
    std::error_code fs_ec;
    if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), fs_ec);
    if (auto ec = j->open_file()) return ec;
    j->writer_ = std::thread([jp = j.get()] { jp->writer_loop(); });
    j->compactor_ = std::thread([jp = j.get()] { jp->compactor_loop(); });
    return j;
}

// Start-up: replays the file line by line (keeping offsets, not bytes), compacts it into
// a new file and makes that the current one.
std::error_code journal::open_file() {
    std::shared_ptr<file_handle> old;
    std::uint64_t old_size = 0;
    if (int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
        old = std::make_shared<file_handle>(fd);
        std::vector<journal_entry> entries;
        std::unordered_map<hash256, std::size_t, hash256_hasher> index;
        std::vector<entry_rec> recs;
        journal_counts tallied{};
        std::size_t line_no = 0, skipped = 0;
        bool truncated = false;
        const bool read_ok = stream_lines(
            fd,
            [&](std::string_view line, std::uint64_t offset) {
                ++line_no;
                auto r = parse_journal_record(line, options_.block_hash);
                if (!r) {
                    ++skipped;
                    log("line " + std::to_string(line_no) + ": " + r.error().message() + ", skipped");
                    return;
                }
                const auto type = r->type;
                bool unknown = false;
                const applied a = apply_record(*r, entries, index, tallied, false, unknown);
                if (unknown) {
                    ++skipped;
                    log("line " + std::to_string(line_no) + ": mark for an unknown block, skipped");
                    return;
                }
                if (a.how == applied::what::created) {
                    entry_rec rec;
                    rec.on_disk = true;
                    if (type == journal_record::kind::found) {
                        rec.found_on_disk = true;
                        rec.found_offset = offset;
                        rec.found_len = line.size();
                    }
                    recs.push_back(std::move(rec));
                }
            },
            [&](std::string_view why) {
                ++line_no;
                ++skipped;
                log("line " + std::to_string(line_no) + ": " + std::string(why) + ", skipped");
            },
            truncated);
        if (!read_ok) {
            log_error(errno_text("cannot read", path_));
            return journal_errc::io_error;
        }
        if (truncated) {
            ++skipped;
            log("line " + std::to_string(line_no + 1) + ": truncated tail skipped");
        }
        struct stat st{};
        if (::fstat(fd, &st) == 0) old_size = static_cast<std::uint64_t>(st.st_size);
        for (std::size_t i = 0; i < entries.size(); ++i) {
            recs[i].e = std::move(entries[i]);
            recs[i].disk_status = recs[i].e.status;
            recs[i].disk_reason = recs[i].e.reason;
            recs[i].disk_status_time = recs[i].e.status_time;
            index_.emplace(recs[i].e.hash, i);
        }
        entries_ = std::move(recs);
        tallied_ = tallied;
        skipped_ = skipped;
    } else if (errno != ENOENT) {
        log_error(errno_text("cannot read", path_));
        return journal_errc::io_error;
    }
    file_ = old;
    file_end_ = old_size;
    snapshot s = take_snapshot_locked();
    auto b = build(s);
    if (!b) return b.error();
    return install(*b, old_size);
}

journal::snapshot journal::take_snapshot_locked() const {
    snapshot s;
    s.file = file_;
    s.x = file_end_;
    s.tallied = tallied_;
    s.items.reserve(entries_.size());
    for (const auto& r : entries_) {
        if (!r.on_disk) continue;
        snapshot::item it;
        it.hash = r.e.hash;
        it.height = r.e.height;
        it.found_time = r.e.found_time;
        it.found_on_disk = r.found_on_disk;
        it.found_offset = r.found_offset;
        it.found_len = r.found_len;
        it.status = r.disk_status;
        it.reason = r.disk_reason;
        it.status_time = r.disk_status_time;
        s.items.push_back(std::move(it));
    }
    return s;
}

// Writes the compacted file for snapshot s (see the bounds in journal.hpp) to path.tmp and
// fsyncs it. Reads only the found records it keeps, one at a time.
result<journal::built> journal::build(const snapshot& s) const {
    built b;
    b.tallied = s.tallied;
    // Final blocks beyond max_finished, oldest first, are folded into the tally.
    std::vector<bool> drop(s.items.size(), false);
    std::size_t finals = 0;
    for (std::size_t i = s.items.size(); i-- > 0;) {
        if (!is_final(s.items[i].status) || ++finals <= options_.max_finished) continue;
        drop[i] = true;
        ++b.tallied[static_cast<std::size_t>(s.items[i].status)];
        b.dropped.push_back(s.items[i].hash);
    }
    const std::string tmp = path_ + ".tmp";
    b.fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (b.fd < 0) {
        log_error(errno_text("cannot create", tmp));
        return journal_errc::io_error;
    }
    std::string out;
    bool ok = true;
    auto emit = [&](bool force) {
        if (!ok || (!force && out.size() < io_chunk_bytes)) return;
        ok = write_all(b.fd, out);
        b.size += out.size();
        out.clear();
    };
    bool any_tally = false;
    for (auto c : b.tallied) any_tally = any_tally || c != 0;
    if (any_tally) out += tally_line(b.tallied) + "\n";
    std::string line;
    for (std::size_t i = 0; i < s.items.size() && ok; ++i) {
        if (drop[i]) continue;
        const auto& it = s.items[i];
        if (it.status == block_status::pending && it.found_on_disk && s.file) {
            // The found record, byte for byte: a pending block keeps its bytes.
            line.resize(static_cast<std::size_t>(it.found_len));
            if (!pread_all(s.file->fd, line.data(), line.size(), it.found_offset)) {
                log_error(errno_text("cannot read a found record of", path_));
                ok = false;
                break;
            }
            emit(true);
            if (!ok) break;
            b.found_offsets.emplace_back(it.hash, b.size);
            ok = write_all(b.fd, line) && write_all(b.fd, "\n");
            b.size += line.size() + 1;
        } else {
            out += block_line(it.height, it.hash, it.found_time, it.status, it.status_time, it.reason) + "\n";
            emit(false);
        }
    }
    std::string().swap(line);
    emit(true);
    if (!ok || do_fsync(b.fd) != 0) {
        if (ok) log_error(errno_text("cannot fsync", tmp));
        else log_error(errno_text("cannot write", tmp));
        ::unlink(tmp.c_str());
        return journal_errc::io_error;
    }
    step(journal_step::compact_file_built);
    return b;
}

// On the writer thread (or at open): appends what the old file holds past x to the
// compacted file, fsyncs it, renames it over the journal, fsyncs the directory and makes
// it the current file.
std::error_code journal::install(built& b, std::uint64_t x) {
    const std::string tmp = path_ + ".tmp";
    std::shared_ptr<file_handle> old;
    std::uint64_t end = 0;
    {
        std::lock_guard lock(mu_);
        old = file_;
        end = file_end_;
    }
    const std::uint64_t base = b.size;
    bool ok = true;
    if (old && end > x) {
        std::string chunk;
        for (std::uint64_t at = x; at < end && ok;) {
            chunk.resize(static_cast<std::size_t>(std::min<std::uint64_t>(io_chunk_bytes, end - at)));
            ok = pread_all(old->fd, chunk.data(), chunk.size(), at) && write_all(b.fd, chunk);
            at += chunk.size();
        }
        if (!ok) log_error(errno_text("cannot copy the journal's tail to", tmp));
        else if (do_fsync(b.fd) != 0) {
            log_error(errno_text("cannot fsync", tmp));
            ok = false;
        }
        if (ok) step(journal_step::compact_tail_copied);
    }
    if (ok && ::rename(tmp.c_str(), path_.c_str()) != 0) {
        log_error(errno_text("cannot rename", tmp));
        ok = false;
    }
    if (!ok) {
        ::unlink(tmp.c_str());
        return journal_errc::io_error;
    }
    step(journal_step::compact_renamed);
    // The rename is durable only once the directory is synced.
    const std::filesystem::path p(path_);
    const std::string dir = p.has_parent_path() ? p.parent_path().string() : std::string(".");
    if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
        if (do_fsync(dfd) != 0) log_error(errno_text("cannot fsync the directory of", path_));
        ::close(dfd);
    }

    std::lock_guard lock(mu_);
    auto fresh = std::make_shared<file_handle>(b.fd);
    b.fd = -1;
    std::unordered_map<hash256, std::uint64_t, hash256_hasher> moved(b.found_offsets.begin(), b.found_offsets.end());
    std::unordered_map<hash256, bool, hash256_hasher> dropped;
    for (const auto& h : b.dropped) dropped.emplace(h, true);
    std::vector<entry_rec> kept;
    kept.reserve(entries_.size() - std::min(entries_.size(), b.dropped.size()));
    for (auto& r : entries_) {
        if (dropped.count(r.e.hash) && is_final(r.e.status)) continue;
        if (r.found_on_disk) {
            if (r.found_offset >= x) {
                r.found_offset = r.found_offset - x + base;  // written after x: in the copied tail
            } else if (auto it = moved.find(r.e.hash); it != moved.end()) {
                r.found_offset = it->second;
            } else {
                r.found_on_disk = false;  // its bytes were not kept (the block is no longer pending)
            }
        }
        kept.push_back(std::move(r));
    }
    entries_ = std::move(kept);
    index_.clear();
    for (std::size_t i = 0; i < entries_.size(); ++i) index_.emplace(entries_[i].e.hash, i);
    tallied_ = b.tallied;
    file_ = std::move(fresh);
    file_end_ = base + (end > x ? end - x : 0);
    compacted_bytes_ = file_end_;
    return {};
}


journal::~journal() {
    {
        std::lock_guard q(qmu_);
        stopping_ = true;
    }
    qcv_.notify_all();
    ccv_.notify_all();
    if (writer_.joinable()) writer_.join();
    if (compactor_.joinable()) compactor_.join();
    // A compacted file built but never installed.
    if (ready_) ::unlink((path_ + ".tmp").c_str());
}

void journal::writer_loop() {
    for (;;) {
        std::vector<queued> batch;
        std::unique_ptr<built> ready;
        std::uint64_t ready_x = 0;
        std::uint64_t batch_end_seq = 0;
        {
            std::unique_lock q(qmu_);
            qcv_.wait(q, [&] { return stopping_ || !queue_.empty() || ready_ || (compact_asked_ && !compacting_); });
            batch.swap(queue_);
            batch_end_seq = queued_seq_;
            if (stopping_) {
                if (batch.empty()) break;  // a built file left in ready_ is removed by the destructor
            } else {
                ready = std::move(ready_);
                ready_x = ready_x_;
            }
        }
        bool failed = false;
        if (!batch.empty()) failed = !write_batch(batch);
        std::error_code installed;
        if (ready) installed = install(*ready, ready_x);
        bool start = false;
        {
            std::lock_guard q(qmu_);
            if (!batch.empty()) durable_seq_ = std::max(durable_seq_, batch_end_seq);
            if (failed) ++failures_;
            if (ready) {
                last_compact_error_ = installed;
                ++compactions_done_;
                compacting_ = false;
            }
            if (!compacting_ && !stopping_) {
                std::lock_guard lock(mu_);
                if (ready && installed) compact_retry_at_ = file_end_ + options_.compact_min_bytes;
                const std::uint64_t grown = file_end_ - std::min(file_end_, compacted_bytes_);
                const bool due = grown > std::max<std::uint64_t>(options_.compact_min_bytes, compacted_bytes_) &&
                                 file_end_ >= compact_retry_at_;
                if (compact_asked_ || due) {
                    to_build_ = std::make_unique<snapshot>(take_snapshot_locked());
                    compacting_ = true;
                    compact_asked_ = false;
                    ++compactions_started_;
                    start = true;
                }
            }
        }
        if (start) ccv_.notify_one();
        flushed_.notify_all();
    }
    std::lock_guard q(qmu_);
    durable_seq_ = queued_seq_;
    flushed_.notify_all();
}

// One group commit: every queued record in one write and one fsync. Returns false when
// they could not be made durable (each done callback gets io_error).
bool journal::write_batch(std::vector<queued>& batch) {
    struct span {
        std::size_t offset = 0, length = 0;
    };
    std::vector<span> spans(batch.size());
    std::vector<bool> refused(batch.size(), false);
    std::string buf;
    // A write that failed half-way and could not be cut back left a torn line: end it, so
    // that it does not swallow the first record of this batch.
    if (torn_) buf += '\n';
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const queued& q = batch[i];
        std::string line;
        if (q.type == queued::kind::found) {
            if (!q.block || q.block->size() > max_journal_block_bytes) {
                refused[i] = true;
                log("block " + to_hex_reversed(q.hash) + " not journaled: larger than max_journal_block_bytes");
                continue;
            }
            line = found_line(q.height, q.hash, q.time, *q.block);
        } else if (q.type == queued::kind::mark) {
            line = mark_line(q.hash, q.status, q.time, q.reason);
        } else {
            continue;
        }
        spans[i] = {buf.size(), line.size()};
        buf += line;
        buf += '\n';
    }

    std::shared_ptr<file_handle> f;
    std::uint64_t end = 0;
    {
        std::lock_guard lock(mu_);
        f = file_;
        end = file_end_;
    }
    bool ok = true;
    if (!buf.empty()) {
        // Where the bytes land (O_APPEND): the real end, which is past file_end_ only after
        // a torn write that could not be cut back.
        if (f) {
            const off_t real_end = ::lseek(f->fd, 0, SEEK_END);
            if (real_end >= 0) end = static_cast<std::uint64_t>(real_end);
        }
        ok = f && write_all(f->fd, buf);
        if (ok) step(journal_step::batch_written);
        ok = ok && do_fsync(f->fd) == 0;
        if (!ok) {
            log_error(errno_text("cannot append to", path_));
            // Cut the file back to where this batch began (the records are reported lost).
            torn_ = !f || ::ftruncate(f->fd, static_cast<off_t>(end)) != 0;
        } else {
            torn_ = false;
            step(journal_step::batch_synced);
            std::lock_guard lock(mu_);
            for (std::size_t i = 0; i < batch.size(); ++i) {
                const queued& q = batch[i];
                if (q.type == queued::kind::barrier || refused[i]) continue;
                const auto it = index_.find(q.hash);
                if (it == index_.end()) continue;
                entry_rec& r = entries_[it->second];
                if (q.type == queued::kind::found) {
                    r.on_disk = true;
                    r.found_on_disk = true;
                    r.found_offset = end + spans[i].offset;
                    r.found_len = spans[i].length;
                } else {
                    r.disk_status = q.status;
                    r.disk_reason = kept_reason(q.reason);
                    r.disk_status_time = q.time;
                }
            }
            file_end_ = end + buf.size();
        }
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
        if (!batch[i].done) continue;
        if (refused[i]) batch[i].done(journal_errc::block_invalid);
        else batch[i].done(ok ? std::error_code() : make_error_code(journal_errc::io_error));
    }
    return ok;
}

void journal::compactor_loop() {
    for (;;) {
        std::unique_ptr<snapshot> s;
        std::vector<load_request> loads;
        {
            std::unique_lock q(qmu_);
            ccv_.wait(q, [&] { return stopping_ || to_build_ || !loads_.empty(); });
            if (stopping_) break;
            loads.swap(loads_);
            s = std::move(to_build_);
        }
        for (auto& l : loads) l.done(load(l.hashes, l.max_bytes));
        if (!s) continue;
        auto b = build(*s);
        {
            std::lock_guard q(qmu_);
            if (b) {
                ready_ = std::make_unique<built>(std::move(*b));
                ready_x_ = s->x;
            } else {
                // Nothing to install: the old file goes on; try again after more appends.
                last_compact_error_ = b.error();
                ++compactions_done_;
                compacting_ = false;
                std::lock_guard lock(mu_);
                compact_retry_at_ = file_end_ + options_.compact_min_bytes;
            }
        }
        qcv_.notify_one();
        flushed_.notify_all();
    }
    // Loads still queued get nothing: the journal is going away.
    std::vector<load_request> loads;
    {
        std::lock_guard q(qmu_);
        loads.swap(loads_);
    }
    for (auto& l : loads) l.done({});
}

void journal::append_found(std::uint32_t height, const hash256& hash, std::shared_ptr<const bytes> block,
                           std::uint64_t time, done_fn done) {
    queued q;
    q.hash = hash;
    {
        std::lock_guard lock(mu_);
        if (index_.count(hash) == 0) {
            entry_rec r;
            r.e.height = height;
            r.e.hash = hash;
            r.e.found_time = time;
            r.e.status_time = time;
            index_.emplace(hash, entries_.size());
            entries_.push_back(std::move(r));
            q.type = queued::kind::found;
            q.height = height;
            q.time = time;
            q.block = std::move(block);
        } else if (!done) {
            return;  // already journaled, and nobody waits for it
        }
    }
    q.done = std::move(done);
    {
        std::unique_lock qlock(qmu_);
        if (stopping_) {
            qlock.unlock();
            if (q.done) q.done(journal_errc::closed);
            return;
        }
        ++queued_seq_;
        queue_.push_back(std::move(q));
    }
    qcv_.notify_one();
}

std::error_code journal::mark(const hash256& hash, block_status status, std::string_view reason, std::uint64_t time,
                              done_fn done) {
    {
        std::lock_guard lock(mu_);
        const auto it = index_.find(hash);
        if (it == index_.end()) return journal_errc::unknown_block;
        journal_entry& e = entries_[it->second].e;
        e.status = status;
        e.reason = kept_reason(reason);
        e.status_time = time;
    }
    queued q;
    q.type = queued::kind::mark;
    q.hash = hash;
    q.status = status;
    q.reason = std::string(reason);
    q.time = time;
    q.done = std::move(done);
    {
        std::unique_lock qlock(qmu_);
        if (stopping_) {
            qlock.unlock();
            if (q.done) q.done(journal_errc::closed);
            return journal_errc::closed;
        }
        ++queued_seq_;
        queue_.push_back(std::move(q));
    }
    qcv_.notify_one();
    return {};
}

std::error_code journal::flush() {
    std::unique_lock q(qmu_);
    const std::uint64_t target = queued_seq_;
    flushed_.wait(q, [&] { return durable_seq_ >= target; });
    if (failures_ == failures_reported_) return {};
    failures_reported_ = failures_;
    return journal_errc::io_error;
}

std::error_code journal::compact() {
    std::unique_lock q(qmu_);
    if (stopping_) return journal_errc::closed;
    const std::uint64_t want = compactions_started_ + 1;
    compact_asked_ = true;
    qcv_.notify_one();
    flushed_.wait(q, [&] { return compactions_done_ >= want || stopping_; });
    if (compactions_done_ < want) return journal_errc::closed;
    return last_compact_error_;
}

std::vector<journal_entry> journal::load(const std::vector<hash256>& hashes, std::size_t max_bytes) const {
    struct wanted {
        hash256 hash{};
        std::uint64_t offset = 0, length = 0;
    };
    std::shared_ptr<file_handle> f;
    std::vector<wanted> w;
    {
        std::lock_guard lock(mu_);
        f = file_;
        for (const auto& h : hashes) {
            const auto it = index_.find(h);
            if (it == index_.end()) continue;
            const entry_rec& r = entries_[it->second];
            if (r.e.status != block_status::pending || !r.found_on_disk) continue;
            w.push_back({h, r.found_offset, r.found_len});
        }
    }
    std::vector<journal_entry> out;
    if (!f) return out;
    std::size_t total = 0;
    std::string line;
    for (const auto& x : w) {
        // A found line holds two hex digits per block byte.
        if (!out.empty() && total + x.length / 2 > max_bytes) break;
        line.resize(static_cast<std::size_t>(x.length));
        auto r = pread_all(f->fd, line.data(), line.size(), x.offset)
                     ? parse_journal_record(line, options_.block_hash)
                     : result<journal_record>(journal_errc::io_error);
        if (!r || r->type != journal_record::kind::found || r->hash != x.hash) {
            log("the found record of block " + to_hex_reversed(x.hash) + " cannot be read back (" +
                (r ? std::string("another record at its offset") : r.error().message()) + ")");
            continue;
        }
        journal_entry e;
        e.height = r->height;
        e.hash = r->hash;
        e.found_time = r->time;
        e.status_time = r->time;
        e.block = std::move(r->block);
        total += e.block.size();
        out.push_back(std::move(e));
    }
    return out;
}

void journal::load_async(std::vector<hash256> hashes, std::size_t max_bytes,
                         std::function<void(std::vector<journal_entry>)> done) {
    {
        std::unique_lock q(qmu_);
        if (!stopping_) {
            loads_.push_back({std::move(hashes), max_bytes, std::move(done)});
            q.unlock();
            ccv_.notify_one();
            return;
        }
    }
    done({});
}

std::vector<journal_entry> journal::entries() const {
    std::lock_guard lock(mu_);
    std::vector<journal_entry> out;
    out.reserve(entries_.size());
    for (const auto& r : entries_) out.push_back(r.e);
    return out;
}

journal_counts journal::counts() const {
    std::lock_guard lock(mu_);
    journal_counts c = tallied_;
    for (const auto& r : entries_) ++c[static_cast<std::size_t>(r.e.status)];
    return c;
}

std::uint64_t journal::file_bytes() const {
    std::lock_guard lock(mu_);
    return file_end_;
}

bool journal::contains(const hash256& hash) const {
    std::lock_guard lock(mu_);
    return index_.count(hash) != 0;
}

std::size_t journal::skipped_at_open() const {
    std::lock_guard lock(mu_);
    return skipped_;
}

}  // namespace sb::bridge
