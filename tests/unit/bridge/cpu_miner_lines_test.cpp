// The cpu-miner's reading of its server's lines (mining/cpu_miner_lines.hpp), fed lines as a
// server sends them: the subscribe, authorize and configure results, a submit result, and
// replies without a "result" member (once an abort in any build with assertions on).
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "mining/cpu_miner_lines.hpp"

using namespace sb::bridge::mining;

namespace {

// What handle_line printed to one stream.
struct captured {
    std::FILE* f = std::tmpfile();
    ~captured() { std::fclose(f); }
    std::string text() {
        std::fflush(f);
        std::rewind(f);
        std::string s;
        for (int c = std::fgetc(f); c != EOF; c = std::fgetc(f)) s.push_back(static_cast<char>(c));
        return s;
    }
};

}  // namespace

TEST_CASE("cpu-miner lines: a subscribe, authorize and configure sequence sets up the connection") {
    captured out, err;
    session_state st;
    counters c;
    CHECK(handle_line(R"({"id":1,"result":[[],"08000002",4],"error":null})", st, c, out.f, err.f) == outcome::go_on);
    CHECK(st.extranonce1.size() == 4);
    CHECK(st.extranonce2_size == 4);
    CHECK(handle_line(R"({"id":2,"result":true,"error":null})", st, c, out.f, err.f) == outcome::go_on);
    CHECK(st.authorized);
    CHECK(handle_line(R"({"id":3,"result":{"version-rolling":true,"version-rolling.mask":"1fffe000"}})", st, c, out.f,
                      err.f) == outcome::go_on);
    CHECK(st.version_mask == 0x1fffe000);
    CHECK(handle_line(R"({"id":4,"result":true,"error":null})", st, c, out.f, err.f) == outcome::go_on);
    CHECK(c.accepted == 1);
    CHECK(out.text().find("cpu-miner: authorized\n") != std::string::npos);
    CHECK(err.text().empty());
}

TEST_CASE("cpu-miner lines: replies without a result are failures, never a crash") {
    captured out, err;
    counters c;
    {
        session_state st;
        CHECK(handle_line(R"({"id":1})", st, c, out.f, err.f) == outcome::reconnect);
        CHECK(st.extranonce2_size == 0);
    }
    {
        session_state st;
        CHECK(handle_line(R"({"id":2,"error":[24,"Unauthorized worker",null]})", st, c, out.f, err.f) ==
              outcome::refused);
        CHECK_FALSE(st.authorized);
    }
    {
        session_state st;
        CHECK(handle_line(R"({"id":3})", st, c, out.f, err.f) == outcome::go_on);
        CHECK(st.version_mask == 0);
    }
    {
        session_state st;
        CHECK(handle_line(R"({"id":9})", st, c, out.f, err.f) == outcome::go_on);
        CHECK(c.rejected == 1);
    }
    const std::string e = err.text();
    CHECK(e.find("cpu-miner: subscribe failed: {\"id\":1}") != std::string::npos);
    CHECK(e.find("cpu-miner: authorize refused") != std::string::npos);
}
