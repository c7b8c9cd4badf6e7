// Validation of the configuration document into typed settings. Every problem is
// reported with its key path and the line and column where it was written; unknown keys
// are errors so that a typo never falls back to a default silently.
#include "sb/config/config.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdio>
#include <array>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "sb/core/address.hpp"
#include "sb/pow/algorithm.hpp"

namespace sb::config {

std::string endpoint::to_string() const {
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

std::optional<endpoint> parse_endpoint(std::string_view text, bool allow_port_zero) {
    std::string_view host, port;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return std::nullopt;
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return std::nullopt;
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) return std::nullopt;  // bare IPv6 needs brackets
    }
    if (host.empty() || host.size() > 253 || port.empty() || port.size() > 5) return std::nullopt;
    for (char c : host)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '_'))
            return std::nullopt;
    unsigned p = 0;
    for (char c : port) {
        if (c < '0' || c > '9') return std::nullopt;
        p = p * 10 + static_cast<unsigned>(c - '0');
    }
    if (p > 65535 || (p == 0 && !allow_port_zero)) return std::nullopt;
    return endpoint{std::string(host), static_cast<std::uint16_t>(p)};
}

namespace {

// How a listener's host binds (see listeners_overlap).
enum class bind_kind { any_v4, any_v6, v4, v6, name };

struct bind_host {
    bind_kind kind = bind_kind::name;
    std::string canonical;  // the address in inet_ntop form, or the name in lower case
};

bind_host classify_host(const std::string& host) {
    bind_host h;
    char buf[INET6_ADDRSTRLEN] = {};
    in_addr v4{};
    in6_addr v6{};
    if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
        h.kind = v4.s_addr == 0 ? bind_kind::any_v4 : bind_kind::v4;
        h.canonical = inet_ntop(AF_INET, &v4, buf, sizeof buf);
    } else if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
        if (IN6_IS_ADDR_UNSPECIFIED(&v6)) {
            h.kind = bind_kind::any_v6;
        } else if (IN6_IS_ADDR_V4MAPPED(&v6)) {
            std::memcpy(&v4, v6.s6_addr + 12, 4);
            h.kind = v4.s_addr == 0 ? bind_kind::any_v4 : bind_kind::v4;
            h.canonical = inet_ntop(AF_INET, &v4, buf, sizeof buf);
            return h;
        } else {
            h.kind = bind_kind::v6;
        }
        h.canonical = inet_ntop(AF_INET6, &v6, buf, sizeof buf);
    } else {
        h.canonical = host;
        for (char& c : h.canonical) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return h;
}

}  // namespace

bool listeners_overlap(const endpoint& a, const endpoint& b) {
    if (a.port != b.port || a.port == 0) return false;
    const bind_host x = classify_host(a.host), y = classify_host(b.host);
    if (x.kind == y.kind && x.canonical == y.canonical) return true;
    if (x.kind == bind_kind::any_v6 || y.kind == bind_kind::any_v6) return true;
    auto v4_side = [](bind_kind k) { return k == bind_kind::any_v4 || k == bind_kind::v4; };
    if (x.kind == bind_kind::any_v4) return v4_side(y.kind);
    if (y.kind == bind_kind::any_v4) return v4_side(x.kind);
    return false;
}

bool valid_device_id(std::string_view id) noexcept {
    if (id == "cpu") return true;
    std::string_view n;
    if (id.starts_with("cuda:")) n = id.substr(5);
    else if (id.starts_with("opencl:")) n = id.substr(7);
    else return false;
    if (n.empty() || n.size() > 3 || (n.size() > 1 && n[0] == '0')) return false;
    return std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string_view to_string(alert_kind k) noexcept {
    switch (k) {
        case alert_kind::block_found: return "block_found";
        case alert_kind::block_orphaned: return "block_orphaned";
        case alert_kind::worker_offline: return "worker_offline";
        case alert_kind::worker_online: return "worker_online";
        case alert_kind::hashrate_drop: return "hashrate_drop";
        case alert_kind::node_down: return "node_down";
        case alert_kind::node_unauthorized: return "node_unauthorized";
        case alert_kind::node_up: return "node_up";
    }
    return "unknown";
}

std::optional<alert_kind> alert_kind_from_string(std::string_view s) noexcept {
    for (std::size_t i = 0; i < alert_kind_count; ++i)
        if (to_string(static_cast<alert_kind>(i)) == s) return static_cast<alert_kind>(i);
    return std::nullopt;
}

std::optional<webhook_url> parse_webhook_url(std::string_view url, std::string* why) {
    auto fail = [why](const char* text) -> std::optional<webhook_url> {
        if (why != nullptr) *why = text;
        return std::nullopt;
    };
    auto starts_with_ci = [](std::string_view s, std::string_view prefix) {
        if (s.size() < prefix.size()) return false;
        for (std::size_t i = 0; i < prefix.size(); ++i)
            if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
        return true;
    };
    webhook_url out;
    if (starts_with_ci(url, "https://")) {
        out.tls = true;
        out.port = 443;
        url.remove_prefix(8);
    } else if (starts_with_ci(url, "http://")) {
        out.port = 80;
        url.remove_prefix(7);
    } else {
        return fail("must start with http:// or https://");
    }
    if (url.find('#') != std::string_view::npos) return fail("has a fragment (#...), which is never sent: remove it");
    const std::size_t end = url.find_first_of("/?");
    const std::string_view authority = url.substr(0, end);
    std::string_view rest = end == std::string_view::npos ? std::string_view() : url.substr(end);
    if (authority.find('@') != std::string_view::npos)
        return fail("has credentials in it: give them in \"token\" or \"headers\" instead");
    std::string_view host = authority, port;
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return fail("has an IPv6 address without its closing ']'");
        host = authority.substr(1, close - 1);
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty() && after.front() != ':') return fail("has text after the IPv6 address's ']'");
        if (!after.empty()) port = after.substr(1);
        if (host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos || host.empty())
            return fail("has a bracketed host that is not an IPv6 address");
    } else {
        if (const auto colon = authority.find(':'); colon != std::string_view::npos) {
            if (authority.find(':', colon + 1) != std::string_view::npos)
                return fail("has an IPv6 address without brackets: write it as [address]:port");
            host = authority.substr(0, colon);
            port = authority.substr(colon + 1);
            if (port.empty()) return fail("has ':' without a port after the host");
        }
        for (char c : host)
            if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_'))
                return fail("has a host that is not a name or an address (IPv6 goes in brackets)");
    }
    if (host.empty() || host.size() > 253) return fail("needs a host, e.g. https://ntfy.sh/my-topic");
    if (!port.empty() || authority.back() == ':') {
        unsigned p = 0;
        if (port.empty() || port.size() > 5) return fail("has a bad port (1-65535)");
        for (char c : port) {
            if (c < '0' || c > '9') return fail("has a bad port (1-65535)");
            p = p * 10 + static_cast<unsigned>(c - '0');
        }
        if (p == 0 || p > 65535) return fail("has a bad port (1-65535)");
        out.port = static_cast<std::uint16_t>(p);
    }
    for (char c : rest)
        if (c <= 0x20 || c >= 0x7f)
            return fail("has a space or a character outside printable ASCII in its path: percent-encode it");
    out.host = std::string(host);
    out.target = rest.empty() ? "/" : rest.front() == '?' ? "/" + std::string(rest) : std::string(rest);
    return out;
}

