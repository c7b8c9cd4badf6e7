// The dashboard's files, embedded in the binary at build time (bridge/web/embed_assets.cmake):
// the page, its script and style, the chart library (Chart.js from Debian's
// libjs-chart.js, found when the build is configured) and the OpenAPI document.
#pragma once

#include <span>
#include <string_view>

namespace sb::bridge::web {

struct asset {
    std::string_view path;          // "/", "/app.js", ...
    std::string_view content_type;  // with charset where text
    std::string_view body;
};

// Every embedded file.
std::span<const asset> embedded_assets() noexcept;

}  // namespace sb::bridge::web
