// The Stratum server's ban list (limits.hpp "ban list"): misbehaviour scores per IP key and
// time-limited bans, both in bounded tables; and the log throttle of quiet closes. Both
// socket-free; the server keys them by address (ban_key in server.cpp) and guards them
// with its connection mutex. Not thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sb/core/test_access.hpp"
#include "stratum/limits.hpp"

namespace sb::bridge::stratum {

struct ban_settings {
    bool enabled = true;
    std::uint32_t threshold = ban_threshold;
    std::chrono::milliseconds duration = ban_duration;
    std::chrono::milliseconds score_memory = ban_score_memory;
    std::size_t max_banned = max_banned_ips;
    std::size_t max_scored = max_scored_ips;
};

// What ban_list::add did.
enum class ban_outcome : std::uint8_t {
    scored,    // the score grew (or nothing happened: bans off, score 0, already banned)
    banned,    // the score reached the threshold: the key is banned now
    withheld,  // it reached the threshold, but a miner vouches for the key: no ban
};

class ban_list {
public:
    using clock = std::chrono::steady_clock;

    struct ban {
        std::string key;
        clock::time_point until;
        std::string reason;        // the misbehaviour that crossed the threshold
        std::uint64_t refused = 0;  // connections refused while banned
    };

    explicit ban_list(ban_settings s = {}) : s_(s) {}

    // Adds score for key's misbehaviour. banned: key was not banned and its score reached
    // the threshold; withheld: the same while vouched (a miner from key is mining), and
    // key stays unbanned. Either way the score then starts again from 0.
    ban_outcome add(const std::string& key, std::uint32_t score, std::string_view reason, clock::time_point now,
                    bool vouched = false) {
        if (!s_.enabled || score == 0 || s_.max_banned == 0) return ban_outcome::scored;
        expire(now);
        if (bans_.count(key) != 0) return ban_outcome::scored;
        auto it = scores_.find(key);
        if (it != scores_.end() && now - it->second.last >= s_.score_memory) {
            score_order_.erase(it->second.order);
            scores_.erase(it);
            it = scores_.end();
        }
        if (it == scores_.end()) {
            while (!scores_.empty() && scores_.size() >= s_.max_scored) {
                scores_.erase(score_order_.front());
                score_order_.pop_front();
            }
            score_order_.push_back(key);
            it = scores_.emplace(key, scored{0, now, std::prev(score_order_.end())}).first;
        } else {
            score_order_.splice(score_order_.end(), score_order_, it->second.order);  // most recent last
        }
        it->second.score += score;
        it->second.last = now;
        if (it->second.score < s_.threshold) return ban_outcome::scored;
        score_order_.erase(it->second.order);
        scores_.erase(it);
        if (vouched) return ban_outcome::withheld;
        while (!bans_.empty() && bans_.size() >= s_.max_banned) {
            bans_.erase(ban_order_.front());
            ban_order_.pop_front();
        }
        ban_order_.push_back(key);
        bans_.emplace(key, ban_rec{now + s_.duration, std::string(reason), 0});
        return ban_outcome::banned;
    }

    // True while key is banned; counts a refused connection when counting.
    bool banned(const std::string& key, clock::time_point now, bool counting = false) {
        expire(now);
        auto it = bans_.find(key);
        if (it == bans_.end()) return false;
        if (counting) ++it->second.refused;
        return true;
    }

    // Connections refused so far while key is banned (0 when it is not).
    std::uint64_t refused(const std::string& key) const {
        auto it = bans_.find(key);
        return it == bans_.end() ? 0 : it->second.refused;
    }

    // The bans in force, oldest first.
    std::vector<ban> bans(clock::time_point now) {
        expire(now);
        std::vector<ban> out;
        out.reserve(ban_order_.size());
        for (const auto& key : ban_order_) {
            const auto& b = bans_.at(key);
            out.push_back({key, b.until, b.reason, b.refused});
        }
        return out;
    }

private:
    friend struct test::access<ban_list>;
    // Tests only (test::access): addresses banned, and addresses with a score.
    std::size_t banned_count() const noexcept { return bans_.size(); }
    std::size_t scored_count() const noexcept { return scores_.size(); }

    struct scored {
        std::uint32_t score = 0;
        clock::time_point last;
        std::list<std::string>::iterator order;
    };
    struct ban_rec {
        clock::time_point until;
        std::string reason;
        std::uint64_t refused = 0;
    };

    // Every ban lasts the same time, so they expire in the order they were made.
    void expire(clock::time_point now) {
        while (!ban_order_.empty()) {
            auto it = bans_.find(ban_order_.front());
            if (it != bans_.end() && it->second.until > now) break;
            if (it != bans_.end()) bans_.erase(it);
            ban_order_.pop_front();
        }
    }

    ban_settings s_;
    std::unordered_map<std::string, scored> scores_;
    std::list<std::string> score_order_;  // least recently scored first
    std::unordered_map<std::string, ban_rec> bans_;
    std::list<std::string> ban_order_;    // oldest ban first
};

// Rate-limits the log of quiet closes (limits.hpp): the first of a key is logged, then at
// most one per interval, which reports how many went unlogged since. Keys are the
// address plus the kind of close; the table is bounded (the least recently logged key is
// forgotten first).
class quiet_close_log {
public:
    using clock = std::chrono::steady_clock;

    explicit quiet_close_log(std::chrono::milliseconds interval = quiet_close_log_interval,
                             std::size_t max_keys = max_quiet_close_log_ips)
        : interval_(interval), max_keys_(max_keys) {}

    // One close of key at now: true when it is to be logged, with suppressed set to the
    // closes of key left unlogged since its previous logged one.
    bool note(const std::string& key, clock::time_point now, std::uint64_t& suppressed) {
        suppressed = 0;
        auto it = entries_.find(key);
        if (it == entries_.end()) {
            while (!entries_.empty() && entries_.size() >= max_keys_) {
                entries_.erase(order_.front());
                order_.pop_front();
            }
            if (max_keys_ == 0) return true;
            order_.push_back(key);
            entries_.emplace(key, entry{now, 0, std::prev(order_.end())});
            return true;
        }
        if (now - it->second.logged_at < interval_) {
            ++it->second.suppressed;
            return false;
        }
        suppressed = it->second.suppressed;
        it->second = entry{now, 0, it->second.order};
        order_.splice(order_.end(), order_, it->second.order);  // most recently logged last
        return true;
    }

    std::size_t size() const noexcept { return entries_.size(); }

private:
    struct entry {
        clock::time_point logged_at;
        std::uint64_t suppressed = 0;
        std::list<std::string>::iterator order;
    };
    std::chrono::milliseconds interval_;
    std::size_t max_keys_;
    std::unordered_map<std::string, entry> entries_;
    std::list<std::string> order_;  // least recently logged first
};

}  // namespace sb::bridge::stratum
