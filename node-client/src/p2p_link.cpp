#include "sb/node/p2p_link.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "sb/core/hex.hpp"
#include "sb/node/p2p/anchor.hpp"
#include "sb/node/p2p/header_template.hpp"
#include "sb/pow/algorithm.hpp"

namespace sb::node {

namespace asio = boost::asio;

bool p2p_supported(const chain_params& chain) noexcept {
    const pow_algorithm mined = pow::mined_algorithm(chain);
    return mined == pow_algorithm::sha256d || mined == pow_algorithm::kawpow;
}

namespace {
std::int64_t now_unix_s() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}
}  // namespace

struct p2p_link::impl : std::enable_shared_from_this<impl> {
    impl(asio::any_io_executor strand, const chain_params& c, p2p_link_options o)
        : ex(std::move(strand)),
          opts(std::move(o)),
          headers(c),
          manager(ex, headers, manager_options(c, opts, this)),
          header_only_timer(ex) {}

    // `self` outlives the manager's callbacks: the manager is a member and silences them
    // when destroyed.
    static p2p::peer_manager_options manager_options(const chain_params& c, const p2p_link_options& o, impl* self) {
        p2p::peer_manager_options m;
        m.configured = o.peers;
        m.target_outbound = o.target_outbound;
        m.use_dns_seeds = o.dns_seeds && !p2p::dns_seeds(c.net).empty();
        m.on_new_tip = [self](const p2p::tip_change& t) {
            self->opts.log("p2p: new tip " + to_hex_reversed(t.new_tip) + " at height " + std::to_string(t.new_height));
            const bool behind = self->opts.on_new_tip && self->opts.on_new_tip(t);
            if (behind) self->tip_work(t);
            self->settle_relayed();
            self->check_header_only();
        };
        m.on_block_served = [self](const hash256& h) {
            auto it = self->own.find(h);
            if (it == self->own.end() || it->second.served) return;
            it->second.served = true;
            self->check_header_only();
        };
        m.on_block_held = [self](const hash256& h) {
            auto it = self->own.find(h);
            if (it == self->own.end() || it->second.held) return;
            it->second.held = true;
            self->settle_relayed();
        };
        m.log = o.log;
        m.peer.clock = o.clock;
        m.peer.offload = o.offload;
        return m;
    }

    void log(const std::string& s, log_level level = log_level::info) const {
        opts.log.write(level, s);
    }

    void schedule_header_only() {
        if (!opts.header_only || stopped) return;
        header_only_timer.expires_after(opts.header_only_poll);
        header_only_timer.async_wait([weak = std::weak_ptr<impl>(shared_from_this())](boost::system::error_code ec) {
            auto self = weak.lock();
            if (ec || !self || self->stopped) return;
            self->check_header_only();
            self->schedule_header_only();
        });
    }

    // On the strand: enter, refresh or leave header-only work.
    void check_header_only() {
        if (!opts.header_only || stopped) return;
        const bool rpc = !opts.rpc_reachable || opts.rpc_reachable();
        if (rpc) {
            if (active.exchange(false)) log("header-only work ended: the node's RPC is reachable again; full templates resume");
            return;
        }
        if (manager.connected_count() == 0) return;  // no peer: the tip may be stale
        if (active && last_prev == headers.tip().hash) return;
        if (auto it = own.find(headers.tip().hash); it != own.end() && !it->second.served) {
            // Our own block, no peer has fetched it yet: stay on its parent for now.
            if (gated_on != it->first) {
                gated_on = it->first;
                log("header-only work waits for a peer to fetch block " + to_hex_reversed(it->first) +
                    " before mining on top of it");
            }
            return;
        }
        auto t = p2p::header_only_template(headers, now_unix_s());
        if (!t) {
            log("header-only work not possible: " + t.error().message(), log_level::warn);
            return;
        }
        if (!active.exchange(true))
            log("HEADER-ONLY WORK: the node's RPC is unreachable; mining coinbase-only blocks on the P2P tip", log_level::warn);
        last_prev = t->prev_block;
        char bits[9];
        std::snprintf(bits, sizeof bits, "%08x", t->bits);
        log("header-only template at height " + std::to_string(t->height) + " on " + to_hex_reversed(t->prev_block) +
            " (bits " + bits + ", subsidy only)");
        if (opts.on_header_template) opts.on_header_template(std::make_shared<const block_template>(std::move(*t)));
    }

    // On the strand: a coinbase-only template on a new tip the receiver's work is behind
    // (p2p_link_options::on_tip_template).
    void tip_work(const p2p::tip_change& t) {
        if (!opts.on_tip_template || active || own.count(t.new_tip)) return;
        // Signet blocks need a signature the bridge cannot make, KAWPOW blocks a DAG the
        // header chain does not hold: nothing to say there.
        if (!p2p::header_only_work_possible(headers.chain())) return;
        auto tmpl = p2p::header_only_template(headers, now_unix_s());
        if (!tmpl) {
            log("p2p: no work on the new tip before the node's template: " + tmpl.error().message());
            return;
        }
        opts.on_tip_template(std::make_shared<const block_template>(std::move(*tmpl)));
    }

