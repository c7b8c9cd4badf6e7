// The found-block journal: record round trips (old and new kinds), append + replay across
// reopen, marks, the writer thread (group commit, never the caller's thread, failures),
// compaction (at open and while running, never in the way of a record, bounded memory for
// any file size), crash safety (a child process killed at every step of the writer and
// the compactor), and hostile file content (truncated tail, corrupt records).
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bridge_access.hpp"
#include "dispatch/journal.hpp"
#include "sb/core/hex.hpp"
#include "sb/core/ravencoin.hpp"
#include "sb/core/uint256.hpp"
#include "sb/pow/algorithm.hpp"
#include "seed.hpp"
#include "vectors.hpp"

using namespace sb;
using bridge::block_status;
using bridge::journal;

namespace {

// The Bitcoin block hash: sha256d of the 80-byte header of a block longer than it.
std::optional<hash256> sha256d_block(byte_span b) {
    if (b.size() <= 80) return std::nullopt;
    return sha256d(b.first(80));
}

// A block-shaped byte string: 80 header bytes, a count, a few more bytes.
bytes fake_block(std::uint8_t salt) {
    bytes b(120, salt);
    b[0] = 0x20;
    b[80] = 1;
    return b;
}
hash256 hash_of(const bytes& b) { return sha256d(byte_span(b.data(), 80)); }
std::shared_ptr<const bytes> shared(const bytes& b) { return std::make_shared<const bytes>(b); }

// A distinct block-shaped byte string of size bytes (header varied by n).
bytes sized_block(std::uint32_t n, std::size_t size) {
    bytes b(size, std::uint8_t(n * 7 + 3));
    b[0] = 0x20;
    for (int i = 0; i < 4; ++i) b[4 + i] = std::uint8_t(n >> (8 * i));
    b[80] = 1;
    return b;
}

struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        auto rng = test::seeded_rng(0x10c);
        path = std::filesystem::temp_directory_path() / ("sb-journal-" + std::to_string(rng()));
        std::filesystem::create_directories(path);
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string file() const { return (path / "blocks.journal").string(); }
};

bridge::journal_options quiet() {
    bridge::journal_options o;
    o.block_hash = sha256d_block;
    o.log = [](std::string_view) {};
    return o;
}

std::unique_ptr<journal> open_journal(const std::string& path, bridge::journal_options o = quiet()) {
    auto j = journal::open(path, std::move(o));
    REQUIRE_MESSAGE(j, j.error().message());
    return std::move(*j);
}

std::string read_all(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void append_raw(const std::string& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary | std::ios::app);
    out << text;
}

// Pending blocks with their bytes, as a restart reads them.
std::vector<bridge::journal_entry> pending_of(const journal& j) {
    std::vector<hash256> hashes;
    for (const auto& e : j.entries())
        if (e.status == block_status::pending) hashes.push_back(e.hash);
    return j.load(hashes, SIZE_MAX);
}

std::optional<bridge::journal_entry> entry_of(const journal& j, const hash256& h) {
    for (const auto& e : j.entries())
        if (e.hash == h) return e;
    return std::nullopt;
}

// A gate a hook can wait on until the test opens it.
struct gate {
    std::mutex mu;
    std::condition_variable cv;
    bool open = false;
    int waiting = 0;
    void wait() {
        std::unique_lock lock(mu);
        ++waiting;
        cv.notify_all();
        cv.wait(lock, [&] { return open; });
    }
    void wait_for_waiter() {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return waiting > 0; });
    }
    void release() {
        std::lock_guard lock(mu);
        open = true;
        cv.notify_all();
    }
};

}  // namespace

TEST_CASE("journal: records round trip through their line format") {
    bridge::journal_record f;
    f.type = bridge::journal_record::kind::found;
    f.height = 840000;
    f.block = fake_block(3);
    f.hash = hash_of(f.block);
    f.time = 1700000000;
    const std::string line = bridge::format_journal_record(f);
    CHECK(line.find('\n') == std::string::npos);
    auto p = bridge::parse_journal_record(line, sha256d_block);
    REQUIRE(p);
    CHECK(p->height == f.height);
    CHECK(p->hash == f.hash);
    CHECK(p->time == f.time);
    CHECK(p->block == f.block);

    bridge::journal_record m;
    m.type = bridge::journal_record::kind::mark;
    m.hash = f.hash;
    m.status = block_status::rejected;
    m.reason = "bad txnmrklroot\n";
    m.time = 5;
    auto q = bridge::parse_journal_record(bridge::format_journal_record(m), sha256d_block);
    REQUIRE(q);
    CHECK(q->status == block_status::rejected);
    CHECK(q->reason == "bad txnmrklroot ");

    // Every status, new ones included, in a mark and in a block summary.
    for (std::size_t i = 0; i < bridge::block_status_count; ++i) {
        const auto st = static_cast<block_status>(i);
        CHECK(bridge::block_status_from_string(bridge::to_string(st)) == st);
        m.status = st;
        auto mm = bridge::parse_journal_record(bridge::format_journal_record(m), sha256d_block);
        REQUIRE(mm);
        CHECK(mm->status == st);
        bridge::journal_record s;
        s.type = bridge::journal_record::kind::block;
        s.height = 7;
        s.hash = f.hash;
        s.time = 11;
        s.status = st;
        s.status_time = 12;
        s.reason = "main chain holds x";
        const std::string sl = bridge::format_journal_record(s);
        auto sp = bridge::parse_journal_record(sl, sha256d_block);
        REQUIRE(sp);
        CHECK(sp->type == bridge::journal_record::kind::block);
        CHECK(sp->status == st);
        CHECK(sp->status_time == 12);
        CHECK(sp->reason == "main chain holds x");
        CHECK(bridge::format_journal_record(*sp) == sl);
    }
    bridge::journal_record t;
    t.type = bridge::journal_record::kind::tally;
    t.tally = {1, 0, 22, 333, 4444};
    auto tp = bridge::parse_journal_record(bridge::format_journal_record(t), sha256d_block);
    REQUIRE(tp);
    CHECK(tp->tally == t.tally);
}

