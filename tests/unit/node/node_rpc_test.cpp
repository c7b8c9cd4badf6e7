// Typed node calls: getblocktemplate parameters, getblockchaininfo and the submitblock
// verdicts of Core, bcoin and Ravencoin (shared/reference/node.md §4.4, toolchain.md §4.6).
#include <doctest/doctest.h>

#include <sys/socket.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include "fake_node.hpp"
#include "rpc_helpers.hpp"
#include "sb/core/hex.hpp"
#include "sb/node/internal/json.hpp"
#include "sb/node/node_rpc.hpp"
#include "seed.hpp"

using namespace sb::node;
using sb::test::answer_result;
using sb::test::fake_action;
using sb::test::fake_node;
using sb::test::fake_request;
using sb::test::http_reply;
using sb::test::io_runner;
using sb::test::settings_for;

namespace {

// An HTTP server on 127.0.0.1 that keeps each request exactly as its bytes arrived (request
// line, header and body) and answers each with submitblock's null: what goes on the wire,
// compared byte for byte. One blocking thread per connection.
class wire_recorder {
public:
    wire_recorder()
        : acceptor_(ctx_, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
        accept_thread_ = std::thread([this] { accept_loop(); });
    }
    ~wire_recorder() {
        ::shutdown(acceptor_.native_handle(), SHUT_RDWR);  // wakes the blocked accept
        accept_thread_.join();
        {
            std::lock_guard lock(mu_);
            for (auto& s : sockets_) ::shutdown(s->native_handle(), SHUT_RDWR);
        }
        for (auto& t : threads_) t.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/"; }
    std::vector<std::string> requests() const {
        std::lock_guard lock(mu_);
        return requests_;
    }

private:
    void accept_loop() {
        for (;;) {
            auto s = std::make_shared<boost::asio::ip::tcp::socket>(ctx_);
            boost::system::error_code ec;
            acceptor_.accept(*s, ec);
            if (ec) return;
            std::lock_guard lock(mu_);
            sockets_.push_back(s);
            threads_.emplace_back([this, s] { serve(*s); });
        }
    }

    void serve(boost::asio::ip::tcp::socket& s) {
        std::string buf;
        std::vector<char> chunk(1 << 16);
        for (;;) {
            boost::system::error_code ec;
            const std::size_t n = s.read_some(boost::asio::buffer(chunk), ec);
            if (ec) return;
            buf.append(chunk.data(), n);
            for (;;) {
                const std::size_t end = buf.find("\r\n\r\n");
                if (end == std::string::npos) break;
                const std::size_t at = buf.find("Content-Length: ");
                if (at > end) return;  // not a request the client sends: the test sees it missing
                const std::size_t length = std::strtoull(buf.c_str() + at + 16, nullptr, 10);
                if (buf.size() < end + 4 + length) break;
                std::string request = buf.substr(0, end + 4 + length);
                buf.erase(0, end + 4 + length);
                const std::size_t id_at = request.find("\"id\":", end);
                const std::string id = std::to_string(std::strtoull(request.c_str() + id_at + 5, nullptr, 10));
                {
                    std::lock_guard lock(mu_);
                    requests_.push_back(std::move(request));
                }
                const std::string reply = http_reply(200, sb::test::rpc_result_body(id, "null"));
                boost::asio::write(s, boost::asio::buffer(reply), ec);
                if (ec) return;
            }
        }
    }

    boost::asio::io_context ctx_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::thread accept_thread_;
    mutable std::mutex mu_;
    std::vector<std::shared_ptr<boost::asio::ip::tcp::socket>> sockets_;
    std::vector<std::thread> threads_;
    std::vector<std::string> requests_;
};

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

TEST_CASE("rpc: a streamed submitblock puts the plain call's bytes on the wire, for every node sharing its hex") {
    auto rng = sb::test::seeded_rng(0xb10c);
    constexpr std::size_t chunk = block_hex_chunk_bytes;
    for (const std::size_t size : {std::size_t(0), std::size_t(1), chunk - 1, chunk, chunk + 1, std::size_t(1'000'000)}) {
        CAPTURE(size);
        sb::bytes block(size);
        for (auto& b : block) b = static_cast<std::uint8_t>(rng());
        wire_recorder node;
        io_runner io;
        rpc_settings settings;
        settings.url = node.url();
        settings.user = "u";
        settings.password = "p";
        // One client per call: each starts at id 1, so the requests can be the same bytes.
        rpc_client plain(io.executor(), settings), first(io.executor(), settings), second(io.executor(), settings);
        int answers = 0;
        auto count = [&](rpc_result<submit_verdict> r) {
            CHECK(r.ok());
            ++answers;
        };
        // The call as it was before streaming: the whole hex built first.
        submitblock(plain, sb::to_hex(block), count);
        REQUIRE(io.run_until([&] { return answers == 1; }));
        // Two nodes' streams of one block_hex at once, each its own connection.
        auto hex = std::make_shared<block_hex>(std::make_shared<const sb::bytes>(block));
        std::optional<request_written> written;
        call_options with_timeline;
        with_timeline.on_written = [&](const request_written& w) { written = w; };
        submitblock(first, hex, count, with_timeline);
        submitblock(second, hex, count);
        REQUIRE(io.run_until([&] { return answers == 3; }));
        const auto wire = node.requests();
        REQUIRE(wire.size() == 3);
        CHECK(wire[1] == wire[0]);
        CHECK(wire[2] == wire[0]);
        // The plain call's bytes themselves: the JSON-RPC body, and its exact length announced.
        const std::string body =
            R"({"jsonrpc":"1.0","id":1,"method":"submitblock","params":[")" + sb::to_hex(block) + "\"]}";
        CHECK(wire[0].starts_with("POST / HTTP/1.1\r\n"));
        CHECK(wire[0].find("\r\nContent-Length: " + std::to_string(body.size()) + "\r\n") != std::string::npos);
        CHECK(wire[0].ends_with("\r\n\r\n" + body));
        CHECK(hex->encoded() == 2 * size);
        REQUIRE(written);
        CHECK(written->bytes == wire[1].size());
        CHECK(written->first_write <= written->last_write);
    }
}

TEST_CASE("rpc: the block's hex is encoded a chunk at a time, as the stream reads it") {
    sb::bytes block(3 * block_hex_chunk_bytes + 5);
    for (std::size_t i = 0; i < block.size(); ++i) block[i] = static_cast<std::uint8_t>(i * 7);
    block_hex hex(std::make_shared<const sb::bytes>(block));
    const std::string expected = sb::to_hex(block);
    constexpr std::size_t chunk = 2 * block_hex_chunk_bytes;
    CHECK(hex.size() == expected.size());
    CHECK(hex.encoded() == 0);
    CHECK(hex.read(0) == std::string_view(expected).substr(0, chunk));
    CHECK(hex.encoded() == chunk);
    // From the middle of a chunk: to its end.
    CHECK(hex.read(chunk + 10) == std::string_view(expected).substr(chunk + 10, chunk - 10));
    CHECK(hex.encoded() == 2 * chunk);
    // Past what is encoded: everything before it is encoded too; the last chunk is short.
    CHECK(hex.read(3 * chunk + 1) == std::string_view(expected).substr(3 * chunk + 1));
    CHECK(hex.encoded() == expected.size());
    CHECK(hex.read(0) == std::string_view(expected).substr(0, chunk));
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
