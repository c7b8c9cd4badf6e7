#include "dispatch/submitter.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
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

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

// A node's part in sending one block.
enum class node_outcome {
    running,   // no verdict yet: sent, or waiting to be sent again
    took,      // it holds the block (accepted, duplicate, inconclusive)
    rejected,  // it refused the block
    gave_up,   // give_up_after passed without a verdict
};

struct node_attempt {
    node_outcome outcome = node_outcome::running;
    bool answered = false;  // its first submitblock came back (any outcome)
    bool written = false;   // a request to it was written whole (the timeline logged it)
    std::chrono::milliseconds backoff{0};
    std::unique_ptr<asio::steady_timer> timer;
};

// One block whose fate is open. Fields are touched on the strand only, except where said.
struct block_state {
    hash256 hash{};
    std::uint32_t height = 0;
    std::uint64_t found_time = 0;
    bool late = false;  // the chain already held a block at its height when it was found
    steady::time_point started;
    bool found_here = false;  // found by submit() now (started is when), not loaded from the journal
    // Sending; b and hex are dropped once it is over (every node took or refused it, or
    // the chain holds it). The hex is encoded as the first request to a node needs it,
    // once for every node and retry (node::block_hex).
    bool sending = false;
    std::shared_ptr<const found_block> b;
    std::shared_ptr<node::block_hex> hex;
    std::vector<node_attempt> nodes;
    bool journaled = false;         // its found record is durable: it may be parked
    bool journal_failed = false;    // its found record could not be written: never parked
    std::size_t first_answers = 0;  // nodes whose first submitblock came back
    bool started_round = false;     // relayed and sent (start ran)
    // Under the impl's mutex (status() and the dashboard read the copies in recent).
    block_status status = block_status::pending;
    std::uint32_t confirmations = 0;

    bool first_round_done() const { return started_round && first_answers >= nodes.size(); }
};

// A block submit() took whose found record is not queued yet (start() queues it).
struct unjournaled_block {
    std::shared_ptr<block_state> st;
    std::shared_ptr<const found_block> found;
};

// A block pending in the journal only.
struct parked_block {
    std::uint32_t height = 0;
    bool late = false;
    std::uint64_t found_time = 0;
};

std::optional<hash256> hash_from_display(std::string_view hex) {
    auto h = from_hex_fixed<32>(hex);
    if (!h) return std::nullopt;
    hash256 out{};
    std::reverse_copy(h->begin(), h->end(), out.begin());
    return out;
}

std::string at_height(std::uint32_t height) { return " at height " + std::to_string(height); }

}  // namespace

class submitter::impl : public std::enable_shared_from_this<impl> {
public:
    impl(asio::any_io_executor strand, std::vector<node::rpc_settings> nodes, std::shared_ptr<journal> jrnl,
         submitter_options options)
        : strand_(std::move(strand)), journal_(std::move(jrnl)), options_(std::move(options)), watch_timer_(strand_) {
            for (auto& n : nodes) {
            clients_.push_back(std::make_unique<node::rpc_client>(strand_, n, options_.client));
            watchers_.push_back(std::make_unique<node::rpc_client>(strand_, std::move(n), options_.client));
        }
    }

    // ---- any thread -----------------------------------------------------------------

    void submit(found_block found) {
        // A block the journal knows (being sent, parked or finished): a duplicate share.
        if (journal_ && journal_->contains(found.hash)) return;
        auto fb = std::make_shared<const found_block>(std::move(found));
        auto st = std::make_shared<block_state>();
        st->hash = fb->hash;
        st->height = fb->height;
        st->found_time = unix_now();
        st->late = chain_height_.load(std::memory_order_relaxed) >= static_cast<std::int64_t>(fb->height);
        st->started = steady::now();
        st->found_here = true;
        st->sending = true;
        st->b = fb;
        st->nodes.resize(clients_.size());
        {
            std::lock_guard lock(mu_);
            if (stopped_ || parked_.count(st->hash) || !blocks_.emplace(st->hash, st).second) return;
            ++counts_[static_cast<std::size_t>(block_status::pending)];
            ++in_flight_;
            submitted_block r;
            r.height = st->height;
            r.hash = st->hash;
            r.found_time = st->found_time;
            recent_add_locked(std::move(r));
            if (journal_) unjournaled_.emplace(st->hash, unjournaled_block{st, fb});
        }
        asio::post(strand_, [self = shared_from_this(), st] { self->start(st, true); });
    }

    void settle(const hash256& hash, block_status s, std::string reason) {
        if (s != block_status::accepted && s != block_status::stale && s != block_status::orphaned) return;
        asio::post(strand_, [self = shared_from_this(), hash, s, reason = std::move(reason)] {
            self->on_settle(hash, s, reason);
        });
    }

    void note_tip(std::uint32_t height) { note_height(height); }

    void set_relay(relay_fn r) {
        std::lock_guard lock(mu_);
        relay_ = std::move(r);
    }

