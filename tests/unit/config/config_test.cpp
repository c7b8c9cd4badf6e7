#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include "sb/config/config.hpp"

using namespace sb;
using namespace sb::config;

namespace {

const std::string examples = std::string(SB_SOURCE_DIR) + "/config/examples/";

// A valid regtest configuration to start mutating from.
const char* minimal = R"({
  "chains": [ {
    "network": "bitcoin-regtest",
    "nodes": [ { "rpc_url": "http://127.0.0.1:18443", "rpc_user": "u", "rpc_password": "p" } ],
    "payout": { "address": "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080" },
    "stratum": [ { "listen": "127.0.0.1:3333" } ]
  } ]
})";

std::string errors_of(const load_result& r) {
    std::string s;
    for (const auto& e : r.errors) s += e.to_string() + "\n";
    return s;
}

// The single error of r, or a failed check.
config_error only_error(const load_result& r) {
    REQUIRE_MESSAGE(r.errors.size() == 1, errors_of(r));
    CHECK(!r.value);
    return r.errors[0];
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
    const auto pos = s.find(from);
    REQUIRE_MESSAGE(pos != std::string::npos, from);
    return s.replace(pos, from.size(), to);
}

}  // namespace

TEST_CASE("config: every example file is valid once its payout placeholder is replaced") {
    for (const char* name : {"regtest-bcoin.json", "ravencoin-mainnet.json"}) {
        CAPTURE(name);
        auto r = load_file(examples + name);
        CHECK_MESSAGE(r.errors.empty(), errors_of(r));
        CHECK(r.value);
    }
    // A newcomer who forgets to edit the mainnet example is stopped, not mining for a stranger.
    const config_error e = only_error(load_file(examples + "bitcoin-mainnet.json"));
    CHECK(e.path == "chains[0].payout.address");
    CHECK(e.message.starts_with("replace with your own payout address"));
    CHECK(e.at.line > 0);
    const override_value own{"chains[0].payout.address", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
                             "command line --payout-address"};
    auto r = load_file(examples + "bitcoin-mainnet.json", {own});
    REQUIRE_MESSAGE(r.value, errors_of(r));
    CHECK(r.value->chains[0].payout.address == "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4");
}

