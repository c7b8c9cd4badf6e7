#include "doctor/doctor.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <initializer_list>
#include <memory>
#include <thread>
#include <utility>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>

#include "dispatch/algorithm.hpp"
#include "dispatch/coinbase.hpp"
#include "dispatch/job.hpp"
#include "sb/core/hex.hpp"
#include "sb/gpu/device.hpp"
#include "sb/gpu/kawpow_device.hpp"
#include "sb/pow/algorithm.hpp"
#include "sb/pow/ethash.hpp"
#include "sb/node/limits.hpp"
#include "sb/node/node_rpc.hpp"
#include "sb/node/rpc_client.hpp"
#include "sb/node/template.hpp"

namespace sb::bridge::doctor {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Collects checks and hands each to the caller's callback as soon as it is decided.
class recorder {
public:
    recorder(report& r, const options& o) : report_(r), opts_(o) {}

    void add(outcome result, std::string subject, std::string finding, std::string fix = {}) {
        check c{result, std::move(subject), std::move(finding), std::move(fix)};
        if (opts_.on_check) opts_.on_check(c);
        report_.checks.push_back(std::move(c));
    }
    report& out() { return report_; }

private:
    report& report_;
    const options& opts_;
};

std::string chain_prefix(const config::chain_settings& c) { return "[" + c.id + "] "; }

std::string errno_text(int err) { return std::strerror(err); }

std::string user_of_uid(uid_t uid) {
    if (const passwd* pw = ::getpwuid(uid); pw != nullptr && pw->pw_name != nullptr) return pw->pw_name;
    return "uid " + std::to_string(uid);
}

// Where the node keeps its cookie, for the fix text (Core and Ravencoin datadir layout).
std::string cookie_location_hint(network net) {
    switch (net) {
    case network::bitcoin_mainnet:
    case network::ravencoin_mainnet: return "<datadir>/.cookie";
    case network::bitcoin_testnet3: return "<datadir>/testnet3/.cookie";
    case network::bitcoin_testnet4: return "<datadir>/testnet4/.cookie";
    case network::bitcoin_signet: return "<datadir>/signet/.cookie";
    case network::ravencoin_testnet: return "<datadir>/testnet7/.cookie";
    case network::bitcoin_regtest:
    case network::ravencoin_regtest: return "<datadir>/regtest/.cookie";
    }
    return "<datadir>/.cookie";
}

// ---- data directory ------------------------------------------------------------------

void check_data_dir(recorder& rec, const config::settings& s) {
    namespace fs = std::filesystem;
    const std::string subject = "data_dir " + s.data_dir;
    const std::string user = effective_user();
    std::error_code ec;
    fs::path p = fs::absolute(s.data_dir, ec);
    if (ec) p = s.data_dir;
    if (fs::exists(p, ec)) {
        if (!fs::is_directory(p, ec))
            return rec.add(outcome::fail, subject, "exists but is not a directory",
                           "point data_dir at a directory (the found-block journal lives there)");
        if (::access(p.c_str(), W_OK | X_OK) != 0)
            return rec.add(outcome::fail, subject, "is not writable by user " + user + ": " + errno_text(errno),
                           "give " + user + " write access to it, or choose another data_dir");
        return rec.add(outcome::ok, subject, "writable by user " + user + " (found-block journal)");
    }
    fs::path parent = p.parent_path();
    while (!parent.empty() && !fs::exists(parent, ec) && parent != parent.parent_path()) parent = parent.parent_path();
    if (parent.empty() || ::access(parent.c_str(), W_OK | X_OK) != 0)
        return rec.add(outcome::fail, subject,
                       "does not exist, and user " + user + " cannot create it in " + parent.string(),
                       "create it and give " + user + " write access, or choose another data_dir");
    rec.add(outcome::ok, subject, "does not exist yet; the bridge creates it (" + parent.string() + " is writable)");
}

// ---- payout and devices --------------------------------------------------------------

void check_payout(recorder& rec, const config::chain_settings& c) {
    const std::string subject = chain_prefix(c) + "payout";
    const std::string net(params(c.net).name);
    if (c.payout.mode == config::payout_mode::address_username) {
        std::string finding = "address-username mode: each block pays the miner's username address (checked per login)";
        if (!c.payout.address.empty())
            finding += "; local devices pay " + c.payout.address + ", a " + net + " address";
        return rec.add(outcome::ok, subject, finding);
    }
    rec.add(outcome::ok, subject,
            c.payout.address + " is a " + net + " address (scriptPubKey " + to_hex(c.payout.script_pubkey) + ")");
}

// A KAWPOW device that opened, and the last epoch whose dataset fits in its memory.
struct kawpow_device_fit {
    std::string subject;
    int last_epoch = -1;
};

// Opens each device of c as the bridge would; returns the KAWPOW ones that opened with at
// least one epoch fitting (their fit with the chain's current epoch is checked once a node
// told the height).
std::vector<kawpow_device_fit> check_devices(recorder& rec, const config::chain_settings& c) {
    std::vector<kawpow_device_fit> fits;
    const bool kawpow = pow::mined_algorithm(params(c.net)) == pow_algorithm::kawpow;
    for (const auto& d : c.devices) {
        const std::string subject = chain_prefix(c) + "device " + d.id;
        std::string detail;
        if (kawpow) {
            auto opened = gpu::open_kawpow(d.id, &detail);
            if (!opened) {
                rec.add(outcome::fail, subject,
                        "cannot be used for KAWPOW: " + opened.error().message() + (detail.empty() ? "" : ": " + detail),
                        "`solobridge devices` lists this machine's devices and the KAWPOW epochs that fit: correct the "
                        "id, or install the driver (CUDA also needs NVRTC)");
                continue;
            }
            const gpu::device_info& info = (*opened)->info();
            const int last = gpu::kawpow_max_epoch(info.memory_bytes, 1, info.max_buffer_bytes);
            if (last < 0) {
                rec.add(outcome::fail, subject,
                        "opened for KAWPOW (" + info.name + ", " + info.backend + ") but no epoch's dataset fits in its " +
                            std::to_string(info.memory_bytes >> 20) + " MiB",
                        "use a device with more memory, or remove it from this chain's devices");
                continue;
            }
            rec.add(outcome::ok, subject,
                    "opened for KAWPOW (" + info.name + ", " + info.backend + "); datasets up to epoch " +
                        std::to_string(last) + " (block " + std::to_string((last + 1) * pow::ethash::epoch_length - 1) +
                        ") fit in its memory");
            fits.push_back({subject, last});
            continue;
        }
        auto opened = gpu::open_sha256d(d.id, &detail);
        if (!opened) {
            rec.add(outcome::fail, subject,
                    "cannot be used: " + opened.error().message() + (detail.empty() ? "" : ": " + detail),
                    "`solobridge devices` lists this machine's devices: correct the id, or install the driver");
            continue;
        }
        const gpu::device_info& info = (*opened)->info();
        rec.add(outcome::ok, subject, "opened (" + info.name + ", " + info.backend + "), self-test passed");
    }
    return fits;
}

// ---- listeners -----------------------------------------------------------------------

struct listener_probe {
    std::string subject;
    std::string path;  // config key, for overlap messages
    config::endpoint ep;
    bool http = false;
    const config::tls_settings* tls = nullptr;
};

// Binds every listener as the servers do (stratum/server.cpp resolves the host with
// passive flags and takes the first result; web/server.cpp takes an IP literal
// only), all at once, so listeners of this config that overlap fail as they would at a
// start. The acceptors close when the function returns.
void check_listeners(recorder& rec, const config::settings& s) {
    std::vector<listener_probe> probes;
    for (const auto& c : s.chains)
        for (std::size_t j = 0; j < c.stratum.size(); ++j) {
            const auto& l = c.stratum[j];
            probes.push_back({chain_prefix(c) + "stratum" + (l.tls ? "+tls " : " ") + l.listen.to_string(),
                              "stratum listener " + l.listen.to_string() + " of chain " + c.id, l.listen, false,
                              l.tls ? &*l.tls : nullptr});
        }
    if (s.http.enabled) probes.push_back({"http " + s.http.listen.to_string(), "http.listen", s.http.listen, true, nullptr});
    else rec.add(outcome::ok, "http", "dashboard disabled (http.enabled false)");

    const std::string user = effective_user();
    asio::io_context io;
    std::vector<std::unique_ptr<tcp::acceptor>> held;
    std::vector<const listener_probe*> bound;
    for (const auto& p : probes) {
        boost::system::error_code ec;
        if (p.tls) {
            asio::ssl::context ctx(asio::ssl::context::tls_server);
            ctx.use_certificate_chain_file(p.tls->cert_file, ec);
            if (!ec) ctx.use_private_key_file(p.tls->key_file, asio::ssl::context::pem, ec);
            if (ec) {
                rec.add(outcome::fail, p.subject, "TLS certificate or key cannot be used: " + ec.message(),
                        "tls.cert_file and tls.key_file must be PEM files that user " + user + " can read (" +
                            p.tls->cert_file + ", " + p.tls->key_file + ")");
                continue;
            }
        }
        std::string host = p.ep.host;
        tcp::endpoint ep;
        if (p.http) {
            const auto address = asio::ip::make_address(host, ec);
            if (ec) {
                rec.add(outcome::fail, p.subject, "\"" + host + "\" is not an IP address, and the dashboard binds only IP addresses",
                        "write an address in http.listen, e.g. 127.0.0.1:" + std::to_string(p.ep.port));
                continue;
            }
            ep = tcp::endpoint(address, p.ep.port);
        } else {
            tcp::resolver resolver(io);
            auto results = resolver.resolve(host, std::to_string(p.ep.port),
                                            tcp::resolver::passive | tcp::resolver::numeric_service, ec);
            if (ec || results.empty()) {
                rec.add(outcome::fail, p.subject, "cannot resolve \"" + host + "\"" + (ec ? ": " + ec.message() : ""),
                        "use an IP address of this machine, 127.0.0.1 or 0.0.0.0");
                continue;
            }
            ep = results.begin()->endpoint();
        }
        auto acc = std::make_unique<tcp::acceptor>(io);
        acc->open(ep.protocol(), ec);
        if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec) acc->bind(ep, ec);
        if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
        if (!ec) {
            const std::string where = p.ep.port == 0 ? "any free port (port 0)" : "can listen";
            rec.add(outcome::ok, p.subject, where);
            held.push_back(std::move(acc));
            bound.push_back(&p);
            continue;
        }
        const std::string port = std::to_string(p.ep.port);
        if (ec == asio::error::address_in_use) {
            const listener_probe* mine = nullptr;
            for (const listener_probe* b : bound)
                if (b->ep.port == p.ep.port) mine = b;
            if (mine != nullptr)
                rec.add(outcome::fail, p.subject, "port " + port + " is already taken by the " + mine->path + " of this config (" +
                            host + " and " + mine->ep.host + " share an address)",
                        "give the two listeners different ports");
            else
                rec.add(outcome::fail, p.subject, "address already in use: another program listens on port " + port,
                        "stop it (is solobridge already running? `ss -ltnp 'sport = :" + port +
                            "'` names the program), or choose another port");
        } else if (ec == boost::system::errc::address_not_available) {
            rec.add(outcome::fail, p.subject, "this machine has no address " + host + ": " + ec.message(),
                    "use an address of this machine, 127.0.0.1, or 0.0.0.0 for every address");
        } else if (ec == asio::error::access_denied) {
            rec.add(outcome::fail, p.subject, "user " + user + " may not listen on port " + port + ": " + ec.message(),
                    "ports below 1024 need root or CAP_NET_BIND_SERVICE: choose a port from 1024 up");
        } else {
            rec.add(outcome::fail, p.subject, "cannot listen: " + ec.message(), "choose another address or port");
        }
    }
}

