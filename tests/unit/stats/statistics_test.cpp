// The statistics: share events into workers, connections, addresses and chains; states,
// events, bounds (issue 14 "Statistics").
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "stats/alert_feed.hpp"
#include "stats/statistics.hpp"

using namespace sb;
using namespace sb::bridge;
using namespace sb::bridge::stats;
using namespace std::chrono_literals;

namespace {

// A scripted chain and a clock the test moves.
struct fixture {
    std::chrono::system_clock::time_point now = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
    std::mutex mu;
    std::vector<stratum::session_stats> sessions;
    submitter_status submitted;
    node::failover_status tsrc;
    std::shared_ptr<statistics> st;
    std::shared_ptr<share_sink> sink;

    struct recorder : event_listener {
        std::mutex mu;
        std::vector<event> events;
        void on_event(const event& e) noexcept override {
            std::lock_guard lock(mu);
            events.push_back(e);
        }
        std::size_t count(event_kind k) {
            std::lock_guard lock(mu);
            std::size_t n = 0;
            for (const auto& e : events) n += e.kind == k;
            return n;
        }
    };
    std::shared_ptr<recorder> events = std::make_shared<recorder>();

    explicit fixture(statistics_options o = {}, config::payout_mode payout = config::payout_mode::fixed_address) {
        o.clock = [this] { return now; };
        o.log = [](std::string_view) {};
        st = std::make_shared<statistics>(o);
        chain_sources src;
        src.id = "regtest";
        src.payout = payout;
        src.rpc_urls = {"http://127.0.0.1:1"};
        src.sessions = [this] {
            std::lock_guard lock(mu);
            return sessions;
        };
        src.submitter = [this] {
            std::lock_guard lock(mu);
            return submitted;
        };
        src.templates = [this] {
            std::lock_guard lock(mu);
            return tsrc;
        };
        st->add_chain(src);
        sink = st->sink(0);
        st->subscribe(events);
        tsrc.active = 0;
        tsrc.nodes.resize(1);
        tsrc.nodes[0].state = node::node_state::connected;
    }

    void connect(consumer_id id, std::string worker, std::string ua = "bitaxe/BM1368/v2.4.0") {
        stratum::session_stats s;
        s.session_id = id;
        s.consumer = id;
        s.remote = "192.0.2.1:4000";
        s.user_agent = std::move(ua);
        s.worker = std::move(worker);
        s.subscribed = s.authorized = true;
        s.difficulty = 1;
        s.connected_at = now;
        std::lock_guard lock(mu);
        sessions.push_back(s);
    }
    void disconnect_all() {
        std::lock_guard lock(mu);
        sessions.clear();
    }

    void share(consumer_id id, std::string_view worker, double diff = 1, share_status status = share_status::accepted,
               double hash_diff = 2, bool block = false) {
        share_event e;
        e.consumer = id;
        e.worker = worker;
        e.status = status;
        e.share_difficulty = diff;
        e.hash_difficulty = hash_diff;
        e.block = block;
        e.at = now;
        sink->on_share(e);
    }

    std::shared_ptr<const snapshot> tick() {
        st->tick_now();
        return st->latest();
    }

    const worker_view* find(const snapshot& s, std::string_view name) {
        for (const auto& w : s.workers)
            if (w.name == name) return &w;
        return nullptr;
    }
};

}  // namespace

