#include "alerts/errors.hpp"

#include <string>

namespace sb::bridge::alerts {

namespace {

class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "alerts"; }
    std::string message(int c) const override {
        switch (static_cast<alerts_errc>(c)) {
            case alerts_errc::ok: return "ok";
            case alerts_errc::ca_file_unreadable: return "the CA file cannot be loaded as PEM certificates";
            case alerts_errc::tls_setup_failed: return "the TLS client cannot be set up";
            case alerts_errc::timeout: return "no complete response in time";
            case alerts_errc::http_status: return "the webhook answered with an HTTP error status";
        }
        return "unknown alerts error";
    }
};

}  // namespace

const std::error_category& alerts_category() noexcept {
    static const category c;
    return c;
}

}  // namespace sb::bridge::alerts
