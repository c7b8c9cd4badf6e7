// The only Asio TU of the Stratum server (each costs ~15 s to compile): the listener and
// the session I/O, Beast-example style: do_x / on_x handlers on one strand per session,
// the error checked first in each handler, a bounded write queue that pauses reading and
// drops a reader that falls too far behind.
//
// What an idle session holds is kept small (docs/PERFORMANCE.md, "What a session holds"):
// a plain-TCP session waits for readability instead of keeping a read buffer (the bytes
// are read into one buffer per I/O thread and copied into the line reader, which frees its
// buffer again once no partial line is pending); lines are written straight from what the
// protocol produced (a notify from the bytes every session shares) and only what the socket
// does not take is queued, in a queue that exists only while it holds something; the
// dashboard reads the protocol's own statistics under a per-session mutex instead of a
// copy. TLS sessions keep their own read buffer (the TLS stream reads ahead).
#include "stratum/server.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include "sb/pow/algorithm.hpp"
#include "stratum/codec.hpp"
#include "stratum/kawpow_protocol.hpp"

namespace sb::bridge::stratum {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

using tls_stream = ssl::stream<tcp::socket>;

// The key an address is scored and banned under: the address itself, an IPv4-mapped IPv6
// address as IPv4, any other IPv6 address per /64 (one host usually holds a whole /64,
// and per address a ban would cost an attacker nothing).
std::string ban_key(const asio::ip::address& a) {
    if (!a.is_v6()) return a.to_string();
    const auto v6 = a.to_v6();
    if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_string();
    auto b = v6.to_bytes();
    std::fill(b.begin() + 8, b.end(), static_cast<unsigned char>(0));
    return asio::ip::address_v6(b).to_string() + "/64";
}

std::string seconds_text(std::chrono::milliseconds ms) {
    const auto n = ms.count();
    return n % 1000 == 0 ? std::to_string(n / 1000) + " s" : std::to_string(n) + " ms";
}

tcp::socket& lowest_layer(tcp::socket& s) { return s; }
tcp::socket& lowest_layer(tls_stream& s) { return s.next_layer(); }

// Where a plain-TCP session reads to: one buffer per I/O thread instead of one per
// session. A read's bytes are fed to the session's line reader (a copy) before anything
// else runs on the thread.
std::span<char> thread_read_buffer() {
    thread_local std::array<char, read_chunk_bytes> buffer;
    return buffer;
}

// The server side a session reports to, and what the server can ask of a session.
class session_handle {
public:
    virtual ~session_handle() = default;
    // Posted to the session's strand: send line to a subscribed session.
    virtual void post_send(std::string line) = 0;
    virtual void post_close(std::string reason) = 0;
    // What the dashboard shows of the connection now (any thread).
    virtual session_stats stats() const = 0;
};

// The new-tip fan-out (server.hpp notify_fanout). A round starts when the first clean job
// of a new tip (prev_block) is handed to a session; each session that hands its clean
// notify of that round to the kernel adds the time since then.
class fanout_meter {
public:
    using clock = std::chrono::steady_clock;

    // cap: the most sessions a round records (the server's connection cap).
    explicit fanout_meter(std::size_t cap) : cap_(cap) {}

    // A job on its way to a session (on the work source's fan-out thread). The round of a
    // clean job; 0 for any other.
    std::uint64_t arrived(const job& j) {
        if (!j.clean) return 0;
        std::lock_guard lock(mu_);
        if (round_ == 0 || j.prev_block != prev_) {
            ++round_;
            prev_ = j.prev_block;
            job_id_ = j.id;
            received_at_ = clock::now();
            handed_.clear();
        }
        return round_;
    }

    // A session's clean notify of round has left for the kernel (the write returned).
    void handed(std::uint64_t round, clock::time_point at) {
        std::lock_guard lock(mu_);
        // At most one per session; the cap bounds the rest.
        if (round == round_ && handed_.size() < cap_) handed_.push_back(at - received_at_);
    }

    notify_fanout last() const {
        notify_fanout f;
        std::vector<clock::duration> v;
        {
            std::lock_guard lock(mu_);
            if (round_ == 0) return f;
            f.job_id = job_id_;
            f.received_at = received_at_;
            v = handed_;
        }
        f.sessions = v.size();
        if (v.empty()) return f;
        std::sort(v.begin(), v.end());
        // Nearest rank.
        auto rank = [&](double q) {
            const auto r = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
            return v[std::clamp<std::size_t>(r, 1, v.size()) - 1];
        };
        f.p50 = rank(0.50);
        f.p99 = rank(0.99);
        f.last = v.back();
        return f;
    }

private:
    const std::size_t cap_;
    mutable std::mutex mu_;
    std::uint64_t round_ = 0;
    hash256 prev_{};
    std::string job_id_;
    clock::time_point received_at_{};
    std::vector<clock::duration> handed_;
};

}  // namespace

struct detail::server_state : std::enable_shared_from_this<detail::server_state> {
    struct listener {
        config::stratum_listener settings;
        std::unique_ptr<ssl::context> tls;
        std::optional<tcp::acceptor> acceptor;
        std::optional<asio::steady_timer> retry;  // pauses accepting after an accept error
        listener_info info;
    };
    struct entry {
        std::weak_ptr<session_handle> session;
        std::string ip;
        std::string ban_key;
        bool bannable = true;  // false: loopback with ban_loopback off
        bool mining = false;   // has had a share accepted: vouches for ban_key
    };

    server_state(asio::io_context& io_, std::shared_ptr<work_source> source_, server_options options_)
        : io(io_),
          source(std::move(source_)),
          options(std::move(options_)),
          fanout(options.max_connections),
          bans(options.bans),
          quiet_log(options.quiet_close_log_interval) {}

