#include "stats/history.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace sb::bridge::stats {

namespace {

std::int64_t to_unix(time_point t) { return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count(); }
time_point from_unix(std::int64_t s) { return time_point(std::chrono::seconds(s)); }

// The rejected counts by status (share_status order, accepted's slot left out) as text:
// "0,3,0,..." (a column per reason would need a migration for every new reason).
std::string rejected_text(const share_counts& s) {
    std::string out;
    for (std::size_t i = 1; i < s.by_status.size(); ++i) {
        if (i > 1) out += ',';
        out += std::to_string(s.by_status[i]);
    }
    return out;
}

void parse_rejected(std::string_view text, share_counts& s) {
    std::size_t i = 1;
    while (!text.empty() && i < s.by_status.size()) {
        const auto comma = text.find(',');
        const auto field = text.substr(0, comma);
        std::uint64_t n = 0;
        for (char ch : field) {
            if (ch < '0' || ch > '9') { n = 0; break; }
            n = n * 10 + static_cast<std::uint64_t>(ch - '0');
        }
        s.by_status[i++] = n;
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
}

// The migrations: migrations[v] takes a database at user_version v to v + 1.
constexpr const char* migrations[] = {
    // 0 → 1: counters, series and found blocks.
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
    " difficulty REAL NOT NULL, PRIMARY KEY (chain, hash));",
    // 1 → 2: events.
    "CREATE TABLE events (id INTEGER PRIMARY KEY, t INTEGER NOT NULL, kind TEXT NOT NULL, chain TEXT NOT NULL,"
    " worker TEXT NOT NULL, state TEXT NOT NULL, hash TEXT NOT NULL, height INTEGER NOT NULL, value REAL NOT NULL,"
    " reference REAL NOT NULL, detail TEXT NOT NULL);"
    "CREATE INDEX events_by_time ON events (t);",
};
static_assert(std::size(migrations) == history_schema_version);

class statement {
public:
    statement(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
    ~statement() { sqlite3_finalize(s_); }
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;
    explicit operator bool() const noexcept { return s_ != nullptr; }
    sqlite3_stmt* get() const noexcept { return s_; }
    statement& text(int i, std::string_view v) {
        sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
        return *this;
    }
    statement& i64(int i, std::int64_t v) {
        sqlite3_bind_int64(s_, i, v);
        return *this;
    }
    statement& real(int i, double v) {
        sqlite3_bind_double(s_, i, v);
        return *this;
    }
    statement& null(int i) {
        sqlite3_bind_null(s_, i);
        return *this;
    }
    // SQLITE_DONE / SQLITE_ROW / an error.
    int step() { return sqlite3_step(s_); }
    void reset() {
        sqlite3_reset(s_);
        sqlite3_clear_bindings(s_);
    }
    std::string col_text(int i) const {
        const auto* p = sqlite3_column_text(s_, i);
        return p != nullptr ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(s_, i)))
                            : std::string();
    }
    std::int64_t col_i64(int i) const { return sqlite3_column_int64(s_, i); }
    double col_real(int i) const { return sqlite3_column_double(s_, i); }
    bool col_null(int i) const { return sqlite3_column_type(s_, i) == SQLITE_NULL; }

private:
    sqlite3_stmt* s_ = nullptr;
};

std::string errmsg(sqlite3* db) { return db != nullptr ? sqlite3_errmsg(db) : "out of memory"; }

bool exec(sqlite3* db, const char* sql, std::string& error) {
    char* msg = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) == SQLITE_OK) return true;
    error = msg != nullptr ? msg : errmsg(db);
    sqlite3_free(msg);
    return false;
}

}  // namespace

struct history::impl {
    std::string path;
    logger log;
    sqlite3* db = nullptr;  // the writer's connection

    mutable std::mutex mu;  // guards the fields below
    std::condition_variable cv;
    std::deque<history_batch> queue;
    bool stopping = false;
    bool busy = false;
    bool available = false;
    std::string error;
    std::uint64_t written = 0;
    std::uint64_t dropped = 0;
    std::thread writer;

    std::mutex rmu;
    std::condition_variable rcv;
    std::deque<std::function<void(sqlite3*)>> reads;
    bool rstopping = false;
    std::thread reader;

