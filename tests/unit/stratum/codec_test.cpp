// Stratum framing and message shapes (stratum.md §0–§2, §7; tests/vectors/stratum_cpuminer.json).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "stratum/codec.hpp"
#include "stratum_test_support.hpp"
#include "vectors.hpp"

using namespace sb::bridge;
using namespace sb::bridge::stratum;

namespace {

std::vector<std::string> drain(line_reader& r) {
    std::vector<std::string> out;
    while (auto l = r.next_line()) out.push_back(*l);
    return out;
}

}  // namespace

TEST_CASE("codec: LF and CRLF both end a line and blank lines are skipped") {
    line_reader r;
    REQUIRE_FALSE(r.feed("{\"a\":1}\n\r\n\n  \t\r\n{\"b\":2}\r\n{\"c\":3}"));
    CHECK(drain(r) == std::vector<std::string>{"{\"a\":1}", "{\"b\":2}"});
    REQUIRE_FALSE(r.feed("\n"));
    CHECK(drain(r) == std::vector<std::string>{"{\"c\":3}"});
    CHECK(r.pending_bytes() == 0);
}

TEST_CASE("codec: a line split over many reads is joined") {
    line_reader r;
    const std::string line = "{\"id\": 1, \"method\": \"mining.subscribe\", \"params\": [\"cpuminer/2.5.1\"]}";
    for (char c : line) {
        REQUIRE_FALSE(r.feed(std::string(1, c)));
        CHECK_FALSE(r.next_line());
    }
    REQUIRE_FALSE(r.feed("\r"));
    CHECK_FALSE(r.next_line());
    REQUIRE_FALSE(r.feed("\n"));
    CHECK(drain(r) == std::vector<std::string>{line});
}

TEST_CASE("codec: release frees the reader's buffer only when no byte is pending") {
    line_reader r;
    REQUIRE_FALSE(r.feed("{\"a\":1}\n{\"b\""));
    CHECK(drain(r) == std::vector<std::string>{"{\"a\":1}"});
    // A partial line is kept through a release.
    r.release();
    CHECK(r.pending_bytes() == 4);
    REQUIRE_FALSE(r.feed(":2}\r\n"));
    CHECK(drain(r) == std::vector<std::string>{"{\"b\":2}"});
    const auto consumed = r.lines_consumed();
    r.release();
    CHECK(r.pending_bytes() == 0);
    CHECK(r.lines_consumed() == consumed);
    // The reader works on after a release, and the line cap still holds.
    REQUIRE_FALSE(r.feed("{\"c\":3}\n"));
    CHECK(drain(r) == std::vector<std::string>{"{\"c\":3}"});
    r.release();
    CHECK(r.feed(std::string(max_line_bytes + 1, 'x')) == codec_errc::line_too_long);
}

TEST_CASE("codec: the line cap accepts max_line_bytes and refuses one byte more") {
    // Source: stratum.md §0.1 (cap ~16 KiB); boundary ±1, terminated and not yet terminated.
    for (const char* term : {"\n", "\r\n"}) {
        line_reader ok;
        REQUIRE_FALSE(ok.feed(std::string(max_line_bytes, 'x') + term));
        CHECK(drain(ok).size() == 1);

        line_reader over;
        CHECK(over.feed(std::string(max_line_bytes + 1, 'x') + term) == codec_errc::line_too_long);
        CHECK(over.failed());
        CHECK_FALSE(over.next_line());
    }
    line_reader pending_ok;
    CHECK_FALSE(pending_ok.feed(std::string(max_line_bytes, 'x')));
    CHECK_FALSE(pending_ok.feed("\r"));  // a CR that may precede LF does not count
    line_reader pending_over;
    CHECK_FALSE(pending_over.feed(std::string(max_line_bytes, 'x')));
    CHECK(pending_over.feed("x") == codec_errc::line_too_long);
    CHECK(pending_over.feed("\n") == codec_errc::line_too_long);  // failed for good
}

TEST_CASE("codec: many short lines never trip the cap") {
    line_reader r;
    std::size_t lines = 0;
    for (int i = 0; i < 5000; ++i) {
        REQUIRE_FALSE(r.feed("{\"id\":4,\"method\":\"mining.submit\",\"params\":[]}\n"));
        lines += drain(r).size();
    }
    CHECK(lines == 5000);
}

