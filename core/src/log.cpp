#include "sb/core/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace sb {
namespace {

std::atomic<log_level> threshold{log_level::info};

class stderr_sink final : public log_sink {
public:
    bool enabled(log_level l) const noexcept override { return l <= threshold.load(std::memory_order_relaxed); }
    void write(log_level l, std::string_view prefix, std::string_view text) noexcept override {
        if (!enabled(l)) return;
        const std::string stamp = utc_timestamp_ms();
        const std::lock_guard lock(mu_);
        std::fprintf(stderr, "%s %-5.*s %.*s%.*s\n", stamp.c_str(), static_cast<int>(to_string(l).size()),
                     to_string(l).data(), static_cast<int>(prefix.size()), prefix.data(), static_cast<int>(text.size()),
                     text.data());
        std::fflush(stderr);
    }

private:
    std::mutex mu_;
};

class callable : public log_sink {
public:
    explicit callable(std::function<void(std::string_view)> f) : f_(std::move(f)) {}
    bool enabled(log_level) const noexcept override { return static_cast<bool>(f_); }
    void write(log_level, std::string_view prefix, std::string_view text) noexcept override {
        if (!f_) return;
        try {
            if (prefix.empty()) {
                f_(text);
            } else {
                std::string line(prefix);
                line.append(text);
                f_(line);
            }
        } catch (...) {
            // A log line never takes a component down.
        }
    }

private:
    std::function<void(std::string_view)> f_;
};

const std::shared_ptr<log_sink>& stderr_instance() {
    static const std::shared_ptr<log_sink> s = std::make_shared<stderr_sink>();
    return s;
}

}  // namespace

std::string_view to_string(log_level l) noexcept {
    switch (l) {
        case log_level::error: return "error";
        case log_level::warn: return "warn";
        case log_level::info: return "info";
        case log_level::debug: return "debug";
        case log_level::trace: return "trace";
    }
    return "info";
}

std::optional<log_level> parse_log_level(std::string_view s) noexcept {
    for (log_level l : {log_level::error, log_level::warn, log_level::info, log_level::debug, log_level::trace})
        if (to_string(l) == s) return l;
    return std::nullopt;
}

void set_log_threshold(log_level l) noexcept { threshold.store(l, std::memory_order_relaxed); }
log_level log_threshold() noexcept { return threshold.load(std::memory_order_relaxed); }

std::string utc_timestamp_ms() {
    const auto now = std::chrono::system_clock::now();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
    return buf;
}

std::string printf_string(const char* format, ...) {
    std::va_list args;
    va_start(args, format);
    std::va_list again;
    va_copy(again, args);
    const int n = std::vsnprintf(nullptr, 0, format, args);
    va_end(args);
    std::string out;
    if (n > 0) {
        out.resize(static_cast<std::size_t>(n));
        std::vsnprintf(out.data(), out.size() + 1, format, again);
    }
    va_end(again);
    return out;
}

logger::logger() : sink_(stderr_instance()) {}

logger::logger(std::shared_ptr<log_sink> sink, std::string prefix)
    : sink_(sink ? std::move(sink) : stderr_instance()), prefix_(std::move(prefix)) {}

logger logger::none() { return logger(callable_sink({})); }

logger logger::with_prefix(std::string_view name) const {
    std::string p = prefix_;
    p.append("[").append(name).append("] ");
    return logger(sink_, std::move(p));
}

void logger::write(log_level l, std::string_view text) const noexcept {
    if (sink_->enabled(l)) sink_->write(l, prefix_, text);
}

std::shared_ptr<log_sink> logger::callable_sink(std::function<void(std::string_view)> f) {
    return std::make_shared<callable>(std::move(f));
}

}  // namespace sb
