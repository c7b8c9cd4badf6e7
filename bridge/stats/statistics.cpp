#include "stats/statistics.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "sb/core/hex.hpp"
#include "sb/core/pow.hpp"
#include "sb/pow/algorithm.hpp"
#include "stats/firmware.hpp"
#include "stats/history.hpp"

namespace sb::bridge::stats {

namespace {

using clock_type = std::chrono::system_clock;

double unix_s(time_point t) noexcept { return std::chrono::duration<double>(t.time_since_epoch()).count(); }

constexpr std::size_t max_name_chars = 128;

// ---- cells -------------------------------------------------------------------------

// Whether a stream is in a hashrate drop, per threshold (statistics_options: the
// dashboard's and the alerts').
using drop_flags = std::array<bool, 2>;

struct worker_cell {
    explicit worker_cell(std::string n, std::string a, time_point now)
        : name(std::move(n)), address(std::move(a)), rates(unix_s(now)), first_seen(now) {}
    std::mutex mu;  // guards everything up to the tick-only part
    const std::string name;
    const std::string address;
    decayed_rates rates;
    share_counts shares;
    double best_round = 0;
    std::uint64_t round = 0;
    double best_all_time = 0;
    std::optional<time_point> last_share;
    time_point first_seen;
    std::uint64_t changes = 0;  // bumped by every share: the tick writes changed rows only
    // Set when the cell leaves memory: a connection that still caches it looks it up again.
    std::atomic<bool> evicted{false};

    // Tick thread only.
    worker_state state = worker_state::offline;
    bool seen_online = false;  // has been online since it entered memory
    drop_flags dropped{};      // in a hashrate drop, per threshold
    bool restored = false;     // its persisted totals were merged (or there were none)
    double difficulty = 0;     // the last share difficulty seen in force (kept once disconnected)
    std::uint64_t written_changes = 0;
    share_counts minute_base;  // counters at the last series point
};

struct connection_cell {
    explicit connection_cell(time_point now) : rates(unix_s(now)) {}
    std::mutex mu;
    std::string raw_worker;  // as the share carried it (the cache key)
    std::shared_ptr<worker_cell> worker;
    decayed_rates rates;
    share_counts shares;
    double best = 0;
    std::optional<time_point> last_share;
    // Tick thread only: ticks in a row the consumer was not among the live ones.
    int absent = 0;
};

struct worker_shard {
    std::mutex mu;
    std::unordered_map<std::string, std::shared_ptr<worker_cell>> map;
};
struct connection_shard {
    std::mutex mu;
    std::unordered_map<consumer_id, std::shared_ptr<connection_cell>> map;
};
struct stripe {
    std::mutex mu;
    decayed_rates rates;
    share_counts shares;
    double best_round = 0;
    std::uint64_t round = 0;
    double best_all_time = 0;
    std::optional<time_point> last_share;
};

// A found block's record (tick thread and on_block_found, under blocks_mu).
struct block_record {
    block_view view;
    bool dirty = true;  // to be written to the history
};

// Totals of a worker read back from the history, merged when the worker shows up.
struct dormant {
    share_counts shares;
    double best_all_time = 0;
};

}  // namespace

struct statistics::impl : std::enable_shared_from_this<statistics::impl> {
    struct chain_state {
        chain_sources src;
        std::array<worker_shard, shard_count> workers;
        std::array<connection_shard, shard_count> connections;
        std::array<stripe, aggregate_stripes> stripes;
        std::atomic<std::uint64_t> round{0};
        std::atomic<std::size_t> worker_cells{0};
        std::atomic<std::uint64_t> folded{0};
        std::shared_ptr<worker_cell> overflow;  // created at start, never counted
        share_counts base;                      // restored totals
        double restored_best = 0;
        std::mutex tmpl_mu;
        template_view tmpl;
        // Tick thread only.
        std::unordered_map<std::string, dormant> dormant_workers;
        std::vector<std::string> last_node_states;  // per node
        std::uint32_t last_height = 0;
        drop_flags chain_dropped{};
        share_counts minute_base;
        std::uint64_t written_chain_changes = ~0ull;
        std::uint64_t chain_changes = 0;
    };

    class chain_sink final : public share_sink {
    public:
        chain_sink(std::weak_ptr<impl> s, std::size_t chain) : s_(std::move(s)), chain_(chain) {}
        void on_share(const share_event& e) noexcept override {
            if (auto s = s_.lock()) s->record(chain_, e);
        }

    private:
        std::weak_ptr<impl> s_;
        std::size_t chain_;
    };

    explicit impl(statistics_options o) : options(std::move(o)) {
        if (!options.clock) options.clock = [] { return clock_type::now(); };
        drop_ratios = {options.hashrate_drop_ratio,
                       options.alert_drop_ratio == options.hashrate_drop_ratio ? 0.0 : options.alert_drop_ratio};
        started_at = options.clock();
        auto empty = std::make_shared<snapshot>();
        empty->version = options.version;
        empty->started_at = started_at;
        empty->at = started_at;
        current = std::move(empty);
    }

    statistics_options options;
    std::array<double, std::tuple_size_v<drop_flags>> drop_ratios{};  // the dashboard's, the alerts'
    time_point started_at;
    std::vector<std::unique_ptr<chain_state>> chains;
    std::shared_ptr<history> hist;

    mutable std::mutex snap_mu;
    std::shared_ptr<const snapshot> current;
    std::uint64_t sequence = 0;

    std::mutex listeners_mu;
    std::vector<std::shared_ptr<event_listener>> listeners;
    std::vector<publish_fn> publishers;

    std::mutex blocks_mu;
    std::deque<block_record> blocks;  // oldest first

    std::deque<event> recent_events;  // tick thread only
    std::vector<event> pending_events;  // tick thread only, this tick's
    std::int64_t last_minute = 0;       // tick thread only
    std::int64_t last_counter_write = 0;
    std::string last_history_error;

    std::mutex found_mu;
    std::vector<event> found_events;  // from on_block_found and note_event, emitted by the next tick

    std::mutex wake_mu;
    std::condition_variable wake_cv;
    bool woken = false;
    bool urgent = false;
    bool stopping = false;
    std::thread thread;

