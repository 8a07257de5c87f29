#include "ec2/assume_role.hpp"

#include "common/encoding.hpp"
#include "crypto/crypto.hpp"
#include "ec2/factory.hpp"
#include "ec2/resolver.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

using namespace stsauth;
using namespace stsauth::ec2;
using namespace stsauth::ec2::testing;
using namespace std::chrono;
using namespace std::chrono_literals;

namespace {

const system_clock::time_point fixed_time = sys_days{year{2024} / 1 / 2} + hours{3} + minutes{4} + seconds{5};
constexpr std::string_view role = "arn:aws:iam::000000000000:role/DescribeInstancesRole";
constexpr std::string_view source = "arn:aws:eks:us-west-2:111122223333:cluster/prod";

std::string header(const http_request& r, std::string_view name) {
    for (const auto& h : r.headers)
        if (encoding::iequals(h.name, name)) return h.value;
    return "<absent>";
}

std::string assume_role_xml(std::string_view expiration, std::string_view key = "ASIAASSUMEDEXAMPLE") {
    return R"(<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser><Arn>arn:aws:sts::000000000000:assumed-role/DescribeInstancesRole/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>
    <Credentials>
      <AccessKeyId>)" + std::string(key) + R"(</AccessKeyId>
      <SecretAccessKey>assumed/secret</SecretAccessKey>
      <SessionToken>assumed-session-token</SessionToken>
      <Expiration>)" + std::string(expiration) + R"(</Expiration>
    </Credentials>
    <PackedPolicySize>6</PackedPolicySize>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
</AssumeRoleResponse>)";
}

std::string sts_error_xml(std::string_view code, std::string_view message) {
    return "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>" +
           std::string(code) + "</Code><Message>" + std::string(message) +
           "</Message></Error><RequestId>r</RequestId></ErrorResponse>";
}

}  // namespace

TEST_CASE("assume role: ARNs and session names") {
    CHECK(check_role_arn(role).ok());
    CHECK(check_role_arn("arn:aws-cn:iam::000000000000:role/path/to/Role").ok());
    CHECK(check_role_arn("arn:aws:iam::000000000000:user/alice").code() == "bad_role_arn");
    CHECK(check_role_arn("arn:aws:iam::0000:role/R").code() == "bad_role_arn");
    CHECK(check_role_arn("arn:aws:sts::000000000000:role/R").code() == "bad_role_arn");
    CHECK(check_role_arn("arn:aws:iam::000000000000:role/").code() == "bad_role_arn");
    CHECK(check_role_arn("DescribeInstancesRole").code() == "bad_role_arn");
    CHECK(*source_account(source) == "111122223333");
    CHECK(source_account("arn:aws:s3:::bucket").code() == "bad_source_arn");
    CHECK(source_account("nope").code() == "bad_source_arn");
    CHECK(default_session_name(fixed_time) == "stsauth-1704164645000000000");
}

TEST_CASE("assume role: signed request") {
    assume_role_params p{std::string(role), "stsauth-1", 3600s, std::string(source), "sts.us-west-2.amazonaws.com",
                         "us-west-2", fixed_time, "stsauth/test"};
    auto req = build_assume_role(p, example_credentials());
    REQUIRE(req.ok());
    CHECK(req->method == "POST");
    CHECK(req->target == "/");
    CHECK(req->body ==
          "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A000000000000%3Arole%2FDescribeInstancesRole"
          "&RoleSessionName=stsauth-1&DurationSeconds=3600");
    CHECK(header(*req, "x-amz-source-account") == "111122223333");
    CHECK(header(*req, "x-amz-source-arn") == source);
    // The confused-deputy headers are signed.
    const std::string canonical = "POST\n/\n\n"
                                  "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
                                  "host:sts.us-west-2.amazonaws.com\n"
                                  "x-amz-date:20240102T030405Z\n"
                                  "x-amz-source-account:111122223333\n"
                                  "x-amz-source-arn:arn:aws:eks:us-west-2:111122223333:cluster/prod\n\n"
                                  "content-type;host;x-amz-date;x-amz-source-account;x-amz-source-arn\n" +
                                  crypto::sha256_hex(req->body);
    const sigv4::credential_scope scope{"20240102", "us-west-2", "sts"};
    const auto sts = sigv4::string_to_sign("20240102T030405Z", scope, canonical);
    const auto sig = sigv4::signature(sigv4::signing_key(example_credentials().secret_access_key, scope), sts);
    CHECK(header(*req, "Authorization") ==
          "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-west-2/sts/aws4_request, "
          "SignedHeaders=content-type;host;x-amz-date;x-amz-source-account;x-amz-source-arn, Signature=" + sig);

    SECTION("without a source ARN, no confused-deputy headers") {
        p.source_arn.clear();
        auto plain = build_assume_role(p, example_credentials());
        REQUIRE(plain.ok());
        CHECK(header(*plain, "x-amz-source-arn") == "<absent>");
        CHECK(header(*plain, "x-amz-source-account") == "<absent>");
    }
    SECTION("refusals") {
        auto bad = p;
        bad.role_arn = "arn:aws:iam::000000000000:user/alice";
        CHECK(build_assume_role(bad, example_credentials()).code() == "bad_role_arn");
        bad = p;
        bad.source_arn = "nope";
        CHECK(build_assume_role(bad, example_credentials()).code() == "bad_source_arn");
        bad = p;
        bad.session_name = "a b";
        CHECK(build_assume_role(bad, example_credentials()).code() == "bad_request");
        bad = p;
        bad.duration = 60s;
        CHECK(build_assume_role(bad, example_credentials()).code() == "bad_request");
        bad = p;
        bad.host.clear();
        CHECK(build_assume_role(bad, example_credentials()).code() == "bad_request");
    }
}

