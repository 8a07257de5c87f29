// STS response parsing (Go encoding/json semantics, SPEC-reference §1.6) and outcome
// classification (§1.7, decisions A3/A4), including the STS-side cases of §10.2.
#include "sts/response.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>

using namespace stsauth::sts;

namespace {

std::string data_file(const std::string& name) {
    std::ifstream in(std::string(STSAUTH_TEST_DATA_DIR) + "/sts/" + name, std::ios::binary);
    REQUIRE(in.good());
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string wrap(const std::string& result_members) {
    return R"({"GetCallerIdentityResponse":{"GetCallerIdentityResult":{)" + result_members + "}}}";
}

}  // namespace

TEST_CASE("parse: the documented success body", "[sts][parse]") {
    auto id = parse_caller_identity(data_file("get_caller_identity_ok.json"));
    REQUIRE(id.ok());
    CHECK(id->arn == "arn:aws:sts::111122223333:assumed-role/Admin/admin-session");
    CHECK(id->account == "111122223333");
    CHECK(id->user_id == "AROAIIRR6I5NDJBWMIRQQ:admin-session");
}

TEST_CASE("parse: keys match case-insensitively as Go does", "[sts][parse]") {
    auto id = parse_caller_identity(
        R"({"getcalleridentityresponse":{"GETCALLERIDENTITYRESULT":{"ARN":"a","account":"b","uSeRiD":"c"}}})");
    REQUIRE(id.ok());
    CHECK(id.value() == caller_identity{"a", "b", "c"});

    SECTION("Go's Unicode fold: U+017F (long s) matches 's'") {
        auto u = parse_caller_identity(
            "{\"GetCallerIdentityRe\xC5\xBFponse\":{\"GetCallerIdentityResult\":{\"U\xC5\xBF"
            "erId\":\"x\"}}}");
        REQUIRE(u.ok());
        CHECK(u->user_id == "x");
    }
    SECTION("near misses are unknown fields") {
        auto u = parse_caller_identity(wrap(R"("Arn ":"a","User_Id":"b","Accounts":"c","Ar":"d")"));
        REQUIRE(u.ok());
        CHECK(u.value() == caller_identity{});
    }
    SECTION("a non-folding non-ASCII byte does not match") {
        auto u = parse_caller_identity(wrap("\"\xC3\xA1rn\":\"a\""));
        REQUIRE(u.ok());
        CHECK(u->arn.empty());
    }
}

TEST_CASE("parse: unknown fields are ignored at every level, whatever their type", "[sts][parse]") {
    auto id = parse_caller_identity(R"({
        "Other": {"GetCallerIdentityResult": {"Arn": "decoy-1"}},
        "List": [{"GetCallerIdentityResponse": {"GetCallerIdentityResult": {"Arn": "decoy-2"}}}, 1, null],
        "GetCallerIdentityResponse": {
            "ResponseMetadata": {"RequestId": "r", "Arn": "decoy-3"},
            "Extra": [[["Arn"]], {"Arn": "decoy-4"}],
            "GetCallerIdentityResult": {"Arn": "arn:aws:iam::123456789012:user/Alice", "N": 1.5e10,
                                        "B": true, "Nested": {"Arn": "decoy-5"}, "Account": "123456789012",
                                        "UserId": "AIDAIYCCCMMMMMMMMGGDA", "Big": 18446744073709551615}
        },
        "Tail": -1
    })");
    REQUIRE(id.ok());
    CHECK(id->arn == "arn:aws:iam::123456789012:user/Alice");
    CHECK(id->account == "123456789012");
    CHECK(id->user_id == "AIDAIYCCCMMMMMMMMGGDA");
}

TEST_CASE("parse: missing fields and null leave empty strings (canonicalisation rejects them later)",
          "[sts][parse]") {
    for (const char* body : {"{}", "null", " null ", R"({"GetCallerIdentityResponse":null})",
                             R"({"GetCallerIdentityResponse":{}})",
                             R"({"GetCallerIdentityResponse":{"GetCallerIdentityResult":null}})",
                             R"({"GetCallerIdentityResponse":{"GetCallerIdentityResult":{"Arn":null}}})"}) {
        INFO(body);
        auto id = parse_caller_identity(body);
        REQUIRE(id.ok());
        CHECK(id.value() == caller_identity{});
    }
    auto partial = parse_caller_identity(wrap(R"("Arn":"arn")"));
    REQUIRE(partial.ok());
    CHECK(partial->arn == "arn");
    CHECK(partial->account.empty());
    CHECK(partial->user_id.empty());
}

