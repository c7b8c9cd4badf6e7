// Fuzz target: WebSocket frames from a dashboard (bridge/web), read by Beast's server-side
// stream with the dashboard's settings (messages of at most max_ws_message_bytes) after a
// valid upgrade: whatever the frames hold, the read ends in a message or an error, never a
// crash or unbounded buffering.
#include <cstdint>
#include <cstdlib>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include "web/server.hpp"

namespace beast = boost::beast;
namespace websocket = beast::websocket;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    boost::asio::io_context io;
    beast::test::stream client(io), server_side(io);
    client.connect(server_side);
    client.append(
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    websocket::stream<beast::test::stream&> ws(client);
    ws.read_message_max(sb::bridge::web::max_ws_message_bytes);
    beast::error_code ec;
    ws.accept(ec);
    if (ec) std::abort();  // the upgrade above is fixed and valid: a failure means the target tests nothing
    client.append(std::string_view(reinterpret_cast<const char*>(data), size));
    client.close_remote();  // the end of input is the end of the connection
    beast::flat_buffer buf;
    for (int i = 0; i < 64 && !ec; ++i) {
        buf.clear();
        ws.read(buf, ec);
        if (buf.size() > sb::bridge::web::max_ws_message_bytes) std::abort();
    }
    return 0;
}