TEST_CASE("assume role: answers") {
    auto ok = interpret_assume_role_response(200, assume_role_xml("2024-01-02T04:04:05Z"));
    REQUIRE(ok.ok());
    CHECK(ok->creds.access_key_id == "ASIAASSUMEDEXAMPLE");
    CHECK(ok->creds.secret_access_key.reveal() == "assumed/secret");
    CHECK(ok->creds.session_token.reveal() == "assumed-session-token");
    CHECK(ok->expiration == fixed_time + 1h);

    const auto code = [](unsigned status, std::string_view body) {
        auto r = interpret_assume_role_response(status, body);
        return r.ok() ? std::string("ok") : r.code();
    };
    CHECK(code(403, sts_error_xml("AccessDenied", "not authorized to perform sts:AssumeRole")) == "assume_role_denied");
    CHECK(code(400, sts_error_xml("Throttling", "Rate exceeded")) == "assume_role_unavailable");
    CHECK(code(503, sts_error_xml("ServiceUnavailable", "x")) == "assume_role_unavailable");
    CHECK(code(502, "<html/>") == "assume_role_unavailable");
    CHECK(code(403, "<html/>") == "assume_role_bad_response");
    CHECK(code(200, "garbage") == "assume_role_bad_response");
    CHECK(code(200, "<GetCallerIdentityResponse/>") == "assume_role_bad_response");
    CHECK(code(200, assume_role_xml("not a time")) == "assume_role_bad_response");
    CHECK(code(200, "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>A</AccessKeyId>"
                    "</Credentials></AssumeRoleResult></AssumeRoleResponse>") == "assume_role_bad_response");
    auto denied = interpret_assume_role_response(403, sts_error_xml("AccessDenied", "nope"));
    CHECK(denied.err().message == "STS AssumeRole: AccessDenied: nope (HTTP 403)");
    // Never quotes a body that holds a secret.
    auto dup = interpret_assume_role_response(200, "<AssumeRoleResponse><AssumeRoleResult><Credentials>"
                                                   "<SecretAccessKey>very-secret</SecretAccessKey><SecretAccessKey>x"
                                                   "</SecretAccessKey></Credentials></AssumeRoleResult></AssumeRoleResponse>");
    REQUIRE_FALSE(dup.ok());
    CHECK(dup.err().message.find("very-secret") == std::string::npos);
}

namespace {

/// STS AssumeRole as far as these tests go: verifies the signature with the base key, the form
/// and the confused-deputy headers. Thread-safe.
class fake_sts {
public:
    canned_reply handle(const seen_request& r) {
        std::lock_guard lock(mu_);
        ++calls_;
        if (auto why = verify_sigv4(r, "sts", "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"); !why.empty()) {
            return {403, sts_error_xml("SignatureDoesNotMatch", why)};
        }
        if (r.body.find("Action=AssumeRole&") == std::string::npos ||
            r.body.find("&RoleArn=arn%3Aaws%3Aiam%3A%3A000000000000%3Arole%2FDescribeInstancesRole&") == std::string::npos) {
            return {400, sts_error_xml("InvalidAction", "unexpected request")};
        }
        if (r.header("x-amz-source-arn") != std::string(source) || r.header("x-amz-source-account") != "111122223333") {
            return {403, sts_error_xml("AccessDenied", "confused deputy headers missing")};
        }
        if (deny_) return {403, sts_error_xml("AccessDenied", "not authorized")};
        return {200, assume_role_xml(expiration_)};
    }
    void set_expiration(std::string e) { std::lock_guard lock(mu_); expiration_ = std::move(e); }
    void deny(bool on) { std::lock_guard lock(mu_); deny_ = on; }
    int calls() const { std::lock_guard lock(mu_); return calls_; }

private:
    mutable std::mutex mu_;
    std::string expiration_ = "2030-01-01T01:00:00Z";
    bool deny_ = false;
    int calls_ = 0;
};

}  // namespace

