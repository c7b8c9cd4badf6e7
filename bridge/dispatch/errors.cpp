#include "dispatch/errors.hpp"

#include <string>

namespace sb::bridge {
namespace {

class job_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "sb.bridge.job"; }

    std::string message(int ev) const override {
        switch (static_cast<job_errc>(ev)) {
        case job_errc::ok: return "ok";
        case job_errc::payout_script_invalid: return "coinbase: payout script is empty or too long";
        case job_errc::extranonce_size_invalid: return "coinbase: extranonce1/extranonce2 size out of range";
        case job_errc::script_sig_too_long: return "coinbase: scriptSig would exceed 100 bytes";
        case job_errc::witness_commitment_mismatch:
            return "coinbase: computed witness commitment differs from the node's default_witness_commitment";
        case job_errc::job_id_invalid: return "job: id is empty, too long or not printable ASCII";
        case job_errc::extranonce_size_mismatch: return "job: extranonce size differs from the job's";
        case job_errc::no_template: return "job: no template to assemble a block from";
        case job_errc::notify_invalid: return "job: mining.notify field malformed";
        case job_errc::not_kawpow: return "job: not a KAWPOW job";
        case job_errc::wrong_algorithm: return "job: the template's blocks use another proof of work";
        }
        return "job: unknown error";
    }
};

}  // namespace

const std::error_category& job_category() noexcept {
    static const job_category_impl category;
    return category;
}

}  // namespace sb::bridge