std::string config_error::to_string() const {
    std::string s = at.to_string();
    if (!s.empty()) s += ": ";
    if (!path.empty()) s += path + ": ";
    return s + message;
}

const std::vector<override_spec>& override_specs() {
    static const std::vector<override_spec> specs = {
        {"SB_DATA_DIR", "--data-dir", "data_dir", {}},
        {"SB_HTTP_LISTEN", "--http-listen", "http.listen", {}},
        {"SB_LOG_LEVEL", "--log-level", "log_level", {}},
        {"SB_NODE_RPC_URL", "--node-rpc-url", "chains[0].nodes[0].rpc_url", {}},
        {"SB_NODE_RPC_USER", "--node-rpc-user", "chains[0].nodes[0].rpc_user", {"rpc_cookie_file"}},
        {"SB_NODE_RPC_PASSWORD", "--node-rpc-password", "chains[0].nodes[0].rpc_password", {"rpc_cookie_file"}},
        {"SB_NODE_RPC_COOKIE_FILE", "--node-rpc-cookie-file", "chains[0].nodes[0].rpc_cookie_file",
         {"rpc_user", "rpc_password"}},
        {"SB_NODE_P2P", "--node-p2p", "chains[0].nodes[0].p2p", {}},
        {"SB_STRATUM_LISTEN", "--stratum-listen", "chains[0].stratum[0].listen", {}},
        {"SB_PAYOUT_ADDRESS", "--payout-address", "chains[0].payout.address", {}},
    };
    return specs;
}

std::vector<override_value> overrides_from_env(const std::function<const char*(const char*)>& getenv) {
    std::vector<override_value> out;
    for (const auto& spec : override_specs()) {
        const std::string name(spec.env);
        if (const char* v = getenv(name.c_str()); v != nullptr)
            out.push_back({std::string(spec.path), v, "environment " + name});
    }
    return out;
}

std::vector<override_value> overrides_from_args(const std::vector<std::string_view>& args,
                                                std::vector<std::string>& unknown,
                                                std::vector<config_error>& errors) {
    std::vector<override_value> out;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string_view a = args[i];
        std::string_view value;
        bool has_value = false;
        if (const auto eq = a.find('='); a.starts_with("--") && eq != std::string_view::npos) {
            value = a.substr(eq + 1);
            a = a.substr(0, eq);
            has_value = true;
        }
        const auto spec = std::find_if(override_specs().begin(), override_specs().end(),
                                       [&](const override_spec& s) { return s.flag == a; });
        if (spec == override_specs().end()) {
            unknown.emplace_back(args[i]);
            continue;
        }
        if (!has_value) {
            if (i + 1 >= args.size()) {
                errors.push_back({std::string(spec->path), {"command line " + std::string(a), 0, 0},
                                  "flag " + std::string(a) + " needs a value"});
                continue;
            }
            value = args[++i];
        }
        out.push_back({std::string(spec->path), std::string(value), "command line " + std::string(a)});
    }
    return out;
}

namespace {

using kind = json_value::kind;

// One path segment: a key, optionally indexed ("nodes[0]").
struct segment {
    std::string key;
    std::optional<std::size_t> index;
};

std::vector<segment> split_path(std::string_view path) {
    std::vector<segment> out;
    while (!path.empty()) {
        const auto dot = path.find('.');
        std::string_view part = path.substr(0, dot);
        segment s;
        if (const auto br = part.find('['); br != std::string_view::npos) {
            s.key = std::string(part.substr(0, br));
            s.index = static_cast<std::size_t>(std::stoul(std::string(part.substr(br + 1))));
        } else {
            s.key = std::string(part);
        }
        out.push_back(std::move(s));
        if (dot == std::string_view::npos) break;
        path.remove_prefix(dot + 1);
    }
    return out;
}

// Writes an override into the document, creating the objects and array slots on the way.
// A value of the wrong shape on the way is replaced: the override is explicit.
void apply_override(json_value& root, const override_value& o) {
    const location at{o.origin, 0, 0};
    json_value* cur = &root;
    const auto segs = split_path(o.key);
    for (std::size_t i = 0; i < segs.size(); ++i) {
        const segment& s = segs[i];
        const bool last = i + 1 == segs.size();
        if (cur->type() != kind::object) *cur = json_value::make_object(at);
        if (last && !s.index) {
            cur->set(s.key, json_value::make_string(o.value, at), at);
            for (const auto& spec : override_specs()) {
                if (spec.path != o.key) continue;
                for (auto k : spec.clears)
                    std::erase_if(cur->members(), [&](const json_value::member& m) { return m.first == k; });
            }
            return;
        }
        json_value* next = cur->find(s.key);
        if (next == nullptr) next = &cur->set(s.key, s.index ? json_value::make_array(at) : json_value::make_object(at), at);
        if (s.index) {
            if (next->type() != kind::array) *next = json_value::make_array(at);
            while (next->items().size() <= *s.index) next->items().push_back(json_value::make_object(at));
            next = &next->items()[*s.index];
        }
        cur = next;
    }
}

class validator {
public:
    std::vector<config_error> errors;

    void error(const std::string& path, const location& at, std::string message) {
        errors.push_back({path, at, std::move(message)});
    }

    // A key that users of other software write, refused with its own reason.
    struct refused_key {
        std::string_view key;
        std::string_view why;
    };

    // Checks that v is an object whose keys are all in allowed; a key in refused gets its
    // reason instead of "unknown key".
    bool object(const json_value& v, const std::string& path, std::initializer_list<std::string_view> allowed,
                std::initializer_list<refused_key> refused = {}) {
        if (v.type() != kind::object) {
            error(path, v.where(), std::string("must be an object, not ") + json_value::describe(v.type()));
            return false;
        }
        for (const auto& [key, child] : v.members()) {
            if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
            // Named capture: clang before 16 cannot capture a structured binding.
            const auto r = std::find_if(refused.begin(), refused.end(),
                                        [&name = key](const refused_key& k) { return k.key == name; });
            if (r != refused.end()) {
                error(join(path, key), child.key_where(), std::string(r->why));
                continue;
            }
            std::string known;
            for (auto k : allowed) known += (known.empty() ? "" : ", ") + std::string(k);
            error(join(path, key), child.key_where(), "unknown key (known keys here: " + known + ")");
        }
        return true;
    }

