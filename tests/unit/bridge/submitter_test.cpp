// The submitter against the scripted fake node (tests/support/fake_node.hpp): verdicts,
// retries while a node is down, every node receiving the block, the journal first; the
// P2P chain's word (settle), the in-flight bound (parking and refill) and bounded replay.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dispatch/submitter.hpp"
#include "fake_node.hpp"
#include "sb/core/hex.hpp"
#include "seed.hpp"

using namespace sb;
using bridge::block_status;

namespace {

bridge::found_block fake_found(std::uint8_t salt, std::uint32_t height = 5) {
    bridge::found_block b;
    b.block.assign(120, salt);
    b.block[80] = 1;
    b.hash = sha256d(byte_span(b.block.data(), 80));
    b.height = height;
    b.job_id = "j";
    b.worker = "w";
    return b;
}

bridge::submitter_options fast() {
    bridge::submitter_options o;
    o.retry_initial = std::chrono::milliseconds(20);
    o.retry_max = std::chrono::milliseconds(100);
    o.call_timeout = std::chrono::milliseconds(500);
    o.client.connect_timeout = std::chrono::milliseconds(200);
    o.client.backoff_initial = std::chrono::milliseconds(10);
    o.client.backoff_max = std::chrono::milliseconds(50);
    o.log = [](std::string_view) {};
    return o;
}

node::rpc_settings settings_for(const std::string& url) {
    node::rpc_settings s;
    s.url = url;
    s.user = "u";
    s.password = "p";
    return s;
}

// Answers submitblock with verdict_json, getblockchaininfo with a chain at height 0.
test::fake_script node_answering(std::string verdict_json) {
    return [verdict_json](const test::fake_request& r) {
        if (r.method == "getblockchaininfo")
            return test::answer_result(r, R"({"chain":"regtest","blocks":0,"bestblockhash":")" + std::string(64, '0') +
                                              "\"}");
        return test::answer_result(r, verdict_json);
    };
}

std::size_t submits(const test::fake_node& n) {
    std::size_t c = 0;
    for (const auto& r : n.requests()) c += r.method == "submitblock";
    return c;
}

struct temp_journal {
    std::filesystem::path dir;
    std::shared_ptr<bridge::journal> j;
    temp_journal() {
        dir = std::filesystem::temp_directory_path() / ("sb-submit-" + std::to_string(test::seeded_rng(0x5b)()));
        auto r = bridge::journal::open((dir / "blocks.journal").string(), [](std::string_view) {});
        REQUIRE(r);
        j = std::move(*r);
    }
    ~temp_journal() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    block_status status_of(const hash256& h) {
        for (const auto& e : j->entries())
            if (e.hash == h) return e.status;
        FAIL("block not in the journal");
        return block_status::pending;
    }
};

}  // namespace

TEST_CASE("submitter: an accepted block is marked accepted in the journal") {
    test::fake_node n(node_answering("null"));
    test::io_runner io;
    temp_journal tj;
    bridge::submitter s(io.executor(), {settings_for(n.url())}, tj.j, fast());
    const auto b = fake_found(1);
    bool relayed = false;
    s.set_relay([&](const bridge::found_block& f) { relayed = f.hash == b.hash; });
    s.submit(b);
    // Journaled before the call returned, while still pending.
    CHECK(tj.j->contains(b.hash));
    REQUIRE(io.run_until([&] { return s.status().accepted == 1; }));
    CHECK(relayed);
    CHECK(submits(n) == 1);
    const auto reqs = n.requests();
    CHECK(reqs.back().params_json.find(to_hex(b.block)) != std::string::npos);
    CHECK(tj.status_of(b.hash) == block_status::accepted);
    CHECK(tj.j->pending().empty());
}

TEST_CASE("submitter: rejected high-hash is kept in the journal with its reason") {
    test::fake_node n(node_answering(R"("rejected: high-hash")"));
    test::io_runner io;
    temp_journal tj;
    bridge::submitter s(io.executor(), {settings_for(n.url())}, tj.j, fast());
    const auto b = fake_found(2);
    s.submit(b);
    REQUIRE(io.run_until([&] { return s.status().rejected == 1; }));
    CHECK(submits(n) == 1);
    const auto st = s.status();
    REQUIRE(st.recent.size() == 1);
    CHECK(st.recent[0].reason == "high-hash");
    CHECK(tj.status_of(b.hash) == block_status::rejected);
    for (const auto& e : tj.j->entries())
        if (e.hash == b.hash) CHECK(e.reason == "high-hash");
}