TEST_CASE("assume role: DescribeInstances signed with the assumed role's credentials") {
    // Declared first: background refreshes read the clock until the io_runner below is joined.
    std::atomic<std::int64_t> now_s{0};
    const system_clock::time_point t0 = sys_days{year{2030} / 1 / 1};
    test_cert cert{{"sts.us-west-2.amazonaws.com", std::string(test_host)}};
    fake_sts sts;
    fake_server sts_server([&](const seen_request& r) { return sts.handle(r); }, cert.pem);
    fake_ec2 ec2;
    ec2.set_instance("i-0123456789abcdef0", "ip-10-0-0-1.us-west-2.compute.internal");
    ec2.expect_session_token("assumed-session-token", "ASIAASSUMEDEXAMPLE", "assumed/secret");
    fake_server ec2_server([&](const seen_request& r) { return ec2.handle(r); }, cert.pem);
    io_runner io;

    assume_role_config ar;
    ar.role_arn = role;
    ar.source_arn = source;
    ar.region = "us-west-2";
    ar.connect_override = sts_server.address();
    ar.ca_file = cert.ca_file;
    auto assumed = std::make_shared<assume_role_credentials_source>(
        io.ioc(), ar, std::make_shared<static_credentials_source>(example_credentials(), "static keys"),
        [&] { return t0 + seconds(now_s.load()); });
    CHECK(assumed->describe() ==
          "sts:AssumeRole of arn:aws:iam::000000000000:role/DescribeInstancesRole with static keys");

    SECTION("resolves, and the assumed credentials are reused") {
        https_ec2_client_config cc;
        cc.region = "us-west-2";
        cc.connect_override = ec2_server.address();
        cc.ca_file = cert.ca_file;
        auto client = std::make_shared<https_ec2_client>(io.ioc(), cc, assumed);
        describe_instances_resolver resolver(io.ioc(), client, resolver_config{});
        for (int i = 0; i < 3; ++i) {
            collector<std::string> c;
            resolver.private_dns_name(i == 0 ? "i-0123456789abcdef0" : "i-0123456789abcdef1", c.callback());
            REQUIRE(c.wait(1));
            if (i == 0) {
                REQUIRE(c.results().front().ok());
                CHECK(*c.results().front() == "ip-10-0-0-1.us-west-2.compute.internal");
            } else {
                CHECK(c.results().front().code() == "ec2_instance_not_found");
            }
        }
        CHECK(ec2.auth_failures() == 0);
        CHECK(sts.calls() == 1);
    }
    SECTION("refreshed before expiry") {
        collector<sigv4::credentials> first;
        assumed->get(first.callback());
        REQUIRE(first.wait(1));
        REQUIRE(first.results().front().ok());
        sts.set_expiration("2030-01-01T02:00:00Z");
        now_s = 56 * 60;
        collector<sigv4::credentials> second;
        assumed->get(second.callback());
        REQUIRE(second.wait(1));
        CHECK(second.results().front().ok());
        for (int i = 0; i < 400 && sts.calls() < 2; ++i) std::this_thread::sleep_for(5ms);
        CHECK(sts.calls() == 2);
    }
    SECTION("denied") {
        sts.deny(true);
        collector<sigv4::credentials> c;
        assumed->get(c.callback());
        REQUIRE(c.wait(1));
        CHECK(c.results().front().code() == "assume_role_denied");
    }
}

TEST_CASE("assume role: configuration") {
    io_runner io(1);
    auto base = std::make_shared<static_credentials_source>(example_credentials(), "t");
    assume_role_config ok;
    ok.role_arn = role;
    ok.region = "us-west-2";
    CHECK_NOTHROW(assume_role_credentials_source(io.ioc(), ok, base));
    auto bad = ok;
    bad.role_arn = "arn:aws:iam::000000000000:user/x";
    CHECK_THROWS_WITH(assume_role_credentials_source(io.ioc(), bad, base), Catch::Contains("ec2DescribeInstancesRoleARN"));
    bad = ok;
    bad.source_arn = "x";
    CHECK_THROWS_WITH(assume_role_credentials_source(io.ioc(), bad, base), Catch::Contains("server.sourceARN"));
    bad = ok;
    bad.endpoint = "http://sts";
    CHECK_THROWS_WITH(assume_role_credentials_source(io.ioc(), bad, base), Catch::Contains("STS endpoint"));
    CHECK_THROWS(assume_role_credentials_source(io.ioc(), ok, nullptr));

    const auto env = aws::fake_environment({{"HOME", "/h"},
                                            {"AWS_ACCESS_KEY_ID", "AKIDENV"},
                                            {"AWS_SECRET_ACCESS_KEY", "s"},
                                            {"AWS_EC2_METADATA_DISABLED", "true"}});
    ec2_settings s;
    s.region = "us-west-2";
    s.role_arn = role;
    s.source_arn = source;
    auto setup = make_ec2_resolver(io.ioc(), s, env);
    CHECK(setup.credentials.starts_with("sts:AssumeRole of arn:aws:iam::000000000000:role/DescribeInstancesRole with "));
    s.role_arn = "not-an-arn";
    CHECK_THROWS_WITH(make_ec2_resolver(io.ioc(), s, env), Catch::Contains("ec2DescribeInstancesRoleARN"));
}
