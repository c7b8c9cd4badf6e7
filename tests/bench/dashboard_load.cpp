// Dashboard load benchmark (docs/PERFORMANCE.md, "Dashboard"): the statistics with N
// workers (default 10,000, each with an open Stratum session and shares), the web server on
// loopback, and measured: /api/v1/workers (a page of 100, and 1000 sorted by hashrate),
// /metrics with per-worker series on, the statistics tick, 100 WebSocket dashboards fed
// every tick, and the memory of 50,000 workers. Prints figures; never fails on one.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "stats/statistics.hpp"
#include "web/serialize.hpp"
#include "web/server.hpp"

using namespace sb;
using namespace sb::bridge;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

long rss_kib() {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
    return 0;
}

double ms(steady::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// CPU time in milliseconds: the whole process's (user + system), or the calling thread's.
// On a machine shared with other work the wall-clock figures include the time the
// threads waited for a core; the CPU time is what the work itself cost.
double process_cpu_ms() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}
double thread_cpu_ms() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

void print_latency(const char* what, std::vector<double> v, std::size_t bytes, double cpu_ms, const char* cpu_of) {
    std::sort(v.begin(), v.end());
    std::printf("%s: p50 %.2f ms, p99 %.2f ms, max %.2f ms; cpu %.2f ms each (%s) (%zu requests, %zu bytes each)\n", what,
                v[v.size() / 2], v[std::min(v.size() - 1, v.size() * 99 / 100)], v.back(), cpu_ms / v.size(), cpu_of,
                v.size(), bytes);
}

struct world {
    std::size_t workers;
    std::vector<stratum::session_stats> sessions;
    std::shared_ptr<stats::statistics> st;

    explicit world(std::size_t n, std::chrono::milliseconds tick = 1000ms) : workers(n) {
        const auto now = std::chrono::system_clock::now();
        for (std::size_t i = 0; i < n; ++i) {
            stratum::session_stats s;
            s.session_id = s.consumer = i + 1;
            s.remote = "192.0.2." + std::to_string(i % 250) + ":" + std::to_string(10000 + i % 50000);
            s.user_agent = i % 3 == 0 ? "bitaxe/BM1368/v2.4.0" : i % 3 == 1 ? "cgminer/4.12.1" : "NerdMinerV2/1.6.3";
            s.worker = "bc1qexampleaddress" + std::to_string(i % 500) + ".rig" + std::to_string(i);
            s.subscribed = s.authorized = true;
            s.difficulty = 4096;
            s.connected_at = now - 3600s;
            sessions.push_back(std::move(s));
        }
        stats::statistics_options o;
        o.tick = tick;
        o.log = [](std::string_view) {};
        o.version = "bench";
        o.max_workers = std::max<std::size_t>(n, 50'000);
        st = std::make_shared<stats::statistics>(o);
        stats::chain_sources src;
        src.id = "bitcoin";
        src.net = network::bitcoin_mainnet;
        src.payout = config::payout_mode::address_username;
        src.sessions = [this] { return sessions; };
        auto sink = st->sink(st->add_chain(src));
        node::block_template t;
        t.height = 900'000;
        t.bits = 0x17025105;
        st->on_template(0, t);
        // Ten shares per worker over the last minute.
        for (int k = 0; k < 10; ++k)
            for (std::size_t i = 0; i < n; ++i) {
                stats::share_event e;
                e.consumer = i + 1;
                const std::string& name = sessions[i].worker;
                e.worker = name;
                e.share_difficulty = 4096;
                e.hash_difficulty = 5000.0 + static_cast<double>((i * 7919 + static_cast<std::size_t>(k)) % 100000);
                e.status = k == 9 && i % 20 == 0 ? share_status::job_not_found : share_status::accepted;
                e.at = now - std::chrono::seconds(60 - 6 * k);
                sink->on_share(e);
            }
    }
};

}  // namespace

