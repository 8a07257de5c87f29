#include "http/message.hpp"

#include <catch2/catch.hpp>

#include <iterator>
#include <string>
#include <utility>
#include <vector>

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
    r.target = "/a#f?q";  // whichever comes first
    CHECK(r.path() == "/a");
    r.target = "/a?q#f";
    CHECK(r.path() == "/a");
    r.target = "";
    CHECK(r.path().empty());
}

TEST_CASE("request::header is case-insensitive and returns the first value", "[message]") {
    request r;
    r.headers = {{"Content-Type", "application/json"}, {"X-Dup", "one"}, {"x-dup", "two"}};
    CHECK(r.header("content-type") == "application/json");
    CHECK(r.header("X-DUP") == "one");
    CHECK_FALSE(r.header("Authorization").has_value());
    CHECK_FALSE(r.header("Content-Typ").has_value());  // a prefix is not a match
    CHECK_FALSE(r.header("").has_value());
}

namespace {

using field_list = std::vector<std::pair<std::string, std::string>>;

field_list fields_of(const header_list& h) {
    field_list out;
    for (const auto& [n, v] : h) out.emplace_back(n, v);
    return out;
}

/// prefix + i, appended (GCC 12's -Wrestrict misfires on "literal" + std::string at -O3).
std::string tagged(std::string_view prefix, std::size_t i) {
    std::string out(prefix);
    out += std::to_string(i);
    return out;
}

/// A list of `n` fields "X-<i>: v<i>", and the same as plain pairs.
std::pair<header_list, field_list> numbered(std::size_t n) {
    header_list h;
    field_list expect;
    for (std::size_t i = 0; i < n; ++i) {
        expect.emplace_back(tagged("X-", i), tagged("v", i));
        h.add(expect.back().first, expect.back().second);
    }
    return {std::move(h), std::move(expect)};
}

}  // namespace

TEST_CASE("header_list keeps the received order, spelling and duplicates", "[message][header_list]") {
    header_list h;
    CHECK(h.empty());
    CHECK(h.begin() == h.end());
    h.add("Host", "example.com");
    h.add("X-Dup", "one");
    h.add("Empty", "");
    h.add("x-dup", "two");
    REQUIRE(h.size() == 4);
    CHECK_FALSE(h.empty());
    CHECK(fields_of(h) == field_list{{"Host", "example.com"}, {"X-Dup", "one"}, {"Empty", ""}, {"x-dup", "two"}});
    CHECK(h[3] == header_list::value_type{"x-dup", "two"});
    CHECK(h.find("x-DUP") == "one");
    CHECK(h.count("X-dup") == 2);
    CHECK(h.count("host") == 1);
    CHECK(h.count("Hos") == 0);
    REQUIRE(h.find("empty").has_value());  // present with an empty value: not the same as absent
    CHECK(h.find("empty")->empty());
    CHECK_FALSE(h.find("Missing").has_value());
    // Names and values do not run into each other: "Ho" + "stexample.com" is not a field "Host".
    header_list g;
    g.add("Ho", "stexample.com");
    CHECK_FALSE(g.find("Host").has_value());
    CHECK(g.find("ho") == "stexample.com");
}

TEST_CASE("header_list past its inline fields", "[message][header_list]") {
    const std::size_t n = GENERATE(header_list::inline_fields - 1, header_list::inline_fields, header_list::inline_fields + 1,
                                   3 * header_list::inline_fields + 2);
    auto [h, expect] = numbered(n);
    REQUIRE(h.size() == n);
    CHECK(fields_of(h) == expect);
    for (std::size_t i = 0; i < n; ++i) {
        CHECK(h.find(tagged("x-", i)) == tagged("v", i));
        CHECK(h[i].first == expect[i].first);
    }
    CHECK(std::distance(h.begin(), h.end()) == static_cast<std::ptrdiff_t>(n));
    h.clear();
    CHECK(h.empty());
    CHECK(fields_of(h).empty());
    CHECK_FALSE(h.find("X-0").has_value());
    h.add("After", "clear");  // reusable after clear(), from index 0 again
    CHECK(fields_of(h) == field_list{{"After", "clear"}});
}

TEST_CASE("header_list copies and moves keep their fields (offsets, not pointers)", "[message][header_list]") {
    const std::size_t n = GENERATE(3, 2 * header_list::inline_fields);
    auto [original, expect] = numbered(n);

    header_list copy = original;
    original.add("Later", "only in the original");
    CHECK(fields_of(copy) == expect);
    CHECK(copy.size() == n);
    CHECK(original.size() == n + 1);

    header_list moved = std::move(copy);
    CHECK(fields_of(moved) == expect);

    header_list assigned;
    assigned.add("Old", "value");
    assigned = moved;
    CHECK(fields_of(assigned) == expect);
    CHECK_FALSE(assigned.find("Old").has_value());
    {
        // The source of a copy goes away: the copy still reads its own text.
        header_list temp = original;
        assigned = temp;
    }
    CHECK(assigned.find("later") == "only in the original");
    CHECK(assigned.size() == n + 1);

    // A whole request moves with its fields, the views now pointing into the new owner.
    request r;
    r.headers = std::move(moved);
    request r2 = std::move(r);
    CHECK(fields_of(r2.headers) == expect);
    CHECK(r2.header("X-0") == "v0");
}

TEST_CASE("header_list from a braced list", "[message][header_list]") {
    const header_list h{{"A", "1"}, {"b", "2"}};
    CHECK(fields_of(h) == field_list{{"A", "1"}, {"b", "2"}});
    const header_list none{};
    CHECK(none.empty());
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
