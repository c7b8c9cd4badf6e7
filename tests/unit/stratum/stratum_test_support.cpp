#include "stratum_test_support.hpp"

#include <algorithm>

#include <doctest/doctest.h>

#include "sb/core/pow.hpp"
#include "sb/core/uint256.hpp"
#include "vectors.hpp"

namespace sb::test {

using namespace sb::bridge;

stratum::registration scripted_source::add_consumer(std::shared_ptr<work_consumer> c) {
    std::lock_guard lock(mutex_);
    const consumer_id id = next_id_++;
    bytes en1{0xf0, 0x00, 0x00, static_cast<std::uint8_t>(id)};
    consumers_.push_back({id, en1, std::move(c)});
    return {id, en1};
}

void scripted_source::remove_consumer(consumer_id id) {
    std::lock_guard lock(mutex_);
    auto it = std::find_if(consumers_.begin(), consumers_.end(), [&](const auto& c) { return c.id == id; });
    if (it == consumers_.end()) return;
    consumers_.erase(it);
    ++removed_;
}

std::error_code scripted_source::set_payout(consumer_id, byte_span script_pubkey) {
    std::lock_guard lock(mutex_);
    payouts_.emplace_back(script_pubkey.begin(), script_pubkey.end());
    return {};
}

std::shared_ptr<const job> scripted_source::current_job(consumer_id) {
    std::lock_guard lock(mutex_);
    return current_;
}

share_result scripted_source::submit_share(consumer_id id, const share& s) {
    std::lock_guard lock(mutex_);
    shares_.push_back(s);
    share_result r;
    if (forced_) {
        r.status = *forced_;
        r.block = forced_block_;
        return r;
    }
    auto c = std::find_if(consumers_.begin(), consumers_.end(), [&](const auto& x) { return x.id == id; });
    if (c == consumers_.end()) {
        r.status = share_status::unknown_consumer;
        return r;
    }
    auto j = std::find_if(jobs_.begin(), jobs_.end(), [&](const auto& x) { return x->id == s.job_id; });
    if (j == jobs_.end()) {
        r.status = share_status::job_not_found;
        return r;
    }
    auto header = rebuild_header(**j, c->extranonce1, s.extranonce2, s.ntime, s.nonce, s.version);
    if (!header) {
        r.status = share_status::bad_extranonce2_size;
        return r;
    }
    r.hash = header->hash();
    const uint256 h = uint256::from_hash(r.hash);
    r.hash_difficulty = difficulty_from_target(h);
    r.block = h <= (*j)->target;
    r.status = h <= target_from_difficulty(s.difficulty) ? share_status::accepted : share_status::low_difficulty;
    return r;
}

void scripted_source::push_job(std::shared_ptr<const job> j) {
    std::vector<std::shared_ptr<work_consumer>> targets;
    {
        std::lock_guard lock(mutex_);
        jobs_.push_back(j);
        current_ = j;
        for (auto& c : consumers_)
            if (c.c) targets.push_back(c.c);
    }
    for (auto& t : targets) t->on_job(j);
}

void scripted_source::force_verdict(std::optional<share_status> s, bool block) {
    std::lock_guard lock(mutex_);
    forced_ = s;
    forced_block_ = block;
}

std::vector<share> scripted_source::shares() const {
    std::lock_guard lock(mutex_);
    return shares_;
}

std::vector<bytes> scripted_source::payouts() const {
    std::lock_guard lock(mutex_);
    return payouts_;
}

std::size_t scripted_source::live_consumers() const {
    std::lock_guard lock(mutex_);
    return consumers_.size();
}

std::size_t scripted_source::removed_consumers() const {
    std::lock_guard lock(mutex_);
    return removed_;
}

std::shared_ptr<const job> cpuminer_job(std::size_t en2_size, const std::string& id, std::optional<std::uint32_t> ntime,
                                        bool clean) {
    const auto& v = vector_json("stratum_cpuminer.json");
    const auto& n = v["notify"];
    notify_params p;
    p.job_id = id;
    p.prevhash = n["prevhash"].GetString();
    p.coinb1 = n["coinb1"].GetString();
    p.coinb2 = n["coinb2"].GetString();
    for (const auto& b : n["merkle_branch"].GetArray()) p.merkle_branch.emplace_back(b.GetString());
    p.version = n["version"].GetString();
    p.nbits = n["nbits"].GetString();
    p.ntime = ntime ? u32_to_stratum_hex(*ntime) : std::string(n["ntime"].GetString());
    p.clean_jobs = clean;
    auto j = job_from_notify(p, 4, en2_size);
    REQUIRE(j);
    return std::make_shared<const job>(std::move(*j));
}

std::shared_ptr<const job> regtest_job(std::size_t en2_size, const std::string& id, bool clean) {
    auto j = std::make_shared<job>(*cpuminer_job(en2_size, id, std::nullopt, clean));
    j->bits = 0x207fffff;
    j->target = compact_to_target(j->bits).target;
    return j;
}

std::uint32_t nonce_where(const job& j, byte_span extranonce1, byte_span extranonce2,
                          const std::function<bool(const uint256&)>& pred, std::uint32_t from) {
    for (std::uint32_t nonce = from; nonce - from < 100'000; ++nonce) {
        auto header = rebuild_header(j, extranonce1, extranonce2, j.ntime, nonce, j.version);
        REQUIRE(header);
        if (pred(uint256::from_hash(header->hash()))) return nonce;
    }
    FAIL("no nonce among the next 100000");
    return 0;
}

std::vector<std::string> texts(const std::vector<bridge::stratum::out_line>& lines) {
    std::vector<std::string> out;
    out.reserve(lines.size());
    for (const auto& l : lines) out.emplace_back(l.text());
    return out;
}

}  // namespace sb::test
