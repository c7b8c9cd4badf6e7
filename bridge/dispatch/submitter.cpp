#include "dispatch/submitter.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "sb/core/hex.hpp"
#include "sb/node/errors.hpp"
#include "sb/node/node_rpc.hpp"

namespace sb::bridge {

namespace {

void default_log(std::string_view line) {
    std::fprintf(stderr, "submitter: %.*s\n", static_cast<int>(line.size()), line.data());
}

enum class node_outcome { running, accepted, rejected, gave_up };

struct node_attempt {
    node_outcome outcome = node_outcome::running;
    int inconclusive = 0;
    bool answered = false;  // its first submitblock came back (any outcome)
    std::chrono::milliseconds backoff{0};
    std::unique_ptr<boost::asio::steady_timer> timer;
};

struct block_state {
    found_block b;
    std::string hex;
    std::chrono::steady_clock::time_point started;
    std::vector<node_attempt> nodes;
    std::uint32_t attempts = 0;
    std::string last_reason;
    bool journaled = false;         // the journal holds it: it may be parked
    std::size_t first_answers = 0;  // nodes whose first submitblock came back
    bool started_round = false;     // relayed and sent (start ran)
    bool first_round_done(std::size_t nodes_count) const {
        return started_round && first_answers >= nodes_count;
    }
};

}  // namespace

class submitter::impl : public std::enable_shared_from_this<impl> {
public:
    impl(boost::asio::any_io_executor strand, std::vector<node::rpc_settings> nodes, std::shared_ptr<journal> jrnl,
         submitter_options options)
        : strand_(std::move(strand)), journal_(std::move(jrnl)), options_(std::move(options)) {
        if (!options_.log) options_.log = default_log;
        for (auto& n : nodes) clients_.push_back(std::make_unique<node::rpc_client>(strand_, std::move(n), options_.client));
    }

    void submit(found_block b) { admit(std::move(b), true); }

    // count_found: a new block (submit, replay) rather than a parked one coming back.
    void admit(found_block b, bool count_found) {
        const std::string display = to_hex_reversed(b.hash);
        auto st = std::make_shared<block_state>();
        st->hex = to_hex(b.block);
        st->b = std::move(b);
        st->started = std::chrono::steady_clock::now();
        st->nodes.resize(clients_.size());
        {
            std::lock_guard lock(mu_);
            if (stopped_) return;
            if (count_found && parked_.count(st->b.hash)) return;
            if (!blocks_.emplace(st->b.hash, st).second) return;
            if (count_found) ++status_.found;
        }
        // Durable first (DESIGN.md §3): nothing leaves before the record is on disk.
        if (journal_) {
            if (auto ec = journal_->append_found(st->b.height, st->b.hash, st->b.block, unix_now())) {
                std::lock_guard lock(mu_);
                ++status_.journal_errors;
                options_.log("BLOCK " + display + " could not be journaled (" + ec.message() + "); sending anyway");
            } else {
                std::lock_guard lock(mu_);
                st->journaled = true;
            }
        }
        if (count_found)
            options_.log("BLOCK FOUND at height " + std::to_string(st->b.height) + ": " + display + " (worker " +
                         st->b.worker + ", job " + st->b.job_id + "), submitting to " +
                         std::to_string(clients_.size()) + " node(s)");
        else
            options_.log("resuming parked block " + display + " at height " + std::to_string(st->b.height));
        boost::asio::post(strand_, [self = shared_from_this(), st] { self->start(st); });
    }

    void settle(const hash256& hash, block_status s, std::string reason) {
        if (s != block_status::accepted && s != block_status::stale) return;
        boost::asio::post(strand_, [self = shared_from_this(), hash, s, reason = std::move(reason)] {
            self->on_settle(hash, s, reason);
        });
    }

