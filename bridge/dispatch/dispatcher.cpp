#include "dispatch/dispatcher.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "dispatch/extranonce_space.hpp"
#include "dispatch/share_judge.hpp"
#include "sb/core/hex.hpp"

namespace sb::bridge {

namespace {

class dispatch_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "sb.dispatch"; }
    std::string message(int ev) const override {
        switch (static_cast<dispatch_errc>(ev)) {
            case dispatch_errc::ok: return "ok";
            case dispatch_errc::unknown_consumer: return "unknown consumer";
            case dispatch_errc::payout_script_invalid: return "payout script is empty or too long";
            case dispatch_errc::payout_mismatch: return "payout is fixed by the configuration";
            case dispatch_errc::template_invalid: return "no block template";
            case dispatch_errc::job_build_failed: return "could not build a job from the template";
            case dispatch_errc::template_behind: return "the template builds on a tip older than the best known one";
        }
        return "unknown dispatch error";
    }
};

struct consumer_rec {
    std::weak_ptr<work_consumer> consumer;
    bytes en1;
    std::shared_ptr<payout_jobs> payout;  // null until set_payout (address-username mode)
};

using job_post = std::pair<std::weak_ptr<work_consumer>, std::shared_ptr<const job>>;

// Worker names kept in found blocks and statistics events.
constexpr std::size_t max_worker_name_chars = 128;

std::uint32_t system_unix_time() {
    return static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

job_store_options store_options(const dispatcher_options& o) {
    job_store_options s;
    s.coinbase_tag = o.coinbase_tag;
    s.extranonce2_size = o.extranonce2_size;
    s.payout_mode = o.payout_mode;
    s.fixed_payout_script = o.fixed_payout_script;
    return s;
}

}  // namespace

const std::error_category& dispatch_category() noexcept {
    static const dispatch_category_impl c;
    return c;
}

dispatcher_options dispatcher_options_for(const config::chain_settings& chain) {
    dispatcher_options o;
    o.coinbase_tag = chain.coinbase_tag;
    o.extranonce2_size = chain.extranonce2_size;
    o.payout_mode = chain.payout.mode;
    o.fixed_payout_script = chain.payout.script_pubkey;
    return o;
}

class dispatcher::impl : public std::enable_shared_from_this<impl> {
public:
    impl(boost::asio::any_io_executor strand, const chain_params& chain, dispatcher_options options, block_sink sink)
        : strand_(std::move(strand)),
          chain_(chain),
          options_(with_defaults(std::move(options))),
          sink_(std::move(sink)),
          timer_(strand_),
          algo_(options_.algorithm ? *options_.algorithm : algorithm_for(chain)),
          nonces_(algo_.extranonce1_bytes()),
          jobs_(algo_, chain_, store_options(options_), options_.log),
          tips_(options_.max_node_lag),
          progress_log_(std::make_shared<const logger>(options_.log)) {}

    void start() {
        boost::asio::post(strand_, [self = shared_from_this()] { self->arm_timer(); });
    }

    void stop() {
        {
            std::lock_guard lock(mu_);
            if (stopped_) return;
            stopped_ = true;
            progress_log_.reset();
        }
        boost::asio::post(strand_, [self = shared_from_this()] { self->timer_.cancel(); });
    }

    const mining_algorithm& algorithm() const noexcept { return algo_; }

    consumer_slot add_consumer(std::shared_ptr<work_consumer> consumer) {
        std::lock_guard lock(mu_);
        auto en1 = nonces_.allocate();
        if (!en1) return {};
        consumer_rec rec;
        rec.consumer = consumer;
        rec.en1 = std::move(*en1);
        if (const auto& fixed = jobs_.fixed()) {
            rec.payout = fixed;
            ++fixed->users;
        }
        const consumer_id id = next_consumer_++;
        consumer_slot slot{id, rec.en1};
        consumers_.emplace(id, std::move(rec));
        return slot;
    }

    void remove_consumer(consumer_id id) {
        std::lock_guard lock(mu_);
        auto it = consumers_.find(id);
        if (it == consumers_.end()) return;
        nonces_.release(it->second.en1);
        release_payout(it->second);
        consumers_.erase(it);
    }

    std::error_code set_payout(consumer_id id, byte_span script) {
        if (script.empty() || script.size() > max_payout_script_bytes) return dispatch_errc::payout_script_invalid;
        std::lock_guard lock(mu_);
        auto it = consumers_.find(id);
        if (it == consumers_.end()) return dispatch_errc::unknown_consumer;
        if (const auto& fixed = jobs_.fixed()) {
            return std::equal(script.begin(), script.end(), fixed->script.begin(), fixed->script.end())
                       ? std::error_code()
                       : make_error_code(dispatch_errc::payout_mismatch);
        }
        consumer_rec& c = it->second;
        const bytes key(script.begin(), script.end());
        if (c.payout && c.payout->script == key) return {};
        auto p = jobs_.acquire(key);
        if (!p) return dispatch_errc::job_build_failed;
        ++p->users;  // before the release below: the same payout must not be forgotten
        release_payout(c);
        c.payout = std::move(p);
        return {};
    }

