// The peer manager: configured slots with their own back-off timers, public slots filled
// from the address book on a tick. All state lives on the manager's strand; a mutex
// guards only the status snapshot read by other threads.
#include "sb/node/p2p/peer_manager.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <mutex>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "sb/core/hex.hpp"

namespace sb::node::p2p {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using namespace std::chrono_literals;

namespace {

// DNS seeds are asked again at most this often when no public address is left to try.
constexpr std::chrono::minutes seed_requery_interval{5};

constexpr std::array<std::string_view, 9> seeds_bitcoin_mainnet{
    "seed.bitcoin.sipa.be",        "dnsseed.bluematt.me",          "seed.bitcoin.jonasschnelli.ch",
    "seed.btc.petertodd.net",      "seed.bitcoin.sprovoost.nl",    "dnsseed.emzy.de",
    "seed.bitcoin.wiz.biz",        "seed.mainnet.achownodes.xyz",  "dnsseed.bitcoin.dashjr-list-of-p2p-nodes.us"};
constexpr std::array<std::string_view, 4> seeds_bitcoin_testnet3{
    "testnet-seed.bitcoin.jonasschnelli.ch", "seed.tbtc.petertodd.net", "seed.testnet.bitcoin.sprovoost.nl",
    "testnet-seed.bluematt.me"};
constexpr std::array<std::string_view, 2> seeds_bitcoin_testnet4{"seed.testnet4.bitcoin.sprovoost.nl",
                                                                 "seed.testnet4.wiz.biz"};
constexpr std::array<std::string_view, 2> seeds_bitcoin_signet{"seed.signet.bitcoin.sprovoost.nl",
                                                               "seed.signet.achownodes.xyz"};
constexpr std::array<std::string_view, 3> seeds_ravencoin_mainnet{"seed-raven.bitactivate.com",
                                                                  "seed-raven.ravencoin.com", "seed-raven.ravencoin.org"};

std::string endpoint_text(const std::string& host, std::uint16_t port) {
    return host.find(':') != std::string::npos ? "[" + host + "]:" + std::to_string(port)
                                               : host + ":" + std::to_string(port);
}

bool discourage_for(std::error_code ec) {
    // A slow handshake after a completed TCP connect is treated like misbehaviour for
    // public peers (it holds a slot); connect failures only back off.
    return is_punishable(ec) || ec == p2p_errc::handshake_timeout;
}

}  // namespace

std::string peer_endpoint::to_string() const { return endpoint_text(host, port); }

std::chrono::milliseconds configured_retry_delay(std::chrono::milliseconds previous, std::error_code why,
                                                 const peer_manager_options& o) noexcept {
    auto next = previous.count() == 0 ? o.backoff_first : std::min(previous * 2, o.backoff_cap_configured);
    if (why == p2p_errc::connect_failed) next = std::min(next, o.connect_retry_configured);
    return std::max(next, std::chrono::milliseconds(1));
}

std::span<const std::string_view> dns_seeds(network net) noexcept {
    switch (net) {
        case network::bitcoin_mainnet: return seeds_bitcoin_mainnet;
        case network::bitcoin_testnet3: return seeds_bitcoin_testnet3;
        case network::bitcoin_testnet4: return seeds_bitcoin_testnet4;
        case network::bitcoin_signet: return seeds_bitcoin_signet;
        case network::ravencoin_mainnet: return seeds_ravencoin_mainnet;
        default: return {};
    }
}

struct peer_manager::impl : std::enable_shared_from_this<impl> {
    struct slot {
        bool configured = false;
        peer_endpoint cfg;                  // configured slots
        std::optional<peer_address> addr;   // numeric address being / last connected
        std::unique_ptr<peer> conn;
        bool ready = false;
        bool waiting = false;  // configured: back-off timer running
        bool connect_failure_logged = false;  // configured: this outage's failed connect was logged
        std::chrono::milliseconds backoff{0};
        std::unique_ptr<asio::steady_timer> timer;  // configured slots only
    };

