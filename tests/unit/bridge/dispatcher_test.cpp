// The dispatcher: jobs per payout, clean flags, refresh, extranonce1 allocation, and the
// share checks of stratum.md §3 with the block check first (DESIGN.md §3). Templates are
// the bcoin-shaped regtest fixtures of getblocktemplate.json (bits 207fffff: about half of
// all hashes are blocks, so a CPU loop finds both kinds at once).
#include <doctest/doctest.h>

#include <algorithm>
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
#include "share_tally.hpp"
#include "sb/core/hex.hpp"
#include "sb/core/pow.hpp"
#include "sb/core/uint256.hpp"
#include "sb/node/internal/json.hpp"
#include "sb/node/template.hpp"
#include "vectors.hpp"

using namespace sb;
using bridge::share_status;

namespace {

const bytes& payout_a() {
    static const bytes s = *from_hex("0014751e76e8199196d454941c45d1b3a323f1433bd6");
    return s;
}
const bytes& payout_b() {
    static const bytes s = *from_hex("00140000000000000000000000000000000000000001");
    return s;
}

// The display hash of the tip named by tag (0: the fixture's own previousblockhash).
std::string tip_hex(int tag) {
    std::string h(64, '0');
    h[63] = static_cast<char>('0' + tag);
    return h;
}
hash256 tip_hash(int tag) {
    auto h = *from_hex_fixed<32>(tip_hex(tag));
    std::reverse(h.begin(), h.end());  // display order → internal order
    return h;
}

// The fixture template; prev_tag changes previousblockhash (a new tip), height the block
// height (default the fixture's 1), fees adds to coinbasevalue (a fee update).
std::shared_ptr<const node::block_template> tmpl(int prev_tag = 0, std::uint32_t height = 0, std::int64_t fees = 0) {
    rapidjson::Document d = test::vector_member_copy("getblocktemplate.json", "bcoin_presegwit");
    if (prev_tag != 0) d["previousblockhash"].SetString(tip_hex(prev_tag).c_str(), d.GetAllocator());
    if (height != 0) d["height"].SetUint(height);
    d["coinbasevalue"].SetInt64(d["coinbasevalue"].GetInt64() + fees);
    auto t = node::parse_block_template(d, params(network::bitcoin_regtest));
    REQUIRE_MESSAGE(t, t.error().message());
    return std::make_shared<const node::block_template>(std::move(*t));
}

// The same as built from P2P headers alone: coinbase only, origin p2p_headers.
std::shared_ptr<const node::block_template> header_tmpl(int prev_tag, std::uint32_t height) {
    auto t = std::make_shared<node::block_template>(*tmpl(prev_tag, height));
    t->origin = node::template_origin::p2p_headers;
    t->transactions.clear();
    t->coinbase_value = 5'000'000'000;
    return t;
}

struct recorder : bridge::work_consumer {
    std::mutex mu;
    std::vector<std::shared_ptr<const bridge::job>> jobs;
    void on_job(std::shared_ptr<const bridge::job> j) override {
        std::lock_guard lock(mu);
        jobs.push_back(std::move(j));
    }
    std::size_t count() {
        std::lock_guard lock(mu);
        return jobs.size();
    }
    std::shared_ptr<const bridge::job> last() {
        std::lock_guard lock(mu);
        return jobs.empty() ? nullptr : jobs.back();
    }
};

struct fixture {
    test::io_runner io;
    std::vector<bridge::found_block> blocks;
    std::mutex mu;
    std::shared_ptr<test::share_tally> tally = std::make_shared<test::share_tally>();
    bridge::dispatcher d;
    std::shared_ptr<recorder> rec = std::make_shared<recorder>();
    bridge::consumer_slot slot;

    explicit fixture(bridge::dispatcher_options o = options())
        : d(io.executor(), params(network::bitcoin_regtest), with_tally(std::move(o), tally), [this](bridge::found_block b) {
              std::lock_guard lock(mu);
              blocks.push_back(std::move(b));
          }) {
        slot = d.add_consumer(rec);
    }
    static bridge::dispatcher_options with_tally(bridge::dispatcher_options o, std::shared_ptr<test::share_tally> t) {
        if (!o.share_sink) o.share_sink = std::move(t);
        return o;
    }
    static bridge::dispatcher_options options() {
        bridge::dispatcher_options o;
        o.fixed_payout_script = payout_a();
        o.coinbase_tag = "/test/";
        o.extranonce2_size = 4;
        o.log = [](std::string_view) {};
        return o;
    }
    std::size_t block_count() {
        std::lock_guard lock(mu);
        return blocks.size();
    }
};

bridge::share share_for(const bridge::job& j, std::uint32_t nonce, std::uint32_t en2 = 7) {
    bridge::share s;
    s.job_id = j.id;
    s.extranonce2 = {0, 0, 0, static_cast<std::uint8_t>(en2)};
    s.ntime = j.ntime;
    s.nonce = nonce;
    s.version = j.version;
    s.difficulty = 1e-30;  // target saturates at 2^256-1: every hash meets it
    s.worker = "w1";
    return s;
}

bool is_block(const bridge::job& j, const bytes& en1, const bridge::share& s) {
    auto h = bridge::rebuild_header(j, en1, s.extranonce2, s.ntime, s.nonce, s.version);
    REQUIRE(h);
    return uint256::from_hash(h->hash()) <= j.target;
}

// s with its nonce moved up until its header is not a block: a share that solved a block
// is accepted whatever else is wrong with it, so verdict tests need shares that did not.
bridge::share non_block(const bridge::job& j, const bytes& en1, bridge::share s) {
    while (is_block(j, en1, s)) ++s.nonce;
    return s;
}

// A share for j whose header is (or is not) a block.
bridge::share grind(const bridge::job& j, const bytes& en1, bool want_block, std::uint32_t start = 0) {
    for (std::uint32_t n = start; n < start + 10000; ++n) {
        bridge::share s = share_for(j, n);
        if (is_block(j, en1, s) == want_block) return s;
    }
    FAIL("no nonce found");
    return {};
}

}  // namespace

