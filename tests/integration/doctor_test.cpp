// `solobridge doctor` against a real bcoin regtest node: a good setup passes every check
// and the fire drill (a block from a live template with our coinbase, proposed with
// getblocktemplate mode "proposal"); broken setups fail with the right line and its fix,
// and the binary exits 2. bcoin 1.0.2 checks proposals without proof of work
// (lib/node/rpc.js getBlockTemplate → chain.verifyBlock with VERIFY_POW off): the drill
// header misses the target on purpose, so a passing drill shows that, and a tampered
// block shows that the node's verdict decides the drill's line.
#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "child_process.hpp"
#include "doctor/doctor.hpp"
#include "regtest_node.hpp"
#include "sb/config/config.hpp"

using namespace sb;
namespace doctor = sb::bridge::doctor;

namespace {

constexpr const char* regtest_payout = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080";
constexpr const char* testnet_payout = "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx";

// The pieces of a one-chain config that the cases vary.
struct setup {
    std::string network = "bitcoin-regtest";
    std::string payout = regtest_payout;
    std::string rpc_url;
    std::string auth;  // JSON members that authenticate the node
    std::string stratum_listen;
    std::string http_listen;
    std::string data_dir;
    std::string devices = "[]";  // JSON array of the chain's devices

    explicit setup(const test::regtest_node& n)
        : rpc_url(n.rpc_url()),
          auth(R"("rpc_user": "solobridge", "rpc_password": ")" + n.api_key() + "\""),
          stratum_listen("127.0.0.1:" + std::to_string(test::free_loopback_port())),
          http_listen("127.0.0.1:" + std::to_string(test::free_loopback_port())),
          data_dir(n.dir() + "/bridge-data") {}

    std::string json() const {
        return R"({ "data_dir": ")" + data_dir + R"(", "http": { "listen": ")" + http_listen + R"(" },
  "chains": [ { "id": "regtest", "network": ")" + network + R"(",
    "nodes": [ { "rpc_url": ")" + rpc_url + R"(", )" + auth + R"(, "rpc_timeout_ms": 30000 } ],
    "payout": { "address": ")" + payout + R"(" }, "coinbase_tag": "/doctor-test/",
    "stratum": [ { "listen": ")" + stratum_listen + R"(" } ], "devices": )" + devices + R"( } ] })";
    }

    config::settings settings() const {
        auto r = config::load_text(json(), "doctor-test.json");
        std::string errors;
        for (const auto& e : r.errors) errors += e.to_string() + "\n";
        REQUIRE_MESSAGE(r.value, errors);
        return *r.value;
    }
};

doctor::report examine(const setup& s, doctor::options o = {}) {
    o.reach_timeout = std::chrono::seconds(3);
    return doctor::examine(s.settings(), o);
}

std::string lines_of(const doctor::report& r) {
    std::string out;
    for (const auto& c : r.checks) out += doctor::format_check(c) + "\n";
    return out;
}

// The one check whose finding contains text.
const doctor::check& find_check(const doctor::report& r, const std::string& text) {
    const doctor::check* found = nullptr;
    for (const auto& c : r.checks)
        if (c.finding.find(text) != std::string::npos) {
            REQUIRE_MESSAGE(found == nullptr, "two checks say '" << text << "':\n" << lines_of(r));
            found = &c;
        }
    REQUIRE_MESSAGE(found != nullptr, "no check says '" << text << "':\n" << lines_of(r));
    return *found;
}

struct cli_result {
    int rc = -1;
    std::string output;
};