    void log(std::string_view s, log_level level = log_level::info) const { options.log.write(level, s); }

    void do_accept(std::size_t index);
    void on_accept(std::size_t index, const error_code& ec, tcp::socket socket);
    // Starts the session of connection id (registered by on_accept) on listener index, over
    // TLS or plain TCP; its subscribe deadline runs from accepted_at.
    void open_session(std::size_t index, std::uint64_t id, tcp::socket socket, bool tls,
                      session_core::clock::time_point accepted_at);
    // Session id has had its first share accepted: its address is vouched for (no ban).
    void note_mining(std::uint64_t id);
    // A session ended; misbehaviour scores its IP (and may ban it). A quiet close (quiet:
    // its kind) logs reason through the per-address throttle instead of the caller.
    void on_closed(std::uint64_t id, misbehaviour why, const std::string& reason, std::string_view quiet = {});

    asio::io_context& io;
    std::shared_ptr<work_source> source;
    server_options options;
    std::vector<listener> listeners;  // fixed after start()
    notify_cache notifies;            // SHA-256d notify lines, once per job
    fanout_meter fanout;

    mutable std::mutex mutex;  // guards everything below
    bool stopped = false;
    std::uint64_t next_id = 1;
    std::map<std::uint64_t, entry> sessions;
    std::map<std::string, std::size_t> per_ip;
    std::map<std::string, std::size_t> mining_per_key;  // ban key → open sessions with an accepted share
    ban_list bans;
    quiet_close_log quiet_log;
};

namespace {

template <class Stream, class Protocol>
class session final : public session_handle, public std::enable_shared_from_this<session<Stream, Protocol>> {
    static constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;
    static constexpr bool is_kawpow = std::is_same_v<Protocol, kawpow_session_protocol>;

    // What the work source holds: a weak link, so a source that keeps consumers does not
    // keep closed sessions alive.
    class forwarder final : public work_consumer {
    public:
        explicit forwarder(std::weak_ptr<session> s) : s_(std::move(s)) {}
        void on_job(std::shared_ptr<const job> j) override {
            if (auto s = s_.lock()) s->post_job(std::move(j));
        }

    private:
        std::weak_ptr<session> s_;
    };

public:
    using clock = session_core::clock;

    // difficulty: the listener's (server_state::listeners, fixed after start, outlives
    // the session through server_).
    session(Stream stream, std::shared_ptr<detail::server_state> srv, std::uint64_t id,
            const config::difficulty_settings& difficulty, clock::time_point accepted_at)
        : stream_(std::move(stream)),
          timer_(lowest_layer(stream_).get_executor()),
          server_(std::move(srv)),
          id_(id),
          difficulty_(&difficulty),
          accepted_at_(accepted_at) {}

    void start() {
        asio::dispatch(lowest_layer(stream_).get_executor(), [self = this->shared_from_this()] { self->do_start(); });
    }

    void post_job(std::shared_ptr<const job> j) {
        const std::uint64_t round = server_->fanout.arrived(*j);
        asio::post(lowest_layer(stream_).get_executor(), [self = this->shared_from_this(), j = std::move(j), round] {
            if (self->closed_ || !self->protocol_) return;
            session_output out;
            {
                std::lock_guard lock(self->stats_mutex_);
                self->protocol_->on_job(j, clock::now(), out);
            }
            // A session counts once per tip (another clean job of the same tip is no new fan-out).
            std::uint64_t counted = 0;
            if (round != 0 && round != self->fanout_done_ && !out.lines.empty()) {
                counted = round;
                self->fanout_done_ = round;
            }
            self->flush(out, counted);
        });
    }

    void post_send(std::string line) override {
        asio::post(lowest_layer(stream_).get_executor(),
                   [self = this->shared_from_this(), line = std::move(line)]() mutable {
                       // Nothing unsolicited before the subscribe reply (NerdMiner; stratum.md §0.2).
                       if (self->closed_ || !self->protocol_ || !self->protocol_->subscribed()) return;
                       std::vector<out_line> lines;
                       lines.emplace_back(std::move(line));
                       self->send(lines);
                   });
    }

    void post_close(std::string reason) override {
        asio::post(lowest_layer(stream_).get_executor(),
                   [self = this->shared_from_this(), reason = std::move(reason)] { self->close(reason); });
    }

    session_stats stats() const override {
        std::lock_guard lock(stats_mutex_);
        if (protocol_) return protocol_->stats();
        session_stats s;  // not started yet
        s.session_id = id_;
        s.tls = is_tls;
        return s;
    }

private:
    void do_start() {
        const auto& o = server_->options;
        error_code ec;
        const auto remote = lowest_layer(stream_).remote_endpoint(ec);
        session_settings s;
        s.difficulty = *difficulty_;
        s.payout = o.payout;
        s.net = o.net;
        s.extranonce2_size = o.extranonce2_size;
        s.subscribe_timeout = o.subscribe_timeout;
        s.share_idle_timeout = o.share_idle_timeout;
        s.send_version_mask = o.send_version_mask;
        s.rejected_submit_burst = o.rejected_submit_burst;
        s.rejected_submits_per_s = o.rejected_submits_per_s;
        s.notifies = &server_->notifies;
        s.log = o.log;  // the protocol prefixes its lines with stats().remote
        {
            std::lock_guard lock(stats_mutex_);
            protocol_.emplace(*server_->source, std::make_shared<forwarder>(this->weak_from_this()), std::move(s),
                              accepted_at_);
            auto& st = protocol_->stats();
            st.session_id = id_;
            st.remote = ec ? std::string("?") : remote.address().to_string() + ":" + std::to_string(remote.port());
            st.tls = is_tls;
        }
        arm_timer();
        if constexpr (is_tls) {
            stream_.async_handshake(ssl::stream_base::server,
                                    [self = this->shared_from_this()](const error_code& e) { self->on_handshake(e); });
        } else {
            // Reads and direct writes never wait: a readiness report can be spurious, and a
            // write hands the socket only what it takes at once.
            error_code nb;
            lowest_layer(stream_).non_blocking(true, nb);
            if (nb) return close("cannot make the socket non-blocking: " + nb.message());
            do_read();
        }
    }

