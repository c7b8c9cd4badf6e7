// Anchoring the P2P header chain at a header taken from the node's RPC instead of
// genesis (issue 6; node.md §3 "trust anchors"): needed on Ravencoin, whose pre-KAWPOW
// headers (X16R/X16Rv2) cannot be checked, and quicker on Bitcoin mainnet.
//
// The anchor sits far enough below the node's tip that the retarget rule can be checked
// for the headers after it: on Bitcoin the first block of the retarget period (of the
// previous one when the current began less than anchor_min_depth blocks ago); on
// Ravencoin dgw_past_blocks + anchor_min_depth blocks below the tip, so that DGW is
// checked exactly (180 ancestors held) from the first new block on. Where bits never
// change (Bitcoin regtest) anchor_min_depth below the tip.
//
// On a young Ravencoin chain (regtest, a fresh testnet) that header can predate KAWPOW
// (X16R/X16Rv2 cannot be checked): the anchor is then the chain's first KAWPOW header,
// and DGW bits are trusted until 180 headers above it are held. A chain whose tip is
// still pre-KAWPOW has no anchor yet.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "sb/core/chain.hpp"
#include "sb/core/result.hpp"
#include "sb/core/uint256.hpp"
#include "sb/node/p2p/header_chain.hpp"
#include "sb/node/p2p/wire_header.hpp"
#include "sb/node/rpc_client.hpp"

namespace sb::node::p2p {

// Blocks kept below the tip beyond what the retarget rule needs: reorgs shallower than
// this stay above the anchor.
inline constexpr std::int32_t anchor_min_depth = 20;

// The height to anchor at when the node's best block is at node_height (never below 0).
std::int32_t anchor_height(const chain_params& chain, std::int32_t node_height) noexcept;

struct rpc_anchor {
    wire_header header;
    hash256 hash{};  // internal order
    std::int32_t height = 0;
    uint256 chain_work;
    // Ravencoin: the header at anchor_height predated KAWPOW, so this is the chain's
    // first KAWPOW header instead.
    bool first_kawpow = false;
};

// Asks the node (getblockchaininfo, getblockhash, getblockheader verbose and raw) for the
// header at anchor_height(its height) and checks that the raw header hashes to the
// hash the node named (KAWPOW: through verifier with kawpow_check::hash_only). On
// Ravencoin, when that header predates KAWPOW, the first KAWPOW header between it and the
// tip is found by bisection on the raw headers' times (about 2·log2(depth) calls) and
// taken instead. done runs once on the client's strand with the anchor or an error and a
// line for the log.
// Errors: the RPC's, node_errc::bad_reply, header_unsupported_pow (on Ravencoin a tip
// that still predates KAWPOW, or KAWPOW without a verifier), header_high_hash for a hash
// mismatch.
using anchor_handler = std::function<void(result<rpc_anchor>, const std::string& detail)>;
void fetch_rpc_anchor(rpc_client& client, const chain_params& chain, kawpow_verifier verifier, anchor_handler done);

// Roots c (reset_to_*) for starting the P2P client and opens its store in dir:
// - with an RPC anchor: the stored chain when the store is anchored and its active chain
//   holds the RPC anchor header at that height (a restart resumes where it stopped),
//   else a new chain rooted at the RPC anchor (the store file is replaced; an anchor at
//   height 0 gives the genesis-rooted chain);
// - without one (the RPC is down): the stored anchored chain if there is one.
// Returns false (c left rooted at genesis, no store) when there is nothing to root it at.
// Set c's KAWPOW verifier first: the store replay needs it. why gets a line for the
// log (which root, and any store error). Call before any peer uses c.
bool anchor_header_chain(header_chain& c, const std::optional<rpc_anchor>& anchor, const std::filesystem::path& dir,
                         std::string& why);

}  // namespace sb::node::p2p
