// The Stratum v1 (SHA-256d) session state machine, without sockets: lines in, lines out
// (stratum.md §0–§4). The Asio session (server.cpp) owns one and feeds it on its strand;
// tests drive it directly too. Not thread-safe: one strand at a time.
//
// States: connected → subscribed → authorized. Nothing unsolicited is sent before the
// subscribe reply (NerdMiner takes the next line as that reply); after authorize comes
// [set_version_mask], set_difficulty, notify(clean=true). A difficulty change is sent
// only right before a notify, and each job id remembers the difficulty in force when it
// was notified (share.difficulty), so older jobs keep theirs (ckpool's old_diff).
//
// A job's difficulty is never above its network difficulty (vardiff.hpp, both dialects):
// a job whose network target is easier than the session's difficulty is sent with the
// network difficulty (or target) before its notify, and the next job whose network
// difficulty allows it gets the session's own back. A share that met the network target
// went to the node as a block, so it is answered true and counted as accepted whatever
// else the verdict says (stale job, duplicate, low difficulty).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sb/core/log.hpp"
#include "sb/config/config.hpp"
#include "sb/core/chain.hpp"
#include "stratum/codec.hpp"
#include "stratum/limits.hpp"
#include "stratum/notify_cache.hpp"
#include "stratum/vardiff.hpp"
#include "stratum/work_source.hpp"

namespace sb::bridge::stratum {

struct session_settings {
    config::difficulty_settings difficulty;
    config::payout_mode payout = config::payout_mode::fixed_address;
    network net = network::bitcoin_regtest;  // address-username mode validates for it
    unsigned extranonce2_size = default_extranonce2_size;
    std::chrono::milliseconds subscribe_timeout = stratum::subscribe_timeout;
    std::chrono::milliseconds share_idle_timeout = stratum::share_idle_timeout;
    // Send mining.set_version_mask after authorize when version rolling was negotiated
    // (never before authorize: an S21+ firmware dropped the connection, DATUM PR #105).
    bool send_version_mask = true;
    // Rejected-submit pacing (limits.hpp): burst rejects at once, then this many per
    // second on average; past that the session asks its server to pause reading.
    std::uint32_t rejected_submit_burst = stratum::rejected_submit_burst;
    std::uint32_t rejected_submits_per_s = stratum::rejected_submits_per_s;
    // Where SHA-256d notify lines are built once per job for all sessions (the server's);
    // null: each session serializes its own.
    notify_cache* notifies = nullptr;
    // Lines are prefixed with the session's stats().remote and ": " when it is set.
    logger log;
};

// One connection as the dashboard shows it.
struct session_stats {
    std::uint64_t session_id = 0;  // server-assigned, unique per server
    std::string remote;            // ip:port
    bool tls = false;
    std::string user_agent;        // mining.subscribe params[0]
    std::string worker;            // mining.authorize username
    std::string extranonce1;       // hex
    // The work source's id of this consumer (0 before subscribe): the statistics match
    // share events (stats/share_event.hpp) to the connection by it.
    consumer_id consumer = 0;
    std::uint32_t version_mask = 0;  // BIP310 mask negotiated (0: no version rolling)
    bool subscribed = false;
    bool authorized = false;
    double difficulty = 0;         // last sent with set_difficulty / set_target (0: none yet)
    std::uint64_t accepted = 0;      // blocks included, whatever else their verdict said
    std::uint64_t rejected = 0;
    double accepted_difficulty = 0;  // sum of share difficulties accepted (work done)
    double best_share_difficulty = 0;
    std::uint64_t blocks = 0;
    std::chrono::system_clock::time_point connected_at{};
    std::optional<std::chrono::system_clock::time_point> last_share_at;
};

// Parses 1..8 hex digits (either case) as a big-endian uint32, left-padding short input
// (NerdMiner's unpadded nonce). nullopt for anything else.
std::optional<std::uint32_t> parse_u32_hex(std::string_view hex) noexcept;

// Why a session was closed, when the client violated the protocol: the server adds the
// matching ban score (limits.hpp) to the client's IP. Rejected shares, slow clients and
// TLS/plain mix-ups are not misbehaviour (limits.hpp "ban list").
enum class misbehaviour : std::uint8_t {
    none,
    garbage,        // a line that is not a valid Stratum JSON object; first bytes that are
                    // neither TLS nor Stratum on a TLS listener
    oversize_line,  // a line over max_line_bytes
    error_flood,    // error replies in a row past max_consecutive_errors
};

// The ban score of a kind of misbehaviour (0 for none).
std::uint32_t ban_score(misbehaviour m) noexcept;

// A KAWPOW submit waiting for its verdict (kawpow_protocol.hpp): verified off the I/O
// thread, then brought back to the session.
struct kawpow_pending_submit {
    json_id id;
    consumer_id consumer = 0;
    kawpow_share share;
};

// One line for the connection, ending in "\n": its own text, or a text shared by the
// sessions of a server (a SHA-256d notify, built once per job by the notify_cache), which
// every session then writes from the same bytes instead of a copy each.
class out_line {
public:
    out_line(std::string text) noexcept : own_(std::move(text)) {}  // NOLINT(google-explicit-constructor)
    out_line(std::shared_ptr<const std::string> shared) noexcept  // NOLINT(google-explicit-constructor)
        : shared_(std::move(shared)) {}