    const std::string& remote() const { return protocol_->stats().remote; }

    void on_handshake(const error_code& ec) {
        // The connection opened with a TLS record (the listener peeked at it): a real TLS
        // client that could not agree with us (an old TLS version, our certificate not
        // trusted), not an attack.
        if (ec) return close("TLS handshake failed: " + ec.message() + ": closed without ban score", misbehaviour::none,
                             "tls-failed");
        if (closed_) return;
        do_read();
    }

    // The earliest of the protocol's deadline (subscribe or share idle), the write-stall
    // deadline while a write waits on the socket, the line deadline while a partial line
    // is pending (not while paced: the pending bytes then wait on us) and the end of a
    // pacing pause. An idle session's timer fires only at its protocol deadline.
    clock::time_point next_deadline() const {
        auto d = protocol_->deadline();
        if (writing_) d = std::min(d, write_started_ + server_->options.write_stall_timeout);
        if (paced_until_) return std::min(d, *paced_until_);
        if (line_started_) d = std::min(d, *line_started_ + server_->options.line_timeout);
        return d;
    }

    // One wait outstanding per generation; a re-arm makes older waits no-ops.
    void arm_timer() {
        armed_deadline_ = next_deadline();
        timer_.expires_at(armed_deadline_);
        timer_.async_wait([self = this->shared_from_this(), gen = ++timer_generation_](const error_code&) {
            self->on_timer(gen);
        });
    }

    // A deadline that moved later fires the timer early: check and wait again. One that
    // moved earlier (subscribe with a short idle timeout, a new partial line, a write that
    // waits on the socket) re-arms.
    void rearm_if_earlier() {
        if (!closed_ && next_deadline() < armed_deadline_) arm_timer();
    }

    void on_timer(std::uint64_t gen) {
        if (closed_ || gen != timer_generation_) return;
        const auto now = clock::now();
        const auto& o = server_->options;
        // Slow clients are closed, without ban score (limits.hpp "ban list").
        if (line_started_ && !paced_until_ && now >= *line_started_ + o.line_timeout)
            return close("slowloris: a line not completed within " + seconds_text(o.line_timeout));
        if (writing_ && now >= write_started_ + o.write_stall_timeout)
            return close("slow reader: a write stalled for " + seconds_text(o.write_stall_timeout));
        auto reason = protocol_->check_timeout(now);
        if (!reason.empty()) return close(reason);
        if (paced_until_ && now >= *paced_until_) {
            paced_until_.reset();
            handle_lines();
            if (closed_) return;
        }
        arm_timer();
    }

    void do_read() {
        // While paced nothing is read: what the client sends waits in its socket, not here.
        if (closed_ || reading_ || paced_until_) return;
        if (queued_bytes_ > write_queue_pause_bytes(server_->options.write_queue_limit)) {
            read_paused_ = true;
            return;
        }
        reading_ = true;
        if constexpr (is_tls) {
            if (!read_buf_) read_buf_ = std::make_unique_for_overwrite<char[]>(read_chunk_bytes);
            stream_.async_read_some(asio::buffer(read_buf_.get(), read_chunk_bytes),
                                    [self = this->shared_from_this()](const error_code& ec, std::size_t n) {
                                        self->reading_ = false;
                                        self->on_read(ec, std::string_view(self->read_buf_.get(), n));
                                    });
        } else {
            // No buffer while waiting: an idle connection holds none.
            stream_.async_wait(tcp::socket::wait_read,
                               [self = this->shared_from_this()](const error_code& ec) { self->on_readable(ec); });
        }
    }

    // Plain TCP: the socket has bytes (or an error, or EOF) to read.
    void on_readable(const error_code& ec) {
        reading_ = false;
        if (ec) return on_read(ec, {});
        if (closed_) return;
        const auto buffer = thread_read_buffer();
        error_code rec;
        const std::size_t n = stream_.read_some(asio::buffer(buffer.data(), buffer.size()), rec);
        if (rec == asio::error::would_block || rec == asio::error::try_again) return do_read();
        on_read(rec, std::string_view(buffer.data(), n));
    }

    void on_read(const error_code& ec, std::string_view data) {
        if (ec) return close(ec == asio::error::eof ? std::string("client closed the connection")
                                                    : "read failed: " + ec.message());
        if (closed_) return;
        if constexpr (!is_tls) {
            if (sniffing_) {
                // The first bytes of a plain connection: a TLS ClientHello is a client that
                // tries TLS first (cgminer family), closed without ban score.
                head_.append(data);
                const auto kind = classify_first_bytes(head_);
                if (kind == first_bytes::undecided) return do_read();
                sniffing_ = false;
                if (kind == first_bytes::tls_handshake)
                    return close("a TLS handshake on a plain Stratum listener: closed without ban score (clients "
                                 "that try TLS first retry in plain TCP; to serve TLS on this port give the listener "
                                 "a tls certificate with accept_plain)",
                                 misbehaviour::none, "tls-on-plain");
                const bool too_long = static_cast<bool>(reader_.feed(head_));
                head_ = std::string();
                if (too_long) return close("protocol violation: line longer than 16 KiB", misbehaviour::oversize_line);
                return handle_lines();
            }
        }
        if (reader_.feed(data))
            return close("protocol violation: line longer than 16 KiB", misbehaviour::oversize_line);
        handle_lines();
    }

