// Stratum server load benchmark (docs/PERFORMANCE.md, "Stratum server load"): a real
// stratum::server fed by a real dispatcher, and N Stratum clients over loopback TCP.
// Prints one figure per line; never fails on a figure (STYLE.md: benchmarks print).
//
// Phases: connect (subscribe + authorize, until each session has its first notify); idle
// (the sessions only receive the dispatcher's keep-alive notifies); long-lived sessions
// (32 more jobs on the tip, so that each session's ring of tracked jobs is full); closed loop share
// throughput; submit reply latency at a fixed offered rate; new tip → clean notify to every
// session, timed both by the clients (until each read its notify) and inside the server
// (until each session's notify was handed to the kernel: stratum::server::last_fanout);
// the server's resident memory and heap before/after connecting and its CPU time idle, per
// submit and per notified session.
//
// Shares: each client submits arbitrary nonces (a per-session counter, so never a
// duplicate; extranonce1 differs per session). The share difficulty is pinned so low that
// the share target saturates at 2^256-1: every share that reaches the difficulty check is
// accepted, after the dispatcher has rebuilt the coinbase, the merkle root and the header
// and hashed it (sha256d). The template is the regtest fixture with bits 1d00ffff so that
// no share is a block (no block assembly in the figures).
//
// The server (dispatcher + stratum::server) runs in a child process, the clients in the
// parent: the server's resident memory is its own (read from its /proc/self/status), and
// each side has the whole descriptor limit for its end of the N connections. The parent
// drives the child over a socketpair (new templates, statistics). Client and server still
// share the machine's cores: the figures are lower bounds for the server.
//
// With --tls the listener serves TLS only, with a self-signed certificate made for the run
// (removed once the server has loaded it), and every client session speaks TLS over its
// socket (asio::ssl::stream, no certificate verification, the handshake before subscribe).
// Every phase runs the same way; the output says "mode: tls" first. Without --tls nothing
// changes: plain TCP, and the output has no mode line.
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <openssl/ssl.h>
#include <rapidjson/document.h>

#include "bench_stats.hpp"
#include "dispatch/dispatcher.hpp"
#include "sb/core/chain.hpp"
#include "sb/core/hex.hpp"
#include "sb/node/internal/json.hpp"
#include "sb/node/template.hpp"
#include "self_signed_cert.hpp"
#include "stats/statistics.hpp"
#include "stratum/dispatcher_source.hpp"
#include "stratum/server.hpp"
#include "stratum/work_source.hpp"

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using tls_stream = asio::ssl::stream<tcp::socket>;
using clock_type = std::chrono::steady_clock;
using namespace sb;

// ---- options -----------------------------------------------------------------------

struct options {
    std::size_t sessions = 10'000;
    double seconds = 5;        // per measuring phase
    double rate = 10'000;      // offered shares/s in the latency phase
    unsigned window = 2;       // submits in flight per session in the throughput phase
    unsigned server_threads = 1;
    unsigned client_threads = 1;
    unsigned tips = 3;         // new-tip rounds
    double idle_seconds = 60;  // the idle phase (the dispatcher's keep-alive jobs come every 30 s)
    unsigned steady_jobs = 32;  // jobs sent after it (stratum::max_tracked_jobs fills the ring)
    std::size_t connect_parallel = 512;  // connects in flight
    bool stats = false;        // the dashboard's statistics as the dispatcher's share sink
    bool tls = false;          // a TLS listener and TLS clients instead of plain TCP
};

void usage() {
    std::fprintf(stderr,
                 "usage: sb_bench_stratum_load [--sessions N] [--seconds S] [--rate SHARES_PER_S] [--window W]\n"
                 "                             [--server-threads T] [--client-threads T] [--tips K] [--idle-seconds S]\n"
                 "                             [--steady-jobs J] [--stats 0|1] [--tls]\n");
}

bool parse_options(int argc, char** argv, options& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--tls") {  // the one option without a value
            o.tls = true;
            continue;
        }
        if (i + 1 >= argc) return false;
        const char* v = argv[++i];
        char* end = nullptr;
        const double d = std::strtod(v, &end);
        if (end == v || *end != '\0' || d < 0) return false;
        if (a == "--sessions") o.sessions = static_cast<std::size_t>(d);
        else if (a == "--seconds") o.seconds = d;
        else if (a == "--rate") o.rate = d;
        else if (a == "--window") o.window = static_cast<unsigned>(d);
        else if (a == "--server-threads") o.server_threads = static_cast<unsigned>(d);
        else if (a == "--client-threads") o.client_threads = static_cast<unsigned>(d);
        else if (a == "--tips") o.tips = static_cast<unsigned>(d);
        else if (a == "--idle-seconds") o.idle_seconds = d;
        else if (a == "--steady-jobs") o.steady_jobs = static_cast<unsigned>(d);
        else if (a == "--stats") o.stats = d != 0;
        else return false;
    }
    return o.sessions > 0 && o.server_threads > 0 && o.client_threads > 0 && o.window > 0;
}

// ---- helpers -----------------------------------------------------------------------

// Opened once at start-up: with every descriptor in use by sessions, a later open fails.
int status_fd = -1;

long status_kib(const char* key) {
    char buf[4096];
    const ssize_t n = pread(status_fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return -1;
    buf[n] = '\0';
    const char* p = std::strstr(buf, key);
    return p ? std::strtol(p + std::strlen(key), nullptr, 10) : -1;
}
long vm_rss_kib() { return status_kib("VmRSS:"); }
// Bytes malloc has handed out and not had back (glibc), in KiB: the heap without the
// pages' slack.
long heap_kib() { return static_cast<long>(mallinfo2().uordblks / 1024); }
long vm_hwm_kib() { return status_kib("VmHWM:"); }

// This process's CPU time so far (user, system), microseconds.
std::pair<long long, long long> cpu_us() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return {ru.ru_utime.tv_sec * 1'000'000LL + ru.ru_utime.tv_usec, ru.ru_stime.tv_sec * 1'000'000LL + ru.ru_stime.tv_usec};
}

// The CPU time of the given threads together, in microseconds (user and system).
long long threads_cpu_us(std::vector<std::thread>& threads) {
    long long total = 0;
    for (auto& t : threads) {
        clockid_t id{};
        timespec ts{};
        if (pthread_getcpuclockid(t.native_handle(), &id) == 0 && clock_gettime(id, &ts) == 0)
            total += ts.tv_sec * 1'000'000LL + ts.tv_nsec / 1000;
    }
    return total;
}

