// The KAWPOW Stratum dialect without sockets (stratum.md §5), driven the way kawpowminer,
// XMRig and T-Rex talk, against the real dispatcher with Ravencoin regtest templates from
// ravencoin.json: subscribe result shape, set_target before notify, notify params (height
// a JSON integer, target 64 hex), submit parsing with and without "0x", verdicts that
// come back from the verification step, and the bound on submits awaiting verification.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "dispatch/dispatcher.hpp"
#include "fake_node.hpp"  // io_runner
#include "dispatch/job.hpp"
#include "sb/core/hex.hpp"
#include "sb/core/pow.hpp"
#include "sb/core/uint256.hpp"
#include "sb/pow/ethash.hpp"
#include "sb/pow/kawpow.hpp"
#include "sb/node/internal/json.hpp"
#include "sb/node/template.hpp"
#include "stratum/dispatcher_source.hpp"
#include "stratum/kawpow_protocol.hpp"
#include "stratum/protocol_common.hpp"
#include "stratum_test_support.hpp"
#include "vectors.hpp"

using namespace sb;
using namespace sb::bridge;
using namespace sb::bridge::stratum;

namespace {

class null_consumer final : public work_consumer {
public:
    void on_job(std::shared_ptr<const job>) override {}
};

// fees: added to coinbasevalue (a later template of the same tip; an equal one makes no job).
// bits: other than 0, the template's bits and target (regtest's are 207fffff).
std::shared_ptr<const node::block_template> raven_tmpl(int prev_tag = 0, std::int64_t fees = 0,
                                                       std::uint32_t bits = 0) {
    rapidjson::Document d = test::vector_member_copy("ravencoin.json", "getblocktemplate_kawpow_with_tx");
    d["coinbasevalue"].SetInt64(d["coinbasevalue"].GetInt64() + fees);
    if (bits != 0) {
        const std::string b = u32_to_stratum_hex(bits), t = compact_to_target(bits).target.to_hex();
        d["bits"].SetString(b.c_str(), d.GetAllocator());
        d["target"].SetString(t.c_str(), d.GetAllocator());
    }
    if (prev_tag != 0) {
        std::string h(64, '0');
        h[63] = static_cast<char>('0' + prev_tag);
        d["previousblockhash"].SetString(h.c_str(), d.GetAllocator());
    }
    auto t = node::parse_block_template(d, params(network::ravencoin_regtest));
    REQUIRE_MESSAGE(t, t.error().message());
    return std::make_shared<const node::block_template>(std::move(*t));
}

rapidjson::Document json(const std::string& line) {
    rapidjson::Document d;
    d.Parse(line.c_str());
    REQUIRE_MESSAGE(d.IsObject(), line);
    return d;
}

std::string method_of(const std::string& line) {
    auto d = json(line);
    return d.HasMember("method") && d["method"].IsString() ? d["method"].GetString() : "";
}

struct harness {
    test::io_runner io;
    std::mutex mu;
    std::vector<found_block> blocks;
    std::shared_ptr<dispatcher> disp;
    dispatcher_source src;
    kawpow_session_protocol::clock::time_point now{};
    kawpow_session_protocol p;
    std::string closed;

    explicit harness(config::payout_mode mode = config::payout_mode::fixed_address, double initial = 0.0001,
                     double min = 1e-12)
        : disp(std::make_shared<dispatcher>(io.executor(), params(network::ravencoin_regtest), options(mode),
                                            [this](found_block b) {
                                                std::lock_guard lock(mu);
                                                blocks.push_back(std::move(b));
                                            })),
          src(disp),
          p(src, std::make_shared<null_consumer>(), settings(mode, initial, min), now) {
        REQUIRE_FALSE(disp->on_template(raven_tmpl()));
    }

    static dispatcher_options options(config::payout_mode mode) {
        dispatcher_options o;
        o.payout_mode = mode;
        o.fixed_payout_script = *from_hex("76a914000000000000000000000000000000000000000188ac");
        o.log = [](std::string_view) {};
        return o;
    }
    static session_settings settings(config::payout_mode mode, double initial, double min) {
        session_settings s;
        s.payout = mode;
        s.net = network::ravencoin_regtest;
        s.difficulty.initial = initial;
        s.difficulty.min = min;
        return s;
    }