TEST_CASE("statistics: shares become per-worker, per-connection and per-chain figures with rejects by reason") {
    fixture f;
    f.connect(1, "alice.rig1");
    f.connect(2, "bob");
    for (int i = 0; i < 120; ++i) {
        f.now += 1s;
        f.share(1, "alice.rig1", 4);
        if (i % 2 == 0) f.share(2, "bob", 2);
    }
    f.share(1, "alice.rig1", 4, share_status::job_not_found);
    f.share(1, "alice.rig1", 4, share_status::duplicate);
    f.share(2, "bob", 2, share_status::low_difficulty);
    const auto s = f.tick();
    REQUIRE(s->chains.size() == 1);
    const auto* alice = f.find(*s, "alice.rig1");
    const auto* bob = f.find(*s, "bob");
    REQUIRE(alice != nullptr);
    REQUIRE(bob != nullptr);
    CHECK(alice->shares.accepted == 120);
    CHECK(alice->shares.rejected() == 2);
    CHECK(alice->shares.by_status[static_cast<std::size_t>(share_status::job_not_found)] == 1);
    CHECK(alice->shares.by_status[static_cast<std::size_t>(share_status::duplicate)] == 1);
    CHECK(alice->shares.stale_percent() == doctest::Approx(100.0 / 122));
    CHECK(alice->state == worker_state::online);
    CHECK(alice->firmware == "bitaxe");
    CHECK(alice->connections == 1);
    // 4 a second vs 1 a second.
    CHECK(alice->rate[1] == doctest::Approx(4 * hashes_per_difficulty).epsilon(0.05));
    CHECK(bob->rate[1] == doctest::Approx(1 * hashes_per_difficulty).epsilon(0.05));
    CHECK(s->chains[0].shares.accepted == 180);
    CHECK(s->chains[0].shares.rejected() == 3);
    CHECK(s->chains[0].rate[1] == doctest::Approx(5 * hashes_per_difficulty).epsilon(0.05));
    CHECK(s->chains[0].workers_online == 2);
    REQUIRE(s->connections.size() == 2);
    CHECK(s->connections[0].shares.accepted + s->connections[1].shares.accepted == 180);
    CHECK(s->chains[0].node.reachable);
}

TEST_CASE("statistics: shares from many threads are all counted (no share lost to a race)") {
    fixture f;
    constexpr int threads = 4, per_thread = 20'000, consumers = 50;
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
        ts.emplace_back([&f, t] {
            for (int i = 0; i < per_thread; ++i) {
                const consumer_id c = 1 + static_cast<consumer_id>((i + t) % consumers);
                const std::string name = "w" + std::to_string(c % 10);
                f.share(c, name, 1, i % 10 == 0 ? share_status::duplicate : share_status::accepted);
            }
        });
    for (auto& t : ts) t.join();
    const auto s = f.tick();
    const auto& c = s->chains[0];
    CHECK(c.shares.accepted + c.shares.rejected() == threads * per_thread);
    CHECK(c.shares.by_status[static_cast<std::size_t>(share_status::duplicate)] == threads * per_thread / 10);
    std::uint64_t sum = 0;
    for (const auto& w : s->workers) sum += w.shares.accepted + w.shares.rejected();
    CHECK(sum == threads * per_thread);
    CHECK(s->workers.size() == 10);
}

TEST_CASE("statistics: a worker goes idle, then offline, and comes back, subscribers hear it") {
    statistics_options o;
    o.idle_after_intervals = 3;
    o.offline_after_intervals = 10;
    fixture f(o);
    f.connect(7, "rig");
    for (int i = 0; i < 30; ++i) {
        f.now += 1s;
        f.share(7, "rig", 1);
    }
    CHECK(f.find(*f.tick(), "rig")->state == worker_state::online);
    CHECK(f.events->count(event_kind::worker_online) == 1);
    // One share a second at difficulty 1: 3 s without a share is idle, 10 s offline.
    f.now += 5s;
    CHECK(f.find(*f.tick(), "rig")->state == worker_state::idle);
    f.now += 20s;
    auto s = f.tick();
    CHECK(f.find(*s, "rig")->state == worker_state::offline);
    CHECK(f.events->count(event_kind::worker_offline) == 1);
    CHECK(s->chains[0].workers_offline == 1);
    f.now += 1s;
    f.share(7, "rig", 1);
    CHECK(f.find(*f.tick(), "rig")->state == worker_state::online);
    CHECK(f.events->count(event_kind::worker_online) == 2);
    // Disconnected: offline as soon as the idle time has passed (the rate read ~0.5 a
    // second after the gap, so 3 intervals are ~6 s).
    f.disconnect_all();
    f.now += 10s;
    CHECK(f.find(*f.tick(), "rig")->state == worker_state::offline);
    CHECK(f.events->count(event_kind::worker_offline) == 2);
}