    impl(asio::any_io_executor ex_, header_chain& headers_, peer_manager_options o)
        : ex(std::move(ex_)),
          headers(headers_),
          opts(std::move(o)),
          book(book_options(opts)),
          tick_timer(ex) {}

    static address_book::options book_options(const peer_manager_options& o) {
        address_book::options b;
        b.discourage_for = o.discourage_for;
        b.backoff_first = o.backoff_first;
        b.backoff_cap = o.backoff_cap_learned;
        b.allow_non_routable = o.allow_non_routable;
        return b;
    }

    asio::any_io_executor ex;
    header_chain& headers;
    peer_manager_options opts;
    address_book book;
    asio::steady_timer tick_timer;
    std::vector<std::unique_ptr<slot>> configured;
    std::vector<std::unique_ptr<slot>> publics;
    bool stopped = false;
    bool started = false;
    std::optional<std::chrono::steady_clock::time_point> last_seed_query;

    mutable std::mutex snapshot_mutex;
    std::vector<peer_status> snapshot;
    std::size_t snapshot_connected = 0;
    std::size_t snapshot_known = 0;
    std::size_t snapshot_discouraged = 0;

    void log(const std::string& s, log_level level = log_level::info) const {
        opts.log.write(level, "p2p: " + s);
    }

    std::size_t public_target() const {
        return opts.target_outbound > configured.size() ? opts.target_outbound - configured.size() : 0;
    }

    // ---- start / stop --------------------------------------------------------------

    void on_start() {
        if (started || stopped) return;
        started = true;
        for (const auto& c : opts.configured) {
            auto s = std::make_unique<slot>();
            s->configured = true;
            s->cfg = c;
            s->timer = std::make_unique<asio::steady_timer>(ex);
            configured.push_back(std::move(s));
        }
        for (auto& s : configured) start_configured(*s);
        if (public_target() > 0) query_seeds();
        schedule_tick(0ms);
        refresh_snapshot();
    }

    void on_stop() {
        stopped = true;
        tick_timer.cancel();
        for (auto* list : {&configured, &publics})
            for (auto& s : *list) {
                if (s->timer) s->timer->cancel();
                if (s->conn) s->conn->close();
            }
        refresh_snapshot();
    }

    // ---- name resolution -----------------------------------------------------------

    void resolve(const std::string& host, std::uint16_t port, resolve_handler done) {
        std::weak_ptr<impl> weak = shared_from_this();
        // Whatever thread the resolver answers on, continue on the strand.
        resolve_handler on_strand = [weak, done = std::move(done), ex = ex](std::vector<peer_address> r) mutable {
            asio::dispatch(ex, [weak, done = std::move(done), r = std::move(r)]() mutable {
                auto self = weak.lock();
                if (!self || self->stopped) return;
                done(std::move(r));
            });
        };
        if (opts.resolve) return opts.resolve(host, port, std::move(on_strand));
        auto resolver = std::make_shared<tcp::resolver>(ex);
        resolver->async_resolve(host, std::to_string(port),
                                [resolver, port, on_strand = std::move(on_strand)](
                                    error_code ec, tcp::resolver::results_type results) mutable {
                                    std::vector<peer_address> out;
                                    if (!ec)
                                        for (const auto& r : results) {
                                            const auto a = r.endpoint().address();
                                            auto pa = peer_address::from_numeric(a.to_string(), port);
                                            if (pa) out.push_back(*pa);
                                        }
                                    on_strand(std::move(out));
                                });
    }

    void query_seeds() {
        if (!opts.use_dns_seeds) return;
        const auto seeds = dns_seeds(headers.chain().net);
        if (seeds.empty()) return;
        last_seed_query = std::chrono::steady_clock::now();
        for (const auto& seed : seeds) {
            const std::string host(seed);
            resolve(host, headers.chain().p2p_port, [self = shared_from_this(), host](std::vector<peer_address> r) {
                const std::size_t added = self->book.add(r);
                self->log("DNS seed " + host + ": " + std::to_string(r.size()) + " addresses, " + std::to_string(added) +
                          " new");
                self->fill_public();
            });
        }
    }

