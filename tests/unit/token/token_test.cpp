// Token envelope and presigned-URL validation: every reason code, every row of SPEC-reference
// §10.2 (adapted where SPEC-decisions A2 is stricter), CVE-2022-2385, time and expiry boundaries.

#include "token/token.hpp"

#include "token_builder.hpp"

#include "common/encoding.hpp"
#include "sigv4/sigv4.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace stsauth;
using namespace stsauth::token;
using namespace stsauth::token::testing;
using namespace std::chrono_literals;

namespace {

validation_config config_for(const std::string& partition = "aws", std::size_t max_bytes = default_max_token_bytes) {
    auto hosts = sts_hosts::make(partition);
    REQUIRE(hosts.ok());
    return validation_config{*hosts, max_bytes};
}

// The reason code of validating `token` at `now` ("ok" when it passes).
std::string reason(const std::string& token, system_clock::time_point now = t0(),
                   const validation_config& config = config_for()) {
    auto r = validate(token, config, now);
    return r.ok() ? "ok" : r.code();
}
std::string reason(const url_builder& b, system_clock::time_point now = t0()) { return reason(b.token(), now); }

}  // namespace

TEST_CASE("a valid token passes and carries what the pipeline needs", "[token]") {
    auto r = validate(valid_url().token(), config_for(), t0() + 30s);
    REQUIRE(r.ok());
    CHECK(r->host == "sts.us-west-2.amazonaws.com");
    CHECK(r->sts_region == "us-west-2");
    CHECK(r->access_key_id == test_akid);
    CHECK(r->signed_at == t0());
    CHECK(r->expires_at == t0() + 15min);
    CHECK(r->target ==
          "/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256"
          "&X-Amz-Credential=ASIAR2TG44V6AS3ZZE7C%2F20230428%2Fus-west-2%2Fsts%2Faws4_request"
          "&X-Amz-Date=20230428T000000Z&X-Amz-Expires=60"
          "&X-Amz-Security-Token=FwoGZXIvYXdzEBY%2BaGVsbG8%2Fd29ybGQ%3D"
          "&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id"
          "&X-Amz-Signature=e211dba77aba9dc44b0b6be38b8eaad092599c5157f6314444c5b9d85747f5ce");
}

TEST_CASE("the reference client's URL (SPEC-reference §1.1) passes unchanged", "[token]") {
    const std::string query =
        "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=ASIAR2TG44V6AS3ZZE7C%2F20230428%2Fus-west-2%2Fsts%2Faws4_request"
        "&X-Amz-Date=20230428T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id"
        "&X-Amz-Signature=e211dba77aba9dc44b0b6be38b8eaad092599c5157f6314444c5b9d85747f5ce";
    auto r = validate(enc("https://sts.us-west-2.amazonaws.com/?" + query), config_for(), t0());
    REQUIRE(r.ok());
    CHECK(r->target == "/?" + query);
    CHECK(r->access_key_id == "ASIAR2TG44V6AS3ZZE7C");
}