TEST_CASE("statistics: a slow miner is online from its first share, its rate counts from its second") {
    // A NerdMiner at the minimum difficulty sends a share every minute or two. Its first
    // share opens its stream: no rate yet (one share over no time), and no interval to call
    // it idle by while it stays connected.
    fixture f;
    f.connect(9, "nerd");
    f.now += 20s;
    f.share(9, "nerd", 1);
    f.now += 90s;
    auto s = f.tick();
    CHECK(f.find(*s, "nerd")->state == worker_state::online);
    CHECK(f.find(*s, "nerd")->rate[static_cast<std::size_t>(window::m5)] == 0);
    f.share(9, "nerd", 1);
    s = f.tick();
    // The second share alone counts, over the 90 s the stream has run: its 5 m decayed
    // sum (1) over the window, corrected for the stream's age.
    CHECK(f.find(*s, "nerd")->rate[static_cast<std::size_t>(window::m5)] ==
          doctest::Approx(hashes_per_difficulty / 300 / -std::expm1(-90.0 / 300)).epsilon(1e-9));
    CHECK(f.find(*s, "nerd")->state == worker_state::online);
    // Disconnected after one share: the default interval decides (offline).
    f.connect(10, "gone");
    f.share(10, "gone", 1);
    {
        std::lock_guard lock(f.mu);
        f.sessions.pop_back();
    }
    f.now += 90s;
    CHECK(f.find(*f.tick(), "gone")->state == worker_state::offline);
}

TEST_CASE("statistics: memory stays bounded: a cap on workers, offline workers forgotten and restored on return") {
    statistics_options o;
    o.max_workers = 3;
    o.forget_offline_after = 3600s;
    fixture f(o);
    for (int i = 0; i < 5; ++i) f.share(10 + i, "w" + std::to_string(i), 1, share_status::accepted, 50.0 + i);
    auto s = f.tick();
    CHECK(s->workers_tracked == 3);
    CHECK(s->workers_folded == 2);
    const auto* other = f.find(*s, std::string(overflow_worker_name));
    REQUIRE(other != nullptr);
    CHECK(other->shares.accepted == 2);
    // Two hours later every worker is offline and leaves memory.
    f.now += 2h;
    s = f.tick();
    CHECK(s->workers_tracked == 0);
    CHECK(f.find(*s, "w0") == nullptr);
    // w0 returns: its counters and all-time best come back.
    f.share(10, "w0", 1, share_status::accepted, 3.0);
    s = f.tick();
    const auto* w0 = f.find(*s, "w0");
    REQUIRE(w0 != nullptr);
    CHECK(w0->shares.accepted == 2);
    CHECK(w0->best_all_time == 50.0);
    CHECK(w0->best_round == 3.0);
}

TEST_CASE("statistics: best shares per connection, per block round and all time") {
    fixture f;
    f.connect(1, "a");
    f.share(1, "a", 1, share_status::accepted, 500);
    f.share(1, "a", 1, share_status::accepted, 20);
    auto s = f.tick();
    CHECK(f.find(*s, "a")->best_round == 500);
    CHECK(f.find(*s, "a")->best_connection == 500);
    CHECK(s->chains[0].best_round == 500);
    // A block (by anyone) ends the round; it counted in the round it ended.
    f.share(1, "a", 1, share_status::accepted, 1e6, true);
    s = f.tick();
    CHECK(f.find(*s, "a")->best_round == 0);
    CHECK(f.find(*s, "a")->best_all_time == 1e6);
    CHECK(f.find(*s, "a")->shares.blocks == 1);
    CHECK(s->chains[0].best_round == 0);
    CHECK(s->chains[0].best_all_time == 1e6);
    f.share(1, "a", 1, share_status::accepted, 7);
    s = f.tick();
    CHECK(f.find(*s, "a")->best_round == 7);
    // A rejected share's hash counts for the best share too (it was hashed all the same).
    f.share(1, "a", 1, share_status::duplicate, 9);
    CHECK(f.find(*f.tick(), "a")->best_round == 9);
}

