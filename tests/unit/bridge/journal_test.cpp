// The found-block journal: record round trips, append + replay across reopen, marks,
// compaction, and hostile file content (truncated tail, corrupt records).
#include <doctest/doctest.h>

#include <cstdint>
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