    // Handles the complete lines received (unless paced), then reads on.
    void handle_lines() {
        session_output out;
        // The views stay valid until the next feed (after this loop).
        while (!paced_until_) {
            auto line = reader_.next_line_view();
            if (!line) break;
            {
                std::lock_guard lock(stats_mutex_);
                protocol_->on_line(*line, clock::now(), out);
            }
            if (!out.close_reason.empty() || out.pause_until != clock::time_point{}) break;
        }
        // The line deadline runs from the first byte of the pending partial line (here,
        // to within one read). Without one the reader gives its buffer back.
        if (reader_.pending_bytes() == 0) {
            line_started_.reset();
            reader_.release();
        } else if (!line_started_ || reader_.lines_consumed() != lines_seen_) {
            line_started_ = clock::now();
        }
        lines_seen_ = reader_.lines_consumed();
        flush(out);
        if (closed_) return;
        rearm_if_earlier();
        do_read();
    }

    // Sends what one event produced; fanout_round: the new-tip round (fanout_meter) when
    // the lines end in that tip's clean notify.
    void flush(session_output& out, std::uint64_t fanout_round = 0) {
        if (out.pause_until != clock::time_point{} && !closed_) {
            paced_until_ = std::max(paced_until_.value_or(out.pause_until), out.pause_until);
            rearm_if_earlier();
        }
        // Everything this event produced leaves in one write (set_difficulty with its
        // notify, the replies to pipelined submits): one syscall instead of one per line.
        send(out.lines, fanout_round);
        if constexpr (is_kawpow) {
            for (auto& p : out.verify) verify(std::move(p));
        }
        after_event();
        if (!out.close_reason.empty()) close(out.close_reason, out.why);
    }

    // Sends lines after anything still queued. A plain-TCP session with nothing queued
    // writes them at once from where they are (the usual case: a reply, a notify) and
    // queues only what the socket did not take; the queue's rest goes through async_write.
    void send(std::vector<out_line>& lines, std::uint64_t fanout_round = 0) {
        if (closed_ || lines.empty()) return;
        std::size_t first = 0, offset = 0;
        if constexpr (!is_tls) {
            if (!writing_ && queued_bytes_ == 0 && !write_now(lines, first, offset)) return;
        }
        if (first == lines.size()) {
            if (fanout_round != 0) server_->fanout.handed(fanout_round, clock::now());
            return resume_read_if_drained();
        }
        std::size_t bytes = lines[first].text().size() - offset;
        for (std::size_t i = first + 1; i < lines.size(); ++i) bytes += lines[i].text().size();
        const auto limit = server_->options.write_queue_limit;
        if (queued_bytes_ + bytes > limit)
            return close("slow reader: write queue over " + std::to_string(limit) + " bytes");
        if (!queue_) {
            queue_ = std::make_unique<std::deque<out_line>>();
            front_sent_ = offset;
        }
        for (std::size_t i = first; i < lines.size(); ++i) queue_->push_back(std::move(lines[i]));
        queued_bytes_ += bytes;
        if (fanout_round != 0) {
            // Handed to the kernel once everything queued up to its notify is.
            fanout_round_ = fanout_round;
            fanout_bytes_ = queued_bytes_;
        }
        if (!writing_) do_write();
    }

    // Plain TCP, nothing queued: writes lines from first (its first offset bytes already
    // sent) until all are sent or the socket would block, up to max_gather_lines a
    // writev. Advances first and offset; false when the session closed.
    bool write_now(const std::vector<out_line>& lines, std::size_t& first, std::size_t& offset) {
        std::array<asio::const_buffer, max_gather_lines> buffers;
        while (first < lines.size()) {
            std::size_t n = 0;
            for (std::size_t i = first; i < lines.size() && n < buffers.size(); ++i) {
                auto t = lines[i].text();
                if (i == first) t.remove_prefix(offset);
                buffers[n++] = asio::buffer(t.data(), t.size());
            }
            error_code ec;
            std::size_t sent = stream_.write_some(std::span(buffers.data(), n), ec);
            if (ec == asio::error::would_block || ec == asio::error::try_again) return true;
            if (ec) {
                close("write failed: " + ec.message());
                return false;
            }
            if (sent == 0) return true;
            while (sent > 0) {
                const std::size_t rest = lines[first].text().size() - offset;
                if (sent < rest) {
                    offset += sent;
                    break;
                }
                sent -= rest;
                ++first;
                offset = 0;
            }
        }
        return true;
    }

    // The queue's front lines (max_gather_lines at most) to the socket in one async_write;
    // the write-stall deadline runs meanwhile.
    void do_write() {
        writing_ = true;
        write_started_ = clock::now();
        gather_.clear();
        const std::size_t n = std::min(queue_->size(), max_gather_lines);
        for (std::size_t i = 0; i < n; ++i) {
            auto t = (*queue_)[i].text();
            if (i == 0) t.remove_prefix(front_sent_);
            gather_.push_back(asio::buffer(t.data(), t.size()));
        }
        rearm_if_earlier();
        // The deque keeps the lines in place while more are queued behind them.
        asio::async_write(stream_, gather_,
                          [self = this->shared_from_this()](const error_code& ec, std::size_t sent) {
                              self->on_write(ec, sent);
                          });
    }