    void replay() {
        if (!journal_) return;
        auto pending = journal_->pending();
        // Lowest heights first (ancestors before descendants); beyond the in-flight bound
        // the rest wait in the journal, parked, and follow as slots free.
        std::stable_sort(pending.begin(), pending.end(),
                         [](const journal_entry& a, const journal_entry& b) { return a.height < b.height; });
        if (pending.size() > in_flight_limit()) {
            std::lock_guard lock(mu_);
            for (std::size_t i = in_flight_limit(); i < pending.size(); ++i) {
                if (!parked_.emplace(pending[i].hash, pending[i].height).second) continue;
                ++status_.found;
            }
            options_.log(std::to_string(pending.size() - in_flight_limit()) + " pending blocks above the first " +
                         std::to_string(in_flight_limit()) +
                         " wait in the journal (parked) and are sent as slots free, lowest heights first");
            pending.resize(in_flight_limit());
        }
        for (auto& e : pending) {
            options_.log("replaying pending block " + to_hex_reversed(e.hash) + " at height " +
                         std::to_string(e.height));
            found_block b;
            b.height = e.height;
            b.hash = e.hash;
            b.block = std::move(e.block);
            b.job_id = "journal";
            submit(std::move(b));
        }
    }

    void set_relay(relay_fn r) {
        std::lock_guard lock(mu_);
        relay_ = std::move(r);
    }

    submitter_status status() const {
        std::lock_guard lock(mu_);
        submitter_status s = status_;
        s.in_flight = blocks_.size();
        s.parked = parked_.size();
        for (const auto& [h, st] : blocks_) {
            submitted_block sb;
            sb.height = st->b.height;
            sb.hash = h;
            sb.reason = st->last_reason;
            sb.attempts = st->attempts;
            s.recent.push_back(std::move(sb));
        }
        return s;
    }

    void stop() {
        {
            std::lock_guard lock(mu_);
            if (stopped_) return;
            stopped_ = true;
        }
        for (auto& c : clients_) c->close();
        boost::asio::post(strand_, [self = shared_from_this()] {
            std::lock_guard lock(self->mu_);
            for (auto& [h, st] : self->blocks_)
                for (auto& a : st->nodes)
                    if (a.timer) a.timer->cancel();
            self->blocks_.clear();
        });
    }

    std::size_t in_flight_limit() const { return std::max<std::size_t>(options_.max_in_flight, 1); }

private:
    // ---- strand ---------------------------------------------------------------------

    void start(const std::shared_ptr<block_state>& st) {
        relay_fn relay;
        {
            std::lock_guard lock(mu_);
            relay = relay_;
        }
        if (relay) relay(st->b);
        {
            std::lock_guard lock(mu_);
            st->started_round = true;
        }
        if (clients_.empty()) {
            options_.log("no node configured: block " + to_hex_reversed(st->b.hash) + " stays pending");
            enforce_bound();
            return;
        }
        for (std::size_t i = 0; i < clients_.size(); ++i) send(st, i);
    }

    // ---- bounds (submitter.hpp) -------------------------------------------------------

    // Parks eligible blocks, highest first, while more than the limit are in flight.
    void enforce_bound() {
        if (!journal_) return;
        std::vector<std::shared_ptr<block_state>> victims;
        {
            std::lock_guard lock(mu_);
            // Only blocks every path has sent once count (and may go); the others are
            // still in their first round and stay.
            std::vector<std::shared_ptr<block_state>> eligible;
            for (const auto& [h, st] : blocks_)
                if (st->journaled && st->first_round_done(clients_.size())) eligible.push_back(st);
            if (eligible.size() <= in_flight_limit()) return;
            std::sort(eligible.begin(), eligible.end(),
                      [](const auto& a, const auto& b) { return a->b.height > b->b.height; });
            eligible.resize(eligible.size() - in_flight_limit());
            for (auto& v : eligible) {
                blocks_.erase(v->b.hash);
                parked_.emplace(v->b.hash, v->b.height);
                victims.push_back(std::move(v));
            }
        }
        for (auto& v : victims) {
            for (auto& a : v->nodes)
                if (a.timer) a.timer->cancel();
            options_.log("block " + to_hex_reversed(v->b.hash) + " at height " + std::to_string(v->b.height) +
                         " PARKED: more than " + std::to_string(in_flight_limit()) +
                         " blocks in flight; it stays pending in the journal and is sent again when a slot frees");
        }
    }

    // After a block left the in-flight set: bring parked ones back, lowest height first,
    // once at most half the slots are taken (each refill reads the journal file: in
    // batches, draining n parked blocks reads it about 2n / max_in_flight times).
    void schedule_refill() {
        {
            std::lock_guard lock(mu_);
            if (parked_.empty() || refill_scheduled_ || stopped_ || blocks_.size() > in_flight_limit() / 2) return;
            refill_scheduled_ = true;
        }
        boost::asio::post(strand_, [self = shared_from_this()] { self->refill(); });
    }