TEST_CASE("journal: corrupt records are refused by the parser") {
    bridge::journal_record f;
    f.block = fake_block(4);
    f.hash = hash_of(f.block);
    const std::string line = bridge::format_journal_record(f);
    std::string flipped = line;
    flipped[10] = flipped[10] == '1' ? '2' : '1';
    CHECK(bridge::parse_journal_record(flipped, sha256d_block).error() == bridge::journal_errc::check_mismatch);
    CHECK_FALSE(bridge::parse_journal_record(line.substr(0, line.size() - 1), sha256d_block));
    CHECK_FALSE(bridge::parse_journal_record("", sha256d_block));
    CHECK_FALSE(bridge::parse_journal_record("found", sha256d_block));
    CHECK_FALSE(bridge::parse_journal_record("mark x pending 1 - 00000000", sha256d_block));
    // A found record whose hash is not its block's.
    bridge::journal_record wrong = f;
    wrong.hash[0] ^= 1;
    CHECK(bridge::parse_journal_record(bridge::format_journal_record(wrong), sha256d_block).error() ==
          bridge::journal_errc::block_invalid);
    // Without a block-hash function no found record is believed.
    CHECK(bridge::parse_journal_record(line, {}).error() == bridge::journal_errc::block_invalid);
    // Numbers with leading zeros would not format back to the same line: refused even with
    // a correct check value.
    const std::string body = "tally 01 0 0 0 0";
    const hash256 c = sha256d(byte_span(reinterpret_cast<const std::uint8_t*>(body.data()), body.size()));
    CHECK(bridge::parse_journal_record(body + " " + to_hex(byte_span(c.data(), 4)), sha256d_block).error() ==
          bridge::journal_errc::record_invalid);
}

TEST_CASE("journal: upper-case hex is refused even with a correct check value") {
    // Found by the journal fuzz target (tests/fuzz/corpus/journal/upper_case_hash): a block
    // record whose hash has one upper-case digit and whose check value matches. It parsed,
    // and formatted back to another line.
    const std::string fuzzed = "block 8 ababababababababababababAbababababababababababababababababababab 1700000300 confirmed 1700000400 - 23543765";
    CHECK(bridge::parse_journal_record(fuzzed, sha256d_block).error() == bridge::journal_errc::record_invalid);
    std::string lower = fuzzed.substr(0, fuzzed.rfind(' '));
    std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) { return c == 'A' ? 'a' : c; });
    const hash256 lc = sha256d(byte_span(reinterpret_cast<const std::uint8_t*>(lower.data()), lower.size()));
    const std::string canonical = lower + " " + to_hex(byte_span(lc.data(), 4));
    auto r = bridge::parse_journal_record(canonical, sha256d_block);
    REQUIRE(r);
    CHECK(bridge::format_journal_record(*r) == canonical);

    // A found record with its block in upper case, check value recomputed.
    bridge::journal_record f;
    f.block = fake_block(0xab);  // hex digits with letters in them
    f.hash = hash_of(f.block);
    const std::string line = bridge::format_journal_record(f);
    std::string body = line.substr(0, line.rfind(' '));
    const std::size_t block_at = body.rfind(' ') + 1;
    std::transform(body.begin() + static_cast<long>(block_at), body.end(), body.begin() + static_cast<long>(block_at),
                   [](char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); });
    REQUIRE(body != line.substr(0, line.rfind(' ')));
    const hash256 bc = sha256d(byte_span(reinterpret_cast<const std::uint8_t*>(body.data()), body.size()));
    CHECK(bridge::parse_journal_record(body + " " + to_hex(byte_span(bc.data(), 4)), sha256d_block).error() ==
          bridge::journal_errc::block_invalid);
}

