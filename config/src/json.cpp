// Positional JSON: RapidJSON's SAX reader drives a small DOM that records, for every
// value and key, the line and column where it starts.
#include "sb/config/json.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

namespace sb::config {

std::string location::to_string() const {
    if (line <= 0) return source;
    return source + ":" + std::to_string(line) + ":" + std::to_string(column);
}

json_value json_value::make_null(location at) {
    json_value v;
    v.kind_ = kind::null;
    v.key_at_ = at;
    v.at_ = std::move(at);
    return v;
}
json_value json_value::make_bool(bool b, location at) {
    json_value v = make_null(std::move(at));
    v.kind_ = kind::boolean;
    v.bool_ = b;
    return v;
}
json_value json_value::make_number(double d, bool is_integer, std::int64_t i, location at) {
    json_value v = make_null(std::move(at));
    v.kind_ = kind::number;
    v.number_ = d;
    v.is_integer_ = is_integer;
    v.int_ = i;
    return v;
}
json_value json_value::make_string(std::string s, location at) {
    json_value v = make_null(std::move(at));
    v.kind_ = kind::string;
    v.string_ = std::move(s);
    return v;
}
json_value json_value::make_array(location at) {
    json_value v = make_null(std::move(at));
    v.kind_ = kind::array;
    return v;
}
json_value json_value::make_object(location at) {
    json_value v = make_null(std::move(at));
    v.kind_ = kind::object;
    return v;
}

const json_value* json_value::find(std::string_view key) const noexcept {
    for (const auto& m : members_)
        if (m.first == key) return &m.second;
    return nullptr;
}

json_value* json_value::find(std::string_view key) noexcept {
    for (auto& m : members_)
        if (m.first == key) return &m.second;
    return nullptr;
}

json_value& json_value::set(std::string key, json_value v, location key_at) {
    v.key_at_ = std::move(key_at);
    if (json_value* old = find(key)) {
        *old = std::move(v);
        return *old;
    }
    members_.emplace_back(std::move(key), std::move(v));
    return members_.back().second;
}

const char* json_value::describe(kind k) noexcept {
    switch (k) {
    case kind::null: return "null";
    case kind::boolean: return "a boolean";
    case kind::number: return "a number";
    case kind::string: return "a string";
    case kind::array: return "an array";
    case kind::object: return "an object";
    }
    return "?";
}

namespace {

// Input stream over the whole text; the handler reads Tell() to locate tokens.
struct text_stream {
    using Ch = char;
    const char* begin;
    const char* cur;
    const char* end;
    Ch Peek() const { return cur < end ? *cur : '\0'; }
    Ch Take() { return cur < end ? *cur++ : '\0'; }
    std::size_t Tell() const { return static_cast<std::size_t>(cur - begin); }
    Ch* PutBegin() { assert(false); return nullptr; }
    void Put(Ch) { assert(false); }
    void Flush() { assert(false); }
    std::size_t PutEnd(Ch*) { assert(false); return 0; }
};

}  // namespace

// Builds the DOM from SAX events. Each event fires just after its token; the token's
// start is found by scanning back over it.
class json_builder {
public:
    json_builder(const text_stream& in, std::string_view text, std::string_view source)
        : in_(in), text_(text), source_(source) {}

    bool Null() { return add(json_value::make_null(at(token_start_literal(4)))); }
    bool Bool(bool b) { return add(json_value::make_bool(b, at(token_start_literal(b ? 4 : 5)))); }
    bool Int(int) { return unexpected_number(); }
    bool Uint(unsigned) { return unexpected_number(); }
    bool Int64(std::int64_t) { return unexpected_number(); }
    bool Uint64(std::uint64_t) { return unexpected_number(); }
    bool Double(double) { return unexpected_number(); }
    bool RawNumber(const char* s, rapidjson::SizeType len, bool) {
        const std::string_view raw(s, len);
        const location pos = at(in_.Tell() - len);
        const bool integral = raw.find_first_of(".eE") == std::string_view::npos;
        std::int64_t i = 0;
        bool fits = false;
        if (integral) {
            auto r = std::from_chars(raw.data(), raw.data() + raw.size(), i);
            fits = r.ec == std::errc{} && r.ptr == raw.data() + raw.size();
        }
        const double d = std::strtod(std::string(raw).c_str(), nullptr);
        if (!std::isfinite(d)) return fail(pos, "number out of range");
        return add(json_value::make_number(d, integral && fits, i, pos));
    }
    bool String(const char* s, rapidjson::SizeType len, bool) {
        return add(json_value::make_string(std::string(s, len), at(token_start_string())));
    }
    bool Key(const char* s, rapidjson::SizeType len, bool) {
        pending_key_ = std::string(s, len);
        pending_key_at_ = at(token_start_string());
        json_value& obj = *stack_.back();
        if (obj.find(pending_key_) != nullptr)
            return fail(pending_key_at_, "duplicate key \"" + pending_key_ + "\"");
        return true;
    }
    bool StartObject() { return open(json_value::make_object(at(in_.Tell() - 1))); }
    bool EndObject(rapidjson::SizeType) { stack_.pop_back(); return true; }
    bool StartArray() { return open(json_value::make_array(at(in_.Tell() - 1))); }
    bool EndArray(rapidjson::SizeType) { stack_.pop_back(); return true; }