    // ---- the share path (judging threads) ------------------------------------------

    std::shared_ptr<connection_cell> connection(chain_state& c, consumer_id id, time_point now) {
        auto& shard = c.connections[id % shard_count];
        std::lock_guard lock(shard.mu);
        auto& slot = shard.map[id];
        if (!slot) slot = std::make_shared<connection_cell>(now);
        return slot;
    }

    std::shared_ptr<worker_cell> worker(chain_state& c, std::string_view raw, time_point now) {
        std::string name = printable_name(raw);
        auto& shard = c.workers[std::hash<std::string>{}(name) % shard_count];
        std::lock_guard lock(shard.mu);
        if (auto it = shard.map.find(name); it != shard.map.end()) return it->second;
        if (c.worker_cells.load(std::memory_order_relaxed) >= options.max_workers) {
            c.folded.fetch_add(1, std::memory_order_relaxed);
            return c.overflow;
        }
        c.worker_cells.fetch_add(1, std::memory_order_relaxed);
        std::string address = c.src.payout == config::payout_mode::address_username ? payout_address_of(name) : "";
        auto cell = std::make_shared<worker_cell>(name, std::move(address), now);
        shard.map.emplace(std::move(name), cell);
        return cell;
    }

    void record(std::size_t chain, const share_event& e) noexcept {
        try {
            record_share(*chains[chain], e);
        } catch (...) {
            // Out of memory while inserting a cell: the share goes uncounted, mining goes on.
        }
    }

    void record_share(chain_state& c, const share_event& e) {
        const time_point at = e.at.time_since_epoch().count() != 0 ? e.at : options.clock();
        const double t = unix_s(at);
        const bool accepted = e.status == share_status::accepted;
        auto add = [&](share_counts& s) {
            if (accepted) {
                ++s.accepted;
                s.accepted_difficulty += e.share_difficulty;
            } else {
                ++s.by_status[static_cast<std::size_t>(e.status)];
            }
            if (e.block) ++s.blocks;
        };
        auto conn = connection(c, e.consumer, at);
        std::shared_ptr<worker_cell> w;
        {
            std::lock_guard lock(conn->mu);
            if (conn->worker && conn->raw_worker == e.worker && !conn->worker->evicted.load(std::memory_order_relaxed))
                w = conn->worker;
            add(conn->shares);
            if (accepted) {
                conn->rates.add(e.share_difficulty, t);
                conn->last_share = at;
            }
            conn->best = std::max(conn->best, e.hash_difficulty);
        }
        if (!w) {
            w = worker(c, e.worker, at);
            std::lock_guard lock(conn->mu);
            conn->raw_worker = std::string(e.worker);
            conn->worker = w;
        }
        const std::uint64_t round = c.round.load(std::memory_order_acquire);
        {
            std::lock_guard lock(w->mu);
            add(w->shares);
            if (accepted) {
                w->rates.add(e.share_difficulty, t);
                w->last_share = at;
            }
            if (w->round != round) {
                w->round = round;
                w->best_round = 0;
            }
            w->best_round = std::max(w->best_round, e.hash_difficulty);
            w->best_all_time = std::max(w->best_all_time, e.hash_difficulty);
            ++w->changes;
        }
        {
            auto& s = c.stripes[e.consumer % aggregate_stripes];
            std::lock_guard lock(s.mu);
            add(s.shares);
            if (accepted) {
                s.rates.add(e.share_difficulty, t);
                s.last_share = at;
            }
            if (s.round != round) {
                s.round = round;
                s.best_round = 0;
            }
            s.best_round = std::max(s.best_round, e.hash_difficulty);
            s.best_all_time = std::max(s.best_all_time, e.hash_difficulty);
        }
        // A block ends the round after it counted in it.
        if (e.block) {
            c.round.fetch_add(1, std::memory_order_acq_rel);
            note_block_difficulty(c, printable_name(e.worker), e.hash_difficulty);
        }
    }

    // The share event of a found block comes right after on_block_found (the dispatcher
    // hands the block to the sink before it reports the share): its hash difficulty goes
    // to the newest of that worker's blocks still without one. Blocks are rare; the lock
    // is taken for them only.
    void note_block_difficulty(chain_state& c, const std::string& worker, double difficulty) {
        std::lock_guard lock(blocks_mu);
        int looked = 0;
        for (auto it = blocks.rbegin(); it != blocks.rend() && looked < 16; ++it, ++looked)
            if (it->view.chain == c.src.id && it->view.worker == worker && it->view.difficulty == 0) {
                it->view.difficulty = difficulty;
                it->dirty = true;
                return;
            }
    }

    // ---- wake-ups -------------------------------------------------------------------

    void wake(bool is_urgent) {
        {
            std::lock_guard lock(wake_mu);
            woken = true;
            urgent = urgent || is_urgent;
        }
        wake_cv.notify_one();
    }

    void run() {
        auto next = std::chrono::steady_clock::now() + options.tick;
        auto earliest = std::chrono::steady_clock::now();
        for (;;) {
            bool was_urgent = false;
            bool was_woken = false;
            {
                std::unique_lock lock(wake_mu);
                wake_cv.wait_until(lock, next, [&] { return woken || stopping; });
                // Woken: at once, unless the last woken tick was less than min_tick_gap ago
                // (then at that gap; wakes meanwhile join this tick). The regular tick keeps
                // its own interval.
                if (!stopping && woken && std::chrono::steady_clock::now() < earliest)
                    wake_cv.wait_until(lock, earliest, [&] { return stopping; });
                if (stopping) break;
                was_woken = woken;
                was_urgent = urgent;
                woken = false;
                urgent = false;
            }
            const auto began = std::chrono::steady_clock::now();
            tick(was_urgent);
            // A tick costs O(workers) (about 10 ms per 1,000 workers here): past half the
            // interval the next one waits twice as long as this one took, so the statistics
            // never take more than half a core (50,000 workers: an update every ~2 s).
            const auto took = std::chrono::steady_clock::now() - began;
            const auto after = std::chrono::steady_clock::now();
            if (after >= next) next = after + std::max<std::chrono::steady_clock::duration>(options.tick, 2 * took);
            if (was_woken) earliest = after + options.min_tick_gap;
        }
        tick(false);  // the final batch for the history
    }