TEST_CASE("parse: repeated keys: the last wins, null is a no-op, objects merge", "[sts][parse]") {
    auto id = parse_caller_identity(wrap(R"("Arn":"first","arn":"second","ARN":null)"));
    REQUIRE(id.ok());
    CHECK(id->arn == "second");

    auto merged = parse_caller_identity(
        R"({"GetCallerIdentityResponse":{"GetCallerIdentityResult":{"Arn":"a"}},)"
        R"("getcalleridentityresponse":{"GetCallerIdentityResult":{"Account":"b"}}})");
    REQUIRE(merged.ok());
    CHECK(merged.value() == caller_identity{"a", "b", ""});
}

TEST_CASE("parse: JSON of the wrong type is sts_bad_shape", "[sts][parse]") {
    for (const std::string& body :
         {std::string("[]"), std::string(R"("string")"), std::string("42"), std::string("true"),
          std::string(R"({"GetCallerIdentityResponse":"x"})"),
          std::string(R"({"GetCallerIdentityResponse":[]})"),
          std::string(R"({"GetCallerIdentityResponse":{"GetCallerIdentityResult":7}})"),
          std::string(R"({"GetCallerIdentityResponse":{"GetCallerIdentityResult":[{"Arn":"a"}]}})"),
          wrap(R"("Arn":5)"), wrap(R"("Account":123456789012)"), wrap(R"("UserId":{"a":"b"})"),
          wrap(R"("Arn":["a"])"), wrap(R"("Arn":false)")}) {
        INFO(body);
        auto id = parse_caller_identity(body);
        REQUIRE_FALSE(id.ok());
        CHECK(id.code() == "sts_bad_shape");
        CHECK(id.err().message.find("cannot unmarshal") != std::string::npos);
    }
}

TEST_CASE("parse: non-JSON bodies are errors (§10.2 body xxxx => invalid character)", "[sts][parse]") {
    auto x = parse_caller_identity("xxxx");
    REQUIRE_FALSE(x.ok());
    CHECK(x.code() == "sts_bad_json");
    CHECK(x.err().message.find("invalid character") != std::string::npos);

    for (const char* body : {"", "   ", "{", R"({"GetCallerIdentityResponse":{)", "[1,"}) {
        INFO(body);
        auto e = parse_caller_identity(body);
        REQUIRE_FALSE(e.ok());
        CHECK(e.code() == "sts_bad_json");
        CHECK(e.err().message.find("unexpected end of JSON input") != std::string::npos);
    }
    for (const char* body : {"{} x", "{}{}", "{'a':1}", R"({"a":1,})", "\xEF\xBB\xBF{}",
                             "{\"a\":\"\xFF\"}" /* invalid UTF-8: deliberately refused */}) {
        INFO(body);
        auto e = parse_caller_identity(body);
        REQUIRE_FALSE(e.ok());
        CHECK(e.code() == "sts_bad_json");
    }
    CHECK(parse_caller_identity("{} \r\n\t").ok());
}

TEST_CASE("parse: XML (STS ignoring Accept) is sts_xml_body", "[sts][parse]") {
    auto e = parse_caller_identity(data_file("get_caller_identity_ok.xml"));
    REQUIRE_FALSE(e.ok());
    CHECK(e.code() == "sts_xml_body");
    auto e2 = parse_caller_identity("\n  <?xml version=\"1.0\"?><GetCallerIdentityResponse/>");
    REQUIRE_FALSE(e2.ok());
    CHECK(e2.code() == "sts_xml_body");
}

TEST_CASE("parse: deep nesting inside an ignored field neither crashes nor matches", "[sts][parse]") {
    const std::string deep = std::string(20000, '[') + std::string(20000, ']');
    auto id = parse_caller_identity(R"({"x":)" + deep + R"(,"GetCallerIdentityResponse":{"GetCallerIdentityResult":{"Arn":"a"}}})");
    REQUIRE(id.ok());
    CHECK(id->arn == "a");
}

// ---- classification ----------------------------------------------------------------------------

