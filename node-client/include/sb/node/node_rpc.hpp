// Typed node calls on top of rpc_client: getblockchaininfo, getblockhash, getblockheader,
// getblocktemplate (plain and BIP23 proposal) and submitblock, with their replies checked
// and parsed into the types below (the readers live in sb/node/internal/json.hpp).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sb/core/bytes.hpp"
#include "sb/core/chain.hpp"
#include "sb/core/result.hpp"
#include "sb/node/rpc_client.hpp"
#include "sb/node/rpc_reply.hpp"
#include "sb/node/template.hpp"

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

// Errors: bad_reply (not an object, a required field missing or of the wrong type, a
// hash that is not 64 hex).
void getblockchaininfo(rpc_client& client, std::function<void(rpc_result<blockchain_info>)> handler,
                       call_options options = {});

// ---- getblockhash / getblockheader -------------------------------------------------------

// getblockhash(height): the block hash, 64 hex digits in display order. Errors: bad_reply
// for anything but a 64-hex string.
void getblockhash(rpc_client& client, std::int64_t height, std::function<void(rpc_result<std::string>)> handler,
                  call_options options = {});

// What getblockheader(hash, true) tells about a header (Core, Ravencoin and bcoin).
struct block_header_summary {
    std::string hash;       // display order
    std::int64_t height = 0;
    std::string chainwork;  // 64 hex digits, display order (most significant first)
};
// Errors: bad_reply (not an object; hash, height or chainwork missing or malformed).
void getblockheader_summary(rpc_client& client, const std::string& hash_hex,
                            std::function<void(rpc_result<block_header_summary>)> handler, call_options options = {});
// getblockheader(hash, false): the serialized header (80 bytes; 120 for a Ravencoin
// KAWPOW header). Errors: bad_reply for a string that is not hex of 80..120 bytes.
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

// getblocktemplate, its result checked against chain and parsed into a block template.
//
// Required: height, previousblockhash, bits, target, version, curtime, coinbasevalue,
// transactions (each with data and txid). Optional: mintime, rules, and per transaction
// hash, fee, weight, sigops, depends; default_witness_commitment, longpollid,
// signet_challenge. Unknown members are ignored. bits must be a valid target not above
// chain.pow_limit. Every transaction's data must parse as exactly one non-coinbase
// transaction whose txid is the given txid (and whose wtxid is the given hash, when
// present).
//
// Where segwit comes without a rule (chain_params::segwit_by_rule false: Ravencoin has
// segwit always on without a "segwit" rule, node.md §2.3, and sends
// default_witness_commitment in every template), a commitment is required only when a
// transaction has witness data (BIP141 "unexpected-witness"), so segwit_active is
// any_witness() there, and a coinbase for a witness-free template carries no commitment
// (47 fewer coinbase bytes, and no dependence on a rule the node never announces).
//
// Errors: those of the call (rpc_error, …), or a template_errc naming the first field
// found wrong (a result that is not an object: not_an_object).
void fetch_block_template(rpc_client& client, const template_request& request, const chain_params& chain,
                          std::function<void(rpc_result<block_template>)> handler, call_options options = {});

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

// submitblock(block_hex): the verdict in its result (BIP22 plus the node quirks in
// node.md §4.4). An RPC error (e.g. -22 "Block decode failed") stays an rpc_error in
// the result, apart from the verdicts; a result that is not null, a boolean or a
// string is bad_reply.
void submitblock(rpc_client& client, std::string block_hex,
                 std::function<void(rpc_result<submit_verdict>)> handler, call_options options = {});

// Block bytes per piece of a streamed submitblock (twice as many hex digits): small enough
// that the first piece is encoded in tens of microseconds, large enough that a 4 MB block
// is ~128 writes.
inline constexpr std::size_t block_hex_chunk_bytes = 32u << 10;

// A block's lower-case hex, encoded on demand, a chunk (block_hex_chunk_bytes) at a time,
// and kept: the submitblock calls to every node, and their retries, share one, so the hex
// is encoded once, and each call's first bytes leave as soon as the first chunk exists
// instead of after the whole block's hex. Thread-safe (calls on different strands may
// share one); holds the block.
class block_hex {
public:
    explicit block_hex(std::shared_ptr<const bytes> block);
    block_hex(const block_hex&) = delete;
    block_hex& operator=(const block_hex&) = delete;

    // Hex digits in all: twice the block's bytes.
    std::size_t size() const noexcept { return 2 * block_->size(); }
    // The digits from offset (< size()) to the end of offset's chunk, encoded first if they
    // are not yet. They stay valid and unchanged while this object lives.
    std::string_view read(std::size_t offset);
    // Digits encoded so far (a prefix of the hex).
    std::size_t encoded() const noexcept { return encoded_.load(std::memory_order_acquire); }

private:
    std::shared_ptr<const bytes> block_;
    std::unique_ptr<char[]> text_;  // size() digits, the first encoded() of them written
    std::mutex mu_;                 // one encoder at a time
    std::atomic<std::size_t> encoded_{0};
};

// submitblock with the block's hex streamed (rpc_request::streamed_params): the same bytes
// on the wire as submitblock(client, hex string) with hex's text, the HTTP header and the
// first chunk in the first write. Several clients may send the same block_hex at once.
void submitblock(rpc_client& client, std::shared_ptr<block_hex> hex,
                 std::function<void(rpc_result<submit_verdict>)> handler, call_options options = {});

}  // namespace sb::node
