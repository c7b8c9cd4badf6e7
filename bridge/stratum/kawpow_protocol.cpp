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

void kawpow_session_protocol::on_line(std::string_view line, clock::time_point now, output& out) {
    auto m = parse(line, out);
    if (!m || m->is_response()) return;
    const std::string& method = m->method;
    begin_request();
    if (method == "mining.submit") {
        on_submit(*m, now, out);
    } else if (method == "mining.subscribe") {
        if (subscribe(*m, now, out)) out.lines.push_back(reply_kawpow_subscribe(m->id, stats_.extranonce1));
    } else if (method == "mining.authorize") {
        if (authorize(*m, now, out))
            if (auto j = first_job(); j && j->kawpow) send_job(j, true, now, out);
    } else if (method == "mining.suggest_difficulty" || method == "mining.suggest_target") {
        // Hints are welcome but optional; the vardiff decides.
        if (const auto* v = param(*m, 0); v != nullptr && method == "mining.suggest_difficulty")
            if (const auto d = difficulty_value(*v)) vardiff_.suggest(*d, now);
        out.lines.push_back(reply_bool(m->id, true));
    } else if (std::find(harmless_methods.begin(), harmless_methods.end(), method) != harmless_methods.end()) {
        out.lines.push_back(reply_bool(m->id, true));
    } else {
        error_reply(out, m->id, 20, "Unknown method");
    }
    end_request();
}

void kawpow_session_protocol::on_submit(const message& m, clock::time_point now, output& out) {
    // KAWPOW miners read a plain error array; no "reject-reason" key (stratum.md §5).
    if (!subscribed_) return reject_share(out, m.id, 25, "Not subscribed", false, now);
    if (!authorized_) return reject_share(out, m.id, 24, "Unauthorized worker", false, now);
    last_activity_ = now;
    const std::size_t n = param_count(m);
    bool ok = n == 5;
    for (std::size_t i = 0; ok && i < n; ++i) ok = is_string_param(m, i);
    if (!ok) return reject_share(out, m.id, 20, "Invalid submit params", false, now);

    std::string_view nonce_hex = string_param(m, 2);
    if (nonce_hex.size() >= 2 && nonce_hex[0] == '0' && (nonce_hex[1] == 'x' || nonce_hex[1] == 'X'))
        nonce_hex.remove_prefix(2);
    const auto nonce = nonce_hex.size() == 16 ? parse_hex_u64(nonce_hex) : std::nullopt;
    if (!nonce) return reject_share(out, m.id, 20, "incorrect size of nonce, must be 8 bytes", false, now);
    const auto header_hash = hash_param(string_param(m, 3));
    if (!header_hash) return reject_share(out, m.id, 20, "invalid header hash", false, now);
    const auto mix_hash = hash_param(string_param(m, 4));
    if (!mix_hash) return reject_share(out, m.id, 20, "invalid mix hash", false, now);
    if (pending_ >= max_pending_kawpow_submits)
        return reject_share(out, m.id, 20, "too many shares awaiting verification", false, now);

    pending_submit p;
    p.id = m.id;
    p.consumer = reg_.id;
    p.share.worker = printable(string_param(m, 0), max_worker_chars);
    p.share.job_id = std::string(string_param(m, 1).substr(0, max_job_id_chars + 1));
    p.share.nonce = *nonce;
    p.share.header_hash = *header_hash;
    p.share.mix_hash = *mix_hash;
    const tracked_job* t = find_job(p.share.job_id);
    p.share.difficulty = t != nullptr ? t->difficulty : difficulty_in_force();
    ++pending_;
    out.verify.push_back(std::move(p));
}

void kawpow_session_protocol::on_verdict(const pending_submit& p, const share_result& r, clock::time_point now,
                                         output& out) {
    if (pending_ > 0) --pending_;
    reply_verdict(out, p.id, r, p.share.difficulty, p.share.worker, p.share.job_id, now, false);
}

void kawpow_session_protocol::on_job(std::shared_ptr<const job> j, clock::time_point now, output& out) {
    if (j && !j->kawpow) return;
    if (take_job(j)) send_job(j, !notified_, now, out);
}

void kawpow_session_protocol::send_job(const std::shared_ptr<const job>& j, bool force_clean,
                                       clock::time_point now, output& out) {
    // Never harder than the job's network target (job_difficulty), so a block is always
    // a share the miner sends.
    const double d = job_difficulty(*j, now);
    kawpow_notify_params n = to_kawpow_notify(*j, target_from_difficulty(d));
    if (force_clean) n.clean_jobs = true;
    // T-Rex and others take the target from set_target; kawpowminer and XMRig from the
    // notify. Both always agree.
    if (difficulty_changes(d)) out.lines.push_back(notify_set_target(n.target));
    out.lines.push_back(notify_kawpow_job(n));
    notified_ = true;
    track_job(j, d);
}

}  // namespace sb::bridge::stratum
