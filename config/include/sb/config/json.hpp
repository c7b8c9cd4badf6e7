// A JSON document that remembers where each value came from (line and column in the
// file, or the name of an override), so that configuration errors can point at the
// offending text. Comments (/* */ and //) and trailing commas are accepted.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace sb::config {

// Where a value was written: a 1-based line and column in source, or (line 0) an
// override such as "environment SB_NODE_RPC_URL".
struct location {
    std::string source;
    int line = 0;
    int column = 0;
    std::string to_string() const;
};

class json_value {
public:
    enum class kind { null, boolean, number, string, array, object };
    using member = std::pair<std::string, json_value>;

    json_value() = default;
    static json_value make_null(location at);
    static json_value make_bool(bool v, location at);
    static json_value make_number(double v, bool is_integer, std::int64_t i, location at);
    static json_value make_string(std::string v, location at);
    static json_value make_array(location at);
    static json_value make_object(location at);

    kind type() const noexcept { return kind_; }
    const location& where() const noexcept { return at_; }
    // Location of the key that introduced this value in its object (equal to where()
    // for array elements and the root).
    const location& key_where() const noexcept { return key_at_; }

    bool as_bool() const noexcept { return bool_; }
    double as_double() const noexcept { return number_; }
    // True when the number was written without fraction or exponent and fits int64.
    bool is_integer() const noexcept { return is_integer_; }
    std::int64_t as_int() const noexcept { return int_; }
    const std::string& as_string() const noexcept { return string_; }
    const std::vector<json_value>& items() const noexcept { return items_; }
    std::vector<json_value>& items() noexcept { return items_; }
    const std::vector<member>& members() const noexcept { return members_; }
    std::vector<member>& members() noexcept { return members_; }

    // Object member by key, or nullptr.
    const json_value* find(std::string_view key) const noexcept;
    json_value* find(std::string_view key) noexcept;
    // Sets (replacing or appending) an object member.
    json_value& set(std::string key, json_value v, location key_at);

    // "null", "a boolean", "a number", "a string", "an array", "an object".
    static const char* describe(kind k) noexcept;

private:
    kind kind_ = kind::null;
    location at_;
    location key_at_;
    bool bool_ = false;
    bool is_integer_ = false;
    double number_ = 0;
    std::int64_t int_ = 0;
    std::string string_;
    std::vector<json_value> items_;
    std::vector<member> members_;

    friend class json_builder;
};

// Limits on configuration text, so that a hostile or broken file cannot exhaust memory.
inline constexpr std::size_t max_config_bytes = 1u << 20;
inline constexpr int max_config_depth = 32;

struct json_parse_error {
    location at;
    std::string message;
};

// Parses text (the contents of source). On error, returns the position and reason.
// Duplicate keys in one object are an error (the second one would silently win).
std::variant<json_value, json_parse_error> parse_json(std::string_view text, std::string_view source);

}  // namespace sb::config
