// Block fates against a real bcoin regtest node (issue 13 §2): the submitter and its
// journal follow each found block by the node's main chain — accepted with its
// confirmations, confirmed once 100 blocks are on top; a block that loses a same-height
// race, or that a reorganization takes out, orphaned; one found after the chain already
// held its height, stale. The competing chains are made with bcoin itself: blocks of its
// own (generatetoaddress) and a block of ours extended by another.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "dispatch/journal.hpp"
#include "dispatch/submitter.hpp"
#include "regtest_blocks.hpp"
#include "sb/core/hex.hpp"

using namespace sb;
using bridge::block_status;

namespace {

// The submitter, its journal and a log, on the test's io context, against node.
struct fate_rig {
    test::regtest_node& node;
    test::io_runner io;
    node::rpc_client client;  // the test's own calls (templates)
    std::shared_ptr<bridge::journal> journal;
    std::unique_ptr<bridge::submitter> submitter;
    std::mutex log_mu;
    std::string log;

    explicit fate_rig(test::regtest_node& n) : node(n), client(io.executor(), test::rpc_settings_for(n)) {
        bridge::journal_options jo;
        jo.block_hash = [](byte_span block) -> std::optional<hash256> {
            if (block.size() <= 80) return std::nullopt;
            return sha256d(block.first(80));
        };
        jo.log = [this](std::string_view s) { append_log(s); };
        auto j = bridge::journal::open(n.dir() + "/fates/blocks.journal", std::move(jo));
        REQUIRE(j);
        journal = std::move(*j);
        bridge::submitter_options so;
        so.watch_interval = std::chrono::milliseconds(100);
        so.log = [this](std::string_view s) { append_log(s); };
        submitter = std::make_unique<bridge::submitter>(io.executor(), std::vector{test::rpc_settings_for(n)},
                                                        journal, so);
    }
    ~fate_rig() { submitter->stop(); }

    void append_log(std::string_view s) {
        std::lock_guard lock(log_mu);
        log.append(s);
        log += '\n';
    }
    std::string log_text() {
        std::lock_guard lock(log_mu);
        return log;
    }

    // A block of ours on the node's current template (tag makes it distinct).
    test::built_block build(const std::string& tag) {
        return test::grind_block(test::fetch_template(io, client), tag, "/" + tag + "/");
    }
    void submit(const test::built_block& b) {
        bridge::found_block f;
        f.height = b.job.height;
        f.hash = b.header.hash();
        f.prev_block = b.header.prev_block;
        f.block = b.block;
        f.job_id = b.job.id;
        f.worker = "it";
        submitter->submit(std::move(f));
    }
    std::optional<bridge::submitted_block> recent(const test::built_block& b) {
        for (const auto& r : submitter->status().recent)
            if (r.hash == b.header.hash()) return r;
        return std::nullopt;
    }
    bool is(const test::built_block& b, block_status s) {
        const auto r = recent(b);
        return r && r->status == s;
    }
    // The marks the journal holds for a block, in order.
    std::vector<std::string> marks(const test::built_block& b) {
        REQUIRE_FALSE(journal->flush());
        std::ifstream in(journal->path(), std::ios::binary);
        const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
        const std::string key = "mark " + to_hex_reversed(b.header.hash()) + " ";
        std::vector<std::string> out;
        for (std::size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + 1)) {
            const std::size_t from = at + key.size();
            out.push_back(text.substr(from, text.find(' ', from) - from));
        }
        return out;
    }
    // Lets the watch run a few rounds (each asks the node at least once).
    void let_watch_run() { io.run_for(std::chrono::milliseconds(600)); }
};

}  // namespace

TEST_CASE("integration: a found block is accepted, counts its confirmations and is confirmed after 100 blocks on top") {
    test::regtest_node n;
    fate_rig rig(n);
    INFO("log:\n" << rig.log_text());
    const auto b = rig.build("fate-confirm");
    rig.submit(b);
    REQUIRE(rig.io.run_until([&] { return rig.is(b, block_status::accepted); }, std::chrono::seconds(60)));
    CHECK(n.best_hash() == to_hex_reversed(b.header.hash()));
    CHECK(rig.recent(b)->confirmations == 1);

    const std::string addr = n.wallet_address();
    n.generate(50, addr);
    REQUIRE(rig.io.run_until([&] { return rig.recent(b)->confirmations == 51; }, std::chrono::seconds(60)));
    CHECK(rig.submitter->status().accepted == 1);
    n.generate(49, addr);  // 100 confirmations
    REQUIRE(rig.io.run_until([&] { return rig.is(b, block_status::confirmed); }, std::chrono::seconds(60)));
    const auto st = rig.submitter->status();
    CHECK(st.confirmed == 1);
    CHECK(st.accepted == 0);
    CHECK(st.watched == 0);
    CHECK(rig.marks(b) == std::vector<std::string>{"accepted", "confirmed"});
    CHECK(rig.log_text().find("CONFIRMED") != std::string::npos);
}

