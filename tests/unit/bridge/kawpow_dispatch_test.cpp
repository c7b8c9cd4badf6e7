// KAWPOW work in the dispatcher (stratum.md §5, gpu.md §2.3-2.4): Ravencoin jobs with a
// fixed coinbase and a header hash of their own, 2-byte nonce prefixes per consumer, and
// the KAWPOW share checks with the block check before the verdict. Templates are the real
// Ravencoin regtest getblocktemplate outputs of ravencoin.json (bits 207fffff: about half
// of all final hashes are blocks; epoch 0, so the light cache builds in about a second).
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <rapidjson/document.h>

#include "dispatch/dispatcher.hpp"
#include "fake_node.hpp"  // io_runner
#include "sb/core/bytes.hpp"
#include "sb/core/hex.hpp"
#include "sb/core/merkle.hpp"
#include "sb/core/pow.hpp"
#include "sb/core/ravencoin.hpp"
#include "sb/core/uint256.hpp"
#include "sb/node/internal/json.hpp"
#include "sb/pow/ethash.hpp"
#include "sb/pow/kawpow.hpp"
#include "sb/node/template.hpp"
#include "share_tally.hpp"
#include "vectors.hpp"

using namespace sb;
using bridge::share_status;

namespace {

const chain_params& raven() { return params(network::ravencoin_regtest); }

// A Ravencoin regtest P2PKH script (the payout of a fixed-address chain).
const bytes& payout() {
    static const bytes s = *from_hex("76a914000000000000000000000000000000000000000188ac");
    return s;
}

std::shared_ptr<const node::block_template> raven_tmpl(const char* member = "getblocktemplate_kawpow_with_tx",
                                                       int prev_tag = 0) {
    rapidjson::Document d = test::vector_member_copy("ravencoin.json", member);
    if (prev_tag != 0) {
        std::string h(64, '0');
        h[63] = static_cast<char>('0' + prev_tag);
        d["previousblockhash"].SetString(h.c_str(), d.GetAllocator());
    }
    auto t = node::parse_block_template(d, raven());
    REQUIRE_MESSAGE(t, t.error().message());
    return std::make_shared<const node::block_template>(std::move(*t));
}

struct null_consumer : bridge::work_consumer {
    void on_job(std::shared_ptr<const bridge::job>) override {}
};

// What the dispatcher logged. The log function holds it: an epoch build the dispatcher
// started runs on a thread of its own and may report progress after the test is over.
struct log_store {
    std::mutex mu;
    std::vector<std::string> logs;
    std::vector<std::pair<std::string, std::thread::id>> log_threads;
};

struct fixture {
    test::io_runner io;
    std::shared_ptr<log_store> logged = std::make_shared<log_store>();
    std::mutex& mu = logged->mu;
    std::vector<bridge::found_block> blocks;
    std::vector<std::string>& logs = logged->logs;
    std::vector<std::pair<std::string, std::thread::id>>& log_threads = logged->log_threads;
    std::shared_ptr<test::share_tally> tally = std::make_shared<test::share_tally>();
    bridge::dispatcher d;
    std::shared_ptr<null_consumer> consumer = std::make_shared<null_consumer>();
    bridge::consumer_slot slot;

    fixture()
        : d(io.executor(), raven(), options(), [this](bridge::found_block b) {
              std::lock_guard lock(mu);
              blocks.push_back(std::move(b));
          }) {
        slot = d.add_consumer(consumer);
    }
    bridge::dispatcher_options options() {
        bridge::dispatcher_options o;
        o.fixed_payout_script = payout();
        o.coinbase_tag = "/test/";
        o.share_sink = tally;
        o.log = [store = logged](std::string_view line) {
            std::lock_guard lock(store->mu);
            store->logs.emplace_back(line);
            store->log_threads.emplace_back(std::string(line), std::this_thread::get_id());
        };
        return o;
    }
    std::size_t block_count() {
        std::lock_guard lock(mu);
        return blocks.size();
    }
    // The consumer's prefix in the top 16 bits of a nonce.
    std::uint64_t nonce_base() const {
        return std::uint64_t{load_be16(slot.extranonce1.data())} << 48;
    }
    static std::uint16_t load_be16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
};

const pow::ethash::epoch_context& epoch0() {
    static const auto ctx = pow::ethash::global_epoch_cache().get(0);
    return *ctx;
}

struct mined {
    std::uint64_t nonce = 0;
    pow::kawpow::hash_result hash;
};

// The first nonce from `first` whose final hash is (or is not) a block for j.
mined grind(const bridge::job& j, std::uint64_t first, bool want_block) {
    for (std::uint64_t n = first; n < first + 200; ++n) {
        const auto h = pow::kawpow::hash(epoch0(), j.height, j.kawpow->header_hash, n);
        const bool block = uint256::from_be_bytes(h.final_hash.data()) <= j.target;
        if (block == want_block) return {n, h};
    }
    FAIL("no nonce found");
    return {};
}

bridge::kawpow_share share_for(const bridge::job& j, const mined& m, double difficulty = 1e-30) {
    bridge::kawpow_share s;
    s.job_id = j.id;
    s.nonce = m.nonce;
    s.header_hash = j.kawpow->header_hash;
    s.mix_hash = m.hash.mix_hash;
    s.difficulty = difficulty;
    s.worker = "RWorker.rig1";
    return s;
}

}  // namespace