// `solobridge doctor FILE` on the setup written to a file, as a user runs it.
cli_result run_doctor(const test::regtest_node& n, const setup& s, const std::string& name) {
    const std::string path = n.dir() + "/" + name + ".json";
    std::ofstream(path) << s.json();
    test::child_process p({SB_SOLOBRIDGE_BIN, "doctor", path}, {}, n.dir() + "/" + name + ".log");
    const auto rc = p.wait_for_exit(std::chrono::seconds(120));
    REQUIRE_MESSAGE(rc.has_value(), "doctor did not finish:\n" << p.output());
    return {*rc, p.output()};
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Funds the node's wallet and puts three of its transactions in the mempool, after
// segwit activation (bcoin: height 432), so templates carry transactions and a witness
// commitment.
void mine_past_segwit_with_transactions(test::regtest_node& n) {
    const std::string wallet = n.wallet_address();
    n.generate(440, wallet);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    int sent = 0;
    while (sent < 3 && std::chrono::steady_clock::now() < deadline) {
        // The wallet indexes new blocks asynchronously: retry until it can spend.
        const std::string raw = n.rpc_raw(n.wallet_port(), "sendtoaddress", "[\"" + wallet + "\",1.25]");
        if (has(raw, "\"error\":null")) ++sent;
        else std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    REQUIRE_MESSAGE(sent == 3, "the regtest wallet could not send");
}

}  // namespace

TEST_CASE("doctor: a good setup passes every check and the fire drill, which leaves the node's chain alone") {
    test::regtest_node node;
    const setup good(node);

    // At genesis, before segwit: the binary says ready and exits 0.
    const cli_result cli = run_doctor(node, good, "good");
    INFO(cli.output);
    CHECK(cli.rc == 0);
    CHECK(has(cli.output, "fire drill passed"));
    CHECK(has(cli.output, "doctor: ready"));
    CHECK_FALSE(has(cli.output, "FAIL"));

    // After segwit, with transactions in the template.
    mine_past_segwit_with_transactions(node);
    const std::string tip = node.best_hash();
    const auto r = examine(good);
    INFO(lines_of(r));
    CHECK(r.ready());
    CHECK(r.count(doctor::outcome::fail) == 0);
    CHECK(r.count(doctor::outcome::warn) == 0);
    CHECK(r.count(doctor::outcome::skip) == 0);
    const auto& drill = find_check(r, "fire drill");
    CHECK(drill.result == doctor::outcome::ok);
    CHECK(has(drill.finding, "at height 441"));
    CHECK(has(drill.finding, "witness commitment"));
    CHECK(has(drill.finding, "3 transactions"));
    CHECK(has(drill.finding, "tag \"/doctor-test/\""));
    REQUIRE(r.drills.size() == 1);
    REQUIRE(r.drills[0].verdict.has_value());
    CHECK(r.drills[0].verdict->valid);
    // The node accepted a header that misses the target: it checked without proof of work.
    CHECK_FALSE(r.drills[0].header_meets_target);
    CHECK_FALSE(r.drills[0].tampered);
    // A proposal is not a submission: the tip did not move.
    CHECK(node.best_hash() == tip);

    CHECK(find_check(r, "getblocktemplate with rules").result == doctor::outcome::ok);
    CHECK(find_check(r, "network bitcoin-regtest").result == doctor::outcome::ok);
}

TEST_CASE("doctor: the fire drill fails with the node's reason when the node refuses the block") {
    test::regtest_node node;
    const setup good(node);
    struct row {
        const char* what;
        std::size_t offset;  // byte of the 80-byte header changed
        const char* reason;
    };
    // Header layout: version 0..3, prev 4..35, merkle root 36..67, time 68..71, bits 72..75.
    const row rows[] = {
        {"a merkle root that is not the transactions'", 36, "bad-txnmrklroot"},
        {"bits that are not the chain's", 74, "bad-diffbits"},
    };
    for (const auto& row : rows) {
        CAPTURE(row.what);
        doctor::options o;
        o.tamper_block = [&](bytes& block) { block.at(row.offset) ^= 0x01; };
        const auto r = examine(good, o);
        INFO(lines_of(r));
        CHECK_FALSE(r.ready());
        CHECK(r.count(doctor::outcome::fail) == 1);
        const auto& drill = find_check(r, "fire drill");
        CHECK(drill.result == doctor::outcome::fail);
        CHECK(has(drill.finding, std::string("refuses the block solobridge would submit: ") + row.reason));
        CHECK(has(drill.fix, "a block found now would be rejected"));
        REQUIRE(r.drills.size() == 1);
        CHECK(r.drills[0].tampered);
        REQUIRE(r.drills[0].verdict.has_value());
        CHECK_FALSE(r.drills[0].verdict->valid);
        CHECK(r.drills[0].verdict->reason == row.reason);
    }
    // The same node and config without the tamper: the drill passes.
    CHECK(examine(good).ready());
}

TEST_CASE("doctor: cookie files are checked for the user we run as, and a readable one authenticates") {
    test::regtest_node node;
    setup s(node);
    s.auth = R"("rpc_cookie_file": ")" + node.dir() + R"(/missing/.cookie")";
    {
        const cli_result cli = run_doctor(node, s, "missing-cookie");
        INFO(cli.output);
        CHECK(cli.rc == 2);
        CHECK(has(cli.output, "FAIL  [regtest] node " + node.rpc_url() + ": cookie file " + node.dir() +
                                  "/missing/.cookie does not exist; fix: start the node"));
        CHECK(has(cli.output, "refused the call (HTTP 401)"));
        CHECK(has(cli.output, "skip  [regtest] node " + node.rpc_url() + ": fire drill: not checked"));
        CHECK(has(cli.output, "doctor: NOT ready"));
    }
    // bcoin takes any user with its API key as the password: a cookie "user:key" works.
    const std::string cookie = node.dir() + "/.cookie";
    std::ofstream(cookie) << "__cookie__:" << node.api_key() << "\n";
    s.auth = R"("rpc_cookie_file": ")" + cookie + "\"";
    const auto r = examine(s);
    INFO(lines_of(r));
    CHECK(r.ready());
    CHECK(find_check(r, "cookie file " + cookie + " readable by user " + doctor::effective_user()).result ==
          doctor::outcome::ok);
    CHECK(find_check(r, "accepts the cookie").result == doctor::outcome::ok);

    // The file is read as the RPC client reads it: the first line of its first
    // max_cookie_bytes, whatever follows (the doctor used to refuse a file this long).
    std::ofstream(cookie) << "__cookie__:" << node.api_key() << "\r\n" << std::string(2000, 'x') << "\n";
    const auto long_file = examine(s);
    INFO(lines_of(long_file));
    CHECK(find_check(long_file, "cookie file " + cookie + " readable by user " + doctor::effective_user()).result ==
          doctor::outcome::ok);
    CHECK(find_check(long_file, "accepts the cookie").result == doctor::outcome::ok);
    // An empty password is refused before the node is asked.
    std::ofstream(cookie) << "__cookie__:\n";
    const auto empty_password = examine(s);
    INFO(lines_of(empty_password));
    CHECK(find_check(empty_password, "cookie file " + cookie + " holds no user:password line").result ==
          doctor::outcome::fail);

    // A cookie of another run is refused by the node.
    std::ofstream(cookie) << "__cookie__:not-the-key\n";
    const auto stale = examine(s);
    INFO(lines_of(stale));
    CHECK(find_check(stale, "refused the cookie in " + cookie + " (HTTP 401)").result == doctor::outcome::fail);
}