    void on_write(const error_code& ec, std::size_t sent) {
        writing_ = false;
        if (ec) return close("write failed: " + ec.message());
        if (closed_) return;
        consume(sent);
        if (queue_->empty()) {
            // Drained: the queue and the gather list go, until a socket is full again.
            queue_.reset();
            gather_ = {};
            front_sent_ = 0;
        } else {
            do_write();
        }
        resume_read_if_drained();
    }

    // Drops sent bytes from the front of the queue (a partly sent line keeps its place and
    // its offset), and reports a pending clean notify once it is out.
    void consume(std::size_t sent) {
        queued_bytes_ -= sent;
        if (fanout_round_ != 0) {
            fanout_bytes_ -= std::min(sent, fanout_bytes_);
            if (fanout_bytes_ == 0) {
                server_->fanout.handed(fanout_round_, clock::now());
                fanout_round_ = 0;
            }
        }
        while (sent > 0 && !queue_->empty()) {
            const std::size_t rest = queue_->front().text().size() - front_sent_;
            if (sent < rest) {
                front_sent_ += sent;
                return;
            }
            sent -= rest;
            front_sent_ = 0;
            queue_->pop_front();
        }
    }

    void resume_read_if_drained() {
        if (!closed_ && read_paused_ && queued_bytes_ <= write_queue_pause_bytes(server_->options.write_queue_limit)) {
            read_paused_ = false;
            do_read();
        }
    }

    static std::size_t write_queue_pause_bytes(std::size_t limit) { return limit / write_queue_pause_divisor; }

    // KAWPOW: the share is judged by the verification runner, the verdict comes back to
    // this strand. A session closed meanwhile drops it (the block, if any, was already
    // handed to the submitter by the judgement).
    void verify(kawpow_pending_submit p) {
        auto job = [self = this->shared_from_this(), p = std::move(p)]() mutable {
            auto r = self->server_->source->submit_kawpow_share(p.consumer, p.share);
            asio::post(lowest_layer(self->stream_).get_executor(),
                       [self, p = std::move(p), r = std::move(r)] {
                           if (self->closed_ || !self->protocol_) return;
                           session_output out;
                           {
                               std::lock_guard lock(self->stats_mutex_);
                               self->protocol_->on_verdict(p, r, clock::now(), out);
                           }
                           self->flush(out);
                       });
        };
        if (server_->options.verify)
            server_->options.verify(std::move(job));
        else
            job();
    }

    // After each event: the first accepted share vouches for the address.
    void after_event() {
        if (!mining_ && protocol_ && protocol_->stats().accepted > 0) {
            mining_ = true;
            server_->note_mining(id_);
        }
    }

    // Closes the connection; why scores its address. A quiet close (quiet: its kind) is
    // logged by the server once per address and kind, not here.
    void close(const std::string& reason, misbehaviour why = misbehaviour::none, std::string_view quiet = {}) {
        if (closed_) return;
        closed_ = true;
        if (quiet.empty()) server_->log((protocol_ ? remote() : std::string("?")) + ": closed: " + reason);
        if (protocol_) protocol_->release();
        timer_.cancel();
        error_code ignored;
        lowest_layer(stream_).shutdown(tcp::socket::shutdown_both, ignored);
        lowest_layer(stream_).close(ignored);
        queue_.reset();
        gather_ = {};
        queued_bytes_ = 0;
        fanout_round_ = 0;
        line_started_.reset();
        paced_until_.reset();
        reader_.release();
        server_->on_closed(id_, why, reason, quiet);
    }

    // Members, largest first where it costs nothing (docs/PERFORMANCE.md lists the bytes).
    Stream stream_;
    asio::steady_timer timer_;
    std::shared_ptr<detail::server_state> server_;
    std::uint64_t id_;
    const config::difficulty_settings* difficulty_;  // the listener's
    clock::time_point accepted_at_;
    clock::time_point armed_deadline_{};
    clock::time_point write_started_{};               // of the async write in flight
    std::uint64_t timer_generation_ = 0;
    std::uint64_t lines_seen_ = 0;                    // reader_.lines_consumed() after the last read
    std::optional<clock::time_point> line_started_;  // first byte of the pending partial line
    std::optional<clock::time_point> paced_until_;   // reading paused until then (rejected submits)
    // Guards protocol_ against stats() from other threads; the strand holds it while the
    // protocol handles an event (it changes the statistics).
    mutable std::mutex stats_mutex_;
    std::optional<Protocol> protocol_;
    line_reader reader_;
    std::string head_;  // plain: the first bytes, until classify_first_bytes decides
    // What the socket has not taken yet: exists only while it holds a line.
    std::unique_ptr<std::deque<out_line>> queue_;
    std::size_t front_sent_ = 0;              // bytes of the queue's front line already written
    std::size_t queued_bytes_ = 0;            // in queue_, less front_sent_
    std::vector<asio::const_buffer> gather_;  // the async write in flight (front of queue_)
    std::uint64_t fanout_round_ = 0;          // a clean notify queued for the kernel (fanout_meter)
    std::size_t fanout_bytes_ = 0;            // queued bytes up to the end of that notify
    std::uint64_t fanout_done_ = 0;           // the last round this session counted in
    std::unique_ptr<char[]> read_buf_;        // TLS only: the TLS stream reads into it
    bool sniffing_ = !is_tls;                 // plain: the first bytes are not classified yet
    bool mining_ = false;                     // note_mining was sent
    bool reading_ = false;
    bool writing_ = false;
    bool read_paused_ = false;
    bool closed_ = false;
};

class first_byte_sniffer final : public session_handle, public std::enable_shared_from_this<first_byte_sniffer> {
public:
    using clock = session_core::clock;