TEST_CASE("config: the payout placeholder and an earlier example's address are refused in either payout mode") {
    const std::string regtest_address = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080";
    config_error e = only_error(load_text(replace(minimal, regtest_address, std::string(payout_address_placeholder)), "t.json"));
    CHECK(e.path == "chains[0].payout.address");
    CHECK(e.message.find("replace with your own payout address") == 0);
    CHECK(e.message.find("placeholder") != std::string::npos);

    e = only_error(load_text(replace(replace(minimal, regtest_address, std::string(payout_address_placeholder)),
                                     R"({ "address")", R"({ "mode": "address-username", "address")"),
                             "t.json"));
    CHECK(e.path == "chains[0].payout.address");
    CHECK(e.message.find("replace with your own payout address") == 0);

    // The address bitcoin-mainnet.json carried before: someone else's, valid on mainnet.
    const std::string mainnet = replace(minimal, "bitcoin-regtest", "bitcoin-mainnet");
    e = only_error(load_text(replace(mainnet, regtest_address, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"), "t.json"));
    CHECK(e.path == "chains[0].payout.address");
    CHECK(e.message.find("replace with your own payout address") == 0);
    CHECK(e.message.find("earlier example") != std::string::npos);
    // Any other valid mainnet address is the user's own business.
    CHECK(load_text(replace(mainnet, regtest_address, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"), "t.json").value);
}

TEST_CASE("config: zmq_hashblock is refused, not accepted and ignored") {
    const config_error e = only_error(load_text(
        replace(minimal, R"("rpc_password": "p")", R"("rpc_password": "p", "zmq_hashblock": "tcp://127.0.0.1:28332")"),
        "t.json"));
    CHECK(e.path == "chains[0].nodes[0].zmq_hashblock");
    CHECK(e.message.starts_with("zmq_hashblock is not supported: solobridge hears new blocks over P2P"));
    CHECK(e.at.line == 4);  // the nodes line of minimal
}

TEST_CASE("config: P2P keys on a chain without P2P are refused, not ignored") {
    for (const char* key : {R"("p2p_target_outbound": 4)", R"("p2p_dns_seeds": true)", R"("p2p_header_only_work": true)",
                            R"("p2p_anchor": "rpc")"}) {
        CAPTURE(key);
        const config_error e =
            only_error(load_text(replace(minimal, R"("stratum": [)", std::string(key) + R"(, "stratum": [)"), "t.json"));
        CHECK(e.message.find("has no effect: this chain has no P2P") == 0);
        // With the node's P2P address, or a configured peer, the key does its work.
        auto with_node = load_text(replace(replace(minimal, R"("stratum": [)", std::string(key) + R"(, "stratum": [)"),
                                           R"("rpc_password": "p")", R"("rpc_password": "p", "p2p": "127.0.0.1:18444")"),
                                   "t.json");
        CHECK_MESSAGE(with_node.value, errors_of(with_node));
        auto with_peer = load_text(
            replace(minimal, R"("stratum": [)", std::string(key) + R"(, "p2p_peers": ["127.0.0.1:18444"], "stratum": [)"),
            "t.json");
        CHECK_MESSAGE(with_peer.value, errors_of(with_peer));
    }
    // The node's P2P address from an override counts too.
    auto r = load_text(replace(minimal, R"("stratum": [)", R"("p2p_dns_seeds": false, "stratum": [)"), "t.json",
                       {{"chains[0].nodes[0].p2p", "127.0.0.1:18444", "environment SB_NODE_P2P"}});
    CHECK_MESSAGE(r.value, errors_of(r));
}

TEST_CASE("config: header-only work is refused where it cannot run") {
    const std::string p2p = replace(minimal, R"("stratum": [)",
                                    R"("p2p_peers": ["127.0.0.1:38333"], "p2p_header_only_work": true, "stratum": [)");
    CHECK(load_text(p2p, "t.json").value);
    const std::string signet = replace(replace(p2p, "bitcoin-regtest", "bitcoin-signet"),
                                       "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080",
                                       "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx");
    config_error e = only_error(load_text(signet, "t.json"));
    CHECK(e.path == "chains[0].p2p_header_only_work");
    CHECK(e.message.find("not available on bitcoin-signet") != std::string::npos);

    std::string rvn;
    {
        std::ifstream in(examples + "ravencoin-mainnet.json");
        rvn.assign(std::istreambuf_iterator<char>(in), {});
    }
    e = only_error(load_text(replace(rvn, R"("network": "ravencoin-mainnet",)",
                                     R"("network": "ravencoin-mainnet", "p2p_header_only_work": true,)"),
                             "rvn.json"));
    CHECK(e.path == "chains[0].p2p_header_only_work");
    CHECK(e.message.find("not available on ravencoin-mainnet") != std::string::npos);
}

TEST_CASE("config: two chains of one network with P2P are refused: they would share the header store") {
    const std::string chain = R"({
    "network": "bitcoin-regtest", "id": "ID",
    "nodes": [ { "rpc_url": "http://127.0.0.1:18443", "rpc_user": "u", "rpc_password": "p" P2P } ],
    "payout": { "address": "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080" },
    "stratum": [ { "listen": "127.0.0.1:PORT" } ] })";
    auto make = [&](const std::string& id, const std::string& p2p, const std::string& port) {
        return replace(replace(replace(chain, "ID", id), " P2P", p2p), "PORT", port);
    };
    const std::string with_p2p = R"(, "p2p": "127.0.0.1:18444")";
    const config_error e = only_error(
        load_text("{ \"chains\": [" + make("a", with_p2p, "3333") + ", " + make("b", with_p2p, "3334") + "] }", "t.json"));
    CHECK(e.path == "chains[1]");
    CHECK(e.message.find("headers-bitcoin-regtest.dat") != std::string::npos);
    CHECK(e.at.line == 5);  // where the second chain object opens
    // One of them without P2P: fine.
    auto r = load_text("{ \"chains\": [" + make("a", with_p2p, "3333") + ", " + make("b", "", "3334") + "] }", "t.json");
    CHECK_MESSAGE(r.value, errors_of(r));
}

TEST_CASE("config: an HTTP listener with the dashboard disabled is refused") {
    const std::string text = replace(minimal, R"("chains": [)", R"("http": { "enabled": false, "listen": "127.0.0.1:9999" }, "chains": [)");
    const config_error e = only_error(load_text(text, "t.json"));
    CHECK(e.path == "http.listen");
    CHECK(e.message.find("http.enabled is false") != std::string::npos);
    auto off = load_text(replace(minimal, R"("chains": [)", R"("http": { "enabled": false }, "chains": [)"), "t.json");
    REQUIRE_MESSAGE(off.value, errors_of(off));
    CHECK_FALSE(off.value->http.enabled);
}

TEST_CASE("config: the regtest example reads into typed settings") {
    auto r = load_file(examples + "regtest-bcoin.json");
    REQUIRE_MESSAGE(r.value, errors_of(r));
    const settings& s = *r.value;
    REQUIRE(s.chains.size() == 1);
    const chain_settings& c = s.chains[0];
    CHECK(c.id == "regtest");
    CHECK(c.net == network::bitcoin_regtest);
    REQUIRE(c.nodes.size() == 1);
    CHECK(c.nodes[0].rpc_url == "http://127.0.0.1:48332");
    CHECK(c.nodes[0].rpc_password == "regtest-demo");
    REQUIRE(c.nodes[0].p2p);
    CHECK(c.nodes[0].p2p->port == 48444);
    CHECK(c.payout.mode == payout_mode::fixed_address);
    CHECK(c.payout.script_pubkey ==
          std::vector<std::uint8_t>{0x00, 0x14, 0x75, 0x1e, 0x76, 0xe8, 0x19, 0x91, 0x96, 0xd4, 0x54, 0x94, 0x1c,
                                    0x45, 0xd1, 0xb3, 0xa3, 0x23, 0xf1, 0x43, 0x3b, 0xd6});
    CHECK(c.extranonce2_size == 8);
    REQUIRE(c.stratum.size() == 1);
    CHECK(c.stratum[0].listen.to_string() == "127.0.0.1:3333");
    CHECK(c.stratum[0].difficulty.initial == doctest::Approx(0.001));
    CHECK(s.http.listen.port == 8080);
}

TEST_CASE("config: defaults apply to keys that are left out") {
    auto r = load_text(minimal, "minimal.json");
    REQUIRE_MESSAGE(r.value, errors_of(r));
    CHECK(r.value->data_dir == "./solobridge-data");
    CHECK(r.value->log_level == "info");
    CHECK(r.value->http.listen.to_string() == "127.0.0.1:8080");
    CHECK(r.value->chains[0].id == "bitcoin-regtest");
    CHECK(r.value->chains[0].coinbase_tag == "/solobridge/");
    CHECK(r.value->chains[0].template_refresh_s == 30);
    CHECK(r.value->chains[0].nodes[0].rpc_timeout_ms == 30000);
}

TEST_CASE("config: comments and trailing commas are accepted") {
    auto r = load_text("// head\n{ /* block */ \"chains\": [ {\"network\": \"bitcoin-regtest\", // x\n"
                       "\"nodes\": [{\"rpc_url\": \"http://h:1\", \"rpc_password\": \"p\",},],"
                       "\"payout\": {\"address\": \"bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080\",},},],}\n// tail\n",
                       "c.json");
    CHECK_MESSAGE(r.value, errors_of(r));
}

TEST_CASE("config: an unknown key is an error with its path and position") {
    const std::string text = replace(minimal, R"("rpc_user": "u")", R"("rpc_usr": "u")");
    auto r = load_text(text, "typo.json");
    // rpc_usr is unknown; rpc_password alone is still valid auth.
    const config_error e = only_error(r);
    CHECK(e.path == "chains[0].nodes[0].rpc_usr");
    CHECK(e.at.source == "typo.json");
    CHECK(e.at.line == 4);
    CHECK(e.at.column == 55);
    CHECK(e.message.find("unknown key") != std::string::npos);
    CHECK(e.message.find("rpc_user") != std::string::npos);
    CHECK(e.to_string().starts_with("typo.json:4:55: chains[0].nodes[0].rpc_usr: unknown key"));
}

TEST_CASE("config: a malformed document names the line and column") {
    auto r = load_text("{\n  \"chains\": [\n    {\"network\" \"bitcoin-regtest\"}\n  ]\n}\n", "broken.json");
    const config_error e = only_error(r);
    CHECK(e.at.line == 3);
    CHECK(e.at.column == 16);
    CHECK(e.path.empty());
    CHECK(!e.message.empty());

    CHECK(only_error(load_text("", "empty.json")).message.find("empty") != std::string::npos);
    CHECK(only_error(load_text("{} x", "t.json")).message == "text after the end of the document");
    CHECK(only_error(load_text("{} /* open", "t.json")).message == "unterminated comment");
    CHECK(only_error(load_text("{\"a\": 1, \"a\": 2}", "d.json")).message == "duplicate key \"a\"");
    CHECK(only_error(load_text("{\"a\": 1e999}", "n.json")).at.column == 7);
    CHECK(!load_text("{\"a\": \"\xff\"}", "utf8.json").errors.empty());
}

TEST_CASE("config: deep nesting is refused without recursion trouble") {
    const std::string deep = std::string(10000, '[') + std::string(10000, ']');
    const config_error e = only_error(load_text(deep, "deep.json"));
    CHECK(e.message.find("nesting deeper") != std::string::npos);
}

TEST_CASE("config: wrong types and out-of-range values are reported together") {
    std::string text = replace(minimal, R"("stratum": [)", R"("extranonce2_size": 12, "template_refresh_s": 1.5, "coinbase_tag": 7, "stratum": [)");
    text = replace(text, R"({ "listen": "127.0.0.1:3333" })",
                   R"({ "listen": "127.0.0.1:99999", "difficulty": {"min": 10, "max": 1} })");
    auto r = load_text(text, "t.json");
    CHECK(!r.value);
    const std::string all = errors_of(r);
    CHECK_MESSAGE(r.errors.size() == 5, all);
    CHECK(all.find("chains[0].extranonce2_size: must be between 2 and 8, not 12") != std::string::npos);
    CHECK(all.find("chains[0].template_refresh_s: must be an integer, not a fraction") != std::string::npos);
    CHECK(all.find("chains[0].coinbase_tag: must be a string, not a number") != std::string::npos);
    CHECK(all.find("chains[0].stratum[0].listen: must be host:port") != std::string::npos);
    CHECK(all.find("chains[0].stratum[0].difficulty: min is above max") != std::string::npos);
}

TEST_CASE("config: required keys are named when missing") {
    CHECK(only_error(load_text("{}", "t.json")).path == "chains");
    auto r = load_text(R"({"chains": [{}]})", "t.json");
    const std::string all = errors_of(r);
    CHECK(all.find("chains[0].network: is required") != std::string::npos);
    CHECK(all.find("chains[0].nodes: is required") != std::string::npos);
    CHECK(all.find("chains[0].payout: is required") != std::string::npos);
}

TEST_CASE("config: an unknown network lists the known ones") {
    const config_error e = only_error(load_text(replace(minimal, "bitcoin-regtest", "bitcoin-regnet"), "t.json"));
    CHECK(e.path == "chains[0].network");
    CHECK(e.message.find("bitcoin-testnet4") != std::string::npos);
    CHECK(e.message.find("ravencoin-mainnet") != std::string::npos);
}

TEST_CASE("config: payout addresses are checked against the chain's network") {
    SUBCASE("a mainnet address on regtest") {
        const config_error e = only_error(load_text(
            replace(minimal, "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"),
            "t.json"));
        CHECK(e.path == "chains[0].payout.address");
        CHECK(e.message.find("not a valid bitcoin-regtest address") != std::string::npos);
    }
    SUBCASE("a broken checksum") {
        const config_error e = only_error(load_text(
            replace(minimal, "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt081"),
            "t.json"));
        CHECK(e.path == "chains[0].payout.address");
    }
    SUBCASE("address-username needs no address") {
        auto r = load_text(replace(minimal, R"({ "address": "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080" })",
                                   R"({ "mode": "address-username" })"),
                           "t.json");
        REQUIRE_MESSAGE(r.value, errors_of(r));
        CHECK(r.value->chains[0].payout.mode == payout_mode::address_username);
    }
    SUBCASE("fixed-address without an address") {
        const config_error e = only_error(load_text(
            replace(minimal, R"({ "address": "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080" })", "{}"), "t.json"));
        CHECK(e.path == "chains[0].payout.address");
        CHECK(e.message == "is required");
    }
}

TEST_CASE("config: node authentication must be one method") {
    const config_error both = only_error(load_text(
        replace(minimal, R"("rpc_user": "u")", R"("rpc_user": "u", "rpc_cookie_file": "/x/.cookie")"), "t.json"));
    CHECK(both.path == "chains[0].nodes[0]");
    CHECK(both.message.find("not both") != std::string::npos);
    const config_error none = only_error(load_text(replace(minimal, R"(, "rpc_user": "u", "rpc_password": "p")", ""), "t.json"));
    CHECK(none.message.find("authenticate") != std::string::npos);
    const config_error https = only_error(load_text(replace(minimal, "http://127.0.0.1:18443", "https://127.0.0.1:18443"), "t.json"));
    CHECK(https.message.find("https is not supported") != std::string::npos);
    const config_error creds = only_error(load_text(replace(minimal, "http://127.0.0.1:18443", "http://u:p@127.0.0.1:18443"), "t.json"));
    CHECK(creds.message.find("not in the URL") != std::string::npos);
}

TEST_CASE("config: two listeners on one port are refused") {
    const config_error e = only_error(load_text(replace(minimal, "127.0.0.1:3333", "127.0.0.1:8080"), "t.json"));
    CHECK(e.path == "chains[0].stratum[0].listen");
    CHECK(e.message.find("already used by http.listen") != std::string::npos);
}

TEST_CASE("config: listeners overlap on one port when an address or a wildcard covers the other") {
    struct row {
        const char* a;
        const char* b;
        bool overlap;
    };
    // Linux with IPV6_V6ONLY off (the servers' setting): 0.0.0.0 takes a port on every IPv4
    // address, :: on every address; observed with SO_REUSEADDR listeners on this host.
    const row rows[] = {
        {"0.0.0.0:3333", "127.0.0.1:3333", true},
        {"127.0.0.1:3333", "0.0.0.0:3333", true},
        {"[::]:3333", "127.0.0.1:3333", true},
        {"[::]:3333", "0.0.0.0:3333", true},
        {"[::]:3333", "[::1]:3333", true},
        {"[::]:3333", "localhost:3333", true},
        {"127.0.0.1:3333", "127.0.0.1:3333", true},
        {"[::ffff:127.0.0.1]:3333", "127.0.0.1:3333", true},
        {"[::ffff:0.0.0.0]:3333", "10.0.0.1:3333", true},
        {"[0:0:0:0:0:0:0:1]:3333", "[::1]:3333", true},
        {"LocalHost:3333", "localhost:3333", true},
        {"0.0.0.0:3333", "127.0.0.1:3334", false},
        {"0.0.0.0:3333", "[::1]:3333", false},
        {"127.0.0.1:3333", "127.0.0.2:3333", false},
        {"127.0.0.1:3333", "[::1]:3333", false},
        // Name resolution decides these on the machine that runs the bridge (doctor binds).
        {"localhost:3333", "127.0.0.1:3333", false},
        {"0.0.0.0:3333", "localhost:3333", false},
    };
    for (const auto& r : rows) {
        CAPTURE(r.a);
        CAPTURE(r.b);
        const auto a = parse_endpoint(r.a), b = parse_endpoint(r.b);
        REQUIRE(a);
        REQUIRE(b);
        CHECK(listeners_overlap(*a, *b) == r.overlap);
        CHECK(listeners_overlap(*b, *a) == r.overlap);
    }
    // Port 0 (any free port) never overlaps.
    CHECK_FALSE(listeners_overlap({"127.0.0.1", 0}, {"127.0.0.1", 0}));
}

TEST_CASE("config: a wildcard listener and a specific one on the same port are refused across chains and http") {
    // Two chains, the second's Stratum port on 0.0.0.0 where the first listens on 127.0.0.1.
    const std::string two_chains = R"({
  "http": { "listen": "127.0.0.1:8080" },
  "chains": [ {
    "id": "a", "network": "bitcoin-regtest",
    "nodes": [ { "rpc_url": "http://127.0.0.1:18443", "rpc_user": "u", "rpc_password": "p" } ],
    "payout": { "address": "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080" },
    "stratum": [ { "listen": "127.0.0.1:3333" } ]
  }, {
    "id": "b", "network": "bitcoin-regtest",
    "nodes": [ { "rpc_url": "http://127.0.0.1:18443", "rpc_user": "u", "rpc_password": "p" } ],
    "payout": { "address": "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080" },
    "stratum": [ { "listen": "0.0.0.0:3333" } ]
  } ]
})";
    const config_error e = only_error(load_text(two_chains, "t.json"));
    CHECK(e.path == "chains[1].stratum[0].listen");
    CHECK(e.message.find("0.0.0.0:3333 overlaps chains[0].stratum[0].listen (127.0.0.1:3333)") != std::string::npos);
    CHECK(load_text(replace(two_chains, "0.0.0.0:3333", "0.0.0.0:3334"), "t.json").value);

    // The dashboard on [::] takes port 8080 on 127.0.0.1 too.
    const config_error h = only_error(load_text(replace(minimal, "127.0.0.1:3333", "127.0.0.1:8080").insert(1, R"("http": { "listen": "[::]:8080", "token": "0123456789abcdef" },)"), "t.json"));
    CHECK(h.path == "chains[0].stratum[0].listen");
    CHECK(h.message.find("overlaps http.listen ([::]:8080)") != std::string::npos);

    // The same address twice within one chain.
    const config_error twice = only_error(load_text(
        replace(minimal, R"([ { "listen": "127.0.0.1:3333" } ])", R"([ { "listen": "127.0.0.1:3333" }, { "listen": "127.0.0.1:3333" } ])"),
        "t.json"));
    CHECK(twice.path == "chains[0].stratum[1].listen");
    CHECK(twice.message.find("already used by chains[0].stratum[0].listen") != std::string::npos);
}

TEST_CASE("config: environment and flags override the file and a flag wins") {
    const std::map<std::string, std::string> env = {
        {"SB_NODE_RPC_URL", "http://127.0.0.1:40000"},
        {"SB_STRATUM_LISTEN", "127.0.0.1:4000"},
        {"SB_DATA_DIR", "/from/env"},
    };
    auto overrides = overrides_from_env([&](const char* name) -> const char* {
        auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
    });
    CHECK(overrides.size() == 3);
    std::vector<std::string> unknown;
    std::vector<config_error> errors;
    auto flags = overrides_from_args({"--data-dir", "/from/flag", "--http-listen=127.0.0.1:9000", "--verbose"}, unknown, errors);
    CHECK(errors.empty());
    CHECK(unknown == std::vector<std::string>{"--verbose"});
    overrides.insert(overrides.end(), flags.begin(), flags.end());
    auto r = load_text(minimal, "t.json", overrides);
    REQUIRE_MESSAGE(r.value, errors_of(r));
    CHECK(r.value->data_dir == "/from/flag");
    CHECK(r.value->http.listen.port == 9000);
    CHECK(r.value->chains[0].nodes[0].rpc_url == "http://127.0.0.1:40000");
    CHECK(r.value->chains[0].stratum[0].listen.port == 4000);
}

TEST_CASE("config: log_level takes the five levels from the file and the override, and refuses others") {
    auto r = load_text(replace(minimal, "{", R"({ "log_level": "warn",)"), "t.json");
    REQUIRE_MESSAGE(r.value, errors_of(r));
    CHECK(r.value->log_level == "warn");
    std::vector<std::string> unknown;
    std::vector<config_error> errors;
    auto o = overrides_from_args({"--log-level", "debug"}, unknown, errors);
    CHECK(errors.empty());
    r = load_text(minimal, "t.json", o);
    REQUIRE_MESSAGE(r.value, errors_of(r));
    CHECK(r.value->log_level == "debug");
    const config_error e = only_error(load_text(replace(minimal, "{", R"({ "log_level": "verbose",)"), "t.json"));
    CHECK(e.path == "log_level");
    CHECK(e.message == "must be error, warn, info, debug or trace");
}

TEST_CASE("config: a cookie override replaces user and password from the file") {
    std::vector<std::string> unknown;
    std::vector<config_error> errors;
    auto o = overrides_from_args({"--node-rpc-cookie-file", "/data/.cookie"}, unknown, errors);
    auto r = load_text(minimal, "t.json", o);
    REQUIRE_MESSAGE(r.value, errors_of(r));
    CHECK(r.value->chains[0].nodes[0].rpc_cookie_file == "/data/.cookie");
    CHECK(r.value->chains[0].nodes[0].rpc_password.empty());
}

TEST_CASE("config: a bad override names where it came from") {
    std::vector<std::string> unknown;
    std::vector<config_error> errors;
    auto o = overrides_from_args({"--stratum-listen", "nowhere"}, unknown, errors);
    const config_error e = only_error(load_text(minimal, "t.json", o));
    CHECK(e.to_string().starts_with("command line --stratum-listen: chains[0].stratum[0].listen: must be host:port"));
    overrides_from_args({"--data-dir"}, unknown, errors);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].message.find("needs a value") != std::string::npos);
}

TEST_CASE("config: overrides alone can supply a missing chain setting") {
    auto r = load_text(replace(minimal, R"("stratum": [ { "listen": "127.0.0.1:3333" } ])", R"("stratum": [])"), "t.json",
                       {{"chains[0].stratum[0].listen", "127.0.0.1:3999", "environment SB_STRATUM_LISTEN"}});
    REQUIRE_MESSAGE(r.value, errors_of(r));
    REQUIRE(r.value->chains[0].stratum.size() == 1);
    CHECK(r.value->chains[0].stratum[0].listen.port == 3999);
}

TEST_CASE("config: endpoints parse host port and bracketed IPv6") {
    CHECK(parse_endpoint("127.0.0.1:3333")->port == 3333);
    CHECK(parse_endpoint("[::1]:8080")->host == "::1");
    CHECK(parse_endpoint("[::1]:8080")->to_string() == "[::1]:8080");
    CHECK(parse_endpoint("node.lan:8332")->host == "node.lan");
    CHECK(!parse_endpoint("::1:8080"));
    CHECK(!parse_endpoint("127.0.0.1"));
    CHECK(!parse_endpoint("127.0.0.1:"));
    CHECK(!parse_endpoint(":80"));
    CHECK(!parse_endpoint("h:0"));
    CHECK(parse_endpoint("h:0", true));
    CHECK(!parse_endpoint("h:65536"));
    CHECK(parse_endpoint("h:65535"));
    CHECK(!parse_endpoint("h:12a"));
    CHECK(!parse_endpoint("bad host:1"));
}

TEST_CASE("config: a missing or oversized file gives a clear error") {
    CHECK(only_error(load_file("/nonexistent/solobridge.json")).message == "cannot open the file");
}

TEST_CASE("config: local devices read into typed settings with the default intensity") {
    auto r = load_text(replace(minimal, R"("stratum": [)",
                               R"("devices": [ {"id": "opencl:0", "intensity": 18}, {"id": "cpu"}, {"id": "cuda:12"} ], "stratum": [)"),
                       "t.json");
    REQUIRE_MESSAGE(r.value, errors_of(r));
    const auto& d = r.value->chains[0].devices;
    REQUIRE(d.size() == 3);
    CHECK(d[0].id == "opencl:0");
    CHECK(d[0].intensity == 18);
    CHECK(d[1].id == "cpu");
    CHECK(d[1].intensity == default_device_intensity);
    CHECK(d[2].id == "cuda:12");
    CHECK(load_text(minimal, "t.json").value->chains[0].devices.empty());
}

TEST_CASE("config: device ids follow cpu or cuda:N or opencl:N") {
    for (const char* ok : {"cpu", "cuda:0", "cuda:7", "opencl:0", "opencl:10", "opencl:999"}) {
        CAPTURE(ok);
        CHECK(valid_device_id(ok));
    }
    for (const char* bad : {"", "CPU", "gpu:0", "cuda", "cuda:", "cuda:-1", "cuda:01", "opencl:1000", "opencl:0 ",
                            "opencl:a", "cpu:0", " cpu"}) {
        CAPTURE(bad);
        CHECK(!valid_device_id(bad));
    }
    const std::string text = replace(minimal, R"("stratum": [)", "\"devices\": [\n {\"id\": \"gpu0\"} ],\n \"stratum\": [");
    const config_error e = only_error(load_text(text, "t.json"));
    CHECK(e.path == "chains[0].devices[0].id");
    CHECK(e.at.line == 7);
    CHECK(e.at.column == 9);
    CHECK(e.message.find("\"cpu\", \"cuda:N\" or \"opencl:N\"") != std::string::npos);
    CHECK(e.message.find("gpu0") != std::string::npos);
}

TEST_CASE("config: device intensity and unknown keys and a missing id are errors") {
    const std::string text = replace(
        minimal, R"("stratum": [)",
        R"("devices": [ {"id": "cpu", "intensity": 0}, {"id": "cuda:0", "intensity": 33}, {"intensity": 5}, {"id": "opencl:1", "intenstiy": 3} ], "stratum": [)");
    auto r = load_text(text, "t.json");
    const std::string all = errors_of(r);
    CHECK_MESSAGE(r.errors.size() == 4, all);
    CHECK(all.find("chains[0].devices[0].intensity: must be between 1 and 32, not 0") != std::string::npos);
    CHECK(all.find("chains[0].devices[1].intensity: must be between 1 and 32, not 33") != std::string::npos);
    CHECK(all.find("chains[0].devices[2].id: is required") != std::string::npos);
    CHECK(all.find("chains[0].devices[3].intenstiy: unknown key") != std::string::npos);
    CHECK(only_error(load_text(replace(minimal, R"("stratum": [)", R"("devices": {"id": "cpu"}, "stratum": [)"), "t.json"))
              .message == "must be an array, not an object");
}

TEST_CASE("config: a device listed twice is refused in one chain and across chains") {
    const config_error e = only_error(load_text(
        replace(minimal, R"("stratum": [)", R"("devices": [ {"id": "opencl:0"}, {"id": "cpu"}, {"id": "opencl:0", "intensity": 3} ], "stratum": [)"),
        "t.json"));
    CHECK(e.path == "chains[0].devices[2].id");
    CHECK(e.message.find("already listed as chains[0].devices[0]") != std::string::npos);

    const std::string chain = R"({ "id": "ID", "network": "bitcoin-regtest",
      "nodes": [ { "rpc_url": "http://127.0.0.1:18443", "rpc_password": "p" } ],
      "payout": { "address": "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080" }, "devices": [ DEV ] })";
    const std::string two = "{\"chains\": [" + replace(replace(chain, "ID", "a"), "DEV", R"({"id": "cuda:1"})") + ",\n" +
                            replace(replace(chain, "ID", "b"), "DEV", R"({"id": "cpu"}, {"id": "cuda:1"})") + "]}";
    const config_error x = only_error(load_text(two, "t.json"));
    CHECK(x.path == "chains[1].devices[1].id");
    CHECK(x.message.find("already used by chains[0].devices[0]") != std::string::npos);
    CHECK(x.at.line == 6);
}