    // Sends a line; pending submits are verified at once, as the server's verification
    // pool would, and their verdicts appended in order.
    std::vector<std::string> send(const std::string& line) {
        kawpow_session_protocol::output out;
        p.on_line(line, now, out);
        closed = out.close_reason;
        auto pending = std::move(out.verify);
        out.verify.clear();
        for (const auto& v : pending) p.on_verdict(v, src.submit_kawpow_share(v.consumer, v.share), now, out);
        return test::texts(out.lines);
    }
    // Sends a line and leaves its submits pending.
    kawpow_session_protocol::output send_unverified(const std::string& line) {
        kawpow_session_protocol::output out;
        p.on_line(line, now, out);
        return out;
    }
    std::size_t block_count() {
        std::lock_guard lock(mu);
        return blocks.size();
    }
};

const pow::ethash::epoch_context& epoch0() {
    static const auto ctx = pow::ethash::global_epoch_cache().get(0);
    return *ctx;
}

struct notified_job {
    std::string id;
    hash256 header_hash{};
    std::uint32_t height = 0;
    uint256 target;
    std::string nbits;  // the network bits, 8 hex digits
};

notified_job read_notify(const std::string& line) {
    auto d = json(line);
    REQUIRE(std::string(d["method"].GetString()) == "mining.notify");
    const auto& a = d["params"];
    REQUIRE(a.Size() == 7);
    notified_job n;
    n.nbits = a[6].GetString();
    n.id = a[0].GetString();
    n.header_hash = *from_hex_fixed<32>(a[1].GetString());
    REQUIRE(a[5].IsUint());  // a JSON integer, not a string (kawpowminer asInt64)
    n.height = a[5].GetUint();
    n.target = *uint256::from_hex(a[3].GetString());
    return n;
}

// A nonce with the session's prefix whose final hash meets `target` (and is or is not a
// block, as asked), with its mix.
std::pair<std::uint64_t, pow::kawpow::hash_result> mine(const notified_job& n, std::uint16_t prefix,
                                                       bool want_block) {
    const auto block_target = compact_to_target(static_cast<std::uint32_t>(std::stoul(n.nbits, nullptr, 16))).target;
    for (std::uint64_t i = 0; i < 300; ++i) {
        const std::uint64_t nonce = (std::uint64_t{prefix} << 48) | i;
        const auto h = pow::kawpow::hash(epoch0(), n.height, n.header_hash, nonce);
        const uint256 v = uint256::from_be_bytes(h.final_hash.data());
        if (v <= n.target && (v <= block_target) == want_block) return {nonce, h};
    }
    FAIL("no nonce");
    return {};
}

std::string hex16(std::uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

}  // namespace

TEST_CASE("kawpow stratum: a kawpowminer session gets the prefix then set_target and a clean notify") {
    harness h;
    auto lines = h.send(R"({"id":1,"jsonrpc":"2.0","method":"mining.subscribe","params":["kawpowminer/1.2.4"]})");
    REQUIRE(lines.size() == 1);
    auto sub = json(lines[0]);
    CHECK(sub["id"].GetInt() == 1);
    CHECK_FALSE(sub.HasMember("jsonrpc"));  // if present it would have to be "2.0"
    REQUIRE(sub["result"].IsArray());
    CHECK(sub["result"][0].IsNull());
    const std::string prefix = sub["result"][1].GetString();
    CHECK(prefix.size() == 4);
    CHECK(sub["error"].IsNull());

    lines = h.send(R"({"id":3,"jsonrpc":"2.0","method":"mining.authorize","params":["RWorker.rig1","x"]})");
    REQUIRE(lines.size() == 3);
    CHECK(lines[0] == "{\"id\":3,\"result\":true,\"error\":null}\n");
    CHECK(method_of(lines[1]) == "mining.set_target");
    const auto n = read_notify(lines[2]);
    auto st = json(lines[1]);
    CHECK(std::string(st["params"][0].GetString()) == n.target.to_hex());
    CHECK(std::string(st["params"][0].GetString()).size() == 64);
    auto notify = json(lines[2]);
    CHECK(notify["params"][4].GetBool());  // clean on the first job
    CHECK(std::string(notify["params"][2].GetString()) == std::string(64, '0'));  // epoch 0 seed
    CHECK(std::string(notify["params"][6].GetString()) == "207fffff");
    CHECK(n.height == 259u);

    // Hashrate reports are answered true.
    lines = h.send(R"({"id":9,"jsonrpc":"2.0","method":"eth_submitHashrate","params":["0x0000000000000000000000000000000000000000000000000000000000a1b2c3","0x1234"]})");
    REQUIRE(lines.size() == 1);
    CHECK(lines[0] == "{\"id\":9,\"result\":true,\"error\":null}\n");

    // A share with "0x" prefixes, as kawpowminer sends it: accepted, and a block at regtest bits.
    const auto [nonce, hr] = mine(n, static_cast<std::uint16_t>(std::stoul(prefix, nullptr, 16)), true);
    lines = h.send(R"({"id":40,"jsonrpc":"2.0","method":"mining.submit","params":["RWorker.rig1",")" + n.id +
                   R"(","0x)" + hex16(nonce) + R"(","0x)" + to_hex(n.header_hash) + R"(","0x)" +
                   to_hex(hr.mix_hash) + R"("]})");
    REQUIRE(lines.size() == 1);
    CHECK(lines[0] == "{\"id\":40,\"result\":true,\"error\":null}\n");
    CHECK(h.block_count() == 1);
    CHECK(h.p.stats().accepted == 1);
    CHECK(h.p.stats().blocks == 1);
}

