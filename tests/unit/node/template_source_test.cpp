// The template source against the fake node: first template, longpoll cycle, new-tip
// and periodic fetches, back-off after failures, a node killed mid-longpoll, stop().
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "fake_node.hpp"
#include "rpc_helpers.hpp"
#include "sb/core/hex.hpp"
#include "sb/node/template_source.hpp"

using namespace sb::node;
using sb::test::answer_result;
using sb::test::fake_action;
using sb::test::fake_node;
using sb::test::fake_request;
using sb::test::io_runner;
using sb::test::settings_for;
using sb::test::valid_template_json;

namespace {

bool is_longpoll(const fake_request& r) { return r.params_json.find("\"longpollid\"") != std::string::npos; }

// A node at height `height`: the chain check passes (regtest, or signet), plain
// getblocktemplate answers at once, a longpoll is held until the test releases it.
struct gbt_node {
    std::atomic<int> height{1};
    fake_node node;

    explicit gbt_node(std::uint16_t port = 0) : node([this](const fake_request& r) { return answer(r); }, port) {}

    fake_action answer(const fake_request& r) {
        sb::test::chain_info info;
        if (signet) info = {"signet", sb::to_hex_reversed(sb::params(sb::network::bitcoin_signet).genesis_hash)};
        if (auto a = sb::test::answer_chain_check(r, info)) return *a;
        if (r.method != "getblocktemplate") return fake_action{sb::test::http_reply(404, "")};
        if (is_longpoll(r)) {
            fake_action a;
            a.hold = true;
            return a;
        }
        return answer_result(r, template_json(height));
    }

    std::atomic<bool> signet{false};

    std::string template_json(int h) const { return valid_template_json(h, "lp" + std::to_string(h), signet); }

    // A new block: the held longpolls answer with the next height.
    void mine() {
        const int h = ++height;
        node.release_held([this, h](const fake_request& r) { return answer_result(r, template_json(h)); });
    }

    std::size_t longpolls_seen() const {
        std::size_t n = 0;
        for (const auto& r : node.requests()) n += is_longpoll(r) ? 1 : 0;
        return n;
    }

    std::vector<fake_request> template_requests() const {
        std::vector<fake_request> out;
        for (auto& r : node.requests())
            if (r.method == "getblocktemplate") out.push_back(r);
        return out;
    }
};

struct delivered {
    int height;
    template_reason why;
};

// A receiver that uses every template and records its height and reason.
template_source::template_handler record(std::vector<delivered>& got) {
    return [&got](std::shared_ptr<const block_template> t, template_reason why) {
        got.push_back({static_cast<int>(t->height), why});
        return template_use::used;
    };
}

template_source_options fast_source_options() {
    template_source_options o;
    o.refresh = std::chrono::milliseconds::zero();
    o.retry_initial = std::chrono::milliseconds(20);
    o.retry_max = std::chrono::milliseconds(200);
    o.client = sb::test::fast_options();
    return o;
}

}  // namespace

TEST_CASE("template_source: first template then each longpoll answer is delivered") {
    gbt_node g;
    io_runner io;
    std::vector<delivered> got;
    template_source src(io.executor(), settings_for(g.node), fast_source_options(),
                        record(got));
    src.start();
    REQUIRE(io.run_until([&] { return got.size() == 1 && g.node.held_count() == 1; }));
    CHECK(got[0].height == 1);
    CHECK(got[0].why == template_reason::initial);
    CHECK(src.status().longpoll_active);
    CHECK(g.node.requests().back().params_json.find(R"("longpollid":"lp1")") != std::string::npos);

    g.mine();
    REQUIRE(io.run_until([&] { return got.size() == 2 && g.node.held_count() == 1; }));
    CHECK(got[1].height == 2);
    CHECK(got[1].why == template_reason::longpoll);
    // Re-issued with the new longpollid, on a connection of its own.
    CHECK(g.node.requests().back().params_json.find(R"("longpollid":"lp2")") != std::string::npos);
    CHECK(g.node.connection_count() == 2);
    const auto st = src.status();
    CHECK(st.templates == 2);
    CHECK(st.last_template_at.has_value());
    CHECK(st.longpoll_supported);
    CHECK(st.last_error.empty());
}

