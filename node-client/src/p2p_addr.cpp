#include "sb/node/p2p/addr.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace sb::node::p2p {
namespace {

constexpr std::array<std::uint8_t, 12> ipv4_mapped_prefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
constexpr std::size_t addr_v1_entry_bytes = 4 + 8 + 16 + 2;

std::error_code malformed() noexcept { return make_error_code(p2p_errc::malformed_payload); }

std::uint16_t read_be16(const std::array<std::uint8_t, 2>& p) noexcept { return std::uint16_t(p[0] << 8 | p[1]); }

void write_be16(byte_writer& w, std::uint16_t v) {
    w.u8(std::uint8_t(v >> 8));
    w.u8(std::uint8_t(v));
}

std::string endpoint_key(const peer_address& a) { return a.host_key() + "/" + std::to_string(a.port); }

}  // namespace

bool peer_address::is_ipv4() const noexcept {
    return std::equal(ipv4_mapped_prefix.begin(), ipv4_mapped_prefix.end(), ip.begin());
}

std::string peer_address::host_key() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (is_ipv4()) {
        ::inet_ntop(AF_INET, ip.data() + 12, buf, sizeof buf);
    } else {
        ::inet_ntop(AF_INET6, ip.data(), buf, sizeof buf);
    }
    return buf;
}

std::string peer_address::to_string() const {
    return is_ipv4() ? host_key() + ":" + std::to_string(port) : "[" + host_key() + "]:" + std::to_string(port);
}

std::optional<peer_address> peer_address::from_numeric(const std::string& host, std::uint16_t port) {
    peer_address a;
    a.port = port;
    std::uint8_t v4[4];
    if (::inet_pton(AF_INET, host.c_str(), v4) == 1) {
        std::copy(ipv4_mapped_prefix.begin(), ipv4_mapped_prefix.end(), a.ip.begin());
        std::memcpy(a.ip.data() + 12, v4, 4);
        return a;
    }
    if (::inet_pton(AF_INET6, host.c_str(), a.ip.data()) == 1) return a;
    return std::nullopt;
}

result<std::vector<peer_address>> parse_addr(byte_span payload) {
    byte_reader in(payload);
    auto n = in.compact_size();
    if (!n) return malformed();
    if (*n > max_addr_entries) return make_error_code(p2p_errc::too_many_addr);
    if (in.remaining() != *n * addr_v1_entry_bytes) return malformed();
    std::vector<peer_address> out;
    out.reserve(std::size_t(*n));
    for (std::uint64_t i = 0; i < *n; ++i) {
        peer_address a;
        auto time = in.u32le();
        auto services = in.u64le();
        auto ip = in.array<16>();
        auto port = in.array<2>();
        if (!time || !services || !ip || !port) return malformed();
        a.time = *time;
        a.services = *services;
        a.ip = *ip;
        a.port = read_be16(*port);
        out.push_back(a);
    }
    return out;
}

bytes serialize_addr(const std::vector<peer_address>& addrs) {
    byte_writer w;
    w.compact_size(addrs.size());
    for (const auto& a : addrs) {
        w.u32le(a.time);
        w.u64le(a.services);
        w.raw(a.ip);
        write_be16(w, a.port);
    }
    return w.take();
}

result<std::vector<peer_address>> parse_addrv2(byte_span payload) {
    byte_reader in(payload);
    auto n = in.compact_size();
    if (!n) return malformed();
    if (*n > max_addr_entries) return make_error_code(p2p_errc::too_many_addr);
    std::vector<peer_address> out;
    for (std::uint64_t i = 0; i < *n; ++i) {
        auto time = in.u32le();
        auto services = in.compact_size();
        auto net = in.u8();
        if (!time || !services || !net) return malformed();
        auto raw = in.var_bytes(max_addrv2_address_bytes);
        auto port = in.array<2>();
        if (!raw || !port) return malformed();
        // BIP155 fixed lengths; a wrong one for a known network is malformed.
        std::size_t want = 0;
        switch (*net) {
            case bip155::ipv4: want = 4; break;
            case bip155::ipv6: want = 16; break;
            case bip155::torv2: want = 10; break;
            case bip155::torv3: want = 32; break;
            case bip155::i2p: want = 32; break;
            case bip155::cjdns: want = 16; break;
            default: continue;  // unknown network: skipped
        }
        if (raw->size() != want) return malformed();
        peer_address a;
        a.time = *time;
        a.services = *services;
        a.port = read_be16(*port);
        if (*net == bip155::ipv4) {
            std::copy(ipv4_mapped_prefix.begin(), ipv4_mapped_prefix.end(), a.ip.begin());
            std::memcpy(a.ip.data() + 12, raw->data(), 4);
        } else if (*net == bip155::ipv6) {
            std::memcpy(a.ip.data(), raw->data(), 16);
            // An IPv4-mapped address in an IPv6 entry is not a valid addrv2 IPv6 (Core
            // drops it; the IPv4 entry is the right form).
            if (a.is_ipv4()) continue;
        } else {
            continue;  // Tor, I2P, CJDNS: not reachable by this client
        }
        out.push_back(a);
    }
    if (!in.empty()) return malformed();
    return out;
}

bytes serialize_addrv2(const std::vector<peer_address>& addrs) {
    byte_writer w;
    w.compact_size(addrs.size());
    for (const auto& a : addrs) {
        w.u32le(a.time);
        w.compact_size(a.services);
        if (a.is_ipv4()) {
            w.u8(bip155::ipv4);
            w.var_bytes({a.ip.data() + 12, 4});
        } else {
            w.u8(bip155::ipv6);
            w.var_bytes(a.ip);
        }
        write_be16(w, a.port);
    }
    return w.take();
}

