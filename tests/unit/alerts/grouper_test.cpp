// Grouping on a simulated clock: what goes out, when, and how much.
#include <doctest/doctest.h>

#include <string>

#include "alerts/grouper.hpp"

using namespace sb;
using namespace sb::bridge::alerts;
using namespace std::chrono_literals;

namespace {

using clock_t_ = std::chrono::steady_clock;

alert_event ev(event_kind k, std::string chain, std::string subject, std::string text = {}) {
    alert_event e;
    e.kind = k;
    e.chain = std::move(chain);
    e.subject = std::move(subject);
    e.text = std::move(text);
    return e;
}

grouper_options opts() {
    grouper_options o;
    o.min_interval = 60s;
    o.coalesce = 5s;
    return o;
}

// Runs the grouper's clock from `from` to `to` in steps, collecting every message.
std::vector<alert_message> run(grouper& g, clock_t_::time_point from, clock_t_::time_point to,
                               std::chrono::milliseconds step = 100ms) {
    std::vector<alert_message> out;
    for (auto t = from; t <= to; t += step)
        for (auto& m : g.due(t)) out.push_back(std::move(m));
    return out;
}

}  // namespace

TEST_CASE("alerts grouper: the first block found goes out at once and the next ones within min_interval in one message") {
    grouper g(opts());
    const auto t0 = clock_t_::now();
    g.add(ev(event_kind::block_found, "btc", "hashA", "block 100 found by rig1"), t0);
    auto m = g.due(t0);
    REQUIRE(m.size() == 1);
    CHECK(m[0].kind == event_kind::block_found);
    CHECK(m[0].title == "solobridge btc: block found");
    CHECK(m[0].text == "block 100 found by rig1");
    CHECK(m[0].count == 1);
    CHECK(m[0].subjects == std::vector<std::string>{"hashA"});

    g.add(ev(event_kind::block_found, "btc", "hashB", "block 101 found by rig2"), t0 + 1s);
    g.add(ev(event_kind::block_found, "btc", "hashC", "block 102 found by rig1"), t0 + 2s);
    CHECK(g.due(t0 + 2s).empty());
    CHECK(g.due(t0 + 59s).empty());
    REQUIRE(g.next_due() == t0 + 60s);
    m = g.due(t0 + 60s);
    REQUIRE(m.size() == 1);
    CHECK(m[0].title == "solobridge btc: 2 blocks found");
    CHECK(m[0].count == 2);
    CHECK(m[0].subjects == std::vector<std::string>{"hashB", "hashC"});
    CHECK(m[0].text == "2 blocks found: hashB, hashC\n- block 101 found by rig2\n- block 102 found by rig1");
    CHECK_FALSE(g.next_due().has_value());
}

TEST_CASE("alerts grouper: a block posted twice is reported once") {
    grouper g(opts());
    const auto t0 = clock_t_::now();
    g.add(ev(event_kind::block_found, "btc", "hashA"), t0);
    g.add(ev(event_kind::block_found, "btc", "hashA"), t0);
    auto m = g.due(t0);
    REQUIRE(m.size() == 1);
    CHECK(m[0].count == 1);
    g.add(ev(event_kind::block_found, "btc", "hashA"), t0 + 2min);
    CHECK(run(g, t0 + 2min, t0 + 4min).empty());
    // Orphaned is another kind: the same block is reported there once too.
    g.add(ev(event_kind::block_orphaned, "btc", "hashA"), t0 + 5min);
    CHECK(g.due(t0 + 5min).size() == 1);
}

TEST_CASE("alerts grouper: many workers going offline make one message naming them") {
    grouper g(opts());
    const auto t0 = clock_t_::now();
    for (int i = 0; i < 12; ++i)
        g.add(ev(event_kind::worker_offline, "btc", "rig" + std::to_string(i), "rig" + std::to_string(i) + ": no share for 10 min"),
              t0 + std::chrono::milliseconds(i * 100));
    CHECK(g.due(t0 + 4s).empty());  // waits for the burst to end
    auto m = g.due(t0 + 5s);
    REQUIRE(m.size() == 1);
    CHECK(m[0].kind == event_kind::worker_offline);
    CHECK(m[0].title == "solobridge btc: 12 workers offline");
    CHECK(m[0].count == 12);
    CHECK(m[0].subjects.size() == 12);
    CHECK(m[0].text.starts_with("12 workers offline: rig0, rig1, rig2, rig3, rig4, rig5, rig6, rig7, rig8, rig9, rig10, rig11\n"));
    CHECK(m[0].text.find("- rig11: no share for 10 min") != std::string::npos);
}

TEST_CASE("alerts grouper: beyond max_listed_subjects workers are counted but not named") {
    grouper g(opts());
    const auto t0 = clock_t_::now();
    const std::size_t n = max_listed_subjects + 10;
    for (std::size_t i = 0; i < n; ++i) g.add(ev(event_kind::worker_offline, "btc", "w" + std::to_string(i)), t0);
    auto m = g.due(t0 + 5s);
    REQUIRE(m.size() == 1);
    CHECK(m[0].count == n);
    CHECK(m[0].subjects.size() == max_listed_subjects);
    CHECK(m[0].text.find(" and 10 more") != std::string::npos);
    CHECK(m[0].text.find("w" + std::to_string(max_listed_subjects)) == std::string::npos);
}

