#include "dispatch/dispatcher.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "sb/core/hex.hpp"
#include "sb/core/pow.hpp"
#include "sb/core/uint256.hpp"
#include "sb/pow/ethash.hpp"
#include "sb/pow/kawpow.hpp"

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

// Header hashes as duplicate keys: the header commits to every part of the key (job's
// fields, en1 and en2 through the merkle root, ntime, nonce, version), so equal keys give
// equal hashes and different keys collide only as sha256d does.
struct hash_key {
    std::size_t operator()(const hash256& h) const noexcept {
        std::size_t v = 0;
        std::memcpy(&v, h.data(), sizeof v);
        return v;
    }
};

struct job_entry {
    std::shared_ptr<const job> j;
    bool stale = false;
    bool full = false;  // stale because its duplicate set filled up: refreshed at once
    std::unordered_set<hash256, hash_key> seen;
};

struct payout_state {
    bytes script;
    std::size_t users = 0;
    std::deque<std::shared_ptr<job_entry>> jobs;  // oldest first

    job_entry* find(std::string_view id) {
        for (auto& e : jobs)
            if (e->j->id == id) return e.get();
        return nullptr;
    }
    // The same, owned: a share hashed outside the lock keeps its job alive.
    std::shared_ptr<job_entry> find_shared(std::string_view id) const {
        for (auto it = jobs.rbegin(); it != jobs.rend(); ++it)
            if ((*it)->j->id == id) return *it;
        return nullptr;
    }
    std::shared_ptr<const job> newest() const { return jobs.empty() ? nullptr : jobs.back()->j; }
};

struct consumer_rec {
    std::weak_ptr<work_consumer> consumer;
    std::uint32_t en1_key = 0;
    bytes en1;
    std::shared_ptr<payout_state> payout;  // null until set_payout (address-username mode)
    consumer_stats stats;
};

using job_post = std::pair<std::weak_ptr<work_consumer>, std::shared_ptr<const job>>;

// Worker names kept in statistics and found blocks.
constexpr std::size_t max_worker_name_chars = 128;

void default_log(std::string_view line) {
    std::fprintf(stderr, "dispatcher: %.*s\n", static_cast<int>(line.size()), line.data());
}

