// A scripted work_source for Stratum tests: hands out extranonce1 f0000001, f0000002, …,
// pushes jobs on demand, and judges shares for real (header rebuild, sha256d, share
// target) unless a verdict is forced. Thread-safe: sessions call it from I/O threads.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "dispatch/job.hpp"
#include "sb/core/bytes.hpp"
#include "sb/core/uint256.hpp"
#include "stratum/protocol.hpp"
#include "stratum/work_source.hpp"

namespace sb::test {

class scripted_source final : public bridge::stratum::work_source {
public:
    bridge::stratum::registration add_consumer(std::shared_ptr<bridge::work_consumer> c) override;
    void remove_consumer(bridge::consumer_id id) override;
    std::error_code set_payout(bridge::consumer_id id, byte_span script_pubkey) override;
    std::shared_ptr<const bridge::job> current_job(bridge::consumer_id id) override;
    bridge::share_result submit_share(bridge::consumer_id id, const bridge::share& s) override;

    // Makes j the current job and calls on_job of every live consumer.
    void push_job(std::shared_ptr<const bridge::job> j);
    // Forces every verdict from now on (nullopt: judge for real), with block as the
    // verdict's block flag (the dispatcher sets it whatever the status says).
    void force_verdict(std::optional<bridge::share_status> s, bool block = false);

    std::vector<bridge::share> shares() const;
    std::vector<bytes> payouts() const;
    std::size_t live_consumers() const;
    std::size_t removed_consumers() const;

private:
    struct consumer {
        bridge::consumer_id id;
        bytes extranonce1;
        std::shared_ptr<bridge::work_consumer> c;
    };
    mutable std::mutex mutex_;
    std::vector<consumer> consumers_;
    std::vector<std::shared_ptr<const bridge::job>> jobs_;
    std::shared_ptr<const bridge::job> current_;
    std::vector<bridge::share> shares_;
    std::vector<bytes> payouts_;
    std::optional<bridge::share_status> forced_;
    bool forced_block_ = false;
    bridge::consumer_id next_id_ = 1;
    std::size_t removed_ = 0;
};

// The job of the cpuminer capture (tests/vectors/stratum_cpuminer.json), extranonce2
// size en2_size, with the given id and ntime (defaults: the capture's).
std::shared_ptr<const bridge::job> cpuminer_job(std::size_t en2_size = 4, const std::string& id = "11",
                                                std::optional<std::uint32_t> ntime = std::nullopt,
                                                bool clean = true);

// The capture's job with regtest's bits (207fffff, powLimit: network difficulty ~4.7e-10,
// about every other hash a block), as a regtest template gives it.
std::shared_ptr<const bridge::job> regtest_job(std::size_t en2_size, const std::string& id, bool clean = true);

// The first nonce from `from` whose header for j (j's ntime and version) hashes to a value
// that pred accepts; fails the test when none of the next 100000 does.
std::uint32_t nonce_where(const bridge::job& j, byte_span extranonce1, byte_span extranonce2,
                          const std::function<bool(const uint256&)>& pred, std::uint32_t from = 0);

// The text of each line a session produced.
std::vector<std::string> texts(const std::vector<bridge::stratum::out_line>& lines);

}  // namespace sb::test