TEST_CASE("config: Ravencoin chains take GPU devices for KAWPOW and refuse the cpu device") {
    auto base = load_file(examples + "ravencoin-mainnet.json");
    REQUIRE_MESSAGE(base.value, errors_of(base));
    // The example with devices added next to its network key.
    std::string text;
    {
        std::ifstream in(examples + "ravencoin-mainnet.json");
        text.assign(std::istreambuf_iterator<char>(in), {});
    }
    // Devices pay payout.address in address-username mode (the example's).
    const std::string with_address = replace(text, R"("payout": { "mode": "address-username" })",
                                             R"("payout": { "mode": "address-username", "address": "RJJBTXXfgE5DjiPQpZSnYrQe73NhrBZ3ao" })");
    REQUIRE(with_address != text);
    const auto with_devices = [&](const std::string& devices) {
        return replace(with_address, R"("network": "ravencoin-mainnet",)",
                       R"("network": "ravencoin-mainnet", "devices": )" + devices + ",");
    };
    auto gpus = load_text(with_devices(R"([{"id": "opencl:0", "intensity": 18}, {"id": "cuda:1"}])"), "rvn.json");
    REQUIRE_MESSAGE(gpus.value, errors_of(gpus));
    const auto& devs = gpus.value->chains[0].devices;
    REQUIRE(devs.size() == 2);
    CHECK(devs[0].id == "opencl:0");
    CHECK(devs[0].intensity == 18);
    CHECK(devs[1].id == "cuda:1");
    CHECK(devs[1].intensity == default_device_intensity);

    const config_error e = only_error(load_text(with_devices(R"([{"id": "opencl:0"}, {"id": "cpu"}])"), "rvn.json"));
    CHECK(e.path == "chains[0].devices[1].id");
    CHECK(e.message.find("SHA-256d only") != std::string::npos);
    CHECK(e.message.find("KAWPOW") != std::string::npos);
    // An empty list is harmless.
    CHECK(load_text(with_devices("[]"), "rvn.json").value);
}

