#include "tokenreview/tokenreview.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace stsauth;
using namespace stsauth::tokenreview;

namespace {

const std::string token = "k8s-aws-v1.aHR0cHM6Ly9zdHMuYW1hem9uYXdzLmNvbS8_U0VDUkVU";

std::string review(const std::string& api_version_member, const std::string& spec) {
    return "{" + api_version_member + R"("kind":"TokenReview","spec":)" + spec + "}";
}

std::string v1_review(const std::string& spec) {
    return review(R"("apiVersion":"authentication.k8s.io/v1",)", spec);
}

// Every rejection must carry its code and must not echo the token.
void check_rejects(const std::string& body, const std::string& code) {
    INFO("body: " << body);
    auto r = decode(body);
    REQUIRE_FALSE(r.ok());
    CHECK(r.code() == code);
    CHECK(r.err().message.find("aHR0cHM6") == std::string::npos);
    CHECK(r.err().message.find("SECRET") == std::string::npos);
}

principal test_principal() {
    return principal{"arn:aws:iam::0123456789012:role/Test", "arn:aws:iam::0123456789012:role/Test",
                     "0123456789012", "Test", "TestSession", "ABCDEF"};
}

}  // namespace

TEST_CASE("decode: a real v1 request from kube-apiserver", "[tokenreview]") {
    const std::string body = R"({"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","metadata":{"creationTimestamp":null},)"
                             R"("spec":{"token":")" + token + R"(","audiences":["https://kubernetes.default.svc"]},"status":{"user":{}}})";
    auto r = decode(body);
    REQUIRE(r.ok());
    CHECK(r->version == api_version::v1);
    CHECK(r->api_version_present);
    CHECK(r->token.reveal() == token);
    CHECK(r->audiences == std::vector<std::string>{"https://kubernetes.default.svc"});
}

TEST_CASE("decode: v1beta1, and no apiVersion is treated as v1beta1", "[tokenreview]") {
    auto beta = decode(review(R"("apiVersion":"authentication.k8s.io/v1beta1",)", R"({"token":"t"})"));
    REQUIRE(beta.ok());
    CHECK(beta->version == api_version::v1beta1);
    CHECK(beta->api_version_present);

    auto bare = decode(R"({"spec":{"token":"t"}})");
    REQUIRE(bare.ok());
    CHECK(bare->version == api_version::v1beta1);
    CHECK_FALSE(bare->api_version_present);
    CHECK(bare->audiences.empty());
}

TEST_CASE("decode: tolerated shapes", "[tokenreview]") {
    CHECK(decode(" \n\t" + v1_review(R"({"token":"t"})") + " \r\n").ok());   // surrounding whitespace
    CHECK(decode(v1_review(R"({"token":"t","audiences":null})")).ok());
    CHECK(decode(v1_review(R"({"token":"t","unknown":{"a":[1,2.5,true,null]}})")).ok());
    CHECK(decode(v1_review(R"({"token":""})")).ok());  // empty: denied by the token check, not a malformed request
    CHECK(decode(R"({"Spec":{"token":"x"},"spec":{"token":"t"}})")->token.reveal() == "t");  // exact names
    auto unicode = decode(v1_review(R"({"token":"t","audiences":["\u00e9t\u00e9","caf)" "\xC3\xA9" R"("]})"));
    REQUIRE(unicode.ok());
    CHECK(unicode->audiences[1] == "caf\xC3\xA9");
}

