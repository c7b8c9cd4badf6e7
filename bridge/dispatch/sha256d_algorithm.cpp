// SHA-256d mining (stratum.md §3): the miner rolls extranonce2, ntime, the nonce and BIP310
// version bits; the header is rebuilt from the job and hashed once.
#include <variant>

#include "dispatch/algorithm.hpp"
#include "sb/core/pow.hpp"

namespace sb::bridge {
namespace {

class sha256d_algorithm final : public mining_algorithm {
public:
    const pow::header_algorithm& headers() const noexcept override {
        return pow::header_algorithm_of(pow_algorithm::sha256d);
    }
    std::size_t extranonce1_bytes() const noexcept override { return default_extranonce1_bytes; }

    result<job> make_job(std::shared_ptr<const node::block_template> t, const job_spec& spec) const override {
        return bridge::make_job(std::move(t), spec);
    }
    void retime(job& j, std::uint32_t ntime) const override { j.ntime = ntime; }
    void prepare(const node::block_template&, const log_ptr&) const override {}

    solution evaluate(const job& j, byte_span extranonce1, const submission& sub) const override {
        solution sol;
        const auto* s = std::get_if<share>(&sub);
        if (s == nullptr || j.kawpow) {
            sol.unusable = share_status::job_not_found;
            return sol;
        }
        if (s->extranonce2.size() != j.coinbase.extranonce2_size) {
            sol.unusable = share_status::bad_extranonce2_size;
            return sol;
        }
        // BIP310: a version with no bit outside the mask is the rolled bits alone.
        sol.header_version = (s->version & ~s->version_mask) == 0
                                 ? apply_version_bits(j.version, s->version, s->version_mask)
                                 : s->version;
        auto header = rebuild_header(j, extranonce1, s->extranonce2, s->ntime, s->nonce, sol.header_version);
        if (!header) {
            sol.unusable = share_status::bad_extranonce2_size;
            return sol;
        }
        sol.hash = header->hash();
        sol.value = uint256::from_hash(sol.hash);
        sol.hash_difficulty = difficulty_from_target(sol.value);
        if (sol.value <= j.target) {
            if (auto b = assemble_block(j, extranonce1, s->extranonce2, *header)) sol.block = std::move(*b);
            else sol.block_error = b.error().message();
        }
        return sol;
    }

    std::optional<share_status> check_before_stale(const job&, byte_span, const submission&) const noexcept override {
        return std::nullopt;
    }

    std::optional<share_status> check_after_stale(const job& j, const submission& sub,
                                                  const solution& sol) const noexcept override {
        const share& s = std::get<share>(sub);
        const std::uint64_t ntime = s.ntime;
        if (ntime < j.ntime || ntime > std::uint64_t(j.ntime) + max_ntime_ahead_s || ntime < j.mintime)
            return share_status::bad_ntime;
        if (((sol.header_version ^ j.version) & ~s.version_mask) != 0) return share_status::bad_version;
        return std::nullopt;
    }

    result<unsolved_block> assemble_unsolved(const job& j) const override {
        const bytes en1(j.coinbase.extranonce1_size, 0);
        const bytes en2(j.coinbase.extranonce2_size, 0);
        result<block_header> header = job_errc::no_template;
        unsolved_block out;
        for (std::uint32_t nonce = 0; nonce < max_unsolved_nonces; ++nonce) {
            header = rebuild_header(j, en1, en2, j.ntime, nonce, j.version);
            if (!header) return header.error();
            out.header_hash = header->hash();
            out.meets_target = uint256::from_hash(*out.header_hash) <= j.target;
            if (!out.meets_target) break;
        }
        auto block = assemble_block(j, en1, en2, *header);
        if (!block) return block.error();
        out.block = std::move(*block);
        return out;
    }
};

}  // namespace

const mining_algorithm& sha256d_mining() noexcept {
    static const sha256d_algorithm a;
    return a;
}

}  // namespace sb::bridge
