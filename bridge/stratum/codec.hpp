// Stratum v1 framing and messages (stratum.md §0–§2): newline-delimited JSON lines in,
// typed requests out; replies and notifications serialized in the shapes SHA-256d
// firmware accepts (errors as [code,"message",null], never JSON-RPC 2.0 objects).
// Nothing here throws on input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <rapidjson/document.h>

#include "dispatch/job.hpp"
#include "sb/core/result.hpp"
#include "stratum/limits.hpp"

namespace sb::bridge::stratum {

enum class codec_errc {
    ok = 0,
    line_too_long,   // more than max_line_bytes before a newline
    not_json,        // the line does not parse as JSON (NUL bytes and invalid UTF-8 included)
    not_object,      // valid JSON but not an object
    bad_id,          // id is neither an integer, a string nor null
    bad_method,      // "method" present but not a string
    bad_params,      // "params" present but neither an array, an object nor null
    too_deep,        // arrays/objects nested deeper than max_json_depth
};

const std::error_category& codec_category() noexcept;
inline std::error_code make_error_code(codec_errc e) noexcept { return {static_cast<int>(e), codec_category()}; }

}  // namespace sb::bridge::stratum

template <>
struct std::is_error_code_enum<sb::bridge::stratum::codec_errc> : std::true_type {};

namespace sb::bridge::stratum {

// Splits a byte stream into lines. "\n" ends a line, one "\r" before it is dropped,
// lines of only spaces/tabs/CR are skipped. A line (terminator excluded) may hold up to
// max_line_bytes; once more than that is pending without a newline, the reader is in
// error for good (the caller closes the connection).
class line_reader {
public:
    explicit line_reader(std::size_t max_line = max_line_bytes) : max_line_(max_line) {}

