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

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sb/core/block.hpp"
#include "sb/core/hex.hpp"
#include "sb/core/ravencoin.hpp"
#include "sb/core/uint256.hpp"
#include "sb/pow/kawpow.hpp"

namespace sb::bridge {

namespace {

constexpr std::size_t check_hex_chars = 8;
constexpr std::size_t hash_hex_chars = 64;

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

template <class T>
bool parse_uint(std::string_view s, T& out) {
    if (s.empty() || s.size() > 20) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool parse_hash_display(std::string_view s, hash256& out) {
    if (s.size() != hash_hex_chars) return false;
    auto h = from_hex_fixed<32>(s);
    if (!h) return false;
    std::reverse_copy(h->begin(), h->end(), out.begin());
    return true;
}

bool parse_status(std::string_view s, block_status& out) {
    for (auto st : {block_status::pending, block_status::accepted, block_status::rejected, block_status::stale,
                    block_status::abandoned})
        if (s == to_string(st)) {
            out = st;
            return true;
        }
    return false;
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

void default_log(std::string_view line) {
    std::fprintf(stderr, "journal: %.*s\n", static_cast<int>(line.size()), line.data());
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
        case block_status::rejected: return "rejected";
        case block_status::stale: return "stale";
        case block_status::abandoned: return "abandoned";
    }
    return "unknown";
}

std::uint64_t unix_now() noexcept {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

std::string format_journal_record(const journal_record& r) {
    std::string body;
    if (r.type == journal_record::kind::found) {
        body.reserve(2 * r.block.size() + 128);
        body += "found ";
        body += std::to_string(r.height);
        body += ' ';
        body += to_hex_reversed(r.hash);
        body += ' ';
        body += std::to_string(r.time);
        body += ' ';
        body += to_hex(r.block);
    } else {
        body += "mark ";
        body += to_hex_reversed(r.hash);
        body += ' ';
        body += to_string(r.status);
        body += ' ';
        body += std::to_string(r.time);
        body += ' ';
        body += sanitize_reason(r.reason);
    }
    const std::string check = check_of(body);
    body += ' ';
    body += check;
    return body;
}

namespace {

struct replay_hasher {
    std::size_t operator()(const hash256& h) const noexcept {
        std::size_t v = 0;
        std::memcpy(&v, h.data(), sizeof v);  // a sha256d output: already uniform
        return v;
    }
};

// Whether hash (internal order) is the block's: the sha256d of an 80-byte header, or for a
// Ravencoin KAWPOW block (120-byte header) the final hash its mix hash implies — two
// keccak-f800, no DAG, the same value a node shows as the block hash.
bool header_hash_is(byte_span block, const hash256& hash) {
    if (block.size() > block_header_size && sha256d(block.first(block_header_size)) == hash) return true;
    if (block.size() <= ravencoin::kawpow_header_size) return false;
    const auto h = ravencoin::parse_kawpow_header(block.first<ravencoin::kawpow_header_size>());
    const hash256 final_be = pow::kawpow::final_hash_from_mix(h.header_hash(), h.mix_hash, h.nonce64);
    return uint256::from_be_bytes(final_be.data()).to_hash() == hash;
}

}  // namespace

result<journal_record> parse_journal_record(std::string_view line) {
    if (line.size() > max_journal_line_bytes) return journal_errc::line_too_long;
    const std::size_t last_sp = line.rfind(' ');
    if (last_sp == std::string_view::npos || line.size() - last_sp - 1 != check_hex_chars)
        return journal_errc::record_invalid;
    const std::string_view body = line.substr(0, last_sp);
    if (check_of(body) != line.substr(last_sp + 1)) return journal_errc::check_mismatch;

    const auto f = split_fields(body, 5);
    if (f.size() != 5) return journal_errc::record_invalid;
    for (auto s : f)
        if (s.empty()) return journal_errc::record_invalid;
    journal_record r;
    if (f[0] == "found") {
        r.type = journal_record::kind::found;
        if (!parse_uint(f[1], r.height) || !parse_hash_display(f[2], r.hash) || !parse_uint(f[3], r.time))
            return journal_errc::record_invalid;
        if (f[4].size() > 2 * max_journal_block_bytes) return journal_errc::block_invalid;
        auto block = from_hex(f[4], 2 * max_journal_block_bytes);
        if (!block || !header_hash_is(*block, r.hash)) return journal_errc::block_invalid;
        r.block = std::move(*block);
        return r;
    }
    if (f[0] == "mark") {
        r.type = journal_record::kind::mark;
        if (!parse_hash_display(f[1], r.hash) || !parse_status(f[2], r.status) || !parse_uint(f[3], r.time))
            return journal_errc::record_invalid;
        if (f[4].size() > max_journal_reason_chars) return journal_errc::record_invalid;
        for (char c : f[4])
            if (c <= 0x20 || c >= 0x7f) return journal_errc::record_invalid;
        if (f[4] != "-") r.reason = std::string(f[4]);
        return r;
    }
    return journal_errc::record_invalid;
}

journal_replay replay_journal(std::string_view text, const std::function<void(std::string_view)>& warn) {
    journal_replay out;
    std::unordered_map<hash256, std::size_t, replay_hasher> index;  // hash → out.entries index
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
        auto r = parse_journal_record(line);
        if (!r) {
            ++out.skipped;
            if (warn) warn("line " + std::to_string(line_no) + ": " + r.error().message() + ", skipped");
            continue;
        }
        const auto found = index.find(r->hash);
        if (r->type == journal_record::kind::found) {
            if (found != index.end()) continue;  // the same block twice: the first wins
            index.emplace(r->hash, out.entries.size());
            journal_entry e;
            e.height = r->height;
            e.hash = r->hash;
            e.found_time = r->time;
            e.block = std::move(r->block);
            e.status_time = r->time;
            out.entries.push_back(std::move(e));
        } else {
            if (found == index.end()) {
                ++out.skipped;
                if (warn) warn("line " + std::to_string(line_no) + ": mark for an unknown block, skipped");
                continue;
            }
            journal_entry* it = &out.entries[found->second];
            it->status = r->status;
            it->reason = std::move(r->reason);
            it->status_time = r->time;
        }
    }
    return out;
}

// ---- journal -----------------------------------------------------------------------

journal::journal(std::string path, log_fn log) : path_(std::move(path)), log_(log ? std::move(log) : default_log) {}

journal::~journal() {
    if (fd_ >= 0) ::close(fd_);
}

namespace {

// Reads the journal file (at most max_journal_file_bytes; cut is set when there was more).
// A missing file reads as empty.
std::error_code read_journal_file(const std::string& path, std::string& text, bool& cut,
                                  const journal::log_fn& log) {
    text.clear();
    cut = false;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return {};
        log(errno_text("cannot read", path));
        return journal_errc::io_error;
    }
    char buf[1 << 16];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            log(errno_text("cannot read", path));
            ::close(fd);
            return journal_errc::io_error;
        }
        if (n == 0) break;
        text.append(buf, static_cast<std::size_t>(n));
        if (text.size() > max_journal_file_bytes) {
            text.resize(max_journal_file_bytes);
            cut = true;
            break;
        }
    }
    ::close(fd);
    return {};
}

// Every pending entry and the newest max_journal_finished_records finished ones, in the
// order found.
std::vector<journal_entry> kept_entries(std::vector<journal_entry> all) {
    std::vector<journal_entry> kept;
    std::size_t finished = 0;
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
        if (it->status != block_status::pending && ++finished > max_journal_finished_records) continue;
        kept.push_back(std::move(*it));
    }
    std::reverse(kept.begin(), kept.end());
    return kept;
}