TEST_CASE("journal: a Ravencoin block is kept under its KAWPOW hash through the owner's block-hash function") {
    // Source: ravencoin.json, a 120-byte header accepted by Ravencoin Core 4.6.1 regtest.
    const auto& v = test::vector_json("ravencoin.json")["kawpow_blocks_accepted"][0];
    bytes block = *from_hex(v["header120"].GetString());
    REQUIRE(block.size() == 120);
    block.push_back(1);  // a transaction count and bytes after the header
    block.push_back(0);
    // What the daemon injects for a Ravencoin chain: the header-level KAWPOW algorithm's
    // block hash, the final hash the mix implies.
    const bridge::block_hash_fn kawpow = [](byte_span b) -> std::optional<hash256> {
        if (b.size() <= ravencoin::kawpow_header_size) return std::nullopt;
        return pow::header_algorithm_of(pow_algorithm::kawpow).block_hash(b);
    };
    bridge::journal_record f;
    f.type = bridge::journal_record::kind::found;
    f.height = v["height"].GetUint();
    // The node shows the final hash as the block hash: its display order is our internal
    // order reversed.
    f.hash = uint256::from_hex(v["final_hash_block_hash"].GetString())->to_hash();
    f.block = block;
    f.time = 3582830250;
    auto p = bridge::parse_journal_record(bridge::format_journal_record(f), kawpow);
    REQUIRE_MESSAGE(p, p.error().message());
    CHECK(p->hash == f.hash);
    CHECK(p->block == block);
    // A forged mix hash no longer gives the recorded hash.
    bridge::journal_record forged = f;
    forged.block[100] ^= 1;
    CHECK(bridge::parse_journal_record(bridge::format_journal_record(forged), kawpow).error() ==
          bridge::journal_errc::block_invalid);
    // The same record read with the Bitcoin hash is refused: the hash is the owner's choice.
    CHECK_FALSE(bridge::parse_journal_record(bridge::format_journal_record(f), sha256d_block));

    temp_dir dir;
    auto opts = quiet();
    opts.block_hash = kawpow;
    {
        auto j = open_journal(dir.file(), opts);
        j->append_found(f.height, f.hash, shared(block), f.time);
        CHECK_FALSE(j->flush());
    }
    auto j = open_journal(dir.file(), opts);
    const auto pending = pending_of(*j);
    REQUIRE(pending.size() == 1);
    CHECK(pending[0].block == block);
    CHECK(test::access<bridge::journal>::skipped_at_open(*j) == 0);
}

TEST_CASE("journal: records reach the disk through the writer thread and a reopen replays them") {
    temp_dir dir;
    const bytes b1 = fake_block(1), b2 = fake_block(2);
    std::atomic<int> durable{0};
    {
        auto j = open_journal(dir.file());
        j->append_found(10, hash_of(b1), shared(b1), 100, [&](std::error_code ec) { durable += !ec; });
        // Known at once, before it is written.
        CHECK(j->contains(hash_of(b1)));
        CHECK_FALSE(j->flush());
        CHECK(durable == 1);
        CHECK(read_all(dir.file()).find(to_hex(b1)) != std::string::npos);
        j->append_found(11, hash_of(b2), shared(b2), 101);
        j->append_found(11, hash_of(b2), shared(b2), 101, [&](std::error_code ec) { durable += !ec; });  // once only
        CHECK_FALSE(j->mark(hash_of(b1), block_status::accepted, "", 102));
        CHECK(j->mark(hash256{}, block_status::accepted, "", 102) == bridge::journal_errc::unknown_block);
        CHECK_FALSE(j->flush());
        CHECK(durable == 2);
        CHECK(pending_of(*j).size() == 1);
        const std::string text = read_all(dir.file());
        CHECK(text.find(to_hex(b2)) == text.rfind(to_hex(b2)));
    }
    auto j = open_journal(dir.file());
    const auto pending = pending_of(*j);
    REQUIRE(pending.size() == 1);
    CHECK(pending[0].height == 11);
    CHECK(pending[0].block == b2);
    const auto all = j->entries();
    REQUIRE(all.size() == 2);
    CHECK(all[0].status == block_status::accepted);
    CHECK(test::access<bridge::journal>::skipped_at_open(*j) == 0);
    const auto counts = j->counts();
    CHECK(counts[static_cast<std::size_t>(block_status::accepted)] == 1);
    CHECK(counts[static_cast<std::size_t>(block_status::pending)] == 1);
}

