// The cpu-miner's reading of what its Stratum server sends (`solobridge cpu-miner`,
// app/cmd_cpu_miner.cpp): one line at a time into the connection's state, without a socket,
// so that the fuzz target tests/fuzz/stratum_upstream.cpp can drive it with the bytes of a
// hostile or broken server.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

#include "dispatch/job.hpp"
#include "sb/core/bytes.hpp"
#include "sb/core/sha256.hpp"
#include "sb/core/uint256.hpp"

namespace sb::bridge::mining {

// The longest wait between two connections: the reconnect back-off's cap, and the most of
// a server's client.reconnect wait that is honoured.
inline constexpr std::chrono::milliseconds max_reconnect_delay{30'000};

// Over the whole run, every session together.
struct counters {
    std::uint64_t hashes = 0, submitted = 0, accepted = 0, rejected = 0, blocks = 0;
};

// One connection's state.
struct session_state {
    std::string extranonce1_hex;
    bytes extranonce1;
    std::size_t extranonce2_size = 0;
    double difficulty = 1.0;
    double pending_difficulty = 1.0;  // applies from the next notify (stratum.md §0.5)
    std::optional<bridge::job> job;
    uint256 share_target;
    std::uint64_t extranonce2 = 0;
    std::uint32_t nonce = 0;
    bool authorized = false;
    int next_id = 4;                // 1 subscribe, 2 authorize, 3 configure, then submits
    std::uint32_t version_mask = 0; // granted by mining.configure (0: no rolling)
    std::uint32_t version_roll = 0; // counter spread over the mask's bits
    // The parent of the last block this miner solved: work on it is done (a CPU miner on
    // regtest would otherwise send thousands of sibling blocks that cannot all win).
    std::optional<hash256> solved_parent;
    // Set by client.reconnect: how long the server asked us to wait.
    std::optional<std::chrono::milliseconds> server_wait;
};

// How a session (or the handling of one line) ended.
enum class outcome {
    go_on,      // the session continues
    reconnect,  // the connection failed, dropped or became unusable: connect again
    refused,    // the server refused our credentials: connecting again cannot help
    finished,   // --seconds or --max-shares reached
};

// Handles one line from the server (without its line end): the results of subscribe (id
// 1), authorize (2), configure (3) and submits (4 on), mining.set_difficulty,
// mining.notify and client.reconnect; anything else is ignored. Progress is printed to
// out, what is wrong to err (the run's stdout and stderr). Any line is safe: one that is
// not a JSON object, or a subscribe result that cannot be used, asks for a reconnect; a
// notify that makes no job is skipped.
outcome handle_line(const std::string& line, session_state& st, counters& c, std::FILE* out, std::FILE* err);

}  // namespace sb::bridge::mining