// ---- nodes ---------------------------------------------------------------------------

// Runs the node clients' strands on one thread and waits for single replies.
class rpc_runner {
public:
    rpc_runner() : guard_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
    ~rpc_runner() {
        guard_.reset();
        io_.stop();
        thread_.join();
    }
    rpc_runner(const rpc_runner&) = delete;
    rpc_runner& operator=(const rpc_runner&) = delete;

    asio::any_io_executor strand() { return asio::make_strand(io_); }

    // start(handler) begins one asynchronous call; returns its single result.
    template <class T, class Start>
    T wait(Start&& start) {
        auto p = std::make_shared<std::promise<T>>();
        auto f = p->get_future();
        start([p](T v) { p->set_value(std::move(v)); });
        return f.get();
    }

private:
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> guard_;
    std::thread thread_;
};

// "1 transaction", "3 transactions".
std::string count_text(std::size_t n, const char* noun) {
    return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

std::string seconds_text(std::chrono::milliseconds ms) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms.count()) / 1000.0);
    return buf;
}

std::string coins_text(std::int64_t units, const chain_params& chain) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%lld.%08lld", static_cast<long long>(units / coin_units),
                  static_cast<long long>(units % coin_units));
    return std::string(buf) + " " + std::string(chain.ticker);
}

