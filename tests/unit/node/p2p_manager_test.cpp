// Peer management: addr/addrv2 parsing and limits, netgroups, the address book
// (bounds, back-off, discouragement expiry), and the peer manager against scripted
// loopback nodes (configured peers kept, host names through an injected resolver,
// getaddr once, addr floods, the one-per-netgroup rule, discouragement of misbehaving
// public peers and its expiry, back-off between reconnects, the status list).
#include <doctest/doctest.h>

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include "fake_node.hpp"  // io_runner
#include "node_access.hpp"
#include "regtest_headers.hpp"
#include "scripted_p2p.hpp"
#include "sb/core/pow.hpp"
#include "sb/node/p2p/addr.hpp"
#include "sb/node/p2p/message.hpp"
#include "sb/node/p2p/peer_manager.hpp"

using namespace sb;
using namespace sb::node::p2p;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

const chain_params& regtest() { return params(network::bitcoin_regtest); }

peer_address addr_of(const std::string& host, std::uint16_t port) {
    auto a = peer_address::from_numeric(host, port);
    REQUIRE(a);
    return *a;
}

// ---- a scripted multi-connection node ------------------------------------------------

// One accepted connection; the script runs on its own thread with blocking I/O
// (tests/support/scripted_p2p.hpp).
class conn : public test::p2p_script_conn {
public:
    explicit conn(tcp::socket s) : p2p_script_conn(std::move(s), regtest().magic) {}
    // Answers the handshake as a 70015 node at height.
    void handshake(std::int32_t height = 0) { answer_handshake(70015, height); }
    // Reads until the peer closes, answering pings; counts getaddr.
    void serve(std::atomic<int>* getaddrs = nullptr) {
        for (;;) {
            frame f = read();
            if (f.command == cmd::ping) send(cmd::pong, f.payload);
            if (f.command == cmd::getaddr && getaddrs) ++*getaddrs;
        }
    }
};

// Accepts on host:0 until destroyed; every connection runs script on its own thread.
class scripted_listener {
public:
    using script_fn = std::function<void(conn&, int index)>;
    scripted_listener(const std::string& host, script_fn script)
        : acceptor_(ctx_, tcp::endpoint(asio::ip::make_address(host), 0)), script_(std::move(script)) {
        acceptor_.non_blocking(true);
        thread_ = std::thread([this] { accept_loop(); });
    }
    ~scripted_listener() {
        stop_ = true;
        thread_.join();
        {
            std::lock_guard lock(mutex_);
            for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
        }
        for (auto& t : conns_) t.join();
    }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    int accepted() const { return accepted_; }
    std::vector<std::chrono::steady_clock::time_point> accept_times() {
        std::lock_guard lock(mutex_);
        return times_;
    }

private:
    void accept_loop() {
        while (!stop_) {
            boost::system::error_code ec;
            tcp::socket s(ctx_);
            acceptor_.accept(s, ec);
            if (ec) {
                std::this_thread::sleep_for(2ms);
                continue;
            }
            s.non_blocking(false);
            const int index = accepted_++;
            std::lock_guard lock(mutex_);
            times_.push_back(std::chrono::steady_clock::now());
            fds_.push_back(s.native_handle());
            conns_.emplace_back([this, index, c = std::make_shared<conn>(std::move(s))] {
                try {
                    script_(*c, index);
                } catch (const std::exception&) {
                    // closed by the peer: expected
                }
            });
        }
    }

    asio::io_context ctx_;
    tcp::acceptor acceptor_;
    script_fn script_;
    std::atomic<bool> stop_{false};
    std::atomic<int> accepted_{0};
    std::mutex mutex_;
    std::vector<int> fds_;
    std::vector<std::chrono::steady_clock::time_point> times_;
    std::vector<std::thread> conns_;
    std::thread thread_;
};