TEST_CASE("classify: 200 with a valid body is ok, fields verbatim", "[sts][classify]") {
    auto o = classify_response(200, data_file("get_caller_identity_ok.json"));
    CHECK(o.kind == outcome_kind::ok);
    CHECK(o.ok());
    CHECK(o.reason == "ok");
    CHECK(o.http_status == 200);
    CHECK(o.identity.arn == "arn:aws:sts::111122223333:assumed-role/Admin/admin-session");
    CHECK(o.sts_error_code.empty());

    SECTION("§10.2 ARN / UserId rows pass through verbatim: canonicalisation is the caller's") {
        auto a = classify_response(200, wrap(R"("Arn":"arn","UserId":"not:vailid:userid")"));
        REQUIRE(a.ok());
        CHECK(a.identity.arn == "arn");
        CHECK(a.identity.user_id == "not:vailid:userid");
        auto b = classify_response(200, wrap(R"("Arn":"arn:aws:sts::123456789012:assumed-role/Alice/extra",)"
                                             R"("UserId":"Alice:session-name","Account":"123456789012")"));
        REQUIRE(b.ok());
        CHECK(b.identity == caller_identity{"arn:aws:sts::123456789012:assumed-role/Alice/extra", "123456789012",
                                            "Alice:session-name"});
    }
}

TEST_CASE("classify: 200 with a bad body is bad_response with the parse reason", "[sts][classify]") {
    struct row {
        std::string body;
        std::string reason;
    };
    for (const auto& r : {row{"xxxx", "sts_bad_json"}, row{"", "sts_bad_json"},
                          row{data_file("get_caller_identity_ok.xml"), "sts_xml_body"},
                          row{wrap(R"("Arn":1)"), "sts_bad_shape"}}) {
        INFO(r.body);
        auto o = classify_response(200, r.body);
        CHECK(o.kind == outcome_kind::bad_response);
        CHECK(o.reason == r.reason);
        CHECK(o.http_status == 200);
        CHECK(o.identity == caller_identity{});
    }
}

TEST_CASE("classify: throttling (§10.2: STS 400 with Throttling => throttled)", "[sts][classify]") {
    auto o = classify_response(400, data_file("throttling_400.json"));
    CHECK(o.kind == outcome_kind::throttled);
    CHECK(o.reason == "sts_throttled");
    CHECK(o.http_status == 400);
    CHECK(o.sts_error_code == "Throttling");
    CHECK(o.detail.find("sts getCallerIdentity was throttled") != std::string::npos);

    SECTION("substring anywhere in any non-200 body, as the reference") {
        for (unsigned status : {400U, 403U, 500U, 503U, 302U}) {
            INFO(status);
            auto t = classify_response(status, "<Error><Code>Throttling</Code></Error>");
            CHECK(t.kind == outcome_kind::throttled);
            CHECK(t.http_status == status);
        }
    }
    SECTION("429 is throttling whatever the body") {
        auto t = classify_response(429, "");
        CHECK(t.kind == outcome_kind::throttled);
        CHECK(t.http_status == 429);
    }
    SECTION("case matters: 'throttling' is not the STS code") {
        CHECK(classify_response(400, "throttling").kind == outcome_kind::rejected);
    }
    SECTION("a 200 body mentioning Throttling is still parsed as success") {
        auto s = classify_response(200, wrap(R"("Arn":"Throttling")"));
        CHECK(s.kind == outcome_kind::ok);
    }
}

TEST_CASE("classify: 4xx is rejected, keeping STS's error code", "[sts][classify]") {
    struct row {
        unsigned status;
        std::string file;
        std::string code;
    };
    for (const auto& r : {row{403, "signature_does_not_match_403.json", "SignatureDoesNotMatch"},
                          row{403, "expired_token_403.json", "ExpiredToken"},
                          row{403, "invalid_client_token_id_403.json", "InvalidClientTokenId"},
                          row{403, "signature_does_not_match_403.xml", "SignatureDoesNotMatch"}}) {
        INFO(r.file);
        auto o = classify_response(r.status, data_file(r.file));
        CHECK(o.kind == outcome_kind::rejected);
        CHECK(o.reason == "sts_rejected");
        CHECK(o.http_status == r.status);
        CHECK(o.sts_error_code == r.code);
        CHECK(o.detail.find("error from AWS (expected 200, got 403): " + r.code) == 0);
    }
    SECTION("§10.2: STS 403 body \" \" => error from AWS (expected 200, got 403)") {
        auto o = classify_response(403, " ");
        CHECK(o.kind == outcome_kind::rejected);
        CHECK(o.sts_error_code.empty());
        CHECK(o.detail.find("error from AWS (expected 200, got 403)") == 0);
    }
    for (unsigned status : {400U, 401U, 404U, 405U, 413U, 499U}) {
        INFO(status);
        auto o = classify_response(status, "nope");
        CHECK(o.kind == outcome_kind::rejected);
        CHECK(o.http_status == status);
        CHECK(o.detail.find("Body: nope") != std::string::npos);
    }
}