    std::string_view text() const noexcept { return shared_ ? std::string_view(*shared_) : std::string_view(own_); }
    bool shared() const noexcept { return shared_ != nullptr; }
    friend bool operator==(const out_line& a, std::string_view b) noexcept { return a.text() == b; }

private:
    std::shared_ptr<const std::string> shared_;
    std::string own_;
};

// What a session state machine hands the server after each event.
struct session_output {
    std::vector<out_line> lines;  // to be sent in order
    std::string close_reason;        // non-empty: close the connection (after nothing more)
    misbehaviour why = misbehaviour::none;       // with close_reason
    // Set (after the epoch): handle no further line of this connection before then
    // (rejected-submit pacing); the lines already received wait, in order.
    std::chrono::steady_clock::time_point pause_until{};
    std::vector<kawpow_pending_submit> verify;   // KAWPOW: to judge off the I/O thread
};

// What both dialects share: registration at subscribe, authorize with the payout modes,
// the subscribe and share-idle timeouts, error-reply counting with its flood cap,
// rejected-submit pacing, and the jobs sent with the difficulty each was sent with. Not
// thread-safe.
class session_core {
public:
    using clock = std::chrono::steady_clock;
    using output = session_output;

    session_core(const session_core&) = delete;
    session_core& operator=(const session_core&) = delete;

    // When the session times out if nothing happens before (subscribe or share idle).
    clock::time_point deadline() const noexcept;
    // The close reason when deadline() has passed, else empty. Neither timeout is
    // misbehaviour (limits.hpp "ban list").
    std::string check_timeout(clock::time_point now) const;

    // Unregisters from the work source (idempotent; the destructor calls it).
    void release() noexcept;

    session_stats& stats() noexcept { return stats_; }
    const session_stats& stats() const noexcept { return stats_; }
    bool subscribed() const noexcept { return subscribed_; }
    bool authorized() const noexcept { return authorized_; }

protected:
    struct tracked_job {
        std::shared_ptr<const job> j;
        double difficulty = 0;
    };

    // consumer: what the work source calls on_job on (registered at subscribe).
    session_core(work_source& source, std::shared_ptr<work_consumer> consumer, session_settings settings,
                 clock::time_point now);
    ~session_core();