TEST_CASE("kawpow job: the header hash is the reversed sha256d of the 80-byte input with the height") {
    auto t = raven_tmpl();
    bridge::job_spec spec;
    spec.id = "1a";
    spec.coinbase.payout_script = payout();
    spec.coinbase.tag = "/test/";
    auto j = bridge::make_kawpow_job(t, spec);
    REQUIRE_MESSAGE(j, j.error().message());
    REQUIRE(j->kawpow);
    const auto& k = *j->kawpow;
    CHECK(j->height == 259);
    CHECK(k.epoch == 0);
    CHECK(k.seed_hash == hash256{});  // epoch 0: 32 zero bytes
    // The input's fields, little-endian, height where Bitcoin has the nonce.
    byte_reader r(k.input);
    CHECK(*r.u32le() == j->version);
    CHECK(*r.array<32>() == j->prev_block);
    (void)r.array<32>();
    CHECK(*r.u32le() == j->ntime);
    CHECK(*r.u32le() == 0x207fffffu);
    CHECK(*r.u32le() == 259u);
    hash256 expect = sha256d(k.input);
    std::reverse(expect.begin(), expect.end());
    CHECK(k.header_hash == expect);
    // The merkle root in the input is that of the coinbase with the zero extranonce.
    const bytes en = bridge::kawpow_fixed_extranonce(*j);
    CHECK(en == bytes(j->coinbase.extranonce1_size + j->coinbase.extranonce2_size, 0));
    const byte_span all(en);
    const hash256 root = fold_coinbase_branch(
        bridge::coinbase_txid(*j, all.first(j->coinbase.extranonce1_size), all.subspan(j->coinbase.extranonce1_size)),
        j->merkle_branch);
    CHECK(std::equal(root.begin(), root.end(), k.input.begin() + 36));

    // The notify params of stratum.md §5.
    const auto n = bridge::to_kawpow_notify(*j, target_from_difficulty(1.0));
    CHECK(n.job_id == "1a");
    CHECK(n.header_hash == to_hex(k.header_hash));
    CHECK(n.seed_hash == std::string(64, '0'));
    CHECK(n.target == "00000000ffff0000000000000000000000000000000000000000000000000000");
    CHECK(n.height == 259u);
    CHECK(n.nbits == "207fffff");
}

TEST_CASE("kawpow job: the assembled block has the 120-byte header and the template transaction") {
    auto t = raven_tmpl();
    bridge::job_spec spec;
    spec.id = "2b";
    spec.coinbase.payout_script = payout();
    auto j = bridge::make_kawpow_job(t, spec);
    REQUIRE(j);
    hash256 mix{};
    for (std::size_t i = 0; i < mix.size(); ++i) mix[i] = static_cast<std::uint8_t>(i);
    auto b = bridge::assemble_kawpow_block(*j, 0x0102030405060708ull, mix);
    REQUIRE(b);
    REQUIRE(b->size() > ravencoin::kawpow_header_size);
    const auto h = ravencoin::parse_kawpow_header(
        std::span<const std::uint8_t, ravencoin::kawpow_header_size>(b->data(), ravencoin::kawpow_header_size));
    CHECK(h.nonce64 == 0x0102030405060708ull);
    CHECK(h.mix_hash == mix);
    CHECK(h.height == 259u);
    CHECK(h.header_hash() == j->kawpow->header_hash);
    // Little-endian nonce on the wire, mix reversed (ravencoin.json conventions).
    CHECK((*b)[80] == 0x08);
    CHECK((*b)[87] == 0x01);
    CHECK((*b)[88] == 31);
    // CompactSize 2: the coinbase and the template's one transaction, verbatim at the end.
    CHECK((*b)[120] == 2);
    const bytes& tx = t->transactions.at(0).data;
    CHECK(std::equal(tx.rbegin(), tx.rend(), b->rbegin()));
}

TEST_CASE("kawpow job: a job without KAWPOW work is refused for assembly") {
    auto t = raven_tmpl();
    bridge::job_spec spec;
    spec.id = "3c";
    spec.coinbase.payout_script = payout();
    auto j = bridge::make_job(t, spec);
    REQUIRE(j);
    CHECK(bridge::assemble_kawpow_block(*j, 0, hash256{}).error() == bridge::job_errc::not_kawpow);
}