// The user's own node in these tests: answers getaddr with addrs (addrv2 when v2), then
// serves.
scripted_listener::script_fn advertising(std::vector<peer_address> addrs, bool v2 = false) {
    return [addrs = std::move(addrs), v2](conn& c, int) {
        c.handshake();
        c.read_until(cmd::getaddr);
        if (v2)
            c.send(cmd::addrv2, serialize_addrv2(addrs));
        else
            c.send(cmd::addr, serialize_addr(addrs));
        c.serve();
    };
}

peer_manager_options loopback_options() {
    peer_manager_options o;
    o.allow_non_routable = true;
    o.tick = 20ms;
    o.backoff_first = 50ms;
    o.backoff_cap_configured = 200ms;
    o.backoff_cap_learned = 200ms;
    o.peer.handshake_timeout = 2s;
    o.peer.connect_timeout = 2s;
    // Never resolve for real: a test that needs names injects its own.
    o.resolve = [](const std::string&, std::uint16_t, resolve_handler done) { done({}); };
    return o;
}

block_header mine(const hash256& prev, std::uint32_t time, std::uint32_t bits = 0x207fffff) {
    return test::mine_regtest_header(prev, time, bits);
}

std::vector<block_header> mine_chain(const hash256& from, std::uint32_t t0, int n) {
    std::vector<block_header> hs;
    hash256 prev = from;
    for (int i = 1; i <= n; ++i) {
        hs.push_back(mine(prev, t0 + 600u * std::uint32_t(i)));
        prev = hs.back().hash();
    }
    return hs;
}

}  // namespace

// ---- parsing -------------------------------------------------------------------------

TEST_CASE("p2p addr: addr round-trips and more than 1000 entries is misbehaviour") {
    std::vector<peer_address> in{addr_of("8.8.8.8", 8333), addr_of("2001:4860::1", 18333)};
    in[0].time = 1700000000;
    in[0].services = node_network | node_witness;
    auto out = parse_addr(serialize_addr(in));
    REQUIRE(out);
    REQUIRE(out->size() == 2);
    CHECK((*out)[0].to_string() == "8.8.8.8:8333");
    CHECK((*out)[0].time == 1700000000u);
    CHECK((*out)[0].services == (node_network | node_witness));
    CHECK((*out)[1].to_string() == "[2001:4860::1]:18333");

    std::vector<peer_address> flood(1001, addr_of("8.8.4.4", 8333));
    auto r = parse_addr(serialize_addr(flood));
    REQUIRE_FALSE(r);
    CHECK(r.error() == p2p_errc::too_many_addr);
    CHECK(is_punishable(r.error()));
    flood.pop_back();
    CHECK(parse_addr(serialize_addr(flood)));

    bytes cut = serialize_addr(in);
    cut.pop_back();
    auto t = parse_addr(cut);
    REQUIRE_FALSE(t);
    CHECK(t.error() == p2p_errc::malformed_payload);
}

TEST_CASE("p2p addr: addrv2 keeps IPv4 and IPv6 and skips Tor I2P CJDNS and unknown networks") {
    byte_writer w;
    w.compact_size(6);
    auto entry = [&](std::uint8_t net, const bytes& a, std::uint16_t port) {
        w.u32le(1700000000);
        w.compact_size(9);
        w.u8(net);
        w.var_bytes(a);
        w.u8(std::uint8_t(port >> 8));
        w.u8(std::uint8_t(port));
    };
    entry(bip155::ipv4, {1, 2, 3, 4}, 8333);
    entry(bip155::torv3, bytes(32, 7), 8333);
    entry(bip155::i2p, bytes(32, 8), 0);
    entry(bip155::cjdns, bytes(16, 0xfc), 8333);
    entry(42, bytes(5, 1), 1);  // unknown network id
    bytes v6(16, 0);
    v6[0] = 0x2a;
    v6[15] = 1;
    entry(bip155::ipv6, v6, 18444);
    auto r = parse_addrv2(w.data());
    REQUIRE(r);
    REQUIRE(r->size() == 2);
    CHECK((*r)[0].to_string() == "1.2.3.4:8333");
    CHECK((*r)[0].services == 9u);
    CHECK((*r)[1].to_string() == "[2a00::1]:18444");

    // Round trip of what we produce.
    auto rt = parse_addrv2(serialize_addrv2(*r));
    REQUIRE(rt);
    CHECK(rt->size() == 2);
}