    // Appends received bytes. Returns line_too_long when the cap is passed (also later).
    std::error_code feed(std::string_view data);
    // The next complete non-blank line, if any.
    std::optional<std::string> next_line();
    // The same without a copy: the view points into the reader's buffer and stays valid
    // until the next feed() (further next_line calls leave it valid).
    std::optional<std::string_view> next_line_view();
    bool failed() const noexcept { return failed_; }
    std::size_t pending_bytes() const noexcept { return buffer_.size() - start_; }
    // Lines (blank ones included) next_line has consumed so far: when it changes, any
    // pending bytes belong to a new line.
    std::uint64_t lines_consumed() const noexcept { return lines_consumed_; }
    // Frees the buffer when no byte is pending (an idle connection then holds none); the
    // next feed allocates again. Invalidates the views next_line_view returned.
    void release() noexcept;

private:
    std::string buffer_;
    std::size_t start_ = 0;  // first byte not yet returned
    std::size_t scan_ = 0;   // bytes from start_ known to hold no '\n'
    std::size_t max_line_;
    std::uint64_t lines_consumed_ = 0;
    bool failed_ = false;
};

// What the first bytes of a connection are. A TLS client opens with a handshake record:
// content type 0x16, then the record version 0x03 0x0X (RFC 8446 §5.1: 0x0301 or 0x0303
// in a ClientHello; SSL 3.0 wrote 0x0300). A Stratum line starts with '{' (or a blank
// line); 0x16 never starts one.
enum class first_bytes : std::uint8_t {
    undecided,      // a prefix of a TLS record header: wait for more bytes
    tls_handshake,  // 0x16 0x03 0x0X
    other,          // anything else: Stratum, or garbage for the line parser to judge
};
inline constexpr unsigned char tls_record_handshake = 0x16;
first_bytes classify_first_bytes(std::string_view head) noexcept;
// True for a byte that starts plain Stratum: '{' or the whitespace of a blank line.
bool starts_plain_stratum(unsigned char first) noexcept;

// A JSON-RPC id as the client wrote it, echoed verbatim in the reply.
struct json_id {
    enum class kind : std::uint8_t { null, integer, string };
    kind type = kind::null;
    std::int64_t integer = 0;
    std::string text;
    friend bool operator==(const json_id&, const json_id&) = default;
};

// Where a parsed line's values live: a pool whose first chunk is inline, so that a
// typical request (a submit: ~1 KiB of values) costs one allocation instead of
// rapidjson's default 64 KiB chunk. Larger lines grow the pool chunk by chunk.
inline constexpr std::size_t message_pool_inline_bytes = 2048;
struct message_pool {
    message_pool() : pool(buffer, sizeof buffer, message_pool_inline_bytes) {}
    message_pool(const message_pool&) = delete;
    message_pool& operator=(const message_pool&) = delete;
    alignas(std::max_align_t) char buffer[message_pool_inline_bytes];
    rapidjson::MemoryPoolAllocator<> pool;
};

// One inbound line, typed. A request has a method; a response (to a request the server
// sent, e.g. client.get_version) has none.
struct message {
    json_id id;
    std::string method;  // empty for a response
    std::unique_ptr<message_pool> memory = std::make_unique<message_pool>();  // before doc: outlives it
    rapidjson::Document doc{&memory->pool};  // owns params (its values live in memory)
    const rapidjson::Value* params = nullptr;  // array, object, or null when absent/null
    bool is_response() const noexcept { return method.empty(); }
};

// Parses one line (without terminator). Errors: the codec_errc values above. The line must
// be valid UTF-8 without NUL bytes, one JSON object nested at most max_json_depth deep.
result<message> parse_line(std::string_view line);

// Number of params when params is an array (0 otherwise).
std::size_t param_count(const message& m) noexcept;
// params[i] if params is an array with more than i entries.
const rapidjson::Value* param(const message& m, std::size_t i) noexcept;

// --- serialization; every function returns one line ending in "\n" ---

// {"id":ID,"result":true|false,"error":null}
std::string reply_bool(const json_id& id, bool value);
// {"id":ID,"result":null|false,"error":[code,"message",null]} plus "reject-reason":"message"
// when reject_reason (rejected mining.submit, ckpool style; ESP-Miner shows it).
std::string reply_error(const json_id& id, int code, std::string_view message_text, bool reject_reason = false);
// mining.subscribe result [[["mining.set_difficulty",sid],["mining.notify",sid]],"en1",N].
std::string reply_subscribe(const json_id& id, std::string_view subscription_id, std::string_view extranonce1_hex,
                            unsigned extranonce2_size);

// One key of a mining.configure result: a bool or a string value.
struct configure_entry {
    std::string key;
    std::optional<bool> flag;  // set for bool values
    std::string text;          // used when flag is empty
};
// {"id":ID,"result":{...entries in order...},"error":null}
std::string reply_configure(const json_id& id, const std::vector<configure_entry>& entries);

// {"id":null,"method":"mining.set_difficulty","params":[D]} (integral D written as an integer).
std::string notify_set_difficulty(double difficulty);
// {"id":null,"method":"mining.notify","params":[job,prevhash,coinb1,coinb2,[branch],version,nbits,ntime,clean]}
std::string notify_job(const notify_params& n);
// {"id":null,"method":"mining.set_version_mask","params":["1fffe000"]}
std::string notify_set_version_mask(std::uint32_t mask);
// {"id":null,"method":"client.reconnect","params":[host,port,wait_s]} (empty host = same server)
std::string notify_reconnect(std::string_view host, std::uint16_t port, unsigned wait_s);
// {"id":null,"method":"client.show_message","params":["text"]}
std::string notify_show_message(std::string_view text);
// A server→client request with an integer id (cgminer reads ids with json_integer_value),
// e.g. client.get_version: {"id":N,"method":M,"params":[]}
std::string server_request(std::uint64_t id, std::string_view method);

// --- the KAWPOW dialect (stratum.md §5) ---

// {"id":ID,"result":[null,"<nonce prefix hex>"],"error":null}
std::string reply_kawpow_subscribe(const json_id& id, std::string_view nonce_prefix_hex);
// {"id":null,"method":"mining.set_target","params":["<64 hex, big-endian>"]}
std::string notify_set_target(std::string_view target_hex);
// {"id":null,"method":"mining.notify","params":[job,header_hash,seed_hash,target,clean,height,nbits]}
// with the height a JSON integer (kawpowminer reads it with asInt64).
std::string notify_kawpow_job(const kawpow_notify_params& n);

}  // namespace sb::bridge::stratum