    // ---- the tick (statistics thread) -------------------------------------------------

    void emit(event e) {
        e.at = e.at.time_since_epoch().count() != 0 ? e.at : options.clock();
        pending_events.push_back(e);
        recent_events.push_back(std::move(e));
        while (recent_events.size() > max_recent_events) recent_events.pop_front();
    }

    static std::string fate_name(block_status s) { return std::string(to_string(s)); }

    void tick(bool was_urgent) {
        const time_point now = options.clock();
        const double t = unix_s(now);
        auto snap = std::make_shared<snapshot>();
        snap->version = options.version;
        snap->at = now;
        snap->started_at = started_at;
        history_batch batch;
        {
            std::vector<event> found;
            {
                std::lock_guard lock(found_mu);
                found.swap(found_events);
            }
            for (auto& e : found) emit(std::move(e));
        }
        const std::int64_t minute = static_cast<std::int64_t>(t) / 60;
        const bool minute_point = last_minute != 0 && minute != last_minute;
        const bool write_counters = static_cast<std::int64_t>(t) - last_counter_write >= 10 || stopping_now();
        bool any_urgent = was_urgent;

        decayed_rates bridge_rates(unix_s(started_at));
        std::set<std::string> algorithms;
        for (auto& cp : chains) {
            chain_state& c = *cp;
            chain_view cv = chain_facts(c, any_urgent);
            algorithms.insert(cv.algorithm);

            // Chain totals from the stripes.
            decayed_rates rates(unix_s(started_at));
            share_counts shares = c.base;
            double best_round = 0, best_all = c.restored_best;
            const std::uint64_t round = c.round.load(std::memory_order_acquire);
            std::optional<time_point> last_share;
            for (auto& s : c.stripes) {
                std::lock_guard lock(s.mu);
                rates.merge(s.rates, t);
                shares.add(s.shares);
                if (s.round == round) best_round = std::max(best_round, s.best_round);
                best_all = std::max(best_all, s.best_all_time);
                if (s.last_share && (!last_share || *s.last_share > *last_share)) last_share = s.last_share;
            }
            bridge_rates.merge(rates, t);
            cv.rate = rates.at(t);
            cv.shares = shares;
            cv.best_round = best_round;
            cv.best_all_time = best_all;
            cv.odds = odds_for(cv.rate[static_cast<std::size_t>(window::h1)], cv.tmpl.network_difficulty);

            workers_tick(c, cv, now, *snap, batch, minute_point, write_counters);
            chain_drop(c, cv);

            const std::uint64_t changes = shares.accepted + shares.rejected();
            if (write_counters && changes != c.written_chain_changes) {
                counter_row row;
                row.chain = c.src.id;
                row.shares = shares;
                row.best_all_time = best_all;
                row.last_share = last_share;
                batch.chains.push_back(std::move(row));
                c.written_chain_changes = changes;
            }
            if (minute_point) {
                series_point p;
                p.scope = "chain";
                p.key = c.src.id;
                p.t = minute * 60;
                p.hashrate = cv.rate[static_cast<std::size_t>(window::m1)];
                p.accepted = shares.accepted - std::min(shares.accepted, c.minute_base.accepted);
                p.rejected = shares.rejected() - std::min(shares.rejected(), c.minute_base.rejected());
                c.minute_base = shares;
                batch.points.push_back(std::move(p));
            }
            snap->workers_folded += c.folded.load(std::memory_order_relaxed);
            snap->workers_tracked += static_cast<std::uint32_t>(c.worker_cells.load(std::memory_order_relaxed));
            snap->chains.push_back(std::move(cv));
        }
        // Sorted once here, so that the API's default order costs nothing per request.
        std::sort(snap->workers.begin(), snap->workers.end(), [](const worker_view& a, const worker_view& b) {
            return std::tie(a.chain, a.name) < std::tie(b.chain, b.name);
        });
        // SHA-256d and KAWPOW hashes do not add up: with both, no bridge rate and no bridge
        // series (each chain has its own).
        snap->rate_mixed = algorithms.size() > 1;
        if (snap->rate_mixed) snap->rate.fill(std::numeric_limits<double>::quiet_NaN());
        else snap->rate = bridge_rates.at(t);
        if (minute_point && !snap->rate_mixed) {
            series_point p;
            p.scope = "bridge";
            p.t = minute * 60;
            p.hashrate = snap->rate[static_cast<std::size_t>(window::m1)];
            std::uint64_t acc = 0, rej = 0;
            for (const auto& pt : batch.points)
                if (pt.scope == "chain") {
                    acc += pt.accepted;
                    rej += pt.rejected;
                }
            p.accepted = acc;
            p.rejected = rej;
            batch.points.push_back(std::move(p));
        }
        if (last_minute == 0 || minute_point) last_minute = minute;
        if (write_counters) last_counter_write = static_cast<std::int64_t>(t);

        blocks_tick(*snap, batch);

        if (hist) {
            snap->history = hist->status();
            if (!snap->history.error.empty() && snap->history.error != last_history_error) {
                event e;
                e.kind = event_kind::history_error;
                e.detail = "history unavailable: " + snap->history.error + " (statistics stay in memory)";
                emit(std::move(e));
                options.log.error(snap->history.error);
            }
            last_history_error = snap->history.error;
        }
        snap->events.assign(recent_events.begin(), recent_events.end());

        std::vector<std::shared_ptr<event_listener>> ls;
        std::vector<publish_fn> pubs;
        {
            std::lock_guard lock(listeners_mu);
            ls = listeners;
            pubs = publishers;
        }
        for (const auto& e : pending_events) {
            if (e.kind == event_kind::block_found || e.kind == event_kind::new_tip ||
                e.kind == event_kind::worker_offline || e.kind == event_kind::node_state)
                any_urgent = true;
            for (const auto& l : ls) l->on_event(e);
        }
        batch.events = std::move(pending_events);
        pending_events.clear();
        if (hist && !batch.empty()) hist->enqueue(std::move(batch));

        std::shared_ptr<const snapshot> published;
        {
            std::lock_guard lock(snap_mu);
            snap->sequence = ++sequence;
            current = snap;
            published = current;
        }
        for (const auto& p : pubs) p(published, any_urgent);
    }

