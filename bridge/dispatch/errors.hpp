// Errors of job building and share rebuilding (dispatch/coinbase.hpp, dispatch/job.hpp).
#pragma once

#include <system_error>

namespace sb::bridge {

enum class job_errc {
    ok = 0,
    payout_script_invalid,        // empty, or longer than max_payout_script_bytes
    extranonce_size_invalid,      // extranonce1/extranonce2 sizes outside their limits
    script_sig_too_long,          // height and extranonce alone exceed 100 bytes
    witness_commitment_mismatch,  // our BIP141 commitment differs from default_witness_commitment
    job_id_invalid,               // empty, too long, or not printable ASCII
    extranonce_size_mismatch,     // a submitted extranonce has another size than the job's
    no_template,                  // the job has no template to assemble a block from
    notify_invalid,               // a mining.notify field is not what Stratum specifies
    not_kawpow,                   // a KAWPOW operation on a job without KAWPOW work
    wrong_algorithm,              // the template's blocks use a proof of work this algorithm does not mine
};

const std::error_category& job_category() noexcept;

inline std::error_code make_error_code(job_errc e) noexcept {
    return {static_cast<int>(e), job_category()};
}

}  // namespace sb::bridge

template <>
struct std::is_error_code_enum<sb::bridge::job_errc> : std::true_type {};
