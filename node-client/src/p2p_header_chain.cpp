#include "sb/node/p2p/header_chain.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <string>
#include <system_error>

#include <unistd.h>

#include "sb/core/pow.hpp"
#include "sb/node/p2p/limits.hpp"
#include "sb/pow/algorithm.hpp"

namespace sb::node::p2p {
namespace {

// Store file: "SBHC" || chain magic || root hash for a chain rooted at genesis; "SBHA" ||
// chain magic || root hash || LE32 root height || root chain work (32 bytes, least
// significant first) || u8 root is KAWPOW || root header (80 or 120 bytes) for an
// anchored one; then one header per record (the size of the chain's mined header: 80
// bytes, 120 on KAWPOW chains).
constexpr std::array<std::uint8_t, 4> store_tag = {'S', 'B', 'H', 'C'};
constexpr std::array<std::uint8_t, 4> store_tag_anchored = {'S', 'B', 'H', 'A'};
constexpr std::size_t store_prefix_bytes = 4 + 4 + 32;
constexpr std::size_t anchored_prefix_fixed_bytes = store_prefix_bytes + 4 + 32 + 1;
constexpr std::size_t locator_dense_entries = 10;
// Clock used when replaying the store: beyond any uint32 block time, so the future-time
// rule (checked when the header first arrived) never fires again.
constexpr std::int64_t replay_now_s = std::int64_t(1) << 40;

uint256 target_of(std::uint32_t bits) { return compact_to_target(bits).target; }

// Headers of chains that mine KAWPOW carry a nonce64/mix tail beyond the 80 bytes (a
// KAWPOW chain's tree holds KAWPOW headers only, its root aside).
bool kawpow_chain(const chain_params& chain) noexcept {
    return pow::mined_algorithm(chain) == pow_algorithm::kawpow;
}

// CalculateNextWorkRequired (pow.cpp) for Bitcoin rules; first is the period's first block.
std::uint32_t retarget(const chain_params& chain, const header_info& prev, const header_info& first) {
    if (chain.no_retargeting) return prev.bits;
    const std::int64_t span = chain.target_timespan_s;
    std::int64_t actual = std::int64_t(prev.time) - std::int64_t(first.time);
    actual = std::clamp(actual, span / 4, span * 4);
    // BIP94: the base is the first block's target, so a min-difficulty block at the end
    // of a period cannot drag the whole next period down.
    uint256 t = target_of(chain.enforce_bip94 ? first.bits : prev.bits);
    t *= uint256(static_cast<std::uint64_t>(actual));
    t /= uint256(static_cast<std::uint64_t>(span));
    if (t > chain.pow_limit) t = chain.pow_limit;
    return target_to_compact(t);
}

std::optional<std::uint32_t> bitcoin_next_work(const chain_params& chain, const header_info& prev,
                                               std::uint32_t new_time, const ancestor_fn& ancestor) {
    const std::int32_t interval = chain.retarget_interval();
    if ((prev.height + 1) % interval != 0) {
        if (!chain.allow_min_difficulty) return prev.bits;
        // testnet 20-minute rule.
        if (std::int64_t(new_time) > std::int64_t(prev.time) + 2 * chain.target_spacing_s) return chain.pow_limit_bits;
        // Otherwise the bits of the last block that is not a min-difficulty exception.
        header_info cur = prev;
        while (cur.height > 0 && cur.height % interval != 0 && cur.bits == chain.pow_limit_bits) {
            auto p = ancestor(cur.height - 1);
            if (!p) return std::nullopt;
            cur = *p;
        }
        return cur.bits;
    }
    auto first = ancestor(prev.height - (interval - 1));
    if (!first) return std::nullopt;
    return retarget(chain, prev, *first);
}

}  // namespace

std::int64_t median_time(std::span<const std::uint32_t> times) {
    if (times.empty()) return 0;
    std::vector<std::uint32_t> t(times.begin(), times.end());
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

std::error_code check_header_time(const chain_params& chain, std::int32_t height, std::uint32_t time,
                                  std::uint32_t prev_time, std::int64_t median_time_past, std::int64_t now_s) {
    if (std::int64_t(time) <= median_time_past) return p2p_errc::header_time_too_old;
    if (std::int64_t(time) > now_s + chain.max_future_block_time_s(height)) return p2p_errc::header_time_too_new;
    if (chain.enforce_bip94 && height % chain.retarget_interval() == 0 &&
        std::int64_t(time) < std::int64_t(prev_time) - max_timewarp_s)
        return p2p_errc::header_timewarp;
    return {};
}

std::optional<std::uint32_t> dark_gravity_wave(const chain_params& chain, const header_info& prev,
                                               std::uint32_t new_time, const ancestor_fn& ancestor) {
    if (prev.height < dgw_past_blocks) return chain.pow_limit_bits;
    if (chain.allow_min_difficulty && chain.no_retargeting) {
        if (std::int64_t(new_time) > std::int64_t(prev.time) + 2 * chain.target_spacing_s) return chain.pow_limit_bits;
        const std::int32_t interval = chain.retarget_interval();
        header_info cur = prev;
        while (cur.height > 0 && cur.height % interval != 0 && cur.bits == chain.pow_limit_bits) {
            auto p = ancestor(cur.height - 1);
            if (!p) return std::nullopt;
            cur = *p;
        }
        return cur.bits;
    }
    // The running value multiplies by the loop counter: "not really an average", but
    // consensus (Ravencoin pow.cpp).
    uint256 avg;
    int kawpow_blocks = 0;
    header_info oldest = prev;
    for (int n = 1; n <= dgw_past_blocks; ++n) {
        std::optional<header_info> b = n == 1 ? std::optional<header_info>(prev) : ancestor(prev.height - (n - 1));
        if (!b) return std::nullopt;
        const uint256 t = target_of(b->bits);
        if (n == 1) {
            avg = t;
        } else {
            avg = (avg * uint256(std::uint64_t(n)) + t) / uint256(std::uint64_t(n + 1));
        }
        if (b->time >= chain.kawpow_activation_time) ++kawpow_blocks;
        oldest = *b;
    }
    if (new_time >= chain.kawpow_activation_time && kawpow_blocks != dgw_past_blocks) return chain.kawpow_limit_bits;
    const std::int64_t span = std::int64_t(dgw_past_blocks) * chain.target_spacing_s;
    std::int64_t actual = std::int64_t(prev.time) - std::int64_t(oldest.time);
    actual = std::clamp(actual, span / 3, span * 3);
    uint256 t = avg;
    t *= uint256(static_cast<std::uint64_t>(actual));
    t /= uint256(static_cast<std::uint64_t>(span));
    if (t > chain.pow_limit) t = chain.pow_limit;
    return target_to_compact(t);
}

std::optional<std::uint32_t> next_work_required(const chain_params& chain, const header_info& prev,
                                                std::uint32_t new_time, const ancestor_fn& ancestor) {
    if (chain.dgw_active(prev.height + 1)) return dark_gravity_wave(chain, prev, new_time, ancestor);
    return bitcoin_next_work(chain, prev, new_time, ancestor);
}

bool permitted_difficulty_transition(const chain_params& chain, std::int32_t height, std::uint32_t old_bits,
                                     std::uint32_t new_bits) {
    if (chain.allow_min_difficulty || chain.dgw_active(height)) return true;
    const std::int32_t interval = chain.retarget_interval();
    if (height % interval != 0) return old_bits == new_bits;
    const uint256 observed = target_of(new_bits);
    const std::int64_t span = chain.target_timespan_s;
    auto bound = [&](std::int64_t timespan) {
        uint256 t = target_of(old_bits);
        t *= uint256(static_cast<std::uint64_t>(timespan));
        t /= uint256(static_cast<std::uint64_t>(span));
        if (t > chain.pow_limit) t = chain.pow_limit;
        return target_of(target_to_compact(t));
    };
    return observed <= bound(span * 4) && observed >= bound(span / 4);
}

// ---- header_chain -------------------------------------------------------------------

header_chain::header_chain(const chain_params& chain) : chain_(chain) { reset_to_genesis(); }

header_chain::header_chain(const chain_params& chain, const block_header& anchor, std::int32_t height,
                           const uint256& chain_work)
    : chain_(chain) {
    reset_to_anchor(wire_header::classic(anchor), anchor.hash(), height, chain_work);
}

header_chain::header_chain(const chain_params& chain, const wire_header& anchor, const hash256& anchor_hash,
                           std::int32_t height, const uint256& chain_work)
    : chain_(chain) {
    reset_to_anchor(anchor, anchor_hash, height, chain_work);
}

void header_chain::push_entry(const header_entry& e, const wire_header& w) {
    index_.emplace(e.hash, static_cast<std::uint32_t>(nodes_.size()));
    nodes_.push_back(e);
    if (kawpow_chain(chain_)) tails_.push_back(w.tail);
}

wire_header header_chain::wire(const header_entry& e) const {
    const std::size_t i = std::size_t(&e - nodes_.data());
    if (!kawpow_chain(chain_) || (i == 0 && !root_kawpow_)) return wire_header::classic(e.header);
    return wire_header{e.header, true, tails_[i]};
}

result<hash256> header_chain::hash_of(const wire_header& h) const {
    if (!h.kawpow) {
        // An 80-byte header is named by its SHA-256d unless the chain hashes it otherwise
        // (Ravencoin's X16R and X16Rv2, which the bridge cannot compute).
        if (chain_.algorithm_at(h.base.time) != pow_algorithm::sha256d)
            return make_error_code(p2p_errc::header_unsupported_pow);
        return h.base.hash();
    }
    if (!verifier_) return make_error_code(p2p_errc::header_unsupported_pow);
    hash256 final_hash{};
    if (auto ec = verifier_(h.to_kawpow(), kawpow_check::hash_only, final_hash)) return ec;
    std::reverse(final_hash.begin(), final_hash.end());
    return final_hash;
}

header_chain::~header_chain() {
    if (store_) std::fclose(store_);
}

void header_chain::note_verified(std::span<const hash256> hashes) {
    if (preverified_.size() + hashes.size() > max_preverified) preverified_.clear();
    for (const hash256& h : hashes) preverified_.insert(h);
}

void header_chain::clear() {
    if (store_) std::fclose(store_);
    store_ = nullptr;
    nodes_.clear();
    index_.clear();
    active_.clear();
    tails_.clear();
    best_ = 0;
    unconnected_.clear();
    invalid_.clear();
    invalid_order_.clear();
    low_work_count_ = 0;
    preverified_.clear();
    anchored_ = false;
    root_kawpow_ = false;
}

void header_chain::reset_to_genesis() {
    clear();
    header_entry root;
    root.header = parse_header(std::span<const std::uint8_t, block_header_size>(chain_.genesis_header));
    root.hash = chain_.genesis_hash;
    root.chain_work = work_from_bits(root.header.bits);
    push_entry(root, wire_header::classic(root.header));
    active_.push_back(0);
}

void header_chain::reset_to_anchor(const wire_header& anchor, const hash256& anchor_hash, std::int32_t height,
                                   const uint256& chain_work) {
    clear();
    header_entry root;
    root.header = anchor.base;
    root.hash = anchor_hash;
    root.height = height;
    root.chain_work = chain_work;
    anchored_ = true;
    root_kawpow_ = anchor.kawpow;
    push_entry(root, anchor);
    active_.push_back(0);
}

const header_entry* header_chain::find(const hash256& hash) const {
    auto it = index_.find(hash);
    return it == index_.end() ? nullptr : &nodes_[it->second];
}

const header_entry* header_chain::at_height(std::int32_t height) const {
    const std::int64_t off = std::int64_t(height) - root().height;
    if (off < 0 || off >= std::int64_t(active_.size())) return nullptr;
    return &nodes_[active_[std::size_t(off)]];
}

std::uint32_t header_chain::ancestor(std::uint32_t from, std::int32_t height) const {
    std::uint32_t cur = from;
    // Walk back until the active chain, then index it directly.
    while (nodes_[cur].height > height) {
        const std::size_t off = std::size_t(nodes_[cur].height - root().height);
        if (off < active_.size() && active_[off] == cur) return active_[std::size_t(height - root().height)];
        cur = nodes_[cur].parent;
    }
    return cur;
}

std::optional<header_info> header_chain::ancestor_info(std::uint32_t from, std::int32_t height) const {
    if (height < root().height || height > nodes_[from].height) return std::nullopt;
    const header_entry& e = nodes_[ancestor(from, height)];
    return header_info{e.height, e.header.time, e.header.bits};
}

std::error_code header_chain::validate(const wire_header& w, const hash256& hash, std::uint32_t parent,
                                       std::int64_t now_s, bool from_store) const {
    const block_header& h = w.base;
    const header_entry& prev = nodes_[parent];
    const std::int32_t height = prev.height + 1;
    // A KAWPOW header needs the verifier; any other must be SHA-256d (not X16R/X16Rv2).
    if (w.kawpow ? !verifier_ : chain_.algorithm_at(h.time) != pow_algorithm::sha256d)
        return p2p_errc::header_unsupported_pow;
    // For KAWPOW, hash is the final hash from the claimed mix: the cheap check first.
    if (!check_proof_of_work(hash, h.bits, chain_.pow_limit)) return p2p_errc::header_high_hash;
    // Ravencoin nodes do not check nHeight against the chain; it selects the epoch and
    // the ProgPoW program, so a wrong one would make the PoW check meaningless.
    if (w.kawpow && std::int64_t(h.nonce) != std::int64_t(height)) return p2p_errc::header_bad_height;
    // Core's ContextualCheckBlockHeader: versions below 2, 3 and 4 are obsolete from the
    // BIP34, BIP66 and BIP65 heights on (node.md §3 rule 7).
    if ((h.version < 2 && height >= chain_.bip34_height) || (h.version < 3 && height >= chain_.bip66_height) ||
        (h.version < 4 && height >= chain_.bip65_height))
        return p2p_errc::header_bad_version;

    const header_info prev_info{prev.height, prev.header.time, prev.header.bits};
    const auto required = next_work_required(
        chain_, prev_info, h.time, [&](std::int32_t at) { return ancestor_info(parent, at); });
    if (required ? *required != h.bits : !permitted_difficulty_transition(chain_, height, prev.header.bits, h.bits))
        return p2p_errc::header_bad_diffbits;

    std::array<std::uint32_t, median_time_span> times{};
    std::size_t n = 0;
    for (std::uint32_t cur = parent; n < times.size();) {
        times[n++] = nodes_[cur].header.time;
        if (cur == 0) break;
        cur = nodes_[cur].parent;
    }
    // Below an anchor the window is cut short: the median of fewer than 11 held times
    // is not the median time past (it can be higher, refusing valid headers), so the
    // rule is applied once 11 are held; at genesis the short window is Core's own.
    const bool window_cut = anchored_ && n < times.size();
    const std::int64_t mtp = window_cut ? std::numeric_limits<std::int64_t>::min() : median_time({times.data(), n});
    if (auto ec = check_header_time(chain_, height, h.time, prev.header.time, mtp, now_s)) return ec;
    if (w.kawpow && !from_store && !preverified_.count(hash)) {
        hash256 final_hash{};
        if (auto ec = verifier_(w.to_kawpow(), kawpow_check::full, final_hash)) return ec;
        std::reverse(final_hash.begin(), final_hash.end());
        if (final_hash != hash) return p2p_errc::header_invalid_mix;
    }
    return {};
}

void header_chain::remember_invalid(const hash256& hash) {
    if (!invalid_.insert(hash).second) return;
    invalid_order_.push_back(hash);
    if (invalid_order_.size() > max_invalid_hashes) {
        invalid_.erase(invalid_order_.front());
        invalid_order_.pop_front();
    }
}

result<add_result> header_chain::add_one(const wire_header& h, const hash256& hash, std::int64_t now_s,
                                         bool from_store) {
    if (index_.count(hash)) return add_result{add_status::duplicate, 0, std::nullopt};
    if (invalid_.count(hash)) return make_error_code(p2p_errc::header_invalid_parent);
    if (invalid_.count(h.base.prev_block)) {
        remember_invalid(hash);
        return make_error_code(p2p_errc::header_invalid_parent);
    }
    auto parent_it = index_.find(h.base.prev_block);
    if (parent_it == index_.end()) {
        if (std::none_of(unconnected_.begin(), unconnected_.end(), [&](const auto& u) { return u.second == hash; })) {
            unconnected_.emplace_back(h, hash);
            if (unconnected_.size() > max_unconnected_headers) unconnected_.pop_front();
        }
        return add_result{add_status::unconnected, 0, std::nullopt};
    }

    const std::uint32_t old_best = best_;
    add_result out;
    // Connect h, then any stored headers that now connect, breadth first.
    std::vector<std::pair<wire_header, hash256>> work{{h, hash}};
    bool first = true;
    while (!work.empty()) {
        auto [cur_wire, cur_hash] = work.back();
        work.pop_back();
        const block_header& cur = cur_wire.base;
        if (index_.count(cur_hash)) continue;
        const std::uint32_t parent = index_.at(cur.prev_block);
        if (auto ec = validate(cur_wire, cur_hash, parent, now_s, from_store)) {
            // Not remembered: a time that may become valid, and a PoW that could not be
            // checked here (no verifier, or its epoch could not be built).
            if (ec != p2p_errc::header_time_too_new && ec != p2p_errc::header_unsupported_pow)
                remember_invalid(cur_hash);
            if (first) return ec;
            continue;
        }
        header_entry e;
        e.header = cur;
        e.hash = cur_hash;
        e.height = nodes_[parent].height + 1;
        e.chain_work = nodes_[parent].chain_work + work_from_bits(cur.bits);
        e.parent = parent;
        // Low-work side branches: counted, and refused once the budget is spent, so a
        // peer cannot grow the tree without limit with cheap headers off an old block.
        const header_entry& tip_now = nodes_[best_];
        const uint256 margin = work_from_bits(tip_now.header.bits) * uint256(std::uint64_t(low_work_margin_blocks_));
        if (e.chain_work + margin < tip_now.chain_work) {
            if (!from_store && low_work_count_ >= max_low_work_headers_) {
                if (first) return make_error_code(p2p_errc::header_low_work);
                continue;
            }
            ++low_work_count_;
        }
        first = false;
        const auto idx = static_cast<std::uint32_t>(nodes_.size());
        push_entry(e, cur_wire);
        preverified_.erase(cur_hash);
        ++out.added;
        // Most work wins; a tie keeps the header seen first.
        if (e.chain_work > nodes_[best_].chain_work) best_ = idx;
        if (!from_store) append_to_store(cur_wire);
        for (auto it = unconnected_.begin(); it != unconnected_.end();) {
            if (it->first.base.prev_block == cur_hash) {
                work.push_back(*it);
                it = unconnected_.erase(it);
            } else {
                ++it;
            }
        }
    }
    out.tip = update_best(old_best);
    return out;
}

std::optional<tip_change> header_chain::update_best(std::uint32_t old_best) {
    if (best_ == old_best) return std::nullopt;
    tip_change c;
    c.old_tip = nodes_[old_best].hash;
    c.old_height = nodes_[old_best].height;
    c.new_tip = nodes_[best_].hash;
    c.new_height = nodes_[best_].height;
    // Walk the new tip back to the active chain, collecting the new branch.
    std::vector<std::uint32_t> branch;
    std::uint32_t cur = best_;
    for (;;) {
        const std::size_t off = std::size_t(nodes_[cur].height - root().height);
        if (off < active_.size() && active_[off] == cur) break;
        branch.push_back(cur);
        cur = nodes_[cur].parent;
    }
    c.fork_point = nodes_[cur].hash;
    c.fork_height = nodes_[cur].height;
    active_.resize(std::size_t(nodes_[cur].height - root().height) + 1);
    for (auto it = branch.rbegin(); it != branch.rend(); ++it) active_.push_back(*it);
    return c;
}

result<add_result> header_chain::add(const block_header& h, std::int64_t now_s) {
    return add(wire_header::classic(h), now_s);
}

result<add_result> header_chain::add(const wire_header& h, std::int64_t now_s) {
    auto hash = hash_of(h);
    if (!hash) return hash.error();
    return add_one(h, *hash, now_s, false);
}

result<add_result> header_chain::add_all(std::span<const block_header> headers, std::int64_t now_s) {
    std::vector<wire_header> w;
    w.reserve(headers.size());
    for (const block_header& h : headers) w.push_back(wire_header::classic(h));
    return add_all(std::span<const wire_header>(w), now_s);
}

result<add_result> header_chain::add_all(std::span<const wire_header> headers, std::int64_t now_s) {
    std::vector<hash256> hashes;
    hashes.reserve(headers.size());
    for (std::size_t i = 0; i < headers.size(); ++i) {
        auto hash = hash_of(headers[i]);
        if (!hash) return hash.error();
        if (i > 0 && headers[i].base.prev_block != hashes.back())
            return make_error_code(p2p_errc::header_not_continuous);
        hashes.push_back(*hash);
    }
    add_result total;
    const hash256 old_tip = tip().hash;
    const std::int32_t old_height = tip().height;
    for (std::size_t i = 0; i < headers.size(); ++i) {
        auto r = add_one(headers[i], hashes[i], now_s, false);
        if (!r) return r.error();
        if (i == 0) total.status = r->status;
        total.added += r->added;
        if (r->tip) {
            if (!total.tip) {
                total.tip = r->tip;
            } else {
                total.tip->new_tip = r->tip->new_tip;
                total.tip->new_height = r->tip->new_height;
                if (r->tip->fork_height < total.tip->fork_height) {
                    total.tip->fork_point = r->tip->fork_point;
                    total.tip->fork_height = r->tip->fork_height;
                }
            }
        }
    }
    if (total.tip) {
        total.tip->old_tip = old_tip;
        total.tip->old_height = old_height;
    }
    return total;
}

std::vector<hash256> header_chain::locator() const {
    // Core's LocatorEntries: the tip and the 10 before it, then steps doubling after the
    // 11th entry, always ending with the root.
    std::vector<hash256> out;
    std::int32_t step = 1;
    std::int32_t height = tip().height;
    const std::int32_t bottom = root().height;
    for (;;) {
        if (height == bottom || out.size() + 1 == max_locator_entries) {
            out.push_back(root().hash);
            break;
        }
        out.push_back(at_height(height)->hash);
        height = std::max(height - step, bottom);
        if (out.size() > locator_dense_entries) step *= 2;
    }
    return out;
}

std::vector<wire_header> header_chain::wire_headers_after(std::span<const hash256> locator, const hash256& hash_stop,
                                                          std::size_t max_count) const {
    std::int32_t start = root().height;
    for (const hash256& h : locator) {
        const header_entry* e = find(h);
        if (e && at_height(e->height) == e) {
            start = e->height;
            break;
        }
    }
    std::vector<wire_header> out;
    for (std::int32_t height = start + 1; height <= tip().height && out.size() < max_count; ++height) {
        const header_entry* e = at_height(height);
        out.push_back(wire(*e));
        if (e->hash == hash_stop) break;
    }
    return out;
}

std::size_t header_chain::store_record_bytes() const noexcept {
    return pow::header_algorithm_of(pow::mined_algorithm(chain_)).header_bytes();
}

void header_chain::append_to_store(const wire_header& h) {
    if (!store_) return;
    const bytes raw = h.serialize();
    // Only records of the chain's size are written (a Ravencoin chain holds KAWPOW
    // headers only, its root aside). A failed or torn write leaves a short record that
    // the next open truncates.
    if (raw.size() != store_record_bytes()) return;
    if (std::fwrite(raw.data(), 1, raw.size(), store_) == raw.size()) std::fflush(store_);
}

std::vector<std::uint8_t> header_chain::store_prefix() const {
    byte_writer w(anchored_prefix_fixed_bytes + ravencoin::kawpow_header_size);
    w.raw(anchored_ ? store_tag_anchored : store_tag);
    w.raw(chain_.magic);
    w.raw(root().hash);
    if (anchored_) {
        w.u32le(static_cast<std::uint32_t>(root().height));
        std::array<std::uint8_t, 32> work{};
        root().chain_work.to_le_bytes(work.data());
        w.raw(work);
        const wire_header r = wire(root());
        w.u8(r.kawpow ? 1 : 0);
        r.write(w);
    }
    return w.take();
}

std::filesystem::path header_chain::store_path(const std::filesystem::path& dir, const chain_params& chain) {
    return dir / (std::string("headers-") + std::string(chain.name) + ".dat");
}

std::optional<header_chain::stored_anchor> header_chain::read_store_anchor(const std::filesystem::path& dir,
                                                                          const chain_params& chain) {
    std::FILE* f = std::fopen(store_path(dir, chain).c_str(), "rb");
    if (!f) return std::nullopt;
    std::array<std::uint8_t, anchored_prefix_fixed_bytes + ravencoin::kawpow_header_size> buf{};
    const std::size_t n = std::fread(buf.data(), 1, buf.size(), f);
    std::fclose(f);
    if (n < anchored_prefix_fixed_bytes + block_header_size) return std::nullopt;
    if (!std::equal(store_tag_anchored.begin(), store_tag_anchored.end(), buf.begin()) ||
        !std::equal(chain.magic.begin(), chain.magic.end(), buf.begin() + 4))
        return std::nullopt;
    stored_anchor a;
    std::memcpy(a.hash.data(), buf.data() + 8, 32);
    a.height = static_cast<std::int32_t>(load_le32(buf.data() + 40));
    a.chain_work = uint256::from_le_bytes(buf.data() + 44);
    const bool kawpow = buf[76] != 0;
    const std::size_t need = anchored_prefix_fixed_bytes + (kawpow ? ravencoin::kawpow_header_size : block_header_size);
    if (n < need || a.height < 0) return std::nullopt;
    byte_reader in(byte_span(buf.data() + anchored_prefix_fixed_bytes, need - anchored_prefix_fixed_bytes));
    if (kawpow) {
        if (!kawpow_chain(chain)) return std::nullopt;
        auto h = read_wire_header(in, chain);
        if (!h || !h->kawpow) return std::nullopt;
        a.header = *h;
    } else {
        auto h = parse_header(in);
        if (!h) return std::nullopt;
        a.header = wire_header::classic(*h);
        if (h->hash() != a.hash) return std::nullopt;
    }
    return a;
}

std::error_code header_chain::open_store(const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return ec;
    const std::filesystem::path file = store_path(dir, chain_);
    const std::vector<std::uint8_t> prefix = store_prefix();

    std::FILE* f = std::fopen(file.c_str(), "r+b");
    if (!f) f = std::fopen(file.c_str(), "w+b");
    if (!f) return {errno, std::generic_category()};

    std::vector<std::uint8_t> have(prefix.size());
    long good_end = long(prefix.size());
    if (std::fread(have.data(), 1, have.size(), f) == have.size() && have == prefix) {
        const std::size_t record = store_record_bytes();
        std::array<std::uint8_t, ravencoin::kawpow_header_size> rec{};
        while (std::fread(rec.data(), 1, record, f) == record) {
            byte_reader in(byte_span(rec.data(), record));
            auto h = read_wire_header(in, chain_);
            if (!h) break;
            auto hash = hash_of(*h);
            if (!hash) break;
            // Stored headers were valid when written: no future-time limit on replay,
            // and KAWPOW headers get the cheap check only.
            auto r = add_one(*h, *hash, replay_now_s, true);
            if (!r || r->status == add_status::unconnected) break;
            good_end += long(record);
        }
    } else {
        // Another chain, another root or a torn prefix: start over.
        std::rewind(f);
        if (std::fwrite(prefix.data(), 1, prefix.size(), f) != prefix.size()) {
            std::fclose(f);
            return std::make_error_code(std::errc::io_error);
        }
    }
    unconnected_.clear();
    std::fflush(f);
    if (::ftruncate(::fileno(f), good_end) != 0 || std::fseek(f, good_end, SEEK_SET) != 0) {
        const int err = errno;
        std::fclose(f);
        return {err, std::generic_category()};
    }
    if (store_) std::fclose(store_);
    store_ = f;
    return {};
}

}  // namespace sb::node::p2p