TEST_CASE("kawpow stratum: an XMRig-style submit without 0x in upper case is accepted") {
    harness h;
    auto lines = h.send(R"({"id":1,"jsonrpc":"2.0","method":"mining.subscribe","params":["XMRig/6.21.0"]})");
    const std::string prefix = json(lines[0])["result"][1].GetString();
    lines = h.send(R"({"id":2,"jsonrpc":"2.0","method":"mining.authorize","params":["RWorker","x"]})");
    const auto n = read_notify(lines.back());
    // Regtest: the share target is clamped to the network target, so every share is a block.
    const auto [nonce, hr] = mine(n, static_cast<std::uint16_t>(std::stoul(prefix, nullptr, 16)), true);
    std::string nonce_hex = hex16(nonce), hh = to_hex(n.header_hash), mix = to_hex(hr.mix_hash);
    for (auto* s : {&nonce_hex, &hh, &mix})
        for (char& c : *s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    lines = h.send(R"({"id":4,"jsonrpc":"2.0","method":"mining.submit","params":["RWorker",")" + n.id + R"(",")" +
                   nonce_hex + R"(",")" + hh + R"(",")" + mix + R"("]})");
    REQUIRE(lines.size() == 1);
    CHECK(lines[0] == "{\"id\":4,\"result\":true,\"error\":null}\n");
    CHECK(h.block_count() == 1);
}

TEST_CASE("kawpow stratum: T-Rex gets set_target only when the target changes and it always matches the notify") {
    harness h;
    h.send(R"({"id":1,"method":"mining.subscribe","params":["T-Rex/0.26.8"]})");
    auto lines = h.send(R"({"id":2,"method":"mining.authorize","params":["RWorker","x"]})");
    REQUIRE(lines.size() == 3);
    const auto first = read_notify(lines[2]);
    // A fresh template on the same tip (new fees): a new job, same target, so no second set_target.
    REQUIRE_FALSE(h.disp->on_template(raven_tmpl(0, 1000)));
    auto j = h.disp->current_job(1);
    REQUIRE(j);
    kawpow_session_protocol::output out;
    h.p.on_job(j, h.now, out);
    REQUIRE(out.lines.size() == 1);
    const auto second = read_notify(std::string(out.lines[0].text()));
    CHECK(second.target == first.target);
    CHECK(second.id != first.id);
    CHECK_FALSE(json(std::string(out.lines[0].text()))["params"][4].GetBool());
    // The same job again is never re-sent (XMRig closes on a duplicate job).
    kawpow_session_protocol::output again;
    h.p.on_job(j, h.now, again);
    CHECK(again.lines.empty());
}