TEST_CASE("share: an accepted share reports its hash and difficulty") {
    fixture f;
    REQUIRE_FALSE(f.d.on_template(tmpl()));
    auto j = f.d.current_job(f.slot.id);
    REQUIRE(j);
    const bridge::share s = grind(*j, f.slot.extranonce1, false);
    const auto r = f.d.submit_share(f.slot.id, s);
    CHECK(r.status == share_status::accepted);
    CHECK(r.stratum_code == 0);
    CHECK_FALSE(r.block);
    CHECK(r.hash_difficulty > 0);
    CHECK(f.block_count() == 0);
    const auto st = f.d.stats();
    REQUIRE(st.consumers.size() == 1);
    CHECK(f.tally->of(f.slot.id).accepted == 1);
    CHECK(f.tally->of(f.slot.id).worker == "w1");
}

TEST_CASE("share: a block share is accepted and handed to the sink") {
    fixture f;
    REQUIRE_FALSE(f.d.on_template(tmpl()));
    auto j = f.d.current_job(f.slot.id);
    const bridge::share s = grind(*j, f.slot.extranonce1, true);
    const auto r = f.d.submit_share(f.slot.id, s);
    CHECK(r.status == share_status::accepted);
    CHECK(r.block);
    REQUIRE(f.block_count() == 1);
    CHECK(f.blocks[0].hash == r.hash);
    CHECK(f.blocks[0].height == 1);
    auto parsed = parse_block(f.blocks[0].block);
    REQUIRE(parsed);
    CHECK(parsed->header.hash() == r.hash);
    CHECK(f.tally->of(f.slot.id).blocks == 1);
}

// A share that solved a block is submitted AND answered accepted whatever else is wrong
// with it: telling the miner "rejected" for a block the bridge submits would contradict
// the bridge (issue 13 §3).
TEST_CASE("share: block is submitted and accepted even when the share is stale") {
    fixture f;
    REQUIRE_FALSE(f.d.on_template(tmpl()));
    auto old = f.d.current_job(f.slot.id);
    REQUIRE_FALSE(f.d.on_template(tmpl(1)));  // new tip: old jobs are stale
    const auto r = f.d.submit_share(f.slot.id, grind(*old, f.slot.extranonce1, true));
    CHECK(r.status == share_status::accepted);
    CHECK(r.stratum_code == 0);
    CHECK(r.block);
    CHECK(f.block_count() == 1);
    // A stale non-block share is only rejected.
    CHECK(f.d.submit_share(f.slot.id, grind(*old, f.slot.extranonce1, false)).status == share_status::job_not_found);
    CHECK(f.block_count() == 1);
}

TEST_CASE("share: block is submitted and accepted even when the share is a duplicate") {
    fixture f;
    REQUIRE_FALSE(f.d.on_template(tmpl()));
    auto j = f.d.current_job(f.slot.id);
    const bridge::share s = grind(*j, f.slot.extranonce1, true);
    CHECK(f.d.submit_share(f.slot.id, s).status == share_status::accepted);
    const auto r = f.d.submit_share(f.slot.id, s);
    CHECK(r.status == share_status::accepted);
    CHECK(r.stratum_code == 0);
    CHECK(r.block);
    CHECK(f.block_count() == 2);
}

TEST_CASE("share: block is submitted and accepted even when the share is below the session difficulty") {
    fixture f;
    REQUIRE_FALSE(f.d.on_template(tmpl()));
    auto j = f.d.current_job(f.slot.id);
    bridge::share s = grind(*j, f.slot.extranonce1, true);
    s.difficulty = 1e12;  // far above what a regtest block needs
    const auto r = f.d.submit_share(f.slot.id, s);
    CHECK(r.status == share_status::accepted);
    CHECK(r.stratum_code == 0);
    CHECK(r.block);
    CHECK(f.block_count() == 1);
    CHECK(f.tally->of(f.slot.id).accepted == 1);
    CHECK(f.tally->of(f.slot.id).blocks == 1);
    // The same header below the session difficulty but not a block is low difficulty.
    bridge::share t = grind(*j, f.slot.extranonce1, false);
    t.difficulty = 1e12;
    CHECK(f.d.submit_share(f.slot.id, t).status == share_status::low_difficulty);
    CHECK(f.tally->of(f.slot.id).rejected[static_cast<std::size_t>(share_status::low_difficulty)] == 1);
}

