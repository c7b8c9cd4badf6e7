// node-client's JSON layer: the RapidJSON values behind rpc_value and the readers that
// turn a call's result into typed values. Only node-client's own sources, its tests and
// the fuzz targets include this (CMake target sb::node_internal); everything else gets
// typed results from node_rpc.hpp and template.hpp, and never sees RapidJSON.
//
// Every reader takes untrusted input: nothing throws, a value of the wrong shape is an
// error.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "sb/core/chain.hpp"
#include "sb/core/result.hpp"
#include "sb/node/node_rpc.hpp"
#include "sb/node/rpc_client.hpp"
#include "sb/node/rpc_reply.hpp"
#include "sb/node/template.hpp"

namespace sb::node {

struct rpc_value_access {
    // A value that lives in the parsed reply owner keeps alive.
    static rpc_value make(std::shared_ptr<const void> owner, const rapidjson::Value& value) noexcept;
    // The JSON of v (JSON null for a default-constructed rpc_value).
    static const rapidjson::Value& json(const rpc_value& v) noexcept;
};

// rpc_value_access::json(v).
inline const rapidjson::Value& json_of(const rpc_value& v) noexcept { return rpc_value_access::json(v); }

// ---- the readers behind the typed calls of node_rpc.hpp --------------------------------

// The fields of blockchain_info from a getblockchaininfo result. Errors: bad_reply (not
// an object, a required field missing or of the wrong type, a hash that is not 64 hex).
sb::result<blockchain_info> parse_blockchain_info(const rapidjson::Value& result);
// getblockhash: errors bad_reply for anything but a 64-hex string.
sb::result<std::string> parse_block_hash(const rapidjson::Value& result);
// getblockheader(hash, true). Errors: bad_reply (not an object; hash, height or chainwork
// missing or malformed).
sb::result<block_header_summary> parse_block_header_summary(const rapidjson::Value& result);
// getblockheader(hash, false). Errors: bad_reply for a string that is not hex of 80..120
// bytes.
sb::result<std::vector<std::uint8_t>> parse_block_header_raw(const rapidjson::Value& result);
// getblocktemplate in proposal mode. Errors: bad_reply for a value that is neither null
// nor a string.
sb::result<proposal_verdict> parse_proposal_verdict(const rapidjson::Value& result);
// submitblock (BIP22 plus the node quirks in node.md §4.4). Errors: bad_reply for a
// value that is not null, a boolean or a string.
sb::result<submit_verdict> parse_submit_verdict(const rapidjson::Value& result);

// Checks a getblocktemplate result object against chain and returns its fields (the
// rules are those of fetch_block_template in node_rpc.hpp). Errors: template_errc naming
// the first field found wrong.
result<block_template> parse_block_template(const rapidjson::Value& gbt, const chain_params& chain);

// The raw result of getblocktemplate (a JSON object on success): the template source
// reads its longpollid before parsing it. A longpoll should run on a client of its own
// with a long timeout (see template_source).
void getblocktemplate(rpc_client& client, const template_request& request, std::function<void(rpc_reply)> handler,
                      call_options options = {});

}  // namespace sb::node
