#include "sb/node/p2p/anchor.hpp"

#include <algorithm>

#include "sb/core/bytes.hpp"
#include "sb/core/hex.hpp"
#include "sb/node/errors.hpp"
#include "sb/node/node_rpc.hpp"
#include "sb/pow/algorithm.hpp"

namespace sb::node::p2p {

std::int32_t anchor_height(const chain_params& chain, std::int32_t node_height) noexcept {
    if (node_height <= 0) return 0;
    // Dark Gravity Wave reads the dgw_past_blocks headers below the next one.
    if (chain.retarget == retarget_rule::dark_gravity_wave)
        return std::max(0, node_height - dgw_past_blocks - anchor_min_depth);
    // Bits never change (regtest): no period start is needed, only the reorg margin.
    if (chain.no_retargeting) return std::max(0, node_height - anchor_min_depth);
    const std::int32_t interval = chain.retarget_interval();
    std::int32_t start = node_height - node_height % interval;
    if (node_height - start < anchor_min_depth) start -= interval;
    return std::max(0, start);
}

namespace {

// The steps of fetch_rpc_anchor, each continuing in the previous one's handler.
struct anchor_fetch : std::enable_shared_from_this<anchor_fetch> {
    rpc_client& client;
    const chain_params& chain;
    kawpow_verifier verifier;
    anchor_handler done;
    rpc_anchor out;
    std::string hash_hex;
    std::int32_t tip = 0;
    // The first-KAWPOW search: the header at lo predates KAWPOW, the one at hi does not.
    std::int32_t lo = 0, hi = 0;

    anchor_fetch(rpc_client& c, const chain_params& p, kawpow_verifier v, anchor_handler d)
        : client(c), chain(p), verifier(std::move(v)), done(std::move(d)) {}

    void fail(std::error_code ec, const std::string& detail) { done(ec, detail); }

    void start() {
        getblockchaininfo(client, [self = shared_from_this()](rpc_result<blockchain_info> r) {
            if (!r) return self->fail(r.error.code, "getblockchaininfo: " + r.error.to_string());
            self->tip = static_cast<std::int32_t>(std::min<std::uint64_t>(r.value.blocks, INT32_MAX));
            self->out.height = anchor_height(self->chain, self->tip);
            self->get_hash();
        });
    }

    void get_hash() {
        getblockhash(client, out.height, [self = shared_from_this()](rpc_result<std::string> r) {
            if (!r) return self->fail(r.error.code, "getblockhash: " + r.error.to_string());
            self->hash_hex = r.value;
            auto h = from_hex_fixed<32>(self->hash_hex);
            if (!h) return self->fail(make_error_code(node_errc::bad_reply), "getblockhash: not a hash");
            std::reverse_copy(h->begin(), h->end(), self->out.hash.begin());
            self->get_summary();
        });
    }

    void get_summary() {
        getblockheader_summary(client, hash_hex, [self = shared_from_this()](rpc_result<block_header_summary> r) {
            if (!r) return self->fail(r.error.code, "getblockheader: " + r.error.to_string());
            auto work = uint256::from_hex(r.value.chainwork);
            if (!work || r.value.height != self->out.height || r.value.hash != self->hash_hex)
                return self->fail(make_error_code(node_errc::bad_reply), "getblockheader: height, hash or chainwork differ");
            self->out.chain_work = *work;
            self->get_raw();
        });
    }

    void get_raw() {
        getblockheader_raw(client, hash_hex, [self = shared_from_this()](rpc_result<std::vector<std::uint8_t>> r) {
            if (!r) return self->fail(r.error.code, "getblockheader (raw): " + r.error.to_string());
            self->finish(r.value);
        });
    }

    // ---- Ravencoin: the first KAWPOW header above a pre-KAWPOW anchor height ----------
    // KAWPOW switches on by block time (node.md §2.4), so the raw header's nTime tells.
    // Times are not strictly ordered: only once 6 of the last 11 blocks are KAWPOW does
    // the median-time rule keep every later block at or past the switch, so a chain may
    // hold a pre-KAWPOW header just after its first KAWPOW ones. The bisection assumes
    // one switch (what every real chain shows); the header it picks is then fetched and
    // checked like any anchor.

    // Calls back with whether the header at height is KAWPOW.
    void probe(std::int32_t height, std::function<void(anchor_fetch&, bool)> next) {
        getblockhash(client, height, [self = shared_from_this(), height, next](rpc_result<std::string> r) {
            if (!r) return self->fail(r.error.code, "getblockhash: " + r.error.to_string());
            if (!from_hex_fixed<32>(r.value))
                return self->fail(make_error_code(node_errc::bad_reply), "getblockhash: not a hash");
            getblockheader_raw(self->client, r.value,
                               [self, height, next](rpc_result<std::vector<std::uint8_t>> raw) {
                                   if (!raw) return self->fail(raw.error.code, "getblockheader (raw): " + raw.error.to_string());
                                   if (raw.value.size() < classic_header_bytes)
                                       return self->fail(make_error_code(node_errc::bad_reply),
                                                         "getblockheader (raw): not a header at height " +
                                                             std::to_string(height));
                                   const std::uint32_t time = load_le32(raw.value.data() + 68);
                                   next(*self, self->chain.algorithm_at(time) == pow_algorithm::kawpow);
                               });
        });
    }