    void refill() {
        std::vector<std::pair<std::uint32_t, hash256>> wanted;
        {
            std::lock_guard lock(mu_);
            refill_scheduled_ = false;
            if (stopped_ || parked_.empty() || blocks_.size() >= in_flight_limit()) return;
            for (const auto& [h, height] : parked_) wanted.emplace_back(height, h);
            std::sort(wanted.begin(), wanted.end());
            wanted.resize(std::min(wanted.size(), in_flight_limit() - blocks_.size()));
        }
        std::map<hash256, journal_entry> on_disk;
        for (auto& e : journal_->pending()) on_disk.emplace(e.hash, std::move(e));  // reads the file once
        for (const auto& [height, h] : wanted) {
            {
                std::lock_guard lock(mu_);
                if (parked_.erase(h) == 0) continue;  // settled meanwhile
            }
            auto it = on_disk.find(h);
            if (it == on_disk.end()) {
                options_.log("BLOCK " + to_hex_reversed(h) + " at height " + std::to_string(height) +
                             " was parked but is no longer pending in the journal file; it cannot be sent again");
                continue;
            }
            found_block b;
            b.height = it->second.height;
            b.hash = h;
            b.block = std::move(it->second.block);
            b.job_id = "parked";
            admit(std::move(b), false);
        }
        std::lock_guard lock(mu_);
        status_.parked = parked_.size();
    }

    void on_settle(const hash256& hash, block_status s, const std::string& reason) {
        std::shared_ptr<block_state> st;
        std::uint32_t parked_height = 0;
        bool was_parked = false;
        {
            std::lock_guard lock(mu_);
            if (stopped_) return;
            if (auto it = blocks_.find(hash); it != blocks_.end()) {
                st = it->second;
            } else if (auto p = parked_.find(hash); p != parked_.end()) {
                parked_height = p->second;
                parked_.erase(p);
                was_parked = true;
            }
        }
        if (st) {
            if (s == block_status::accepted)
                options_.log("the P2P chain holds block " + to_hex_reversed(hash) + " at height " +
                             std::to_string(st->b.height) + ": accepted");
            else
                options_.log("STALE: the P2P chain moved past height " + std::to_string(st->b.height) +
                             " without block " + to_hex_reversed(hash));
            finish(st, s, reason);
            return;
        }
        if (!was_parked) return;
        {
            std::lock_guard lock(mu_);
            if (s == block_status::accepted) ++status_.accepted;
            else ++status_.stale;
            status_.recent.push_back({parked_height, hash, s, reason, 0});
            if (status_.recent.size() > max_recent_blocks) status_.recent.erase(status_.recent.begin());
        }
        options_.log("parked block " + to_hex_reversed(hash) + " at height " + std::to_string(parked_height) + " " +
                     std::string(to_string(s)) + " by the P2P chain");
        if (auto ec = journal_->mark(hash, s, reason, unix_now())) options_.log("journal mark failed: " + ec.message());
    }

    bool live(const std::shared_ptr<block_state>& st) {
        std::lock_guard lock(mu_);
        auto it = blocks_.find(st->b.hash);
        return !stopped_ && it != blocks_.end() && it->second == st;
    }

    void send(const std::shared_ptr<block_state>& st, std::size_t i) {
        {
            std::lock_guard lock(mu_);
            ++st->attempts;
        }
        node::submitblock(*clients_[i], st->hex,
                          [self = shared_from_this(), st, i](node::rpc_result<node::submit_verdict> r) {
                              self->on_verdict(st, i, std::move(r));
                          },
                          {options_.call_timeout});
    }