std::int64_t steady_ns(clock_type::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// Raises the soft descriptor limit towards want; returns the soft limit in force.
rlim_t raise_nofile(rlim_t want) {
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    want = std::max(want, rl.rlim_cur);
    rlimit raised{want, std::max(want, rl.rlim_max)};
    if (setrlimit(RLIMIT_NOFILE, &raised) != 0) {
        raised = {rl.rlim_max, rl.rlim_max};
        setrlimit(RLIMIT_NOFILE, &raised);
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    return rl.rlim_cur;
}

// A throw-away self-signed certificate (P-256, CN localhost) and its key as PEM files in a
// private temporary directory, for the --tls listener. The directory goes when remove()
// is called (once the server has loaded the files) or with the object.
class throwaway_cert {
public:
    throwaway_cert() = default;
    throwaway_cert(const throwaway_cert&) = delete;
    throwaway_cert& operator=(const throwaway_cert&) = delete;
    ~throwaway_cert() { remove(); }

    // Makes the key, the certificate and the files; false (with a line on stderr) on failure.
    bool create() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "sb-bench-tls-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) {
            std::perror("mkdtemp");
            return false;
        }
        dir_ = tmpl;
        cert_file_ = dir_ + "/cert.pem";
        key_file_ = dir_ + "/key.pem";
        const bool ok = test::write_self_signed_pem(cert_file_, key_file_);
        if (!ok) std::fprintf(stderr, "cannot make the self-signed certificate for --tls\n");
        return ok;
    }
    void remove() {
        if (dir_.empty()) return;
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
        dir_.clear();
    }
    const std::string& cert_file() const { return cert_file_; }
    const std::string& key_file() const { return key_file_; }

private:
    std::string dir_, cert_file_, key_file_;
};

// Line-based control channel between the parent (clients) and the child (server).
class control_channel {
public:
    explicit control_channel(int fd) : fd_(fd) {}
    void send(const std::string& line) {
        std::string out = line + "\n";
        std::size_t off = 0;
        while (off < out.size()) {
            const ssize_t n = ::write(fd_, out.data() + off, out.size() - off);
            if (n <= 0) {
                std::fprintf(stderr, "control channel: write failed\n");
                std::exit(1);
            }
            off += static_cast<std::size_t>(n);
        }
    }
    // The next line; empty when the other side has gone.
    std::string receive() {
        for (;;) {
            if (auto nl = buf_.find('\n'); nl != std::string::npos) {
                std::string line = buf_.substr(0, nl);
                buf_.erase(0, nl + 1);
                return line;
            }
            char tmp[512];
            const ssize_t n = ::read(fd_, tmp, sizeof tmp);
            if (n <= 0) return {};
            buf_.append(tmp, static_cast<std::size_t>(n));
        }
    }

private:
    int fd_;
    std::string buf_;
};

// The fixture file, read once at start-up (see status_fd).
std::string fixture_json;

double ms_since(clock_type::time_point t0, clock_type::time_point t1) {
    return std::chrono::duration<double, std::milli>(t1 - t0).count();
}

// The regtest fixture template; prev_tag != 0 changes previousblockhash (a new tip),
// curtime_bump != 0 makes a new template on the same tip: curtime and the coinbase value
// (as fees of a new transaction would) move by it, so that the dispatcher makes a new job
// (a template that differs only in its time is no new work).
std::shared_ptr<const node::block_template> make_template(int prev_tag, std::uint32_t curtime_bump) {
    rapidjson::Document all;
    all.Parse(fixture_json.c_str());
    if (all.HasParseError() || !all.HasMember("bcoin_presegwit")) {
        std::fprintf(stderr, "cannot read the getblocktemplate.json fixture\n");
        std::exit(1);
    }
    rapidjson::Document d;
    d.CopyFrom(all["bcoin_presegwit"], d.GetAllocator());
    // Mainnet-hard bits: a share is never a block, so no block assembly is measured.
    d["bits"].SetString("1d00ffff", d.GetAllocator());
    d["target"].SetString("00000000ffff0000000000000000000000000000000000000000000000000000", d.GetAllocator());
    if (prev_tag != 0) {
        char h[65];
        std::snprintf(h, sizeof h, "%064x", prev_tag);
        d["previousblockhash"].SetString(h, d.GetAllocator());
    }
    d["curtime"].SetUint(d["curtime"].GetUint() + curtime_bump);
    d["coinbasevalue"].SetInt64(d["coinbasevalue"].GetInt64() + curtime_bump);
    auto t = node::parse_block_template(d, params(network::bitcoin_regtest));
    if (!t) {
        std::fprintf(stderr, "template: %s\n", t.error().message().c_str());
        std::exit(1);
    }
    return std::make_shared<const node::block_template>(std::move(*t));
}

// ---- the client side -----------------------------------------------------------------

enum class phase : int { idle, closed_loop, open_loop, tip };

struct client_thread;

// Shared by every client thread (atomics; the per-thread parts live in client_thread).
struct bench_state {
    std::atomic<int> mode{static_cast<int>(phase::idle)};
    std::atomic<std::size_t> ready{0};           // sessions with a first notify
    std::atomic<std::size_t> closed{0};          // sessions whose connection ended
    std::atomic<std::uint64_t> replies{0};       // submit replies
    std::atomic<std::uint64_t> accepted{0};
    std::atomic<std::uint64_t> notifies{0};
    std::atomic<std::uint64_t> tip_round{0};     // the clean notify a tip round waits for
    std::atomic<std::size_t> tip_seen{0};
    std::mutex mu;                               // guards below
    std::map<int, std::uint64_t> errors;         // error code → count
    std::vector<clock_type::time_point> tip_at;  // per session, this round: clean notify read
    std::string tls_negotiated;                  // --tls: the first session's protocol and cipher
};

class client_session : public std::enable_shared_from_this<client_session> {
public:
    // tls: the session speaks TLS in this context (nullptr: plain TCP).
    client_session(asio::io_context& io, bench_state& st, client_thread& owner, std::size_t index,
                   asio::ssl::context* tls)
        : sock_(io), tls_(tls ? std::make_unique<tls_stream>(io, *tls) : nullptr), st_(st), owner_(owner),
          index_(index) {}

