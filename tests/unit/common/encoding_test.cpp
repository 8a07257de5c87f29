#include "common/encoding.hpp"
#include "common/redact.hpp"
#include "common/secret.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <fmt/format.h>

#include <cctype>
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
    // Every offset of the 16-byte scan over unreserved runs, and long mixed strings.
    for (std::size_t k = 0; k < 48; ++k) {
        for (const char* piece : {"/", "+", "%2F", "%41", "\xff", "%", " ", "~", "%7e", "\x80", "@", "[", "`", "{"}) {
            const std::string s = std::string(k, 'a') + piece + std::string(20, 'Z');
            const auto decoded = percent_decode(s, true);
            INFO(s);
            REQUIRE(encoding::uri_canonical(s) == (decoded.ok() && uri_encode(*decoded) == s));
        }
    }
    for (int i = 0; i < 5000; ++i) {
        std::string s;
        const int n = static_cast<int>(rng() % 60);
        for (int k = 0; k < n; ++k) s += rng() % 6 == 0 ? pieces[rng() % pieces.size()] : std::string(1, "aZ9-_.~"[rng() % 7]);
        const auto decoded = percent_decode(s, true);
        INFO(s);
        REQUIRE(encoding::uri_canonical(s) == (decoded.ok() && uri_encode(*decoded) == s));
    }
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

namespace {

// Byte-at-a-time definitions of SigV4's encoding and of query decoding, the oracle of the
// 16-bytes-at-a-time scans.
std::string reference_uri_encode(std::string_view bytes, bool encode_slash) {
    std::string out;
    for (const char ch : bytes) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c == '.' || c == '~' || (c == '/' && !encode_slash))
            out += ch;
        else
            out += fmt::format("%{:02X}", c);
    }
    return out;
}

}  // namespace

TEST_CASE("uri_encode and percent_decode agree with byte-at-a-time definitions at every length", "[encoding]") {
    std::mt19937 rng(20261124);
    // Alphabets: every byte; mostly unreserved (long runs); mostly escapes and '+'.
    const std::string unreserved = "ABCXYZabcxyz0189-_.~/";
    const std::string escapes = "%+%2F%2f%41+ %zz%4";
    for (int round = 0; round < 3000; ++round) {
        const std::size_t n = rng() % 80;
        std::string s(n, '\0');
        for (auto& c : s) {
            switch (round % 3) {
                case 0: c = static_cast<char>(rng() & 0xff); break;
                case 1: c = rng() % 20 == 0 ? static_cast<char>(rng() & 0xff) : unreserved[rng() % unreserved.size()]; break;
                default: c = rng() % 2 == 0 ? escapes[rng() % escapes.size()] : unreserved[rng() % unreserved.size()]; break;
            }
        }
        INFO("round " << round);
        CHECK(uri_encode(s) == reference_uri_encode(s, true));
        CHECK(uri_encode(s, false) == reference_uri_encode(s, false));
        CHECK(*percent_decode(uri_encode(s)) == s);
        // Decoding by definition: '%' and two hex digits, '+' a space only when asked.
        for (const bool plus : {false, true}) {
            std::string want;
            bool ok = true;
            for (std::size_t i = 0; i < s.size(); ++i) {
                if (s[i] == '+' && plus) {
                    want += ' ';
                } else if (s[i] != '%') {
                    want += s[i];
                } else if (i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
                           std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
                    want += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
                    i += 2;
                } else {
                    ok = false;
                    break;
                }
            }
            const auto got = percent_decode(s, plus);
            REQUIRE(got.ok() == ok);
            if (ok) CHECK(*got == want);
        }
    }
}

TEST_CASE("hex_encode, hex_encode_to and hex_encode_append agree", "[encoding]") {
    const std::array<std::uint8_t, 5> bytes{0x00, 0x0f, 0x10, 0xab, 0xff};
    CHECK(encoding::hex_encode(bytes) == "000f10abff");
    CHECK(encoding::hex_encode(std::string_view("\x01\xfe", 2)) == "01fe");
    CHECK(encoding::hex_encode(std::span<const std::uint8_t>()).empty());
    std::array<char, 10> out{};
    encoding::hex_encode_to(out.data(), bytes);
    CHECK(std::string_view(out.data(), out.size()) == "000f10abff");
    std::string s = "sha=";
    encoding::hex_encode_append(s, bytes);
    CHECK(s == "sha=000f10abff");
}

TEST_CASE("append_lower appends the ASCII lower case, as to_lower copies it", "[encoding]") {
    std::string s = "Host:";
    encoding::append_lower(s, "X-Amz-Date\xC3\x89");
    CHECK(s == "Host:x-amz-date\xC3\x89");  // only A-Z change
    CHECK(encoding::to_lower("AbC-Z@[`{") == "abc-z@[`{");
}