TEST_CASE("p2p addr: addrv2 with a wrong address length an oversized address or too many entries is refused") {
    {
        byte_writer w;
        w.compact_size(1);
        w.u32le(0);
        w.compact_size(0);
        w.u8(bip155::ipv4);
        w.var_bytes(bytes{1, 2, 3});  // IPv4 must be 4 bytes
        w.u8(0);
        w.u8(1);
        auto r = parse_addrv2(w.data());
        REQUIRE_FALSE(r);
        CHECK(r.error() == p2p_errc::malformed_payload);
    }
    {
        byte_writer w;
        w.compact_size(1);
        w.u32le(0);
        w.compact_size(0);
        w.u8(99);
        w.var_bytes(bytes(513, 0));  // above BIP155's 512
        w.u8(0);
        w.u8(1);
        auto r = parse_addrv2(w.data());
        REQUIRE_FALSE(r);
        CHECK(r.error() == p2p_errc::malformed_payload);
    }
    {
        std::vector<peer_address> flood(1001, addr_of("9.9.9.9", 8333));
        auto r = parse_addrv2(serialize_addrv2(flood));
        REQUIRE_FALSE(r);
        CHECK(r.error() == p2p_errc::too_many_addr);
    }
}

TEST_CASE("p2p addr: netgroups are the IPv4 slash 16 and the IPv6 slash 32") {
    CHECK(netgroup(addr_of("1.2.3.4", 1)) == netgroup(addr_of("1.2.200.9", 2)));
    CHECK(netgroup(addr_of("1.2.3.4", 1)) != netgroup(addr_of("1.3.3.4", 1)));
    CHECK(netgroup(addr_of("2001:db9:1::1", 1)) == netgroup(addr_of("2001:db9:ffff::2", 1)));
    CHECK(netgroup(addr_of("2001:db9::1", 1)) != netgroup(addr_of("2001:dba::1", 1)));
    CHECK(netgroup(addr_of("0.0.1.2", 1)) != netgroup(addr_of("::1:2", 1)));
}

TEST_CASE("p2p addr: only publicly routable addresses count") {
    CHECK(is_routable(addr_of("8.8.8.8", 8333)));
    CHECK(is_routable(addr_of("2a01:4f8::1", 8333)));
    for (const char* h : {"127.0.0.1", "10.1.2.3", "192.168.1.1", "172.16.0.1", "172.31.255.1", "169.254.1.1",
                          "100.64.0.1", "0.0.0.0", "224.0.0.1", "::1", "::", "fc00::1", "fe80::1", "ff02::1",
                          "2001:db8::1"})
        CHECK_MESSAGE(!is_routable(addr_of(h, 8333)), h);
    CHECK_FALSE(is_routable(addr_of("8.8.8.8", 0)));
}

// ---- address book --------------------------------------------------------------------

TEST_CASE("p2p address book: bounded table drops the oldest and ignores non-routable addresses") {
    address_book::options o;
    o.max_addresses = 3;
    address_book book(o);
    CHECK(book.add({addr_of("127.0.0.1", 8333), addr_of("10.0.0.1", 8333)}) == 0);
    CHECK(book.add({addr_of("1.0.0.1", 8333), addr_of("1.0.0.2", 8333), addr_of("1.0.0.3", 8333),
                    addr_of("1.0.0.1", 8333)}) == 3);
    CHECK(book.size() == 3);
    CHECK(book.add({addr_of("1.0.0.4", 8333)}) == 1);
    CHECK(book.size() == 3);
    CHECK_FALSE(book.contains(addr_of("1.0.0.1", 8333)));
    CHECK(book.contains(addr_of("1.0.0.4", 8333)));
}