    bool stopping_now() {
        std::lock_guard lock(wake_mu);
        return stopping;
    }

    // Node, tip, template, peers, sessions, bans, devices, blocks of the submitter.
    chain_view chain_facts(chain_state& c, bool& any_urgent) {
        chain_view cv;
        const auto& p = params(c.src.net);
        cv.id = c.src.id;
        cv.network = std::string(p.name);
        cv.coin = std::string(p.coin_name);
        cv.algorithm = std::string(sb::to_string(pow::mined_algorithm(p)));
        if (c.src.templates) {
            const auto fs = c.src.templates();
            for (std::size_t i = 0; i < fs.nodes.size(); ++i) {
                const auto& ts = fs.nodes[i];
                node_view nv;
                nv.rpc_url = i < c.src.rpc_urls.size() ? c.src.rpc_urls[i] : std::string();
                nv.state = std::string(node::to_string(ts.state));
                nv.reachable = ts.state != node::node_state::connecting && ts.state != node::node_state::down;
                nv.last_error = ts.last_error;
                nv.longpoll_active = ts.longpoll_active;
                nv.templates = ts.templates;
                nv.active = fs.active == i;
                cv.nodes.push_back(std::move(nv));
            }
            if (!cv.nodes.empty()) cv.node = cv.nodes[fs.active.value_or(0)];
        }
        if (cv.nodes.empty() && !c.src.rpc_urls.empty()) cv.node.rpc_url = c.src.rpc_urls.front();
        c.last_node_states.resize(cv.nodes.size());
        for (std::size_t i = 0; i < cv.nodes.size(); ++i) {
            const auto& n = cv.nodes[i];
            if (n.state == c.last_node_states[i]) continue;
            if (!c.last_node_states[i].empty()) {
                event e;
                e.kind = event_kind::node_state;
                e.chain = c.src.id;
                e.state = n.state;
                e.detail = "node " + n.rpc_url + " is " + n.state + (n.last_error.empty() ? "" : ": " + n.last_error);
                emit(std::move(e));
                any_urgent = true;
            }
            c.last_node_states[i] = n.state;
        }
        if (c.src.dispatcher) {
            const auto ds = c.src.dispatcher();
            if (ds.height > 0) {
                cv.tip_height = ds.height - 1;
                cv.tip_hash = to_hex_reversed(ds.prev_block);
            }
            cv.job_height = ds.height;
            cv.dispatcher_accepted = ds.shares_accepted;
            cv.dispatcher_rejected = ds.shares_rejected;
            if (ds.height != c.last_height && ds.height > 0) {
                if (c.last_height != 0) {
                    event e;
                    e.kind = event_kind::new_tip;
                    e.chain = c.src.id;
                    e.height = ds.height - 1;
                    e.hash = cv.tip_hash;
                    e.detail = "new tip at height " + std::to_string(ds.height - 1);
                    emit(std::move(e));
                }
                c.last_height = ds.height;
            }
        }
        {
            std::lock_guard lock(c.tmpl_mu);
            cv.tmpl = c.tmpl;
        }
        if (c.src.header_only && c.src.header_only()) cv.work_mode = "header_only";
        if (c.src.peers)
            for (auto& ps : c.src.peers()) {
                peer_view pv{ps.address, ps.configured_as, ps.connected, ps.user_agent, ps.height, ps.ping_ms,
                             ps.inbound, ps.since};
                if (pv.connected) ++cv.peers_connected;
                cv.peers.push_back(std::move(pv));
            }
        if (c.src.bans)
            for (auto& b : c.src.bans())
                cv.bans.push_back({b.ip,
                                   std::chrono::duration_cast<std::chrono::seconds>(b.until.time_since_epoch()).count(),
                                   b.reason, b.refused});
        if (c.src.devices)
            for (auto& d : c.src.devices()) {
                device_view dv;
                dv.chain = c.src.id;
                dv.id = d.device_id;
                dv.name = d.device_name;
                dv.backend = d.backend;
                dv.algorithm = d.algorithm;
                dv.state = mining::to_string(d.state);
                dv.error = d.last_error;
                dv.intensity = d.intensity;
                dv.hashes = d.hashes;
                dv.hashrate_1m = d.hashrate_1m;
                dv.hashrate_5m = d.hashrate_5m;
                dv.candidates = d.candidates;
                dv.dropped_candidates = d.dropped_candidates;
                dv.hardware_errors = d.hardware_errors;
                dv.shares_accepted = d.shares_accepted;
                dv.shares_rejected = d.shares_rejected;
                dv.blocks = d.blocks;
                dv.share_difficulty = d.share_difficulty;
                dv.job_id = d.job_id;
                dv.job_height = d.job_height;
                dv.dag_epoch = d.dag_epoch;
                dv.dag_bytes = d.dag_bytes;
                dv.dag_seconds = d.dag_seconds;
                dv.dag_building_epoch = d.dag_building_epoch;
                dv.dag_progress = d.dag_progress;
                dv.dag_next_epoch = d.dag_next_epoch;
                dv.worker = "device " + d.device_id;
                cv.devices.push_back(std::move(dv));
            }
        if (c.src.submitter) {
            const auto ss = c.src.submitter();
            cv.blocks.found = ss.found;
            cv.blocks.pending = ss.pending;
            cv.blocks.accepted = ss.accepted;
            cv.blocks.confirmed = ss.confirmed;
            cv.blocks.orphaned = ss.orphaned;
            cv.blocks.stale = ss.stale;
            cv.blocks.rejected = ss.rejected;
            cv.blocks.abandoned = ss.abandoned;
            cv.blocks.in_flight = ss.in_flight;
            cv.blocks.parked = ss.parked;
            cv.blocks.watched = ss.watched;
            for (const auto& b : ss.recent) {
                block_view bv;
                bv.chain = c.src.id;
                bv.height = b.height;
                bv.hash = to_hex_reversed(b.hash);
                bv.status = fate_name(b.status);
                bv.reason = b.reason;
                bv.attempts = b.attempts;
                bv.confirmations = b.confirmations;
                if (b.found_time != 0)
                    bv.found_at = time_point(std::chrono::seconds(static_cast<std::int64_t>(b.found_time)));
                cv.blocks.recent.push_back(std::move(bv));
            }
        }
        return cv;
    }