    // ---- configured peers ------------------------------------------------------------

    void start_configured(slot& s) {
        if (stopped) return;
        s.waiting = false;
        if (auto numeric = peer_address::from_numeric(s.cfg.host, s.cfg.port)) {
            s.addr = numeric;
            return connect(s);
        }
        slot* sp = &s;
        resolve(s.cfg.host, s.cfg.port, [self = shared_from_this(), sp](std::vector<peer_address> r) {
            if (r.empty()) {
                self->log(sp->cfg.to_string() + ": name not resolved");
                return self->configured_backoff(*sp);
            }
            // Prefer IPv4 (the usual local-node setup), else the first answer.
            auto it = std::find_if(r.begin(), r.end(), [](const peer_address& a) { return a.is_ipv4(); });
            sp->addr = it != r.end() ? *it : r.front();
            self->connect(*sp);
        });
    }

    // why: the reason the last attempt or connection ended (empty: name not resolved).
    void configured_backoff(slot& s, std::error_code why = {}) {
        if (stopped) return;
        s.backoff = configured_retry_delay(s.backoff, why, opts);
        s.waiting = true;
        s.timer->expires_after(s.backoff);
        slot* sp = &s;
        s.timer->async_wait([weak = std::weak_ptr<impl>(shared_from_this()), sp](error_code ec) {
            auto self = weak.lock();
            if (ec || !self || self->stopped) return;
            self->start_configured(*sp);
        });
        refresh_snapshot();
    }

    // ---- connections ---------------------------------------------------------------------

    void connect(slot& s) {
        peer_settings ps = opts.peer;
        ps.address = s.addr->host_key();
        ps.port = s.addr->port;
        ps.confirm_relayed = s.configured;
        peer_callbacks cb;
        std::weak_ptr<impl> weak = shared_from_this();
        slot* sp = &s;
        cb.on_ready = [weak, sp](const peer_info& info) {
            if (auto self = weak.lock()) self->on_ready(*sp, info);
        };
        cb.on_new_tip = [weak](const tip_change& t) {
            auto self = weak.lock();
            if (self && self->opts.on_new_tip) self->opts.on_new_tip(t);
        };
        cb.on_block_served = [weak](const hash256& h) {
            auto self = weak.lock();
            if (self && self->opts.on_block_served) self->opts.on_block_served(h);
        };
        cb.on_relayed_held = [weak, sp](const hash256& h) {
            auto self = weak.lock();
            if (!self) return;
            self->log(sp->addr->to_string() + " (configured) holds relayed block " + to_hex_reversed(h) +
                      " (its answer to getheaders)");
            if (self->opts.on_block_held) self->opts.on_block_held(h);
        };
        cb.on_block_sent = [weak, sp](const block_sent& b) {
            auto self = weak.lock();
            if (!self) return;
            auto ms = [&](std::chrono::steady_clock::time_point t) {
                char text[32];
                std::snprintf(text, sizeof text, "%.3f ms",
                              std::chrono::duration<double, std::milli>(t - b.made_at).count());
                return std::string(text);
            };
            self->log("block " + to_hex_reversed(b.hash) + " sent to " + sp->addr->to_string() + " as " +
                      std::string(b.command) + ": first bytes " + ms(b.first_write) + " and all " +
                      std::to_string(b.bytes) + " bytes " + ms(b.last_write) + " after it was relayed");
            if (self->opts.on_block_sent) self->opts.on_block_sent(b);
        };
        cb.on_addr = [weak](std::vector<peer_address> addrs) {
            auto self = weak.lock();
            if (!self) return;
            // Public network: addresses of every peer count. Only the book's bound
            // limits how many are kept.
            self->book.add(addrs);
        };
        cb.on_close = [weak, sp](std::error_code ec, const std::string& why) {
            auto self = weak.lock();
            if (!self) return;
            // The peer calls this from its own handler: destroy it later, on the strand.
            asio::post(self->ex, [self, sp, ec, why] { self->on_closed(*sp, ec, why); });
        };
        s.ready = false;
        s.conn = std::make_unique<peer>(ex, headers, ps, std::move(cb));
        s.conn->start();
    }