TEST_CASE("journal: group commit: records queued while an fsync runs are written by the next one together") {
    temp_dir dir;
    gate first_fsync;
    std::atomic<int> fsyncs{0};
    std::mutex ids_mu;
    std::set<std::thread::id> fsync_threads;
    auto opts = quiet();
    std::atomic<bool> armed{false};
    opts.fsync = [&](int fd) {
        if (!armed) return ::fsync(fd);  // open() compacts on the caller's thread: start-up
        {
            std::lock_guard lock(ids_mu);
            fsync_threads.insert(std::this_thread::get_id());
        }
        if (fsyncs++ == 0) first_fsync.wait();
        return ::fsync(fd);
    };
    auto j = open_journal(dir.file(), opts);
    armed = true;
    const bytes first = sized_block(0, 200);
    std::atomic<int> done{0};
    j->append_found(1, hash_of(first), shared(first), 1, [&](std::error_code ec) { done += !ec; });
    first_fsync.wait_for_waiter();  // the writer is inside the first fsync now
    // Fifty records while it hangs: each call returns at once (this thread never waits for
    // the disk: a hang here would be this test hanging).
    std::vector<bytes> later;
    for (std::uint32_t n = 1; n <= 50; ++n) {
        later.push_back(sized_block(n, 200));
        j->append_found(n + 1, hash_of(later.back()), shared(later.back()), n, [&](std::error_code ec) { done += !ec; });
    }
    CHECK(done == 0);
    CHECK(j->entries().size() == 51);
    first_fsync.release();
    CHECK_FALSE(j->flush());
    CHECK(done == 51);
    // One fsync for the first record, one for the fifty queued behind it.
    CHECK(fsyncs == 2);
    {
        std::lock_guard lock(ids_mu);
        CHECK(fsync_threads.count(std::this_thread::get_id()) == 0);
    }
    CHECK(pending_of(*j).size() == 51);
}

TEST_CASE("journal: a failed write or fsync is reported and leaves no torn record behind") {
    temp_dir dir;
    std::atomic<bool> fail{false};
    auto opts = quiet();
    opts.fsync = [&](int fd) {
        if (fail) {
            errno = EIO;
            return -1;
        }
        return ::fsync(fd);
    };
    const bytes b1 = fake_block(1), b2 = fake_block(2), b3 = fake_block(3);
    {
        auto j = open_journal(dir.file(), opts);
        j->append_found(1, hash_of(b1), shared(b1), 1);
        CHECK_FALSE(j->flush());
        fail = true;
        std::error_code got;
        std::atomic<bool> called{false};
        j->append_found(2, hash_of(b2), shared(b2), 2, [&](std::error_code ec) {
            got = ec;
            called = true;
        });
        CHECK(j->flush() == bridge::journal_errc::io_error);
        CHECK(called);
        CHECK(got == bridge::journal_errc::io_error);
        fail = false;
        j->append_found(3, hash_of(b3), shared(b3), 3);
        CHECK_FALSE(j->flush());
        // The failed record was cut back off the file.
        CHECK(read_all(dir.file()).find(to_hex(b2)) == std::string::npos);
        // Memory still knows of it (the caller was told it is not on disk).
        CHECK(j->contains(hash_of(b2)));
    }
    auto j = open_journal(dir.file());
    CHECK(test::access<bridge::journal>::skipped_at_open(*j) == 0);
    const auto p = pending_of(*j);
    REQUIRE(p.size() == 2);
    CHECK(p[0].block == b1);
    CHECK(p[1].block == b3);
}

TEST_CASE("journal: a truncated tail is skipped with a warning") {
    temp_dir dir;
    const bytes b1 = fake_block(1), b2 = fake_block(2);
    {
        auto j = open_journal(dir.file());
        j->append_found(10, hash_of(b1), shared(b1), 100);
        REQUIRE_FALSE(j->flush());
    }
    bridge::journal_record f;
    f.block = b2;
    f.hash = hash_of(b2);
    const std::string line = bridge::format_journal_record(f);
    append_raw(dir.file(), line.substr(0, line.size() / 2));  // a crash mid-write
    int warnings = 0;
    auto opts = quiet();
    opts.log = [&](std::string_view) { ++warnings; };
    auto j = open_journal(dir.file(), opts);
    CHECK(warnings >= 1);
    CHECK(test::access<bridge::journal>::skipped_at_open(*j) == 1);
    REQUIRE(pending_of(*j).size() == 1);
    CHECK(pending_of(*j)[0].hash == hash_of(b1));
    // Compaction removed the torn record; appending works again.
    j->append_found(12, hash_of(b2), shared(b2), 103);
    CHECK_FALSE(j->flush());
    j.reset();
    auto again = open_journal(dir.file());
    CHECK(pending_of(*again).size() == 2);
    CHECK(test::access<bridge::journal>::skipped_at_open(*again) == 0);
}

TEST_CASE("journal: corrupt records in the middle are skipped and the rest replays") {
    temp_dir dir;
    const bytes b1 = fake_block(1), b2 = fake_block(2);
    bridge::journal_record f1{bridge::journal_record::kind::found, 1, hash_of(b1), 1, b1, {}, {}};
    bridge::journal_record f2{bridge::journal_record::kind::found, 2, hash_of(b2), 2, b2, {}, {}};
    std::string bad = bridge::format_journal_record(f1);
    bad[bad.size() - 1] = bad[bad.size() - 1] == '0' ? '1' : '0';
    append_raw(dir.file(), bad + "\n" + "garbage \x01\xff line\n\n" + bridge::format_journal_record(f2) + "\n" +
                               "mark " + std::string(64, 'a') + " accepted 1 - 00000000\n");
    auto j = open_journal(dir.file());
    CHECK(test::access<bridge::journal>::skipped_at_open(*j) == 3);
    REQUIRE(pending_of(*j).size() == 1);
    CHECK(pending_of(*j)[0].hash == hash_of(b2));
}