// A P2PKH script of twenty zero bytes: the drill's payout where the config has none
// (address-username mode pays each miner's address; any standard script builds the same
// coinbase layout).
bytes stand_in_payout_script() {
    bytes s = {0x76, 0xa9, 0x14};
    s.resize(3 + 20, 0);
    s.push_back(0x88);
    s.push_back(0xac);
    return s;
}

struct drill_block {
    job j;
    bytes block;
};

// The block the dispatcher would submit for t: the job as the dispatcher makes it (the
// chain's mining algorithm with the chain's coinbase spec), assembled as a share that
// solved it would be, but with no valid proof of work (mining_algorithm::
// assemble_unsolved). Fills d's height, algorithm and hash fields.
result<drill_block> build_drill_block(std::shared_ptr<const node::block_template> t, const coinbase_spec& cs,
                                      const mining_algorithm& algo, drill_record& d) {
    job_spec spec;
    spec.id = "doctor";
    spec.clean = true;
    spec.coinbase = cs;
    auto j = algo.make_job(std::move(t), spec);
    if (!j) return j.error();
    d.height = j->height;
    d.kawpow = algo.headers().id() == pow_algorithm::kawpow;
    auto unsolved = algo.assemble_unsolved(*j);
    if (!unsolved) return unsolved.error();
    d.block_hash = unsolved->header_hash.value_or(hash256{});
    d.header_meets_target = unsolved->meets_target;
    return drill_block{std::move(*j), std::move(unsolved->block)};
}

