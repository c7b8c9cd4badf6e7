// The only Asio TU of the Stratum server (each costs ~15 s to compile): the listener and
// the session I/O, Beast-example style: do_x / on_x handlers on one strand per session,
// the error checked first in each handler, a bounded write queue that pauses reading and
// drops a reader that falls too far behind.
#include "stratum/server.hpp"

#include <algorithm>
#include <array>
#include <deque>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
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

// What a session shares with the dashboard: a copy of its stats, under a mutex.
struct stats_cell {
    mutable std::mutex mutex;
    session_stats stats;
};

// The server side a session reports to, and what the server can ask of a session.
class session_handle {
public:
    virtual ~session_handle() = default;
    // Posted to the session's strand: send line to a subscribed session.
    virtual void post_send(std::string line) = 0;
    virtual void post_close(std::string reason) = 0;
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
        std::shared_ptr<stats_cell> stats;
        std::string ip;
        std::string ban_key;
        bool bannable = true;  // false: loopback with ban_loopback off
        bool mining = false;   // has had a share accepted: vouches for ban_key
    };

    server_state(asio::io_context& io_, std::shared_ptr<work_source> source_, server_options options_)
        : io(io_),
          source(std::move(source_)),
          options(std::move(options_)),
          bans(options.bans),
          quiet_log(options.quiet_close_log_interval) {}

    void log(std::string_view s) const { options.log(s); }

    void do_accept(std::size_t index);
    void on_accept(std::size_t index, const error_code& ec, tcp::socket socket);
    // Starts the session of connection id (registered by on_accept) on listener index, over
    // TLS or plain TCP; its subscribe deadline runs from accepted_at.
    void open_session(std::size_t index, std::uint64_t id, std::shared_ptr<stats_cell> cell, tcp::socket socket,
                      bool tls, session_core::clock::time_point accepted_at);
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

    session(Stream stream, std::shared_ptr<detail::server_state> srv, std::uint64_t id, std::shared_ptr<stats_cell> cell,
            const config::stratum_listener& listener, clock::time_point accepted_at)
        : stream_(std::move(stream)),
          timer_(lowest_layer(stream_).get_executor()),
          server_(std::move(srv)),
          id_(id),
          cell_(std::move(cell)),
          listener_(listener),
          accepted_at_(accepted_at) {}

    void start() {
        asio::dispatch(lowest_layer(stream_).get_executor(), [self = this->shared_from_this()] { self->do_start(); });
    }

    void post_job(std::shared_ptr<const job> j) {
        asio::post(lowest_layer(stream_).get_executor(), [self = this->shared_from_this(), j = std::move(j)] {
            if (self->closed_ || !self->protocol_) return;
            session_output out;
            self->protocol_->on_job(j, clock::now(), out);
            self->flush(out);
        });
    }

    void post_send(std::string line) override {
        asio::post(lowest_layer(stream_).get_executor(),
                   [self = this->shared_from_this(), line = std::move(line)]() mutable {
                       // Nothing unsolicited before the subscribe reply (NerdMiner; stratum.md §0.2).
                       if (self->closed_ || !self->protocol_ || !self->protocol_->subscribed()) return;
                       self->enqueue(std::move(line));
                       self->start_write();
                   });
    }

    void post_close(std::string reason) override {
        asio::post(lowest_layer(stream_).get_executor(),
                   [self = this->shared_from_this(), reason = std::move(reason)] { self->close(reason); });
    }

