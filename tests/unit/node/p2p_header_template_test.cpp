// Header-only templates: height, prev, bits by the retarget rule, time above the median
// time past, subsidy by height, no witness commitment; the cases where the bits cannot
// be known and the chains that cannot use the mode.
#include <doctest/doctest.h>

#include "regtest_headers.hpp"
#include "sb/core/pow.hpp"
#include "sb/node/p2p/header_template.hpp"

using namespace sb;
using namespace sb::node::p2p;

namespace {

const chain_params& regtest() { return params(network::bitcoin_regtest); }

block_header mine(const hash256& prev, std::uint32_t time) {
    return test::mine_regtest_header(prev, time, regtest().pow_limit_bits);
}

// n headers on genesis; header i has time t0 + 600 i, except that times is used when given.
void grow(header_chain& chain, int n, std::uint32_t step = 600) {
    hash256 prev = chain.tip().hash;
    std::uint32_t t = chain.tip().header.time;
    for (int i = 0; i < n; ++i) {
        t += step;
        const auto h = mine(prev, t);
        REQUIRE(chain.add(h, std::int64_t(t) + 1000));
        prev = h.hash();
    }
}

}  // namespace

TEST_CASE("p2p header template: the block after the P2P tip with subsidy bits and times by the rules") {
    header_chain chain(regtest());
    grow(chain, 12);
    const auto& tip = chain.tip();
    // Median of the last 11 times: heights 2..12, the middle one is height 7.
    const std::uint32_t mtp = chain.at_height(7)->header.time;

    SUBCASE("now well after the tip") {
        const std::int64_t now = std::int64_t(tip.header.time) + 300;
        auto t = header_only_template(chain, now);
        REQUIRE(t);
        CHECK(t->height == 13u);
        CHECK(t->prev_block == tip.hash);
        CHECK(t->bits == regtest().pow_limit_bits);
        CHECK(t->target == compact_to_target(regtest().pow_limit_bits).target);
        CHECK(t->mintime == mtp + 1);
        CHECK(t->curtime == std::uint32_t(now));
        CHECK(t->coinbase_value == 50 * coin_units);
        CHECK(t->transactions.empty());
        CHECK_FALSE(t->segwit_active);
        CHECK_FALSE(t->default_witness_commitment);
        CHECK(t->version == header_only_block_version);
    }
    SUBCASE("a clock behind the median time past still gives a valid time") {
        auto t = header_only_template(chain, std::int64_t(mtp) - 5000);
        REQUIRE(t);
        CHECK(t->curtime == mtp + 1);
    }
}

TEST_CASE("p2p header template: the subsidy halves at the chain's halving interval") {
    header_chain chain(regtest());
    grow(chain, regtest().halving_interval - 1, 1);
    auto t = header_only_template(chain, 2'000'000'000);
    REQUIRE(t);
    CHECK(t->height == std::uint32_t(regtest().halving_interval));
    CHECK(t->coinbase_value == 25 * coin_units);
}

TEST_CASE("p2p header template: an anchored mainnet chain knows the bits off a retarget boundary only") {
    const auto& main = params(network::bitcoin_mainnet);
    block_header anchor;
    anchor.version = 0x20000000;
    anchor.time = 1'700'000'000;
    anchor.bits = 0x17034219;
    {
        header_chain chain(main, anchor, 800'001, uint256(1));
        auto t = header_only_template(chain, 1'700'000'600);
        REQUIRE(t);
        CHECK(t->height == 800'002u);
        CHECK(t->bits == 0x17034219u);
        CHECK(t->coinbase_value == main.subsidy(800'002));
        CHECK(t->coinbase_value == 625'000'000);
    }
    {
        // The block after the anchor starts a period: its bits need the period's first
        // header, which an anchored chain does not hold.
        header_chain chain(main, anchor, 2016 * 400 - 1, uint256(1));
        auto t = header_only_template(chain, 1'700'000'600);
        REQUIRE_FALSE(t);
        CHECK(t.error() == p2p_errc::header_bad_diffbits);
    }
}

TEST_CASE("p2p header template: signet is refused because its blocks need a signature") {
    header_chain chain(params(network::bitcoin_signet));
    auto t = header_only_template(chain, 2'000'000'000);
    REQUIRE_FALSE(t);
    CHECK(t.error() == p2p_errc::header_unsupported_pow);
}