    std::int64_t last_prune_minute = 0;
    std::int64_t latest_s = 0;  // writer thread only

    ~impl() {
        if (db != nullptr) sqlite3_close(db);
    }

    void fail(std::string why) {
        std::lock_guard lock(mu);
        error = std::move(why);
    }

    bool open_db() {
        const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                       nullptr);
        if (rc != SQLITE_OK) {
            fail(path + ": cannot open: " + errmsg(db));
            return false;
        }
        sqlite3_busy_timeout(db, 2000);
        std::string err;
        // A file that is not a database fails here (SQLITE_NOTADB), a damaged one at the check.
        {
            statement q(db, "PRAGMA quick_check");
            if (!q) {
                fail(path + ": not a usable SQLite database: " + errmsg(db));
                return false;
            }
            const int r = q.step();
            if (r != SQLITE_ROW || q.col_text(0) != "ok") {
                fail(path + ": the database is damaged (" + (r == SQLITE_ROW ? q.col_text(0) : errmsg(db)) +
                     "); move it away to start a new history");
                return false;
            }
        }
        {
            statement wal(db, "PRAGMA journal_mode=WAL");
            if (!wal || wal.step() != SQLITE_ROW || wal.col_text(0) != "wal") {
                fail(path + ": cannot switch to WAL: " + errmsg(db));
                return false;
            }
        }
        if (!exec(db, "PRAGMA synchronous=NORMAL", err)) {
            fail(path + ": " + err);
            return false;
        }
        int version = 0;
        {
            statement v(db, "PRAGMA user_version");
            if (v && v.step() == SQLITE_ROW) version = static_cast<int>(v.col_i64(0));
        }
        if (version > history_schema_version) {
            fail(path + ": written by a newer solobridge (schema " + std::to_string(version) + ", this build knows " +
                 std::to_string(history_schema_version) + ")");
            return false;
        }
        for (int v = version; v < history_schema_version; ++v) {
            const std::string sql = std::string("BEGIN IMMEDIATE;") + migrations[v] + "PRAGMA user_version=" +
                                    std::to_string(v + 1) + ";COMMIT;";
            if (!exec(db, sql.c_str(), err)) {
                std::string ignored;
                exec(db, "ROLLBACK", ignored);
                fail(path + ": migration to schema " + std::to_string(v + 1) + " failed: " + err);
                return false;
            }
        }
        return true;
    }

    void load(restored_state& r) {
        {
            statement q(db, "SELECT chain, worker, accepted, accepted_difficulty, rejected, blocks, best_all_time,"
                            " last_share, first_seen FROM counters ORDER BY last_share DESC LIMIT ?");
            q.i64(1, static_cast<std::int64_t>(max_restored_workers));
            while (q && q.step() == SQLITE_ROW) {
                counter_row row;
                row.chain = q.col_text(0);
                row.worker = q.col_text(1);
                row.shares.accepted = static_cast<std::uint64_t>(q.col_i64(2));
                row.shares.accepted_difficulty = q.col_real(3);
                parse_rejected(q.col_text(4), row.shares);
                row.shares.blocks = static_cast<std::uint64_t>(q.col_i64(5));
                row.best_all_time = q.col_real(6);
                if (!q.col_null(7)) row.last_share = from_unix(q.col_i64(7));
                row.first_seen = from_unix(q.col_i64(8));
                (row.worker.empty() ? r.chains : r.workers).push_back(std::move(row));
            }
        }
        {
            statement q(db, "SELECT chain, hash, height, worker, found_at, status, reason, attempts, difficulty FROM"
                            " (SELECT rowid AS o, * FROM blocks ORDER BY found_at DESC LIMIT 1000) ORDER BY found_at");
            while (q && q.step() == SQLITE_ROW) r.blocks.push_back(block_from(q));
        }
        {
            statement q(db, "SELECT t, kind, chain, worker, state, hash, height, value, reference, detail FROM"
                            " (SELECT * FROM events ORDER BY id DESC LIMIT 200) ORDER BY id");
            while (q && q.step() == SQLITE_ROW) {
                event e;
                e.at = from_unix(q.col_i64(0));
                const std::string kind = q.col_text(1);
                for (std::size_t k = 0; k < event_kind_count; ++k)
                    if (kind == to_string(static_cast<event_kind>(k))) e.kind = static_cast<event_kind>(k);
                e.chain = q.col_text(2);
                e.worker = q.col_text(3);
                e.state = q.col_text(4);
                e.hash = q.col_text(5);
                e.height = static_cast<std::uint32_t>(q.col_i64(6));
                e.value = q.col_real(7);
                e.reference = q.col_real(8);
                e.detail = q.col_text(9);
                r.events.push_back(std::move(e));
            }
        }
    }

    static block_view block_from(const statement& q, int base = 0) {
        block_view b;
        b.chain = q.col_text(base + 0);
        b.hash = q.col_text(base + 1);
        b.height = static_cast<std::uint32_t>(q.col_i64(base + 2));
        b.worker = q.col_text(base + 3);
        if (!q.col_null(base + 4)) b.found_at = from_unix(q.col_i64(base + 4));
        b.status = q.col_text(base + 5);
        b.reason = q.col_text(base + 6);
        b.attempts = static_cast<std::uint32_t>(q.col_i64(base + 7));
        b.difficulty = q.col_real(base + 8);
        return b;
    }

    // One batch, one transaction. Returns the error, "" when written.
    std::string write(const history_batch& b) {
        std::string err;
        if (!exec(db, "BEGIN IMMEDIATE", err)) return err;
        auto fail_tx = [&](std::string e) {
            std::string ignored;
            exec(db, "ROLLBACK", ignored);
            return e;
        };
        statement counters(db,
                           "INSERT INTO counters VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9) ON CONFLICT (chain, worker) DO UPDATE SET"
                           " accepted=?3, accepted_difficulty=?4, rejected=?5, blocks=?6,"
                           " best_all_time=max(best_all_time, ?7), last_share=coalesce(?8, last_share)");
        if (!counters) return fail_tx(errmsg(db));
        auto put = [&](const counter_row& r) {
            counters.text(1, r.chain).text(2, r.worker);
            counters.i64(3, static_cast<std::int64_t>(r.shares.accepted)).real(4, r.shares.accepted_difficulty);
            counters.text(5, rejected_text(r.shares)).i64(6, static_cast<std::int64_t>(r.shares.blocks));
            counters.real(7, r.best_all_time);
            if (r.last_share) counters.i64(8, to_unix(*r.last_share));
            else counters.null(8);
            counters.i64(9, to_unix(r.first_seen));
            const int rc = counters.step();
            counters.reset();
            return rc == SQLITE_DONE;
        };
        for (const auto& r : b.chains)
            if (!put(r)) return fail_tx(errmsg(db));
        for (const auto& r : b.workers)
            if (!put(r)) return fail_tx(errmsg(db));
        statement series(db,
                         "INSERT INTO series VALUES (?1,?2,?3,?4,?5,1,?6,?7) ON CONFLICT (scope, key, step, t) DO UPDATE SET"
                         " hashrate_sum=hashrate_sum+?5, samples=samples+1, accepted=accepted+?6, rejected=rejected+?7");
        if (!series) return fail_tx(errmsg(db));
        for (const auto& p : b.points)
            for (const std::int64_t step : {step_minute, step_ten_minutes, step_hour}) {
                series.text(1, p.scope).text(2, p.key).i64(3, step).i64(4, p.t / step * step);
                series.real(5, p.hashrate).i64(6, static_cast<std::int64_t>(p.accepted));
                series.i64(7, static_cast<std::int64_t>(p.rejected));
                const int rc = series.step();
                series.reset();
                if (rc != SQLITE_DONE) return fail_tx(errmsg(db));
            }
        statement blocks(db,
                         "INSERT INTO blocks VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9) ON CONFLICT (chain, hash) DO UPDATE SET"
                         " status=?6, reason=?7, attempts=?8, worker=CASE WHEN ?4='' THEN worker ELSE ?4 END,"
                         " found_at=coalesce(found_at, ?5), difficulty=max(difficulty, ?9)");
        if (!blocks) return fail_tx(errmsg(db));
        for (const auto& x : b.blocks) {
            blocks.text(1, x.chain).text(2, x.hash).i64(3, x.height).text(4, x.worker);
            if (x.found_at) blocks.i64(5, to_unix(*x.found_at));
            else blocks.null(5);
            blocks.text(6, x.status).text(7, x.reason).i64(8, x.attempts).real(9, x.difficulty);
            const int rc = blocks.step();
            blocks.reset();
            if (rc != SQLITE_DONE) return fail_tx(errmsg(db));
        }
        statement events(db, "INSERT INTO events (t, kind, chain, worker, state, hash, height, value, reference, detail)"
                             " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)");
        if (!events) return fail_tx(errmsg(db));
        for (const auto& e : b.events) {
            events.i64(1, to_unix(e.at)).text(2, to_string(e.kind)).text(3, e.chain).text(4, e.worker);
            events.text(5, e.state).text(6, e.hash).i64(7, e.height).real(8, e.value).real(9, e.reference);
            events.text(10, e.detail);
            const int rc = events.step();
            events.reset();
            if (rc != SQLITE_DONE) return fail_tx(errmsg(db));
        }
        if (!exec(db, "COMMIT", err)) return fail_tx(err);
        return {};
    }

    std::string prune(std::int64_t now_s) {
        std::string err;
        if (!exec(db, "BEGIN IMMEDIATE", err)) return err;
        statement del(db, "DELETE FROM series WHERE step = ?1 AND t < ?2");
        for (const std::int64_t step : {step_minute, step_ten_minutes, step_hour}) {
            del.i64(1, step).i64(2, now_s - history::retention_s(step));
            const int rc = del.step();
            del.reset();
            if (rc != SQLITE_DONE) {
                std::string ignored;
                exec(db, "ROLLBACK", ignored);
                return errmsg(db);
            }
        }
        statement ev(db, "DELETE FROM events WHERE t < ?1");
        ev.i64(1, now_s - std::chrono::seconds(keep_events).count());
        if (ev.step() != SQLITE_DONE) {
            std::string ignored;
            exec(db, "ROLLBACK", ignored);
            return errmsg(db);
        }
        if (!exec(db, "COMMIT", err)) return err;
        return {};
    }

    void write_loop() {
        for (;;) {
            history_batch b;
            {
                std::unique_lock lock(mu);
                cv.wait(lock, [&] { return stopping || !queue.empty(); });
                if (queue.empty()) return;  // stopping, everything written
                b = std::move(queue.front());
                queue.pop_front();
                busy = true;
            }
            std::string err = write(b);
            // Retention runs on the statistics' clock: the newest time the batches carried.
            for (const auto& p : b.points) latest_s = std::max(latest_s, p.t);
            for (const auto& e : b.events) latest_s = std::max(latest_s, to_unix(e.at));
            const std::int64_t now = latest_s;
            if (err.empty() && now > 0 && now / 60 != last_prune_minute) {
                last_prune_minute = now / 60;
                err = prune(now);
            }
            {
                std::lock_guard lock(mu);
                busy = false;
                if (err.empty()) {
                    ++written;
                } else {
                    if (error != err) log.warn("history: write failed: " + err);
                    error = "write failed: " + err;
                    ++dropped;
                }
            }
            cv.notify_all();
        }
    }

    void read_loop() {
        sqlite3* rdb = nullptr;
        if (sqlite3_open_v2(path.c_str(), &rdb, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
            sqlite3_close(rdb);
            rdb = nullptr;
        } else {
            sqlite3_busy_timeout(rdb, 2000);
        }
        for (;;) {
            std::function<void(sqlite3*)> task;
            {
                std::unique_lock lock(rmu);
                rcv.wait(lock, [&] { return rstopping || !reads.empty(); });
                if (reads.empty()) break;
                task = std::move(reads.front());
                reads.pop_front();
            }
            task(rdb);
        }
        if (rdb != nullptr) sqlite3_close(rdb);
    }
};