TEST_CASE("doctor: devices are opened with their self-test, and data_dir and listeners are checked on this machine") {
    test::regtest_node node;
    setup s(node);
    s.devices = R"([ { "id": "cpu" }, { "id": "opencl:999" } ])";
    // A name the config cannot decide offline: it resolves to 127.0.0.1 here or not.
    const std::string port = s.stratum_listen.substr(s.stratum_listen.rfind(':') + 1);
    s.stratum_listen = "localhost:" + port;
    s.http_listen = "127.0.0.1:" + port;
    s.data_dir = node.dir() + "/a-file";
    std::ofstream(s.data_dir) << "not a directory\n";

    const auto r = examine(s);
    INFO(lines_of(r));
    CHECK_FALSE(r.ready());
    CHECK(find_check(r, "opened (").result == doctor::outcome::ok);
    CHECK(find_check(r, "self-test passed").result == doctor::outcome::ok);
    const auto& missing = find_check(r, "cannot be used");
    CHECK(missing.result == doctor::outcome::fail);
    CHECK(missing.subject == "[regtest] device opencl:999");
    CHECK(has(missing.fix, "`solobridge devices` lists this machine's devices"));
    const auto& dir = find_check(r, "exists but is not a directory");
    CHECK(dir.result == doctor::outcome::fail);

    // Bound as the Stratum server binds it: the first address "localhost" resolves to.
    boost::asio::io_context io;
    boost::system::error_code ec;
    const auto resolved = boost::asio::ip::tcp::resolver(io).resolve(
        "localhost", port, boost::asio::ip::tcp::resolver::passive | boost::asio::ip::tcp::resolver::numeric_service, ec);
    REQUIRE_FALSE(ec);
    if (resolved.begin()->endpoint().address() == boost::asio::ip::make_address("127.0.0.1")) {
        const auto& taken = find_check(r, "already taken by the stratum listener localhost:" + port);
        CHECK(taken.result == doctor::outcome::fail);
        CHECK(taken.subject == "http 127.0.0.1:" + port);
    } else {
        CHECK(r.count(doctor::outcome::fail) == 2);
    }
    // The node checks ran beside the local failures.
    CHECK(find_check(r, "fire drill passed").result == doctor::outcome::ok);
}