    void find_first_kawpow() {
        lo = out.height;
        hi = tip;
        probe(tip, [](anchor_fetch& self, bool kawpow) {
            if (!kawpow)
                return self.fail(make_error_code(p2p_errc::header_unsupported_pow),
                                 "the node's tip at height " + std::to_string(self.tip) +
                                     " predates KAWPOW, which starts at block time " +
                                     std::to_string(self.chain.kawpow_activation_time) + " on " +
                                     std::string(self.chain.name) +
                                     " (X16R/X16Rv2 headers cannot be checked); P2P starts once the node's chain "
                                     "has a KAWPOW block");
            self.bisect();
        });
    }

    void bisect() {
        if (hi - lo <= 1) {
            out.height = hi;
            out.first_kawpow = true;
            return get_hash();
        }
        const std::int32_t mid = lo + (hi - lo) / 2;
        probe(mid, [mid](anchor_fetch& self, bool kawpow) {
            (kawpow ? self.hi : self.lo) = mid;
            self.bisect();
        });
    }

    void finish(const std::vector<std::uint8_t>& raw) {
        byte_reader in(raw);
        auto h = read_wire_header(in, chain);
        if (!h) {
            if (h.error() == p2p_errc::header_unsupported_pow) {
                // Older than the chain's KAWPOW switch (Ravencoin's X16R era): root at the
                // first KAWPOW header instead.
                if (pow::mined_algorithm(chain) == pow_algorithm::kawpow && !out.first_kawpow)
                    return find_first_kawpow();
                return fail(h.error(), "the header at height " + std::to_string(out.height) +
                                           " predates KAWPOW (X16R/X16Rv2 headers cannot be checked)");
            }
            return fail(make_error_code(node_errc::bad_reply), "getblockheader (raw): not a header");
        }
        if (!in.empty()) return fail(make_error_code(node_errc::bad_reply), "getblockheader (raw): trailing bytes");
        hash256 hash{};
        if (h->kawpow) {
            if (!verifier) return fail(make_error_code(p2p_errc::header_unsupported_pow), "no KAWPOW verifier");
            hash256 final_hash{};
            if (auto ec = verifier(h->to_kawpow(), kawpow_check::hash_only, final_hash)) return fail(ec, "anchor header");
            std::reverse_copy(final_hash.begin(), final_hash.end(), hash.begin());
        } else {
            hash = h->base.hash();
        }
        if (hash != out.hash)
            return fail(make_error_code(p2p_errc::header_high_hash),
                        "the raw header hashes to " + to_hex_reversed(hash) + ", not " + hash_hex);
        out.header = *h;
        done(std::move(out), {});
    }
};

}  // namespace

void fetch_rpc_anchor(rpc_client& client, const chain_params& chain, kawpow_verifier verifier, anchor_handler done) {
    std::make_shared<anchor_fetch>(client, chain, std::move(verifier), std::move(done))->start();
}

namespace {

std::string describe(const header_chain& c) {
    return "root " + to_hex_reversed(c.root().hash) + " at height " + std::to_string(c.root().height) + ", tip at " +
           std::to_string(c.tip().height);
}

void open_store_into(header_chain& c, const std::filesystem::path& dir, std::string& why) {
    if (auto ec = c.open_store(dir)) why += "; header store not used (" + ec.message() + ")";
}

}  // namespace

bool anchor_header_chain(header_chain& c, const std::optional<rpc_anchor>& anchor, const std::filesystem::path& dir,
                         std::string& why) {
    const chain_params& chain = c.chain();
    why.clear();
    if (const auto stored = header_chain::read_store_anchor(dir, chain)) {
        c.reset_to_anchor(stored->header, stored->hash, stored->height, stored->chain_work);
        std::string store_note;
        open_store_into(c, dir, store_note);
        if (!anchor) {
            why = "resuming the stored header chain without the node's RPC (" + describe(c) + ")" + store_note;
            return true;
        }
        const header_entry* e = c.at_height(anchor->height);
        if (e && e->hash == anchor->hash) {
            why = "resuming the stored header chain, which holds the node's header " + to_hex_reversed(anchor->hash) +
                  " (" + describe(c) + ")" + store_note;
            return true;
        }
    }
    if (!anchor) {
        c.reset_to_genesis();
        why = "no stored header chain to resume";
        return false;
    }
    if (anchor->height == 0 && anchor->hash == chain.genesis_hash) {
        c.reset_to_genesis();
        why = "header chain rooted at genesis (the node's chain is that short)";
    } else {
        c.reset_to_anchor(anchor->header, anchor->hash, anchor->height, anchor->chain_work);
        why = "header chain anchored at the node's header " + to_hex_reversed(anchor->hash) + " (height " +
              std::to_string(anchor->height) +
              (anchor->first_kawpow ? ", the chain's first KAWPOW header: DGW bits are trusted until 180 headers "
                                      "above it are held)"
                                    : ")");
    }
    open_store_into(c, dir, why);
    return true;
}

}  // namespace sb::node::p2p
