// Fuzz target: Stratum lines. The framing must never crash or accept a line over the cap,
// parse_line must never throw, and a session of each dialect (SHA-256d and KAWPOW) fed
// the lines must survive them, with the KAWPOW submits awaiting verification bounded.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "stratum/codec.hpp"
#include "stratum/kawpow_protocol.hpp"
#include "stratum/protocol.hpp"

namespace {

using namespace sb::bridge;
using namespace sb::bridge::stratum;

// A work source that knows nothing: every share is for an unknown job.
class null_source final : public work_source {
public:
    registration add_consumer(std::shared_ptr<work_consumer>) override { return {1, {0xf0, 0, 0, 1}}; }
    void remove_consumer(consumer_id) override {}
    std::error_code set_payout(consumer_id, sb::byte_span) override { return {}; }
    std::shared_ptr<const job> current_job(consumer_id) override { return nullptr; }
    share_result submit_share(consumer_id, const share&) override {
        share_result r;
        r.status = share_status::job_not_found;
        return r;
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    null_source source;
    session_protocol session(source, nullptr, session_settings{}, session_protocol::clock::now());
    kawpow_session_protocol kawpow(source, nullptr, session_settings{}, session_protocol::clock::now());
    bool kawpow_open = true;
    line_reader reader;
    // Feed in two pieces so the split point is exercised too.
    const std::size_t half = size / 2;
    bool failed = static_cast<bool>(reader.feed(bytes.substr(0, half)));
    if (!failed) failed = static_cast<bool>(reader.feed(bytes.substr(half)));
    bool sha_open = true;
    while (auto line = reader.next_line()) {
        if (line->size() > max_line_bytes || line->empty()) std::abort();
        (void)parse_line(*line);
        if (sha_open) {
            session_output out;
            session.on_line(*line, session_protocol::clock::now(), out);
            for (const auto& l : out.lines)
                if (l.text().empty() || l.text().back() != '\n') std::abort();
            sha_open = out.close_reason.empty();
        }
        if (kawpow_open) {
            session_output k;
            kawpow.on_line(*line, session_protocol::clock::now(), k);
            if (kawpow.pending() > max_pending_kawpow_submits) std::abort();
            // Half of the pending submits come back at once, the rest stay pending.
            for (std::size_t i = 0; i < k.verify.size(); i += 2)
                kawpow.on_verdict(k.verify[i], source.submit_kawpow_share(k.verify[i].consumer, k.verify[i].share),
                                  session_protocol::clock::now(), k);
            for (const auto& l : k.lines)
                if (l.text().empty() || l.text().back() != '\n') std::abort();
            kawpow_open = k.close_reason.empty();
        }
        if (!sha_open && !kawpow_open) break;
    }
    if (failed != reader.failed()) std::abort();
    return 0;
}