TEST_CASE("integration: two competing blocks at one height: the one bcoin extends is accepted, the other orphaned") {
    test::regtest_node n;
    fate_rig rig(n);
    INFO("log:\n" << rig.log_text());
    // Two blocks of ours on the same template, height 1: A reaches the node first and is
    // its tip; B is held too (an equal-work fork), never in the main chain for now.
    const auto t1 = test::fetch_template(rig.io, rig.client);
    const auto a = test::grind_block(t1, "fate-a", "/fate-a/");
    const auto b = test::grind_block(t1, "fate-b", "/fate-b/");
    REQUIRE(a.header.hash() != b.header.hash());
    rig.submit(a);
    REQUIRE(rig.io.run_until([&] { return rig.is(a, block_status::accepted); }, std::chrono::seconds(60)));
    rig.submit(b);
    REQUIRE(rig.io.run_until([&] { return rig.submitter->status().in_flight == 0; }, std::chrono::seconds(60)));
    rig.let_watch_run();
    CHECK(rig.is(b, block_status::pending));  // the node holds it; its height is A's

    // Another miner extends B: bcoin reorganizes to B and the block on top of it.
    auto t2 = std::make_shared<node::block_template>(*test::fetch_template(rig.io, rig.client));
    REQUIRE(t2->height == 2);
    t2->prev_block = b.header.hash();
    const auto c = test::grind_block(t2, "fate-c", "/fate-c/");
    n.rpc("submitblock", "[\"" + to_hex(c.block) + "\"]");
    REQUIRE(n.best_hash() == to_hex_reversed(c.header.hash()));

    REQUIRE(rig.io.run_until([&] { return rig.is(a, block_status::orphaned) && rig.is(b, block_status::accepted); },
                             std::chrono::seconds(60)));
    CHECK(rig.recent(b)->confirmations == 2);
    CHECK(rig.recent(a)->reason.find(to_hex_reversed(b.header.hash())) != std::string::npos);
    CHECK(rig.marks(a) == std::vector<std::string>{"accepted", "orphaned"});
    CHECK(rig.marks(b) == std::vector<std::string>{"accepted"});
    const auto st = rig.submitter->status();
    CHECK(st.found == 2);
    CHECK(st.accepted == 1);
    CHECK(st.orphaned == 1);
}

TEST_CASE("integration: siblings of bcoin's own block never enter the main chain: orphaned, or stale when found late") {
    test::regtest_node n;
    fate_rig rig(n);
    INFO("log:\n" << rig.log_text());
    // Ours at height 1, ground on the genesis template; then bcoin mines its own block 1.
    const auto t1 = test::fetch_template(rig.io, rig.client);
    const auto raced = test::grind_block(t1, "fate-raced", "/fate-raced/");
    const auto late = test::grind_block(t1, "fate-late", "/fate-late/");
    const std::string addr = n.wallet_address();
    n.generate(1, addr);
    // The first goes out as if found before word of bcoin's block arrived; the second after
    // a template on top of height 1 told the bridge the chain had moved.
    rig.submit(raced);
    rig.submitter->note_tip(1);
    rig.submit(late);
    REQUIRE(rig.io.run_until([&] { return rig.submitter->status().in_flight == 0; }, std::chrono::seconds(60)));
    rig.let_watch_run();
    // The node holds both (submitblock answers null for an equal-work fork): still pending.
    CHECK(rig.is(raced, block_status::pending));
    CHECK(rig.is(late, block_status::pending));
    CHECK(rig.submitter->status().accepted == 0);

    n.generate(1, addr);  // the chain goes on from bcoin's block
    REQUIRE(rig.io.run_until([&] { return rig.is(raced, block_status::orphaned) && rig.is(late, block_status::stale); },
                             std::chrono::seconds(60)));
    CHECK(rig.marks(raced) == std::vector<std::string>{"orphaned"});
    CHECK(rig.marks(late) == std::vector<std::string>{"stale"});
    CHECK(rig.submitter->status().accepted == 0);
}
