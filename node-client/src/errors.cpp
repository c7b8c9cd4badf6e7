#include "sb/node/errors.hpp"

namespace sb::node {
namespace {

class node_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "sb.node"; }
    std::string message(int ev) const override {
        switch (static_cast<node_errc>(ev)) {
        case node_errc::ok: return "ok";
        case node_errc::bad_url: return "RPC URL is not http://host[:port][/path]";
        case node_errc::connect_failed: return "cannot connect to the node";
        case node_errc::connection_lost: return "connection to the node lost before a complete reply";
        case node_errc::timeout: return "node did not reply in time";
        case node_errc::unauthorized: return "node refused the RPC credentials";
        case node_errc::http_status: return "node answered with an HTTP error status";
        case node_errc::bad_http: return "node reply is not valid HTTP";
        case node_errc::body_too_large: return "node reply is larger than allowed";
        case node_errc::bad_json: return "node reply is not valid JSON";
        case node_errc::bad_reply: return "node reply is not a JSON-RPC reply of the expected shape";
        case node_errc::rpc_error: return "node returned a JSON-RPC error";
        case node_errc::queue_full: return "too many RPC calls waiting";
        case node_errc::cancelled: return "RPC call cancelled";
        }
        return "unknown node error";
    }
};

}  // namespace

const std::error_category& node_category() noexcept {
    static const node_category_impl cat;
    return cat;
}

}  // namespace sb::node