TEST_CASE("share: a job id never issued is job not found without a block check") {
    fixture f;
    REQUIRE_FALSE(f.d.on_template(tmpl()));
    auto j = f.d.current_job(f.slot.id);
    bridge::share s = grind(*j, f.slot.extranonce1, true);
    s.job_id = "nope";
    const auto r = f.d.submit_share(f.slot.id, s);
    CHECK(r.status == share_status::job_not_found);
    CHECK_FALSE(r.block);
    CHECK(f.block_count() == 0);
}

TEST_CASE("share: a wrong extranonce2 size is rejected") {
    fixture f;
    REQUIRE_FALSE(f.d.on_template(tmpl()));
    auto j = f.d.current_job(f.slot.id);
    for (std::size_t size : {3u, 5u, 0u}) {
        bridge::share s = share_for(*j, 1);
        s.extranonce2.assign(size, 0);
        const auto r = f.d.submit_share(f.slot.id, s);
        CHECK(r.status == share_status::bad_extranonce2_size);
        CHECK(r.stratum_code == 20);
        CHECK(r.reason == "incorrect size of extranonce2");
    }
}

TEST_CASE("share: an unknown consumer is not subscribed") {
    fixture f;
    REQUIRE_FALSE(f.d.on_template(tmpl()));
    const auto r = f.d.submit_share(f.slot.id + 1000, share_for(*f.d.current_job(f.slot.id), 1));
    CHECK(r.status == share_status::unknown_consumer);
    CHECK(r.stratum_code == 25);
}

TEST_CASE("share: ntime window edges one step inside and outside") {
    fixture f;
    REQUIRE_FALSE(f.d.on_template(tmpl()));
    auto j = f.d.current_job(f.slot.id);
    const std::uint32_t t0 = j->ntime;
    struct row {
        std::uint32_t ntime;
        share_status want;
    };
    // Source: stratum.md §3 (ckpool job_ntime ≤ ntime ≤ job_ntime + 7000).
    for (const row r : {row{t0 - 1, share_status::bad_ntime}, row{t0, share_status::accepted},
                        row{t0 + 1, share_status::accepted}, row{t0 + 6999, share_status::accepted},
                        row{t0 + 7000, share_status::accepted}, row{t0 + 7001, share_status::bad_ntime}}) {
        bridge::share s = share_for(*j, 5);
        s.ntime = r.ntime;
        s = non_block(*j, f.slot.extranonce1, s);
        CAPTURE(r.ntime - t0);
        CHECK(f.d.submit_share(f.slot.id, s).status == r.want);
    }
}

TEST_CASE("share: version rolling within the mask is accepted and outside it rejected") {
    fixture f;
    REQUIRE_FALSE(f.d.on_template(tmpl()));
    auto j = f.d.current_job(f.slot.id);
    constexpr std::uint32_t mask = 0x1fffe000;
    std::uint32_t nonce = 100;
    auto submit = [&](std::uint32_t version, std::uint32_t m) {
        bridge::share s = share_for(*j, nonce++);
        s.version = version;
        s.version_mask = m;
        s = non_block(*j, f.slot.extranonce1, s);
        nonce = s.nonce + 1;
        return f.d.submit_share(f.slot.id, s);
    };
    // Header version with rolled bits (work.hpp form).
    CHECK(submit(bridge::apply_version_bits(j->version, 0x00ffe000, mask), mask).status == share_status::accepted);
    // Bits-only form (BIP310 version_bits inside the mask).
    const auto bits_only = submit(0x00002000, mask);
    CHECK(bits_only.status == share_status::accepted);
    // Full-version form: outside bits equal the job's.
    CHECK(submit(j->version | 0x00004000, mask).status == share_status::accepted);
    // A bit outside the mask.
    const auto bad = submit(j->version | 0x00000001, mask);
    CHECK(bad.status == share_status::bad_version);
    CHECK(bad.stratum_code == 20);
    // No rolling negotiated: any change is outside the (empty) mask.
    CHECK(submit(j->version | 0x00002000, 0).status == share_status::bad_version);
    CHECK(submit(j->version, 0).status == share_status::accepted);
}