    // Workers and connections of a chain: views, states, events, eviction, history rows.
    void workers_tick(chain_state& c, chain_view& cv, time_point now, snapshot& snap, history_batch& batch,
                      bool minute_point, bool write_counters) {
        const double t = unix_s(now);
        const std::uint64_t round = c.round.load(std::memory_order_acquire);
        // Live consumers: Stratum sessions and devices.
        std::vector<stratum::session_stats> sessions;
        if (c.src.sessions) sessions = c.src.sessions();
        cv.sessions = sessions.size();
        std::unordered_map<consumer_id, const stratum::session_stats*> by_consumer;
        struct worker_conn {
            std::uint32_t count = 0;
            const stratum::session_stats* newest = nullptr;
            double best = 0;
        };
        std::unordered_map<std::string, worker_conn> conns_of;
        conns_of.reserve(sessions.size());
        by_consumer.reserve(sessions.size());
        // Farms run a few firmware versions: classify each user agent once a tick.
        std::unordered_map<std::string_view, std::string_view> families;
        auto family = [&families](std::string_view ua) {
            auto [it, fresh] = families.try_emplace(ua);
            if (fresh) it->second = firmware_family(ua);
            return std::string(it->second);
        };
        for (const auto& s : sessions) {
            if (s.consumer != 0) by_consumer.emplace(s.consumer, &s);
            if (!s.authorized) continue;
            auto& wc = conns_of[s.worker];
            ++wc.count;
            if (wc.newest == nullptr || s.connected_at > wc.newest->connected_at) wc.newest = &s;
        }
        std::unordered_set<consumer_id> devices;
        std::unordered_map<std::string, double> device_difficulty;
        for (const auto& d : cv.devices) device_difficulty[d.worker] = d.share_difficulty;
        if (c.src.devices)
            for (const auto& d : c.src.devices())
                if (d.consumer != 0) devices.insert(d.consumer);

        // Connections: views of the live ones; cells of gone ones leave.
        for (auto& shard : c.connections) {
            std::vector<std::pair<consumer_id, std::shared_ptr<connection_cell>>> cells;
            {
                std::lock_guard lock(shard.mu);
                for (auto& [id, cell] : shard.map) cells.emplace_back(id, cell);
            }
            for (auto& [id, cell] : cells) {
                auto it = by_consumer.find(id);
                const bool live = it != by_consumer.end() || devices.contains(id);
                if (!live) {
                    if (++cell->absent >= 2) {
                        std::lock_guard lock(shard.mu);
                        shard.map.erase(id);
                    }
                    continue;
                }
                cell->absent = 0;
                std::lock_guard lock(cell->mu);
                if (cell->worker) {
                    auto& wc = conns_of[cell->worker->name];
                    wc.best = std::max(wc.best, cell->best);
                }
                if (it == by_consumer.end()) continue;  // a device: shown under devices
                const auto& s = *it->second;
                connection_view v;
                v.chain = c.src.id;
                v.session = s.session_id;
                v.consumer = id;
                v.remote = s.remote;
                v.tls = s.tls;
                v.user_agent = s.user_agent;
                v.firmware = family(s.user_agent);
                v.worker = s.worker;
                v.difficulty = s.difficulty;
                v.version_mask = s.version_mask;
                v.connected_at = s.connected_at;
                v.rate = cell->rates.at(t);
                v.shares = cell->shares;
                v.best = cell->best;
                v.last_share = cell->last_share;
                snap.connections.push_back(std::move(v));
            }
        }
        // Sessions that have sent no share yet have no cell: shown all the same.
        for (const auto& s : sessions) {
            bool has_cell = false;
            if (s.consumer != 0) {
                auto& shard = c.connections[s.consumer % shard_count];
                std::lock_guard lock(shard.mu);
                has_cell = shard.map.contains(s.consumer);
            }
            if (has_cell) continue;
            connection_view v;
            v.chain = c.src.id;
            v.session = s.session_id;
            v.consumer = s.consumer;
            v.remote = s.remote;
            v.tls = s.tls;
            v.user_agent = s.user_agent;
            v.firmware = family(s.user_agent);
            v.worker = s.worker;
            v.difficulty = s.difficulty;
            v.version_mask = s.version_mask;
            v.connected_at = s.connected_at;
            snap.connections.push_back(std::move(v));
        }

        // Workers.
        struct ranked {
            double rate;
            series_point point;
        };
        std::vector<ranked> worker_points;
        std::map<std::string, address_view> addresses;
        auto visit = [&](const std::shared_ptr<worker_cell>& w, bool overflow) -> bool {
            // Returns false when the worker leaves memory.
            worker_view v;
            v.chain = c.src.id;
            v.name = w->name;
            v.address = w->address;
            {
                std::lock_guard lock(w->mu);
                if (!w->restored) {
                    if (auto it = c.dormant_workers.find(w->name); it != c.dormant_workers.end()) {
                        w->shares.add(it->second.shares);
                        // The restored totals are not this minute's shares.
                        w->minute_base.add(it->second.shares);
                        w->best_all_time = std::max(w->best_all_time, it->second.best_all_time);
                        c.dormant_workers.erase(it);
                    }
                    w->restored = true;
                }
                v.rate = w->rates.at(t);
                v.shares = w->shares;
                v.best_round = w->round == round ? w->best_round : 0;
                v.best_all_time = w->best_all_time;
                v.last_share = w->last_share;
                v.first_seen = w->first_seen;
            }
            const auto cit = conns_of.find(w->name);
            if (cit != conns_of.end()) {
                v.connections = cit->second.count;
                v.best_connection = cit->second.best;
                if (const auto* s = cit->second.newest) {
                    v.difficulty = s->difficulty;
                    v.user_agent = s->user_agent;
                    v.firmware = family(s->user_agent);
                }
            }
            bool device = false;
            if (auto d = device_difficulty.find(w->name); d != device_difficulty.end()) {
                device = true;
                v.difficulty = d->second;
                v.firmware = "device";
            }
            if (v.difficulty > 0) w->difficulty = v.difficulty;
            else v.difficulty = w->difficulty;
            const bool connected = v.connections > 0 || device;
            // The expected share interval: difficulty over the difficulty rate.
            const double drate = v.rate[static_cast<std::size_t>(window::m5)] / hashes_per_difficulty;
            double interval = std::chrono::duration<double>(options.default_share_interval).count();
            const bool estimated = drate > 0 && v.difficulty > 0;
            if (estimated) interval = v.difficulty / drate;
            const double since = unix_s(now) - unix_s(v.last_share.value_or(v.first_seen));
            // Without a rate yet (one share: a miner slower than the default interval at
            // its difficulty, e.g. a NerdMiner at the minimum) a connected worker is not
            // called idle: nothing tells slow from stopped before its second share.
            const double online_intervals =
                estimated || !connected ? options.idle_after_intervals : options.offline_after_intervals;
            worker_state st = worker_state::offline;
            if (v.last_share && since <= online_intervals * interval) st = worker_state::online;
            else if (connected && since <= options.offline_after_intervals * interval) st = worker_state::idle;
            v.state = st;
            v.odds = odds_for(v.rate[static_cast<std::size_t>(window::h1)], cv.tmpl.network_difficulty);

            // Transitions (tick thread owns these fields).
            if (st == worker_state::online && w->state == worker_state::offline && !overflow) {
                event e;
                e.kind = event_kind::worker_online;
                e.chain = c.src.id;
                e.worker = w->name;
                e.detail = "worker " + w->name + " is mining";
                emit(std::move(e));
            }
            if (st == worker_state::offline && w->state != worker_state::offline && w->seen_online && !overflow) {
                event e;
                e.kind = event_kind::worker_offline;
                e.chain = c.src.id;
                e.worker = w->name;
                e.detail = "worker " + w->name + (connected ? " sends no shares" : " disconnected");
                emit(std::move(e));
            }
            if (st == worker_state::online) w->seen_online = true;
            w->state = st;
            drop_check(w->dropped, st == worker_state::online, v.rate, unix_s(now) - unix_s(v.first_seen), c.src.id,
                       w->name);

            switch (st) {
                case worker_state::online: ++cv.workers_online; break;
                case worker_state::idle: ++cv.workers_idle; break;
                case worker_state::offline: ++cv.workers_offline; break;
            }
            if (!v.address.empty()) {
                auto& a = addresses[v.address];
                a.chain = c.src.id;
                a.address = v.address;
                ++a.workers;
                if (st == worker_state::online) ++a.online;
                for (std::size_t i = 0; i < window_count; ++i) a.rate[i] += v.rate[i];
                a.shares.add(v.shares);
                a.best_all_time = std::max(a.best_all_time, v.best_all_time);
                if (v.last_share && (!a.last_share || *v.last_share > *a.last_share)) a.last_share = v.last_share;
            }
            // History rows.
            std::uint64_t changes;
            {
                std::lock_guard lock(w->mu);
                changes = w->changes;
            }
            if (write_counters && changes != w->written_changes) {
                counter_row row;
                row.chain = c.src.id;
                row.worker = w->name;
                row.shares = v.shares;
                row.best_all_time = v.best_all_time;
                row.last_share = v.last_share;
                row.first_seen = v.first_seen;
                batch.workers.push_back(std::move(row));
                w->written_changes = changes;
            }
            if (minute_point) {
                const std::uint64_t acc = v.shares.accepted - std::min(v.shares.accepted, w->minute_base.accepted);
                const std::uint64_t rej = v.shares.rejected() - std::min(v.shares.rejected(), w->minute_base.rejected());
                w->minute_base = v.shares;
                if (acc + rej > 0 || v.rate[0] > 0) {
                    series_point p;
                    p.scope = "worker";
                    p.key = c.src.id + "/" + w->name;
                    p.hashrate = v.rate[static_cast<std::size_t>(window::m1)];
                    p.accepted = acc;
                    p.rejected = rej;
                    worker_points.push_back({v.rate[static_cast<std::size_t>(window::m1)], std::move(p)});
                }
            }
            const bool forget = st == worker_state::offline && !overflow && !connected &&
                                since > std::chrono::duration<double>(options.forget_offline_after).count();
            if (forget) {
                // Back to the dormant totals, merged again should it return.
                c.dormant_workers[w->name] = dormant{v.shares, v.best_all_time};
                w->evicted.store(true, std::memory_order_relaxed);
                return false;
            }
            snap.workers.push_back(std::move(v));
            return true;
        };
        for (auto& shard : c.workers) {
            std::vector<std::shared_ptr<worker_cell>> cells;
            {
                std::lock_guard lock(shard.mu);
                cells.reserve(shard.map.size());
                for (auto& [name, cell] : shard.map) cells.push_back(cell);
            }
            for (auto& w : cells)
                if (!visit(w, false)) {
                    std::lock_guard lock(shard.mu);
                    if (shard.map.erase(w->name) != 0) c.worker_cells.fetch_sub(1, std::memory_order_relaxed);
                }
        }
        if (c.folded.load(std::memory_order_relaxed) > 0) visit(c.overflow, true);

        if (minute_point) {
            std::sort(worker_points.begin(), worker_points.end(),
                      [](const ranked& a, const ranked& b) { return a.rate > b.rate; });
            if (worker_points.size() > options.history_workers) worker_points.resize(options.history_workers);
            const std::int64_t m = static_cast<std::int64_t>(t) / 60 * 60;
            for (auto& r : worker_points) {
                r.point.t = m;
                batch.points.push_back(std::move(r.point));
            }
        }
        for (auto& [addr, a] : addresses) {
            a.odds = odds_for(a.rate[static_cast<std::size_t>(window::h1)], cv.tmpl.network_difficulty);
            snap.addresses.push_back(std::move(a));
        }
    }