std::shared_ptr<history> history::open(const std::string& path, logger log) {
    std::shared_ptr<history> h(new history());
    h->impl_ = std::make_shared<impl>();
    auto& m = *h->impl_;
    m.path = path;
    m.log = std::move(log);
    if (m.open_db()) {
        m.available = true;
        m.load(h->restored_);
        m.writer = std::thread([&m] { m.write_loop(); });
        m.reader = std::thread([&m] { m.read_loop(); });
    } else {
        m.log.error("history unavailable: " + m.error + " (statistics stay in memory; mining is not affected)");
    }
    return h;
}

history::~history() { stop(); }

void history::enqueue(history_batch b) {
    auto& m = *impl_;
    {
        std::lock_guard lock(m.mu);
        if (!m.available || m.stopping) return;
        if (m.queue.size() >= max_queued_batches) {
            m.queue.pop_front();
            ++m.dropped;
        }
        m.queue.push_back(std::move(b));
    }
    m.cv.notify_all();
}

void history::query_series(std::string scope, std::string key, std::int64_t from, std::int64_t to, std::int64_t step,
                           series_done done) {
    auto& m = *impl_;
    {
        std::lock_guard lock(m.rmu);
        if (m.available && !m.rstopping && m.reader.joinable()) {
            m.reads.push_back([scope = std::move(scope), key = std::move(key), from, to, step,
                               done = std::move(done)](sqlite3* db) {
                std::vector<series_sample> out;
                if (db != nullptr) {
                    statement q(db, "SELECT t, hashrate_sum / samples, accepted, rejected FROM series WHERE scope = ?1"
                                    " AND key = ?2 AND step = ?3 AND t >= ?4 AND t < ?5 ORDER BY t LIMIT ?6");
                    q.text(1, scope).text(2, key).i64(3, step).i64(4, from).i64(5, to);
                    q.i64(6, static_cast<std::int64_t>(max_series_points));
                    while (q && q.step() == SQLITE_ROW)
                        out.push_back({q.col_i64(0), q.col_real(1), static_cast<std::uint64_t>(q.col_i64(2)),
                                       static_cast<std::uint64_t>(q.col_i64(3))});
                }
                done(std::move(out));
            });
            m.rcv.notify_one();
            return;
        }
    }
    done({});
}

