#include "sb/node/rpc_reply.hpp"

#include <optional>

#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "sb/node/internal/json.hpp"
#include "sb/node/limits.hpp"

namespace sb::node {
namespace {

// The reply text and the document parsed in place from it: the document's strings point
// into text, so both live and die together.
struct parsed_body {
    std::string text;
    rapidjson::Document doc;
};

const rapidjson::Value& null_value() noexcept {
    static const rapidjson::Value v;
    return v;
}

// Parses body in place. Iterative parsing: a hostile "[[[[…" cannot exhaust the stack.
rpc_result<std::shared_ptr<parsed_body>> parse_json(std::string body) {
    using out = rpc_result<std::shared_ptr<parsed_body>>;
    // A raw NUL is never valid JSON, and in-place parsing would stop at it.
    if (body.find('\0') != std::string::npos)
        return out::failure(node_errc::bad_json, "reply contains a NUL byte");
    auto p = std::make_shared<parsed_body>();
    p->text = std::move(body);
    p->doc.ParseInsitu<rapidjson::kParseIterativeFlag>(p->text.data());
    if (p->doc.HasParseError()) {
        return out::failure(node_errc::bad_json,
                            std::string(rapidjson::GetParseError_En(p->doc.GetParseError())) +
                                " at offset " + std::to_string(p->doc.GetErrorOffset()));
    }
    out r;
    r.value = std::move(p);
    return r;
}

bool is_2xx(unsigned status) noexcept { return status >= 200 && status < 300; }

std::string status_text(unsigned status) { return "HTTP status " + std::to_string(status); }

// The reply in one envelope object. expected_id: the id it must carry (nullopt: any
// numeric id, used by batches which match ids themselves).
rpc_reply parse_envelope(const std::shared_ptr<parsed_body>& owner, const rapidjson::Value& v,
                         std::optional<std::uint64_t> expected_id) {
    if (!v.IsObject()) return rpc_reply::failure(node_errc::bad_reply, "reply is not a JSON object");
    const auto err = v.FindMember("error");
    const bool has_error = err != v.MemberEnd() && !err->value.IsNull();

    const auto id = v.FindMember("id");
    const bool null_id = id == v.MemberEnd() || id->value.IsNull();
    if (null_id && !has_error) return rpc_reply::failure(node_errc::bad_reply, "reply has no id");
    if (!null_id && expected_id &&
        !(id->value.IsUint64() && id->value.GetUint64() == *expected_id))
        return rpc_reply::failure(node_errc::bad_reply, "reply id does not match the request");

    if (has_error) {
        const auto& e = err->value;
        if (!e.IsObject()) return rpc_reply::failure(node_errc::bad_reply, "\"error\" is not an object");
        const auto code = e.FindMember("code");
        if (code == e.MemberEnd() || !code->value.IsInt())
            return rpc_reply::failure(node_errc::bad_reply, "\"error\" has no integer code");
        const auto msg = e.FindMember("message");
        std::string text;
        if (msg != e.MemberEnd() && msg->value.IsString())
            text = sanitize_node_text({msg->value.GetString(), msg->value.GetStringLength()});
        return rpc_reply::failure(node_errc::rpc_error, std::move(text), code->value.GetInt());
    }
    const auto result = v.FindMember("result");
    if (result == v.MemberEnd())
        return rpc_reply::failure(node_errc::bad_reply, "reply has neither result nor error");
    rpc_reply r;
    r.value = rpc_value_access::make(owner, result->value);
    return r;
}

}  // namespace

rpc_value rpc_value_access::make(std::shared_ptr<const void> owner, const rapidjson::Value& value) noexcept {
    rpc_value v;
    v.value_ = std::shared_ptr<const void>(std::move(owner), &value);
    return v;
}

const rapidjson::Value& rpc_value_access::json(const rpc_value& v) noexcept {
    return v.value_ ? *static_cast<const rapidjson::Value*>(v.value_.get()) : null_value();
}

std::string rpc_error::to_string() const {
    std::string s = code.message();
    if (code == node_errc::rpc_error) {
        s += ": " + std::to_string(rpc_code);
        if (!message.empty()) s += " " + message;
    } else if (!message.empty()) {
        s += ": " + message;
    }
    return s;
}

std::string json_quote(std::string_view text) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
    return {buf.GetString(), buf.GetSize()};
}