    static std::string join(const std::string& path, std::string_view key) {
        return path.empty() ? std::string(key) : path + "." + std::string(key);
    }

    const json_value* member(const json_value& obj, std::string_view key, const std::string& path, bool required) {
        const json_value* v = obj.type() == kind::object ? obj.find(key) : nullptr;
        if (v == nullptr && required) error(join(path, key), obj.where(), "is required");
        return v;
    }

    std::optional<std::string> string(const json_value& obj, std::string_view key, const std::string& path,
                                      bool required, std::size_t max_len = 4096) {
        const json_value* v = member(obj, key, path, required);
        if (v == nullptr) return std::nullopt;
        if (v->type() != kind::string) {
            error(join(path, key), v->where(), std::string("must be a string, not ") + json_value::describe(v->type()));
            return std::nullopt;
        }
        if (v->as_string().size() > max_len) {
            error(join(path, key), v->where(), "is longer than " + std::to_string(max_len) + " bytes");
            return std::nullopt;
        }
        return v->as_string();
    }

    std::optional<std::int64_t> integer(const json_value& obj, std::string_view key, const std::string& path,
                                        std::int64_t min, std::int64_t max) {
        const json_value* v = member(obj, key, path, false);
        if (v == nullptr) return std::nullopt;
        std::int64_t x = 0;
        if (v->type() == kind::number && v->is_integer()) {
            x = v->as_int();
        } else if (v->type() == kind::string && v->where().line == 0) {
            // Overrides arrive as text.
            char* end = nullptr;
            x = std::strtoll(v->as_string().c_str(), &end, 10);
            if (v->as_string().empty() || *end != '\0') {
                error(join(path, key), v->where(), "must be an integer");
                return std::nullopt;
            }
        } else {
            error(join(path, key), v->where(),
                  std::string("must be an integer, not ") +
                      (v->type() == kind::number ? "a fraction" : json_value::describe(v->type())));
            return std::nullopt;
        }
        if (x < min || x > max) {
            error(join(path, key), v->where(),
                  "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", not " + std::to_string(x));
            return std::nullopt;
        }
        return x;
    }

    std::optional<double> number(const json_value& obj, std::string_view key, const std::string& path, double min,
                                 double max) {
        const json_value* v = member(obj, key, path, false);
        if (v == nullptr) return std::nullopt;
        if (v->type() != kind::number) {
            error(join(path, key), v->where(), std::string("must be a number, not ") + json_value::describe(v->type()));
            return std::nullopt;
        }
        const double x = v->as_double();
        if (!(x >= min && x <= max)) {
            std::ostringstream m;
            m << "must be between " << min << " and " << max << ", not " << x;
            error(join(path, key), v->where(), m.str());
            return std::nullopt;
        }
        return x;
    }

    std::optional<bool> boolean(const json_value& obj, std::string_view key, const std::string& path) {
        const json_value* v = member(obj, key, path, false);
        if (v == nullptr) return std::nullopt;
        if (v->type() == kind::boolean) return v->as_bool();
        if (v->type() == kind::string && v->where().line == 0) {
            if (v->as_string() == "true" || v->as_string() == "1") return true;
            if (v->as_string() == "false" || v->as_string() == "0") return false;
        }
        error(join(path, key), v->where(), std::string("must be true or false, not ") + json_value::describe(v->type()));
        return std::nullopt;
    }

    std::optional<endpoint> listen(const json_value& obj, std::string_view key, const std::string& path,
                                   bool required) {
        auto s = string(obj, key, path, required, 300);
        if (!s) return std::nullopt;
        auto ep = parse_endpoint(*s);
        if (!ep) error(join(path, key), obj.find(key)->where(),
                       "must be host:port (IPv6 as [addr]:port, port 1-65535), not \"" + *s + "\"");
        return ep;
    }

    const json_value* array(const json_value& obj, std::string_view key, const std::string& path, bool required,
                            std::size_t min_items, std::size_t max_items) {
        const json_value* v = member(obj, key, path, required);
        if (v == nullptr) return nullptr;
        if (v->type() != kind::array) {
            error(join(path, key), v->where(), std::string("must be an array, not ") + json_value::describe(v->type()));
            return nullptr;
        }
        if (v->items().size() < min_items || v->items().size() > max_items) {
            error(join(path, key), v->where(),
                  "must have " + std::to_string(min_items) + " to " + std::to_string(max_items) + " entries, not " +
                      std::to_string(v->items().size()));
            return nullptr;
        }
        return v;
    }
};

void read_node(validator& val, const json_value& v, const std::string& path, node_settings& out) {
    // zmq_hashblock: nothing would read it (no key is accepted and ignored).
    if (!val.object(v, path, {"rpc_url", "rpc_user", "rpc_password", "rpc_cookie_file", "p2p", "rpc_timeout_ms"},
                    {{"zmq_hashblock", "zmq_hashblock is not supported: solobridge hears new blocks over P2P (set the "
                                       "node's p2p address, e.g. \"p2p\": \"127.0.0.1:8333\") and by longpoll; "
                                       "remove this key"}}))
        return;
    if (auto url = val.string(v, "rpc_url", path, true, 2048)) {
        out.rpc_url = *url;
        const std::string_view u = *url;
        if (u.starts_with("https://")) {
            val.error(path + ".rpc_url", v.find("rpc_url")->where(),
                      "https is not supported: nodes speak plain HTTP; keep the node on loopback or a private network");
        } else if (!u.starts_with("http://")) {
            val.error(path + ".rpc_url", v.find("rpc_url")->where(), "must start with http:// (e.g. http://127.0.0.1:8332)");
        } else {
            std::string_view rest = u.substr(7);
            const std::string_view hostport = rest.substr(0, rest.find('/'));
            if (hostport.find('@') != std::string_view::npos)
                val.error(path + ".rpc_url", v.find("rpc_url")->where(),
                          "put credentials in rpc_user/rpc_password or rpc_cookie_file, not in the URL");
            else if (!parse_endpoint(hostport))
                val.error(path + ".rpc_url", v.find("rpc_url")->where(),
                          "needs a host and a port, e.g. http://127.0.0.1:8332");
        }
    }
    if (auto s = val.string(v, "rpc_user", path, false, 256)) out.rpc_user = *s;
    if (auto s = val.string(v, "rpc_password", path, false, 1024)) out.rpc_password = *s;
    if (auto s = val.string(v, "rpc_cookie_file", path, false)) out.rpc_cookie_file = *s;
    const bool has_pass = v.find("rpc_password") != nullptr;
    const bool has_cookie = v.find("rpc_cookie_file") != nullptr;
    if (has_cookie && (has_pass || v.find("rpc_user") != nullptr))
        val.error(path, v.where(), "give either rpc_cookie_file or rpc_user/rpc_password, not both");
    else if (!has_cookie && !has_pass)
        val.error(path, v.where(), "needs rpc_cookie_file or rpc_password (with rpc_user) to authenticate");
    if (v.find("p2p") != nullptr) out.p2p = val.listen(v, "p2p", path, false);
    if (auto t = val.integer(v, "rpc_timeout_ms", path, 100, 600'000)) out.rpc_timeout_ms = static_cast<std::uint32_t>(*t);
}

// Addresses that example files of earlier versions carried: someone else's. A config
// copied from one of them must not start mining to it.
bool is_foreign_example_address(std::string_view a) {
    static constexpr std::array<std::string_view, 1> addresses = {"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"};
    return std::find(addresses.begin(), addresses.end(), a) != addresses.end();
}

void read_payout(validator& val, const json_value& v, const std::string& path, const chain_params& chain,
                 payout_settings& out) {
    if (!val.object(v, path, {"mode", "address"})) return;
    if (auto m = val.string(v, "mode", path, false, 64)) {
        if (*m == "fixed-address") out.mode = payout_mode::fixed_address;
        else if (*m == "address-username") out.mode = payout_mode::address_username;
        else val.error(path + ".mode", v.find("mode")->where(),
                       "must be \"fixed-address\" or \"address-username\", not \"" + *m + "\"");
    }
    const bool required = out.mode == payout_mode::fixed_address;
    if (auto a = val.string(v, "address", path, required, 128)) {
        if (*a == payout_address_placeholder || is_foreign_example_address(*a)) {
            val.error(path + ".address", v.find("address")->where(),
                      "replace with your own payout address: \"" + *a + "\" is " +
                          (*a == payout_address_placeholder ? "the example's placeholder"
                                                            : "the address an earlier example file carried, not yours") +
                          " (write an address of a " + std::string(chain.name) +
                          " wallet whose keys you hold, or pass --payout-address / SB_PAYOUT_ADDRESS)");
            return;
        }
        auto script = address_to_script(*a, chain.address);
        if (!script) {
            val.error(path + ".address", v.find("address")->where(),
                      "\"" + *a + "\" is not a valid " + std::string(chain.name) + " address: " +
                          script.error().message());
        } else {
            out.address = *a;
            out.script_pubkey = script->script_pubkey;
        }
    }
}

void read_listener(validator& val, const json_value& v, const std::string& path, stratum_listener& out) {
    if (!val.object(v, path, {"listen", "tls", "difficulty"})) return;
    if (auto ep = val.listen(v, "listen", path, true)) out.listen = *ep;
    if (const json_value* tls = v.find("tls")) {
        const std::string tpath = path + ".tls";
        if (val.object(*tls, tpath, {"cert_file", "key_file", "accept_plain"})) {
            tls_settings t;
            if (auto s = val.string(*tls, "cert_file", tpath, true)) t.cert_file = *s;
            if (auto s = val.string(*tls, "key_file", tpath, true)) t.key_file = *s;
            if (auto b = val.boolean(*tls, "accept_plain", tpath)) t.accept_plain = *b;
            out.tls = t;
        }
    }
    if (const json_value* d = v.find("difficulty")) {
        const std::string dpath = path + ".difficulty";
        if (val.object(*d, dpath, {"initial", "min", "max", "target_share_seconds"})) {
            auto& o = out.difficulty;
            if (auto x = val.number(*d, "min", dpath, 1e-9, 1e18)) o.min = *x;
            if (auto x = val.number(*d, "max", dpath, 1e-9, 1e18)) o.max = *x;
            if (auto x = val.number(*d, "initial", dpath, 1e-9, 1e18)) o.initial = *x;
            if (auto x = val.number(*d, "target_share_seconds", dpath, 1, 600)) o.target_share_seconds = *x;
            if (o.min > o.max) val.error(dpath, d->where(), "min is above max");
            else if (o.initial < o.min || o.initial > o.max) val.error(dpath, d->where(), "initial must lie within [min, max]");
        }
    }
}

void read_device(validator& val, const json_value& v, const std::string& path, device_settings& out) {
    if (!val.object(v, path, {"id", "intensity"})) return;
    if (auto id = val.string(v, "id", path, true, 32)) {
        if (!valid_device_id(*id))
            val.error(path + ".id", v.find("id")->where(),
                      "must be \"cpu\", \"cuda:N\" or \"opencl:N\" (see `solobridge devices`), not \"" + *id + "\"");
        out.id = *id;
    }
    if (auto x = val.integer(v, "intensity", path, min_device_intensity, max_device_intensity))
        out.intensity = static_cast<unsigned>(*x);
}

// The P2P keys act only where the chain has P2P: a node's "p2p" address or p2p_peers
// (without either the daemon starts no P2P client). Written without, they are refused.
void refuse_p2p_keys_without_p2p(validator& val, const json_value& chain, const std::string& path) {
    bool has_p2p = false;
    if (const json_value* peers = chain.find("p2p_peers"); peers && peers->type() == kind::array)
        has_p2p = !peers->items().empty();
    if (const json_value* nodes = chain.find("nodes"); nodes && nodes->type() == kind::array)
        for (const json_value& n : nodes->items()) has_p2p = has_p2p || (n.type() == kind::object && n.find("p2p"));
    if (has_p2p) return;
    for (const std::string_view key : {"p2p_target_outbound", "p2p_dns_seeds", "p2p_header_only_work", "p2p_anchor"})
        if (const json_value* k = chain.find(key))
            val.error(validator::join(path, key), k->where(),
                      "has no effect: this chain has no P2P (set a node's \"p2p\" address or \"p2p_peers\")");
}

void read_chain(validator& val, const json_value& v, const std::string& path, chain_settings& out) {
    if (!val.object(v, path, {"id", "network", "nodes", "payout", "coinbase_tag", "extranonce2_size", "stratum",
                              "template_refresh_s", "p2p_peers", "p2p_target_outbound", "p2p_dns_seeds", "devices",
                              "p2p_header_only_work", "stratum_bans", "stratum_ban_loopback", "stratum_ban_threshold",
                              "stratum_ban_duration_s", "stratum_max_connections_per_ip", "p2p_anchor"}))
        return;
    const chain_params* chain = nullptr;
    if (auto n = val.string(v, "network", path, true, 64)) {
        if (auto net = network_from_name(*n)) {
            out.net = *net;
            chain = &params(*net);
        } else {
            std::string known;
            for (const auto& p : all_networks()) known += (known.empty() ? "" : ", ") + std::string(p.name);
            val.error(path + ".network", v.find("network")->where(), "unknown network \"" + *n + "\" (known: " + known + ")");
        }
    }
    out.id = chain ? std::string(chain->name) : std::string();
    if (auto id = val.string(v, "id", path, false, 32)) {
        const bool ok = !id->empty() && std::all_of(id->begin(), id->end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        });
        if (!ok) val.error(path + ".id", v.find("id")->where(), "must be 1-32 characters of a-z, 0-9, '-' and '_'");
        out.id = *id;
    }
    if (const json_value* nodes = val.array(v, "nodes", path, true, 1, 8)) {
        for (std::size_t i = 0; i < nodes->items().size(); ++i) {
            node_settings n;
            read_node(val, nodes->items()[i], path + ".nodes[" + std::to_string(i) + "]", n);
            out.nodes.push_back(std::move(n));
        }
    }
    if (const json_value* p = val.member(v, "payout", path, true); p != nullptr && chain != nullptr)
        read_payout(val, *p, path + ".payout", *chain, out.payout);
    if (auto tag = val.string(v, "coinbase_tag", path, false, max_coinbase_tag_bytes)) {
        const bool printable = std::all_of(tag->begin(), tag->end(), [](char c) { return c >= 0x20 && c < 0x7f; });
        if (!printable) val.error(path + ".coinbase_tag", v.find("coinbase_tag")->where(), "must be printable ASCII");
        out.coinbase_tag = *tag;
    }
    if (auto x = val.integer(v, "extranonce2_size", path, 2, 8)) out.extranonce2_size = static_cast<unsigned>(*x);
    if (const json_value* st = val.array(v, "stratum", path, false, 0, 16)) {
        for (std::size_t i = 0; i < st->items().size(); ++i) {
            stratum_listener l;
            read_listener(val, st->items()[i], path + ".stratum[" + std::to_string(i) + "]", l);
            out.stratum.push_back(std::move(l));
        }
    }
    if (auto x = val.integer(v, "template_refresh_s", path, 1, 600)) out.template_refresh_s = static_cast<std::uint32_t>(*x);
    if (const json_value* ps = val.array(v, "p2p_peers", path, false, 0, 32)) {
        for (std::size_t i = 0; i < ps->items().size(); ++i) {
            const json_value& item = ps->items()[i];
            const std::string where = path + ".p2p_peers[" + std::to_string(i) + "]";
            std::optional<endpoint> ep;
            if (item.type() == kind::string) ep = parse_endpoint(item.as_string());
            if (!ep) val.error(where, item.where(), "must be a \"host:port\" string (IPv6 as [addr]:port)");
            else out.p2p_peers.push_back(*ep);
        }
    }
    if (auto x = val.integer(v, "p2p_target_outbound", path, 0, 32)) out.p2p_target_outbound = static_cast<std::uint32_t>(*x);
    if (auto b = val.boolean(v, "p2p_dns_seeds", path)) out.p2p_dns_seeds = *b;
    if (auto b = val.boolean(v, "p2p_header_only_work", path)) out.p2p_header_only_work = *b;
    if (chain != nullptr && chain->p2p_needs_rpc_anchor) out.p2p_anchor = p2p_anchor_mode::rpc;
    if (auto a = val.string(v, "p2p_anchor", path, false, 16)) {
        if (*a == "genesis") out.p2p_anchor = p2p_anchor_mode::genesis;
        else if (*a == "rpc") out.p2p_anchor = p2p_anchor_mode::rpc;
        else val.error(path + ".p2p_anchor", v.find("p2p_anchor")->where(), "must be \"genesis\" or \"rpc\", not \"" + *a + "\"");
        if (out.p2p_anchor == p2p_anchor_mode::genesis && chain != nullptr && chain->p2p_needs_rpc_anchor)
            val.error(path + ".p2p_anchor", v.find("p2p_anchor")->where(),
                      "must be \"rpc\" on Ravencoin: headers before KAWPOW (X16R/X16Rv2) cannot be checked, so the "
                      "header chain starts at a KAWPOW header taken from the node's RPC");
    }
    refuse_p2p_keys_without_p2p(val, v, path);
    // As node::p2p::header_only_work_possible: SHA-256d blocks, and not signet's, which
    // need a signature.
    if (out.p2p_header_only_work && chain != nullptr &&
        (pow::mined_algorithm(*chain) != pow_algorithm::sha256d || chain->net == network::bitcoin_signet))
        val.error(path + ".p2p_header_only_work", v.find("p2p_header_only_work")->where(),
                  "header-only work is not available on " + std::string(chain->name) +
                      " (Bitcoin only, not signet, whose blocks need a signature); remove this key");
    if (auto b = val.boolean(v, "stratum_bans", path)) out.stratum_bans = *b;
    if (auto b = val.boolean(v, "stratum_ban_loopback", path)) out.stratum_ban_loopback = *b;
    if (auto x = val.integer(v, "stratum_ban_threshold", path, 1, max_stratum_ban_threshold))
        out.stratum_ban_threshold = static_cast<std::uint32_t>(*x);
    if (auto x = val.integer(v, "stratum_ban_duration_s", path, 1, max_stratum_ban_duration_s))
        out.stratum_ban_duration_s = static_cast<std::uint32_t>(*x);
    if (auto x = val.integer(v, "stratum_max_connections_per_ip", path, 1, max_stratum_connections_per_ip))
        out.stratum_max_connections_per_ip = static_cast<std::uint32_t>(*x);
    if (const json_value* ds = val.array(v, "devices", path, false, 0, max_devices_per_chain)) {
        if (!ds->items().empty() && out.payout.mode == payout_mode::address_username && out.payout.address.empty() &&
            v.find("payout") != nullptr)
            val.error(path + ".devices", ds->where(),
                      "local devices need payout.address in address-username mode (their blocks pay it)");
        std::map<std::string, std::string> seen;
        for (std::size_t i = 0; i < ds->items().size(); ++i) {
            device_settings d;
            const std::string where = path + ".devices[" + std::to_string(i) + "]";
            read_device(val, ds->items()[i], where, d);
            // KAWPOW needs a GPU's memory bandwidth: the CPU reference searches SHA-256d only.
            if (d.id == "cpu" && chain != nullptr && pow::mined_algorithm(*chain) == pow_algorithm::kawpow)
                val.error(where + ".id", ds->items()[i].find("id")->where(),
                          "the \"cpu\" device mines SHA-256d only: a Ravencoin (KAWPOW) chain needs a GPU, "
                          "\"cuda:N\" or \"opencl:N\" (see `solobridge devices`)");
            if (!d.id.empty()) {
                auto [it, fresh] = seen.emplace(d.id, where);
                if (!fresh)
                    val.error(where + ".id", ds->items()[i].find("id")->where(),
                              "device \"" + d.id + "\" is already listed as " + it->second);
            }
            out.devices.push_back(std::move(d));
        }
    }
}

// True for an RFC 9110 token (a header name).
bool is_header_token(std::string_view s) noexcept {
    if (s.empty()) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    });
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
    });
}