TEST_CASE("journal: a file of the old format (found and mark only) reads as before") {
    temp_dir dir;
    const bytes b1 = fake_block(1), b2 = fake_block(2), b3 = fake_block(3);
    // As the previous version wrote it: found records, marks with the old statuses.
    std::string text;
    auto found = [&](std::uint32_t h, const bytes& b) {
        text += bridge::format_journal_record({bridge::journal_record::kind::found, h, hash_of(b), h, b, {}, {}}) + "\n";
    };
    auto mark = [&](const bytes& b, block_status s, const char* reason) {
        bridge::journal_record m;
        m.type = bridge::journal_record::kind::mark;
        m.hash = hash_of(b);
        m.status = s;
        m.reason = reason;
        m.time = 9;
        text += bridge::format_journal_record(m) + "\n";
    };
    found(1, b1);
    found(2, b2);
    found(3, b3);
    mark(b1, block_status::accepted, "");
    mark(b2, block_status::rejected, "high-hash");
    append_raw(dir.file(), text);
    auto j = open_journal(dir.file());
    CHECK(test::access<bridge::journal>::skipped_at_open(*j) == 0);
    CHECK(entry_of(*j, hash_of(b1))->status == block_status::accepted);
    CHECK(entry_of(*j, hash_of(b2))->status == block_status::rejected);
    CHECK(entry_of(*j, hash_of(b2))->reason == "high-hash");
    REQUIRE(pending_of(*j).size() == 1);
    CHECK(pending_of(*j)[0].block == b3);
}

TEST_CASE("journal: random bytes never crash the replay") {
    auto rng = test::seeded_rng(0x3a);
    for (int i = 0; i < 200; ++i) {
        std::string text(rng() % 400, '\0');
        for (auto& c : text) c = static_cast<char>(rng() % 4 == 0 ? '\n' : rng());
        const auto r = bridge::replay_journal(text, sha256d_block);
        CHECK(r.entries.empty());
    }
}

TEST_CASE("journal: runtime compaction keeps every pending block, summarizes the rest and bounds the file") {
    temp_dir dir;
    auto j = open_journal(dir.file());
    constexpr std::size_t block_bytes = 200;  // a found record is ~500 bytes, its mark ~120
    constexpr std::uint32_t finished = 6000;  // ~3.7 MB appended in all
    std::vector<bytes> pending_blocks;
    std::uint64_t largest_file = 0;
    for (std::uint32_t n = 0; n < finished + 40; ++n) {
        const bytes b = sized_block(n, block_bytes);
        j->append_found(100 + n, hash_of(b), shared(b), 1000 + n);
        // Every 75th block stays pending, spread over the whole run.
        if (n % 75 == 0) {
            pending_blocks.push_back(b);
        } else {
            REQUIRE_FALSE(j->mark(hash_of(b), n % 2 ? block_status::confirmed : block_status::orphaned, "", 2000 + n));
        }
        if (n % 100 == 0) {
            REQUIRE_FALSE(j->flush());
            largest_file = std::max<std::uint64_t>(largest_file, test::access<bridge::journal>::file_bytes(*j));
        }
    }
    REQUIRE_FALSE(j->flush());
    CHECK(test::access<bridge::journal>::file_bytes(*j) == std::filesystem::file_size(dir.file()));
    // Without compaction it would have reached ~3.7 MB. (Live data is ~0.2 MB: the pending
    // blocks and max_journal_finished_records summaries; compaction starts past 1 MB.)
    CHECK(largest_file < 2'500'000);
    CHECK(test::access<bridge::journal>::file_bytes(*j) < 1'500'000);

    // Nothing pending was dropped: bytes intact, from memory and after reopen.
    auto check_pending = [&](const journal& jj) {
        const auto p = pending_of(jj);
        REQUIRE(p.size() == pending_blocks.size());
        for (std::size_t i = 0; i < p.size(); ++i) CHECK(p[i].block == pending_blocks[i]);
    };
    check_pending(*j);
    // Memory keeps summaries only, and finished ones are bounded by compaction: after one,
    // exactly the pending blocks and the newest max_journal_finished_records final ones.
    for (const auto& e : j->entries()) CHECK(e.block.empty());
    REQUIRE_FALSE(j->compact());
    CHECK(j->entries().size() == pending_blocks.size() + bridge::max_journal_finished_records);
    // The counters survive the summaries that were dropped: every block is counted.
    const auto counts = j->counts();
    std::uint64_t total = 0;
    for (auto c : counts) total += c;
    CHECK(total == finished + 40);
    CHECK(counts[static_cast<std::size_t>(block_status::pending)] == pending_blocks.size());
    j.reset();
    auto again = open_journal(dir.file());
    check_pending(*again);
    CHECK(test::access<bridge::journal>::skipped_at_open(*again) == 0);
    CHECK(again->counts() == counts);
}

