// Fuzz target: arbitrary bytes as JSON, then as a getblocktemplate result for a Bitcoin
// and a Ravencoin chain. Parsing must give a template or an error, never a crash; a
// template that parses must build a job whose header rebuild and block assembly work
// and whose block holds exactly the template's transactions.
#include <cstdint>
#include <cstdlib>
#include <memory>

#include <rapidjson/document.h>

#include "dispatch/job.hpp"
#include "sb/core/chain.hpp"
#include "sb/node/internal/json.hpp"
#include "sb/node/template.hpp"

namespace {

void exercise(const rapidjson::Value& v, const sb::chain_params& chain) {
    auto t = sb::node::parse_block_template(v, chain);
    if (!t) {
        if (t.error().category() != sb::node::template_category()) std::abort();
        return;
    }
    static constexpr std::uint8_t payout[] = {0x00, 0x14, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                              11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
    sb::bridge::job_spec spec;
    spec.id = "f";
    spec.coinbase.payout_script = payout;
    spec.coinbase.tag = "/fuzz/";
    auto tmpl = std::make_shared<const sb::node::block_template>(std::move(*t));
    auto j = sb::bridge::make_job(tmpl, spec);
    // The only way to fail here is a node commitment that disagrees with ours.
    if (!j) {
        if (j.error() != sb::bridge::job_errc::witness_commitment_mismatch) std::abort();
        return;
    }
    if (j->coinbase.script_sig_bytes > sb::bridge::max_coinbase_script_sig_bytes) std::abort();
    const std::uint8_t en1[4] = {1, 2, 3, 4};
    const std::uint8_t en2[8] = {};
    auto h = sb::bridge::rebuild_header(*j, en1, en2, j->ntime, 0, j->version);
    if (!h) std::abort();
    auto block = sb::bridge::assemble_block(*j, en1, en2, *h);
    if (!block || block->size() < sb::block_header_size + 1) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    rapidjson::Document doc;
    // Iterative parsing: deep nesting in hostile input cannot exhaust the stack.
    doc.Parse<rapidjson::kParseIterativeFlag>(reinterpret_cast<const char*>(data), size);
    if (doc.HasParseError()) return 0;
    exercise(doc, sb::params(sb::network::bitcoin_regtest));
    exercise(doc, sb::params(sb::network::ravencoin_regtest));
    return 0;
}