TEST_CASE("share: the duplicate key covers nonce ntime extranonce2 and version") {
    fixture f;
    REQUIRE_FALSE(f.d.on_template(tmpl()));
    auto j = f.d.current_job(f.slot.id);
    const bridge::share s = non_block(*j, f.slot.extranonce1, share_for(*j, 9));
    CHECK(f.d.submit_share(f.slot.id, s).status == share_status::accepted);
    CHECK(f.d.submit_share(f.slot.id, s).status == share_status::duplicate);
    bridge::share t = s;
    t.nonce += 1;
    CHECK(f.d.submit_share(f.slot.id, t).status == share_status::accepted);
    t = s;
    t.ntime += 1;
    CHECK(f.d.submit_share(f.slot.id, t).status == share_status::accepted);
    t = s;
    t.extranonce2[0] = 1;
    CHECK(f.d.submit_share(f.slot.id, t).status == share_status::accepted);
    t = s;
    t.version |= 0x2000;
    t.version_mask = 0x1fffe000;
    CHECK(f.d.submit_share(f.slot.id, t).status == share_status::accepted);
    // Another consumer (another extranonce1) with the same fields is not a duplicate.
    auto other = f.d.add_consumer(std::make_shared<recorder>());
    CHECK(f.d.submit_share(other.id, s).status == share_status::accepted);
}

TEST_CASE("dispatcher: extranonce1 is unique over many consumers") {
    fixture f;
    std::set<bytes> seen{f.slot.extranonce1};
    std::vector<bridge::consumer_id> ids;
    for (int i = 0; i < 5000; ++i) {
        auto s = f.d.add_consumer(std::make_shared<recorder>());
        CHECK(s.extranonce1.size() == 4);
        CHECK(seen.insert(s.extranonce1).second);
        ids.push_back(s.id);
    }
    // Removing and adding again never hands out a value still live.
    for (std::size_t i = 0; i < ids.size(); i += 2) f.d.remove_consumer(ids[i]);
    std::set<bytes> live{f.slot.extranonce1};
    for (const auto& c : f.d.stats().consumers) live.insert(c.extranonce1);
    for (int i = 0; i < 2000; ++i) CHECK(live.insert(f.d.add_consumer(std::make_shared<recorder>()).extranonce1).second);
}

TEST_CASE("dispatcher: clean is true only on a new prevhash") {
    fixture f;
    REQUIRE_FALSE(f.d.on_template(tmpl()));
    REQUIRE(f.io.run_until([&] { return f.rec->count() == 1; }));
    auto first = f.rec->last();
    CHECK(first->clean);
    const bridge::share s = share_for(*first, 1);

    REQUIRE_FALSE(f.d.on_template(tmpl(0, 0, 1000)));  // same tip (fee update)
    REQUIRE(f.io.run_until([&] { return f.rec->count() == 2; }));
    auto second = f.rec->last();
    CHECK_FALSE(second->clean);
    CHECK(second->id != first->id);
    // Older jobs of the same tip stay valid.
    CHECK(f.d.submit_share(f.slot.id, s).status == share_status::accepted);

    REQUIRE_FALSE(f.d.on_template(tmpl(2)));  // new tip
    REQUIRE(f.io.run_until([&] { return f.rec->count() == 3; }));
    CHECK(f.rec->last()->clean);
    bridge::share t = non_block(*second, f.slot.extranonce1, share_for(*second, 2));
    CHECK(f.d.submit_share(f.slot.id, t).status == share_status::job_not_found);
}

TEST_CASE("dispatcher: on_new_tip makes jobs stale until the next template") {
    fixture f;
    REQUIRE_FALSE(f.d.on_template(tmpl(1, 2)));
    auto j = f.d.current_job(f.slot.id);
    CHECK(f.d.on_new_tip(tip_hash(2), 2));
    CHECK(f.d.stats().work_stale);
    CHECK(f.d.submit_share(f.slot.id, non_block(*j, f.slot.extranonce1, share_for(*j, 1))).status ==
          share_status::job_not_found);
    REQUIRE_FALSE(f.d.on_template(tmpl(2, 3)));
    auto k = f.d.current_job(f.slot.id);
    CHECK(k->clean);
    CHECK(k->height == 3);
    CHECK_FALSE(f.d.stats().work_stale);
    CHECK(f.d.submit_share(f.slot.id, share_for(*k, 1)).status == share_status::accepted);
}

// ---- the best tip from every path (issue 13 §1, tip_tracker.hpp) ----------------------

TEST_CASE("dispatcher: a template equal in substance to the current one makes no job") {
    fixture f;
    REQUIRE_FALSE(f.d.on_template(tmpl(1, 2)));
    REQUIRE(f.io.run_until([&] { return f.rec->count() == 1; }));
    auto first = f.d.current_job(f.slot.id);
    // The longpoll answer and the new-tip fetch bring the same template for one block.
    CHECK_FALSE(f.d.on_template(tmpl(1, 2)));
    f.io.run_for(std::chrono::milliseconds(50));
    CHECK(f.rec->count() == 1);
    CHECK(f.d.current_job(f.slot.id)->id == first->id);
    const auto st = f.d.stats();
    CHECK(st.templates == 1);
    CHECK(st.templates_unchanged == 1);
    // Other fees: a new job, not clean.
    CHECK_FALSE(f.d.on_template(tmpl(1, 2, 500)));
    REQUIRE(f.io.run_until([&] { return f.rec->count() == 2; }));
    CHECK_FALSE(f.rec->last()->clean);
}