    submitter_status status() const {
        std::lock_guard lock(mu_);
        submitter_status s;
        auto n = [&](block_status st) { return counts_[static_cast<std::size_t>(st)]; };
        s.pending = n(block_status::pending);
        s.accepted = n(block_status::accepted);
        s.confirmed = n(block_status::confirmed);
        s.orphaned = n(block_status::orphaned);
        s.stale = n(block_status::stale);
        s.rejected = n(block_status::rejected);
        s.abandoned = n(block_status::abandoned);
        for (auto c : counts_) s.found += c;
        s.retries = retries_;
        s.journal_errors = journal_errors_;
        s.in_flight = in_flight_;
        s.parked = parked_.size();
        s.watched = blocks_.size() - std::min<std::size_t>(blocks_.size(), in_flight_);
        s.recent.assign(recent_.begin(), recent_.end());
        return s;
    }

    void stop() {
        std::map<hash256, unjournaled_block> unjournaled;
        {
            std::lock_guard lock(mu_);
            if (stopped_) return;
            stopped_ = true;
            unjournaled.swap(unjournaled_);
        }
        // Found but not sent yet (start() will not send them now): journaled here, so that
        // the next start sends them.
        for (const auto& [h, u] : unjournaled) queue_found(u);
        for (auto& c : clients_) c->close();
        for (auto& c : watchers_) c->close();
        asio::post(strand_, [self = shared_from_this()] {
            self->watch_timer_.cancel();
            std::map<hash256, std::shared_ptr<block_state>> blocks;
            {
                std::lock_guard lock(self->mu_);
                blocks.swap(self->blocks_);
            }
            for (auto& [h, st] : blocks)
                for (auto& a : st->nodes)
                    if (a.timer) a.timer->cancel();
        });
    }

    // Start-up: see submitter::replay_journal.
    void replay() {
        if (!journal_) return;
        const auto entries = journal_->entries();
        const journal_counts counts = journal_->counts();
        std::vector<journal_entry> pending, accepted;
        for (const auto& e : entries) {
            if (e.status == block_status::pending) pending.push_back(e);
            else if (e.status == block_status::accepted) accepted.push_back(e);
        }
        {
            std::lock_guard lock(mu_);
            counts_ = counts;
            const std::size_t from = entries.size() - std::min(entries.size(), max_recent_blocks);
            for (std::size_t i = from; i < entries.size(); ++i) {
                submitted_block r;
                r.height = entries[i].height;
                r.hash = entries[i].hash;
                r.status = entries[i].status;
                r.reason = entries[i].reason;
                r.found_time = entries[i].found_time;
                recent_add_locked(std::move(r));
            }
        }
        if (!entries.empty())
            options_.log("found-block history from the journal: " + std::to_string(entries.size()) + " blocks, " +
                         std::to_string(pending.size()) + " pending, " + std::to_string(accepted.size()) +
                         " accepted and waiting for " + std::to_string(coinbase_maturity) + " confirmations");
        for (const auto& e : accepted) admit_watched(e.hash, e.height, e.found_time, block_status::accepted, false);

        // Lowest heights first (ancestors before descendants); beyond the in-flight bound
        // (or the byte budget) the rest wait in the journal, parked, and follow as slots free.
        std::stable_sort(pending.begin(), pending.end(),
                         [](const journal_entry& a, const journal_entry& b) { return a.height < b.height; });
        std::vector<hash256> first;
        for (std::size_t i = 0; i < pending.size() && i < in_flight_limit(); ++i) first.push_back(pending[i].hash);
        place_loaded(pending, first, journal_->load(first, options_.refill_max_bytes), "journal");
    }

    std::size_t in_flight_limit() const { return std::max<std::size_t>(options_.max_in_flight, 1); }

private:
    // ---- counters, recent and the journal (strand unless said) ----------------------

    void note_height(std::uint64_t height) {
        auto h = static_cast<std::int64_t>(height);
        auto cur = chain_height_.load(std::memory_order_relaxed);
        while (cur < h && !chain_height_.compare_exchange_weak(cur, h, std::memory_order_relaxed)) {
        }
    }

    // Under mu_.
    void recent_add_locked(submitted_block r) {
        recent_.push_back(std::move(r));
        while (recent_.size() > max_recent_blocks) recent_.pop_front();
    }

    // Under mu_.
    template <class F>
    void recent_update_locked(const hash256& hash, F&& f) {
        for (auto& r : recent_)
            if (r.hash == hash) f(r);
    }

    // Moves the block to status s (counted, shown, journaled).
    void set_status(const std::shared_ptr<block_state>& st, block_status s, const std::string& reason,
                    std::uint32_t confirmations) {
        bool changed = false;
        {
            std::lock_guard lock(mu_);
            changed = st->status != s;
            --counts_[static_cast<std::size_t>(st->status)];
            ++counts_[static_cast<std::size_t>(s)];
            st->status = s;
            st->confirmations = confirmations;
            recent_update_locked(st->hash, [&](submitted_block& r) {
                r.status = s;
                r.confirmations = confirmations;
                if (changed) r.reason = reason;
            });
        }
        if (changed && journal_)
            if (auto ec = journal_->mark(st->hash, s, reason, unix_now()))
                options_.log.error("journal mark failed: " + ec.message());
    }

    void set_reason(const std::shared_ptr<block_state>& st, const std::string& reason) {
        std::lock_guard lock(mu_);
        recent_update_locked(st->hash, [&](submitted_block& r) { r.reason = reason; });
    }

