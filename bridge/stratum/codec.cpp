#include "stratum/codec.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace sb::bridge::stratum {

namespace {

class codec_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "stratum-codec"; }
    std::string message(int ev) const override {
        switch (static_cast<codec_errc>(ev)) {
            case codec_errc::ok: return "ok";
            case codec_errc::line_too_long: return "line longer than the Stratum line limit";
            case codec_errc::not_json: return "line is not JSON";
            case codec_errc::not_object: return "line is not a JSON object";
            case codec_errc::bad_id: return "id is not an integer, a string or null";
            case codec_errc::bad_method: return "method is not a string";
            case codec_errc::bad_params: return "params is not an array or object";
            case codec_errc::too_deep: return "JSON nested too deep";
        }
        return "unknown stratum codec error";
    }
};

bool is_blank(std::string_view s) noexcept {
    for (char c : s)
        if (c != ' ' && c != '\t' && c != '\r') return false;
    return true;
}

// The deepest array/object nesting of a would-be JSON text, brackets inside strings
// skipped. Never below what a parser would reach on the same bytes.
std::size_t json_depth(std::string_view s) noexcept {
    std::size_t depth = 0, deepest = 0;
    bool in_string = false, escaped = false;
    for (char c : s) {
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            deepest = std::max(deepest, ++depth);
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return deepest;
}

using writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write_id(writer& w, const json_id& id) {
    switch (id.type) {
        case json_id::kind::null: w.Null(); break;
        case json_id::kind::integer: w.Int64(id.integer); break;
        case json_id::kind::string: w.String(id.text.data(), static_cast<rapidjson::SizeType>(id.text.size())); break;
    }
}

void write_str(writer& w, std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }

void write_number(writer& w, double d) {
    // Integral values print as integers ("1024", not "1024.0"); fractions as doubles.
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15)
        w.Int64(static_cast<std::int64_t>(d));
    else
        w.Double(std::isfinite(d) ? d : 0.0);
}

std::string finish(rapidjson::StringBuffer& sb) {
    std::string out(sb.GetString(), sb.GetSize());
    out.push_back('\n');
    return out;
}

template <class F>
std::string notification(std::string_view method, F&& write_params) {
    rapidjson::StringBuffer sb;
    writer w(sb);
    w.StartObject();
    w.Key("id");
    w.Null();
    w.Key("method");
    write_str(w, method);
    w.Key("params");
    w.StartArray();
    write_params(w);
    w.EndArray();
    w.EndObject();
    return finish(sb);
}

template <class F>
std::string reply(const json_id& id, F&& write_result) {
    rapidjson::StringBuffer sb;
    writer w(sb);
    w.StartObject();
    w.Key("id");
    write_id(w, id);
    w.Key("result");
    write_result(w);
    w.Key("error");
    w.Null();
    w.EndObject();
    return finish(sb);
}

}  // namespace

const std::error_category& codec_category() noexcept {
    static const codec_category_impl c;
    return c;
}

first_bytes classify_first_bytes(std::string_view head) noexcept {
    if (head.empty()) return first_bytes::undecided;
    if (static_cast<unsigned char>(head[0]) != tls_record_handshake) return first_bytes::other;
    if (head.size() < 2) return first_bytes::undecided;
    if (static_cast<unsigned char>(head[1]) != 0x03) return first_bytes::other;
    if (head.size() < 3) return first_bytes::undecided;
    return (static_cast<unsigned char>(head[2]) & 0xf0) == 0 ? first_bytes::tls_handshake : first_bytes::other;
}

bool starts_plain_stratum(unsigned char first) noexcept {
    return first == '{' || first == '\n' || first == '\r' || first == ' ' || first == '\t';
}