void history::query_blocks(std::size_t limit, blocks_done done) {
    auto& m = *impl_;
    {
        std::lock_guard lock(m.rmu);
        if (m.available && !m.rstopping && m.reader.joinable()) {
            m.reads.push_back([limit, done = std::move(done)](sqlite3* db) {
                std::vector<block_view> out;
                if (db != nullptr) {
                    statement q(db, "SELECT chain, hash, height, worker, found_at, status, reason, attempts, difficulty"
                                    " FROM blocks ORDER BY found_at DESC, height DESC LIMIT ?1");
                    q.i64(1, static_cast<std::int64_t>(limit));
                    while (q && q.step() == SQLITE_ROW) out.push_back(impl::block_from(q));
                }
                done(std::move(out));
            });
            m.rcv.notify_one();
            return;
        }
    }
    done({});
}

history_view history::status() const {
    const auto& m = *impl_;
    std::lock_guard lock(m.mu);
    history_view v;
    v.enabled = true;
    v.available = m.available;
    v.path = m.path;
    v.error = m.error;
    v.batches_written = m.written;
    v.batches_dropped = m.dropped;
    return v;
}

void history::flush() {
    auto& m = *impl_;
    std::unique_lock lock(m.mu);
    m.cv.wait(lock, [&] { return (m.queue.empty() && !m.busy) || !m.writer.joinable(); });
}

void history::prune_now(std::int64_t now_s) {
    flush();
    auto& m = *impl_;
    if (!m.available) return;
    // The writer is idle after flush; tests call this with no other writes in flight.
    std::lock_guard lock(m.mu);
    if (auto err = m.prune(now_s); !err.empty()) m.error = "prune failed: " + err;
}

void history::stop() {
    auto& m = *impl_;
    {
        std::lock_guard lock(m.mu);
        m.stopping = true;
    }
    m.cv.notify_all();
    if (m.writer.joinable()) m.writer.join();
    {
        std::lock_guard lock(m.rmu);
        m.rstopping = true;
    }
    m.rcv.notify_all();
    if (m.reader.joinable()) m.reader.join();
}

}  // namespace sb::bridge::stats
