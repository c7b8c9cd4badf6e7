// The proof-of-work seam (issue 12): the same dispatcher tests for SHA-256d and KAWPOW,
// driven only through the interface — dispatcher::submit with a submission of the chain's
// kind — with each algorithm's blocks and shares produced by an independent oracle (a
// plain header rebuild and sha256d; the KAWPOW CPU reference), not by the code under test.
// Templates: bcoin-shaped Bitcoin regtest (bits 207fffff) and Ravencoin Core regtest with
// bits 201fffff (an eighth of all final hashes are blocks, so both kinds come quickly).
#include <doctest/doctest.h>

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "dispatch/dispatcher.hpp"
#include "fake_node.hpp"  // io_runner
#include "sb/core/hex.hpp"
#include "sb/core/uint256.hpp"
#include "sb/node/internal/json.hpp"
#include "sb/pow/algorithm.hpp"
#include "sb/pow/ethash.hpp"
#include "sb/pow/kawpow.hpp"
#include "share_tally.hpp"
#include "vectors.hpp"

using namespace sb;
using bridge::share_status;

namespace {

struct sha256d_chain {
    static constexpr network net = network::bitcoin_regtest;
    static constexpr pow_algorithm algo = pow_algorithm::sha256d;
    static bytes payout() { return *from_hex("0014751e76e8199196d454941c45d1b3a323f1433bd6"); }
    static std::shared_ptr<const node::block_template> tmpl(int prev_tag) {
        rapidjson::Document d = test::vector_member_copy("getblocktemplate.json", "bcoin_presegwit");
        if (prev_tag != 0) {
            std::string h(64, '0');
            h[63] = static_cast<char>('0' + prev_tag);
            d["previousblockhash"].SetString(h.c_str(), d.GetAllocator());
        }
        auto t = node::parse_block_template(d, params(net));
        REQUIRE_MESSAGE(t, t.error().message());
        return std::make_shared<const node::block_template>(std::move(*t));
    }
    // A share from `first` on whose header is (or is not) a block.
    static bridge::submission make(const bridge::job& j, const bytes& en1, bool want_block, std::uint32_t first,
                                   double difficulty) {
        bridge::share s;
        s.job_id = j.id;
        s.extranonce2 = bytes(j.coinbase.extranonce2_size, 0x5a);
        s.ntime = j.ntime;
        s.version = j.version;
        s.difficulty = difficulty;
        s.worker = "seam.w1";
        for (s.nonce = first; s.nonce < first + 10'000; ++s.nonce) {
            auto h = bridge::rebuild_header(j, en1, s.extranonce2, s.ntime, s.nonce, s.version);
            REQUIRE(h);
            if ((uint256::from_hash(h->hash()) <= j.target) == want_block) return s;
        }
        FAIL("no nonce found");
        return s;
    }
};

struct kawpow_chain {
    static constexpr network net = network::ravencoin_regtest;
    static constexpr pow_algorithm algo = pow_algorithm::kawpow;
    static bytes payout() { return *from_hex("76a914000000000000000000000000000000000000000188ac"); }
    static std::shared_ptr<const node::block_template> tmpl(int prev_tag) {
        rapidjson::Document d = test::vector_member_copy("ravencoin.json", "getblocktemplate_kawpow_with_tx");
        d["bits"].SetString("201fffff", d.GetAllocator());
        d["target"].SetString(("1fffff" + std::string(58, '0')).c_str(), d.GetAllocator());
        if (prev_tag != 0) {
            std::string h(64, '0');
            h[63] = static_cast<char>('0' + prev_tag);
            d["previousblockhash"].SetString(h.c_str(), d.GetAllocator());
        }
        auto t = node::parse_block_template(d, params(net));
        REQUIRE_MESSAGE(t, t.error().message());
        return std::make_shared<const node::block_template>(std::move(*t));
    }
    static bridge::submission make(const bridge::job& j, const bytes& en1, bool want_block, std::uint32_t first,
                                   double difficulty) {
        static const auto ctx = pow::ethash::global_epoch_cache().get(0);
        const std::uint64_t prefix = (std::uint64_t{en1.at(0)} << 56) | (std::uint64_t{en1.at(1)} << 48);
        for (std::uint64_t n = prefix | first; n < (prefix | first) + 2'000; ++n) {
            const auto h = pow::kawpow::hash(*ctx, j.height, j.kawpow->header_hash, n);
            if ((uint256::from_be_bytes(h.final_hash.data()) <= j.target) != want_block) continue;
            bridge::kawpow_share s;
            s.job_id = j.id;
            s.nonce = n;
            s.header_hash = j.kawpow->header_hash;
            s.mix_hash = h.mix_hash;
            s.difficulty = difficulty;
            s.worker = "seam.w1";
            return s;
        }
        FAIL("no nonce found");
        return {};
    }
};

struct null_consumer : bridge::work_consumer {
    void on_job(std::shared_ptr<const bridge::job>) override {}
};

template <class Chain>
struct seam {
    test::io_runner io;
    std::mutex mu;
    std::vector<bridge::found_block> blocks;
    std::shared_ptr<test::share_tally> tally = std::make_shared<test::share_tally>();
    bridge::dispatcher d;
    bridge::consumer_slot slot;