private:
    void do_start() {
        const auto& o = server_->options;
        error_code ec;
        const auto remote = lowest_layer(stream_).remote_endpoint(ec);
        remote_ = ec ? std::string("?") : remote.address().to_string() + ":" + std::to_string(remote.port());
        session_settings s;
        s.difficulty = listener_.difficulty;
        s.payout = o.payout;
        s.net = o.net;
        s.extranonce2_size = o.extranonce2_size;
        s.subscribe_timeout = o.subscribe_timeout;
        s.share_idle_timeout = o.share_idle_timeout;
        s.send_version_mask = o.send_version_mask;
        s.rejected_submit_burst = o.rejected_submit_burst;
        s.rejected_submits_per_s = o.rejected_submits_per_s;
        s.notifies = &server_->notifies;
        s.log = [log = o.log, remote = remote_](std::string_view what) {
            log(remote + ": " + std::string(what));
        };
        protocol_ = std::make_unique<Protocol>(*server_->source, std::make_shared<forwarder>(this->weak_from_this()),
                                               std::move(s), accepted_at_);
        protocol_->stats().session_id = id_;
        protocol_->stats().remote = remote_;
        protocol_->stats().tls = is_tls;
        publish_stats();
        arm_timer();
        if constexpr (!is_tls) {
            // write_now() writes without waiting; async operations are unaffected.
            error_code nb;
            lowest_layer(stream_).non_blocking(true, nb);
            nonblocking_ = !nb;
        }
        if constexpr (is_tls) {
            stream_.async_handshake(ssl::stream_base::server,
                                    [self = this->shared_from_this()](const error_code& e) { self->on_handshake(e); });
        } else {
            do_read();
        }
    }

    void on_handshake(const error_code& ec) {
        // The connection opened with a TLS record (the listener peeked at it): a real TLS
        // client that could not agree with us (an old TLS version, our certificate not
        // trusted), not an attack.
        if (ec) return close("TLS handshake failed: " + ec.message() + ": closed without ban score", misbehaviour::none,
                             "tls-failed");
        if (closed_) return;
        do_read();
    }

    // The earliest of the protocol's deadline (subscribe or share idle), the line
    // deadline while a partial line is pending (not while paced: the pending bytes then
    // wait on us) and the end of a pacing pause.
    clock::time_point next_deadline() const {
        auto d = protocol_->deadline();
        if (paced_until_) return std::min(d, *paced_until_);
        if (line_started_) d = std::min(d, *line_started_ + server_->options.line_timeout);
        return d;
    }

    // One wait outstanding per generation; a re-arm makes older waits no-ops. The timer
    // also ticks at least every write_stall_timeout to catch a stalled write, so that
    // the write path never touches the timer.
    void arm_timer() {
        armed_deadline_ = std::min(next_deadline(), clock::now() + server_->options.write_stall_timeout);
        timer_.expires_at(armed_deadline_);
        timer_.async_wait([self = this->shared_from_this(), gen = ++timer_generation_](const error_code&) {
            self->on_timer(gen);
        });
    }

    // A deadline that moved later fires the timer early: check and wait again. One that
    // moved earlier (subscribe with a short idle timeout, a new partial line) re-arms.
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
        stream_.async_read_some(asio::buffer(read_buf_),
                                [self = this->shared_from_this()](const error_code& ec, std::size_t n) {
                                    self->on_read(ec, n);
                                });
    }

    void on_read(const error_code& ec, std::size_t n) {
        reading_ = false;
        if (ec) return close(ec == asio::error::eof ? std::string("client closed the connection")
                                                    : "read failed: " + ec.message());
        if (closed_) return;
        std::string_view data(read_buf_.data(), n);
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
            protocol_->on_line(*line, clock::now(), out);
            if (!out.close_reason.empty() || out.pause_until != clock::time_point{}) break;
        }
        // The line deadline runs from the first byte of the pending partial line (here,
        // to within one read).
        if (reader_.pending_bytes() == 0)
            line_started_.reset();
        else if (!line_started_ || reader_.lines_consumed() != lines_seen_)
            line_started_ = clock::now();
        lines_seen_ = reader_.lines_consumed();
        flush(out);
        if (closed_) return;
        rearm_if_earlier();
        do_read();
    }

    void flush(session_output& out) {
        for (auto& line : out.lines) {
            if (closed_) break;
            enqueue(std::move(line));
        }
        if (out.pause_until != clock::time_point{} && !closed_) {
            paced_until_ = std::max(paced_until_.value_or(out.pause_until), out.pause_until);
            rearm_if_earlier();
        }
        // Everything this event produced leaves in one write (set_difficulty with its
        // notify, the replies to pipelined submits): one syscall instead of one per line.
        start_write();
        if constexpr (is_kawpow) {
            for (auto& p : out.verify) verify(std::move(p));
        }
        publish_stats();
        if (!out.close_reason.empty()) close(out.close_reason, out.why);
    }

    // Queues a line; start_write() sends it.
    void enqueue(std::string line) {
        if (closed_) return;
        if (queued_bytes_ + line.size() > server_->options.write_queue_limit)
            return close("slow reader: write queue over " + std::to_string(server_->options.write_queue_limit) +
                         " bytes");
        queued_bytes_ += line.size();
        queue_.push_back(std::move(line));
    }

    void start_write() {
        if (!closed_ && !writing_ && !queue_.empty()) do_write();
    }

    // Sends the queue, up to max_gather_lines lines per write (writev). A plain TCP
    // session first writes what the socket takes at once, without a completion handler to
    // schedule (most writes: a reply, a notify); what is left goes through async_write.
    void do_write() {
        if constexpr (!is_tls) {
            if (nonblocking_ && write_now()) return resume_read_if_drained();
        }
        writing_ = true;
        write_started_ = clock::now();
        gather_lines();
        asio::async_write(stream_, gather_, [self = this->shared_from_this()](const error_code& ec, std::size_t) {
            self->on_write(ec);
        });
    }

    // The buffers of the next write: the first queued lines. The deque keeps them in
    // place while more lines are queued behind them, so the buffers stay valid.
    void gather_lines() {
        gather_.clear();
        const std::size_t n = std::min(queue_.size(), max_gather_lines);
        for (std::size_t i = 0; i < n; ++i) gather_.push_back(asio::buffer(queue_[i]));
    }

    // Plain TCP (the socket is non-blocking): writes until the queue is empty or the
    // socket would block. True when nothing is left to send, or the session closed.
    bool write_now() {
        while (!queue_.empty()) {
            gather_lines();
            error_code ec;
            const std::size_t sent = lowest_layer(stream_).write_some(gather_, ec);
            if (ec == asio::error::would_block || ec == asio::error::try_again) return false;
            if (ec) {
                close("write failed: " + ec.message());
                return true;
            }
            if (sent == 0) return false;
            consume(sent);
        }
        gather_.clear();
        return true;
    }

    // Drops sent bytes from the front of the queue (a partly sent line keeps its rest).
    void consume(std::size_t sent) {
        while (sent > 0 && !queue_.empty()) {
            std::string& front = queue_.front();
            if (sent < front.size()) {
                front.erase(0, sent);
                queued_bytes_ -= sent;
                return;
            }
            sent -= front.size();
            queued_bytes_ -= front.size();
            queue_.pop_front();
        }
    }

    void on_write(const error_code& ec) {
        writing_ = false;
        if (ec) return close("write failed: " + ec.message());
        if (closed_) return;
        for (std::size_t i = gather_.size(); i > 0; --i) {
            queued_bytes_ -= queue_.front().size();
            queue_.pop_front();
        }
        gather_.clear();
        if (!queue_.empty()) do_write();
        resume_read_if_drained();
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
                           self->protocol_->on_verdict(p, r, clock::now(), out);
                           self->flush(out);
                       });
        };
        if (server_->options.verify)
            server_->options.verify(std::move(job));
        else
            job();
    }

    void publish_stats() {
        if (!protocol_) return;
        if (!mining_ && protocol_->stats().accepted > 0) {
            mining_ = true;
            server_->note_mining(id_);
        }
        std::lock_guard lock(cell_->mutex);
        cell_->stats = protocol_->stats();
    }

    // Closes the connection; why scores its address. A quiet close (quiet: its kind) is
    // logged by the server once per address and kind, not here.
    void close(const std::string& reason, misbehaviour why = misbehaviour::none, std::string_view quiet = {}) {
        if (closed_) return;
        closed_ = true;
        if (quiet.empty()) server_->log(remote_ + ": closed: " + reason);
        if (protocol_) protocol_->release();
        timer_.cancel();
        error_code ignored;
        lowest_layer(stream_).shutdown(tcp::socket::shutdown_both, ignored);
        lowest_layer(stream_).close(ignored);
        queue_.clear();
        queued_bytes_ = 0;
        line_started_.reset();
        paced_until_.reset();
        server_->on_closed(id_, why, reason, quiet);
    }

    Stream stream_;
    asio::steady_timer timer_;
    clock::time_point armed_deadline_{};
    std::optional<clock::time_point> line_started_;  // first byte of the pending partial line
    std::uint64_t lines_seen_ = 0;                    // reader_.lines_consumed() after the last read
    clock::time_point write_started_{};               // of the write in flight
    std::uint64_t timer_generation_ = 0;
    std::shared_ptr<detail::server_state> server_;
    std::uint64_t id_;
    std::shared_ptr<stats_cell> cell_;
    config::stratum_listener listener_;
    clock::time_point accepted_at_;
    std::string remote_;
    std::unique_ptr<Protocol> protocol_;
    line_reader reader_;
    std::string head_;              // plain: the first bytes, until classify_first_bytes decides
    bool sniffing_ = !is_tls;       // plain: the first bytes are not classified yet
    std::optional<clock::time_point> paced_until_;  // reading paused until then (rejected submits)
    bool mining_ = false;           // note_mining was sent
    std::array<char, read_chunk_bytes> read_buf_{};
    std::deque<std::string> queue_;
    std::vector<asio::const_buffer> gather_;  // the lines of the write in flight (front of queue_)
    std::size_t queued_bytes_ = 0;
    bool reading_ = false;
    bool writing_ = false;
    bool nonblocking_ = false;  // plain TCP socket in non-blocking mode: write_now() may write
    bool read_paused_ = false;
    bool closed_ = false;
};

