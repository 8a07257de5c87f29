// SubjectAccessReview codec (C7): strict decoding, both versions, reply encoding.

#include "helpers.hpp"

using namespace access_test;

namespace {

const std::string spec_example =
    R"({"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1",
 "metadata":{"creationTimestamp":null},
 "spec":{"resourceAttributes":{"namespace":"dev-a","verb":"list","group":"apps","version":"v1",
                               "resource":"deployments"},
         "user":"arn:aws:sts::111122223333:assumed-role/Dev/alice",
         "groups":["developers","system:authenticated"],
         "uid":"aws-iam-authenticator:111122223333:AROAEXAMPLEID",
         "extra":{"accessKeyId":["ASIAEXAMPLEKEY"],
                  "arn":["arn:aws:sts::111122223333:assumed-role/Dev/alice"],
                  "canonicalArn":["arn:aws:iam::111122223333:role/Dev"],
                  "principalId":["AROAEXAMPLEID"],"sessionName":["alice"],
                  "sigs.k8s.io/aws-iam-authenticator/principalId":["AROAEXAMPLEID"]}},
 "status":{"allowed":false}})";

std::string with(const std::string& spec_json, const std::string& version = "authorization.k8s.io/v1") {
    return R"({"kind":"SubjectAccessReview","apiVersion":")" + version + R"(","spec":)" + spec_json + "}";
}

std::string code_of(const std::string& body) {
    auto r = decode_sar(body);
    return r ? std::string() : r.code();
}

}  // namespace

TEST_CASE("SAR decode: the C7.1 example", "[sar]") {
    auto r = decode_sar(spec_example);
    REQUIRE(r);
    CHECK(r->version == sar_version::v1);
    REQUIRE(r->resource);
    CHECK_FALSE(r->non_resource);
    CHECK(r->resource->namespace_name == "dev-a");
    CHECK(r->resource->verb == "list");
    CHECK(r->resource->group == "apps");
    CHECK(r->resource->version == "v1");
    CHECK(r->resource->resource == "deployments");
    CHECK(r->resource->subresource.empty());
    CHECK(r->resource->name.empty());
    CHECK(r->user == "arn:aws:sts::111122223333:assumed-role/Dev/alice");
    CHECK(r->groups == std::vector<std::string>{"developers", "system:authenticated"});
    CHECK(r->uid == "aws-iam-authenticator:111122223333:AROAEXAMPLEID");
    CHECK(r->extra.size() == 6);
    CHECK(r->extra.at("canonicalArn") == std::vector<std::string>{"arn:aws:iam::111122223333:role/Dev"});
}

TEST_CASE("SAR decode: the three extras evaluate reads, kept in both modes", "[sar]") {
    sar_decode_limits lean;
    lean.keep_identity = false;
    for (const bool keep : {true, false}) {
        INFO("keep_identity " << keep);
        auto r = decode_sar(spec_example, keep ? sar_decode_limits{} : lean);
        REQUIRE(r);
        CHECK(r->principal.canonical_arn.present);
        CHECK(r->principal.canonical_arn.count == 1);
        CHECK(r->principal.canonical_arn.first == "arn:aws:iam::111122223333:role/Dev");
        CHECK(r->principal.principal_id.first == "AROAEXAMPLEID");
        CHECK(r->principal.principal_id_legacy.first == "AROAEXAMPLEID");
        CHECK(r->extra.size() == (keep ? 6U : 0U));
        CHECK(r->user.empty() != keep);
        CHECK(r->groups.empty() != keep);
        CHECK(r->resource->verb == "list");  // the attributes are kept either way
    }
    // Absent, null, empty list, several values: what C6.1 tells apart.
    auto r = decode_sar(with(R"({"nonResourceAttributes":{"path":"/","verb":"get"},
        "extra":{"canonicalArn":null,"principalId":["a","b"],"other":["x"]}})"), lean);
    REQUIRE(r);
    CHECK(r->principal.canonical_arn.present);
    CHECK(r->principal.canonical_arn.count == 0);
    CHECK_FALSE(r->principal.principal_id.present);
    CHECK(r->principal.principal_id_legacy.count == 2);
    CHECK(r->principal.principal_id_legacy.first == "a");
    // Keys are matched exactly (escaped spellings are the same key; other cases are not).
    auto e = decode_sar(with(R"({"nonResourceAttributes":{"path":"/","verb":"get"},
        "extra":{"canonical\u0041rn":["x"],"CanonicalArn":["y"]}})"), lean);
    REQUIRE(e);
    CHECK(e->principal.canonical_arn.first == "x");
}

