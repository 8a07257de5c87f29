// The server's request parser on its own, bytes in, http::request out: what it records (method,
// target, version, fields in order, body), the framing fields it counts for the A11 checks, chunked
// bodies cut at every byte, the limits Beast enforces through it, and keep-alive as Beast decides.

#include "http/request_parser.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

using namespace stsauth::http;
namespace bhttp = boost::beast::http;
using boost::beast::error_code;
using field = bhttp::field;

namespace {

using field_list = std::vector<std::pair<std::string, std::string>>;

field_list fields_of(const header_list& h) {
    field_list out;
    for (const auto& [n, v] : h) out.emplace_back(n, v);
    return out;
}

/// Feeds `pieces` one after another the way the session does (bytes Beast leaves unconsumed
/// stay buffered in front of the next piece). Returns the first error other than need_more.
error_code feed(request_parser& p, const std::vector<std::string>& pieces) {
    std::string pending;
    for (const auto& piece : pieces) {
        pending += piece;
        while (!pending.empty() && !p.is_done()) {
            error_code ec;
            const std::size_t n = p.put(boost::asio::buffer(pending), ec);
            pending.erase(0, n);
            if (ec == bhttp::error::need_more) break;
            if (ec) return ec;
            if (n == 0) break;
        }
    }
    return {};
}

/// A parser set up as the session sets it up.
request_parser make_parser(std::size_t header_bytes = 256, std::size_t max_body = 1024) {
    request_parser p(header_bytes, max_body);
    p.header_limit(1024);
    p.eager(true);
    return p;
}

/// Every split of `bytes` into single bytes.
std::vector<std::string> bytewise(const std::string& bytes) {
    std::vector<std::string> out;
    for (char c : bytes) out.emplace_back(1, c);
    return out;
}

}  // namespace

TEST_CASE("request_parser records the request line, the fields in order and the body", "[request_parser]") {
    const std::string body = "{\"kind\":\"TokenReview\",\"spec\":{}}";
    const std::string bytes = "POST /authenticate?timeout=30s HTTP/1.1\r\nHost: stsauth.local\r\nContent-Type: application/json\r\n"
                              "Accept: application/json, */*\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\nUser-Agent: kube-apiserver-admission\r\n\r\n" + body;
    // In one piece (the body came with the header) and byte by byte: the same request.
    const bool split = GENERATE(false, true);
    auto p = make_parser(bytes.size() - body.size());
    REQUIRE_FALSE(feed(p, split ? bytewise(bytes) : std::vector<std::string>{bytes}));
    REQUIRE(p.is_done());
    CHECK(p.method() == bhttp::verb::post);
    CHECK(p.version() == 11);
    CHECK(p.keep_alive());
    const request& r = p.get();
    CHECK(r.method == "POST");
    CHECK(r.target == "/authenticate?timeout=30s");
    CHECK(r.path() == "/authenticate");
    CHECK(r.version == 11);
    CHECK(r.body == body);
    CHECK(fields_of(r.headers) == field_list{{"Host", "stsauth.local"},
                                             {"Content-Type", "application/json"},
                                             {"Accept", "application/json, */*"},
                                             {"Content-Length", std::to_string(body.size())},
                                             {"User-Agent", "kube-apiserver-admission"}});
    CHECK(r.header("content-type") == "application/json");

    CHECK(p.count(field::content_length) == 1);
    CHECK(p.first_value(field::content_length) == std::to_string(body.size()));
    CHECK(p.count(field::host) == 1);
    CHECK(p.first_value(field::host) == "stsauth.local");
    CHECK(p.count(field::transfer_encoding) == 0);
    CHECK(p.first_value(field::transfer_encoding).empty());
    CHECK(p.count(field::expect) == 0);
    CHECK(p.count(field::content_type) == 0);  // not one of the counted fields
    CHECK(p.first_value(field::content_type).empty());

    request out = p.release();
    CHECK(out.body == body);
    CHECK(out.header("Host") == "stsauth.local");
}

TEST_CASE("request_parser reserves the body from Content-Length and hands it over without a copy", "[request_parser]") {
    const std::string body(700, 'b');
    const std::string head = "POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 700\r\n\r\n";
    auto p = make_parser(head.size());
    REQUIRE_FALSE(feed(p, {head}));
    REQUIRE(p.is_header_done());
    REQUIRE_FALSE(p.is_done());
    // Beast announces the body on the first put after the header: a first piece of it.
    REQUIRE_FALSE(feed(p, {body.substr(0, 100)}));
    CHECK(p.get().body.capacity() >= 700);
    const char* storage = p.get().body.data();
    REQUIRE_FALSE(feed(p, {body.substr(100, 300), body.substr(400)}));
    REQUIRE(p.is_done());
    CHECK(p.get().body.data() == storage);  // never reallocated while filling
    request r = p.release();
    CHECK(r.body == body);
    CHECK(r.body.data() == storage);  // moved, not copied
}

TEST_CASE("request_parser de-chunks a body cut at every byte", "[request_parser]") {
    const std::string bytes =
        "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";
    const bool split = GENERATE(false, true);
    auto p = make_parser();
    REQUIRE_FALSE(feed(p, split ? bytewise(bytes) : std::vector<std::string>{bytes}));
    REQUIRE(p.is_done());
    CHECK(p.chunked());
    CHECK(p.get().body == "hello world");
    CHECK(p.count(field::transfer_encoding) == 1);
    CHECK(p.first_value(field::transfer_encoding) == "chunked");
    CHECK(p.count(field::content_length) == 0);
    // A trailer field follows the header's fields (as Beast's own parser stores it)...
    CHECK(fields_of(p.get().headers) == field_list{{"Host", "t"}, {"Transfer-Encoding", "chunked"}, {"X-Trailer", "t"}});
}