void read_webhook(validator& val, const json_value& v, const std::string& path, webhook_settings& out) {
    if (!val.object(v, path, {"url", "format", "events", "token", "headers", "ca_file"})) return;
    if (auto f = val.string(v, "format", path, false, 16)) {
        if (*f == "json") out.format = webhook_format::json;
        else if (*f == "ntfy") out.format = webhook_format::ntfy;
        else val.error(path + ".format", v.find("format")->where(), "must be \"json\" or \"ntfy\", not \"" + *f + "\"");
    }
    if (auto url = val.string(v, "url", path, true, 2048)) {
        out.url = *url;
        std::string why;
        if (auto u = parse_webhook_url(*url, &why)) {
            out.parsed = *u;
            if (out.format == webhook_format::ntfy && (u->target == "/" || u->target.starts_with("/?")))
                val.error(path + ".url", v.find("url")->where(),
                          "needs the ntfy topic in its path, e.g. https://ntfy.sh/my-rigs-7f3a");
        } else {
            val.error(path + ".url", v.find("url")->where(), why);
        }
    }
    if (const json_value* ev = val.array(v, "events", path, false, 1, alert_kind_count)) {
        out.events.reset();
        for (std::size_t i = 0; i < ev->items().size(); ++i) {
            const json_value& item = ev->items()[i];
            const std::string where = path + ".events[" + std::to_string(i) + "]";
            const auto k = item.type() == kind::string ? alert_kind_from_string(item.as_string()) : std::nullopt;
            if (!k) {
                std::string known;
                for (std::size_t j = 0; j < alert_kind_count; ++j)
                    known += (known.empty() ? "" : ", ") + std::string(to_string(static_cast<alert_kind>(j)));
                val.error(where, item.where(),
                          (item.type() == kind::string ? "unknown event \"" + item.as_string() + "\""
                                                       : std::string("must be a string")) +
                              " (known: " + known + ")");
            } else if (out.events.test(static_cast<std::size_t>(*k))) {
                val.error(where, item.where(), "\"" + item.as_string() + "\" is listed twice");
            } else {
                out.events.set(static_cast<std::size_t>(*k));
            }
        }
    }
    if (auto t = val.string(v, "token", path, false, 1024)) {
        const bool ok = !t->empty() && std::all_of(t->begin(), t->end(), [](char c) { return c > 0x20 && c < 0x7f; });
        if (!ok) val.error(path + ".token", v.find("token")->where(), "must be printable ASCII without spaces, not empty");
        out.token = *t;
    }
    if (const json_value* h = v.find("headers")) {
        const std::string hpath = path + ".headers";
        if (h->type() != kind::object) {
            val.error(hpath, h->where(), std::string("must be an object, not ") + json_value::describe(h->type()));
        } else if (h->members().size() > max_webhook_headers) {
            val.error(hpath, h->where(), "must have at most " + std::to_string(max_webhook_headers) + " headers");
        } else {
            // Headers the bridge writes itself; ntfy's title, priority and tags (and their
            // aliases) come from the alert.
            static constexpr std::array<std::string_view, 7> managed = {
                "host", "content-length", "content-type", "transfer-encoding", "connection", "user-agent", "te"};
            static constexpr std::array<std::string_view, 12> ntfy_managed = {
                "x-title", "title", "ti", "t", "x-priority", "priority", "prio", "p", "x-tags", "tags", "tag", "ta"};
            for (const auto& [name, value] : h->members()) {
                const std::string where = hpath + "." + name;
                // Named captures: clang before 16 cannot capture a structured binding.
                auto is = [&header = name](std::string_view n) { return iequals(header, n); };
                if (!is_header_token(name) || name.size() > 128) {
                    val.error(where, value.key_where(), "is not a valid HTTP header name");
                } else if (std::any_of(managed.begin(), managed.end(), is)) {
                    val.error(where, value.key_where(), "is set by solobridge itself; remove it");
                } else if (out.format == webhook_format::ntfy && std::any_of(ntfy_managed.begin(), ntfy_managed.end(), is)) {
                    val.error(where, value.key_where(),
                              "is set by solobridge from the alert (ntfy's title, priority and tags); remove it");
                } else if (is("authorization") && v.find("token") != nullptr) {
                    val.error(where, value.key_where(), "give either \"token\" or an Authorization header, not both");
                } else if (std::any_of(out.headers.begin(), out.headers.end(),
                                       [&header = name](const auto& other) { return iequals(other.first, header); })) {
                    val.error(where, value.key_where(), "is given twice (header names ignore case)");
                } else if (value.type() != kind::string) {
                    val.error(where, value.where(), std::string("must be a string, not ") + json_value::describe(value.type()));
                } else if (value.as_string().size() > 1024 ||
                           !std::all_of(value.as_string().begin(), value.as_string().end(),
                                        [](char c) { return c >= 0x20 && c < 0x7f; })) {
                    val.error(where, value.where(), "must be printable ASCII of at most 1024 bytes");
                } else {
                    out.headers.emplace_back(name, value.as_string());
                }
            }
        }
    }
    if (auto f = val.string(v, "ca_file", path, false)) {
        if (f->empty()) val.error(path + ".ca_file", v.find("ca_file")->where(), "must not be empty");
        else if (!out.parsed.host.empty() && !out.parsed.tls)
            val.error(path + ".ca_file", v.find("ca_file")->where(), "has no effect: the URL is http://, not https://");
        out.ca_file = *f;
    }
}

