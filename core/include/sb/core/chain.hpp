// Chain parameters of every supported network: wire magic, ports, genesis, proof-of-work
// limits and retarget rules, BIP activation heights, address formats, subsidy schedule
// and the proof-of-work algorithm by block time. Values from Bitcoin Core
// kernel/chainparams.cpp and Ravencoin src/chainparams.cpp (shared/reference/node.md §2).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "sb/core/address.hpp"
#include "sb/core/uint256.hpp"

namespace sb {

enum class network : std::uint8_t {
    bitcoin_mainnet,
    bitcoin_testnet3,
    bitcoin_testnet4,
    bitcoin_signet,
    bitcoin_regtest,
    ravencoin_mainnet,
    ravencoin_testnet,
    ravencoin_regtest,
};

enum class coin_type : std::uint8_t { bitcoin, ravencoin };

// Proof-of-work function of a block. x16r and x16rv2 are Ravencoin's algorithms before
// KAWPOW; the bridge cannot hash them and refuses to mine such blocks.
enum class pow_algorithm : std::uint8_t { sha256d, x16r, x16rv2, kawpow };

// "sha256d", "x16r", "x16rv2", "kawpow".
std::string_view to_string(pow_algorithm a) noexcept;

// How the next block's bits are derived (Core / Ravencoin pow.cpp).
enum class retarget_rule : std::uint8_t {
    // Retarget every timespan/spacing blocks, actual timespan clamped to [T/4, 4T],
    // capped at pow_limit (Bitcoin mainnet, signet).
    bitcoin,
    // bitcoin plus the 20-minute rule: a block more than 2 × spacing after its parent
    // may use pow_limit (testnet3).
    bitcoin_testnet3,
    // bitcoin_testnet3 plus BIP94: the retarget base is the first block of the period,
    // and a period's first block may not be more than max_timewarp_s before its parent.
    bitcoin_testnet4,
    // fPowNoRetargeting: bits never change (Bitcoin regtest).
    none,
    // Ravencoin: the bitcoin rule below dgw_activation_height, Dark Gravity Wave v3
    // (dgw_past_blocks window, kawpow_limit for the first KAWPOW window) from there on.
    dark_gravity_wave,
};

// Number of previous blocks whose median time a new block's time must exceed.
inline constexpr int median_time_span = 11;
// BIP94 (testnet4): a retarget block may precede its parent by at most this much.
inline constexpr std::int64_t max_timewarp_s = 600;
// Dark Gravity Wave v3 window, and the number of KAWPOW blocks that must precede a
// KAWPOW block before DGW leaves kawpow_limit.
inline constexpr int dgw_past_blocks = 180;
// Satoshis (or Ravencoin's base units) per coin.
inline constexpr std::int64_t coin_units = 100'000'000;
// Header sizes: the classic 80 bytes, and Ravencoin's KAWPOW header (76-byte prefix,
// nHeight, nNonce64, mix_hash).
inline constexpr std::size_t classic_header_bytes = 80;
inline constexpr std::size_t kawpow_header_bytes = 120;

// Everything the bridge needs to know about one network. Heights are block heights;
// times are Unix seconds. An activation height of 0 means active from genesis.
struct chain_params {
    network net;
    // Name in config files and logs: "bitcoin-mainnet", …, "ravencoin-regtest".
    std::string_view name;
    coin_type coin;
    // "bitcoin" or "ravencoin".
    std::string_view coin_name;
    // P2P message start, the 4 bytes as they appear on the wire.
    std::array<std::uint8_t, 4> magic;
    std::uint16_t p2p_port;
    std::uint16_t rpc_port;

    // The serialized 80-byte genesis header.
    std::array<std::uint8_t, 80> genesis_header;
    // Genesis block hash in internal byte order (display order is its reverse). Bitcoin:
    // sha256d of genesis_header. Ravencoin: the X16R hash, taken from chainparams.cpp
    // because the bridge has no X16R.
    hash256 genesis_hash;

    // Easiest target allowed (Core's powLimit) and its compact form, the largest valid
    // nBits.
    uint256 pow_limit;
    std::uint32_t pow_limit_bits;
    // Ravencoin: target of the first dgw_past_blocks KAWPOW blocks (kawpowLimit). Zero
    // and 0 elsewhere.
    uint256 kawpow_limit;
    std::uint32_t kawpow_limit_bits;

    retarget_rule retarget;
    std::int64_t target_spacing_s;
    std::int64_t target_timespan_s;
    // fPowAllowMinDifficultyBlocks, fPowNoRetargeting, enforce_BIP94.
    bool allow_min_difficulty;
    bool no_retargeting;
    bool enforce_bip94;
    // Ravencoin: first height whose bits come from Dark Gravity Wave; -1 elsewhere.
    std::int32_t dgw_activation_height;

    // Soft-fork heights. bip34: the coinbase scriptSig starts with the height push.
    // segwit: a witness commitment may (and with witness data must) be present.
    std::int32_t bip34_height;
    std::int32_t bip65_height;
    std::int32_t bip66_height;
    std::int32_t csv_height;
    std::int32_t segwit_height;
    bool has_segwit;