TEST_CASE("kawpow stratum: malformed submits get the pool error texts and no verification") {
    harness h;
    h.send(R"({"id":1,"method":"mining.subscribe","params":["kawpowminer/1.2.4"]})");
    auto lines = h.send(R"({"id":2,"method":"mining.authorize","params":["RWorker","x"]})");
    const auto n = read_notify(lines.back());
    const std::string hh = "0x" + to_hex(n.header_hash);
    const std::string mix = "0x" + std::string(64, 'a');
    struct bad_case {
        std::string params;
        std::string text;
    };
    const std::vector<bad_case> cases = {
        {R"("w",")" + n.id + R"(","0x1234",")" + hh + R"(",")" + mix + R"(")", "incorrect size of nonce, must be 8 bytes"},
        {R"("w",")" + n.id + R"(","0x00000000000000zz",")" + hh + R"(",")" + mix + R"(")",
         "incorrect size of nonce, must be 8 bytes"},
        {R"("w",")" + n.id + R"(","0x0000000000000000","0x1234",")" + mix + R"(")", "invalid header hash"},
        {R"("w",")" + n.id + R"(","0x0000000000000000",")" + hh + R"(","0xabc")", "invalid mix hash"},
        {R"("w",")" + n.id + R"(","0x0000000000000000",")" + hh + R"(")", "Invalid submit params"},
        {R"("w",")" + n.id + R"(",7,")" + hh + R"(",")" + mix + R"(")", "Invalid submit params"},
    };
    int id = 10;
    for (const auto& c : cases) {
        CAPTURE(c.params);
        auto out = h.send_unverified(R"({"id":)" + std::to_string(id) + R"(,"method":"mining.submit","params":[)" +
                                     c.params + "]}");
        CHECK(out.verify.empty());
        REQUIRE(out.lines.size() == 1);
        auto d = json(std::string(out.lines[0].text()));
        CHECK(d["id"].GetInt() == id);
        CHECK(d["error"][0].GetInt() == 20);
        CHECK(std::string(d["error"][1].GetString()) == c.text);
        ++id;
    }
    CHECK(h.p.stats().rejected == cases.size());
}

TEST_CASE("kawpow stratum: verdicts from the dispatcher reach the miner with their codes") {
    // A share target easier than regtest's network target (below its difficulty, the
    // target saturates at 2^256-1), so that shares need not be blocks.
    harness h(config::payout_mode::fixed_address, 1e-10);
    auto lines = h.send(R"({"id":1,"method":"mining.subscribe","params":["kawpowminer/1.2.4"]})");
    const auto prefix = static_cast<std::uint16_t>(std::stoul(std::string(json(lines[0])["result"][1].GetString()), nullptr, 16));
    lines = h.send(R"({"id":2,"method":"mining.authorize","params":["RWorker","x"]})");
    const auto n = read_notify(lines.back());
    CHECK(n.target > compact_to_target(0x207fffff).target);
    const auto [nonce, hr] = mine(n, prefix, false);
    auto submit = [&](int id, std::uint64_t nce, const hash256& header, const hash256& mix) {
        return h.send(R"({"id":)" + std::to_string(id) + R"(,"method":"mining.submit","params":["w",")" + n.id +
                      R"(","0x)" + hex16(nce) + R"(","0x)" + to_hex(header) + R"(","0x)" + to_hex(mix) + R"("]})");
    };
    CHECK(submit(20, nonce, n.header_hash, hr.mix_hash)[0] == "{\"id\":20,\"result\":true,\"error\":null}\n");
    auto d = json(submit(21, nonce, n.header_hash, hr.mix_hash)[0]);
    CHECK(d["error"][0].GetInt() == 22);
    hash256 other = n.header_hash;
    other[0] ^= 1;
    d = json(submit(22, nonce, other, hr.mix_hash)[0]);
    CHECK(d["error"][0].GetInt() == 20);
    CHECK(std::string(d["error"][1].GetString()) == "invalid header hash");
    // A share from another session's range: refused.
    const auto foreign_prefix = static_cast<std::uint16_t>(prefix ^ 0x8000u);
    const auto [foreign, fhr] = mine(n, foreign_prefix, false);
    d = json(submit(23, foreign, n.header_hash, fhr.mix_hash)[0]);
    CHECK(d["error"][0].GetInt() == 24);
    hash256 forged = hr.mix_hash;
    forged[3] ^= 0x10;
    d = json(submit(24, nonce + 1000, n.header_hash, forged)[0]);
    // A forged mix either fails the light verification or, implying a final hash above
    // the share target, is low difficulty: never accepted.
    CHECK((d["error"][0].GetInt() == 20 || d["error"][0].GetInt() == 23));
    // Blocks went to the node whatever else is wrong with them, and the reply says so:
    // from another session's range, and the same block twice.
    const auto [foreign_block, fbr] = mine(n, foreign_prefix, true);
    CHECK(submit(25, foreign_block, n.header_hash, fbr.mix_hash)[0] == "{\"id\":25,\"result\":true,\"error\":null}\n");
    const auto [block, br] = mine(n, prefix, true);
    CHECK(submit(26, block, n.header_hash, br.mix_hash)[0] == "{\"id\":26,\"result\":true,\"error\":null}\n");
    CHECK(submit(27, block, n.header_hash, br.mix_hash)[0] == "{\"id\":27,\"result\":true,\"error\":null}\n");
    CHECK(h.block_count() == 3);
    CHECK(h.p.stats().blocks == 3);
    CHECK(h.p.stats().accepted == 4);
    CHECK(h.p.stats().rejected == 4);
}

