// Work on the wrong tip (issue 13 §1): the orders in which a scripted node's template
// replies and P2P tips reach the dispatcher, wired as the daemon wires them (the template
// source asks again when the dispatcher finds a template behind; a P2P tip the work is
// behind fetches a template at once). In every order, no job ever builds on a tip older
// than the best one known, and one block gives each miner one notify.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "bridge_access.hpp"
#include "dispatch/dispatcher.hpp"
#include "fake_node.hpp"
#include "sb/core/hex.hpp"
#include "sb/node/template_source.hpp"
#include "vectors.hpp"

using namespace sb;

namespace {

// Tips of the scripted chain by height: tip(1) is the parent of the first template.
std::string tip_display(int height) {
    std::string h(64, 'a');
    const std::string n = std::to_string(height);
    h.replace(64 - n.size(), n.size(), n);
    return h;
}
hash256 tip(int height) { return test::hash_from_display(tip_display(height)); }

// The node's template for the block after tip(parent_height).
std::string template_json(int parent_height) {
    rapidjson::Document d = test::vector_member_copy("getblocktemplate.json", "bcoin_presegwit");
    d["previousblockhash"].SetString(tip_display(parent_height).c_str(), d.GetAllocator());
    d["height"].SetInt(parent_height + 1);
    const std::string lp = "lp" + std::to_string(parent_height);
    d["longpollid"].SetString(lp.c_str(), d.GetAllocator());
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    d.Accept(w);
    return sb.GetString();
}

bool is_longpoll(const test::fake_request& r) { return r.params_json.find("\"longpollid\"") != std::string::npos; }

// A node whose tip is at `height`; plain fetches answer at once unless hold_fetches is
// set (a reply the test releases later: Bitcoin Core's answer from its cached template);
// longpolls are held until released.
struct scripted_node {
    std::atomic<int> height{1};
    std::atomic<bool> hold_fetches{false};
    test::fake_node node;

    scripted_node() : node([this](const test::fake_request& r) { return answer(r); }) {}

    test::fake_action answer(const test::fake_request& r) {
        if (auto a = test::answer_chain_check(r)) return *a;  // the source's chain check
        if (r.method != "getblocktemplate") return test::fake_action{test::http_reply(404, "")};
        if (is_longpoll(r) || hold_fetches) {
            test::fake_action a;
            a.hold = true;
            return a;
        }
        return test::answer_result(r, template_json(height));
    }
    // Answers every held request (fetches and longpolls) with the template on tip(h).
    void release_with(int h) {
        node.release_held([h](const test::fake_request& r) { return test::answer_result(r, template_json(h)); });
    }
};

struct recorder : bridge::work_consumer {
    std::mutex mu;
    std::vector<std::shared_ptr<const bridge::job>> jobs;
    void on_job(std::shared_ptr<const bridge::job> j) override {
        std::lock_guard lock(mu);
        jobs.push_back(std::move(j));
    }
    std::vector<std::shared_ptr<const bridge::job>> all() {
        std::lock_guard lock(mu);
        return jobs;
    }
};

// A dispatcher fed by a template source on the scripted node, as cmd_run wires them.
struct bridge_under_test {
    test::io_runner& io;
    std::shared_ptr<bridge::dispatcher> d;
    std::unique_ptr<node::template_source> source;
    std::shared_ptr<recorder> rec = std::make_shared<recorder>();
    std::atomic<int> behind{0};

    bridge_under_test(test::io_runner& io_, scripted_node& n, std::chrono::milliseconds max_node_lag = std::chrono::seconds(20))
        : io(io_) {
        bridge::dispatcher_options o;
        o.fixed_payout_script = *from_hex("0014751e76e8199196d454941c45d1b3a323f1433bd6");
        o.max_node_lag = max_node_lag;
        o.log = [](std::string_view) {};
        d = std::make_shared<bridge::dispatcher>(io.executor(), params(network::bitcoin_regtest), o, nullptr);
        REQUIRE(d->add_consumer(rec).id != 0);
        node::template_source_options so;
        so.net = network::bitcoin_regtest;
        so.refresh = std::chrono::milliseconds::zero();
        so.behind_retry_initial = std::chrono::milliseconds(10);
        so.behind_retry_max = std::chrono::milliseconds(40);
        node::rpc_settings rpc;
        rpc.url = n.node.url();
        rpc.user = "u";
        rpc.password = "p";
        source = std::make_unique<node::template_source>(
            io.executor(), rpc, so, [this](std::shared_ptr<const node::block_template> t, node::template_reason) {
                if (d->on_template(std::move(t)) == bridge::dispatch_errc::template_behind) {
                    ++behind;
                    return node::template_use::behind;
                }
                return node::template_use::used;
            });
    }
    ~bridge_under_test() {
        source->stop();
        d->stop();
    }
    // A P2P tip, handled as p2p_link's on_new_tip in the daemon.
    void p2p_tip(int height) {
        if (d->on_new_tip(tip(height), static_cast<std::uint32_t>(height))) source->notify_new_tip();
    }
    std::uint32_t job_height() const {
        auto j = d->current_job(1);
        return j ? j->height : 0;
    }
};

// Every job handed out after the first one on tip(h) builds on tip(h) or later.
void check_never_backwards(const std::vector<std::shared_ptr<const bridge::job>>& jobs) {
    std::uint32_t highest = 0;
    for (const auto& j : jobs) {
        CHECK_MESSAGE(j->height >= highest, "a job at height ", j->height, " after one at ", highest);
        highest = std::max(highest, j->height);
    }
}

}  // namespace

