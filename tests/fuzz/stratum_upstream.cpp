// Fuzz target: what a Stratum server sends the cpu-miner (`solobridge cpu-miner`), line by
// line into bridge::mining::handle_line as the miner's read loop hands them over (split at '\n', a
// trailing '\r' dropped, blank lines skipped). A line that ends the session (reconnect,
// refused) starts a fresh connection state for the lines after it, as the miner's next
// connection would. Nothing may crash; a usable subscribe leaves an extranonce2 size of
// 1..8 bytes; a server's reconnect wait stays within the miner's cap; a job the miner holds
// rebuilds a header with the connection's extranonces, or refuses them for their sizes only
// (a later subscribe may have changed them), as the miner's hashing loop does.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mining/cpu_miner_lines.hpp"

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

// The miner's progress lines go nowhere: printing is not what is tested.
std::FILE* sink() {
    static std::FILE* f = std::fopen("/dev/null", "w");
    return f;
}

void check_state(const sb::bridge::mining::session_state& st) {
    if (st.server_wait) check(st.server_wait->count() >= 0 && *st.server_wait <= sb::bridge::mining::max_reconnect_delay);
    if (!st.job) return;
    const sb::bytes en2(st.extranonce2_size, 0);
    const auto h = sb::bridge::rebuild_header(*st.job, st.extranonce1, en2, st.job->ntime, 0, st.job->version);
    check(h || h.error() == sb::bridge::job_errc::extranonce_size_mismatch);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view rest(reinterpret_cast<const char*>(data), size);
    sb::bridge::mining::counters counters;
    sb::bridge::mining::session_state st;
    while (!rest.empty()) {
        const std::size_t nl = rest.find('\n');
        if (nl == std::string_view::npos) break;  // a partial line waits for more bytes
        std::string line(rest.substr(0, nl));
        rest.remove_prefix(nl + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        const std::size_t en2_before = st.extranonce2_size;
        const auto r = sb::bridge::mining::handle_line(line, st, counters, sink(), sink());
        if (r == sb::bridge::mining::outcome::go_on && st.extranonce2_size != en2_before)
            check(st.extranonce2_size >= 1 && st.extranonce2_size <= 8);
        check_state(st);
        if (r != sb::bridge::mining::outcome::go_on) st = sb::bridge::mining::session_state{};
    }
    return 0;
}
