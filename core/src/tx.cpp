#include "sb/core/tx.hpp"

#include <algorithm>

namespace sb {
namespace {

constexpr std::size_t no_marker = static_cast<std::size_t>(-1);

// Where the parts of one serialized transaction lie in the reader's buffer. The legacy
// serialization is [begin, marker) + [marker + 2, witness_begin) + [witness_end, end)
// when a marker is present, else [begin, end).
struct tx_extent {
    std::size_t begin = 0;
    std::size_t end = 0;
    std::size_t marker = no_marker;
    std::size_t witness_begin = 0;
    std::size_t witness_end = 0;
};

// A CompactSize count of items that take at least min_item_bytes each: a count the
// remaining bytes cannot hold is refused before anyone reserves memory for it.
result<std::size_t> read_count(byte_reader& in, std::size_t min_item_bytes) noexcept {
    auto n = in.compact_size();
    if (!n) return n.error();
    if (*n > in.remaining() / min_item_bytes) return core_errc::read_past_end;
    return static_cast<std::size_t>(*n);
}

std::error_code read_inputs(byte_reader& in, std::size_t n, transaction* tx) {
    if (tx) tx->inputs.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        auto prev = in.raw(32);
        if (!prev) return prev.error();
        auto index = in.u32le();
        if (!index) return index.error();
        auto script = in.var_bytes();
        if (!script) return script.error();
        auto sequence = in.u32le();
        if (!sequence) return sequence.error();
        if (tx) {
            tx_in& txin = tx->inputs[i];
            std::copy(prev->begin(), prev->end(), txin.prev_txid.begin());
            txin.prev_index = *index;
            txin.script_sig.assign(script->begin(), script->end());
            txin.sequence = *sequence;
        }
    }
    return {};
}

std::error_code read_outputs(byte_reader& in, transaction* tx) {
    auto n = read_count(in, min_tx_out_bytes);
    if (!n) return n.error();
    if (tx) tx->outputs.resize(*n);
    for (std::size_t i = 0; i < *n; ++i) {
        auto value = in.i64le();
        if (!value) return value.error();
        auto script = in.var_bytes();
        if (!script) return script.error();
        if (tx) {
            tx->outputs[i].value = *value;
            tx->outputs[i].script_pubkey.assign(script->begin(), script->end());
        }
    }
    return {};
}

// One witness stack per input (BIP144). Sets any_witness when some stack is non-empty.
std::error_code read_witnesses(byte_reader& in, std::size_t n_inputs, transaction* tx, bool& any_witness) {
    any_witness = false;
    for (std::size_t i = 0; i < n_inputs; ++i) {
        auto items = read_count(in, 1);
        if (!items) return items.error();
        if (*items != 0) any_witness = true;
        if (tx) tx->inputs[i].witness.resize(*items);
        for (std::size_t k = 0; k < *items; ++k) {
            auto item = in.var_bytes();
            if (!item) return item.error();
            if (tx) tx->inputs[i].witness[k].assign(item->begin(), item->end());
        }
    }
    return {};
}

// The one transaction parser. With tx null it only walks the bytes (no allocation) and
// fills ext; otherwise it also fills *tx, which must be default-constructed.
std::error_code read_transaction(byte_reader& in, transaction* tx, tx_extent& ext) {
    ext = tx_extent{};
    ext.begin = in.position();
    auto version = in.i32le();
    if (!version) return version.error();
    if (tx) tx->version = *version;

    auto n_in = read_count(in, min_tx_in_bytes);
    if (!n_in) return n_in.error();
    bool extended = false;
    if (*n_in == 0) {
        // BIP144: the zero "count" is the marker. Core reads flag 0 as a transaction
        // with no inputs and no outputs, and its lock_time follows at once.
        const std::size_t marker_at = in.position() - 1;
        auto flag = in.u8();
        if (!flag) return flag.error();
        if (*flag > 1) return core_errc::tx_bad_witness_flag;
        if (*flag == 1) {
            extended = true;
            ext.marker = marker_at;
            n_in = read_count(in, min_tx_in_bytes);
            if (!n_in) return n_in.error();
        }
    }
    if (*n_in != 0 || extended) {
        if (auto ec = read_inputs(in, *n_in, tx)) return ec;
        if (auto ec = read_outputs(in, tx)) return ec;
    }
    if (extended) {
        ext.witness_begin = in.position();
        bool any_witness = false;
        if (auto ec = read_witnesses(in, *n_in, tx, any_witness)) return ec;
        // Core: "Superfluous witness record"; the legacy form is the only valid one.
        if (!any_witness) return core_errc::tx_superfluous_witness;
        ext.witness_end = in.position();
    }
    auto lock_time = in.u32le();
    if (!lock_time) return lock_time.error();
    if (tx) tx->lock_time = *lock_time;
    ext.end = in.position();
    return {};
}

void write_legacy_body(byte_writer& out, const transaction& tx) {
    out.compact_size(tx.inputs.size());
    for (const tx_in& in : tx.inputs) {
        out.raw(in.prev_txid);
        out.u32le(in.prev_index);
        out.var_bytes(in.script_sig);
        out.u32le(in.sequence);
    }
    out.compact_size(tx.outputs.size());
    for (const tx_out& o : tx.outputs) {
        out.i64le(o.value);
        out.var_bytes(o.script_pubkey);
    }
}

std::size_t var_bytes_size(const bytes& b) noexcept { return compact_size_len(b.size()) + b.size(); }

}  // namespace

