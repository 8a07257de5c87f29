#include "http/header_scan.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <iterator>
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

namespace {

/// The scanner as first written, one byte per step: the oracle for the memchr version.
class reference_scanner {
public:
    explicit reference_scanner(std::size_t limit) : limit_(limit) {}
    header_scan_result scan(std::string_view data) {
        auto too_large = [this] {
            return header_scan_result{seen_request_line_ ? st::header_too_large : st::target_too_large, request_start_, 0};
        };
        const std::size_t stop = std::min(data.size(), limit_);
        while (pos_ < stop) {
            const char c = data[pos_];
            if (c == '\n') return {st::bad_line_ending, request_start_, 0};
            if (c == '\r') {
                if (pos_ + 1 == data.size()) return {st::need_more, request_start_, 0};
                if (data[pos_ + 1] != '\n') return {st::bad_line_ending, request_start_, 0};
                const bool empty_line = pos_ == line_start_;
                pos_ += 2;
                line_start_ = pos_;
                if (empty_line) {
                    if (seen_request_line_) {
                        if (pos_ > limit_) return too_large();
                        return {st::complete, request_start_, pos_};
                    }
                    request_start_ = pos_;
                } else {
                    seen_request_line_ = true;
                }
                continue;
            }
            if ((c == ' ' || c == '\t') && pos_ == line_start_) {
                return {seen_request_line_ ? st::obs_fold : st::bad_request_line, request_start_, 0};
            }
            ++pos_;
        }
        if (pos_ >= limit_) return too_large();
        return {st::need_more, request_start_, 0};
    }

private:
    std::size_t limit_;
    std::size_t pos_ = 0;
    std::size_t line_start_ = 0;
    std::size_t request_start_ = 0;
    bool seen_request_line_ = false;
};

}  // namespace

TEST_CASE("header_scan: same answers as the byte-at-a-time scanner on generated input, fed in pieces", "[header_scan]") {
    // Inputs over a small alphabet dense in the interesting bytes, each fed whole and in random
    // pieces; every intermediate answer must match, as the session acts on each one.
    std::uint64_t seed = 0x9e3779b97f4a7c15ULL;
    auto next = [&seed](std::uint64_t n) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        return seed % n;
    };
    constexpr std::string_view alphabet = "ab: \t\r\n\r\n";
    const std::string_view words[] = {"GET / HTTP/1.1", "Host: x", "X-Long: " "0123456789abcdef0123456789abcdef0123456789",
                                      "\r\n", "\r\n", " ", "\t"};
    std::size_t decided = 0;
    for (int round = 0; round < 4000; ++round) {
        std::string input;
        const std::size_t parts = next(12);
        for (std::size_t i = 0; i < parts; ++i) {
            if (next(3) == 0) {
                input += alphabet[next(alphabet.size())];
            } else {
                input += words[next(std::size(words))];
            }
        }
        const std::size_t limit = 1 + next(120);
        INFO("input " << ::Catch::Detail::stringify(input) << " limit " << limit);
        header_scanner fast(limit);
        reference_scanner slow(limit);
        std::size_t fed = 0;
        while (true) {
            fed = std::min(input.size(), fed + (next(4) == 0 ? 1 + next(64) : 1 + next(4)));
            const auto view = std::string_view(input).substr(0, fed);
            const auto a = fast.scan(view);
            const auto b = slow.scan(view);
            REQUIRE(a.status == b.status);
            REQUIRE(a.start == b.start);
            REQUIRE(a.end == b.end);
            if (a.status != st::need_more) {
                ++decided;
                break;
            }
            if (fed == input.size()) break;
        }
    }
    CHECK(decided > 1000);  // the generator reaches decisions, not only need_more
}