    std::shared_ptr<const job> current_job(consumer_id id) const {
        std::lock_guard lock(mu_);
        auto it = consumers_.find(id);
        if (it == consumers_.end() || !it->second.payout) return nullptr;
        return it->second.payout->newest();
    }

    std::error_code on_template(std::shared_ptr<const node::block_template> t) {
        if (!t) return dispatch_errc::template_invalid;
        std::vector<job_post> posts;
        bool failed = false;
        {
            std::lock_guard lock(mu_);
            if (stopped_) return {};
            if (!accept_template(*t)) return dispatch_errc::template_behind;
            const auto& current = jobs_.current_template();
            if (current && !tip_stale_) {
                // Nothing a miner would mine differently: no job, no notify (a new block
                // brings the same template by longpoll and by the new-tip fetch).
                if (node::same_work(*current, *t) ||
                    (t->origin == node::template_origin::p2p_headers && current->origin == node::template_origin::node &&
                     current->prev_block == t->prev_block)) {
                    ++templates_unchanged_;
                    return {};
                }
            }
            const bool new_tip = !current || current->prev_block != t->prev_block;
            const bool clean = new_tip || tip_stale_;
            tip_stale_ = false;
            ++templates_;
            algo_.prepare(*t, progress_log_);
            failed = !jobs_.on_template(std::move(t), new_tip, clean);
            collect_posts(posts);
            last_broadcast_ = std::chrono::steady_clock::now();
        }
        send(std::move(posts));
        return failed ? make_error_code(dispatch_errc::job_build_failed) : std::error_code();
    }

    bool on_new_tip(const hash256& tip, std::uint32_t height) {
        std::lock_guard lock(mu_);
        // A tip the work already builds on (its template came first) is `known`.
        if (tips_.on_p2p_tip(tip, height) != p2p_verdict::news) return false;
        tip_stale_ = true;
        jobs_.make_all_stale();
        return true;
    }

    share_result submit(consumer_id id, const submission& s) {
        std::shared_ptr<job_entry> entry;
        bytes en1;
        {
            std::lock_guard lock(mu_);
            auto it = consumers_.find(id);
            if (it != consumers_.end()) {
                en1 = it->second.en1;
                if (it->second.payout) entry = it->second.payout->find(job_id_of(s));
            }
            if (it == consumers_.end()) return finish(id, s, rejected(share_status::unknown_consumer));
        }
        if (!entry) return finish(id, s, rejected(share_status::job_not_found));
        // Outside the lock: the evaluation (a microsecond of hashing; KAWPOW's light
        // evaluation milliseconds) and the judge's checks.
        auto verdict = judge_share(algo_, *entry, en1, s);
        const job& j = entry->get();
        if (!verdict.block_error.empty())
            options_.log.error("BLOCK at height " + std::to_string(j.height) + " cannot be assembled: " + verdict.block_error);
        if (verdict.block) {
            ++blocks_found_;
            if (sink_ && send_sibling(j)) {
                sink_(found_block{j.height, verdict.result.hash, j.prev_block, std::move(*verdict.block), j.id, id,
                                  std::string(worker_of(s).substr(0, max_worker_name_chars))});
            }
        }
        if (entry->full()) refresh_full();
        return finish(id, s, std::move(verdict.result));
    }

    dispatcher_stats stats() const {
        std::lock_guard lock(mu_);
        dispatcher_stats out;
        out.templates = templates_;
        out.templates_unchanged = templates_unchanged_;
        out.templates_behind = templates_behind_;
        out.best_tip = tips_.best();
        out.work_stale = tip_stale_;
        out.jobs_issued = jobs_.jobs_issued();
        out.blocks_found = blocks_found_.load();
        out.blocks_not_sent = blocks_not_sent_;
        out.shares_accepted = shares_accepted_.load();
        out.shares_rejected = shares_rejected_.load();
        if (const auto& t = jobs_.current_template()) {
            out.height = t->height;
            out.prev_block = t->prev_block;
        }
        for (const auto& [cid, c] : consumers_) out.consumers.push_back({cid, c.en1});
        std::sort(out.consumers.begin(), out.consumers.end(),
                  [](const consumer_slot& a, const consumer_slot& b) { return a.id < b.id; });
        return out;
    }

private:
    static dispatcher_options with_defaults(dispatcher_options o) {
        if (!o.unix_time) o.unix_time = system_unix_time;
        return o;
    }

