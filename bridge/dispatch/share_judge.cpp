#include "dispatch/share_judge.hpp"

namespace sb::bridge {
namespace {

share_result& finish(share_result& r, share_status status) {
    r.status = status;
    r.stratum_code = stratum_error_code(status);
    r.reason = stratum_error_message(status);
    return r;
}

}  // namespace

share_result rejected(share_status why) {
    share_result r;
    return finish(r, why);
}

judgement judge_share(const mining_algorithm& algo, job_entry& e, byte_span extranonce1, const submission& s) {
    judgement out;
    share_result& r = out.result;
    const job& j = e.get();
    solution sol = algo.evaluate(j, extranonce1, s);
    if (sol.unusable) {
        finish(r, *sol.unusable);
        return out;
    }
    r.hash = sol.hash;
    r.hash_difficulty = sol.hash_difficulty;
    if (sol.block || !sol.block_error.empty()) {
        r.block = sol.block.has_value();
        out.block = std::move(sol.block);
        out.block_error = std::move(sol.block_error);
        if (r.block) {
            // Remembered like any share that met its target, so a resubmission of it is
            // known; its verdict is accepted either way.
            (void)e.remember(sol.hash);
            finish(r, share_status::accepted);
            return out;
        }
    }
    const auto verdict = [&]() -> share_status {
        if (sol.invalid) return share_status::bad_mix_hash;
        if (auto why = algo.check_before_stale(j, extranonce1, s)) return *why;
        if (e.stale()) return share_status::job_not_found;
        if (auto why = algo.check_after_stale(j, s, sol)) return *why;
        if (e.seen(sol.hash)) return share_status::duplicate;
        if (sol.value > algo.share_target(difficulty_of(s))) return share_status::low_difficulty;
        // Two judges of one share at once: only the first is accepted.
        if (!e.remember(sol.hash)) return share_status::duplicate;
        return share_status::accepted;
    }();
    finish(r, verdict);
    return out;
}

}  // namespace sb::bridge