int main(int argc, char** argv) {
    std::size_t n = 10'000;
    std::size_t dashboards = 100;
    if (argc > 1) n = static_cast<std::size_t>(std::atol(argv[1]));
    if (argc > 2) dashboards = static_cast<std::size_t>(std::atol(argv[2]));
    std::printf("setup: %zu workers (one Stratum session each, 10 shares each), %zu WebSocket dashboards, cores %u\n", n,
                dashboards, std::thread::hardware_concurrency());
    const long rss0 = rss_kib();
    world w(n);
    {
        std::vector<double> ticks;
        const double cpu0 = thread_cpu_ms();
        for (int i = 0; i < 10; ++i) {
            const auto t0 = steady::now();
            w.st->tick_now();
            ticks.push_back(ms(steady::now() - t0));
        }
        const double cpu = (thread_cpu_ms() - cpu0) / 10;
        std::sort(ticks.begin(), ticks.end());
        std::printf("statistics_tick: p50 %.1f ms, max %.1f ms; cpu %.1f ms each (%zu workers, %zu sessions; once a second "
                    "on its own thread)\n",
                    ticks[5], ticks.back(), cpu, w.st->latest()->workers.size(), w.sessions.size());
    }
    std::printf("rss_with_%zu_workers: %ld KiB (%ld KiB before)\n", n, rss_kib(), rss0);

    asio::io_context io;
    auto guard = asio::make_work_guard(io);
    web::server_options o;
    o.port = 0;
    o.metrics_per_worker = true;
    o.metrics_max_workers = n;
    o.max_websockets = dashboards + 8;
    o.max_connections = dashboards + 64;
    o.log = [](std::string_view) {};
    web::server srv(io, w.st, nullptr, o);
    if (auto ec = srv.start()) {
        std::fprintf(stderr, "start: %s\n", ec.message().c_str());
        return 1;
    }
    std::thread server_thread([&] { io.run(); });

    auto measure = [&](const char* what, const std::string& target, int count) {
        asio::io_context cio;
        tcp::socket s(cio);
        s.connect({asio::ip::make_address("127.0.0.1"), srv.port()});
        std::vector<double> lat;
        std::size_t bytes = 0;
        beast::flat_buffer buf;
        const double cpu0 = process_cpu_ms();
        for (int i = 0; i < count; ++i) {
            http::request<http::empty_body> req{http::verb::get, target, 11};
            req.set(http::field::host, "127.0.0.1");
            const auto t0 = steady::now();
            http::write(s, req);
            http::response_parser<http::string_body> parser;
            parser.body_limit(boost::none);
            http::read(s, buf, parser);
            const auto& res = parser.get();
            lat.push_back(ms(steady::now() - t0));
            bytes = res.body().size();
            if (res.result() != http::status::ok) std::fprintf(stderr, "%s: status %u\n", what, res.result_int());
        }
        // The statistics are not started yet: the process's CPU is the server's and the client's.
        print_latency(what, lat, bytes, process_cpu_ms() - cpu0, "server and client");
    };
    measure("api_v1_workers_page_100", "/api/v1/workers", 200);
    measure("api_v1_workers_1000_by_hashrate", "/api/v1/workers?limit=1000&sort=hashrate_1h&order=desc", 50);
    measure("api_v1_workers_filtered", "/api/v1/workers?q=rig99&state=online", 100);
    measure("metrics_per_worker_on_all", "/metrics", 30);
    {
        // The text alone, without the transfer: every worker, and the default cap.
        const auto snap = w.st->latest();
        for (std::size_t cap : {n, std::size_t{1000}}) {
            std::vector<double> lat;
            std::size_t bytes = 0;
            const double cpu0 = thread_cpu_ms();
            for (int i = 0; i < 20; ++i) {
                const auto t0 = steady::now();
                bytes = web::metrics_text(*snap, {true, cap}).size();
                lat.push_back(ms(steady::now() - t0));
            }
            const std::string what = "metrics_text_generation_cap_" + std::to_string(cap);
            print_latency(what.c_str(), lat, bytes, thread_cpu_ms() - cpu0, "this thread");
        }
    }
    measure("api_v1_status", "/api/v1/status", 100);

    // WebSocket dashboards: every update reaches every one.
    w.st->start();
    asio::io_context cio;
    std::vector<std::unique_ptr<websocket::stream<tcp::socket>>> clients;
    for (std::size_t i = 0; i < dashboards; ++i) {
        auto ws = std::make_unique<websocket::stream<tcp::socket>>(cio);
        ws->next_layer().connect({asio::ip::make_address("127.0.0.1"), srv.port()});
        ws->handshake("127.0.0.1", "/ws");
        clients.push_back(std::move(ws));
    }
    std::atomic<std::uint64_t> received{0}, bytes{0};
    std::vector<std::uint64_t> per_client(dashboards, 0);
    std::vector<std::thread> readers;
    // One blocking reader per dashboard; the server closing the sockets ends them.
    for (std::size_t i = 0; i < dashboards; ++i)
        readers.emplace_back([&, i] {
            beast::flat_buffer buf;
            for (;;) {
                beast::error_code ec;
                buf.clear();
                clients[i]->read(buf, ec);
                if (ec) return;
                ++per_client[i];
                received.fetch_add(1);
                bytes.fetch_add(buf.size());
            }
        });
    const auto t0 = steady::now();
    std::this_thread::sleep_for(10s);
    const double secs = std::chrono::duration<double>(steady::now() - t0).count();
    const std::size_t still = srv.websocket_count();
    w.st->stop();
    srv.stop();
    for (auto& t : readers) t.join();
    const auto [lo, hi] = std::minmax_element(per_client.begin(), per_client.end());
    std::printf("websocket_dashboards: %zu connected, %zu still connected after %.1f s; messages per dashboard min %llu max %llu "
                "(snapshot + ~1 update/s); %.1f KiB per message\n",
                dashboards, still, secs, static_cast<unsigned long long>(*lo),
                static_cast<unsigned long long>(*hi),
                received.load() ? static_cast<double>(bytes.load()) / static_cast<double>(received.load()) / 1024 : 0.0);
    guard.reset();
    io.stop();
    server_thread.join();
    clients.clear();

    // Memory with 50,000 workers.
    if (n < 50'000) {
        const long before = rss_kib();
        world big(50'000);
        big.st->tick_now();
        const auto t1 = steady::now();
        big.st->tick_now();
        std::printf("rss_with_50000_workers: +%ld KiB over the above (%.1f ms a tick)\n", rss_kib() - before, ms(steady::now() - t1));
    }
    return 0;
}