    bool live(const std::shared_ptr<block_state>& st) const {
        std::lock_guard lock(mu_);
        auto it = blocks_.find(st->hash);
        return !stopped_ && it != blocks_.end() && it->second == st;
    }

    bool stopped() const {
        std::lock_guard lock(mu_);
        return stopped_;
    }

    // ---- admitting blocks (strand, or start-up) -------------------------------------

    // A block from the journal with its bytes, sent again (replayed or back from parking).
    void admit_loaded(journal_entry e, bool late, const char* origin) {
        auto fb = std::make_shared<found_block>();
        fb->height = e.height;
        fb->hash = e.hash;
        fb->block = std::move(e.block);
        fb->job_id = origin;
        auto st = std::make_shared<block_state>();
        st->hash = e.hash;
        st->height = e.height;
        st->found_time = e.found_time;
        st->late = late;
        st->started = steady::now();
        st->sending = true;
        st->journaled = true;
        st->b = std::move(fb);
        st->nodes.resize(clients_.size());
        {
            std::lock_guard lock(mu_);
            if (stopped_ || !blocks_.emplace(st->hash, st).second) return;
            ++in_flight_;
            recent_update_locked(st->hash, [](submitted_block& r) { r.parked = false; });
        }
        asio::post(strand_, [self = shared_from_this(), st] { self->start(st, false); });
    }

    // A block whose fate the chain watch follows without sending it (no bytes needed):
    // accepted in the journal, or pending whose bytes the journal no longer has.
    std::shared_ptr<block_state> admit_watched(const hash256& hash, std::uint32_t height, std::uint64_t found_time,
                                               block_status s, bool late) {
        auto st = std::make_shared<block_state>();
        st->hash = hash;
        st->height = height;
        st->found_time = found_time;
        st->late = late;
        st->started = steady::now();
        st->status = s;
        {
            std::lock_guard lock(mu_);
            if (stopped_ || !blocks_.emplace(hash, st).second) return nullptr;
            recent_update_locked(hash, [](submitted_block& r) { r.parked = false; });
        }
        asio::post(strand_, [self = shared_from_this()] {
            self->watch_dirty_ = true;
            self->arm_watch(std::chrono::milliseconds(0));
        });
        return st;
    }

    // Places the blocks of `wanted` (hashes, lowest heights first) after a journal load
    // returned `loaded` (a prefix of the loadable ones, cut by the byte budget): loaded
    // ones are sent, the ones load skipped before the cut cannot be read back (watched
    // without bytes), the rest — and every block of `all` beyond `wanted` — are parked.
    void place_loaded(const std::vector<journal_entry>& all, const std::vector<hash256>& wanted,
                      std::vector<journal_entry> loaded, const char* origin) {
        std::map<hash256, journal_entry> by_hash;
        for (auto& e : loaded) by_hash.emplace(e.hash, std::move(e));
        std::size_t cut = 0;  // wanted[cut..] were not reached by the load
        for (std::size_t i = 0; i < wanted.size(); ++i)
            if (by_hash.count(wanted[i])) cut = i + 1;
        if (by_hash.empty()) cut = wanted.size();  // none readable: none was cut by the budget
        std::map<hash256, std::size_t> position;  // in wanted
        for (std::size_t i = 0; i < wanted.size(); ++i) position.emplace(wanted[i], i);
        std::size_t parked = 0;
        for (const auto& e : all) {
            const auto w = position.find(e.hash);
            if (auto it = by_hash.find(e.hash); it != by_hash.end()) {
                options_.log("sending pending block " + to_hex_reversed(e.hash) + at_height(e.height) + " again");
                admit_loaded(std::move(it->second), false, origin);
            } else if (w != position.end() && w->second < cut) {
                options_.log("BLOCK " + to_hex_reversed(e.hash) + at_height(e.height) +
                             " is pending but its bytes cannot be read back from the journal; its fate is watched, "
                             "it cannot be sent again");
                admit_watched(e.hash, e.height, e.found_time, block_status::pending, false);
            } else {
                std::lock_guard lock(mu_);
                if (parked_.emplace(e.hash, parked_block{e.height, false, e.found_time}).second) ++parked;
                recent_update_locked(e.hash, [](submitted_block& r) { r.parked = true; });
            }
        }
        if (parked > 0)
            options_.log(std::to_string(parked) + " pending blocks wait in the journal (parked) and are sent as "
                         "slots free, lowest heights first");
    }

    // ---- sending (strand) -----------------------------------------------------------

    void on_journaled(const std::shared_ptr<block_state>& st, std::error_code ec) {
        if (ec) {
            {
                std::lock_guard lock(mu_);
                ++journal_errors_;
            }
            options_.log("BLOCK " + to_hex_reversed(st->hash) + " could not be journaled (" + ec.message() +
                         "); it went out anyway, but a restart would not send it again");
            st->journal_failed = true;
            if (st->sending) enforce_bound();  // it no longer holds back the blocks below it
            return;
        }
        st->journaled = true;
        if (st->sending && st->first_round_done()) enforce_bound();
    }

