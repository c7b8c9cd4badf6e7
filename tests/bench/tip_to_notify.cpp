// New tip → clean notify, end to end over loopback (issue 6 "Benchmark", docs/PERFORMANCE.md
// "Tip to clean notify"): a scripted node announces one new header at a time with a
// `headers` frame; the bridge side is the daemon's chain of real parts — peer_manager
// (frame decode, header validation, header store append, new-tip event) → dispatcher
// (on_new_tip, then a template for the new tip, built from the headers alone as in the
// header-only mode: header_only_template) → stratum::server → N real Stratum sessions on
// 127.0.0.1. Measured per announcement, from just before the frame is written:
//   event  the peer manager's new-tip event (header validated and stored)
//   first  the first session to read its clean mining.notify
//   last   the last session to read it (all N delivered)
// With the node's RPC up, the daemon fetches a full template (getblocktemplate) between
// the event and the clean jobs; that RPC round trip is not part of these figures.
//
//   sb_bench_tip_to_notify [--sessions 1,100,1000] [--runs 200] [--bridge-threads 2] [--pause-ms 100]
//
// Prints figures; never fails on one (STYLE.md: benchmarks print).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include "bench_stats.hpp"
#include "dispatch/dispatcher.hpp"
#include "regtest_headers.hpp"
#include "scripted_p2p.hpp"
#include "sb/core/hex.hpp"
#include "sb/node/p2p/header_template.hpp"
#include "sb/node/p2p/message.hpp"
#include "sb/node/p2p/peer_manager.hpp"
#include "stratum/dispatcher_source.hpp"
#include "stratum/server.hpp"

using namespace sb;
using namespace sb::node::p2p;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

const chain_params& regtest() { return params(network::bitcoin_regtest); }

std::int64_t unix_now() { return static_cast<std::int64_t>(std::time(nullptr)); }

// What one announcement saw.
struct round_state {
    std::mutex mu;
    std::condition_variable cv;
    int round = 0;  // the announcement in flight (1-based); 0 before the first
    steady::time_point event_at{};
    bool event_seen = false;
    std::size_t delivered = 0;
    std::size_t sessions = 0;  // the round is complete at this many deliveries
    steady::time_point first_at{}, last_at{};
};

// A Stratum client: subscribes, authorizes, and records when each round's clean notify
// is read (the line ends in ",true]}": clean_jobs is the last param).
class client : public std::enable_shared_from_this<client> {
public:
    client(asio::io_context& io, round_state& rs, std::atomic<std::size_t>& ready)
        : sock_(io), rs_(rs), ready_(ready) {}

    void start(const tcp::endpoint& ep) {
        sock_.async_connect(ep, [self = shared_from_this()](const boost::system::error_code& ec) {
            if (ec) return std::fprintf(stderr, "connect: %s\n", ec.message().c_str()), void();
            boost::system::error_code ignored;
            self->sock_.set_option(tcp::no_delay(true), ignored);
            static const std::string hello =
                "{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"sb-bench/1.0\"]}\n"
                "{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"bench\",\"x\"]}\n";
            asio::async_write(self->sock_, asio::buffer(hello), [self](const boost::system::error_code& e, std::size_t) {
                if (!e) self->do_read();
            });
        });
    }

private:
    void do_read() {
        sock_.async_read_some(asio::buffer(buf_), [self = shared_from_this()](const boost::system::error_code& ec,
                                                                              std::size_t n) {
            if (ec) return;
            const auto now = steady::now();
            std::string_view data(self->buf_.data(), n);
            while (!data.empty()) {
                const auto nl = data.find('\n');
                if (nl == std::string_view::npos) {
                    self->partial_.append(data);
                    break;
                }
                self->partial_.append(data.substr(0, nl));
                self->on_line(self->partial_, now);
                self->partial_.clear();
                data.remove_prefix(nl + 1);
            }
            self->do_read();
        });
    }

    void on_line(std::string_view line, steady::time_point now) {
        if (line.find("\"mining.notify\"") == std::string_view::npos) return;
        const bool clean = line.size() >= 7 && line.substr(line.size() - 7) == ",true]}";
        if (!first_) {
            first_ = true;
            ready_.fetch_add(1);
            return;
        }
        if (!clean) return;
        std::lock_guard lock(rs_.mu);
        if (rs_.round == 0 || done_round_ == rs_.round) return;
        done_round_ = rs_.round;
        if (rs_.delivered++ == 0) rs_.first_at = now;
        rs_.last_at = std::max(rs_.last_at, now);
        // Only the last delivery wakes the scripted node: a wake per session would put a
        // third busy thread on the two cores for the whole fan-out.
        if (rs_.delivered == rs_.sessions) rs_.cv.notify_all();
    }

    tcp::socket sock_;
    round_state& rs_;
    std::atomic<std::size_t>& ready_;
    std::array<char, 4096> buf_{};
    std::string partial_;
    bool first_ = false;
    int done_round_ = 0;
};