TEST_CASE("dispatcher: a template on an older tip than the current work never becomes work") {
    // Bitcoin Core after our own block: the longpoll brings height 3 on our block, then
    // the reply to a fetch made before Core's UpdateTip brings height 2 on its parent.
    fixture f;
    REQUIRE_FALSE(f.d.on_template(tmpl(1, 2)));
    REQUIRE_FALSE(f.d.on_template(tmpl(2, 3)));
    REQUIRE(f.io.run_until([&] { return f.rec->count() == 2; }));
    auto j = f.d.current_job(f.slot.id);
    CHECK(f.d.on_template(tmpl(1, 2)) == bridge::dispatch_errc::template_behind);
    f.io.run_for(std::chrono::milliseconds(50));
    CHECK(f.rec->count() == 2);
    CHECK(f.d.current_job(f.slot.id)->id == j->id);
    CHECK(f.d.current_job(f.slot.id)->height == 3);
    // The current jobs stay live: shares on them count, none is "job not found".
    CHECK(f.d.submit_share(f.slot.id, grind(*j, f.slot.extranonce1, false)).status == share_status::accepted);
    const auto st = f.d.stats();
    CHECK(st.templates_behind == 1);
    REQUIRE(st.best_tip);
    CHECK(st.best_tip->hash == tip_hash(2));
    CHECK(st.best_tip->height == 2);
}

TEST_CASE("dispatcher: a P2P tip before the old template's reply: the reply is refused, the new one used") {
    fixture f;
    REQUIRE_FALSE(f.d.on_template(tmpl(1, 2)));
    auto old = f.d.current_job(f.slot.id);
    CHECK(f.d.on_new_tip(tip_hash(2), 2));
    // The node has not caught up yet: its reply still builds on tip 1.
    CHECK(f.d.on_template(tmpl(1, 2)) == bridge::dispatch_errc::template_behind);
    CHECK(f.d.submit_share(f.slot.id, non_block(*old, f.slot.extranonce1, share_for(*old, 1))).status ==
          share_status::job_not_found);
    CHECK(f.d.stats().work_stale);
    REQUIRE_FALSE(f.d.on_template(tmpl(2, 3)));
    auto j = f.d.current_job(f.slot.id);
    CHECK(j->height == 3);
    CHECK(j->clean);
    CHECK(j->prev_block == tip_hash(2));
}

TEST_CASE("dispatcher: a P2P tip the work already builds on changes nothing") {
    fixture f;
    REQUIRE_FALSE(f.d.on_template(tmpl(2, 3)));  // the node's longpoll was first
    REQUIRE(f.io.run_until([&] { return f.rec->count() == 1; }));
    auto j = f.d.current_job(f.slot.id);
    CHECK_FALSE(f.d.on_new_tip(tip_hash(2), 2));
    // P2P still syncing below the work's tip: ignored too.
    CHECK_FALSE(f.d.on_new_tip(tip_hash(1), 1));
    CHECK_FALSE(f.d.stats().work_stale);
    CHECK(f.d.submit_share(f.slot.id, share_for(*j, 1)).status == share_status::accepted);
    f.io.run_for(std::chrono::milliseconds(50));
    CHECK(f.rec->count() == 1);
}

TEST_CASE("dispatcher: two blocks at one height: the node's choice is followed") {
    fixture f;
    CHECK(f.d.on_new_tip(tip_hash(2), 2));
    // The node saw its competitor at height 2 first and builds on it.
    REQUIRE_FALSE(f.d.on_template(tmpl(3, 3)));
    CHECK(f.d.current_job(f.slot.id)->prev_block == tip_hash(3));
    CHECK(f.d.stats().best_tip->hash == tip_hash(3));
}

TEST_CASE("dispatcher: header-only work on a P2P tip gives way to the node's template") {
    fixture f;
    REQUIRE_FALSE(f.d.on_template(tmpl(1, 2)));
    CHECK(f.d.on_new_tip(tip_hash(2), 2));
    REQUIRE_FALSE(f.d.on_template(header_tmpl(2, 3)));
    auto empty = f.d.current_job(f.slot.id);
    CHECK(empty->height == 3);
    CHECK(empty->clean);
    CHECK(empty->merkle_branch.empty());
    CHECK_FALSE(f.d.stats().work_stale);
    REQUIRE_FALSE(f.d.on_template(tmpl(2, 3)));
    auto full = f.d.current_job(f.slot.id);
    CHECK(full->id != empty->id);
    CHECK_FALSE(full->clean);  // same tip: the coinbase-only job stays valid
    CHECK(f.d.submit_share(f.slot.id, grind(*empty, f.slot.extranonce1, false)).status == share_status::accepted);
    // Header-only work for the tip the node's template is on is not used.
    CHECK_FALSE(f.d.on_template(header_tmpl(2, 3)));
    CHECK(f.d.current_job(f.slot.id)->id == full->id);
    CHECK(f.d.stats().templates_unchanged == 1);
    // Nor is header-only work on a lower tip.
    CHECK(f.d.on_template(header_tmpl(1, 2)) == bridge::dispatch_errc::template_behind);
}