TEST_CASE("p2p address book: an addr flood of many messages stays within the table bound") {
    address_book book;  // default bound
    std::uint32_t n = 0;
    for (int msg = 0; msg < 20; ++msg) {
        std::vector<peer_address> batch;
        for (int i = 0; i < 1000; ++i, ++n)
            batch.push_back(addr_of(std::to_string(11 + (n >> 16) % 100) + "." + std::to_string((n >> 8) & 0xff) + "." +
                                        std::to_string(n & 0xff) + ".1",
                                    8333));
        book.add(batch);
    }
    CHECK(book.size() == max_address_table);
}

TEST_CASE("p2p address book: back-off doubles per failure up to the cap and success clears it") {
    address_book::options o;
    o.backoff_first = 100ms;
    o.backoff_cap = 500ms;
    address_book book(o);
    const auto a = addr_of("1.2.3.4", 8333);
    book.add({a});
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::chrono::milliseconds> want{100ms, 200ms, 400ms, 500ms, 500ms};
    for (auto w : want) {
        book.failed(a, t0);
        CHECK(book.retry_at(a) - t0 == w);
        CHECK_FALSE(book.select(t0, {}, {}));
        CHECK(book.select(t0 + w, {}, {}));
    }
    book.succeeded(a);
    CHECK(book.select(t0, {}, {}));
}

TEST_CASE("p2p address book: discouragement expires and its table is bounded") {
    address_book::options o;
    o.discourage_for = 60s;
    o.max_discouraged_hosts = 2;
    address_book book(o);
    const auto t0 = std::chrono::steady_clock::now();
    const auto a = addr_of("1.2.3.4", 8333);
    book.add({a});
    book.discourage(addr_of("1.2.3.4", 1234), t0);  // any port of the host
    CHECK(book.is_discouraged(a, t0 + 59s));
    CHECK_FALSE(book.select(t0 + 59s, {}, {}));
    CHECK_FALSE(book.is_discouraged(a, t0 + 61s));
    CHECK(book.select(t0 + 61s, {}, {}));
    book.discourage(addr_of("5.5.5.5", 1), t0 + 1s);
    book.discourage(addr_of("6.6.6.6", 1), t0 + 2s);
    CHECK(book.discouraged_count() == 2);
    CHECK_FALSE(book.is_discouraged(a, t0 + 10s));  // the earliest-expiring entry made room
    CHECK(book.is_discouraged(addr_of("6.6.6.6", 9), t0 + 10s));
}

TEST_CASE("p2p address book: select skips used netgroups busy endpoints and picks the least recently tried") {
    address_book book;
    const auto a = addr_of("1.2.3.4", 8333), b = addr_of("1.2.9.9", 8333), c = addr_of("5.6.7.8", 8333);
    book.add({a, b, c});
    const auto now = std::chrono::steady_clock::now();
    auto s = book.select(now, {netgroup(a)}, {});
    REQUIRE(s);
    CHECK(s->same_endpoint(c));
    CHECK_FALSE(book.select(now, {netgroup(a)}, {c}));
    book.failed(a, now - 10s);
    auto t = book.select(now, {}, {});
    REQUIRE(t);
    CHECK_FALSE(t->same_endpoint(a));
}

TEST_CASE("p2p: DNS seeds exist for public networks and never for regtest") {
    CHECK(dns_seeds(network::bitcoin_regtest).empty());
    CHECK(dns_seeds(network::ravencoin_regtest).empty());
    CHECK_FALSE(dns_seeds(network::bitcoin_mainnet).empty());
    CHECK_FALSE(dns_seeds(network::bitcoin_testnet4).empty());
}

// ---- the manager against scripted nodes ------------------------------------------------