TEST_CASE("kawpow dispatch: consumers get distinct 2-byte nonce prefixes") {
    fixture f;
    std::set<bytes> seen{f.slot.extranonce1};
    CHECK(f.slot.extranonce1.size() == bridge::algorithm_of(pow_algorithm::kawpow).extranonce1_bytes());
    CHECK(f.slot.extranonce1.size() == 2);
    std::vector<std::shared_ptr<null_consumer>> keep;
    for (int i = 0; i < 300; ++i) {
        keep.push_back(std::make_shared<null_consumer>());
        const auto s = f.d.add_consumer(keep.back());
        REQUIRE(s.id != 0);
        CHECK(s.extranonce1.size() == 2);
        CHECK(seen.insert(s.extranonce1).second);
    }
}

TEST_CASE("kawpow dispatch: a template before KAWPOW activation builds no job") {
    fixture f;
    CHECK(f.d.on_template(raven_tmpl("getblocktemplate_x16rv2_pre_kawpow")) == bridge::dispatch_errc::job_build_failed);
    CHECK_FALSE(f.d.current_job(f.slot.id));
    std::lock_guard lock(f.mu);
    CHECK(std::any_of(f.logs.begin(), f.logs.end(),
                      [](const std::string& l) { return l.find("x16rv2") != std::string::npos; }));
}

TEST_CASE("kawpow share: a verified block share is accepted and its block handed to the sink") {
    fixture f;
    REQUIRE_FALSE(f.d.on_template(raven_tmpl()));
    auto j = f.d.current_job(f.slot.id);
    REQUIRE(j);
    REQUIRE(j->kawpow);
    const mined m = grind(*j, f.nonce_base(), true);
    const auto r = f.d.submit_kawpow_share(f.slot.id, share_for(*j, m));
    CHECK(r.status == share_status::accepted);
    CHECK(r.stratum_code == 0);
    CHECK(r.block);
    REQUIRE(f.block_count() == 1);
    const auto& b = f.blocks[0];
    CHECK(b.height == 259u);
    // The block hash a Ravencoin node shows is the KAWPOW final hash.
    CHECK(to_hex_reversed(b.hash) == to_hex(m.hash.final_hash));
    const auto h = ravencoin::parse_kawpow_header(
        std::span<const std::uint8_t, ravencoin::kawpow_header_size>(b.block.data(), ravencoin::kawpow_header_size));
    CHECK(h.nonce64 == m.nonce);
    CHECK(h.mix_hash == m.hash.mix_hash);
    CHECK(pow::kawpow::verify(epoch0(), h.height, h.header_hash(), h.mix_hash, h.nonce64,
                              uint256::max().to_hash()) == pow::kawpow::verify_status::ok);
    CHECK(f.tally->of(f.slot.id).accepted == 1);
    CHECK(f.tally->of(f.slot.id).blocks == 1);
}

// A share that solved a block is submitted AND answered accepted whatever else is wrong
// with it (issue 13 §3): the miner is never told "rejected" for a block the bridge sends.
TEST_CASE("kawpow share: duplicate stale and low-difficulty blocks are submitted and accepted") {
    fixture f;
    REQUIRE_FALSE(f.d.on_template(raven_tmpl()));
    auto j = f.d.current_job(f.slot.id);
    const mined blk = grind(*j, f.nonce_base(), true);
    CHECK(f.d.submit_kawpow_share(f.slot.id, share_for(*j, blk)).status == share_status::accepted);
    const auto dup = f.d.submit_kawpow_share(f.slot.id, share_for(*j, blk));
    CHECK(dup.status == share_status::accepted);
    CHECK(dup.stratum_code == 0);
    CHECK(dup.block);
    const auto low = f.d.submit_kawpow_share(f.slot.id, share_for(*j, grind(*j, blk.nonce + 1, true), 1e12));
    CHECK(low.status == share_status::accepted);
    CHECK(low.block);
    REQUIRE_FALSE(f.d.on_template(raven_tmpl("getblocktemplate_kawpow_with_tx", 1)));  // new tip
    const auto stale = f.d.submit_kawpow_share(f.slot.id, share_for(*j, grind(*j, blk.nonce + 50, true)));
    CHECK(stale.status == share_status::accepted);
    CHECK(stale.block);
    CHECK(f.block_count() == 4);
    CHECK(f.tally->of(f.slot.id).accepted == 4);
}

TEST_CASE("kawpow share: a non-block share below the share difficulty is rejected without a block") {
    fixture f;
    REQUIRE_FALSE(f.d.on_template(raven_tmpl()));
    auto j = f.d.current_job(f.slot.id);
    const auto r = f.d.submit_kawpow_share(f.slot.id, share_for(*j, grind(*j, f.nonce_base(), false), 1e12));
    CHECK(r.status == share_status::low_difficulty);
    CHECK(r.stratum_code == 23);
    CHECK_FALSE(r.block);
    CHECK(f.block_count() == 0);
}