TEST_CASE("config: devices in address-username mode need a payout address") {
    const std::string username = replace(minimal, R"({ "address": "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080" })",
                                         R"({ "mode": "address-username" })");
    const config_error e =
        only_error(load_text(replace(username, R"("stratum": [)", R"("devices": [{"id": "cpu"}], "stratum": [)"), "t.json"));
    CHECK(e.path == "chains[0].devices");
    CHECK(e.message.find("payout.address") != std::string::npos);
    const std::string with_address =
        replace(minimal, R"({ "address": )", R"({ "mode": "address-username", "address": )");
    CHECK(load_text(replace(with_address, R"("stratum": [)", R"("devices": [{"id": "cpu"}], "stratum": [)"), "t.json").value);
}

TEST_CASE("config: P2P and Stratum ban keys have their defaults and are read") {
    auto d = load_text(minimal, "minimal.json");
    REQUIRE_MESSAGE(d.value, errors_of(d));
    const chain_settings& c0 = d.value->chains[0];
    CHECK(c0.p2p_peers.empty());
    CHECK(c0.p2p_target_outbound == 8);
    CHECK_FALSE(c0.p2p_dns_seeds);
    CHECK_FALSE(c0.p2p_header_only_work);
    CHECK(c0.stratum_bans);
    CHECK(c0.stratum_ban_loopback);
    CHECK(c0.stratum_ban_threshold == 100);
    CHECK(c0.stratum_ban_duration_s == 900);
    CHECK(c0.stratum_max_connections_per_ip == 256);

    const std::string text = replace(minimal, R"("stratum": [)",
                                     R"("p2p_peers": ["node.example:8333", "[::1]:18444"], "p2p_target_outbound": 4,
                                        "p2p_dns_seeds": true, "p2p_header_only_work": true, "stratum_bans": false,
                                        "stratum_ban_loopback": false, "stratum_ban_threshold": 250,
                                        "stratum_ban_duration_s": 3600, "stratum_max_connections_per_ip": 1000,
                                        "stratum": [)");
    auto r = load_text(text, "keys.json");
    REQUIRE_MESSAGE(r.value, errors_of(r));
    const chain_settings& c = r.value->chains[0];
    REQUIRE(c.p2p_peers.size() == 2);
    CHECK(c.p2p_peers[0].to_string() == "node.example:8333");
    CHECK(c.p2p_peers[1].port == 18444);
    CHECK(c.p2p_target_outbound == 4);
    CHECK(c.p2p_dns_seeds);
    CHECK(c.p2p_header_only_work);
    CHECK_FALSE(c.stratum_bans);
    CHECK_FALSE(c.stratum_ban_loopback);
    CHECK(c.stratum_ban_threshold == 250);
    CHECK(c.stratum_ban_duration_s == 3600);
    CHECK(c.stratum_max_connections_per_ip == 1000);
}

TEST_CASE("config: the Stratum ban threshold, ban duration and per-IP cap are checked with precise errors") {
    struct bad_value {
        const char* key;
        const char* value;
        const char* message;
    };
    const bad_value cases[] = {
        {"stratum_ban_threshold", "0", "must be between 1 and 100000, not 0"},
        {"stratum_ban_threshold", "100001", "must be between 1 and 100000, not 100001"},
        {"stratum_ban_threshold", "2.5", "must be an integer, not a fraction"},
        {"stratum_ban_duration_s", "0", "must be between 1 and 604800, not 0"},
        {"stratum_ban_duration_s", "604801", "must be between 1 and 604800, not 604801"},
        {"stratum_ban_duration_s", "\"15m\"", "must be an integer, not a string"},
        {"stratum_max_connections_per_ip", "0", "must be between 1 and 20000, not 0"},
        {"stratum_max_connections_per_ip", "20001", "must be between 1 and 20000, not 20001"},
        {"stratum_max_connections_per_ip", "-1", "must be between 1 and 20000, not -1"},
        {"stratum_max_connections_per_ip", "true", "must be an integer, not a boolean"},
    };
    for (const auto& c : cases) {
        const std::string key = c.key, value = c.value;
        CAPTURE(key);
        CAPTURE(value);
        auto r = load_text(replace(minimal, R"("stratum": [)",
                                   "\"" + std::string(c.key) + "\": " + c.value + R"(, "stratum": [)"),
                           "c.json");
        const auto e = only_error(r);
        CHECK(e.path == "chains[0]." + std::string(c.key));
        CHECK(e.message == c.message);
        CHECK(e.at.line == 6);  // where the value was written
    }
    // The bounds themselves are valid.
    auto r = load_text(replace(minimal, R"("stratum": [)",
                               R"("stratum_ban_threshold": 1, "stratum_ban_duration_s": 604800,
                                  "stratum_max_connections_per_ip": 20000, "stratum": [)"),
                       "c.json");
    REQUIRE_MESSAGE(r.value, errors_of(r));
    CHECK(r.value->chains[0].stratum_ban_threshold == 1);
    CHECK(r.value->chains[0].stratum_ban_duration_s == 604800);
    CHECK(r.value->chains[0].stratum_max_connections_per_ip == 20000);
}

TEST_CASE("config: a TLS listener may accept plain TCP on the same port") {
    auto d = load_text(replace(minimal, R"({ "listen": "127.0.0.1:3333" })",
                               R"({ "listen": "127.0.0.1:3333", "tls": { "cert_file": "c.pem", "key_file": "k.pem" } })"),
                       "t.json");
    REQUIRE_MESSAGE(d.value, errors_of(d));
    REQUIRE(d.value->chains[0].stratum[0].tls);
    CHECK_FALSE(d.value->chains[0].stratum[0].tls->accept_plain);
    auto r = load_text(replace(minimal, R"({ "listen": "127.0.0.1:3333" })",
                               R"({ "listen": "127.0.0.1:3333", "tls": { "cert_file": "c.pem", "key_file": "k.pem",
                                    "accept_plain": true } })"),
                       "t.json");
    REQUIRE_MESSAGE(r.value, errors_of(r));
    CHECK(r.value->chains[0].stratum[0].tls->accept_plain);
    r = load_text(replace(minimal, R"({ "listen": "127.0.0.1:3333" })",
                          R"({ "listen": "127.0.0.1:3333", "tls": { "cert_file": "c.pem", "key_file": "k.pem",
                               "accept_plain": "yes" } })"),
                  "t.json");
    const auto e = only_error(r);
    CHECK(e.path == "chains[0].stratum[0].tls.accept_plain");
    CHECK(e.message == "must be true or false, not a string");
}

