// Typed node calls: getblocktemplate parameters, getblockchaininfo and the submitblock
// verdicts of Core, bcoin and Ravencoin (shared/reference/node.md §4.4, toolchain.md §4.6).
#include <doctest/doctest.h>

#include <optional>
#include <string>

#include "fake_node.hpp"
#include "rpc_helpers.hpp"
#include "sb/node/internal/json.hpp"
#include "sb/node/node_rpc.hpp"

using namespace sb::node;
using sb::test::answer_result;
using sb::test::fake_action;
using sb::test::fake_node;
using sb::test::fake_request;
using sb::test::http_reply;
using sb::test::io_runner;
using sb::test::settings_for;

namespace {

sb::result<submit_verdict> verdict_of(const char* result_json) {
    rapidjson::Document d;
    d.Parse(result_json);
    REQUIRE(!d.HasParseError());
    return parse_submit_verdict(d);
}

}  // namespace

TEST_CASE("rpc: submitblock verdicts of Core bcoin and Ravencoin") {
    struct row {
        const char* result;
        submit_status status;
        const char* reason;
    };
    // node.md §4.4: Core null / bare reasons; bcoin "rejected: <reason>"; Ravencoin pprpcsb true.
    const row rows[] = {
        {"null", submit_status::accepted, ""},
        {"true", submit_status::accepted, ""},
        {R"("duplicate")", submit_status::duplicate, "duplicate"},
        {R"("rejected: duplicate")", submit_status::duplicate, "duplicate"},
        {R"("duplicate-invalid")", submit_status::duplicate_invalid, "duplicate-invalid"},
        {R"("duplicate-inconclusive")", submit_status::duplicate_inconclusive, "duplicate-inconclusive"},
        {R"("inconclusive")", submit_status::inconclusive, "inconclusive"},
        {R"("inconclusive-not-best-prevblk")", submit_status::inconclusive, "inconclusive-not-best-prevblk"},
        {R"("rejected: high-hash")", submit_status::rejected, "high-hash"},
        {R"("high-hash")", submit_status::rejected, "high-hash"},
        {R"("rejected: bad-prevblk")", submit_status::rejected, "bad-prevblk"},
        {R"x("bad-version(0x00000001)")x", submit_status::rejected, "bad-version(0x00000001)"},
        {R"("rejected")", submit_status::rejected, "rejected"},
        {R"("rejected: ")", submit_status::rejected, "rejected"},
        {R"("")", submit_status::rejected, "rejected"},
        {"false", submit_status::rejected, "false"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.result);
        const auto v = verdict_of(r.result);
        REQUIRE(v);
        CHECK(v->status == r.status);
        CHECK(v->reason == r.reason);
    }
    for (const char* bad : {"1", "[]", R"({"merged":true})", "1.5"}) {
        CAPTURE(bad);
        CHECK(verdict_of(bad).error() == node_errc::bad_reply);
    }
    CHECK(to_string(submit_status::duplicate_invalid) == "duplicate-invalid");
}

TEST_CASE("rpc: getblocktemplate asks for segwit and signet rules and the longpoll capability") {
    CHECK(template_params_json({}) ==
          R"([{"rules":["segwit"],"capabilities":["coinbasevalue","longpoll","proposal"]}])");
    CHECK(template_params_json({true, {}}) ==
          R"([{"rules":["segwit","signet"],"capabilities":["coinbasevalue","longpoll","proposal"]}])");
    CHECK(template_params_json({false, "ab\"cd12"}) ==
          R"([{"rules":["segwit"],"capabilities":["coinbasevalue","longpoll","proposal"],"longpollid":"ab\"cd12"}])");
}

