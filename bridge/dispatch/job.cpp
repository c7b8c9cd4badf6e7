#include "dispatch/job.hpp"

#include <algorithm>
#include <utility>

#include "sb/core/hex.hpp"
#include "sb/core/merkle.hpp"
#include "sb/core/pow.hpp"
#include "sb/pow/ethash.hpp"

namespace sb::bridge {
namespace {

bool valid_job_id(std::string_view id) noexcept {
    return !id.empty() && id.size() <= max_job_id_chars &&
           std::all_of(id.begin(), id.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// Reverses the bytes inside each 4-byte word; its own inverse.
hash256 swap_words(const hash256& h) noexcept {
    hash256 out{};
    for (std::size_t w = 0; w < 32; w += 4)
        for (std::size_t i = 0; i < 4; ++i) out[w + i] = h[w + 3 - i];
    return out;
}

bool extranonces_fit(const job& j, byte_span extranonce1, byte_span extranonce2) noexcept {
    return extranonce1.size() == j.coinbase.extranonce1_size && extranonce2.size() == j.coinbase.extranonce2_size;
}

// header ‖ CompactSize(1 + template transactions) ‖ coinbase (BIP144 form with the
// reserved value when the job has a witness commitment) ‖ each transaction verbatim.
// Preconditions: j.tmpl, extranonces of the job's sizes.
bytes block_bytes(const job& j, byte_span header, byte_span extranonce1, byte_span extranonce2) {
    bytes coinbase = join_coinbase(j.coinbase, extranonce1, extranonce2);
    if (j.coinbase.witness_commitment) coinbase = coinbase_with_witness(coinbase);
    std::size_t size = header.size() + 9 + coinbase.size();
    for (const node::template_tx& tx : j.tmpl->transactions) size += tx.data.size();
    byte_writer out(size);
    out.raw(header);
    out.compact_size(1 + j.tmpl->transactions.size());
    out.raw(coinbase);
    for (const node::template_tx& tx : j.tmpl->transactions) out.raw(tx.data);
    return out.take();
}

}  // namespace

result<job> make_job(std::shared_ptr<const node::block_template> t, const job_spec& spec) {
    if (!t) return job_errc::no_template;
    if (!valid_job_id(spec.id)) return job_errc::job_id_invalid;
    auto cb = build_coinbase(*t, spec.coinbase);
    if (!cb) return cb.error();

    job j;
    j.id = spec.id;
    j.prev_block = t->prev_block;
    j.coinbase = std::move(*cb);
    std::vector<hash256> txids;
    txids.reserve(t->transactions.size());
    for (const node::template_tx& tx : t->transactions) txids.push_back(tx.txid);
    j.merkle_branch = coinbase_merkle_branch(txids);
    j.version = t->version_u32;
    j.bits = t->bits;
    // Core's curtime is never below mintime; other nodes are held to the rule here.
    j.ntime = std::max(t->curtime, t->mintime);
    j.clean = spec.clean;
    j.target = t->target;
    j.height = t->height;
    j.mintime = t->mintime;
    j.tmpl = std::move(t);
    return j;
}

notify_params to_notify(const job& j) {
    notify_params n;
    n.job_id = j.id;
    n.prevhash = prevhash_to_stratum(j.prev_block);
    n.coinb1 = to_hex(j.coinbase.coinb1);
    n.coinb2 = to_hex(j.coinbase.coinb2);
    n.merkle_branch.reserve(j.merkle_branch.size());
    for (const hash256& h : j.merkle_branch) n.merkle_branch.push_back(to_hex(h));
    n.version = u32_to_stratum_hex(j.version);
    n.nbits = u32_to_stratum_hex(j.bits);
    n.ntime = u32_to_stratum_hex(j.ntime);
    n.clean_jobs = j.clean;
    return n;
}

result<job> job_from_notify(const notify_params& n, std::size_t extranonce1_size, std::size_t extranonce2_size) {
    if (!valid_job_id(n.job_id)) return job_errc::job_id_invalid;
    if (extranonce1_size > max_extranonce1_bytes || extranonce2_size < min_extranonce2_bytes ||
        extranonce2_size > max_extranonce2_bytes)
        return job_errc::extranonce_size_invalid;
    job j;
    j.id = n.job_id;
    auto prev = prevhash_from_stratum(n.prevhash);
    auto coinb1 = from_hex(n.coinb1);
    auto coinb2 = from_hex(n.coinb2);
    auto version = u32_from_stratum_hex(n.version);
    auto bits = u32_from_stratum_hex(n.nbits);
    auto ntime = u32_from_stratum_hex(n.ntime);
    if (!prev || !coinb1 || !coinb2 || !version || !bits || !ntime) return job_errc::notify_invalid;
    const compact_target target = compact_to_target(*bits);
    if (target.negative || target.overflow || target.target.is_zero()) return job_errc::notify_invalid;
    j.merkle_branch.reserve(n.merkle_branch.size());
    for (const std::string& b : n.merkle_branch) {
        auto h = from_hex_fixed<32>(b);
        if (!h) return job_errc::notify_invalid;
        j.merkle_branch.push_back(*h);
    }
    j.prev_block = *prev;
    j.coinbase.coinb1 = std::move(*coinb1);
    j.coinbase.coinb2 = std::move(*coinb2);
    j.coinbase.extranonce1_size = extranonce1_size;
    j.coinbase.extranonce2_size = extranonce2_size;
    j.version = *version;
    j.bits = *bits;
    j.ntime = *ntime;
    j.clean = n.clean_jobs;
    j.target = target.target;
    return j;
}

std::string prevhash_to_stratum(const hash256& prev_block) { return to_hex(swap_words(prev_block)); }

result<hash256> prevhash_from_stratum(std::string_view prevhash_stratum) {
    auto h = from_hex_fixed<32>(prevhash_stratum);
    if (!h) return h.error();
    return swap_words(*h);
}

std::string u32_to_stratum_hex(std::uint32_t v) {
    std::uint8_t be[4];
    store_be32(be, v);
    return to_hex(be);
}

result<std::uint32_t> u32_from_stratum_hex(std::string_view hex) {
    auto b = from_hex_fixed<4>(hex);
    if (!b) return b.error();
    return load_be32(b->data());
}

hash256 coinbase_txid(const job& j, byte_span extranonce1, byte_span extranonce2) noexcept {
    // Hashed in place: no coinbase copy on the share path.
    sha256 h;
    h.write(j.coinbase.coinb1).write(extranonce1).write(extranonce2).write(j.coinbase.coinb2);
    const hash256 once = h.finalize();
    return sha256_hash(once);
}

result<block_header> rebuild_header(const job& j, byte_span extranonce1, byte_span extranonce2,
                                    std::uint32_t ntime, std::uint32_t nonce, std::uint32_t version) {
    if (!extranonces_fit(j, extranonce1, extranonce2)) return job_errc::extranonce_size_mismatch;
    block_header h;
    h.version = static_cast<std::int32_t>(version);
    h.prev_block = j.prev_block;
    h.merkle_root = fold_coinbase_branch(coinbase_txid(j, extranonce1, extranonce2), j.merkle_branch);
    h.time = ntime;
    h.bits = j.bits;
    h.nonce = nonce;
    return h;
}

result<bytes> assemble_block(const job& j, byte_span extranonce1, byte_span extranonce2,
                             const block_header& header) {
    if (!j.tmpl) return job_errc::no_template;
    if (!extranonces_fit(j, extranonce1, extranonce2)) return job_errc::extranonce_size_mismatch;
    return block_bytes(j, header.serialize(), extranonce1, extranonce2);
}

// ---- KAWPOW ----------------------------------------------------------------------------

bytes kawpow_fixed_extranonce(const job& j) {
    return bytes(j.coinbase.extranonce1_size + j.coinbase.extranonce2_size, 0);
}

void set_kawpow_work(job& j) {
    const bytes en = kawpow_fixed_extranonce(j);
    const byte_span all(en);
    ravencoin::kawpow_header h;
    h.version = static_cast<std::int32_t>(j.version);
    h.prev_block = j.prev_block;
    h.merkle_root = fold_coinbase_branch(
        coinbase_txid(j, all.first(j.coinbase.extranonce1_size), all.subspan(j.coinbase.extranonce1_size)),
        j.merkle_branch);
    h.time = j.ntime;
    h.bits = j.bits;
    h.height = j.height;
    kawpow_work k;
    k.input = h.serialize_input();
    k.header_hash = ravencoin::kawpow_header_hash(k.input);
    k.epoch = pow::ethash::epoch_number(j.height);
    k.seed_hash = pow::ethash::epoch_seed(k.epoch);
    j.kawpow = k;
}

result<job> make_kawpow_job(std::shared_ptr<const node::block_template> t, const job_spec& spec) {
    auto made = make_job(std::move(t), spec);
    if (!made) return made.error();
    set_kawpow_work(*made);
    return made;
}

ravencoin::kawpow_header kawpow_header_for(const job& j, std::uint64_t nonce64, const hash256& mix_hash) {
    ravencoin::kawpow_header h;
    h.version = static_cast<std::int32_t>(j.version);
    h.prev_block = j.prev_block;
    std::copy_n(j.kawpow->input.begin() + 36, 32, h.merkle_root.begin());
    h.time = j.ntime;
    h.bits = j.bits;
    h.height = j.height;
    h.nonce64 = nonce64;
    h.mix_hash = mix_hash;
    return h;
}

result<bytes> assemble_kawpow_block(const job& j, std::uint64_t nonce64, const hash256& mix_hash) {
    if (!j.tmpl) return job_errc::no_template;
    if (!j.kawpow) return job_errc::not_kawpow;
    const bytes en = kawpow_fixed_extranonce(j);
    const byte_span all(en);
    return block_bytes(j, kawpow_header_for(j, nonce64, mix_hash).serialize(),
                       all.first(j.coinbase.extranonce1_size), all.subspan(j.coinbase.extranonce1_size));
}

kawpow_notify_params to_kawpow_notify(const job& j, const uint256& share_target) {
    kawpow_notify_params n;
    n.job_id = j.id;
    n.header_hash = to_hex(j.kawpow->header_hash);
    n.seed_hash = to_hex(j.kawpow->seed_hash);
    n.target = share_target.to_hex();
    n.clean_jobs = j.clean;
    n.height = j.height;
    n.nbits = u32_to_stratum_hex(j.bits);
    return n;
}

}  // namespace sb::bridge