TEST_CASE("journal: an explicit compaction keeps pending records and the newest final ones") {
    temp_dir dir;
    auto j = open_journal(dir.file());
    const bytes kept = sized_block(1, 200);
    const bytes accepted = sized_block(2, 200);
    j->append_found(1, hash_of(kept), shared(kept), 1);
    j->append_found(2, hash_of(accepted), shared(accepted), 2);
    REQUIRE_FALSE(j->mark(hash_of(accepted), block_status::accepted, "", 3));
    for (std::uint32_t n = 3; n < bridge::max_journal_finished_records + 13; ++n) {
        const bytes b = sized_block(n, 200);
        j->append_found(n, hash_of(b), shared(b), n);
        REQUIRE_FALSE(j->mark(hash_of(b), block_status::stale, "x", n));
    }
    REQUIRE_FALSE(j->flush());
    const auto before = test::access<bridge::journal>::file_bytes(*j);
    REQUIRE_FALSE(j->compact());
    CHECK(test::access<bridge::journal>::file_bytes(*j) < before);
    CHECK(test::access<bridge::journal>::file_bytes(*j) == std::filesystem::file_size(dir.file()));
    const auto all = j->entries();
    REQUIRE(all.size() == bridge::max_journal_finished_records + 2);
    CHECK(all[0].hash == hash_of(kept));
    CHECK(all[0].status == block_status::pending);
    // A block that is not final is never dropped; it keeps no bytes (it is not pending).
    CHECK(all[1].status == block_status::accepted);
    CHECK(j->load({hash_of(accepted)}, SIZE_MAX).empty());
    CHECK(j->counts()[static_cast<std::size_t>(block_status::stale)] == bridge::max_journal_finished_records + 10);
    // Appending goes on in the new file.
    const bytes later = sized_block(99999, 200);
    j->append_found(5000, hash_of(later), shared(later), 5000);
    REQUIRE_FALSE(j->flush());
    const auto p = pending_of(*j);
    REQUIRE(p.size() == 2);
    CHECK(p[1].block == later);
}

TEST_CASE("journal: compaction never holds up a record: appends are durable while it is stuck") {
    temp_dir dir;
    gate built;
    std::atomic<bool> armed{false};
    auto opts = quiet();
    opts.on_step = [&](bridge::journal_step s) {
        if (armed && s == bridge::journal_step::compact_file_built) built.wait();
    };
    auto j = open_journal(dir.file(), opts);
    std::vector<bytes> before, during;
    for (std::uint32_t n = 0; n < 20; ++n) {
        before.push_back(sized_block(n, 300));
        j->append_found(n, hash_of(before.back()), shared(before.back()), n);
    }
    REQUIRE_FALSE(j->flush());
    armed = true;
    std::error_code compacted = bridge::journal_errc::io_error;
    std::thread compactor([&] { compacted = j->compact(); });
    built.wait_for_waiter();  // the new file is written up to X; the compactor is stuck there
    for (std::uint32_t n = 100; n < 130; ++n) {
        during.push_back(sized_block(n, 300));
        j->append_found(n, hash_of(during.back()), shared(during.back()), n);
    }
    REQUIRE_FALSE(j->mark(hash_of(before[0]), block_status::confirmed, "", 7));
    // Written and fsync'ed while the compaction cannot finish.
    CHECK_FALSE(j->flush());
    CHECK(read_all(dir.file()).find(to_hex(during.back())) != std::string::npos);
    built.release();
    compactor.join();
    CHECK_FALSE(compacted);
    // The records written after X were carried into the new file.
    CHECK(pending_of(*j).size() == 19 + 30);
    j.reset();
    auto again = open_journal(dir.file());
    const auto p = pending_of(*again);
    REQUIRE(p.size() == 19 + 30);
    CHECK(p.back().block == during.back());
    CHECK(entry_of(*again, hash_of(before[0]))->status == block_status::confirmed);
    CHECK(test::access<bridge::journal>::skipped_at_open(*again) == 0);
}

