// P2P new-tip latency: a scripted node on loopback announces one new header at a time
// with a `headers` message; the time from just before the frame is written to the socket
// until the peer manager reports the new tip (after validation) is measured for every
// announcement (header store on, as in the daemon). Prints p50 / p90 / p99 / max in microseconds (docs/PERFORMANCE.md).
//
//   sb_bench_p2p_tip_latency [runs]     (default 2000)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include "bench_stats.hpp"
#include "regtest_headers.hpp"
#include "scripted_p2p.hpp"
#include "sb/core/pow.hpp"
#include "sb/node/p2p/message.hpp"
#include "sb/node/p2p/peer_manager.hpp"

using namespace sb;
using namespace sb::node::p2p;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

const chain_params& regtest() { return params(network::bitcoin_regtest); }

block_header mine(const hash256& prev, std::uint32_t time) {
    return test::mine_regtest_header(prev, time, regtest().pow_limit_bits);
}

}  // namespace

int main(int argc, char** argv) {
    const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 2000;
    const int warmup = 50;
    const int total = runs + warmup;

    // Headers extending regtest genesis, one second apart (above the median time past).
    std::vector<block_header> hs;
    hash256 prev = regtest().genesis_hash;
    header_chain chain(regtest());
    // As in the daemon, every accepted header is appended to the store file.
    const auto store_dir = std::filesystem::temp_directory_path() / ("sb-bench-p2p-" + std::to_string(::getpid()));
    if (auto ec = chain.open_store(store_dir)) std::fprintf(stderr, "header store not used: %s\n", ec.message().c_str());
    std::uint32_t t = chain.root().header.time;
    for (int i = 0; i < total; ++i) {
        hs.push_back(mine(prev, ++t));
        prev = hs.back().hash();
    }

    std::mutex mu;
    std::condition_variable cv;
    int tips_seen = 0;
    steady::time_point event_at{};

    // The scripted node: handshake, then one headers message per announcement.
    asio::io_context node_ctx;
    tcp::acceptor acceptor(node_ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const std::uint16_t port = acceptor.local_endpoint().port();
    std::vector<double> latencies_us;
    std::atomic<bool> node_failed{false};
    std::thread node([&] {
        try {
            tcp::socket s(node_ctx);
            acceptor.accept(s);
            s.set_option(tcp::no_delay(true));
            test::p2p_script_conn c(std::move(s), regtest().magic);
            c.answer_handshake(70016, 0, "/bench:1/");
            c.read_until(cmd::getheaders);
            for (int i = 0; i < total; ++i) {
                const bytes frame = encode_frame(regtest().magic, cmd::headers, serialize_headers({&hs[std::size_t(i)], 1}));
                const auto sent_at = steady::now();
                c.send_raw(frame);
                std::unique_lock lock(mu);
                if (!cv.wait_for(lock, std::chrono::seconds(5), [&] { return tips_seen > i; }))
                    throw std::runtime_error("no new-tip event");
                if (i >= warmup)
                    latencies_us.push_back(std::chrono::duration<double, std::micro>(event_at - sent_at).count());
            }
        } catch (const std::exception& e) {
            std::fprintf(stderr, "scripted node: %s\n", e.what());
            node_failed = true;
            std::lock_guard lock(mu);
            cv.notify_all();
        }
    });

    // The bridge side: a peer manager with the node as its configured peer, its io
    // context on its own thread as in the daemon.
    asio::io_context io;
    auto guard = asio::make_work_guard(io);
    peer_manager_options o;
    o.configured = {{"127.0.0.1", port}};
    o.target_outbound = 0;
    o.peer.request_addresses = false;
    o.on_new_tip = [&](const tip_change&) {
        const auto now = steady::now();
        std::lock_guard lock(mu);
        event_at = now;
        ++tips_seen;
        cv.notify_all();
    };
    peer_manager m(asio::make_strand(io), chain, o);
    m.start();
    std::thread io_thread([&] { io.run(); });

    node.join();
    m.stop();
    guard.reset();
    io.stop();
    io_thread.join();
    std::error_code rm_ec;
    std::filesystem::remove_all(store_dir, rm_ec);
    if (node_failed || latencies_us.empty()) return 1;

    std::printf("p2p tip latency: headers frame written on loopback -> new-tip event, %zu runs (+%d warm-up)\n",
                latencies_us.size(), warmup);
    std::printf("  p50 %.1f us  p90 %.1f us  p99 %.1f us  max %.1f us\n", bench::percentile(latencies_us, 0.50),
                bench::percentile(latencies_us, 0.90), bench::percentile(latencies_us, 0.99),
                bench::max_of(latencies_us));
    return 0;
}