TEST_CASE("submitter: duplicate counts as accepted") {
    test::fake_node n(node_answering(R"("duplicate")"));
    test::io_runner io;
    bridge::submitter s(io.executor(), {settings_for(n.url())}, nullptr, fast());
    s.submit(fake_found(3));
    REQUIRE(io.run_until([&] { return s.status().accepted == 1; }));
    // One block, one submission.
    CHECK(s.status().found == 1);
}

TEST_CASE("submitter: inconclusive is asked again") {
    std::atomic<int> calls{0};
    test::fake_node n([&](const test::fake_request& r) {
        if (r.method == "getblockchaininfo")
            return test::answer_result(r, R"({"chain":"regtest","blocks":0,"bestblockhash":")" + std::string(64, '0') +
                                              "\"}");
        return test::answer_result(r, ++calls < 3 ? R"("inconclusive")" : "null");
    });
    test::io_runner io;
    bridge::submitter s(io.executor(), {settings_for(n.url())}, nullptr, fast());
    s.submit(fake_found(4));
    REQUIRE(io.run_until([&] { return s.status().accepted == 1; }));
    CHECK(submits(n) == 3);
}

TEST_CASE("submitter: a node down then up gets the block retried and delivered") {
    std::uint16_t port = 0;
    {
        test::fake_node gone(node_answering("null"));  // a free port, then nothing listens
        port = gone.port();
    }
    test::io_runner io;
    temp_journal tj;
    bridge::submitter s(io.executor(), {settings_for("http://127.0.0.1:" + std::to_string(port) + "/")}, tj.j, fast());
    const auto b = fake_found(5);
    s.submit(b);
    REQUIRE(io.run_until([&] { return s.status().retries >= 2; }));
    CHECK(tj.status_of(b.hash) == block_status::pending);
    test::fake_node n(node_answering("null"), port);
    REQUIRE(io.run_until([&] { return s.status().accepted == 1; }));
    CHECK(submits(n) >= 1);
    CHECK(tj.status_of(b.hash) == block_status::accepted);
}

TEST_CASE("submitter: the chain moving past the height makes the block stale") {
    test::fake_node n([](const test::fake_request& r) {
        if (r.method == "getblockchaininfo")
            return test::answer_result(r, R"({"chain":"regtest","blocks":9,"bestblockhash":")" + std::string(64, '1') +
                                              "\"}");
        if (r.method == "getblockhash") return test::answer_result(r, "\"" + std::string(64, '2') + "\"");
        return test::fake_action{test::http_reply(503, "busy"), true};
    });
    test::io_runner io;
    bridge::submitter s(io.executor(), {settings_for(n.url())}, nullptr, fast());
    s.submit(fake_found(6, 5));
    REQUIRE(io.run_until([&] { return s.status().stale == 1; }));
}

TEST_CASE("submitter: two nodes both receive the block") {
    test::fake_node a(node_answering("null"));
    test::fake_node b(node_answering("null"));
    test::io_runner io;
    bridge::submitter s(io.executor(), {settings_for(a.url()), settings_for(b.url())}, nullptr, fast());
    s.submit(fake_found(7));
    REQUIRE(io.run_until([&] { return submits(a) == 1 && submits(b) == 1; }));
    REQUIRE(io.run_until([&] { return s.status().accepted == 1; }));
}

TEST_CASE("submitter: a restart replays pending journal records") {
    temp_journal tj;
    const auto b = fake_found(8);
    REQUIRE_FALSE(tj.j->append_found(b.height, b.hash, b.block, 1));
    test::fake_node n(node_answering("null"));
    test::io_runner io;
    bridge::submitter s(io.executor(), {settings_for(n.url())}, tj.j, fast());
    s.replay_journal();
    REQUIRE(io.run_until([&] { return s.status().accepted == 1; }));
    CHECK(tj.status_of(b.hash) == block_status::accepted);
}