class node_examiner {
public:
    node_examiner(recorder& rec, rpc_runner& runner, const config::chain_settings& chain,
                  const config::node_settings& node, const options& opts)
        : rec_(rec), runner_(runner), chain_(chain), node_(node), opts_(opts), params_(params(chain.net)),
          subject_(chain_prefix(chain) + "node " + node.rpc_url), timeout_(node.rpc_timeout_ms) {}

    void run() {
        const bool cookie_ok = node_.rpc_cookie_file.empty() || check_cookie();
        auto client = make_client();
        if (!check_reach(*client, cookie_ok))
            return skip({"network", "sync", "getblocktemplate", "fire drill"}, "the node cannot be used");
        if (!check_network(*client))
            return skip({"sync", "getblocktemplate", "fire drill"}, "the node is not on this chain's network");
        check_sync();
        next_height_ = info_.blocks + 1;
        auto tmpl = fetch_template(*client, "");
        if (!tmpl) return skip({"fire drill"}, "no usable template");
        next_height_ = tmpl->height;
        fire_drill(*client, std::move(tmpl));
    }

    // The height of the block this node would have us mine next (its template's, else its
    // tip's + 1); nullopt when the node could not be used or is on another network.
    std::optional<std::uint64_t> next_height() const noexcept { return next_height_; }

private:
    std::unique_ptr<node::rpc_client> make_client() {
        node::rpc_settings s;
        s.url = node_.rpc_url;
        s.user = node_.rpc_user;
        s.password = node_.rpc_password;
        s.cookie_file = node_.rpc_cookie_file;
        s.timeout = timeout_;
        return std::make_unique<node::rpc_client>(runner_.strand(), s);
    }

