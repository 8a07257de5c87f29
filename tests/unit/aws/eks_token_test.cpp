#include "aws/eks_token.hpp"

#include "common/encoding.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>

using namespace stsauth;
using namespace stsauth::aws;
using namespace std::chrono;

namespace {

const sigv4::credentials static_creds{"AKIDEXAMPLE", secret<std::string>("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), {}};
const sigv4::credentials session_creds{"AKIDEXAMPLE", secret<std::string>("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                                       secret<std::string>("IQoJb3JpZ2luX2VjEOr//////////wEaCXVzLXdlc3QtMiJHMEUCIQ+abc/def==")};
const auto t0 = *sigv4::parse_amz_date("20230428T000000Z");

std::string url_of(const eks_token& t) {
    const auto& v = t.value.reveal();
    REQUIRE(v.starts_with(token_prefix));
    const auto decoded = encoding::base64url_decode(std::string_view(v).substr(token_prefix.size()));
    REQUIRE(decoded.ok());
    return *decoded;
}

}  // namespace

// Expected URLs produced by tests/integration/token/botocore_presign.py (botocore 1.29.27 and
// 1.43.11, pure-Python signer, as `aws eks get-token`) for the same inputs.
TEST_CASE("token: presigned URL equals botocore's, byte for byte", "[aws][token]") {
    SECTION("long-term keys, us-west-2") {
        const auto t = make_token(static_creds, "us-west-2", "test-cluster", t0);
        REQUIRE(t.ok());
        CHECK(url_of(*t) ==
              "https://sts.us-west-2.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15"
              "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20230428%2Fus-west-2%2Fsts%2Faws4_request"
              "&X-Amz-Date=20230428T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id"
              "&X-Amz-Signature=d052bda10bc2c20801d04704e8da83bc17ce4f0c385f2fc03845cb278d94f1ec");
    }
    SECTION("session token, us-east-1 regional endpoint, cluster id with a double space") {
        const auto t = make_token(session_creds, "us-east-1", "my  cluster", t0);
        REQUIRE(t.ok());
        CHECK(url_of(*t) ==
              "https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15"
              "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20230428%2Fus-east-1%2Fsts%2Faws4_request"
              "&X-Amz-Date=20230428T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id"
              "&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEOr%2F%2F%2F%2F%2F%2F%2F%2F%2F%2FwEaCXVzLXdlc3QtMiJHMEUCIQ%2Babc%2Fdef%3D%3D"
              "&X-Amz-Signature=23612bb75fceb9656a38b766e869f7cc4ec67756090791f45d19be411cfd2092");
    }
    SECTION("China partition host") {
        const auto t = make_token(static_creds, "cn-north-1", "c", t0);
        REQUIRE(t.ok());
        CHECK(url_of(*t) ==
              "https://sts.cn-north-1.amazonaws.com.cn/?Action=GetCallerIdentity&Version=2011-06-15"
              "&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20230428%2Fcn-north-1%2Fsts%2Faws4_request"
              "&X-Amz-Date=20230428T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id"
              "&X-Amz-Signature=98067d1ad4dc8bd71d3484acdca65b7102074f044dae2889cbad76ef7c935582");
    }
}

TEST_CASE("token: the request signs host and x-k8s-aws-id with the empty-body payload hash", "[aws][token]") {
    const auto req = presign_get_caller_identity(static_creds, "eu-west-1", "prod", t0 + milliseconds(700));
    CHECK(req.method == "GET");
    CHECK(req.path == "/");
    CHECK(sigv4::header_value(req, "host") == "sts.eu-west-1.amazonaws.com");
    CHECK(sigv4::header_value(req, "x-k8s-aws-id") == "prod");
    REQUIRE(req.query.size() == 8);
    const char* keys[] = {"Action", "Version", "X-Amz-Algorithm", "X-Amz-Credential",
                          "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"};
    for (std::size_t i = 0; i < 8; ++i) CHECK(req.query[i].key == keys[i]);
    CHECK(req.query[4].value == "20230428T000000Z");
    CHECK(req.query[5].value == "60");
    CHECK(req.query[6].value == "host;x-k8s-aws-id");

    // Recompute the signature independently from the phases.
    sigv4::request unsigned_req = req;
    unsigned_req.query.pop_back();
    const auto canonical = sigv4::canonical_request(unsigned_req, sigv4::empty_payload_sha256, true);
    CHECK(canonical.ends_with("\nhost;x-k8s-aws-id\n"
                              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    const sigv4::credential_scope scope{"20230428", "eu-west-1", "sts"};
    const auto sts = sigv4::string_to_sign("20230428T000000Z", scope, canonical);
    CHECK(req.query[7].value == sigv4::signature(sigv4::signing_key(static_creds.secret_access_key, scope), sts));
}

TEST_CASE("token: expiration is the signing second + 14 minutes", "[aws][token]") {
    const auto t = make_token(static_creds, "us-west-2", "c", t0 + milliseconds(999));
    REQUIRE(t.ok());
    CHECK(t->expiration == t0 + minutes(14));
    CHECK(format_rfc3339_utc(t->expiration) == "2023-04-28T00:14:00Z");
}

TEST_CASE("token: STS hosts per partition", "[aws][token]") {
    CHECK(sts_regional_host("us-east-1") == "sts.us-east-1.amazonaws.com");
    CHECK(sts_regional_host("us-gov-west-1") == "sts.us-gov-west-1.amazonaws.com");
    CHECK(sts_regional_host("cn-northwest-1") == "sts.cn-northwest-1.amazonaws.com.cn");
    CHECK(sts_regional_host("us-iso-east-1") == "sts.us-iso-east-1.c2s.ic.gov");
    CHECK(sts_regional_host("us-isob-east-1") == "sts.us-isob-east-1.sc2s.sgov.gov");
    CHECK(sts_regional_host("eu-isoe-west-1") == "sts.eu-isoe-west-1.cloud.adc-e.uk");
    CHECK(sts_regional_host("us-isof-south-1") == "sts.us-isof-south-1.csp.hci.ic.gov");
    CHECK(sts_regional_host("eusc-de-east-1") == "sts.eusc-de-east-1.amazonaws.eu");
    CHECK(sts_regional_host("cn-north") == "sts.cn-north.amazonaws.com");  // not the cn shape
    CHECK(sts_regional_host("not-a-region") == "sts.not-a-region.amazonaws.com");
}

TEST_CASE("token: rejected inputs", "[aws][token]") {
    CHECK(make_token(static_creds, "us-west-2", "", t0).code() == "bad_cluster_id");
    CHECK(make_token(static_creds, "us-west-2", "a\r\nX-Evil: 1", t0).code() == "bad_cluster_id");
    CHECK(make_token(static_creds, "us-west-2", std::string("a\0b", 3), t0).code() == "bad_cluster_id");
    CHECK(make_token(static_creds, "us-west-2", "a\x7f", t0).code() == "bad_cluster_id");
    CHECK(make_token(static_creds, "", "c", t0).code() == "bad_region");
    CHECK(make_token(static_creds, "evil.com/x", "c", t0).code() == "bad_region");
    CHECK(make_token(sigv4::credentials{"", secret<std::string>("s"), {}}, "us-west-2", "c", t0).code() ==
          "bad_credentials");
    CHECK(make_token(sigv4::credentials{"AKID", {}, {}}, "us-west-2", "c", t0).code() == "bad_credentials");
    CHECK(make_token(static_creds, "us-west-2", "ünïcode-cluster.example.com", t0).ok());
}

TEST_CASE("exec credential: apiVersion from KUBERNETES_EXEC_INFO", "[aws][token]") {
    const std::string v1 = "client.authentication.k8s.io/v1";
    const std::string v1beta1(exec_credential_v1beta1);
    CHECK(exec_credential_api_version(std::nullopt) == v1beta1);
    CHECK(exec_credential_api_version(std::string()) == v1beta1);
    CHECK(exec_credential_api_version(R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1",
                                         "spec":{"interactive":true}})") == v1);
    CHECK(exec_credential_api_version(R"({"apiVersion":"client.authentication.k8s.io/v1beta1"})") == v1beta1);
    CHECK(exec_credential_api_version(R"({"apiVersion":"client.authentication.k8s.io/v1alpha1"})") ==
          "client.authentication.k8s.io/v1alpha1");
    // Malformed or not an ExecCredential: the default.
    for (const char* bad : {"{", "not json", "[]", "null", "\"x\"", "{}", R"({"apiVersion":""})", R"({"apiVersion":1})",
                            R"({"apiVersion":"v1"})", R"({"apiVersion":"client.authentication.k8s.io/"})",
                            R"({"apiVersion":"client.authentication.k8s.io/v1","kind":5})",
                            "{\"apiVersion\":\"client.authentication.k8s.io/v1\\n\"}"}) {
        INFO(bad);
        CHECK(exec_credential_api_version(std::string(bad)) == v1beta1);
    }
}

TEST_CASE("exec credential: JSON shape and field order", "[aws][token]") {
    eks_token t{secret<std::string>("k8s-aws-v1.abc"), *sigv4::parse_amz_date("20121101T220841Z")};
    const auto text = format_exec_credential(t, "client.authentication.k8s.io/v1beta1");
    CHECK(text ==
          R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":false},)"
          R"("status":{"expirationTimestamp":"2012-11-01T22:08:41Z","token":"k8s-aws-v1.abc"}})");
    const auto j = nlohmann::json::parse(text);
    CHECK(j["status"]["token"] == "k8s-aws-v1.abc");
}

TEST_CASE("rfc3339 formatting", "[aws][token]") {
    CHECK(format_rfc3339_utc(system_clock::time_point{}) == "1970-01-01T00:00:00Z");
    CHECK(format_rfc3339_utc(*sigv4::parse_amz_date("20240229T235959Z") + milliseconds(999)) == "2024-02-29T23:59:59Z");
}