namespace {

// A port where nothing listens (a node that is down).
std::uint16_t dead_port() {
    test::fake_node gone(node_answering("null"));
    return gone.port();
}

bool submitted(const test::fake_node& n, const bridge::found_block& b) {
    const std::string hex = to_hex(b.block);
    for (const auto& r : n.requests())
        if (r.method == "submitblock" && r.params_json.find(hex) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST_CASE("submitter: a block the P2P chain holds is accepted while the RPC is down") {
    test::io_runner io;
    temp_journal tj;
    const auto port = dead_port();
    bridge::submitter s(io.executor(), {settings_for("http://127.0.0.1:" + std::to_string(port) + "/")}, tj.j, fast());
    const auto held = fake_found(20, 7), passed = fake_found(21, 7), other = fake_found(22, 8);
    s.submit(held);
    s.submit(passed);
    s.submit(other);
    REQUIRE(io.run_until([&] { return s.status().retries >= 3; }));
    s.settle(held.hash, block_status::accepted, "on the P2P chain");
    s.settle(passed.hash, block_status::stale, "P2P chain moved past");
    s.settle(other.hash, block_status::rejected, "not a verdict settle() takes");  // ignored
    s.settle(hash256{}, block_status::accepted, "unknown block");                  // ignored
    REQUIRE(io.run_until([&] { return s.status().accepted == 1 && s.status().stale == 1; }));
    CHECK(tj.status_of(held.hash) == block_status::accepted);
    CHECK(tj.status_of(passed.hash) == block_status::stale);
    CHECK(tj.status_of(other.hash) == block_status::pending);
    const auto st = s.status();
    CHECK(st.in_flight == 1);
    CHECK(st.found == 3);
}

TEST_CASE("submitter: a competitor at the same height is retried, not called stale") {
    std::atomic<int> infos{0};
    test::fake_node n([&](const test::fake_request& r) {
        if (r.method == "getblockchaininfo") {
            // Height 5 (ours is at 5, another block holds it) for a few rounds, then 6.
            const int blocks = ++infos < 4 ? 5 : 6;
            return test::answer_result(r, R"({"chain":"regtest","blocks":)" + std::to_string(blocks) +
                                              R"(,"bestblockhash":")" + std::string(64, '1') + "\"}");
        }
        if (r.method == "getblockhash") return test::answer_result(r, "\"" + std::string(64, '2') + "\"");
        return test::fake_action{test::http_reply(503, "busy"), true};
    });
    test::io_runner io;
    bridge::submitter s(io.executor(), {settings_for(n.url())}, nullptr, fast());
    s.submit(fake_found(23, 5));
    REQUIRE(io.run_until([&] { return s.status().stale == 1; }));
    // Sent again after each equal-height answer; stale only once the chain was higher.
    CHECK(submits(n) >= 4);
    CHECK(infos.load() >= 4);
}

TEST_CASE("submitter: over the in-flight bound blocks are parked in the journal and all delivered later") {
    // The node first answers every submitblock with 503 (a transport failure: retried),
    // so each block's first attempt is recorded; later it accepts everything.
    std::atomic<bool> accepting{false};
    test::fake_node n([&](const test::fake_request& r) {
        if (r.method == "getblockchaininfo")
            return test::answer_result(r, R"({"chain":"regtest","blocks":0,"bestblockhash":")" + std::string(64, '0') +
                                              "\"}");
        if (!accepting) return test::fake_action{test::http_reply(503, "busy"), true};
        return test::answer_result(r, "null");
    });
    test::io_runner io;
    temp_journal tj;
    auto opt = fast();
    opt.max_in_flight = 4;
    std::mutex mu;
    std::vector<hash256> relayed;
    bridge::submitter s(io.executor(), {settings_for(n.url())}, tj.j, opt);
    s.set_relay([&](const bridge::found_block& f) {
        std::lock_guard lock(mu);
        relayed.push_back(f.hash);
    });
    std::vector<bridge::found_block> blocks;
    for (std::uint8_t i = 0; i < 12; ++i) {
        blocks.push_back(fake_found(std::uint8_t(40 + i), 100 + i));
        s.submit(blocks.back());
    }
    REQUIRE(io.run_until([&] { return s.status().parked == 8; }));
    auto st = s.status();
    CHECK(st.in_flight == 4);
    CHECK(st.found == 12);
    // Never parked before every path sent it once: each was relayed and reached the node.
    for (const auto& b : blocks) {
        CHECK(submitted(n, b));
        std::lock_guard lock(mu);
        CHECK(std::find(relayed.begin(), relayed.end(), b.hash) != relayed.end());
    }
    // The highest heights were parked; the lowest stay in flight (ancestors first).
    std::vector<std::uint32_t> in_flight_heights;
    for (const auto& r : st.recent)
        if (r.status == block_status::pending) in_flight_heights.push_back(r.height);
    std::sort(in_flight_heights.begin(), in_flight_heights.end());
    CHECK(in_flight_heights == std::vector<std::uint32_t>{100, 101, 102, 103});
    // Nothing dropped: all twelve are pending in the journal file, with their bytes.
    CHECK(tj.j->pending().size() == 12);

    // A parked block the P2P chain settles is marked at once.
    s.settle(blocks[11].hash, block_status::stale, "P2P chain moved past");
    REQUIRE(io.run_until([&] { return s.status().stale == 1 && s.status().parked == 7; }));
    CHECK(tj.status_of(blocks[11].hash) == block_status::stale);

    // The node accepts again: the in-flight ones finish, the parked ones come back from
    // the journal as slots free, lowest height first, and every one is delivered.
    accepting = true;
    REQUIRE(io.run_until([&] { return s.status().accepted == 11; }, std::chrono::seconds(60)));
    st = s.status();
    CHECK(st.parked == 0);
    CHECK(st.in_flight == 0);
    for (std::size_t i = 0; i < 11; ++i) CHECK(tj.status_of(blocks[i].hash) == block_status::accepted);
    CHECK(tj.j->pending().empty());
}

TEST_CASE("submitter: without a journal nothing is parked") {
    test::io_runner io;
    auto opt = fast();
    opt.max_in_flight = 2;
    const auto port = dead_port();
    bridge::submitter s(io.executor(), {settings_for("http://127.0.0.1:" + std::to_string(port) + "/")}, nullptr, opt);
    for (std::uint8_t i = 0; i < 5; ++i) s.submit(fake_found(std::uint8_t(60 + i), 10 + i));
    REQUIRE(io.run_until([&] { return s.status().retries >= 10; }));
    CHECK(s.status().parked == 0);
    CHECK(s.status().in_flight == 5);
}

TEST_CASE("submitter: a retry announces the block over P2P again") {
    std::atomic<int> relays{0};  // outlives the submitter
    test::io_runner io;
    const auto port = dead_port();
    bridge::submitter s(io.executor(), {settings_for("http://127.0.0.1:" + std::to_string(port) + "/")}, nullptr, fast());
    s.set_relay([&](const bridge::found_block&) { ++relays; });
    s.submit(fake_found(70));
    REQUIRE(io.run_until([&] { return relays.load() >= 3; }));
    CHECK(s.status().found == 1);
}

TEST_CASE("submitter: a replay above the in-flight bound sends the lowest heights first and the rest later") {
    temp_journal tj;
    std::vector<bridge::found_block> blocks;
    // Journaled out of height order: replay sorts them.
    for (std::uint8_t i = 0; i < 6; ++i) {
        blocks.push_back(fake_found(std::uint8_t(80 + i), 300 - i));
        REQUIRE_FALSE(tj.j->append_found(blocks.back().height, blocks.back().hash, blocks.back().block, 1));
    }
    test::fake_node n(node_answering("null"));
    test::io_runner io;
    auto opt = fast();
    opt.max_in_flight = 2;
    bridge::submitter s(io.executor(), {settings_for(n.url())}, tj.j, opt);
    s.replay_journal();
    auto st = s.status();
    CHECK(st.found == 6);
    CHECK(st.parked == 4);
    REQUIRE(io.run_until([&] { return s.status().accepted == 6; }));
    // The first two submitblock calls carried the two lowest heights (295 and 296).
    std::vector<std::string> order;
    for (const auto& r : n.requests())
        if (r.method == "submitblock") order.push_back(r.params_json);
    REQUIRE(order.size() >= 6);
    auto carries = [&](const std::string& params, std::uint32_t height) {
        for (const auto& b : blocks)
            if (b.height == height) return params.find(to_hex(b.block)) != std::string::npos;
        return false;
    };
    CHECK((carries(order[0], 295) || carries(order[0], 296)));
    CHECK((carries(order[1], 295) || carries(order[1], 296)));
    for (const auto& b : blocks) CHECK(tj.status_of(b.hash) == block_status::accepted);
    CHECK(s.status().parked == 0);
}
