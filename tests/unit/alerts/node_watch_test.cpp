// Node health from the template source's status snapshots, and the events it gives.
#include <doctest/doctest.h>

#include "alerts/node_watch.hpp"
#include "sb/node/errors.hpp"

using namespace sb;
using namespace sb::bridge::alerts;

namespace {

node::template_source_status connected(std::uint64_t templates, std::uint64_t ok, std::uint64_t failed) {
    node::template_source_status s;
    s.rpc.state = node::link_state::connected;
    s.templates = templates;
    s.rpc.calls_ok = ok;
    s.rpc.calls_failed = failed;
    return s;
}

}  // namespace

TEST_CASE("alerts node watch: the status snapshots tell down, unauthorized, up and no change") {
    node::template_source_status prev = connected(5, 10, 0);

    auto down = prev;
    down.rpc.state = node::link_state::down;
    down.rpc.last_error = "cannot connect to 127.0.0.1:8332: Connection refused";
    auto o = observe(prev, down);
    CHECK(o.health == node_health::down);
    CHECK(o.problem == down.rpc.last_error);

    auto longpoll_down = prev;
    longpoll_down.longpoll_rpc.state = node::link_state::down;
    longpoll_down.longpoll_rpc.last_error = "connection lost: end of stream";
    o = observe(prev, longpoll_down);
    CHECK(o.health == node_health::down);  // the idle fetch connection has not noticed yet
    CHECK(o.problem == "connection lost: end of stream");

    CHECK(observe(prev, connected(6, 10, 0)).health == node_health::up);   // a template
    CHECK(observe(prev, connected(5, 11, 0)).health == node_health::up);   // a usable reply
    CHECK(observe(prev, connected(5, 10, 0)).health == node_health::unknown);  // nothing new

    auto refused = connected(5, 10, 2);
    refused.rpc.last_error = node::rpc_error{node::node_errc::unauthorized, 0, "HTTP status 401"}.to_string();
    o = observe(prev, refused);
    CHECK(o.health == node_health::unauthorized);
    CHECK(o.problem == "node refused the RPC credentials: HTTP status 401");

    // Other failures (an RPC error, a timeout) are not this watch's to judge.
    auto failing = connected(5, 10, 1);
    failing.rpc.last_error = node::rpc_error{node::node_errc::timeout, 0, "no reply"}.to_string();
    CHECK(observe(prev, failing).health == node_health::unknown);
    // A 401 text left from earlier does not count when calls succeed again.
    auto recovered = connected(5, 12, 2);
    recovered.rpc.last_error = refused.rpc.last_error;
    CHECK(observe(refused, recovered).health == node_health::up);
}

TEST_CASE("alerts node watch: the tracker posts changes only, and up only after a problem") {
    node_tracker t("btc", "http://127.0.0.1:8332");
    CHECK_FALSE(t.update({node_health::up, {}}).has_value());  // the first contact: nothing to say
    CHECK_FALSE(t.update({node_health::unknown, {}}).has_value());
    auto e = t.update({node_health::down, "Connection refused"});
    REQUIRE(e.has_value());
    CHECK(e->kind == event_kind::node_down);
    CHECK(e->chain == "btc");
    CHECK(e->subject == "http://127.0.0.1:8332");
    CHECK(e->text == "http://127.0.0.1:8332 is down: Connection refused");
    CHECK_FALSE(t.update({node_health::down, "Connection refused"}).has_value());
    CHECK_FALSE(t.update({node_health::unknown, {}}).has_value());
    e = t.update({node_health::unauthorized, "node refused the RPC credentials: HTTP status 401"});
    REQUIRE(e.has_value());
    CHECK(e->kind == event_kind::node_unauthorized);
    e = t.update({node_health::up, {}});
    REQUIRE(e.has_value());
    CHECK(e->kind == event_kind::node_up);
    CHECK(e->text == "http://127.0.0.1:8332 answers again");
}

TEST_CASE("alerts node watch: a node down from the start is reported") {
    node_tracker t("btc", "http://127.0.0.1:8332");
    auto e = t.update({node_health::down, "cannot connect"});
    REQUIRE(e.has_value());
    CHECK(e->kind == event_kind::node_down);
}
