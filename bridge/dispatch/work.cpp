#include "dispatch/work.hpp"

namespace sb::bridge {

int stratum_error_code(share_status s) noexcept {
    switch (s) {
        case share_status::accepted: return 0;
        case share_status::job_not_found: return 21;
        case share_status::duplicate: return 22;
        case share_status::low_difficulty: return 23;
        case share_status::bad_ntime:
        case share_status::bad_version:
        case share_status::bad_extranonce2_size: return 20;
        case share_status::unknown_consumer: return 25;
        case share_status::bad_header_hash: return 20;
        case share_status::nonce_out_of_range: return 24;
        case share_status::bad_mix_hash: return 20;
    }
    return 20;
}

const char* stratum_error_message(share_status s) noexcept {
    // The texts cgminer and ckpool users know (stratum.md §1 "Error shapes").
    switch (s) {
        case share_status::accepted: return "";
        case share_status::job_not_found: return "Job not found";
        case share_status::duplicate: return "Duplicate share";
        case share_status::low_difficulty: return "Low difficulty share";
        case share_status::bad_ntime: return "ntime out of range";
        case share_status::bad_version: return "invalid version bits";
        case share_status::bad_extranonce2_size: return "incorrect size of extranonce2";
        case share_status::unknown_consumer: return "Not subscribed";
        // kawpow-stratum-pool's texts (stratum.md §5).
        case share_status::bad_header_hash: return "invalid header hash";
        case share_status::nonce_out_of_range: return "nonce out of worker range";
        case share_status::bad_mix_hash: return "bad share: invalid mix hash";
    }
    return "Other/Unknown";
}

}  // namespace sb::bridge
