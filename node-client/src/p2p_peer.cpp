// The P2P connection, Beast-example style: one strand, do_x starts an operation, on_x
// handles it and checks the error first.
#include "sb/node/p2p/peer.hpp"

#include <algorithm>
#include <atomic>
#include <deque>
#include <random>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include "sb/core/hex.hpp"
#include "sb/core/pow.hpp"
#include "sb/node/p2p/message.hpp"

namespace sb::node::p2p {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

std::int64_t now_unix_s() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

bool is_block_inv(std::uint32_t type) { return (type & ~inv_type::witness_flag) == inv_type::block; }

using steady = std::chrono::steady_clock;

// A message on the write queue: a frame built for it, or a relayed block's ready message.
struct outgoing {
    bytes frame;
    std::shared_ptr<const relayed_block::message> ready;
    // For a relayed block's message: the timeline reported once it is written.
    hash256 block{};
    steady::time_point made_at{};
    steady::time_point first_write{};
    std::size_t written = 0;

    std::size_t size() const { return ready ? ready->header.size() + ready->payload->size() : frame.size(); }
    // What is still to write, from where it is.
    std::array<asio::const_buffer, 2> rest() const {
        if (!ready) return {asio::buffer(frame.data() + written, frame.size() - written), asio::const_buffer()};
        const std::size_t h = ready->header.size();
        if (written < h)
            return {asio::buffer(ready->header.data() + written, h - written), asio::buffer(*ready->payload)};
        return {asio::buffer(ready->payload->data() + (written - h), ready->payload->size() - (written - h)),
                asio::const_buffer()};
    }
};

}  // namespace

relayed_block::relayed_block(const chain_params& chain, std::shared_ptr<const bytes> raw)
    : chain_(chain), raw_(std::move(raw)), made_at_(steady::now()), nonce_(std::random_device{}()) {
    nonce_ = (nonce_ << 32) ^ std::random_device{}();
}

relayed_block::relayed_block(const chain_params& chain, bytes raw)
    : relayed_block(chain, std::make_shared<const bytes>(std::move(raw))) {}

std::shared_ptr<const relayed_block::message> relayed_block::get(form f) {
    std::lock_guard lock(mu_);
    auto& slot = built_[static_cast<std::size_t>(f)];
    if (!slot) slot = build(f);
    return *slot;
}

std::shared_ptr<const relayed_block::message> relayed_block::build(form f) const {
    byte_reader in(*raw_);
    const auto header = read_wire_header(in, chain_);
    const bool kawpow = header && header->kawpow;
    auto make = [&](std::string_view command, std::shared_ptr<const bytes> payload) {
        auto m = std::make_shared<message>();
        m->header = encode_frame_header(chain_.magic, command, *payload);
        m->payload = std::move(payload);
        m->command = command;
        return m;
    };
    switch (f) {
        case form::as_built:
            return make(cmd::block, raw_);
        case form::no_witness: {
            // A KAWPOW block is sent as built; the witness and compact encoders read 80-byte headers.
            if (kawpow) return make(cmd::block, raw_);
            auto parsed = parse_block(*raw_);
            if (!parsed) return make(cmd::block, raw_);
            auto stripped = serialize_block(*parsed, false);
            // Without witness data the two serializations are the same bytes.
            if (stripped.size() == raw_->size()) return make(cmd::block, raw_);
            return make(cmd::block, std::make_shared<const bytes>(std::move(stripped)));
        }
        case form::compact: {
            if (!chain_.p2p_compact_blocks || kawpow) return nullptr;
            auto cb = serialize_cmpctblock_prefilled(*raw_, nonce_);
            if (!cb) return nullptr;
            return make(cmd::cmpctblock, std::make_shared<const bytes>(std::move(*cb)));
        }
    }
    return nullptr;
}

struct peer::impl : std::enable_shared_from_this<impl> {
    impl(asio::any_io_executor ex, header_chain& headers, peer_settings settings, peer_callbacks callbacks)
        : strand_(asio::make_strand(ex)),
          socket_(strand_),
          handshake_timer_(strand_),
          ping_timer_(strand_),
          probe_timer_(strand_),
          chain_(headers),
          params_(headers.chain()),
          settings_(std::move(settings)),
          callbacks_(std::move(callbacks)),
          decoder_(params_.magic),
          rng_(std::random_device{}()) {}

