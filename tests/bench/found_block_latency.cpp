// Found-block latency (issue 12, "A found block goes on the wire without waiting for the
// disk"; docs/PERFORMANCE.md "Found-block latency"): the daemon's block path of real parts —
// bridge::submitter with its journal (writer thread, group commit) and a P2P
// peer_manager as the relay hook — against a node on loopback (a minimal JSON-RPC server
// in this program that takes each block into its chain, so the chain watch runs as it
// would) and a scripted P2P peer (tests/support/scripted_p2p.hpp) that asked for headers
// announcements and fetches each announced block at once. Measured per block, from the
// moment the block sink is called (submitter::submit, as the dispatcher calls it on the
// Stratum I/O thread that judged the share):
//   submit    the first byte of its submitblock request read by the node
//   announce  the P2P headers announcement read by the peer
//   block     the P2P block (or cmpctblock) read by the peer (after its getdata round
//             trip: the bridge never pushes a block unasked, bcoin would disconnect)
// Those are taken where the bytes arrive: the write plus loopback delivery and a thread
// wake-up. And where the bytes leave, from the daemon's own found-block timeline (the
// submitter's submit_written and the peer manager's block_sent, which it also logs):
//   submit written  the first write of the submitblock request completed (handed to the
//                   kernel)
//   block written   the first write of the P2P block (cmpctblock) message completed
//   ... all written the last write of the request / message completed (all its bytes are
//                   in the kernel's hands: the node or peer has not necessarily read them)
// Two runs: the journal's fsync as the disk does it, and slowed to 50 ms (an SD card).
// --peer-fetch cmpctblock makes the peer fetch cmpctblock (as Core and bcoin do when told
// sendcmpct) instead of a witness block.
//
//   sb_bench_found_block_latency [--runs 500] [--block-bytes 300] [--bridge-threads 2] [--pause-ms 20]
//                                [--peer-fetch block|cmpctblock]
//
// Prints figures; never fails on one (STYLE.md: benchmarks print).
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>

#include "bench_stats.hpp"
#include "dispatch/journal.hpp"
#include "dispatch/submitter.hpp"
#include "regtest_headers.hpp"
#include "scripted_p2p.hpp"
#include "sb/core/hex.hpp"
#include "sb/node/p2p/message.hpp"
#include "sb/node/p2p/peer_manager.hpp"

using namespace sb;
using namespace sb::node::p2p;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

const chain_params& regtest() { return params(network::bitcoin_regtest); }

// A block of about `size` bytes on `header`: one transaction whose scriptSig fills it (the
// node and the peer here do not judge it, but it parses, so the bridge can encode it as a
// cmpctblock too).
bytes block_of(const block_header& header, std::size_t size, std::uint8_t fill) {
    const auto raw = header.serialize();
    // version, one input (outpoint, sequence), one output (value, 1-byte script), locktime
    constexpr std::size_t fixed = 4 + 1 + 36 + 4 + 1 + 8 + 1 + 1 + 4;
    const std::size_t room = size > raw.size() + 1 + fixed + 1 ? size - raw.size() - 1 - fixed : 1;
    const std::size_t script = room <= 0xfd ? room - 1 : room <= 0xffff + 3 ? room - 3 : room - 5;
    byte_writer w(size + 8);
    w.raw(raw);
    w.compact_size(1);
    w.u32le(1);
    w.compact_size(1);
    w.raw(bytes(32, 0));
    w.u32le(0xffffffff);
    w.var_bytes(bytes(script, fill));
    w.u32le(0xffffffff);
    w.compact_size(1);
    w.u64le(50'0000'0000);
    w.var_bytes(bytes(1, 0x51));
    w.u32le(0);
    return w.take();
}

// When each block's bytes arrived, by block index.
struct arrivals {
    std::mutex mu;
    std::condition_variable cv;
    std::map<hash256, std::size_t> index;  // block hash → index
    std::vector<std::optional<steady::time_point>> submit, announce, block;
    std::vector<std::optional<steady::time_point>> submit_written, block_written;  // first write completed
    std::vector<std::optional<steady::time_point>> submit_all, block_all;          // last write completed

    void note(std::vector<std::optional<steady::time_point>>& v, const hash256& h, steady::time_point at) {
        std::lock_guard lock(mu);
        auto it = index.find(h);
        if (it == index.end() || v[it->second]) return;
        v[it->second] = at;
        cv.notify_all();
    }
};