    seam() : d(io.executor(), params(Chain::net), options(tally), [this](bridge::found_block b) {
                 std::lock_guard lock(mu);
                 blocks.push_back(std::move(b));
             }) {
        slot = d.add_consumer(std::make_shared<null_consumer>());
    }
    static bridge::dispatcher_options options(std::shared_ptr<test::share_tally> t) {
        bridge::dispatcher_options o;
        o.fixed_payout_script = Chain::payout();
        o.coinbase_tag = "/seam/";
        o.extranonce2_size = 4;
        o.share_sink = std::move(t);
        o.log = [](std::string_view) {};
        return o;
    }
    bridge::submission share(bool want_block, std::uint32_t first = 0, double difficulty = 1e-30) {
        return Chain::make(*d.current_job(slot.id), slot.extranonce1, want_block, first, difficulty);
    }
    std::size_t block_count() {
        std::lock_guard lock(mu);
        return blocks.size();
    }
};

}  // namespace

TEST_CASE_TEMPLATE("seam: the chain's algorithm is the one its blocks need", Chain, sha256d_chain, kawpow_chain) {
    seam<Chain> f;
    CHECK(f.d.algorithm().headers().id() == Chain::algo);
    CHECK(f.slot.extranonce1.size() == f.d.algorithm().extranonce1_bytes());
    CHECK(f.d.algorithm().headers().header_bytes() == (Chain::algo == pow_algorithm::kawpow ? 120u : 80u));
}

TEST_CASE_TEMPLATE("seam: a block is handed on, accepted, and named by the header-level block hash", Chain, sha256d_chain,
                   kawpow_chain) {
    seam<Chain> f;
    REQUIRE_FALSE(f.d.on_template(Chain::tmpl(0)));
    const auto r = f.d.submit(f.slot.id, f.share(true));
    CHECK(r.status == share_status::accepted);
    CHECK(r.block);
    REQUIRE(f.block_count() == 1);
    const auto named = f.d.algorithm().headers().block_hash(f.blocks[0].block);
    REQUIRE(named);
    CHECK(*named == r.hash);
    CHECK(f.blocks[0].hash == r.hash);
    CHECK(f.tally->of(f.slot.id).blocks == 1);
}

TEST_CASE_TEMPLATE("seam: stale, duplicate and low-difficulty shares that are blocks are accepted, others rejected",
                   Chain, sha256d_chain, kawpow_chain) {
    seam<Chain> f;
    REQUIRE_FALSE(f.d.on_template(Chain::tmpl(0)));
    const auto share = f.share(false);
    CHECK(f.d.submit(f.slot.id, share).status == share_status::accepted);
    CHECK(f.d.submit(f.slot.id, share).status == share_status::duplicate);
    const auto low = f.share(false, 3000, 1e15);
    CHECK(f.d.submit(f.slot.id, low).status == share_status::low_difficulty);
    const auto low_block = f.share(true, 3000, 1e15);
    CHECK(f.d.submit(f.slot.id, low_block).status == share_status::accepted);
    const auto stale = f.share(false, 6000);
    const auto stale_block = f.share(true, 6000);
    REQUIRE_FALSE(f.d.on_template(Chain::tmpl(1)));  // a new tip
    CHECK(f.d.submit(f.slot.id, stale).status == share_status::job_not_found);
    const auto r = f.d.submit(f.slot.id, stale_block);
    CHECK(r.status == share_status::accepted);
    CHECK(r.block);
    CHECK(f.block_count() == 2);
    const auto t = f.tally->of(f.slot.id);
    CHECK(t.accepted == 3);
    CHECK(t.rejected[static_cast<std::size_t>(share_status::duplicate)] == 1);
    CHECK(t.rejected[static_cast<std::size_t>(share_status::low_difficulty)] == 1);
    CHECK(t.rejected[static_cast<std::size_t>(share_status::job_not_found)] == 1);
}

TEST_CASE_TEMPLATE("seam: a submission of the other algorithm's kind is job not found", Chain, sha256d_chain,
                   kawpow_chain) {
    seam<Chain> f;
    REQUIRE_FALSE(f.d.on_template(Chain::tmpl(0)));
    const auto j = f.d.current_job(f.slot.id);
    bridge::submission other;
    if (Chain::algo == pow_algorithm::kawpow) {
        bridge::share s;
        s.job_id = j->id;
        other = s;
    } else {
        bridge::kawpow_share s;
        s.job_id = j->id;
        other = s;
    }
    const auto r = f.d.submit(f.slot.id, other);
    CHECK(r.status == share_status::job_not_found);
    CHECK_FALSE(r.block);
}

TEST_CASE_TEMPLATE("seam: consumers get distinct slices of the nonce space", Chain, sha256d_chain, kawpow_chain) {
    seam<Chain> f;
    std::set<bytes> seen{f.slot.extranonce1};
    for (int i = 0; i < 300; ++i) {
        const auto s = f.d.add_consumer(std::make_shared<null_consumer>());
        REQUIRE(s.id != 0);
        CHECK(s.extranonce1.size() == f.d.algorithm().extranonce1_bytes());
        CHECK(seen.insert(s.extranonce1).second);
    }
}