TEST_CASE("alerts grouper: a worker back within one round is not reported but one back after its offline was sent is") {
    grouper g(opts());
    const auto t0 = clock_t_::now();
    g.add(ev(event_kind::worker_offline, "btc", "flappy"), t0);
    g.add(ev(event_kind::worker_online, "btc", "flappy"), t0 + 1s);
    CHECK(run(g, t0, t0 + 10s).empty());
    // Nothing went out, so no quiet period started: the next change goes after coalesce.
    g.add(ev(event_kind::worker_offline, "btc", "rig1"), t0 + 11s);
    auto m = g.due(t0 + 16s);
    REQUIRE(m.size() == 1);
    CHECK(m[0].title == "solobridge btc: worker offline");
    g.add(ev(event_kind::worker_online, "btc", "rig1", "rig1 is back"), t0 + 20s);
    CHECK(run(g, t0 + 20s, t0 + 75s, 1s).empty());  // within min_interval of the last round
    m = g.due(t0 + 76s);
    REQUIRE(m.size() == 1);
    CHECK(m[0].kind == event_kind::worker_online);
    CHECK(m[0].title == "solobridge btc: worker back online");
    CHECK(m[0].text == "rig1 is back");
    // Back online is reported once; a second one is nothing new.
    g.add(ev(event_kind::worker_online, "btc", "rig1"), t0 + 200s);
    CHECK(run(g, t0 + 200s, t0 + 300s, 1s).empty());
}

TEST_CASE("alerts grouper: 200 offline and online events in a second from a flapping farm give one message") {
    grouper g(opts());
    const auto t0 = clock_t_::now();
    // 20 workers toggle 10 times each, 5 ms apart; at the end rig0..rig9 are offline.
    for (int i = 0; i < 200; ++i) {
        const int w = i % 20;
        const int round = i / 20;
        const bool offline = round % 2 == 0 || (round == 9 && w < 10);
        g.add(ev(offline ? event_kind::worker_offline : event_kind::worker_online, "btc", "rig" + std::to_string(w)),
              t0 + std::chrono::milliseconds(5 * i));
    }
    auto all = run(g, t0, t0 + 10min, 50ms);
    REQUIRE(all.size() == 1);
    CHECK(all[0].kind == event_kind::worker_offline);
    CHECK(all[0].count == 10);
    CHECK(all[0].subjects.front() == "rig0");
    CHECK(all[0].subjects.back() == "rig9");
}

TEST_CASE("alerts grouper: a node that goes down then refuses credentials then comes back gives three spaced messages") {
    grouper g(opts());
    const auto t0 = clock_t_::now();
    const std::string node = "http://127.0.0.1:8332";
    g.add(ev(event_kind::node_up, "btc", node), t0);  // never reported down: nothing to say
    CHECK(run(g, t0, t0 + 10s).empty());
    g.add(ev(event_kind::node_down, "btc", node, "down: connection refused"), t0 + 10s);
    auto m = run(g, t0 + 10s, t0 + 20s);
    REQUIRE(m.size() == 1);
    CHECK(m[0].kind == event_kind::node_down);
    CHECK(m[0].text == "down: connection refused");
    g.add(ev(event_kind::node_down, "btc", node), t0 + 30s);  // the same state again
    g.add(ev(event_kind::node_unauthorized, "btc", node, "401"), t0 + 40s);
    m = run(g, t0 + 20s, t0 + 2min);
    REQUIRE(m.size() == 1);
    CHECK(m[0].kind == event_kind::node_unauthorized);
    CHECK(m[0].title == "solobridge btc: node refuses the RPC credentials");
    g.add(ev(event_kind::node_up, "btc", node, "answers again"), t0 + 3min);
    m = run(g, t0 + 2min, t0 + 5min);
    REQUIRE(m.size() == 1);
    CHECK(m[0].kind == event_kind::node_up);
}

TEST_CASE("alerts grouper: offline and back online in one round go out as two messages with problems first") {
    grouper g(opts());
    const auto t0 = clock_t_::now();
    g.add(ev(event_kind::worker_offline, "btc", "a"), t0);
    REQUIRE(g.due(t0 + 5s).size() == 1);
    g.add(ev(event_kind::worker_online, "btc", "a"), t0 + 10s);
    g.add(ev(event_kind::worker_offline, "btc", "b"), t0 + 11s);
    auto m = run(g, t0 + 10s, t0 + 70s);
    REQUIRE(m.size() == 2);
    CHECK(m[0].kind == event_kind::worker_offline);
    CHECK(m[0].subjects == std::vector<std::string>{"b"});
    CHECK(m[1].kind == event_kind::worker_online);
    CHECK(m[1].subjects == std::vector<std::string>{"a"});
}