    // Counts the verdict and reports it to the statistics sink, outside the lock.
    share_result finish(consumer_id id, const submission& s, share_result r) {
        if (r.status == share_status::accepted) ++shares_accepted_;
        else ++shares_rejected_;
        if (options_.share_sink) {
            stats::share_event e;
            e.consumer = id;
            e.worker = std::string_view(worker_of(s)).substr(0, max_worker_name_chars);
            e.status = r.status;
            e.block = r.block;
            e.share_difficulty = difficulty_of(s);
            e.hash_difficulty = r.hash_difficulty;
            e.at = std::chrono::system_clock::now();
            options_.share_sink->on_share(e);
        }
        return r;
    }

    // Whether a block on j's parent still goes to the block sink (max_blocks_per_parent).
    bool send_sibling(const job& j) {
        std::lock_guard lock(mu_);
        auto [it, fresh] = blocks_per_parent_.try_emplace(j.prev_block, 0);
        if (fresh && blocks_per_parent_.size() > max_parents_tracked) {
            // Forget the parent with the fewest blocks other than this one (old tips).
            auto victim = blocks_per_parent_.end();
            for (auto p = blocks_per_parent_.begin(); p != blocks_per_parent_.end(); ++p)
                if (p != it && (victim == blocks_per_parent_.end() || p->second < victim->second)) victim = p;
            blocks_per_parent_.erase(victim);
        }
        if (++it->second <= max_blocks_per_parent) return true;
        ++blocks_not_sent_;
        if (it->second == max_blocks_per_parent + 1)
            options_.log("more blocks on parent " + to_hex_reversed(j.prev_block) + " (height " + std::to_string(j.height) +
                         ") than the " + std::to_string(max_blocks_per_parent) +
                         " already sent: further ones are not sent (only one can extend that parent; the network "
                         "target is trivial here)");
        return false;
    }

    // A job whose duplicate set filled up turned stale: its payout gets a fresh job now
    // rather than at the next refresh, so its miners lose seconds of shares, not 30.
    void refresh_full() {
        std::vector<job_post> posts;
        {
            std::lock_guard lock(mu_);
            if (stopped_ || tip_stale_) return;  // the next template brings the new tip's jobs
            bool any = false;
            jobs_.for_each_payout([&](const payout_jobs& p) { any = any || (!p.jobs.empty() && p.jobs.back()->full()); });
            if (!any) return;  // another share's refresh came first
            jobs_.refresh(options_.unix_time());
            collect_posts(posts);
            last_broadcast_ = std::chrono::steady_clock::now();
        }
        send(std::move(posts));
    }

    // ---- all below run with mu_ held ----------------------------------------------

    // Whether t builds on the best tip known (tip_tracker.hpp), logging what is refused or
    // followed. A p2p_headers template speaks for the P2P chain: its parent is a P2P tip.
    bool accept_template(const node::block_template& t) {
        if (t.origin == node::template_origin::p2p_headers) {
            if (tips_.on_p2p_tip(t.prev_block, t.height - 1) != p2p_verdict::ignored) return true;
            ++templates_behind_;
            return false;
        }
        const auto verdict = tips_.on_template(t.prev_block, t.height, std::chrono::steady_clock::now());
        const auto best = tips_.best();
        switch (verdict) {
            case template_verdict::on_best:
            case template_verdict::newer:
                behind_logged_.reset();
                return true;
            case template_verdict::after_lag:
                options_.log("the node kept building on " + to_hex_reversed(t.prev_block) + " at height " +
                             std::to_string(t.height - 1) + " for " +
                             std::to_string(options_.max_node_lag.count() / 1000) +
                             " s after a higher tip was known: following the node (it may have refused that block)");
                behind_logged_.reset();
                return true;
            case template_verdict::behind: break;
        }
        ++templates_behind_;
        // Once per refused parent: the node is asked again until it catches up.
        if (behind_logged_ != t.prev_block) {
            behind_logged_ = t.prev_block;
            options_.log("template for height " + std::to_string(t.height) + " on " + to_hex_reversed(t.prev_block) +
                         " not used: the best known tip is " + to_hex_reversed(best->hash) + " at height " +
                         std::to_string(best->height) + "; asking the node again");
        }
        return false;
    }

    void release_payout(consumer_rec& c) {
        if (!c.payout) return;
        --c.payout->users;
        jobs_.release(c.payout);
        c.payout.reset();
    }