    // The clock of the header time rules (settings_.clock in tests).
    std::int64_t now_s() const { return settings_.clock ? settings_.clock() : now_unix_s(); }

    // ---- connection --------------------------------------------------------------

    void do_connect() {
        error_code ec;
        const auto address = asio::ip::make_address(settings_.address, ec);
        if (ec) return fail(p2p_errc::connect_failed, "bad peer address " + settings_.address);
        handshake_timer_.expires_after(settings_.connect_timeout + settings_.handshake_timeout);
        handshake_timer_.async_wait(asio::bind_executor(strand_, [self = shared_from_this()](error_code e) {
            if (e || self->ready_) return;
            if (!self->connected_) return self->fail(p2p_errc::connect_failed, "connect timed out");
            self->fail(p2p_errc::handshake_timeout, "handshake not completed in time");
        }));
        socket_.async_connect(tcp::endpoint(address, settings_.port),
                              asio::bind_executor(strand_, [self = shared_from_this()](error_code e) {
                                  self->on_connect(e);
                              }));
    }

    void on_connect(error_code ec) {
        if (closed_) return;
        if (ec) return fail(p2p_errc::connect_failed, "connect: " + ec.message());
        connected_ = true;
        // Small messages go out at once: with Nagle a found block's announcement waited for
        // the peer's delayed ACK of whatever was sent before (~20-40 ms on Linux).
        error_code nd_ec;
        socket_.set_option(tcp::no_delay(true), nd_ec);
        version_message v;
        v.version = our_protocol_version(params_);
        v.services = our_services(params_);
        v.timestamp = now_unix_s();
        error_code ep_ec;
        const auto remote = socket_.remote_endpoint(ep_ec);
        if (!ep_ec && remote.address().is_v4())
            v.addr_recv = net_address::ipv4(remote.address().to_v4().to_uint(), remote.port());
        v.addr_from = net_address::ipv4(0, 0, v.services);
        v.nonce = rng_();
        v.user_agent = user_agent;
        v.start_height = chain_.tip().height;
        v.relay = false;
        send(cmd::version, serialize(v));
        do_read();
    }

    void do_read() {
        socket_.async_read_some(asio::buffer(read_buf_),
                                asio::bind_executor(strand_, [self = shared_from_this()](error_code e, std::size_t n) {
                                    self->on_read(e, n);
                                }));
    }

    void on_read(error_code ec, std::size_t n) {
        if (closed_) return;
        if (ec) return fail(p2p_errc::connection_lost, "read: " + ec.message());
        decoder_.feed({read_buf_.data(), n});
        process_frames();
    }

    // Handles the frames received; while a headers batch is being verified off the strand
    // (paused_), stops, so the peer's messages stay in order and its socket is not read
    // (TCP back-pressure) until the batch is in the chain.
    void process_frames() {
        for (;;) {
            if (paused_) return;
            auto f = decoder_.next();
            if (!f) return fail(f.error(), "framing");
            if (!*f) break;
            handle(**f);
            if (closed_) return;
        }
        do_read();
    }

    void send(std::string_view command, const bytes& payload) {
        outgoing o;
        o.frame = encode_frame(params_.magic, command, payload);
        queue(std::move(o));
    }

    // A relayed block's ready message (relayed_block::get): written from where it is.
    void send_ready(std::shared_ptr<const relayed_block::message> m, const hash256& block,
                    steady::time_point made_at) {
        outgoing o;
        o.ready = std::move(m);
        o.block = block;
        o.made_at = made_at;
        queue(std::move(o));
    }

    void queue(outgoing o) {
        if (closed_) return;
        queued_bytes_ += o.size();
        if (queued_bytes_ > write_queue_limit_bytes) return fail(p2p_errc::write_queue_full, "peer stopped reading");
        write_queue_.push_back(std::move(o));
        if (write_queue_.size() == 1) do_write();
    }

    // One write at a time (not asio::async_write): the first one's completion is a relayed
    // block's first_write.
    void do_write() {
        socket_.async_write_some(write_queue_.front().rest(),
                                 asio::bind_executor(strand_, [self = shared_from_this()](error_code e, std::size_t n) {
                                     self->on_write(e, n);
                                 }));
    }

