// Fuzz target: what the dashboard does with a request from the network (bridge/web): the
// HTTP parser with the server's limits (head 8 KiB, no body), then the target split and
// percent-decoded, the query read as a worker query, and a page of workers written from a
// small snapshot. Nothing may crash, throw or grow without bound.
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "stats/snapshot.hpp"
#include "web/serialize.hpp"
#include "web/server.hpp"

namespace http = boost::beast::http;
using namespace sb::bridge;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    // The target alone, as any string.
    if (auto t = web::parse_target(bytes)) {
        web::worker_query q;
        (void)web::parse_worker_query(t->params, q);
    }
    http::request_parser<http::empty_body> parser;
    parser.header_limit(web::max_request_bytes);
    parser.body_limit(0);
    boost::beast::error_code ec;
    std::size_t used = 0;
    while (used < size && !ec && !parser.is_done()) {
        const std::size_t n = parser.put(boost::asio::buffer(data + used, size - used), ec);
        if (n == 0) break;
        used += n;
    }
    if (ec || !parser.is_header_done()) return 0;
    const auto& req = parser.get();
    auto t = web::parse_target(std::string_view(req.target().data(), req.target().size()));
    if (!t) return 0;
    web::worker_query q;
    if (!web::parse_worker_query(t->params, q).empty()) return 0;
    stats::snapshot s;
    for (int i = 0; i < 3; ++i) {
        stats::worker_view w;
        w.chain = "regtest";
        w.name = t->path.substr(0, 128) + std::to_string(i);
        s.workers.push_back(w);
    }
    (void)web::workers_json(s, q);
    return 0;
}