TEST_CASE("classify: 5xx is unavailable", "[sts][classify]") {
    for (unsigned status : {500U, 502U, 503U, 504U, 599U}) {
        INFO(status);
        auto o = classify_response(status, R"({"Error":{"Code":"ServiceUnavailable","Message":"try later"}})");
        CHECK(o.kind == outcome_kind::unavailable);
        CHECK(o.reason == "sts_server_error");
        CHECK(o.http_status == status);
        CHECK(o.sts_error_code == "ServiceUnavailable");
    }
}

TEST_CASE("classify: 3xx is never followed (§10.2 TestVerifyNoRedirectsFollowed)", "[sts][classify]") {
    for (unsigned status : {300U, 301U, 302U, 303U, 307U, 308U}) {
        INFO(status);
        auto o = classify_response(status, "");
        CHECK(o.kind == outcome_kind::bad_response);
        CHECK(o.reason == "sts_redirect");
        CHECK(o.http_status == status);
        CHECK(o.detail.find("redirects are never followed") != std::string::npos);
    }
}

TEST_CASE("classify: other statuses are unexpected", "[sts][classify]") {
    for (unsigned status : {100U, 101U, 201U, 202U, 204U, 299U, 600U, 0U}) {
        INFO(status);
        auto o = classify_response(status, data_file("get_caller_identity_ok.json"));
        CHECK(o.kind == outcome_kind::bad_response);
        CHECK(o.reason == "sts_unexpected_status");
        CHECK(o.identity == caller_identity{});
    }
}

TEST_CASE("classify: error codes and details are sanitised and bounded", "[sts][classify]") {
    SECTION("an error code with odd characters is dropped") {
        auto o = classify_response(403, R"({"Error":{"Code":"Bad Code\n<script>"}})");
        CHECK(o.sts_error_code.empty());
        auto long_code = classify_response(403, R"({"Error":{"Code":")" + std::string(65, 'A') + R"("}})");
        CHECK(long_code.sts_error_code.empty());
    }
    SECTION("signing material in a body never reaches the detail") {
        const std::string sig = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        for (const std::string& body :
             {"bad request for /?Action=GetCallerIdentity&X-Amz-Signature=" + sig,
              "canonical: x-amz-security-token=" + sig, "Credential=" + sig, "SIGNATURE=" + sig}) {
            auto o = classify_response(400, body);
            CHECK(o.detail.find(sig) == std::string::npos);
            auto m = classify_response(403, R"({"Error":{"Code":"SignatureDoesNotMatch","Message":"got X-Amz-Signature=)" +
                                                sig + R"("}})");
            CHECK(m.detail.find(sig) == std::string::npos);
            CHECK(m.sts_error_code == "SignatureDoesNotMatch");
        }
    }
    SECTION("control bytes are replaced and length is bounded") {
        auto o = classify_response(400, std::string("line1\r\nline2\x01\xff") + std::string(5000, 'z'));
        CHECK(o.detail.find('\n') == std::string::npos);
        CHECK(o.detail.find('\r') == std::string::npos);
        CHECK(o.detail.find('\xff') == std::string::npos);
        CHECK(o.detail.size() < 300);
    }
}

TEST_CASE("outcome helpers", "[sts][classify]") {
    auto big = oversize_response(200, 65536);
    CHECK(big.kind == outcome_kind::bad_response);
    CHECK(big.reason == "sts_body_too_large");
    CHECK(big.http_status == 200);
    CHECK(big.detail.find("65536") != std::string::npos);

    auto t = transport_failure("sts_timeout", "no answer\r\n");
    CHECK(t.kind == outcome_kind::unavailable);
    CHECK(t.http_status == 0);
    CHECK(t.detail == "no answer??");
    CHECK(transport_failure("sts_invalid_request", "x", outcome_kind::rejected).kind == outcome_kind::rejected);

    CHECK(to_string(outcome_kind::ok) == "ok");
    CHECK(to_string(outcome_kind::throttled) == "throttled");
    CHECK(to_string(outcome_kind::rejected) == "rejected");
    CHECK(to_string(outcome_kind::unavailable) == "unavailable");
    CHECK(to_string(outcome_kind::bad_response) == "bad_response");

    CHECK(sanitize_snippet("abc", 2) == "ab...");
    CHECK(sanitize_snippet("ok x-AMZ-date=1", 100) == "ok ...");
}