TEST_CASE("config: wrong P2P and Stratum ban values name their key") {
    auto r = load_text(replace(minimal, R"("stratum": [)", R"("stratum_ban_loopback": "no", "stratum": [)"), "c.json");
    CHECK(only_error(r).path == "chains[0].stratum_ban_loopback");
    r = load_text(replace(minimal, R"("stratum": [)", R"("p2p_peers": ["no-port"], "stratum": [)"), "c.json");
    CHECK(only_error(r).path == "chains[0].p2p_peers[0]");
    r = load_text(replace(minimal, R"("stratum": [)", R"("p2p_peers": ["127.0.0.1:18444"], "p2p_target_outbound": 33, "stratum": [)"), "c.json");
    CHECK(only_error(r).path == "chains[0].p2p_target_outbound");
}

TEST_CASE("config: p2p_anchor defaults to genesis on Bitcoin and rpc on Ravencoin") {
    auto d = load_text(minimal, "minimal.json");
    REQUIRE_MESSAGE(d.value, errors_of(d));
    CHECK(d.value->chains[0].p2p_anchor == p2p_anchor_mode::genesis);
    auto r = load_text(replace(minimal, R"("stratum": [)", R"("p2p_anchor": "rpc", "p2p_peers": ["127.0.0.1:18444"], "stratum": [)"),
                       "a.json");
    REQUIRE_MESSAGE(r.value, errors_of(r));
    CHECK(r.value->chains[0].p2p_anchor == p2p_anchor_mode::rpc);

    std::string rvn;
    {
        std::ifstream in(examples + "ravencoin-mainnet.json");
        rvn.assign(std::istreambuf_iterator<char>(in), {});
    }
    auto base = load_text(rvn, "rvn.json");
    REQUIRE_MESSAGE(base.value, errors_of(base));
    CHECK(base.value->chains[0].p2p_anchor == p2p_anchor_mode::rpc);
    auto explicit_rpc = load_text(
        replace(rvn, R"("network": "ravencoin-mainnet",)", R"("network": "ravencoin-mainnet", "p2p_anchor": "rpc",)"),
        "rvn.json");
    REQUIRE_MESSAGE(explicit_rpc.value, errors_of(explicit_rpc));
    CHECK(explicit_rpc.value->chains[0].p2p_anchor == p2p_anchor_mode::rpc);
}

