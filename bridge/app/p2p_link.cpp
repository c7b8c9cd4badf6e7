#include "p2p_link.hpp"

#include <cstdio>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "sb/core/hex.hpp"
#include "sb/node/p2p/header_template.hpp"

namespace sb::app {

namespace asio = boost::asio;
namespace p2p = node::p2p;

bool p2p_supported(const chain_params& chain) noexcept { return chain.coin == coin_type::bitcoin; }

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
            if (self->opts.log)
                self->opts.log("p2p: new tip " + to_hex_reversed(t.new_tip) + " at height " + std::to_string(t.new_height));
            if (self->opts.on_new_tip) self->opts.on_new_tip();
            self->check_header_only();
        };
        m.log = o.log;
        return m;
    }

    void log(const std::string& s) const {
        if (opts.log) opts.log(s);
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
        auto t = p2p::header_only_template(headers, now_unix_s());
        if (!t) {
            log("header-only work not possible: " + t.error().message());
            return;
        }
        if (!active.exchange(true))
            log("HEADER-ONLY WORK: the node's RPC is unreachable; mining coinbase-only blocks on the P2P tip");
        last_prev = t->prev_block;
        char bits[9];
        std::snprintf(bits, sizeof bits, "%08x", t->bits);
        log("header-only template at height " + std::to_string(t->height) + " on " + to_hex_reversed(t->prev_block) +
            " (bits " + bits + ", subsidy only)");
        if (opts.on_header_template) opts.on_header_template(std::make_shared<const node::block_template>(std::move(*t)));
    }

    asio::any_io_executor ex;
    p2p_link_options opts;
    p2p::header_chain headers;
    p2p::peer_manager manager;
    asio::steady_timer header_only_timer;
    std::atomic<bool> active{false};
    hash256 last_prev{};
    bool stopped = false;
};

p2p_link::p2p_link(asio::any_io_executor strand, const chain_params& chain, p2p_link_options options)
    : impl_(std::make_shared<impl>(std::move(strand), chain, std::move(options))) {}

p2p_link::~p2p_link() { stop(); }

void p2p_link::start() {
    asio::post(impl_->ex, [self = impl_] {
        if (auto ec = self->headers.open_store(self->opts.data_dir))
            self->log("p2p: header store not used (" + ec.message() + "); syncing from genesis each start");
        self->manager.start();
        self->schedule_header_only();
    });
}

void p2p_link::relay(bytes block) { impl_->manager.relay(std::move(block)); }

void p2p_link::stop() {
    impl_->manager.stop();
    asio::post(impl_->ex, [self = impl_] {
        self->stopped = true;
        self->header_only_timer.cancel();
    });
}

std::vector<p2p::peer_status> p2p_link::peers() const { return impl_->manager.peers(); }

bool p2p_link::header_only_active() const noexcept { return impl_->active.load(); }

}  // namespace sb::app