TEST_CASE("tip_tracker: templates one step below, at and above the best tip") {
    using v = bridge::template_verdict;
    const auto t0 = bridge::tip_tracker::clock::now();
    bridge::tip_tracker t(std::chrono::seconds(20));
    CHECK(t.on_template(tip(5), 6, t0) == v::on_best);  // the first template sets the best tip
    CHECK(t.best()->height == 5);
    CHECK(t.on_template(tip(5), 6, t0) == v::on_best);
    CHECK(t.on_template(tip(4), 5, t0) == v::behind);  // one below
    CHECK(test::access<bridge::tip_tracker>::behind_since(t) == t0);
    CHECK(t.on_template(tip(6), 7, t0) == v::newer);   // one above
    CHECK(!test::access<bridge::tip_tracker>::behind_since(t));
    CHECK(t.on_template(test::hash_from_display(std::string(64, 'b')), 7, t0) == v::newer);  // level: the node's choice
    CHECK(t.best()->hash == test::hash_from_display(std::string(64, 'b')));
}

TEST_CASE("tip_tracker: P2P tips one step below, at and above the best tip") {
    using p = bridge::p2p_verdict;
    bridge::tip_tracker t;
    const auto t0 = bridge::tip_tracker::clock::now();
    CHECK(t.on_p2p_tip(tip(5), 5) == p::news);
    CHECK(t.on_p2p_tip(tip(5), 5) == p::known);
    CHECK(t.on_p2p_tip(tip(4), 4) == p::ignored);
    CHECK(t.on_p2p_tip(test::hash_from_display(std::string(64, 'c')), 5) == p::ignored);
    CHECK(t.on_template(tip(4), 5, t0) == bridge::template_verdict::behind);
    CHECK(t.on_p2p_tip(tip(6), 6) == p::news);
    CHECK(!test::access<bridge::tip_tracker>::behind_since(t));  // the node's lag counts afresh for the new tip
}

TEST_CASE("tip_tracker: the node is followed exactly when its lag reaches max_node_lag") {
    const auto lag = std::chrono::milliseconds(1000);
    bridge::tip_tracker t(lag);
    const auto t0 = bridge::tip_tracker::clock::now();
    CHECK(t.on_p2p_tip(tip(5), 5) == bridge::p2p_verdict::news);
    CHECK(t.on_template(tip(4), 5, t0) == bridge::template_verdict::behind);
    CHECK(t.on_template(tip(4), 5, t0 + lag - std::chrono::milliseconds(1)) == bridge::template_verdict::behind);
    CHECK(t.on_template(tip(4), 5, t0 + lag) == bridge::template_verdict::after_lag);
    CHECK(t.best()->hash == tip(4));
    CHECK(t.on_template(tip(4), 5, t0 + lag) == bridge::template_verdict::on_best);
}

TEST_CASE("tip order: a P2P tip before the old template's reply, the reply refused and the node asked again") {
    scripted_node n;
    test::io_runner io;
    bridge_under_test b(io, n);
    b.source->start();
    REQUIRE(io.run_until([&] { return b.job_height() == 2 && n.node.held_count() == 1; }));

    n.hold_fetches = true;
    b.p2p_tip(2);  // tip(2) heard over P2P; the fetch it triggers is answered late
    REQUIRE(io.run_until([&] { return n.node.held_count() == 2; }));
    n.height = 2;             // the node has caught up meanwhile ...
    n.hold_fetches = false;
    // ... but the held fetch is answered from its old template, and so is the longpoll.
    n.node.release_held([](const test::fake_request& r) { return test::answer_result(r, template_json(1)); });
    REQUIRE(io.run_until([&] { return b.job_height() == 3; }));
    CHECK(b.behind >= 1);
    const auto jobs = b.rec->all();
    check_never_backwards(jobs);
    // One notify for the first template, one (clean) for the new tip: none on tip(1) again.
    io.run_for(std::chrono::milliseconds(100));
    const auto after = b.rec->all();
    REQUIRE(after.size() == 2);
    CHECK(after[1]->clean);
    CHECK(after[1]->prev_block == tip(2));
}

