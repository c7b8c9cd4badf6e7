// The found-block journal: record round trips, append + replay across reopen, marks,
// compaction (at open and while running, crash-safe), and hostile file content
// (truncated tail, corrupt records).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <vector>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "dispatch/journal.hpp"
#include "sb/core/hex.hpp"
#include "sb/core/uint256.hpp"
#include "seed.hpp"
#include "vectors.hpp"

using namespace sb;
using bridge::block_status;
using bridge::journal;

namespace {

// A block-shaped byte string: 80 header bytes, a count, a few more bytes.
bytes fake_block(std::uint8_t salt) {
    bytes b(120, salt);
    b[0] = 0x20;
    b[80] = 1;
    return b;
}
hash256 hash_of(const bytes& b) { return sha256d(byte_span(b.data(), 80)); }

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

std::string read_all(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void append_raw(const std::string& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary | std::ios::app);
    out << text;
}

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
    auto p = bridge::parse_journal_record(line);
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
    auto q = bridge::parse_journal_record(bridge::format_journal_record(m));
    REQUIRE(q);
    CHECK(q->status == block_status::rejected);
    CHECK(q->reason == "bad_txnmrklroot_");
}

TEST_CASE("journal: corrupt records are refused by the parser") {
    bridge::journal_record f;
    f.block = fake_block(4);
    f.hash = hash_of(f.block);
    const std::string line = bridge::format_journal_record(f);
    std::string flipped = line;
    flipped[10] = flipped[10] == '1' ? '2' : '1';
    CHECK(bridge::parse_journal_record(flipped).error() == bridge::journal_errc::check_mismatch);
    CHECK_FALSE(bridge::parse_journal_record(line.substr(0, line.size() - 1)));
    CHECK_FALSE(bridge::parse_journal_record(""));
    CHECK_FALSE(bridge::parse_journal_record("found"));
    CHECK_FALSE(bridge::parse_journal_record("mark x pending 1 - 00000000"));
    // A found record whose hash is not its header's.
    bridge::journal_record wrong = f;
    wrong.hash[0] ^= 1;
    CHECK(bridge::parse_journal_record(bridge::format_journal_record(wrong)).error() ==
          bridge::journal_errc::block_invalid);
}

TEST_CASE("journal: a Ravencoin block is kept under its KAWPOW hash and replays") {
    // Source: ravencoin.json, a 120-byte header accepted by Ravencoin Core 4.6.1 regtest.
    const auto& v = test::vector_json("ravencoin.json")["kawpow_blocks_accepted"][0];
    bytes block = *from_hex(v["header120"].GetString());
    REQUIRE(block.size() == 120);
    block.push_back(1);  // a transaction count and bytes after the header
    block.push_back(0);
    bridge::journal_record f;
    f.type = bridge::journal_record::kind::found;
    f.height = v["height"].GetUint();
    // The node shows the final hash as the block hash: its display order is our internal
    // order reversed.
    f.hash = uint256::from_hex(v["final_hash_block_hash"].GetString())->to_hash();
    f.block = block;
    f.time = 3582830250;
    auto p = bridge::parse_journal_record(bridge::format_journal_record(f));
    REQUIRE_MESSAGE(p, p.error().message());
    CHECK(p->hash == f.hash);
    CHECK(p->block == block);
    // A forged mix hash no longer gives the recorded hash.
    bridge::journal_record forged = f;
    forged.block[100] ^= 1;
    CHECK(bridge::parse_journal_record(bridge::format_journal_record(forged)).error() ==
          bridge::journal_errc::block_invalid);

    temp_dir dir;
    {
        auto j = journal::open(dir.file(), [](std::string_view) {});
        REQUIRE(j);
        CHECK_FALSE((*j)->append_found(f.height, f.hash, block, f.time));
    }
    auto j = journal::open(dir.file(), [](std::string_view) {});
    REQUIRE(j);
    REQUIRE((*j)->pending().size() == 1);
    CHECK((*j)->pending()[0].block == block);
    CHECK((*j)->skipped_at_open() == 0);
}