struct figures {
    std::vector<double> event_us, first_us, last_us;
};

// One configuration: n sessions, runs announcements (+ warm-up).
bool run(std::size_t n, int runs, unsigned bridge_threads, std::chrono::milliseconds pause, figures& out) {
    const int warmup = 20;
    const int total = runs + warmup;

    header_chain chain(regtest());
    const auto store_dir = std::filesystem::temp_directory_path() /
                           ("sb-bench-tip-notify-" + std::to_string(::getpid()) + "-" + std::to_string(n));
    if (auto ec = chain.open_store(store_dir)) std::fprintf(stderr, "header store not used: %s\n", ec.message().c_str());
    // Headers extending regtest genesis, one second apart; the last one about now, so that
    // the templates' times stay in the ntime window of their jobs.
    std::vector<block_header> hs;
    hash256 prev = regtest().genesis_hash;
    std::uint32_t t = static_cast<std::uint32_t>(unix_now()) - static_cast<std::uint32_t>(total) - 1;
    t = std::max(t, chain.root().header.time);
    for (int i = 0; i < total; ++i) {
        hs.push_back(test::mine_regtest_header(prev, ++t, regtest().pow_limit_bits));
        prev = hs.back().hash();
    }

    round_state rs;
    rs.sessions = n;

    // ---- the bridge: peer manager → dispatcher → Stratum server, one io context ----
    asio::io_context io;
    auto guard = asio::make_work_guard(io);
    bridge::dispatcher_options dopt;
    dopt.fixed_payout_script = *from_hex("0014751e76e8199196d454941c45d1b3a323f1433bd6");
    dopt.log = [](std::string_view s) { std::fprintf(stderr, "dispatcher: %.*s\n", int(s.size()), s.data()); };
    auto disp = std::make_shared<bridge::dispatcher>(asio::make_strand(io), regtest(), dopt, [](bridge::found_block) {});
    auto first = header_only_template(chain, unix_now());
    if (!first) {
        std::fprintf(stderr, "header-only template: %s\n", first.error().message().c_str());
        return false;
    }
    disp->on_template(std::make_shared<const node::block_template>(std::move(*first)));

    bridge::stratum::server_options sopt;
    config::stratum_listener l;
    l.listen = {"127.0.0.1", 0};
    l.difficulty.initial = l.difficulty.min = l.difficulty.max = 1;
    sopt.listeners.push_back(l);
    sopt.net = network::bitcoin_regtest;
    sopt.max_connections_per_ip = n + 16;
    sopt.max_connections = std::max<std::size_t>(sopt.max_connections, n + 16);
    sopt.log = [](std::string_view) {};
    bridge::stratum::server srv(io, std::make_shared<bridge::stratum::dispatcher_source>(disp), sopt);
    if (auto ec = srv.start()) {
        std::fprintf(stderr, "server start: %s\n", ec.message().c_str());
        return false;
    }

    // The scripted node's listener (its thread starts once the sessions are in).
    asio::io_context node_ctx;
    tcp::acceptor acceptor(node_ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));

    peer_manager_options o;
    o.configured = {{"127.0.0.1", acceptor.local_endpoint().port()}};
    o.target_outbound = 0;
    o.peer.request_addresses = false;
    o.on_new_tip = [&](const tip_change& change) {
        // As the daemon: the dispatcher marks its jobs stale, then the new tip's template
        // (here from the headers, the header-only mode) gives every session clean jobs.
        const auto now = steady::now();
        {
            std::lock_guard lock(rs.mu);
            rs.event_at = now;
            rs.event_seen = true;
        }
        disp->on_new_tip(change.new_tip, static_cast<std::uint32_t>(change.new_height));
        if (auto tp = header_only_template(chain, unix_now()))
            disp->on_template(std::make_shared<const node::block_template>(std::move(*tp)));
        else
            std::fprintf(stderr, "header-only template: %s\n", tp.error().message().c_str());
    };
    peer_manager m(asio::make_strand(io), chain, o);

    std::vector<std::thread> bridge_pool;
    for (unsigned i = 0; i < bridge_threads; ++i) bridge_pool.emplace_back([&io] { io.run(); });

    // ---- the sessions, on their own io context and thread ----
    asio::io_context cio;
    auto cguard = asio::make_work_guard(cio);
    std::atomic<std::size_t> ready{0};
    std::vector<std::shared_ptr<client>> clients;
    const tcp::endpoint server_ep(asio::ip::make_address("127.0.0.1"), srv.listeners().front().port);
    for (std::size_t i = 0; i < n; ++i) {
        clients.push_back(std::make_shared<client>(cio, rs, ready));
        clients.back()->start(server_ep);
    }
    std::thread client_thread([&cio] { cio.run(); });
    const auto ready_deadline = steady::now() + std::chrono::seconds(60);
    while (ready.load() < n && steady::now() < ready_deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    bool ok = ready.load() == n;
    if (!ok) std::fprintf(stderr, "only %zu of %zu sessions got a first notify\n", ready.load(), n);

    std::atomic<bool> node_failed{!ok};
    std::thread node([&] {
        if (node_failed) return;
        try {
            tcp::socket s(node_ctx);
            acceptor.accept(s);
            s.set_option(tcp::no_delay(true));
            test::p2p_script_conn c(std::move(s), regtest().magic);
            c.answer_handshake(70016, 0, "/bench:1/");
            c.read_until(cmd::getheaders);
            for (int i = 0; i < total; ++i) {
                const bytes frame =
                    encode_frame(regtest().magic, cmd::headers, serialize_headers({&hs[std::size_t(i)], 1}));
                {
                    std::lock_guard lock(rs.mu);
                    rs.round = i + 1;
                    rs.event_seen = false;
                    rs.delivered = 0;
                    rs.last_at = {};
                }
                const auto sent_at = steady::now();
                c.send_raw(frame);
                std::unique_lock lock(rs.mu);
                if (!rs.cv.wait_for(lock, std::chrono::seconds(30), [&] { return rs.delivered >= n; }))
                    throw std::runtime_error("round " + std::to_string(i + 1) + ": " + std::to_string(rs.delivered) +
                                             " of " + std::to_string(n) + " clean notifies");
                if (i >= warmup && rs.event_seen) {
                    out.event_us.push_back(bench::us_between<steady>(sent_at, rs.event_at));
                    out.first_us.push_back(bench::us_between<steady>(sent_at, rs.first_at));
                    out.last_us.push_back(bench::us_between<steady>(sent_at, rs.last_at));
                }
                lock.unlock();
                // Let the sessions' and the sockets' tails (delayed ACKs among them) settle
                // between announcements; real blocks are minutes apart.
                std::this_thread::sleep_for(pause);
            }
        } catch (const std::exception& e) {
            std::fprintf(stderr, "scripted node: %s\n", e.what());
            node_failed = true;
        }
    });
    if (ok) m.start();

    node.join();
    m.stop();
    srv.stop();
    disp->stop();
    cguard.reset();
    cio.stop();
    client_thread.join();
    guard.reset();
    io.stop();
    for (auto& th : bridge_pool) th.join();
    std::error_code rm_ec;
    std::filesystem::remove_all(store_dir, rm_ec);
    return !node_failed && !out.last_us.empty();
}