    // A hashrate drop (5 m below a threshold's share of 1 h) and its recovery (above
    // halfway back), per threshold (drop_ratios: 0 is off).
    void drop_check(drop_flags& dropped, bool active, const hashrates& r, double age_s, const std::string& chain,
                    const std::string& worker) {
        const double h5 = r[static_cast<std::size_t>(window::m5)];
        const double h1 = r[static_cast<std::size_t>(window::h1)];
        for (std::size_t i = 0; i < drop_ratios.size(); ++i) {
            const double ratio = drop_ratios[i];
            if (!(ratio > 0)) continue;
            auto make = [&](event_kind k) {
                event e;
                e.kind = k;
                e.chain = chain;
                e.worker = worker;
                e.value = h5;
                e.reference = h1;
                e.ratio = ratio;
                char buf[200];
                std::snprintf(buf, sizeof buf, "hashrate %s %.0f %% of its 1 h average: 5 m %s, 1 h %s",
                              k == event_kind::hashrate_drop ? "fell below" : "is back above",
                              (k == event_kind::hashrate_drop ? ratio : (1 + ratio) / 2) * 100, rate_text(h5).c_str(),
                              rate_text(h1).c_str());
                e.detail = (worker.empty() ? "chain " + chain : "worker " + worker) + ": " + buf;
                emit(std::move(e));
            };
            // A stream younger than the 1 h window has no reference yet.
            if (!dropped[i] && active && age_s >= window_seconds[static_cast<std::size_t>(window::h1)] && h1 > 0 &&
                h5 < ratio * h1) {
                dropped[i] = true;
                make(event_kind::hashrate_drop);
            } else if (dropped[i] && (h5 >= (1 + ratio) / 2 * h1 || !active)) {
                dropped[i] = false;
                if (active) make(event_kind::hashrate_recovered);
            }
        }
    }

