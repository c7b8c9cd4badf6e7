// `solobridge --config FILE` / `solobridge run --config FILE`: the daemon. Per chain it
// wires the node's templates (longpoll + refresh) into the dispatcher, the dispatcher
// into the Stratum listeners, and found blocks into the submitter (journal first, then
// every node at once). DESIGN.md §1 and §4.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "commands.hpp"
#include "alerts/notifier.hpp"
#include "dispatch/dispatcher.hpp"
#include "dispatch/journal.hpp"
#include "dispatch/submitter.hpp"
#include "mining/device_worker.hpp"
#include "sb/gpu/device.hpp"
#include "sb/gpu/kawpow_device.hpp"
#include "sb/config/config.hpp"
#include "sb/node/p2p/kawpow_verifier.hpp"
#include "sb/node/p2p_link.hpp"
#include "sb/node/template_failover.hpp"
#include "sb/core/block.hpp"
#include "sb/core/hex.hpp"
#include "sb/core/log.hpp"
#include "sb/core/ravencoin.hpp"
#include "sb/core/uint256.hpp"
#include "sb/pow/algorithm.hpp"
#include "stratum/dispatcher_source.hpp"
#include "stratum/server.hpp"
#include "stats/alert_feed.hpp"
#include "stats/history.hpp"
#include "stats/statistics.hpp"
#include "web/server.hpp"

namespace sb::app {
namespace {

namespace asio = boost::asio;

// How often the daemon prints one status line per chain.
constexpr std::chrono::seconds status_interval{30};
// How long a shutdown may take before the remaining work is abandoned.
constexpr std::chrono::seconds shutdown_grace{2};

node::rpc_settings rpc_settings_for(const config::node_settings& n) {
    node::rpc_settings s;
    s.url = n.rpc_url;
    s.user = n.rpc_user;
    s.password = n.rpc_password;
    s.cookie_file = n.rpc_cookie_file;
    s.timeout = std::chrono::milliseconds(n.rpc_timeout_ms);
    return s;
}

// Everything that runs for one configured chain.
struct chain_runtime {
    config::chain_settings settings;
    std::shared_ptr<bridge::journal> journal;
    std::unique_ptr<bridge::submitter> submitter;
    std::shared_ptr<bridge::dispatcher> dispatcher;
    std::unique_ptr<node::template_failover> templates;  // from the first healthy node
    std::unique_ptr<bridge::stratum::server> stratum;
    std::unique_ptr<node::p2p_link> p2p;
    // Local mining devices (config "devices"), one thread each, on this dispatcher.
    std::vector<std::unique_ptr<bridge::mining::device_worker>> devices;