void read_alerts(validator& val, const json_value& v, alert_settings& out) {
    if (!val.object(v, "alerts", {"webhooks", "min_interval_s", "hashrate_drop_ratio"})) return;
    if (const json_value* hooks = val.array(v, "webhooks", "alerts", true, 1, max_webhooks)) {
        for (std::size_t i = 0; i < hooks->items().size(); ++i) {
            webhook_settings w;
            read_webhook(val, hooks->items()[i], "alerts.webhooks[" + std::to_string(i) + "]", w);
            out.webhooks.push_back(std::move(w));
        }
    }
    if (auto x = val.integer(v, "min_interval_s", "alerts", 0, max_alert_min_interval_s))
        out.min_interval_s = static_cast<std::uint32_t>(*x);
    if (auto x = val.number(v, "hashrate_drop_ratio", "alerts", 0.01, 0.99)) out.hashrate_drop_ratio = *x;
    // hashrate_drop_ratio acts through hashrate_drop alerts only.
    if (v.find("hashrate_drop_ratio") != nullptr && !out.webhooks.empty() &&
        std::none_of(out.webhooks.begin(), out.webhooks.end(), [](const webhook_settings& w) {
            return w.events.test(static_cast<std::size_t>(alert_kind::hashrate_drop));
        }))
        val.error("alerts.hashrate_drop_ratio", v.find("hashrate_drop_ratio")->where(),
                  "has no effect: no webhook has \"hashrate_drop\" among its events");
}

