#include "http/header_scan.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace stsauth::http;
using st = header_scan_status;

namespace {

header_scan_result scan_all(std::string_view data, std::size_t limit = 8192) {
    header_scanner s(limit);
    return s.scan(data);
}

/// Feeds `data` one byte at a time, as a slow client would; returns the first decisive result.
header_scan_result scan_bytewise(std::string_view data, std::size_t limit = 8192) {
    header_scanner s(limit);
    header_scan_result r;
    for (std::size_t n = 1; n <= data.size(); ++n) {
        r = s.scan(data.substr(0, n));
        if (r.status != st::need_more) return r;
    }
    return r;
}

}  // namespace

TEST_CASE("header_scan: a complete block, whole or byte by byte", "[header_scan]") {
    const std::string req = "POST /authenticate?timeout=30s HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
    for (auto r : {scan_all(req), scan_bytewise(req)}) {
        CHECK(r.status == st::complete);
        CHECK(r.start == 0);
        CHECK(r.end == req.size() - 2);
    }
}

TEST_CASE("header_scan: incomplete input asks for more", "[header_scan]") {
    CHECK(scan_all("").status == st::need_more);
    CHECK(scan_all("GET / HTTP/1.1\r\nHost: x\r\n").status == st::need_more);
    CHECK(scan_all("GET / HTTP/1.1\r\nHost: x\r\n\r").status == st::need_more);
    CHECK(scan_all("GET / HTTP/1.1\r").status == st::need_more);
}

TEST_CASE("header_scan: leading empty lines are skipped (RFC 9112 2.2)", "[header_scan]") {
    const std::string req = "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n";
    auto r = scan_bytewise(req);
    CHECK(r.status == st::complete);
    CHECK(r.start == 4);
    CHECK(r.end == req.size());
}

TEST_CASE("header_scan: bare LF and bare CR are rejected as soon as seen", "[header_scan]") {
    CHECK(scan_all("GET / HTTP/1.1\nHost: x\n\n").status == st::bad_line_ending);
    CHECK(scan_all("GET / HTTP/1.1\r\nHost: x\n\r\n").status == st::bad_line_ending);
    CHECK(scan_all("GET / HTTP/1.1\r\nHost: x\r\n\n").status == st::bad_line_ending);
    CHECK(scan_all("GET / HTTP/1.1\r\nHost: x\ry: z\r\n\r\n").status == st::bad_line_ending);
    CHECK(scan_all("\n").status == st::bad_line_ending);
    // Decided before any end of block arrives (no waiting for a timeout).
    CHECK(scan_bytewise("GET / HTTP/1.1\nHost").status == st::bad_line_ending);
    CHECK(scan_bytewise("GET / HTTP/1.1\r\nHost: x\r\r").status == st::bad_line_ending);
}

TEST_CASE("header_scan: obsolete line folding is rejected", "[header_scan]") {
    CHECK(scan_all("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n").status == st::obs_fold);
    CHECK(scan_all("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n\tb\r\n\r\n").status == st::obs_fold);
    CHECK(scan_bytewise("GET / HTTP/1.1\r\n Host: x\r\n\r\n").status == st::obs_fold);
    CHECK(scan_all(" GET / HTTP/1.1\r\nHost: x\r\n\r\n").status == st::bad_request_line);
    // Spaces inside a line are not folding.
    CHECK(scan_all("GET / HTTP/1.1\r\nHost:   x \t\r\n\r\n").status == st::complete);
}

TEST_CASE("header_scan: limits tell 414 from 431", "[header_scan]") {
    const std::size_t limit = 64;
    SECTION("request line alone over the limit") {
        const std::string req = "GET /" + std::string(100, 'a') + " HTTP/1.1\r\n\r\n";
        CHECK(scan_all(req, limit).status == st::target_too_large);
        CHECK(scan_all(req.substr(0, 70), limit).status == st::target_too_large);
        CHECK(scan_bytewise(req, limit).status == st::target_too_large);
    }
    SECTION("fields over the limit") {
        const std::string req = "GET / HTTP/1.1\r\nX-Big: " + std::string(100, 'b') + "\r\n\r\n";
        CHECK(scan_all(req, limit).status == st::header_too_large);
        CHECK(scan_bytewise(req, limit).status == st::header_too_large);
    }
    SECTION("exactly at the limit is accepted, one byte more is not") {
        std::string req = "GET / HTTP/1.1\r\nX: ";
        req += std::string(limit - req.size() - 4, 'v') + "\r\n\r\n";
        REQUIRE(req.size() == limit);
        CHECK(scan_all(req, limit).status == st::complete);
        std::string longer = req;
        longer.insert(longer.begin() + 20, 'v');  // a char: the const char* overload trips GCC 12 -O3 -Wrestrict
        CHECK(scan_all(longer, limit).status == st::header_too_large);
    }
    SECTION("leading empty lines count towards the limit") {
        std::string crlfs;
        for (int i = 0; i < 40; ++i) crlfs += "\r\n";
        CHECK(scan_all(crlfs + "GET / HTTP/1.1\r\n\r\n", limit).status == st::target_too_large);
    }
}

TEST_CASE("header_scan: reset starts a new request", "[header_scan]") {
    header_scanner s(8192);
    CHECK(s.scan("GET / HTTP/1.1\r\nHost: a\r\n\r\n").status == st::complete);
    s.reset();
    const std::string second = "GET /b HTTP/1.1\r\nHost: b\r\n\r\n";
    auto r = s.scan(second);
    CHECK(r.status == st::complete);
    CHECK(r.end == second.size());
}