TEST_CASE("journal: load stops at its byte budget and returns at least one block") {
    temp_dir dir;
    auto j = open_journal(dir.file());
    std::vector<hash256> hashes;
    for (std::uint32_t n = 0; n < 10; ++n) {
        const bytes b = sized_block(n, 1000);
        hashes.push_back(hash_of(b));
        j->append_found(n, hashes.back(), shared(b), n);
    }
    REQUIRE_FALSE(j->flush());
    CHECK(j->load(hashes, 3500).size() == 3);
    CHECK(j->load(hashes, 1).size() == 1);
    const auto all = j->load(hashes, SIZE_MAX);
    REQUIRE(all.size() == 10);
    for (std::size_t i = 0; i < all.size(); ++i) CHECK(all[i].hash == hashes[i]);
    std::atomic<bool> loaded{false};
    std::size_t async_count = 0;
    j->load_async(hashes, 2500, [&](std::vector<bridge::journal_entry> es) {
        async_count = es.size();
        loaded = true;
    });
    for (int i = 0; i < 2000 && !loaded; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    REQUIRE(loaded);
    CHECK(async_count == 2);
}

TEST_CASE("journal: a file larger than 256 MiB is read line by line and compacted") {
    // The previous version read at most 256 MiB and then refused to compact. 34 blocks of
    // 4 MB (8 MB of hex each): 272 MiB. All but two are final, so the compacted file is small.
    temp_dir dir;
    constexpr std::size_t block_bytes = 4'000'000;
    constexpr std::uint32_t blocks = 34;
    std::vector<bytes> pending;
    {
        std::ofstream out(dir.file(), std::ios::binary);
        for (std::uint32_t n = 0; n < blocks; ++n) {
            const bytes b = sized_block(n, block_bytes);
            out << bridge::format_journal_record(
                       {bridge::journal_record::kind::found, n, hash_of(b), n, b, {}, {}})
                << "\n";
            if (n % 17 == 0) {
                pending.push_back(b);
                continue;
            }
            bridge::journal_record m;
            m.type = bridge::journal_record::kind::mark;
            m.hash = hash_of(b);
            m.status = block_status::confirmed;
            m.time = n;
            out << bridge::format_journal_record(m) << "\n";
        }
    }
    REQUIRE(std::filesystem::file_size(dir.file()) > (256u << 20));
    auto j = open_journal(dir.file());
    CHECK(test::access<bridge::journal>::skipped_at_open(*j) == 0);
    CHECK(j->entries().size() == blocks);
    // Two found records (16 MB of hex) and 32 summaries.
    CHECK(std::filesystem::file_size(dir.file()) < 17'000'000);
    const auto p = pending_of(*j);
    REQUIRE(p.size() == 2);
    CHECK(p[0].block == pending[0]);
    CHECK(p[1].block == pending[1]);
}

TEST_CASE("journal: a crash during compaction leaves the old journal complete") {
    temp_dir dir;
    const bytes b1 = fake_block(1), b2 = fake_block(2);
    {
        auto j = open_journal(dir.file());
        j->append_found(10, hash_of(b1), shared(b1), 100);
        j->append_found(11, hash_of(b2), shared(b2), 101);
        REQUIRE_FALSE(j->flush());
    }
    // A crash after the temporary file was partly written, before the rename: the
    // journal itself is untouched and the half-written temporary is ignored.
    {
        std::ofstream tmp(dir.file() + ".tmp", std::ios::binary);
        tmp << "found 12 0000";
    }
    auto j = open_journal(dir.file());
    const auto p = pending_of(*j);
    REQUIRE(p.size() == 2);
    CHECK(p[0].block == b1);
    CHECK(p[1].block == b2);
    CHECK_FALSE(std::filesystem::exists(dir.file() + ".tmp"));
}

namespace {

// What a child's body and its journal's step hook share: a compaction can be held right
// after its new file is built, so that records land after X (the tail the writer copies).
struct child_ctl {
    std::atomic<bool> hold{false};
    std::atomic<bool> in_build{false};
    std::atomic<bool> go{false};
};

// Runs `body` in a child process whose journal dies (_exit: no destructors, no flush) the
// `nth` time it reaches `kill_at` (open() compacts too: its compact_file_built and
// compact_renamed count). The child reports every record whose done callback said durable
// as one line on a pipe: "F <hex hash>" for a found record, "M <hex hash>" for a mark.
struct child_report {
    std::vector<std::string> acked;
    bool killed = false;
};

child_report run_killed(const std::string& path, bridge::journal_step kill_at, int nth,
                        const std::function<void(journal&, child_ctl&, const std::function<void(std::string)>&)>& body) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    constexpr int killed_code = 42;
    if (pid == 0) {
        ::close(fds[0]);
        std::mutex out_mu;
        auto report = [&](std::string line) {
            line += "\n";
            std::lock_guard lock(out_mu);
            if (::write(fds[1], line.data(), line.size()) < 0) ::_exit(3);
        };
        child_ctl ctl;
        auto opts = quiet();
        std::atomic<int> hits{0};
        opts.on_step = [&](bridge::journal_step s) {
            if (s == kill_at && ++hits == nth) ::_exit(killed_code);  // a crash: nothing more happens
            if (s == bridge::journal_step::compact_file_built && ctl.hold && !ctl.in_build.exchange(true))
                while (!ctl.go) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        };
        auto j = journal::open(path, std::move(opts));
        if (!j) ::_exit(2);
        body(**j, ctl, report);
        ::_exit(0);
    }
    ::close(fds[1]);
    child_report r;
    std::string text;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        text.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    r.killed = WIFEXITED(status) && WEXITSTATUS(status) == killed_code;
    for (std::size_t at = 0; at < text.size();) {
        const std::size_t nl = text.find('\n', at);
        if (nl == std::string::npos) break;
        r.acked.push_back(text.substr(at, nl - at));
        at = nl + 1;
    }
    return r;
}

}  // namespace

