#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "sb/core/log.hpp"

namespace {

// Runs f with stderr sent to a temporary file; returns what was written.
template <class F>
std::string captured_stderr(F f) {
    std::fflush(stderr);
    std::FILE* tmp = std::tmpfile();
    REQUIRE(tmp != nullptr);
    const int saved = ::dup(STDERR_FILENO);
    REQUIRE(saved >= 0);
    REQUIRE(::dup2(::fileno(tmp), STDERR_FILENO) >= 0);
    f();
    std::fflush(stderr);
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    std::rewind(tmp);
    std::string out;
    char buf[512];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, tmp)) > 0;) out.append(buf, n);
    std::fclose(tmp);
    return out;
}

struct threshold_guard {
    sb::log_level saved = sb::log_threshold();
    ~threshold_guard() { sb::set_log_threshold(saved); }
};

}  // namespace

TEST_CASE("log: level names round-trip and anything else is refused") {
    for (auto l : {sb::log_level::error, sb::log_level::warn, sb::log_level::info, sb::log_level::debug,
                   sb::log_level::trace})
        CHECK(sb::parse_log_level(sb::to_string(l)) == l);
    CHECK_FALSE(sb::parse_log_level("INFO"));
    CHECK_FALSE(sb::parse_log_level("warning"));
    CHECK_FALSE(sb::parse_log_level(""));
}

TEST_CASE("log: the stderr sink writes a UTC timestamp with milliseconds, the level and the prefixes") {
    threshold_guard g;
    sb::set_log_threshold(sb::log_level::info);
    const std::string out = captured_stderr([] {
        const sb::logger chain = sb::logger().with_prefix("regtest");
        chain.warn("node 0: submitblock failed");
        chain.with_prefix("p2p")("new tip");
    });
    const std::regex line(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z (\w+) *(.*))");
    std::vector<std::string> lines;
    std::istringstream in(out);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    REQUIRE(lines.size() == 2);
    std::smatch m;
    REQUIRE(std::regex_match(lines[0], m, line));
    CHECK(m[1] == "warn");
    CHECK(m[2] == "[regtest] node 0: submitblock failed");
    REQUIRE(std::regex_match(lines[1], m, line));
    CHECK(m[1] == "info");
    CHECK(m[2] == "[regtest] [p2p] new tip");
}

TEST_CASE("log: lines below the threshold are dropped, at and above it kept") {
    threshold_guard g;
    sb::set_log_threshold(sb::log_level::warn);
    const sb::logger log;
    CHECK(log.enabled(sb::log_level::error));
    CHECK(log.enabled(sb::log_level::warn));
    CHECK_FALSE(log.enabled(sb::log_level::info));
    const std::string out = captured_stderr([&] {
        log.debug("debug line");
        log.info("info line");
        log.warn("warn line");
        log.error("error line");
    });
    CHECK(out.find("debug line") == std::string::npos);
    CHECK(out.find("info line") == std::string::npos);
    CHECK(out.find("warn line") != std::string::npos);
    CHECK(out.find("error line") != std::string::npos);
    sb::set_log_threshold(sb::log_level::trace);
    CHECK(log.enabled(sb::log_level::debug));
}

TEST_CASE("log: a callable hears every line with its prefix whatever the threshold, none() hears nothing") {
    threshold_guard g;
    sb::set_log_threshold(sb::log_level::error);
    std::vector<std::string> heard;
    const sb::logger log = sb::logger([&](std::string_view l) { heard.emplace_back(l); }).with_prefix("a");
    log.debug("one");
    log("two");
    CHECK(heard == std::vector<std::string>{"[a] one", "[a] two"});
    const sb::logger quiet = sb::logger::none();
    CHECK_FALSE(quiet.enabled(sb::log_level::error));
    const std::string out = captured_stderr([&] { quiet.error("never"); });
    CHECK(out.empty());
}

TEST_CASE("log: printf_string formats like printf, long lines included") {
    CHECK(sb::printf_string("%s %u %.3f", "height", 203u, 1.5) == "height 203 1.500");
    CHECK(sb::printf_string("%s", "") == "");
    const std::string long_text(5000, 'x');
    CHECK(sb::printf_string("[%s]", long_text.c_str()) == "[" + long_text + "]");
}