// A node on loopback: one thread per connection, blocking reads. It answers
// submitblock (null, and the block joins its chain at its height), getblockchaininfo and
// getblockhash from that chain, and records when the first byte of each submitblock
// request was read.
class loopback_node {
public:
    loopback_node(arrivals& a, std::vector<hash256> chain_hashes)
        : acceptor_(ctx_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), a_(a) {
        for (std::size_t i = 0; i < chain_hashes.size(); ++i) heights_[chain_hashes[i]] = std::uint32_t(i + 1);
        accept_thread_ = std::thread([this] { accept_loop(); });
    }
    ~loopback_node() {
        stop_ = true;
        boost::system::error_code ec;
        {
            // Wake the accept loop with a connection of our own.
            tcp::socket s(ctx_);
            s.connect(acceptor_.local_endpoint(), ec);
        }
        accept_thread_.join();
        {
            std::lock_guard lock(mu_);
            for (auto& s : sockets_) s->shutdown(tcp::socket::shutdown_both, ec);
        }
        for (auto& t : threads_) t.join();
    }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

private:
    void accept_loop() {
        while (!stop_) {
            auto s = std::make_shared<tcp::socket>(ctx_);
            boost::system::error_code ec;
            acceptor_.accept(*s, ec);
            if (ec || stop_) continue;
            s->set_option(tcp::no_delay(true), ec);
            std::lock_guard lock(mu_);
            sockets_.push_back(s);
            threads_.emplace_back([this, s] { serve(*s); });
        }
    }

    void serve(tcp::socket& s) {
        std::string buf;
        char chunk[1 << 16];
        std::optional<steady::time_point> first_byte;
        for (;;) {
            boost::system::error_code ec;
            const std::size_t n = s.read_some(asio::buffer(chunk), ec);
            if (ec) return;
            if (buf.empty() && !first_byte) first_byte = steady::now();
            buf.append(chunk, n);
            for (;;) {
                const std::size_t end = buf.find("\r\n\r\n");
                if (end == std::string::npos) break;
                const std::size_t length = content_length(std::string_view(buf).substr(0, end));
                if (buf.size() < end + 4 + length) break;
                const std::string body = buf.substr(end + 4, length);
                buf.erase(0, end + 4 + length);
                const std::string reply = answer(body, *first_byte);
                first_byte.reset();
                if (!buf.empty()) first_byte = steady::now();
                asio::write(s, asio::buffer(reply), ec);
                if (ec) return;
            }
        }
    }

    static std::size_t content_length(std::string_view head) {
        std::string lower(head);
        for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const auto at = lower.find("content-length:");
        return at == std::string::npos ? 0 : std::strtoull(lower.c_str() + at + 15, nullptr, 10);
    }

    static std::string field(const std::string& body, const std::string& key) {
        const auto at = body.find("\"" + key + "\":");
        if (at == std::string::npos) return {};
        std::size_t from = at + key.size() + 3;
        std::size_t to = from;
        int depth = 0;
        for (; to < body.size(); ++to) {
            const char c = body[to];
            if (c == '[' || c == '{') ++depth;
            if (c == ']' || c == '}') {
                if (depth == 0) break;
                --depth;
            }
            if (c == ',' && depth == 0) break;
        }
        return body.substr(from, to - from);
    }