TEST_CASE("rpc: getblockchaininfo fields are read and checked") {
    rapidjson::Document d;
    d.Parse(R"({"chain":"regtest","blocks":432,"headers":432,)"
            R"("bestblockhash":"0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206",)"
            R"("initialblockdownload":false})");
    auto info = parse_blockchain_info(d);
    REQUIRE(info);
    CHECK(info->chain == "regtest");
    CHECK(info->blocks == 432);
    CHECK(info->bestblockhash == "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206");
    CHECK(info->initialblockdownload == std::optional<bool>(false));
    CHECK(info->headers == std::optional<std::uint64_t>(432));

    // bcoin 1.0.2 has no initialblockdownload.
    d.Parse(R"({"chain":"regtest","blocks":0,"bestblockhash":"0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"})");
    info = parse_blockchain_info(d);
    REQUIRE(info);
    CHECK(!info->initialblockdownload);
    CHECK(!info->headers);

    for (const char* bad : {
             R"([])",
             R"({"blocks":1,"bestblockhash":"0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"})",
             R"({"chain":"main","blocks":-1,"bestblockhash":"0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"})",
             R"({"chain":"main","blocks":1,"bestblockhash":"xyz"})",
             R"({"chain":"main","blocks":1,"bestblockhash":"0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206","initialblockdownload":"no"})",
             R"({"chain":"main","blocks":1,"bestblockhash":"0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206","headers":-2})",
         }) {
        CAPTURE(bad);
        d.Parse(bad);
        CHECK(parse_blockchain_info(d).error() == node_errc::bad_reply);
    }
}

TEST_CASE("rpc: the chain names getblockchaininfo reports per network") {
    // Core chainparams (CChainParams::GetChainTypeString), Ravencoin's, and bcoin's (toolchain.md §4.6).
    CHECK(rpc_chain_name(sb::network::bitcoin_mainnet) == "main");
    CHECK(rpc_chain_name(sb::network::bitcoin_testnet3) == "test");
    CHECK(rpc_chain_name(sb::network::bitcoin_testnet4) == "testnet4");
    CHECK(rpc_chain_name(sb::network::bitcoin_signet) == "signet");
    CHECK(rpc_chain_name(sb::network::bitcoin_regtest) == "regtest");
    CHECK(rpc_chain_name(sb::network::ravencoin_mainnet) == "main");
    CHECK(rpc_chain_name(sb::network::ravencoin_testnet) == "test");
    CHECK(rpc_chain_name(sb::network::ravencoin_regtest) == "regtest");
}

TEST_CASE("rpc: block proposal verdicts and the proposal request") {
    CHECK(proposal_params_json("00ff") == R"([{"mode":"proposal","data":"00ff"}])");
    struct row {
        const char* result;
        bool valid;
        const char* reason;
    };
    // BIP23 / node.md §4.1: null is valid; Core gives bare reasons, bcoin's proposal mode too.
    const row rows[] = {
        {"null", true, ""},
        {R"("bad-txnmrklroot")", false, "bad-txnmrklroot"},
        {R"("bad-cb-height")", false, "bad-cb-height"},
        {R"("inconclusive-not-best-prevblk")", false, "inconclusive-not-best-prevblk"},
        {R"("duplicate")", false, "duplicate"},
        {R"("rejected: bad-diffbits")", false, "bad-diffbits"},
        {R"("")", false, "rejected"},
        {"\"bad\\u0001reason\"", false, "bad?reason"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.result);
        rapidjson::Document d;
        d.Parse(r.result);
        REQUIRE(!d.HasParseError());
        const auto v = parse_proposal_verdict(d);
        REQUIRE(v);
        CHECK(v->valid == r.valid);
        CHECK(v->reason == r.reason);
    }
    for (const char* bad : {"true", "1", "[]", "{}"}) {
        CAPTURE(bad);
        rapidjson::Document d;
        d.Parse(bad);
        CHECK(parse_proposal_verdict(d).error() == node_errc::bad_reply);
    }
    // Node answers that mean "no proposal mode here" (Core and bcoin: -8 "Invalid mode";
    // a node without the method: -32601), and ones that do not.
    CHECK(proposal_unsupported({node_errc::rpc_error, -8, "Invalid mode."}));
    CHECK(proposal_unsupported({node_errc::rpc_error, -32601, "Method not found"}));
    CHECK_FALSE(proposal_unsupported({node_errc::rpc_error, -22, "Block decode failed"}));
    CHECK_FALSE(proposal_unsupported({node_errc::rpc_error, -8, "Invalid parameter"}));
    CHECK_FALSE(proposal_unsupported({node_errc::timeout, 0, "no reply"}));
}

