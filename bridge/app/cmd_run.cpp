// `solobridge --config FILE` / `solobridge run --config FILE`: the daemon. Per chain it
// wires the node's templates (longpoll + refresh) into the dispatcher, the dispatcher
// into the Stratum listeners, and found blocks into the submitter (journal first, then
// every node at once). DESIGN.md §1 and §4.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "commands.hpp"
#include "p2p_link.hpp"
#include "dispatch/dispatcher.hpp"
#include "dispatch/journal.hpp"
#include "dispatch/submitter.hpp"
#include "sb/config/config.hpp"
#include "sb/node/template_source.hpp"
#include "sb/core/hex.hpp"
#include "stratum/dispatcher_source.hpp"
#include "stratum/server.hpp"
#include "web/status_server.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

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
    std::unique_ptr<node::template_source> templates;
    std::unique_ptr<bridge::stratum::server> stratum;
    std::unique_ptr<p2p_link> p2p;

    void stop() {
        if (p2p) p2p->stop();
        if (templates) templates->stop();
        if (stratum) stratum->stop();
        if (dispatcher) dispatcher->stop();
        if (submitter) submitter->stop();
    }
};

// GET /api/status: per chain, the node, the tip, the current job, sessions, shares and
// every block found with its fate.
std::string status_json(const std::vector<std::unique_ptr<chain_runtime>>& chains) {
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    auto str = [&w](std::string_view k, std::string_view v) {
        w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
        w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
    };
    w.StartObject();
    str("version", SB_VERSION);
    w.Key("chains");
    w.StartArray();
    for (const auto& rt : chains) {
        const auto ds = rt->dispatcher->stats();
        const auto ts = rt->templates->status();
        const auto ss = rt->submitter->status();
        w.StartObject();
        str("id", rt->settings.id);
        str("network", params(rt->settings.net).name);
        w.Key("node");
        w.StartObject();
        str("rpc_url", rt->settings.nodes.front().rpc_url);
        w.Key("reachable");
        w.Bool(ts.rpc.state == node::link_state::connected);
        str("state", node::to_string(ts.rpc.state));
        str("last_error", ts.last_error.empty() ? ts.rpc.last_error : ts.last_error);
        w.Key("longpoll_active");
        w.Bool(ts.longpoll_active);
        w.Key("templates");
        w.Uint64(ts.templates);
        w.EndObject();
        w.Key("tip");
        if (ds.height > 0) {
            w.StartObject();
            w.Key("height");
            w.Uint(ds.height - 1);
            str("hash", to_hex_reversed(ds.prev_block));
            w.EndObject();
        } else {
            w.Null();
        }
        w.Key("job_height");
        w.Uint(ds.height);
        w.Key("sessions");
        w.Uint64(rt->stratum->connection_count());
        w.Key("shares");
        w.StartObject();
        w.Key("accepted");
        w.Uint64(ds.shares_accepted);
        w.Key("rejected");
        w.Uint64(ds.shares_rejected);
        w.EndObject();
        w.Key("blocks");
        w.StartObject();
        w.Key("found");
        w.Uint64(ss.found);
        w.Key("accepted");
        w.Uint64(ss.accepted);
        w.Key("rejected");
        w.Uint64(ss.rejected);
        w.Key("stale");
        w.Uint64(ss.stale);
        w.Key("recent");
        w.StartArray();
        for (const auto& b : ss.recent) {
            w.StartObject();
            str("hash", to_hex_reversed(b.hash));
            w.Key("height");
            w.Uint(b.height);
            str("status", bridge::to_string(b.status));
            str("reason", b.reason);
            w.Key("attempts");
            w.Uint(b.attempts);
            w.EndObject();
        }
        w.EndArray();
        w.EndObject();
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return std::string(sb.GetString(), sb.GetSize());
}

void log_line(const std::string& chain, std::string_view text) {
    std::fprintf(stderr, "[%s] %.*s\n", chain.c_str(), static_cast<int>(text.size()), text.data());
}

int run_daemon(const config::settings& s) {
    asio::io_context io;
    std::vector<std::unique_ptr<chain_runtime>> chains;

    std::error_code fs_ec;
    std::filesystem::create_directories(s.data_dir, fs_ec);
    if (fs_ec) {
        std::fprintf(stderr, "solobridge: cannot create data_dir %s: %s\n", s.data_dir.c_str(), fs_ec.message().c_str());
        return exit_failure;
    }

    for (const auto& c : s.chains) {
        auto rt = std::make_unique<chain_runtime>();
        rt->settings = c;
        const chain_params& chain = params(c.net);
        const std::string id = c.id;
        auto log = [id](std::string_view t) { log_line(id, t); };

        // Found blocks: journal (append + fsync) before anything else, then every node.
        auto j = bridge::journal::open(s.data_dir + "/" + id + ".found-blocks", log);
        if (!j) {
            std::fprintf(stderr, "solobridge: [%s] cannot open the found-block journal in %s: %s\n", id.c_str(),
                         s.data_dir.c_str(), j.error().message().c_str());
            return exit_failure;
        }
        rt->journal = std::shared_ptr<bridge::journal>(std::move(*j));
        std::vector<node::rpc_settings> nodes;
        for (const auto& n : c.nodes) nodes.push_back(rpc_settings_for(n));
        bridge::submitter_options sopt;
        sopt.log = log;
        rt->submitter = std::make_unique<bridge::submitter>(asio::make_strand(io), nodes, rt->journal, sopt);
        rt->submitter->replay_journal();

        bridge::dispatcher_options dopt = bridge::dispatcher_options_for(c);
        dopt.log = log;
        rt->dispatcher = std::make_shared<bridge::dispatcher>(asio::make_strand(io), chain, dopt, rt->submitter->sink());

        node::template_source_options topt;
        topt.net = c.net;
        topt.refresh = std::chrono::seconds(c.template_refresh_s);
        bridge::dispatcher* d = rt->dispatcher.get();
        rt->templates = std::make_unique<node::template_source>(
            asio::make_strand(io), nodes.front(), topt, [d, log](const node::rpc_value& gbt, node::template_reason) {
                if (auto ec = d->on_template_json(gbt.get())) log(std::string("template not used: ") + ec.message());
            });

        // The node's P2P port: new blocks are heard there first (→ clean jobs at once), and
        // found blocks are announced there too, beside submitblock.
        if (const auto& p2p_ep = c.nodes.front().p2p) {
            if (p2p_supported(chain)) {
                p2p_link_options popt;
                popt.address = p2p_ep->host;
                popt.port = p2p_ep->port;
                popt.data_dir = s.data_dir;
                node::template_source* ts = rt->templates.get();
                popt.on_new_tip = [d, ts] {
                    d->on_new_tip();
                    ts->notify_new_tip();
                };
                popt.log = log;
                rt->p2p = std::make_unique<p2p_link>(asio::make_strand(io), chain, popt);
                p2p_link* link = rt->p2p.get();
                rt->submitter->set_relay([link](const bridge::found_block& b) { link->relay(b.block); });
            } else {
                log("P2P link not used: this chain's headers cannot be validated over P2P yet (RPC only)");
            }
        }

        auto sopts = bridge::stratum::server_options_for(c);
        sopts.log = log;
        auto source = std::make_shared<bridge::stratum::dispatcher_source>(rt->dispatcher);
        rt->stratum = std::make_unique<bridge::stratum::server>(io, std::move(source), sopts);
        if (auto ec = rt->stratum->start()) {
            std::fprintf(stderr, "solobridge: [%s] cannot start the Stratum listeners: %s\n", id.c_str(),
                         ec.message().c_str());
            return exit_failure;
        }
        for (const auto& l : rt->stratum->listeners())
            std::printf("[%s] stratum%s listening on %s:%u\n", id.c_str(), l.tls ? "+tls" : "", l.address.c_str(),
                        static_cast<unsigned>(l.port));
        rt->templates->start();
        if (rt->p2p) rt->p2p->start();
        std::printf("[%s] %s: work from %s (%zu node%s), payout %s\n", id.c_str(), std::string(chain.name).c_str(),
                    c.nodes.front().rpc_url.c_str(), c.nodes.size(), c.nodes.size() == 1 ? "" : "s",
                    c.payout.mode == config::payout_mode::fixed_address ? c.payout.address.c_str()
                                                                        : "each miner's username address");
        chains.push_back(std::move(rt));
    }
    std::fflush(stdout);

    std::unique_ptr<bridge::web::status_server> web;
    if (s.http.enabled) {
        web = std::make_unique<bridge::web::status_server>(io, s.http.listen.host, s.http.listen.port,
                                                           [&chains] { return status_json(chains); });
        if (auto ec = web->start()) {
            std::fprintf(stderr, "solobridge: cannot listen for HTTP on %s: %s\n", s.http.listen.to_string().c_str(),
                         ec.message().c_str());
            return exit_failure;
        }
        std::printf("status: http://%s:%u/api/status\n", s.http.listen.host.c_str(), static_cast<unsigned>(web->port()));
        std::fflush(stdout);
    }

    asio::signal_set signals(io, SIGINT, SIGTERM);
    asio::steady_timer status(io);
    asio::steady_timer watchdog(io);
    std::function<void()> arm_status = [&] {
        status.expires_after(status_interval);
        status.async_wait([&](boost::system::error_code ec) {
            if (ec) return;
            for (const auto& rt : chains) {
                const auto ds = rt->dispatcher->stats();
                const auto ss = rt->submitter->status();
                const std::uint64_t accepted = ds.shares_accepted, rejected = ds.shares_rejected;
                std::printf("[%s] height %u, %zu miners, shares %llu accepted %llu rejected, blocks found %llu "
                            "(accepted %llu)\n",
                            rt->settings.id.c_str(), ds.height, rt->stratum->connection_count(),
                            static_cast<unsigned long long>(accepted), static_cast<unsigned long long>(rejected),
                            static_cast<unsigned long long>(ss.found), static_cast<unsigned long long>(ss.accepted));
            }
            std::fflush(stdout);
            arm_status();
        });
    };
    arm_status();
    signals.async_wait([&](boost::system::error_code ec, int sig) {
        if (ec) return;
        std::printf("solobridge: signal %d, stopping\n", sig);
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