    void collect_posts(std::vector<job_post>& posts) {
        for (auto& [cid, c] : consumers_)
            if (c.payout)
                if (auto j = c.payout->newest()) posts.emplace_back(c.consumer, std::move(j));
    }

    // ---- strand side ----------------------------------------------------------------

    // One handler for the whole fan-out, not one per consumer: each consumer posts the
    // job on to its own strand (work.hpp), so a new tip costs N posts, not 2N.
    void send(std::vector<job_post> posts) {
        if (posts.empty()) return;
        boost::asio::post(strand_, [posts = std::move(posts)] {
            for (auto& [who, j] : posts)
                if (auto c = who.lock()) c->on_job(j);
        });
    }

    void arm_timer() {
        std::chrono::steady_clock::time_point deadline;
        {
            std::lock_guard lock(mu_);
            if (stopped_) return;
            deadline = last_broadcast_ + options_.job_refresh;
            if (deadline <= std::chrono::steady_clock::now())
                deadline = std::chrono::steady_clock::now() + options_.job_refresh;
        }
        timer_.expires_at(deadline);
        timer_.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
            if (ec) return;
            if (auto self = w.lock()) self->on_timer();
        });
    }

    void on_timer() {
        std::vector<job_post> posts;
        {
            std::lock_guard lock(mu_);
            if (stopped_) return;
            const auto now = std::chrono::steady_clock::now();
            // A template may have gone out since the timer was set; then wait for its due.
            if (jobs_.current_template() && !tip_stale_ && now >= last_broadcast_ + options_.job_refresh) {
                jobs_.refresh(options_.unix_time());
                collect_posts(posts);
                last_broadcast_ = now;
            }
        }
        send(std::move(posts));
        arm_timer();
    }

    const boost::asio::any_io_executor strand_;
    const chain_params chain_;
    const dispatcher_options options_;
    const block_sink sink_;
    boost::asio::steady_timer timer_;  // strand only
    const mining_algorithm& algo_;

    mutable std::mutex mu_;  // guards everything below but the atomics
    bool stopped_ = false;
    std::unordered_map<consumer_id, consumer_rec> consumers_;
    extranonce_space nonces_;
    job_store jobs_;
    tip_tracker tips_;
    std::optional<hash256> behind_logged_;  // last refused parent that was logged
    bool tip_stale_ = false;
    // Blocks handed on per parent (max_blocks_per_parent), for the last few parents.
    static constexpr std::size_t max_parents_tracked = 16;
    std::map<hash256, std::size_t> blocks_per_parent_;
    std::uint64_t blocks_not_sent_ = 0;
    consumer_id next_consumer_ = 1;
    std::chrono::steady_clock::time_point last_broadcast_ = std::chrono::steady_clock::now();
    std::uint64_t templates_ = 0;
    std::uint64_t templates_unchanged_ = 0;
    std::uint64_t templates_behind_ = 0;
    std::atomic<std::uint64_t> blocks_found_{0};
    std::atomic<std::uint64_t> shares_accepted_{0};  // since start, all consumers, gone ones included
    std::atomic<std::uint64_t> shares_rejected_{0};
    // The log as background work started by the algorithm sees it (prepare): gone once
    // the dispatcher stops, so an epoch build that outlasts it logs nothing.
    std::shared_ptr<const logger> progress_log_;  // under mu_; reset by stop()
};

dispatcher::dispatcher(boost::asio::any_io_executor strand, const chain_params& chain, dispatcher_options options,
                       block_sink sink)
    : impl_(std::make_shared<impl>(std::move(strand), chain, std::move(options), std::move(sink))) {
    impl_->start();
}

dispatcher::~dispatcher() { impl_->stop(); }

consumer_slot dispatcher::add_consumer(std::shared_ptr<work_consumer> c) { return impl_->add_consumer(std::move(c)); }
void dispatcher::remove_consumer(consumer_id id) { impl_->remove_consumer(id); }
std::error_code dispatcher::set_payout(consumer_id id, byte_span s) { return impl_->set_payout(id, s); }
std::shared_ptr<const job> dispatcher::current_job(consumer_id id) const { return impl_->current_job(id); }
std::error_code dispatcher::on_template(std::shared_ptr<const node::block_template> t) {
    return impl_->on_template(std::move(t));
}
bool dispatcher::on_new_tip(const hash256& tip, std::uint32_t height) { return impl_->on_new_tip(tip, height); }
share_result dispatcher::submit(consumer_id id, const submission& s) { return impl_->submit(id, s); }
const mining_algorithm& dispatcher::algorithm() const noexcept { return impl_->algorithm(); }
dispatcher_stats dispatcher::stats() const { return impl_->stats(); }
void dispatcher::stop() { impl_->stop(); }

}  // namespace sb::bridge
