#include "dispatch/coinbase.hpp"

#include <algorithm>
#include <vector>

#include "sb/core/merkle.hpp"
#include "sb/core/script.hpp"
#include "sb/core/tx.hpp"

namespace sb::bridge {
namespace {

// Longest prefix of tag, at most limit bytes, that does not end inside a UTF-8 sequence.
std::string_view cut_tag(std::string_view tag, std::size_t limit) noexcept {
    if (tag.size() <= limit) return tag;
    std::size_t n = limit;
    // Back off while the first dropped byte is a continuation byte (10xxxxxx).
    while (n > 0 && (static_cast<unsigned char>(tag[n]) & 0xc0u) == 0x80u) --n;
    return tag.substr(0, n);
}

// Worst case of coinb1 + coinb2 under the limits above: the split never exceeds the
// 300 bytes that keep every firmware in stratum.md §0 item 7 happy.
constexpr std::size_t max_coinb1_bytes = 4 + 1 + 36 + 1 + 6 + 1;  // height push ≤ 6 bytes
constexpr std::size_t max_coinb2_bytes = (1 + max_tag_push_bytes) + 4 + 1 + (8 + 1 + max_payout_script_bytes) +
                                         (8 + 1 + 38) + 4;
static_assert(max_coinb1_bytes + max_coinb2_bytes <= 300);

}  // namespace

coinbase_spec coinbase_spec_for(const config::chain_settings& settings) noexcept {
    coinbase_spec s;
    s.payout_script = settings.payout.script_pubkey;
    s.tag = settings.coinbase_tag;
    s.extranonce1_size = default_extranonce1_bytes;
    s.extranonce2_size = settings.extranonce2_size;
    return s;
}

bytes witness_commitment_for(const node::block_template& t) {
    std::vector<hash256> leaves;
    leaves.reserve(t.transactions.size() + 1);
    leaves.push_back(hash256{});  // BIP141: the coinbase's wtxid counts as zero
    for (const node::template_tx& tx : t.transactions) leaves.push_back(tx.wtxid);
    return witness_commitment_script(merkle_root(std::move(leaves)), hash256{});
}

result<coinbase_split> build_coinbase(const node::block_template& t, const coinbase_spec& spec) {
    if (spec.payout_script.empty() || spec.payout_script.size() > max_payout_script_bytes)
        return job_errc::payout_script_invalid;
    if (spec.extranonce1_size > max_extranonce1_bytes || spec.extranonce2_size < min_extranonce2_bytes ||
        spec.extranonce2_size > max_extranonce2_bytes)
        return job_errc::extranonce_size_invalid;

    const bytes height_push = bip34_height_push(t.height);
    const std::size_t extranonce_size = spec.extranonce1_size + spec.extranonce2_size;
    // One push opcode (extranonce_size ≤ 24 < 76) plus the bytes.
    const std::size_t fixed_bytes = height_push.size() + 1 + extranonce_size;
    if (fixed_bytes > max_coinbase_script_sig_bytes) return job_errc::script_sig_too_long;

    // The tag push costs one length byte; nothing is written when no tag byte fits.
    const std::size_t room = max_coinbase_script_sig_bytes - fixed_bytes;
    std::string_view tag;
    if (room > 1) tag = cut_tag(spec.tag, std::min(room - 1, max_tag_push_bytes));
    const std::size_t script_sig_bytes = fixed_bytes + (tag.empty() ? 0 : 1 + tag.size());

    bytes commitment;
    if (t.segwit_active) {
        commitment = witness_commitment_for(t);
        // A different node commitment means our wtxids (or its) are not the block's: a
        // block built on either would be rejected (bad-witness-merkle-match).
        if (t.default_witness_commitment && *t.default_witness_commitment != commitment)
            return job_errc::witness_commitment_mismatch;
    }

    coinbase_split c;
    c.extranonce1_size = spec.extranonce1_size;
    c.extranonce2_size = spec.extranonce2_size;
    c.witness_commitment = t.segwit_active;
    c.tag_bytes = tag.size();
    c.script_sig_bytes = script_sig_bytes;

    byte_writer b1(64);
    b1.i32le(coinbase_tx_version);
    b1.compact_size(1);
    b1.raw(hash256{});
    b1.u32le(coinbase_prev_index);
    b1.compact_size(script_sig_bytes);
    b1.raw(height_push);
    b1.u8(static_cast<std::uint8_t>(extranonce_size));
    c.coinb1 = b1.take();

    byte_writer b2(160);
    if (!tag.empty()) {
        b2.u8(static_cast<std::uint8_t>(tag.size()));
        b2.raw({reinterpret_cast<const std::uint8_t*>(tag.data()), tag.size()});
    }
    b2.u32le(coinbase_sequence);
    b2.compact_size(commitment.empty() ? 1 : 2);
    b2.i64le(t.coinbase_value);
    b2.var_bytes(spec.payout_script);
    if (!commitment.empty()) {
        b2.i64le(0);
        b2.var_bytes(commitment);
    }
    b2.u32le(coinbase_lock_time);
    c.coinb2 = b2.take();
    return c;
}

bytes join_coinbase(const coinbase_split& c, byte_span extranonce1, byte_span extranonce2) {
    byte_writer out(c.coinb1.size() + extranonce1.size() + extranonce2.size() + c.coinb2.size());
    out.raw(c.coinb1);
    out.raw(extranonce1);
    out.raw(extranonce2);
    out.raw(c.coinb2);
    return out.take();
}

bytes coinbase_with_witness(byte_span legacy) {
    // legacy = version(4) ‖ inputs and outputs ‖ lock_time(4).
    if (legacy.size() < 8) return bytes(legacy.begin(), legacy.end());
    byte_writer out(legacy.size() + 2 + 2 + 32);
    out.raw(legacy.first(4));
    out.u8(0x00);  // BIP144 marker
    out.u8(0x01);  // flag
    out.raw(legacy.subspan(4, legacy.size() - 8));
    out.compact_size(1);  // one stack item: the witness reserved value
    out.var_bytes(hash256{});
    out.raw(legacy.last(4));
    return out.take();
}

}  // namespace sb::bridge
