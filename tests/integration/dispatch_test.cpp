// The dispatch path against a real bcoin regtest node: template_source → dispatcher →
// a consumer grinding shares on the CPU through submit_share → the block goes through the
// submitter (journal written first) and becomes the node's tip.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "dispatch/dispatcher.hpp"
#include "dispatch/journal.hpp"
#include "dispatch/submitter.hpp"
#include "fake_node.hpp"  // io_runner
#include "regtest_node.hpp"
#include "sb/core/address.hpp"
#include "sb/core/chain.hpp"
#include "sb/core/hex.hpp"
#include "sb/node/template_source.hpp"

using namespace sb;

namespace {

struct latest_job : bridge::work_consumer {
    std::mutex mu;
    std::shared_ptr<const bridge::job> job;
    void on_job(std::shared_ptr<const bridge::job> j) override {
        std::lock_guard lock(mu);
        job = std::move(j);
    }
    std::shared_ptr<const bridge::job> get() {
        std::lock_guard lock(mu);
        return job;
    }
};

}  // namespace

TEST_CASE("integration: a share found through the dispatcher becomes the node's tip") {
    test::regtest_node n;
    test::io_runner io;
    node::rpc_settings rpc;
    rpc.url = n.rpc_url();
    rpc.user = "solobridge";
    rpc.password = n.api_key();

    const auto dir = std::filesystem::temp_directory_path() / ("sb-dispatch-it-" + std::to_string(n.rpc_port()));
    bridge::journal_options jo;
    jo.block_hash = [](byte_span block) -> std::optional<hash256> {
        if (block.size() <= 80) return std::nullopt;
        return sha256d(block.first(80));
    };
    auto opened = bridge::journal::open((dir / "blocks.journal").string(), std::move(jo));
    REQUIRE(opened);
    std::shared_ptr<bridge::journal> jrnl = std::move(*opened);

    bridge::submitter submit(io.executor(), {rpc}, jrnl);
    bridge::dispatcher_options o;
    auto payout = address_to_script("bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080",
                                    params(network::bitcoin_regtest).address);
    REQUIRE(payout);
    o.fixed_payout_script = payout->script_pubkey;
    bridge::dispatcher d(io.executor(), params(network::bitcoin_regtest), o, [&](bridge::found_block b) {
        submit.sink()(std::move(b));
    });
    auto consumer = std::make_shared<latest_job>();
    const auto slot = d.add_consumer(consumer);

    node::template_source_options so;
    so.net = network::bitcoin_regtest;
    node::template_source source(io.executor(), rpc, so,
                                 [&](std::shared_ptr<const node::block_template> t, node::template_reason) {
                                     CHECK_FALSE(d.on_template(std::move(t)));
                                     return node::template_use::used;
                                 });
    source.start();
    REQUIRE(io.run_until([&] { return consumer->get() != nullptr; }, std::chrono::seconds(60)));
    auto j = consumer->get();
    CHECK(j->height == 1);

    // Grind: share difficulty far above regtest's, so non-block shares come back as
    // low_difficulty and the block share is still submitted.
    std::optional<bridge::share_result> block;
    for (std::uint32_t nonce = 0; nonce < 100000 && !block; ++nonce) {
        bridge::share s;
        s.job_id = j->id;
        s.extranonce2 = bytes(j->coinbase.extranonce2_size, 0x11);
        s.ntime = j->ntime;
        s.nonce = nonce;
        s.version = j->version;
        s.difficulty = 1e9;
        s.worker = "it.cpu";
        const auto r = d.submit_share(slot.id, s);
        if (r.block) block = r;
        else CHECK(r.status == bridge::share_status::low_difficulty);
    }
    REQUIRE(block);
    // The journal holds it once it is sent (written on the journal's own thread).
    CHECK(io.run_until([&] { return jrnl->contains(block->hash); }, std::chrono::seconds(60)));
    REQUIRE(io.run_until([&] { return submit.status().accepted == 1; }, std::chrono::seconds(60)));

    auto best = n.rpc("getbestblockhash");
    REQUIRE(best.IsString());
    CHECK(std::string(best.GetString()) == to_hex_reversed(block->hash));
    bool marked = false;
    for (const auto& e : jrnl->entries())
        if (e.hash == block->hash) marked = e.status == bridge::block_status::accepted;
    CHECK(marked);
    // The longpoll brings the next height, with a clean job.
    REQUIRE(io.run_until([&] { auto k = consumer->get(); return k && k->height == 2; }, std::chrono::seconds(60)));
    CHECK(consumer->get()->clean);

    source.stop();
    submit.stop();
    d.stop();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
}