TEST_CASE("decode: every error class", "[tokenreview]") {
    SECTION("not JSON") {
        check_rejects("", "not_json");
        check_rejects("   ", "not_json");
        check_rejects("not valid json", "not_json");
        check_rejects(R"({"spec":{"token":")" + token + R"("})", "not_json");  // truncated
        check_rejects(R"({"spec":{"token":")" + token + R"(",}})", "not_json");  // trailing comma
        check_rejects(R"({"spec":{"token":"\ud800"}})", "not_json");  // lone surrogate escape
        check_rejects("\xEF\xBB\xBF" + v1_review(R"({"token":"t"})"), "not_json");  // BOM
        check_rejects(R"({"spec":{"token":"t"}} /* c */)", "trailing_data");
    }
    SECTION("not one object") {
        check_rejects(R"(["spec"])", "not_object");
        check_rejects(R"("token")", "not_object");
        check_rejects("42", "not_object");
        check_rejects("null", "not_object");
    }
    SECTION("trailing data") {
        check_rejects(v1_review(R"({"token":")" + token + R"("})") + "{}", "trailing_data");
        check_rejects(v1_review(R"({"token":"t"})") + " x", "trailing_data");
        check_rejects(v1_review(R"({"token":"t"})") + "\n" + v1_review(R"({"token":"u"})"), "trailing_data");
    }
    SECTION("invalid UTF-8") {
        check_rejects(v1_review(R"({"token":"t)" "\xFF" R"("})"), "bad_utf8");
        check_rejects(v1_review(R"({"token":"t)" "\xC0\xAF" R"("})"), "bad_utf8");          // overlong '/'
        check_rejects(v1_review(R"({"token":"t)" "\xED\xA0\x80" R"("})"), "bad_utf8");      // encoded surrogate
        check_rejects(v1_review(R"({"token":"t)" "\xF4\x90\x80\x80" R"("})"), "bad_utf8");  // > U+10FFFF
        check_rejects(v1_review(R"({"token":"t)" "\xE2\x82" R"("})"), "bad_utf8");          // truncated sequence
        check_rejects(v1_review(R"({"token":"t"})") + "\xC3", "bad_utf8");
    }
    SECTION("duplicate keys, at any level") {
        check_rejects(R"({"spec":{"token":"a"},"spec":{"token":"b"}})", "duplicate_key");
        check_rejects(R"({"spec":{"token":"a","token":")" + token + R"("}})", "duplicate_key");
        check_rejects(R"({"apiVersion":"authentication.k8s.io/v1","apiVersion":"authentication.k8s.io/v1","spec":{"token":"t"}})",
                      "duplicate_key");
        check_rejects(R"({"spec":{"token":"t"},"metadata":{"a":{"x":1,"x":2}}})", "duplicate_key");
        // Same key in sibling objects is fine.
        CHECK(decode(R"({"spec":{"token":"t"},"metadata":{"a":{"x":1},"b":{"x":2}}})").ok());
    }
    SECTION("nesting depth") {
        std::string deep_ok = "1";
        for (int i = 0; i < 31; ++i) deep_ok = "[" + deep_ok + "]";  // 31 arrays + the top object = 32
        CHECK(decode(R"({"spec":{"token":"t"},"x":)" + deep_ok + "}").ok());
        check_rejects(R"({"spec":{"token":"t"},"x":[)" + deep_ok + "]}", "too_deep");
        std::string deep_objects = R"({"spec":{"token":"t"}})";
        for (int i = 0; i < 40; ++i) deep_objects = R"({"a":)" + deep_objects + "}";
        check_rejects(deep_objects, "too_deep");
    }
    SECTION("string sizes") {
        decode_limits limits;
        limits.max_string_bytes = 64;
        limits.max_key_bytes = 16;
        CHECK(decode(v1_review(R"({"token":")" + std::string(64, 'a') + R"("})"), limits).ok());
        auto long_token = decode(v1_review(R"({"token":")" + std::string(65, 'a') + R"("})"), limits);
        CHECK(long_token.code() == "string_too_long");
        auto long_key = decode(R"({"spec":{"token":"t"},")" + std::string(17, 'k') + R"(":1})", limits);
        CHECK(long_key.code() == "string_too_long");
        check_rejects(v1_review(R"({"token":")" + std::string(40000, 'a') + R"("})"), "string_too_long");
    }
    SECTION("apiVersion and kind") {
        check_rejects(review(R"("apiVersion":"authentication.k8s.io/v2",)", R"({"token":"t"})"), "bad_api_version");
        check_rejects(review(R"("apiVersion":"v1",)", R"({"token":"t"})"), "bad_api_version");
        check_rejects(review(R"("apiVersion":"AUTHENTICATION.K8S.IO/V1",)", R"({"token":"t"})"), "bad_api_version");
        check_rejects(review(R"("apiVersion":1,)", R"({"token":"t"})"), "bad_api_version");
        check_rejects(review(R"("apiVersion":null,)", R"({"token":"t"})"), "bad_api_version");
        check_rejects(R"({"apiVersion":"authentication.k8s.io/v1","kind":"SubjectAccessReview","spec":{"token":"t"}})", "bad_kind");
        check_rejects(R"({"apiVersion":"authentication.k8s.io/v1","kind":"tokenreview","spec":{"token":"t"}})", "bad_kind");
        check_rejects(R"({"kind":["TokenReview"],"spec":{"token":"t"}})", "bad_kind");
    }
    SECTION("spec and token") {
        check_rejects(R"({"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview"})", "missing_token");
        check_rejects(v1_review("null"), "missing_token");
        check_rejects(v1_review("{}"), "missing_token");
        check_rejects(v1_review(R"({"token":null})"), "missing_token");
        check_rejects(v1_review(R"({"Token":")" + token + R"("})"), "missing_token");
        check_rejects(v1_review(R"("t")"), "bad_spec");
        check_rejects(v1_review(R"([{"token":"t"}])"), "bad_spec");
        check_rejects(v1_review(R"({"token":42})"), "bad_token_type");
        check_rejects(v1_review(R"({"token":[")" + token + R"("]})"), "bad_token_type");
        check_rejects(v1_review(R"({"token":{"value":")" + token + R"("}})"), "bad_token_type");
    }
    SECTION("audiences") {
        check_rejects(v1_review(R"({"token":")" + token + R"(","audiences":"api"})"), "bad_audiences");
        check_rejects(v1_review(R"({"token":")" + token + R"(","audiences":["api",7]})"), "bad_audiences");
        std::string many = "[";
        for (int i = 0; i < 65; ++i) many += (i ? ",\"a" : "\"a") + std::to_string(i) + "\"";
        many += "]";
        check_rejects(v1_review(R"({"token":")" + token + R"(","audiences":)" + many + "}"), "bad_audiences");
    }
}