TEST_CASE("request_parser: framing fields in a trailer are not counted as the header's", "[request_parser]") {
    auto p = make_parser();
    REQUIRE_FALSE(feed(p, {"POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n"
                           "Host: other\r\nExpect: 100-continue\r\n\r\n"}));
    REQUIRE(p.is_done());
    CHECK(p.get().body == "hi");
    CHECK(p.count(field::host) == 1);
    CHECK(p.first_value(field::host) == "t");
    CHECK(p.count(field::expect) == 0);
    CHECK(p.get().headers.count("host") == 2);
    CHECK(p.get().header("host") == "t");  // the header's own value comes first
}

TEST_CASE("request_parser: the body limit holds for declared, received and chunked bodies", "[request_parser]") {
    SECTION("a declared length over the limit fails on the header, before any body byte") {
        auto p = make_parser(64, 1024);
        CHECK(feed(p, {"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1025\r\n\r\n"}) == bhttp::error::body_limit);
        CHECK(p.get().body.capacity() < 1025);  // nothing reserved for it
    }
    SECTION("a body exactly at the limit is accepted") {
        auto p = make_parser(64, 1024);
        CHECK_FALSE(feed(p, {"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1024\r\n\r\n", std::string(1024, 'a')}));
        CHECK(p.is_done());
        CHECK(p.get().body.size() == 1024);
    }
    SECTION("chunks adding up to more than the limit fail") {
        auto p = make_parser(64, 1024);
        const std::string chunk(800, 'x');
        CHECK(feed(p, {"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n320\r\n" + chunk + "\r\n320\r\n" + chunk +
                       "\r\n0\r\n\r\n"}) == bhttp::error::body_limit);
        CHECK(p.get().body.size() <= 1024);
    }
    SECTION("a malformed chunk size fails") {
        auto p = make_parser();
        const auto ec = feed(p, {"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"});
        CHECK(ec == bhttp::error::bad_chunk);
    }
    SECTION("a header over header_limit fails") {
        auto p = make_parser();
        CHECK(feed(p, {"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(1100, 'b') + "\r\n\r\n"}) == bhttp::error::header_limit);
    }
}

TEST_CASE("request_parser counts repeated framing fields and keeps the first value", "[request_parser]") {
    auto p = make_parser();
    REQUIRE_FALSE(feed(p, {"GET / HTTP/1.1\r\nhost: a\r\nExpect: 100-continue\r\nX-1: 1\r\nHOST: b\r\nexpect: other\r\n\r\n"}));
    REQUIRE(p.is_done());
    CHECK(p.count(field::host) == 2);
    CHECK(p.first_value(field::host) == "a");
    CHECK(p.count(field::expect) == 2);
    CHECK(p.first_value(field::expect) == "100-continue");
    CHECK(p.get().headers.size() == 5);
    CHECK(p.get().headers[3] == header_list::value_type{"HOST", "b"});
}

TEST_CASE("request_parser: many fields, other methods, HTTP/1.0", "[request_parser]") {
    SECTION("more fields than the list holds inline, with no reserve") {
        std::string bytes = "GET /many HTTP/1.1\r\nHost: t\r\n";
        field_list expect{{"Host", "t"}};
        for (int i = 0; i < 20; ++i) {
            expect.emplace_back("X-Field-" + std::to_string(i), "value " + std::to_string(i));
            bytes += expect.back().first + ": " + expect.back().second + "\r\n";
        }
        bytes += "\r\n";
        auto p = make_parser(0);
        REQUIRE_FALSE(feed(p, {bytes}));
        REQUIRE(p.is_done());
        CHECK(fields_of(p.get().headers) == expect);
        CHECK(p.get().body.empty());
    }
    SECTION("HEAD and an unknown method") {
        auto head = make_parser();
        REQUIRE_FALSE(feed(head, {"HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n"}));
        CHECK(head.method() == bhttp::verb::head);
        CHECK(head.get().method == "HEAD");
        auto other = make_parser();
        REQUIRE_FALSE(feed(other, {"BREW /pot HTTP/1.1\r\nHost: t\r\n\r\n"}));
        CHECK(other.method() == bhttp::verb::unknown);
        CHECK(other.get().method == "BREW");
        CHECK(other.get().target == "/pot");
    }
    SECTION("keep-alive as Beast decides it from the version and Connection") {
        struct ka_case {
            const char* head;
            bool keep_alive;
        };
        const auto c = GENERATE(values<ka_case>({
            {"GET / HTTP/1.1\r\nHost: t\r\n\r\n", true},
            {"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", false},
            {"GET / HTTP/1.1\r\nHost: t\r\nConnection: keep-alive, Close\r\n\r\n", false},
            {"GET / HTTP/1.0\r\n\r\n", false},
            {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
        }));
        INFO(c.head);
        auto p = make_parser();
        REQUIRE_FALSE(feed(p, {c.head}));
        REQUIRE(p.is_done());
        CHECK(p.keep_alive() == c.keep_alive);
        CHECK(p.version() == (std::string_view(c.head).find("HTTP/1.0") != std::string_view::npos ? 10u : 11u));
    }
}