TEST_CASE("dispatcher: the node's own tip is followed once it disagrees for max_node_lag") {
    auto o = fixture::options();
    o.max_node_lag = std::chrono::milliseconds(100);
    std::vector<std::string> logs;
    std::mutex log_mu;
    o.log = [&](std::string_view l) {
        std::lock_guard lock(log_mu);
        logs.emplace_back(l);
    };
    fixture f(o);
    REQUIRE_FALSE(f.d.on_template(tmpl(1, 2)));
    CHECK(f.d.on_new_tip(tip_hash(2), 2));  // a block the node will refuse
    CHECK(f.d.on_template(tmpl(1, 2)) == bridge::dispatch_errc::template_behind);
    CHECK(f.d.on_template(tmpl(1, 2)) == bridge::dispatch_errc::template_behind);
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    REQUIRE_FALSE(f.d.on_template(tmpl(1, 2)));
    auto j = f.d.current_job(f.slot.id);
    CHECK(j->prev_block == tip_hash(1));
    CHECK(j->clean);  // the jobs the P2P tip made stale are replaced, not revived
    CHECK(f.d.submit_share(f.slot.id, share_for(*j, 1)).status == share_status::accepted);
    std::lock_guard lock(log_mu);
    std::size_t refused = 0, followed = 0;
    for (const auto& l : logs) {
        refused += l.find("not used: the best known tip") != std::string::npos;
        followed += l.find("following the node") != std::string::npos;
    }
    CHECK(refused == 1);  // logged once per refused parent, not per template
    CHECK(followed == 1);
}

TEST_CASE("dispatcher: after a restart the P2P store's tip outranks the node's old template") {
    // A fresh dispatcher learns the stored P2P tip before the node's first template.
    fixture f;
    CHECK(f.d.on_new_tip(tip_hash(2), 2));
    CHECK(f.d.on_template(tmpl(1, 2)) == bridge::dispatch_errc::template_behind);
    CHECK_FALSE(f.d.current_job(f.slot.id));  // no work on the old tip, ever
    REQUIRE_FALSE(f.d.on_template(header_tmpl(2, 3)));
    CHECK(f.d.current_job(f.slot.id)->height == 3);
    REQUIRE_FALSE(f.d.on_template(tmpl(2, 3)));
    CHECK(f.d.current_job(f.slot.id)->tmpl->origin == node::template_origin::node);
}

TEST_CASE("dispatcher: refresh gives a new job id without clean") {
    auto o = fixture::options();
    o.job_refresh = std::chrono::milliseconds(50);
    std::uint32_t now = 1296688603 + 100;
    o.unix_time = [&] { return now; };
    fixture f(o);
    REQUIRE_FALSE(f.d.on_template(tmpl()));
    REQUIRE(f.io.run_until([&] { return f.rec->count() >= 3; }, std::chrono::seconds(10)));
    std::set<std::string> ids;
    std::lock_guard lock(f.rec->mu);
    for (std::size_t i = 0; i < f.rec->jobs.size(); ++i) {
        const auto& j = f.rec->jobs[i];
        CHECK(ids.insert(j->id).second);
        if (i > 0) {
            CHECK_FALSE(j->clean);
            CHECK(j->ntime == now);  // bumped to the clock, within [mintime, now + 7200]
            CHECK(j->coinbase == f.rec->jobs[0]->coinbase);
        }
    }
}

TEST_CASE("dispatcher: address-username mode builds jobs per payout script") {
    auto o = fixture::options();
    o.payout_mode = config::payout_mode::address_username;
    o.fixed_payout_script.clear();
    fixture f(o);
    auto rec_b = std::make_shared<recorder>();
    auto b = f.d.add_consumer(rec_b);
    REQUIRE_FALSE(f.d.on_template(tmpl()));
    CHECK_FALSE(f.d.current_job(f.slot.id));  // no payout yet
    CHECK(f.d.set_payout(f.slot.id, {}) == bridge::dispatch_errc::payout_script_invalid);
    REQUIRE_FALSE(f.d.set_payout(f.slot.id, payout_a()));
    REQUIRE_FALSE(f.d.set_payout(b.id, payout_b()));
    auto ja = f.d.current_job(f.slot.id);
    auto jb = f.d.current_job(b.id);
    REQUIRE(ja);
    REQUIRE(jb);
    CHECK(ja->id != jb->id);
    CHECK(ja->coinbase.coinb2 != jb->coinbase.coinb2);
    // A job of another payout is not this consumer's.
    CHECK(f.d.submit_share(b.id, share_for(*ja, 1)).status == share_status::job_not_found);
    CHECK(f.d.submit_share(b.id, share_for(*jb, 1)).status == share_status::accepted);
    // The same script shares jobs.
    auto c = f.d.add_consumer(std::make_shared<recorder>());
    REQUIRE_FALSE(f.d.set_payout(c.id, payout_a()));
    CHECK(f.d.current_job(c.id)->id == ja->id);
    // A template reaches every consumer with a payout, each with its own script's job.
    REQUIRE_FALSE(f.d.on_template(tmpl(3)));
    REQUIRE(f.io.run_until([&] { return f.rec->count() == 1 && rec_b->count() == 1; }));
    CHECK(f.rec->last()->coinbase.coinb2 == ja->coinbase.coinb2);
    CHECK(rec_b->last()->coinbase.coinb2 == jb->coinbase.coinb2);
}

