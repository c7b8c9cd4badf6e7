// Errors of the alerts module (std::error_code, as every module's).
#pragma once

#include <system_error>

namespace sb::bridge::alerts {

enum class alerts_errc {
    ok = 0,
    ca_file_unreadable,  // a webhook's ca_file cannot be loaded as PEM certificates
    tls_setup_failed,    // the TLS client context or the system trust store cannot be set up
    timeout,             // no complete response within the request timeout
    http_status,         // the webhook answered with a status other than 2xx
};

const std::error_category& alerts_category() noexcept;
inline std::error_code make_error_code(alerts_errc e) noexcept { return {static_cast<int>(e), alerts_category()}; }

}  // namespace sb::bridge::alerts

template <>
struct std::is_error_code_enum<sb::bridge::alerts::alerts_errc> : std::true_type {};