TEST_CASE("alerts grouper: hashrate drops of one subject within a round count once with the latest text") {
    grouper g(opts());
    const auto t0 = clock_t_::now();
    g.add(ev(event_kind::hashrate_drop, "btc", "btc", "5 m 40 TH/s, 1 h 100 TH/s"), t0);
    REQUIRE(g.due(t0).size() == 1);
    g.add(ev(event_kind::hashrate_drop, "btc", "btc", "5 m 30 TH/s, 1 h 95 TH/s"), t0 + 10s);
    g.add(ev(event_kind::hashrate_drop, "btc", "btc", "5 m 20 TH/s, 1 h 90 TH/s"), t0 + 20s);
    auto m = run(g, t0 + 10s, t0 + 2min);
    REQUIRE(m.size() == 1);
    CHECK(m[0].count == 1);
    CHECK(m[0].text == "5 m 20 TH/s, 1 h 90 TH/s");
}

TEST_CASE("alerts grouper: chains are grouped apart") {
    grouper g(opts());
    const auto t0 = clock_t_::now();
    g.add(ev(event_kind::block_found, "btc", "h1"), t0);
    g.add(ev(event_kind::block_found, "rvn", "h2"), t0);
    auto m = g.due(t0);
    REQUIRE(m.size() == 2);
    CHECK(m[0].chain != m[1].chain);
}

TEST_CASE("alerts grouper: min_interval 0 sends each round as soon as it is due") {
    grouper_options o = opts();
    o.min_interval = 0ms;
    grouper g(o);
    const auto t0 = clock_t_::now();
    g.add(ev(event_kind::block_found, "btc", "h1"), t0);
    CHECK(g.due(t0).size() == 1);
    g.add(ev(event_kind::block_found, "btc", "h2"), t0 + 1ms);
    CHECK(g.due(t0 + 1ms).size() == 1);
}

TEST_CASE("alerts grouper: hostile subjects and texts are cleaned and cut and never reach the title") {
    grouper g(opts());
    const auto t0 = clock_t_::now();
    const std::string evil = "rig\r\nX-Injected: 1\x1b[31m\xff\xfe" + std::string(1000, 'A');
    g.add(ev(event_kind::worker_offline, "btc", evil, evil), t0);
    auto m = g.due(t0 + 5s);
    REQUIRE(m.size() == 1);
    CHECK(m[0].title == "solobridge btc: worker offline");
    REQUIRE(m[0].subjects.size() == 1);
    CHECK(m[0].subjects[0].size() <= max_subject_bytes);
    CHECK(m[0].subjects[0].starts_with("rig??X-Injected: 1?[31m??AAA"));
    CHECK(m[0].text.size() <= max_event_text_bytes);
    CHECK(m[0].text.find('\r') == std::string::npos);
    CHECK(m[0].text.find('\n') == std::string::npos);
}

TEST_CASE("alerts grouper: a grouped message stays within max_message_text_bytes cut at a line") {
    grouper g(opts());
    const auto t0 = clock_t_::now();
    for (int i = 0; i < 40; ++i)
        g.add(ev(event_kind::worker_offline, "btc", "w" + std::to_string(i), std::string(400, 'x') + std::to_string(i)), t0);
    auto m = g.due(t0 + 5s);
    REQUIRE(m.size() == 1);
    CHECK(m[0].text.size() <= max_message_text_bytes);
    CHECK(m[0].text.ends_with("\n..."));
    CHECK(m[0].text.starts_with("40 workers offline: w0, w1"));
}

TEST_CASE("alerts clean_text: valid UTF-8 stays and anything else becomes '?' and cuts fall on a character") {
    CHECK(clean_text("rig-é-😀", 64) == "rig-é-😀");
    CHECK(clean_text("a\tb\nc\x7f", 64) == "a?b?c?");
    CHECK(clean_text("\xc0\xaf", 64) == "??");          // overlong '/'
    CHECK(clean_text("\xed\xa0\x80", 64) == "???");     // a UTF-16 surrogate
    CHECK(clean_text("\xc2\x85", 64) == "??");          // C1 control NEL
    CHECK(clean_text("\xf4\x90\x80\x80", 64) == "????");  // above U+10FFFF
    CHECK(clean_text("\xe2\x82", 64) == "??");          // cut short
    CHECK(clean_text("abcdefgh", 6) == "abc...");
    CHECK(clean_text("abcdef", 6) == "abcdef");
    CHECK(clean_text("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 7) == "\xc3\xa9\xc3\xa9...");
}

TEST_CASE("alerts: block_found_event names the height and the worker and the hash in display order") {
    hash256 h{};
    h[0] = 0xab;  // internal order: the last byte shown
    h[31] = 0x01;
    const auto e = block_found_event("btc", 840000, h, "bc1qxyz.rig1");
    CHECK(e.kind == event_kind::block_found);
    CHECK(e.chain == "btc");
    CHECK(e.subject == "01" + std::string(60, '0') + "ab");
    CHECK(e.text == "block 840000 found by bc1qxyz.rig1, hash " + e.subject);
}