std::error_code line_reader::feed(std::string_view data) {
    if (failed_) return codec_errc::line_too_long;
    // Compact before growing so a long-lived connection never accumulates consumed bytes.
    if (start_ > 0 && start_ == buffer_.size()) {
        buffer_.clear();
        start_ = 0;
    } else if (start_ > max_line_ + 2) {
        buffer_.erase(0, start_);
        start_ = 0;
    }
    buffer_.append(data);
    // Every complete line must be within the cap, and so must the unterminated tail.
    std::size_t from = start_ + scan_;
    std::size_t line_start = start_;
    while (true) {
        const std::size_t nl = buffer_.find('\n', from);
        if (nl == std::string::npos) break;
        std::size_t len = nl - line_start;
        if (len > 0 && buffer_[nl - 1] == '\r') --len;
        if (len > max_line_) {
            failed_ = true;
            return codec_errc::line_too_long;
        }
        line_start = nl + 1;
        from = nl + 1;
    }
    std::size_t tail = buffer_.size() - line_start;
    // A trailing '\r' may still be followed by '\n'; it does not count against the cap.
    if (tail > 0 && buffer_.back() == '\r') --tail;
    if (tail > max_line_) {
        failed_ = true;
        return codec_errc::line_too_long;
    }
    return {};
}

void line_reader::release() noexcept {
    if (pending_bytes() != 0) return;
    std::string().swap(buffer_);
    start_ = 0;
    scan_ = 0;
}

std::optional<std::string> line_reader::next_line() {
    if (auto line = next_line_view()) return std::string(*line);
    return std::nullopt;
}

std::optional<std::string_view> line_reader::next_line_view() {
    while (!failed_) {
        const std::size_t nl = buffer_.find('\n', start_ + scan_);
        if (nl == std::string::npos) {
            scan_ = buffer_.size() - start_;
            return std::nullopt;
        }
        std::string_view line(buffer_.data() + start_, nl - start_);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        start_ = nl + 1;
        scan_ = 0;
        ++lines_consumed_;
        if (is_blank(line)) continue;
        return line;
    }
    return std::nullopt;
}

result<message> parse_line(std::string_view line) {
    if (line.size() > max_line_bytes) return codec_errc::line_too_long;
    // rapidjson reads a NUL as the end of the input: "{...}\0garbage" would pass.
    if (line.find('\0') != std::string_view::npos) return codec_errc::not_json;
    if (json_depth(line) > max_json_depth) return codec_errc::too_deep;
    message m;
    // Trailing bytes after the object are an error (no kParseStopWhenDoneFlag); strings
    // must be valid UTF-8 (RFC 8259).
    m.doc.Parse<rapidjson::kParseValidateEncodingFlag>(line.data(), line.size());
    if (m.doc.HasParseError()) return codec_errc::not_json;
    if (!m.doc.IsObject()) return codec_errc::not_object;

    if (auto it = m.doc.FindMember("id"); it != m.doc.MemberEnd()) {
        const auto& v = it->value;
        if (v.IsNull()) {
            m.id.type = json_id::kind::null;
        } else if (v.IsInt64()) {
            m.id.type = json_id::kind::integer;
            m.id.integer = v.GetInt64();
        } else if (v.IsString()) {
            m.id.type = json_id::kind::string;
            m.id.text.assign(v.GetString(), v.GetStringLength());
        } else {
            return codec_errc::bad_id;
        }
    }
    if (auto it = m.doc.FindMember("method"); it != m.doc.MemberEnd()) {
        if (!it->value.IsString()) return codec_errc::bad_method;
        m.method.assign(it->value.GetString(), it->value.GetStringLength());
        if (m.method.empty()) return codec_errc::bad_method;
    }
    if (auto it = m.doc.FindMember("params"); it != m.doc.MemberEnd()) {
        const auto& v = it->value;
        if (!v.IsArray() && !v.IsObject() && !v.IsNull()) {
            // mining.suggest_difficulty is sometimes sent with a bare number; keep it.
            if (!v.IsNumber()) return codec_errc::bad_params;
        }
        if (!v.IsNull()) m.params = &v;
    }
    return m;
}

std::size_t param_count(const message& m) noexcept {
    return m.params != nullptr && m.params->IsArray() ? m.params->Size() : 0;
}

const rapidjson::Value* param(const message& m, std::size_t i) noexcept {
    if (m.params == nullptr || !m.params->IsArray() || i >= m.params->Size()) return nullptr;
    return &(*m.params)[static_cast<rapidjson::SizeType>(i)];
}