TEST_CASE("statistics: a hostile worker name stays text: non-printable bytes replaced, length capped") {
    fixture f;
    const std::string hostile = "<img src=x onerror=alert(1)>";
    f.share(1, hostile);
    f.share(2, std::string("bad\x01\xff\n") + std::string(300, 'x'));
    const auto s = f.tick();
    CHECK(f.find(*s, hostile) != nullptr);  // kept as the text it is; escaping is the serializer's job
    bool found = false;
    for (const auto& w : s->workers)
        if (w.name.starts_with("bad")) {
            found = true;
            CHECK(w.name.size() == 128);
            CHECK(w.name.substr(0, 6) == "bad???");
        }
    CHECK(found);
}

TEST_CASE("statistics: payout addresses aggregate their workers (address-username mode)") {
    fixture f({}, config::payout_mode::address_username);
    const std::string addr = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080";
    f.share(1, addr + ".rig1", 2);
    f.share(2, addr + ".rig2", 3);
    f.share(3, "other", 1);
    const auto s = f.tick();
    REQUIRE(s->addresses.size() == 2);
    const auto& a = s->addresses[0].address == addr ? s->addresses[0] : s->addresses[1];
    CHECK(a.workers == 2);
    CHECK(a.shares.accepted == 2);
    CHECK(payout_address_of("abc.def.g") == "abc");
    CHECK(payout_address_of("abc_rig") == "abc");
    CHECK(payout_address_of("abc") == "abc");
}

TEST_CASE("statistics: found blocks and their fates, node state changes and hashrate drops are events") {
    fixture f;
    found_block b;
    b.height = 5;
    b.hash[0] = 0xab;
    b.worker = "finder";
    f.st->on_block_found(0, b);
    f.st->on_block_found(0, b);  // a duplicate share of the block: one record
    auto s = f.tick();
    CHECK(f.events->count(event_kind::block_found) == 1);
    submitted_block sb;
    sb.height = 5;
    sb.hash = b.hash;
    sb.status = block_status::stale;
    sb.reason = "chain moved past";
    {
        std::lock_guard lock(f.mu);
        f.submitted.recent.push_back(sb);
        f.submitted.found = 1;
    }
    s = f.tick();
    CHECK(f.events->count(event_kind::block_fate) == 1);
    REQUIRE(s->chains[0].blocks.recent.size() == 1);
    CHECK(s->chains[0].blocks.recent[0].status == "stale");
    REQUIRE(s->chains[0].last_block_found.has_value());
    {
        std::lock_guard lock(f.mu);
        f.tsrc.active.reset();
        f.tsrc.nodes[0].state = node::node_state::down;
        f.tsrc.nodes[0].last_error = "connection refused";
    }
    s = f.tick();
    CHECK(f.events->count(event_kind::node_state) == 1);
    CHECK_FALSE(s->chains[0].node.reachable);
    CHECK(s->chains[0].node.state == "down");
    REQUIRE(s->chains[0].nodes.size() == 1);
    CHECK_FALSE(s->chains[0].nodes[0].active);

    // A worker mining for over an hour at 10/s, then at 1/s for ten minutes.
    f.connect(3, "dropper");
    for (int i = 0; i < 4000; ++i) {
        f.now += 1s;
        f.share(3, "dropper", 10);
    }
    f.tick();
    CHECK(f.events->count(event_kind::hashrate_drop) == 0);
    for (int i = 0; i < 600; ++i) {
        f.now += 1s;
        f.share(3, "dropper", 1);
    }
    f.tick();
    CHECK(f.events->count(event_kind::hashrate_drop) >= 1);
}