    void start(const tcp::endpoint& ep);
    void submit(bool timed);
    bool ready() const { return !job_id_.empty(); }
    std::size_t index() const { return index_; }

private:
    void on_connect(const boost::system::error_code& ec);
    void on_handshake(const boost::system::error_code& ec);
    void begin();
    // The TCP socket: sock_, or the TLS stream's own.
    tcp::socket& socket() { return tls_ ? tls_->next_layer() : sock_; }
    // Calls f with the stream the Stratum lines go through: the TLS stream, or the socket.
    template <typename F>
    void with_stream(F&& f) {
        if (tls_) f(*tls_);
        else f(sock_);
    }
    void do_read();
    template <typename Stream>
    void read_from(Stream& stream);
    void on_line(std::string_view line);
    void on_reply(std::uint64_t id, std::string_view line);
    void on_notify(std::string_view line);
    void send(std::string_view s);
    void do_write();
    template <typename Stream>
    void write_to(Stream& stream);
    void fail();

    tcp::socket sock_;                  // plain TCP
    std::unique_ptr<tls_stream> tls_;   // --tls: the stream, over a socket of its own
    bench_state& st_;
    client_thread& owner_;
    std::size_t index_;
    std::array<char, 8192> rbuf_{};
    std::string partial_;
    std::string pending_, writing_;
    std::string job_id_, ntime_;
    std::uint32_t nonce_ = 0;
    std::uint64_t next_id_ = 3;
    bool counted_ready_ = false;
    bool dead_ = false;
    std::uint64_t tip_done_round_ = 0;
    std::unordered_map<std::uint64_t, clock_type::time_point> sent_at_;  // open loop only
};

// One io_context, one thread, its own slice of the sessions: no locking inside it.
struct client_thread {
    asio::io_context io;
    bench_state* st = nullptr;
    tcp::endpoint server;
    std::vector<std::shared_ptr<client_session>> sessions;
    std::vector<std::size_t> to_connect;  // global indices
    asio::ssl::context* tls = nullptr;    // --tls: the clients' context
    std::size_t next_connect = 0;
    std::size_t connecting = 0;
    std::size_t parallel = 0;
    std::vector<double> latency_ms;       // open loop replies
    std::size_t rr = 0;                   // round robin over sessions (open loop)
    std::thread thread;

    void connect_more() {
        while (connecting < parallel && next_connect < to_connect.size()) {
            auto s = std::make_shared<client_session>(io, *st, *this, to_connect[next_connect++], tls);
            sessions.push_back(s);
            ++connecting;
            s->start(server);
        }
    }
    void connect_done() {
        --connecting;
        connect_more();
    }
};

void client_session::start(const tcp::endpoint& ep) {
    socket().async_connect(ep,
                           [self = shared_from_this()](const boost::system::error_code& ec) { self->on_connect(ec); });
}

void client_session::on_connect(const boost::system::error_code& ec) {
    if (ec) {
        std::fprintf(stderr, "connect %zu: %s\n", index_, ec.message().c_str());
        return fail();
    }
    boost::system::error_code ignored;
    socket().set_option(tcp::no_delay(true), ignored);
    if (!tls_) return begin();
    tls_->async_handshake(asio::ssl::stream_base::client,
                          [self = shared_from_this()](const boost::system::error_code& hs) { self->on_handshake(hs); });
}

void client_session::on_handshake(const boost::system::error_code& ec) {
    if (ec) {
        std::fprintf(stderr, "tls handshake %zu: %s\n", index_, ec.message().c_str());
        return fail();
    }
    {
        std::lock_guard lock(st_.mu);
        if (st_.tls_negotiated.empty()) {
            SSL* ssl = tls_->native_handle();
            st_.tls_negotiated = std::string(SSL_get_version(ssl)) + " " + SSL_get_cipher_name(ssl);
        }
    }
    begin();
}

// Subscribe and authorize, then read.
void client_session::begin() {
    send("{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"sb-bench/1.0\"]}\n"
         "{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"bench.w" +
         std::to_string(index_) + "\",\"x\"]}\n");
    do_read();
}

void client_session::fail() {
    if (dead_) return;
    dead_ = true;
    st_.closed.fetch_add(1);
    if (!counted_ready_) {
        counted_ready_ = true;
        owner_.connect_done();
    }
}

void client_session::do_read() {
    with_stream([this](auto& stream) { read_from(stream); });
}

template <typename Stream>
void client_session::read_from(Stream& stream) {
    stream.async_read_some(asio::buffer(rbuf_), [self = shared_from_this()](const boost::system::error_code& ec,
                                                                            std::size_t n) {
        if (ec) return self->fail();
        std::string_view data(self->rbuf_.data(), n);
        while (!data.empty()) {
            const auto nl = data.find('\n');
            if (nl == std::string_view::npos) {
                self->partial_.append(data);
                break;
            }
            if (self->partial_.empty()) {
                self->on_line(data.substr(0, nl));
            } else {
                self->partial_.append(data.substr(0, nl));
                std::string line = std::move(self->partial_);
                self->partial_.clear();
                self->on_line(line);
            }
            data.remove_prefix(nl + 1);
        }
        self->do_read();
    });
}

void client_session::on_line(std::string_view line) {
    // Replies start {"id":<number>; notifications carry "id":null and a method.
    constexpr std::string_view id_key = "{\"id\":";
    if (line.rfind(id_key, 0) == 0 && line.size() > id_key.size() && line[id_key.size()] >= '0' &&
        line[id_key.size()] <= '9') {
        return on_reply(std::strtoull(line.data() + id_key.size(), nullptr, 10), line);
    }
    if (line.find("\"mining.notify\"") != std::string_view::npos) on_notify(line);
}

void client_session::on_reply(std::uint64_t id, std::string_view line) {
    if (id < 3) return;  // subscribe, authorize
    const auto now = clock_type::now();
    st_.replies.fetch_add(1, std::memory_order_relaxed);
    if (line.find("\"result\":true") != std::string_view::npos) {
        st_.accepted.fetch_add(1, std::memory_order_relaxed);
    } else {
        int code = -1;
        if (auto p = line.find("\"error\":["); p != std::string_view::npos) code = std::atoi(line.data() + p + 9);
        std::lock_guard lock(st_.mu);
        ++st_.errors[code];
    }
    if (auto it = sent_at_.find(id); it != sent_at_.end()) {
        owner_.latency_ms.push_back(ms_since(it->second, now));
        sent_at_.erase(it);
    }
    if (static_cast<phase>(st_.mode.load(std::memory_order_relaxed)) == phase::closed_loop) submit(false);
}

