#include "mining/cpu_miner_lines.hpp"

#include <algorithm>

#include <rapidjson/document.h>

#include "sb/core/hex.hpp"
#include "sb/core/pow.hpp"

namespace sb::bridge::mining {

outcome handle_line(const std::string& line, session_state& st, counters& c, std::FILE* out, std::FILE* err) {
    rapidjson::Document d;
    d.Parse(line.c_str(), line.size());
    if (d.HasParseError() || !d.IsObject()) {
        std::fprintf(err, "cpu-miner: server sent a line that is not a JSON object: %.200s\n", line.c_str());
        return outcome::reconnect;
    }
    const bool has_method = d.HasMember("method") && d["method"].IsString();
    if (!has_method) {
        const int id = d.HasMember("id") && d["id"].IsInt() ? d["id"].GetInt() : -1;
        // A reply without "result" reads as null (RapidJSON's operator[] must not be asked
        // for a missing member).
        const rapidjson::Value null_result;
        const rapidjson::Value& r = d.HasMember("result") ? d["result"] : null_result;
        const bool ok = !r.IsNull() && !(r.IsBool() && !r.GetBool());
        if (id == 1) {  // subscribe: [[subscriptions], extranonce1, extranonce2_size]
            if (!ok || !r.IsArray() || r.Size() < 3 || !r[1].IsString() || !r[2].IsUint()) {
                std::fprintf(err, "cpu-miner: subscribe failed: %.200s\n", line.c_str());
                return outcome::reconnect;
            }
            st.extranonce1_hex = r[1].GetString();
            auto en1 = from_hex(st.extranonce1_hex, 64);
            if (!en1) {
                std::fprintf(err, "cpu-miner: extranonce1 is not hex: %.200s\n", line.c_str());
                return outcome::reconnect;
            }
            st.extranonce1 = *en1;
            st.extranonce2_size = r[2].GetUint();
            if (st.extranonce2_size < 1 || st.extranonce2_size > 8) {
                std::fprintf(err, "cpu-miner: extranonce2_size %zu is not 1..8\n", st.extranonce2_size);
                return outcome::reconnect;
            }
            std::fprintf(out, "cpu-miner: subscribed, extranonce1 %s, extranonce2 %zu bytes\n", st.extranonce1_hex.c_str(),
                        st.extranonce2_size);
        } else if (id == 2) {
            if (!ok) {
                std::fprintf(err, "cpu-miner: authorize refused: %.200s\n", line.c_str());
                return outcome::refused;
            }
            st.authorized = true;
            std::fprintf(out, "cpu-miner: authorized\n");
        } else if (id == 3) {  // configure: {"version-rolling":true,"version-rolling.mask":"..."}
            if (ok && r.IsObject() && r.HasMember("version-rolling") && r["version-rolling"].IsBool() &&
                r["version-rolling"].GetBool() && r.HasMember("version-rolling.mask") &&
                r["version-rolling.mask"].IsString()) {
                auto m = bridge::u32_from_stratum_hex(r["version-rolling.mask"].GetString());
                if (m) st.version_mask = *m;
            }
            std::fprintf(out, "cpu-miner: version rolling %s (mask %08x)\n", st.version_mask ? "on" : "refused",
                        st.version_mask);
        } else if (id >= 4) {
            if (ok) {
                ++c.accepted;
            } else {
                ++c.rejected;
                std::fprintf(out, "cpu-miner: share rejected: %.200s\n", line.c_str());
            }
        }
        return outcome::go_on;
    }
    const std::string method = d["method"].GetString();
    const rapidjson::Value* params = d.HasMember("params") && d["params"].IsArray() ? &d["params"] : nullptr;
    if (method == "mining.set_difficulty" && params && params->Size() >= 1 && (*params)[0].IsNumber()) {
        st.pending_difficulty = (*params)[0].GetDouble();
    } else if (method == "mining.notify" && params && params->Size() >= 9) {
        const auto& p = *params;
        bridge::notify_params n;
        auto str = [&](rapidjson::SizeType i) { return p[i].IsString() ? std::string(p[i].GetString()) : std::string(); };
        n.job_id = str(0);
        n.prevhash = str(1);
        n.coinb1 = str(2);
        n.coinb2 = str(3);
        if (p[4].IsArray())
            for (const auto& b : p[4].GetArray()) n.merkle_branch.emplace_back(b.IsString() ? b.GetString() : "");
        n.version = str(5);
        n.nbits = str(6);
        n.ntime = str(7);
        n.clean_jobs = p[8].IsBool() && p[8].GetBool();
        auto j = bridge::job_from_notify(n, st.extranonce1.size(), st.extranonce2_size);
        if (!j) {
            std::fprintf(err, "cpu-miner: unusable notify (%s): %.300s\n", j.error().message().c_str(), line.c_str());
            return outcome::go_on;
        }
        st.job = std::move(*j);
        st.difficulty = st.pending_difficulty;
        st.share_target = target_from_difficulty(st.difficulty);
        st.extranonce2 = 0;
        st.nonce = 0;
    } else if (method == "client.reconnect") {
        // [host, port, wait_seconds]: we stay on the configured URL (a server must not
        // send its miners elsewhere unasked) and honour the wait up to our own cap.
        std::chrono::milliseconds wait{0};
        if (params && params->Size() >= 3 && (*params)[2].IsNumber() && (*params)[2].GetDouble() > 0)
            wait = std::chrono::milliseconds(
                static_cast<std::int64_t>(std::min((*params)[2].GetDouble() * 1000.0, double(max_reconnect_delay.count()))));
        st.server_wait = wait;
        std::fprintf(out, "cpu-miner: server asked to reconnect\n");
        return outcome::reconnect;
    }
    return outcome::go_on;
}

}  // namespace sb::bridge::mining