TEST_CASE("statistics: template facts and the odds of a block") {
    fixture f;
    node::block_template t;
    t.height = 100;
    t.bits = 0x1d00ffff;  // difficulty 1
    t.coinbase_value = 5'000'000'000;
    node::template_tx tx;
    tx.fee = 1000;
    tx.weight = 800;
    t.transactions = {tx, tx};
    f.st->on_template(0, t);
    f.connect(1, "a");
    for (int i = 0; i < 600; ++i) {
        f.now += 1s;
        f.share(1, "a", 1);
    }
    const auto s = f.tick();
    const auto& c = s->chains[0];
    CHECK(c.tmpl.transactions == 2);
    CHECK(c.tmpl.fees == 2000);
    CHECK(c.tmpl.weight == 1600);
    CHECK(c.tmpl.network_difficulty == doctest::Approx(1.0));
    // One difficulty-1 share a second on a difficulty-1 network: a block a second.
    CHECK(c.odds.expected_s == doctest::Approx(1.0).epsilon(0.05));
    CHECK(f.find(*s, "a")->odds.expected_s == doctest::Approx(1.0).epsilon(0.05));
}

TEST_CASE("statistics: start publishes a snapshot with every chain before the first tick interval") {
    statistics_options o;
    o.tick = std::chrono::hours(1);
    o.log = [](std::string_view) {};
    statistics st(o);
    chain_sources src;
    src.id = "regtest";
    st.add_chain(src);
    CHECK(st.latest()->chains.empty());
    st.start();
    REQUIRE(st.latest()->chains.size() == 1);
    CHECK(st.latest()->chains[0].id == "regtest");
    st.stop();
}

TEST_CASE("statistics: a storm of new tips ticks at most once per min_tick_gap, the first at once") {
    // Regtest finds hundreds of blocks a second: each new height wakes the tick, and each
    // tick goes to every dashboard. The ticks must keep their gap, and the first new tip
    // must still be published without waiting for the regular tick.
    statistics_options o;
    o.tick = std::chrono::hours(1);
    o.min_tick_gap = std::chrono::milliseconds(100);
    o.log = [](std::string_view) {};
    statistics st(o);
    chain_sources src;
    src.id = "regtest";
    st.add_chain(src);
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::int64_t> heights;  // the template height of every urgent snapshot
    st.on_publish([&](std::shared_ptr<const snapshot> s, bool urgent) {
        if (!urgent) return;
        std::lock_guard lock(mu);
        heights.push_back(s->chains.at(0).tmpl.height);
        cv.notify_all();
    });
    st.start();
    node::block_template t;
    t.bits = 0x207fffff;
    t.height = 1;
    st.on_template(0, t);
    {
        std::unique_lock lock(mu);
        REQUIRE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return !heights.empty(); }));
        CHECK(heights.front() == 1);
    }
    const auto began = std::chrono::steady_clock::now();
    for (int h = 2; h <= 301; ++h) {  // 300 new tips, 2 ms apart
        t.height = h;
        st.on_template(0, t);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    const double elapsed_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - began).count();
    {
        // The last tip is published too (the storm's wakes joined a later tick).
        std::unique_lock lock(mu);
        REQUIRE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return heights.back() == 301; }));
    }
    st.stop();
    std::lock_guard lock(mu);
    CAPTURE(elapsed_ms);
    CAPTURE(heights.size());
    // At most one tick per gap over the storm, plus the first and the last.
    CHECK(static_cast<double>(heights.size()) <= elapsed_ms / 100.0 + 3);
}

