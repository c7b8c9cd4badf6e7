// The template source against the fake node: first template, longpoll cycle, new-tip
// and periodic fetches, back-off after failures, a node killed mid-longpoll, stop().
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "fake_node.hpp"
#include "rpc_helpers.hpp"
#include "sb/node/template_source.hpp"

using namespace sb::node;
using sb::test::answer_result;
using sb::test::fake_action;
using sb::test::fake_node;
using sb::test::fake_request;
using sb::test::io_runner;
using sb::test::settings_for;

namespace {

bool is_longpoll(const fake_request& r) { return r.params_json.find("\"longpollid\"") != std::string::npos; }

// A node at height `height`: plain getblocktemplate answers at once, a longpoll is held
// until the test releases it.
struct gbt_node {
    std::atomic<int> height{1};
    fake_node node;

    explicit gbt_node(std::uint16_t port = 0) : node([this](const fake_request& r) { return answer(r); }, port) {}

    fake_action answer(const fake_request& r) {
        if (r.method != "getblocktemplate") return fake_action{sb::test::http_reply(404, "")};
        if (is_longpoll(r)) {
            fake_action a;
            a.hold = true;
            return a;
        }
        return answer_result(r, template_json(height));
    }

    static std::string template_json(int h) {
        return R"({"height":)" + std::to_string(h) + R"(,"longpollid":"lp)" + std::to_string(h) + R"("})";
    }

    // A new block: the held longpolls answer with the next height.
    void mine() {
        const int h = ++height;
        node.release_held([h](const fake_request& r) { return answer_result(r, template_json(h)); });
    }

    std::size_t longpolls_seen() const {
        std::size_t n = 0;
        for (const auto& r : node.requests()) n += is_longpoll(r) ? 1 : 0;
        return n;
    }
};

struct delivered {
    int height;
    template_reason why;
};

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
                        [&](const rpc_value& gbt, template_reason why) { got.push_back({gbt.get()["height"].GetInt(), why}); });
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
                        [&](const rpc_value& gbt, template_reason why) { got.push_back({gbt.get()["height"].GetInt(), why}); });
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
                        [&](const rpc_value& gbt, template_reason why) { got.push_back({gbt.get()["height"].GetInt(), why}); });
    src.start();
    REQUIRE(io.run_until([&] { return got.size() >= 3; }));
    CHECK(got[0].why == template_reason::initial);
    CHECK(got[1].why == template_reason::refresh);
    CHECK(got[2].why == template_reason::refresh);
}

TEST_CASE("template_source: a failed fetch is retried after a back-off") {
    std::atomic<int> calls{0};
    fake_node node([&](const fake_request& r) {
        if (++calls <= 2)
            return fake_action{sb::test::http_reply(
                500, sb::test::rpc_error_body(r.id_json, -10, "Bitcoin is downloading blocks..."))};
        return answer_result(r, R"({"height":7})");
    });
    io_runner io;
    std::vector<delivered> got;
    template_source src(io.executor(), settings_for(node), fast_source_options(),
                        [&](const rpc_value& gbt, template_reason why) { got.push_back({gbt.get()["height"].GetInt(), why}); });
    src.start();
    REQUIRE(io.run_until([&] { return got.size() == 1; }));
    CHECK(got[0].height == 7);
    CHECK(got[0].why == template_reason::initial);
    CHECK(calls == 3);
    const auto st = src.status();
    CHECK(st.last_error.find("-10") != std::string::npos);
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
                        [&](const rpc_value& gbt, template_reason why) { got.push_back({gbt.get()["height"].GetInt(), why}); });
    src.start();
    REQUIRE(io.run_until([&] { return got.size() == 1 && g->node.held_count() == 1; }));

    g.reset();  // killed: listener and connections gone
    REQUIRE(io.run_until([&] {
        const auto st = src.status();
        return !st.longpoll_active && st.longpoll_rpc.state == link_state::down;
    }));
    CHECK(src.status().last_error.find("longpoll") != std::string::npos);

    g = std::make_unique<gbt_node>(port);  // back, on the same port, one block further
    g->height = 1;
    REQUIRE(io.run_until([&] { return g->longpolls_seen() >= 1 && g->node.held_count() == 1; }));
    CHECK(src.status().longpoll_active);
    g->mine();
    REQUIRE(io.run_until([&] { return got.size() == 2; }));
    CHECK(got[1].why == template_reason::longpoll);
    CHECK(got[1].height == 2);
}

TEST_CASE("template_source: no template is delivered after stop") {
    gbt_node g;
    io_runner io;
    std::vector<delivered> got;
    auto options = fast_source_options();
    options.refresh = std::chrono::milliseconds(30);
    template_source src(io.executor(), settings_for(g.node), options,
                        [&](const rpc_value& gbt, template_reason why) { got.push_back({gbt.get()["height"].GetInt(), why}); });
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
    template_source src(io.executor(), settings_for(g.node), options, [&](const rpc_value&, template_reason) { ++got; });
    src.start();
    REQUIRE(io.run_until([&] { return got == 1; }));
    CHECK(g.node.requests()[0].params_json.find(R"("rules":["segwit","signet"])") != std::string::npos);
}