void print(const char* what, const std::vector<double>& v) {
    std::printf("  %-6s p50 %8.1f us  p90 %8.1f us  p99 %8.1f us  max %8.1f us\n", what, bench::percentile(v, 0.50),
                bench::percentile(v, 0.90), bench::percentile(v, 0.99), bench::max_of(v));
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::size_t> sizes = {1, 100, 1000};
    int runs = 200;
    unsigned bridge_threads = 2;  // the daemon runs max(2, min(8, cores)) I/O threads
    int pause_ms = 100;           // between announcements
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view a = argv[i];
        if (a == "--sessions") {
            sizes.clear();
            for (const char* p = argv[i + 1]; *p;) {
                char* end = nullptr;
                const auto v = std::strtoull(p, &end, 10);
                if (end == p) break;
                if (v > 0) sizes.push_back(static_cast<std::size_t>(v));
                p = *end == ',' ? end + 1 : end;
            }
        } else if (a == "--runs") {
            runs = std::max(1, std::atoi(argv[i + 1]));
        } else if (a == "--pause-ms") {
            pause_ms = std::max(0, std::atoi(argv[i + 1]));
        } else if (a == "--bridge-threads") {
            bridge_threads = static_cast<unsigned>(std::max(1, std::atoi(argv[i + 1])));
        } else {
            std::fprintf(stderr, "usage: sb_bench_tip_to_notify [--sessions 1,100,1000] [--runs N] [--bridge-threads T] "
                                 "[--pause-ms MS]\n");
            return 2;
        }
    }
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    // Two descriptors per session (both ends in this process).
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);

    std::printf("tip -> clean notify: headers frame written on loopback -> new-tip event -> clean notify read by "
                "each of N Stratum sessions (bridge I/O threads %u, sessions on 1 client thread, cores %u shared, "
                "%d ms between announcements)\n",
                bridge_threads, std::thread::hardware_concurrency(), pause_ms);
    int failures = 0;
    for (const std::size_t n : sizes) {
        figures f;
        if (!run(n, runs, bridge_threads, std::chrono::milliseconds(pause_ms), f)) {
            std::printf("N = %zu: failed (see stderr)\n", n);
            ++failures;
            continue;
        }
        std::printf("N = %zu sessions, %zu announcements (+20 warm-up)\n", n, f.last_us.size());
        print("event", f.event_us);
        print("first", f.first_us);
        print("last", f.last_us);
    }
    return failures == 0 ? 0 : 1;
}
