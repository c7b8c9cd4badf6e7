// The KAWPOW (Ravencoin) Stratum session state machine, without sockets (stratum.md §5):
// the dialect of kawpowminer, T-Rex and XMRig. Lines in, lines out, like session_protocol;
// the difference that shapes the API is the share check: KAWPOW light verification takes
// milliseconds, so a submit is not judged here but handed out as a pending_submit, which
// the server verifies off its I/O threads (work_source::submit_kawpow_share) and brings
// back through on_verdict on the session's strand. Not thread-safe: one strand at a time.
//
// Flow: subscribe → result [null, "<2-byte nonce prefix hex>"]; authorize → true, then
// mining.set_target and mining.notify (clean); a new job → set_target when the share target
// changed, then notify with the target in params[3] (kawpowminer reads it only there).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "stratum/codec.hpp"
#include "stratum/protocol.hpp"
#include "stratum/vardiff.hpp"
#include "stratum/work_source.hpp"

namespace sb::bridge::stratum {

class kawpow_session_protocol {
public:
    using clock = std::chrono::steady_clock;

    // A submit waiting for its verdict.
    struct pending_submit {
        json_id id;
        consumer_id consumer = 0;
        kawpow_share share;
    };

    struct output {
        std::vector<std::string> lines;      // each ends in "\n", to be sent in order
        std::string close_reason;            // non-empty: close the connection
        std::vector<pending_submit> verify;  // to judge off the I/O thread, then on_verdict
    };

    kawpow_session_protocol(work_source& source, std::shared_ptr<work_consumer> consumer, session_settings settings,
                            clock::time_point now);
    ~kawpow_session_protocol();
    kawpow_session_protocol(const kawpow_session_protocol&) = delete;
    kawpow_session_protocol& operator=(const kawpow_session_protocol&) = delete;

    // One inbound line (terminator stripped, not blank).
    void on_line(std::string_view line, clock::time_point now, output& out);
    // A job from the work source (already on this session's strand). Jobs without KAWPOW
    // work are ignored.
    void on_job(std::shared_ptr<const job> j, clock::time_point now, output& out);
    // The verdict of a pending submit: the reply, statistics, vardiff, reject counting.
    void on_verdict(const pending_submit& p, const share_result& r, clock::time_point now, output& out);

    clock::time_point deadline() const noexcept;
    std::string check_timeout(clock::time_point now) const;
    void release() noexcept;

    session_stats& stats() noexcept { return stats_; }
    const session_stats& stats() const noexcept { return stats_; }
    bool subscribed() const noexcept { return subscribed_; }
    bool authorized() const noexcept { return authorized_; }
    // Submits handed out and not yet brought back through on_verdict.
    std::size_t pending() const noexcept { return pending_; }

private:
    struct tracked_job {
        std::shared_ptr<const job> j;
        double difficulty = 0;
    };

    void on_subscribe(const message& m, clock::time_point now, output& out);
    void on_authorize(const message& m, clock::time_point now, output& out);
    void on_submit(const message& m, clock::time_point now, output& out);
    void reject(const json_id& id, int code, std::string_view text, output& out);
    void count_reject(output& out);
    void send_job(const std::shared_ptr<const job>& j, bool force_clean, clock::time_point now, output& out);
    const tracked_job* find_job(std::string_view id) const noexcept;
    void log(std::string_view what) const;

    work_source& source_;
    std::shared_ptr<work_consumer> consumer_;
    session_settings settings_;
    vardiff vardiff_;
    clock::time_point created_at_;
    clock::time_point last_activity_;

    bool subscribed_ = false;
    bool authorized_ = false;
    bool registered_ = false;
    registration reg_;
    bytes payout_script_;
    std::shared_ptr<const job> latest_job_;
    bool notified_ = false;
    double target_sent_difficulty_ = 0;  // difficulty of the last set_target (0: none)
    std::deque<tracked_job> jobs_;
    session_stats stats_;
    std::uint32_t consecutive_rejects_ = 0;
    std::size_t pending_ = 0;
};

}  // namespace sb::bridge::stratum