    // Queues the found record of a block submit() took, once: from start(), or from stop()
    // for a block it never sent.
    void journal_found(const hash256& hash) {
        unjournaled_block u;
        {
            std::lock_guard lock(mu_);
            auto it = unjournaled_.find(hash);
            if (it == unjournaled_.end()) return;
            u = std::move(it->second);
            unjournaled_.erase(it);
        }
        queue_found(u);
    }

    void queue_found(const unjournaled_block& u) {
        journal_->append_found(u.found->height, u.found->hash, std::shared_ptr<const bytes>(u.found, &u.found->block),
                               u.st->found_time, [w = weak_from_this(), st = u.st](std::error_code ec) {
                                   if (auto self = w.lock())
                                       asio::post(self->strand_, [self, st, ec] { self->on_journaled(st, ec); });
                               });
    }

    void start(const std::shared_ptr<block_state>& st, bool found_now) {
        if (!live(st) || !st->sending) return;
        relay_fn relay;
        {
            std::lock_guard lock(mu_);
            relay = relay_;
        }
        if (relay) relay(st->b);
        // Shares the block's bytes; nothing is encoded before the first write needs it.
        st->hex = std::make_shared<node::block_hex>(std::shared_ptr<const bytes>(st->b, &st->b->block));
        st->started_round = true;
        for (std::size_t i = 0; i < clients_.size(); ++i) send(st, i);
        // Then the journal record, written on the journal's thread while the block travels
        // (journal.hpp): queued only after the requests' first writes (the clients start
        // them in handlers posted to this strand by send() above, and a write is tried at
        // once), so that its hex encoding and hashing do not take a core from them (a 4 MB
        // block is milliseconds of each).
        if (found_now)
            asio::post(strand_, [self = shared_from_this(), hash = st->hash] { self->journal_found(hash); });
        const std::string display = to_hex_reversed(st->hash);
        if (found_now)
            options_.log("BLOCK FOUND" + at_height(st->height) + ": " + display + " (worker " + st->b->worker + ", job " +
                         st->b->job_id + "), sent to " + std::to_string(clients_.size()) + " node(s)" +
                         (relay ? " and the P2P peers" : "") +
                         (st->late ? "; the chain already held a block at its height" : ""));
        if (clients_.empty()) {
            options_.log("no node configured: block " + display + " stays pending until the P2P chain settles it");
            enforce_bound();
        }
        watch_dirty_ = true;
        arm_watch(options_.watch_interval);
    }

    void send(const std::shared_ptr<block_state>& st, std::size_t i) {
        {
            std::lock_guard lock(mu_);
            recent_update_locked(st->hash, [](submitted_block& r) { ++r.attempts; });
        }
        node::call_options call{options_.call_timeout};
        if (st->found_here && !st->nodes[i].written)
            call.on_written = [self = shared_from_this(), st, i](const node::request_written& w) {
                self->on_written(st, i, w);
            };
        node::submitblock(*clients_[i], st->hex,
                          [self = shared_from_this(), st, i](node::rpc_result<node::submit_verdict> r) {
                              self->on_verdict(st, i, std::move(r));
                          },
                          std::move(call));
    }

    // The found-block timeline: the first request to node i is on its way.
    void on_written(const std::shared_ptr<block_state>& st, std::size_t i, const node::request_written& w) {
        if (st->nodes[i].written) return;
        st->nodes[i].written = true;
        auto ms = [&](steady::time_point t) {
            char text[32];
            std::snprintf(text, sizeof text, "%.3f ms",
                          std::chrono::duration<double, std::milli>(t - st->started).count());
            return std::string(text);
        };
        options_.log("block " + to_hex_reversed(st->hash) + at_height(st->height) + ": submitblock to node " +
                     std::to_string(i) + " written, first bytes " + ms(w.first_write) + " and all " +
                     std::to_string(w.bytes) + " bytes " + ms(w.last_write) + " after it was found");
        if (options_.on_submit_written) options_.on_submit_written(submit_written{st->hash, i, st->started, w});
    }

    void on_verdict(const std::shared_ptr<block_state>& st, std::size_t i, node::rpc_result<node::submit_verdict> r) {
        if (!live(st) || !st->sending || st->nodes[i].outcome != node_outcome::running) return;
        const std::string who = "node " + std::to_string(i) + ": block " + to_hex_reversed(st->hash);
        if (r.ok() || r.error.code != node::node_errc::cancelled) note_answered(st, i);
        if (!r.ok()) {
            if (r.error.code == node::node_errc::cancelled) return;
            if (r.error.code == node::node_errc::rpc_error) {
                // The node read the call and refused the block (e.g. -22 Block decode failed).
                options_.log.error("BLOCK REJECTED by " + who + ": " + r.error.to_string());
                node_done(st, i, node_outcome::rejected, r.error.message);
                return;
            }
            set_reason(st, r.error.to_string());
            options_.log.warn(who + ": submitblock failed (" + r.error.to_string() + "), will retry");
            retry(st, i);
            return;
        }
        switch (r.value.status) {
            case node::submit_status::accepted:
            case node::submit_status::duplicate:
            case node::submit_status::inconclusive:
            case node::submit_status::duplicate_inconclusive:
                // The node holds the block; whether it is in the main chain is the chain's word.
                options_.log(who + ": " + std::string(node::to_string(r.value.status)) +
                             " (the node holds it; its fate follows from the main chain)");
                node_done(st, i, node_outcome::took, {});
                return;
            case node::submit_status::rejected:
            case node::submit_status::duplicate_invalid:
                options_.log.error("BLOCK REJECTED by " + who + ": " + r.value.reason);
                node_done(st, i, node_outcome::rejected, r.value.reason);
                return;
        }
    }