TEST_CASE("journal: killed at any step of the writer or the compactor, every acknowledged record survives") {
    // Each run: a journal that already holds ten blocks (five of them final), then a child
    // that appends and marks blocks — each acknowledged once durable — and compacts twice
    // with records arriving during the compaction, killed the nth time it reaches one step.
    // The reopened journal must hold every acknowledged record, the old blocks intact, and
    // nothing unreadable but at most one torn record.
    struct point {
        bridge::journal_step step;
        int nth;
    };
    const std::vector<point> points = {
        {bridge::journal_step::batch_written, 1},       {bridge::journal_step::batch_written, 4},
        {bridge::journal_step::batch_synced, 1},        {bridge::journal_step::batch_synced, 5},
        {bridge::journal_step::compact_file_built, 2},  {bridge::journal_step::compact_tail_copied, 1},
        {bridge::journal_step::compact_renamed, 2},     {bridge::journal_step::compact_file_built, 3},
        {bridge::journal_step::compact_tail_copied, 2}, {bridge::journal_step::compact_renamed, 3},
    };
    for (const auto& pt : points) {
        CAPTURE(static_cast<int>(pt.step));
        CAPTURE(pt.nth);
        temp_dir dir;
        std::vector<bytes> old_blocks;
        {
            auto j = open_journal(dir.file());
            for (std::uint32_t n = 0; n < 10; ++n) {
                old_blocks.push_back(sized_block(n, 300));
                j->append_found(n, hash_of(old_blocks.back()), shared(old_blocks.back()), n);
                if (n % 2) REQUIRE_FALSE(j->mark(hash_of(old_blocks.back()), block_status::confirmed, "", n));
            }
            REQUIRE_FALSE(j->flush());
        }
        std::vector<bytes> fresh, during;
        for (std::uint32_t n = 100; n < 140; ++n) fresh.push_back(sized_block(n, 300));
        for (std::uint32_t n = 1000; n < 1004; ++n) during.push_back(sized_block(n, 300));
        const auto r = run_killed(dir.file(), pt.step, pt.nth, [&](journal& j, child_ctl& ctl, const auto& report) {
            auto ack = [&report](std::string line) {
                return [&report, line](std::error_code ec) {
                    if (!ec) report(line);
                };
            };
            auto append = [&](const bytes& b, std::uint32_t height) {
                const hash256 h = hash_of(b);
                j.append_found(height, h, shared(b), 1, ack("F " + to_hex(h)));
            };
            std::size_t next_during = 0;
            for (std::size_t i = 0; i < fresh.size(); ++i) {
                append(fresh[i], std::uint32_t(100 + i));
                if (i % 3 == 0 && i / 3 < 5) {
                    // Pending old blocks (even ones) become orphaned.
                    const hash256 h = hash_of(old_blocks[2 * (i / 3)]);
                    (void)j.mark(h, block_status::orphaned, "x", 2, ack("M " + to_hex(h)));
                }
                if (i % 8 == 7) (void)j.flush();
                if (i == 20 || i == 35) {
                    // A compaction, held once its file is built up to X, while two more
                    // records are written: they are the tail the install copies.
                    ctl.in_build = false;
                    ctl.go = false;
                    ctl.hold = true;
                    std::thread c([&j] { (void)j.compact(); });
                    while (!ctl.in_build) std::this_thread::sleep_for(std::chrono::milliseconds(1));
                    for (int k = 0; k < 2; ++k, ++next_during) append(during[next_during], std::uint32_t(2000 + next_during));
                    (void)j.flush();
                    ctl.go = true;
                    c.join();
                    ctl.hold = false;
                }
            }
            (void)j.flush();
        });
        CHECK(r.killed);
        // Killed in the first batch nothing was acknowledged yet; at every other point
        // something was.
        const bool first_batch = pt.nth == 1 && (pt.step == bridge::journal_step::batch_written ||
                                                 pt.step == bridge::journal_step::batch_synced);
        CHECK(r.acked.empty() == first_batch);
        auto j = open_journal(dir.file());
        CHECK(test::access<bridge::journal>::skipped_at_open(*j) <= 1);
        for (const auto& line : r.acked) {
            CAPTURE(line);
            const hash256 h = *from_hex_fixed<32>(line.substr(2, 64));
            const auto e = entry_of(*j, h);
            REQUIRE(e);
            if (line[0] == 'M') {
                CHECK(e->status == block_status::orphaned);
            } else {
                const auto loaded = j->load({h}, SIZE_MAX);
                REQUIRE(loaded.size() == 1);
                CHECK(hash_of(loaded[0].block) == h);
            }
        }
        // The blocks from before the child: confirmed ones stay, pending ones keep their bytes.
        for (std::size_t n = 0; n < old_blocks.size(); ++n) {
            const auto e = entry_of(*j, hash_of(old_blocks[n]));
            REQUIRE(e);
            if (n % 2 == 1) CHECK(e->status == block_status::confirmed);
            if (e->status == block_status::pending) CHECK(j->load({e->hash}, SIZE_MAX).size() == 1);
        }
    }
}