TEST_CASE("config: p2p_anchor refuses unknown values and genesis on Ravencoin") {
    const std::string with_peer = replace(minimal, R"("stratum": [)", R"("p2p_peers": ["127.0.0.1:18444"], "stratum": [)");
    auto r = load_text(replace(with_peer, R"("stratum": [)", R"("p2p_anchor": "tip", "stratum": [)"), "a.json");
    config_error e = only_error(r);
    CHECK(e.path == "chains[0].p2p_anchor");
    CHECK(e.message.find("\"genesis\" or \"rpc\"") != std::string::npos);
    r = load_text(replace(with_peer, R"("stratum": [)", R"("p2p_anchor": 1, "stratum": [)"), "a.json");
    CHECK(only_error(r).path == "chains[0].p2p_anchor");

    std::string rvn;
    {
        std::ifstream in(examples + "ravencoin-mainnet.json");
        rvn.assign(std::istreambuf_iterator<char>(in), {});
    }
    e = only_error(load_text(
        replace(rvn, R"("network": "ravencoin-mainnet",)", R"("network": "ravencoin-mainnet", "p2p_anchor": "genesis",)"),
        "rvn.json"));
    CHECK(e.path == "chains[0].p2p_anchor");
    CHECK(e.message.find("X16R") != std::string::npos);
}