    void on_verdict(const std::shared_ptr<block_state>& st, std::size_t i, node::rpc_result<node::submit_verdict> r) {
        if (!live(st)) return;
        const std::string who = "node " + std::to_string(i) + ": block " + to_hex_reversed(st->b.hash);
        if (r.ok() || r.error.code != node::node_errc::cancelled) note_answered(st, i);
        if (!r.ok()) {
            if (r.error.code == node::node_errc::cancelled) return;
            if (r.error.code == node::node_errc::rpc_error) {
                // The node read the call and refused the block (e.g. -22 Block decode failed).
                options_.log("BLOCK REJECTED by " + who + ": " + r.error.to_string());
                node_done(st, i, node_outcome::rejected, r.error.message);
                return;
            }
            set_reason(st, r.error.to_string());
            options_.log(who + ": submitblock failed (" + r.error.to_string() + "), will retry");
            retry(st, i);
            return;
        }
        switch (r.value.status) {
            case node::submit_status::accepted:
            case node::submit_status::duplicate:
                options_.log(who + " " + std::string(node::to_string(r.value.status)));
                finish(st, block_status::accepted, {});
                return;
            case node::submit_status::inconclusive:
            case node::submit_status::duplicate_inconclusive:
                if (++st->nodes[i].inconclusive > max_inconclusive_retries) {
                    options_.log(who + ": inconclusive " + std::to_string(max_inconclusive_retries) + " times, giving up");
                    node_done(st, i, node_outcome::gave_up, "inconclusive");
                } else {
                    retry(st, i);
                }
                return;
            case node::submit_status::rejected:
            case node::submit_status::duplicate_invalid:
                options_.log("BLOCK REJECTED by " + who + ": " + r.value.reason);
                node_done(st, i, node_outcome::rejected, r.value.reason);
                return;
        }
    }

    // The first answer of node i: once every node answered, the block may be parked.
    void note_answered(const std::shared_ptr<block_state>& st, std::size_t i) {
        bool complete = false;
        {
            std::lock_guard lock(mu_);
            if (st->nodes[i].answered) return;
            st->nodes[i].answered = true;
            complete = ++st->first_answers == st->nodes.size();
        }
        if (complete) boost::asio::post(strand_, [self = shared_from_this()] { self->enforce_bound(); });
    }

    void set_reason(const std::shared_ptr<block_state>& st, std::string reason) {
        std::lock_guard lock(mu_);
        st->last_reason = std::move(reason);
    }

    void retry(const std::shared_ptr<block_state>& st, std::size_t i) {
        auto& a = st->nodes[i];
        if (std::chrono::steady_clock::now() - st->started >= options_.give_up_after) {
            node_done(st, i, node_outcome::gave_up, "gave up retrying");
            return;
        }
        a.backoff = a.backoff.count() == 0 ? options_.retry_initial : std::min(a.backoff * 2, options_.retry_max);
        if (!a.timer) a.timer = std::make_unique<boost::asio::steady_timer>(strand_);
        {
            std::lock_guard lock(mu_);
            ++status_.retries;
        }
        a.timer->expires_after(a.backoff);
        a.timer->async_wait([self = shared_from_this(), st, i](const boost::system::error_code& ec) {
            if (ec || !self->live(st)) return;
            // Each retry round also announces the block again over P2P: peers that
            // connected since, or dropped it from their relay store, learn of it.
            if (i == 0) self->relay_again(st);
            self->check_chain(st, i);
        });
    }

    void relay_again(const std::shared_ptr<block_state>& st) {
        relay_fn relay;
        {
            std::lock_guard lock(mu_);
            relay = relay_;
        }
        if (relay) relay(st->b);
    }

    // Before a retry: does this node's chain hold the block, or has it moved past?
    void check_chain(const std::shared_ptr<block_state>& st, std::size_t i) {
        node::getblockchaininfo(
            *clients_[i],
            [self = shared_from_this(), st, i](node::rpc_result<node::blockchain_info> info) {
                if (!self->live(st)) return;
                if (!info.ok()) {
                    if (info.error.code != node::node_errc::cancelled) self->retry(st, i);
                    return;
                }
                if (info.value.blocks < st->b.height) {
                    self->send(st, i);
                    return;
                }
                const auto blocks_now = info.value.blocks;
                self->clients_[i]->call(
                    {"getblockhash", "[" + std::to_string(st->b.height) + "]"},
                    [self, st, i, blocks_now](node::rpc_reply r) {
                        if (!self->live(st)) return;
                        if (!r.ok() || !r.value->IsString()) {
                            if (r.error.code != node::node_errc::cancelled) self->retry(st, i);
                            return;
                        }
                        if (std::string_view(r.value->GetString()) == to_hex_reversed(st->b.hash)) {
                            self->options_.log("node " + std::to_string(i) + " has block " +
                                               to_hex_reversed(st->b.hash) + " in its chain");
                            self->finish(st, block_status::accepted, {});
                        } else if (blocks_now == st->b.height) {
                            // A competitor at the same height: ours may still win.
                            self->send(st, i);
                        } else {
                            self->options_.log("STALE: the chain moved past height " + std::to_string(st->b.height) +
                                               " without block " + to_hex_reversed(st->b.hash));
                            self->finish(st, block_status::stale, "chain moved past");
                        }
                    },
                    {self->options_.call_timeout});
            },
            {options_.call_timeout});
    }