TEST_CASE("dispatcher: fixed-address mode refuses another payout script") {
    fixture f;
    CHECK_FALSE(f.d.set_payout(f.slot.id, payout_a()));
    CHECK(f.d.set_payout(f.slot.id, payout_b()) == bridge::dispatch_errc::payout_mismatch);
    CHECK(f.d.set_payout(999999, payout_a()) == bridge::dispatch_errc::unknown_consumer);
}

TEST_CASE("dispatcher: stratum codes and messages of every status") {
    CHECK(bridge::stratum_error_code(share_status::accepted) == 0);
    CHECK(bridge::stratum_error_code(share_status::job_not_found) == 21);
    CHECK(bridge::stratum_error_code(share_status::duplicate) == 22);
    CHECK(bridge::stratum_error_code(share_status::low_difficulty) == 23);
    CHECK(bridge::stratum_error_code(share_status::bad_ntime) == 20);
    CHECK(bridge::stratum_error_code(share_status::bad_version) == 20);
    CHECK(bridge::stratum_error_code(share_status::bad_extranonce2_size) == 20);
    CHECK(bridge::stratum_error_code(share_status::unknown_consumer) == 25);
    CHECK(std::string(bridge::stratum_error_message(share_status::job_not_found)) == "Job not found");
}

TEST_CASE("share: free low-difficulty shares never fill the duplicate set or stale the job") {
    fixture f;
    REQUIRE_FALSE(f.d.on_template(tmpl()));
    auto j = f.d.current_job(f.slot.id);
    // More random-nonce shares than the duplicate set holds, none meeting its target.
    for (std::uint32_t n = 0; n < bridge::max_share_keys_per_job + 10; ++n) {
        bridge::share s = share_for(*j, n);
        s.difficulty = 1e15;
        const auto r = f.d.submit_share(f.slot.id, s);
        if (r.block) continue;  // the regtest target is easy: some are blocks (accepted)
        REQUIRE(r.status == share_status::low_difficulty);
    }
    // Real shares on the same job are still judged, not refused as stale.
    const bridge::share good = non_block(*j, f.slot.extranonce1, share_for(*j, 0xfffffff0u));
    CHECK(f.d.submit_share(f.slot.id, good).status == share_status::accepted);
    CHECK(f.d.submit_share(f.slot.id, good).status == share_status::duplicate);
}

TEST_CASE("share: a job whose duplicate set fills up is replaced by a fresh job at once") {
    bridge::dispatcher_options o = fixture::options();
    fixture f(o);
    REQUIRE_FALSE(f.d.on_template(tmpl()));
    auto j = f.d.current_job(f.slot.id);
    REQUIRE(j);
    const std::size_t jobs_before = f.d.stats().jobs_issued;
    // Every share meets its (saturated) target: each one is remembered.
    std::uint32_t en2 = 0;
    std::size_t accepted = 0;
    for (std::uint32_t n = 0; accepted < bridge::max_share_keys_per_job; ++n) {
        if (n == 0xffffu) ++en2;
        bridge::share s = share_for(*j, n & 0xffffu, en2);
        REQUIRE(f.d.submit_share(f.slot.id, s).status == share_status::accepted);
        ++accepted;
    }
    // The full job is stale; a new job went out without waiting for the 30 s refresh.
    CHECK(f.d.submit_share(f.slot.id, non_block(*j, f.slot.extranonce1, share_for(*j, 0x12345678u, 200))).status ==
          share_status::job_not_found);
    CHECK(f.d.stats().jobs_issued == jobs_before + 1);
    auto fresh = f.d.current_job(f.slot.id);
    REQUIRE(fresh);
    CHECK(fresh->id != j->id);
    CHECK_FALSE(fresh->clean);
    CHECK(f.d.submit_share(f.slot.id, share_for(*fresh, 1)).status == share_status::accepted);
}