TEST_CASE("journal: append is on disk at once and a reopen replays pending blocks") {
    temp_dir dir;
    const bytes b1 = fake_block(1), b2 = fake_block(2);
    {
        auto j = journal::open(dir.file(), [](std::string_view) {});
        REQUIRE(j);
        CHECK_FALSE((*j)->append_found(10, hash_of(b1), b1, 100));
        // Durable before anything else: another reader sees it now.
        CHECK(read_all(dir.file()).find(to_hex(b1)) != std::string::npos);
        CHECK_FALSE((*j)->append_found(11, hash_of(b2), b2, 101));
        CHECK_FALSE((*j)->append_found(11, hash_of(b2), b2, 101));  // once only
        CHECK_FALSE((*j)->mark(hash_of(b1), block_status::accepted, "", 102));
        CHECK((*j)->mark(hash256{}, block_status::accepted, "", 102) == bridge::journal_errc::unknown_block);
        CHECK((*j)->pending().size() == 1);
    }
    auto j = journal::open(dir.file(), [](std::string_view) {});
    REQUIRE(j);
    const auto pending = (*j)->pending();
    REQUIRE(pending.size() == 1);
    CHECK(pending[0].height == 11);
    CHECK(pending[0].block == b2);
    const auto all = (*j)->entries();
    REQUIRE(all.size() == 2);
    CHECK(all[0].status == block_status::accepted);
    CHECK((*j)->skipped_at_open() == 0);
}

TEST_CASE("journal: a truncated tail is skipped with a warning") {
    temp_dir dir;
    const bytes b1 = fake_block(1), b2 = fake_block(2);
    {
        auto j = journal::open(dir.file(), [](std::string_view) {});
        REQUIRE(j);
        REQUIRE_FALSE((*j)->append_found(10, hash_of(b1), b1, 100));
    }
    bridge::journal_record f;
    f.block = b2;
    f.hash = hash_of(b2);
    const std::string line = bridge::format_journal_record(f);
    append_raw(dir.file(), line.substr(0, line.size() / 2));  // a crash mid-write
    int warnings = 0;
    auto j = journal::open(dir.file(), [&](std::string_view) { ++warnings; });
    REQUIRE(j);
    CHECK(warnings >= 1);
    CHECK((*j)->skipped_at_open() == 1);
    REQUIRE((*j)->pending().size() == 1);
    CHECK((*j)->pending()[0].hash == hash_of(b1));
    // Compaction removed the torn record; appending works again.
    CHECK_FALSE((*j)->append_found(12, hash_of(b2), b2, 103));
    auto again = journal::open(dir.file(), [](std::string_view) {});
    REQUIRE(again);
    CHECK((*again)->pending().size() == 2);
    CHECK((*again)->skipped_at_open() == 0);
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
    auto j = journal::open(dir.file(), [](std::string_view) {});
    REQUIRE(j);
    CHECK((*j)->skipped_at_open() == 3);
    REQUIRE((*j)->pending().size() == 1);
    CHECK((*j)->pending()[0].hash == hash_of(b2));
}

TEST_CASE("journal: random bytes never crash the replay") {
    auto rng = test::seeded_rng(0x3a);
    for (int i = 0; i < 200; ++i) {
        std::string text(rng() % 400, '\0');
        for (auto& c : text) c = static_cast<char>(rng() % 4 == 0 ? '\n' : rng());
        const auto r = bridge::replay_journal(text);
        CHECK(r.entries.empty());
    }
}

namespace {

// A distinct block-shaped byte string of size bytes (header varied by n).
bytes sized_block(std::uint32_t n, std::size_t size) {
    bytes b(size, std::uint8_t(n * 7 + 3));
    b[0] = 0x20;
    for (int i = 0; i < 4; ++i) b[4 + i] = std::uint8_t(n >> (8 * i));
    b[80] = 1;
    return b;
}

}  // namespace

