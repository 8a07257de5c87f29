#include "http/message.hpp"

#include <catch2/catch.hpp>

using namespace stsauth::http;

TEST_CASE("request::path drops the query and fragment", "[message]") {
    request r;
    r.target = "/authenticate?timeout=30s";
    CHECK(r.path() == "/authenticate");
    r.target = "/a#frag";
    CHECK(r.path() == "/a");
    r.target = "/plain";
    CHECK(r.path() == "/plain");
    r.target = "?only";
    CHECK(r.path().empty());
}

TEST_CASE("request::header is case-insensitive and returns the first value", "[message]") {
    request r;
    r.headers = {{"Content-Type", "application/json"}, {"X-Dup", "one"}, {"x-dup", "two"}};
    CHECK(r.header("content-type") == "application/json");
    CHECK(r.header("X-DUP") == "one");
    CHECK_FALSE(r.header("Authorization").has_value());
}

TEST_CASE("text_response: verbatim text or the status line, always nosniff", "[message]") {
    auto ok = text_response(200, "ok");
    CHECK(ok.status == 200);
    CHECK(ok.body == "ok");
    CHECK(ok.content_type == "text/plain; charset=utf-8");
    REQUIRE(ok.headers.size() == 1);
    CHECK(ok.headers[0] == header_field{"X-Content-Type-Options", "nosniff"});
    CHECK(text_response(431).body == "431 Request Header Fields Too Large\n");
    CHECK(text_response(599).body == "599 Unknown\n");
    CHECK(reason_phrase(413) == "Content Too Large");
}