TEST_CASE("codec: ids int string and null are kept and echoed verbatim") {
    struct row {
        const char* line;
        const char* reply;
    };
    // Source: stratum.md §1 (ids per client; id 0 is a real id; string ids echoed).
    const row rows[] = {
        {R"({"id": 1, "method": "mining.subscribe", "params": ["cpuminer/2.5.1"]})", R"({"id":1,"result":true,"error":null})"},
        {R"({"id":0,"method":"mining.configure","params":[]})", R"({"id":0,"result":true,"error":null})"},
        {R"({"id":"gv-1","method":"x","params":[]})", R"({"id":"gv-1","result":true,"error":null})"},
        {R"({"id":null,"method":"x","params":[]})", R"({"id":null,"result":true,"error":null})"},
        {R"({"method":"x","params":[]})", R"({"id":null,"result":true,"error":null})"},
        {R"({"params":[],"id":-7,"method":"x"})", R"({"id":-7,"result":true,"error":null})"},
        {"{\"id\":\"q\\\"\\u00e9\",\"method\":\"x\"}", "{\"id\":\"q\\\"\xc3\xa9\",\"result\":true,\"error\":null}"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.line);
        auto m = parse_line(r.line);
        REQUIRE(m);
        CHECK(reply_bool(m->id, true) == std::string(r.reply) + "\n");
    }
}

TEST_CASE("codec: requests and responses are told apart and params are typed") {
    auto submit = parse_line(R"({"method": "mining.submit", "params": ["x", "11", "00000000", "6b02c290", "41234e01"], "id":4})");
    REQUIRE(submit);
    CHECK(submit->method == "mining.submit");
    CHECK(param_count(*submit) == 5);
    REQUIRE(param(*submit, 4) != nullptr);
    CHECK(std::string(param(*submit, 4)->GetString()) == "41234e01");
    CHECK(param(*submit, 5) == nullptr);

    auto resp = parse_line(R"({"id": "gv-1", "error": null, "result": "cpuminer/2.5.1"})");
    REQUIRE(resp);
    CHECK(resp->is_response());

    auto bare = parse_line(R"({"id":5,"method":"mining.suggest_difficulty","params":512})");
    REQUIRE(bare);
    REQUIRE(bare->params != nullptr);
    CHECK(bare->params->IsNumber());
}

TEST_CASE("codec: nesting up to the depth cap parses and brackets inside strings do not count") {
    auto at_cap = parse_line(R"({"id":1,"method":"x","params":)" + std::string(max_json_depth - 1, '[') +
                             std::string(max_json_depth - 1, ']') + "}");
    CHECK(at_cap);
    auto in_string = parse_line(R"({"id":1,"method":"x","params":[")" + std::string(100, '[') + R"(\""]})");
    CHECK(in_string);
}

TEST_CASE("codec: garbage is an error code never an exception") {
    struct row {
        std::string line;
        codec_errc want;
    };
    const row rows[] = {
        {"{", codec_errc::not_json},
        {"not json", codec_errc::not_json},
        {"{} trailing", codec_errc::not_json},
        {std::string("\xff\xfe{}", 4), codec_errc::not_json},
        {std::string("{\"id\":1,\"method\":\"a\0b\"}", 23), codec_errc::not_json},
        {"[]", codec_errc::not_object},
        {"42", codec_errc::not_object},
        {"\"s\"", codec_errc::not_object},
        {R"({"id":1.5,"method":"x"})", codec_errc::bad_id},
        {R"({"id":true,"method":"x"})", codec_errc::bad_id},
        {R"({"id":[1],"method":"x"})", codec_errc::bad_id},
        {R"({"id":18446744073709551615,"method":"x"})", codec_errc::bad_id},
        {R"({"id":1,"method":5})", codec_errc::bad_method},
        {R"({"id":1,"method":""})", codec_errc::bad_method},
        {R"({"id":1,"method":"x","params":"s"})", codec_errc::bad_params},
        {R"({"id":1,"method":"x","params":true})", codec_errc::bad_params},
        {std::string(max_line_bytes + 1, ' '), codec_errc::line_too_long},
        {std::string("{\"id\":1,\"method\":\"x\"}\0junk", 26), codec_errc::not_json},
        {"{\"id\":1,\"method\":\"x\",\"params\":[\"\xc0\x80\"]}", codec_errc::not_json},
        {R"({"id":1,"method":"x","params":[1e400]})", codec_errc::not_json},
        {R"({"id":1,"method":"x","params":)" + std::string(max_json_depth, '[') + std::string(max_json_depth, ']') + "}",
         codec_errc::too_deep},
        {"{\"id\":1,\"params\":" + std::string(10000, '[') + "}", codec_errc::too_deep},
    };
    for (const auto& r : rows) {
        CAPTURE(r.line.substr(0, 40));
        auto m = parse_line(r.line);
        REQUIRE_FALSE(m);
        CHECK(m.error() == r.want);
        CHECK_FALSE(m.error().message().empty());
    }
}