    std::string answer(const std::string& body, steady::time_point first_byte) {
        const std::string id = field(body, "id");
        const std::string method = field(body, "method");
        std::string result = "null";
        std::lock_guard lock(mu_);
        if (method == "\"submitblock\"") {
            // The block's header: the first 160 hex digits of the one parameter.
            const auto at = body.find("\"params\":[\"");
            const std::string_view hex =
                at == std::string::npos ? std::string_view() : std::string_view(body).substr(at + 11, 160);
            auto header = from_hex(hex);
            if (hex.size() == 160 && header) {
                const hash256 h = sha256d(*header);
                a_.note(a_.submit, h, first_byte);
                if (auto it = heights_.find(h); it != heights_.end()) {
                    at_[it->second] = h;
                    while (at_.count(tip_ + 1)) ++tip_;
                }
            }
        } else if (method == "\"getblockchaininfo\"") {
            result = R"({"chain":"regtest","blocks":)" + std::to_string(tip_) + R"(,"bestblockhash":")" +
                     hash_at(tip_) + "\"}";
        } else if (method == "\"getblockhash\"") {
            const std::string params = field(body, "params");
            result = "\"" + hash_at(static_cast<std::uint32_t>(std::strtoul(params.c_str() + 1, nullptr, 10))) + "\"";
        }
        const std::string json = R"({"result":)" + result + R"(,"error":null,"id":)" + id + "}";
        return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(json.size()) +
               "\r\n\r\n" + json;
    }

    // Under mu_.
    std::string hash_at(std::uint32_t h) const {
        if (h == 0) return to_hex_reversed(regtest().genesis_hash);
        auto it = at_.find(h);
        return it == at_.end() ? std::string(64, 'e') : to_hex_reversed(it->second);
    }

    asio::io_context ctx_;
    tcp::acceptor acceptor_;
    arrivals& a_;
    std::atomic<bool> stop_{false};
    std::thread accept_thread_;
    std::mutex mu_;
    std::vector<std::shared_ptr<tcp::socket>> sockets_;
    std::vector<std::thread> threads_;
    std::map<hash256, std::uint32_t> heights_;  // the blocks this run finds
    std::map<std::uint32_t, hash256> at_;       // the node's chain
    std::uint32_t tip_ = 0;
};

struct figures {
    std::vector<double> submit_us, announce_us, block_us, submit_written_us, block_written_us, submit_all_us,
        block_all_us;
    std::size_t journal_errors = 0;
};

