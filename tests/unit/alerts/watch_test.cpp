// The watches: node health from the template sources' states, and orphaned blocks from the
// submitter's recent blocks.
#include <doctest/doctest.h>

#include "alerts/watch.hpp"

using namespace sb;
using namespace sb::bridge::alerts;

namespace {

node::template_source_status in_state(node::node_state s, std::string problem = {}) {
    node::template_source_status st;
    st.state = s;
    st.last_error = std::move(problem);
    return st;
}

}  // namespace

TEST_CASE("alerts node watch: node states map to up or down or unauthorized or nothing known") {
    using node::node_state;
    CHECK(observe(in_state(node_state::connecting)).health == node_health::unknown);
    CHECK(observe(in_state(node_state::connected)).health == node_health::up);
    auto o = observe(in_state(node_state::down, "cannot connect to 127.0.0.1:8332: Connection refused"));
    CHECK(o.health == node_health::down);
    CHECK(o.detail == "is down: cannot connect to 127.0.0.1:8332: Connection refused");
    o = observe(in_state(node_state::unauthorized, "HTTP 401 Unauthorized: check rpc_user"));
    CHECK(o.health == node_health::unauthorized);
    CHECK(o.detail == "refuses the RPC credentials: HTTP 401 Unauthorized: check rpc_user");
    // A node that answers but cannot supply work leaves the miners without work as well.
    for (auto s : {node_state::starting, node_state::syncing, node_state::no_peers, node_state::wrong_chain,
                   node_state::failing}) {
        CAPTURE(node::to_string(s));
        o = observe(in_state(s, "what is wrong"));
        CHECK(o.health == node_health::down);
        CHECK(o.detail == "is " + std::string(node::to_string(s)) + ": what is wrong");
    }
}

TEST_CASE("alerts node watch: the tracker posts changes only and up only after a problem") {
    node_tracker t("btc", "http://127.0.0.1:8332");
    CHECK_FALSE(t.update({node_health::up, "supplies work again"}).has_value());  // first contact
    CHECK_FALSE(t.update({node_health::unknown, {}}).has_value());
    auto e = t.update({node_health::down, "is down: Connection refused"});
    REQUIRE(e.has_value());
    CHECK(e->kind == event_kind::node_down);
    CHECK(e->chain == "btc");
    CHECK(e->subject == "http://127.0.0.1:8332");
    CHECK(e->text == "http://127.0.0.1:8332 is down: Connection refused");
    CHECK_FALSE(t.update({node_health::down, "is syncing: ..."}).has_value());  // still no work from it
    e = t.update({node_health::unauthorized, "refuses the RPC credentials: HTTP 401"});
    REQUIRE(e.has_value());
    CHECK(e->kind == event_kind::node_unauthorized);
    e = t.update({node_health::up, "supplies work again"});
    REQUIRE(e.has_value());
    CHECK(e->kind == event_kind::node_up);
    CHECK(e->text == "http://127.0.0.1:8332 supplies work again");
}

TEST_CASE("alerts node watch: the poller samples the status and reports a node down from the start") {
    node::template_source_status st = in_state(node::node_state::down, "Connection refused");
    auto poll = node_poller("btc", "http://n1", [&] { return st; });
    auto ev = poll();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].kind == event_kind::node_down);
    CHECK(poll().empty());
    st = in_state(node::node_state::connected);
    ev = poll();
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].kind == event_kind::node_up);
}

TEST_CASE("alerts orphan watch: a block that becomes orphaned is reported once, the first sample is the baseline") {
    std::vector<block_fate_sample> recent = {{"aa", 10, true, "lost the race"}, {"bb", 11, false, {}}};
    auto poll = orphan_poller("btc", [&] { return recent; });
    CHECK(poll().empty());  // aa was orphaned before: not news
    CHECK(poll().empty());
    recent[1].orphaned = true;
    recent[1].reason = "another block at height 11";
    recent.push_back({"cc", 12, true, {}});  // found and orphaned between two samples
    auto ev = poll();
    REQUIRE(ev.size() == 2);
    CHECK(ev[0].kind == event_kind::block_orphaned);
    CHECK(ev[0].chain == "btc");
    CHECK(ev[0].subject == "bb");
    CHECK(ev[0].text == "block 11 orphaned (another block at height 11), hash bb");
    CHECK(ev[1].subject == "cc");
    CHECK(ev[1].text == "block 12 orphaned, hash cc");
    CHECK(poll().empty());
}
