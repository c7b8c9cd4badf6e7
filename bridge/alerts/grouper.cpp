#include "alerts/grouper.hpp"

#include <algorithm>
#include <array>

namespace sb::bridge::alerts {

namespace {

bool is_problem(event_kind k) noexcept {
    return k == event_kind::worker_offline || k == event_kind::node_down || k == event_kind::node_unauthorized;
}

bool is_recovery(event_kind k) noexcept { return k == event_kind::worker_online || k == event_kind::node_up; }

// The title's words for one subject and for n.
struct noun {
    std::string_view one;
    std::string_view many;  // after the count
};

noun noun_of(event_kind k) noexcept {
    switch (k) {
        case event_kind::block_found: return {"block found", "blocks found"};
        case event_kind::block_orphaned: return {"block orphaned", "blocks orphaned"};
        case event_kind::worker_offline: return {"worker offline", "workers offline"};
        case event_kind::worker_online: return {"worker back online", "workers back online"};
        case event_kind::hashrate_drop: return {"hashrate drop", "hashrate drops"};
        case event_kind::node_down: return {"node down", "nodes down"};
        case event_kind::node_unauthorized:
            return {"node refuses the RPC credentials", "nodes refuse the RPC credentials"};
        case event_kind::node_up: return {"node back up", "nodes back up"};
    }
    return {"alert", "alerts"};
}

}  // namespace

alert_message make_message(event_kind kind, const std::string& chain,
                           const std::vector<std::pair<std::string, std::string>>& listed, std::size_t count,
                           std::chrono::system_clock::time_point at) {
    alert_message m;
    m.kind = kind;
    m.chain = chain;
    m.count = count;
    m.at = at;
    const noun n = noun_of(kind);
    m.title = "solobridge" + (chain.empty() ? std::string() : " " + chain) + ": " +
              (count == 1 ? std::string(n.one) : std::to_string(count) + " " + std::string(n.many));
    for (const auto& l : listed) m.subjects.push_back(l.first);
    std::string text;
    if (count == 1 && listed.size() == 1) {
        text = listed[0].second.empty() ? listed[0].first : listed[0].second;
    } else {
        text = std::to_string(count) + " " + std::string(n.many) + ":";
        for (std::size_t i = 0; i < listed.size(); ++i) text += (i == 0 ? " " : ", ") + listed[i].first;
        if (count > listed.size()) text += " and " + std::to_string(count - listed.size()) + " more";
        for (const auto& l : listed)
            if (!l.second.empty() && l.second != l.first) text += "\n- " + l.second;
    }
    // Cut at the last whole line that fits (the first line always stays, cut if need be).
    if (text.size() > max_message_text_bytes) {
        const std::size_t nl = text.rfind('\n', max_message_text_bytes - 4);
        if (nl != std::string::npos && nl > 0) text = text.substr(0, nl) + "\n...";
        else text = clean_text(text, max_message_text_bytes);
    }
    m.text = std::move(text);
    return m;
}

grouper::grouper(grouper_options options) : options_(options) {}

grouper::family grouper::family_of(event_kind k) noexcept {
    switch (k) {
        case event_kind::block_found: return family::block_found;
        case event_kind::block_orphaned: return family::block_orphaned;
        case event_kind::hashrate_drop: return family::hashrate_drop;
        case event_kind::worker_offline:
        case event_kind::worker_online: return family::worker;
        case event_kind::node_down:
        case event_kind::node_unauthorized:
        case event_kind::node_up: return family::node;
    }
    return family::hashrate_drop;
}

void grouper::add(const alert_event& e, time_point now) {
    const family f = family_of(e.kind);
    group& g = groups_[{f, clean_text(e.chain, max_subject_bytes)}];
    std::string subject = clean_text(e.subject, max_subject_bytes);
    const bool blocks = f == family::block_found || f == family::block_orphaned;
    if (blocks && g.reported_set.contains(subject)) return;
    if (auto it = g.held.find(subject); it != g.held.end()) {
        it->second = entry{e.kind, clean_text(e.text, max_event_text_bytes), e.at};
    } else if (g.held.size() < max_pending_subjects) {
        g.order.push_back(subject);
        g.held.emplace(std::move(subject), entry{e.kind, clean_text(e.text, max_event_text_bytes), e.at});
    } else {
        ++g.uncounted;
    }
    if (!g.flush_at) {
        const bool states = f == family::worker || f == family::node;
        time_point at = states ? now + options_.coalesce : now;
        if (g.quiet_until && *g.quiet_until > at) at = *g.quiet_until;
        g.flush_at = at;
    }
}

std::vector<alert_message> grouper::due(time_point now) {
    std::vector<alert_message> out;
    for (auto& [key, g] : groups_) {
        if (!g.flush_at || *g.flush_at > now) continue;
        const std::size_t before = out.size();
        flush(key.first, key.second, g, out);
        g.flush_at.reset();
        g.order.clear();
        g.held.clear();
        g.uncounted = 0;
        // A round that sent nothing (everything flapped back) starts no quiet period.
        if (out.size() > before) g.quiet_until = now + options_.min_interval;
    }
    return out;
}

void grouper::flush(family f, const std::string& chain, group& g, std::vector<alert_message>& out) {
    using listed_t = std::vector<std::pair<std::string, std::string>>;
    if (f != family::worker && f != family::node) {
        if (g.order.empty()) return;
        listed_t listed;
        std::chrono::system_clock::time_point at{};
        for (const auto& s : g.order) {
            const entry& en = g.held.at(s);
            at = std::max(at, en.at);
            if (listed.size() < max_listed_subjects) listed.emplace_back(s, en.text);
            if (f == family::block_found || f == family::block_orphaned) {
                g.reported.push_back(s);
                g.reported_set.insert(s);
                if (g.reported.size() > max_remembered_blocks) {
                    g.reported_set.erase(g.reported.front());
                    g.reported.pop_front();
                }
            }
        }
        out.push_back(make_message(g.held.at(g.order.front()).kind, chain, listed, g.order.size() + g.uncounted, at));
        return;
    }
    // States: what changed since the last round, per kind, problems first.
    static constexpr std::array<event_kind, 5> kinds = {event_kind::node_down, event_kind::node_unauthorized,
                                                        event_kind::worker_offline, event_kind::node_up,
                                                        event_kind::worker_online};
    std::array<listed_t, kinds.size()> listed;
    std::array<std::size_t, kinds.size()> counts{};
    std::array<std::chrono::system_clock::time_point, kinds.size()> newest{};
    for (const auto& s : g.order) {
        const entry& en = g.held.at(s);
        const auto it = g.notified.find(s);
        bool report = false;
        if (is_problem(en.kind)) {
            if (it == g.notified.end()) {
                report = true;
                if (g.notified.size() < max_notified_subjects) g.notified.emplace(s, en.kind);
            } else if (it->second != en.kind) {
                report = true;
                it->second = en.kind;
            }
        } else if (is_recovery(en.kind) && it != g.notified.end()) {
            report = true;
            g.notified.erase(it);
        }
        if (!report) continue;
        const std::size_t k = static_cast<std::size_t>(std::find(kinds.begin(), kinds.end(), en.kind) - kinds.begin());
        ++counts[k];
        newest[k] = std::max(newest[k], en.at);
        if (listed[k].size() < max_listed_subjects) listed[k].emplace_back(s, en.text);
    }
    for (std::size_t k = 0; k < kinds.size(); ++k)
        if (counts[k] > 0) out.push_back(make_message(kinds[k], chain, listed[k], counts[k], newest[k]));
}

std::optional<grouper::time_point> grouper::next_due() const {
    std::optional<time_point> next;
    for (const auto& [key, g] : groups_)
        if (g.flush_at && (!next || *g.flush_at < *next)) next = g.flush_at;
    return next;
}

}  // namespace sb::bridge::alerts