    void on_write(error_code ec, std::size_t n) {
        if (closed_) return;
        if (ec) return fail(p2p_errc::connection_lost, "write: " + ec.message());
        outgoing& o = write_queue_.front();
        const auto now = steady::now();
        if (o.written == 0) o.first_write = now;
        o.written += n;
        if (o.written < o.size()) return do_write();
        if (o.ready && callbacks_.on_block_sent)
            callbacks_.on_block_sent(block_sent{o.block, o.ready->command, o.made_at, o.first_write, now, o.size()});
        if (closed_) return;
        queued_bytes_ -= o.size();
        write_queue_.pop_front();
        if (!write_queue_.empty()) do_write();
    }

    void fail(std::error_code ec, const std::string& detail) {
        if (closed_) return;
        closed_ = true;
        error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_both, ignored);
        socket_.close(ignored);
        handshake_timer_.cancel();
        ping_timer_.cancel();
        probe_timer_.cancel();
        probes_.clear();
        if (callbacks_.on_close) {
            std::string why = ec.message();
            if (!detail.empty()) why += " (" + detail + ")";
            if (is_punishable(ec)) why += "; peer misbehaved";
            callbacks_.on_close(ec, why);
        }
    }
    void fail(p2p_errc e, const std::string& detail) { fail(make_error_code(e), detail); }

    // ---- messages ----------------------------------------------------------------

    void handle(const frame& f) {
        const std::string_view c = f.command;
        if (c == cmd::version) return on_version(f.payload);
        if (c == cmd::verack) return on_verack();
        if (!ready_) {
            // Pre-verack negotiation messages are allowed; anything else is a violation.
            if (got_version_ && (c == cmd::wtxidrelay || c == cmd::sendaddrv2 || c == "sendtxrcncl" || c == "feature"))
                return;
            return fail(p2p_errc::message_before_handshake, std::string(c));
        }
        if (c == cmd::ping) return on_ping(f.payload);
        if (c == cmd::pong) return on_pong(f.payload);
        if (c == cmd::headers) return on_headers(f.payload);
        if (c == cmd::inv) return on_inv(f.payload);
        if (c == cmd::cmpctblock) return on_cmpctblock(f.payload);
        if (c == cmd::getdata) return on_getdata(f.payload);
        if (c == cmd::getheaders) return on_getheaders(f.payload);
        if (c == cmd::sendheaders) {
            info_.wants_headers = true;
            return;
        }
        if (c == cmd::sendcmpct) {
            if (!parse_sendcmpct(f.payload)) return fail(p2p_errc::malformed_payload, "sendcmpct");
            return;
        }
        if (c == cmd::addr || c == cmd::addrv2) return on_addr(f.payload, c == cmd::addrv2);
        // feefilter, reject, addr, getaddr, block (never requested), notfound and unknown
        // commands are ignored.
    }

    void on_version(const bytes& payload) {
        if (got_version_) return fail(p2p_errc::duplicate_version, "");
        auto v = parse_version(payload);
        if (!v) return fail(v.error(), "version");
        if (v->version < min_peer_version)
            return fail(p2p_errc::obsolete_version, "version " + std::to_string(v->version));
        got_version_ = true;
        info_.version = v->version;
        info_.services = v->services;
        // Peer-chosen text reaches logs: keep printable ASCII only.
        info_.user_agent = v->user_agent;
        for (char& ch : info_.user_agent)
            if (ch < 0x20 || ch > 0x7e) ch = '?';
        info_.start_height = v->start_height;
        info_.best_height = std::max(v->start_height, 0);
        features_ = features_for(params_, std::min(v->version, our_protocol_version(params_)));
        if (features_.wtxidrelay) send(cmd::wtxidrelay, {});
        if (features_.sendaddrv2) send(cmd::sendaddrv2, {});
        send(cmd::verack, {});
        maybe_ready();
    }

    void on_verack() {
        got_verack_ = true;
        maybe_ready();
    }

    void maybe_ready() {
        if (ready_ || !got_version_ || !got_verack_) return;
        ready_ = true;
        info_.connected_since = std::chrono::system_clock::now();
        handshake_timer_.cancel();
        if (features_.sendheaders) send(cmd::sendheaders, {});
        if (features_.sendcmpct && settings_.compact_blocks) {
            send(cmd::sendcmpct, serialize(sendcmpct_message{false, 2}));
            told_sendcmpct_.store(true, std::memory_order_relaxed);
        }
        request_headers();
        // Once per connection, as Core does for outbound peers.
        if (settings_.request_addresses) send(cmd::getaddr, {});
        for (const auto& b : relay_) announce(b);
        if (callbacks_.on_ready) callbacks_.on_ready(info_);
        if (closed_) return;
        // A first ping at once gives a latency figure without waiting a whole interval.
        send_ping();
        schedule_ping();
    }

    void send_ping() {
        ping_nonce_ = rng_() | 1;
        ping_sent_ = std::chrono::steady_clock::now();
        send(cmd::ping, serialize_ping(*ping_nonce_));
    }

    void request_headers() {
        getheaders_message m;
        m.version = static_cast<std::uint32_t>(our_protocol_version(params_));
        m.locator = chain_.locator();
        send(cmd::getheaders, serialize(m));
    }

    void schedule_ping() {
        ping_timer_.expires_after(settings_.ping_interval);
        ping_timer_.async_wait(asio::bind_executor(strand_, [self = shared_from_this()](error_code e) {
            if (!e) self->on_ping_timer();
        }));
    }

    void on_ping_timer() {
        if (closed_) return;
        const auto now = std::chrono::steady_clock::now();
        if (ping_nonce_) {
            if (now - ping_sent_ > settings_.ping_timeout) return fail(p2p_errc::ping_timeout, "");
        } else {
            send_ping();
        }
        schedule_ping();
    }

    void on_ping(const bytes& payload) {
        auto nonce = parse_ping(payload);
        if (!nonce) return fail(nonce.error(), "ping");
        send(cmd::pong, serialize_ping(*nonce));
    }

    void on_pong(const bytes& payload) {
        auto nonce = parse_ping(payload);
        if (!nonce) return fail(nonce.error(), "pong");
        if (!ping_nonce_ || *nonce != *ping_nonce_) return;  // stale or unsolicited: harmless
        info_.latency =
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - ping_sent_);
        ping_nonce_.reset();
    }

    // A batch of headers validated; reports a tip change and handles non-connecting
    // batches like Core's HandleUnconnectingHeaders (ask again from our locator).
    std::string hash_text(const wire_header& h) const {
        auto hash = chain_.hash_of(h);
        return hash ? to_hex_reversed(*hash) : std::string("(unhashable)");
    }

    void accept_headers(std::span<const wire_header> headers, bool paging) {
        auto r = chain_.add_all(headers, now_s());
        if (!r) {
            if (r.error() == p2p_errc::header_time_too_new) return;  // may become valid later; not misbehaviour
            if (r.error() == p2p_errc::header_low_work) {
                // Cheap headers off an old block: not stored; repeated, the peer goes.
                info_.misbehaviour += low_work_penalty;
                if (info_.misbehaviour >= misbehaviour_threshold)
                    return fail(p2p_errc::misbehaving, "low-work headers from " + hash_text(headers.front()));
                return;
            }
            return fail(r.error(), "header " + hash_text(headers.front()));
        }
        const auto last_hash = chain_.hash_of(headers.back());
        if (last_hash)
            if (const header_entry* last = chain_.find(*last_hash))
                info_.best_height = std::max(info_.best_height, last->height);
        if (r->status == add_status::unconnected) {
            if (++unconnecting_ > max_unconnecting_headers_msgs) return fail(p2p_errc::unconnecting_headers, "");
            return request_headers();
        }
        if (r->added > 0) unconnecting_ = 0;
        if (r->tip && callbacks_.on_new_tip) callbacks_.on_new_tip(*r->tip);
        if (closed_) return;
        if (last_hash) probe_answered(*last_hash);
        if (closed_) return;
        if (paging && headers.size() == max_headers_per_message) request_headers();
    }

    void on_headers(const bytes& payload) {
        auto hs = parse_headers(payload, params_);
        if (!hs) return fail(hs.error(), "headers");
        if (hs->empty()) return;
        if (settings_.offload && chain_.verifier() && hs->front().kawpow)
            return verify_off_strand(std::move(*hs), true);
        accept_headers(*hs, true);
    }

    // KAWPOW light evaluation (milliseconds per header) of a headers batch on the
    // offload executor, then the batch added on the strand with those checks done. Only
    // headers that are new, meet their target by the claimed mix and carry consecutive
    // nHeights after a held parent go out; the rest fail on the strand as usual.
    void verify_off_strand(std::vector<wire_header> hs, bool paging) {
        std::vector<std::pair<wire_header, hash256>> todo;
        const header_entry* parent = chain_.find(hs.front().base.prev_block);
        hash256 prev = parent ? parent->hash : hash256{};
        for (std::size_t i = 0; parent && i < hs.size(); ++i) {
            const wire_header& h = hs[i];
            auto hash = chain_.hash_of(h);
            if (!hash || !h.kawpow || h.base.prev_block != prev ||
                std::int64_t(h.base.nonce) != std::int64_t(parent->height) + 1 + std::int64_t(i))
                break;
            if (!check_proof_of_work(*hash, h.base.bits, params_.pow_limit)) break;
            if (!chain_.contains(*hash)) todo.emplace_back(h, *hash);
            prev = *hash;
        }
        if (todo.empty()) return accept_headers(hs, paging);
        paused_ = true;
        settings_.offload([self = shared_from_this(), verify = chain_.verifier(), todo = std::move(todo),
                           hs = std::move(hs), paging]() mutable {
            std::vector<hash256> ok;
            for (const auto& [h, hash] : todo) {
                hash256 final_hash{};
                if (verify(h.to_kawpow(), kawpow_check::full, final_hash)) break;  // the strand reports it
                std::reverse(final_hash.begin(), final_hash.end());
                if (final_hash != hash) break;
                ok.push_back(hash);
            }
            asio::post(self->strand_, [self, ok = std::move(ok), hs = std::move(hs), paging] {
                if (self->detached_ || self->closed_) return;
                self->chain_.note_verified(ok);
                self->paused_ = false;
                self->accept_headers(hs, paging);
                if (self->closed_) return;
                self->process_frames();
            });
        });
    }

    void on_cmpctblock(const bytes& payload) {
        auto h = parse_cmpctblock_header(payload, params_);
        if (!h) return fail(h.error(), "cmpctblock");
        // A KAWPOW header's light evaluation (~10 ms, seconds for a new epoch) runs off
        // the strand like a headers batch's.
        if (settings_.offload && chain_.verifier() && h->kawpow) return verify_off_strand({*h}, false);
        accept_headers({&*h, 1}, false);
    }

    void on_inv(const bytes& payload) {
        auto items = parse_inv(payload);
        if (!items) return fail(items.error(), "inv");
        const bool unknown_block = std::any_of(items->begin(), items->end(), [&](const inventory& i) {
            return is_block_inv(i.type) && !chain_.contains(i.hash);
        });
        if (unknown_block) request_headers();
    }

    void on_addr(const bytes& payload, bool v2) {
        auto addrs = v2 ? parse_addrv2(payload) : parse_addr(payload);
        if (!addrs) return fail(addrs.error(), v2 ? "addrv2" : "addr");
        if (!settings_.request_addresses || addrs->empty() || !callbacks_.on_addr) return;
        callbacks_.on_addr(std::move(*addrs));
    }

    void on_getheaders(const bytes& payload) {
        auto m = parse_getheaders(payload);
        if (!m) return fail(m.error(), "getheaders");
        const auto hs = chain_.wire_headers_after(m->locator, m->hash_stop, max_headers_per_message);
        send(cmd::headers, serialize_wire_headers(hs));
    }

    void on_getdata(const bytes& payload) {
        auto items = parse_inv(payload);
        if (!items) return fail(items.error(), "getdata");
        std::vector<inventory> missing;
        for (const inventory& i : *items) {
            const relay_block* b = nullptr;
            if (is_block_inv(i.type) || i.type == inv_type::cmpct_block)
                for (const auto& r : relay_)
                    if (r.hash == i.hash) b = &r;
            if (!b) {
                missing.push_back(i);
                continue;
            }
            // The message is most likely built already (peer_manager::relay prepares the
            // form each peer asked for last); otherwise it is built now, once for all peers.
            relayed_block::form f = relayed_block::form::no_witness;  // MSG_BLOCK: without witnesses
            if (i.type == inv_type::cmpct_block) {
                // Asked by peers we told sendcmpct (Core, bcoin): everything prefilled,
                // nothing to reconstruct. Only where the chain has compact blocks
                // (features_for offers them nowhere else) and for 80-byte headers.
                f = relayed_block::form::compact;
            } else if ((i.type & inv_type::witness_flag) || b->header.kawpow) {
                // KAWPOW blocks are sent as built.
                f = relayed_block::form::as_built;
            }
            auto m = b->block->get(f);
            if (!m) {
                missing.push_back(i);
                continue;
            }
            last_fetch_.store(static_cast<int>(f), std::memory_order_relaxed);
            send_ready(std::move(m), b->hash, b->block->made_at());
            if (settings_.confirm_relayed) start_probe(*b);
            if (callbacks_.on_block_served) callbacks_.on_block_served(i.hash);
            if (closed_) return;
        }
        if (!missing.empty()) send(cmd::notfound, serialize_inv(missing));
    }

    // ---- relay -------------------------------------------------------------------

    struct relay_block {
        hash256 hash;
        wire_header header;
        std::shared_ptr<relayed_block> block;
    };

    void on_send_block(std::shared_ptr<relayed_block> block) {
        if (closed_) return;
        // The header in the chain's layout: 120 bytes for a KAWPOW block, whose hash is
        // its (reversed) final hash.
        byte_reader in(block->raw());
        auto header = read_wire_header(in, params_);
        if (!header) return;
        auto hash = chain_.hash_of(*header);
        if (!hash) return;
        relay_block b;
        b.header = *header;
        b.hash = *hash;
        b.block = std::move(block);
        // Our own header joins the chain so a getheaders that follows the inv (Core)
        // can be answered; an invalid one is still offered, the node judges the block.
        // A KAWPOW block reaches the relay only after the dispatcher's light evaluation
        // (its mix was recomputed there): not evaluated a second time on the strand.
        if (b.header.kawpow) chain_.note_verified({&b.hash, 1});
        auto r = chain_.add(b.header, now_s());
        if (r && r->tip && callbacks_.on_new_tip) callbacks_.on_new_tip(*r->tip);
        // Relayed again (the submitter re-announces blocks still pending): announce the
        // copy held, keep one.
        for (const auto& held : relay_)
            if (held.hash == b.hash) {
                if (ready_) announce(held);
                return;
            }
        relay_bytes_ += b.block->raw().size();
        relay_.push_back(std::move(b));
        // Bounded by bytes, not by count (limits.hpp max_relay_bytes); the newest is kept.
        while (relay_.size() > 1 && relay_bytes_ > max_relay_bytes) {
            relay_bytes_ -= relay_.front().block->raw().size();
            relay_.pop_front();
        }
        if (ready_) announce(relay_.back());
    }

    void announce(const relay_block& b) {
        // Core fetches after a headers announcement when asked for one; bcoin ignores
        // those and needs the inv, which Core also accepts: send both.
        if (info_.wants_headers) send(cmd::headers, serialize_wire_headers(std::span<const wire_header>(&b.header, 1)));
        const inventory inv{inv_type::block, b.hash};
        send(cmd::inv, serialize_inv({&inv, 1}));
    }

    // ---- probes: does the peer's active chain hold a block it fetched? ---------------

    // A block this peer fetched whose header it has not sent back yet
    // (peer_settings::confirm_relayed).
    struct relay_probe {
        hash256 hash{};
        hash256 parent{};
        int sent = 0;                     // getheaders sent so far
        std::chrono::milliseconds wait{};  // before the next one (or, after the last, the end)
        steady::time_point due{};
    };

    // Just after the block's message was queued: the first getheaders goes out behind it.
    void start_probe(const relay_block& b) {
        if (settings_.relay_probe_tries <= 0) return;
        // One probe per block: a repeated getdata while it is open asks nothing more.
        for (const auto& p : probes_)
            if (p.hash == b.hash) return;
        if (probes_.size() >= max_relay_probes) probes_.pop_front();
        relay_probe p;
        p.hash = b.hash;
        p.parent = b.header.base.prev_block;
        p.wait = settings_.relay_probe_wait;
        probes_.push_back(p);
        send_probe(probes_.back(), steady::now());
        arm_probe_timer();
    }

    void send_probe(relay_probe& p, steady::time_point now) {
        getheaders_message m;
        m.version = static_cast<std::uint32_t>(our_protocol_version(params_));
        m.locator = {p.parent};
        m.hash_stop = p.hash;
        send(cmd::getheaders, serialize(m));
        ++p.sent;
        p.due = now + p.wait;
        p.wait *= 2;
    }

    void arm_probe_timer() {
        if (probes_.empty() || closed_) return;
        auto next = probes_.front().due;
        for (const auto& p : probes_) next = std::min(next, p.due);
        probe_timer_.expires_at(next);
        probe_timer_.async_wait(asio::bind_executor(strand_, [self = shared_from_this()](error_code e) {
            if (!e) self->on_probe_timer();
        }));
    }

    void on_probe_timer() {
        if (closed_) return;
        const auto now = steady::now();
        for (auto it = probes_.begin(); it != probes_.end();) {
            if (it->due > now) {
                ++it;
            } else if (it->sent >= settings_.relay_probe_tries) {
                it = probes_.erase(it);  // given up: the next block or the RPC settles it
            } else {
                send_probe(*it, now);
                ++it;
            }
        }
        arm_probe_timer();
    }

    // A validated headers message (or cmpctblock) from this peer ended with hash.
    void probe_answered(const hash256& hash) {
        auto it = std::find_if(probes_.begin(), probes_.end(), [&](const relay_probe& p) { return p.hash == hash; });
        if (it == probes_.end()) return;
        probes_.erase(it);
        if (callbacks_.on_relayed_held) callbacks_.on_relayed_held(hash);
    }

    asio::strand<asio::any_io_executor> strand_;
    tcp::socket socket_;
    asio::steady_timer handshake_timer_;
    asio::steady_timer ping_timer_;
    asio::steady_timer probe_timer_;
    header_chain& chain_;
    const chain_params& params_;
    peer_settings settings_;
    peer_callbacks callbacks_;
    frame_decoder decoder_;
    std::array<std::uint8_t, read_chunk_bytes> read_buf_{};
    std::deque<outgoing> write_queue_;
    std::size_t queued_bytes_ = 0;
    std::mt19937_64 rng_;

    bool closed_ = false;
    bool paused_ = false;                 // a headers batch is being verified off the strand
    std::atomic<bool> detached_{false};   // the peer object is gone: the chain may be too
    bool connected_ = false;
    bool got_version_ = false;
    bool got_verack_ = false;
    bool ready_ = false;
    peer_features features_;
    peer_info info_;
    int unconnecting_ = 0;
    std::optional<std::uint64_t> ping_nonce_;
    std::chrono::steady_clock::time_point ping_sent_;
    std::deque<relay_block> relay_;
    std::size_t relay_bytes_ = 0;  // raw bytes held in relay_
    // The form of this peer's last getdata for a relayed block (relayed_block::form); -1: none yet.
    std::atomic<int> last_fetch_{-1};
    std::atomic<bool> told_sendcmpct_{false};
    std::deque<relay_probe> probes_;  // at most max_relay_probes
};

