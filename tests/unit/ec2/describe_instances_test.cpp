#include "ec2/describe_instances.hpp"

#include "common/encoding.hpp"
#include "crypto/crypto.hpp"
#include "sigv4/sigv4.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace stsauth;
using namespace stsauth::ec2;
using namespace std::chrono;

namespace {

std::string read_data(const std::string& name) {
    std::ifstream in(std::string(STSAUTH_TEST_DATA_DIR) + "/ec2/" + name, std::ios::binary);
    REQUIRE(in);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

sigv4::credentials example_credentials(std::string token = {}) {
    sigv4::credentials c;
    c.access_key_id = "AKIDEXAMPLE";
    c.secret_access_key = secret<std::string>("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    c.session_token = secret<std::string>(std::move(token));
    return c;
}

std::string header(const http_request& r, std::string_view name) {
    for (const auto& h : r.headers)
        if (encoding::iequals(h.name, name)) return h.value;
    return "<absent>";
}

// 2024-01-02T03:04:05Z
const system_clock::time_point fixed_time = sys_days{year{2024} / 1 / 2} + hours{3} + minutes{4} + seconds{5};

// Phase 3 and 4 computed here from the definition (kDate/kRegion/kService/kSigning), not
// through sigv4::signing_key.
std::string expected_signature(std::string_view string_to_sign) {
    const auto k_date = crypto::hmac_sha256(std::string("AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), "20240102");
    const auto k_region = crypto::hmac_sha256(k_date, "us-west-2");
    const auto k_service = crypto::hmac_sha256(k_region, "ec2");
    const auto k_signing = crypto::hmac_sha256(k_service, "aws4_request");
    return encoding::hex_encode(crypto::as_chars(crypto::hmac_sha256(k_signing, string_to_sign)));
}

}  // namespace

TEST_CASE("describe_instances: instance ids") {
    CHECK(is_instance_id("i-0123456789abcdef0"));
    CHECK(is_instance_id("i-0123abcd"));
    CHECK_FALSE(is_instance_id("i-0123ABCD"));
    CHECK_FALSE(is_instance_id("i-0123abc"));
    CHECK_FALSE(is_instance_id("i-0123456789abcdef"));
    CHECK_FALSE(is_instance_id("i-0123456789abcdef01"));
    CHECK_FALSE(is_instance_id("i-0123abcg"));
    CHECK_FALSE(is_instance_id("i-aaaaa"));
    CHECK_FALSE(is_instance_id("j-0123abcd"));
    CHECK_FALSE(is_instance_id("i_0123abcd"));
    CHECK_FALSE(is_instance_id(""));
}

TEST_CASE("describe_instances: default endpoint by partition") {
    CHECK(default_endpoint_host("us-west-2") == "ec2.us-west-2.amazonaws.com");
    CHECK(default_endpoint_host("eu-central-1") == "ec2.eu-central-1.amazonaws.com");
    CHECK(default_endpoint_host("cn-north-1") == "ec2.cn-north-1.amazonaws.com.cn");
    CHECK(default_endpoint_host("us-gov-west-1") == "ec2.us-gov-west-1.amazonaws.com");
    CHECK(default_endpoint_host("us-iso-east-1") == "ec2.us-iso-east-1.c2s.ic.gov");
    CHECK(default_endpoint_host("us-isob-east-1") == "ec2.us-isob-east-1.sc2s.sgov.gov");
    CHECK(default_endpoint_host("xx-future-9") == "ec2.xx-future-9.amazonaws.com");
    CHECK(default_endpoint_host("") == "");
    CHECK(default_endpoint_host("us-west-2.evil.com/") == "");
}

TEST_CASE("describe_instances: form body") {
    const std::vector<std::string> ids{"i-0123456789abcdef0", "i-0fedcba9876543210"};
    CHECK(describe_instances_body(ids) ==
          "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-0123456789abcdef0&InstanceId.2=i-0fedcba9876543210");
}

TEST_CASE("describe_instances: signed request, phase by phase") {
    const std::vector<std::string> ids{"i-0123456789abcdef0", "i-0fedcba9876543210"};
    const request_params params{"ec2.us-west-2.amazonaws.com", "us-west-2", fixed_time, "stsauth/test"};
    auto built = build_describe_instances(ids, example_credentials(), params);
    REQUIRE(built.ok());
    const auto& req = *built;
    const std::string body =
        "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-0123456789abcdef0&InstanceId.2=i-0fedcba9876543210";
    CHECK(req.method == "POST");
    CHECK(req.target == "/");
    CHECK(req.body == body);
    CHECK(header(req, "Host") == "ec2.us-west-2.amazonaws.com");
    CHECK(header(req, "Content-Type") == "application/x-www-form-urlencoded; charset=utf-8");
    CHECK(header(req, "Content-Length") == std::to_string(body.size()));
    CHECK(header(req, "X-Amz-Date") == "20240102T030405Z");
    CHECK(header(req, "User-Agent") == "stsauth/test");
    CHECK(header(req, "X-Amz-Security-Token") == "<absent>");

    // Phase 1: the canonical request, written out by hand.
    const std::string canonical = "POST\n/\n\n"
                                  "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
                                  "host:ec2.us-west-2.amazonaws.com\n"
                                  "x-amz-date:20240102T030405Z\n\n"
                                  "content-type;host;x-amz-date\n" +
                                  crypto::sha256_hex(body);
    // ... and what sigv4 computes from the headers the builder put on the request.
    sigv4::request as_signed{"POST", "/", {}, {}};
    for (const auto& h : req.headers) {
        if (h.name == "Host" || h.name == "Content-Type" || h.name == "X-Amz-Date") as_signed.headers.push_back(h);
    }
    CHECK(sigv4::canonical_request(as_signed, crypto::sha256_hex(req.body), true) == canonical);

    // Phase 2: string to sign.
    const std::string sts = "AWS4-HMAC-SHA256\n20240102T030405Z\n20240102/us-west-2/ec2/aws4_request\n" +
                            crypto::sha256_hex(canonical);
    CHECK(sigv4::string_to_sign("20240102T030405Z", {"20240102", "us-west-2", "ec2"}, canonical) == sts);

    // Phases 3 and 4: the Authorization header carries the signature computed from the definition.
    CHECK(header(req, "Authorization") ==
          "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-west-2/ec2/aws4_request, "
          "SignedHeaders=content-type;host;x-amz-date, Signature=" +
              expected_signature(sts));
}

TEST_CASE("describe_instances: temporary credentials sign the security token") {
    const std::vector<std::string> ids{"i-0123456789abcdef0"};
    const request_params params{"ec2.us-west-2.amazonaws.com", "us-west-2", fixed_time, ""};
    auto built = build_describe_instances(ids, example_credentials("session+token/=="), params);
    REQUIRE(built.ok());
    CHECK(header(*built, "X-Amz-Security-Token") == "session+token/==");
    CHECK(header(*built, "User-Agent") == "<absent>");
    const std::string canonical = "POST\n/\n\n"
                                  "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
                                  "host:ec2.us-west-2.amazonaws.com\n"
                                  "x-amz-date:20240102T030405Z\n"
                                  "x-amz-security-token:session+token/==\n\n"
                                  "content-type;host;x-amz-date;x-amz-security-token\n" +
                                  crypto::sha256_hex(built->body);
    const std::string sts = "AWS4-HMAC-SHA256\n20240102T030405Z\n20240102/us-west-2/ec2/aws4_request\n" +
                            crypto::sha256_hex(canonical);
    CHECK(header(*built, "Authorization") ==
          "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-west-2/ec2/aws4_request, "
          "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=" +
              expected_signature(sts));
}

TEST_CASE("describe_instances: request builder refusals") {
    const request_params params{"ec2.us-west-2.amazonaws.com", "us-west-2", fixed_time, ""};
    const auto creds = example_credentials();
    SECTION("no ids") {
        auto r = build_describe_instances({}, creds, params);
        REQUIRE_FALSE(r.ok());
        CHECK(r.code() == "bad_request");
    }
    SECTION("more than 1000 ids") {
        std::vector<std::string> ids(1001, "i-0123abcd");
        auto r = build_describe_instances(ids, creds, params);
        REQUIRE_FALSE(r.ok());
        CHECK(r.code() == "bad_request");
        ids.pop_back();
        CHECK(build_describe_instances(ids, creds, params).ok());
    }
    SECTION("an id that is not an instance id, even one that would inject form fields") {
        for (const std::string bad : {"i-0123ABCD", "i-0123abcd&Action=RunInstances", "", "i-aaaaa"}) {
            const std::vector<std::string> ids{"i-0123abcd", bad};
            auto r = build_describe_instances(ids, creds, params);
            REQUIRE_FALSE(r.ok());
            CHECK(r.code() == "bad_instance_id");
        }
    }
    SECTION("no host or region") {
        const std::vector<std::string> ids{"i-0123abcd"};
        auto no_host = params;
        no_host.host.clear();
        CHECK(build_describe_instances(ids, creds, no_host).code() == "bad_request");
        auto no_region = params;
        no_region.region.clear();
        CHECK(build_describe_instances(ids, creds, no_region).code() == "bad_request");
    }
}

TEST_CASE("describe_instances: parses instances, only at the instance level") {
    auto r = parse_describe_instances(read_data("describe_instances_two.xml"));
    REQUIRE(r.ok());
    CHECK(*r == std::vector<instance_info>{
                    {"i-1234567890abcdef0", "ip-192-168-1-88.eu-west-1.compute.internal"},
                    {"i-0598c7d356eba48d7", ""},
                    {"i-0fedcba98765432ab", "i-0fedcba98765432ab.eu-west-1.compute.internal"},
                });
}

TEST_CASE("describe_instances: empty answers") {
    auto none = parse_describe_instances(
        "<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>x</requestId>"
        "<reservationSet/></DescribeInstancesResponse>");
    REQUIRE(none.ok());
    CHECK(none->empty());
    auto missing_name = parse_describe_instances(
        "<DescribeInstancesResponse><reservationSet><item><instancesSet><item><instanceId>i-0123abcd</instanceId>"
        "</item></instancesSet></item></reservationSet></DescribeInstancesResponse>");
    REQUIRE(missing_name.ok());
    CHECK(*missing_name == std::vector<instance_info>{{"i-0123abcd", ""}});
}

TEST_CASE("describe_instances: malformed answers") {
    const auto code = [](std::string_view body) {
        auto r = parse_describe_instances(body);
        return r.ok() ? std::string("ok") : r.code();
    };
    CHECK(code("") == "ec2_bad_response");
    CHECK(code("garbage") == "ec2_bad_response");
    CHECK(code("{\"Reservations\": []}") == "ec2_bad_response");
    CHECK(code("<DescribeInstancesResponse><reservationSet>") == "ec2_bad_response");
    CHECK(code("<Other><reservationSet/></Other>") == "ec2_bad_response");
    CHECK(code(read_data("error_not_found.xml")) == "ec2_bad_response");
    CHECK(code("<DescribeInstancesResponse><reservationSet><item><instancesSet><item>"
               "<privateDnsName>a.b</privateDnsName></item></instancesSet></item></reservationSet>"
               "</DescribeInstancesResponse>") == "ec2_bad_response");
    CHECK(code("<DescribeInstancesResponse><reservationSet><item><instancesSet><item>"
               "<instanceId>i-0123abcd</instanceId><instanceId>i-0123abce</instanceId>"
               "</item></instancesSet></item></reservationSet></DescribeInstancesResponse>") == "ec2_bad_response");
    CHECK(code("<DescribeInstancesResponse><reservationSet><item><instancesSet><item>"
               "<instanceId>i-0123abcd</instanceId><privateDnsName>a</privateDnsName><privateDnsName>b</privateDnsName>"
               "</item></instancesSet></item></reservationSet></DescribeInstancesResponse>") == "ec2_bad_response");
    CHECK(code("<DescribeInstancesResponse><reservationSet><item><instancesSet><item>"
               "<instanceId></instanceId></item></instancesSet></item></reservationSet></DescribeInstancesResponse>") ==
          "ec2_bad_response");
    const std::string big = "<DescribeInstancesResponse>" + std::string(2000, ' ') + "</DescribeInstancesResponse>";
    CHECK(parse_describe_instances(big, 1000).code() == "ec2_response_too_large");
    CHECK(parse_describe_instances(big, 4000).ok());
}

TEST_CASE("describe_instances: error answers") {
    auto nf = parse_error_response(read_data("error_not_found.xml"));
    REQUIRE(nf.ok());
    CHECK(nf->code == "InvalidInstanceID.NotFound");
    CHECK(nf->message == "The instance IDs 'i-0123456789abcdef1, i-00000000' do not exist");
    CHECK(parse_error_response("<Response><Errors/></Response>").code() == "ec2_bad_response");
    CHECK(parse_error_response("<ErrorResponse><Error><Code>X</Code></Error></ErrorResponse>").code() ==
          "ec2_bad_response");
    CHECK(parse_error_response("nope").code() == "ec2_bad_response");
}

TEST_CASE("describe_instances: interpret_response maps EC2 answers to reasons") {
    const auto code = [](unsigned status, std::string_view body) {
        auto r = interpret_response(status, body);
        return r.ok() ? std::string("ok") : r.code();
    };
    CHECK(code(200, read_data("describe_instances_two.xml")) == "ok");
    CHECK(code(200, "garbage") == "ec2_bad_response");
    CHECK(code(400, read_data("error_not_found.xml")) == "ec2_instance_not_found");
    CHECK(code(503, read_data("error_request_limit.xml")) == "ec2_throttled");
    CHECK(code(401, read_data("error_auth_failure.xml")) == "ec2_auth_failure");
    const auto error_xml = [](std::string_view c) {
        return "<Response><Errors><Error><Code>" + std::string(c) + "</Code><Message>m</Message></Error></Errors></Response>";
    };
    CHECK(code(400, error_xml("InvalidInstanceID.Malformed")) == "ec2_malformed_instance_id");
    CHECK(code(403, error_xml("UnauthorizedOperation")) == "ec2_auth_failure");
    CHECK(code(400, error_xml("RequestExpired")) == "ec2_auth_failure");
    CHECK(code(503, error_xml("Unavailable")) == "ec2_unavailable");
    CHECK(code(500, error_xml("InternalError")) == "ec2_unavailable");
    CHECK(code(400, error_xml("InvalidParameterValue")) == "ec2_error");
    CHECK(code(502, "<html>bad gateway</html>") == "ec2_unavailable");
    CHECK(code(400, "") == "ec2_bad_response");
    CHECK(code(302, "") == "ec2_bad_response");
    CHECK(code(301, error_xml("InvalidInstanceID.NotFound")) == "ec2_bad_response");

    auto nf = interpret_response(400, read_data("error_not_found.xml"));
    CHECK(nf.err().message ==
          "InvalidInstanceID.NotFound: The instance IDs 'i-0123456789abcdef1, i-00000000' do not exist (HTTP 400)");
    auto hostile = interpret_response(400, error_xml("X\xC3\xA9") + "");
    CHECK(hostile.err().message == "X??: m (HTTP 400)");
}

TEST_CASE("describe_instances: instance ids named in an error message") {
    CHECK(instance_ids_in_message("The instance IDs 'i-0123456789abcdef1, i-00000000' do not exist") ==
          std::vector<std::string>{"i-0123456789abcdef1", "i-00000000"});
    CHECK(instance_ids_in_message("The instance ID 'i-0123abcd' does not exist") == std::vector<std::string>{"i-0123abcd"});
    CHECK(instance_ids_in_message("Invalid id: \"i-0123abcd\" (i-0123abcd)") == std::vector<std::string>{"i-0123abcd"});
    CHECK(instance_ids_in_message("xi-0123abcd, i-0123ABCD, i-0123abcde, ami-0123abcd, eni-01234567") .empty());
    CHECK(instance_ids_in_message("").empty());
}

TEST_CASE("describe_instances: usable DNS names") {
    CHECK(is_dns_name("ip-10-0-0-1.us-west-2.compute.internal"));
    CHECK(is_dns_name("ip-10-0-0-1.ec2.internal"));
    CHECK(is_dns_name("node1"));
    CHECK_FALSE(is_dns_name(""));
    CHECK_FALSE(is_dns_name("a..b"));
    CHECK_FALSE(is_dns_name(".a"));
    CHECK_FALSE(is_dns_name("a."));
    CHECK_FALSE(is_dns_name("a b"));
    CHECK_FALSE(is_dns_name("a:b"));
    CHECK_FALSE(is_dns_name("system:masters"));
    CHECK_FALSE(is_dns_name(std::string(64, 'a')));
    CHECK(is_dns_name(std::string(63, 'a')));
    std::string long_name;
    while (long_name.size() < 254) long_name += "abcdefghi.";
    CHECK_FALSE(is_dns_name(long_name.substr(0, 254)));
}