TEST_CASE("rpc: a proposal over HTTP gives the verdict and keeps RPC errors apart") {
    fake_node node([](const fake_request& r) {
        if (r.params_json == R"([{"mode":"proposal","data":"aa"}])") return answer_result(r, "null");
        if (r.params_json == R"([{"mode":"proposal","data":"bb"}])") return answer_result(r, R"("bad-txnmrklroot")");
        return fake_action{http_reply(500, sb::test::rpc_error_body(r.id_json, -8, "Invalid mode."))};
    });
    io_runner io;
    rpc_client client(io.executor(), settings_for(node));
    auto propose = [&](const std::string& hex) {
        std::optional<rpc_result<proposal_verdict>> out;
        propose_block(client, hex, [&](rpc_result<proposal_verdict> r) { out = std::move(r); });
        REQUIRE(io.run_until([&] { return out.has_value(); }));
        return *out;
    };
    const auto valid = propose("aa");
    REQUIRE(valid.ok());
    CHECK(valid.value.valid);
    const auto refused = propose("bb");
    REQUIRE(refused.ok());
    CHECK_FALSE(refused.value.valid);
    CHECK(refused.value.reason == "bad-txnmrklroot");
    const auto unsupported = propose("cc");
    REQUIRE_FALSE(unsupported.ok());
    CHECK(proposal_unsupported(unsupported.error));
    CHECK(node.requests()[0].method == "getblocktemplate");
}

TEST_CASE("rpc: submitblock over HTTP keeps RPC errors apart from verdicts") {
    fake_node node([](const fake_request& r) {
        if (r.params_json == R"(["zz"])")
            return fake_action{http_reply(500, sb::test::rpc_error_body(r.id_json, -22, "Block decode failed"))};
        if (r.params_json == R"(["00"])") return answer_result(r, R"("rejected: high-hash")");
        return answer_result(r, "null");
    });
    io_runner io;
    rpc_client client(io.executor(), settings_for(node));
    auto submit = [&](const std::string& hex) {
        std::optional<rpc_result<submit_verdict>> out;
        submitblock(client, hex, [&](rpc_result<submit_verdict> r) { out = std::move(r); });
        REQUIRE(io.run_until([&] { return out.has_value(); }));
        return *out;
    };
    const auto accepted = submit("0102");
    REQUIRE(accepted.ok());
    CHECK(accepted.value.status == submit_status::accepted);
    const auto rejected = submit("00");
    REQUIRE(rejected.ok());
    CHECK(rejected.value.status == submit_status::rejected);
    CHECK(rejected.value.reason == "high-hash");
    const auto decode = submit("zz");
    CHECK(decode.error.code == node_errc::rpc_error);
    CHECK(decode.error.rpc_code == -22);
    CHECK(node.requests()[0].method == "submitblock");
    // Hex goes out quoted as is; anything else is escaped (a quote cannot break the JSON).
    CHECK(node.requests()[0].params_json == R"(["0102"])");
    submit("q\"x");
    CHECK(node.requests().back().params_json == R"(["q\"x"])");
}

TEST_CASE("rpc: getblockchaininfo and getblocktemplate over HTTP") {
    fake_node node([](const fake_request& r) {
        if (r.method == "getblockchaininfo")
            return answer_result(r, R"({"chain":"main","blocks":840000,)"
                                    R"("bestblockhash":"0000000000000000000320283a032748cef8227873ff4872689bf23f1cda83a5",)"
                                    R"("initialblockdownload":false})");
        return answer_result(r, R"({"height":840001,"longpollid":"lp"})");
    });
    io_runner io;
    rpc_client client(io.executor(), settings_for(node));
    std::optional<rpc_result<blockchain_info>> info;
    getblockchaininfo(client, [&](rpc_result<blockchain_info> r) { info = std::move(r); });
    std::optional<rpc_reply> gbt;
    getblocktemplate(client, {true, {}}, [&](rpc_reply r) { gbt = std::move(r); });
    REQUIRE(io.run_until([&] { return info.has_value() && gbt.has_value(); }));
    REQUIRE(info->ok());
    CHECK(info->value.blocks == 840000);
    REQUIRE(gbt->ok());
    CHECK(json_of(gbt->value)["height"].GetInt() == 840001);
    const auto reqs = node.requests();
    REQUIRE(reqs.size() == 2);
    CHECK(reqs[1].params_json ==
          R"([{"rules":["segwit","signet"],"capabilities":["coinbasevalue","longpoll","proposal"]}])");
}
