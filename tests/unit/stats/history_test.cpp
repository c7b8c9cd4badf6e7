// The SQLite history: schema migrations, retention, restart, and a database that cannot
// be used (issue 14 "History").
#include <doctest/doctest.h>

#include <sqlite3.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <future>
#include <tuple>

#include "stats/history.hpp"
#include "stats/statistics.hpp"

using namespace sb;
using namespace sb::bridge;
using namespace sb::bridge::stats;
using namespace std::chrono_literals;

namespace {

struct temp_dir {
    std::string path;
    temp_dir() {
        char tmpl[] = "/tmp/sb-history-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

int user_version(const std::string& path) {
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, nullptr);
    int v = -1;
    if (sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

void sql(const std::string& path, const char* text) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    char* err = nullptr;
    const int rc = sqlite3_exec(db, text, nullptr, nullptr, &err);
    INFO((err ? err : ""));
    sqlite3_free(err);
    sqlite3_close(db);
    REQUIRE(rc == SQLITE_OK);
}

std::vector<series_sample> series(history& h, std::string scope, std::string key, std::int64_t from, std::int64_t to,
                                  std::int64_t step) {
    std::promise<std::vector<series_sample>> p;
    h.query_series(std::move(scope), std::move(key), from, to, step, [&p](std::vector<series_sample> s) { p.set_value(std::move(s)); });
    return p.get_future().get();
}

time_point at(std::int64_t s) { return time_point(std::chrono::seconds(s)); }

}  // namespace

TEST_CASE("history: a new database gets the current schema, a version-1 file is migrated and keeps its rows") {
    temp_dir d;
    const std::string fresh = d.path + "/fresh.sqlite";
    {
        auto h = history::open(fresh);
        CHECK(h->status().available);
        CHECK(h->status().error.empty());
    }
    CHECK(user_version(fresh) == history_schema_version);

    // What version 1 wrote: counters, series and blocks, no events table.
    const std::string old = d.path + "/old.sqlite";
    sql(old,
        "CREATE TABLE counters (chain TEXT NOT NULL, worker TEXT NOT NULL, accepted INTEGER NOT NULL,"
        " accepted_difficulty REAL NOT NULL, rejected TEXT NOT NULL, blocks INTEGER NOT NULL,"
        " best_all_time REAL NOT NULL, last_share INTEGER, first_seen INTEGER NOT NULL,"
        " PRIMARY KEY (chain, worker)) WITHOUT ROWID;"
        "CREATE TABLE series (scope TEXT NOT NULL, key TEXT NOT NULL, step INTEGER NOT NULL, t INTEGER NOT NULL,"
        " hashrate_sum REAL NOT NULL, samples INTEGER NOT NULL, accepted INTEGER NOT NULL, rejected INTEGER NOT NULL,"
        " PRIMARY KEY (scope, key, step, t)) WITHOUT ROWID;"
        "CREATE INDEX series_by_time ON series (step, t);"
        "CREATE TABLE blocks (chain TEXT NOT NULL, hash TEXT NOT NULL, height INTEGER NOT NULL, worker TEXT NOT NULL,"
        " found_at INTEGER, status TEXT NOT NULL, reason TEXT NOT NULL, attempts INTEGER NOT NULL,"
        " difficulty REAL NOT NULL, PRIMARY KEY (chain, hash));"
        "INSERT INTO counters VALUES ('regtest','rig',10,10.0,'1,0,2,0,0,0,0,0,0,0',1,777.0,1700000000,1690000000);"
        "PRAGMA user_version=1;");
    auto h = history::open(old);
    CHECK(h->status().available);
    CHECK(user_version(old) == history_schema_version);
    REQUIRE(h->restored().workers.size() == 1);
    const auto& w = h->restored().workers[0];
    CHECK(w.worker == "rig");
    CHECK(w.best_all_time == 777.0);
    CHECK(w.shares.accepted == 10);
    CHECK(w.shares.by_status[1] == 1);
    CHECK(w.shares.by_status[3] == 2);
    // The events table of version 2 is there and takes rows.
    history_batch b;
    event e;
    e.kind = event_kind::node_state;
    e.at = std::chrono::system_clock::now();
    e.state = "down";
    b.events.push_back(e);
    h->enqueue(b);
    h->flush();
    CHECK(h->status().batches_written == 1);
    h->stop();
    CHECK(history::open(old)->restored().events.size() == 1);
}

TEST_CASE("history: an unusable database is reported clearly and never touched") {
    temp_dir d;
    SUBCASE("not a database") {
        const std::string path = d.path + "/garbage.sqlite";
        std::ofstream(path) << std::string(4096, 'x');
        auto h = history::open(path);
        const auto st = h->status();
        CHECK_FALSE(st.available);
        CHECK(st.error.find(path) != std::string::npos);
        h->enqueue(history_batch{{event{}}, {}, {}, {}, {}});  // ignored, no crash
        bool called = false;
        h->query_series("bridge", "", 0, 1, 60, [&](std::vector<series_sample> s) { called = s.empty(); });
        CHECK(called);
        h->stop();
        CHECK(std::filesystem::file_size(path) == 4096);
    }
    SUBCASE("written by a newer build") {
        const std::string path = d.path + "/newer.sqlite";
        sql(path, "CREATE TABLE x (a); PRAGMA user_version=99;");
        auto h = history::open(path);
        CHECK_FALSE(h->status().available);
        CHECK(h->status().error.find("newer") != std::string::npos);
        CHECK(user_version(path) == 99);
    }
    SUBCASE("a directory that cannot hold it") {
        auto h = history::open(d.path + "/no/such/dir/stats.sqlite");
        CHECK_FALSE(h->status().available);
        CHECK_FALSE(h->status().error.empty());
    }
}

TEST_CASE("history: series are kept per step and pruned at 24 h, 30 days and a year") {
    temp_dir d;
    auto h = history::open(d.path + "/s.sqlite");
    const std::int64_t now = 1'700'000'000 / 3600 * 3600;
    history_batch b;
    // Samples two minutes apart over 400 days, so each step has points on both sides of
    // its retention.
    for (std::int64_t t = now - 400 * 86400; t < now; t += 86400 / 4) b.points.push_back({"chain", "regtest", t, 100, 1, 0});
    b.points.push_back({"chain", "regtest", now - 120, 300, 2, 1});
    b.points.push_back({"chain", "regtest", now - 60, 100, 3, 0});
    h->enqueue(std::move(b));
    h->flush();
    const auto minutes = series(*h, "chain", "regtest", now - 600, now, 60);
    REQUIRE(minutes.size() >= 2);
    CHECK(minutes.back().t == now - 60);
    CHECK(minutes.back().accepted == 3);
    // The 10-minute bucket holding both samples: their mean, their sum.
    const auto tens = series(*h, "chain", "regtest", now - 600, now, 600);
    REQUIRE(tens.size() == 1);
    CHECK(tens[0].hashrate == doctest::Approx(200));
    CHECK(tens[0].accepted == 5);
    CHECK(tens[0].rejected == 1);
    h->prune_now(now);
    CHECK(series(*h, "chain", "regtest", 0, now - 86400, 60).empty());
    CHECK_FALSE(series(*h, "chain", "regtest", now - 86400, now, 60).empty());
    CHECK(series(*h, "chain", "regtest", 0, now - 30 * 86400, 600).empty());
    CHECK_FALSE(series(*h, "chain", "regtest", now - 30 * 86400, now, 600).empty());
    CHECK(series(*h, "chain", "regtest", 0, now - 365 * 86400, 3600).empty());
    CHECK_FALSE(series(*h, "chain", "regtest", now - 365 * 86400, now, 3600).empty());
}

TEST_CASE("history: a restart keeps counters, best shares, blocks and series") {
    temp_dir d;
    const std::string path = d.path + "/stats.sqlite";
    auto now = at(1'700'000'000);
    auto make = [&](std::shared_ptr<history> h) {
        statistics_options o;
        o.clock = [&now] { return now; };
        o.log = [](std::string_view) {};
        auto st = std::make_shared<statistics>(o);
        chain_sources src;
        src.id = "regtest";
        st->add_chain(src);
        st->set_history(h);
        st->restore(h->restored());
        return st;
    };
    {
        auto h = history::open(path);
        auto st = make(h);
        auto sink = st->sink(0);
        for (int i = 0; i < 130; ++i) {
            now += 1s;
            share_event e;
            e.consumer = 1;
            e.worker = "rig1";
            e.share_difficulty = 2;
            e.hash_difficulty = i == 50 ? 4096 : 3;
            e.at = now;
            sink->on_share(e);
            if (i % 10 == 0) st->tick_now();  // minute points on the way
        }
        share_event rej;
        rej.consumer = 1;
        rej.worker = "rig1";
        rej.status = share_status::low_difficulty;
        rej.at = now;
        sink->on_share(rej);
        found_block b;
        b.height = 9;
        b.hash[31] = 1;
        b.worker = "rig1";
        st->on_block_found(0, b);
        share_event blk;  // the block's share, reported after the block went to the sink
        blk.consumer = 1;
        blk.worker = "rig1";
        blk.share_difficulty = 2;
        blk.hash_difficulty = 8192;
        blk.block = true;
        blk.at = now;
        sink->on_share(blk);
        now += 61s;
        st->stop();  // the final tick writes the counters
        st->tick_now();
        h->flush();
        CHECK(h->status().batches_written >= 1);
        CHECK(h->status().error.empty());
    }
    auto h = history::open(path);
    REQUIRE(h->status().available);
    REQUIRE(h->restored().blocks.size() == 1);
    CHECK(h->restored().blocks[0].height == 9);
    CHECK(h->restored().blocks[0].worker == "rig1");
    CHECK(h->restored().blocks[0].difficulty == 8192);
    CHECK_FALSE(h->restored().events.empty());
    auto st = make(h);
    auto sink = st->sink(0);
    share_event e;
    e.consumer = 5;
    e.worker = "rig1";
    e.share_difficulty = 2;
    e.hash_difficulty = 1;
    e.at = now;
    sink->on_share(e);
    st->tick_now();
    const auto s = st->latest();
    REQUIRE(s->workers.size() == 1);
    CHECK(s->workers[0].shares.accepted == 132);
    CHECK(s->workers[0].shares.rejected() == 1);
    CHECK(s->workers[0].best_all_time == 8192);
    CHECK(s->workers[0].shares.blocks == 1);
    CHECK(s->chains[0].shares.accepted == 132);
    CHECK(s->chains[0].best_all_time == 8192);
    const auto pts = series(*h, "worker", "regtest/rig1", 0, 2'000'000'000, 60);
    CHECK(pts.size() >= 2);
    // A minute after the restart: the point counts that minute's share, not the restored totals.
    now += 61s;
    st->tick_now();
    now += 61s;
    st->tick_now();
    h->flush();
    std::uint64_t most = 0;
    for (const auto& p : series(*h, "worker", "regtest/rig1", 0, 2'000'000'000, 60)) most = std::max(most, p.accepted);
    CHECK(most < 100);
    const auto chain_pts = series(*h, "chain", "regtest", 0, 2'000'000'000, 60);
    CHECK(chain_pts.size() >= 2);
    st->stop();
}

TEST_CASE("history: chains of different algorithms get no summed hashrate and no bridge series, each chain its own") {
    temp_dir d;
    auto now = at(1'700'000'000);
    // Shares of difficulty 2 a second on the first chain, 0.5 a second on the second: with
    // both SHA-256d the bridge has their sum; with SHA-256d and KAWPOW it has none.
    auto run = [&](network second, const std::string& file) {
        auto h = history::open(d.path + "/" + file);
        REQUIRE(h->status().available);
        statistics_options o;
        o.clock = [&now] { return now; };
        o.log = [](std::string_view) {};
        auto st = std::make_shared<statistics>(o);
        chain_sources btc;
        btc.id = "btc";
        btc.net = network::bitcoin_regtest;
        chain_sources other;
        other.id = "other";
        other.net = second;
        st->add_chain(btc);
        st->add_chain(other);
        st->set_history(h);
        auto sinks = std::array{st->sink(0), st->sink(1)};
        for (int i = 0; i < 200; ++i) {
            now += 1s;
            for (std::size_t c = 0; c < 2; ++c) {
                share_event e;
                e.consumer = c + 1;
                e.worker = "rig";
                e.share_difficulty = c == 0 ? 2 : 0.5;
                e.hash_difficulty = 3;
                e.at = now;
                sinks[c]->on_share(e);
            }
            if (i % 10 == 0) st->tick_now();  // minute points on the way
        }
        st->tick_now();
        const auto s = st->latest();
        h->flush();
        const auto bridge = series(*h, "bridge", "", 0, 2'000'000'000, 60);
        const auto chain0 = series(*h, "chain", "btc", 0, 2'000'000'000, 60);
        const auto chain1 = series(*h, "chain", "other", 0, 2'000'000'000, 60);
        st->stop();
        return std::tuple{s, bridge, chain0, chain1};
    };

    const auto [same, same_bridge, same0, same1] = run(network::bitcoin_testnet4, "same.sqlite");
    CHECK_FALSE(same->rate_mixed);
    CHECK(same->chains[1].algorithm == "sha256d");
    CHECK(same->rate[1] == doctest::Approx(2.5 * hashes_per_difficulty).epsilon(0.05));
    CHECK(same_bridge.size() >= 2);
    CHECK_FALSE(same0.empty());

    const auto [mixed, mixed_bridge, mixed0, mixed1] = run(network::ravencoin_regtest, "mixed.sqlite");
    CHECK(mixed->rate_mixed);
    REQUIRE(mixed->chains.size() == 2);
    CHECK(mixed->chains[0].algorithm == "sha256d");
    CHECK(mixed->chains[1].algorithm == "kawpow");
    CHECK(mixed->chains[0].rate[1] == doctest::Approx(2 * hashes_per_difficulty).epsilon(0.05));
    CHECK(mixed->chains[1].rate[1] == doctest::Approx(0.5 * hashes_per_difficulty).epsilon(0.05));
    for (const double r : mixed->rate) CHECK(std::isnan(r));
    CHECK(mixed_bridge.empty());
    REQUIRE(mixed0.size() >= 2);
    REQUIRE(mixed1.size() >= 2);
    // Each chain's series is its own hashrate, not the other's nor their sum.
    CHECK(mixed1.back().hashrate == doctest::Approx(0.5 * hashes_per_difficulty).epsilon(0.1));
    CHECK(mixed0.back().hashrate == doctest::Approx(2 * hashes_per_difficulty).epsilon(0.1));
}