TEST_CASE("journal: runtime compaction keeps every pending block and bounds the file") {
    temp_dir dir;
    auto opened = journal::open(dir.file(), [](std::string_view) {});
    REQUIRE(opened);
    auto& j = **opened;
    constexpr std::size_t block_bytes = 200;  // a found record is ~500 bytes, its mark ~120
    constexpr std::uint32_t finished = 6000;  // ~3.7 MB appended in all
    std::vector<bytes> pending_blocks;
    std::uint64_t largest_file = 0;
    for (std::uint32_t n = 0; n < finished + 40; ++n) {
        const bytes b = sized_block(n, block_bytes);
        REQUIRE_FALSE(j.append_found(100 + n, hash_of(b), b, 1000 + n));
        // Every 75th block stays pending, spread over the whole run.
        if (n % 75 == 0) {
            pending_blocks.push_back(b);
        } else {
            REQUIRE_FALSE(j.mark(hash_of(b), block_status::accepted, "", 2000 + n));
        }
        largest_file = std::max<std::uint64_t>(largest_file, j.file_bytes());
        CHECK(j.file_bytes() == std::filesystem::file_size(dir.file()));
    }
    // Live data: the pending blocks plus max_journal_finished_records finished ones; the
    // file never grew past max(live, the minimum) beyond it.
    constexpr std::uint64_t record_bytes = 2 * block_bytes + 300;
    const std::uint64_t live = (pending_blocks.size() + bridge::max_journal_finished_records) * record_bytes;
    CHECK(largest_file <= live + std::max<std::uint64_t>(live, bridge::journal_compact_min_bytes) + 2 * record_bytes);
    // Without compaction it would have reached ~3.7 MB.
    CHECK(largest_file < 2'500'000);
    CHECK_FALSE(std::filesystem::exists(dir.file() + ".tmp"));

    // Nothing pending was dropped: bytes intact, from memory (pending()) and after reopen.
    auto check_pending = [&](const journal& jj) {
        const auto p = jj.pending();
        REQUIRE(p.size() == pending_blocks.size());
        for (std::size_t i = 0; i < p.size(); ++i) CHECK(p[i].block == pending_blocks[i]);
    };
    check_pending(j);
    // Memory keeps summaries only, and finished ones are bounded by compaction.
    const auto all = j.entries();
    for (const auto& e : all) CHECK(e.block.empty());
    CHECK(all.size() < pending_blocks.size() + 2 * bridge::max_journal_finished_records + 1000);
    opened->reset();
    auto again = journal::open(dir.file(), [](std::string_view) {});
    REQUIRE(again);
    check_pending(**again);
    CHECK((*again)->skipped_at_open() == 0);
}

TEST_CASE("journal: an explicit compaction keeps pending records and the newest finished ones") {
    temp_dir dir;
    auto opened = journal::open(dir.file(), [](std::string_view) {});
    REQUIRE(opened);
    auto& j = **opened;
    const bytes kept = sized_block(1, 200);
    REQUIRE_FALSE(j.append_found(1, hash_of(kept), kept, 1));
    for (std::uint32_t n = 2; n < bridge::max_journal_finished_records + 12; ++n) {
        const bytes b = sized_block(n, 200);
        REQUIRE_FALSE(j.append_found(n, hash_of(b), b, n));
        REQUIRE_FALSE(j.mark(hash_of(b), block_status::stale, "x", n));
    }
    const auto before = j.file_bytes();
    REQUIRE_FALSE(j.compact());
    CHECK(j.file_bytes() < before);
    CHECK(j.file_bytes() == std::filesystem::file_size(dir.file()));
    const auto all = j.entries();
    REQUIRE(all.size() == bridge::max_journal_finished_records + 1);
    CHECK(all.front().hash == hash_of(kept));
    CHECK(all.front().status == block_status::pending);
    // Appending goes on in the new file.
    const bytes later = sized_block(99999, 200);
    REQUIRE_FALSE(j.append_found(5000, hash_of(later), later, 5000));
    const auto p = j.pending();
    REQUIRE(p.size() == 2);
    CHECK(p[1].block == later);
}

TEST_CASE("journal: a crash during compaction leaves the old journal complete") {
    temp_dir dir;
    const bytes b1 = fake_block(1), b2 = fake_block(2);
    {
        auto j = journal::open(dir.file(), [](std::string_view) {});
        REQUIRE(j);
        REQUIRE_FALSE((*j)->append_found(10, hash_of(b1), b1, 100));
        REQUIRE_FALSE((*j)->append_found(11, hash_of(b2), b2, 101));
    }
    // A crash after the temporary file was partly written, before the rename: the
    // journal itself is untouched and the half-written temporary is ignored.
    {
        std::ofstream tmp(dir.file() + ".tmp", std::ios::binary);
        tmp << "found 12 0000";
    }
    auto j = journal::open(dir.file(), [](std::string_view) {});
    REQUIRE(j);
    const auto p = (*j)->pending();
    REQUIRE(p.size() == 2);
    CHECK(p[0].block == b1);
    CHECK(p[1].block == b2);
    CHECK_FALSE(std::filesystem::exists(dir.file() + ".tmp"));
}