void client_session::on_notify(std::string_view line) {
    const auto now = clock_type::now();
    st_.notifies.fetch_add(1, std::memory_order_relaxed);
    // The server's notify shape (codec.hpp): params[0] is the job id, the last string
    // param the ntime, then clean_jobs. Picked out by hand: the load generator shares the
    // cores with the server, and a full JSON parse per notify would be charged to it.
    constexpr std::string_view params_key = "\"params\":[\"";
    const auto p0 = line.find(params_key);
    const auto job_end = p0 == std::string_view::npos ? p0 : line.find('"', p0 + params_key.size());
    const auto ntime_end = line.rfind('"');
    const auto ntime_begin = ntime_end == std::string_view::npos || ntime_end == 0 ? ntime_end
                                                                                    : line.rfind('"', ntime_end - 1);
    if (job_end == std::string_view::npos || ntime_begin == std::string_view::npos || ntime_begin <= job_end) return;
    job_id_.assign(line.substr(p0 + params_key.size(), job_end - p0 - params_key.size()));
    ntime_.assign(line.substr(ntime_begin + 1, ntime_end - ntime_begin - 1));
    const bool clean = line.size() >= 7 && line.substr(line.size() - 7) == ",true]}";
    if (!counted_ready_) {
        counted_ready_ = true;
        st_.ready.fetch_add(1);
        owner_.connect_done();
        return;
    }
    const auto round = st_.tip_round.load(std::memory_order_acquire);
    if (clean && round != 0 && tip_done_round_ != round) {
        tip_done_round_ = round;
        {
            std::lock_guard lock(st_.mu);
            st_.tip_at.push_back(now);
        }
        st_.tip_seen.fetch_add(1);
    }
}

void client_session::submit(bool timed) {
    if (dead_ || job_id_.empty()) return;
    const std::uint64_t id = next_id_++;
    char buf[256];
    const int n = std::snprintf(buf, sizeof buf,
                                "{\"id\":%" PRIu64
                                ",\"method\":\"mining.submit\",\"params\":[\"bench.w%zu\",\"%s\","
                                "\"0000000000000000\",\"%s\",\"%08x\"]}\n",
                                id, index_, job_id_.c_str(), ntime_.c_str(), nonce_++);
    if (timed) sent_at_.emplace(id, clock_type::now());
    send({buf, static_cast<std::size_t>(n)});
}

void client_session::send(std::string_view s) {
    pending_.append(s);
    if (writing_.empty()) do_write();
}

void client_session::do_write() {
    if (dead_ || pending_.empty()) return;
    std::swap(pending_, writing_);
    with_stream([this](auto& stream) { write_to(stream); });
}

template <typename Stream>
void client_session::write_to(Stream& stream) {
    asio::async_write(stream, asio::buffer(writing_), [self = shared_from_this()](const boost::system::error_code& ec,
                                                                                   std::size_t) {
        self->writing_.clear();
        if (ec) return self->fail();
        self->do_write();
    });
}

// Open loop: every tick, each thread sends its share of rate × elapsed, round robin.
void open_loop_tick(client_thread& t, std::shared_ptr<asio::steady_timer> timer, clock_type::time_point t0,
                    double rate_per_thread, std::uint64_t sent) {
    if (static_cast<phase>(t.st->mode.load()) != phase::open_loop) return;
    const double elapsed_s = std::chrono::duration<double>(clock_type::now() - t0).count();
    const auto due = static_cast<std::uint64_t>(elapsed_s * rate_per_thread);
    std::size_t guard = 0;
    while (sent < due && !t.sessions.empty() && guard < t.sessions.size()) {
        auto& s = t.sessions[t.rr++ % t.sessions.size()];
        if (!s->ready()) {
            ++guard;
            continue;
        }
        guard = 0;
        s->submit(true);
        ++sent;
    }
    timer->expires_after(std::chrono::microseconds(500));
    timer->async_wait([&t, timer, t0, rate_per_thread, sent](const boost::system::error_code& ec) {
        if (!ec) open_loop_tick(t, timer, t0, rate_per_thread, sent);
    });
}

