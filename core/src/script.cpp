#include "sb/core/script.hpp"

#include <cassert>

namespace sb {

std::vector<std::uint8_t> script_num_serialize(std::int64_t n) {
    std::vector<std::uint8_t> out;
    if (n == 0) return out;
    const bool negative = n < 0;
    // Magnitude via unsigned negation: well defined for INT64_MIN too.
    std::uint64_t mag = negative ? ~static_cast<std::uint64_t>(n) + 1 : static_cast<std::uint64_t>(n);
    while (mag != 0) {
        out.push_back(static_cast<std::uint8_t>(mag));
        mag >>= 8;
    }
    if (out.back() & 0x80)
        out.push_back(negative ? 0x80 : 0x00);
    else if (negative)
        out.back() |= 0x80;
    return out;
}

void append_push_data(std::vector<std::uint8_t>& script, std::span<const std::uint8_t> data) {
    const std::uint64_t n = data.size();
    assert(n <= max_push_bytes);
    if (n < static_cast<std::uint8_t>(opcode::op_pushdata1)) {
        script.push_back(static_cast<std::uint8_t>(n));
    } else if (n <= 0xff) {
        script.push_back(static_cast<std::uint8_t>(opcode::op_pushdata1));
        script.push_back(static_cast<std::uint8_t>(n));
    } else if (n <= 0xffff) {
        script.push_back(static_cast<std::uint8_t>(opcode::op_pushdata2));
        script.push_back(static_cast<std::uint8_t>(n));
        script.push_back(static_cast<std::uint8_t>(n >> 8));
    } else {
        script.push_back(static_cast<std::uint8_t>(opcode::op_pushdata4));
        for (int i = 0; i < 4; ++i) script.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
    }
    script.insert(script.end(), data.begin(), data.end());
}

std::vector<std::uint8_t> push_data(std::span<const std::uint8_t> data) {
    std::vector<std::uint8_t> out;
    out.reserve(data.size() + 5);
    append_push_data(out, data);
    return out;
}

void append_script_int(std::vector<std::uint8_t>& script, std::int64_t n) {
    if (n == 0) {
        script.push_back(static_cast<std::uint8_t>(opcode::op_0));
    } else if (n == -1) {
        script.push_back(static_cast<std::uint8_t>(opcode::op_1negate));
    } else if (n >= 1 && n <= 16) {
        script.push_back(static_cast<std::uint8_t>(static_cast<std::uint8_t>(opcode::op_1) + (n - 1)));
    } else {
        append_push_data(script, script_num_serialize(n));
    }
}

std::vector<std::uint8_t> bip34_height_push(std::int64_t height) {
    assert(height >= 0);
    std::vector<std::uint8_t> out;
    append_script_int(out, height);
    return out;
}

}  // namespace sb
