// The shortcuts validate() takes on the uncached path, checked against what they stand for: the
// word-at-a-time 0x21..0x7e check (every bad byte at every offset), escapes decoded into one
// shared buffer (many escaped parameters, views still right), and the target kept as the raw
// query when it is already canonical (against decode-then-re-encode, on random values).

#include "token/token.hpp"

#include "token_builder.hpp"

#include "common/encoding.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

using namespace stsauth;
using namespace stsauth::token;
using namespace stsauth::token::testing;
using namespace std::chrono_literals;

namespace {

validation_config config() {
    auto hosts = sts_hosts::make("aws");
    REQUIRE(hosts.ok());
    return validation_config{*hosts, default_max_token_bytes};
}

// The target as SPEC-reference §1.2 defines it: each raw key and value percent-decoded ('+' a
// space) and re-encoded with SigV4's URI encoding, joined as received.
std::string reference_target(const url_builder& b) {
    std::string t = "/?";
    for (std::size_t i = 0; i < b.params.size(); ++i) {
        if (i != 0) t += '&';
        t += encoding::uri_encode(*encoding::percent_decode(b.params[i].first, true));
        t += '=';
        t += encoding::uri_encode(*encoding::percent_decode(b.params[i].second, true));
    }
    return t;
}

}  // namespace

TEST_CASE("bad_url_bytes: a bad byte is found at every offset of the URL", "[token][bad_url_bytes]") {
    const std::string url = valid_url().url();
    for (const char bad : {'\0', '\x01', ' ', '\x20', '\x7f', '\x80', '\xa0', '\xff'}) {
        for (std::size_t at = 0; at <= url.size(); ++at) {
            std::string u = url;
            u.insert(at, 1, bad);
            INFO("byte " << static_cast<int>(static_cast<unsigned char>(bad)) << " at " << at);
            REQUIRE(decode_token(enc(u)).code() == "bad_url_bytes");
        }
    }
    // The edges of the range pass (the URL is then invalid for other reasons, or not at all).
    std::string edges = url + "!~";
    CHECK(decode_token(enc(edges)).ok());
    CHECK(*decode_token(enc(edges)) == edges);
}

TEST_CASE("escaped parameters decode into one buffer and keep their own values", "[token]") {
    // Every parameter escaped (upper and lower case hex, '+'), the session token longest.
    auto b = valid_url();
    b.set("Action", "Get%43aller%49dentity");
    b.set("Version", "2011%2D06%2d15");
    b.set("X-Amz-Algorithm", "AWS4%2DHMAC%2dSHA256");
    b.set("X-Amz-Expires", "%36%30");
    b.set("X-Amz-Security-Token", "a+b%2Bc%2F%3D" + std::string(3000, 'x') + "%7e");
    b.set("X-Amz-SignedHeaders", "host%3bx-k8s-aws-id");
    auto r = validate(b.token(), config(), t0() + 30s);
    REQUIRE(r.ok());
    CHECK(r->access_key_id == test_akid);
    CHECK(r->target == reference_target(b));
    CHECK(r->target.find("X-Amz-Security-Token=a%20b%2Bc%2F%3D" + std::string(3000, 'x') + "~&") != std::string::npos);
    CHECK(r->target.find("Action=GetCallerIdentity&") != std::string::npos);

    // A bad escape anywhere is still malformed_query.
    for (const char* bad : {"%", "%4", "%G0", "ab%2", "%%"}) {
        auto m = valid_url();
        m.set("X-Amz-Security-Token", bad);
        INFO(bad);
        CHECK(validate(m.token(), config(), t0()).code() == "malformed_query");
    }
}

TEST_CASE("target: the raw query when canonical, else re-encoded, always as defined", "[token]") {
    const std::vector<std::string> pieces = {"a", "Z", "9", "-", "_", ".", "~", "+", "%2F", "%2f", "%2B", "%3D",
                                             "%41", "%7E", "%20", "%E1%88%B4", "/", ":", "=", "%25", "!", "*"};
    std::mt19937 rng(4242);
    int kept = 0;
    int reencoded = 0;
    for (int i = 0; i < 3000; ++i) {
        std::string value;
        const int n = 1 + static_cast<int>(rng() % 6);
        for (int k = 0; k < n; ++k) value += pieces[rng() % pieces.size()];
        auto b = valid_url();
        b.set("X-Amz-Security-Token", value);
        if (rng() % 4 == 0) b.params.front().first = "action";  // keys as received
        // Another parameter escaped where SigV4 would not: the query is rebuilt, whether or not
        // the session token was already in SigV4's encoding (then it is copied as received).
        if (rng() % 3 == 0) b.set("Version", "2011%2d06-15");
        const auto r = validate(b.token(), config(), t0());
        INFO(value);
        REQUIRE(r.ok());
        const std::string expected = reference_target(b);
        REQUIRE(r->target == expected);
        const std::string raw_query = b.url().substr(b.url().find('?') + 1);
        (expected == "/?" + raw_query ? kept : reencoded) += 1;
    }
    CHECK(kept > 300);       // both kinds were exercised
    CHECK(reencoded > 300);
    // The session token is kept as received when it is in SigV4's encoding, whatever else was
    // rebuilt around it.
    auto c = valid_url();
    c.set("X-Amz-Security-Token", "AQo%2BbC%2F%3D-_.~");
    c.set("Version", "2011%2d06-15");
    const auto rc = validate(c.token(), config(), t0());
    REQUIRE(rc.ok());
    CHECK(rc->target == reference_target(c));
    CHECK(rc->target.find("&Version=2011-06-15&") != std::string::npos);
    CHECK(rc->target.find("X-Amz-Security-Token=AQo%2BbC%2F%3D-_.~") != std::string::npos);
}