// Crash-safe rewrite: path.tmp written and fsync'ed, renamed over path, directory fsync'ed.
// Returns the bytes written.
result<std::uint64_t> rewrite_journal(const std::string& path, const std::vector<journal_entry>& kept,
                                      const journal::log_fn& log) {
    const std::string tmp = path + ".tmp";
    int tfd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (tfd < 0) {
        log(errno_text("cannot create", tmp));
        return journal_errc::io_error;
    }
    bool ok = true;
    std::uint64_t written = 0;
    for (const auto& e : kept) {
        journal_record found{journal_record::kind::found, e.height, e.hash, e.found_time, e.block, {}, {}};
        std::string lines = format_journal_record(found) + "\n";
        if (e.status != block_status::pending) {
            journal_record m{journal_record::kind::mark, 0, e.hash, e.status_time, {}, e.status, e.reason};
            lines += format_journal_record(m) + "\n";
        }
        ok = ok && write_all(tfd, lines);
        written += lines.size();
    }
    ok = ok && ::fsync(tfd) == 0;
    ::close(tfd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
        log(errno_text("cannot write", tmp));
        ::unlink(tmp.c_str());
        return journal_errc::io_error;
    }
    // The rename is durable only once the directory is synced.
    const std::filesystem::path p(path);
    const std::string dir = p.has_parent_path() ? p.parent_path().string() : std::string(".");
    if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    return written;
}

}  // namespace

std::size_t journal::hash_hasher::operator()(const hash256& h) const noexcept { return replay_hasher{}(h); }

result<std::unique_ptr<journal>> journal::open(const std::string& path, log_fn log) {
    std::unique_ptr<journal> j(new journal(path, std::move(log)));
    const std::filesystem::path p(path);
    std::error_code fs_ec;
    if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), fs_ec);
    std::lock_guard lock(j->mu_);
    if (auto ec = j->compact_locked()) return ec;
    return j;
}

std::error_code journal::compact() {
    std::lock_guard lock(mu_);
    return compact_locked();
}

std::uint64_t journal::file_bytes() const {
    std::lock_guard lock(mu_);
    return compacted_bytes_ + appended_bytes_;
}

journal_entry* journal::find_locked(const hash256& hash) {
    const auto it = index_.find(hash);
    return it == index_.end() ? nullptr : &entries_[it->second];
}

