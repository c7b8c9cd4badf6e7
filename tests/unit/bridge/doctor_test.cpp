// `solobridge doctor` against the scripted node, for what the real bcoin node cannot show:
// a node without proposal mode, a tip that keeps moving under the fire drill, a node in
// initial block download, a node of another coin, and the KAWPOW fire drill of a
// Ravencoin chain (its block shape only: no Ravencoin node runs in these tests). The real
// node's answers are covered by tests/integration/doctor_test.cpp.
#include <doctest/doctest.h>

#include <string>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "doctor/doctor.hpp"
#include "fake_node.hpp"
#include "sb/config/config.hpp"
#include "sb/core/hex.hpp"
#include "sb/core/ravencoin.hpp"
#include "sb/gpu/device.hpp"
#include "vectors.hpp"

using namespace sb;
namespace doctor = sb::bridge::doctor;
using test::fake_action;
using test::fake_request;

namespace {

std::string member_json(const char* file, const char* member) {
    const rapidjson::Document d = test::vector_member_copy(file, member);
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    d.Accept(w);
    return buf.GetString();
}

// A chain without listeners (nothing to bind) on the scripted node.
config::settings settings_for(const test::fake_node& node, const std::string& network, const std::string& payout_json,
                              const std::string& http_json = R"({ "enabled": false })",
                              const std::string& stratum_json = "[]") {
    const std::string text = R"({ "http": )" + http_json + R"(, "chains": [ { "id": "c", "network": ")" + network +
                             R"(", "nodes": [ { "rpc_url": ")" + node.url() +
                             R"(", "rpc_user": "u", "rpc_password": "p", "rpc_timeout_ms": 5000 } ], "payout": )" +
                             payout_json + R"(, "stratum": )" + stratum_json + " } ] }";
    auto r = config::load_text(text, "t.json");
    REQUIRE_MESSAGE(r.value, (r.errors.empty() ? std::string() : r.errors[0].to_string()));
    return *r.value;
}

const char* const regtest_payout = R"({ "address": "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080" })";

struct node_answers {
    std::string chain = "regtest";
    std::string genesis = to_hex_reversed(params(network::bitcoin_regtest).genesis_hash);
    std::string blockchain_extra;  // more getblockchaininfo members, each followed by a comma
    std::string template_json = member_json("getblocktemplate.json", "bcoin_presegwit");
    // The answer to a proposal: HTTP 200 with this result, unless proposal_error_code.
    std::string proposal_result = "null";
    int proposal_error_code = 0;
    std::string proposal_error_message;
    int template_error_code = 0;
    std::string template_error_message;
};

test::fake_script script_for(node_answers a) {
    return [a](const fake_request& r) -> fake_action {
        if (r.method == "getblockchaininfo")
            return test::answer_result(r, R"({"chain":")" + a.chain + R"(","blocks":100,)" + a.blockchain_extra +
                                              R"("bestblockhash":")" + std::string(64, 'a') + "\"}");
        if (r.method == "getblockhash") return test::answer_result(r, "\"" + a.genesis + "\"");
        if (r.method == "getblocktemplate" && r.params_json.find("\"proposal\"") != std::string::npos &&
            r.params_json.find("\"mode\"") != std::string::npos) {
            if (a.proposal_error_code != 0)
                return {test::http_reply(500, test::rpc_error_body(r.id_json, a.proposal_error_code, a.proposal_error_message))};
            return test::answer_result(r, a.proposal_result);
        }
        if (r.method == "getblocktemplate") {
            if (a.template_error_code != 0)
                return {test::http_reply(500, test::rpc_error_body(r.id_json, a.template_error_code, a.template_error_message))};
            return test::answer_result(r, a.template_json);
        }
        return {test::http_reply(500, test::rpc_error_body(r.id_json, -32601, "Method not found"))};
    };
}

doctor::report examine(const config::settings& s) {
    doctor::options o;
    o.reach_timeout = std::chrono::seconds(3);
    return doctor::examine(s, o);
}

std::string lines_of(const doctor::report& r) {
    std::string out;
    for (const auto& c : r.checks) out += doctor::format_check(c) + "\n";
    return out;
}

