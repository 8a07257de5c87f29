#include "common/encoding.hpp"
#include "common/redact.hpp"
#include "common/secret.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <random>
#include <string>
#include <vector>

using namespace stsauth;
using namespace stsauth::encoding;

TEST_CASE("base64url round-trips and matches RFC 4648 vectors", "[encoding]") {
    CHECK(base64url_encode("") == "");
    CHECK(base64url_encode("f") == "Zg");
    CHECK(base64url_encode("fo") == "Zm8");
    CHECK(base64url_encode("foo") == "Zm9v");
    CHECK(base64url_encode("foob") == "Zm9vYg");
    CHECK(base64url_encode("\xfb\xff") == "-_8");
    for (std::string s : {"", "a", "ab", "abc", "abcd", "\x00\xff\x10"}) {
        auto d = base64url_decode(base64url_encode(s));
        REQUIRE(d.ok());
        CHECK(*d == s);
    }
}

TEST_CASE("base64url decode is strict", "[encoding]") {
    CHECK(base64url_decode("Zg==").code() == "bad_base64");     // padding
    CHECK(base64url_decode("Zm9v\n").code() == "bad_base64");   // newline
    CHECK(base64url_decode("Zm 9v").code() == "bad_base64");    // space
    CHECK(base64url_decode("Zm+v").code() == "bad_base64");     // std alphabet
    CHECK(base64url_decode("Z").code() == "bad_base64");        // impossible length
    CHECK(base64url_decode("Zh").code() == "bad_base64");       // non-canonical trailing bits
    CHECK(base64url_decode("Zg").ok());
}

TEST_CASE("standard base64", "[encoding]") {
    CHECK(base64_encode("foobar") == "Zm9vYmFy");
    CHECK(base64_encode("fooba") == "Zm9vYmE=");
    CHECK(*base64_decode("Zm9vYmE=") == "fooba");
    CHECK(base64_decode("Zm9vYmE").code() == "bad_base64");
}

TEST_CASE("uri_encode follows SigV4", "[encoding]") {
    CHECK(uri_encode("AZaz09-_.~") == "AZaz09-_.~");
    CHECK(uri_encode("a b/c=d") == "a%20b%2Fc%3Dd");
    CHECK(uri_encode("a b/c", false) == "a%20b/c");
    CHECK(uri_encode("\xe1\x88\xb4") == "%E1%88%B4");
}

TEST_CASE("percent_decode", "[encoding]") {
    CHECK(*percent_decode("a%2Fb%2f") == "a/b/");
    CHECK(*percent_decode("a+b") == "a+b");
    CHECK(*percent_decode("a+b", true) == "a b");
    CHECK(percent_decode("60%gh").code() == "bad_percent_encoding");
    CHECK(percent_decode("abc%").code() == "bad_percent_encoding");
    CHECK(percent_decode("abc%4").code() == "bad_percent_encoding");
}

TEST_CASE("percent_decode_to appends, and says when an escape is bad", "[encoding]") {
    std::string out = "x";
    CHECK(encoding::percent_decode_to(out, "a%2Fb+c", true));
    CHECK(out == "xa/b c");
    CHECK(encoding::percent_decode_to(out, "+", false));
    CHECK(out == "xa/b c+");
    for (const char* bad : {"%", "%4", "%g1", "a%1g", "%%41"}) {
        INFO(bad);
        std::string o;
        CHECK_FALSE(encoding::percent_decode_to(o, bad, true));
    }
}

TEST_CASE("uri_canonical is exactly uri_encode(percent_decode(x)) == x", "[encoding]") {
    CHECK(encoding::uri_canonical(""));
    CHECK(encoding::uri_canonical("AZaz09-_.~"));
    CHECK(encoding::uri_canonical("a%2Fb%3Bc%20%E1%88%B4%2B%3D"));
    for (const char* not_canonical : {"a/b", "a+b", "a b", "a=b", "%2f", "%41", "%7E", "%2", "%", "%G0", "a%2Fb%2f"}) {
        INFO(not_canonical);
        CHECK_FALSE(encoding::uri_canonical(not_canonical));
    }
    // Against the definition, on random strings biased towards escapes.
    const std::vector<std::string> pieces = {"a", "Z", "0", "-", "_", ".", "~", "/", "+", "=", "&", " ", "%", "%2F",
                                             "%2f", "%41", "%7E", "%20", "%E1", "%FF", "%0", "%G1", "\xff"};
    std::mt19937 rng(99);
    int canonical = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string s;
        const int n = static_cast<int>(rng() % 8);
        for (int k = 0; k < n; ++k) s += pieces[rng() % pieces.size()];
        const auto decoded = percent_decode(s, true);
        const bool expected = decoded.ok() && uri_encode(*decoded) == s;
        INFO(s);
        REQUIRE(encoding::uri_canonical(s) == expected);
        canonical += expected ? 1 : 0;
    }
    CHECK(canonical > 500);
}

TEST_CASE("case helpers", "[encoding]") {
    CHECK(iequals("X-Amz-Date", "x-amz-date"));
    CHECK_FALSE(iequals("X-Amz-Date", "x-amz-dat"));
    CHECK(to_lower("ARN:AWS") == "arn:aws");
}

TEST_CASE("redact_url hides signature, token and credential", "[redact]") {
    const auto r = redact_url(
        "https://sts.amazonaws.com/?Action=GetCallerIdentity&X-Amz-Credential=AKID%2F2020&"
        "x-amz-security-token=SECRETTOKEN&X-Amz-Signature=abcdef&Version=2011-06-15");
    CHECK(r.find("AKID") == std::string::npos);
    CHECK(r.find("SECRETTOKEN") == std::string::npos);
    CHECK(r.find("abcdef") == std::string::npos);
    CHECK(r.find("Action=GetCallerIdentity") != std::string::npos);
    CHECK(r.find("Version=2011-06-15") != std::string::npos);
}

TEST_CASE("secret formats as [redacted]", "[secret]") {
    secret<std::string> s("wJalrXUtnFEMI");
    CHECK(fmt::format("{}", s) == "[redacted]");
    CHECK(s.reveal() == "wJalrXUtnFEMI");
}

TEST_CASE("base64url decode: every length and every bad position, group-wise decoder", "[encoding]") {
    std::string bytes;
    for (int n = 0; n < 64; ++n) {
        const auto text = stsauth::encoding::base64url_encode(bytes);
        auto back = stsauth::encoding::base64url_decode(text);
        REQUIRE(back.ok());
        CHECK(*back == bytes);
        for (std::size_t i = 0; i < text.size(); ++i) {
            std::string bad = text;
            bad[i] = '+';  // standard alphabet only: not base64url
            auto r = stsauth::encoding::base64url_decode(bad);
            REQUIRE_FALSE(r.ok());
            CHECK(r.err().message == "illegal base64 data at input byte " + std::to_string(i));
        }
        bytes.push_back(static_cast<char>((n * 37 + 11) & 0xff));
    }
    CHECK(stsauth::encoding::base64url_decode("QQ").ok());
    CHECK(stsauth::encoding::base64url_decode("QR").code() == "bad_base64");   // non-zero unused bits (2 symbols)
    CHECK(stsauth::encoding::base64url_decode("QUJ").code() == "bad_base64");  // non-zero unused bits (3 symbols)
    CHECK(*stsauth::encoding::base64url_decode("QUI") == "AB");
}
