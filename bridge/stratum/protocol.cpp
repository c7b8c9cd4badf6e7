#include "stratum/protocol.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <utility>

#include "sb/core/hex.hpp"
#include "stratum/protocol_common.hpp"

namespace sb::bridge::stratum {

namespace {

// Methods answered with result:true and otherwise ignored (stratum.md §0.12).
constexpr std::array<std::string_view, 6> harmless_methods = {
    "mining.extranonce.subscribe", "mining.multi_version", "mining.hashrate",
    "eth_submitHashrate",          "mining.suggest_target", "mining.ping",
};

}  // namespace

std::uint32_t ban_score(misbehaviour m) noexcept {
    switch (m) {
        case misbehaviour::none: return 0;
        case misbehaviour::garbage: return ban_score_garbage;
        case misbehaviour::oversize_line: return ban_score_oversize_line;
        case misbehaviour::error_flood: return ban_score_error_flood;
    }
    return 0;
}

std::optional<std::uint32_t> parse_u32_hex(std::string_view hex) noexcept {
    if (hex.empty() || hex.size() > 8) return std::nullopt;
    std::uint32_t v = 0;
    for (char c : hex) {
        const int d = hex_digit_value(c);
        if (d < 0) return std::nullopt;
        v = (v << 4) | static_cast<std::uint32_t>(d);
    }
    return v;
}

// ---- session_core --------------------------------------------------------------------

session_core::session_core(work_source& source, std::shared_ptr<work_consumer> consumer, session_settings settings,
                           clock::time_point now)
    : source_(source),
      consumer_(std::move(consumer)),
      settings_(std::move(settings)),
      vardiff_(settings_.difficulty, now),
      created_at_(now),
      last_activity_(now),
      reject_full_at_(now) {
    stats_.connected_at = std::chrono::system_clock::now();
}

session_core::~session_core() { release(); }

void session_core::release() noexcept {
    if (!registered_) return;
    registered_ = false;
    source_.remove_consumer(reg_.id);
}

void session_core::log(std::string_view what) const {
    if (stats_.remote.empty())
        settings_.log(what);
    else
        settings_.log(stats_.remote + ": " + std::string(what));
}

session_core::clock::time_point session_core::deadline() const noexcept {
    return subscribed_ ? last_activity_ + settings_.share_idle_timeout : created_at_ + settings_.subscribe_timeout;
}

std::string session_core::check_timeout(clock::time_point now) const {
    if (now < deadline()) return {};
    return subscribed_ ? "no share within the idle timeout" : "no mining.subscribe within the subscribe timeout";
}

std::optional<message> session_core::parse(std::string_view line, output& out) {
    auto parsed = parse_line(line);
    if (!parsed) {
        out.close_reason = "protocol violation: " + parsed.error().message();
        out.why = misbehaviour::garbage;
        return std::nullopt;
    }
    return std::move(*parsed);
}

void session_core::error_reply(output& out, const json_id& id, int code, std::string_view text, bool reject_reason) {
    out.lines.push_back(reply_error(id, code, text, reject_reason));
    errored_ = true;
    if (++consecutive_errors_ > max_consecutive_errors && out.close_reason.empty()) {
        out.close_reason =
            "protocol violation: more than " + std::to_string(max_consecutive_errors) + " error replies in a row";
        out.why = misbehaviour::error_flood;
    }
}

void session_core::reject_share(output& out, const json_id& id, int code, std::string_view text, bool reject_reason,
                                clock::time_point now) {
    out.lines.push_back(reply_error(id, code, text, reject_reason));
    ++stats_.rejected;
    // The token bucket (limits.hpp) kept as the time it is full again: each reject adds
    // one token's interval; more than burst - 1 intervals ahead of now leaves less than
    // one token, and the connection pauses until there is one again.
    const auto burst = settings_.rejected_submit_burst;
    const auto rate = settings_.rejected_submits_per_s;
    if (rate == 0 || burst == 0) return;
    const auto interval = std::chrono::duration_cast<clock::duration>(std::chrono::seconds(1)) / rate;
    reject_full_at_ = std::max(reject_full_at_, now) + interval;
    const auto one_token_at = reject_full_at_ - interval * (burst - 1);
    if (one_token_at <= now) return;
    out.pause_until = std::max(out.pause_until, one_token_at);
    if (!pacing_logged_) {
        pacing_logged_ = true;
        log("more than " + std::to_string(settings_.rejected_submit_burst) + " rejected submits at a rate over " +
            std::to_string(rate) +
            "/s: reading is paused between them (the miner is slowed, not closed; logged once per connection)");
    }
}

void session_core::reply_verdict(output& out, const json_id& id, const share_result& r, double difficulty,
                                 std::string_view worker, std::string_view job_id, clock::time_point now,
                                 bool reject_reason) {
    if (r.block) {
        ++stats_.blocks;
        std::string what = "block found by '" + std::string(worker) + "' (job " + std::string(job_id) + ")";
        // DESIGN.md §3: the block went to the node whatever else is wrong with the share;
        // a reply that says otherwise would contradict the bridge.
        if (r.status != share_status::accepted)
            what += "; answered true although the share was also '" +
                    (r.reason.empty() ? std::string(stratum_error_message(r.status)) : r.reason) + "'";
        log(what);
    }
    if (r.status == share_status::accepted || r.block) {
        count_accept(difficulty, r.hash_difficulty, now);
        out.lines.push_back(reply_bool(id, true));
        return;
    }
    const int code = r.stratum_code != 0 ? r.stratum_code : stratum_error_code(r.status);
    reject_share(out, id, code, r.reason.empty() ? std::string_view(stratum_error_message(r.status)) : r.reason,
                 reject_reason, now);
}

void session_core::count_accept(double difficulty, double hash_difficulty, clock::time_point now) {
    ++stats_.accepted;
    stats_.accepted_difficulty += difficulty;
    stats_.best_share_difficulty = std::max(stats_.best_share_difficulty, hash_difficulty);
    stats_.last_share_at = std::chrono::system_clock::now();
    vardiff_.on_share(now, difficulty);
}

bool session_core::subscribe(const message& m, clock::time_point now, output& out) {
    if (subscribed_) return true;
    reg_ = source_.add_consumer(consumer_);
    if (reg_.id == 0) {
        error_reply(out, m.id, 20, "No extranonce left on this server");
        out.close_reason = "every extranonce1 is in use";
        return false;
    }
    registered_ = true;
    subscribed_ = true;
    last_activity_ = now;
    stats_.extranonce1 = to_hex(reg_.extranonce1);
    stats_.consumer = reg_.id;
    stats_.subscribed = true;
    if (is_string_param(m, 0)) stats_.user_agent = printable(string_param(m, 0), max_user_agent_chars);
    return true;
}

bool session_core::authorize(const message& m, clock::time_point now, output& out) {
    if (!subscribed_) {
        error_reply(out, m.id, 25, "Not subscribed");
        return false;
    }
    if (!is_string_param(m, 0) || string_param(m, 0).size() > max_worker_chars) {
        error_reply(out, m.id, 24, "Unauthorized worker");
        return false;
    }
    const std::string user(string_param(m, 0));
    if (settings_.payout == config::payout_mode::address_username) {
        auto script = username_payout_script(user, settings_.net);
        if (!script) {
            const std::string why = payout_username_error(user, settings_.net, script.error());
            log("authorize refused for '" + printable(user, max_worker_chars) + "': " + why);
            error_reply(out, m.id, 24, why);
            return false;
        }
        if (authorized_ && *script != payout_script_) {
            error_reply(out, m.id, 24, "Unauthorized worker: payout address cannot change");
            return false;
        }
        if (!authorized_) {
            if (auto ec = source_.set_payout(reg_.id, *script)) {
                log("set_payout failed: " + ec.message());
                error_reply(out, m.id, 20, "Payout address refused");
                return false;
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
    return first;
}

std::shared_ptr<const job> session_core::first_job() {
    auto j = source_.current_job(reg_.id);
    if (!j) j = latest_job_;
    latest_job_.reset();
    return j;
}

bool session_core::take_job(std::shared_ptr<const job>& j) {
    if (!j || !subscribed_) return false;
    // Never re-send a job id (ESP-Miner ignores duplicates, XMRig disconnects).
    if (find_job(j->id) != nullptr) return false;
    if (!authorized_) {
        latest_job_ = std::move(j);
        return false;
    }
    return true;
}

double session_core::job_difficulty(const job& j, clock::time_point now) {
    const double network = network_share_difficulty(j.target);
    (void)vardiff_.retarget(now, network);
    return vardiff_.for_network(network);
}

double session_core::difficulty_in_force() const noexcept { return sent_difficulty_.value_or(vardiff_.current()); }

bool session_core::difficulty_changes(double d) {
    if (sent_difficulty_ == d) return false;
    sent_difficulty_ = d;
    stats_.difficulty = d;
    return true;
}

void session_core::track_job(std::shared_ptr<const job> j, double difficulty) {
    if (jobs_.size() < max_tracked_jobs) {
        jobs_.push_back({std::move(j), difficulty});
        return;
    }
    // Full: the newest takes the oldest's place.
    jobs_[jobs_oldest_] = {std::move(j), difficulty};
    jobs_oldest_ = (jobs_oldest_ + 1) % jobs_.size();
}

const session_core::tracked_job* session_core::find_job(std::string_view id) const noexcept {
    // Newest first.
    const std::size_t n = jobs_.size();
    for (std::size_t k = 0; k < n; ++k) {
        const tracked_job& t = jobs_[(jobs_oldest_ + n - 1 - k) % n];
        if (t.j->id == id) return &t;
    }
    return nullptr;
}

// ---- session_protocol (SHA-256d) ------------------------------------------------------

void session_protocol::on_line(std::string_view line, clock::time_point now, output& out) {
    auto m = parse(line, out);
    // Answers to our own requests (client.get_version, client.show_message) need nothing.
    if (!m || m->is_response()) return;
    const std::string& method = m->method;
    begin_request();
    if (method == "mining.submit") {
        on_submit(*m, now, out);
    } else if (method == "mining.configure") {
        on_configure(*m, out);
    } else if (method == "mining.subscribe") {
        // A fresh subscription id per connection; a resume request (params[1]) gets a
        // new one too: the extranonce1 comes from the dispatcher, and cpuminer/cgminer
        // take the new extranonce1 from the result whether the id matches or not.
        if (subscribe(*m, now, out))
            out.lines.push_back(reply_subscribe(m->id, stats_.extranonce1, stats_.extranonce1,
                                                settings_.extranonce2_size));
    } else if (method == "mining.authorize") {
        on_authorize(*m, now, out);
    } else if (method == "mining.suggest_difficulty") {
        on_suggest_difficulty(*m, now, out);
    } else if (std::find(harmless_methods.begin(), harmless_methods.end(), method) != harmless_methods.end()) {
        out.lines.push_back(reply_bool(m->id, true));
    } else if (method == "pong") {
        // ESP-Miner answers mining.ping with a request-shaped pong; it expects nothing back.
    } else {
        error_reply(out, m->id, 20, "Unknown method");
    }
    end_request();
}

void session_protocol::on_configure(const message& m, output& out) {
    const auto* codes = param(m, 0);
    const auto* opts = param(m, 1);
    if (codes == nullptr || !codes->IsArray()) return error_reply(out, m.id, 20, "Invalid configure params");
    auto option = [&](const char* key) -> const rapidjson::Value* {
        if (opts == nullptr || !opts->IsObject()) return nullptr;
        auto it = opts->FindMember(key);
        return it == opts->MemberEnd() ? nullptr : &it->value;
    };
    // BIP310: one result per requested extension, and no key the miner did not ask for
    // (WhatsMiner drops the connection on unrequested keys; stratum.md §2.1).
    std::vector<configure_entry> entries;
    auto already = [&](std::string_view key) {
        return std::any_of(entries.begin(), entries.end(), [&](const auto& e) { return e.key == key; });
    };
    std::size_t considered = 0;
    for (const auto& c : codes->GetArray()) {
        if (!c.IsString()) continue;
        if (++considered > max_configure_extensions) break;
        const std::string code(c.GetString(), c.GetStringLength());
        if (already(code)) continue;
        if (code == "version-rolling") {
            std::uint32_t miner_mask = 0xffffffffu;
            bool ok = true;
            if (const auto* v = option("version-rolling.mask")) {
                std::optional<std::uint32_t> parsed;
                if (v->IsString()) parsed = parse_u32_hex({v->GetString(), v->GetStringLength()});
                if (parsed)
                    miner_mask = *parsed;
                else
                    ok = false;
            }
            if (!ok) {
                entries.push_back({code, false, {}});
                continue;
            }
            // min-bit-count is advisory (BIP310: the server may offer fewer bits).
            configured_ = true;
            version_mask_ = miner_mask & server_version_mask;
            stats_.version_mask = version_mask_;
            entries.push_back({code, true, {}});
            entries.push_back({"version-rolling.mask", std::nullopt, u32_to_stratum_hex(version_mask_)});
        } else if (code == "minimum-difficulty") {
            const auto* v = option("minimum-difficulty.value");
            const auto d = v != nullptr ? difficulty_value(*v) : std::nullopt;
            if (d) vardiff_.set_floor(*d);
            entries.push_back({code, d.has_value(), {}});
        } else if (code == "subscribe-extranonce" || code == "info") {
            // Our extranonce1 never changes, so set_extranonce is never needed.
            entries.push_back({code, true, {}});
        } else {
            entries.push_back({printable(code, 64), false, {}});
        }
    }
    out.lines.push_back(reply_configure(m.id, entries));
}

void session_protocol::on_authorize(const message& m, clock::time_point now, output& out) {
    if (!authorize(m, now, out)) return;
    if (configured_ && settings_.send_version_mask && version_mask_ != 0)
        out.lines.push_back(notify_set_version_mask(version_mask_));
    if (auto j = first_job()) send_job(j, true, now, out);
}

void session_protocol::on_suggest_difficulty(const message& m, clock::time_point now, output& out) {
    // Accepted forms: [D], [[D]], a bare D; D an integer, a float or a numeric string.
    const rapidjson::Value* v = m.params;
    if (v != nullptr && v->IsArray()) v = param(m, 0);
    if (v != nullptr && v->IsArray()) v = v->Size() > 0 ? &(*v)[0] : nullptr;
    const auto d = v != nullptr ? difficulty_value(*v) : std::nullopt;
    if (!d) return error_reply(out, m.id, 20, "Invalid difficulty");
    // NerdMiner repeats its suggestion every 30 s as a keepalive: only a new value counts.
    if (last_suggestion_ != d) {
        last_suggestion_ = d;
        vardiff_.suggest(*d, now);
    }
    out.lines.push_back(reply_bool(m.id, true));
}

void session_protocol::on_submit(const message& m, clock::time_point now, output& out) {
    // A submit before authorize is a rejected share too, not a protocol error: NerdMiner
    // never reads the authorize reply and keeps submitting after a refusal.
    if (!subscribed_) return reject_share(out, m.id, 25, "Not subscribed", true, now);
    if (!authorized_) return reject_share(out, m.id, 24, "Unauthorized worker", true, now);
    last_activity_ = now;
    const std::size_t n = param_count(m);
    bool ok = n == 5 || n == 6;
    for (std::size_t i = 0; ok && i < n; ++i) ok = is_string_param(m, i);
    if (!ok) return reject_share(out, m.id, 20, "Invalid submit params", true, now);
    share s;
    s.worker = printable(string_param(m, 0), max_worker_chars);
    s.job_id = std::string(string_param(m, 1).substr(0, max_job_id_chars + 1));
    auto en2 = from_hex(string_param(m, 2), max_extranonce2_hex);
    const auto ntime = parse_u32_hex(string_param(m, 3));
    const auto nonce = parse_u32_hex(string_param(m, 4));
    const auto vbits = n == 6 ? parse_u32_hex(string_param(m, 5)) : std::optional<std::uint32_t>(0);
    const char* bad = !en2 ? "Invalid extranonce2" : !ntime ? "Invalid ntime" : !nonce ? "Invalid nonce"
                      : !vbits ? "Invalid version bits" : nullptr;
    if (bad != nullptr) return reject_share(out, m.id, 20, bad, true, now);
    s.extranonce2 = std::move(*en2);
    s.ntime = *ntime;
    s.nonce = *nonce;
    // A 6th param without mining.configure is tolerated (ESP-Miner always sends it; an
    // S21 sent it unconfigured): the standard BIP320 mask is assumed for it.
    s.version_mask = configured_ ? version_mask_ : (n == 6 ? server_version_mask : 0);
    const tracked_job* t = find_job(s.job_id);
    if (t != nullptr) {
        const std::uint32_t job_version = t->j->version;
        if (n == 5)
            s.version = job_version;
        else if ((*vbits & ~s.version_mask) == 0)  // BIP310 bits-only (ESP-Miner's XOR) form
            s.version = apply_version_bits(job_version, *vbits, s.version_mask);
        else  // the full-version form; out-of-mask bits are judged by the work source
            s.version = *vbits;
        s.difficulty = t->difficulty;
    } else {
        s.version = *vbits;
        s.difficulty = difficulty_in_force();
    }

    reply_verdict(out, m.id, source_.submit_share(reg_.id, s), s.difficulty, s.worker, s.job_id, now, true);
}

void session_protocol::on_job(std::shared_ptr<const job> j, clock::time_point now, output& out) {
    if (take_job(j)) send_job(j, !notified_, now, out);
}

void session_protocol::send_job(const std::shared_ptr<const job>& j, bool force_clean, clock::time_point now,
                                output& out) {
    // Before its notify (cpuminer and cgminer apply a difficulty at the next notify), and
    // only when it changes (S19 firmware counts shares below the latest one as rejects).
    const double d = job_difficulty(*j, now);
    if (difficulty_changes(d)) out.lines.push_back(notify_set_difficulty(d));
    const bool clean = force_clean || j->clean;
    if (settings_.notifies != nullptr) {
        out.lines.push_back(settings_.notifies->line(j, clean));
    } else {
        notify_params n = to_notify(*j);
        n.clean_jobs = clean;
        out.lines.push_back(notify_job(n));
    }
    notified_ = true;
    track_job(j, d);
}

}  // namespace sb::bridge::stratum