std::uint32_t system_unix_time() {
    return static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
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
        : strand_(std::move(strand)), chain_(chain), options_(std::move(options)), sink_(std::move(sink)),
          timer_(strand_), kawpow_(chain.coin == coin_type::ravencoin), tips_(options_.max_node_lag) {
        if (!options_.log) options_.log = default_log;
        if (!options_.unix_time) options_.unix_time = system_unix_time;
        // Random starting points: ids and extranonce1 values of a previous run (a miner
        // reconnecting with an old job) are unlikely to meet this run's.
        std::random_device rd;
        next_en1_ = rd();
        next_job_ = rd();
        if (options_.payout_mode == config::payout_mode::fixed_address) {
            fixed_ = std::make_shared<payout_state>();
            fixed_->script = options_.fixed_payout_script;
        }
    }

    void start() {
        boost::asio::post(strand_, [self = shared_from_this()] { self->arm_timer(); });
    }

    void stop() {
        {
            std::lock_guard lock(mu_);
            if (stopped_) return;
            stopped_ = true;
        }
        boost::asio::post(strand_, [self = shared_from_this()] { self->timer_.cancel(); });
    }

    consumer_slot add_consumer(std::shared_ptr<work_consumer> consumer) {
        std::lock_guard lock(mu_);
        consumer_rec rec;
        rec.consumer = consumer;
        // Never hand out a value a live consumer holds; the space (2^32) dwarfs the
        // number of consumers, so this ends after a few steps at most.
        // KAWPOW: a 2-byte nonce prefix, so the space is 65,536 (Stratum caps the
        // connections far below; a full space refuses the consumer with id 0).
        const std::uint64_t space = kawpow_ ? std::uint64_t{1} << (8 * kawpow_nonce_prefix_bytes)
                                            : std::uint64_t{1} << 32;
        if (live_en1_.size() >= space) return {};
        do rec.en1_key = static_cast<std::uint32_t>(next_en1_++ % space);
        while (!live_en1_.insert(rec.en1_key).second);
        if (kawpow_) {
            rec.en1 = {static_cast<std::uint8_t>(rec.en1_key >> 8), static_cast<std::uint8_t>(rec.en1_key)};
        } else {
            rec.en1.resize(default_extranonce1_bytes);
            store_be32(rec.en1.data(), rec.en1_key);
        }
        if (fixed_) {
            rec.payout = fixed_;
            ++fixed_->users;
        }
        const consumer_id id = next_consumer_++;
        rec.stats.id = id;
        rec.stats.extranonce1 = rec.en1;
        consumer_slot slot{id, rec.en1};
        consumers_.emplace(id, std::move(rec));
        return slot;
    }

    void remove_consumer(consumer_id id) {
        std::lock_guard lock(mu_);
        auto it = consumers_.find(id);
        if (it == consumers_.end()) return;
        live_en1_.erase(it->second.en1_key);
        release_payout(it->second);
        consumers_.erase(it);
    }

    std::error_code set_payout(consumer_id id, byte_span script) {
        if (script.empty() || script.size() > max_payout_script_bytes) return dispatch_errc::payout_script_invalid;
        std::lock_guard lock(mu_);
        auto it = consumers_.find(id);
        if (it == consumers_.end()) return dispatch_errc::unknown_consumer;
        if (fixed_) {
            return std::equal(script.begin(), script.end(), fixed_->script.begin(), fixed_->script.end())
                       ? std::error_code()
                       : make_error_code(dispatch_errc::payout_mismatch);
        }
        bytes key(script.begin(), script.end());
        consumer_rec& c = it->second;
        if (c.payout && c.payout->script == key) return {};
        auto p = payouts_.find(key);
        if (p == payouts_.end()) {
            auto ps = std::make_shared<payout_state>();
            ps->script = key;
            if (tmpl_ && !build_job(*ps, true)) return dispatch_errc::job_build_failed;
            p = payouts_.emplace(std::move(key), std::move(ps)).first;
        }
        release_payout(c);
        c.payout = p->second;
        ++c.payout->users;
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
            if (tmpl_ && !tip_stale_) {
                // Nothing a miner would mine differently: no job, no notify (a new block
                // brings the same template by longpoll and by the new-tip fetch).
                if (node::same_work(*tmpl_, *t) ||
                    (t->origin == node::template_origin::p2p_headers && tmpl_->origin == node::template_origin::node &&
                     tmpl_->prev_block == t->prev_block)) {
                    ++templates_unchanged_;
                    return {};
                }
            }
            const bool new_tip = !tmpl_ || tmpl_->prev_block != t->prev_block;
            const bool clean = new_tip || tip_stale_;
            tmpl_ = std::move(t);
            tip_stale_ = false;
            ++templates_;
            if (kawpow_) {
                // Contexts built off every I/O thread before the first share needs them;
                // the next epoch too, so the change of epoch costs no verification time.
                const int epoch = pow::ethash::epoch_number(tmpl_->height);
                prefetch_epoch(epoch + 1);
                prefetch_epoch(epoch);
            }
            for_each_payout([&](payout_state& ps) {
                if (new_tip)
                    for (auto& e : ps.jobs) e->stale = true;
                if (!build_job(ps, clean)) failed = true;
            });
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
        for_each_payout([](payout_state& ps) {
            for (auto& e : ps.jobs) e->stale = true;
        });
        return true;
    }

    // The lock is taken twice: once to find the consumer and its job, once to judge the
    // hashed share. The rebuild and the hash (the coinbase's sha256d, the merkle branch,
    // the header's sha256d: microseconds) and any block assembly run between, so I/O
    // threads judging shares at once hash in parallel.
    share_result submit_share(consumer_id id, const share& s) {
        auto r = judge_share(id, s);
        report(id, s.worker, r, s.difficulty);
        return r;
    }

    share_result submit_kawpow_share(consumer_id id, const kawpow_share& s) {
        auto r = judge_kawpow_share(id, s);
        report(id, s.worker, r, s.difficulty);
        return r;
    }

private:
    share_result judge_share(consumer_id id, const share& s) {
        share_result r;
        std::shared_ptr<job_entry> entry;
        std::array<std::uint8_t, 8> en1_buf{};
        std::size_t en1_size = 0;
        {
            std::lock_guard lock(mu_);
            auto cit = consumers_.find(id);
            if (cit == consumers_.end()) return finish(r, share_status::unknown_consumer);
            consumer_rec& c = cit->second;
            note_share(c, s.worker);
            if (c.payout) entry = c.payout->find_shared(s.job_id);
            if (!entry || entry->j->kawpow) return finish(r, count_reject(c, share_status::job_not_found));
            if (s.extranonce2.size() != entry->j->coinbase.extranonce2_size || c.en1.size() > en1_buf.size())
                return finish(r, count_reject(c, share_status::bad_extranonce2_size));
            en1_size = c.en1.size();
            std::copy(c.en1.begin(), c.en1.end(), en1_buf.begin());
        }
        const byte_span en1(en1_buf.data(), en1_size);
        const job& j = *entry->j;

        // BIP310: a version with no bit outside the mask is the rolled bits alone.
        const std::uint32_t version = (s.version & ~s.version_mask) == 0
                                          ? apply_version_bits(j.version, s.version, s.version_mask)
                                          : s.version;
        auto header = rebuild_header(j, en1, s.extranonce2, s.ntime, s.nonce, version);
        std::optional<found_block> block;
        bool is_block = false;
        uint256 value;
        if (header) {
            r.hash = header->hash();
            value = uint256::from_hash(r.hash);
            r.hash_difficulty = difficulty_from_target(value);
            // The block check comes first: a stale, duplicate or low-difficulty share that
            // meets the network target is still a block (DESIGN.md §3).
            if (value <= j.target) {
                is_block = true;
                if (auto b = assemble_block(j, en1, s.extranonce2, *header)) {
                    block = found_block{j.height, r.hash, j.prev_block, std::move(*b), j.id, id,
                                        std::string(s.worker.substr(0, max_worker_name_chars))};
                } else {
                    options_.log("BLOCK at height " + std::to_string(j.height) + " cannot be assembled: " +
                                 b.error().message());
                }
            }
        }
        {
            std::lock_guard lock(mu_);
            auto cit = consumers_.find(id);
            // The consumer may have left meanwhile: its block still goes out, and the
            // dispatcher's totals still count the share.
            consumer_rec* c = cit == consumers_.end() ? nullptr : &cit->second;
            if (!header) {
                r.status = c ? count_reject(*c, share_status::bad_extranonce2_size)
                             : count_reject_gone(share_status::bad_extranonce2_size);
            } else {
                if (is_block) {
                    r.block = true;
                    ++blocks_found_;
                    if (c) {
                        ++c->stats.blocks;
                        c->stats.best_share_difficulty = std::max(c->stats.best_share_difficulty, r.hash_difficulty);
                    }
                }
                r.status = judge(c, *entry, s, version, value, r.hash, r.hash_difficulty);
            }
        }
        // Outside the lock: the sink journals (fsync) and hands the block to the nodes.
        if (block && sink_) sink_(std::move(*block));
        refresh_if_full();
        return finish(r, r.status);
    }

    share_result judge_kawpow_share(consumer_id id, const kawpow_share& s) {
        share_result r;
        std::shared_ptr<job_entry> entry;
        bool prefix_ok = false;
        {
            std::lock_guard lock(mu_);
            auto cit = consumers_.find(id);
            if (cit == consumers_.end()) return finish(r, share_status::unknown_consumer);
            consumer_rec& c = cit->second;
            note_share(c, s.worker);
            job_entry* e = c.payout ? c.payout->find(s.job_id) : nullptr;
            if (!e || !e->j->kawpow) return finish(r, count_reject(c, share_status::job_not_found));
            if (s.header_hash != e->j->kawpow->header_hash)
                return finish(r, count_reject(c, share_status::bad_header_hash));
            // Judged after the block check: a block from outside the range is still a block.
            prefix_ok = (s.nonce >> (64 - 8 * kawpow_nonce_prefix_bytes)) == c.en1_key;
            for (auto& p : c.payout->jobs)
                if (p.get() == e) entry = p;
        }
        const job& j = *entry->j;

        // Outside the lock: the light evaluation takes milliseconds, an epoch build seconds.
        const hash256 final_be = pow::kawpow::final_hash_from_mix(s.header_hash, s.mix_hash, s.nonce);
        const uint256 value = uint256::from_be_bytes(final_be.data());
        const uint256 share_target = target_from_difficulty(s.difficulty);
        r.hash = value.to_hash();
        r.hash_difficulty = difficulty_from_target(value);
        const bool below_block = value <= j.target;
        bool bad_mix = false;
        if (below_block || value <= share_target) {
            auto ctx = pow::ethash::global_epoch_cache().get(j.kawpow->epoch);
            bad_mix = pow::kawpow::hash(*ctx, j.height, s.header_hash, s.nonce).mix_hash != s.mix_hash;
        }
        std::optional<found_block> block;
        if (below_block && !bad_mix) {
            if (auto b = assemble_kawpow_block(j, s.nonce, s.mix_hash)) {
                block = found_block{j.height, r.hash, j.prev_block, std::move(*b), j.id, id, s.worker};
            } else {
                options_.log("BLOCK at height " + std::to_string(j.height) + " cannot be assembled: " +
                             b.error().message());
            }
        }
        {
            std::lock_guard lock(mu_);
            auto cit = consumers_.find(id);
            consumer_rec* c = cit == consumers_.end() ? nullptr : &cit->second;
            auto reject = [&](share_status why) { return c ? count_reject(*c, why) : why; };
            if (block) {
                r.block = true;
                ++blocks_found_;
                if (c) {
                    ++c->stats.blocks;
                    c->stats.best_share_difficulty = std::max(c->stats.best_share_difficulty, r.hash_difficulty);
                }
            }
            if (bad_mix) {
                r.status = reject(share_status::bad_mix_hash);
            } else if (!prefix_ok) {
                r.status = reject(share_status::nonce_out_of_range);
            } else if (entry->stale) {
                r.status = reject(share_status::job_not_found);
            } else if (value > share_target) {
                r.status = reject(share_status::low_difficulty);
            } else if (!entry->seen.insert(r.hash).second) {
                r.status = reject(share_status::duplicate);
            } else {
                if (entry->seen.size() >= max_share_keys_per_job) mark_full(*entry);
                r.status = share_status::accepted;
                ++shares_accepted_;
                if (c) count_accept(*c, s.difficulty, r.hash_difficulty);
            }
        }
        if (block && sink_) sink_(std::move(*block));
        refresh_if_full();
        return finish(r, r.status);
    }

public:
    dispatcher_stats stats() const {
        std::lock_guard lock(mu_);
        dispatcher_stats out;
        out.templates = templates_;
        out.templates_unchanged = templates_unchanged_;
        out.templates_behind = templates_behind_;
        out.best_tip = tips_.best();
        out.work_stale = tip_stale_;
        out.jobs_issued = jobs_issued_;
        out.blocks_found = blocks_found_;
        out.shares_accepted = shares_accepted_;
        out.shares_rejected = shares_rejected_;
        out.height = tmpl_ ? tmpl_->height : 0;
        if (tmpl_) out.prev_block = tmpl_->prev_block;
        for (const auto& [cid, c] : consumers_) out.consumers.push_back(c.stats);
        std::sort(out.consumers.begin(), out.consumers.end(),
                  [](const consumer_stats& a, const consumer_stats& b) { return a.id < b.id; });
        return out;
    }

private:
    // One event per judged share for the statistics sink, outside the lock.
    void report(consumer_id id, std::string_view worker, const share_result& r, double share_difficulty) const {
        if (!options_.share_sink) return;
        stats::share_event e;
        e.consumer = id;
        e.worker = worker.substr(0, max_worker_name_chars);
        e.status = r.status;
        e.block = r.block;
        e.share_difficulty = share_difficulty;
        e.hash_difficulty = r.hash_difficulty;
        e.at = std::chrono::system_clock::now();
        options_.share_sink->on_share(e);
    }

    static share_result& finish(share_result& r, share_status status) {
        r.status = status;
        r.stratum_code = stratum_error_code(status);
        if (r.reason.empty()) r.reason = stratum_error_message(status);
        return r;
    }

    // Starts the build of a KAWPOW epoch context on a thread of its own unless it is built
    // or being built; the build logs its progress by quarters (seconds on mainnet).
    void prefetch_epoch(int epoch) {
        auto& cache = pow::ethash::global_epoch_cache();
        if (epoch > pow::ethash::max_epoch || cache.find(epoch)) return;
        auto quarter = std::make_shared<int>(-1);  // touched by the one build thread only
        (void)cache.get_async(epoch, [log = options_.log, epoch, quarter](std::string_view stage, double fraction) {
            const int q = static_cast<int>(fraction * 4);
            if (q <= *quarter) return;
            *quarter = q;
            log("KAWPOW epoch " + std::to_string(epoch) + ": " + std::string(stage) + " " + std::to_string(q * 25) +
                "%");
        });
    }

    // A job whose duplicate set filled up turned stale: its payout gets a fresh job now
    // rather than at the next refresh, so its miners lose seconds of shares, not 30.
    void refresh_if_full() {
        std::vector<job_post> posts;
        {
            std::lock_guard lock(mu_);
            if (!refresh_due_ || stopped_) return;
            refresh_due_ = false;
            if (tip_stale_) return;  // the next template brings the new tip's jobs
            refresh_jobs();
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

    void mark_full(job_entry& e) {
        e.stale = true;
        e.full = true;
        refresh_due_ = true;
    }

    static void note_share(consumer_rec& c, std::string_view worker) {
        c.stats.worker.assign(worker.substr(0, max_worker_name_chars));
        c.stats.last_share_at = std::chrono::system_clock::now();
    }

    share_status count_reject_gone(share_status why) {
        ++shares_rejected_;
        return why;
    }

    share_status count_reject(consumer_rec& c, share_status why) {
        ++c.stats.rejected[static_cast<std::size_t>(why)];
        ++shares_rejected_;
        return why;
    }

    void count_accept(consumer_rec& c, double difficulty, double hash_difficulty) {
        ++c.stats.accepted;
        c.stats.accepted_difficulty += difficulty;
        c.stats.best_share_difficulty = std::max(c.stats.best_share_difficulty, hash_difficulty);
    }

    template <class F>
    void for_each_payout(F&& f) {
        if (fixed_) f(*fixed_);
        for (auto& [script, ps] : payouts_) f(*ps);
    }

    void release_payout(consumer_rec& c) {
        if (!c.payout) return;
        if (--c.payout->users == 0 && c.payout != fixed_) payouts_.erase(c.payout->script);
        c.payout.reset();
    }

    std::string new_job_id() {
        char buf[16];
        std::snprintf(buf, sizeof buf, "%x", next_job_++);
        ++jobs_issued_;
        return buf;
    }

    void push_job(payout_state& ps, std::shared_ptr<const job> j) {
        auto e = std::make_shared<job_entry>();
        e->j = std::move(j);
        ps.jobs.push_back(std::move(e));
        // Older jobs of this tip beyond the live window turn stale; the oldest go.
        std::size_t live = 0;
        for (auto it = ps.jobs.rbegin(); it != ps.jobs.rend(); ++it)
            if (!(*it)->stale && ++live > max_live_jobs_per_payout) (*it)->stale = true;
        while (ps.jobs.size() > max_jobs_per_payout) ps.jobs.pop_front();
    }

    bool build_job(payout_state& ps, bool clean) {
        job_spec spec;
        spec.id = new_job_id();
        spec.clean = clean;
        spec.coinbase.payout_script = ps.script;
        spec.coinbase.tag = options_.coinbase_tag;
        spec.coinbase.extranonce1_size = default_extranonce1_bytes;
        spec.coinbase.extranonce2_size = options_.extranonce2_size;
        if (kawpow_) {
            const pow_algorithm algo = chain_.algorithm_at(std::max(tmpl_->curtime, tmpl_->mintime));
            if (algo != pow_algorithm::kawpow) {
                options_.log("cannot build a job for height " + std::to_string(tmpl_->height) + ": its blocks are " +
                             std::string(to_string(algo)) + ", which solobridge does not mine");
                return false;
            }
        }
        auto j = kawpow_ ? make_kawpow_job(tmpl_, spec) : make_job(tmpl_, spec);
        if (!j) {
            options_.log("cannot build a job for height " + std::to_string(tmpl_->height) + ": " +
                         j.error().message());
            return false;
        }
        push_job(ps, std::make_shared<const job>(std::move(*j)));
        return true;
    }

    // The newest job of each payout again under a new id, ntime moved up to now.
    void refresh_jobs() {
        const std::uint32_t now = options_.unix_time();
        for_each_payout([&](payout_state& ps) {
            if (ps.jobs.empty() || (ps.jobs.back()->stale && !ps.jobs.back()->full)) return;
            auto j = std::make_shared<job>(*ps.jobs.back()->j);
            j->id = new_job_id();
            j->clean = false;
            j->ntime = std::max(j->ntime, now);
            if (j->kawpow) set_kawpow_work(*j);
            push_job(ps, std::move(j));
        });
    }

    void collect_posts(std::vector<job_post>& posts) {
        for (auto& [cid, c] : consumers_)
            if (c.payout)
                if (auto j = c.payout->newest()) posts.emplace_back(c.consumer, std::move(j));
    }

    // The Stratum checks after the block check (submit_share), in stratum.md §3 order.
    // c is null when the consumer left while the share was hashed.
    share_status judge(consumer_rec* c, job_entry& e, const share& s, std::uint32_t version, const uint256& value,
                       const hash256& hash, double hash_difficulty) {
        auto reject = [&](share_status why) { return c ? count_reject(*c, why) : count_reject_gone(why); };
        const job& j = *e.j;
        if (e.stale) return reject(share_status::job_not_found);
        const std::uint64_t ntime = s.ntime;
        if (ntime < j.ntime || ntime > std::uint64_t(j.ntime) + max_ntime_ahead_s || ntime < j.mintime)
            return reject(share_status::bad_ntime);
        if (((version ^ j.version) & ~s.version_mask) != 0) return reject(share_status::bad_version);
        if (e.seen.contains(hash)) return reject(share_status::duplicate);
        if (value > target_from_difficulty(s.difficulty)) return reject(share_status::low_difficulty);
        // Only shares that met their target are remembered, so the set grows with real
        // work only: free random nonces can neither fill it nor make the job stale for
        // every miner. (A low-difficulty share sent twice is therefore 23 both times.)
        e.seen.insert(hash);
        if (e.seen.size() >= max_share_keys_per_job) mark_full(e);
        ++shares_accepted_;
        if (c) count_accept(*c, s.difficulty, hash_difficulty);
        return share_status::accepted;
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
            if (tmpl_ && !tip_stale_ && now >= last_broadcast_ + options_.job_refresh) {
                refresh_jobs();
                collect_posts(posts);
                last_broadcast_ = now;
            }
        }
        send(std::move(posts));
        arm_timer();
    }

    const boost::asio::any_io_executor strand_;
    const chain_params chain_;
    dispatcher_options options_;
    const block_sink sink_;
    boost::asio::steady_timer timer_;  // strand only
    const bool kawpow_;                 // Ravencoin: KAWPOW jobs, 2-byte extranonce1

    mutable std::mutex mu_;  // guards everything below
    bool stopped_ = false;
    std::unordered_map<consumer_id, consumer_rec> consumers_;
    std::shared_ptr<payout_state> fixed_;                      // fixed-address mode
    std::map<bytes, std::shared_ptr<payout_state>> payouts_;   // address-username mode
    std::unordered_set<std::uint32_t> live_en1_;
    std::shared_ptr<const node::block_template> tmpl_;
    tip_tracker tips_;
    std::optional<hash256> behind_logged_;  // last refused parent that was logged
    bool tip_stale_ = false;
    bool refresh_due_ = false;  // a job filled its duplicate set (refresh_if_full)
    consumer_id next_consumer_ = 1;
    std::uint32_t next_en1_ = 0;
    std::uint32_t next_job_ = 0;
    std::chrono::steady_clock::time_point last_broadcast_ = std::chrono::steady_clock::now();
    std::uint64_t templates_ = 0;
    std::uint64_t templates_unchanged_ = 0;
    std::uint64_t templates_behind_ = 0;
    std::uint64_t jobs_issued_ = 0;
    std::uint64_t blocks_found_ = 0;
    std::uint64_t shares_accepted_ = 0;  // since start, all consumers, gone ones included
    std::uint64_t shares_rejected_ = 0;
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
share_result dispatcher::submit_share(consumer_id id, const share& s) { return impl_->submit_share(id, s); }
share_result dispatcher::submit_kawpow_share(consumer_id id, const kawpow_share& s) {
    return impl_->submit_kawpow_share(id, s);
}
dispatcher_stats dispatcher::stats() const { return impl_->stats(); }
void dispatcher::stop() { impl_->stop(); }

}  // namespace sb::bridge
