// The solobridge configuration: a JSON file (comments and trailing commas allowed)
// validated into typed settings, with environment and command-line overrides for the
// common keys. Every key is documented in config/README.md.
#pragma once

#include <bitset>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sb/config/json.hpp"
#include "sb/core/chain.hpp"

namespace sb::config {

// host:port; host is a name, an IPv4 address or a bracketed IPv6 address ("[::1]:3333").
struct endpoint {
    std::string host;
    std::uint16_t port = 0;
    std::string to_string() const;
};

// Parses "host:port" / "[v6]:port". Port 0 is allowed only when allow_port_zero.
std::optional<endpoint> parse_endpoint(std::string_view text, bool allow_port_zero = false);

// True when two listeners cannot both listen at once: the same port, and the same address
// or a wildcard that covers the other. IP literals compare by value ("::ffff:127.0.0.1" is
// 127.0.0.1). "0.0.0.0" covers every IPv4 address; "::" covers every address, IPv4 ones
// included, because the servers leave IPV6_V6ONLY off (the Linux default). A host name
// overlaps the same name and "::" only: whether "localhost" meets 127.0.0.1 or 0.0.0.0
// depends on name resolution on the machine that runs the bridge, so `solobridge doctor`
// decides that by binding. Port 0 (any free port) never overlaps.
bool listeners_overlap(const endpoint& a, const endpoint& b);

struct node_settings {
    std::string rpc_url;          // http://host:port[/path]
    std::string rpc_user;         // with rpc_password; empty when a cookie file is used
    std::string rpc_password;
    std::string rpc_cookie_file;  // Bitcoin Core's .cookie ("user:password"), re-read on 401
    std::optional<endpoint> p2p;  // the node's P2P address, for tip announcements and relay
    std::uint32_t rpc_timeout_ms = 30'000;
};

// Per-session difficulty (vardiff) for one Stratum listener.
struct difficulty_settings {
    double initial = 1024;             // share difficulty before vardiff has data
    double min = 0.001;                // lower clamp (tiny miners: NerdMiner, Bitaxe at start)
    double max = 1e15;                 // upper clamp; a job never asks more than its network difficulty
    double target_share_seconds = 10;  // vardiff aims at one share this often
};

struct tls_settings {
    std::string cert_file;  // PEM certificate chain
    std::string key_file;   // PEM private key
    // Serve plain-TCP Stratum on the same port too: the first byte of each connection
    // decides (a TLS handshake record, or anything else).
    bool accept_plain = false;
};

struct stratum_listener {
    endpoint listen;
    std::optional<tls_settings> tls;
    difficulty_settings difficulty;
};

// Where the P2P header chain starts: at genesis, or at a header some depth below the
// node's tip taken from its RPC (node-client p2p/anchor.hpp).
enum class p2p_anchor_mode {
    genesis,
    rpc,
};

enum class payout_mode {
    fixed_address,     // every block pays `address`
    address_username,  // the miner's username ADDRESS[.worker] is the payout address
};

// The payout address the example files carry. The loader refuses it (and addresses that
// earlier example files carried, which belong to someone else) with "replace with your
// own payout address", so that a config copied without editing never mines for a stranger.
inline constexpr std::string_view payout_address_placeholder = "YOUR-PAYOUT-ADDRESS";

struct payout_settings {
    payout_mode mode = payout_mode::fixed_address;
    std::string address;          // fixed_address: the validated address as written
    std::vector<std::uint8_t> script_pubkey;  // fixed_address: its scriptPubKey
};

// A local mining device of a chain (issues 7 and 15): it mines the chain's jobs through the
// same dispatcher as the Stratum miners, SHA-256d or KAWPOW as the chain's blocks need
// ("cpu" mines SHA-256d only and is refused on a Ravencoin chain).
inline constexpr unsigned min_device_intensity = 1;
inline constexpr unsigned max_device_intensity = 32;
inline constexpr unsigned default_device_intensity = 20;
inline constexpr std::size_t max_devices_per_chain = 16;

struct device_settings {
    std::string id;  // "cpu", "cuda:N" or "opencl:N" (as `solobridge devices` lists them)
    // Batch size: each step doubles the nonces per search call (the searchers' batch_size).
    unsigned intensity = default_device_intensity;
};

// True for "cpu", "cuda:N" and "opencl:N" (N a decimal number 0-999, no leading zeros).
bool valid_device_id(std::string_view id) noexcept;

struct chain_settings {
    std::string id;  // label used in logs, metrics and the API; defaults to the network name
    network net = network::bitcoin_regtest;
    std::vector<node_settings> nodes;  // the first is preferred; all receive found blocks
    payout_settings payout;
    std::string coinbase_tag = "/solobridge/";  // at most max_coinbase_tag_bytes
    unsigned extranonce2_size = 8;              // bytes the miner rolls (2..8)
    std::vector<stratum_listener> stratum;
    std::uint32_t template_refresh_s = 30;  // fresh template at least this often
    std::vector<device_settings> devices;   // local mining devices, 0..max_devices_per_chain
    // P2P peers besides each node's `p2p` address (host names allowed), the outbound
    // connections wanted in all (public peers learned from addr fill the rest), and
    // whether the network's DNS seeds are asked for public peers.
    std::vector<endpoint> p2p_peers;
    std::uint32_t p2p_target_outbound = 8;
    bool p2p_dns_seeds = false;
    // While the node's RPC is down, mine coinbase-only blocks on the P2P-validated tip.
    bool p2p_header_only_work = false;
    // Root of the P2P header chain: genesis on Bitcoin, the node's RPC on Ravencoin (the
    // only choice there: X16R/X16Rv2 headers cannot be checked).
    p2p_anchor_mode p2p_anchor = p2p_anchor_mode::genesis;
    // Stratum: ban IPs whose sessions violate the protocol (garbage, over-long lines,
    // error-reply floods), whether loopback clients are banned too (false behind a local
    // TLS terminator or proxy, where every miner is 127.0.0.1), the ban score that bans
    // and for how long, and the connections one IP may hold (a farm behind NAT or a
    // Stratum proxy is one IP). Defaults: bridge/stratum/limits.hpp.
    bool stratum_bans = true;
    bool stratum_ban_loopback = true;
    std::uint32_t stratum_ban_threshold = 100;
    std::uint32_t stratum_ban_duration_s = 900;
    std::uint32_t stratum_max_connections_per_ip = 256;
};

// Bounds of the Stratum ban and cap keys.
inline constexpr std::uint32_t max_stratum_ban_threshold = 100'000;
inline constexpr std::uint32_t max_stratum_ban_duration_s = 7 * 24 * 3600;
inline constexpr std::uint32_t max_stratum_connections_per_ip = 20'000;

// The dashboard, API, WebSocket and /metrics listener (bridge/web/server.hpp).
struct http_settings {
    bool enabled = true;
    endpoint listen{"127.0.0.1", 8080};
    // Required (one of them) when listen is not a loopback address: a bearer token (also
    // accepted as the basic-auth password), or a basic-auth user and password.
    std::string token;
    std::string user;
    std::string password;
    bool metrics_per_worker = false;         // per-worker series in /metrics
    std::uint32_t metrics_max_workers = 1000;  // the busiest ones; the rest counted
    std::uint32_t max_connections = 256;
    std::uint32_t max_websockets = 128;
};

inline constexpr std::size_t min_http_token_chars = 16;
inline constexpr std::uint32_t max_http_metrics_workers = 100'000;

// The statistics and their history (bridge/stats/statistics.hpp, history.hpp).
struct stats_settings {
    bool history = true;  // data_dir/stats.sqlite
    double idle_after_intervals = 6;     // online → idle after this many expected share intervals without a share
    double offline_after_intervals = 30; // idle → offline
    std::uint32_t default_share_interval_s = 10;  // the interval before a worker has a hashrate
    std::uint32_t forget_offline_after_s = 86'400;  // an offline worker leaves memory (not the history)
    std::uint32_t max_workers = 50'000;             // worker cells in memory per chain
    double hashrate_drop_ratio = 0.5;  // an event when the 5 m hashrate falls below this share of 1 h (0: off)
    std::uint32_t history_workers = 1000;  // per-worker series written per chain per minute (the busiest)
};

// ---- alerts (bridge/alerts) -----------------------------------------------------------

// What an alert reports. The names are the config's ("block_found", ...) and the JSON
// webhook's "kind". worker_online and node_up say that a subject reported offline / down
// (or unauthorized) is back; they are only sent for a subject whose problem was sent.
enum class alert_kind {
    block_found,        // a share met the network target (the block went to the submitter)
    block_orphaned,     // a found block left the main chain, or lost the race at its height
    worker_offline,     // a worker sent no share for longer than the statistics allow
    worker_online,      // a worker reported offline sends shares again
    hashrate_drop,      // 5-minute hashrate below hashrate_drop_ratio of the 1-hour hashrate
    node_down,          // the node's RPC cannot be reached
    node_unauthorized,  // the node refuses the RPC credentials (HTTP 401/403)
    node_up,            // a node reported down or unauthorized answers again
};
inline constexpr std::size_t alert_kind_count = 8;
using alert_kinds = std::bitset<alert_kind_count>;
std::string_view to_string(alert_kind k) noexcept;
// The kind named s ("block_found", ...), or nullopt.
std::optional<alert_kind> alert_kind_from_string(std::string_view s) noexcept;

// How a webhook's requests look (bridge/alerts/request.hpp has the exact forms).
enum class webhook_format {
    json,  // POST of a JSON object (kind, chain, title, text, subjects, count, time, priority)
    ntfy,  // ntfy's publishing form: POST to the topic URL, the text as the body, Title,
           // Priority and Tags headers
};

// A webhook URL split for the HTTP client: http://host[:port][/path] or https://....
struct webhook_url {
    bool tls = false;          // https
    std::string host;          // a name or an IP address (IPv6 without brackets)
    std::uint16_t port = 0;    // 80 or 443 unless written
    std::string target = "/";  // path and query as written (printable ASCII, no spaces)
};
// Parses an http:// or https:// URL (scheme case-insensitive). nullopt: another scheme,
// user info, a fragment, an empty host, a bad port, or characters outside printable ASCII
// (or spaces) in the path; *why says which.
std::optional<webhook_url> parse_webhook_url(std::string_view url, std::string* why = nullptr);

inline constexpr std::size_t max_webhooks = 8;
inline constexpr std::size_t max_webhook_headers = 16;
inline constexpr std::uint32_t default_alert_min_interval_s = 60;
inline constexpr std::uint32_t max_alert_min_interval_s = 86'400;
inline constexpr double default_hashrate_drop_ratio = 0.5;

struct webhook_settings {
    std::string url;  // as written
    webhook_url parsed;
    webhook_format format = webhook_format::json;
    alert_kinds events = alert_kinds().set();  // every kind unless "events" lists some
    std::string token;  // sent as "Authorization: Bearer <token>" (ntfy access tokens)
    std::vector<std::pair<std::string, std::string>> headers;  // extra request headers
    std::string ca_file;  // https: trust this PEM file instead of the system store
};

struct alert_settings {
    std::vector<webhook_settings> webhooks;  // empty: no alerts
    // Alerts of one kind family and chain go out at most once per this many seconds;
    // what happens meanwhile is grouped into the next message (bridge/alerts/grouper.hpp).
    std::uint32_t min_interval_s = default_alert_min_interval_s;
    // hashrate_drop when the 5-minute hashrate falls below this share of the 1-hour one.
    double hashrate_drop_ratio = default_hashrate_drop_ratio;
};

struct settings {
    std::string data_dir = "./solobridge-data";
    std::string log_level = "info";  // error, warn, info, debug, trace
    http_settings http;
    stats_settings stats;
    std::vector<chain_settings> chains;
    alert_settings alerts;
};

inline constexpr std::size_t max_coinbase_tag_bytes = 40;

struct config_error {
    std::string path;  // key path, e.g. chains[0].nodes[1].rpc_url ("" for the document)
    location at;       // where it was written
    std::string message;
    // "file:line:col: path: message"
    std::string to_string() const;
};

struct load_result {
    std::optional<settings> value;     // set when errors is empty
    std::vector<config_error> errors;  // every problem found, in file order
};

// Overrides of the common keys, from the environment or the command line. Each applies
// to the first chain (and its first node / first Stratum listener).
struct override_value {
    std::string key;     // config path it sets, e.g. "chains[0].nodes[0].rpc_url"
    std::string value;
    std::string origin;  // "environment SB_NODE_RPC_URL", "command line --node-rpc-url"
};

struct override_spec {
    std::string_view env;   // SB_...
    std::string_view flag;  // --...
    std::string_view path;  // dotted config path
    // Sibling keys the override removes: choosing cookie auth drops user/password from
    // the file, and the other way round.
    std::vector<std::string_view> clears;
};

// The overridable keys: data directory, HTTP listener, node RPC URL/credentials/cookie,
// Stratum listener, payout address.
const std::vector<override_spec>& override_specs();

// Overrides from environment variables, read through getenv (injectable for tests).
std::vector<override_value> overrides_from_env(const std::function<const char*(const char*)>& getenv);
// Overrides from command-line flags "--flag VALUE" or "--flag=VALUE". Flags it does not
// know are returned in unknown (the caller decides whether they are errors).
std::vector<override_value> overrides_from_args(const std::vector<std::string_view>& args,
                                                std::vector<std::string>& unknown,
                                                std::vector<config_error>& errors);

// Validates configuration text. Later overrides win over earlier ones and over the file.
load_result load_text(std::string_view text, std::string_view source,
                      const std::vector<override_value>& overrides = {});
// Reads and validates a file (at most max_config_bytes).
load_result load_file(const std::string& path, const std::vector<override_value>& overrides = {});

}  // namespace sb::config