    // On the strand: a relayed block to watch.
    void watch(const hash256& hash, std::int32_t height) {
        if (!own.emplace(hash, own_block{height, false, false, false}).second) return;
        while (own.size() > max_watched_relayed_blocks) {
            auto lowest = std::min_element(own.begin(), own.end(), [](const auto& a, const auto& b) {
                return a.second.height < b.second.height;
            });
            own.erase(lowest);
        }
        settle_relayed();
    }

    // On the strand: settles watched blocks by the active chain (see on_block_settled).
    void settle_relayed() {
        if (own.empty()) return;
        // built: the highest active header a peer sent, below our own relayed blocks on top
        // (they entered the chain because we relayed them). held: the same, where a
        // configured peer sent one of those blocks back (on_block_held) counting too.
        constexpr std::int32_t none = std::numeric_limits<std::int32_t>::min();
        std::int32_t held = none;
        const p2p::header_entry* top = &headers.tip();
        while (top) {
            auto it = own.find(top->hash);
            if (it == own.end()) break;
            if (it->second.held && held == none) held = top->height;
            top = headers.at_height(top->height - 1);
        }
        const std::int32_t built = top ? top->height : none;
        held = std::max(held, built);
        if (held == none) return;
        for (auto it = own.begin(); it != own.end();) {
            own_block& b = it->second;
            const std::int32_t h = b.height;
            const p2p::header_entry* at = headers.at_height(h);
            const bool on_chain = at && at->hash == it->first;
            const hash256 hash = it->first;
            if (on_chain && h <= held && !b.accepted) {
                b.accepted = true;
                log("p2p: relayed block " + to_hex_reversed(hash) + " at height " + std::to_string(h) +
                    " is on the peers' chain");
                if (opts.on_block_settled) opts.on_block_settled(hash, h, true);
            }
            // Stale only for a block whose header the tree holds off the active chain: a
            // block it does not hold (header refused, or hashed differently) is left to
            // the RPC check rather than written off.
            const bool stale = !on_chain && at && h < built && headers.contains(hash);
            // Accepted on a configured peer's word alone, the block stays watched until a
            // peer builds on it: a competitor's chain may still pass it.
            if (!stale && !(on_chain && h <= built)) {
                ++it;
                continue;
            }
            const bool was_accepted = b.accepted;
            it = own.erase(it);
            if (!stale) continue;
            log("p2p: relayed block " + to_hex_reversed(hash) + " at height " + std::to_string(h) +
                (was_accepted ? " left the peers' chain: passed with another block at its height"
                              : " was passed by the peers' chain (stale)"));
            if (opts.on_block_settled) opts.on_block_settled(hash, h, false);
        }
    }

    struct own_block {
        std::int32_t height = 0;
        bool served = false;  // a peer fetched it
        bool held = false;    // a configured peer sent its header back: its active chain holds it
        bool accepted = false;  // reported accepted (on_block_settled)
    };

    asio::any_io_executor ex;
    p2p_link_options opts;
    p2p::header_chain headers;
    p2p::peer_manager manager;
    asio::steady_timer header_only_timer;
    std::atomic<bool> active{false};
    hash256 last_prev{};
    bool stopped = false;
    std::map<hash256, own_block> own;  // relayed blocks watched, not yet settled
    hash256 gated_on{};                // last block header-only work waited on (log once)

    // ---- rooting the header chain (genesis + store, or the node's RPC anchor) ----------

    // On the strand, once: roots the chain, then starts the peers.
    void begin() {
        if (stopped) return;
        headers.set_kawpow_verifier(opts.kawpow_verifier);
        if (opts.header_only && !p2p::header_only_work_possible(headers.chain())) {
            log("p2p: header-only work is not available on this chain (SHA-256d chains only, not signet); option "
                "ignored");
            opts.header_only = false;
        }
        if (!opts.anchor_from_rpc) {
            if (auto ec = headers.open_store(opts.data_dir))
                log("p2p: header store not used (" + ec.message() + "); syncing from genesis each start");
            return start_peers();
        }
        if (!opts.anchor_node) anchor_client = std::make_unique<rpc_client>(ex, opts.anchor_rpc);
        anchor_timer = std::make_unique<asio::steady_timer>(ex);
        anchor_backoff = opts.anchor_retry;
        fetch_anchor();
    }

    void start_peers() {
        announce_stored_tip();
        manager.start();
        schedule_header_only();
    }

    // A tip the store already holds counts like one a peer just sent: after a restart the
    // node may still build on an older block, and its template must not take the work
    // back there (the dispatcher refuses it; work starts on the stored tip meanwhile).
    void announce_stored_tip() {
        const auto& tip = headers.tip();
        if (tip.height == 0 || !opts.on_new_tip) return;
        p2p::tip_change t;
        t.old_tip = t.new_tip = t.fork_point = tip.hash;
        t.old_height = t.new_height = t.fork_height = tip.height;
        log("p2p: stored tip " + to_hex_reversed(tip.hash) + " at height " + std::to_string(tip.height));
        // A bare anchor (no header above the root) only ranks the node's templates: work on
        // it could be a retarget period old.
        const bool above_root = headers.at_height(tip.height - 1) != nullptr;
        if (opts.on_new_tip(t) && above_root) tip_work(t);
    }

