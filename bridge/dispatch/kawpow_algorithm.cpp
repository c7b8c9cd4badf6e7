// KAWPOW mining (stratum.md §5, gpu.md §2): the job's coinbase carries a fixed extranonce
// and its 80-byte input and header hash belong to the job alone; miners roll a 64-bit
// nonce whose top bytes are their extranonce1, and prove a mix hash that is light-verified
// against the epoch's cache (pow::ethash::global_epoch_cache(): the current and the next
// epoch, built in the background when a template arrives).
#include <algorithm>
#include <cstdint>
#include <memory>
#include <variant>

#include "dispatch/algorithm.hpp"
#include "sb/core/pow.hpp"
#include "sb/pow/ethash.hpp"
#include "sb/pow/kawpow.hpp"

namespace sb::bridge {
namespace {

constexpr std::size_t nonce_prefix_bytes = 2;

class kawpow_algorithm final : public mining_algorithm {
public:
    // dataset_items_1024: 0 for each epoch's full dataset (the chain's rule), else a prefix.
    explicit kawpow_algorithm(std::uint32_t dataset_items_1024 = 0) : dataset_items_1024_(dataset_items_1024) {}

    const pow::header_algorithm& headers() const noexcept override {
        return pow::header_algorithm_of(pow_algorithm::kawpow);
    }
    std::size_t extranonce1_bytes() const noexcept override { return nonce_prefix_bytes; }

    result<job> make_job(std::shared_ptr<const node::block_template> t, const job_spec& spec) const override {
        return make_kawpow_job(std::move(t), spec);
    }
    void retime(job& j, std::uint32_t ntime) const override {
        j.ntime = ntime;
        set_kawpow_work(j);
    }

    // Contexts built off every I/O thread before the first share needs them; the next
    // epoch's too, so the change of epoch costs no verification time.
    void prepare(const node::block_template& t, const log_ptr& log) const override {
        const int epoch = pow::ethash::epoch_number(t.height);
        prefetch(epoch + 1, log);
        prefetch(epoch, log);
    }

    solution evaluate(const job& j, byte_span, const submission& sub) const override {
        solution sol;
        const auto* s = std::get_if<kawpow_share>(&sub);
        if (s == nullptr || !j.kawpow) {
            sol.unusable = share_status::job_not_found;
            return sol;
        }
        if (s->header_hash != j.kawpow->header_hash) {
            sol.unusable = share_status::bad_header_hash;
            return sol;
        }
        const hash256 final_be = pow::kawpow::final_hash_from_mix(s->header_hash, s->mix_hash, s->nonce);
        sol.value = uint256::from_be_bytes(final_be.data());
        sol.hash = sol.value.to_hash();
        sol.hash_difficulty = difficulty_from_target(sol.value);
        const bool meets_network = sol.value <= j.target;
        // Only a hash that could count costs a light evaluation (milliseconds).
        if (meets_network || sol.value <= share_target(s->difficulty)) {
            auto ctx = pow::ethash::global_epoch_cache().get(j.kawpow->epoch);
            const pow::kawpow::hash_result h =
                dataset_items_1024_ == 0
                    ? pow::kawpow::hash(*ctx, j.height, s->header_hash, s->nonce)
                    : pow::kawpow::hash(*ctx, pow::kawpow::program_for_height(j.height), dataset_items_1024_,
                                        s->header_hash, s->nonce);
            sol.invalid = h.mix_hash != s->mix_hash;
        }
        if (meets_network && !sol.invalid) {
            if (auto b = assemble_kawpow_block(j, s->nonce, s->mix_hash)) sol.block = std::move(*b);
            else sol.block_error = b.error().message();
        }
        return sol;
    }

    // After the block check: a block from outside the consumer's range is still a block.
    std::optional<share_status> check_before_stale(const job&, byte_span extranonce1,
                                                   const submission& sub) const noexcept override {
        const kawpow_share& s = std::get<kawpow_share>(sub);
        std::uint64_t prefix = 0;
        for (std::uint8_t b : extranonce1) prefix = (prefix << 8) | b;
        const unsigned shift = 64 - 8 * static_cast<unsigned>(extranonce1.size());
        if (extranonce1.empty() || (s.nonce >> shift) != prefix) return share_status::nonce_out_of_range;
        return std::nullopt;
    }

    std::optional<share_status> check_after_stale(const job&, const submission&, const solution&) const noexcept override {
        return std::nullopt;
    }

    result<unsolved_block> assemble_unsolved(const job& j) const override {
        auto block = assemble_kawpow_block(j, 0, hash256{});
        if (!block) return block.error();
        unsolved_block out;
        out.block = std::move(*block);
        return out;
    }

private:
    std::uint32_t dataset_items_1024_;

    // Starts the build of an epoch context on a thread of its own unless it is built or
    // being built; the build logs its progress by quarters (seconds on mainnet).
    static void prefetch(int epoch, const log_ptr& log) {
        auto& cache = pow::ethash::global_epoch_cache();
        if (epoch > pow::ethash::max_epoch || cache.find(epoch)) return;
        auto quarter = std::make_shared<int>(-1);  // touched by the one build thread only
        (void)cache.get_async(epoch, [log, epoch, quarter](std::string_view stage, double fraction) {
            const int q = static_cast<int>(fraction * 4);
            if (q <= *quarter) return;
            *quarter = q;
            if (auto l = log.lock())
                (*l)("KAWPOW epoch " + std::to_string(epoch) + ": " + std::string(stage) + " " + std::to_string(q * 25) +
                     "%");
        });
    }
};

}  // namespace

const mining_algorithm& kawpow_mining() noexcept {
    static const kawpow_algorithm a;
    return a;
}

std::shared_ptr<const mining_algorithm> kawpow_mining_over_prefix(std::uint32_t dataset_items_1024) {
    return std::make_shared<const kawpow_algorithm>(
        std::max(dataset_items_1024, pow::kawpow::min_dataset_items_1024));
}

}  // namespace sb::bridge
