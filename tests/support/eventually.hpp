// Polling for integration tests: real nodes and daemons reach a state at their own pace
// on a loaded machine, so tests wait for the state (with a generous limit) rather than
// for a time.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace sb::test {

// Polls pred every poll until it holds or limit passes; the last answer after the limit.
inline bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit,
                       std::chrono::milliseconds poll = std::chrono::milliseconds(200)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (pred()) return true;
        std::this_thread::sleep_for(poll);
    }
    return pred();
}

}  // namespace sb::test