peer::peer(asio::any_io_executor ex, header_chain& headers, peer_settings settings, peer_callbacks callbacks)
    : impl_(std::make_shared<impl>(std::move(ex), headers, std::move(settings), std::move(callbacks))) {}

peer::~peer() {
    // Handlers still queued hold the impl; make sure they find it closed and silent, and
    // that an off-strand verification finishing later does not touch the header chain.
    impl_->detached_ = true;
    impl_->callbacks_ = {};
    close();
}

void peer::start() {
    asio::dispatch(impl_->strand_, [self = impl_] { self->do_connect(); });
}

void peer::close() {
    asio::dispatch(impl_->strand_, [self = impl_] { self->fail(p2p_errc::closed, ""); });
}

void peer::send_block(std::shared_ptr<relayed_block> block) {
    asio::dispatch(impl_->strand_, [self = impl_, b = std::move(block)]() mutable { self->on_send_block(std::move(b)); });
}

bool peer::ready() const noexcept { return impl_->ready_ && !impl_->closed_; }

relayed_block::form peer::likely_fetch() const noexcept {
    const int last = impl_->last_fetch_.load(std::memory_order_relaxed);
    if (last >= 0) return static_cast<relayed_block::form>(last);
    return impl_->told_sendcmpct_.load(std::memory_order_relaxed) ? relayed_block::form::compact
                                                                   : relayed_block::form::as_built;
}

peer_info peer::info() const { return impl_->info_; }

}  // namespace sb::node::p2p