    // The parsed line, or nullopt after setting a garbage close.
    std::optional<message> parse(std::string_view line, output& out);
    // Bracket the handling of one request: a request answered without an error resets
    // the error-reply count.
    void begin_request() noexcept { errored_ = false; }
    void end_request() noexcept {
        if (!errored_) consecutive_errors_ = 0;
    }
    // Replies with an error (not a share verdict) and counts it; closes the session past
    // max_consecutive_errors.
    void error_reply(output& out, const json_id& id, int code, std::string_view text, bool reject_reason = false);
    // A rejected share (or a submit refused before authorize): the reply and the count.
    // Never closes the session; past the rejected-submit bucket it sets out.pause_until.
    void reject_share(output& out, const json_id& id, int code, std::string_view text, bool reject_reason,
                      clock::time_point now);
    // Registers with the source at the first subscribe. False (after an error reply and a
    // close) when the source has no extranonce1 left.
    bool subscribe(const message& m, clock::time_point now, output& out);
    // mining.authorize: subscribe first, a worker name, the payout address in
    // address-username mode (refused with what the username must be: a payout address
    // of this network, protocol_common.hpp payout_username_error), "d=N" in the password;
    // replies. True only for the first successful authorize (the caller then sends its
    // first job).
    bool authorize(const message& m, clock::time_point now, output& out);
    // The job to notify right after the first authorize (null: none yet).
    std::shared_ptr<const job> first_job();
    // A job from the source: true when the caller should send it now (subscribed,
    // authorized, never sent); before authorize the newest is kept for first_job().
    bool take_job(std::shared_ptr<const job>& j);
    // The share difficulty for j, about to be notified: the vardiff retargeted now, then
    // never above j's network difficulty (network_share_difficulty of j.target), so that
    // its target (target_from_difficulty) is never harder than the network target. The one
    // rule for both dialects; d=N, suggestions, difficulty.min and the configure floor
    // all yield to it.
    double job_difficulty(const job& j, clock::time_point now);
    // The difficulty the miner was last told (set_difficulty / set_target), else the
    // vardiff's: what a share of a job this session does not know is judged at.
    double difficulty_in_force() const noexcept;
    // Whether d differs from the difficulty last sent (or none was sent); records d as
    // sent when it does (the caller then sends it).
    bool difficulty_changes(double d);
    void track_job(std::shared_ptr<const job> j, double difficulty);
    const tracked_job* find_job(std::string_view id) const noexcept;
    // The reply to a judged share, its statistics and the vardiff: true for an accepted
    // share and for a block whatever its status (the block went to the node; the status
    // is logged with it), else the verdict's error.
    void reply_verdict(output& out, const json_id& id, const share_result& r, double difficulty,
                       std::string_view worker, std::string_view job_id, clock::time_point now, bool reject_reason);
    // Statistics and vardiff of an accepted share (difficulty: its job's).
    void count_accept(double difficulty, double hash_difficulty, clock::time_point now);
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
    bytes payout_script_;                    // address-username mode
    std::shared_ptr<const job> latest_job_;  // newest job received before it could be sent
    bool notified_ = false;                  // a notify went out since authorize
    // At most max_tracked_jobs, a ring once full (jobs_oldest_: where the next one goes).
    // A vector (no allocation until the first notify, 24 bytes an entry) rather than a
    // deque, which allocates ~600 bytes at once.
    std::vector<tracked_job> jobs_;
    std::size_t jobs_oldest_ = 0;
    session_stats stats_;

private:
    std::optional<double> sent_difficulty_;  // last set_difficulty / set_target
    clock::time_point reject_full_at_;       // the rejected-submit bucket (limits.hpp): full again then
    bool pacing_logged_ = false;             // the first pause of this session was logged
    std::uint32_t consecutive_errors_ = 0;   // reset by a request answered without error
    bool errored_ = false;                   // the current request got an error reply
};

// The SHA-256d dialect.
class session_protocol final : public session_core {
public:
    session_protocol(work_source& source, std::shared_ptr<work_consumer> consumer, session_settings settings,
                     clock::time_point now)
        : session_core(source, std::move(consumer), std::move(settings), now) {}

    // One inbound line (terminator stripped, not blank).
    void on_line(std::string_view line, clock::time_point now, output& out);
    // A job from the work source (already on this session's strand).
    void on_job(std::shared_ptr<const job> j, clock::time_point now, output& out);

    std::uint32_t version_mask() const noexcept { return version_mask_; }

private:
    void on_configure(const message& m, output& out);
    void on_authorize(const message& m, clock::time_point now, output& out);
    void on_submit(const message& m, clock::time_point now, output& out);
    void on_suggest_difficulty(const message& m, clock::time_point now, output& out);
    void send_job(const std::shared_ptr<const job>& j, bool force_clean, clock::time_point now, output& out);

    bool configured_ = false;  // mining.configure negotiated version-rolling
    std::uint32_t version_mask_ = 0;
    std::optional<double> last_suggestion_;
};

}  // namespace sb::bridge::stratum