// Shares are rebuilt and hashed outside the dispatcher's lock; the duplicate check and the
// counters must still hold when several threads submit the same shares at once.
TEST_CASE("share: threads submitting the same shares at once get each accepted exactly once") {
    fixture f;
    REQUIRE_FALSE(f.d.on_template(tmpl()));
    auto j = f.d.current_job(f.slot.id);
    REQUIRE(j);
    constexpr std::uint32_t shares = 400;
    constexpr int threads = 4;
    std::size_t blocks_expected = 0;
    std::vector<bool> block(shares);
    for (std::uint32_t n = 0; n < shares; ++n)
        if ((block[n] = is_block(*j, f.slot.extranonce1, share_for(*j, n)))) ++blocks_expected;

    std::vector<std::vector<share_status>> seen(threads);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            for (std::uint32_t n = 0; n < shares; ++n) seen[t].push_back(f.d.submit_share(f.slot.id, share_for(*j, n)).status);
        });
    for (auto& th : pool) th.join();

    for (std::uint32_t n = 0; n < shares; ++n) {
        int accepted = 0, duplicate = 0;
        for (int t = 0; t < threads; ++t) {
            if (seen[t][n] == share_status::accepted) ++accepted;
            if (seen[t][n] == share_status::duplicate) ++duplicate;
        }
        // A block is accepted every time it is submitted; another share exactly once.
        CHECK(accepted == (block[n] ? threads : 1));
        CHECK(duplicate == (block[n] ? 0 : threads - 1));
    }
    const std::size_t others = shares - blocks_expected;
    const auto st = f.d.stats();
    CHECK(st.shares_accepted == others + blocks_expected * threads);
    CHECK(st.shares_rejected == others * (threads - 1));
    REQUIRE(st.consumers.size() == 1);
    CHECK(f.tally->of(f.slot.id).accepted == others + blocks_expected * threads);
    // Every submission of a block header counts as a block; the sink got the first
    // max_blocks_per_parent of them (all on one parent), the rest were not sent.
    CHECK(st.blocks_found == blocks_expected * threads);
    CHECK(f.block_count() == std::min<std::size_t>(blocks_expected * threads, bridge::max_blocks_per_parent));
    CHECK(st.blocks_not_sent == blocks_expected * threads - f.block_count());
}

TEST_CASE("dispatcher: every judged share reaches the statistics sink once, rejections with their reason") {
    struct recording_sink : bridge::stats::share_sink {
        std::mutex mu;
        std::vector<bridge::stats::share_event> events;
        std::vector<std::string> workers;
        void on_share(const bridge::stats::share_event& e) noexcept override {
            std::lock_guard lock(mu);
            events.push_back(e);
            workers.emplace_back(e.worker);
        }
    };
    auto sink = std::make_shared<recording_sink>();
    auto o = fixture::options();
    o.share_sink = sink;
    fixture f(o);
    REQUIRE_FALSE(f.d.on_template(tmpl()));
    auto j = f.d.current_job(f.slot.id);
    bridge::share good = grind(*j, f.slot.extranonce1, false);
    good.difficulty = 1e-30;
    CHECK(f.d.submit_share(f.slot.id, good).status == share_status::accepted);
    bridge::share unknown = good;
    unknown.job_id = "nope";
    CHECK(f.d.submit_share(f.slot.id, unknown).status == share_status::job_not_found);
    CHECK(f.d.submit_share(f.slot.id, good).status == share_status::duplicate);
    std::lock_guard lock(sink->mu);
    REQUIRE(sink->events.size() == 3);
    CHECK(sink->events[0].status == share_status::accepted);
    CHECK(sink->events[0].consumer == f.slot.id);
    CHECK(sink->events[0].share_difficulty == good.difficulty);
    CHECK(sink->events[0].hash_difficulty > 0);
    CHECK(sink->events[1].status == share_status::job_not_found);
    CHECK(sink->events[2].status == share_status::duplicate);
    CHECK(sink->workers[0] == "w1");
}

TEST_CASE("dispatcher: blocks on one parent beyond max_blocks_per_parent are accepted but not sent, logged once") {
    auto o = fixture::options();
    std::vector<std::string> logs;
    std::mutex log_mu;
    o.log = [&](std::string_view l) {
        std::lock_guard lock(log_mu);
        logs.emplace_back(l);
    };
    fixture f(o);
    REQUIRE_FALSE(f.d.on_template(tmpl(1, 2)));
    auto j = f.d.current_job(f.slot.id);
    std::uint32_t next = 0;
    for (std::size_t i = 0; i < bridge::max_blocks_per_parent + 5; ++i) {
        const auto s = grind(*j, f.slot.extranonce1, true, next);
        next = s.nonce + 1;
        const auto r = f.d.submit_share(f.slot.id, s);
        CHECK(r.status == share_status::accepted);
        CHECK(r.block);
    }
    CHECK(f.block_count() == bridge::max_blocks_per_parent);
    CHECK(f.d.stats().blocks_not_sent == 5);
    // A new parent: blocks go out again.
    REQUIRE_FALSE(f.d.on_template(tmpl(2, 3)));
    j = f.d.current_job(f.slot.id);
    CHECK(f.d.submit_share(f.slot.id, grind(*j, f.slot.extranonce1, true)).block);
    CHECK(f.block_count() == bridge::max_blocks_per_parent + 1);
    std::lock_guard lock(log_mu);
    CHECK(std::count_if(logs.begin(), logs.end(), [](const std::string& l) {
              return l.find("further ones are not sent") != std::string::npos;
          }) == 1);
}