    first_byte_sniffer(tcp::socket socket, std::shared_ptr<detail::server_state> srv, std::size_t listener,
                       std::uint64_t id, clock::time_point accepted_at)
        : socket_(std::move(socket)),
          timer_(socket_.get_executor()),
          server_(std::move(srv)),
          listener_(listener),
          id_(id),
          accepted_at_(accepted_at),
          connected_at_(std::chrono::system_clock::now()),
          remote_(remote_text(socket_)) {}

    void start() {
        asio::dispatch(socket_.get_executor(), [self = shared_from_this()] {
            error_code ec;
            // The peek must never block an I/O thread (a readiness report can be spurious).
            self->socket_.non_blocking(true, ec);
            self->timer_.expires_at(self->accepted_at_ + self->server_->options.subscribe_timeout);
            self->timer_.async_wait([self](const error_code& e) {
                if (!e) self->close("no mining.subscribe within the subscribe timeout");
            });
            self->socket_.async_wait(tcp::socket::wait_read, [self](const error_code& e) { self->on_readable(e); });
        });
    }

    // Nothing unsolicited before the subscribe reply (stratum.md §0.2).
    void post_send(std::string) override {}

    void post_close(std::string reason) override {
        asio::post(socket_.get_executor(),
                   [self = shared_from_this(), reason = std::move(reason)] { self->close(reason); });
    }

    session_stats stats() const override {
        session_stats s;
        s.session_id = id_;
        s.remote = remote_;
        s.connected_at = connected_at_;
        return s;
    }

private:
    static std::string remote_text(const tcp::socket& s) {
        error_code ec;
        const auto remote = s.remote_endpoint(ec);
        return ec ? std::string("?") : remote.address().to_string() + ":" + std::to_string(remote.port());
    }

    void on_readable(const error_code& ec) {
        if (done_) return;
        if (ec) return close("read failed: " + ec.message());
        unsigned char first = 0;
        error_code rec;
        const std::size_t n = socket_.receive(asio::buffer(&first, 1), tcp::socket::message_peek, rec);
        if (rec == asio::error::would_block || rec == asio::error::try_again) {
            socket_.async_wait(tcp::socket::wait_read,
                               [self = shared_from_this()](const error_code& e) { self->on_readable(e); });
            return;
        }
        if (rec == asio::error::eof || (!rec && n == 0)) return close("client closed the connection");
        if (rec) return close("read failed: " + rec.message());
        const bool plain_too = server_->listeners[listener_].settings.tls->accept_plain;
        if (first == tls_record_handshake || plain_too) return hand_over(first == tls_record_handshake);
        if (starts_plain_stratum(first))
            return close("plain Stratum on a TLS-only listener: closed without ban score (point the miner at a plain "
                         "listener, or set tls.accept_plain on this one)",
                         misbehaviour::none, "plain-on-tls");
        close("protocol violation: neither a TLS handshake nor Stratum", misbehaviour::garbage);
    }

    void hand_over(bool tls) {
        done_ = true;
        timer_.cancel();
        error_code ignored;
        socket_.non_blocking(false, ignored);
        server_->open_session(listener_, id_, std::move(socket_), tls, accepted_at_);
    }

    void close(const std::string& reason, misbehaviour why = misbehaviour::none, std::string_view quiet = {}) {
        if (done_) return;
        done_ = true;
        if (quiet.empty()) server_->log(remote_ + ": closed: " + reason);
        timer_.cancel();
        error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_both, ignored);
        socket_.close(ignored);
        server_->on_closed(id_, why, reason, quiet);
    }

    tcp::socket socket_;
    asio::steady_timer timer_;
    std::shared_ptr<detail::server_state> server_;
    std::size_t listener_;
    std::uint64_t id_;
    clock::time_point accepted_at_;
    std::chrono::system_clock::time_point connected_at_;
    const std::string remote_;
    bool done_ = false;  // handed over or closed
};

}  // namespace

void detail::server_state::do_accept(std::size_t index) {
    auto& l = listeners[index];
    l.acceptor->async_accept(asio::make_strand(io), [self = shared_from_this(), index](const error_code& ec,
                                                                                        tcp::socket socket) {
        self->on_accept(index, ec, std::move(socket));
    });
}