TEST_CASE("a token presigned by our SigV4 signer passes, the target is its query", "[token]") {
    for (const char* session : {"", "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLXdlc3QtMiJHMEUCIQD+abc="}) {
        sigv4::request req;
        req.query = {{"Action", "GetCallerIdentity"}, {"Version", "2011-06-15"}};
        req.headers = {{"Host", "sts.eu-west-1.amazonaws.com"}, {"x-k8s-aws-id", "my-cluster"}};
        const sigv4::credentials creds{"AKIDEXAMPLE", secret<std::string>("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                                       secret<std::string>(session)};
        sigv4::presign(req, creds, {"eu-west-1", "sts", t0(), true}, 60s);
        const auto url = sigv4::to_url(req);
        auto r = validate(enc(url), config_for(), t0() + 14min);
        INFO((r.ok() ? std::string() : r.err().message));
        REQUIRE(r.ok());
        CHECK(r->host == "sts.eu-west-1.amazonaws.com");
        CHECK(r->access_key_id == "AKIDEXAMPLE");
        CHECK("https://" + r->host + r->target == url);
    }
}

// ---- Envelope -----------------------------------------------------------------------------------

TEST_CASE("token_too_large: the cap covers the whole token, prefix included", "[token][token_too_large]") {
    // SPEC-reference §10.2: 4097 NUL bytes => "token is too large" under the reference's 4096 cap.
    const std::string nuls(4097, '\0');
    CHECK(reason(nuls, t0(), config_for("aws", 4096)) == "token_too_large");
    // A2 raises the default cap to 16384: 4097 bytes are no longer too large (they fail later).
    CHECK(reason(nuls) == "bad_prefix");
    CHECK(reason(std::string(default_max_token_bytes + 1, 'A')) == "token_too_large");
    CHECK(decode_token(std::string(default_max_token_bytes + 1, 'A')).code() == "token_too_large");

    // A realistic token with a 4 KiB session token is over 4096 bytes and passes by default.
    auto big = valid_url().set("X-Amz-Security-Token", std::string(4096, 'Q'));
    REQUIRE(big.token().size() > 4096);
    CHECK(reason(big) == "ok");
    CHECK(reason(big.token(), t0(), config_for("aws", big.token().size())) == "ok");
    CHECK(reason(big.token(), t0(), config_for("aws", big.token().size() - 1)) == "token_too_large");
}

TEST_CASE("bad_prefix", "[token][bad_prefix]") {
    CHECK(reason("k8s-aws-v2.asdfasdfa") == "bad_prefix");  // SPEC-reference §10.2
    CHECK(reason("") == "bad_prefix");
    CHECK(reason("K8S-AWS-V1." + valid_url().token().substr(11)) == "bad_prefix");
    CHECK(reason(" " + valid_url().token()) == "bad_prefix");
    CHECK(reason("Bearer " + valid_url().token()) == "bad_prefix");
    CHECK(decode_token("k8s-aws-v2.asdfasdfa").err().message.find("k8s-aws-v1.") != std::string::npos);
}

TEST_CASE("bad_base64: strict base64url only", "[token][bad_base64]") {
    CHECK(reason("k8s-aws-v1.decodingerror") == "bad_base64");  // SPEC-reference §10.2
    const auto body = valid_url().token().substr(11);
    CHECK(reason("k8s-aws-v1." + body + "=") == "bad_base64");
    CHECK(reason("k8s-aws-v1." + body + "\n") == "bad_base64");
    CHECK(reason("k8s-aws-v1." + body + "\r\n") == "bad_base64");
    CHECK(reason("k8s-aws-v1." + body.substr(0, 20) + "\n" + body.substr(20)) == "bad_base64");  // Go would skip it
    CHECK(reason("k8s-aws-v1." + body + " ") == "bad_base64");
    CHECK(reason("k8s-aws-v1." + encoding::base64_encode(valid_url().url())) == "bad_base64");  // std alphabet / padding
    // Non-canonical trailing bits: "aHR0cHM6Ly9h" is "https://a"; "aHR0cHM6Ly9hYg" is "https://ab",
    // "aHR0cHM6Ly9hYh" decodes to the same bytes with non-zero unused bits.
    CHECK(decode_token("k8s-aws-v1.aHR0cHM6Ly9hYg").ok());
    CHECK(decode_token("k8s-aws-v1.aHR0cHM6Ly9hYh").code() == "bad_base64");
}

TEST_CASE("bad_url_bytes: decoded URL bytes must be 0x21..0x7e", "[token][bad_url_bytes]") {
    for (std::string bad : {std::string("\0", 1), std::string(" "), std::string("\t"), std::string("\r\n"),
                            std::string("\x7f"), std::string("\x80"), std::string("\xff"), std::string("\xc3\xa9")}) {
        auto b = valid_url();
        b.params.back().second += bad;
        CHECK(reason(b) == "bad_url_bytes");
        CHECK(decode_token(b.token()).code() == "bad_url_bytes");
    }
    CHECK(reason(enc("https://sts.amazonaws.com/ ")) == "bad_url_bytes");
    CHECK(decode_token(valid_url().token()).ok());
    CHECK(*decode_token(valid_url().token()) == valid_url().url());
}

// ---- URL structure ------------------------------------------------------------------------------

TEST_CASE("bad_scheme: https only, case-insensitive like Go", "[token][bad_scheme]") {
    CHECK(reason(enc(":ab:cd.af:/asda")) == "bad_scheme");  // SPEC-reference §10.2 "missing protocol scheme"
    CHECK(validate(enc(":ab:cd.af:/asda"), config_for(), t0()).err().message.find("missing protocol scheme") !=
          std::string::npos);
    CHECK(reason(enc("http://")) == "bad_scheme");  // SPEC-reference §10.2 "unexpected scheme"
    auto b = valid_url();
    for (const char* s : {"http", "ftp", "wss", "https2", "httpss", "sts"}) {
        b.scheme = s;
        CHECK(reason(b) == "bad_scheme");
    }
    CHECK(reason(enc("sts.amazonaws.com/?Action=GetCallerIdentity")) == "bad_scheme");
    CHECK(reason(enc("1https://sts.amazonaws.com/")) == "bad_scheme");
    for (const char* s : {"HTTPS", "Https", "hTTpS"}) {
        b.scheme = s;
        CHECK(reason(b) == "ok");
    }
}

TEST_CASE("userinfo, port, fragment", "[token][userinfo][port][fragment]") {
    auto b = valid_url();
    b.authority = "user@sts.us-west-2.amazonaws.com";
    CHECK(reason(b) == "userinfo");
    b.authority = "user:pass@sts.us-west-2.amazonaws.com";
    CHECK(reason(b) == "userinfo");
    b.authority = "sts.us-west-2.amazonaws.com@evil.example";
    CHECK(reason(b) == "userinfo");
    b.authority = "@sts.us-west-2.amazonaws.com";
    CHECK(reason(b) == "userinfo");

    b = valid_url();
    b.authority = "sts.us-west-2.amazonaws.com:443";
    CHECK(reason(b) == "port");
    b.authority = "sts.us-west-2.amazonaws.com:";
    CHECK(reason(b) == "port");
    b.authority = "sts.us-west-2.amazonaws.com:8443";
    CHECK(reason(b) == "port");

    b = valid_url();
    b.params.back().second += "#frag";
    CHECK(reason(b) == "fragment");
    b = valid_url();
    b.params.back().second += "#";
    CHECK(reason(b) == "fragment");
    CHECK(reason(enc("https://sts.amazonaws.com#/?Action=GetCallerIdentity")) == "fragment");
    b = valid_url();
    b.path = "/#";
    CHECK(reason(b) == "fragment");
}

TEST_CASE("bad_host: allow-list, case, trailing dot, percent, IP literals, look-alikes", "[token][bad_host]") {
    // SPEC-reference §10.2: https://google.com (the reference: "invalid host format").
    CHECK(reason(enc("https://google.com")) == "bad_host");
    auto b = valid_url();
    for (const char* host : {"sts.us-west-2.amazonaws.com.evil.example", "sts.amazonaws.com.evil.example",
                             "STS.US-WEST-2.AMAZONAWS.COM", "sts.us-west-2.amazonaws.com.", "sts%2Eus-west-2.amazonaws.com",
                             "127.0.0.1", "169.254.169.254", "[::1]", "[fd00:ec2::254]", "sts.cn-north-1.amazonaws.com.cn",
                             "sts.us-gov-west-1.amazonaws.com", "evil.example", "", "sts.us-west-2.amazonaws.com\\"}) {
        INFO(host);
        b.authority = host;
        CHECK(reason(b) == "bad_host");
    }
    CHECK(reason(enc("https:sts.amazonaws.com/?Action=GetCallerIdentity")) == "bad_host");  // no authority
    CHECK(reason(enc("https:/sts.amazonaws.com/?Action=GetCallerIdentity")) == "bad_host");
    CHECK(reason(enc("https:///?Action=GetCallerIdentity")) == "bad_host");
    // The message names the host.
    b.authority = "sts.amazonaws.com.evil.example";
    CHECK(validate(b.token(), config_for(), t0()).err().message.find("sts.amazonaws.com.evil.example") !=
          std::string::npos);
}

TEST_CASE("hosts of other partitions follow the configured partition", "[token][bad_host]") {
    auto cn = valid_url(t0(), "sts.cn-north-1.amazonaws.com.cn", "cn-north-1");
    CHECK(reason(cn.token(), t0(), config_for("aws-cn")) == "ok");
    CHECK(reason(cn.token(), t0(), config_for("aws")) == "bad_host");
    auto gov = valid_url(t0(), "sts.us-gov-west-1.amazonaws.com", "us-gov-west-1");
    CHECK(reason(gov.token(), t0(), config_for("aws-us-gov")) == "ok");
    CHECK(reason(gov.token(), t0(), config_for("aws")) == "bad_host");
    auto iso = valid_url(t0(), "sts.us-iso-east-1.c2s.ic.gov", "us-iso-east-1");
    CHECK(reason(iso.token(), t0(), config_for("aws-iso")) == "ok");
    CHECK(reason(iso.token(), t0(), config_for("aws-iso-b")) == "bad_host");
    auto global = valid_url(t0(), "sts.amazonaws.com", "us-east-1");
    CHECK(reason(global.token(), t0(), config_for("aws")) == "ok");
    CHECK(reason(global.token(), t0(), config_for("aws-cn")) == "bad_host");
    auto fips = valid_url(t0(), "sts-fips.us-east-1.amazonaws.com", "us-east-1");
    CHECK(reason(fips) == "ok");
    auto dual = valid_url(t0(), "sts.us-west-2.api.aws", "us-west-2");
    CHECK(reason(dual) == "ok");

    auto with_extra = sts_hosts::make("aws", "", std::vector<std::string>{"sts.us-east-1.fake-sts.test"});
    REQUIRE(with_extra.ok());
    auto fake = valid_url(t0(), "sts.us-east-1.fake-sts.test", "us-east-1");
    CHECK(reason(fake.token(), t0(), validation_config{*with_extra}) == "ok");
    CHECK(reason(fake) == "bad_host");
}

TEST_CASE("bad_path: exactly /", "[token][bad_path]") {
    // SPEC-reference §10.2 rows.
    CHECK(reason(enc("https://sts.cn-north-1.amazonaws.com.cn/abc"), t0(), config_for("aws-cn")) == "bad_path");
    CHECK(reason(enc("https://sts.amazonaws.com/abc")) == "bad_path");
    auto b = valid_url();
    for (const char* path : {"", "//", "/abc", "/.", "/%2F", "/%2f", "/./", "/a/..", "/;"}) {
        INFO(path);
        b.path = path;
        CHECK(reason(b) == "bad_path");
    }
    // Without a leading '/', the bytes belong to the authority.
    b.path = "%2F";
    CHECK(reason(b) == "bad_host");
    b.path = "\\";
    CHECK(reason(b) == "bad_host");
    CHECK(reason(enc("https://sts.amazonaws.com?Action=GetCallerIdentity")) == "bad_path");  // empty path
}

// ---- Query --------------------------------------------------------------------------------------

TEST_CASE("malformed_query: & only, valid escapes, key=value pairs", "[token][malformed_query]") {
    // SPEC-reference §10.2: "x-amz-expires=60%gh".
    CHECK(reason(enc("https://sts.sa-east-1.amazonaws.com/?action=GetCallerIdentity&x-amz-signedheaders=x-k8s-aws-id"
                     "&x-amz-date=20230428T000000Z&x-amz-expires=60%gh")) == "malformed_query");
    CHECK(reason(valid_url().set("X-Amz-Expires", "60%gh")) == "malformed_query");
    CHECK(reason(valid_url().set("X-Amz-Expires", "60%")) == "malformed_query");
    CHECK(reason(valid_url().set("X-Amz-Expires", "60%2")) == "malformed_query");
    CHECK(reason(valid_url().set("X-Amz-Expires", "60;x=1")) == "malformed_query");
    CHECK(reason(valid_url().add("X-Amz%zzDate", "1")) == "malformed_query");
    auto semi = valid_url();
    semi.params[1].first = "Action=GetCallerIdentity;Version";
    CHECK(reason(semi) == "malformed_query");
    auto empty_pair = valid_url();
    empty_pair.params.back().second += "&";  // trailing '&'
    CHECK(reason(empty_pair) == "malformed_query");
    empty_pair = valid_url();
    empty_pair.params[0].second += "&";  // "&&"
    CHECK(reason(empty_pair) == "malformed_query");
    CHECK(reason(enc("https://sts.amazonaws.com/?&Action=GetCallerIdentity")) == "malformed_query");
    auto no_eq = valid_url();
    no_eq.params.insert(no_eq.params.begin() + 1, {"Version", ""});
    no_eq.params.erase(no_eq.params.begin() + 2);
    REQUIRE(no_eq.url().find("&Version=&") != std::string::npos);
    CHECK(reason(no_eq) == "bad_version");  // "Version=" is a pair with an empty value...
    CHECK(reason(enc(no_eq.url().replace(no_eq.url().find("&Version=&"), 10, "&Version&"))) ==
          "malformed_query");  // ...but "Version" without '=' is malformed
    CHECK(reason(valid_url().add("", "x")) == "malformed_query");  // "=x"
    // More pairs than any valid token can have are refused outright (bounded work).
    auto many = valid_url();
    for (int i = 0; i < 40; ++i) many.add(std::string("p").append(std::to_string(i)), "x");  // not "p" + ...: GCC 12 -O3 -Wrestrict
    CHECK(reason(many) == "malformed_query");
    // Up to the bound, the reason is precise.
    auto some = valid_url();
    for (int i = 0; i < 20; ++i) some.add(std::string("p").append(std::to_string(i)), "x");
    CHECK(reason(some) == "unknown_parameter");
}

TEST_CASE("duplicate_parameter: case-variant keys (CVE-2022-2385)", "[token][duplicate_parameter]") {
    // SPEC-reference §10.2's regression test: the real credential plus a lower-case copy chosen by
    // the attacker. The verifier must not read either; it refuses the token.
    auto cve = valid_url().add("x-amz-credential", "eve");
    CHECK(reason(cve) == "duplicate_parameter");
    const auto message = validate(cve.token(), config_for(), t0()).err().message;
    CHECK(message.find("duplicate query parameter found") != std::string::npos);
    CHECK(message.find("eve") == std::string::npos);
    CHECK(message.find(test_akid) == std::string::npos);

    // The replay variant: real SignedHeaders=host, attacker adds a lower-case copy naming x-k8s-aws-id.
    auto replay = valid_url().set("X-Amz-SignedHeaders", "host").add("x-amz-signedheaders", "x-k8s-aws-id");
    CHECK(reason(replay) == "duplicate_parameter");
    // Percent-encoded key spellings are decoded first: "X-Amz-Dat%65" is "X-Amz-Date".
    CHECK(reason(valid_url().add("x-amz-dat%65", "20230428T000000Z")) == "duplicate_parameter");
    CHECK(reason(valid_url().add("ACTION", "GetCallerIdentity")) == "duplicate_parameter");
    // Detected across the whole query before the allow-list: an unknown key earlier does not win.
    CHECK(reason(valid_url().add("Foo", "1").add("FOO", "2")) == "duplicate_parameter");
    auto first_unknown = valid_url();
    first_unknown.params.insert(first_unknown.params.begin(), {"NotAllowed", "1"});
    first_unknown.add("action", "GetCallerIdentity");
    CHECK(reason(first_unknown) == "duplicate_parameter");
}

TEST_CASE("unknown_parameter: the allow-list of SPEC-reference §1.4", "[token][unknown_parameter]") {
    CHECK(reason(enc("https://sts.amazonaws.com/?NoInWhiteList=abc")) == "unknown_parameter");  // SPEC-reference §10.2
    for (const char* key : {"X-Amz-Content-Sha256", "RoleArn", "DurationSeconds", "x-k8s-aws-id", "Host", "X-Amz-User-Agent"}) {
        INFO(key);
        CHECK(reason(valid_url().add(key, "1")) == "unknown_parameter");
    }
    CHECK(validate(enc("https://sts.amazonaws.com/?NoInWhiteList=abc"), config_for(), t0()).err().message.find(
              "NoInWhiteList") != std::string::npos);
    // Names in messages are sanitised: no control bytes from "%0A".
    const auto msg = validate(valid_url().add("evil%0Aline", "1").token(), config_for(), t0()).err().message;
    CHECK(msg.find('\n') == std::string::npos);
    // Keys are matched case-insensitively.
    auto lower = valid_url();
    for (auto& [k, v] : lower.params) k = encoding::to_lower(k);
    CHECK(reason(lower) == "ok");
}

TEST_CASE("multiple_values: a key repeated exactly", "[token][multiple_values]") {
    CHECK(reason(enc("https://sts.amazonaws.com/?action=get&action=post")) == "multiple_values");  // SPEC-reference §10.2
    CHECK(reason(valid_url().add("X-Amz-Signature", test_signature)) == "multiple_values");
    CHECK(reason(valid_url().add("Action", "GetCallerIdentity")) == "multiple_values");
}

TEST_CASE("per-key rules run in URL order", "[token][unknown_parameter][multiple_values]") {
    // First offending key in URL order decides between unknown_parameter and multiple_values.
    CHECK(reason(enc("https://sts.amazonaws.com/?Foo=1&Action=a&Action=b")) == "unknown_parameter");
    CHECK(reason(enc("https://sts.amazonaws.com/?Action=a&Foo=1&Action=b")) == "multiple_values");
    CHECK(reason(enc("https://sts.amazonaws.com/?Action=a&Action=b&Foo=1")) == "multiple_values");
}

TEST_CASE("bad_action: value GetCallerIdentity, case-sensitive", "[token][bad_action]") {
    CHECK(reason(enc("https://sts.amazonaws.com/?action=NotGetCallerIdenity")) == "bad_action");  // SPEC-reference §10.2
    for (const char* v : {"getcalleridentity", "GetCallerIdentity%20", "AssumeRole", "", "GetCallerIdentity%00"}) {
        INFO(v);
        CHECK(reason(valid_url().set("Action", v)) == "bad_action");
    }
    CHECK(reason(valid_url().set("Action", "GetCaller%49dentity")) == "ok");  // escapes are decoded
    CHECK(reason(valid_url().remove("Action")) == "missing_parameter");
}

TEST_CASE("unsigned_cluster_id: X-Amz-SignedHeaders must include x-k8s-aws-id", "[token][unsigned_cluster_id]") {
    // SPEC-reference §10.2.
    CHECK(reason(enc("https://sts.amazonaws.com/?action=GetCallerIdentity&x-amz-signedheaders=abc%3bx-k8s-aws-i%3bdef")) ==
          "unsigned_cluster_id");
    for (const char* v : {"host", "", "x-k8s-aws-id2", "host%3Bx-k8s-aws", "host,x-k8s-aws-id", "host%3B%20x-k8s-aws-id"}) {
        INFO(v);
        CHECK(reason(valid_url().set("X-Amz-SignedHeaders", v)) == "unsigned_cluster_id");
    }
    CHECK(reason(valid_url().set("X-Amz-SignedHeaders", "x-k8s-aws-id")) == "ok");
    CHECK(reason(valid_url().set("X-Amz-SignedHeaders", "Host%3BX-K8S-AWS-ID")) == "ok");
    CHECK(reason(valid_url().set("X-Amz-SignedHeaders", "host;x-k8s-aws-id")) == "malformed_query");  // raw ';'
}

TEST_CASE("bad_expires: an integer in [0, 900]", "[token][bad_expires]") {
    for (const char* v : {"0", "1", "60", "900", "060", "0900"}) {
        INFO(v);
        CHECK(reason(valid_url().set("X-Amz-Expires", v)) == "ok");
    }
    // "+60": Go's strconv.Atoi accepts a leading '+'; stsauth accepts digits only (no signer sends
    // a sign). A literal '+' is a space in a query, so "+60" is " 60", refused by Go as well.
    for (const char* v : {"-1", "901", "9999999", "99999999999999999999999", "%2B60", "+60", "-0", "", "6O",
                          "60.0", "0x10", "%2060", "60%20", "1e2"}) {
        INFO(v);
        CHECK(reason(valid_url().set("X-Amz-Expires", v)) == "bad_expires");
    }
    // SPEC-reference §10.2: "…&x-amz-date=T&x-amz-expires=9999999".
    CHECK(reason(enc("https://sts.amazonaws.com/?action=GetCallerIdentity&x-amz-signedheaders=x-k8s-aws-id"
                     "&x-amz-date=20230428T000000Z&x-amz-expires=9999999")) == "bad_expires");
}

TEST_CASE("missing_parameter: every required parameter absent or empty", "[token][missing_parameter]") {
    for (const char* key : {"Action", "X-Amz-SignedHeaders", "X-Amz-Expires", "X-Amz-Date", "X-Amz-Algorithm",
                            "X-Amz-Credential", "X-Amz-Signature"}) {
        INFO(key);
        auto r = validate(valid_url().remove(key).token(), config_for(), t0());
        REQUIRE_FALSE(r.ok());
        CHECK(r.code() == "missing_parameter");
        CHECK(r.err().message.find(key) != std::string::npos);
    }
    for (const char* key : {"X-Amz-Date", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature"}) {
        INFO(key);
        CHECK(reason(valid_url().set(key, "")) == "missing_parameter");
    }
    // Optional parameters.
    CHECK(reason(valid_url().remove("Version")) == "ok");
    CHECK(reason(valid_url().remove("X-Amz-Security-Token")) == "ok");
    CHECK(reason(enc("https://sts.amazonaws.com/")) == "missing_parameter");
    CHECK(reason(enc("https://sts.amazonaws.com/?")) == "missing_parameter");
}

TEST_CASE("bad_date: strict YYYYMMDDTHHMMSSZ", "[token][bad_date]") {
    // SPEC-reference §10.2: "x-amz-date=xxxxxxx".
    CHECK(reason(enc("https://sts.amazonaws.com/?action=GetCallerIdentity&x-amz-signedheaders=x-k8s-aws-id"
                     "&x-amz-date=xxxxxxx&x-amz-expires=60")) == "bad_date");
    for (const char* v : {"xxxxxxx", "20230428T000000", "20230428t000000Z", "20230428T000000z", "2023-04-28T00:00:00Z",
                          "20230428T000000+0000", "20230230T000000Z", "20230428T240000Z", "20230428T006000Z",
                          "20230428T000060Z", "20231328T000000Z", "20230400T000000Z", "2023042T8000000Z",
                          "20230428T000000Z0", " 20230428T000000Z"}) {
        INFO(v);
        CHECK(reason(valid_url().set("X-Amz-Date", encoding::uri_encode(v))) == "bad_date");
    }
}

TEST_CASE("expired: strictly more than 15 minutes after X-Amz-Date", "[token][expired]") {
    CHECK(reason(valid_url(), t0() + 15min) == "ok");  // exactly 15 min old
    CHECK(reason(valid_url(), t0() + 15min + 1s) == "expired");
    CHECK(reason(valid_url(), t0() + 15min + 1ns) == "expired");
    CHECK(reason(valid_url(), t0() + 24h) == "expired");
    // SPEC-reference §10.2: x-amz-date=19900422T010203Z, reference-shaped token (no credential).
    CHECK(reason(enc("https://sts.amazonaws.com/?action=GetCallerIdentity&x-amz-signedheaders=x-k8s-aws-id"
                     "&x-amz-date=19900422T010203Z&x-amz-expires=60")) == "expired");
    // X-Amz-Expires does not shorten the window (STS ignores it for GetCallerIdentity).
    CHECK(reason(valid_url().set("X-Amz-Expires", "0"), t0() + 14min) == "ok");
}

TEST_CASE("date_in_future: at most 15 minutes ahead of now", "[token][date_in_future]") {
    CHECK(reason(valid_url(), t0() - 15min) == "ok");  // X-Amz-Date exactly 15 min ahead
    CHECK(reason(valid_url(), t0() - 15min - 1s) == "date_in_future");
    CHECK(reason(valid_url(), t0() - 15min - 1ns) == "date_in_future");
    CHECK(reason(valid_url(), t0() - 24h) == "date_in_future");
}

TEST_CASE("bad_version: 2011-06-15 when present", "[token][bad_version]") {
    for (const char* v : {"2011-06-14", "", "2011-06-15%20", "2011-06-15+", "latest"}) {
        INFO(v);
        CHECK(reason(valid_url().set("Version", v)) == "bad_version");
    }
}

TEST_CASE("bad_algorithm", "[token][bad_algorithm]") {
    for (const char* v : {"AWS4-HMAC-SHA1", "aws4-hmac-sha256", "AWS4-ECDSA-P256-SHA256", "AWS4-HMAC-SHA256%20"}) {
        INFO(v);
        CHECK(reason(valid_url().set("X-Amz-Algorithm", v)) == "bad_algorithm");
    }
}

TEST_CASE("bad_credential: <AKID>/<YYYYMMDD>/<region>/sts/aws4_request", "[token][bad_credential]") {
    for (const char* v : {"ASIAR2TG44V6AS3ZZE7C", "ASIAR2TG44V6AS3ZZE7C%2F20230428%2Fus-west-2%2Fsts",
                          "ASIAR2TG44V6AS3ZZE7C%2F20230428%2Fus-west-2%2Fsts%2Faws4_request%2Fx",
                          "%2F20230428%2Fus-west-2%2Fsts%2Faws4_request",
                          "ASIA%21R2TG%2F20230428%2Fus-west-2%2Fsts%2Faws4_request",
                          "ASIA%20R2TG%2F20230428%2Fus-west-2%2Fsts%2Faws4_request",
                          "ASIAR2TG44V6AS3ZZE7C%2F20230428%2Fus-west-2%2Fsts%2Faws4_REQUEST",
                          "eve"}) {
        INFO(v);
        CHECK(reason(valid_url().set("X-Amz-Credential", v)) == "bad_credential");
    }
    CHECK(reason(valid_url().set("X-Amz-Credential",
                                 std::string(129, 'A') + "%2F20230428%2Fus-west-2%2Fsts%2Faws4_request")) == "bad_credential");
    CHECK(reason(valid_url().set("X-Amz-Credential",
                                 std::string(128, 'A') + "%2F20230428%2Fus-west-2%2Fsts%2Faws4_request")) == "ok");
    CHECK(reason(valid_url().set("X-Amz-Credential", "AKIDEXAMPLE%2F20230428%2Fus-west-2%2Fsts%2Faws4_request")) == "ok");
}

TEST_CASE("bad_scope: date, region and service of the credential scope", "[token][bad_scope]") {
    CHECK(reason(valid_url().set("X-Amz-Credential", "ASIAR2TG44V6AS3ZZE7C%2F20230427%2Fus-west-2%2Fsts%2Faws4_request")) ==
          "bad_scope");
    CHECK(reason(valid_url().set("X-Amz-Credential", "ASIAR2TG44V6AS3ZZE7C%2F2023042%2Fus-west-2%2Fsts%2Faws4_request")) ==
          "bad_scope");
    CHECK(reason(valid_url().set("X-Amz-Credential", "ASIAR2TG44V6AS3ZZE7C%2F20230428%2Fus-east-1%2Fsts%2Faws4_request")) ==
          "bad_scope");
    CHECK(reason(valid_url().set("X-Amz-Credential", "ASIAR2TG44V6AS3ZZE7C%2F20230428%2FUS-WEST-2%2Fsts%2Faws4_request")) ==
          "bad_scope");
    // The reference's validToken uses service s3: refused by A2.
    CHECK(reason(valid_url().set("X-Amz-Credential", "ASIAR2TG44V6AS3ZZE7C%2F20230428%2Fus-west-2%2Fs3%2Faws4_request")) ==
          "bad_scope");
    // The global endpoint signs for us-east-1.
    CHECK(reason(valid_url(t0(), "sts.amazonaws.com", "us-east-1")) == "ok");
    CHECK(reason(valid_url(t0(), "sts.amazonaws.com", "us-west-2")) == "bad_scope");
    CHECK(reason(valid_url(t0(), "sts-fips.us-east-1.amazonaws.com", "us-east-1")) == "ok");
    CHECK(reason(valid_url(t0(), "sts-fips.us-east-1.amazonaws.com", "us-west-2")) == "bad_scope");
    // A token signed one second before midnight still carries that day's date in its scope.
    const auto late = t0() - 1s;
    CHECK(reason(valid_url(late), late) == "ok");
    CHECK(reason(valid_url(late).set("X-Amz-Date", "20230428T000000Z"), late) == "bad_scope");
}

TEST_CASE("bad_signature_format: 64 lower-case hex digits", "[token][bad_signature_format]") {
    const std::string sig = test_signature;
    for (const std::string& v : {sig.substr(1), sig + "0", encoding::to_lower(sig).replace(0, 1, "E"),
                                sig.substr(0, 63) + "g", std::string(64, 'z'), std::string("AWS4") + sig.substr(4)}) {
        INFO(v);
        CHECK(reason(valid_url().set("X-Amz-Signature", v)) == "bad_signature_format");
    }
    std::string upper = sig;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK(reason(valid_url().set("X-Amz-Signature", upper)) == "bad_signature_format");
}

TEST_CASE("signature and access key id: every byte value, accepted exactly when allowed", "[token]") {
    // Each of the 256 byte values (percent-encoded) in the middle of a signature and of an access
    // key id: only [0-9a-f] passes in one, only [A-Za-z0-9_] in the other.
    const std::string sig = test_signature;
    const auto hex = [](unsigned b) { return fmt::format("%{:02X}", b); };
    for (unsigned b = 0; b < 256; ++b) {
        INFO(b);
        const bool hex_digit = (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f');
        CHECK(reason(valid_url().set("X-Amz-Signature", sig.substr(0, 31) + hex(b) + sig.substr(32))) ==
              (hex_digit ? "ok" : "bad_signature_format"));
        const bool key_char = (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '_';
        CHECK(reason(valid_url().set("X-Amz-Credential", "ASIAR2TG44" + hex(b) + "6AS3ZZE7C%2F20230428%2Fus-west-2%2Fsts%2Faws4_request")) ==
              (key_char ? "ok" : "bad_credential"));
    }
}

TEST_CASE("bad_security_token: present but empty", "[token][bad_security_token]") {
    CHECK(reason(valid_url().set("X-Amz-Security-Token", "")) == "bad_security_token");
}

TEST_CASE("order: the reference's rules first, in its order, then A2's additions", "[token]") {
    // Action before X-Amz-Expires even when Expires comes first in the URL.
    auto b = valid_url().set("X-Amz-Expires", "901").set("Action", "Nope");
    CHECK(reason(b) == "bad_action");
    // Expired before any A2 addition (bad algorithm, signature, credential, version).
    auto c = valid_url().set("X-Amz-Algorithm", "x").set("X-Amz-Signature", "x").set("Version", "x");
    CHECK(reason(c, t0() + 1h) == "expired");
    CHECK(reason(c) == "bad_version");
    // Structure before query: a bad host wins over everything in the query.
    auto d = valid_url().set("Action", "Nope");
    d.authority = "evil.example";
    CHECK(reason(d) == "bad_host");
    // Fragment is checked before the host.
    auto e = valid_url();
    e.authority = "evil.example";
    e.path = "/#x";
    CHECK(reason(e) == "fragment");
}

TEST_CASE("SPEC-reference §10.2 success tokens: refused by A2, valid with the A2 parameters", "[token]") {
    for (const char* region : {"us-east-2", "ap-northeast-2", "ca-central-1", "eu-west-1", "sa-east-1"}) {
        INFO(region);
        const std::string host = std::string("sts.") + region + ".amazonaws.com";
        // The reference accepts this locally (no algorithm, credential or signature); A2 does not.
        auto r = validate(enc("https://" + host + "/?action=GetCallerIdentity&x-amz-signedheaders=x-k8s-aws-id"
                              "&x-amz-date=20230428T000000Z&x-amz-expires=60"),
                          config_for(), t0());
        REQUIRE_FALSE(r.ok());
        CHECK(r.code() == "missing_parameter");
        CHECK(r.err().message.find("X-Amz-Algorithm") != std::string::npos);

        auto full = validate(valid_url(t0(), host, region).token(), config_for(), t0());
        REQUIRE(full.ok());
        CHECK(full->sts_region == region);
    }
    // The reference's STS-side validToken: global host with an s3 scope dated 2019. A2 refuses it.
    const auto valid_token = enc(
        "https://sts.amazonaws.com/?action=GetCallerIdentity"
        "&X-Amz-Credential=ASIABCDEFGHIJKLMNOPQ%2F20191216%2Fus-west-2%2Fs3%2Faws4_request"
        "&x-amz-signedheaders=x-k8s-aws-id&x-amz-expires=60&x-amz-date=20230428T000000Z");
    CHECK(reason(valid_token) == "missing_parameter");
    const auto fixed = enc(
        "https://sts.amazonaws.com/?action=GetCallerIdentity&X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=ASIABCDEFGHIJKLMNOPQ%2F20230428%2Fus-east-1%2Fsts%2Faws4_request"
        "&x-amz-signedheaders=x-k8s-aws-id&x-amz-expires=60&x-amz-date=20230428T000000Z&X-Amz-Signature=" +
        std::string(test_signature));
    auto ok = validate(fixed, config_for(), t0());
    REQUIRE(ok.ok());
    CHECK(ok->access_key_id == "ASIABCDEFGHIJKLMNOPQ");
    CHECK(ok->sts_region == "global");
}

TEST_CASE("target: allow-listed parameters once, in order, keys as received, values re-encoded", "[token]") {
    auto b = valid_url();
    b.params = {
        {"x-amz-date", "20230428T000000Z"},
        {"ACTION", "GetCaller%49dentity"},                                       // unnecessary escape -> plain
        {"X-Amz-Security-Token", "a%2bb%2fc%3d+d~e.f-g_h"},                     // lower-case escapes, '+' is a space
        {"X-Amz-SignedHeaders", "host%3bx-k8s-aws-id"},
        {"X-Amz-Expires", "60"},
        {"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
        {"X-Amz-Credential", "ASIAR2TG44V6AS3ZZE7C/20230428/us-west-2/sts/aws4_request"},  // unescaped '/'
        {"X-Amz-Signature", test_signature},
    };
    auto r = validate(b.token(), config_for(), t0());
    REQUIRE(r.ok());
    CHECK(r->target ==
          "/?x-amz-date=20230428T000000Z&ACTION=GetCallerIdentity"
          "&X-Amz-Security-Token=a%2Bb%2Fc%3D%20d~e.f-g_h&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id"
          "&X-Amz-Expires=60&X-Amz-Algorithm=AWS4-HMAC-SHA256"
          "&X-Amz-Credential=ASIAR2TG44V6AS3ZZE7C%2F20230428%2Fus-west-2%2Fsts%2Faws4_request"
          "&X-Amz-Signature=" + std::string(test_signature));
    // Characters a token could use to smuggle structure come out encoded.
    auto s = valid_url().set("X-Amz-Security-Token", "x%26Action%3DAssumeRole%23%0D%0A%3F");
    auto rs = validate(s.token(), config_for(), t0());
    REQUIRE(rs.ok());
    CHECK(rs->target.find("X-Amz-Security-Token=x%26Action%3DAssumeRole%23%0D%0A%3F&") != std::string::npos);
    CHECK(rs->target.find('#') == std::string::npos);
    CHECK(rs->target.find('\n') == std::string::npos);
}

TEST_CASE("error messages never carry token, signature, credential or session token values", "[token]") {
    const std::vector<url_builder> cases = {
        valid_url().set("X-Amz-Signature", std::string(test_signature).substr(1)),
        valid_url().set("X-Amz-Credential", std::string(test_akid) + "%2F20230427%2Fus-west-2%2Fsts%2Faws4_request"),
        valid_url().set("X-Amz-Credential", std::string(test_akid) + "%2Fbad"),
        valid_url().add("x-amz-security-token", "x"),
        valid_url().add("x-amz-signature", test_signature),
        valid_url().set("X-Amz-Algorithm", "x"),
        valid_url().set("X-Amz-Expires", "901"),
    };
    for (const auto& b : cases) {
        auto r = validate(b.token(), config_for(), t0());
        REQUIRE_FALSE(r.ok());
        INFO(r.code() << ": " << r.err().message);
        CHECK(r.err().message.find(test_akid) == std::string::npos);
        CHECK(r.err().message.find(std::string(test_signature).substr(1, 40)) == std::string::npos);
        CHECK(r.err().message.find("FwoGZXIvYXdz") == std::string::npos);
        CHECK(r.err().message.find(b.token().substr(11, 40)) == std::string::npos);
    }
    auto expired = validate(valid_url().token(), config_for(), t0() + 1h);
    CHECK(expired.err().message.find("FwoGZXIvYXdz") == std::string::npos);
}