bool run(bool slow_fsync, int runs, std::size_t block_bytes, unsigned bridge_threads, std::chrono::milliseconds pause,
         bool fetch_compact, figures& out) {
    const int warmup = 20;
    const int total = runs + warmup;

    // A chain of regtest blocks on genesis: a header that passes the P2P checks, then one
    // transaction of filler (neither the node here nor the peer judges the body).
    std::vector<bridge::found_block> blocks;
    std::vector<hash256> hashes;
    hash256 prev = regtest().genesis_hash;
    std::uint32_t t = 1'700'000'000;
    for (int i = 0; i < total; ++i) {
        const block_header h = test::mine_regtest_header(prev, t += 600);
        bridge::found_block b;
        b.height = std::uint32_t(i + 1);
        b.hash = h.hash();
        b.prev_block = prev;
        b.block = block_of(h, block_bytes, std::uint8_t(i));
        b.job_id = "bench";
        b.worker = "bench";
        prev = b.hash;
        hashes.push_back(b.hash);
        blocks.push_back(std::move(b));
    }

    arrivals a;
    for (std::size_t i = 0; i < hashes.size(); ++i) a.index[hashes[i]] = i;
    a.submit.resize(hashes.size());
    a.announce.resize(hashes.size());
    a.block.resize(hashes.size());
    a.submit_written.resize(hashes.size());
    a.block_written.resize(hashes.size());
    a.submit_all.resize(hashes.size());
    a.block_all.resize(hashes.size());

    const auto dir = std::filesystem::temp_directory_path() /
                     ("sb-bench-found-" + std::to_string(::getpid()) + (slow_fsync ? "-slow" : "-disk"));
    std::filesystem::create_directories(dir);
    bridge::journal_options jo;
    jo.block_hash = [](byte_span b) -> std::optional<hash256> {
        if (b.size() <= block_header_size) return std::nullopt;
        return sha256d(b.first(block_header_size));
    };
    jo.log = [](std::string_view s) { std::fprintf(stderr, "journal: %.*s\n", int(s.size()), s.data()); };
    if (slow_fsync)
        jo.fsync = [](int fd) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            return ::fsync(fd);
        };
    auto opened = bridge::journal::open((dir / "blocks.journal").string(), std::move(jo));
    if (!opened) {
        std::fprintf(stderr, "journal: %s\n", opened.error().message().c_str());
        return false;
    }
    std::shared_ptr<bridge::journal> journal = std::move(*opened);

    loopback_node node(a, hashes);

    // ---- the bridge: submitter and peer manager on one io context, as in the daemon ----
    asio::io_context io;
    auto guard = asio::make_work_guard(io);
    header_chain chain(regtest());
    asio::io_context peer_ctx;
    tcp::acceptor peer_acceptor(peer_ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    peer_manager_options po;
    po.configured = {{"127.0.0.1", peer_acceptor.local_endpoint().port()}};
    po.target_outbound = 0;
    po.peer.request_addresses = false;
    po.log = [](std::string_view) {};
    // The daemon's one-thread worker for P2P work off the I/O threads (cmd_run's
    // p2p_verify_pool): a found block's messages are built there.
    asio::thread_pool p2p_worker(1);
    po.peer.offload = [&p2p_worker](std::function<void()> task) { asio::post(p2p_worker, std::move(task)); };
    po.on_block_sent = [&a](const block_sent& b) {
        a.note(a.block_all, b.hash, b.last_write);
        a.note(a.block_written, b.hash, b.first_write);
    };
    peer_manager m(asio::make_strand(io), chain, po);

    node::rpc_settings rpc;
    rpc.url = "http://127.0.0.1:" + std::to_string(node.port()) + "/";
    rpc.user = "bench";
    rpc.password = "bench";
    bridge::submitter_options so;
    so.log = [](std::string_view) {};
    so.on_submit_written = [&a](const bridge::submit_written& w) {
        a.note(a.submit_all, w.hash, w.write.last_write);
        a.note(a.submit_written, w.hash, w.write.first_write);
    };
    auto sub = std::make_unique<bridge::submitter>(asio::make_strand(io), std::vector{rpc}, journal, so);
    // What the daemon's relay hook does (p2p_link::relay): the block's bytes, shared, to the manager.
    sub->set_relay([&m](const std::shared_ptr<const bridge::found_block>& b) {
        m.relay(std::shared_ptr<const bytes>(b, &b->block));
    });

    std::vector<std::thread> pool;
    for (unsigned i = 0; i < bridge_threads; ++i) pool.emplace_back([&io] { io.run(); });

    // ---- the scripted peer: headers announcements asked, every announced block fetched ----
    std::atomic<bool> peer_ready{false}, peer_failed{false};
    std::atomic<int> peer_fd{-1};
    std::thread peer([&] {
        try {
            tcp::socket s(peer_ctx);
            peer_acceptor.accept(s);
            s.set_option(tcp::no_delay(true));
            test::p2p_script_conn c(std::move(s), regtest().magic);
            peer_fd = c.fd();
            c.answer_handshake(70016, 0, "/bench:1/");
            c.send(cmd::sendheaders);
            c.read_until(cmd::getheaders);
            c.send(cmd::headers, serialize_headers({}));
            peer_ready = true;
            for (;;) {
                frame f = c.read();
                const auto now = steady::now();
                if (f.command == cmd::headers) {
                    auto hs = parse_headers(f.payload);
                    if (!hs) continue;
                    for (const auto& h : *hs) {
                        a.note(a.announce, h.hash(), now);
                        const inventory want{fetch_compact ? inv_type::cmpct_block : inv_type::witness_block,
                                             h.hash()};
                        c.send(cmd::getdata, serialize_inv({&want, 1}));
                    }
                } else if ((f.command == cmd::block || f.command == cmd::cmpctblock) &&
                           f.payload.size() >= block_header_size) {
                    a.note(a.block, sha256d(byte_span(f.payload.data(), block_header_size)), now);
                } else if (f.command == cmd::ping) {
                    c.send(cmd::pong, f.payload);
                }
            }
        } catch (const std::exception&) {
            // The connection closed: the end of the run (or a failed start, seen below).
            if (!peer_ready) peer_failed = true;
        }
    });
    m.start();
    const auto ready_deadline = steady::now() + std::chrono::seconds(30);
    while (!peer_ready && !peer_failed && steady::now() < ready_deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    // The manager counts the peer as connected once the handshake is done on its side too.
    while (m.connected_count() == 0 && steady::now() < ready_deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    bool ok = peer_ready && m.connected_count() > 0;
    if (!ok) std::fprintf(stderr, "the scripted peer never became ready\n");

    for (int i = 0; ok && i < total; ++i) {
        bridge::found_block b = blocks[std::size_t(i)];  // copied before the clock starts
        const auto t0 = steady::now();
        sub->submit(std::move(b));
        std::unique_lock lock(a.mu);
        const std::size_t k = std::size_t(i);
        if (!a.cv.wait_for(lock, std::chrono::seconds(30),
                           [&] {
                               return a.submit[k] && a.announce[k] && a.block[k] && a.submit_written[k] &&
                                      a.block_written[k];
                           })) {
            std::fprintf(stderr, "block %d: submit %s, announce %s, block %s, submit written %s, block written %s\n",
                         i, a.submit[k] ? "seen" : "missing", a.announce[k] ? "seen" : "missing",
                         a.block[k] ? "seen" : "missing", a.submit_written[k] ? "seen" : "missing",
                         a.block_written[k] ? "seen" : "missing");
            ok = false;
            break;
        }
        if (i >= warmup) {
            out.submit_us.push_back(bench::us_between<steady>(t0, *a.submit[k]));
            out.announce_us.push_back(bench::us_between<steady>(t0, *a.announce[k]));
            out.block_us.push_back(bench::us_between<steady>(t0, *a.block[k]));
            out.submit_written_us.push_back(bench::us_between<steady>(t0, *a.submit_written[k]));
            out.block_written_us.push_back(bench::us_between<steady>(t0, *a.block_written[k]));
            out.submit_all_us.push_back(bench::us_between<steady>(t0, *a.submit_all[k]));
            out.block_all_us.push_back(bench::us_between<steady>(t0, *a.block_all[k]));
        }
        lock.unlock();
        std::this_thread::sleep_for(pause);
    }
    out.journal_errors = sub->status().journal_errors;

    sub->stop();
    m.stop();
    // Ends the peer's script: its blocking read fails (or its accept, if it never connected).
    if (peer_fd >= 0) ::shutdown(peer_fd, SHUT_RDWR);
    ::shutdown(peer_acceptor.native_handle(), SHUT_RDWR);  // wakes a blocked accept
    peer.join();
    guard.reset();
    io.stop();
    for (auto& th : pool) th.join();
    p2p_worker.join();
    sub.reset();
    journal.reset();  // the last owner: writes what is queued (the slow fsync included)
    std::error_code rm_ec;
    std::filesystem::remove_all(dir, rm_ec);
    return ok;
}

void print(const char* what, const std::vector<double>& v) {
    std::printf("  %-18s p50 %8.1f us  p90 %8.1f us  p99 %8.1f us  max %8.1f us\n", what, bench::percentile(v, 0.50),
                bench::percentile(v, 0.90), bench::percentile(v, 0.99), bench::max_of(v));
}

}  // namespace

int main(int argc, char** argv) {
    int runs = 500;
    std::size_t block_bytes = 300;
    unsigned bridge_threads = 2;  // the daemon runs max(2, min(8, cores)) I/O threads
    int pause_ms = 20;            // between blocks
    bool fetch_compact = false;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view arg = argv[i];
        const long v = std::strtol(argv[i + 1], nullptr, 10);
        if (arg == "--runs") runs = std::max(1, int(v));
        else if (arg == "--block-bytes") block_bytes = std::size_t(std::max(150L, v));
        else if (arg == "--bridge-threads") bridge_threads = unsigned(std::max(1L, v));
        else if (arg == "--pause-ms") pause_ms = int(std::max(0L, v));
        else if (arg == "--peer-fetch") fetch_compact = std::string_view(argv[i + 1]) == "cmpctblock";
        else std::fprintf(stderr, "unknown option %s (ignored)\n", argv[i]);
    }
    std::printf("found-block latency: block sink called -> submitblock's first byte at the node, -> P2P headers\n"
                "announcement at the peer, -> P2P %s at the peer (after its getdata); written: the first write\n"
                "of the submitblock request / of the P2P message completed\n",
                fetch_compact ? "cmpctblock" : "block");
    std::printf("%d blocks of ~%zu bytes (+20 warm-up), %u bridge threads, %d ms between blocks, %u cores\n", runs,
                block_bytes, bridge_threads, pause_ms, std::thread::hardware_concurrency());
    for (const bool slow : {false, true}) {
        figures f;
        const bool ok =
            run(slow, runs, block_bytes, bridge_threads, std::chrono::milliseconds(pause_ms), fetch_compact, f);
        std::printf("journal fsync %s%s:\n", slow ? "slowed to 50 ms" : "as the disk does it",
                    ok ? "" : " (run incomplete: figures of the blocks measured)");
        print("submit", f.submit_us);
        print("submit written", f.submit_written_us);
        print("submit all written", f.submit_all_us);
        print("announce", f.announce_us);
        print("block", f.block_us);
        print("block written", f.block_written_us);
        print("block all written", f.block_all_us);
        if (f.journal_errors) std::printf("  journal errors: %zu\n", f.journal_errors);
        std::fflush(stdout);
    }
    return 0;
}