    void fail(std::string finding, std::string fix) { rec_.add(outcome::fail, subject_, std::move(finding), std::move(fix)); }
    void ok(std::string finding) { rec_.add(outcome::ok, subject_, std::move(finding)); }
    void warn(std::string finding, std::string fix) { rec_.add(outcome::warn, subject_, std::move(finding), std::move(fix)); }

    // The checks after one that failed, listed so that the reader knows what is unknown.
    void skip(std::initializer_list<const char*> names, const std::string& why) {
        for (const char* n : names) rec_.add(outcome::skip, subject_, std::string(n) + ": not checked (" + why + ")");
    }

    bool check_cookie() {
        const std::string& path = node_.rpc_cookie_file;
        const std::string user = effective_user();
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            const int err = errno;
            if (err == ENOENT) {
                fail("cookie file " + path + " does not exist",
                     "start the node (it writes the cookie when it starts), or set rpc_cookie_file to the node's " +
                         cookie_location_hint(chain_.net));
            } else if (err == EACCES) {
                struct stat st {};
                std::string owner = "its owner", mode;
                if (::stat(path.c_str(), &st) == 0) {
                    owner = user_of_uid(st.st_uid);
                    char buf[16];
                    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(st.st_mode & 07777));
                    mode = std::string(", mode ") + buf;
                }
                fail("cookie file " + path + " is not readable by user " + user + " (owner " + owner + mode + ")",
                     "run solobridge as " + owner + ", or let " + user + " read it: rpccookieperms=group in bitcoin.conf "
                     "(Core 28+) and add " + user + " to the group of " + owner);
            } else {
                fail("cookie file " + path + " cannot be read by user " + user + ": " + errno_text(err),
                     "check the path and its permissions");
            }
            return false;
        }
        // As much as the RPC client reads, read as it reads it (node::cookie_credentials), so
        // that the verdict is the client's; a user or password left empty is refused on top.
        std::string text(node::max_cookie_bytes, '\0');
        const ssize_t n = ::read(fd, text.data(), text.size());
        ::close(fd);
        if (n < 0) {
            fail("cookie file " + path + " cannot be read: " + errno_text(errno), "check the file");
            return false;
        }
        text.resize(static_cast<std::size_t>(n));
        const auto credentials = node::cookie_credentials(text);
        const std::size_t colon = credentials ? credentials->find(':') : std::string::npos;
        if (!credentials || colon == 0 || colon + 1 == credentials->size()) {
            fail("cookie file " + path + " holds no user:password line",
                 "point rpc_cookie_file at the node's .cookie (" + cookie_location_hint(chain_.net) + ")");
            return false;
        }
        ok("cookie file " + path + " readable by user " + user);
        return true;
    }

    bool check_reach(node::rpc_client& client, bool cookie_ok) {
        auto r = runner_.wait<node::rpc_result<node::blockchain_info>>(
            [&](auto h) { node::getblockchaininfo(client, h, {opts_.reach_timeout}); });
        if (r.ok()) {
            info_ = r.value;
            ok(node_.rpc_cookie_file.empty() ? "reachable, and accepts rpc_user/rpc_password"
                                             : "reachable, and accepts the cookie");
            return true;
        }
        const std::error_code ec = r.error.code;
        const std::string rpc_port = std::to_string(params_.rpc_port);
        if (ec == node::node_errc::connect_failed) {
            fail("not reachable: " + r.error.message,
                 "start the node, or correct rpc_url (host and RPC port; the default RPC port for " +
                     std::string(params_.name) + " is " + rpc_port +
                     "; a node on another host also needs rpcbind and rpcallowip)");
        } else if (ec == node::node_errc::timeout) {
            fail("no answer within " + seconds_text(opts_.reach_timeout),
                 "check that rpc_url names the node's RPC port (" + rpc_port + " by default), not its P2P port");
        } else if (ec == node::node_errc::unauthorized) {
            if (!node_.rpc_cookie_file.empty() && !cookie_ok)
                fail("reachable, but refused the call (HTTP 401): no cookie could be read to authenticate",
                     "see the cookie line above");
            else if (!node_.rpc_cookie_file.empty())
                fail("refused the cookie in " + node_.rpc_cookie_file + " (HTTP 401)",
                     "the cookie belongs to another node or an earlier run: point rpc_cookie_file at the running node's "
                     ".cookie (" + cookie_location_hint(chain_.net) + ")");
            else
                fail("refused rpc_user/rpc_password (HTTP 401)",
                     "check rpc_password (and rpc_user): Core's rpcauth or rpcuser/rpcpassword in bitcoin.conf; "
                     "for bcoin, rpc_password is its --api-key");
        } else if (ec == node::node_errc::rpc_error) {
            fail("getblockchaininfo failed: " + r.error.to_string(), "see the node's log");
        } else {
            fail("answers, but not as a node's JSON-RPC: " + r.error.to_string(),
                 "check that rpc_url names the node's RPC port (" + rpc_port + " by default)");
        }
        return false;
    }

    bool check_network(node::rpc_client& client) {
        const std::string_view want = node::rpc_chain_name(chain_.net);
        if (info_.chain != want) {
            fail("is on chain \"" + info_.chain + "\", but this chain is " + std::string(params_.name) +
                     " (chain \"" + std::string(want) + "\")",
                 "point rpc_url at a " + std::string(params_.name) + " node, or set network to the node's network");
            return false;
        }
        const std::string genesis = to_hex_reversed(params_.genesis_hash);
        auto r = runner_.wait<node::rpc_result<std::string>>(
            [&](auto h) { node::getblockhash(client, 0, h); });
        if (!r.ok()) {
            fail("getblockhash 0 failed: " + r.error.to_string(), "see the node's log");
            return false;
        }
        if (r.value != genesis) {
            fail("genesis block " + r.value + " is not " + std::string(params_.name) + "'s (" + genesis + ")",
                 "this is a node of another coin: point rpc_url at a " + std::string(params_.name) + " node");
            return false;
        }
        ok("network " + std::string(params_.name) + " (chain \"" + info_.chain + "\", genesis " + genesis.substr(0, 16) + "...)");
        return true;
    }

    void check_sync() {
        const std::string blocks = std::to_string(info_.blocks);
        const std::uint64_t headers = info_.headers.value_or(info_.blocks);
        const bool regtest = chain_.net == network::bitcoin_regtest || chain_.net == network::ravencoin_regtest;
        if (headers > info_.blocks + max_synced_header_lag)
            return fail("still syncing: " + blocks + " blocks of " + std::to_string(headers) + " headers validated",
                        "wait until the node has caught up (getblockchaininfo blocks = headers)");
        if (info_.initialblockdownload.value_or(false)) {
            if (regtest)
                return warn("reports initial block download at height " + blocks + " (its tip is old)",
                            "mine one block (generatetoaddress) to leave it; regtest templates are served meanwhile");
            return fail("in initial block download at height " + blocks + ": a block mined on its tip would be stale",
                        "wait until getblockchaininfo says initialblockdownload false");
        }
        if (!info_.initialblockdownload)
            return ok("at height " + blocks + ", blocks = headers (the node does not report initialblockdownload)");
        ok("synced at height " + blocks);
    }

    // getblocktemplate with our rules, parsed as the dispatcher parses it. label prefixes
    // failures ("" for the getblocktemplate check, which also reports success).
    std::shared_ptr<const node::block_template> fetch_template(node::rpc_client& client, const std::string& label) {
        const node::template_request req{chain_.net == network::bitcoin_signet, {}};
        auto r = runner_.wait<node::rpc_result<node::block_template>>(
            [&](auto h) { node::fetch_block_template(client, req, params_, h, {timeout_}); });
        const std::string what = label + "getblocktemplate with rules " +
                                 (req.signet ? "[\"segwit\",\"signet\"]" : "[\"segwit\"]");
        if (!r.ok() && r.error.code.category() == node::template_category()) {
            fail(what + ": answer refused: " + r.error.code.message(),
                 "the node sends templates solobridge cannot use: report it with the node's name and version");
            return nullptr;
        }
        if (!r.ok()) {
            std::string fix = "see the node's log";
            if (r.error.rpc_code == -9)
                fix = std::string("the node has no peers: connect it to the network") +
                      (params_.node_no_peers_option.empty()
                           ? ""
                           : " (on regtest: start it with " + std::string(params_.node_no_peers_option) + ")");
            else if (r.error.rpc_code == -10)
                fix = "the node is still downloading blocks: wait until it is synced";
            fail(what + " failed: " + r.error.to_string(), fix);
            return nullptr;
        }
        auto t = std::make_shared<const node::block_template>(std::move(r.value));
        if (label.empty())
            ok(what + ": height " + std::to_string(t->height) + ", " + count_text(t->transactions.size(), "transaction") +
               ", " + coins_text(t->coinbase_value, params_) +
               (t->segwit_active ? ", segwit active" : ", segwit not active"));
        return t;
    }

    void fire_drill(node::rpc_client& client, std::shared_ptr<const node::block_template> tmpl) {
        coinbase_spec cs = coinbase_spec_for(chain_);
        const bytes stand_in = stand_in_payout_script();
        const bool use_stand_in = cs.payout_script.empty();
        if (use_stand_in) cs.payout_script = stand_in;

        for (int attempt = 1; attempt <= max_drill_attempts; ++attempt) {
            if (attempt > 1) {
                tmpl = fetch_template(client, "fire drill: ");
                if (!tmpl) return;
            }
            const mining_algorithm& algo = algorithm_for(params_);
            if (algo.can_mine(*tmpl, params_)) {
                const pow_algorithm next = params_.algorithm_at(std::max(tmpl->curtime, tmpl->mintime));
                return fail("fire drill: the next block is " + std::string(to_string(next)) +
                                ", which solobridge does not mine",
                            "mine this chain once its blocks are " + std::string(to_string(algo.headers().id())));
            }
            drill_record d;
            d.chain_id = chain_.id;
            d.node_url = node_.rpc_url;
            auto built = build_drill_block(tmpl, cs, algo, d);
            if (!built)
                return fail("fire drill: cannot build the block: " + built.error().message(), "report it with this output");
            bytes& block = built->block;
            if (opts_.tamper_block) {
                const bytes before = block;
                opts_.tamper_block(block);
                d.tampered = block != before;
            }
            auto r = runner_.wait<node::rpc_result<node::proposal_verdict>>(
                [&](auto h) { node::propose_block(client, to_hex(block), h, {timeout_}); });
            if (r.ok()) d.verdict = r.value;
            rec_.out().drills.push_back(d);

            if (!r.ok()) {
                if (node::proposal_unsupported(r.error))
                    return warn("fire drill not run: the node does not support block proposals "
                                "(getblocktemplate mode \"proposal\", BIP23): " + r.error.to_string(),
                                "nothing to fix here, but the assembled block could not be checked before a real one is found");
                return fail("fire drill: the node could not check the block solobridge would submit: " + r.error.to_string(),
                            "a block found now might be lost: report it with this output and the node's version");
            }
            if (r.value.valid) return ok(drill_passed(built->j, use_stand_in));
            if (r.value.reason == "inconclusive-not-best-prevblk") continue;  // the tip moved: a new template
            return fail("fire drill: the node refuses the block solobridge would submit: " + r.value.reason,
                        "a block found now would be rejected: do not mine on this setup until this is solved; "
                        "report it with this output and the node's name and version");
        }
        warn("fire drill not decided: the tip moved during each of " + std::to_string(max_drill_attempts) + " tries",
             "run solobridge doctor again");
    }

    std::string drill_passed(const job& j, bool stand_in) const {
        std::string what = "fire drill passed: the node accepts the block solobridge would submit at height " +
                           std::to_string(j.height) + " (coinbase paying ";
        what += stand_in ? "a stand-in script, as payouts follow each miner's address" : chain_.payout.address;
        if (j.coinbase.tag_bytes > 0) what += ", tag \"" + chain_.coinbase_tag.substr(0, j.coinbase.tag_bytes) + "\"";
        what += ", extranonce slot " + std::to_string(j.coinbase.extranonce1_size) + "+" +
                std::to_string(j.coinbase.extranonce2_size) + " bytes";
        if (j.coinbase.witness_commitment) what += ", witness commitment";
        what += "; " + count_text(j.tmpl->transactions.size(), "transaction") + "), checked without proof of work";
        return what;
    }

    recorder& rec_;
    rpc_runner& runner_;
    const config::chain_settings& chain_;
    const config::node_settings& node_;
    const options& opts_;
    const chain_params& params_;
    const std::string subject_;
    const std::chrono::milliseconds timeout_;
    node::blockchain_info info_;
    std::optional<std::uint64_t> next_height_;
};

}  // namespace

