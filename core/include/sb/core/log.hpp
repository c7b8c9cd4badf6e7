// The one logging facility (issue 12): levels, UTC timestamps with milliseconds, and a
// prefix per chain or part, instead of a std::function per component and a stderr
// fallback in each.
//
// A logger is a cheap copyable handle to a sink plus a prefix. The default sink writes
// one line per call to stderr:
//
//     2026-12-06T21:57:27.123Z warn  [regtest] node 0: submitblock failed (...), will retry
//
// Lines below the process-wide threshold (set_log_threshold, config `log_level`) are
// dropped before they are formatted. Tests hand a component a callable instead
// (logger's converting constructor): it hears every line's text, whatever the threshold.
//
// Thread-safe: a line is written with one call, under the sink's lock.
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace sb {

enum class log_level : std::uint8_t { error, warn, info, debug, trace };

// "error", "warn", "info", "debug", "trace".
std::string_view to_string(log_level l) noexcept;
// The inverse; nullopt for anything else.
std::optional<log_level> parse_log_level(std::string_view s) noexcept;

// The stderr sink's threshold: lines of a lower importance (a higher level) are dropped.
// Default info.
void set_log_threshold(log_level l) noexcept;
log_level log_threshold() noexcept;

// "2026-12-06T21:57:27.123Z": UTC, milliseconds (the stderr sink's timestamp).
std::string utc_timestamp_ms();

// printf into a std::string, for log lines with numbers formatted as printf does.
std::string printf_string(const char* format, ...) __attribute__((format(printf, 1, 2)));

class log_sink {
public:
    virtual ~log_sink() = default;
    // Whether a line of this level would be kept (the logger formats nothing otherwise).
    virtual bool enabled(log_level l) const noexcept = 0;
    // One line: prefix (possibly empty) and text, without a newline. Must not throw.
    virtual void write(log_level l, std::string_view prefix, std::string_view text) noexcept = 0;
};

class logger {
public:
    // The process-wide stderr sink, no prefix.
    logger();
    // Any callable taking the line's text: every line, whatever its level (tests, and
    // components that collect lines).
    template <class F>
        requires(std::invocable<F&, std::string_view> && !std::same_as<std::decay_t<F>, logger>)
    logger(F f)  // NOLINT(google-explicit-constructor): a callable is a logger
        : logger(callable_sink(std::function<void(std::string_view)>(std::move(f)))) {}
    explicit logger(std::shared_ptr<log_sink> sink, std::string prefix = {});
    // A logger that drops every line.
    static logger none();

    // The same sink, with "[name] " prefixed to each line (after any prefix already set).
    logger with_prefix(std::string_view name) const;

    bool enabled(log_level l) const noexcept { return sink_->enabled(l); }
    void write(log_level l, std::string_view text) const noexcept;
    void error(std::string_view text) const noexcept { write(log_level::error, text); }
    void warn(std::string_view text) const noexcept { write(log_level::warn, text); }
    void info(std::string_view text) const noexcept { write(log_level::info, text); }
    void debug(std::string_view text) const noexcept { write(log_level::debug, text); }
    // info(text): a component's ordinary line.
    void operator()(std::string_view text) const noexcept { info(text); }

private:
    static std::shared_ptr<log_sink> callable_sink(std::function<void(std::string_view)> f);
    std::shared_ptr<log_sink> sink_;
    std::string prefix_;
};

}  // namespace sb