    // The first answer of node i: once every node answered, the block may be parked.
    void note_answered(const std::shared_ptr<block_state>& st, std::size_t i) {
        if (st->nodes[i].answered) return;
        st->nodes[i].answered = true;
        if (++st->first_answers == st->nodes.size()) enforce_bound();
    }

    void retry(const std::shared_ptr<block_state>& st, std::size_t i) {
        auto& a = st->nodes[i];
        if (steady::now() - st->started >= options_.give_up_after) {
            node_done(st, i, node_outcome::gave_up, "gave up retrying");
            return;
        }
        a.backoff = a.backoff.count() == 0 ? options_.retry_initial : std::min(a.backoff * 2, options_.retry_max);
        if (!a.timer) a.timer = std::make_unique<asio::steady_timer>(strand_);
        {
            std::lock_guard lock(mu_);
            ++retries_;
        }
        a.timer->expires_after(a.backoff);
        a.timer->async_wait([self = shared_from_this(), st, i](const boost::system::error_code& ec) {
            if (ec || !self->live(st) || !st->sending || st->nodes[i].outcome != node_outcome::running) return;
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
        if (relay && st->b) relay(st->b);
    }

    // Before a retry: does this node's chain hold the block, or has it passed its height?
    // Asked on the node's watch client, so that a submitblock never waits behind it.
    void check_chain(const std::shared_ptr<block_state>& st, std::size_t i) {
        auto still_sending = [st, i](impl& self) {
            return self.live(st) && st->sending && st->nodes[i].outcome == node_outcome::running;
        };
        node::getblockchaininfo(
            *watchers_[i],
            [self = shared_from_this(), st, i, still_sending](node::rpc_result<node::blockchain_info> info) {
                if (!still_sending(*self)) return;
                if (!info.ok()) {
                    if (info.error.code != node::node_errc::cancelled) self->retry(st, i);
                    return;
                }
                self->note_height(info.value.blocks);
                if (info.value.blocks < st->height) {
                    self->send(st, i);
                    return;
                }
                const auto tip = info.value.blocks;
                node::getblockhash(
                    *self->watchers_[i], st->height,
                    [self, st, i, tip, still_sending](node::rpc_result<std::string> h) {
                        if (!still_sending(*self)) return;
                        if (!h.ok()) {
                            if (h.error.code != node::node_errc::cancelled) self->retry(st, i);
                            return;
                        }
                        self->observe(st, tip, hash_from_display(h.value));
                        // Still open (a competitor at its height, the tip at it): ours may
                        // still win, so the node gets it again.
                        if (still_sending(*self)) self->send(st, i);
                    },
                    {self->options_.call_timeout});
            },
            {options_.call_timeout});
    }

    void node_done(const std::shared_ptr<block_state>& st, std::size_t i, node_outcome how, const std::string& reason) {
        auto& a = st->nodes[i];
        a.outcome = how;
        if (a.timer) a.timer->cancel();
        if (how == node_outcome::rejected || how == node_outcome::gave_up) set_reason(st, reason);
        if (how == node_outcome::took) {
            watch_dirty_ = true;
            arm_watch(std::chrono::milliseconds(0));
        }
        bool took = false, rejected = false;
        std::string why = reason;
        for (const auto& n : st->nodes) {
            if (n.outcome == node_outcome::running) return;
            took = took || n.outcome == node_outcome::took;
            rejected = rejected || n.outcome == node_outcome::rejected;
        }
        // Every node has spoken.
        end_sending(st);
        if (took) return;  // the chain watch decides
        if (rejected) {
            std::lock_guard lock(mu_);
            recent_update_locked(st->hash, [&](submitted_block& r) { why = r.reason; });
        }
        finish(st, rejected ? block_status::rejected : block_status::abandoned, why);
    }

    // The block is no longer sent: timers stop, bytes go, its in-flight slot frees.
    void end_sending(const std::shared_ptr<block_state>& st) {
        if (!st->sending) return;
        st->sending = false;
        for (auto& a : st->nodes)
            if (a.timer) a.timer->cancel();
        st->b.reset();
        st->hex.reset();
        {
            std::lock_guard lock(mu_);
            if (in_flight_ > 0) --in_flight_;
        }
        schedule_refill();
    }

    // The block's fate is final: counted, journaled, logged, forgotten.
    void finish(const std::shared_ptr<block_state>& st, block_status s, const std::string& reason) {
        set_status(st, s, reason, st->confirmations);
        end_sending(st);
        {
            std::lock_guard lock(mu_);
            if (auto it = blocks_.find(st->hash); it != blocks_.end() && it->second == st) blocks_.erase(it);
        }
        if (s == block_status::rejected || s == block_status::abandoned)
            options_.log("block " + to_hex_reversed(st->hash) + at_height(st->height) + " " + std::string(to_string(s)) +
                         (reason.empty() ? "" : ": " + reason) + " (kept in the journal)");
    }

    // ---- what the chain says (strand) -----------------------------------------------

    // The main chain's tip height and the block it holds at st's height (nullopt: none, or
    // unreadable): see the fates in submitter.hpp.
    void observe(const std::shared_ptr<block_state>& st, std::uint64_t tip, std::optional<hash256> at) {
        note_height(tip);
        const std::string display = to_hex_reversed(st->hash);
        if (at && *at == st->hash) {
            const auto confirmations =
                static_cast<std::uint32_t>(std::min<std::uint64_t>(tip - st->height + 1, coinbase_maturity));
            end_sending(st);  // the node has it in its main chain
            if (confirmations >= coinbase_maturity) {
                options_.log("block " + display + at_height(st->height) + " CONFIRMED: " +
                             std::to_string(coinbase_maturity) + " confirmations, its coinbase is spendable");
                st->confirmations = confirmations;
                finish(st, block_status::confirmed, {});
                return;
            }
            if (st->status != block_status::accepted)
                options_.log("block " + display + at_height(st->height) + " ACCEPTED: in the main chain, " +
                             std::to_string(confirmations) + " confirmation" + (confirmations == 1 ? "" : "s"));
            set_status(st, block_status::accepted, {}, confirmations);
            return;
        }
        if (at && tip > st->height) {
            // Another block holds its height and the chain has gone on from it.
            const bool was_accepted = st->status == block_status::accepted;
            const block_status s = was_accepted || !st->late ? block_status::orphaned : block_status::stale;
            const std::string why = "main chain holds " + to_hex_reversed(*at);
            if (s == block_status::orphaned)
                options_.log("block " + display + at_height(st->height) + " ORPHANED: the " + why + " at its height" +
                             (was_accepted ? " (a reorganization took it out)" : " (it lost the race)"));
            else
                options_.log("block " + display + at_height(st->height) + " STALE: the chain already held a block at "
                             "its height when it was found; the " + why);
            finish(st, s, why);
            return;
        }
        if (st->status == block_status::accepted) {
            options_.log("block " + display + at_height(st->height) + " left the main chain (" +
                         (at ? "another block holds its height" : "the chain is lower now") +
                         "); pending again, watched");
            set_status(st, block_status::pending, "left the main chain", 0);
        }
    }

    void on_settle(const hash256& hash, block_status s, const std::string& reason) {
        std::shared_ptr<block_state> st;
        std::optional<parked_block> was_parked;
        {
            std::lock_guard lock(mu_);
            if (stopped_) return;
            if (auto it = blocks_.find(hash); it != blocks_.end()) {
                st = it->second;
            } else if (auto p = parked_.find(hash); p != parked_.end()) {
                was_parked = p->second;
                parked_.erase(p);
            }
        }
        if (!st && was_parked) {
            // Back from the journal as a watched block (no bytes: the P2P chain has it, or
            // has passed it).
            st = admit_watched(hash, was_parked->height, was_parked->found_time, block_status::pending,
                               was_parked->late);
            if (!st) return;
        }
        if (!st) return;
        const std::string display = to_hex_reversed(hash);
        if (s == block_status::accepted) {
            end_sending(st);
            if (st->status != block_status::accepted)
                options_.log("block " + display + at_height(st->height) + " ACCEPTED: the P2P chain holds it (" +
                             reason + ")");
            set_status(st, block_status::accepted, {}, std::max<std::uint32_t>(st->confirmations, 1));
            return;
        }
        const bool was_accepted = st->status == block_status::accepted;
        const block_status fate = was_accepted || !st->late ? block_status::orphaned : block_status::stale;
        options_.log("block " + display + at_height(st->height) + " " + (fate == block_status::orphaned ? "ORPHANED" : "STALE") +
                     ": the P2P chain passed its height with another block");
        finish(st, fate, reason.empty() ? "P2P chain moved past" : reason);
    }

    // ---- the chain watch (strand) ---------------------------------------------------

    struct watch_round {
        std::size_t node = 0;
        std::uint64_t tip = 0;
        hash256 best{};
        bool linear = false;  // the tip extends the last round's: nothing at or below it changed
        std::vector<std::uint32_t> heights;  // to ask getblockhash for, ascending
        std::size_t next = 0;
    };

    void arm_watch(std::chrono::milliseconds delay) {
        if (watchers_.empty() || watch_running_) return;  // a running round arms the next itself
        const auto at = steady::now() + delay;
        if (watch_armed_ && watch_at_ <= at) return;
        watch_armed_ = true;
        watch_at_ = at;
        watch_timer_.expires_at(at);
        watch_timer_.async_wait([self = shared_from_this(), at](const boost::system::error_code& ec) {
            if (ec || self->watch_at_ != at) return;
            self->watch_armed_ = false;
            self->run_watch();
        });
    }

    void run_watch() {
        {
            std::lock_guard lock(mu_);
            if (stopped_ || blocks_.empty()) return;
        }
        watch_running_ = true;
        const std::size_t w = watch_node_ % watchers_.size();
        node::getblockchaininfo(
            *watchers_[w],
            [self = shared_from_this(), w](node::rpc_result<node::blockchain_info> info) {
                if (self->stopped()) return;
                const auto best = info.ok() ? hash_from_display(info.value.bestblockhash) : std::nullopt;
                if (!best) {
                    self->watch_node_ = w + 1;  // try the next node next time
                    self->end_watch(false);
                    return;
                }
                self->note_height(info.value.blocks);
                if (self->last_best_ == best && !self->watch_dirty_) {
                    self->end_watch(true);
                    return;
                }
                self->watch_dirty_ = false;
                auto r = std::make_shared<watch_round>();
                r->node = w;
                r->tip = info.value.blocks;
                r->best = *best;
                if (self->last_best_ == best) {
                    r->linear = true;
                    self->plan_watch(r);
                } else if (self->last_best_ && self->last_height_ <= r->tip) {
                    // Does the new tip extend the last one?
                    node::getblockhash(*self->watchers_[w], self->last_height_,
                                       [self, r](node::rpc_result<std::string> h) {
                                           if (self->stopped()) return;
                                           if (!h.ok()) return self->end_watch(false);
                                           r->linear = hash_from_display(h.value) == self->last_best_;
                                           self->plan_watch(r);
                                       },
                                       {self->options_.call_timeout});
                } else {
                    self->plan_watch(r);
                }
            },
            {options_.call_timeout});
    }

    // Blocks whose membership may have changed get a getblockhash at their height, one call
    // after the other on the watch client; accepted ones below an extended tip only get
    // their confirmations counted.
    void plan_watch(const std::shared_ptr<watch_round>& r) {
        std::vector<std::uint32_t> heights;
        std::vector<std::shared_ptr<block_state>> above;  // accepted, above a lower tip now
        {
            std::lock_guard lock(mu_);
            for (const auto& [h, st] : blocks_) {
                if (st->height > r->tip) {
                    if (st->status == block_status::accepted) above.push_back(st);
                    continue;
                }
                const bool settled_below = r->linear && st->status == block_status::accepted &&
                                           st->height <= last_height_;
                if (!settled_below) heights.push_back(st->height);
            }
        }
        for (const auto& st : above) observe(st, r->tip, std::nullopt);
        std::sort(heights.begin(), heights.end());
        heights.erase(std::unique(heights.begin(), heights.end()), heights.end());
        r->heights = std::move(heights);
        watch_next(r);
    }

    void watch_next(const std::shared_ptr<watch_round>& r) {
        if (r->next == r->heights.size()) {
            // Accepted blocks below an extended tip: still in the chain, deeper now.
            if (r->linear) {
                for (const auto& st : blocks_at([&](const block_state& b) {
                         return b.status == block_status::accepted && b.height <= last_height_;
                     }))
                    observe(st, r->tip, st->hash);
            }
            last_best_ = r->best;
            last_height_ = r->tip;
            end_watch(true);
            return;
        }
        const std::uint32_t height = r->heights[r->next++];
        node::getblockhash(*watchers_[r->node], height,
                           [self = shared_from_this(), r, height](node::rpc_result<std::string> h) {
                               if (self->stopped()) return;
                               if (!h.ok()) {
                                   self->watch_dirty_ = true;
                                   self->watch_node_ = r->node + 1;
                                   return self->end_watch(false);
                               }
                               const auto at = hash_from_display(h.value);
                               for (const auto& st : self->blocks_at(
                                        [height](const block_state& b) { return b.height == height; }))
                                   self->observe(st, r->tip, at);
                               self->watch_next(r);
                           },
                           {options_.call_timeout});
    }

    template <class Pred>
    std::vector<std::shared_ptr<block_state>> blocks_at(Pred pred) {
        std::vector<std::shared_ptr<block_state>> out;
        std::lock_guard lock(mu_);
        for (const auto& [h, st] : blocks_)
            if (pred(*st)) out.push_back(st);
        return out;
    }

    void end_watch(bool answered) {
        watch_running_ = false;
        bool any = false;
        {
            std::lock_guard lock(mu_);
            any = !stopped_ && !blocks_.empty();
        }
        if (!any) return;
        arm_watch(answered && watch_dirty_ ? std::chrono::milliseconds(0) : options_.watch_interval);
    }

    // ---- the in-flight bound (strand) -----------------------------------------------

    // Parks the highest blocks beyond the bound (see submitter.hpp).
    void enforce_bound() {
        if (!journal_) return;
        std::vector<std::shared_ptr<block_state>> parked;
        {
            std::lock_guard lock(mu_);
            if (stopped_ || in_flight_ <= in_flight_limit()) return;
            std::vector<std::shared_ptr<block_state>> sending;
            for (const auto& [h, st] : blocks_)
                if (st->sending && !st->journal_failed) sending.push_back(st);
            std::sort(sending.begin(), sending.end(),
                      [](const auto& a, const auto& b) { return a->height > b->height; });
            // The highest first, and never past a higher block that is not eligible yet (its
            // journal record or its first round still to come): the order stays by height.
            std::vector<std::shared_ptr<block_state>> eligible;
            for (const auto& st : sending) {
                if (!st->journaled || !st->first_round_done()) break;
                eligible.push_back(st);
            }
            const std::size_t excess = std::min(in_flight_ - in_flight_limit(), eligible.size());
            for (std::size_t i = 0; i < excess; ++i) {
                const auto& st = eligible[i];
                blocks_.erase(st->hash);
                parked_.emplace(st->hash, parked_block{st->height, st->late, st->found_time});
                --in_flight_;
                recent_update_locked(st->hash, [](submitted_block& r) { r.parked = true; });
                parked.push_back(st);
            }
        }
        for (const auto& st : parked) {
            for (auto& a : st->nodes)
                if (a.timer) a.timer->cancel();
            options_.log("block " + to_hex_reversed(st->hash) + at_height(st->height) + " parked: over " +
                         std::to_string(in_flight_limit()) +
                         " blocks in flight; it stays pending in the journal and is sent again when a slot frees");
        }
    }

    // After a block stopped being sent: bring parked ones back, lowest height first, once
    // at most half the slots are taken. The journal reads them on its background thread.
    void schedule_refill() {
        std::vector<hash256> wanted;
        std::vector<journal_entry> summaries;
        {
            std::lock_guard lock(mu_);
            if (!journal_ || parked_.empty() || refill_running_ || stopped_ || in_flight_ > in_flight_limit() / 2)
                return;
            std::vector<std::pair<std::uint32_t, hash256>> order;
            for (const auto& [h, p] : parked_) order.emplace_back(p.height, h);
            std::sort(order.begin(), order.end());
            order.resize(std::min(order.size(), in_flight_limit() - in_flight_));
            for (const auto& [height, h] : order) wanted.push_back(h);
            refill_running_ = true;
        }
        journal_->load_async(wanted, options_.refill_max_bytes,
                             [w = weak_from_this(), wanted](std::vector<journal_entry> loaded) {
                                 if (auto self = w.lock())
                                     asio::post(self->strand_, [self, wanted, loaded = std::move(loaded)]() mutable {
                                         self->on_refill(wanted, std::move(loaded));
                                     });
                             });
    }

    void on_refill(const std::vector<hash256>& wanted, std::vector<journal_entry> loaded) {
        std::map<hash256, journal_entry> by_hash;
        for (auto& e : loaded) by_hash.emplace(e.hash, std::move(e));
        std::size_t cut = 0;
        for (std::size_t i = 0; i < wanted.size(); ++i)
            if (by_hash.count(wanted[i])) cut = i + 1;
        if (by_hash.empty()) cut = wanted.size();
        for (std::size_t i = 0; i < wanted.size(); ++i) {
            if (i >= cut) break;  // not reached by the byte budget: still parked
            parked_block p;
            {
                std::lock_guard lock(mu_);
                auto it = parked_.find(wanted[i]);
                if (it == parked_.end()) continue;  // settled meanwhile
                p = it->second;
                parked_.erase(it);
            }
            if (auto e = by_hash.find(wanted[i]); e != by_hash.end()) {
                options_.log("resuming parked block " + to_hex_reversed(wanted[i]) + at_height(p.height));
                admit_loaded(std::move(e->second), p.late, "parked");
            } else {
                options_.log("BLOCK " + to_hex_reversed(wanted[i]) + at_height(p.height) +
                             " was parked but cannot be read back from the journal; its fate is watched, it cannot "
                             "be sent again");
                admit_watched(wanted[i], p.height, p.found_time, block_status::pending, p.late);
            }
        }
        {
            std::lock_guard lock(mu_);
            refill_running_ = false;
        }
        schedule_refill();
    }

    const asio::any_io_executor strand_;
    const std::shared_ptr<journal> journal_;
    submitter_options options_;
    std::vector<std::unique_ptr<node::rpc_client>> clients_;   // one per node, submitblock only
    std::vector<std::unique_ptr<node::rpc_client>> watchers_;  // one per node, chain queries
    std::atomic<std::int64_t> chain_height_{-1};  // highest chain height heard of

    mutable std::mutex mu_;  // guards below, and block_state::status and confirmations
    bool stopped_ = false;
    std::map<hash256, std::shared_ptr<block_state>> blocks_;  // fate open, in memory
    std::map<hash256, parked_block> parked_;                   // pending in the journal only
    journal_counts counts_{};  // found blocks per current status
    std::uint64_t retries_ = 0;
    std::uint64_t journal_errors_ = 0;
    std::size_t in_flight_ = 0;  // blocks_ being sent
    std::deque<submitted_block> recent_;
    std::map<hash256, unjournaled_block> unjournaled_;  // taken by submit(), record not queued yet
    relay_fn relay_;
    bool refill_running_ = false;

    // The chain watch (strand only).
    asio::steady_timer watch_timer_;
    bool watch_armed_ = false;
    steady::time_point watch_at_{};
    bool watch_running_ = false;
    bool watch_dirty_ = false;  // blocks to look at even if the tip is unchanged
    std::size_t watch_node_ = 0;
    std::optional<hash256> last_best_;
    std::uint64_t last_height_ = 0;
};

submitter::submitter(asio::any_io_executor strand, std::vector<node::rpc_settings> nodes, std::shared_ptr<journal> jrnl,
                     submitter_options options)
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
void submitter::note_tip(std::uint32_t height) { impl_->note_tip(height); }
submitter_status submitter::status() const { return impl_->status(); }
void submitter::stop() { impl_->stop(); }

}  // namespace sb::bridge