std::string request_head(std::string_view method, std::uint64_t id) {
    std::string s;
    s.reserve(64 + method.size());
    s += R"({"jsonrpc":"1.0","id":)";
    s += std::to_string(id);
    s += R"(,"method":)";
    s += json_quote(method);
    s += R"(,"params":)";
    return s;
}

std::string make_request_body(const rpc_request& request, std::uint64_t id) {
    std::string s = request_head(request.method, id);
    s.reserve(s.size() + request.params_json.size() + 1);
    s += request.params_json.empty() ? std::string("[]") : request.params_json;
    s += '}';
    return s;
}

std::string make_batch_body(std::span<const rpc_request> requests, std::uint64_t first_id) {
    std::string s = "[";
    for (std::size_t i = 0; i < requests.size(); ++i) {
        if (i != 0) s += ',';
        s += make_request_body(requests[i], first_id + i);
    }
    s += ']';
    return s;
}

std::string sanitize_node_text(std::string_view text) {
    std::string s(text.substr(0, max_node_text_bytes));
    for (char& c : s)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    return s;
}

rpc_reply parse_reply(unsigned http_status, std::string body, std::uint64_t id) {
    if (http_status == 401 || http_status == 403)
        return rpc_reply::failure(node_errc::unauthorized, status_text(http_status));
    auto parsed = parse_json(std::move(body));
    if (!parsed) {
        if (!is_2xx(http_status)) return rpc_reply::failure(node_errc::http_status, status_text(http_status));
        return rpc_reply::failure(parsed.error.code, std::move(parsed.error.message));
    }
    auto r = parse_envelope(parsed.value, parsed.value->doc, id);
    if (!is_2xx(http_status) && r.error.code != node_errc::rpc_error)
        return rpc_reply::failure(node_errc::http_status, status_text(http_status));
    return r;
}

batch_reply parse_batch_reply(unsigned http_status, std::string body, std::uint64_t first_id,
                              std::size_t count) {
    if (http_status == 401 || http_status == 403)
        return batch_reply::failure(node_errc::unauthorized, status_text(http_status));
    auto parsed = parse_json(std::move(body));
    if (!parsed) {
        if (!is_2xx(http_status)) return batch_reply::failure(node_errc::http_status, status_text(http_status));
        return batch_reply::failure(parsed.error.code, std::move(parsed.error.message));
    }
    const auto& root = parsed.value->doc;
    if (!root.IsArray()) {
        // A node that could not take the batch at all answers with one error envelope.
        auto single = parse_envelope(parsed.value, root, std::nullopt);
        if (single.error.code == node_errc::rpc_error) return batch_reply::failure(
            single.error.code, std::move(single.error.message), single.error.rpc_code);
        if (!is_2xx(http_status)) return batch_reply::failure(node_errc::http_status, status_text(http_status));
        return batch_reply::failure(node_errc::bad_reply, "batch reply is not a JSON array");
    }
    if (!is_2xx(http_status)) return batch_reply::failure(node_errc::http_status, status_text(http_status));

    batch_reply out;
    out.value.resize(count);
    std::vector<bool> seen(count, false);
    for (const auto& item : root.GetArray()) {
        if (!item.IsObject()) continue;
        const auto id = item.FindMember("id");
        if (id == item.MemberEnd() || !id->value.IsUint64()) continue;
        const std::uint64_t v = id->value.GetUint64();
        if (v < first_id || v - first_id >= count) continue;
        const std::size_t slot = static_cast<std::size_t>(v - first_id);
        if (seen[slot]) continue;
        seen[slot] = true;
        out.value[slot] = parse_envelope(parsed.value, item, std::nullopt);
    }
    for (std::size_t i = 0; i < count; ++i)
        if (!seen[i]) out.value[i] = rpc_reply::failure(node_errc::bad_reply, "no reply for this call in the batch");
    return out;
}

}  // namespace sb::node