TEST_CASE("C9 vector 20: v1beta1 reads group and the reply echoes v1beta1", "[sar][c9]") {
    const std::string body = with(R"({"nonResourceAttributes":{"path":"/healthz","verb":"get"},"user":"u",
                                      "group":["a","b"],"groups":["ignored"]})",
                                  "authorization.k8s.io/v1beta1");
    auto r = decode_sar(body);
    REQUIRE(r);
    CHECK(r->version == sar_version::v1beta1);
    CHECK(r->groups == std::vector<std::string>{"a", "b"});
    REQUIRE(r->non_resource);
    CHECK(r->non_resource->path == "/healthz");
    CHECK(r->non_resource->verb == "get");
    const auto reply = nlohmann::json::parse(encode_sar_response(r->version, {}));
    CHECK(reply["apiVersion"] == "authorization.k8s.io/v1beta1");
    // v1 reads `groups` and ignores `group`.
    auto v1 = decode_sar(with(R"({"nonResourceAttributes":{"path":"/","verb":"get"},"group":["x"],"groups":["y"]})"));
    REQUIRE(v1);
    CHECK(v1->groups == std::vector<std::string>{"y"});
}

TEST_CASE("SAR decode: selectors nulls and unknown fields", "[sar]") {
    auto r = decode_sar(with(R"({"resourceAttributes":{"verb":"list","resource":"pods","namespace":null,
        "fieldSelector":{"requirements":[{"key":"spec.nodeName","operator":"In","values":["n1"]}],"rawSelector":"x"},
        "labelSelector":{"requirements":[{"key":"app","operator":"Exists"}]},"future":{"a":1}},
        "extra":{"k":null},"user":null,"uid":null,"groups":null,"unknown":[1,2]})"));
    REQUIRE(r);
    CHECK(r->resource->namespace_name.empty());
    CHECK(r->extra.at("k").empty());
    CHECK(code_of(with(R"({"resourceAttributes":{"verb":"list","fieldSelector":[]}})")) == "bad_attributes");
    CHECK(code_of(with(R"({"resourceAttributes":{"verb":"list","labelSelector":{"requirements":[{"key":1}]}}})")) ==
          "bad_attributes");
    CHECK(code_of(with(R"({"resourceAttributes":{"verb":"list","labelSelector":{"requirements":[{"values":[1]}]}}})")) ==
          "bad_attributes");
}