    void on_ready(slot& s, const peer_info& info) {
        s.ready = true;
        s.backoff = 0ms;
        s.connect_failure_logged = false;
        if (!s.configured) book.succeeded(*s.addr);
        log(s.addr->to_string() + (s.configured ? " (configured)" : "") + ": connected to " + info.user_agent +
            " (protocol " + std::to_string(info.version) + ", height " + std::to_string(info.start_height) + ")");
        refresh_snapshot();
    }

    void on_closed(slot& s, std::error_code ec, const std::string& why) {
        const bool was_ready = s.ready;
        s.ready = false;
        s.conn.reset();
        if (stopped) return refresh_snapshot();
        const std::string who = s.addr ? s.addr->to_string() : s.cfg.to_string();
        if (s.configured) {
            configured_backoff(s, ec);
            const std::string retry = "; retrying in " + std::to_string(s.backoff.count()) + " ms";
            if (discourage_for(ec)) {
                log(who + " (configured): misbehaved: " + why + "; kept because it is configured (not discouraged)" +
                    retry);
            } else if (ec != p2p_errc::connect_failed) {
                log(who + " (configured): disconnected: " + why + retry, log_level::warn);
            } else if (!s.connect_failure_logged) {
                // Once per outage: the short retry would otherwise log every second.
                s.connect_failure_logged = true;
                log(who + " (configured): cannot connect: " + why + "; trying again at least every " +
                    std::to_string(opts.connect_retry_configured.count()) + " ms until it answers",
                    log_level::warn);
            }
            return;
        }
        const auto now = std::chrono::steady_clock::now();
        if (discourage_for(ec)) {
            book.discourage(*s.addr, now);
            log(who + ": " + why + "; discouraged for " + std::to_string(opts.discourage_for.count()) + " s");
        } else {
            book.failed(*s.addr, now);
            if (was_ready) log(who + ": disconnected: " + why);
        }
        publics.erase(std::remove_if(publics.begin(), publics.end(), [&](const auto& p) { return p.get() == &s; }),
                      publics.end());
        refresh_snapshot();
    }

    // ---- public peers ----------------------------------------------------------------

    void schedule_tick(std::chrono::milliseconds after) {
        tick_timer.expires_after(after);
        tick_timer.async_wait([weak = std::weak_ptr<impl>(shared_from_this())](error_code ec) {
            auto self = weak.lock();
            if (ec || !self || self->stopped) return;
            self->fill_public();
            self->refresh_snapshot();
            self->schedule_tick(self->opts.tick);
        });
    }

    void fill_public() {
        if (stopped) return;
        const auto now = std::chrono::steady_clock::now();
        while (publics.size() < public_target()) {
            std::vector<std::uint64_t> groups;
            std::vector<peer_address> busy;
            for (const auto& p : publics) {
                groups.push_back(netgroup(*p->addr));
                busy.push_back(*p->addr);
            }
            for (const auto& c : configured)
                if (c->addr) busy.push_back(*c->addr);  // never a second connection to the user's node
            auto next = book.select(now, groups, busy);
            if (!next) {
                if (opts.use_dns_seeds && (!last_seed_query || now - *last_seed_query > seed_requery_interval))
                    query_seeds();
                break;
            }
            auto s = std::make_unique<slot>();
            s->addr = *next;
            slot& ref = *s;
            publics.push_back(std::move(s));
            connect(ref);
        }
    }

    // ---- status ---------------------------------------------------------------------