void detail::server_state::on_accept(std::size_t index, const error_code& ec, tcp::socket socket) {
    {
        std::lock_guard lock(mutex);
        if (stopped) return;
    }
    if (ec) {
        if (ec == asio::error::operation_aborted) return;
        // Out of descriptors and the like: retry after a pause instead of spinning.
        log("accept failed: " + ec.message(), log_level::warn);
        auto& timer = listeners[index].retry;
        timer->expires_after(accept_retry_delay);
        timer->async_wait([self = shared_from_this(), index](const error_code& e) {
            if (!e) self->do_accept(index);
        });
        return;
    }
    error_code rec;
    const auto remote = socket.remote_endpoint(rec);
    if (rec) return do_accept(index);
    // Replies and notifies are small and latency-bound: no Nagle delay.
    socket.set_option(tcp::no_delay(true), rec);
    const std::string ip = remote.address().to_string();
    const std::string key = ban_key(remote.address());
    const bool bannable = options.ban_loopback || !remote.address().is_loopback();
    auto& l = listeners[index];
    const auto accepted_at = session_core::clock::now();
    std::uint64_t id = 0;
    {
        std::lock_guard lock(mutex);
        // A banned IP is closed before anything is read (or a TLS handshake is spent).
        if (bannable && bans.banned(key, accepted_at, true)) {
            // Logged at the 1st, 2nd, 4th, 8th... refusal: a banned flood must not flood the log.
            const auto n = bans.refused(key);
            if ((n & (n - 1)) == 0) log(ip + ": refused: banned (" + std::to_string(n) + " connections refused)");
            error_code ignored;
            socket.close(ignored);
            do_accept(index);
            return;
        }
        const char* refused = sessions.size() >= options.max_connections              ? "connection cap reached"
                              : per_ip[ip] >= options.max_connections_per_ip ? "per-IP connection cap reached"
                                                                              : nullptr;
        if (refused != nullptr) {
            if (per_ip[ip] == 0) per_ip.erase(ip);
            log(ip + ": refused: " + refused);
            error_code ignored;
            socket.close(ignored);
            do_accept(index);
            return;
        }
        id = next_id++;
        ++per_ip[ip];
        sessions[id] = entry{{}, ip, key, bannable};
    }
    if (l.tls) {
        // A TLS listener first peeks at the first byte (first_byte_sniffer).
        auto sniffer = std::make_shared<first_byte_sniffer>(std::move(socket), shared_from_this(), index, id,
                                                            accepted_at);
        sniffer->start();
        bool stopping = false;
        {
            std::lock_guard lock(mutex);
            if (auto it = sessions.find(id); it != sessions.end() && it->second.session.expired())
                it->second.session = sniffer;
            stopping = stopped;
        }
        if (stopping) sniffer->post_close("server stopping");
    } else {
        open_session(index, id, std::move(socket), false, accepted_at);
    }
    do_accept(index);
}

void detail::server_state::open_session(std::size_t index, std::uint64_t id, tcp::socket socket, bool tls,
                                        session_core::clock::time_point accepted_at) {
    auto& l = listeners[index];
    std::shared_ptr<session_handle> s;
    auto open = [&]<class Protocol>() {
        if (tls) {
            auto ts = std::make_shared<session<tls_stream, Protocol>>(
                tls_stream(std::move(socket), *l.tls), shared_from_this(), id, l.settings.difficulty, accepted_at);
            ts->start();
            s = ts;
        } else {
            auto ps = std::make_shared<session<tcp::socket, Protocol>>(std::move(socket), shared_from_this(), id,
                                                                       l.settings.difficulty, accepted_at);
            ps->start();
            s = ps;
        }
    };
    if (options.dialect == dialect::kawpow)
        open.template operator()<kawpow_session_protocol>();
    else
        open.template operator()<session_protocol>();
    bool stopping = false;
    {
        std::lock_guard lock(mutex);
        if (auto it = sessions.find(id); it != sessions.end()) it->second.session = s;
        stopping = stopped;
    }
    // stop() may have collected the handles before this one was in the table.
    if (stopping) s->post_close("server stopping");
}

void detail::server_state::note_mining(std::uint64_t id) {
    std::lock_guard lock(mutex);
    auto it = sessions.find(id);
    if (it == sessions.end() || it->second.mining) return;
    it->second.mining = true;
    ++mining_per_key[it->second.ban_key];
}

void detail::server_state::on_closed(std::uint64_t id, misbehaviour why, const std::string& reason,
                                     std::string_view quiet) {
    std::lock_guard lock(mutex);
    auto it = sessions.find(id);
    if (it == sessions.end()) return;
    const entry& e = it->second;
    const auto now = session_core::clock::now();
    if (auto p = per_ip.find(e.ip); p != per_ip.end() && --p->second == 0) per_ip.erase(p);
    if (e.mining) {
        if (auto m = mining_per_key.find(e.ban_key); m != mining_per_key.end() && --m->second == 0)
            mining_per_key.erase(m);
    }
    if (!quiet.empty()) {
        std::uint64_t suppressed = 0;
        if (quiet_log.note(e.ban_key + " " + std::string(quiet), now, suppressed))
            log(e.ip + ": " + reason +
                (suppressed == 0 ? " (logged once per address, then at most every " +
                                       seconds_text(options.quiet_close_log_interval) + ")"
                                 : " (" + std::to_string(suppressed) + " more since the last report)"));
    }
    if (why != misbehaviour::none && e.bannable && !stopped) {
        // Another session from this address that mines vouches for it (limits.hpp).
        const bool vouched = mining_per_key.count(e.ban_key) != 0;
        switch (bans.add(e.ban_key, ban_score(why), reason, now, vouched)) {
            case ban_outcome::banned:
                log(e.ban_key + ": banned for " + seconds_text(options.bans.duration) + ": " + reason, log_level::warn);
                break;
            case ban_outcome::withheld:
                log(e.ban_key + ": not banned although its ban score reached " +
                    std::to_string(options.bans.threshold) + " (last: " + reason +
                    "): a miner from this address is mining, and it would be locked out too");
                break;
            case ban_outcome::scored: break;
        }
    }
    sessions.erase(it);
}

server_options server_options_for(const config::chain_settings& chain) {
    server_options o;
    o.listeners = chain.stratum;
    o.dialect = pow::mined_algorithm(params(chain.net)) == pow_algorithm::kawpow ? dialect::kawpow : dialect::sha256d;
    o.payout = chain.payout.mode;
    o.net = chain.net;
    o.extranonce2_size = chain.extranonce2_size;
    o.bans.enabled = chain.stratum_bans;
    o.bans.threshold = chain.stratum_ban_threshold;
    o.bans.duration = std::chrono::seconds(chain.stratum_ban_duration_s);
    o.ban_loopback = chain.stratum_ban_loopback;
    o.max_connections_per_ip = chain.stratum_max_connections_per_ip;
    return o;
}