std::string reply_bool(const json_id& id, bool value) {
    return reply(id, [&](writer& w) { w.Bool(value); });
}

std::string reply_error(const json_id& id, int code, std::string_view message_text, bool reject_reason) {
    rapidjson::StringBuffer sb;
    writer w(sb);
    w.StartObject();
    w.Key("id");
    write_id(w, id);
    w.Key("result");
    if (reject_reason)
        w.Bool(false);
    else
        w.Null();
    w.Key("error");
    w.StartArray();
    w.Int(code);
    write_str(w, message_text);
    w.Null();
    w.EndArray();
    if (reject_reason) {
        w.Key("reject-reason");
        write_str(w, message_text);
    }
    w.EndObject();
    return finish(sb);
}

std::string reply_subscribe(const json_id& id, std::string_view subscription_id, std::string_view extranonce1_hex,
                            unsigned extranonce2_size) {
    return reply(id, [&](writer& w) {
        w.StartArray();
        w.StartArray();
        for (const char* name : {"mining.set_difficulty", "mining.notify"}) {
            w.StartArray();
            w.String(name);
            write_str(w, subscription_id);
            w.EndArray();
        }
        w.EndArray();
        write_str(w, extranonce1_hex);
        w.Uint(extranonce2_size);
        w.EndArray();
    });
}

std::string reply_configure(const json_id& id, const std::vector<configure_entry>& entries) {
    return reply(id, [&](writer& w) {
        w.StartObject();
        for (const auto& e : entries) {
            write_str(w, e.key);
            if (e.flag)
                w.Bool(*e.flag);
            else
                write_str(w, e.text);
        }
        w.EndObject();
    });
}

std::string notify_set_difficulty(double difficulty) {
    return notification("mining.set_difficulty", [&](writer& w) { write_number(w, difficulty); });
}

std::string notify_job(const notify_params& n) {
    return notification("mining.notify", [&](writer& w) {
        write_str(w, n.job_id);
        write_str(w, n.prevhash);
        write_str(w, n.coinb1);
        write_str(w, n.coinb2);
        w.StartArray();
        for (const auto& b : n.merkle_branch) write_str(w, b);
        w.EndArray();
        write_str(w, n.version);
        write_str(w, n.nbits);
        write_str(w, n.ntime);
        w.Bool(n.clean_jobs);
    });
}

std::string notify_set_version_mask(std::uint32_t mask) {
    return notification("mining.set_version_mask", [&](writer& w) { write_str(w, u32_to_stratum_hex(mask)); });
}

std::string notify_reconnect(std::string_view host, std::uint16_t port, unsigned wait_s) {
    return notification("client.reconnect", [&](writer& w) {
        write_str(w, host);
        w.Uint(port);
        w.Uint(wait_s);
    });
}

std::string notify_show_message(std::string_view text) {
    return notification("client.show_message", [&](writer& w) { write_str(w, text); });
}

std::string server_request(std::uint64_t id, std::string_view method) {
    rapidjson::StringBuffer sb;
    writer w(sb);
    w.StartObject();
    w.Key("id");
    w.Uint64(id);
    w.Key("method");
    write_str(w, method);
    w.Key("params");
    w.StartArray();
    w.EndArray();
    w.EndObject();
    return finish(sb);
}

std::string reply_kawpow_subscribe(const json_id& id, std::string_view nonce_prefix_hex) {
    return reply(id, [&](writer& w) {
        w.StartArray();
        w.Null();
        write_str(w, nonce_prefix_hex);
        w.EndArray();
    });
}

std::string notify_set_target(std::string_view target_hex) {
    return notification("mining.set_target", [&](writer& w) { write_str(w, target_hex); });
}

std::string notify_kawpow_job(const kawpow_notify_params& n) {
    return notification("mining.notify", [&](writer& w) {
        write_str(w, n.job_id);
        write_str(w, n.header_hash);
        write_str(w, n.seed_hash);
        write_str(w, n.target);
        w.Bool(n.clean_jobs);
        w.Uint(n.height);
        write_str(w, n.nbits);
    });
}

}  // namespace sb::bridge::stratum