    void stop() {
        for (auto& w : devices) w->stop();  // joins: at most one search call each
        if (p2p) p2p->stop();
        if (templates) templates->stop();
        if (stratum) stratum->stop();
        if (dispatcher) dispatcher->stop();
        if (submitter) submitter->stop();
    }
};

// The journal's block hash (journal.hpp): the chain's header-level proof-of-work
// algorithm names a block by its serialized header. A block is longer than its header.
bridge::block_hash_fn block_hash_for(const chain_params& chain) {
    const pow::header_algorithm& algo = pow::header_algorithm_of(pow::mined_algorithm(chain));
    return [&algo](byte_span block) -> std::optional<hash256> {
        if (block.size() <= algo.header_bytes()) return std::nullopt;
        return algo.block_hash(block);
    };
}

bool wants_hashrate_drops(const config::alert_settings& a) {
    return std::any_of(a.webhooks.begin(), a.webhooks.end(), [](const config::webhook_settings& w) {
        return w.events.test(static_cast<std::size_t>(config::alert_kind::hashrate_drop));
    });
}

// An alert's end at a webhook, as an event of the dashboard and the history.
bridge::stats::event delivery_event(const bridge::alerts::delivery_report& r) {
    bridge::stats::event e;
    e.kind = bridge::stats::event_kind::alert_sent;
    e.chain = r.chain;
    e.state = r.delivered ? "delivered" : "given_up";
    e.detail = "alert \"" + r.title + "\" " + (r.delivered ? "delivered to " + r.webhook : "not delivered to " + r.webhook + ": " + r.detail);
    return e;
}

std::shared_ptr<bridge::stats::statistics> make_statistics(const config::settings& s, const logger& log) {
    bridge::stats::statistics_options o;
    o.version = SB_VERSION;
    o.idle_after_intervals = s.stats.idle_after_intervals;
    o.offline_after_intervals = s.stats.offline_after_intervals;
    o.default_share_interval = std::chrono::seconds(s.stats.default_share_interval_s);
    o.forget_offline_after = std::chrono::seconds(s.stats.forget_offline_after_s);
    o.max_workers = s.stats.max_workers;
    o.hashrate_drop_ratio = s.stats.hashrate_drop_ratio;
    // The alerts' threshold, when a webhook wants hashrate drops (alert_feed posts them).
    if (wants_hashrate_drops(s.alerts)) o.alert_drop_ratio = s.alerts.hashrate_drop_ratio;
    o.history_workers = s.stats.history_workers;
    o.log = log;
    return std::make_shared<bridge::stats::statistics>(o);
}

bridge::web::server_options web_options(const config::http_settings& h, const logger& log) {
    bridge::web::server_options o;
    o.host = h.listen.host;
    o.port = h.listen.port;
    o.token = h.token;
    o.user = h.user;
    o.password = h.password;
    o.metrics_per_worker = h.metrics_per_worker;
    o.metrics_max_workers = h.metrics_max_workers;
    o.max_connections = h.max_connections;
    o.max_websockets = h.max_websockets;
    o.log = log;
    return o;
}

// What the statistics read of a chain at every tick; the parts outlive the statistics'
// thread (stopped before the chains are destroyed) and may be null until built.
bridge::stats::chain_sources stats_sources(chain_runtime& rt) {
    bridge::stats::chain_sources src;
    src.id = rt.settings.id;
    src.net = rt.settings.net;
    src.payout = rt.settings.payout.mode;
    for (const auto& n : rt.settings.nodes) src.rpc_urls.push_back(n.rpc_url);
    chain_runtime* r = &rt;
    src.dispatcher = [r] { return r->dispatcher ? r->dispatcher->stats() : bridge::dispatcher_stats{}; };
    src.templates = [r] { return r->templates ? r->templates->status() : node::failover_status{}; };
    src.submitter = [r] { return r->submitter ? r->submitter->status() : bridge::submitter_status{}; };
    src.sessions = [r] { return r->stratum ? r->stratum->snapshot() : std::vector<bridge::stratum::session_stats>{}; };
    src.bans = [r] { return r->stratum ? r->stratum->bans() : std::vector<bridge::stratum::ban_info>{}; };
    src.devices = [r] {
        std::vector<bridge::mining::device_worker_stats> out;
        for (const auto& d : r->devices) out.push_back(d->stats());
        return out;
    };
    src.peers = [r] { return r->p2p ? r->p2p->peers() : std::vector<node::p2p::peer_status>{}; };
    src.header_only = [r] { return r->p2p && r->p2p->header_only_active(); };
    return src;
}

// A device opened for its chain's algorithm: exactly one of the two.
struct opened_device {
    std::unique_ptr<gpu::sha256d_searcher> sha256d;
    std::unique_ptr<gpu::kawpow_searcher> kawpow;
};

int run_daemon(const config::settings& s) {
    // The config validated log_level; every line below goes through the one facility.
    set_log_threshold(parse_log_level(s.log_level).value_or(log_level::info));
    const logger base;
    asio::io_context io;
    // KAWPOW share verification (milliseconds each) runs here, off the I/O threads, so a
    // miner's reply never waits behind another miner's verification (stratum.md §5: 2 s).
    asio::thread_pool verify_pool(std::max(1u, std::thread::hardware_concurrency() / 2));
    // KAWPOW light verification of P2P headers batches (Ravencoin): a thread of its own, so
    // a long batch (~10 ms a header) never delays a miner's share check.
    asio::thread_pool p2p_verify_pool(1);
    std::vector<std::unique_ptr<chain_runtime>> chains;
    // The dashboard's statistics (their history is opened below, once data_dir exists).
    auto stats = make_statistics(s, base.with_prefix("stats"));
    // Alerts (config "alerts") run on their own thread; the block sink below only posts to
    // it, its watches sample the nodes' and the found blocks' status from there, and the
    // statistics post workers going offline and hashrate drops. Deliveries become events.
    std::unique_ptr<bridge::alerts::notifier> alerts;
    if (!s.alerts.webhooks.empty()) {
        bridge::alerts::notifier_options aopt;
        aopt.settings = s.alerts;
        aopt.on_delivery = [stats](const bridge::alerts::delivery_report& r) { stats->note_event(delivery_event(r)); };
        alerts = std::make_unique<bridge::alerts::notifier>(std::move(aopt));
        std::string detail;
        if (auto ec = alerts->start(&detail)) {
            base.error("alerts cannot start: " + detail + " (" + ec.message() + ")");
            return exit_usage;
        }
        base.info("alerts: " + std::to_string(s.alerts.webhooks.size()) +
                  (s.alerts.webhooks.size() == 1 ? " webhook" : " webhooks"));
    }

    std::error_code fs_ec;
    std::filesystem::create_directories(s.data_dir, fs_ec);
    if (fs_ec) {
        base.error("cannot create data_dir " + s.data_dir + ": " + fs_ec.message());
        return exit_failure;
    }

    // The statistics' history (never a reason not to mine: an unusable database leaves the
    // statistics in memory, said in the log and on the dashboard).
    if (alerts) {
        bridge::alerts::notifier* n = alerts.get();
        stats->subscribe(std::make_shared<bridge::stats::alert_feed>(
            [n](bridge::alerts::alert_event e) { n->post(std::move(e)); }, s.alerts.hashrate_drop_ratio));
    }
    std::shared_ptr<bridge::stats::history> history;
    if (s.stats.history) history = bridge::stats::history::open(s.data_dir + "/stats.sqlite", base.with_prefix("stats"));

    // Local devices first, for the algorithm of each chain's blocks: one that is missing or
    // fails its self-test (SHA-256d) or kernel build (KAWPOW) stops the daemon before
    // anything listens.
    std::vector<std::vector<opened_device>> searchers;
    for (const auto& c : s.chains) {
        searchers.emplace_back();
        const bool kawpow = pow::mined_algorithm(params(c.net)) == pow_algorithm::kawpow;
        for (const auto& dev : c.devices) {
            std::string detail;
            opened_device od;
            std::error_code ec;
            if (kawpow) {
                auto opened = gpu::open_kawpow(dev.id, &detail);
                if (opened) od.kawpow = std::move(*opened);
                else ec = opened.error();
            } else {
                auto opened = gpu::open_sha256d(dev.id, &detail);
                if (opened) od.sha256d = std::move(*opened);
                else ec = opened.error();
            }
            if (ec) {
                base.with_prefix(c.id).error("device " + dev.id + " cannot be used" + (kawpow ? " for KAWPOW" : "") +
                                             ": " + ec.message() + (detail.empty() ? "" : ": " + detail));
                return exit_usage;
            }
            searchers.back().push_back(std::move(od));
        }
    }

    for (const auto& c : s.chains) {
        auto rt = std::make_unique<chain_runtime>();
        rt->settings = c;
        const chain_params& chain = params(c.net);
        const std::string id = c.id;
        const logger log = base.with_prefix(id);

        // Found blocks: every node and peer at once, the journal in parallel on its own thread.
        bridge::journal_options jopt;
        jopt.log = log;
        jopt.block_hash = block_hash_for(chain);
        auto j = bridge::journal::open(s.data_dir + "/" + id + ".found-blocks", std::move(jopt));
        if (!j) {
            log.error("cannot open the found-block journal in " + s.data_dir + ": " + j.error().message());
            return exit_failure;
        }
        rt->journal = std::shared_ptr<bridge::journal>(std::move(*j));
        std::vector<node::rpc_settings> nodes;
        for (const auto& n : c.nodes) nodes.push_back(rpc_settings_for(n));
        bridge::submitter_options sopt;
        sopt.log = log;
        rt->submitter = std::make_unique<bridge::submitter>(asio::make_strand(io), nodes, rt->journal, sopt);
        rt->submitter->replay_journal();

        const std::size_t stats_chain = stats->add_chain(stats_sources(*rt));
        bridge::dispatcher_options dopt = bridge::dispatcher_options_for(c);
        dopt.log = log;
        dopt.share_sink = stats->sink(stats_chain);
        bridge::block_sink sink = rt->submitter->sink();
        if (alerts)
            sink = [sink, n = alerts.get(), id](bridge::found_block b) {
                const std::uint32_t height = b.height;
                const hash256 hash = b.hash;
                std::string worker = b.worker;
                sink(std::move(b));  // the block goes out first; the alert is an enqueue
                n->post(bridge::alerts::block_found_event(id, height, hash, worker));
            };
        // Found blocks go out first; the statistics hear of them after.
        auto submit = [inner = std::move(sink), stats, stats_chain](bridge::found_block b) {
            bridge::found_block record;
            record.height = b.height;
            record.hash = b.hash;
            record.worker = b.worker;
            inner(std::move(b));
            stats->on_block_found(stats_chain, record);
        };
        rt->dispatcher = std::make_shared<bridge::dispatcher>(asio::make_strand(io), chain, dopt, std::move(submit));

        node::template_source_options topt;
        topt.net = c.net;
        topt.refresh = std::chrono::seconds(c.template_refresh_s);
        topt.log = log;
        bridge::dispatcher* d = rt->dispatcher.get();
        rt->templates = std::make_unique<node::template_failover>(
            asio::make_strand(io), nodes, topt,
            [d, log, sub = rt->submitter.get(), stats, stats_chain](std::shared_ptr<const node::block_template> t,
                                                                     node::template_reason) {
                // The chain reached the template's parent: a block found later at or below
                // that height is stale if it loses (submitter.hpp).
                if (t->height > 0) sub->note_tip(t->height - 1);
                const auto ec = d->on_template(t);
                if (!ec) stats->on_template(stats_chain, *t);
                // Behind the best tip: the dispatcher logged it; the source asks again.
                if (ec == bridge::dispatch_errc::template_behind) return node::template_use::behind;
                if (ec) log.warn(std::string("template not used: ") + ec.message());
                return node::template_use::used;
            });

        // The node's P2P port: new blocks are heard there first (→ clean jobs at once), and
        // found blocks are announced there too, beside submitblock.
        std::vector<node::p2p::peer_endpoint> p2p_peers;
        for (const auto& n : c.nodes)
            if (n.p2p) p2p_peers.push_back({n.p2p->host, n.p2p->port});
        for (const auto& e : c.p2p_peers) p2p_peers.push_back({e.host, e.port});
        if (!p2p_peers.empty()) {
            if (node::p2p_supported(chain)) {
                node::p2p_link_options popt;
                popt.peers = std::move(p2p_peers);
                popt.target_outbound = c.p2p_target_outbound;
                popt.dns_seeds = c.p2p_dns_seeds;
                popt.data_dir = s.data_dir;
                // The header chain's root: genesis, or a header from the first healthy node's
                // RPC (Ravencoin always: X16R headers cannot be checked).
                popt.anchor_from_rpc = c.p2p_anchor == config::p2p_anchor_mode::rpc || chain.p2p_needs_rpc_anchor;
                popt.anchor_node = [tf = rt->templates.get(), nodes] {
                    node::p2p_link_options::anchor_choice pick;
                    if (const auto i = tf->active_node()) pick.node = nodes[*i];
                    else pick.pending = tf->may_supply();  // some node's verdict is still to come
                    return pick;
                };
                // KAWPOW headers (headers, cmpctblock) are light-verified off the P2P strand (~10 ms a
                // header, seconds for a new epoch); neither is used where no header is KAWPOW.
                popt.kawpow_verifier = node::p2p::make_kawpow_verifier(log);
                popt.offload = [&p2p_verify_pool](std::function<void()> task) {
                    asio::post(p2p_verify_pool, std::move(task));
                };
                node::template_failover* ts = rt->templates.get();
                bridge::submitter* sub = rt->submitter.get();
                popt.on_new_tip = [d, ts, sub](const node::p2p::tip_change& t) {
                    if (t.new_height > 0) sub->note_tip(static_cast<std::uint32_t>(t.new_height));
                    if (!d->on_new_tip(t.new_tip, static_cast<std::uint32_t>(t.new_height))) return false;
                    ts->notify_new_tip();
                    return true;
                };
                popt.on_tip_template = [d, log, stats, stats_chain](std::shared_ptr<const node::block_template> t) {
                    const auto ec = d->on_template(t);
                    if (!ec) stats->on_template(stats_chain, *t);
                    if (ec && ec != bridge::dispatch_errc::template_behind)
                        log.warn("work on the new P2P tip not used: " + ec.message());
                };
                popt.log = log;
                // The P2P chain settles found blocks too (accepted / passed), RPC up or not.
                popt.on_block_settled = [sub](const hash256& h, std::int32_t, bool accepted) {
                    sub->settle(h, accepted ? bridge::block_status::accepted : bridge::block_status::stale,
                                accepted ? "on the P2P chain" : "P2P chain moved past");
                };
                popt.header_only = c.p2p_header_only_work;
                popt.rpc_reachable = [ts] { return ts->may_supply(); };
                popt.on_header_template = [d, log, stats, stats_chain](std::shared_ptr<const node::block_template> t) {
                    if (auto ec = d->on_template(t)) log.warn("header-only template not used: " + ec.message());
                    else stats->on_template(stats_chain, *t);
                };
                rt->p2p = std::make_unique<node::p2p_link>(asio::make_strand(io), chain, popt);
                node::p2p_link* link = rt->p2p.get();
                rt->submitter->set_relay([link](const std::shared_ptr<const bridge::found_block>& b) {
                    link->relay(std::shared_ptr<const bytes>(b, &b->block), b->hash, static_cast<std::int32_t>(b->height));
                });
            } else {
                log.warn("P2P link not used: this chain's headers cannot be validated over P2P yet (RPC only)");
            }
        }

        auto sopts = bridge::stratum::server_options_for(c);
        sopts.log = log;
        sopts.verify = [&verify_pool](std::function<void()> task) { asio::post(verify_pool, std::move(task)); };
        auto source = std::make_shared<bridge::stratum::dispatcher_source>(rt->dispatcher);
        rt->stratum = std::make_unique<bridge::stratum::server>(io, std::move(source), sopts);
        if (auto ec = rt->stratum->start()) {
            log.error("cannot start the Stratum listeners: " + ec.message());
            return exit_failure;
        }
        auto& opened = searchers[chains.size()];
        for (std::size_t i = 0; i < opened.size(); ++i) {
            bridge::mining::device_worker_options wopt;
            wopt.intensity = c.devices[i].intensity;
            wopt.payout_script = c.payout.script_pubkey;
            wopt.log = log;
            auto worker = opened[i].kawpow ? std::make_unique<bridge::mining::device_worker>(
                                                 rt->dispatcher, std::move(opened[i].kawpow), wopt)
                                           : std::make_unique<bridge::mining::device_worker>(
                                                 rt->dispatcher, std::move(opened[i].sha256d), wopt);
            const auto info = worker->stats();
            if (auto ec = worker->start()) {
                log.error("device " + info.device_id + " cannot mine: " + ec.message());
                return exit_usage;
            }
            log.info("device " + info.device_id + " (" + info.device_name + ", " + info.backend + ") mining " +
                     info.algorithm + ", intensity " + std::to_string(c.devices[i].intensity));
            rt->devices.push_back(std::move(worker));
        }
        rt->templates->start();
        if (rt->p2p) rt->p2p->start();
        const std::string work_from = c.nodes.size() == 1 ? c.nodes.front().rpc_url + " (1 node)"
                                                           : "the first healthy of " + std::to_string(c.nodes.size()) +
                                                                 " nodes (" + c.nodes.front().rpc_url + " first)";
        log.info(std::string(chain.name) + ": work from " + work_from + ", payout " +
                 (c.payout.mode == config::payout_mode::fixed_address ? c.payout.address
                                                                      : std::string("each miner's username address")));
        chains.push_back(std::move(rt));
        // Watched once `chains` holds the chain: a chain that fails above is destroyed on
        // return before the notifier (declared after `chains`) stops.
        if (alerts) {
            node::template_failover* tf = chains.back()->templates.get();
            for (std::size_t i = 0; i < c.nodes.size(); ++i)
                alerts->watch(bridge::alerts::node_poller(id, c.nodes[i].rpc_url,
                                                          [tf, i] { return tf->status().nodes.at(i); }));
            bridge::submitter* sub = chains.back()->submitter.get();
            alerts->watch(bridge::alerts::orphan_poller(id, [sub] {
                std::vector<bridge::alerts::block_fate_sample> out;
                for (const auto& b : sub->status().recent)
                    out.push_back({to_hex_reversed(b.hash), b.height, b.status == bridge::block_status::orphaned, b.reason});
                return out;
            }));
        }
    }

    if (history) {
        stats->set_history(history);
        stats->restore(history->restored());
    }
    stats->start();
    // The dashboard on a thread of its own: serializing a large /metrics or worker page
    // (tens of milliseconds with 10,000 workers) never delays a miner's reply.
    asio::io_context web_io;
    auto web_work = asio::make_work_guard(web_io);
    std::thread web_thread;
    std::unique_ptr<bridge::web::server> web;
    if (s.http.enabled) {
        web = std::make_unique<bridge::web::server>(web_io, stats, history, web_options(s.http, base.with_prefix("web")));
        if (auto ec = web->start()) {
            base.error("cannot listen for HTTP on " + s.http.listen.to_string() + ": " + ec.message());
            stats->stop();  // its alert feed posts to the notifier, which is destroyed first
            return exit_failure;
        }
        base.info("dashboard: http://" + s.http.listen.host + ":" + std::to_string(web->port()) + "/");
        web_thread = std::thread([&web_io] { web_io.run(); });
    }

    asio::signal_set signals(io, SIGINT, SIGTERM);
    asio::steady_timer status(io);
    asio::steady_timer watchdog(io);
    std::function<void()> arm_status = [&] {
        status.expires_after(status_interval);
        status.async_wait([&](boost::system::error_code ec) {
            if (ec) return;
            const auto snap = stats->latest();
            for (const auto& rt : chains) {
                const auto ds = rt->dispatcher->stats();
                const auto ss = rt->submitter->status();
                const std::uint64_t accepted = ds.shares_accepted, rejected = ds.shares_rejected;
                auto u = [](std::uint64_t v) { return static_cast<unsigned long long>(v); };
                const logger log = base.with_prefix(rt->settings.id);
                // The chain's hashrate from accepted share difficulty (the dashboard's figures).
                std::string rate = "hashrate unknown";
                if (snap)
                    for (const auto& c : snap->chains)
                        if (c.id == rt->settings.id)
                            rate = "hashrate " +
                                   bridge::stats::rate_text(c.rate[static_cast<std::size_t>(bridge::stats::window::m5)]) +
                                   " (5 m), " +
                                   bridge::stats::rate_text(c.rate[static_cast<std::size_t>(bridge::stats::window::h1)]) +
                                   " (1 h)";
                log.info(rate + printf_string(", height %u, %zu miners, shares %llu accepted %llu rejected, blocks found %llu "
                                       "(pending %llu, accepted %llu, confirmed %llu, orphaned %llu, stale %llu, "
                                       "rejected %llu)",
                                       ds.height, rt->stratum->connection_count(), u(accepted), u(rejected), u(ss.found),
                                       u(ss.pending), u(ss.accepted), u(ss.confirmed), u(ss.orphaned), u(ss.stale),
                                       u(ss.rejected)));
                for (const auto& dw : rt->devices) {
                    const auto d = dw->stats();
                    log.info(printf_string("device %s %s: %.3f MH/s (1 m), shares %llu accepted %llu rejected, %llu "
                                           "hardware errors, blocks %llu",
                                           d.device_id.c_str(), bridge::mining::to_string(d.state), d.hashrate_1m / 1e6,
                                           u(d.shares_accepted), u(d.shares_rejected), u(d.hardware_errors),
                                           u(d.blocks)));
                }
            }
            arm_status();
        });
    };
    arm_status();
    signals.async_wait([&](boost::system::error_code ec, int sig) {
        if (ec) return;
        base.info("signal " + std::to_string(sig) + ", stopping");
        status.cancel();
        if (web) web->stop();
        for (auto& rt : chains) rt->stop();
        // Let the handlers of closed connections and cancelled calls finish; stop hard
        // if something still holds the io_context after a grace period.
        watchdog.expires_after(shutdown_grace);
        watchdog.async_wait([&io](boost::system::error_code wec) {
            if (!wec) io.stop();
        });
    });

    // A few threads: sessions, dispatcher, templates and submitter each run on a strand.
    const unsigned threads = std::max(2u, std::min(8u, std::thread::hardware_concurrency()));
    std::vector<std::thread> pool;
    for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&io] { io.run(); });
    io.run();
    for (auto& t : pool) t.join();
    web_work.reset();
    web_io.stop();
    if (web_thread.joinable()) web_thread.join();
    // The last tick hands the history its final batch; then the history writes it.
    stats->stop();
    if (history) history->stop();
    verify_pool.join();
    p2p_verify_pool.stop();  // a headers batch still queued is abandoned, not waited for
    p2p_verify_pool.join();
    if (alerts) alerts->stop();  // its watches read the chains' template sources and submitters
    chains.clear();
    return exit_ok;
}

}  // namespace

int cmd_run(args a) {
    std::string file;
    std::vector<std::string_view> rest;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i] == "--config" && i + 1 < a.size()) {
            file = std::string(a[++i]);
        } else if (a[i].starts_with("--config=")) {
            file = std::string(a[i].substr(9));
        } else {
            rest.push_back(a[i]);
        }
    }
    if (file.empty()) {
        std::fputs("usage: solobridge --config FILE [--node-rpc-url URL] [--stratum-listen HOST:PORT] ...\n", stderr);
        return exit_usage;
    }
    std::vector<std::string> unknown;
    std::vector<config::config_error> errors;
    auto overrides = config::overrides_from_env([](const char* n) { return std::getenv(n); });
    auto flags = config::overrides_from_args(rest, unknown, errors);
    overrides.insert(overrides.end(), flags.begin(), flags.end());
    auto r = config::load_file(file, overrides);
    errors.insert(errors.end(), r.errors.begin(), r.errors.end());
    for (const auto& u : unknown) std::fprintf(stderr, "solobridge: unknown option '%s'\n", u.c_str());
    for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    if (!errors.empty() || !unknown.empty()) return exit_usage;
    return run_daemon(*r.value);
}

}  // namespace sb::app