TEST_CASE("template_source: a new tip seen elsewhere is fetched at once") {
    gbt_node g;
    io_runner io;
    std::vector<delivered> got;
    template_source src(io.executor(), settings_for(g.node), fast_source_options(),
                        record(got));
    src.start();
    REQUIRE(io.run_until([&] { return got.size() == 1; }));
    g.height = 5;
    src.notify_new_tip();
    REQUIRE(io.run_until([&] { return got.size() == 2; }));
    CHECK(got[1].height == 5);
    CHECK(got[1].why == template_reason::new_tip);
}

TEST_CASE("template_source: templates are refreshed periodically") {
    gbt_node g;
    io_runner io;
    std::vector<delivered> got;
    auto options = fast_source_options();
    options.refresh = std::chrono::milliseconds(50);
    template_source src(io.executor(), settings_for(g.node), options,
                        record(got));
    src.start();
    REQUIRE(io.run_until([&] { return got.size() >= 3; }));
    CHECK(got[0].why == template_reason::initial);
    CHECK(got[1].why == template_reason::refresh);
    CHECK(got[2].why == template_reason::refresh);
}

TEST_CASE("template_source: a failed fetch is retried after a back-off") {
    std::atomic<int> calls{0};
    fake_node node([&](const fake_request& r) {
        if (auto a = sb::test::answer_chain_check(r)) return *a;
        if (++calls <= 2)
            return fake_action{sb::test::http_reply(
                500, sb::test::rpc_error_body(r.id_json, -10, "Bitcoin is downloading blocks..."))};
        return answer_result(r, valid_template_json(7, ""));
    });
    io_runner io;
    std::vector<delivered> got;
    std::vector<std::string> lines;
    auto options = fast_source_options();
    options.log = [&](std::string_view l) { lines.emplace_back(l); };
    template_source src(io.executor(), settings_for(node), options, record(got));
    src.start();
    REQUIRE(io.run_until([&] { return got.size() == 1; }));
    CHECK(got[0].height == 7);
    CHECK(got[0].why == template_reason::initial);
    CHECK(calls == 3);
    const auto st = src.status();
    // Syncing (-10) twice, logged once, then connected with no stale text left.
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].find("syncing") != std::string::npos);
    CHECK(lines[1].find("connected again") != std::string::npos);
    CHECK(st.state == node_state::connected);
    CHECK(st.last_error.empty());
    // No longpollid in the template: nothing to hold open.
    CHECK(!st.longpoll_supported);
    CHECK(!st.longpoll_active);
}

TEST_CASE("template_source: node killed mid-longpoll backs off and re-establishes the longpoll") {
    auto g = std::make_unique<gbt_node>();
    const auto port = g->node.port();
    io_runner io;
    std::vector<delivered> got;
    template_source src(io.executor(), settings_for(g->node), fast_source_options(),
                        record(got));
    src.start();
    REQUIRE(io.run_until([&] { return got.size() == 1 && g->node.held_count() == 1; }));

    g.reset();  // killed: listener and connections gone
    REQUIRE(io.run_until([&] {
        const auto st = src.status();
        return st.longpoll_rpc.state == link_state::down && st.state == node_state::down;
    }));
    CHECK(src.status().last_error.find("refused") != std::string::npos);

    g = std::make_unique<gbt_node>(port);  // back, on the same port, one block further
    g->height = 1;
    // The fetch that watched for the node's return brings its template; the longpoll is
    // held again.
    REQUIRE(io.run_until([&] { return got.size() == 2 && g->longpolls_seen() >= 1 && g->node.held_count() == 1; }));
    CHECK(got[1].why == template_reason::refresh);
    CHECK(src.status().longpoll_active);
    g->mine();
    REQUIRE(io.run_until([&] { return !got.empty() && got.back().why == template_reason::longpoll; }));
    CHECK(got.back().height == 2);
    CHECK(src.status().state == node_state::connected);
    CHECK(src.status().last_error.empty());
}

