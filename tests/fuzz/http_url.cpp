// Fuzz target: the node URL of the configuration ("http://host[:port][/path]") as the RPC
// client splits it. An accepted URL must give a non-empty host, a port in 1..65535 and a
// target starting with '/', and the URL rebuilt from those parts must split the same way.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sb/node/rpc_client.hpp"

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view url(reinterpret_cast<const char*>(data), size);
    const auto u = sb::node::parse_http_url(url);
    if (!u) return 0;
    check(!u->host.empty() && u->port != 0 && !u->target.empty() && u->target.front() == '/');
    check(u->host.find('@') == std::string::npos && u->host.find('/') == std::string::npos);
    // A host with a ':' or a leading '[' can only have come in brackets (IPv6, or junk
    // such as "[[]" that the resolver refuses later), and then holds no ']'.
    const bool bracketed = u->host.find(':') != std::string::npos || u->host.front() == '[';
    check(!bracketed || u->host.find(']') == std::string::npos);
    const std::string host = bracketed ? "[" + u->host + "]" : u->host;
    const auto again = sb::node::parse_http_url("http://" + host + ":" + std::to_string(u->port) + u->target);
    check(again && again->host == u->host && again->port == u->port && again->target == u->target);
    return 0;
}