TEST_CASE("tip order: a longpoll reply after the P2P tip gives no second notify, an old one is refused") {
    scripted_node n;
    test::io_runner io;
    bridge_under_test b(io, n);
    b.source->start();
    REQUIRE(io.run_until([&] { return b.job_height() == 2 && n.node.held_count() == 1; }));

    n.height = 2;
    b.p2p_tip(2);  // the new-tip fetch brings tip(2)'s template
    REQUIRE(io.run_until([&] { return b.job_height() == 3; }));
    n.release_with(2);  // the longpoll returns with the same template
    REQUIRE(io.run_until([&] { return n.node.held_count() == 1; }));  // re-issued
    io.run_for(std::chrono::milliseconds(100));
    auto jobs = b.rec->all();
    CHECK(jobs.size() == 2);  // the longpoll's equal template made no job
    CHECK(b.d->stats().templates_unchanged == 1);

    // A longpoll answered from before the block (the order is not guaranteed across the
    // two connections) is refused; the work stays on tip(2).
    n.release_with(1);
    REQUIRE(io.run_until([&] { return b.behind >= 1; }));
    io.run_for(std::chrono::milliseconds(100));
    jobs = b.rec->all();
    CHECK(jobs.size() == 2);
    CHECK(b.job_height() == 3);
    check_never_backwards(jobs);
}

TEST_CASE("tip order: after our own block Core's cached template arrives after the longpoll's and is refused") {
    scripted_node n;
    test::io_runner io;
    bridge_under_test b(io, n);
    b.source->start();
    REQUIRE(io.run_until([&] { return b.job_height() == 2 && n.node.held_count() == 1; }));

    // Our block tip(2) is relayed: P2P reports it, the new-tip fetch is answered late from
    // the cached template, while the longpoll already returns tip(2)'s template.
    n.hold_fetches = true;
    b.p2p_tip(2);
    REQUIRE(io.run_until([&] { return n.node.held_count() == 2; }));
    n.hold_fetches = false;
    n.height = 2;
    // The longpoll answers with tip(2)'s template, the fetch with tip(1)'s.
    n.node.release_held(
        [](const test::fake_request& r) { return test::answer_result(r, template_json(is_longpoll(r) ? 2 : 1)); });
    REQUIRE(io.run_until([&] { return b.job_height() == 3; }));
    io.run_for(std::chrono::milliseconds(150));
    CHECK(b.job_height() == 3);
    const auto jobs = b.rec->all();
    check_never_backwards(jobs);
    for (std::size_t i = 1; i < jobs.size(); ++i) CHECK(jobs[i]->prev_block == tip(2));
}

TEST_CASE("tip order: a restart while the node still reports the old tip makes no work on it") {
    scripted_node n;
    test::io_runner io;
    bridge_under_test b(io, n);
    b.p2p_tip(2);  // the P2P store's tip, known before the first template
    b.source->start();
    REQUIRE(io.run_until([&] { return b.behind >= 3; }));
    CHECK(b.job_height() == 0);  // no work on tip(1), however often the node offers it
    n.height = 2;                // the node catches up
    REQUIRE(io.run_until([&] { return b.job_height() == 3; }));
    const auto jobs = b.rec->all();
    REQUIRE(jobs.size() == 1);
    CHECK(jobs[0]->prev_block == tip(2));
}

TEST_CASE("tip order: a node that never adopts the P2P tip is followed after max_node_lag") {
    scripted_node n;
    test::io_runner io;
    bridge_under_test b(io, n, std::chrono::milliseconds(200));
    b.source->start();
    REQUIRE(io.run_until([&] { return b.job_height() == 2; }));
    b.p2p_tip(2);  // a block the node refuses: it keeps building on tip(1)
    REQUIRE(io.run_until([&] { return b.rec->all().size() == 2; }));
    const auto jobs = b.rec->all();
    CHECK(jobs[1]->prev_block == tip(1));
    CHECK(jobs[1]->clean);
    CHECK(b.behind >= 1);
}