// The dataset of a KAWPOW epoch, in MiB as the doctor prints it (kawpow.json).
std::string dataset_mib(int epoch) {
    for (const auto& v : test::vector_json("kawpow.json")["dataset_sizes"].GetArray())
        if (v["epoch"].GetInt() == epoch) return std::to_string(v["full_dataset_bytes"].GetUint64() >> 20);
    FAIL("kawpow.json has no dataset size for epoch " << epoch);
    return {};
}

const doctor::check& find_check(const doctor::report& r, const std::string& text) {
    for (const auto& c : r.checks)
        if (c.finding.find(text) != std::string::npos) return c;
    FAIL("no check says '" << text << "':\n" << lines_of(r));
    return r.checks.front();
}

// The data of each proposal the node received, decoded.
std::vector<bytes> proposals(const test::fake_node& node) {
    std::vector<bytes> out;
    for (const auto& r : node.requests()) {
        const auto at = r.params_json.find(R"("data":")");
        if (r.method != "getblocktemplate" || at == std::string::npos) continue;
        const auto start = at + 8;
        auto b = from_hex(std::string_view(r.params_json).substr(start, r.params_json.find('"', start) - start));
        REQUIRE(b);
        out.push_back(std::move(*b));
    }
    return out;
}

}  // namespace

TEST_CASE("doctor: a node without proposal mode gives a warn line that says so, not a pass") {
    node_answers a;
    a.proposal_error_code = -8;
    a.proposal_error_message = "Invalid mode.";
    test::fake_node node(script_for(a));
    const auto r = examine(settings_for(node, "bitcoin-regtest", regtest_payout));
    INFO(lines_of(r));
    const auto& drill = find_check(r, "fire drill");
    CHECK(drill.result == doctor::outcome::warn);
    CHECK(drill.finding.find("does not support block proposals") != std::string::npos);
    CHECK(drill.finding.find("Invalid mode.") != std::string::npos);
    CHECK(r.ready());  // nothing is known to be wrong
    CHECK(r.count(doctor::outcome::warn) == 1);
    // The block was really offered: one proposal whose header builds on the template's parent.
    const auto p = proposals(node);
    REQUIRE(p.size() == 1);
    REQUIRE(p[0].size() > 80);
    CHECK(to_hex_reversed(byte_span(p[0]).subspan(4, 32)) == "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206");
}

TEST_CASE("doctor: a tip that moves under the fire drill fetches fresh templates, then warns") {
    node_answers a;
    a.proposal_result = R"("inconclusive-not-best-prevblk")";
    test::fake_node node(script_for(a));
    const auto r = examine(settings_for(node, "bitcoin-regtest", regtest_payout));
    INFO(lines_of(r));
    const auto& drill = find_check(r, "fire drill");
    CHECK(drill.result == doctor::outcome::warn);
    CHECK(drill.finding.find("the tip moved during each of 3 tries") != std::string::npos);
    CHECK(proposals(node).size() == doctor::max_drill_attempts);
    std::size_t templates = 0;
    for (const auto& q : node.requests())
        if (q.method == "getblocktemplate" && q.params_json.find("\"rules\"") != std::string::npos) ++templates;
    CHECK(templates == doctor::max_drill_attempts);
}

TEST_CASE("doctor: initial block download fails where blocks count and warns on regtest") {
    SUBCASE("mainnet: a block on a stale tip would be lost") {
        node_answers a;
        a.chain = "main";
        a.genesis = to_hex_reversed(params(network::bitcoin_mainnet).genesis_hash);
        a.blockchain_extra = R"("headers":100,"initialblockdownload":true,)";
        a.template_error_code = -10;
        a.template_error_message = "Bitcoin Core is in initial sync and waiting for blocks...";
        test::fake_node node(script_for(a));
        const auto r = examine(settings_for(node, "bitcoin-mainnet", R"({ "address": "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4" })"));
        INFO(lines_of(r));
        CHECK(find_check(r, "in initial block download").result == doctor::outcome::fail);
        const auto& gbt = find_check(r, "getblocktemplate with rules");
        CHECK(gbt.result == doctor::outcome::fail);
        CHECK(gbt.fix.find("wait until it is synced") != std::string::npos);
        CHECK(find_check(r, "fire drill").result == doctor::outcome::skip);
        CHECK_FALSE(r.ready());
    }
    SUBCASE("regtest: an old tip is normal") {
        node_answers a;
        a.blockchain_extra = R"("headers":100,"initialblockdownload":true,)";
        test::fake_node node(script_for(a));
        const auto r = examine(settings_for(node, "bitcoin-regtest", regtest_payout));
        INFO(lines_of(r));
        CHECK(find_check(r, "initial block download").result == doctor::outcome::warn);
        CHECK(r.ready());
    }
    SUBCASE("headers far ahead of blocks") {
        node_answers a;
        a.blockchain_extra = R"("headers":5000,"initialblockdownload":false,)";
        test::fake_node node(script_for(a));
        const auto r = examine(settings_for(node, "bitcoin-regtest", regtest_payout));
        INFO(lines_of(r));
        CHECK(find_check(r, "still syncing: 100 blocks of 5000 headers").result == doctor::outcome::fail);
    }
}