    static bool same_node(const rpc_settings& a, const rpc_settings& b) {
        return a.url == b.url && a.user == b.user && a.password == b.password && a.cookie_file == b.cookie_file;
    }

    void fetch_anchor() {
        if (opts.anchor_node) {
            auto pick = opts.anchor_node();
            if (!pick.node && pick.pending) {
                anchor_timer->expires_after(opts.anchor_wait);
                anchor_timer->async_wait([weak = std::weak_ptr<impl>(shared_from_this())](boost::system::error_code ec) {
                    auto self = weak.lock();
                    if (ec || !self || self->stopped) return;
                    self->fetch_anchor();
                });
                return;
            }
            if (!pick.node)
                return on_anchor(make_error_code(node_errc::connect_failed), "no configured node is healthy");
            if (!anchor_client || !same_node(anchor_from, *pick.node)) {
                if (anchor_client) anchor_client->close();
                anchor_client = std::make_unique<rpc_client>(ex, *pick.node);
                anchor_from = *pick.node;
            }
        }
        p2p::fetch_rpc_anchor(*anchor_client, headers.chain(), opts.kawpow_verifier,
                              [weak = std::weak_ptr<impl>(shared_from_this())](result<p2p::rpc_anchor> a,
                                                                               const std::string& detail) {
                                  auto self = weak.lock();
                                  if (!self || self->stopped) return;
                                  self->on_anchor(std::move(a), detail);
                              });
    }

    void on_anchor(result<p2p::rpc_anchor> a, const std::string& detail) {
        std::string why;
        if (a) {
            release_anchor_client();
            p2p::anchor_header_chain(headers, *a, opts.data_dir, why);
            log("p2p: " + why);
            return start_peers();
        }
        // No anchor from the node: resume the stored chain if there is one (the node's
        // RPC is not needed for that), else wait for the node and ask again.
        const std::string reason = a.error().message() + (detail.empty() ? "" : " (" + detail + ")");
        if (p2p::anchor_header_chain(headers, std::nullopt, opts.data_dir, why)) {
            release_anchor_client();
            log("p2p: no anchor header from the node's RPC: " + reason + "; " + why);
            return start_peers();
        }
        log("p2p: no anchor header from the node's RPC: " + reason + "; P2P waits for it (next try in " +
            std::to_string(anchor_backoff.count() / 1000) + " s)");
        anchor_timer->expires_after(anchor_backoff);
        anchor_backoff = std::min(anchor_backoff * 2, max_anchor_retry);
        anchor_timer->async_wait([weak = std::weak_ptr<impl>(shared_from_this())](boost::system::error_code ec) {
            auto self = weak.lock();
            if (ec || !self || self->stopped) return;
            self->fetch_anchor();
        });
    }

    // The client is done; destroyed on a later turn of the strand, not inside its own
    // completion handler.
    void release_anchor_client() {
        asio::post(ex, [self = shared_from_this()] { self->anchor_client.reset(); });
    }

    static constexpr std::chrono::milliseconds max_anchor_retry{300'000};
    std::unique_ptr<rpc_client> anchor_client;
    rpc_settings anchor_from;  // the node anchor_client asks (with anchor_node)
    std::unique_ptr<asio::steady_timer> anchor_timer;
    std::chrono::milliseconds anchor_backoff{0};
};

p2p_link::p2p_link(asio::any_io_executor strand, const chain_params& chain, p2p_link_options options)
    : impl_(std::make_shared<impl>(std::move(strand), chain, std::move(options))) {}

p2p_link::~p2p_link() { stop(); }

void p2p_link::start() {
    asio::post(impl_->ex, [self = impl_] { self->begin(); });
}

void p2p_link::relay(std::shared_ptr<const bytes> block) { impl_->manager.relay(std::move(block)); }

void p2p_link::relay(std::shared_ptr<const bytes> block, const hash256& hash, std::int32_t height) {
    // Posted before the manager's relay: the block is watched before its header lands.
    asio::post(impl_->ex, [self = impl_, hash, height] { self->watch(hash, height); });
    impl_->manager.relay(std::move(block));
}

void p2p_link::stop() {
    impl_->manager.stop();
    asio::post(impl_->ex, [self = impl_] {
        self->stopped = true;
        self->header_only_timer.cancel();
        if (self->anchor_timer) self->anchor_timer->cancel();
        if (self->anchor_client) self->anchor_client->close();
    });
}

std::vector<p2p::peer_status> p2p_link::peers() const { return impl_->manager.peers(); }

bool p2p_link::header_only_active() const noexcept { return impl_->active.load(); }

}  // namespace sb::node