TEST_CASE("SAR decode: strict rejections", "[sar]") {
    const std::string nr = R"({"nonResourceAttributes":{"path":"/","verb":"get"}})";
    CHECK(code_of("") == "not_json");
    CHECK(code_of("[]") == "not_object");
    CHECK(code_of("\"x\"") == "not_object");
    CHECK(code_of("{") == "not_json");
    CHECK(code_of(with(nr) + " {}") == "trailing_data");
    CHECK(code_of(with(nr) + "x") == "trailing_data");
    CHECK(code_of(with(nr) + " \n").empty());
    CHECK(code_of("\xEF\xBB\xBF" + with(nr)) == "not_json");
    CHECK(code_of(R"({"kind":"SubjectAccessReview","kind":"SubjectAccessReview"})") == "duplicate_key");
    CHECK(code_of(with(R"({"nonResourceAttributes":{"path":"/","verb":"get","verb":"post"}})")) == "duplicate_key");
    CHECK(code_of(with(R"({"nonResourceAttributes":{"path":"/","verb":"get"},"user":")" + std::string("\xff") + R"("})")) ==
          "bad_utf8");
    CHECK(code_of(with(R"({"nonResourceAttributes":{"path":")" + std::string(20000, 'a') + R"(","verb":"get"}})")) ==
          "string_too_long");
    std::string deep = "1";
    for (int i = 0; i < 20; ++i) deep = "[" + deep + "]";
    CHECK(code_of(with(R"({"nonResourceAttributes":{"path":"/","verb":"get"},"x":)" + deep + "}")) == "too_deep");

    CHECK(code_of(R"({"kind":"SubjectAccessReview","spec":{}})") == "bad_api_version");
    CHECK(code_of(with(nr, "authorization.k8s.io/v2")) == "bad_api_version");
    CHECK(code_of(with(nr, "authentication.k8s.io/v1")) == "bad_api_version");
    CHECK(code_of(R"({"kind":"TokenReview","apiVersion":"authorization.k8s.io/v1","spec":{}})") == "bad_kind");
    CHECK(code_of(R"({"apiVersion":"authorization.k8s.io/v1","spec":{}})") == "bad_kind");
    CHECK(code_of(R"({"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1"})") == "bad_spec");
    CHECK(code_of(with("[]")) == "bad_spec");
    CHECK(code_of(with("{}")) == "bad_spec");
    CHECK(code_of(with(R"({"resourceAttributes":{"verb":"get"},"nonResourceAttributes":{"path":"/","verb":"get"}})")) ==
          "bad_spec");
    CHECK(code_of(with(R"({"resourceAttributes":{"resource":"pods"}})")) == "bad_attributes");
    CHECK(code_of(with(R"({"resourceAttributes":{"verb":""}})")) == "bad_attributes");
    CHECK(code_of(with(R"({"resourceAttributes":{"verb":"get","namespace":1}})")) == "bad_attributes");
    CHECK(code_of(with(R"({"resourceAttributes":"x"})")) == "bad_attributes");
    CHECK(code_of(with(R"({"nonResourceAttributes":{"verb":"get"}})")) == "bad_attributes");
    CHECK(code_of(with(R"({"nonResourceAttributes":{"path":"/"}})")) == "bad_attributes");
    CHECK(code_of(with(R"({"nonResourceAttributes":{"path":"/","verb":"get"},"user":5})")) == "bad_spec");
    CHECK(code_of(with(R"({"nonResourceAttributes":{"path":"/","verb":"get"},"groups":"g"})")) == "bad_groups");
    CHECK(code_of(with(R"({"nonResourceAttributes":{"path":"/","verb":"get"},"groups":[1]})")) == "bad_groups");
    CHECK(code_of(with(R"({"nonResourceAttributes":{"path":"/","verb":"get"},"extra":[]})")) == "bad_extra");
    CHECK(code_of(with(R"({"nonResourceAttributes":{"path":"/","verb":"get"},"extra":{"k":"v"}})")) == "bad_extra");
    CHECK(code_of(with(R"({"nonResourceAttributes":{"path":"/","verb":"get"},"extra":{"k":[1]}})")) == "bad_extra");
    sar_decode_limits small;
    small.max_extra_values = 2;
    CHECK(decode_sar(with(R"({"nonResourceAttributes":{"path":"/","verb":"get"},"extra":{"a":["1","2"],"b":["3"]}})"), small)
              .code() == "bad_extra");
}

TEST_CASE("SAR decode: the strict reader's limits at their boundaries", "[sar]") {
    // Defaults: depth 16 (the top object is 1), strings 16 KiB and keys 1 KiB after unescaping.
    const std::string head = R"({"nonResourceAttributes":{"path":"/","verb":"get"},)";
    auto nested = [](int levels) {
        std::string v = "1";
        for (int i = 0; i < levels; ++i) v = "[" + v + "]";
        return v;
    };
    // with() puts spec at depth 2, so "x"'s arrays open at depth 3.
    CHECK(code_of(with(head + R"("x":)" + nested(14) + "}")).empty());
    CHECK(code_of(with(head + R"("x":)" + nested(15) + "}")) == "too_deep");
    sar_decode_limits shallow;
    shallow.max_depth = 3;
    CHECK(decode_sar(with(R"({"nonResourceAttributes":{"path":"/","verb":"get"}})"), shallow));
    CHECK(decode_sar(with(R"({"nonResourceAttributes":{"path":"/","verb":"get","x":{}}})"), shallow).code() == "too_deep");

    const std::string path16k(16 * 1024, 'a');
    auto path_body = [](const std::string& path) {
        return with(R"({"nonResourceAttributes":{"path":")" + path + R"(","verb":"get"}})");
    };
    CHECK(code_of(path_body(path16k)).empty());
    CHECK(code_of(path_body(path16k + "a")) == "string_too_long");
    // Sizes count unescaped bytes: 16 Ki escapes of one byte each are within the limit.
    std::string escaped;
    for (std::size_t i = 0; i < 16 * 1024; ++i) escaped += "\\u0061";
    auto r = decode_sar(path_body(escaped));
    REQUIRE(r);
    CHECK(r->non_resource->path == path16k);
    CHECK(code_of(path_body(escaped + "a")) == "string_too_long");
    CHECK(code_of(with(head + "\"" + std::string(1024, 'k') + "\":1}")).empty());
    CHECK(code_of(with(head + "\"" + std::string(1025, 'k') + "\":1}")) == "string_too_long");

    // Duplicates are found after unescaping, and in every object, whatever the depth.
    CHECK(code_of(with(head + R"("user":"a","us\u0065r":"b"})")) == "duplicate_key");
    CHECK(code_of(with(head + R"("x":[{"a":1},{"a":1,"a":2}]})")) == "duplicate_key");
    CHECK(code_of(with(head + R"("x":[{"a":1},{"a":1}]})")).empty());
    // RFC 8259 only: no comments, trailing commas, NaN, overflowing numbers, lone surrogates.
    CHECK(code_of(with(head + R"("x":1,})")) == "not_json");
    CHECK(code_of(with(head + R"("x":NaN})")) == "not_json");
    CHECK(code_of(with(head + R"("x":1e400})")) == "not_json");
    CHECK(code_of(with(head + R"("x":"\ud800"})")) == "not_json");
    CHECK(code_of(with(head + "/*c*/\"x\":1}")) == "not_json");
    // Overlong and surrogate UTF-8 forms.
    CHECK(code_of(with(head + "\"x\":\"\xC0\xAF\"}")) == "bad_utf8");
    CHECK(code_of(with(head + "\"x\":\"\xED\xA0\x80\"}")) == "bad_utf8");
    CHECK(code_of(with(head + "\"x\":\"\xF0\x9F\x98\x80\"}")).empty());
}

