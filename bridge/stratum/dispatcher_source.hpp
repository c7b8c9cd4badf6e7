// The dispatcher as a Stratum server's work source. Sessions can outlive the server
// (their last handlers run while the io_context drains), so they share ownership of it.
#pragma once

#include <memory>

#include "dispatch/dispatcher.hpp"
#include "stratum/work_source.hpp"

namespace sb::bridge::stratum {

class dispatcher_source final : public work_source {
public:
    explicit dispatcher_source(std::shared_ptr<dispatcher> d) : d_(std::move(d)) {}
    registration add_consumer(std::shared_ptr<work_consumer> c) override {
        auto slot = d_->add_consumer(std::move(c));
        return {slot.id, std::move(slot.extranonce1)};
    }
    void remove_consumer(consumer_id id) override { d_->remove_consumer(id); }
    std::error_code set_payout(consumer_id id, byte_span script) override { return d_->set_payout(id, script); }
    std::shared_ptr<const job> current_job(consumer_id id) override { return d_->current_job(id); }
    share_result submit_share(consumer_id id, const share& s) override { return d_->submit_share(id, s); }
    share_result submit_kawpow_share(consumer_id id, const kawpow_share& s) override {
        return d_->submit_kawpow_share(id, s);
    }

private:
    std::shared_ptr<dispatcher> d_;
};

}  // namespace sb::bridge::stratum