namespace {

// minimal with an "alerts" section.
std::string with_alerts(const std::string& alerts) {
    return replace(minimal, R"(  "chains": [ {)", "  \"alerts\": " + alerts + ",\n  \"chains\": [ {");
}

}  // namespace

TEST_CASE("config: alerts are read into webhooks with their format and events and token and headers and CA file") {
    auto r = load_text(with_alerts(R"({
      "webhooks": [
        { "url": "https://ntfy.sh/my-rigs-7f3a", "format": "ntfy", "token": "tk_abc",
          "events": ["block_found", "node_down", "node_up"] },
        { "url": "http://127.0.0.1:9000/hook?farm=north", "headers": { "X-Api-Key": "k1" } },
        { "url": "HTTPS://[::1]:8443", "ca_file": "/etc/solobridge/ca.pem", "events": ["hashrate_drop"] }
      ],
      "min_interval_s": 120,
      "hashrate_drop_ratio": 0.4
    })"), "t.json");
    REQUIRE_MESSAGE(r.value, errors_of(r));
    const alert_settings& a = r.value->alerts;
    REQUIRE(a.webhooks.size() == 3);
    CHECK(a.min_interval_s == 120);
    CHECK(a.hashrate_drop_ratio == doctest::Approx(0.4));
    const webhook_settings& n = a.webhooks[0];
    CHECK(n.format == webhook_format::ntfy);
    CHECK(n.parsed.tls);
    CHECK(n.parsed.host == "ntfy.sh");
    CHECK(n.parsed.port == 443);
    CHECK(n.parsed.target == "/my-rigs-7f3a");
    CHECK(n.token == "tk_abc");
    CHECK(n.events.count() == 3);
    CHECK(n.events.test(static_cast<std::size_t>(alert_kind::node_down)));
    CHECK_FALSE(n.events.test(static_cast<std::size_t>(alert_kind::worker_offline)));
    const webhook_settings& j = a.webhooks[1];
    CHECK(j.format == webhook_format::json);
    CHECK_FALSE(j.parsed.tls);
    CHECK(j.parsed.port == 9000);
    CHECK(j.parsed.target == "/hook?farm=north");
    CHECK(j.events.all());  // every kind when "events" is absent
    REQUIRE(j.headers.size() == 1);
    CHECK(j.headers[0] == std::pair<std::string, std::string>("X-Api-Key", "k1"));
    const webhook_settings& v6 = a.webhooks[2];
    CHECK(v6.parsed.host == "::1");
    CHECK(v6.parsed.port == 8443);
    CHECK(v6.parsed.target == "/");
    CHECK(v6.ca_file == "/etc/solobridge/ca.pem");

    auto plain = load_text(minimal, "t.json");
    REQUIRE(plain.value);
    CHECK(plain.value->alerts.webhooks.empty());
    CHECK(plain.value->alerts.min_interval_s == default_alert_min_interval_s);
    CHECK(plain.value->alerts.hashrate_drop_ratio == doctest::Approx(default_hashrate_drop_ratio));
}

TEST_CASE("config: webhook URLs are parsed with default ports and IPv6 and a query without a path") {
    auto u = parse_webhook_url("http://hooks.example?x=1");
    REQUIRE(u);
    CHECK(u->port == 80);
    CHECK(u->target == "/?x=1");
    u = parse_webhook_url("https://hooks.example:8443/a/b");
    REQUIRE(u);
    CHECK(u->tls);
    CHECK(u->port == 8443);
    CHECK(u->target == "/a/b");
    std::string why;
    CHECK_FALSE(parse_webhook_url("https://hooks.example:/x", &why));
    CHECK(why == "has ':' without a port after the host");
    CHECK_FALSE(parse_webhook_url("https://[::1", &why));
    CHECK(why == "has an IPv6 address without its closing ']'");
    CHECK_FALSE(parse_webhook_url("https://", &why));
    CHECK(why == "needs a host, e.g. https://ntfy.sh/my-topic");
}