    json_value take_root() { return std::move(root_); }
    const std::optional<json_parse_error>& error() const { return error_; }

    // Line and column of a byte offset. Tokens arrive in order, so the scan resumes from
    // the previous answer; only a jump backwards rescans from the start.
    location at(std::size_t offset) const {
        offset = std::min(offset, text_.size());
        if (offset < cache_offset_) {
            cache_offset_ = 0;
            cache_line_ = 1;
            cache_column_ = 1;
        }
        for (std::size_t i = cache_offset_; i < offset; ++i) {
            if (text_[i] == '\n') {
                ++cache_line_;
                cache_column_ = 1;
            } else if ((static_cast<unsigned char>(text_[i]) & 0xc0) != 0x80) {
                ++cache_column_;  // count code points, not UTF-8 continuation bytes
            }
        }
        cache_offset_ = offset;
        return location{std::string(source_), cache_line_, cache_column_};
    }

private:
    std::size_t token_start_literal(std::size_t len) const { return in_.Tell() - len; }
    std::size_t token_start_string() const {
        // The stream is just past the closing quote; find the opening quote, which is
        // the nearest earlier quote not escaped by an odd run of backslashes.
        std::size_t i = in_.Tell() - 1;
        while (i > 0) {
            --i;
            if (text_[i] != '"') continue;
            std::size_t bs = 0;
            while (i >= bs + 1 && text_[i - bs - 1] == '\\') ++bs;
            if (bs % 2 == 0) return i;
        }
        return 0;
    }
    bool unexpected_number() { return fail(at(in_.Tell()), "internal: number not delivered raw"); }
    bool fail(location where, std::string why) {
        if (!error_) error_ = json_parse_error{std::move(where), std::move(why)};
        return false;
    }
    bool add(json_value v) {
        if (stack_.empty()) {
            root_ = std::move(v);
            return true;
        }
        json_value& parent = *stack_.back();
        if (parent.type() == json_value::kind::array) {
            parent.items_.push_back(std::move(v));
        } else {
            parent.members_.emplace_back(pending_key_, std::move(v));
            parent.members_.back().second.key_at_ = pending_key_at_;
        }
        return true;
    }
    bool open(json_value v) {
        if (static_cast<int>(stack_.size()) >= max_config_depth)
            return fail(v.where(), "nesting deeper than " + std::to_string(max_config_depth) + " levels");
        if (stack_.empty()) {
            root_ = std::move(v);
            stack_.push_back(&root_);
            return true;
        }
        json_value& parent = *stack_.back();
        json_value* child = nullptr;
        if (parent.type() == json_value::kind::array) {
            parent.items_.push_back(std::move(v));
            child = &parent.items_.back();
        } else {
            parent.members_.emplace_back(pending_key_, std::move(v));
            parent.members_.back().second.key_at_ = pending_key_at_;
            child = &parent.members_.back().second;
        }
        // Children are appended only to the innermost open container, so pointers to
        // enclosing containers stay valid while this one is filled.
        stack_.push_back(child);
        return true;
    }

    const text_stream& in_;
    std::string_view text_;
    std::string_view source_;
    json_value root_;
    std::vector<json_value*> stack_;
    std::string pending_key_;
    location pending_key_at_;
    std::optional<json_parse_error> error_;
    mutable std::size_t cache_offset_ = 0;
    mutable int cache_line_ = 1;
    mutable int cache_column_ = 1;
};

std::variant<json_value, json_parse_error> parse_json(std::string_view text, std::string_view source) {
    if (text.size() > max_config_bytes)
        return json_parse_error{{std::string(source), 0, 0},
                                "file is larger than " + std::to_string(max_config_bytes) + " bytes"};
    text_stream in{text.data(), text.data(), text.data() + text.size()};
    json_builder builder(in, text, source);
    rapidjson::Reader reader;
    constexpr unsigned flags = rapidjson::kParseCommentsFlag | rapidjson::kParseTrailingCommasFlag |
                               rapidjson::kParseNumbersAsStringsFlag | rapidjson::kParseStopWhenDoneFlag |
                               rapidjson::kParseValidateEncodingFlag;
    const rapidjson::ParseResult ok = reader.Parse<flags>(in, builder);
    if (builder.error()) return *builder.error();
    if (!ok) return json_parse_error{builder.at(ok.Offset()), rapidjson::GetParseError_En(ok.Code())};
    // Only whitespace and comments may follow the document.
    while (in.cur < in.end) {
        const char c = *in.cur;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            ++in.cur;
        } else if (c == '/' && in.cur + 1 < in.end && in.cur[1] == '/') {
            while (in.cur < in.end && *in.cur != '\n') ++in.cur;
        } else if (c == '/' && in.cur + 1 < in.end && in.cur[1] == '*') {
            const std::string_view rest(in.cur + 2, static_cast<std::size_t>(in.end - in.cur - 2));
            const auto close = rest.find("*/");
            if (close == std::string_view::npos)
                return json_parse_error{builder.at(in.Tell()), "unterminated comment"};
            in.cur += 2 + close + 2;
        } else {
            return json_parse_error{builder.at(in.Tell()), "text after the end of the document"};
        }
    }
    return builder.take_root();
}

}  // namespace sb::config