TEST_CASE("p2p manager: a configured host name is resolved by the injected resolver and reported in the peer list") {
    std::atomic<int> getaddrs{0};
    scripted_listener node("127.0.0.1", [&](conn& c, int) {
        c.handshake(7);
        c.serve(&getaddrs);
    });
    test::io_runner io;
    header_chain chain(regtest());
    auto o = loopback_options();
    o.configured = {{"my-node.lan", node.port()}};
    std::atomic<int> resolved{0};
    o.resolve = [&](const std::string& host, std::uint16_t port, resolve_handler done) {
        ++resolved;
        if (host == "my-node.lan") done({addr_of("127.0.0.1", port)});
        else done({});
    };
    peer_manager m(io.executor(), chain, o);
    m.start();
    REQUIRE(io.run_until([&] {
        auto ps = m.peers();
        return ps.size() == 1 && ps[0].connected && ps[0].ping_ms && getaddrs > 0;
    }));
    io.run_for(100ms);
    const auto ps = m.peers();
    CHECK(resolved == 1);
    CHECK(getaddrs == 1);  // once per connection
    CHECK(ps[0].configured);
    CHECK(ps[0].configured_as == "my-node.lan:" + std::to_string(node.port()));
    CHECK(ps[0].address == "127.0.0.1:" + std::to_string(node.port()));
    CHECK(ps[0].user_agent == "/scripted:1/");
    CHECK(ps[0].height == 7);
    CHECK_FALSE(ps[0].inbound);
    CHECK(ps[0].since > 0);
    CHECK(*ps[0].ping_ms >= 0.0);
    m.stop();
    io.run_for(50ms);
}

TEST_CASE("p2p manager: a configured peer that floods addr is dropped and reconnected but never discouraged") {
    scripted_listener node("127.0.0.1", [&](conn& c, int) {
        c.handshake();
        std::vector<peer_address> flood(1001, peer_address{});
        c.send(cmd::addr, serialize_addr(flood));
        c.serve();
    });
    test::io_runner io;
    header_chain chain(regtest());
    auto o = loopback_options();
    o.configured = {{"127.0.0.1", node.port()}};
    std::vector<std::string> logs;
    o.log = [&](std::string_view s) { logs.emplace_back(s); };
    peer_manager m(io.executor(), chain, o);
    m.start();
    REQUIRE(io.run_until([&] { return node.accepted() >= 3; }));
    io.run_for(50ms);
    CHECK(test::access<peer_manager>::discouraged_count(m) == 0);
    CHECK(test::access<peer_manager>::known_addresses(m) == 0);
    const bool logged = std::any_of(logs.begin(), logs.end(), [](const std::string& l) {
        return l.find("misbehaved") != std::string::npos && l.find("not discouraged") != std::string::npos;
    });
    CHECK(logged);
    m.stop();
    io.run_for(50ms);
}

TEST_CASE("p2p manager: learned addresses are used at most one per netgroup") {
    // Two nodes in 127.1/16 and one in 127.2/16; the configured node (127.0/16) tells of
    // all three.
    std::atomic<int> handshakes{0};
    auto public_script = [&](conn& c, int) {
        c.handshake();
        ++handshakes;
        c.serve();
    };
    scripted_listener b("127.1.0.1", public_script);
    scripted_listener c2("127.1.0.2", public_script);
    scripted_listener d("127.2.0.1", public_script);
    scripted_listener home(
        "127.0.0.1",
        advertising({addr_of("127.1.0.1", b.port()), addr_of("127.1.0.2", c2.port()), addr_of("127.2.0.1", d.port())},
                    true));
    test::io_runner io;
    header_chain chain(regtest());
    auto o = loopback_options();
    o.configured = {{"127.0.0.1", home.port()}};
    o.target_outbound = 8;
    peer_manager m(io.executor(), chain, o);
    m.start();
    REQUIRE(io.run_until([&] { return m.connected_count() == 3; }));
    io.run_for(300ms);  // time for a wrong second connection in the same /16 to show up
    CHECK(m.connected_count() == 3);
    CHECK(b.accepted() + c2.accepted() == 1);
    CHECK(d.accepted() == 1);
    CHECK(test::access<peer_manager>::known_addresses(m) == 3);
    m.stop();
    io.run_for(50ms);
}