TEST_CASE("kawpow stratum: submits beyond the pending bound are refused without verification") {
    harness h;
    h.send(R"({"id":1,"method":"mining.subscribe","params":["kawpowminer/1.2.4"]})");
    auto lines = h.send(R"({"id":2,"method":"mining.authorize","params":["RWorker","x"]})");
    const auto n = read_notify(lines.back());
    const std::string submit = R"(,"method":"mining.submit","params":["w",")" + n.id + R"(","0x0000000000000000","0x)" +
                               to_hex(n.header_hash) + R"(","0x)" + std::string(64, 'b') + R"("]})";
    std::size_t pending = 0;
    for (std::size_t i = 0; i < max_pending_kawpow_submits + 3; ++i) {
        auto out = h.send_unverified(R"({"id":)" + std::to_string(100 + i) + submit);
        pending += out.verify.size();
        if (i < max_pending_kawpow_submits) {
            CHECK(out.verify.size() == 1);
            CHECK(out.lines.empty());
        } else {
            CHECK(out.verify.empty());
            REQUIRE(out.lines.size() == 1);
            CHECK(out.lines[0].text().find("too many shares awaiting verification") != std::string::npos);
        }
    }
    CHECK(pending == max_pending_kawpow_submits);
    CHECK(h.p.pending() == max_pending_kawpow_submits);
}

TEST_CASE("kawpow stratum: nothing before subscribe and submit before authorize is refused") {
    harness h;
    auto lines = h.send(R"({"id":5,"method":"mining.submit","params":["w","1","0x0000000000000000","0x00","0x00"]})");
    REQUIRE(lines.size() == 1);
    CHECK(json(lines[0])["error"][0].GetInt() == 25);
    h.send(R"({"id":1,"method":"mining.subscribe","params":[]})");
    lines = h.send(R"({"id":6,"method":"mining.submit","params":["w","1","0x0000000000000000","0x00","0x00"]})");
    CHECK(json(lines[0])["error"][0].GetInt() == 24);
    lines = h.send(R"({"id":7,"method":"mining.frobnicate","params":[]})");
    CHECK(json(lines[0])["error"][0].GetInt() == 20);
    h.send("not json");
    CHECK_FALSE(h.closed.empty());
}

TEST_CASE("kawpow stratum: address-username mode pays the Ravencoin address of the username") {
    harness h(config::payout_mode::address_username);
    h.send(R"({"id":1,"method":"mining.subscribe","params":["kawpowminer/1.2.4"]})");
    // A Bitcoin address is not a Ravencoin one.
    auto lines = h.send(R"({"id":2,"method":"mining.authorize","params":["bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080.rig","x"]})");
    REQUIRE(lines.size() == 1);
    CHECK(json(lines[0])["error"][0].GetInt() == 24);
}

