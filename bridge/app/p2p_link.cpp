#include "p2p_link.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>

#include "sb/core/hex.hpp"
#include "sb/node/p2p/peer.hpp"

namespace sb::app {

namespace asio = boost::asio;
namespace p2p = node::p2p;

namespace {
constexpr std::chrono::milliseconds reconnect_initial{500};
constexpr std::chrono::milliseconds reconnect_max{30'000};
}  // namespace

bool p2p_supported(const chain_params& chain) noexcept { return chain.coin == coin_type::bitcoin; }

struct p2p_link::impl : std::enable_shared_from_this<impl> {
    impl(asio::any_io_executor strand, const chain_params& c, p2p_link_options o)
        : ex(std::move(strand)), chain(c), opts(std::move(o)), headers(c), timer(ex) {}

    asio::any_io_executor ex;
    const chain_params& chain;
    p2p_link_options opts;
    p2p::header_chain headers;
    std::unique_ptr<p2p::peer> peer;
    asio::steady_timer timer;
    std::chrono::milliseconds backoff = reconnect_initial;
    bool stopped = false;

    void log(const std::string& s) const {
        if (opts.log) opts.log("p2p " + opts.address + ":" + std::to_string(opts.port) + ": " + s);
    }

    void connect() {
        if (stopped) return;
        p2p::peer_settings ps;
        ps.address = opts.address;
        ps.port = opts.port;
        p2p::peer_callbacks cb;
        std::weak_ptr<impl> weak = shared_from_this();
        cb.on_ready = [weak](const p2p::peer_info& info) {
            if (auto self = weak.lock()) {
                self->backoff = reconnect_initial;
                self->log("connected to " + info.user_agent + " (protocol " + std::to_string(info.version) + ", height " +
                          std::to_string(info.start_height) + ")");
            }
        };
        cb.on_new_tip = [weak](const p2p::tip_change& t) {
            if (auto self = weak.lock()) {
                self->log("new tip " + to_hex_reversed(t.new_tip) + " at height " + std::to_string(t.new_height));
                if (self->opts.on_new_tip) self->opts.on_new_tip();
            }
        };
        cb.on_block_served = [weak](const hash256& h) {
            if (auto self = weak.lock()) self->log("block " + to_hex_reversed(h) + " sent to the peer");
        };
        cb.on_close = [weak](std::error_code ec, const std::string& why) {
            auto self = weak.lock();
            if (!self || self->stopped) return;
            self->log("disconnected: " + (why.empty() ? ec.message() : why) + "; retrying in " +
                      std::to_string(self->backoff.count()) + " ms");
            // The peer calls this from its own handler: destroy it later, on the strand.
            asio::post(self->ex, [self] { self->schedule_reconnect(); });
        };
        peer = std::make_unique<p2p::peer>(ex, headers, ps, std::move(cb));
        peer->start();
    }

    void schedule_reconnect() {
        peer.reset();
        if (stopped) return;
        timer.expires_after(backoff);
        backoff = std::min(backoff * 2, reconnect_max);
        timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (!ec) self->connect();
        });
    }
};

p2p_link::p2p_link(asio::any_io_executor strand, const chain_params& chain, p2p_link_options options)
    : impl_(std::make_shared<impl>(std::move(strand), chain, std::move(options))) {}

p2p_link::~p2p_link() { stop(); }

void p2p_link::start() {
    asio::post(impl_->ex, [self = impl_] {
        if (auto ec = self->headers.open_store(self->opts.data_dir))
            self->log("header store not used (" + ec.message() + "); syncing from genesis each start");
        self->connect();
    });
}

void p2p_link::relay(bytes block) {
    asio::post(impl_->ex, [self = impl_, b = std::move(block)]() mutable {
        if (self->peer && self->peer->ready()) {
            self->peer->send_block(std::move(b));
        } else {
            self->log("found block not relayed: no P2P connection (RPC submission goes on)");
        }
    });
}

void p2p_link::stop() {
    asio::post(impl_->ex, [self = impl_] {
        self->stopped = true;
        self->timer.cancel();
        if (self->peer) self->peer->close();
    });
}

}  // namespace sb::app