TEST_CASE("SAR decode: error messages never quote request values", "[sar]") {
    const std::string secret = "ASIASECRETVALUE";
    for (const std::string& body :
         {with(R"({"resourceAttributes":{"verb":"get","namespace":[")" + secret + R"("]}})"),
          with(R"({"nonResourceAttributes":{"path":"/","verb":"get"},"extra":{"accessKeyId":")" + secret + R"("}})"),
          R"({"kind":")" + secret + R"(","apiVersion":"authorization.k8s.io/v1"})",
          R"({"kind":"SubjectAccessReview","apiVersion":")" + secret + R"("})", "{\"" + secret + "\" " + secret}) {
        auto r = decode_sar(body);
        REQUIRE_FALSE(r);
        CHECK(r.err().message.find(secret) == std::string::npos);
    }
}

TEST_CASE("SAR encode: allowed and no opinion and evaluation error", "[sar]") {
    CHECK(encode_sar_response(sar_version::v1, {true, "because", ""}) ==
          R"({"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","metadata":{},"spec":{},)"
          R"("status":{"allowed":true,"reason":"because"}})"
          "\n");
    CHECK(encode_sar_response(sar_version::v1beta1, {}) ==
          R"({"apiVersion":"authorization.k8s.io/v1beta1","kind":"SubjectAccessReview","metadata":{},"spec":{},)"
          R"("status":{"allowed":false}})"
          "\n");
    CHECK(encode_sar_response(sar_version::v1, {false, "", "access entries not loaded"}) ==
          R"({"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","metadata":{},"spec":{},)"
          R"("status":{"allowed":false,"evaluationError":"access entries not loaded"}})"
          "\n");
}

TEST_CASE("SAR encode: strings escaped exactly as nlohmann's dump", "[sar]") {
    // The reply is written directly; it must stay byte-identical to the DOM encoder it replaced.
    for (const std::string& s : {std::string("EKS Access Policy: allowed by RoleBinding \"a+b\" in namespace \"dev-a\""),
                                std::string("back\\slash \b\f\n\r\t and \x01\x1f controls"), std::string("\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80"),
                                std::string("bad \xff utf-8 \xc3"), std::string("/ and \x7f")}) {
        nlohmann::ordered_json j;
        j["apiVersion"] = "authorization.k8s.io/v1";
        j["kind"] = "SubjectAccessReview";
        j["metadata"] = nlohmann::ordered_json::object();
        j["spec"] = nlohmann::ordered_json::object();
        j["status"]["allowed"] = true;
        j["status"]["reason"] = s;
        j["status"]["evaluationError"] = s;
        CHECK(encode_sar_response(sar_version::v1, {true, s, s}) ==
              j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    }
}
