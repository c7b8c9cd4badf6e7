// Tests' access to bridge members that exist for them only (sb/core/test_access.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "dispatch/journal.hpp"
#include "dispatch/tip_tracker.hpp"
#include "sb/core/test_access.hpp"
#include "stratum/ban_list.hpp"
#include "stratum/server.hpp"

namespace sb::test {

template <>
struct access<bridge::journal> {
    static std::uint64_t file_bytes(const bridge::journal& j) { return j.file_bytes(); }
    static std::size_t skipped_at_open(const bridge::journal& j) { return j.skipped_at_open(); }
};

template <>
struct access<bridge::tip_tracker> {
    static std::optional<bridge::tip_tracker::clock::time_point> behind_since(const bridge::tip_tracker& t) noexcept {
        return t.behind_since();
    }
};

template <>
struct access<bridge::stratum::ban_list> {
    static std::size_t banned_count(const bridge::stratum::ban_list& b) noexcept { return b.banned_count(); }
    static std::size_t scored_count(const bridge::stratum::ban_list& b) noexcept { return b.scored_count(); }
};

template <>
struct access<bridge::stratum::server> {
    static void broadcast_reconnect(bridge::stratum::server& s, std::string_view host, std::uint16_t port,
                                    unsigned wait_s) {
        s.broadcast_reconnect(host, port, wait_s);
    }
    static void broadcast_message(bridge::stratum::server& s, std::string_view text) { s.broadcast_message(text); }
};

}  // namespace sb::test
