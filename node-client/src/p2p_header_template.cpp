#include "sb/node/p2p/header_template.hpp"

#include <algorithm>
#include <array>

#include "sb/core/pow.hpp"
#include "sb/pow/algorithm.hpp"

namespace sb::node::p2p {

bool header_only_work_possible(const chain_params& chain) noexcept {
    return pow::mined_algorithm(chain) == pow_algorithm::sha256d && chain.net != network::bitcoin_signet;
}

result<block_template> header_only_template(const header_chain& chain, std::int64_t now_s) {
    const chain_params& params = chain.chain();
    if (!header_only_work_possible(params)) return make_error_code(p2p_errc::header_unsupported_pow);
    const header_entry& tip = chain.tip();
    const std::int32_t height = tip.height + 1;

    // Median time past of the tip and the 10 before it (fewer near the root).
    std::array<std::uint32_t, median_time_span> times{};
    std::size_t n = 0;
    for (std::int32_t h = tip.height; h >= chain.root().height && n < times.size(); --h)
        times[n++] = chain.at_height(h)->header.time;
    const std::int64_t mtp = median_time({times.data(), n});
    const auto mintime = static_cast<std::uint32_t>(mtp + 1);
    const auto curtime = static_cast<std::uint32_t>(std::max<std::int64_t>(now_s, mintime));

    const header_info prev{tip.height, tip.header.time, tip.header.bits};
    auto bits = next_work_required(params, prev, curtime, [&](std::int32_t at) -> std::optional<header_info> {
        const header_entry* e = chain.at_height(at);
        if (!e) return std::nullopt;
        return header_info{e->height, e->header.time, e->header.bits};
    });
    if (!bits) {
        // An anchored chain without the ancestors the rule reads. A chain that never
        // retargets (regtest) keeps its genesis bits in every header, so the tip's are
        // right; elsewhere only off a retarget boundary is the answer known (the tip's
        // bits), and only where no min-difficulty rule applies.
        if (!params.no_retargeting &&
            (params.allow_min_difficulty || height % params.retarget_interval() == 0))
            return make_error_code(p2p_errc::header_bad_diffbits);
        bits = tip.header.bits;
    }

    block_template t;
    t.origin = template_origin::p2p_headers;
    t.coin = params.coin;
    t.height = static_cast<std::uint32_t>(height);
    t.prev_block = tip.hash;
    t.version = header_only_block_version;
    t.version_u32 = static_cast<std::uint32_t>(header_only_block_version);
    t.bits = *bits;
    t.target = compact_to_target(*bits).target;
    t.curtime = curtime;
    t.mintime = mintime;
    t.coinbase_value = params.subsidy(height);
    // No transactions, so no witness data and no commitment needed (BIP141).
    t.segwit_active = false;
    return t;
}

}  // namespace sb::node::p2p
