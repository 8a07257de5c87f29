// The server's request parser on its own, bytes in, http::request out: what it records (method,
// target, version, fields in order, body), the framing fields it counts for the A11 checks, chunked
// bodies cut at every byte, the limits Beast enforces through it, and keep-alive as Beast decides.

#include "http/request_parser.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
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
error_code feed(bhttp::basic_parser<true>& p, const std::vector<std::string>& pieces) {
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

namespace {

/// What a parser made of some input, in terms both parsers can report.
struct outcome {
    error_code ec;
    bool header_done = false;
    bool done = false;
    std::string method, target;
    unsigned version = 0;
    field_list fields;
    std::string body;
    bool keep_alive = false;
    bool operator==(const outcome&) const = default;
};

template <class Parser>
outcome run_parser(Parser& p, const std::vector<std::string>& pieces) {
    p.header_limit(1024);
    p.body_limit(std::uint64_t{1024});
    p.eager(true);
    outcome o;
    o.ec = feed(p, pieces);
    o.header_done = p.is_header_done();
    o.done = p.is_done();
    return o;
}

/// Both parsers over the same pieces.
std::pair<outcome, outcome> compare(const std::vector<std::string>& pieces) {
    request_parser ours(0, 1024);
    outcome a = run_parser(ours, pieces);
    bhttp::request_parser<bhttp::string_body> beasts;
    outcome b = run_parser(beasts, pieces);
    if (a.header_done) {
        a.method = ours.get().method;
        a.target = ours.get().target;
        a.version = ours.get().version;
        a.fields = fields_of(ours.get().headers);
        const auto& m = beasts.get();
        b.method = std::string(m.method_string());
        b.target = std::string(m.target());
        b.version = m.version();
        for (const auto& f : m) b.fields.emplace_back(std::string(f.name_string()), std::string(f.value()));
    }
    if (a.done) {
        a.body = ours.get().body;
        a.keep_alive = ours.keep_alive();
        b.body = beasts.get().body();
        b.keep_alive = beasts.get().keep_alive();
    }
    return {std::move(a), std::move(b)};
}

}  // namespace

TEST_CASE("request_parser: the same request, error or incompleteness as Beast's own parser", "[request_parser]") {
    // Requests of every framing, mutated at random and fed in random pieces; Beast's
    // request_parser<string_body> (what the session used before) is the oracle.
    const std::vector<std::string> bases = {
        "POST /authenticate?timeout=30s HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nAccept: */*\r\n"
        "Content-Length: 11\r\nUser-Agent: u\r\n\r\n{\"kind\":1}\n",
        "POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nT: 1\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        "GET / HTTP/1.0\r\nConnection: keep-alive\r\nX-A: 1\r\nx-a: 2\r\n\r\n",
        "HEAD /h HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
        "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\n\r\n",
        "PUT /p HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
    };
    constexpr std::string_view alphabet = "aZ0 :;,\t\r\n\r\n-/.9";
    std::uint64_t seed = 0x2545f4914f6cdd1dULL;
    auto next = [&seed](std::uint64_t n) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        return seed % n;
    };
    std::size_t completed = 0, failed = 0;
    for (int round = 0; round < 3000; ++round) {
        std::string input = bases[next(bases.size())];
        const std::size_t edits = round < 200 ? 0 : 1 + next(3);
        for (std::size_t e = 0; e < edits && !input.empty(); ++e) {
            const std::size_t at = next(input.size());
            switch (next(3)) {
                case 0: input[at] = alphabet[next(alphabet.size())]; break;
                case 1: input.insert(at, 1, alphabet[next(alphabet.size())]); break;
                default: input.erase(at, 1); break;
            }
        }
        std::vector<std::string> pieces;
        for (std::size_t at = 0; at < input.size();) {
            const std::size_t n = std::min(input.size() - at, next(3) == 0 ? 1 + next(8) : 1 + next(200));
            pieces.push_back(input.substr(at, n));
            at += n;
        }
        INFO("input " << ::Catch::Detail::stringify(input) << " in " << pieces.size() << " pieces");
        const auto [ours, beasts] = compare(pieces);
        REQUIRE(ours.ec == beasts.ec);
        REQUIRE(ours.header_done == beasts.header_done);
        REQUIRE(ours.done == beasts.done);
        REQUIRE(ours.method == beasts.method);
        REQUIRE(ours.target == beasts.target);
        REQUIRE(ours.version == beasts.version);
        REQUIRE(ours.fields == beasts.fields);
        REQUIRE(ours.body == beasts.body);
        REQUIRE(ours.keep_alive == beasts.keep_alive);
        completed += ours.done ? 1 : 0;
        failed += ours.ec ? 1 : 0;
    }
    // The generator covers both sides: many complete requests and many refused ones.
    CHECK(completed > 500);
    CHECK(failed > 300);
}