std::uint64_t netgroup(const peer_address& a) noexcept {
    // Tag the family in the top byte so an IPv4 /16 never equals an IPv6 /32.
    if (a.is_ipv4()) return (std::uint64_t(4) << 56) | std::uint64_t(a.ip[12]) << 8 | a.ip[13];
    return (std::uint64_t(6) << 56) | std::uint64_t(a.ip[0]) << 24 | std::uint64_t(a.ip[1]) << 16 |
           std::uint64_t(a.ip[2]) << 8 | a.ip[3];
}

bool is_routable(const peer_address& a) noexcept {
    if (a.port == 0) return false;
    const auto& ip = a.ip;
    if (a.is_ipv4()) {
        const std::uint8_t b0 = ip[12], b1 = ip[13], b2 = ip[14];
        if (b0 == 0 || b0 == 10 || b0 == 127 || b0 >= 224) return false;           // this, private, loopback, multicast/reserved
        if (b0 == 169 && b1 == 254) return false;                                 // link-local
        if (b0 == 172 && (b1 & 0xf0) == 16) return false;                         // 172.16/12
        if (b0 == 192 && b1 == 168) return false;                                 // 192.168/16
        if (b0 == 100 && (b1 & 0xc0) == 64) return false;                         // 100.64/10 CGNAT
        if (b0 == 192 && b1 == 0 && b2 == 2) return false;                        // TEST-NET-1
        if (b0 == 198 && (b1 == 18 || b1 == 19)) return false;                    // benchmarking
        if (b0 == 198 && b1 == 51 && b2 == 100) return false;                     // TEST-NET-2
        if (b0 == 203 && b1 == 0 && b2 == 113) return false;                      // TEST-NET-3
        return true;
    }
    if (std::all_of(ip.begin(), ip.end(), [](std::uint8_t b) { return b == 0; })) return false;  // ::
    static constexpr std::array<std::uint8_t, 16> loopback{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (ip == loopback) return false;
    if (ip[0] == 0xff) return false;                           // multicast
    if ((ip[0] & 0xfe) == 0xfc) return false;                  // fc00::/7 unique local
    if (ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80) return false;  // fe80::/10 link-local
    if (ip[0] == 0x20 && ip[1] == 0x01 && ip[2] == 0x0d && ip[3] == 0xb8) return false;  // 2001:db8::/32
    return true;
}

// ---- address_book ------------------------------------------------------------------

address_book::entry* address_book::find(const peer_address& a) {
    auto it = entries_.find(endpoint_key(a));
    return it == entries_.end() ? nullptr : &it->second;
}

const address_book::entry* address_book::find(const peer_address& a) const {
    auto it = entries_.find(endpoint_key(a));
    return it == entries_.end() ? nullptr : &it->second;
}

bool address_book::contains(const peer_address& a) const { return find(a) != nullptr; }

std::size_t address_book::add(const std::vector<peer_address>& addrs) {
    std::size_t added = 0;
    for (const auto& a : addrs) {
        if (a.port == 0) continue;
        if (!opts_.allow_non_routable && !is_routable(a)) continue;
        const std::string key = endpoint_key(a);
        if (entries_.count(key)) continue;
        if (opts_.max_addresses == 0) break;
        if (order_.size() >= opts_.max_addresses) {
            entries_.erase(order_.front());
            order_.erase(order_.begin());
        }
        entries_.emplace(key, entry{a, {}, std::chrono::milliseconds{0}, {}});
        order_.push_back(key);
        ++added;
    }
    return added;
}

std::optional<peer_address> address_book::select(clock::time_point now, const std::vector<std::uint64_t>& connected_groups,
                                                 const std::vector<peer_address>& busy) const {
    const entry* best = nullptr;
    for (const auto& key : order_) {
        const entry& e = entries_.at(key);
        if (e.retry_at > now) continue;
        if (is_discouraged(e.addr, now)) continue;
        if (std::find(connected_groups.begin(), connected_groups.end(), netgroup(e.addr)) != connected_groups.end())
            continue;
        if (std::any_of(busy.begin(), busy.end(), [&](const peer_address& b) { return b.same_endpoint(e.addr); }))
            continue;
        if (!best || e.last_try < best->last_try) best = &e;
    }
    if (!best) return std::nullopt;
    return best->addr;
}

void address_book::failed(const peer_address& a, clock::time_point now) {
    entry* e = find(a);
    if (!e) return;
    e->backoff = e->backoff.count() == 0 ? opts_.backoff_first : std::min(e->backoff * 2, opts_.backoff_cap);
    e->retry_at = now + e->backoff;
    e->last_try = now;
}

void address_book::succeeded(const peer_address& a) {
    entry* e = find(a);
    if (!e) return;
    e->backoff = std::chrono::milliseconds{0};
    e->retry_at = {};
    e->last_try = clock::now();
}

address_book::clock::time_point address_book::retry_at(const peer_address& a) const {
    const entry* e = find(a);
    return e ? e->retry_at : clock::time_point{};
}

void address_book::discourage(const peer_address& a, clock::time_point now) {
    if (opts_.max_discouraged_hosts == 0) return;
    const std::string key = a.host_key();
    if (!discouraged_.count(key) && discouraged_.size() >= opts_.max_discouraged_hosts) {
        // Drop the entry that expires first (expired ones first of all).
        auto first = std::min_element(discouraged_.begin(), discouraged_.end(),
                                      [](const auto& x, const auto& y) { return x.second < y.second; });
        discouraged_.erase(first);
    }
    discouraged_[key] = now + opts_.discourage_for;
}

bool address_book::is_discouraged(const peer_address& a, clock::time_point now) const {
    auto it = discouraged_.find(a.host_key());
    return it != discouraged_.end() && it->second > now;
}

}  // namespace sb::node::p2p