TEST_CASE("encode: the part B §3.3 reply, in v1 and v1beta1", "[tokenreview]") {
    const auto user = make_user(test_principal(), "TestUser", {"sys:admin", "listers"}, false);
    const std::string status =
        R"("metadata":{},"spec":{},"status":{"authenticated":true,"user":{"username":"TestUser",)"
        R"("uid":"aws-iam-authenticator:0123456789012:Test","groups":["sys:admin","listers"],)"
        R"("extra":{"accessKeyId":["ABCDEF"],"arn":["arn:aws:iam::0123456789012:role/Test"],)"
        R"("canonicalArn":["arn:aws:iam::0123456789012:role/Test"],"principalId":["Test"],)"
        R"("sessionName":["TestSession"],"sigs.k8s.io/aws-iam-authenticator/principalId":["Test"]}}}})";
    CHECK(encode_authenticated(api_version::v1, user) ==
          R"({"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview",)" + status + "\n");
    CHECK(encode_authenticated(api_version::v1beta1, user) ==
          R"({"apiVersion":"authentication.k8s.io/v1beta1","kind":"TokenReview",)" + status + "\n");
}

TEST_CASE("encode: round trip keeps the request's apiVersion", "[tokenreview]") {
    for (auto version : {api_version::v1, api_version::v1beta1}) {
        const std::string in = R"({"apiVersion":")" + std::string(api_version_string(version)) +
                               R"(","kind":"TokenReview","spec":{"token":"t"}})";
        auto req = decode(in);
        REQUIRE(req.ok());
        CHECK(req->version == version);
        const auto reply = encode_denied(req->version, "not_mapped");
        auto back = decode(reply);  // a reply is itself a TokenReview without spec.token
        CHECK(back.code() == "missing_token");
        CHECK(reply.find(std::string(R"("apiVersion":")") + std::string(api_version_string(version)) + "\"") != std::string::npos);
    }
}

TEST_CASE("encode: empty groups omitted, empty extra values kept", "[tokenreview]") {
    principal p = test_principal();
    p.session_name.clear();
    p.access_key_id.clear();
    p.arn = "arn:aws:iam::0123456789012:user/Test";
    p.canonical_arn = p.arn;
    const auto user = make_user(p, "arn:aws:iam::0123456789012:user/Test", {}, false);
    CHECK(encode_authenticated(api_version::v1, user) ==
          R"({"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","metadata":{},"spec":{},)"
          R"("status":{"authenticated":true,"user":{"username":"arn:aws:iam::0123456789012:user/Test",)"
          R"("uid":"aws-iam-authenticator:0123456789012:Test","extra":{"accessKeyId":[""],)"
          R"("arn":["arn:aws:iam::0123456789012:user/Test"],"canonicalArn":["arn:aws:iam::0123456789012:user/Test"],)"
          R"("principalId":["Test"],"sessionName":[""],"sigs.k8s.io/aws-iam-authenticator/principalId":["Test"]}}}})"
          "\n");
}