bool transaction::has_witness() const noexcept {
    return std::any_of(inputs.begin(), inputs.end(), [](const tx_in& in) { return !in.witness.empty(); });
}

result<transaction> parse_transaction(byte_reader& in) {
    byte_reader r = in;
    transaction tx;
    tx_extent ext;
    if (auto ec = read_transaction(r, &tx, ext)) return ec;
    in = r;
    return tx;
}

result<transaction> parse_transaction(byte_span data) {
    byte_reader r(data);
    auto tx = parse_transaction(r);
    if (tx && !r.empty()) return core_errc::tx_trailing_bytes;
    return tx;
}

std::size_t serialized_size(const transaction& tx, bool with_witness) noexcept {
    std::size_t n = 4 + compact_size_len(tx.inputs.size()) + compact_size_len(tx.outputs.size()) + 4;
    for (const tx_in& in : tx.inputs) n += 32 + 4 + var_bytes_size(in.script_sig) + 4;
    for (const tx_out& o : tx.outputs) n += 8 + var_bytes_size(o.script_pubkey);
    if (with_witness && tx.has_witness()) {
        n += 2;
        for (const tx_in& in : tx.inputs) {
            n += compact_size_len(in.witness.size());
            for (const bytes& item : in.witness) n += var_bytes_size(item);
        }
    }
    return n;
}

void serialize(byte_writer& out, const transaction& tx, bool with_witness) {
    const bool extended = with_witness && tx.has_witness();
    out.i32le(tx.version);
    if (extended) {
        out.u8(0x00);  // BIP144 marker
        out.u8(0x01);  // flag
    }
    write_legacy_body(out, tx);
    if (extended) {
        for (const tx_in& in : tx.inputs) {
            out.compact_size(in.witness.size());
            for (const bytes& item : in.witness) out.var_bytes(item);
        }
    }
    out.u32le(tx.lock_time);
}

bytes serialize(const transaction& tx, bool with_witness) {
    byte_writer out(serialized_size(tx, with_witness));
    serialize(out, tx, with_witness);
    return out.take();
}

hash256 txid(const transaction& tx) { return sha256d(serialize(tx, false)); }

hash256 wtxid(const transaction& tx) { return sha256d(serialize(tx, true)); }

result<hash256> txid_from_serialized(byte_span data) {
    byte_reader r(data);
    tx_extent ext;
    if (auto ec = read_transaction(r, nullptr, ext)) return ec;
    if (!r.empty()) return core_errc::tx_trailing_bytes;
    if (ext.marker == no_marker) return sha256d(data);
    sha256 h;
    h.write(data.subspan(ext.begin, ext.marker - ext.begin));
    h.write(data.subspan(ext.marker + 2, ext.witness_begin - ext.marker - 2));
    h.write(data.subspan(ext.witness_end, ext.end - ext.witness_end));
    return sha256_hash(h.finalize());
}

bool is_coinbase(const transaction& tx) noexcept {
    if (tx.inputs.size() != 1) return false;
    const tx_in& in = tx.inputs.front();
    return in.prev_index == coinbase_prev_index &&
           std::all_of(in.prev_txid.begin(), in.prev_txid.end(), [](std::uint8_t b) { return b == 0; });
}

}  // namespace sb
