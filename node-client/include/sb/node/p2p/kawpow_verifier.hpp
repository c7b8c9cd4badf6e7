// The KAWPOW proof-of-work check the P2P header chain needs on a chain that mines KAWPOW
// (header_chain::set_kawpow_verifier, p2p_link_options::kawpow_verifier): light
// verification with sb::pow's CPU reference and the process-wide epoch context cache the
// dispatcher fills too (pow::ethash::global_epoch_cache(), capacity 2: current and next
// epoch).
//
// Cost on the calling thread: kawpow_check::hash_only is two keccak-f800 rounds
// (microseconds); kawpow_check::full is one light evaluation (~10 ms at epoch 590 on the
// 2-core dev machine, `solobridge bench kawpow-verify`) plus, when the header's epoch
// context is not built yet, the build itself (3.6 s at epoch 590; logged). The daemon
// runs these checks for headers and cmpctblock messages on a thread of their own
// (p2p_link_options::offload), never on the P2P strand; our own relayed block was
// evaluated by the dispatcher already and is not evaluated again.
// The dispatcher prefetches the current and next epoch as soon as a template arrives.
#pragma once

#include "sb/core/log.hpp"
#include "sb/node/p2p/header_chain.hpp"

namespace sb::node::p2p {

// Full check: the header's epoch must be within pow::ethash::max_epoch (else
// header_high_hash), the mix recomputed from the light cache must equal the header's
// (else header_invalid_mix). log hears about epoch builds.
kawpow_verifier make_kawpow_verifier(logger log);

}  // namespace sb::node::p2p
