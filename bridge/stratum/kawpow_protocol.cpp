#include "stratum/kawpow_protocol.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "sb/core/hex.hpp"
#include "sb/core/pow.hpp"
#include "stratum/protocol_common.hpp"

namespace sb::bridge::stratum {

namespace {

// Answered result:true and otherwise ignored: hashrate reports (kawpowminer id 9, T-Rex),
// and the extensions SHA-256d miners also send (stratum.md §5 "KAWPOW client quirks").
constexpr std::array<std::string_view, 5> harmless_methods = {
    "eth_submitHashrate", "mining.extranonce.subscribe", "mining.hashrate", "mining.ping", "mining.multi_version",
};

// A 32-byte hash from 64 hex digits with an optional "0x" (either case).
std::optional<hash256> hash_param(std::string_view hex) {
    if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex.remove_prefix(2);
    if (hex.size() != 64) return std::nullopt;
    auto h = from_hex_fixed<32>(hex);
    if (!h) return std::nullopt;
    return *h;
}

}  // namespace

kawpow_session_protocol::kawpow_session_protocol(work_source& source, std::shared_ptr<work_consumer> consumer,
                                                 session_settings settings, clock::time_point now)
    : source_(source),
      consumer_(std::move(consumer)),
      settings_(std::move(settings)),
      vardiff_(settings_.difficulty, now),
      created_at_(now),
      last_activity_(now) {
    stats_.connected_at = std::chrono::system_clock::now();
}

kawpow_session_protocol::~kawpow_session_protocol() { release(); }

void kawpow_session_protocol::release() noexcept {
    if (!registered_) return;
    registered_ = false;
    source_.remove_consumer(reg_.id);
}

void kawpow_session_protocol::log(std::string_view what) const {
    if (settings_.log) settings_.log(what);
}

kawpow_session_protocol::clock::time_point kawpow_session_protocol::deadline() const noexcept {
    return subscribed_ ? last_activity_ + settings_.share_idle_timeout : created_at_ + settings_.subscribe_timeout;
}

std::string kawpow_session_protocol::check_timeout(clock::time_point now) const {
    if (now < deadline()) return {};
    return subscribed_ ? "no share within the idle timeout" : "no mining.subscribe within the subscribe timeout";
}

void kawpow_session_protocol::on_line(std::string_view line, clock::time_point now, output& out) {
    auto parsed = parse_line(line);
    if (!parsed) {
        out.close_reason = "protocol violation: " + parsed.error().message();
        return;
    }
    const message& m = *parsed;
    if (m.is_response()) return;
    const std::string& method = m.method;
    if (method == "mining.submit") {
        on_submit(m, now, out);
    } else if (method == "mining.subscribe") {
        on_subscribe(m, now, out);
    } else if (method == "mining.authorize") {
        on_authorize(m, now, out);
    } else if (method == "mining.suggest_difficulty" || method == "mining.suggest_target") {
        // Hints are welcome but optional; the vardiff decides.
        if (const auto* v = param(m, 0); v != nullptr && method == "mining.suggest_difficulty")
            if (const auto d = difficulty_value(*v)) vardiff_.suggest(*d, now);
        out.lines.push_back(reply_bool(m.id, true));
    } else if (std::find(harmless_methods.begin(), harmless_methods.end(), method) != harmless_methods.end()) {
        out.lines.push_back(reply_bool(m.id, true));
    } else {
        out.lines.push_back(reply_error(m.id, 20, "Unknown method"));
    }
}

void kawpow_session_protocol::on_subscribe(const message& m, clock::time_point now, output& out) {
    if (!subscribed_) {
        reg_ = source_.add_consumer(consumer_);
        if (reg_.id == 0) {
            out.lines.push_back(reply_error(m.id, 20, "No nonce prefix left on this server"));
            out.close_reason = "every nonce prefix is in use";
            return;
        }
        registered_ = true;
        subscribed_ = true;
        last_activity_ = now;
        stats_.extranonce1 = to_hex(reg_.extranonce1);
        stats_.subscribed = true;
        if (is_string_param(m, 0)) stats_.user_agent = printable(string_param(m, 0), max_user_agent_chars);
    }
    out.lines.push_back(reply_kawpow_subscribe(m.id, stats_.extranonce1));
}

void kawpow_session_protocol::on_authorize(const message& m, clock::time_point now, output& out) {
    if (!subscribed_) {
        out.lines.push_back(reply_error(m.id, 25, "Not subscribed"));
        return;
    }
    if (!is_string_param(m, 0) || string_param(m, 0).size() > max_worker_chars) {
        out.lines.push_back(reply_error(m.id, 24, "Unauthorized worker"));
        return;
    }
    const std::string user(string_param(m, 0));
    if (settings_.payout == config::payout_mode::address_username) {
        auto script = username_payout_script(user, settings_.net);
        if (!script) {
            log("authorize refused for '" + printable(user, max_worker_chars) +
                "': not a payout address: " + script.error().message());
            out.lines.push_back(reply_error(m.id, 24, "Unauthorized worker: invalid payout address"));
            return;
        }
        if (authorized_ && *script != payout_script_) {
            out.lines.push_back(reply_error(m.id, 24, "Unauthorized worker: payout address cannot change"));
            return;
        }
        if (!authorized_) {
            if (auto ec = source_.set_payout(reg_.id, *script)) {
                log("set_payout failed: " + ec.message());
                out.lines.push_back(reply_error(m.id, 20, "Payout address refused"));
                return;
            }
            payout_script_ = std::move(*script);
        }
    }
    if (const auto d = password_difficulty(string_param(m, 1))) vardiff_.suggest(*d, now);

    const bool first = !authorized_;
    authorized_ = true;
    stats_.authorized = true;
    stats_.worker = printable(user, max_worker_chars);
    out.lines.push_back(reply_bool(m.id, true));
    if (!first) return;
    auto j = source_.current_job(reg_.id);
    if (!j) j = latest_job_;
    latest_job_.reset();
    if (j && j->kawpow) send_job(j, true, now, out);
}

void kawpow_session_protocol::reject(const json_id& id, int code, std::string_view text, output& out) {
    out.lines.push_back(reply_error(id, code, text));
    count_reject(out);
}

void kawpow_session_protocol::on_submit(const message& m, clock::time_point now, output& out) {
    // KAWPOW miners read a plain error array; no "reject-reason" key (stratum.md §5).
    if (!subscribed_) {
        out.lines.push_back(reply_error(m.id, 25, "Not subscribed"));
        return;
    }
    if (!authorized_) {
        out.lines.push_back(reply_error(m.id, 24, "Unauthorized worker"));
        return;
    }
    last_activity_ = now;
    const std::size_t n = param_count(m);
    bool ok = n == 5;
    for (std::size_t i = 0; ok && i < n; ++i) ok = is_string_param(m, i);
    if (!ok) return reject(m.id, 20, "Invalid submit params", out);

    std::string_view nonce_hex = string_param(m, 2);
    if (nonce_hex.size() >= 2 && nonce_hex[0] == '0' && (nonce_hex[1] == 'x' || nonce_hex[1] == 'X'))
        nonce_hex.remove_prefix(2);
    const auto nonce = nonce_hex.size() == 16 ? parse_hex_u64(nonce_hex) : std::nullopt;
    if (!nonce) return reject(m.id, 20, "incorrect size of nonce, must be 8 bytes", out);
    const auto header_hash = hash_param(string_param(m, 3));
    if (!header_hash) return reject(m.id, 20, "invalid header hash", out);
    const auto mix_hash = hash_param(string_param(m, 4));
    if (!mix_hash) return reject(m.id, 20, "invalid mix hash", out);
    if (pending_ >= max_pending_kawpow_submits) return reject(m.id, 20, "too many shares awaiting verification", out);

    pending_submit p;
    p.id = m.id;
    p.consumer = reg_.id;
    p.share.worker = printable(string_param(m, 0), max_worker_chars);
    p.share.job_id = std::string(string_param(m, 1).substr(0, max_job_id_chars + 1));
    p.share.nonce = *nonce;
    p.share.header_hash = *header_hash;
    p.share.mix_hash = *mix_hash;
    const tracked_job* t = find_job(p.share.job_id);
    p.share.difficulty = t != nullptr ? t->difficulty : vardiff_.current();
    ++pending_;
    out.verify.push_back(std::move(p));
}

void kawpow_session_protocol::on_verdict(const pending_submit& p, const share_result& r, clock::time_point now,
                                         output& out) {
    if (pending_ > 0) --pending_;
    if (r.block) {
        ++stats_.blocks;
        log("block found by '" + p.share.worker + "' (job " + p.share.job_id + ")");
    }
    if (r.status == share_status::accepted) {
        ++stats_.accepted;
        consecutive_rejects_ = 0;
        stats_.accepted_difficulty += p.share.difficulty;
        stats_.best_share_difficulty = std::max(stats_.best_share_difficulty, r.hash_difficulty);
        stats_.last_share_at = std::chrono::system_clock::now();
        vardiff_.on_share(now);
        out.lines.push_back(reply_bool(p.id, true));
        return;
    }
    const int code = r.stratum_code != 0 ? r.stratum_code : stratum_error_code(r.status);
    reject(p.id, code, r.reason.empty() ? std::string_view(stratum_error_message(r.status)) : r.reason, out);
}

void kawpow_session_protocol::count_reject(output& out) {
    ++stats_.rejected;
    if (++consecutive_rejects_ > max_consecutive_rejects)
        out.close_reason = "more than " + std::to_string(max_consecutive_rejects) + " rejected shares in a row";
}

void kawpow_session_protocol::on_job(std::shared_ptr<const job> j, clock::time_point now, output& out) {
    if (!j || !j->kawpow || !subscribed_) return;
    // Never re-send a job id (XMRig closes the connection on a duplicate job).
    if (find_job(j->id) != nullptr) return;
    if (!authorized_) {
        latest_job_ = std::move(j);
        return;
    }
    send_job(j, !notified_, now, out);
}

void kawpow_session_protocol::send_job(const std::shared_ptr<const job>& j, bool force_clean,
                                       clock::time_point now, output& out) {
    (void)vardiff_.retarget(now, difficulty_from_bits(j->bits));
    const double d = vardiff_.current();
    const uint256 target = target_from_difficulty(d);
    kawpow_notify_params n = to_kawpow_notify(*j, target);
    if (force_clean) n.clean_jobs = true;
    // T-Rex and others take the target from set_target; kawpowminer and XMRig from the
    // notify. Both always agree.
    if (d != target_sent_difficulty_) {
        out.lines.push_back(notify_set_target(n.target));
        target_sent_difficulty_ = d;
        stats_.difficulty = d;
    }
    out.lines.push_back(notify_kawpow_job(n));
    notified_ = true;
    jobs_.push_back({j, d});
    while (jobs_.size() > max_tracked_jobs) jobs_.pop_front();
}

const kawpow_session_protocol::tracked_job* kawpow_session_protocol::find_job(std::string_view id) const noexcept {
    for (auto it = jobs_.rbegin(); it != jobs_.rend(); ++it)
        if (it->j->id == id) return &*it;
    return nullptr;
}

}  // namespace sb::bridge::stratum
