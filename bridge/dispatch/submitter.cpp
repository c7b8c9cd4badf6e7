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

    void submit(found_block b) {
        const std::string display = to_hex_reversed(b.hash);
        auto st = std::make_shared<block_state>();
        st->hex = to_hex(b.block);
        st->b = std::move(b);
        st->started = std::chrono::steady_clock::now();
        st->nodes.resize(clients_.size());
        {
            std::lock_guard lock(mu_);
            if (stopped_ || !blocks_.emplace(st->b.hash, st).second) return;
            ++status_.found;
        }
        // Durable first (DESIGN.md §3): nothing leaves before the record is on disk.
        if (journal_) {
            if (auto ec = journal_->append_found(st->b.height, st->b.hash, st->b.block, unix_now())) {
                std::lock_guard lock(mu_);
                ++status_.journal_errors;
                options_.log("BLOCK " + display + " could not be journaled (" + ec.message() + "); sending anyway");
            }
        }
        options_.log("BLOCK FOUND at height " + std::to_string(st->b.height) + ": " + display + " (worker " +
                     st->b.worker + ", job " + st->b.job_id + "), submitting to " + std::to_string(clients_.size()) +
                     " node(s)");
        boost::asio::post(strand_, [self = shared_from_this(), st] { self->start(st); });
    }

    void replay() {
        if (!journal_) return;
        for (auto& e : journal_->pending()) {
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

private:
    // ---- strand ---------------------------------------------------------------------

    void start(const std::shared_ptr<block_state>& st) {
        relay_fn relay;
        {
            std::lock_guard lock(mu_);
            relay = relay_;
        }
        if (relay) relay(st->b);
        if (clients_.empty()) {
            options_.log("no node configured: block " + to_hex_reversed(st->b.hash) + " stays pending");
            return;
        }
        for (std::size_t i = 0; i < clients_.size(); ++i) send(st, i);
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
            self->check_chain(st, i);
        });
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
                self->clients_[i]->call(
                    {"getblockhash", "[" + std::to_string(st->b.height) + "]"},
                    [self, st, i](node::rpc_reply r) {
                        if (!self->live(st)) return;
                        if (!r.ok() || !r.value->IsString()) {
                            if (r.error.code != node::node_errc::cancelled) self->retry(st, i);
                            return;
                        }
                        if (std::string_view(r.value->GetString()) == to_hex_reversed(st->b.hash)) {
                            self->options_.log("node " + std::to_string(i) + " has block " +
                                               to_hex_reversed(st->b.hash) + " in its chain");
                            self->finish(st, block_status::accepted, {});
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
        {
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
        }
        if (s != block_status::accepted)
            options_.log("block " + to_hex_reversed(st->b.hash) + " at height " + std::to_string(st->b.height) + " " +
                         std::string(to_string(s)) + (reason.empty() ? "" : ": " + reason) + " (kept in the journal)");
        if (journal_)
            if (auto ec = journal_->mark(st->b.hash, s, reason, unix_now()))
                options_.log("journal mark failed: " + ec.message());
        std::shared_ptr<block_state> keep;
        {
            std::lock_guard lock(mu_);
            auto it = blocks_.find(st->b.hash);
            if (it != blocks_.end()) {
                keep = std::move(it->second);
                blocks_.erase(it);
            }
        }
        // The timers die with the state once the last handler holding it has run.
        for (auto& a : st->nodes)
            if (a.timer) a.timer->cancel();
    }

    const boost::asio::any_io_executor strand_;
    const std::shared_ptr<journal> journal_;
    submitter_options options_;
    std::vector<std::unique_ptr<node::rpc_client>> clients_;  // one per node, submits only

    mutable std::mutex mu_;  // guards below (block_state fields other than attempts and
                             // last_reason are touched on the strand only)
    bool stopped_ = false;
    std::map<hash256, std::shared_ptr<block_state>> blocks_;  // in flight
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
submitter_status submitter::status() const { return impl_->status(); }
void submitter::stop() { impl_->stop(); }

}  // namespace sb::bridge