// A connection to a TLS listener until its first byte shows what it speaks. The byte is
// peeked, not consumed, so the session that follows reads the connection from its start:
// a TLS handshake record (0x16) gets a TLS session; plain Stratum a plain session where
// the listener has tls.accept_plain, else a quiet close; any other byte a plain session
// with accept_plain (its line parser judges it), else a garbage close. It holds the
// connection's place in the session table meanwhile (caps, stop(), the subscribe
// deadline, which runs on in the session from accepted_at).
class first_byte_sniffer final : public session_handle, public std::enable_shared_from_this<first_byte_sniffer> {
public:
    using clock = session_core::clock;

    first_byte_sniffer(tcp::socket socket, std::shared_ptr<detail::server_state> srv, std::size_t listener,
                       std::uint64_t id, std::shared_ptr<stats_cell> cell, clock::time_point accepted_at)
        : socket_(std::move(socket)),
          timer_(socket_.get_executor()),
          server_(std::move(srv)),
          listener_(listener),
          id_(id),
          cell_(std::move(cell)),
          accepted_at_(accepted_at) {}

    void start() {
        asio::dispatch(socket_.get_executor(), [self = shared_from_this()] {
            error_code ec;
            const auto remote = self->socket_.remote_endpoint(ec);
            self->remote_ = ec ? std::string("?") : remote.address().to_string() + ":" + std::to_string(remote.port());
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

private:
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
        server_->open_session(listener_, id_, std::move(cell_), std::move(socket_), tls, accepted_at_);
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
    std::shared_ptr<stats_cell> cell_;
    clock::time_point accepted_at_;
    std::string remote_;
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
        log("accept failed: " + ec.message());
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
    auto cell = std::make_shared<stats_cell>();
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
        sessions[id] = entry{{}, cell, ip, key, bannable};
    }
    if (l.tls) {
        // A TLS listener first peeks at the first byte (first_byte_sniffer).
        auto sniffer = std::make_shared<first_byte_sniffer>(std::move(socket), shared_from_this(), index, id,
                                                            std::move(cell), accepted_at);
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
        open_session(index, id, std::move(cell), std::move(socket), false, accepted_at);
    }
    do_accept(index);
}

void detail::server_state::open_session(std::size_t index, std::uint64_t id, std::shared_ptr<stats_cell> cell,
                                        tcp::socket socket, bool tls, session_core::clock::time_point accepted_at) {
    auto& l = listeners[index];
    std::shared_ptr<session_handle> s;
    auto open = [&]<class Protocol>() {
        if (tls) {
            auto ts = std::make_shared<session<tls_stream, Protocol>>(
                tls_stream(std::move(socket), *l.tls), shared_from_this(), id, cell, l.settings, accepted_at);
            ts->start();
            s = ts;
        } else {
            auto ps = std::make_shared<session<tcp::socket, Protocol>>(std::move(socket), shared_from_this(), id,
                                                                       cell, l.settings, accepted_at);
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
                log(e.ban_key + ": banned for " + seconds_text(options.bans.duration) + ": " + reason);
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
    o.dialect = params(chain.net).coin == coin_type::ravencoin ? dialect::kawpow : dialect::sha256d;
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
            m.log("listener " + ls.listen.to_string() + ": cannot resolve: " + ec.message());
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
        m.log("listening on " + l.info.address + ":" + std::to_string(l.info.port) +
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
    std::vector<std::shared_ptr<stats_cell>> cells;
    {
        std::lock_guard lock(impl_->mutex);
        for (auto& [id, e] : impl_->sessions) cells.push_back(e.stats);
    }
    std::vector<session_stats> out;
    out.reserve(cells.size());
    for (auto& c : cells) {
        std::lock_guard lock(c->mutex);
        out.push_back(c->stats);
    }
    return out;
}

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
