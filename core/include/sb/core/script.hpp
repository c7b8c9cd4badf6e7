// Small script builders for the coinbase: data pushes, script numbers and the BIP34
// height push, byte for byte as Bitcoin Core's CScript operator<< writes them.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace sb {

// Opcodes the bridge writes (values from Core's script.h).
enum class opcode : std::uint8_t {
    op_0 = 0x00,
    op_pushdata1 = 0x4c,
    op_pushdata2 = 0x4d,
    op_pushdata4 = 0x4e,
    op_1negate = 0x4f,
    op_1 = 0x51,
    op_16 = 0x60,
    op_return = 0x6a,
    op_dup = 0x76,
    op_equal = 0x87,
    op_equalverify = 0x88,
    op_hash160 = 0xa9,
    op_checksig = 0xac,
};

// Largest data push a script can express (PUSHDATA4 length field).
inline constexpr std::uint64_t max_push_bytes = 0xffffffffu;

// CScriptNum serialisation of n: little-endian magnitude in as few bytes as possible,
// sign in the top bit of the last byte (an extra 0x00/0x80 byte when the magnitude's
// top bit is taken). 0 serialises to no bytes.
std::vector<std::uint8_t> script_num_serialize(std::int64_t n);

// Appends a push of data with the shortest length prefix, as CScript << vector does:
// size 0 → OP_0; 1..75 → one size byte; ≤ 0xff → OP_PUSHDATA1; ≤ 0xffff →
// OP_PUSHDATA2; otherwise OP_PUSHDATA4 (little-endian lengths). Single bytes are pushed
// as data, never turned into OP_1..OP_16. data.size() must not exceed max_push_bytes.
void append_push_data(std::vector<std::uint8_t>& script, std::span<const std::uint8_t> data);
// The push alone.
std::vector<std::uint8_t> push_data(std::span<const std::uint8_t> data);

// Appends n as CScript << int64 does (push_int64): 0 → OP_0, -1 → OP_1NEGATE,
// 1..16 → OP_1..OP_16, anything else → push of script_num_serialize(n).
void append_script_int(std::vector<std::uint8_t>& script, std::int64_t n);

// The BIP34 height push that starts a coinbase scriptSig: the bytes of
// CScript() << height (0 → 00, 1..16 → 51..60, 17 → 01 11, 413567 → 03 7f4f06).
// height is a block height (≥ 0).
std::vector<std::uint8_t> bip34_height_push(std::int64_t height);

}  // namespace sb
