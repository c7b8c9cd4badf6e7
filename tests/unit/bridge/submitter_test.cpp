// The submitter against the scripted fake node (tests/support/fake_node.hpp): verdicts,
// retries while a node is down, every node receiving the block, the journal first.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
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