bool wait_until(const std::function<bool()>& done, double timeout_s) {
    const auto end = clock_type::now() + std::chrono::duration<double>(timeout_s);
    while (!done()) {
        if (clock_type::now() > end) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

// ---- the server side (child process) -----------------------------------------------

// Runs the dispatcher and the server until the parent says "quit" (or goes away).
// Commands, one per line: "template PREV BUMP" (a template; PREV != 0 is a new tip)
// answered "t0 NS" (steady clock just before the dispatcher took it); "stats" answered
// "stats ACCEPTED REJECTED BLOCKS CONNECTIONS RSS_KIB HWM_KIB LOG_LINES USER_US SYS_US"
// (the CPU time of the server process so far) "HEAP_KIB"; "cpu" answered "cpu USER_US
// SYS_US IO_US" (without the cost of collecting the statistics; IO_US: the Stratum I/O
// threads' alone, without the statistics' tick thread and this control thread); "fanout"
// answered "fanout SESSIONS RECEIVED_NS P50_NS P99_NS LAST_NS" (server::last_fanout;
// RECEIVED_NS on the steady clock); "quit". cert: the --tls listener's certificate (nullptr:
// plain TCP).
int server_main(const options& opt, int fd, const throwaway_cert* cert) {
    control_channel ctl(fd);
    const long rss_start_kib = vm_rss_kib();
    asio::io_context server_io;
    auto server_work = asio::make_work_guard(server_io);
    bridge::dispatcher_options dopt;
    dopt.fixed_payout_script = *from_hex("0014751e76e8199196d454941c45d1b3a323f1433bd6");
    dopt.extranonce2_size = 8;
    dopt.log = [](std::string_view) {};
    std::atomic<std::uint64_t> blocks{0};
    // With --stats 1: the statistics as in the daemon (share sink, a tick a second reading
    // the sessions), so that shares/s with and without them compare.
    std::shared_ptr<bridge::stats::statistics> stats;
    bridge::stratum::server* srv_ptr = nullptr;
    if (opt.stats) {
        bridge::stats::statistics_options so;
        so.log = [](std::string_view) {};
        stats = std::make_shared<bridge::stats::statistics>(so);
        bridge::stats::chain_sources src;
        src.id = "regtest";
        src.sessions = [&srv_ptr] {
            return srv_ptr != nullptr ? srv_ptr->snapshot() : std::vector<bridge::stratum::session_stats>{};
        };
        dopt.share_sink = stats->sink(stats->add_chain(src));
    }
    auto disp_owner = std::make_shared<bridge::dispatcher>(asio::make_strand(server_io), params(network::bitcoin_regtest),
                                                           dopt, [&blocks](bridge::found_block) { blocks.fetch_add(1); });
    bridge::dispatcher& disp = *disp_owner;
    if (auto ec = disp.on_template(make_template(0, 0))) {
        std::fprintf(stderr, "on_template: %s\n", ec.message().c_str());
        return 1;
    }

    bridge::stratum::server_options sopt;
    config::stratum_listener l;
    l.listen = {"127.0.0.1", 0};
    // Pinned tiny difficulty: the share target saturates, every undamaged share is accepted.
    l.difficulty.initial = l.difficulty.min = l.difficulty.max = 1e-12;
    if (cert != nullptr) l.tls = config::tls_settings{cert->cert_file(), cert->key_file()};
    sopt.listeners.push_back(l);
    sopt.net = network::bitcoin_regtest;
    sopt.extranonce2_size = 8;
    // Every client comes from 127.0.0.1: lift the per-IP cap (default 256) for the benchmark.
    sopt.max_connections_per_ip = opt.sessions + 16;
    sopt.max_connections = std::max<std::size_t>(sopt.max_connections, opt.sessions + 16);
    // Rejected submits (duplicates, stale shares after a new tip) are paced per session
    // in the daemon; the throughput phase measures the server, not that pacing: off.
    sopt.rejected_submits_per_s = 0;
    std::atomic<std::uint64_t> server_log_lines{0};
    sopt.log = [&](std::string_view s) {
        if (server_log_lines.fetch_add(1) < 5 && s.find("listening") == std::string_view::npos)
            std::fprintf(stderr, "server_log_sample: %.*s\n", static_cast<int>(s.size()), s.data());
    };
    bridge::stratum::server srv(server_io, std::make_shared<bridge::stratum::dispatcher_source>(disp_owner), sopt);
    if (auto ec = srv.start()) {
        std::fprintf(stderr, "server start: %s\n", ec.message().c_str());
        return 1;
    }
    srv_ptr = &srv;
    if (stats) stats->start();
    std::vector<std::thread> server_threads;
    for (unsigned i = 0; i < opt.server_threads; ++i) server_threads.emplace_back([&] { server_io.run(); });
    ctl.send("port " + std::to_string(srv.listeners().front().port) + " " + std::to_string(rss_start_kib) + " " +
             std::to_string(vm_rss_kib()) + " " + std::to_string(heap_kib()));

    for (;;) {
        const std::string cmd = ctl.receive();
        if (cmd.rfind("template ", 0) == 0) {
            int prev = 0;
            unsigned bump = 0;
            std::sscanf(cmd.c_str() + 9, "%d %u", &prev, &bump);
            auto t = make_template(prev, bump);  // parsed before the clock starts
            const auto t0 = clock_type::now();
            disp.on_template(std::move(t));
            ctl.send("t0 " + std::to_string(steady_ns(t0)));
        } else if (cmd == "cpu") {
            const auto [user, sys] = cpu_us();
            ctl.send("cpu " + std::to_string(user) + " " + std::to_string(sys) + " " +
                     std::to_string(threads_cpu_us(server_threads)));
        } else if (cmd == "stats") {
            const auto d = disp.stats();
            ctl.send("stats " + std::to_string(d.shares_accepted) + " " + std::to_string(d.shares_rejected) + " " +
                     std::to_string(blocks.load()) + " " + std::to_string(srv.connection_count()) + " " +
                     std::to_string(vm_rss_kib()) + " " + std::to_string(vm_hwm_kib()) + " " +
                     std::to_string(server_log_lines.load()) + " " + std::to_string(cpu_us().first) + " " +
                     std::to_string(cpu_us().second) + " " + std::to_string(heap_kib()));
        } else if (cmd == "fanout") {
            const auto f = srv.last_fanout();
            ctl.send("fanout " + std::to_string(f.sessions) + " " + std::to_string(steady_ns(f.received_at)) + " " +
                     std::to_string(f.p50.count()) + " " + std::to_string(f.p99.count()) + " " +
                     std::to_string(f.last.count()));
        } else {
            break;  // "quit", or the parent has gone
        }
    }
    if (stats) stats->stop();  // before the server its tick reads
    srv.stop();
    disp.stop();
    server_work.reset();
    server_io.stop();
    for (auto& t : server_threads) t.join();
    return 0;
}

struct server_stats {
    std::uint64_t accepted = 0, rejected = 0, blocks = 0, connections = 0;
    long rss_kib = 0, hwm_kib = 0;
    std::uint64_t log_lines = 0;
    long long user_us = 0, sys_us = 0;  // server CPU time so far
    long long io_us = 0;                // of it, the Stratum I/O threads' (ask_cpu only)
    long heap_kib = 0;
    double cpu_ms_since(const server_stats& before) const {
        return static_cast<double>(user_us + sys_us - before.user_us - before.sys_us) / 1000.0;
    }
    std::string cpu_split_since(const server_stats& before) const {
        char b[96];
        std::snprintf(b, sizeof b, "user %.1f ms, system %.1f ms", static_cast<double>(user_us - before.user_us) / 1000.0,
                      static_cast<double>(sys_us - before.sys_us) / 1000.0);
        return b;
    }
};

server_stats ask_stats(control_channel& ctl) {
    ctl.send("stats");
    const std::string r = ctl.receive();
    server_stats s;
    unsigned long long a = 0, b = 0, c = 0, d = 0, g = 0;
    long e = 0, f = 0, h = 0;
    long long u = 0, y = 0;
    if (std::sscanf(r.c_str(), "stats %llu %llu %llu %llu %ld %ld %llu %lld %lld %ld", &a, &b, &c, &d, &e, &f, &g, &u,
                    &y, &h) == 10) {
        s = {a, b, c, d, e, f, g, u, y};
        s.heap_kib = h;  // not by position: io_us comes first in the struct
    }
    return s;
}

// Only the server's CPU time so far (the other fields stay 0).
server_stats ask_cpu(control_channel& ctl) {
    ctl.send("cpu");
    server_stats s;
    if (std::sscanf(ctl.receive().c_str(), "cpu %lld %lld %lld", &s.user_us, &s.sys_us, &s.io_us) != 3)
        std::fprintf(stderr, "the server did not report its CPU time\n");
    return s;
}

// The server's own view of the newest tip's fan-out (server::last_fanout).
struct server_fanout {
    std::size_t sessions = 0;
    clock_type::time_point received_at{};
    double p50_ms = 0, p99_ms = 0, last_ms = 0;  // after received_at
};

server_fanout ask_fanout(control_channel& ctl) {
    ctl.send("fanout");
    server_fanout f;
    unsigned long long n = 0;
    long long at = 0, p50 = 0, p99 = 0, last = 0;
    if (std::sscanf(ctl.receive().c_str(), "fanout %llu %lld %lld %lld %lld", &n, &at, &p50, &p99, &last) != 5) {
        std::fprintf(stderr, "the server did not report its fan-out\n");
        return f;
    }
    f.sessions = n;
    f.received_at = clock_type::time_point(std::chrono::duration_cast<clock_type::duration>(std::chrono::nanoseconds(at)));
    f.p50_ms = static_cast<double>(p50) / 1e6;
    f.p99_ms = static_cast<double>(p99) / 1e6;
    f.last_ms = static_cast<double>(last) / 1e6;
    return f;
}

// A template in the server; returns the server's clock just before it took it.
clock_type::time_point send_template(control_channel& ctl, int prev, unsigned bump) {
    ctl.send("template " + std::to_string(prev) + " " + std::to_string(bump));
    const std::string r = ctl.receive();
    long long ns = 0;
    if (std::sscanf(r.c_str(), "t0 %lld", &ns) != 1) {
        std::fprintf(stderr, "server did not take the template: '%s'\n", r.c_str());
        std::exit(1);
    }
    return clock_type::time_point(std::chrono::duration_cast<clock_type::duration>(std::chrono::nanoseconds(ns)));
}

}  // namespace

int main(int argc, char** argv) {
    options opt;
    if (!parse_options(argc, argv, opt)) {
        usage();
        return 2;
    }
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    throwaway_cert cert;
    std::optional<asio::ssl::context> client_tls;
    if (opt.tls) {
        if (!cert.create()) return 1;
        client_tls.emplace(asio::ssl::context::tls_client);
        client_tls->set_verify_mode(asio::ssl::verify_none);  // the certificate is the run's own
        std::printf("mode: tls (listener TLS only, self-signed P-256 certificate made for this run; clients do "
                    "not verify it; each client handshakes, then subscribes)\n");
    }

    // One descriptor per session on each side (the server's end in the child, the
    // client's here), plus slack.
    const rlim_t nofile = raise_nofile(opt.sessions + 1024);
    std::printf("rlimit_nofile: %llu per process (needed about %zu in each of the two)\n",
                static_cast<unsigned long long>(nofile), opt.sessions + 64);
    const std::size_t fit = nofile > 128 ? static_cast<std::size_t>(nofile - 64) : 0;
    if (fit < opt.sessions) {
        std::printf("sessions_capped: %zu requested, %zu fit under RLIMIT_NOFILE %llu\n", opt.sessions, fit,
                    static_cast<unsigned long long>(nofile));
        opt.sessions = fit;
    }
    status_fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    {
        std::ifstream f(SB_TEST_VECTORS_DIR "/getblocktemplate.json");
        std::stringstream ss;
        ss << f.rdbuf();
        fixture_json = ss.str();
    }

    // Forked before any thread exists in either process.
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        std::perror("socketpair");
        return 1;
    }
    const pid_t child = ::fork();
    if (child < 0) {
        std::perror("fork");
        return 1;
    }
    if (child == 0) {
        ::close(sv[0]);
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        ::close(status_fd);
        status_fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
        std::_Exit(server_main(opt, sv[1], opt.tls ? &cert : nullptr));
    }
    ::close(sv[1]);
    control_channel ctl(sv[0]);
    std::printf("statistics: %s\n", opt.stats ? "on (share sink + a tick a second)" : "off");
    std::printf("setup: sessions %zu, server threads %u (child process %d), client threads %u, cores %u (shared by client and server)\n",
                opt.sessions, opt.server_threads, static_cast<int>(child), opt.client_threads,
                std::thread::hardware_concurrency());

    unsigned port = 0;
    long srv_rss_start_kib = 0, srv_rss_before_kib = 0, srv_heap_before_kib = 0;
    if (std::sscanf(ctl.receive().c_str(), "port %u %ld %ld %ld", &port, &srv_rss_start_kib, &srv_rss_before_kib,
                    &srv_heap_before_kib) != 4) {
        std::fprintf(stderr, "the server did not start\n");
        return 1;
    }
    cert.remove();  // the listener has loaded it
    const long cli_rss_before_kib = vm_rss_kib();

    // ---- clients ---------------------------------------------------------------------
    bench_state st;
    std::vector<std::unique_ptr<client_thread>> clients;
    for (unsigned i = 0; i < opt.client_threads; ++i) {
        auto c = std::make_unique<client_thread>();
        c->st = &st;
        c->server = tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<std::uint16_t>(port));
        c->parallel = std::max<std::size_t>(1, opt.connect_parallel / opt.client_threads);
        c->tls = client_tls ? &*client_tls : nullptr;
        clients.push_back(std::move(c));
    }
    for (std::size_t i = 0; i < opt.sessions; ++i) clients[i % clients.size()]->to_connect.push_back(i);
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> client_work;
    for (auto& c : clients) client_work.push_back(asio::make_work_guard(c->io));

    const auto t_connect = clock_type::now();
    for (auto& c : clients) {
        asio::post(c->io, [p = c.get()] { p->connect_more(); });
        c->thread = std::thread([p = c.get()] { p->io.run(); });
    }
    const bool all_connected = wait_until(
        [&] { return st.ready.load() + st.closed.load() >= opt.sessions; }, 120);
    const double connect_s = std::chrono::duration<double>(clock_type::now() - t_connect).count();
    const std::size_t connected = st.ready.load();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const auto srv_after = ask_stats(ctl);
    const long cli_rss_after_kib = vm_rss_kib();
    std::printf("sessions_connected: %zu of %zu (subscribed, authorized, first notify) in %.3f s (%.0f sessions/s)%s\n",
                connected, opt.sessions, connect_s, static_cast<double>(connected) / connect_s,
                all_connected ? "" : " [timed out]");
    std::printf("server_connection_count: %llu\n", static_cast<unsigned long long>(srv_after.connections));
    if (opt.tls) {
        std::lock_guard lock(st.mu);
        std::printf("tls_negotiated: %s (the first session's)\n", st.tls_negotiated.c_str());
    }
    std::printf("server_rss_start: %ld KiB (child process, before the server)\n", srv_rss_start_kib);
    std::printf("server_rss_before_connect: %ld KiB (server listening, dispatcher with its first job)\n",
                srv_rss_before_kib);
    std::printf("server_rss_after_connect: %ld KiB (VmHWM %ld KiB)\n", srv_after.rss_kib, srv_after.hwm_kib);
    const double srv_per_session = connected ? static_cast<double>(srv_after.rss_kib - srv_rss_before_kib) /
                                                   static_cast<double>(connected)
                                             : 0.0;
    const double budget_kib = 65536.0 + 8.0 * static_cast<double>(connected);
    std::printf("server_rss_per_session: %.2f KiB (server process alone); budget 64 MiB + 8 KiB x %zu = %.0f KiB: %s\n",
                srv_per_session, connected, budget_kib,
                static_cast<double>(srv_after.rss_kib) <= budget_kib ? "within" : "over");
    std::printf("server_heap_per_session: %.2f KiB (malloc'ed and not freed: %ld KiB before connecting, %ld KiB after)\n",
                connected ? static_cast<double>(srv_after.heap_kib - srv_heap_before_kib) / static_cast<double>(connected)
                          : 0.0,
                srv_heap_before_kib, srv_after.heap_kib);
    std::printf("client_rss: %ld KiB before connecting, %ld KiB after (%.2f KiB per session, the load generator)\n",
                cli_rss_before_kib, cli_rss_after_kib,
                connected ? static_cast<double>(cli_rss_after_kib - cli_rss_before_kib) / static_cast<double>(connected)
                          : 0.0);

    auto reset_counters = [&] {
        st.replies = 0;
        st.accepted = 0;
        std::lock_guard lock(st.mu);
        st.errors.clear();
    };
    auto verdicts = [&] {
        std::string out = "accepted " + std::to_string(st.accepted.load());
        std::lock_guard lock(st.mu);
        for (auto& [code, n] : st.errors) out += ", error " + std::to_string(code) + ": " + std::to_string(n);
        return out;
    };
    auto drain = [&] {
        std::uint64_t last = ~0ull;
        while (st.replies.load() != last) {
            last = st.replies.load();
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
        }
    };
    auto fresh_job = [&](std::uint32_t bump) {
        const auto before = st.notifies.load();
        send_template(ctl, 0, bump);
        wait_until([&] { return st.notifies.load() >= before + connected; }, 30);
    };

    // ---- idle ----------------------------------------------------------------------------
    // Nothing but the dispatcher's keep-alive jobs (every 30 s) reaches the sessions.
    if (opt.idle_seconds > 0) {
        const auto idle_before = ask_cpu(ctl);
        const auto notifies_before = st.notifies.load();
        std::this_thread::sleep_for(std::chrono::duration<double>(opt.idle_seconds));
        const auto idle_after = ask_cpu(ctl);
        const double per_session_per_min =
            connected ? 1000.0 * idle_after.cpu_ms_since(idle_before) / static_cast<double>(connected) /
                            (opt.idle_seconds / 60.0)
                      : 0.0;
        std::printf("idle: server CPU %.2f us per session per minute (%s over %.0f s; %.2f keep-alive notifies per "
                    "session)\n",
                    per_session_per_min, idle_after.cpu_split_since(idle_before).c_str(), opt.idle_seconds,
                    connected ? static_cast<double>(st.notifies.load() - notifies_before) / static_cast<double>(connected)
                              : 0.0);
        const auto idle_stats = ask_stats(ctl);
        std::printf("server_rss_after_idle: %ld KiB (heap %ld KiB)\n", idle_stats.rss_kib, idle_stats.heap_kib);
    }

    // ---- long-lived sessions --------------------------------------------------------------
    // A session remembers its last jobs (stratum::max_tracked_jobs): what it holds after
    // that many more, one after another as the keep-alive would bring them every 30 s.
    if (opt.steady_jobs > 0) {
        for (unsigned k = 0; k < opt.steady_jobs; ++k) fresh_job(1000 + k);
        const auto steady = ask_stats(ctl);
        std::printf("server_rss_after_%u_jobs: %ld KiB (%.2f KiB per session; heap %.2f KiB per session)\n",
                    opt.steady_jobs, steady.rss_kib,
                    connected ? static_cast<double>(steady.rss_kib - srv_rss_before_kib) / static_cast<double>(connected)
                              : 0.0,
                    connected ? static_cast<double>(steady.heap_kib - srv_heap_before_kib) /
                                    static_cast<double>(connected)
                              : 0.0);
    }

    // ---- closed-loop share throughput --------------------------------------------------
    reset_counters();
    const auto tp_before = ask_cpu(ctl);
    st.mode = static_cast<int>(phase::closed_loop);
    const auto t_tp = clock_type::now();
    for (auto& c : clients)
        asio::post(c->io, [p = c.get(), w = opt.window] {
            for (auto& s : p->sessions)
                for (unsigned k = 0; k < w; ++k) s->submit(false);
        });
    std::this_thread::sleep_for(std::chrono::duration<double>(opt.seconds));
    const std::uint64_t tp_replies = st.replies.load();
    const double tp_s = std::chrono::duration<double>(clock_type::now() - t_tp).count();
    st.mode = static_cast<int>(phase::idle);
    const auto tp_cpu = ask_cpu(ctl);
    const auto tp_stats = ask_stats(ctl);
    std::printf("shares_per_s: %.0f validated (%" PRIu64 " submit replies in %.2f s, %u in flight per session over %zu sessions)\n",
                static_cast<double>(tp_replies) / tp_s, tp_replies, tp_s, opt.window, connected);
    std::printf("shares_verdicts: %s (server totals: accepted %llu, rejected %llu)\n", verdicts().c_str(),
                static_cast<unsigned long long>(tp_stats.accepted), static_cast<unsigned long long>(tp_stats.rejected));
    std::printf("server_cpu_per_share: %.2f us (%s over %" PRIu64 " submits; %.2f of %u cores)\n",
                tp_replies ? 1000.0 * tp_cpu.cpu_ms_since(tp_before) / static_cast<double>(tp_replies) : 0.0,
                tp_cpu.cpu_split_since(tp_before).c_str(), tp_replies, tp_cpu.cpu_ms_since(tp_before) / 1000.0 / tp_s,
                std::thread::hardware_concurrency());
    // The share path alone: what the statistics add on the threads that answer miners (their
    // once-a-second tick runs on a thread of its own, counted above but not here).
    std::printf("server_io_threads_cpu_per_share: %.2f us (the %u Stratum I/O thread%s alone)\n",
                tp_replies ? static_cast<double>(tp_cpu.io_us - tp_before.io_us) / static_cast<double>(tp_replies) : 0.0,
                opt.server_threads, opt.server_threads == 1 ? "" : "s");
    drain();

    // ---- submit reply latency at a fixed offered rate ------------------------------------
    // A fresh job first: the dispatcher remembers at most 65536 share keys per job and then
    // turns the job stale, which the throughput phase has done.
    fresh_job(1);
    reset_counters();
    const auto ol_before = ask_cpu(ctl);
    for (auto& c : clients) c->latency_ms.clear();
    st.mode = static_cast<int>(phase::open_loop);
    const auto t_ol = clock_type::now();
    for (auto& c : clients)
        asio::post(c->io, [p = c.get(), t_ol, r = opt.rate / static_cast<double>(clients.size())] {
            open_loop_tick(*p, std::make_shared<asio::steady_timer>(p->io), t_ol, r, 0);
        });
    const double ol_seconds = std::min(opt.seconds, 60000.0 / opt.rate);  // stay under 65536 keys per job
    std::this_thread::sleep_for(std::chrono::duration<double>(ol_seconds));
    st.mode = static_cast<int>(phase::idle);
    drain();
    std::vector<double> lat;
    for (auto& c : clients) {
        std::promise<void> done;
        asio::post(c->io, [&] {
            lat.insert(lat.end(), c->latency_ms.begin(), c->latency_ms.end());
            done.set_value();
        });
        done.get_future().wait();
    }
    const std::size_t lat_n = lat.size();
    const double p50 = bench::percentile(lat, 0.50), p99 = bench::percentile(lat, 0.99), pmax = bench::max_of(lat);
    const auto ol_after = ask_cpu(ctl);
    std::printf("submit_latency_at_%.0f_per_s: p50 %.3f ms, p99 %.3f ms, max %.3f ms (%zu replies in %.2f s; %s)\n",
                opt.rate, p50, p99, pmax, lat_n, ol_seconds, verdicts().c_str());
    std::printf("server_cpu_at_%.0f_per_s: %.2f us per submit (%s)\n", opt.rate,
                lat_n ? 1000.0 * ol_after.cpu_ms_since(ol_before) / static_cast<double>(lat_n) : 0.0,
                ol_after.cpu_split_since(ol_before).c_str());

    // ---- new tip → clean notify to every session ------------------------------------------
    // From the server's clock just before the dispatcher takes the new-tip template to
    // each client reading its clean notify (CLOCK_MONOTONIC is one clock for both processes).
    for (unsigned round = 1; round <= opt.tips; ++round) {
        {
            std::lock_guard lock(st.mu);
            st.tip_at.clear();
        }
        st.tip_seen = 0;
        const auto tip_before = ask_cpu(ctl);
        st.tip_round.store(round, std::memory_order_release);
        const auto t0 = send_template(ctl, static_cast<int>(round), 0);
        const bool all = wait_until([&] { return st.tip_seen.load() >= connected; }, 30);
        const auto tip_after = ask_cpu(ctl);
        std::vector<double> v;
        {
            std::lock_guard lock(st.mu);
            for (auto t : st.tip_at) v.push_back(ms_since(t0, t));
        }
        const std::size_t n = v.size();
        const double q50 = bench::percentile(v, 0.50), q99 = bench::percentile(v, 0.99), qmax = bench::max_of(v);
        const double qmin = bench::min_of(v);
        std::printf("new_tip_clean_notify round %u: first %.2f ms, p50 %.2f ms, p99 %.2f ms, max %.2f ms (%zu of %zu sessions)%s; server CPU %.2f us per session (%s)\n",
                    round, qmin, q50, q99, qmax, n, connected, all ? "" : " [timed out]",
                    connected ? 1000.0 * tip_after.cpu_ms_since(tip_before) / static_cast<double>(connected) : 0.0,
                    tip_after.cpu_split_since(tip_before).c_str());
        // Inside the server: from the same t0 (tip known: the dispatcher takes the template)
        // to each session's clean notify handed to the kernel.
        // A client can read its notify before the server's write call has returned: wait
        // (bounded) for the server's last sessions to be counted.
        auto f = ask_fanout(ctl);
        for (int i = 0; i < 100 && f.sessions < n; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            f = ask_fanout(ctl);
        }
        const double reach_ms = ms_since(t0, f.received_at);
        // A TLS session's notify goes through async_write: the server counts it in the
        // completion handler, which runs after the kernel has the bytes (the clients can
        // have read it by then), so over TLS the figure is later than the hand-over.
        std::printf("new_tip_fanout_in_server round %u: p50 %.2f ms, p99 %.2f ms, last %.2f ms (%zu sessions; tip known "
                    "to the first session's job %.2f ms, included%s)\n",
                    round, reach_ms + f.p50_ms, reach_ms + f.p99_ms, reach_ms + f.last_ms, f.sessions, reach_ms,
                    opt.tls ? "; TLS: counted when each write's completion handler ran, after the kernel took the bytes"
                            : "");
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }

    const auto end_stats = ask_stats(ctl);
    std::printf("server_rss_end: %ld KiB (VmHWM %ld KiB)\n", end_stats.rss_kib, end_stats.hwm_kib);
    std::printf("client_rss_end: %ld KiB\n", vm_rss_kib());
    std::printf("blocks_found: %llu (expected 0: bits 1d00ffff)\n", static_cast<unsigned long long>(end_stats.blocks));
    std::printf("sessions_closed_during_run: %zu (client side), server log lines: %llu\n", st.closed.load(),
                static_cast<unsigned long long>(end_stats.log_lines));

    // ---- teardown ------------------------------------------------------------------------
    ctl.send("quit");
    for (auto& c : clients) {
        asio::post(c->io, [p = c.get()] { p->io.stop(); });
        c->thread.join();
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    return 0;
}