TEST_CASE("template_source: no template is delivered after stop") {
    gbt_node g;
    io_runner io;
    std::vector<delivered> got;
    auto options = fast_source_options();
    options.refresh = std::chrono::milliseconds(30);
    template_source src(io.executor(), settings_for(g.node), options,
                        record(got));
    src.start();
    REQUIRE(io.run_until([&] { return got.size() == 1 && g.node.held_count() == 1; }));
    src.stop();
    g.mine();
    src.notify_new_tip();
    io.run_for(std::chrono::milliseconds(200));
    CHECK(got.size() == 1);
    CHECK(!src.status().longpoll_active);
}

TEST_CASE("template_source: signet asks for the signet rule") {
    gbt_node g;
    io_runner io;
    int got = 0;
    auto options = fast_source_options();
    options.net = sb::network::bitcoin_signet;
    g.signet = true;
    template_source src(io.executor(), settings_for(g.node), options, [&](std::shared_ptr<const block_template>, template_reason) {
        ++got;
        return template_use::used;
    });
    src.start();
    REQUIRE(io.run_until([&] { return got == 1; }));
    CHECK(g.template_requests().at(0).params_json.find(R"("rules":["segwit","signet"])") != std::string::npos);
}

TEST_CASE("template_source: a template the receiver finds behind is fetched again until one is used") {
    // Bitcoin Core answers from its cached template until its UpdateTip has run: the
    // first answers still build on the old tip.
    gbt_node g;
    io_runner io;
    std::vector<delivered> got;
    auto options = fast_source_options();
    options.behind_retry_initial = std::chrono::milliseconds(10);
    options.behind_retry_max = std::chrono::milliseconds(40);
    const int best = 3;  // the receiver knows a tip that height-3 templates build on
    template_source src(io.executor(), settings_for(g.node), options,
                        [&](std::shared_ptr<const block_template> t, template_reason why) {
                            got.push_back({static_cast<int>(t->height), why});
                            return static_cast<int>(t->height) >= best ? template_use::used : template_use::behind;
                        });
    src.start();
    REQUIRE(io.run_until([&] { return got.size() >= 4; }));
    CHECK(got[0].why == template_reason::initial);
    for (std::size_t i = 1; i < got.size(); ++i) CHECK(got[i].why == template_reason::behind);
    CHECK(src.status().templates_behind == got.size());
    g.height = 3;  // the node caught up
    REQUIRE(io.run_until([&] { return !got.empty() && got.back().height == 3; }));
    const auto n = got.size();
    // Used: no more fetches (refresh is off; the longpoll is held).
    io.run_for(std::chrono::milliseconds(150));
    CHECK(got.size() == n);
    CHECK(got.back().why == template_reason::behind);
}

TEST_CASE("template_source: a template that fails the checks is not delivered and is fetched again") {
    std::atomic<int> calls{0};
    fake_node node([&](const fake_request& r) {
        if (auto a = sb::test::answer_chain_check(r)) return *a;
        // First a template whose target does not match its bits, then a good one.
        if (++calls == 1) {
            std::string bad = valid_template_json(4, "");
            bad.replace(bad.find("7fffff00"), 8, "7ffffe00");
            return answer_result(r, bad);
        }
        return answer_result(r, valid_template_json(4, ""));
    });
    io_runner io;
    std::vector<delivered> got;
    std::vector<std::string> lines;
    auto options = fast_source_options();
    options.log = [&](std::string_view l) { lines.emplace_back(l); };
    template_source src(io.executor(), settings_for(node), options, record(got));
    src.start();
    REQUIRE(io.run_until([&] { return got.size() == 1; }));
    CHECK(got[0].height == 4);
    CHECK(calls == 2);
    REQUIRE(!lines.empty());
    CHECK(lines[0].find("failing") != std::string::npos);
    CHECK(lines[0].find("target") != std::string::npos);
    CHECK(src.status().last_error.empty());
}