server::server(asio::io_context& io, std::shared_ptr<work_source> source, server_options options)
    : impl_(std::make_shared<detail::server_state>(io, std::move(source), std::move(options))) {}

server::~server() { stop(); }

std::error_code server::start() {
    auto& m = *impl_;
    std::vector<detail::server_state::listener> bound;
    for (const auto& ls : m.options.listeners) {
        detail::server_state::listener l;
        l.settings = ls;
        error_code ec;
        if (ls.tls) {
            l.tls = std::make_unique<ssl::context>(ssl::context::tls_server);
            l.tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                               ec);
            if (!ec) l.tls->use_certificate_chain_file(ls.tls->cert_file, ec);
            if (!ec) l.tls->use_private_key_file(ls.tls->key_file, ssl::context::pem, ec);
            // OpenSSL frees a connection's record buffers (~34 KiB) while it is idle.
            SSL_CTX_set_mode(l.tls->native_handle(), SSL_MODE_RELEASE_BUFFERS);
            if (ec) {
                m.log("TLS listener " + ls.listen.to_string() + ": certificate or key: " + ec.message());
                return ec;
            }
        }
        tcp::resolver resolver(m.io);
        std::string host = ls.listen.host;
        if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
        auto results = resolver.resolve(host, std::to_string(ls.listen.port),
                                        tcp::resolver::passive | tcp::resolver::numeric_service, ec);
        if (ec || results.empty()) {
            m.log("listener " + ls.listen.to_string() + ": cannot resolve: " + ec.message(), log_level::error);
            if (ec) return ec;
            return std::make_error_code(std::errc::address_not_available);
        }
        const tcp::endpoint ep = results.begin()->endpoint();
        // The acceptor lives on its own strand: stop() closes it there.
        l.acceptor.emplace(asio::make_strand(m.io));
        l.retry.emplace(l.acceptor->get_executor());
        if (!ec) l.acceptor->open(ep.protocol(), ec);
        if (!ec) l.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec) l.acceptor->bind(ep, ec);
        if (!ec) l.acceptor->listen(asio::socket_base::max_listen_connections, ec);
        if (ec) {
            m.log("listener " + ls.listen.to_string() + ": " + ec.message());
            return ec;
        }
        const auto local = l.acceptor->local_endpoint(ec);
        l.info = listener_info{local.address().to_string(), local.port(), ls.tls.has_value(),
                               !ls.tls || ls.tls->accept_plain};
        m.log("stratum listening on " + l.info.address + ":" + std::to_string(l.info.port) +
              (l.info.tls ? (l.info.plain ? " (TLS and plain TCP)" : " (TLS)") : ""));
        bound.push_back(std::move(l));
    }
    m.listeners = std::move(bound);
    for (std::size_t i = 0; i < m.listeners.size(); ++i) m.do_accept(i);
    return {};
}

std::vector<listener_info> server::listeners() const {
    std::vector<listener_info> out;
    for (const auto& l : impl_->listeners) out.push_back(l.info);
    return out;
}

void server::stop() {
    auto& m = *impl_;
    std::vector<std::shared_ptr<session_handle>> open;
    {
        std::lock_guard lock(m.mutex);
        if (m.stopped) return;
        m.stopped = true;
        for (auto& [id, e] : m.sessions)
            if (auto s = e.session.lock()) open.push_back(std::move(s));
    }
    for (std::size_t i = 0; i < m.listeners.size(); ++i) {
        if (!m.listeners[i].acceptor) continue;
        asio::post(m.listeners[i].acceptor->get_executor(), [self = impl_, i] {
            error_code ignored;
            self->listeners[i].acceptor->close(ignored);
            self->listeners[i].retry->cancel();
        });
    }
    for (auto& s : open) s->post_close("server stopping");
}

std::vector<session_stats> server::snapshot() const {
    std::vector<std::shared_ptr<session_handle>> open;
    {
        std::lock_guard lock(impl_->mutex);
        open.reserve(impl_->sessions.size());
        for (auto& [id, e] : impl_->sessions)
            if (auto s = e.session.lock()) open.push_back(std::move(s));
    }
    std::vector<session_stats> out;
    out.reserve(open.size());
    for (auto& s : open) out.push_back(s->stats());
    return out;
}

notify_fanout server::last_fanout() const { return impl_->fanout.last(); }

std::vector<ban_info> server::bans() const {
    std::vector<ban_list::ban> in_force;
    const auto now = session_core::clock::now();
    {
        std::lock_guard lock(impl_->mutex);
        in_force = impl_->bans.bans(now);
    }
    const auto wall = std::chrono::system_clock::now();
    std::vector<ban_info> out;
    out.reserve(in_force.size());
    for (auto& b : in_force)
        out.push_back({std::move(b.key),
                       wall + std::chrono::duration_cast<std::chrono::system_clock::duration>(b.until - now),
                       std::move(b.reason), b.refused});
    return out;
}

std::size_t server::connection_count() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->sessions.size();
}

namespace {

void send_to_all(detail::server_state& m, const std::string& line) {
    std::vector<std::shared_ptr<session_handle>> open;
    {
        std::lock_guard lock(m.mutex);
        for (auto& [id, e] : m.sessions)
            if (auto s = e.session.lock()) open.push_back(std::move(s));
    }
    for (auto& s : open) s->post_send(line);
}

}  // namespace

void server::broadcast_reconnect(std::string_view host, std::uint16_t port, unsigned wait_s) {
    send_to_all(*impl_, notify_reconnect(host, port, wait_s));
}

void server::broadcast_message(std::string_view text) { send_to_all(*impl_, notify_show_message(text)); }

}  // namespace sb::bridge::stratum