std::string_view to_string(outcome o) noexcept {
    switch (o) {
    case outcome::ok: return "ok";
    case outcome::warn: return "warn";
    case outcome::fail: return "FAIL";
    case outcome::skip: return "skip";
    }
    return "?";
}

std::string format_check(const check& c) {
    std::string line(to_string(c.result));
    line.resize(6, ' ');
    line += c.subject + ": " + c.finding;
    if (!c.fix.empty() && (c.result == outcome::fail || c.result == outcome::warn)) line += "; fix: " + c.fix;
    return line;
}

std::size_t report::count(outcome o) const noexcept {
    std::size_t n = 0;
    for (const auto& c : checks) n += c.result == o ? 1 : 0;
    return n;
}

std::string effective_user() { return user_of_uid(::geteuid()); }

check kawpow_epoch_fit(std::uint64_t next_height, int last_epoch, std::int64_t spacing_s) {
    check out;
    const int epoch = pow::ethash::epoch_number(next_height);
    const std::string at = "at height " + std::to_string(next_height) + " (epoch " + std::to_string(epoch) +
                           ", dataset " + std::to_string(pow::ethash::full_dataset_size(epoch) >> 20) + " MiB)";
    if (epoch > last_epoch) {
        out.result = outcome::fail;
        out.finding = at + " the dataset does not fit: its memory holds datasets up to epoch " +
                      std::to_string(last_epoch) + ", which ended at block " +
                      std::to_string((static_cast<std::uint64_t>(last_epoch) + 1) * pow::ethash::epoch_length - 1);
        out.fix = "this device cannot mine this chain any more: use a device with more memory, or remove it from "
                  "this chain's devices";
        return out;
    }
    const std::uint64_t last_block = (static_cast<std::uint64_t>(last_epoch) + 1) * pow::ethash::epoch_length - 1;
    const std::uint64_t blocks_left = last_block - next_height + 1;
    const std::uint64_t days = blocks_left * static_cast<std::uint64_t>(std::max<std::int64_t>(spacing_s, 0)) / 86'400;
    out.finding = at + " the dataset fits; the last block it can mine is " + std::to_string(last_block) + " (epoch " +
                  std::to_string(last_epoch) + "), " + count_text(blocks_left, "block") + " away (about " +
                  count_text(days, "day") + ")";
    if (last_epoch - epoch < kawpow_epoch_headroom_warn) {
        out.result = outcome::warn;
        out.fix = "plan for a device with more memory before block " + std::to_string(last_block + 1);
    }
    return out;
}

report examine(const config::settings& s, const options& opts) {
    report out;
    recorder rec(out, opts);
    check_data_dir(rec, s);
    std::vector<std::vector<kawpow_device_fit>> fits;
    for (const auto& c : s.chains) {
        check_payout(rec, c);
        fits.push_back(check_devices(rec, c));
    }
    check_listeners(rec, s);
    rpc_runner runner;
    for (std::size_t i = 0; i < s.chains.size(); ++i) {
        const auto& c = s.chains[i];
        std::optional<std::uint64_t> next_height;
        for (const auto& n : c.nodes) {
            node_examiner e(rec, runner, c, n, opts);
            e.run();
            if (const auto h = e.next_height()) next_height = std::max(next_height.value_or(0), *h);
        }
        for (const auto& f : fits[i]) {
            if (!next_height) {
                rec.add(outcome::skip, f.subject, "current epoch: not checked (no node told the chain's height)");
                continue;
            }
            check fit = kawpow_epoch_fit(*next_height, f.last_epoch, params(c.net).target_spacing_s);
            rec.add(fit.result, f.subject, std::move(fit.finding), std::move(fit.fix));
        }
    }
    return out;
}

}  // namespace sb::bridge::doctor
