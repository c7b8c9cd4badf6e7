// Fuzz target: P2P v1 frames from a hostile peer. The input is split into feeds (sizes
// from its first byte) for the incremental decoder; every frame is run through the
// payload parser of its command and, when it parses, re-serialized and compared; header
// lists go into a regtest header chain (and, read as Ravencoin's, a Ravencoin one); addr/addrv2 lists into an address book. Nothing may crash, errors must be p2p errors.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "sb/core/chain.hpp"
#include "sb/node/p2p/addr.hpp"
#include "sb/node/p2p/header_chain.hpp"
#include "sb/node/p2p/message.hpp"

namespace p2p = sb::node::p2p;

namespace {

template <class T>
void must_round_trip(const sb::result<T>& parsed, const sb::bytes& payload, sb::bytes (*again)(const T&)) {
    if (parsed && again(*parsed) != payload) std::abort();
}

void check_error(std::error_code ec) {
    if (ec && ec.category() != p2p::p2p_category()) std::abort();
}

void on_frame(const p2p::frame& f) {
    const sb::bytes& p = f.payload;
    if (f.command == p2p::cmd::headers) {
        auto hs = p2p::parse_headers(p);
        check_error(hs.error());
        if (hs) {
            if (p2p::serialize_headers(*hs) != p) std::abort();
            p2p::header_chain chain(sb::params(sb::network::bitcoin_regtest));
            auto r = chain.add_all(*hs, 2'000'000'000);
            check_error(r.error());
            (void)chain.locator();
        }
        // Ravencoin's layout: 120-byte KAWPOW headers, X16R ones refused.
        auto rh = p2p::parse_headers(p, sb::params(sb::network::ravencoin_mainnet));
        check_error(rh.error());
        if (rh) {
            if (p2p::serialize_wire_headers(*rh) != p) std::abort();
            p2p::header_chain chain(sb::params(sb::network::ravencoin_mainnet));
            check_error(chain.add_all(*rh, 2'000'000'000).error());
        }
    } else if (f.command == p2p::cmd::inv || f.command == p2p::cmd::getdata) {
        auto items = p2p::parse_inv(p);
        check_error(items.error());
        if (items && p2p::serialize_inv(*items) != p) std::abort();
    } else if (f.command == p2p::cmd::getheaders) {
        auto m = p2p::parse_getheaders(p);
        check_error(m.error());
        must_round_trip<p2p::getheaders_message>(m, p, [](const p2p::getheaders_message& v) { return p2p::serialize(v); });
    } else if (f.command == p2p::cmd::version) {
        auto v = p2p::parse_version(p);
        check_error(v.error());
        if (v && (v->user_agent.size() > p2p::max_user_agent_bytes || !p2p::parse_version(p2p::serialize(*v))))
            std::abort();
    } else if (f.command == p2p::cmd::sendcmpct) {
        auto m = p2p::parse_sendcmpct(p);
        check_error(m.error());
        must_round_trip<p2p::sendcmpct_message>(m, p, [](const p2p::sendcmpct_message& v) { return p2p::serialize(v); });
    } else if (f.command == p2p::cmd::ping || f.command == p2p::cmd::pong) {
        auto n = p2p::parse_ping(p);
        check_error(n.error());
        if (n && p2p::serialize_ping(*n) != p) std::abort();
    } else if (f.command == p2p::cmd::cmpctblock) {
        check_error(p2p::parse_cmpctblock_header(p).error());
        check_error(p2p::parse_cmpctblock_header(p, sb::params(sb::network::ravencoin_mainnet)).error());
    } else if (f.command == p2p::cmd::addr || f.command == p2p::cmd::addrv2) {
        const bool v2 = f.command == p2p::cmd::addrv2;
        auto a = v2 ? p2p::parse_addrv2(p) : p2p::parse_addr(p);
        check_error(a.error());
        if (a) {
            if (a->size() > p2p::max_addr_entries) std::abort();
            if (!v2 && p2p::serialize_addr(*a) != p) std::abort();
            p2p::address_book::options o;
            o.max_addresses = 16;
            p2p::address_book book(o);
            book.add(*a);
            if (book.size() > 16) std::abort();
            for (const auto& x : *a) (void)p2p::netgroup(x), (void)x.to_string();
        }
    } else if (f.command == p2p::cmd::block) {
        (void)p2p::serialize_cmpctblock_prefilled(p, 1);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::size_t step = std::size_t(data[0] % 64) + 1;
    const sb::byte_span in(data + 1, size - 1);
    p2p::frame_decoder decoder(sb::params(sb::network::bitcoin_mainnet).magic, 1u << 20);
    for (std::size_t pos = 0; pos < in.size(); pos += step) {
        decoder.feed(in.subspan(pos, std::min(step, in.size() - pos)));
        for (;;) {
            auto f = decoder.next();
            if (!f) {
                check_error(f.error());
                return 0;
            }
            if (!*f) break;
            if (f->value().payload.size() > (1u << 20) || f->value().command.empty()) std::abort();
            on_frame(**f);
        }
    }
    // The decoder never holds more than one partial frame beyond the last feed.
    if (decoder.buffered() > p2p::frame_header_bytes + (1u << 20) + step) std::abort();
    return 0;
}