    void chain_drop(chain_state& c, const chain_view& cv) {
        const double age = unix_s(options.clock()) - unix_s(started_at);
        drop_check(c.chain_dropped, cv.workers_online > 0, cv.rate, age, c.src.id, "");
    }

    // Found blocks: new ones from on_block_found, fates from the submitters.
    void blocks_tick(snapshot& snap, history_batch& batch) {
        std::lock_guard lock(blocks_mu);
        for (const auto& cv : snap.chains) {
            if (cv.blocks.recent.empty()) continue;
            for (const auto& b : cv.blocks.recent) {
                auto it = std::find_if(blocks.begin(), blocks.end(),
                                       [&](const block_record& r) { return r.view.hash == b.hash && r.view.chain == b.chain; });
                if (it == blocks.end()) {
                    // Known to the submitter only (replayed from its journal at start).
                    block_record r;
                    r.view = b;
                    blocks.push_back(std::move(r));
                    continue;
                }
                if (it->view.status != b.status || it->view.reason != b.reason || it->view.attempts != b.attempts ||
                    it->view.confirmations != b.confirmations) {
                    const bool fate_changed = it->view.status != b.status;
                    it->view.status = b.status;
                    it->view.reason = b.reason;
                    it->view.attempts = b.attempts;
                    it->view.confirmations = b.confirmations;
                    it->dirty = true;
                    if (fate_changed) {
                        event e;
                        e.kind = event_kind::block_fate;
                        e.chain = b.chain;
                        e.worker = it->view.worker;
                        e.state = b.status;
                        e.hash = b.hash;
                        e.height = b.height;
                        e.detail = "block " + std::to_string(b.height) + " " + b.hash + " is " + b.status +
                                   (b.reason.empty() ? "" : " (" + b.reason + ")");
                        emit(std::move(e));
                    }
                }
            }
        }
        while (blocks.size() > max_blocks_in_memory) blocks.pop_front();
        for (auto& r : blocks)
            if (r.dirty) {
                batch.blocks.push_back(r.view);
                r.dirty = false;
            }
        snap.found_blocks.reserve(blocks.size());
        for (const auto& r : blocks) snap.found_blocks.push_back(r.view);
        // The last block found per chain.
        for (auto& cv : snap.chains)
            for (auto it = blocks.rbegin(); it != blocks.rend(); ++it)
                if (it->view.chain == cv.id && it->view.found_at) {
                    cv.last_block_found = it->view.found_at;
                    break;
                }
    }
};

// ---- share_counts / names -------------------------------------------------------------

std::uint64_t share_counts::rejected() const noexcept {
    std::uint64_t n = 0;
    for (std::size_t i = 1; i < by_status.size(); ++i) n += by_status[i];
    return n;
}

double share_counts::stale_percent() const noexcept {
    const std::uint64_t total = accepted + rejected();
    if (total == 0) return 0;
    return 100.0 * static_cast<double>(by_status[static_cast<std::size_t>(share_status::job_not_found)]) /
           static_cast<double>(total);
}

void share_counts::add(const share_counts& o) noexcept {
    accepted += o.accepted;
    accepted_difficulty += o.accepted_difficulty;
    for (std::size_t i = 0; i < by_status.size(); ++i) by_status[i] += o.by_status[i];
    blocks += o.blocks;
}

const char* reason_name(share_status s) noexcept {
    switch (s) {
        case share_status::accepted: return "accepted";
        case share_status::job_not_found: return "stale";
        case share_status::duplicate: return "duplicate";
        case share_status::low_difficulty: return "low_difficulty";
        case share_status::bad_ntime: return "bad_ntime";
        case share_status::bad_version: return "bad_version";
        case share_status::bad_extranonce2_size: return "bad_extranonce2_size";
        case share_status::unknown_consumer: return "not_subscribed";
        case share_status::bad_header_hash: return "bad_header_hash";
        case share_status::nonce_out_of_range: return "nonce_out_of_range";
        case share_status::bad_mix_hash: return "bad_mix_hash";
    }
    return "unknown";
}

const char* to_string(worker_state s) noexcept {
    switch (s) {
        case worker_state::online: return "online";
        case worker_state::idle: return "idle";
        case worker_state::offline: return "offline";
    }
    return "offline";
}

const char* to_string(event_kind k) noexcept {
    switch (k) {
        case event_kind::block_found: return "block_found";
        case event_kind::block_fate: return "block_fate";
        case event_kind::worker_offline: return "worker_offline";
        case event_kind::worker_online: return "worker_online";
        case event_kind::hashrate_drop: return "hashrate_drop";
        case event_kind::hashrate_recovered: return "hashrate_recovered";
        case event_kind::node_state: return "node_state";
        case event_kind::new_tip: return "new_tip";
        case event_kind::history_error: return "history_error";
        case event_kind::alert_sent: return "alert_sent";
    }
    return "unknown";
}

std::string printable_name(std::string_view s) {
    std::string out(s.substr(0, max_name_chars));
    for (char& ch : out)
        if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) > 0x7e) ch = '?';
    return out;
}

