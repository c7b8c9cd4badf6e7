// Fuzz target: the params of a mining.notify from an upstream Stratum server (the
// cpu-miner's and the header-only checks' reading of a job, bridge::job_from_notify),
// given as the JSON array a server sends. Nothing may crash; a job that parses must
// notify back the same fields (hex lower-cased), rebuild a header with the job's
// extranonce sizes and refuse other sizes, and refuse block assembly (it has no template).
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <rapidjson/document.h>

#include "dispatch/errors.hpp"
#include "dispatch/job.hpp"

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string string_at(const rapidjson::Value& a, rapidjson::SizeType i) {
    return a[i].IsString() ? std::string(a[i].GetString(), a[i].GetStringLength()) : std::string();
}

constexpr std::size_t en1_size = 4;
constexpr std::size_t en2_size = 8;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseIterativeFlag>(reinterpret_cast<const char*>(data), size);
    if (doc.HasParseError() || !doc.IsArray() || doc.Size() < 9) return 0;
    sb::bridge::notify_params n;
    n.job_id = string_at(doc, 0);
    n.prevhash = string_at(doc, 1);
    n.coinb1 = string_at(doc, 2);
    n.coinb2 = string_at(doc, 3);
    if (doc[4].IsArray())
        for (rapidjson::SizeType i = 0; i < doc[4].Size(); ++i) n.merkle_branch.push_back(string_at(doc[4], i));
    n.version = string_at(doc, 5);
    n.nbits = string_at(doc, 6);
    n.ntime = string_at(doc, 7);
    n.clean_jobs = doc[8].IsBool() && doc[8].GetBool();

    auto j = sb::bridge::job_from_notify(n, en1_size, en2_size);
    if (!j) {
        check(j.error().category() == sb::bridge::job_category());
        return 0;
    }
    const sb::bridge::notify_params back = sb::bridge::to_notify(*j);
    check(back.job_id == n.job_id && back.clean_jobs == n.clean_jobs);
    check(back.prevhash == lower(n.prevhash) && back.coinb1 == lower(n.coinb1) && back.coinb2 == lower(n.coinb2));
    check(back.version == lower(n.version) && back.nbits == lower(n.nbits) && back.ntime == lower(n.ntime));
    check(back.merkle_branch.size() == n.merkle_branch.size());
    for (std::size_t i = 0; i < n.merkle_branch.size(); ++i) check(back.merkle_branch[i] == lower(n.merkle_branch[i]));

    const std::uint8_t en1[en1_size] = {1, 2, 3, 4};
    const std::uint8_t en2[en2_size + 1] = {};
    auto h = sb::bridge::rebuild_header(*j, en1, sb::byte_span(en2, en2_size), j->ntime, 7, j->version);
    check(h && h->prev_block == j->prev_block && h->bits == j->bits && h->nonce == 7);
    auto wrong = sb::bridge::rebuild_header(*j, en1, sb::byte_span(en2, en2_size + 1), j->ntime, 7, j->version);
    check(!wrong && wrong.error() == sb::bridge::job_errc::extranonce_size_mismatch);
    auto block = sb::bridge::assemble_block(*j, en1, sb::byte_span(en2, en2_size), *h);
    check(!block && block.error() == sb::bridge::job_errc::no_template);
    return 0;
}
