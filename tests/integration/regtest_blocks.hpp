// Building valid regtest blocks the way the bridge does (template → job → nonce →
// assembly), shared by the integration tests that need a block of their own.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "dispatch/job.hpp"
#include "fake_node.hpp"  // io_runner
#include "regtest_node.hpp"
#include "sb/node/rpc_client.hpp"
#include "sb/node/template.hpp"

namespace sb::test {

// RPC settings for the test node (user "solobridge", its API key as password).
node::rpc_settings rpc_settings_for(const regtest_node& n);
// scriptPubKey of bcrt1qw508… (bcoin shows the same script as rb1q…).
bytes test_payout_script();
// getblocktemplate through our client, parsed for bitcoin-regtest.
std::shared_ptr<const node::block_template> fetch_template(io_runner& io, node::rpc_client& client);

struct built_block {
    bridge::job job;
    block_header header;
    bytes block;  // what submitblock takes
};

// A job paying test_payout_script() with tag, and the first nonce (extranonces fixed)
// whose header meets the regtest target; the block assembled from it.
built_block grind_block(std::shared_ptr<const node::block_template> t, const std::string& job_id, std::string_view tag);

}  // namespace sb::test
