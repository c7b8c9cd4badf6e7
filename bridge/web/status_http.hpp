// The status endpoint's HTTP exchange without a socket: the request parser as the server
// sets it up, and the response to a parsed request. status_server.cpp runs these on each
// connection; the fuzz target tests/fuzz/status_request.cpp runs them on raw bytes. A
// Beast header: include it only where Beast is compiled anyway.
#pragma once

#include <functional>
#include <string>

#include <boost/beast/http.hpp>

#include "web/status_server.hpp"

namespace sb::bridge::web {

using status_request_parser = boost::beast::http::request_parser<boost::beast::http::empty_body>;
using status_request = status_request_parser::value_type;
using status_response = boost::beast::http::response<boost::beast::http::string_body>;

// Sets the endpoint's limits on a fresh parser: a head of at most max_request_bytes, no
// body (a request announcing one fails with body_limit).
void limit_status_request(status_request_parser& parser);

// The response to one complete request: GET or HEAD of /api/status is 200 with
// status_json() (called once; empty body for HEAD, Content-Length that of GET), any other
// target 404, any other method 405 with Allow. Always Connection: close, same HTTP version
// as the request, payload prepared.
status_response make_status_response(const status_request& req, const std::function<std::string()>& status_json);

}  // namespace sb::bridge::web