TEST_CASE("kawpow stratum: with the config's default difficulty a regtest job's target is the network target") {
    // The live Ravencoin regtest run: difficulty.initial 1024 and difficulty.min 0.001 made
    // every block a "Low difficulty share" that the miner never even sent.
    const config::difficulty_settings defaults;
    harness h(config::payout_mode::fixed_address, defaults.initial, defaults.min);
    auto lines = h.send(R"({"id":1,"jsonrpc":"2.0","method":"mining.subscribe","params":["kawpowminer/1.2.4"]})");
    const auto prefix = static_cast<std::uint16_t>(std::stoul(std::string(json(lines[0])["result"][1].GetString()), nullptr, 16));
    lines = h.send(R"({"id":3,"jsonrpc":"2.0","method":"mining.authorize","params":["RWorker.rig1","x"]})");
    REQUIRE(lines.size() == 3);
    REQUIRE(method_of(lines[1]) == "mining.set_target");
    const auto n = read_notify(lines[2]);
    const uint256 network = compact_to_target(0x207fffff).target;
    // Each client's view of the share target (stratum.md §5): T-Rex's set_target,
    // kawpowminer's notify[3], XMRig's first 16 hex digits of notify[3].
    const uint256 trex = *uint256::from_hex(json(lines[1])["params"][0].GetString());
    const uint256 kawpowminer = n.target;
    const std::uint64_t xmrig =
        std::stoull(std::string(json(lines[2])["params"][3].GetString()).substr(0, 16), nullptr, 16);
    CHECK(trex == kawpowminer);
    CHECK(kawpowminer >= network);
    CHECK(xmrig >= (network >> 192).low64());
    CHECK(kawpowminer == target_from_difficulty(network_share_difficulty(network)));
    CHECK(h.p.stats().difficulty == network_share_difficulty(network));

    const auto [nonce, hr] = mine(n, prefix, true);
    lines = h.send(R"({"id":40,"jsonrpc":"2.0","method":"mining.submit","params":["RWorker.rig1",")" + n.id +
                   R"(","0x)" + hex16(nonce) + R"(","0x)" + to_hex(n.header_hash) + R"(","0x)" +
                   to_hex(hr.mix_hash) + R"("]})");
    REQUIRE(lines.size() == 1);
    CHECK(lines[0] == "{\"id\":40,\"result\":true,\"error\":null}\n");
    CHECK(h.block_count() == 1);
    CHECK(h.p.stats().accepted == 1);
    CHECK(h.p.stats().blocks == 1);
}

TEST_CASE("kawpow stratum: set_target precedes the notify of a harder job and of the next easy one") {
    const config::difficulty_settings defaults;
    harness h(config::payout_mode::fixed_address, defaults.initial, defaults.min);
    h.send(R"({"id":1,"method":"mining.subscribe","params":["T-Rex/0.26.8"]})");
    auto lines = h.send(R"({"id":2,"method":"mining.authorize","params":["RWorker","x"]})");
    REQUIRE(lines.size() == 3);
    const auto easy = read_notify(lines[2]);
    auto next_job = [&] {
        auto j = h.disp->current_job(1);
        REQUIRE(j);
        kawpow_session_protocol::output out;
        h.p.on_job(j, h.now, out);
        return test::texts(out.lines);
    };
    // The same tip with harder bits (testnet once its 20-minute minimum-difficulty window
    // closes): the session's own difficulty, 1024, is back.
    REQUIRE_FALSE(h.disp->on_template(raven_tmpl(0, 1000, 0x1b0404cb)));
    lines = next_job();
    REQUIRE(lines.size() == 2);
    REQUIRE(method_of(lines[0]) == "mining.set_target");
    const auto hard = read_notify(lines[1]);
    CHECK(*uint256::from_hex(json(lines[0])["params"][0].GetString()) == hard.target);
    CHECK(hard.target == target_from_difficulty(defaults.initial));
    CHECK(h.p.stats().difficulty == defaults.initial);
    // Easy again: the network target, again before the notify.
    REQUIRE_FALSE(h.disp->on_template(raven_tmpl(0, 2000)));
    lines = next_job();
    REQUIRE(lines.size() == 2);
    REQUIRE(method_of(lines[0]) == "mining.set_target");
    const auto easy2 = read_notify(lines[1]);
    CHECK(easy2.target == easy.target);
    CHECK(*uint256::from_hex(json(lines[0])["params"][0].GetString()) == easy2.target);
}

TEST_CASE("kawpow stratum: address-username mode tells a plain worker name what the username must be") {
    harness h(config::payout_mode::address_username);
    h.send(R"({"id":1,"method":"mining.subscribe","params":["kawpowminer/1.2.4"]})");
    auto lines = h.send(R"({"id":2,"method":"mining.authorize","params":["rig1","x"]})");
    REQUIRE(lines.size() == 1);
    auto d = json(lines[0]);
    CHECK(d["error"][0].GetInt() == 24);
    CHECK(std::string(d["error"][1].GetString()) == "username must be your ravencoin-regtest payout address (" +
                                                        address_forms(network::ravencoin_regtest) +
                                                        "), optionally followed by .workername");
    CHECK_FALSE(h.p.authorized());
}