TEST_CASE("config: wrong alert settings are refused with their key and the reason") {
    struct bad {
        const char* alerts;
        const char* path;
        const char* message;
    };
    const bad cases[] = {
        {R"({})", "alerts.webhooks", "is required"},
        {R"({ "webhooks": [] })", "alerts.webhooks", "must have 1 to 8 entries, not 0"},
        {R"({ "webhooks": [ {} ] })", "alerts.webhooks[0].url", "is required"},
        {R"({ "webhooks": [ { "url": "ftp://x/y" } ] })", "alerts.webhooks[0].url", "must start with http:// or https://"},
        {R"({ "webhooks": [ { "url": "https://user:pw@ntfy.sh/t" } ] })", "alerts.webhooks[0].url",
         "has credentials in it: give them in \"token\" or \"headers\" instead"},
        {R"({ "webhooks": [ { "url": "https://ntfy.sh/t#frag" } ] })", "alerts.webhooks[0].url",
         "has a fragment (#...), which is never sent: remove it"},
        {R"({ "webhooks": [ { "url": "http://::1:80/t" } ] })", "alerts.webhooks[0].url",
         "has an IPv6 address without brackets: write it as [address]:port"},
        {R"({ "webhooks": [ { "url": "http://h:70000/t" } ] })", "alerts.webhooks[0].url", "has a bad port (1-65535)"},
        {R"({ "webhooks": [ { "url": "http://h:0/t" } ] })", "alerts.webhooks[0].url", "has a bad port (1-65535)"},
        {R"({ "webhooks": [ { "url": "http://h/a b" } ] })", "alerts.webhooks[0].url",
         "has a space or a character outside printable ASCII in its path: percent-encode it"},
        {R"({ "webhooks": [ { "url": "https://ntfy.sh/", "format": "ntfy" } ] })", "alerts.webhooks[0].url",
         "needs the ntfy topic in its path, e.g. https://ntfy.sh/my-rigs-7f3a"},
        {R"({ "webhooks": [ { "url": "https://h/x", "format": "slack" } ] })", "alerts.webhooks[0].format",
         "must be \"json\" or \"ntfy\", not \"slack\""},
        {R"({ "webhooks": [ { "url": "https://h/x", "events": [] } ] })", "alerts.webhooks[0].events",
         "must have 1 to 8 entries, not 0"},
        {R"({ "webhooks": [ { "url": "https://h/x", "events": ["block_foun"] } ] })", "alerts.webhooks[0].events[0]",
         "unknown event \"block_foun\" (known: block_found, block_orphaned, worker_offline, worker_online, "
         "hashrate_drop, node_down, node_unauthorized, node_up)"},
        {R"({ "webhooks": [ { "url": "https://h/x", "events": ["node_up", "node_up"] } ] })",
         "alerts.webhooks[0].events[1]", "\"node_up\" is listed twice"},
        {R"({ "webhooks": [ { "url": "https://h/x", "token": "a b" } ] })", "alerts.webhooks[0].token",
         "must be printable ASCII without spaces, not empty"},
        {R"({ "webhooks": [ { "url": "https://h/x", "headers": { "Host": "evil" } } ] })", "alerts.webhooks[0].headers.Host",
         "is set by solobridge itself; remove it"},
        {R"({ "webhooks": [ { "url": "https://h/x", "format": "ntfy", "headers": { "X-Priority": "1" } } ] })",
         "alerts.webhooks[0].headers.X-Priority",
         "is set by solobridge from the alert (ntfy's title, priority and tags); remove it"},
        {R"({ "webhooks": [ { "url": "https://h/x", "token": "t", "headers": { "authorization": "Basic x" } } ] })",
         "alerts.webhooks[0].headers.authorization", "give either \"token\" or an Authorization header, not both"},
        {R"({ "webhooks": [ { "url": "https://h/x", "headers": { "Bad Header": "v" } } ] })",
         "alerts.webhooks[0].headers.Bad Header", "is not a valid HTTP header name"},
        {R"({ "webhooks": [ { "url": "https://h/x", "headers": { "X-A": "line\r\nX-B: 1" } } ] })",
         "alerts.webhooks[0].headers.X-A", "must be printable ASCII of at most 1024 bytes"},
        {R"({ "webhooks": [ { "url": "https://h/x", "headers": { "X-A": "1", "x-a": "2" } } ] })",
         "alerts.webhooks[0].headers.x-a", "is given twice (header names ignore case)"},
        {R"({ "webhooks": [ { "url": "https://h/x", "headers": { "X-A": 1 } } ] })", "alerts.webhooks[0].headers.X-A",
         "must be a string, not a number"},
        {R"({ "webhooks": [ { "url": "http://h/x", "ca_file": "/ca.pem" } ] })", "alerts.webhooks[0].ca_file",
         "has no effect: the URL is http://, not https://"},
        {R"({ "webhooks": [ { "url": "https://h/x" } ], "min_interval_s": 86401 })", "alerts.min_interval_s",
         "must be between 0 and 86400, not 86401"},
        {R"({ "webhooks": [ { "url": "https://h/x" } ], "min_interval_s": 1.5 })", "alerts.min_interval_s",
         "must be an integer, not a fraction"},
        {R"({ "webhooks": [ { "url": "https://h/x" } ], "hashrate_drop_ratio": 1.5 })", "alerts.hashrate_drop_ratio",
         "must be between 0.01 and 0.99, not 1.5"},
        {R"({ "webhooks": [ { "url": "https://h/x", "events": ["block_found"] } ], "hashrate_drop_ratio": 0.3 })",
         "alerts.hashrate_drop_ratio", "has no effect: no webhook has \"hashrate_drop\" among its events"},
        {R"({ "webhooks": [ { "url": "https://h/x", "retries": 3 } ] })", "alerts.webhooks[0].retries",
         "unknown key (known keys here: url, format, events, token, headers, ca_file)"},
        {R"({ "webhooks": [ { "url": "https://h/x" } ], "email": "me@example.com" })", "alerts.email",
         "unknown key (known keys here: webhooks, min_interval_s, hashrate_drop_ratio)"},
        {R"([])", "alerts", "must be an object, not an array"},
    };
    for (const bad& b : cases) {
        CAPTURE(b.alerts);
        const config_error e = only_error(load_text(with_alerts(b.alerts), "t.json"));
        CHECK(e.path == b.path);
        CHECK(e.message == b.message);
        CHECK(e.at.line >= 2);
    }
}

TEST_CASE("config: the dashboard's keys: auth is required off loopback, every key is read or refused") {
    auto with_http = [](std::string http) { return replace(minimal, R"("chains": [)", "\"http\": " + http + ", \"chains\": ["); };
    auto ok = load_text(with_http(R"({ "listen": "127.0.0.1:8081", "metrics_per_worker": true, "metrics_max_workers": 50,
        "max_connections": 10, "max_websockets": 5 })"), "t.json");
    REQUIRE(ok.value);
    CHECK(ok.value->http.metrics_per_worker);
    CHECK(ok.value->http.metrics_max_workers == 50);
    CHECK(ok.value->http.max_connections == 10);
    CHECK(ok.value->http.max_websockets == 5);
    CHECK(ok.value->http.token.empty());

    const config_error open = only_error(load_text(with_http(R"({ "listen": "0.0.0.0:8080" })"), "t.json"));
    CHECK(open.path == "http.listen");
    CHECK(open.message.find("requires http.token") != std::string::npos);
    auto token = load_text(with_http(R"({ "listen": "0.0.0.0:8080", "token": "0123456789abcdef" })"), "t.json");
    REQUIRE(token.value);
    CHECK(token.value->http.token == "0123456789abcdef");
    auto basic = load_text(with_http(R"({ "listen": "192.0.2.7:8080", "user": "me", "password": "pw" })"), "t.json");
    REQUIRE(basic.value);
    CHECK(basic.value->http.user == "me");
    CHECK(only_error(load_text(with_http(R"({ "listen": "0.0.0.0:8080", "token": "short" })"), "t.json")).path == "http.token");
    CHECK(only_error(load_text(with_http(R"({ "user": "me" })"), "t.json")).path == "http.user");
    CHECK(only_error(load_text(with_http(R"({ "metrics_max_workers": 5 })"), "t.json")).path == "http.metrics_max_workers");
    CHECK(only_error(load_text(with_http(R"({ "enabled": false, "token": "0123456789abcdef" })"), "t.json")).path == "http.token");
    CHECK(only_error(load_text(with_http(R"({ "tokn": "x" })"), "t.json")).path == "http.tokn");
    CHECK(load_text(with_http(R"({ "listen": "[::1]:8080" })"), "t.json").value);
    const config_error name = only_error(load_text(with_http(R"({ "listen": "localhost:8080" })"), "t.json"));
    CHECK(name.path == "http.listen");
    CHECK(name.message == "localhost is not an IP address: the dashboard binds only IP addresses (127.0.0.1:8080 for "
                          "this machine only)");
}

TEST_CASE("config: the statistics' keys are read, bounded and never ignored") {
    auto with_stats = [](std::string st) { return replace(minimal, R"("chains": [)", "\"stats\": " + st + ", \"chains\": ["); };
    auto r = load_text(with_stats(R"({ "history": true, "idle_after_intervals": 4, "offline_after_intervals": 20,
        "default_share_interval_s": 15, "forget_offline_after_s": 7200, "max_workers": 1000, "hashrate_drop_ratio": 0.3,
        "history_workers": 10 })"), "t.json");
    REQUIRE(r.value);
    const auto& s = r.value->stats;
    CHECK(s.history);
    CHECK(s.idle_after_intervals == 4);
    CHECK(s.offline_after_intervals == 20);
    CHECK(s.default_share_interval_s == 15);
    CHECK(s.forget_offline_after_s == 7200);
    CHECK(s.max_workers == 1000);
    CHECK(s.hashrate_drop_ratio == doctest::Approx(0.3));
    CHECK(s.history_workers == 10);
    CHECK(load_text(minimal, "t.json").value->stats.history);
    CHECK(only_error(load_text(with_stats(R"({ "idle_after_intervals": 10, "offline_after_intervals": 5 })"), "t.json")).path ==
          "stats.offline_after_intervals");
    CHECK(only_error(load_text(with_stats(R"({ "history": false, "history_workers": 5 })"), "t.json")).path ==
          "stats.history_workers");
    CHECK(only_error(load_text(with_stats(R"({ "max_workers": 0 })"), "t.json")).path == "stats.max_workers");
    CHECK(only_error(load_text(with_stats(R"({ "hashrate_drop_ratio": 2 })"), "t.json")).path == "stats.hashrate_drop_ratio");
    CHECK(only_error(load_text(with_stats(R"({ "histroy": true })"), "t.json")).path == "stats.histroy");
}
