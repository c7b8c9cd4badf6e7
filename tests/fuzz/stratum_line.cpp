// Fuzz target: Stratum lines. The framing must never crash or accept a line over the cap,
// and a session of one dialect fed the lines must survive them: SHA-256d, or KAWPOW with
// the submits awaiting verification bounded, and misbehaviour (the ban score the server
// adds to the client's IP) only ever with the close it causes. The first byte picks the
// dialect (odd: KAWPOW), the rest is what the miner sent, in two reads.
//
// One dialect per input, each line parsed once (by the session, as the server does): the
// cost of an input is its lines' JSON parses, and running both dialects and a third,
// bare parse_line on every line tripled it (docs/FUZZING.md, "stratum_line speed").
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
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
    if (size == 0) return 0;
    const bool kawpow_dialect = (data[0] & 1) != 0;
    const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
    null_source source;
    std::optional<session_protocol> sha;
    std::optional<kawpow_session_protocol> kawpow;
    if (kawpow_dialect)
        kawpow.emplace(source, nullptr, session_settings{}, session_protocol::clock::now());
    else
        sha.emplace(source, nullptr, session_settings{}, session_protocol::clock::now());
    line_reader reader;
    // The session's lines of what the reader holds; false once the session closed.
    auto drain = [&] {
        while (auto line = reader.next_line_view()) {
            if (line->size() > max_line_bytes || line->empty()) std::abort();
            session_output out;
            const auto now = session_protocol::clock::now();
            if (sha) {
                sha->on_line(*line, now, out);
            } else {
                kawpow->on_line(*line, now, out);
                if (kawpow->pending() > max_pending_kawpow_submits) std::abort();
                // Half of the pending submits come back at once, the rest stay pending.
                for (std::size_t i = 0; i < out.verify.size(); i += 2)
                    kawpow->on_verdict(out.verify[i],
                                       source.submit_kawpow_share(out.verify[i].consumer, out.verify[i].share), now, out);
            }
            for (const auto& l : out.lines)
                if (l.text().empty() || l.text().back() != '\n') std::abort();
            // Misbehaviour (what the server scores toward a ban) only with the close it causes.
            if (out.why != misbehaviour::none && (out.close_reason.empty() || ban_score(out.why) == 0)) std::abort();
            if (!out.close_reason.empty()) return false;
        }
        return true;
    };
    // Two reads, so the split point is exercised too; between them the server frees an
    // idle reader's buffer (release) as it does when a read leaves no partial line.
    const std::size_t half = bytes.size() / 2;
    bool failed = static_cast<bool>(reader.feed(bytes.substr(0, half)));
    if (!failed && drain()) {
        reader.release();
        failed = static_cast<bool>(reader.feed(bytes.substr(half)));
        if (!failed) drain();
    }
    if (failed != reader.failed()) std::abort();
    return 0;
}
