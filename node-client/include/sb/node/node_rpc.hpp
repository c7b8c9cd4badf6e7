// Typed node calls on top of rpc_client: getblockchaininfo, getblocktemplate (plain,
// longpoll and BIP23 proposal) and submitblock, with their replies parsed. The template itself is handed
// over as raw JSON; parse_block_template (template.hpp) turns it into a block template.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "sb/core/chain.hpp"
#include "sb/core/result.hpp"
#include "sb/node/rpc_client.hpp"
#include "sb/node/rpc_reply.hpp"

namespace sb::node {

// ---- getblockchaininfo ---------------------------------------------------------------

struct blockchain_info {
    std::string chain;          // "main", "test", "testnet4", "signet", "regtest"
    std::uint64_t blocks = 0;   // height of the best validated block
    std::string bestblockhash;  // 64 hex digits, display order
    // Core and Ravencoin report it; bcoin 1.0.2 does not (nullopt).
    std::optional<bool> initialblockdownload;
    // Height of the best known header (Core, Ravencoin; bcoin reports `blocks` again);
    // nullopt when absent.
    std::optional<std::uint64_t> headers;
};

// The `chain` getblockchaininfo reports for net: "main", "test", "testnet4", "signet" or
// "regtest" (Core chainparams; Ravencoin and bcoin use the same words).
std::string_view rpc_chain_name(network net) noexcept;

// Reads the fields above from a getblockchaininfo result. Errors: bad_reply (not an
// object, a required field missing or of the wrong type, a hash that is not 64 hex).
sb::result<blockchain_info> parse_blockchain_info(const rapidjson::Value& result);

void getblockchaininfo(rpc_client& client, std::function<void(rpc_result<blockchain_info>)> handler,
                       call_options options = {});

// ---- getblockhash / getblockheader -------------------------------------------------------

// getblockhash(height): the block hash, 64 hex digits in display order. Errors: bad_reply
// for anything but a 64-hex string.
sb::result<std::string> parse_block_hash(const rapidjson::Value& result);
void getblockhash(rpc_client& client, std::int64_t height, std::function<void(rpc_result<std::string>)> handler,
                  call_options options = {});

// What getblockheader(hash, true) tells about a header (Core, Ravencoin and bcoin).
struct block_header_summary {
    std::string hash;       // display order
    std::int64_t height = 0;
    std::string chainwork;  // 64 hex digits, display order (most significant first)
};
// Errors: bad_reply (not an object; hash, height or chainwork missing or malformed).
sb::result<block_header_summary> parse_block_header_summary(const rapidjson::Value& result);
void getblockheader_summary(rpc_client& client, const std::string& hash_hex,
                            std::function<void(rpc_result<block_header_summary>)> handler, call_options options = {});
// getblockheader(hash, false): the serialized header (80 bytes; 120 for a Ravencoin
// KAWPOW header). Errors: bad_reply for a string that is not hex of 80..120 bytes.
sb::result<std::vector<std::uint8_t>> parse_block_header_raw(const rapidjson::Value& result);
void getblockheader_raw(rpc_client& client, const std::string& hash_hex,
                        std::function<void(rpc_result<std::vector<std::uint8_t>>)> handler, call_options options = {});

// ---- getblocktemplate ----------------------------------------------------------------

struct template_request {
    bool signet = false;     // adds "signet" to rules (Core refuses signet GBT without it)
    std::string longpollid;  // non-empty: a BIP22 longpoll that returns when this changes
};

// [{"rules":["segwit"(,"signet")],"capabilities":["coinbasevalue","longpoll","proposal"]
//   (,"longpollid":"…")}]
std::string template_params_json(const template_request& request);

// The raw result of getblocktemplate (a JSON object on success). A longpoll should run
// on a client of its own with a long timeout (see template_source).
void getblocktemplate(rpc_client& client, const template_request& request,
                      std::function<void(rpc_reply)> handler, call_options options = {});

// ---- getblocktemplate proposal (BIP23) -------------------------------------------------

// The node's verdict on a proposed block. BIP23: the node checks the block as it would a
// found one but without its proof of work, and does not store it.
struct proposal_verdict {
    bool valid = false;  // JSON null: the block would be accepted
    // Otherwise the node's reason ("bad-txnmrklroot", "bad-cb-height",
    // "inconclusive-not-best-prevblk", "duplicate", …) without bcoin's "rejected: "
    // prefix; "rejected" when the node gave none. Sanitized and bounded.
    std::string reason;
};

// Errors: bad_reply for a value that is neither null nor a string.
sb::result<proposal_verdict> parse_proposal_verdict(const rapidjson::Value& result);

// [{"mode":"proposal","data":"<block_hex>"}]
std::string proposal_params_json(std::string_view block_hex);

// getblocktemplate in proposal mode. A node without proposal mode answers with an RPC
// error (see proposal_unsupported); an undecodable block is an RPC error too (Core -22
// "Block decode failed", bcoin -22 "Out of bounds read …").
void propose_block(rpc_client& client, std::string_view block_hex,
                   std::function<void(rpc_result<proposal_verdict>)> handler, call_options options = {});

// True when an RPC error to propose_block says the node has no proposal mode: JSON-RPC
// -32601 (method not found) or a refusal of the mode itself ("Invalid mode", Core and
// bcoin -8).
bool proposal_unsupported(const rpc_error& e) noexcept;

// ---- submitblock ---------------------------------------------------------------------

enum class submit_status {
    accepted,                // JSON null (Core, bcoin) or true (Ravencoin pprpcsb)
    duplicate,               // already have it, and it is valid
    duplicate_invalid,       // already have it, and it is invalid
    duplicate_inconclusive,  // already have it, validity unknown
    inconclusive,            // no verdict yet (e.g. valid but not on the best chain)
    rejected,                // invalid: reason says why
};
std::string_view to_string(submit_status s) noexcept;

struct submit_verdict {
    submit_status status = submit_status::accepted;
    // The node's word without bcoin's "rejected: " prefix ("high-hash", "duplicate", …);
    // "rejected" when the node gave no reason; empty when accepted. Sanitized and bounded.
    std::string reason;
};

// The verdict in a submitblock result (BIP22 plus the node quirks in node.md §4.4).
// Errors: bad_reply for a value that is not null, a boolean or a string.
sb::result<submit_verdict> parse_submit_verdict(const rapidjson::Value& result);

// submitblock(block_hex). An RPC error (e.g. -22 "Block decode failed") stays an
// rpc_error in the result, apart from the verdicts.
void submitblock(rpc_client& client, std::string block_hex,
                 std::function<void(rpc_result<submit_verdict>)> handler, call_options options = {});

}  // namespace sb::node
