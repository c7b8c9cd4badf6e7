// Peer addresses: the addr (v1) and addrv2 (BIP155) payloads, netgroups for the
// anti-eclipse rule, and the address book of the peer manager (learned addresses,
// back-off per address, discouragement). No I/O; the clock is passed in, so tests drive
// time themselves.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "sb/core/bytes.hpp"
#include "sb/core/result.hpp"
#include "sb/node/p2p/errors.hpp"
#include "sb/node/p2p/limits.hpp"

namespace sb::node::p2p {

// An IPv4 or IPv6 endpoint. IPv4 is stored IPv4-mapped (::ffff:a.b.c.d).
struct peer_address {
    std::array<std::uint8_t, 16> ip{};
    std::uint16_t port = 0;
    std::uint64_t services = 0;
    std::uint32_t time = 0;  // last seen, as the sender claimed (Unix seconds)

    bool is_ipv4() const noexcept;
    // "a.b.c.d:port" or "[v6]:port".
    std::string to_string() const;
    // The address without port/services/time, for tables.
    std::string host_key() const;
    // Parses a numeric IPv4 or IPv6 host (no brackets); nullopt otherwise.
    static std::optional<peer_address> from_numeric(const std::string& host, std::uint16_t port);
    bool same_endpoint(const peer_address& o) const noexcept { return ip == o.ip && port == o.port; }
};

// BIP155 network ids.
namespace bip155 {
inline constexpr std::uint8_t ipv4 = 1;
inline constexpr std::uint8_t ipv6 = 2;
inline constexpr std::uint8_t torv2 = 3;
inline constexpr std::uint8_t torv3 = 4;
inline constexpr std::uint8_t i2p = 5;
inline constexpr std::uint8_t cjdns = 6;
}  // namespace bip155

// addr: CompactSize n (<= max_addr_entries, else too_many_addr) || n × (LE32 time ||
// LE64 services || 16-byte IP || BE16 port). Errors: too_many_addr, malformed_payload.
result<std::vector<peer_address>> parse_addr(byte_span payload);
bytes serialize_addr(const std::vector<peer_address>& addrs);
// addrv2: CompactSize n (<= max_addr_entries) || n × (LE32 time || CompactSize services
// || u8 network id || var_bytes address (<= 512) || BE16 port). Only IPv4 and IPv6
// entries are returned; Tor, I2P, CJDNS and unknown networks are skipped. A known
// network with the wrong address length is malformed (as Core). Errors: too_many_addr,
// malformed_payload.
result<std::vector<peer_address>> parse_addrv2(byte_span payload);
// IPv4/IPv6 entries only. network ids for tests that need others go through raw bytes.
bytes serialize_addrv2(const std::vector<peer_address>& addrs);

// Netgroup key for the one-outbound-per-netgroup rule: /16 for IPv4, /32 for IPv6
// (Core's outbound_ipv46_peer_netgroups without asmap).
std::uint64_t netgroup(const peer_address& a) noexcept;
// Publicly routable unicast (not loopback, RFC1918, link-local, CGNAT, multicast,
// unique-local, documentation, unspecified, port 0).
bool is_routable(const peer_address& a) noexcept;

// Learned addresses, discouraged hosts and per-address back-off. Bounded: at most
// max_address_table addresses (a new one replaces the oldest learned once full) and
// max_discouraged discouraged hosts (the one expiring first is dropped once full).
class address_book {
public:
    using clock = std::chrono::steady_clock;

    struct options {
        std::size_t max_addresses = max_address_table;
        std::size_t max_discouraged_hosts = max_discouraged;
        std::chrono::seconds discourage_for = discourage_time;
        std::chrono::milliseconds backoff_first = backoff_initial;
        std::chrono::milliseconds backoff_cap = backoff_max_learned;
        bool allow_non_routable = false;  // tests on loopback
    };

    address_book() : address_book(options{}) {}
    explicit address_book(options o) : opts_(o) {}

    // Adds learned addresses; non-routable (unless allowed) and duplicate ones are
    // ignored. Returns how many were new.
    std::size_t add(const std::vector<peer_address>& addrs);
    std::size_t size() const noexcept { return order_.size(); }
    bool contains(const peer_address& a) const;

    // A candidate to connect to at now: not discouraged, not in back-off, not in
    // connected_groups, not an endpoint in busy. Oldest-tried first; nullopt when none.
    std::optional<peer_address> select(clock::time_point now, const std::vector<std::uint64_t>& connected_groups,
                                       const std::vector<peer_address>& busy) const;

    // Connection outcomes: a failure doubles the address's back-off (first
    // backoff_first, capped at backoff_cap); success clears it.
    void failed(const peer_address& a, clock::time_point now);
    void succeeded(const peer_address& a);
    // When the address may be tried again (now or earlier when not backing off).
    clock::time_point retry_at(const peer_address& a) const;

    // Discourages the host of a (any port) until now + discourage_for.
    void discourage(const peer_address& a, clock::time_point now);
    bool is_discouraged(const peer_address& a, clock::time_point now) const;
    std::size_t discouraged_count() const noexcept { return discouraged_.size(); }

private:
    struct entry {
        peer_address addr;
        clock::time_point retry_at{};
        std::chrono::milliseconds backoff{0};
        clock::time_point last_try{};
    };
    entry* find(const peer_address& a);
    const entry* find(const peer_address& a) const;

    options opts_;
    std::vector<std::string> order_;  // endpoint keys, oldest first
    std::unordered_map<std::string, entry> entries_;
    std::unordered_map<std::string, clock::time_point> discouraged_;  // host key → until
};

}  // namespace sb::node::p2p