TEST_CASE("duplicates of the same length differing only in case are still refused", "[token]") {
    auto b = valid_url();
    b.add("x-amz-date", "20230428T000000Z");
    CHECK(validate(b.token(), config(), t0()).code() == "duplicate_parameter");
    auto c = valid_url();
    c.add("X-AMZ-SIGNATURE", std::string(64, 'a'));  // same length as X-Amz-Algorithm too
    CHECK(validate(c.token(), config(), t0()).code() == "duplicate_parameter");
    auto u = valid_url();
    u.add("X-Amz-Signaturf", "x");  // same length as X-Amz-Signature, not a case variant
    CHECK(validate(u.token(), config(), t0()).code() == "unknown_parameter");
}

namespace {

// Phases 10-12 as first written (every pair compared ignoring case, then each key looked up):
// the reason they give for a list of keys, or "" when they pass.
std::string reference_key_rules(const std::vector<std::string>& keys) {
    static const std::vector<std::string> allowed = {"action", "version", "x-amz-algorithm", "x-amz-credential",
                                                     "x-amz-date", "x-amz-expires", "x-amz-security-token",
                                                     "x-amz-signature", "x-amz-signedheaders"};
    for (std::size_t i = 0; i < keys.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
            if (keys[i] != keys[j] && encoding::iequals(keys[i], keys[j])) return "duplicate_parameter";
    std::vector<bool> seen(allowed.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
        std::size_t id = allowed.size();
        for (std::size_t a = 0; a < allowed.size(); ++a)
            if (encoding::iequals(keys[i], allowed[a])) id = a;
        if (id == allowed.size()) return "unknown_parameter";
        if (seen[id]) continue;
        for (std::size_t j = i + 1; j < keys.size(); ++j)
            if (keys[j] == keys[i]) return "multiple_values";
        seen[id] = true;
    }
    return "";
}

}  // namespace

TEST_CASE("key rules: case variants, unknown keys and repeats, in the order first written", "[token]") {
    const std::vector<std::string> names = {"Action", "action", "ACTION", "Version", "X-Amz-Date", "x-amz-date",
                                            "X-Amz-Signature", "X-Amz-Algorithm", "X-Amz-Credential",
                                            "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Security-Token",
                                            "Foo", "foo", "FOO", "X-Amz-Signaturf", "x-amz-signaturf", "Bar"};
    std::mt19937 rng(8080);
    std::size_t passed = 0;
    std::vector<std::size_t> per_reason(4);
    for (int i = 0; i < 20000; ++i) {
        auto b = valid_url();
        // Mostly the valid keys, with a few replaced or added.
        const int edits = 1 + static_cast<int>(rng() % 3);
        for (int e = 0; e < edits; ++e) {
            const std::string& name = names[rng() % names.size()];
            if (rng() % 2 == 0) {
                b.params[rng() % b.params.size()].first = name;
            } else {
                b.params.insert(b.params.begin() + static_cast<std::ptrdiff_t>(rng() % (b.params.size() + 1)),
                                {name, "v"});
            }
        }
        std::vector<std::string> keys;
        for (const auto& [k, v] : b.params) keys.push_back(k);
        const std::string expected = reference_key_rules(keys);
        const auto r = validate(b.token(), config(), t0());
        const std::string got = r.ok() ? "ok" : r.code();
        INFO(b.url());
        if (expected.empty()) {
            CHECK(got != "duplicate_parameter");
            CHECK(got != "unknown_parameter");
            CHECK(got != "multiple_values");
            ++passed;
        } else {
            REQUIRE(got == expected);
            ++per_reason[expected == "duplicate_parameter" ? 0 : expected == "unknown_parameter" ? 1 : 2];
        }
    }
    CHECK(passed > 100);
    CHECK(per_reason[0] > 500);
    CHECK(per_reason[1] > 500);
    CHECK(per_reason[2] > 500);
}