std::string payout_address_of(std::string_view worker) {
    const auto cut = worker.find_first_of("._");
    return std::string(worker.substr(0, cut));
}

// ---- statistics -------------------------------------------------------------------------

statistics::statistics(statistics_options options) : impl_(std::make_shared<impl>(std::move(options))) {}

statistics::~statistics() { stop(); }

std::size_t statistics::add_chain(chain_sources sources) {
    auto c = std::make_unique<impl::chain_state>();
    c->src = std::move(sources);
    c->overflow = std::make_shared<worker_cell>(std::string(overflow_worker_name), "", impl_->started_at);
    c->overflow->restored = true;
    for (auto& s : c->stripes) s.rates = decayed_rates(unix_s(impl_->started_at));
    impl_->chains.push_back(std::move(c));
    return impl_->chains.size() - 1;
}

std::shared_ptr<share_sink> statistics::sink(std::size_t chain) {
    return std::make_shared<impl::chain_sink>(impl_, chain);
}

void statistics::set_history(std::shared_ptr<history> h) { impl_->hist = std::move(h); }

void statistics::restore(const restored_state& r) {
    auto find_chain = [&](const std::string& id) -> impl::chain_state* {
        for (auto& c : impl_->chains)
            if (c->src.id == id) return c.get();
        return nullptr;
    };
    for (const auto& row : r.chains)
        if (auto* c = find_chain(row.chain)) {
            c->base = row.shares;
            c->restored_best = row.best_all_time;
            c->minute_base = row.shares;
        }
    for (const auto& row : r.workers)
        if (auto* c = find_chain(row.chain)) c->dormant_workers[row.worker] = dormant{row.shares, row.best_all_time};
    {
        std::lock_guard lock(impl_->blocks_mu);
        for (const auto& b : r.blocks) impl_->blocks.push_back({b, false});
    }
    for (const auto& e : r.events) impl_->recent_events.push_back(e);
    while (impl_->recent_events.size() > max_recent_events) impl_->recent_events.pop_front();
}

void statistics::on_template(std::size_t chain, const node::block_template& t) {
    if (chain >= impl_->chains.size()) return;
    auto& c = *impl_->chains[chain];
    template_view v;
    v.height = t.height;
    v.transactions = static_cast<std::uint32_t>(t.transactions.size());
    for (const auto& tx : t.transactions) {
        v.fees += tx.fee;
        v.weight += static_cast<std::uint64_t>(std::max<std::int64_t>(0, tx.weight));
    }
    v.coinbase_value = t.coinbase_value;
    v.bits = t.bits;
    v.network_difficulty = difficulty_from_bits(t.bits);
    v.received_at = impl_->options.clock();
    bool new_height;
    {
        std::lock_guard lock(c.tmpl_mu);
        new_height = c.tmpl.height != v.height;
        c.tmpl = v;
    }
    if (new_height) impl_->wake(true);
}

void statistics::on_block_found(std::size_t chain, const found_block& b) {
    if (chain >= impl_->chains.size()) return;
    auto& c = *impl_->chains[chain];
    block_record r;
    r.view.chain = c.src.id;
    r.view.height = b.height;
    r.view.hash = to_hex_reversed(b.hash);
    r.view.status = std::string(to_string(block_status::pending));
    r.view.worker = printable_name(b.worker);
    r.view.found_at = impl_->options.clock();
    event e;
    e.kind = event_kind::block_found;
    e.chain = c.src.id;
    e.worker = r.view.worker;
    e.hash = r.view.hash;
    e.height = b.height;
    e.at = *r.view.found_at;
    e.detail = "block " + std::to_string(b.height) + " found by " + (e.worker.empty() ? "?" : e.worker) + ": " + e.hash;
    {
        std::lock_guard lock(impl_->blocks_mu);
        const bool known = std::any_of(impl_->blocks.begin(), impl_->blocks.end(), [&](const block_record& x) {
            return x.view.hash == r.view.hash && x.view.chain == r.view.chain;
        });
        if (known) return;  // a duplicate share of a block
        impl_->blocks.push_back(std::move(r));
    }
    {
        // The event is emitted on the tick thread; park it where the tick takes it.
        std::lock_guard lock(impl_->found_mu);
        impl_->found_events.push_back(std::move(e));
    }
    impl_->wake(true);
}

void statistics::note_event(event e) noexcept {
    try {
        if (e.at.time_since_epoch().count() == 0) e.at = impl_->options.clock();
        std::lock_guard lock(impl_->found_mu);
        // Bounded while no tick takes them (never below the dashboard's own list).
        if (impl_->found_events.size() >= max_recent_events) return;
        impl_->found_events.push_back(std::move(e));
    } catch (...) {
        // Out of memory: the event is lost; mining goes on.
    }
}

void statistics::subscribe(std::shared_ptr<event_listener> l) {
    std::lock_guard lock(impl_->listeners_mu);
    impl_->listeners.push_back(std::move(l));
}

void statistics::on_publish(publish_fn f) {
    std::lock_guard lock(impl_->listeners_mu);
    impl_->publishers.push_back(std::move(f));
}

std::shared_ptr<const snapshot> statistics::latest() const {
    std::lock_guard lock(impl_->snap_mu);
    return impl_->current;
}

void statistics::start() {
    if (impl_->thread.joinable()) return;
    // A first snapshot before anything can ask: every chain is in it from the start.
    impl_->tick(false);
    impl_->thread = std::thread([s = impl_] { s->run(); });
}

void statistics::stop() {
    {
        std::lock_guard lock(impl_->wake_mu);
        impl_->stopping = true;
    }
    impl_->wake_cv.notify_one();
    if (impl_->thread.joinable()) impl_->thread.join();
}

void statistics::tick_now() { impl_->tick(false); }

}  // namespace sb::bridge::stats
