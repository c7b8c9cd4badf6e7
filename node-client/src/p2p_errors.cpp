#include "sb/node/p2p/errors.hpp"

#include <string>

namespace sb::node::p2p {
namespace {

class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "sb.p2p"; }
    std::string message(int ev) const override {
        switch (static_cast<p2p_errc>(ev)) {
            case p2p_errc::ok: return "ok";
            case p2p_errc::bad_magic: return "bad message start (magic)";
            case p2p_errc::bad_command: return "bad command padding";
            case p2p_errc::oversize: return "message payload too large";
            case p2p_errc::bad_checksum: return "bad message checksum";
            case p2p_errc::malformed_payload: return "malformed message payload";
            case p2p_errc::too_many_headers: return "headers message with more than 2000 headers";
            case p2p_errc::too_many_inv: return "inventory message with too many entries";
            case p2p_errc::locator_too_large: return "getheaders locator with more than 101 entries";
            case p2p_errc::bad_user_agent: return "user agent too long";
            case p2p_errc::too_many_addr: return "addr message with more than 1000 addresses";
            case p2p_errc::header_high_hash: return "header proof of work invalid (high-hash)";
            case p2p_errc::header_bad_diffbits: return "header bits differ from the required work (bad-diffbits)";
            case p2p_errc::header_time_too_old: return "header time not above median time past (time-too-old)";
            case p2p_errc::header_time_too_new: return "header time too far in the future (time-too-new)";
            case p2p_errc::header_timewarp: return "header violates the BIP94 timewarp rule";
            case p2p_errc::header_invalid_parent: return "header descends from an invalid header";
            case p2p_errc::header_not_continuous: return "headers not continuous";
            case p2p_errc::header_unsupported_pow: return "proof of work of this chain cannot be checked";
            case p2p_errc::header_low_work: return "low-work side-branch headers beyond the stored limit";
            case p2p_errc::header_invalid_mix: return "KAWPOW mix hash differs from the light evaluation (invalid-mix-hash)";
            case p2p_errc::header_bad_height: return "KAWPOW header nHeight differs from its height in the chain";
            case p2p_errc::header_bad_version:
                return "header version obsolete at its height: BIP34/66/65 require 2/3/4 (bad-version)";
            case p2p_errc::connect_failed: return "connect failed";
            case p2p_errc::connection_lost: return "connection lost";
            case p2p_errc::handshake_timeout: return "handshake timeout";
            case p2p_errc::ping_timeout: return "ping timeout";
            case p2p_errc::message_before_handshake: return "message before version/verack";
            case p2p_errc::duplicate_version: return "duplicate version message";
            case p2p_errc::obsolete_version: return "peer protocol version too old";
            case p2p_errc::unconnecting_headers: return "too many unconnecting headers messages";
            case p2p_errc::write_queue_full: return "write queue full";
            case p2p_errc::misbehaving: return "misbehaviour score reached the limit";
            case p2p_errc::closed: return "closed";
        }
        return "unknown p2p error";
    }
};

}  // namespace

const std::error_category& p2p_category() noexcept {
    static const category c;
    return c;
}

bool is_punishable(std::error_code e) noexcept {
    if (e.category() != p2p_category()) return false;
    switch (static_cast<p2p_errc>(e.value())) {
        case p2p_errc::bad_magic:
        case p2p_errc::bad_command:
        case p2p_errc::oversize:
        case p2p_errc::bad_checksum:
        case p2p_errc::malformed_payload:
        case p2p_errc::too_many_headers:
        case p2p_errc::too_many_inv:
        case p2p_errc::locator_too_large:
        case p2p_errc::header_high_hash:
        case p2p_errc::header_bad_diffbits:
        case p2p_errc::header_time_too_old:
        case p2p_errc::header_timewarp:
        case p2p_errc::header_invalid_parent:
        case p2p_errc::header_not_continuous:
        case p2p_errc::message_before_handshake:
        case p2p_errc::duplicate_version:
        case p2p_errc::too_many_addr:
        case p2p_errc::header_low_work:
        case p2p_errc::header_invalid_mix:
        case p2p_errc::header_bad_height:
        case p2p_errc::header_bad_version:
        case p2p_errc::misbehaving:
        case p2p_errc::unconnecting_headers:
            return true;
        default:
            return false;
    }
}

}  // namespace sb::node::p2p