TEST_CASE("p2p manager: a public peer sending invalid headers is discouraged until the discouragement expires") {
    const block_header bad = [] {
        // Bits far below the regtest limit that the nonce does not meet: high-hash.
        block_header h;
        h.prev_block = regtest().genesis_hash;
        h.time = regtest().genesis_hash[0] + 1'300'000'000u;
        h.bits = 0x1d00ffff;
        return h;
    }();
    scripted_listener bad_node("127.1.0.1", [&](conn& c, int) {
        c.handshake();
        c.read_until(cmd::getheaders);
        c.send(cmd::headers, serialize_headers({&bad, 1}));
        c.serve();
    });
    scripted_listener home("127.0.0.1", advertising({addr_of("127.1.0.1", bad_node.port())}));
    test::io_runner io;
    header_chain chain(regtest());
    auto o = loopback_options();
    o.configured = {{"127.0.0.1", home.port()}};
    o.discourage_for = 1s;
    peer_manager m(io.executor(), chain, o);
    m.start();
    REQUIRE(io.run_until([&] { return test::access<peer_manager>::discouraged_count(m) == 1; }));
    CHECK(bad_node.accepted() == 1);
    io.run_for(500ms);
    CHECK(bad_node.accepted() == 1);  // not retried while discouraged
    REQUIRE(io.run_until([&] { return bad_node.accepted() == 2; }, 5s));  // retried after expiry
    m.stop();
    io.run_for(50ms);
}

TEST_CASE("p2p manager: a slow handshake or a message before verack gets a public peer discouraged") {
    scripted_listener silent("127.1.0.1", [&](conn& c, int) { c.serve(); });
    scripted_listener early("127.2.0.1", [&](conn& c, int) {
        c.read_until(cmd::version);
        c.send(cmd::headers, serialize_headers({}));
        c.serve();
    });
    scripted_listener home("127.0.0.1",
                           advertising({addr_of("127.1.0.1", silent.port()), addr_of("127.2.0.1", early.port())}));
    test::io_runner io;
    header_chain chain(regtest());
    auto o = loopback_options();
    o.configured = {{"127.0.0.1", home.port()}};
    o.peer.handshake_timeout = 300ms;
    peer_manager m(io.executor(), chain, o);
    m.start();
    REQUIRE(io.run_until([&] { return test::access<peer_manager>::discouraged_count(m) == 2; }));
    io.run_for(300ms);
    CHECK(silent.accepted() == 1);
    CHECK(early.accepted() == 1);
    CHECK(m.connected_count() == 1);  // the configured node only
    m.stop();
    io.run_for(50ms);
}

TEST_CASE("p2p manager: a configured peer that keeps dropping is retried with growing back-off") {
    scripted_listener node("127.0.0.1", [&](conn&, int) {});  // accept, then close at once
    test::io_runner io;
    header_chain chain(regtest());
    auto o = loopback_options();
    o.configured = {{"127.0.0.1", node.port()}};
    o.backoff_first = 50ms;
    o.backoff_cap_configured = 200ms;
    peer_manager m(io.executor(), chain, o);
    m.start();
    REQUIRE(io.run_until([&] { return node.accepted() >= 5; }));
    m.stop();
    io.run_for(50ms);
    const auto t = node.accept_times();
    // Delays are lower bounds (a loaded machine only makes them longer): 50, 100, 200, 200 ms.
    const std::chrono::milliseconds want[] = {50ms, 100ms, 200ms, 200ms};
    for (std::size_t i = 0; i + 1 < 5; ++i) CHECK(t[i + 1] - t[i] >= want[i] - 5ms);
}