TEST_CASE("doctor: a node of another coin is caught by its genesis block") {
    node_answers a;  // a Bitcoin regtest node
    test::fake_node node(script_for(a));
    const auto r = examine(settings_for(node, "ravencoin-regtest", R"({ "mode": "address-username" })"));
    INFO(lines_of(r));
    const auto& net = find_check(r, "genesis block");
    CHECK(net.result == doctor::outcome::fail);
    CHECK(net.finding.find("is not ravencoin-regtest's") != std::string::npos);
    CHECK(find_check(r, "fire drill").result == doctor::outcome::skip);
}

TEST_CASE("doctor: a Ravencoin fire drill proposes the KAWPOW block the dispatcher would submit") {
    node_answers a;
    a.genesis = to_hex_reversed(params(network::ravencoin_regtest).genesis_hash);
    a.template_json = member_json("ravencoin.json", "getblocktemplate_kawpow_with_tx");
    test::fake_node node(script_for(a));
    const auto r = examine(settings_for(node, "ravencoin-regtest", R"({ "mode": "address-username" })"));
    INFO(lines_of(r));
    const auto& drill = find_check(r, "fire drill");
    CHECK(drill.result == doctor::outcome::ok);
    CHECK(drill.finding.find("at height 259") != std::string::npos);
    CHECK(drill.finding.find("a stand-in script") != std::string::npos);
    REQUIRE(r.drills.size() == 1);
    CHECK(r.drills[0].kawpow);
    const auto p = proposals(node);
    REQUIRE(p.size() == 1);
    REQUIRE(p[0].size() > ravencoin::kawpow_header_size);
    const auto h = ravencoin::parse_kawpow_header(
        std::span<const std::uint8_t, ravencoin::kawpow_header_size>(p[0].data(), ravencoin::kawpow_header_size));
    CHECK(h.height == 259);
    CHECK(h.nonce64 == 0);
    CHECK(h.mix_hash == hash256{});
    CHECK(to_hex_reversed(h.prev_block) == "39d67d23c25a494ba41883a6abe267ce692eb08d0668d58e8756a991974b8c03");
}

TEST_CASE("doctor: the dashboard listener must be an IP address, as the dashboard binds no names") {
    test::fake_node node(script_for(node_answers{}));
    // The config refuses such a listener too (config_test); the doctor checks the settings
    // it is handed as well.
    config::settings s = settings_for(node, "bitcoin-regtest", regtest_payout, R"({ "listen": "127.0.0.1:18089" })");
    s.http.listen.host = "localhost";
    const auto r = examine(s);
    INFO(lines_of(r));
    const auto& http = find_check(r, "is not an IP address");
    CHECK(http.result == doctor::outcome::fail);
    CHECK(http.subject == "http localhost:18089");
    CHECK(http.fix.find("127.0.0.1:18089") != std::string::npos);
    CHECK(r.count(doctor::outcome::fail) == 1);
}

TEST_CASE("doctor: a TLS listener whose certificate cannot be loaded fails as the server would") {
    test::fake_node node(script_for(node_answers{}));
    const auto r = examine(settings_for(
        node, "bitcoin-regtest", regtest_payout, R"({ "enabled": false })",
        R"([ { "listen": "127.0.0.1:18090", "tls": { "cert_file": "/nonexistent/cert.pem", "key_file": "/nonexistent/key.pem" } } ])"));
    INFO(lines_of(r));
    const auto& tls = find_check(r, "TLS certificate or key cannot be used");
    CHECK(tls.result == doctor::outcome::fail);
    CHECK(tls.subject == "[c] stratum+tls 127.0.0.1:18090");
    CHECK(tls.fix.find("/nonexistent/cert.pem") != std::string::npos);
}

