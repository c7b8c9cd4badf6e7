#include "dispatch/tip_tracker.hpp"

namespace sb::bridge {

template_verdict tip_tracker::on_template(const hash256& prev_block, std::uint32_t height, clock::time_point now) {
    const chain_tip parent{prev_block, height == 0 ? 0 : height - 1};
    if (!best_ || best_->hash == parent.hash) {
        best_ = parent;
        behind_since_.reset();
        return template_verdict::on_best;
    }
    if (parent.height >= best_->height) {
        best_ = parent;
        behind_since_.reset();
        return template_verdict::newer;
    }
    if (!behind_since_) behind_since_ = now;
    if (now - *behind_since_ < max_node_lag_) return template_verdict::behind;
    best_ = parent;
    behind_since_.reset();
    return template_verdict::after_lag;
}

p2p_verdict tip_tracker::on_p2p_tip(const hash256& hash, std::uint32_t height) {
    if (best_ && best_->hash == hash) return p2p_verdict::known;
    if (best_ && height <= best_->height) return p2p_verdict::ignored;
    best_ = chain_tip{hash, height};
    // The node's lag is measured from its first template behind this tip, not before.
    behind_since_.reset();
    return p2p_verdict::news;
}

std::string_view to_string(template_verdict v) noexcept {
    switch (v) {
        case template_verdict::on_best: return "on the best tip";
        case template_verdict::newer: return "on a newer tip";
        case template_verdict::behind: return "behind the best tip";
        case template_verdict::after_lag: return "behind the best tip, followed after the node's lag";
    }
    return "unknown";
}

}  // namespace sb::bridge
