// Fuzz target: an alert webhook's URL (config "alerts.webhooks[w].url") as the config
// splits it for the HTTP client (config::parse_webhook_url). A refusal must say why. An
// accepted URL must give a host of 1..253 bytes that a Host header can carry (a name of
// letters, digits, '.', '-', '_', or an IPv6 address), a non-zero port, and a
// request-target that starts with '/' and holds only printable ASCII; the URL rebuilt from
// those parts must split the same way.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sb/config/config.hpp"

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

bool host_byte(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
           c == '_' || c == ':';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view url(reinterpret_cast<const char*>(data), size);
    std::string why;
    const auto u = sb::config::parse_webhook_url(url, &why);
    if (!u) {
        check(!why.empty());
        return 0;
    }
    check(!u->host.empty() && u->host.size() <= 253 && u->port != 0);
    for (char c : u->host) check(host_byte(c));
    check(!u->target.empty() && u->target.front() == '/');
    for (char c : u->target) check(c > 0x20 && c < 0x7f && c != '#');
    // The default port follows the scheme unless one was written.
    const std::string scheme = u->tls ? "https://" : "http://";
    const bool ipv6 = u->host.find(':') != std::string::npos;
    const std::string host = ipv6 ? "[" + u->host + "]" : u->host;
    const auto again = sb::config::parse_webhook_url(scheme + host + ":" + std::to_string(u->port) + u->target);
    check(again && again->tls == u->tls && again->host == u->host && again->port == u->port &&
          again->target == u->target);
    return 0;
}