// True for a loopback IP literal (127.0.0.0/8, ::1, bracketed or not). Names are not
// resolved: "localhost" is not taken for loopback here.
bool is_loopback_literal(std::string_view host) {
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (host == "::1") return true;
    unsigned a = 0, b = 0, c = 0, d = 0;
    char tail = 0;
    const std::string h(host);
    return std::sscanf(h.c_str(), "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 && b < 256 && c < 256 && d < 256;
}

// Where chains[i] was written (the document's start when it was not).
location chains_at(const json_value& root, std::size_t i) {
    const json_value* chains = root.find("chains");
    if (chains == nullptr || chains->type() != kind::array || i >= chains->items().size()) return root.where();
    return chains->items()[i].where();
}

load_result validate(const json_value& root) {
    validator val;
    settings s;
    if (val.object(root, "", {"data_dir", "log_level", "http", "stats", "chains", "alerts"})) {
        if (auto d = val.string(root, "data_dir", "", false)) {
            if (d->empty()) val.error("data_dir", root.find("data_dir")->where(), "must not be empty");
            s.data_dir = *d;
        }
        if (auto l = val.string(root, "log_level", "", false, 16)) {
            static const std::set<std::string> levels = {"error", "warn", "info", "debug", "trace"};
            if (!levels.contains(*l))
                val.error("log_level", root.find("log_level")->where(), "must be error, warn, info, debug or trace");
            s.log_level = *l;
        }
        if (const json_value* h = root.find("http")) {
            if (val.object(*h, "http", {"enabled", "listen", "token", "user", "password", "metrics_per_worker",
                                        "metrics_max_workers", "max_connections", "max_websockets"})) {
                if (auto e = val.boolean(*h, "enabled", "http")) s.http.enabled = *e;
                if (auto ep = val.listen(*h, "listen", "http", false)) s.http.listen = *ep;
                if (auto t = val.string(*h, "token", "http", false, 256)) {
                    if (t->size() < min_http_token_chars)
                        val.error("http.token", h->find("token")->where(),
                                  "must be at least " + std::to_string(min_http_token_chars) + " characters");
                    s.http.token = *t;
                }
                if (auto u = val.string(*h, "user", "http", false, 128)) s.http.user = *u;
                if (auto pw = val.string(*h, "password", "http", false, 256)) s.http.password = *pw;
                if (s.http.user.empty() != s.http.password.empty())
                    val.error(s.http.user.empty() ? "http.password" : "http.user",
                              h->find(s.http.user.empty() ? "password" : "user")->where(),
                              "http.user and http.password go together (basic auth)");
                if (auto b = val.boolean(*h, "metrics_per_worker", "http")) s.http.metrics_per_worker = *b;
                if (auto x = val.integer(*h, "metrics_max_workers", "http", 1, max_http_metrics_workers))
                    s.http.metrics_max_workers = static_cast<std::uint32_t>(*x);
                if (h->find("metrics_max_workers") != nullptr && !s.http.metrics_per_worker)
                    val.error("http.metrics_max_workers", h->find("metrics_max_workers")->where(),
                              "has no effect: http.metrics_per_worker is false");
                if (auto x = val.integer(*h, "max_connections", "http", 1, 10'000))
                    s.http.max_connections = static_cast<std::uint32_t>(*x);
                if (auto x = val.integer(*h, "max_websockets", "http", 1, 10'000))
                    s.http.max_websockets = static_cast<std::uint32_t>(*x);
                if (!s.http.enabled) {
                    for (const char* k : {"listen", "token", "user", "password", "metrics_per_worker",
                                          "metrics_max_workers", "max_connections", "max_websockets"})
                        if (h->find(k) != nullptr)
                            val.error(std::string("http.") + k, h->find(k)->where(),
                                      "has no effect: http.enabled is false (remove one of the two)");
                } else if (std::string host = s.http.listen.host;
                           (host.size() > 2 && host.front() == '[' && host.back() == ']'
                                ? classify_host(host.substr(1, host.size() - 2))
                                : classify_host(host))
                               .kind == bind_kind::name) {
                    // Checked first: "localhost is not a loopback address" would be untrue.
                    val.error("http.listen", h->find("listen") ? h->find("listen")->where() : h->where(),
                              host + " is not an IP address: the dashboard binds only IP addresses (127.0.0.1:" +
                                  std::to_string(s.http.listen.port) + " for this machine only)");
                } else if (!is_loopback_literal(s.http.listen.host) && s.http.token.empty() && s.http.user.empty()) {
                    val.error("http.listen", h->find("listen") ? h->find("listen")->where() : h->where(),
                              s.http.listen.host + " is not a loopback address: the dashboard then requires http.token "
                                                   "or http.user and http.password (or keep it on 127.0.0.1 behind an "
                                                   "authenticating proxy)");
                }
            }
        }
        if (const json_value* st = root.find("stats")) {
            if (val.object(*st, "stats", {"history", "idle_after_intervals", "offline_after_intervals",
                                          "default_share_interval_s", "forget_offline_after_s", "max_workers",
                                          "hashrate_drop_ratio", "history_workers"})) {
                auto& o = s.stats;
                if (auto b = val.boolean(*st, "history", "stats")) o.history = *b;
                if (auto x = val.number(*st, "idle_after_intervals", "stats", 1, 1000)) o.idle_after_intervals = *x;
                if (auto x = val.number(*st, "offline_after_intervals", "stats", 1, 10000)) o.offline_after_intervals = *x;
                if (o.offline_after_intervals < o.idle_after_intervals)
                    val.error("stats.offline_after_intervals", st->where(),
                              "must not be below stats.idle_after_intervals (offline comes after idle)");
                if (auto x = val.integer(*st, "default_share_interval_s", "stats", 1, 3600))
                    o.default_share_interval_s = static_cast<std::uint32_t>(*x);
                if (auto x = val.integer(*st, "forget_offline_after_s", "stats", 60, 365 * 86400))
                    o.forget_offline_after_s = static_cast<std::uint32_t>(*x);
                if (auto x = val.integer(*st, "max_workers", "stats", 1, 1'000'000))
                    o.max_workers = static_cast<std::uint32_t>(*x);
                if (auto x = val.number(*st, "hashrate_drop_ratio", "stats", 0, 0.99)) o.hashrate_drop_ratio = *x;
                if (auto x = val.integer(*st, "history_workers", "stats", 0, 1'000'000))
                    o.history_workers = static_cast<std::uint32_t>(*x);
                if (!o.history && st->find("history_workers") != nullptr)
                    val.error("stats.history_workers", st->find("history_workers")->where(),
                              "has no effect: stats.history is false");
            }
        }
        if (const json_value* a = root.find("alerts")) read_alerts(val, *a, s.alerts);
        if (const json_value* chains = val.array(root, "chains", "", true, 1, 16)) {
            std::set<std::string> ids;
            std::map<std::string, std::string> devices_used;  // a device mines one chain
            for (std::size_t i = 0; i < chains->items().size(); ++i) {
                chain_settings c;
                const std::string path = "chains[" + std::to_string(i) + "]";
                read_chain(val, chains->items()[i], path, c);
                if (!c.id.empty() && !ids.insert(c.id).second)
                    val.error(path + ".id", chains->items()[i].where(),
                              "chain id \"" + c.id + "\" is used twice (set distinct \"id\" values)");
                std::set<std::string> here;
                for (std::size_t j = 0; j < c.devices.size(); ++j) {
                    const std::string& dev = c.devices[j].id;
                    if (dev.empty() || !here.insert(dev).second) continue;
                    const std::string dpath = path + ".devices[" + std::to_string(j) + "]";
                    auto [it, fresh] = devices_used.emplace(dev, dpath);
                    if (!fresh)
                        val.error(dpath + ".id", chains->items()[i].find("devices")->items()[j].find("id")->where(),
                                  "device \"" + dev + "\" is already used by " + it->second + " (a device mines one chain)");
                }
                s.chains.push_back(std::move(c));
            }
        }
        // The P2P header store is data_dir/headers-<network>.dat: two chains of one network
        // with P2P would both write it.
        std::map<network, std::size_t> p2p_chain_of;
        for (std::size_t i = 0; i < s.chains.size(); ++i) {
            const chain_settings& c = s.chains[i];
            const bool p2p = !c.p2p_peers.empty() ||
                             std::any_of(c.nodes.begin(), c.nodes.end(), [](const node_settings& n) { return n.p2p.has_value(); });
            if (!p2p) continue;
            auto [it, fresh] = p2p_chain_of.emplace(c.net, i);
            if (!fresh)
                val.error("chains[" + std::to_string(i) + "]", chains_at(root, i),
                          "chains[" + std::to_string(it->second) + "] is on " + std::string(params(c.net).name) +
                              " with P2P too, and both would write " + "data_dir/headers-" +
                              std::string(params(c.net).name) +
                              ".dat: give P2P to one of them, or run two bridges with their own data_dir");
        }
        // No two listeners (every chain's Stratum ports and the dashboard) may overlap:
        // the second could not listen, and the bridge would not start.
        std::vector<std::pair<endpoint, std::string>> used;
        auto claim = [&](const endpoint& ep, const std::string& path, const location& at) {
            for (const auto& [other, other_path] : used)
                if (listeners_overlap(ep, other)) {
                    if (ep.host == other.host)
                        val.error(path, at, ep.to_string() + " is already used by " + other_path);
                    else
                        val.error(path, at,
                                  ep.to_string() + " overlaps " + other_path + " (" + other.to_string() +
                                      "): both take port " + std::to_string(ep.port) +
                                      " on one address (0.0.0.0 takes it on every IPv4 address, :: on every "
                                      "address), so only one could listen; give them different ports");
                    return;
                }
            used.emplace_back(ep, path);
        };
        if (s.http.enabled) claim(s.http.listen, "http.listen", root.find("http") ? root.find("http")->where() : root.where());
        // Where chains[i].stratum[j].listen was written (the document when not found).
        auto listen_at = [&](std::size_t i, std::size_t j) {
            const json_value* chains = root.find("chains");
            if (chains == nullptr || i >= chains->items().size()) return root.where();
            const json_value* st = chains->items()[i].find("stratum");
            if (st == nullptr || j >= st->items().size()) return root.where();
            const json_value* l = st->items()[j].find("listen");
            return l != nullptr ? l->where() : root.where();
        };
        for (std::size_t i = 0; i < s.chains.size(); ++i)
            for (std::size_t j = 0; j < s.chains[i].stratum.size(); ++j)
                if (s.chains[i].stratum[j].listen.port != 0)
                    claim(s.chains[i].stratum[j].listen,
                          "chains[" + std::to_string(i) + "].stratum[" + std::to_string(j) + "].listen", listen_at(i, j));
    }
    load_result r;
    if (val.errors.empty()) r.value = std::move(s);
    std::stable_sort(val.errors.begin(), val.errors.end(), [](const config_error& a, const config_error& b) {
        return std::tie(a.at.line, a.at.column) < std::tie(b.at.line, b.at.column);
    });
    r.errors = std::move(val.errors);
    return r;
}

}  // namespace

load_result load_text(std::string_view text, std::string_view source, const std::vector<override_value>& overrides) {
    auto parsed = parse_json(text, source);
    if (auto* e = std::get_if<json_parse_error>(&parsed)) {
        load_result r;
        r.errors.push_back({"", e->at, e->message});
        return r;
    }
    json_value root = std::move(std::get<json_value>(parsed));
    for (const auto& o : overrides) apply_override(root, o);
    return validate(root);
}

load_result load_file(const std::string& path, const std::vector<override_value>& overrides) {
    load_result r;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        r.errors.push_back({"", {path, 0, 0}, "cannot open the file"});
        return r;
    }
    std::string text;
    text.resize(max_config_bytes + 1);
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_config_bytes) {
        r.errors.push_back({"", {path, 0, 0}, "file is larger than " + std::to_string(max_config_bytes) + " bytes"});
        return r;
    }
    return load_text(text, path, overrides);
}

}  // namespace sb::config
