#include "regtest_blocks.hpp"

#include <doctest/doctest.h>

#include <optional>

#include "sb/core/address.hpp"
#include "sb/core/chain.hpp"
#include "sb/core/pow.hpp"
#include "sb/node/internal/json.hpp"
#include "sb/node/node_rpc.hpp"

namespace sb::test {

node::rpc_settings rpc_settings_for(const regtest_node& n) {
    node::rpc_settings s;
    s.url = n.rpc_url();
    s.user = "solobridge";
    s.password = n.api_key();
    s.timeout = std::chrono::seconds(60);
    return s;
}

bytes test_payout_script() {
    auto s = address_to_script("bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", params(network::bitcoin_regtest).address);
    REQUIRE(s);
    return s->script_pubkey;
}

std::shared_ptr<const node::block_template> fetch_template(io_runner& io, node::rpc_client& client) {
    std::optional<node::rpc_reply> reply;
    node::getblocktemplate(client, {}, [&](node::rpc_reply r) { reply = std::move(r); });
    REQUIRE(io.run_until([&] { return reply.has_value(); }, std::chrono::seconds(60)));
    REQUIRE_MESSAGE(reply->ok(), reply->error.to_string());
    auto parsed = node::parse_block_template(json_of(reply->value), params(network::bitcoin_regtest));
    REQUIRE_MESSAGE(parsed, parsed.error().message());
    return std::make_shared<const node::block_template>(std::move(*parsed));
}

built_block grind_block(std::shared_ptr<const node::block_template> t, const std::string& job_id, std::string_view tag) {
    const bytes payout = test_payout_script();
    bridge::job_spec spec;
    spec.id = job_id;
    spec.clean = true;
    spec.coinbase.payout_script = payout;
    spec.coinbase.tag = tag;
    spec.coinbase.extranonce1_size = 4;
    spec.coinbase.extranonce2_size = 8;
    auto j = bridge::make_job(std::move(t), spec);
    REQUIRE_MESSAGE(j, j.error().message());

    const std::uint8_t en1[4] = {0xde, 0xad, 0xbe, 0xef};
    const std::uint8_t en2[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    std::optional<block_header> found;
    for (std::uint32_t nonce = 0; nonce < 100000 && !found; ++nonce) {
        auto h = bridge::rebuild_header(*j, en1, en2, j->ntime, nonce, j->version);
        REQUIRE(h);
        if (check_proof_of_work(h->hash(), h->bits, params(network::bitcoin_regtest).pow_limit)) found = *h;
    }
    REQUIRE_MESSAGE(found, "no nonce below the regtest target in 100000 tries");
    auto block = bridge::assemble_block(*j, en1, en2, *found);
    REQUIRE_MESSAGE(block, block.error().message());
    return {std::move(*j), *found, std::move(*block)};
}

}  // namespace sb::test