    void refresh_snapshot() {
        std::vector<peer_status> rows;
        std::size_t connected = 0;
        auto row = [&](const slot& s) {
            peer_status st;
            st.configured = s.configured;
            if (s.configured) st.configured_as = s.cfg.to_string();
            if (s.addr) st.address = s.addr->to_string();
            st.connected = s.ready && s.conn && s.conn->ready();
            if (s.conn) {
                const peer_info info = s.conn->info();
                st.user_agent = info.user_agent;
                st.height = std::max(info.best_height, 0);
                if (info.latency) st.ping_ms = double(info.latency->count()) / 1000.0;
                if (st.connected)
                    st.since = std::chrono::duration_cast<std::chrono::seconds>(
                                   info.connected_since.time_since_epoch())
                                   .count();
            }
            if (st.connected) ++connected;
            rows.push_back(std::move(st));
        };
        for (const auto& s : configured) row(*s);
        for (const auto& s : publics) row(*s);
        std::lock_guard lock(snapshot_mutex);
        snapshot = std::move(rows);
        snapshot_connected = connected;
        snapshot_known = book.size();
        snapshot_discouraged = book.discouraged_count();
    }

    void on_relay(std::shared_ptr<const bytes> raw) {
        auto block = std::make_shared<relayed_block>(headers.chain(), std::move(raw));
        std::size_t sent = 0;
        std::vector<relayed_block::form> likely;  // the forms the peers will ask for, configured peers' first
        for (auto* list : {&configured, &publics})
            for (auto& s : *list)
                if (s->conn && s->conn->ready()) {
                    s->conn->send_block(block);
                    ++sent;
                    const auto f = s->conn->likely_fetch();
                    if (std::find(likely.begin(), likely.end(), f) == likely.end()) likely.push_back(f);
                }
        if (sent == 0) log("found block not relayed: no P2P connection (RPC submission goes on)");
        else log("found block announced to " + std::to_string(sent) + " peer" + (sent == 1 ? "" : "s"));
        // The messages the peers' getdata will ask for (a checksum over the whole block, a
        // compact encoding), built while the announcements travel and the getdata comes
        // back. On the worker the daemon gives (peer_settings::offload) when there is one: a
        // hash of a whole block on an I/O thread would hold up the handlers queued behind it
        // there, the submitblock stream's writes among them. Otherwise posted here, after the
        // announcements queued above on the peers' strands (which run on this one, in order).
        // A getdata that comes first builds the message itself, once (relayed_block::get).
        if (!likely.empty()) {
            auto build = [block, likely] {
                for (const auto f : likely) block->get(f);
            };
            if (opts.peer.offload) opts.peer.offload(std::move(build));
            else asio::post(ex, std::move(build));
        }
    }
};

peer_manager::peer_manager(asio::any_io_executor strand, header_chain& headers, peer_manager_options options)
    : impl_(std::make_shared<impl>(std::move(strand), headers, std::move(options))) {}

peer_manager::~peer_manager() {
    impl_->opts.on_new_tip = nullptr;
    impl_->opts.on_block_served = nullptr;
    impl_->opts.on_block_held = nullptr;
    impl_->opts.on_block_sent = nullptr;
    impl_->opts.log = logger::none();
    stop();
}

void peer_manager::start() {
    asio::dispatch(impl_->ex, [self = impl_] { self->on_start(); });
}

void peer_manager::stop() {
    asio::dispatch(impl_->ex, [self = impl_] { self->on_stop(); });
}

void peer_manager::relay(std::shared_ptr<const bytes> block) {
    asio::post(impl_->ex, [self = impl_, b = std::move(block)]() mutable { self->on_relay(std::move(b)); });
}

std::vector<peer_status> peer_manager::peers() const {
    std::lock_guard lock(impl_->snapshot_mutex);
    return impl_->snapshot;
}

std::size_t peer_manager::connected_count() const {
    std::lock_guard lock(impl_->snapshot_mutex);
    return impl_->snapshot_connected;
}

std::size_t peer_manager::known_addresses() const {
    std::lock_guard lock(impl_->snapshot_mutex);
    return impl_->snapshot_known;
}

std::size_t peer_manager::discouraged_count() const {
    std::lock_guard lock(impl_->snapshot_mutex);
    return impl_->snapshot_discouraged;
}

}  // namespace sb::node::p2p