TEST_CASE("codec: replies have the shapes SHA-256d firmware reads") {
    // Source: stratum_cpuminer.json subscribe_reply and second_submit_low_difficulty;
    // stratum.md §1 (errors [code,msg,null], ckpool reject-reason).
    json_id one{json_id::kind::integer, 1, {}};
    CHECK(reply_subscribe(one, "sess1", "f0000001", 4) ==
          R"({"id":1,"result":[[["mining.set_difficulty","sess1"],["mining.notify","sess1"]],"f0000001",4],"error":null})"
          "\n");
    json_id four{json_id::kind::integer, 4, {}};
    CHECK(reply_error(four, 23, "Low difficulty share", true) ==
          R"({"id":4,"result":false,"error":[23,"Low difficulty share",null],"reject-reason":"Low difficulty share"})"
          "\n");
    CHECK(reply_error(four, 20, "Unknown method") == R"({"id":4,"result":null,"error":[20,"Unknown method",null]})"
                                                      "\n");
    CHECK(reply_configure(one, {{"version-rolling", true, {}}, {"version-rolling.mask", std::nullopt, "1fffe000"}}) ==
          R"({"id":1,"result":{"version-rolling":true,"version-rolling.mask":"1fffe000"},"error":null})"
          "\n");
}

TEST_CASE("codec: notifications match the cpuminer capture") {
    CHECK(notify_set_difficulty(0.002) == R"({"id":null,"method":"mining.set_difficulty","params":[0.002]})"
                                          "\n");
    CHECK(notify_set_difficulty(1024) == R"({"id":null,"method":"mining.set_difficulty","params":[1024]})"
                                         "\n");
    CHECK(notify_set_difficulty(0.5) == R"({"id":null,"method":"mining.set_difficulty","params":[0.5]})"
                                        "\n");
    // The capture's notify line, byte for byte (stratum.md §7).
    const std::string want =
        R"({"id":null,"method":"mining.notify","params":["11","1cda83a5689bf23f73ff4872cef822783a032748000320280000000000000000","01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff130341d10c","062f737475622fffffffff01205fa01200000000015100000000",["2a6a41aeb1abf285919a8dd916b4d4799966a855d6bd9b5d9f2c2d6131647687","0dfc51577773971f82f0034211c9d110cb449ee7ac8255b71f6df458106f17ba"],"20000000","17034219","6b02c290",true]})"
        "\n";
    CHECK(notify_job(to_notify(*sb::test::cpuminer_job())) == want);
    CHECK(notify_reconnect("127.0.0.1", 39333, 0) == R"({"id":null,"method":"client.reconnect","params":["127.0.0.1",39333,0]})"
                                                     "\n");
    CHECK(notify_show_message("hi") == R"({"id":null,"method":"client.show_message","params":["hi"]})"
                                       "\n");
    CHECK(notify_set_version_mask(0x1fffe000) == R"({"id":null,"method":"mining.set_version_mask","params":["1fffe000"]})"
                                                 "\n");
    CHECK(server_request(7, "client.get_version") == R"({"id":7,"method":"client.get_version","params":[]})"
                                                     "\n");
}

TEST_CASE("codec: the first bytes tell a TLS handshake record from Stratum") {
    using std::string_literals::operator""s;
    // RFC 8446 §5.1: type 22 (handshake), record version 0x0301 in a ClientHello (TLS 1.3
    // too), 0x0303 after it, 0x0300 from SSL 3.0 clients.
    CHECK(classify_first_bytes("\x16\x03\x01\x02\x00"s) == first_bytes::tls_handshake);
    CHECK(classify_first_bytes("\x16\x03\x03"s) == first_bytes::tls_handshake);
    CHECK(classify_first_bytes("\x16\x03\x00"s) == first_bytes::tls_handshake);
    CHECK(classify_first_bytes("\x16\x03\x0f"s) == first_bytes::tls_handshake);
    CHECK(classify_first_bytes("\x16\x03\x10"s) == first_bytes::other);  // one above 0x0X
    CHECK(classify_first_bytes("\x16\x02\x01"s) == first_bytes::other);
    CHECK(classify_first_bytes("\x16\x04\x01"s) == first_bytes::other);
    CHECK(classify_first_bytes("\x15\x03\x01"s) == first_bytes::other);  // an alert record is not a hello
    // Prefixes wait for more bytes; anything else is decided at once.
    CHECK(classify_first_bytes(""s) == first_bytes::undecided);
    CHECK(classify_first_bytes("\x16"s) == first_bytes::undecided);
    CHECK(classify_first_bytes("\x16\x03"s) == first_bytes::undecided);
    CHECK(classify_first_bytes("{\"id\":1}"s) == first_bytes::other);
    CHECK(classify_first_bytes("G"s) == first_bytes::other);
    CHECK(starts_plain_stratum('{'));
    CHECK(starts_plain_stratum('\n'));
    CHECK(starts_plain_stratum(' '));
    CHECK_FALSE(starts_plain_stratum(tls_record_handshake));
    CHECK_FALSE(starts_plain_stratum('G'));
}