    void node_done(const std::shared_ptr<block_state>& st, std::size_t i, node_outcome how, std::string reason) {
        st->nodes[i].outcome = how;
        if (how == node_outcome::rejected || st->last_reason.empty()) set_reason(st, reason);
        bool any_rejected = false;
        for (const auto& a : st->nodes) {
            if (a.outcome == node_outcome::running) return;
            any_rejected = any_rejected || a.outcome == node_outcome::rejected;
        }
        // Every node has spoken and none accepted.
        if (any_rejected) finish(st, block_status::rejected, st->last_reason);
        else finish(st, block_status::abandoned, st->last_reason);
    }

    void finish(const std::shared_ptr<block_state>& st, block_status s, const std::string& reason) {
        if (s != block_status::accepted)
            options_.log("block " + to_hex_reversed(st->b.hash) + " at height " + std::to_string(st->b.height) + " " +
                         std::string(to_string(s)) + (reason.empty() ? "" : ": " + reason) + " (kept in the journal)");
        if (journal_)
            if (auto ec = journal_->mark(st->b.hash, s, reason, unix_now()))
                options_.log("journal mark failed: " + ec.message());
        std::shared_ptr<block_state> keep;
        {
            // One step for status(): a block counted as settled is no longer in flight.
            std::lock_guard lock(mu_);
            switch (s) {
                case block_status::accepted: ++status_.accepted; break;
                case block_status::rejected: ++status_.rejected; break;
                case block_status::stale: ++status_.stale; break;
                case block_status::abandoned: ++status_.abandoned; break;
                case block_status::pending: break;
            }
            status_.recent.push_back({st->b.height, st->b.hash, s, reason, st->attempts});
            if (status_.recent.size() > max_recent_blocks) status_.recent.erase(status_.recent.begin());
            auto it = blocks_.find(st->b.hash);
            if (it != blocks_.end()) {
                keep = std::move(it->second);
                blocks_.erase(it);
            }
        }
        // The timers die with the state once the last handler holding it has run.
        for (auto& a : st->nodes)
            if (a.timer) a.timer->cancel();
        if (keep) schedule_refill();
    }

    const boost::asio::any_io_executor strand_;
    const std::shared_ptr<journal> journal_;
    submitter_options options_;
    std::vector<std::unique_ptr<node::rpc_client>> clients_;  // one per node, submits only

    mutable std::mutex mu_;  // guards below (block_state fields other than attempts and
                             // last_reason are touched on the strand only)
    bool stopped_ = false;
    std::map<hash256, std::shared_ptr<block_state>> blocks_;  // in flight
    std::map<hash256, std::uint32_t> parked_;                  // pending in the journal only: height
    bool refill_scheduled_ = false;
    relay_fn relay_;
    submitter_status status_;
};

submitter::submitter(boost::asio::any_io_executor strand, std::vector<node::rpc_settings> nodes,
                     std::shared_ptr<journal> jrnl, submitter_options options)
    : impl_(std::make_shared<impl>(std::move(strand), std::move(nodes), std::move(jrnl), std::move(options))) {}

submitter::~submitter() { impl_->stop(); }

void submitter::submit(found_block b) { impl_->submit(std::move(b)); }
block_sink submitter::sink() {
    return [w = std::weak_ptr<impl>(impl_)](found_block b) {
        if (auto s = w.lock()) s->submit(std::move(b));
    };
}
void submitter::replay_journal() { impl_->replay(); }
void submitter::set_relay(relay_fn relay) { impl_->set_relay(std::move(relay)); }
void submitter::settle(const hash256& hash, block_status status, std::string reason) {
    impl_->settle(hash, status, std::move(reason));
}
submitter_status submitter::status() const { return impl_->status(); }
void submitter::stop() { impl_->stop(); }

}  // namespace sb::bridge