TEST_CASE("doctor: broken setups fail with their fix and exit 2") {
    test::regtest_node node;

    SUBCASE("wrong password") {
        setup s(node);
        s.auth = R"("rpc_user": "solobridge", "rpc_password": "not-the-key")";
        const cli_result cli = run_doctor(node, s, "wrong-password");
        INFO(cli.output);
        CHECK(cli.rc == 2);
        CHECK(has(cli.output, "FAIL  [regtest] node " + node.rpc_url() +
                                  ": refused rpc_user/rpc_password (HTTP 401); fix: check rpc_password"));
    }
    SUBCASE("node on another network") {
        setup s(node);
        s.network = "bitcoin-testnet4";
        s.payout = testnet_payout;
        const cli_result cli = run_doctor(node, s, "wrong-network");
        INFO(cli.output);
        CHECK(cli.rc == 2);
        CHECK(has(cli.output, "is on chain \"regtest\", but this chain is bitcoin-testnet4 (chain \"testnet4\"); fix: "
                              "point rpc_url at a bitcoin-testnet4 node"));
        CHECK(has(cli.output, "fire drill: not checked"));
    }
    SUBCASE("node not running") {
        setup s(node);
        s.rpc_url = "http://127.0.0.1:" + std::to_string(test::free_loopback_port());
        const cli_result cli = run_doctor(node, s, "no-node");
        INFO(cli.output);
        CHECK(cli.rc == 2);
        CHECK(has(cli.output, ": not reachable: cannot connect to"));
        CHECK(has(cli.output, "fix: start the node, or correct rpc_url"));
    }
    SUBCASE("Stratum port taken by another program") {
        setup s(node);
        boost::asio::io_context io;
        const auto port = static_cast<std::uint16_t>(std::stoi(s.stratum_listen.substr(s.stratum_listen.rfind(':') + 1)));
        // Another program on every address: it takes 127.0.0.1 too.
        boost::asio::ip::tcp::acceptor other(io, {boost::asio::ip::address_v4::any(), port});
        const cli_result cli = run_doctor(node, s, "port-in-use");
        INFO(cli.output);
        CHECK(cli.rc == 2);
        CHECK(has(cli.output, "FAIL  [regtest] stratum " + s.stratum_listen +
                                  ": address already in use: another program listens on port " + std::to_string(port)));
        // The nodes are still checked: everything else holds.
        CHECK(has(cli.output, "fire drill passed"));
        CHECK(has(cli.output, "doctor: NOT ready: 1 check failed"));
    }
    SUBCASE("payout address of another network") {
        setup s(node);
        s.payout = testnet_payout;
        const cli_result cli = run_doctor(node, s, "wrong-payout");
        INFO(cli.output);
        CHECK(cli.rc == 2);
        CHECK(has(cli.output, "FAIL  config: "));
        CHECK(has(cli.output, std::string("\"") + testnet_payout + "\" is not a valid bitcoin-regtest address"));
    }
    SUBCASE("two listeners overlapping through a wildcard") {
        setup s(node);
        s.http_listen = "0.0.0.0:" + s.stratum_listen.substr(s.stratum_listen.rfind(':') + 1);
        const cli_result cli = run_doctor(node, s, "overlap");
        INFO(cli.output);
        CHECK(cli.rc == 2);
        CHECK(has(cli.output, "overlaps http.listen (" + s.http_listen + ")"));
    }
}