TEST_CASE("doctor: a Ravencoin chain's devices are opened for KAWPOW and say which epochs fit") {
    node_answers a;
    a.genesis = to_hex_reversed(params(network::ravencoin_regtest).genesis_hash);
    a.template_json = member_json("ravencoin.json", "getblocktemplate_kawpow_with_tx");
    test::fake_node node(script_for(a));
    auto s = settings_for(node, "ravencoin-regtest", R"({ "address": "mpXwg4jMtRhuSpVq4xS3HFHmCmWp9NyGKt" })");
    s.chains[0].devices.push_back({"opencl:999"});
    bool have_opencl = false;
    for (const auto& d : gpu::discover_devices().devices) have_opencl |= d.id == "opencl:0";
    if (have_opencl) s.chains[0].devices.push_back({"opencl:0"});
    const auto r = examine(s);
    INFO(lines_of(r));
    const auto& missing = find_check(r, "cannot be used for KAWPOW");
    CHECK(missing.result == doctor::outcome::fail);
    CHECK(missing.subject == "[c] device opencl:999");
    if (have_opencl) {
        const auto& ok = find_check(r, "opened for KAWPOW");
        CHECK(ok.result == doctor::outcome::ok);
        CHECK(ok.subject == "[c] device opencl:0");
        CHECK(ok.finding.find("datasets up to epoch ") != std::string::npos);
        // The template's height (the next block) decides the epoch the device must hold.
        const auto& fit = find_check(r, "the dataset fits");
        CHECK(fit.subject == "[c] device opencl:0");
        CHECK(fit.result == doctor::outcome::ok);
        CHECK(fit.finding.find("(epoch 0, dataset " + dataset_mib(0) + " MiB) the dataset fits") != std::string::npos);
    } else {
        MESSAGE("no OpenCL device here: only the missing device is checked");
    }
}


TEST_CASE("doctor: a KAWPOW device is checked against the epoch of the chain's next block") {
    // Epoch 14 starts at block 105,000 (7,500 blocks an epoch); Ravencoin mines a block a minute.
    const std::int64_t spacing = params(network::ravencoin_mainnet).target_spacing_s;
    REQUIRE(spacing == 60);
    const std::string mib14 = dataset_mib(14);

    const auto too_small = doctor::kawpow_epoch_fit(105'000, 13, spacing);
    CHECK(too_small.result == doctor::outcome::fail);
    CHECK(too_small.finding.find("at height 105000 (epoch 14, dataset " + mib14 + " MiB)") == 0);
    CHECK(too_small.finding.find("up to epoch 13, which ended at block 104999") != std::string::npos);
    CHECK(too_small.fix.find("cannot mine this chain") != std::string::npos);

    const auto soon = doctor::kawpow_epoch_fit(105'000, 17, spacing);
    CHECK(soon.result == doctor::outcome::warn);
    CHECK(soon.finding.find("the last block it can mine is 134999 (epoch 17), 30000 blocks away (about 20 days)") !=
          std::string::npos);
    CHECK(soon.fix == "plan for a device with more memory before block 135000");

    const auto plenty = doctor::kawpow_epoch_fit(105'000, 14 + doctor::kawpow_epoch_headroom_warn, spacing);
    CHECK(plenty.result == doctor::outcome::ok);
    CHECK(plenty.finding.find("157499 (epoch 20), 52500 blocks away (about 36 days)") != std::string::npos);
    CHECK(plenty.fix.empty());

    // The last block of the last epoch that fits, and the one after it.
    const auto last = doctor::kawpow_epoch_fit(134'999, 17, spacing);
    CHECK(last.result == doctor::outcome::warn);
    CHECK(last.finding.find("1 block away (about 0 days)") != std::string::npos);
    CHECK(doctor::kawpow_epoch_fit(135'000, 17, spacing).result == doctor::outcome::fail);
}
