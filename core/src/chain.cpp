#include "sb/core/chain.hpp"

#include <cassert>

#include "sb/core/hex.hpp"

namespace sb {
namespace detail {
// Never defined: reaching it during constant evaluation makes a bad table entry a
// compile error.
void bad_hex_in_chain_table();
}  // namespace detail

namespace {

template <std::size_t L>
consteval std::array<std::uint8_t, (L - 1) / 2> hex_bytes(const char (&hex)[L]) {
    static_assert(L % 2 == 1, "even number of hex digits expected");
    std::array<std::uint8_t, (L - 1) / 2> out{};
    for (std::size_t i = 0; i < out.size(); ++i) {
        const int hi = hex_digit_value(hex[2 * i]);
        const int lo = hex_digit_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) detail::bad_hex_in_chain_table();
        out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return out;
}

// A number written in display hex (64 digits, most significant first).
consteval uint256 display_number(const char (&hex)[65]) { return uint256::from_be_bytes(hex_bytes(hex).data()); }

// A hash written in display order, returned in internal order.
consteval hash256 display_hash(const char (&hex)[65]) { return display_number(hex).to_hash(); }

consteval void put_le32(std::array<std::uint8_t, 80>& h, std::size_t at, std::uint32_t v) {
    for (std::size_t i = 0; i < 4; ++i) h[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// A genesis header from its fields: zero previous hash, merkle root in display order.
consteval std::array<std::uint8_t, 80> genesis_header(std::uint32_t version, const char (&merkle_display)[65],
                                                      std::uint32_t time, std::uint32_t bits, std::uint32_t nonce) {
    std::array<std::uint8_t, 80> h{};
    put_le32(h, 0, version);
    const hash256 merkle = display_hash(merkle_display);
    for (std::size_t i = 0; i < 32; ++i) h[36 + i] = merkle[i];
    put_le32(h, 68, time);
    put_le32(h, 72, bits);
    put_le32(h, 76, nonce);
    return h;
}

constexpr char bitcoin_genesis_merkle[65] = "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b";
constexpr char testnet4_genesis_merkle[65] = "7aa0a7ae1e223414cb807e40cd57e667b718e42aaf9306db9102fe28912b7b4e";
// Ravencoin's genesis coinbase differs from Bitcoin's (another message, a leading
// CScriptNum(0) push), hence another merkle root.
constexpr char ravencoin_genesis_merkle[65] = "28ff00a867739a352523808d301f504bc4547699398d70faf2266a8bae5f3516";

constexpr uint256 bitcoin_pow_limit =
    display_number("00000000ffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
constexpr uint256 signet_pow_limit =
    display_number("00000377ae000000000000000000000000000000000000000000000000000000");
constexpr uint256 regtest_pow_limit =
    display_number("7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
constexpr uint256 ravencoin_pow_limit =
    display_number("00000fffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
constexpr uint256 ravencoin_kawpow_limit_main =
    display_number("0000000000ffffffffffffffffffffffffffffffffffffffffffffffffffffff");
constexpr uint256 ravencoin_kawpow_limit_test =
    display_number("000000ffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");

constexpr std::int64_t bitcoin_spacing_s = 10 * 60;
constexpr std::int64_t bitcoin_timespan_s = 14 * 24 * 60 * 60;
constexpr std::int64_t ravencoin_spacing_s = 60;
constexpr std::int64_t ravencoin_timespan_s = 2016 * 60;
constexpr std::int64_t max_future_block_time = 2 * 60 * 60;
constexpr std::int64_t max_future_block_time_dgw = 12 * 60;

// MAX_MONEY (amount.h of each).
constexpr std::int64_t bitcoin_max_money = 21'000'000 * coin_units;
constexpr std::int64_t ravencoin_max_money = 21'000'000'000 * coin_units;
// PROTOCOL_VERSION (Core node/protocol_version.h in releases; Ravencoin version.h).
constexpr std::int32_t bitcoin_protocol_version = 70016;
constexpr std::int32_t ravencoin_protocol_version = 70028;

constexpr address_format bitcoin_mainnet_addresses{0x00, 0x05, "bc"};
constexpr address_format bitcoin_test_addresses{0x6f, 0xc4, "tb"};
constexpr address_format bitcoin_regtest_addresses{0x6f, 0xc4, "bcrt"};
constexpr address_format ravencoin_mainnet_addresses{60, 122, {}};
constexpr address_format ravencoin_test_addresses{111, 196, {}};

constexpr std::array<chain_params, 8> table = {{
    {
        .net = network::bitcoin_mainnet,
        .name = "bitcoin-mainnet",
        .coin = coin_type::bitcoin,
        .coin_name = "bitcoin",
        .magic = {0xf9, 0xbe, 0xb4, 0xd9},
        .p2p_port = 8333,
        .rpc_port = 8332,
        .genesis_header = genesis_header(1, bitcoin_genesis_merkle, 1231006505, 0x1d00ffff, 2083236893),
        .genesis_hash = display_hash("000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"),
        .pow_limit = bitcoin_pow_limit,
        .pow_limit_bits = 0x1d00ffff,
        .kawpow_limit = {},
        .kawpow_limit_bits = 0,
        .retarget = retarget_rule::bitcoin,
        .target_spacing_s = bitcoin_spacing_s,
        .target_timespan_s = bitcoin_timespan_s,
        .allow_min_difficulty = false,
        .no_retargeting = false,
        .enforce_bip94 = false,
        .dgw_activation_height = -1,
        .bip34_height = 227931,
        .bip65_height = 388381,
        .bip66_height = 363725,
        .csv_height = 419328,
        .segwit_height = 481824,
        .has_segwit = true,
        .address = bitcoin_mainnet_addresses,
        .initial_subsidy = 50 * coin_units,
        .halving_interval = 210000,
        .x16rv2_activation_time = 0,
        .kawpow_activation_time = 0,
        .max_future_s = max_future_block_time,
        .max_future_dgw_s = max_future_block_time,
        .max_money = bitcoin_max_money,
        .segwit_by_rule = true,
        .ticker = "BTC",
        .node_no_peers_option = "",
        .p2p_protocol_version = bitcoin_protocol_version,
        .p2p_wtxid_addrv2 = true,
        .p2p_compact_blocks = true,
        .p2p_needs_rpc_anchor = false,
    },
    {
        .net = network::bitcoin_testnet3,
        .name = "bitcoin-testnet3",
        .coin = coin_type::bitcoin,
        .coin_name = "bitcoin",
        .magic = {0x0b, 0x11, 0x09, 0x07},
        .p2p_port = 18333,
        .rpc_port = 18332,
        .genesis_header = genesis_header(1, bitcoin_genesis_merkle, 1296688602, 0x1d00ffff, 414098458),
        .genesis_hash = display_hash("000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943"),
        .pow_limit = bitcoin_pow_limit,
        .pow_limit_bits = 0x1d00ffff,
        .kawpow_limit = {},
        .kawpow_limit_bits = 0,
        .retarget = retarget_rule::bitcoin_testnet3,
        .target_spacing_s = bitcoin_spacing_s,
        .target_timespan_s = bitcoin_timespan_s,
        .allow_min_difficulty = true,
        .no_retargeting = false,
        .enforce_bip94 = false,
        .dgw_activation_height = -1,
        .bip34_height = 21111,
        .bip65_height = 581885,
        .bip66_height = 330776,
        .csv_height = 770112,
        .segwit_height = 834624,
        .has_segwit = true,
        .address = bitcoin_test_addresses,
        .initial_subsidy = 50 * coin_units,
        .halving_interval = 210000,
        .x16rv2_activation_time = 0,
        .kawpow_activation_time = 0,
        .max_future_s = max_future_block_time,
        .max_future_dgw_s = max_future_block_time,
        .max_money = bitcoin_max_money,
        .segwit_by_rule = true,
        .ticker = "BTC",
        .node_no_peers_option = "",
        .p2p_protocol_version = bitcoin_protocol_version,
        .p2p_wtxid_addrv2 = true,
        .p2p_compact_blocks = true,
        .p2p_needs_rpc_anchor = false,
    },
    {
        .net = network::bitcoin_testnet4,
        .name = "bitcoin-testnet4",
        .coin = coin_type::bitcoin,
        .coin_name = "bitcoin",
        .magic = {0x1c, 0x16, 0x3f, 0x28},
        .p2p_port = 48333,
        .rpc_port = 48332,
        .genesis_header = genesis_header(1, testnet4_genesis_merkle, 1714777860, 0x1d00ffff, 393743547),
        .genesis_hash = display_hash("00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043"),
        .pow_limit = bitcoin_pow_limit,
        .pow_limit_bits = 0x1d00ffff,
        .kawpow_limit = {},
        .kawpow_limit_bits = 0,
        .retarget = retarget_rule::bitcoin_testnet4,
        .target_spacing_s = bitcoin_spacing_s,
        .target_timespan_s = bitcoin_timespan_s,
        .allow_min_difficulty = true,
        .no_retargeting = false,
        .enforce_bip94 = true,
        .dgw_activation_height = -1,
        .bip34_height = 1,
        .bip65_height = 1,
        .bip66_height = 1,
        .csv_height = 1,
        .segwit_height = 1,
        .has_segwit = true,
        .address = bitcoin_test_addresses,
        .initial_subsidy = 50 * coin_units,
        .halving_interval = 210000,
        .x16rv2_activation_time = 0,
        .kawpow_activation_time = 0,
        .max_future_s = max_future_block_time,
        .max_future_dgw_s = max_future_block_time,
        .max_money = bitcoin_max_money,
        .segwit_by_rule = true,
        .ticker = "BTC",
        .node_no_peers_option = "",
        .p2p_protocol_version = bitcoin_protocol_version,
        .p2p_wtxid_addrv2 = true,
        .p2p_compact_blocks = true,
        .p2p_needs_rpc_anchor = false,
    },
    {
        // The default signet (Core's built-in challenge). Blocks also need a BIP325
        // solution in the coinbase, so solo mining works only on a custom signet.
        .net = network::bitcoin_signet,
        .name = "bitcoin-signet",
        .coin = coin_type::bitcoin,
        .coin_name = "bitcoin",
        .magic = {0x0a, 0x03, 0xcf, 0x40},
        .p2p_port = 38333,
        .rpc_port = 38332,
        .genesis_header = genesis_header(1, bitcoin_genesis_merkle, 1598918400, 0x1e0377ae, 52613770),
        .genesis_hash = display_hash("00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6"),
        .pow_limit = signet_pow_limit,
        .pow_limit_bits = 0x1e0377ae,
        .kawpow_limit = {},
        .kawpow_limit_bits = 0,
        .retarget = retarget_rule::bitcoin,
        .target_spacing_s = bitcoin_spacing_s,
        .target_timespan_s = bitcoin_timespan_s,
        .allow_min_difficulty = false,
        .no_retargeting = false,
        .enforce_bip94 = false,
        .dgw_activation_height = -1,
        .bip34_height = 1,
        .bip65_height = 1,
        .bip66_height = 1,
        .csv_height = 1,
        .segwit_height = 1,
        .has_segwit = true,
        .address = bitcoin_test_addresses,
        .initial_subsidy = 50 * coin_units,
        .halving_interval = 210000,
        .x16rv2_activation_time = 0,
        .kawpow_activation_time = 0,
        .max_future_s = max_future_block_time,
        .max_future_dgw_s = max_future_block_time,
        .max_money = bitcoin_max_money,
        .segwit_by_rule = true,
        .ticker = "BTC",
        .node_no_peers_option = "",
        .p2p_protocol_version = bitcoin_protocol_version,
        .p2p_wtxid_addrv2 = true,
        .p2p_compact_blocks = true,
        .p2p_needs_rpc_anchor = false,
    },
    {
        .net = network::bitcoin_regtest,
        .name = "bitcoin-regtest",
        .coin = coin_type::bitcoin,
        .coin_name = "bitcoin",
        .magic = {0xfa, 0xbf, 0xb5, 0xda},
        .p2p_port = 18444,
        .rpc_port = 18443,
        .genesis_header = genesis_header(1, bitcoin_genesis_merkle, 1296688602, 0x207fffff, 2),
        .genesis_hash = display_hash("0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"),
        .pow_limit = regtest_pow_limit,
        .pow_limit_bits = 0x207fffff,
        .kawpow_limit = {},
        .kawpow_limit_bits = 0,
        .retarget = retarget_rule::none,
        .target_spacing_s = bitcoin_spacing_s,
        // Core master (144-block interval); releases before it used two weeks. Bits
        // never change on regtest, so only the interval arithmetic sees the value.
        .target_timespan_s = 24 * 60 * 60,
        .allow_min_difficulty = true,
        .no_retargeting = true,
        .enforce_bip94 = false,
        .dgw_activation_height = -1,
        .bip34_height = 1,
        .bip65_height = 1,
        .bip66_height = 1,
        .csv_height = 1,
        .segwit_height = 0,
        .has_segwit = true,
        .address = bitcoin_regtest_addresses,
        .initial_subsidy = 50 * coin_units,
        .halving_interval = 150,
        .x16rv2_activation_time = 0,
        .kawpow_activation_time = 0,
        .max_future_s = max_future_block_time,
        .max_future_dgw_s = max_future_block_time,
        .max_money = bitcoin_max_money,
        .segwit_by_rule = true,
        .ticker = "BTC",
        .node_no_peers_option = "",
        .p2p_protocol_version = bitcoin_protocol_version,
        .p2p_wtxid_addrv2 = true,
        .p2p_compact_blocks = true,
        .p2p_needs_rpc_anchor = false,
    },
    // Ravencoin enables BIP34/65/66, CSV and segwit from genesis (nBIP34Enabled, …,
    // nSegwitEnabled); its genesis coinbase even starts with a height-0 push. Segwit
    // exists on chain (GBT sends default_witness_commitment) but there are no bech32
    // addresses. genesis_hash is the X16R hash from chainparams.cpp.
    {
        .net = network::ravencoin_mainnet,
        .name = "ravencoin-mainnet",
        .coin = coin_type::ravencoin,
        .coin_name = "ravencoin",
        .magic = {0x52, 0x41, 0x56, 0x4e},  // "RAVN"
        .p2p_port = 8767,
        .rpc_port = 8766,
        .genesis_header = genesis_header(4, ravencoin_genesis_merkle, 1514999494, 0x1e00ffff, 25023712),
        .genesis_hash = display_hash("0000006b444bc2f2ffe627be9d9e7e7a0730000870ef6eb6da46c8eae389df90"),
        .pow_limit = ravencoin_pow_limit,
        .pow_limit_bits = 0x1e0fffff,
        .kawpow_limit = ravencoin_kawpow_limit_main,
        .kawpow_limit_bits = 0x1c00ffff,
        .retarget = retarget_rule::dark_gravity_wave,
        .target_spacing_s = ravencoin_spacing_s,
        .target_timespan_s = ravencoin_timespan_s,
        .allow_min_difficulty = false,
        .no_retargeting = false,
        .enforce_bip94 = false,
        .dgw_activation_height = 338778,
        .bip34_height = 0,
        .bip65_height = 0,
        .bip66_height = 0,
        .csv_height = 0,
        .segwit_height = 0,
        .has_segwit = true,
        .address = ravencoin_mainnet_addresses,
        .initial_subsidy = 5000 * coin_units,
        .halving_interval = 2100000,
        .x16rv2_activation_time = 1569945600,
        .kawpow_activation_time = 1588788000,
        .max_future_s = max_future_block_time,
        .max_future_dgw_s = max_future_block_time_dgw,
        .max_money = ravencoin_max_money,
        .segwit_by_rule = false,
        .ticker = "RVN",
        .node_no_peers_option = "-bypassdownload",
        .p2p_protocol_version = ravencoin_protocol_version,
        .p2p_wtxid_addrv2 = false,
        .p2p_compact_blocks = false,
        .p2p_needs_rpc_anchor = true,
    },
    {
        // Testnet v7 (datadir testnet7).
        .net = network::ravencoin_testnet,
        .name = "ravencoin-testnet",
        .coin = coin_type::ravencoin,
        .coin_name = "ravencoin",
        .magic = {0x52, 0x56, 0x4e, 0x54},  // "RVNT"
        .p2p_port = 18770,
        .rpc_port = 18766,
        .genesis_header = genesis_header(2, ravencoin_genesis_merkle, 1537466400, 0x1e00ffff, 15615880),
        .genesis_hash = display_hash("000000ecfc5e6324a079542221d00e10362bdc894d56500c414060eea8a3ad5a"),
        .pow_limit = ravencoin_pow_limit,
        .pow_limit_bits = 0x1e0fffff,
        .kawpow_limit = ravencoin_kawpow_limit_test,
        .kawpow_limit_bits = 0x1e00ffff,
        .retarget = retarget_rule::dark_gravity_wave,
        .target_spacing_s = ravencoin_spacing_s,
        .target_timespan_s = ravencoin_timespan_s,
        .allow_min_difficulty = true,
        .no_retargeting = false,
        .enforce_bip94 = false,
        .dgw_activation_height = 1,
        .bip34_height = 0,
        .bip65_height = 0,
        .bip66_height = 0,
        .csv_height = 0,
        .segwit_height = 0,
        .has_segwit = true,
        .address = ravencoin_test_addresses,
        .initial_subsidy = 5000 * coin_units,
        .halving_interval = 2100000,
        .x16rv2_activation_time = 1567533600,
        .kawpow_activation_time = 1585159200,
        .max_future_s = max_future_block_time,
        .max_future_dgw_s = max_future_block_time_dgw,
        .max_money = ravencoin_max_money,
        .segwit_by_rule = false,
        .ticker = "RVN",
        .node_no_peers_option = "-bypassdownload",
        .p2p_protocol_version = ravencoin_protocol_version,
        .p2p_wtxid_addrv2 = false,
        .p2p_compact_blocks = false,
        .p2p_needs_rpc_anchor = true,
    },
    {
        // KAWPOW activates in 2083: a stock regtest node mines X16R/X16Rv2 unless it
        // runs with -mocktime past kawpow_activation_time.
        .net = network::ravencoin_regtest,
        .name = "ravencoin-regtest",
        .coin = coin_type::ravencoin,
        .coin_name = "ravencoin",
        .magic = {0x43, 0x52, 0x4f, 0x57},  // "CROW"
        .p2p_port = 18444,
        .rpc_port = 18443,
        .genesis_header = genesis_header(4, ravencoin_genesis_merkle, 1524179366, 0x207fffff, 1),
        .genesis_hash = display_hash("0b2c703dc93bb63a36c4e33b85be4855ddbca2ac951a7a0a29b8de0408200a3c"),
        .pow_limit = regtest_pow_limit,
        .pow_limit_bits = 0x207fffff,
        .kawpow_limit = regtest_pow_limit,
        .kawpow_limit_bits = 0x207fffff,
        .retarget = retarget_rule::dark_gravity_wave,
        .target_spacing_s = ravencoin_spacing_s,
        .target_timespan_s = ravencoin_timespan_s,
        .allow_min_difficulty = true,
        .no_retargeting = true,
        .enforce_bip94 = false,
        .dgw_activation_height = 200,
        .bip34_height = 0,
        .bip65_height = 0,
        .bip66_height = 0,
        .csv_height = 0,
        .segwit_height = 0,
        .has_segwit = true,
        .address = ravencoin_test_addresses,
        .initial_subsidy = 5000 * coin_units,
        .halving_interval = 150,
        .x16rv2_activation_time = 1569931200,
        .kawpow_activation_time = 3582830167u,
        .max_future_s = max_future_block_time,
        .max_future_dgw_s = max_future_block_time_dgw,
        .max_money = ravencoin_max_money,
        .segwit_by_rule = false,
        .ticker = "RVN",
        .node_no_peers_option = "-bypassdownload",
        .p2p_protocol_version = ravencoin_protocol_version,
        .p2p_wtxid_addrv2 = false,
        .p2p_compact_blocks = false,
        .p2p_needs_rpc_anchor = true,
    },
}};

constexpr bool table_in_enum_order() {
    for (std::size_t i = 0; i < table.size(); ++i)
        if (static_cast<std::size_t>(table[i].net) != i) return false;
    return true;
}
static_assert(table_in_enum_order(), "params() indexes the table by enumerator");

}  // namespace

std::string_view to_string(pow_algorithm a) noexcept {
    switch (a) {
    case pow_algorithm::sha256d: return "sha256d";
    case pow_algorithm::x16r: return "x16r";
    case pow_algorithm::x16rv2: return "x16rv2";
    case pow_algorithm::kawpow: return "kawpow";
    }
    return "unknown";
}

const chain_params& params(network net) noexcept {
    const auto i = static_cast<std::size_t>(net);
    assert(i < table.size());
    return table[i < table.size() ? i : 0];
}

std::span<const chain_params> all_networks() noexcept { return table; }

std::optional<network> network_from_name(std::string_view name) noexcept {
    for (const chain_params& p : table)
        if (p.name == name) return p.net;
    return std::nullopt;
}

std::string_view to_string(network net) noexcept { return params(net).name; }

}  // namespace sb