TEST_CASE("encode: scrubbed account has an administrative uid and no extra", "[tokenreview]") {
    const auto user = make_user(test_principal(), "TestUser", {"sys:admin"}, true);
    CHECK(user.uid == "aws-iam-authenticator:administrative:TestUser");
    CHECK(user.extra.empty());
    CHECK(encode_authenticated(api_version::v1, user) ==
          R"({"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","metadata":{},"spec":{},)"
          R"("status":{"authenticated":true,"user":{"username":"TestUser",)"
          R"("uid":"aws-iam-authenticator:administrative:TestUser","groups":["sys:admin"]}}})"
          "\n");
}

TEST_CASE("encode: deny", "[tokenreview]") {
    CHECK(encode_denied(api_version::v1, "not_mapped") ==
          R"({"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","metadata":{},"spec":{},)"
          R"("status":{"authenticated":false,"user":{},"error":"not_mapped"}})"
          "\n");
    CHECK(encode_denied(api_version::v1beta1, "bad \"host\"") ==
          R"({"apiVersion":"authentication.k8s.io/v1beta1","kind":"TokenReview","metadata":{},"spec":{},)"
          R"("status":{"authenticated":false,"user":{},"error":"bad \"host\""}})"
          "\n");
}

TEST_CASE("encode: never throws on invalid UTF-8 in a username", "[tokenreview]") {
    const auto user = make_user(test_principal(), "bad\xFFname", {}, true);
    const auto reply = encode_authenticated(api_version::v1, user);
    CHECK(reply.find("bad\xEF\xBF\xBDname") != std::string::npos);  // U+FFFD
}

TEST_CASE("encode: the borrowed-principal fast path writes exactly what make_user + encode write", "[tokenreview]") {
    // Names with quotes, backslashes, control characters, non-ASCII and invalid UTF-8 (a mapping
    // file may hold any bytes): both paths escape them identically, U+FFFD for invalid UTF-8.
    const std::vector<std::string> names = {"TestUser", "a\"b\\c", "tab\there\nnl\x01\x1f\x7f", "caf\xC3\xA9 \xF0\x9F\x98\x80",
                                            "bad\xFF\xC3(\xE2\x82", "", "system:node:ip-10-0-0-1.ec2.internal"};
    for (const auto& name : names) {
        for (bool scrubbed : {false, true}) {
            for (const auto& groups : {std::vector<std::string>{}, std::vector<std::string>{"g\"1", "sys:admin\n"}}) {
                principal p = test_principal();
                p.session_name = name;
                p.user_id = "AROA\xC3\xA9";
                const principal_view view{p.arn, p.canonical_arn, p.account_id, p.user_id, p.session_name, p.access_key_id};
                INFO(name << " scrubbed=" << scrubbed << " groups=" << groups.size());
                for (auto v : {api_version::v1, api_version::v1beta1}) {
                    CHECK(encode_authenticated(v, view, name, groups, scrubbed) ==
                          encode_authenticated(v, make_user(p, name, groups, scrubbed)));
                }
            }
        }
    }
    const principal p = test_principal();
    const principal_view view{p.arn, p.canonical_arn, p.account_id, p.user_id, p.session_name, p.access_key_id};
    const auto reply = encode_authenticated(api_version::v1, view, "x\xFFy\x01", {}, false);
    CHECK(reply.find(R"("username":"x)" "\xEF\xBF\xBD" R"(y\u0001")") != std::string::npos);
    CHECK(decode(reply).code() == "missing_token");  // the reply is strict JSON itself
}

TEST_CASE("decode: escapes are decoded, and a NUL after the object is trailing data", "[tokenreview]") {
    auto r = decode(R"({"apiVersion":"authentication.k8s.io\/v1","kind":"Token\u0052eview","spec":{"tok\u0065n":"a\"b\\c\u00e9"}})");
    REQUIRE(r.ok());
    CHECK(r->version == api_version::v1);
    CHECK(r->token.reveal() == "a\"b\\c\xC3\xA9");
    check_rejects(std::string(R"({"spec":{"token":"t"}})") + std::string(1, '\0') + "junk", "trailing_data");
    check_rejects(R"({"spec":{"token":"t","\u0074oken":"u"}})", "duplicate_key");
}