TEST_CASE("kawpow share: wrong header hash and forged mix are refused") {
    fixture f;
    REQUIRE_FALSE(f.d.on_template(raven_tmpl()));
    auto j = f.d.current_job(f.slot.id);
    const mined m = grind(*j, f.nonce_base(), true);

    auto s = share_for(*j, m);
    s.header_hash[0] ^= 1;
    auto r = f.d.submit_kawpow_share(f.slot.id, s);
    CHECK(r.status == share_status::bad_header_hash);
    CHECK(r.stratum_code == 20);
    CHECK(r.reason == "invalid header hash");


    // A forged mix whose implied final hash meets every target: the light evaluation
    // catches it, and no block goes out.
    s = share_for(*j, m);
    s.mix_hash[5] ^= 0x40;
    r = f.d.submit_kawpow_share(f.slot.id, s);
    CHECK(r.status == share_status::bad_mix_hash);
    CHECK(r.stratum_code == 20);
    CHECK_FALSE(r.block);

    s = share_for(*j, m);
    s.job_id = "nope";
    CHECK(f.d.submit_kawpow_share(f.slot.id, s).status == share_status::job_not_found);
    CHECK(f.d.submit_kawpow_share(9999, share_for(*j, m)).status == share_status::unknown_consumer);
    CHECK(f.block_count() == 0);
    CHECK(f.tally->of(f.slot.id).rejected[static_cast<std::size_t>(share_status::bad_mix_hash)] == 1);
}

TEST_CASE("kawpow share: a block from outside the consumer's nonce range is still submitted and accepted") {
    fixture f;
    REQUIRE_FALSE(f.d.on_template(raven_tmpl()));
    auto j = f.d.current_job(f.slot.id);
    // Another prefix than the consumer's (its top bit flipped).
    const std::uint64_t foreign = f.nonce_base() ^ (std::uint64_t{1} << 63);
    const auto r = f.d.submit_kawpow_share(f.slot.id, share_for(*j, grind(*j, foreign, true)));
    CHECK(r.status == share_status::accepted);
    CHECK(r.stratum_code == 0);
    CHECK(r.block);
    CHECK(f.block_count() == 1);
    // And one that is no block is only refused.
    const auto n = f.d.submit_kawpow_share(f.slot.id, share_for(*j, grind(*j, foreign + 1000, false), 1e12));
    CHECK(n.status == share_status::nonce_out_of_range);
    CHECK_FALSE(n.block);
    CHECK(f.block_count() == 1);
}

TEST_CASE("kawpow share: a SHA-256d share on a KAWPOW job finds no job") {
    fixture f;
    REQUIRE_FALSE(f.d.on_template(raven_tmpl()));
    auto j = f.d.current_job(f.slot.id);
    bridge::share s;
    s.job_id = j->id;
    s.extranonce2 = bytes(j->coinbase.extranonce2_size, 0);
    s.ntime = j->ntime;
    s.version = j->version;
    CHECK(f.d.submit_share(f.slot.id, s).status == share_status::job_not_found);
    CHECK(f.block_count() == 0);
}

TEST_CASE("kawpow dispatch: a template of a new epoch builds its context off the caller and logs progress") {
    fixture f;
    rapidjson::Document d = test::vector_member_copy("ravencoin.json", "getblocktemplate_kawpow_with_tx");
    d["height"].SetUint(7600);  // epoch 1
    auto t = node::parse_block_template(d, raven());
    REQUIRE(t);
    REQUIRE_FALSE(f.d.on_template(std::make_shared<const node::block_template>(std::move(*t))));
    auto j = f.d.current_job(f.slot.id);
    REQUIRE(j);
    CHECK(j->kawpow->epoch == 1);
    CHECK(j->kawpow->seed_hash == pow::ethash::epoch_seed(1));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    auto logged = [&](const std::string& what) {
        std::lock_guard lock(f.mu);
        return std::any_of(f.logs.begin(), f.logs.end(), [&](const std::string& l) { return l == what; });
    };
    while (!logged("KAWPOW epoch 1: light cache 100%") && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(logged("KAWPOW epoch 1: light cache 100%"));
    CHECK(logged("KAWPOW epoch 1: light cache 50%"));
    {
        // The build (and its progress) ran on a thread of its own, not the caller's.
        std::lock_guard lock(f.mu);
        REQUIRE_FALSE(f.log_threads.empty());
        for (const auto& [line, thread] : f.log_threads)
            if (line.rfind("KAWPOW epoch 1", 0) == 0) CHECK(thread != std::this_thread::get_id());
    }
    while (!pow::ethash::global_epoch_cache().find(1) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(pow::ethash::global_epoch_cache().find(1));
}