// Reads the file, keeps what kept_entries keeps, rewrites it crash-safely and reopens it
// for appending. On failure the old file stays and appending goes on there.
std::error_code journal::compact_locked() {
    std::string text;
    bool cut = false;
    if (auto ec = read_journal_file(path_, text, cut, log_)) return ec;
    if (cut) {
        if (fd_ >= 0) {
            // Never rewrite from a partial read: records beyond it would be lost.
            log_("journal larger than max_journal_file_bytes: not compacted while running");
            return journal_errc::io_error;
        }
        log_("file larger than max_journal_file_bytes; the rest is ignored");
    }
    journal_replay replay = replay_journal(text, [&](std::string_view w) { log_(w); });
    std::string().swap(text);
    if (fd_ < 0) skipped_ = replay.skipped;
    // Entries in memory whose found record is not in the file (its append failed) stay.
    std::vector<journal_entry> unwritten;
    {
        std::unordered_map<hash256, std::size_t, hash_hasher> on_disk;
        for (std::size_t i = 0; i < replay.entries.size(); ++i) on_disk.emplace(replay.entries[i].hash, i);
        for (auto& e : entries_) {
            const auto it = on_disk.find(e.hash);
            if (it == on_disk.end()) {
                unwritten.push_back(e);
                continue;
            }
            // A mark whose append failed still counts in memory.
            journal_entry& d = replay.entries[it->second];
            if (d.status == block_status::pending && e.status != block_status::pending) {
                d.status = e.status;
                d.reason = e.reason;
                d.status_time = e.status_time;
            }
        }
    }
    std::vector<journal_entry> kept = kept_entries(std::move(replay.entries));
    auto written = rewrite_journal(path_, kept, log_);
    if (!written) return written.error();
    if (fd_ >= 0) ::close(fd_);
    fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd_ < 0) {
        log_(errno_text("cannot open", path_));
        return journal_errc::io_error;
    }
    compacted_bytes_ = *written;
    appended_bytes_ = 0;
    entries_.clear();
    index_.clear();
    for (auto& e : kept) {
        bytes().swap(e.block);
        index_.emplace(e.hash, entries_.size());
        entries_.push_back(std::move(e));
    }
    for (auto& e : unwritten) {
        if (index_.count(e.hash)) continue;
        index_.emplace(e.hash, entries_.size());
        entries_.push_back(std::move(e));
    }
    return {};
}

std::error_code journal::append_line(const std::string& line) {
    if (fd_ < 0 || !write_all(fd_, line) || ::fsync(fd_) != 0) {
        log_(errno_text("cannot append to", path_));
        return journal_errc::io_error;
    }
    appended_bytes_ += line.size();
    return {};
}

std::error_code journal::append_found(std::uint32_t height, const hash256& hash, byte_span block, std::uint64_t time) {
    std::lock_guard lock(mu_);
    if (find_locked(hash)) return {};
    journal_record r{journal_record::kind::found, height, hash, time, bytes(block.begin(), block.end()), {}, {}};
    const std::error_code ec = append_line(format_journal_record(r) + "\n");
    journal_entry e;
    e.height = height;
    e.hash = hash;
    e.found_time = time;
    e.status_time = time;
    index_.emplace(hash, entries_.size());
    entries_.push_back(std::move(e));
    return ec;
}

std::error_code journal::mark(const hash256& hash, block_status status, std::string_view reason, std::uint64_t time) {
    std::lock_guard lock(mu_);
    journal_entry* it = find_locked(hash);
    if (!it) return journal_errc::unknown_block;
    journal_record r{journal_record::kind::mark, 0, hash, time, {}, status, std::string(reason)};
    const std::error_code ec = append_line(format_journal_record(r) + "\n");
    it->status = status;
    it->reason = sanitize_reason(reason) == "-" ? std::string() : sanitize_reason(reason);
    it->status_time = time;
    if (!ec && appended_bytes_ > std::max<std::uint64_t>(journal_compact_min_bytes, compacted_bytes_)) {
        if (auto cec = compact_locked()) log_("runtime compaction failed (" + cec.message() + "); the file is kept as is");
    }
    return ec;
}

std::vector<journal_entry> journal::pending() const {
    // Read without the lock, so append_found (the found-block path) never waits behind
    // this: the file only grows by whole lines (a line being appended reads as a
    // truncated tail, skipped: that block was just found and is in flight), and a
    // compaction replaces it by an atomic rename (this reads the old or the new file,
    // both complete).
    std::string text;
    bool cut = false;
    std::vector<journal_entry> out;
    if (read_journal_file(path_, text, cut, log_)) return out;
    journal_replay replay = replay_journal(text);
    std::string().swap(text);
    std::lock_guard lock(mu_);
    for (auto& e : replay.entries) {
        // Memory knows of marks whose append failed; the file may be behind.
        const auto it = index_.find(e.hash);
        if (it != index_.end() && entries_[it->second].status != block_status::pending) continue;
        if (e.status == block_status::pending) out.push_back(std::move(e));
    }
    return out;
}

std::vector<journal_entry> journal::entries() const {
    std::lock_guard lock(mu_);
    std::vector<journal_entry> out;
    out.reserve(entries_.size());
    for (const auto& e : entries_) out.push_back(e);
    return out;
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
