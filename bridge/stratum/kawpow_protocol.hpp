// The KAWPOW (Ravencoin) Stratum session state machine, without sockets (stratum.md §5):
// the dialect of kawpowminer, T-Rex and XMRig. Lines in, lines out, like session_protocol;
// the difference that shapes the API is the share check: KAWPOW light verification takes
// milliseconds, so a submit is not judged here but handed out as a pending_submit, which
// the server verifies off its I/O threads (work_source::submit_kawpow_share) and brings
// back through on_verdict on the session's strand. Not thread-safe: one strand at a time.
//
// Flow: subscribe → result [null, "<2-byte nonce prefix hex>"]; authorize → true, then
// mining.set_target and mining.notify (clean); a new job → set_target when the share target
// changed, then notify with the target in params[3] (kawpowminer reads it only there). The
// target is never below (harder than) the job's network target (protocol.hpp).
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "stratum/protocol.hpp"

namespace sb::bridge::stratum {

class kawpow_session_protocol final : public session_core {
public:
    using pending_submit = kawpow_pending_submit;

    kawpow_session_protocol(work_source& source, std::shared_ptr<work_consumer> consumer, session_settings settings,
                            clock::time_point now)
        : session_core(source, std::move(consumer), std::move(settings), now) {}

    // One inbound line (terminator stripped, not blank).
    void on_line(std::string_view line, clock::time_point now, output& out);
    // A job from the work source (already on this session's strand). Jobs without KAWPOW
    // work are ignored.
    void on_job(std::shared_ptr<const job> j, clock::time_point now, output& out);
    // The verdict of a pending submit: the reply, statistics, vardiff, reject counting.
    void on_verdict(const pending_submit& p, const share_result& r, clock::time_point now, output& out);

    // Submits handed out and not yet brought back through on_verdict.
    std::size_t pending() const noexcept { return pending_; }

private:
    void on_submit(const message& m, clock::time_point now, output& out);
    void send_job(const std::shared_ptr<const job>& j, bool force_clean, clock::time_point now, output& out);

    std::size_t pending_ = 0;
};

}  // namespace sb::bridge::stratum