TEST_CASE("statistics: each drop threshold is watched on its own, the alert feed posts offline, online and the alerts' drops") {
    statistics_options o;
    o.hashrate_drop_ratio = 0.5;  // the dashboard's
    o.alert_drop_ratio = 0.2;     // the alerts'
    o.idle_after_intervals = 3;
    fixture f(o);
    std::mutex posted_mu;
    std::vector<bridge::alerts::alert_event> posted;
    f.st->subscribe(std::make_shared<alert_feed>(
        [&](bridge::alerts::alert_event a) {
            std::lock_guard lock(posted_mu);
            posted.push_back(std::move(a));
        },
        0.2));
    auto posts = [&](config::alert_kind k) {
        std::lock_guard lock(posted_mu);
        std::vector<bridge::alerts::alert_event> out;
        for (const auto& a : posted)
            if (a.kind == k) out.push_back(a);
        return out;
    };
    auto drops = [&](double ratio) {
        std::lock_guard lock(f.events->mu);
        std::vector<event> out;
        for (const auto& e : f.events->events)
            if (e.kind == event_kind::hashrate_drop && e.ratio == ratio) out.push_back(e);
        return out;
    };
    auto mine = [&](int seconds, double difficulty) {
        for (int i = 0; i < seconds; ++i) {
            f.now += 1s;
            f.share(3, "rig", difficulty);
            if (i % 60 == 0) f.tick();
        }
        f.tick();
    };

    f.connect(3, "rig");
    mine(4000, 10);  // over an hour at 10 difficulty-1 shares a second
    CHECK(posts(config::alert_kind::worker_online).size() == 1);  // new: the grouper sends no recovery for it
    CHECK(f.events->count(event_kind::hashrate_drop) == 0);
    mine(600, 3);  // ten minutes at under half the rate, above a fifth
    REQUIRE(drops(0.5).size() == 2);  // the worker and the chain
    CHECK(drops(0.2).empty());
    CHECK(posts(config::alert_kind::hashrate_drop).empty());
    mine(600, 0.5);  // then under a fifth
    REQUIRE(drops(0.2).size() == 2);
    CHECK(drops(0.5).size() == 2);  // still in the first drop: not again
    const auto alerted = posts(config::alert_kind::hashrate_drop);
    REQUIRE(alerted.size() == 2);
    CHECK(alerted[0].chain == "regtest");
    CHECK(((alerted[0].subject == "rig" && alerted[1].subject == "regtest") ||
           (alerted[0].subject == "regtest" && alerted[1].subject == "rig")));
    for (const auto& a : alerted) CHECK(a.text.find("fell below 20 % of its 1 h average") != std::string::npos);

    // The miner stops and disconnects: offline, posted once; it comes back: online.
    f.disconnect_all();
    f.now += 120s;
    f.tick();
    const auto offline = posts(config::alert_kind::worker_offline);
    REQUIRE(offline.size() == 1);
    CHECK(offline[0].subject == "rig");
    CHECK(offline[0].text == "worker rig disconnected");
    f.tick();
    CHECK(posts(config::alert_kind::worker_offline).size() == 1);
    f.connect(3, "rig");
    mine(5, 1);
    CHECK(posts(config::alert_kind::worker_online).size() == 2);

    // An outside event (an alert delivered) is shown and heard, and is no alert itself.
    event sent;
    sent.kind = event_kind::alert_sent;
    sent.chain = "regtest";
    sent.state = "delivered";
    sent.detail = "alert \"solobridge regtest: worker offline\" delivered to alerts.webhooks[0] (127.0.0.1)";
    const std::size_t before = [&] {
        std::lock_guard lock(posted_mu);
        return posted.size();
    }();
    f.st->note_event(sent);
    const auto s = f.tick();
    CHECK(f.events->count(event_kind::alert_sent) == 1);
    REQUIRE_FALSE(s->events.empty());
    CHECK(s->events.back().kind == event_kind::alert_sent);
    CHECK(s->events.back().detail == sent.detail);
    std::lock_guard lock(posted_mu);
    CHECK(posted.size() == before);
}

TEST_CASE("statistics: with the alerts' threshold equal to the dashboard's, a drop is one event and one alert") {
    statistics_options o;
    o.hashrate_drop_ratio = 0.5;
    o.alert_drop_ratio = 0.5;
    fixture f(o);
    std::atomic<int> alerted{0};
    f.st->subscribe(std::make_shared<alert_feed>(
        [&](bridge::alerts::alert_event a) {
            if (a.kind == config::alert_kind::hashrate_drop && a.subject == "rig") ++alerted;
        },
        0.5));
    f.connect(3, "rig");
    for (int i = 0; i < 4000; ++i) {
        f.now += 1s;
        f.share(3, "rig", 10);
    }
    f.tick();
    for (int i = 0; i < 600; ++i) {
        f.now += 1s;
        f.share(3, "rig", 1);
    }
    f.tick();
    CHECK(f.events->count(event_kind::hashrate_drop) == 2);  // the worker and the chain, once each
    CHECK(alerted == 1);
}
