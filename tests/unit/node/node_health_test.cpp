// Node health against the scripted node: every failure an operator meets (wrong password,
// missing or unreadable cookie, node down, still starting or syncing, no peers, another
// network) shows in the template source's state from the first call that meets it, is
// logged once with what to do, and leaves no stale text once the node recovers; the RPC
// client's own texts and link epochs; several nodes, templates from the first healthy one.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>
#include <pwd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "fake_node.hpp"
#include "rpc_helpers.hpp"
#include "sb/core/hex.hpp"
#include "sb/node/node_health.hpp"
#include "sb/node/template_failover.hpp"
#include "sb/node/template_source.hpp"

using namespace sb::node;
using namespace std::chrono_literals;
using sb::test::answer_result;
using sb::test::chain_info;
using sb::test::fake_action;
using sb::test::fake_node;
using sb::test::fake_request;
using sb::test::io_runner;

namespace {

bool is_longpoll(const fake_request& r) { return r.params_json.find("\"longpollid\"") != std::string::npos; }

std::string genesis_of(sb::network net) { return sb::to_hex_reversed(sb::params(net).genesis_hash); }

// A node whose every answer the test can change while it runs: the Authorization it
// accepts (empty: any), what it says about its chain, an RPC error for getblocktemplate,
// and its height (each height's template has its own longpollid; longpolls are held until
// the height changes). It can be stopped and started again on the same port.
struct scripted_node {
    struct behaviour {
        std::string accept_auth;  // the Authorization header it accepts; empty: any
        chain_info chain;
        int gbt_error = 0;  // answer getblocktemplate with this JSON-RPC error when non-zero
        std::string gbt_error_message;
        int height = 1;
    };

    mutable std::mutex mu;
    behaviour b;
    std::unique_ptr<fake_node> node;
    std::uint16_t port = 0;

    scripted_node() { start(); }

    void start() {
        node = std::make_unique<fake_node>([this](const fake_request& r) { return answer(r); }, port);
        port = node->port();
    }
    void stop() { node.reset(); }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/"; }

    template <class F>
    void change(F&& f) {
        std::lock_guard lock(mu);
        f(b);
    }
    // A new block: held longpolls answer with the next height's template.
    void mine() {
        int h = 0;
        change([&](behaviour& x) { h = ++x.height; });
        if (node) node->release_held([h](const fake_request& r) { return answer_result(r, template_json(h)); });
    }

    static std::string template_json(int h) { return sb::test::valid_template_json(h, "lp" + std::to_string(h)); }

    fake_action answer(const fake_request& r) {
        std::lock_guard lock(mu);
        if (!b.accept_auth.empty() && r.authorization != b.accept_auth) return {sb::test::http_reply(401, "")};
        if (auto a = sb::test::answer_chain_check(r, b.chain)) return *a;
        if (r.method != "getblocktemplate") return {sb::test::http_reply(404, "")};
        if (b.gbt_error != 0)
            return {sb::test::http_reply(500, sb::test::rpc_error_body(r.id_json, b.gbt_error, b.gbt_error_message))};
        if (is_longpoll(r) && r.params_json.find("\"lp" + std::to_string(b.height) + "\"") != std::string::npos) {
            fake_action a;
            a.hold = true;
            return a;
        }
        return answer_result(r, template_json(b.height));
    }

    std::size_t count(std::string_view method) const {
        std::size_t n = 0;
        if (node)
            for (const auto& r : node->requests()) n += r.method == method ? 1 : 0;
        return n;
    }
};

rpc_settings settings_for(const scripted_node& n, std::string user = "u", std::string password = "p") {
    rpc_settings s;
    s.url = n.url();
    s.user = std::move(user);
    s.password = std::move(password);
    s.timeout = 60s;  // far beyond every hang guard: a state seen in a test came before any deadline
    return s;
}

std::string basic(std::string_view user_colon_password) { return "Basic " + base64_encode(user_colon_password); }

// What a test observes of a source: its log lines, its states in order, templates.
struct observed {
    std::mutex mu;
    std::vector<std::string> lines;
    std::vector<node_state> states;
    std::vector<int> heights;
    // rpc.calls_failed of the source when its state first left `connecting`.
    std::optional<std::uint64_t> failed_calls_at_first_state;

