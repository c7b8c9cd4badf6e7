// Ravencoin templates for KAWPOW mining tests: the recorded regtest getblocktemplate of
// ravencoin.json (height 259, epoch 0, bits 207fffff: about half of all final hashes are
// blocks), moved to another height (period or epoch), another parent (a new tip), or made
// hard (difficulty 1: no block by chance, only shares).
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <string>

#include <rapidjson/document.h>

#include "sb/core/chain.hpp"
#include "sb/node/internal/json.hpp"
#include "sb/node/template.hpp"
#include "vectors.hpp"

namespace sb::test {

struct raven_template_spec {
    std::uint32_t height = 259;
    int prev_tag = 0;   // 1..9: previousblockhash 00..0N instead of the recorded one
    bool hard = false;  // bits 1d00ffff
};

inline std::shared_ptr<const node::block_template> raven_template(const raven_template_spec& spec = {}) {
    rapidjson::Document d = vector_member_copy("ravencoin.json", "getblocktemplate_kawpow_with_tx");
    d["height"].SetUint(spec.height);
    if (spec.prev_tag != 0) {
        std::string h(64, '0');
        h[63] = static_cast<char>('0' + spec.prev_tag);
        d["previousblockhash"].SetString(h.c_str(), d.GetAllocator());
    }
    if (spec.hard) {
        d["bits"].SetString("1d00ffff", d.GetAllocator());
        d["target"].SetString("00000000ffff0000000000000000000000000000000000000000000000000000", d.GetAllocator());
    }
    auto t = node::parse_block_template(d, params(network::ravencoin_regtest));
    REQUIRE_MESSAGE(t, t.error().message());
    return std::make_shared<const node::block_template>(std::move(*t));
}

}  // namespace sb::test