TEST_CASE("p2p manager: DNS seeds of a public network go through the injected resolver with the network port") {
    std::atomic<int> accepted{0};
    scripted_listener seedpeer("127.3.0.1", [&](conn&, int) { ++accepted; });
    test::io_runner io;
    header_chain chain(params(network::bitcoin_signet));
    auto o = loopback_options();
    o.use_dns_seeds = true;
    o.target_outbound = 2;
    std::mutex mu;
    std::vector<std::pair<std::string, std::uint16_t>> asked;
    o.resolve = [&](const std::string& host, std::uint16_t port, resolve_handler done) {
        {
            std::lock_guard lock(mu);
            asked.emplace_back(host, port);
        }
        done({addr_of("127.3.0.1", seedpeer.port())});
    };
    peer_manager m(io.executor(), chain, o);
    m.start();
    REQUIRE(io.run_until([&] { return accepted >= 1; }));
    m.stop();
    io.run_for(50ms);
    std::lock_guard lock(mu);
    REQUIRE(asked.size() == dns_seeds(network::bitcoin_signet).size());
    CHECK(asked[0].first == std::string(dns_seeds(network::bitcoin_signet)[0]));
    CHECK(asked[0].second == params(network::bitcoin_signet).p2p_port);
    CHECK(test::access<peer_manager>::known_addresses(m) == 1);
}

TEST_CASE("p2p manager: a regtest chain never asks DNS seeds") {
    test::io_runner io;
    header_chain chain(regtest());
    auto o = loopback_options();
    o.use_dns_seeds = true;
    std::atomic<int> asked{0};
    o.resolve = [&](const std::string&, std::uint16_t, resolve_handler done) {
        ++asked;
        done({});
    };
    peer_manager m(io.executor(), chain, o);
    m.start();
    io.run_for(200ms);
    CHECK(asked == 0);
    m.stop();
    io.run_for(20ms);
}

// ---- low-work headers --------------------------------------------------------------------