    std::vector<std::string> log() {
        std::lock_guard lock(mu);
        return lines;
    }
    std::size_t lines_with(std::string_view text) {
        std::lock_guard lock(mu);
        std::size_t n = 0;
        for (const auto& l : lines) n += l.find(text) != std::string::npos ? 1 : 0;
        return n;
    }
};

template_source_options watched_options(observed& o) {
    template_source_options t;
    t.refresh = 0ms;
    t.retry_initial = 20ms;
    t.retry_max = 100ms;
    t.client = sb::test::fast_options();
    t.log = [&o](std::string_view l) {
        std::lock_guard lock(o.mu);
        o.lines.emplace_back(l);
    };
    t.on_state = [&o](node_state s, const std::string&) {
        std::lock_guard lock(o.mu);
        o.states.push_back(s);
    };
    return t;
}

template_source::template_handler recording(observed& o) {
    return [&o](std::shared_ptr<const block_template> t, template_reason) {
        std::lock_guard lock(o.mu);
        o.heights.push_back(static_cast<int>(t->height));
        return template_use::used;
    };
}

bool recovered(const template_source& src) {
    const auto st = src.status();
    return st.state == node_state::connected && st.templates > 0 && st.last_error.empty() &&
           st.rpc.last_error.empty();
}

// Temporary file, removed at the end of the test.
struct temp_file {
    std::filesystem::path path;
    explicit temp_file(std::string_view tag) {
        static int counter = 0;
        path = std::filesystem::temp_directory_path() /
               ("sb_node_health_" + std::string(tag) + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        std::filesystem::remove(path);
    }
    ~temp_file() {
        std::error_code ec;
        std::filesystem::remove(path, ec);
    }
    void write(std::string_view text) const {
        std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    }
};

std::string user_name(uid_t uid) {
    passwd* pw = ::getpwuid(uid);
    return pw && pw->pw_name ? pw->pw_name : "";
}

}  // namespace

// ---- pure classification --------------------------------------------------------------

TEST_CASE("node health: call failures map to states with what to do") {
    struct row {
        rpc_error e;
        node_state want;
        std::string_view text;
    };
    const row rows[] = {
        {{node_errc::connect_failed, 0, "cannot connect to 127.0.0.1:8332: Connection refused"}, node_state::down,
         "Connection refused"},
        {{node_errc::connection_lost, 0, "end of stream"}, node_state::down, "end of stream"},
        {{node_errc::timeout, 0, "no reply within 30000 ms"}, node_state::down, "rpc_timeout_ms"},
        {{node_errc::unauthorized, 0, "HTTP 401: check rpc_password"}, node_state::unauthorized, "check rpc_password"},
        {{node_errc::rpc_error, -28, "Loading block index..."}, node_state::starting, "still starting (Loading block index"},
        {{node_errc::rpc_error, -10, "Bitcoin Core is in initial sync and waiting for blocks..."}, node_state::syncing,
         "node is still syncing (initial block download"},
        {{node_errc::rpc_error, -9, "Bitcoin Core is not connected!"}, node_state::no_peers, "node has no peers"},
        {{node_errc::rpc_error, -8, "getblocktemplate must be called with the segwit rule set"}, node_state::failing,
         "segwit rule"},
        {{node_errc::bad_json, 0, "offset 3"}, node_state::failing, "offset 3"},
    };
    for (const auto& r : rows) {
        const auto p = classify_failure("getblocktemplate", r.e);
        CAPTURE(r.e.to_string());
        CHECK(p.state == r.want);
        CHECK(p.text.starts_with("getblocktemplate: "));
        CHECK(p.text.find(r.text) != std::string::npos);
    }
}

TEST_CASE("node health: the chain check wants the configured genesis and a synced node except on regtest") {
    blockchain_info info;
    info.chain = "main";
    info.blocks = 900000;
    const auto& mainnet = sb::params(sb::network::bitcoin_mainnet);
    CHECK_FALSE(check_chain(info, genesis_of(sb::network::bitcoin_mainnet), mainnet));
    // Ravencoin mainnet also says "main": only the genesis tells them apart.
    const auto raven = check_chain(info, genesis_of(sb::network::ravencoin_mainnet), mainnet);
    REQUIRE(raven);
    CHECK(raven->state == node_state::wrong_chain);
    CHECK(raven->text.find("node is on network 'main'") != std::string::npos);
    CHECK(raven->text.find("config says bitcoin-mainnet") != std::string::npos);

    info.initialblockdownload = true;
    const auto ibd = check_chain(info, genesis_of(sb::network::bitcoin_mainnet), mainnet);
    REQUIRE(ibd);
    CHECK(ibd->state == node_state::syncing);
    CHECK(ibd->text.find("initial block download") != std::string::npos);
    // A fresh regtest chain is "in initial download" until its first block; mining it is the point.
    info.chain = "regtest";
    CHECK_FALSE(check_chain(info, sb::test::regtest_genesis_hex, sb::params(sb::network::bitcoin_regtest)));
    CHECK(genesis_of(sb::network::bitcoin_regtest) == sb::test::regtest_genesis_hex);
}

// ---- the RPC client's own texts and epochs ---------------------------------------------

TEST_CASE("rpc health: a refused connect says to check server=1 and rpcbind and marks the link down at once") {
    std::uint16_t port = 0;
    {
        fake_node probe([](const fake_request&) { return fake_action{}; });
        port = probe.port();
    }
    io_runner io;
    rpc_settings s;
    s.url = "http://127.0.0.1:" + std::to_string(port) + "/";
    s.timeout = 60s;
    std::vector<std::string> failures;
    auto o = sb::test::fast_options();
    o.on_connect_failed = [&](const std::string& what) { failures.push_back(what); };
    rpc_client client(io.executor(), s, o);
    client.call({"getblockchaininfo", "[]"}, [](rpc_reply) {});
    REQUIRE(io.run_until([&] { return !failures.empty(); }));
    const auto st = client.status();
    CHECK(st.state == link_state::down);
    CHECK(st.calls_failed == 0);  // the call still waits for the node
    CHECK(failures[0].find("Connection refused") != std::string::npos);
    CHECK(failures[0].find("server=1") != std::string::npos);
    CHECK(failures[0].find("rpcbind/rpcport") != std::string::npos);
    CHECK(st.last_error == failures[0]);
    client.close();
    io.run_for(20ms);
}

TEST_CASE("rpc health: HTTP 403 names rpcallowip and 401 without credentials says to configure them") {
    fake_node node([](const fake_request& r) {
        return fake_action{sb::test::http_reply(r.method == "forbidden" ? 403 : 401, "")};
    });
    io_runner io;
    rpc_settings s;
    s.url = node.url();
    rpc_client client(io.executor(), s, sb::test::fast_options());
    const auto forbidden = sb::test::call_and_wait(io, client, {"forbidden", "[]"});
    CHECK(forbidden.error.code == node_errc::unauthorized);
    CHECK(forbidden.error.message.find("rpcallowip") != std::string::npos);
    CHECK(client.status().state == link_state::unauthorized);
    const auto none = sb::test::call_and_wait(io, client, {"getblockchaininfo", "[]"});
    CHECK(none.error.message.find("no credentials configured") != std::string::npos);
}

TEST_CASE("rpc health: the link epoch moves after a lost connection and not after Connection close") {
    std::atomic<bool> close_next{false};
    auto node = std::make_unique<fake_node>([&](const fake_request& r) {
        auto a = answer_result(r, "1");
        if (close_next.exchange(false)) {
            a.raw = sb::test::http_reply(200, sb::test::rpc_result_body(r.id_json, "1"), "Connection: close\r\n");
            a.close_after = true;
        }
        return a;
    });
    const auto port = node->port();
    io_runner io;
    rpc_settings s;
    s.url = node->url();
    rpc_client client(io.executor(), s, sb::test::fast_options());
    CHECK(sb::test::call_and_wait(io, client, {"a", "[]"}).ok());
    CHECK(client.status().link_epoch == 1);
    close_next = true;
    CHECK(sb::test::call_and_wait(io, client, {"b", "[]"}).ok());
    CHECK(sb::test::call_and_wait(io, client, {"c", "[]"}).ok());
    CHECK(client.status().link_epoch == 1);  // the node said it would close: same node
    CHECK(node->connection_count() == 2);

    node.reset();  // killed, then back on the same port
    node = std::make_unique<fake_node>([](const fake_request& r) { return answer_result(r, "2"); }, port);
    CHECK(sb::test::call_and_wait(io, client, {"d", "[]"}).ok());
    CHECK(client.status().link_epoch == 2);
}

// ---- one node: each failure from the first call, logged once, recovery clears it ------

TEST_CASE("node health: a wrong password is unauthorized from the first call and logged once and cleared when fixed") {
    scripted_node n;
    n.change([](auto& b) { b.accept_auth = basic("u:right"); });
    io_runner io;
    observed o;
    template_source src(io.executor(), settings_for(n, "u", "wrong"), watched_options(o), recording(o));
    src.start();
    REQUIRE(io.run_until([&] { return src.status().state == node_state::unauthorized; }));
    CHECK(n.node->request_count() == 1);  // the first call showed it
    // Retried, still refused: one line for the whole episode.
    REQUIRE(io.run_until([&] { return n.node->request_count() >= 5; }));
    auto st = src.status();
    CHECK(st.state == node_state::unauthorized);
    CHECK(st.templates == 0);
    CHECK(st.last_error.find("check rpc_password") != std::string::npos);
    CHECK(st.last_error.find("wrong") == std::string::npos);  // never the password itself
    CHECK(o.lines_with("unauthorized") == 1);
    CHECK(o.lines_with("check rpc_password") == 1);

    n.change([](auto& b) { b.accept_auth = basic("u:wrong"); });  // the node's config now matches
    REQUIRE(io.run_until([&] { return recovered(src); }));
    CHECK(o.lines_with("connected again") == 1);
    CHECK(src.status().rpc.state == link_state::connected);
    CHECK(o.heights == std::vector<int>{1});
}

TEST_CASE("node health: a missing cookie file is unauthorized with the path and the file written later is used") {
    scripted_node n;
    n.change([](auto& b) { b.accept_auth = basic("__cookie__:abc"); });
    temp_file cookie("missing");
    io_runner io;
    observed o;
    auto rpc = settings_for(n, "", "");
    rpc.cookie_file = cookie.path.string();
    template_source src(io.executor(), rpc, watched_options(o), recording(o));
    src.start();
    REQUIRE(io.run_until([&] { return src.status().state == node_state::unauthorized; }));
    CHECK(n.node->request_count() <= 2);  // the first call (sent once more after re-reading the cookie)
    const auto st = src.status();
    CHECK(st.last_error.find("cookie file " + cookie.path.string() + " does not exist") != std::string::npos);
    CHECK(o.lines_with("does not exist") == 1);

    cookie.write("__cookie__:abc\n");  // the node started and wrote it
    REQUIRE(io.run_until([&] { return recovered(src); }));
    CHECK(o.lines_with("connected again") == 1);
}

TEST_CASE("node health: an unreadable cookie names the file and the effective user") {
    scripted_node n;
    n.change([](auto& b) { b.accept_auth = basic("__cookie__:abc"); });
    temp_file cookie("unreadable");
    cookie.write("__cookie__:abc\n");
    ::chmod(cookie.path.c_str(), 0600);
    // Root reads any file: run the client as nobody for the test, as a service user would be.
    const bool root = ::geteuid() == 0;
    const uid_t as = root ? 65534 : ::geteuid();
    if (root && ::seteuid(as) != 0) {
        MESSAGE("cannot drop privileges to uid 65534: the unreadable-cookie case is not run");
        return;
    }
    struct restore_euid {
        bool root;
        ~restore_euid() {
            if (root && ::seteuid(0) != 0) std::abort();
        }
    } restore{root};
    if (!root) ::chmod(cookie.path.c_str(), 0);

    io_runner io;
    observed o;
    auto rpc = settings_for(n, "", "");
    rpc.cookie_file = cookie.path.string();
    template_source src(io.executor(), rpc, watched_options(o), recording(o));
    src.start();
    REQUIRE(io.run_until([&] { return src.status().state == node_state::unauthorized; }));
    const auto st = src.status();
    const std::string name = user_name(as);
    CAPTURE(st.last_error);
    CHECK(st.last_error.find("cookie file " + cookie.path.string() + " not readable by ") != std::string::npos);
    CHECK(st.last_error.find("(uid " + std::to_string(as) + ")") != std::string::npos);
    if (!name.empty()) CHECK(st.last_error.find("user " + name) != std::string::npos);
    CHECK(o.lines_with("not readable by") == 1);

    if (root) {
        if (::seteuid(0) != 0) std::abort();
        ::chmod(cookie.path.c_str(), 0644);
        if (::seteuid(as) != 0) std::abort();
    } else {
        ::chmod(cookie.path.c_str(), 0600);
    }
    REQUIRE(io.run_until([&] { return recovered(src); }));
    src.stop();
    io.run_for(20ms);
}

TEST_CASE("node health: a cookie rewritten by a restarted node is read again on the 401 without leaving connected") {
    scripted_node n;
    n.change([](auto& b) { b.accept_auth = basic("__cookie__:first"); });
    temp_file cookie("rewritten");
    cookie.write("__cookie__:first\n");
    io_runner io;
    observed o;
    auto rpc = settings_for(n, "", "");
    rpc.cookie_file = cookie.path.string();
    auto options = watched_options(o);
    template_source src(io.executor(), rpc, options, recording(o));
    src.start();
    REQUIRE(io.run_until([&] { return src.status().templates == 1 && n.node->held_count() == 1; }));

    // The node restarts with a new cookie; the bridge still holds the old one.
    n.change([](auto& b) { b.accept_auth = basic("__cookie__:second"); });
    cookie.write("__cookie__:second\n");
    src.notify_new_tip();
    REQUIRE(io.run_until([&] { return src.status().templates == 2; }));
    CHECK(src.status().state == node_state::connected);
    CHECK(o.lines_with("unauthorized") == 0);
    CHECK(src.status().rpc.last_error.empty());
}

TEST_CASE("node health: a node that stops is down from its first refused connect before any deadline and back when it returns") {
    scripted_node n;
    io_runner io;
    observed o;
    template_source src(io.executor(), settings_for(n), watched_options(o), recording(o));
    src.start();
    REQUIRE(io.run_until([&] { return src.status().templates == 1 && n.node->held_count() == 1; }));
    CHECK(src.status().state == node_state::connected);

    n.stop();
    // Every call waits 60 s for the node: a down state within the hang guard came from the
    // refused connects, while no call had failed.
    REQUIRE(io.run_until([&] { return src.status().state == node_state::down; }, 20s));
    auto st = src.status();
    CHECK(st.rpc.calls_failed + st.longpoll_rpc.calls_failed == 0);
    CHECK(st.last_error.find("Connection refused") != std::string::npos);
    CHECK(st.last_error.find("server=1") != std::string::npos);
    io.run_for(300ms);  // many refused retries
    CHECK(o.lines_with(": down: ") == 1);

    n.mine();
    n.start();  // back on the same port, one block further
    REQUIRE(io.run_until([&] { return recovered(src) && !o.heights.empty() && o.heights.back() == 2; }));
    CHECK(o.lines_with("connected again after") == 1);
    // The longpoll's own connection comes back within its back-off, its error gone too.
    CHECK(io.run_until([&] { return src.status().longpoll_rpc.last_error.empty(); }));
}

TEST_CASE("node health: a node still starting syncing or without peers is reported so and used once ready") {
    struct row {
        int code;
        const char* message;
        node_state want;
        const char* line;
    };
    const row rows[] = {
        {-28, "Loading block index...", node_state::starting, "still starting"},
        {-10, "Bitcoin Core is in initial sync and waiting for blocks...", node_state::syncing,
         "node is still syncing (initial block download"},
        {-9, "Bitcoin Core is not connected!", node_state::no_peers, "node has no peers"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.message);
        scripted_node n;
        n.change([&](auto& b) {
            b.gbt_error = r.code;
            b.gbt_error_message = r.message;
        });
        io_runner io;
        observed o;
        template_source src(io.executor(), settings_for(n), watched_options(o), recording(o));
        src.start();
        REQUIRE(io.run_until([&] { return src.status().state != node_state::connecting; }));
        CHECK(src.status().state == r.want);
        CHECK(n.count("getblocktemplate") == 1);  // from the first getblocktemplate
        REQUIRE(io.run_until([&] { return n.count("getblocktemplate") >= 4; }));
        CHECK(o.lines_with(r.line) == 1);
        CHECK(src.status().templates == 0);
        n.change([](auto& b) { b.gbt_error = 0; });
        REQUIRE(io.run_until([&] { return recovered(src); }));
        CHECK(o.lines_with("connected again") == 1);
    }
}

TEST_CASE("node health: initialblockdownload on a public network is syncing before any template is asked for") {
    scripted_node n;
    n.change([](auto& b) {
        b.chain = {"signet", genesis_of(sb::network::bitcoin_signet), true, 1000};
    });
    io_runner io;
    observed o;
    auto options = watched_options(o);
    options.net = sb::network::bitcoin_signet;
    template_source src(io.executor(), settings_for(n), options, recording(o));
    src.start();
    REQUIRE(io.run_until([&] { return src.status().state == node_state::syncing; }));
    CHECK(n.count("getblocktemplate") == 0);
    CHECK(src.status().last_error.find("initial block download, height 1000") != std::string::npos);
    n.change([](auto& b) { b.chain.initial_download = false; });
    // The signet template answer: the scripted node's regtest bits do not fit signet.
    n.node->set_script([](const fake_request& r) {
        if (auto a = sb::test::answer_chain_check(r, {"signet", genesis_of(sb::network::bitcoin_signet)})) return *a;
        if (is_longpoll(r)) {
            fake_action a;
            a.hold = true;
            return a;
        }
        return answer_result(r, sb::test::valid_template_json(5, "s5", true));
    });
    REQUIRE(io.run_until([&] { return recovered(src); }));
    CHECK(o.heights == std::vector<int>{5});
}

TEST_CASE("node health: a node on another network never supplies a template and is logged as wrong_chain") {
    scripted_node n;
    n.change([](auto& b) { b.chain = {"test", genesis_of(sb::network::bitcoin_testnet3)}; });
    io_runner io;
    observed o;
    template_source src(io.executor(), settings_for(n), watched_options(o), recording(o));
    src.start();
    REQUIRE(io.run_until([&] { return src.status().state == node_state::wrong_chain; }));
    REQUIRE(io.run_until([&] { return n.count("getblockhash") >= 4; }));
    CHECK(n.count("getblocktemplate") == 0);
    CHECK(src.status().templates == 0);
    CHECK(o.lines_with("wrong_chain: node is on network 'test'") == 1);
    CHECK(o.lines_with("config says bitcoin-regtest") == 1);
    n.change([](auto& b) { b.chain = {}; });  // pointed at the right node
    REQUIRE(io.run_until([&] { return recovered(src); }));
}

TEST_CASE("node health: a node replaced on the same address by one of another network is checked before its template is used") {
    scripted_node n;
    io_runner io;
    observed o;
    template_source src(io.executor(), settings_for(n), watched_options(o), recording(o));
    src.start();
    REQUIRE(io.run_until([&] { return src.status().templates == 1 && n.node->held_count() == 1; }));

    n.stop();
    n.change([](auto& b) {
        b.chain = {"test", genesis_of(sb::network::bitcoin_testnet3)};
        b.height = 7;  // its templates would parse: only the chain check can refuse them
    });
    n.start();
    REQUIRE(io.run_until([&] { return src.status().state == node_state::wrong_chain; }));
    io.run_for(300ms);
    CHECK(o.heights == std::vector<int>{1});
    CHECK(src.status().templates == 1);
}

// ---- several nodes ----------------------------------------------------------------------

TEST_CASE("node failover: templates come from the first healthy node and move to the second and back") {
    scripted_node a, b;
    b.change([](auto& x) { x.height = 50; });  // tells b's templates apart
    io_runner io;
    observed o;
    auto options = watched_options(o);
    template_failover f(io.executor(), {settings_for(a), settings_for(b)}, options, recording(o));
    f.start();
    // Whichever node answers first at start, the first in config order takes over.
    REQUIRE(io.run_until([&] {
        return f.active_node() == 0 && !o.heights.empty() && o.heights.back() == 1 && f.status().nodes[1].templates > 0 &&
               b.node->held_count() == 1;
    }));
    // The standby's templates are dropped.
    const auto used = o.heights.size();
    const auto b_templates = f.status().nodes[1].templates;
    b.mine();
    REQUIRE(io.run_until([&] { return f.status().nodes[1].templates > b_templates; }));
    CHECK(o.heights.size() == used);

    // a stops: b takes over at once, with a fresh template.
    a.stop();
    REQUIRE(io.run_until([&] { return o.heights.back() == 51; }));
    CHECK(f.active_node() == 1);
    const auto st = f.status();
    CHECK(st.nodes[0].state == node_state::down);
    CHECK(st.nodes[1].state == node_state::connected);
    CHECK(o.lines_with("templates now from node " + b.url() + " (node " + a.url() + " is down)") == 1);
    CHECK(f.may_supply());

    b.mine();  // b's longpoll: its next template is used
    REQUIRE(io.run_until([&] { return o.heights.back() == 52; }));

    // a is back, one block further: its templates are used again.
    a.change([](auto& x) { x.height = 2; });
    a.start();
    REQUIRE(io.run_until([&] { return f.active_node() == 0 && o.heights.back() == 2; }));
    const auto lines = o.log();
    std::string last_switch;
    for (const auto& l : lines)
        if (l.starts_with("templates now from")) last_switch = l;
    CHECK(last_switch.starts_with("templates now from node " + a.url() + " (connected, and before " + b.url()));
    f.stop();
    io.run_for(20ms);
}

TEST_CASE("node failover: a node on another network or syncing is never used and no node left means no template") {
    scripted_node wrong, syncing;
    wrong.change([](auto& x) {
        x.chain = {"test", genesis_of(sb::network::bitcoin_testnet3)};
        x.height = 9;
    });
    syncing.change([](auto& x) {
        x.gbt_error = -10;
        x.gbt_error_message = "Bitcoin Core is in initial sync and waiting for blocks...";
        x.height = 30;
    });
    io_runner io;
    observed o;
    template_failover f(io.executor(), {settings_for(wrong), settings_for(syncing)}, watched_options(o),
                        recording(o));
    f.start();
    REQUIRE(io.run_until([&] {
        const auto st = f.status();
        return st.nodes[0].state == node_state::wrong_chain && st.nodes[1].state == node_state::syncing;
    }));
    io.run_for(200ms);
    CHECK(o.heights.empty());
    CHECK_FALSE(f.active_node());
    CHECK_FALSE(f.may_supply());

    syncing.change([](auto& x) { x.gbt_error = 0; });  // caught up
    REQUIRE(io.run_until([&] { return !o.heights.empty(); }));
    CHECK(o.heights.front() == 30);
    CHECK(f.active_node() == 1);
    f.stop();
    io.run_for(20ms);
}