    address_format address;

    // Subsidy of the first block, in base units, and the halving interval in blocks.
    std::int64_t initial_subsidy;
    std::int32_t halving_interval;

    // Ravencoin: first block time hashed with X16Rv2, and with KAWPOW (the switch is by
    // nTime, not height). 0 for Bitcoin.
    std::uint32_t x16rv2_activation_time;
    std::uint32_t kawpow_activation_time;

    // How far a block's time may lie ahead of the adjusted clock: before and after DGW
    // activation (Bitcoin: both 7200 s; Ravencoin MAX_FUTURE_BLOCK_TIME_DGW = 720 s).
    std::int64_t max_future_s;
    std::int64_t max_future_dgw_s;

    // MAX_MONEY in base units: no amount (coinbase value, fee) may exceed it (Bitcoin
    // 21e6 coins, Ravencoin 21e9 coins; amount.h).
    std::int64_t max_money;
    // Segwit is announced by the getblocktemplate `rules` ("segwit" or "!segwit", BIP9/
    // BIP145) and that decides whether the coinbase carries a witness commitment. false:
    // segwit is on from genesis without a rule (Ravencoin lists none), so a commitment is
    // needed only when a transaction carries witness data (BIP141 "unexpected-witness").
    bool segwit_by_rule;
    // Units shown beside amounts ("BTC", "RVN").
    std::string_view ticker;
    // The node option without which its getblocktemplate refuses to answer while it has
    // no peers, even on regtest (Ravencoin's -bypassdownload, else -9 "not connected");
    // empty where regtest needs none (Bitcoin Core, bcoin).
    std::string_view node_no_peers_option;

    // ---- P2P (shared/reference/node.md §1) ------------------------------------------
    // The protocol version a client announces: Bitcoin Core's 70016; Ravencoin's 70028
    // (its nodes disconnect a peer below 70027).
    std::int32_t p2p_protocol_version;
    // BIP339 wtxidrelay and BIP155 sendaddrv2 are negotiated before verack (Bitcoin,
    // common version >= 70016). Ravencoin has neither, and its version numbers from 70016
    // on mean other things.
    bool p2p_wtxid_addrv2;
    // BIP152 compact blocks are offered (sendcmpct) and served (cmpctblock). Not on
    // Ravencoin: its KAWPOW headers are 120 bytes, and found blocks go to its peers whole.
    bool p2p_compact_blocks;
    // The P2P header chain cannot start at genesis: the chain's early headers use a proof
    // of work the bridge cannot check (Ravencoin's X16R and X16Rv2), so it is rooted at a
    // header taken from the node's RPC (config p2p_anchor "rpc").
    bool p2p_needs_rpc_anchor;

    // Proof-of-work algorithm of a block with this nTime.
    constexpr pow_algorithm algorithm_at(std::uint32_t block_time) const noexcept {
        if (coin == coin_type::bitcoin) return pow_algorithm::sha256d;
        if (block_time >= kawpow_activation_time) return pow_algorithm::kawpow;
        if (block_time >= x16rv2_activation_time) return pow_algorithm::x16rv2;
        return pow_algorithm::x16r;
    }
    // Serialized header size of a block with this nTime (80, or 120 for KAWPOW).
    constexpr std::size_t header_bytes_at(std::uint32_t block_time) const noexcept {
        return algorithm_at(block_time) == pow_algorithm::kawpow ? kawpow_header_bytes : classic_header_bytes;
    }
    // Block subsidy at height in base units (Core's GetBlockSubsidy): initial_subsidy
    // shifted right once per halving, 0 from the 64th halving on. 0 for height < 0.
    constexpr std::int64_t subsidy(std::int32_t height) const noexcept {
        if (height < 0) return 0;
        const std::int32_t halvings = height / halving_interval;
        if (halvings >= 64) return 0;
        return initial_subsidy >> halvings;
    }
    // Blocks per retarget period (2016 on Bitcoin mainnet).
    constexpr std::int32_t retarget_interval() const noexcept {
        return static_cast<std::int32_t>(target_timespan_s / target_spacing_s);
    }
    constexpr bool dgw_active(std::int32_t height) const noexcept {
        return dgw_activation_height >= 0 && height >= dgw_activation_height;
    }
    // Future-time limit for a block at height, in seconds.
    constexpr std::int64_t max_future_block_time_s(std::int32_t height) const noexcept {
        return dgw_active(height) ? max_future_dgw_s : max_future_s;
    }
    constexpr bool bip34_active(std::int32_t height) const noexcept { return height >= bip34_height; }
    constexpr bool segwit_active(std::int32_t height) const noexcept {
        return has_segwit && height >= segwit_height;
    }
};

// Parameters of net, which must be one of the enumerators.
const chain_params& params(network net) noexcept;
// Every network, in enumerator order.
std::span<const chain_params> all_networks() noexcept;
// The network whose config name is name (exact, lower case); nullopt when unknown.
std::optional<network> network_from_name(std::string_view name) noexcept;
// The config name of net.
std::string_view to_string(network net) noexcept;

}  // namespace sb