TEST_CASE("p2p header chain: low-work side-branch headers are stored only up to the budget") {
    header_chain chain(regtest());
    test::access<header_chain>::set_low_work_limits(chain, 2, 3);
    const std::uint32_t t0 = chain.root().header.time;
    const auto main = mine_chain(regtest().genesis_hash, t0, 10);
    REQUIRE(chain.add_all(main, t0 + 100'000));
    REQUIRE(chain.tip().height == 10);
    // A side branch from genesis: heights 1..8 are more than 2 blocks below the tip.
    const auto side = mine_chain(regtest().genesis_hash, t0 + 1, 8);
    for (int i = 0; i < 3; ++i) {
        auto r = chain.add(side[std::size_t(i)], t0 + 100'000);
        REQUIRE(r);
        CHECK(r->status == add_status::added);
    }
    CHECK(test::access<header_chain>::low_work_count(chain) == 3);
    auto r = chain.add(side[3], t0 + 100'000);
    REQUIRE_FALSE(r);
    CHECK(r.error() == p2p_errc::header_low_work);
    CHECK(is_punishable(r.error()));
    CHECK(chain.size() == 1 + 10 + 3);
    // A branch close to the tip's work is not low work: a fork at height 8.
    const auto near = mine_chain(main[7].hash(), main[7].time + 1, 3);
    auto n = chain.add_all(near, t0 + 100'000);
    REQUIRE(n);
    CHECK(n->added == 3);
    CHECK(test::access<header_chain>::low_work_count(chain) == 3);
    CHECK(chain.tip().height == 11);  // more work: the fork became the best chain
}

TEST_CASE("p2p manager: a public peer flooding low-work headers is dropped and discouraged") {
    header_chain chain(regtest());
    test::access<header_chain>::set_low_work_limits(chain, 2, 0);
    const std::uint32_t t0 = chain.root().header.time;
    REQUIRE(chain.add_all(mine_chain(regtest().genesis_hash, t0, 10), t0 + 100'000));
    // Six different one-header forks off genesis: each connects, each is low work.
    std::vector<block_header> side;
    for (std::uint32_t i = 0; i < 6; ++i) side.push_back(mine(regtest().genesis_hash, t0 + 7 + i));
    std::atomic<int> sent{0};
    scripted_listener flooder("127.1.0.1", [&](conn& c, int) {
        c.handshake();
        for (const auto& h : side) {
            c.send(cmd::headers, serialize_headers({&h, 1}));
            ++sent;
        }
        c.serve();
    });
    scripted_listener home("127.0.0.1", advertising({addr_of("127.1.0.1", flooder.port())}));
    test::io_runner io;
    auto o = loopback_options();
    o.configured = {{"127.0.0.1", home.port()}};
    peer_manager m(io.executor(), chain, o);
    m.start();
    REQUIRE(io.run_until([&] { return test::access<peer_manager>::discouraged_count(m) == 1; }));
    CHECK(chain.size() == 11);  // nothing of the side branch stored
    CHECK(flooder.accepted() == 1);
    m.stop();
    io.run_for(50ms);
}

TEST_CASE("p2p manager: a public peer flooding headers that do not connect is dropped and discouraged with bounded memory") {
    header_chain chain(regtest());
    const std::uint32_t t0 = chain.root().header.time;
    // Eleven full messages of 2000 continuous headers, each hanging off an unknown block.
    std::vector<std::vector<block_header>> msgs;
    for (int m = 0; m < max_unconnecting_headers_msgs + 1; ++m) {
        hash256 unknown{};
        unknown[0] = std::uint8_t(m + 1);
        unknown[31] = 0xee;
        msgs.push_back(mine_chain(unknown, t0 + std::uint32_t(m), int(max_headers_per_message)));
    }
    scripted_listener flooder("127.1.0.1", [&](conn& c, int) {
        c.handshake();
        for (const auto& m : msgs) c.send(cmd::headers, serialize_headers(m));
        c.serve();
    });
    scripted_listener home("127.0.0.1", advertising({addr_of("127.1.0.1", flooder.port())}));
    test::io_runner io;
    auto o = loopback_options();
    o.configured = {{"127.0.0.1", home.port()}};
    peer_manager m(io.executor(), chain, o);
    m.start();
    REQUIRE(io.run_until([&] { return test::access<peer_manager>::discouraged_count(m) == 1; }, std::chrono::seconds(60)));
    CHECK(chain.size() == 1);
    CHECK(test::access<header_chain>::unconnected_count(chain) <= max_unconnected_headers);
    CHECK(flooder.accepted() == 1);
    CHECK(m.connected_count() == 1);  // the configured node stays
    m.stop();
    io.run_for(50ms);
}

TEST_CASE("p2p manager: a configured peer whose connect fails is retried within a second while a dropped one backs off in full") {
    peer_manager_options o;
    o.backoff_first = 500ms;
    o.backoff_cap_configured = 30'000ms;
    o.connect_retry_configured = 1'000ms;
    const auto refused = make_error_code(p2p_errc::connect_failed);
    const auto dropped = make_error_code(p2p_errc::connection_lost);
    // A node that restarts: its port is closed for many attempts; the wait stays at 1 s.
    std::chrono::milliseconds d{0};
    const std::chrono::milliseconds want_refused[] = {500ms, 1000ms, 1000ms, 1000ms, 1000ms, 1000ms};
    for (const auto w : want_refused) {
        d = configured_retry_delay(d, refused, o);
        CHECK(d == w);
    }
    // A peer that accepts and drops us keeps the doubling back-off up to its cap.
    d = 0ms;
    const std::chrono::milliseconds want_dropped[] = {500ms, 1000ms, 2000ms, 4000ms, 8000ms, 16000ms, 30000ms, 30000ms};
    for (const auto w : want_dropped) {
        d = configured_retry_delay(d, dropped, o);
        CHECK(d == w);
    }
    // After a long run of drops, a refused connect comes back to the short wait at once.
    CHECK(configured_retry_delay(30'000ms, refused, o) == 1000ms);
    CHECK(configured_retry_delay(0ms, std::error_code{}, o) == 500ms);  // name not resolved
}
