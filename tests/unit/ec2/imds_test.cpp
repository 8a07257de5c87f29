#include "ec2/credentials.hpp"
#include "ec2/factory.hpp"
#include "ec2/imds.hpp"

#include "ec2/ec2_client.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

using namespace stsauth;
using namespace stsauth::ec2;
using namespace stsauth::ec2::testing;
using namespace std::chrono;
using namespace std::chrono_literals;

namespace {

const system_clock::time_point t0 = sys_days{year{2030} / 1 / 1};  // 2030-01-01T00:00:00Z

std::string creds_json(std::string_view expiration = "2030-01-01T01:00:00Z", std::string_view key = "ASIAIMDSEXAMPLE") {
    return R"({"Code":"Success","LastUpdated":"2029-12-31T23:00:00Z","Type":"AWS-HMAC","AccessKeyId":")" +
           std::string(key) + R"(","SecretAccessKey":"imds/secret+key","Token":"imds-session-token==","Expiration":")" +
           std::string(expiration) + R"("})";
}

/// The instance metadata service, IMDSv2 only, as far as these tests go. Thread-safe.
class fake_imds {
public:
    canned_reply handle(const seen_request& r) {
        std::lock_guard lock(mu_);
        if (r.method == "PUT" && r.target == "/latest/api/token") {
            if (refuse_token_) return {403, "", "text/plain"};
            if (r.header("X-aws-ec2-metadata-token-ttl-seconds") != "21600") return {400, "", "text/plain"};
            ++token_puts_;
            return {200, token_, "text/plain"};
        }
        if (r.method != "GET") return {405, "", "text/plain"};
        if (r.header("X-aws-ec2-metadata-token") != token_) return {401, "", "text/plain"};
        if (fail_gets_) return {500, "", "text/plain"};
        if (r.target == "/latest/meta-data/iam/security-credentials/") {
            return role_.empty() ? canned_reply{404, "", "text/plain"} : canned_reply{200, role_, "text/plain"};
        }
        if (r.target == "/latest/meta-data/iam/security-credentials/" + role_) return {200, creds_, "text/plain"};
        if (r.target == "/latest/dynamic/instance-identity/document") {
            return {200, R"({"accountId":"111122223333","region":"us-west-2","instanceId":"i-0123456789abcdef0"})",
                    "application/json"};
        }
        return {404, "", "text/plain"};
    }
    void set_token(std::string t) { std::lock_guard lock(mu_); token_ = std::move(t); }
    void set_creds(std::string c) { std::lock_guard lock(mu_); creds_ = std::move(c); }
    void set_role(std::string r) { std::lock_guard lock(mu_); role_ = std::move(r); }
    void refuse_token(bool on) { std::lock_guard lock(mu_); refuse_token_ = on; }
    void fail_gets(bool on) { std::lock_guard lock(mu_); fail_gets_ = on; }
    int token_puts() const { std::lock_guard lock(mu_); return token_puts_; }

private:
    mutable std::mutex mu_;
    std::string token_ = "imds-token-1";
    std::string role_ = "node-role";
    std::string creds_ = creds_json();
    bool refuse_token_ = false;
    bool fail_gets_ = false;
    int token_puts_ = 0;
};

struct imds_fixture {
    fake_imds imds;
    fake_server server{[this](const seen_request& r) { return imds.handle(r); }};
    io_runner io;
    imds_config config() const {
        imds_config c;
        c.endpoint = "http://" + server.address();
        return c;
    }
};

template <class T>
result<T> wait_one(collector<T>& c) {
    REQUIRE(c.wait(1));
    return c.results().front();
}

}  // namespace

TEST_CASE("imds: RFC 3339 times") {
    CHECK(*parse_rfc3339_utc("2030-01-01T01:00:00Z") == t0 + 1h);
    CHECK(*parse_rfc3339_utc("2030-01-01T00:00:00.123Z") == t0);
    CHECK(*parse_rfc3339_utc("2030-01-01T00:00:00+00:00") == t0);
    CHECK(parse_rfc3339_utc("2030-01-01T00:00:00").code() == "bad_time");
    CHECK(parse_rfc3339_utc("2030-01-01T00:00:00+02:00").code() == "bad_time");
    CHECK(parse_rfc3339_utc("2030-02-30T00:00:00Z").code() == "bad_time");
    CHECK(parse_rfc3339_utc("2030-01-01T24:00:00Z").code() == "bad_time");
    CHECK(parse_rfc3339_utc("2030-01-01 00:00:00Z").code() == "bad_time");
    CHECK(parse_rfc3339_utc("2030-01-01T00:00:00.Z").code() == "bad_time");
    CHECK(parse_rfc3339_utc("").code() == "bad_time");
}

TEST_CASE("imds: credentials document") {
    auto c = parse_imds_credentials(creds_json());
    REQUIRE(c.ok());
    CHECK(c->creds.access_key_id == "ASIAIMDSEXAMPLE");
    CHECK(c->creds.secret_access_key.reveal() == "imds/secret+key");
    CHECK(c->creds.session_token.reveal() == "imds-session-token==");
    CHECK(c->expiration == t0 + 1h);

    const auto code = [](std::string_view json) {
        auto r = parse_imds_credentials(json);
        return r.ok() ? std::string("ok") : r.code();
    };
    CHECK(code("") == "imds_bad_response");
    CHECK(code("[]") == "imds_bad_response");
    CHECK(code(R"({"Code":"Failure","Message":"no"})") == "imds_bad_response");
    CHECK(code(R"({"Code":"Success","AccessKeyId":"A","SecretAccessKey":"S","Expiration":"2030-01-01T01:00:00Z"})") ==
          "imds_bad_response");
    CHECK(code(R"({"Code":"Success","AccessKeyId":"A","SecretAccessKey":"","Token":"T","Expiration":"2030-01-01T01:00:00Z"})") ==
          "imds_bad_response");
    CHECK(code(R"({"Code":"Success","AccessKeyId":"A","SecretAccessKey":"S","Token":"T"})") == "imds_bad_response");
    CHECK(code(R"({"Code":"Success","AccessKeyId":"A","SecretAccessKey":"S","Token":"T","Expiration":"tomorrow"})") ==
          "imds_bad_response");
    CHECK(code(R"({"Code":"Success","AccessKeyId":1,"SecretAccessKey":"S","Token":"T","Expiration":"2030-01-01T01:00:00Z"})") ==
          "imds_bad_response");
    // Messages never quote the document (it holds the secret key).
    auto bad = parse_imds_credentials(R"({"Code":"Success","AccessKeyId":"A","SecretAccessKey":"very-secret","Token":"T"})");
    CHECK(bad.err().message.find("very-secret") == std::string::npos);
}

TEST_CASE("imds: identity document region") {
    CHECK(*parse_identity_document_region(R"({"region":"eu-west-1","accountId":"1"})") == "eu-west-1");
    CHECK(parse_identity_document_region(R"({"region":""})").code() == "imds_bad_response");
    CHECK(parse_identity_document_region(R"({"region":"EU WEST"})").code() == "imds_bad_response");
    CHECK(parse_identity_document_region(R"({"accountId":"1"})").code() == "imds_bad_response");
    CHECK(parse_identity_document_region("nope").code() == "imds_bad_response");
}

TEST_CASE("imds: configuration from the environment") {
    auto none = imds_config_from_environment(aws::fake_environment({}));
    REQUIRE(none.ok());
    CHECK(none->endpoint == "http://169.254.169.254");
    CHECK_FALSE(none->disabled);
    CHECK(imds_config_from_environment(aws::fake_environment({{"AWS_EC2_METADATA_DISABLED", "TRUE"}}))->disabled);
    CHECK_FALSE(imds_config_from_environment(aws::fake_environment({{"AWS_EC2_METADATA_DISABLED", "no"}}))->disabled);
    CHECK(imds_config_from_environment(aws::fake_environment({{"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6"}}))
              ->endpoint == "http://[fd00:ec2::254]");
    CHECK(imds_config_from_environment(aws::fake_environment({{"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv5"}}))
              .code() == "bad_imds_config");
    CHECK(imds_config_from_environment(aws::fake_environment({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:8080/"}}))
              ->endpoint == "http://127.0.0.1:8080/");
    CHECK(imds_config_from_environment(aws::fake_environment({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://[::1]:8080"}}))
              .ok());
    CHECK(imds_config_from_environment(aws::fake_environment({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://imds"}})).ok());
    for (const char* bad : {"https://169.254.169.254", "169.254.169.254", "http://", "http://a/b", "http://u@h",
                            "http://h:99999", "http://::1:80"}) {
        CHECK(imds_config_from_environment(aws::fake_environment({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", bad}})).code() ==
              "bad_imds_config");
    }
}

TEST_CASE("imds: IMDSv2 session token, role listing and credentials") {
    imds_fixture f;
    imds_client client(f.io.ioc(), f.config());
    collector<timed_credentials> c;
    client.role_credentials(c.callback());
    auto r = wait_one(c);
    REQUIRE(r.ok());
    CHECK(r->creds.access_key_id == "ASIAIMDSEXAMPLE");
    CHECK(r->creds.session_token.reveal() == "imds-session-token==");
    CHECK(r->expiration == t0 + 1h);

    const auto seen = f.server.requests();
    REQUIRE(seen.size() == 3);
    CHECK(seen[0].method == "PUT");
    CHECK(seen[0].header("X-aws-ec2-metadata-token-ttl-seconds") == "21600");
    CHECK(seen[1].target == "/latest/meta-data/iam/security-credentials/");
    CHECK(seen[2].target == "/latest/meta-data/iam/security-credentials/node-role");
    for (std::size_t i = 1; i < seen.size(); ++i) CHECK(seen[i].header("X-aws-ec2-metadata-token") == "imds-token-1");

    SECTION("the session token is reused") {
        collector<std::string> region;
        client.region(region.callback());
        auto reg = wait_one(region);
        REQUIRE(reg.ok());
        CHECK(*reg == "us-west-2");
        CHECK(f.imds.token_puts() == 1);
    }
    SECTION("an expired session token (401) is replaced, once") {
        f.imds.set_token("imds-token-2");
        collector<std::string> region;
        client.region(region.callback());
        auto reg = wait_one(region);
        REQUIRE(reg.ok());
        CHECK(f.imds.token_puts() == 2);
        CHECK(f.server.requests().back().header("X-aws-ec2-metadata-token") == "imds-token-2");
    }
}

TEST_CASE("imds: failures") {
    imds_fixture f;
    SECTION("token refused: no request without a token") {
        f.imds.refuse_token(true);
        imds_client client(f.io.ioc(), f.config());
        collector<timed_credentials> c;
        client.role_credentials(c.callback());
        CHECK(wait_one(c).code() == "imds_token_refused");
        CHECK(f.server.request_count() == 1);
    }
    SECTION("no instance profile") {
        f.imds.set_role("");
        imds_client client(f.io.ioc(), f.config());
        collector<timed_credentials> c;
        client.role_credentials(c.callback());
        CHECK(wait_one(c).code() == "imds_no_role");
    }
    SECTION("bad credentials document") {
        f.imds.set_creds(R"({"Code":"Success"})");
        imds_client client(f.io.ioc(), f.config());
        collector<timed_credentials> c;
        client.role_credentials(c.callback());
        CHECK(wait_one(c).code() == "imds_bad_response");
    }
    SECTION("server error") {
        f.imds.fail_gets(true);
        imds_client client(f.io.ioc(), f.config());
        collector<std::string> c;
        client.region(c.callback());
        CHECK(wait_one(c).code() == "imds_unavailable");
    }
    SECTION("a token that keeps being refused (401 twice) is an error, not a loop") {
        // Every GET is 401: the token is replaced once, then the error is reported.
        fake_server always_401([](const seen_request& r) {
            return r.method == "PUT" ? canned_reply{200, "t", "text/plain"} : canned_reply{401, "", "text/plain"};
        });
        imds_config cfg;
        cfg.endpoint = "http://" + always_401.address();
        imds_client stubborn(f.io.ioc(), cfg);
        collector<std::string> c;
        stubborn.region(c.callback());
        CHECK(wait_one(c).code() == "imds_error");
        CHECK(always_401.request_count() == 4);  // PUT, GET, PUT, GET
    }
    SECTION("nothing listening") {
        imds_config cfg;
        cfg.endpoint = "http://127.0.0.1:" + std::to_string(unused_port());
        imds_client client(f.io.ioc(), cfg);
        collector<std::string> c;
        client.region(c.callback());
        CHECK(wait_one(c).code() == "imds_unavailable");
    }
    SECTION("a hanging IMDS times out") {
        fake_server hang([](const seen_request&) { return canned_reply{200, "", "text/plain", 0ms, true}; });
        imds_config cfg;
        cfg.endpoint = "http://" + hang.address();
        cfg.timeout = 200ms;
        imds_client client(f.io.ioc(), cfg);
        collector<std::string> c;
        client.region(c.callback());
        auto r = wait_one(c);
        CHECK(r.code() == "imds_unavailable");
        CHECK(r.err().message.find("timeout") != std::string::npos);
    }
    SECTION("disabled") {
        auto cfg = f.config();
        cfg.disabled = true;
        imds_client client(f.io.ioc(), cfg);
        collector<std::string> c;
        client.region(c.callback());
        CHECK(wait_one(c).code() == "imds_disabled");
        CHECK(f.server.request_count() == 0);
    }
    SECTION("bad endpoint") {
        imds_config cfg;
        cfg.endpoint = "https://169.254.169.254";
        CHECK_THROWS_AS(imds_client(f.io.ioc(), cfg), std::invalid_argument);
    }
}

TEST_CASE("imds: the blocking region lookup used at start-up") {
    imds_fixture f;
    auto r = fetch_imds_region_blocking(f.config());
    REQUIRE(r.ok());
    CHECK(*r == "us-west-2");
    imds_config off;
    off.endpoint = "http://127.0.0.1:" + std::to_string(unused_port());
    CHECK(fetch_imds_region_blocking(off).code() == "imds_unavailable");
}

TEST_CASE("imds credentials source: cached, refreshed before expiry, kept when a refresh fails") {
    // Declared first: background refreshes read the clock until the fixture's threads are joined.
    std::atomic<std::int64_t> now_s{0};
    imds_fixture f;
    imds_credentials_source source(f.io.ioc(), f.config(), 5min, [&] { return t0 + seconds(now_s.load()); });
    const auto get = [&] {
        collector<sigv4::credentials> c;
        source.get(c.callback());
        return wait_one(c);
    };
    const auto wait_requests = [&](std::size_t n) {
        for (int i = 0; i < 400 && f.server.request_count() < n; ++i) std::this_thread::sleep_for(5ms);
        return f.server.request_count();
    };

    auto first = get();
    REQUIRE(first.ok());
    CHECK(first->access_key_id == "ASIAIMDSEXAMPLE");
    CHECK(f.server.request_count() == 3);

    now_s = 50 * 60;  // 10 minutes left: cached
    REQUIRE(get().ok());
    CHECK(f.server.request_count() == 3);

    // 4 minutes left: the cached credentials are returned at once and a refresh starts.
    f.imds.set_creds(creds_json("2030-01-01T02:00:00Z", "ASIAIMDSROTATED"));
    now_s = 56 * 60;
    auto during = get();
    REQUIRE(during.ok());
    CHECK(during->access_key_id == "ASIAIMDSEXAMPLE");
    CHECK(wait_requests(5) == 5);
    for (int i = 0; i < 400; ++i) {
        auto r = get();
        REQUIRE(r.ok());
        if (r->access_key_id == "ASIAIMDSROTATED") break;
        std::this_thread::sleep_for(5ms);
    }
    CHECK(get()->access_key_id == "ASIAIMDSROTATED");

    // Refresh failing while the cached credentials still work: they are used.
    f.imds.fail_gets(true);
    now_s = 116 * 60;  // 4 minutes before the new expiry
    auto kept = get();
    REQUIRE(kept.ok());
    CHECK(kept->access_key_id == "ASIAIMDSROTATED");

    // Expired and IMDS failing: an error.
    wait_requests(6);
    now_s = 121 * 60;
    auto expired = get();
    REQUIRE_FALSE(expired.ok());
    CHECK(expired.code() == "imds_unavailable");
}

TEST_CASE("imds credentials source: credentials that already expired are refused") {
    imds_fixture f;
    f.imds.set_creds(creds_json("2029-12-31T23:59:00Z"));
    imds_credentials_source source(f.io.ioc(), f.config(), 5min, [] { return t0; });
    collector<sigv4::credentials> c;
    source.get(c.callback());
    CHECK(wait_one(c).code() == "expired_credentials");
}

TEST_CASE("imds credentials source: signs DescribeInstances end to end") {
    imds_fixture f;
    test_cert cert{{std::string(test_host)}};
    fake_ec2 ec2;
    ec2.set_instance("i-0123456789abcdef0", "ip-10-0-0-1.us-west-2.compute.internal");
    ec2.expect_session_token("imds-session-token==", "ASIAIMDSEXAMPLE", "imds/secret+key");
    fake_server ec2_server([&](const seen_request& r) { return ec2.handle(r); }, cert.pem);

    https_ec2_client_config cc;
    cc.region = "us-west-2";
    cc.connect_override = ec2_server.address();
    cc.ca_file = cert.ca_file;
    // The real clock: the fake IMDS's credentials expire in 2030.
    auto client = std::make_shared<https_ec2_client>(f.io.ioc(), cc,
                                                     std::make_shared<imds_credentials_source>(f.io.ioc(), f.config()));
    describe_instances_resolver resolver(f.io.ioc(), client, resolver_config{});
    collector<std::string> c;
    resolver.private_dns_name("i-0123456789abcdef0", c.callback());
    auto r = wait_one(c);
    REQUIRE(r.ok());
    CHECK(*r == "ip-10-0-0-1.us-west-2.compute.internal");
    CHECK(ec2.auth_failures() == 0);
}

TEST_CASE("server credentials: environment, shared files, then IMDS") {
    io_runner io(1);
    SECTION("environment") {
        auto env = aws::fake_environment({{"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", "s"}, {"HOME", "/h"}});
        auto src = make_server_credentials(io.ioc(), env);
        REQUIRE(src.ok());
        collector<sigv4::credentials> c;
        (*src)->get(c.callback());
        CHECK(wait_one(c)->access_key_id == "AKIDENV");
    }
    SECTION("shared credentials file") {
        auto env = aws::fake_environment({{"HOME", "/h"}},
                                         {{"/h/.aws/credentials", "[default]\naws_access_key_id = AKIDFILE\n"
                                                                  "aws_secret_access_key = s\n"}});
        auto src = make_server_credentials(io.ioc(), env);
        REQUIRE(src.ok());
        collector<sigv4::credentials> c;
        (*src)->get(c.callback());
        CHECK(wait_one(c)->access_key_id == "AKIDFILE");
    }
    SECTION("instance metadata when nothing else is configured") {
        imds_fixture f;
        auto env = aws::fake_environment({{"HOME", "/h"}, {"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://" + f.server.address()}});
        auto src = make_server_credentials(f.io.ioc(), env);
        REQUIRE(src.ok());
        CHECK((*src)->describe() == "EC2 instance metadata (IMDSv2)");
        collector<sigv4::credentials> c;
        (*src)->get(c.callback());
        CHECK(wait_one(c)->access_key_id == "ASIAIMDSEXAMPLE");
    }
    SECTION("refusals") {
        CHECK(make_server_credentials(io.ioc(), aws::fake_environment({{"HOME", "/h"}, {"AWS_EC2_METADATA_DISABLED", "true"}}))
                  .code() == "no_credentials");
        CHECK(make_server_credentials(io.ioc(), aws::fake_environment({{"HOME", "/h"}, {"AWS_ACCESS_KEY_ID", "AKID"}}))
                  .code() == "partial_credentials");
        CHECK(make_server_credentials(io.ioc(), aws::fake_environment({{"HOME", "/h"}, {"AWS_PROFILE", "missing"}})).code() ==
              "profile_not_found");
        CHECK(make_server_credentials(io.ioc(),
                                      aws::fake_environment({{"HOME", "/h"}, {"AWS_EC2_METADATA_SERVICE_ENDPOINT", "ftp://x"}}))
                  .code() == "bad_imds_config");
    }
}

TEST_CASE("make_ec2_resolver: region, credentials and unsupported settings") {
    io_runner io(1);
    const auto env_creds = std::map<std::string, std::string, std::less<>>{
        {"HOME", "/h"}, {"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", "s"}, {"AWS_EC2_METADATA_DISABLED", "true"}};
    SECTION("explicit region") {
        ec2_settings s;
        s.region = "eu-west-1";
        auto setup = make_ec2_resolver(io.ioc(), s, aws::fake_environment(env_creds));
        CHECK(setup.region == "eu-west-1");
        CHECK(setup.region_source == "server config");
        CHECK(setup.host == "ec2.eu-west-1.amazonaws.com");
        CHECK(setup.resolver != nullptr);
    }
    SECTION("AWS_REGION") {
        auto vars = env_creds;
        vars["AWS_REGION"] = "ap-south-1";
        auto setup = make_ec2_resolver(io.ioc(), {}, aws::fake_environment(vars));
        CHECK(setup.region == "ap-south-1");
        CHECK(setup.region_source == "AWS_REGION");
    }
    SECTION("the instance's region from IMDS") {
        imds_fixture f;
        auto vars = env_creds;
        vars.erase("AWS_EC2_METADATA_DISABLED");
        vars["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://" + f.server.address();
        auto setup = make_ec2_resolver(io.ioc(), {}, aws::fake_environment(vars));
        CHECK(setup.region == "us-west-2");
        CHECK(setup.region_source == "instance metadata");
    }
    SECTION("neither: us-east-1, as the reference") {
        auto setup = make_ec2_resolver(io.ioc(), {}, aws::fake_environment(env_creds));
        CHECK(setup.region == "us-east-1");
        CHECK(setup.region_source == "default (instance metadata disabled)");
    }
    SECTION("refusals") {
        ec2_settings bad_region;
        bad_region.region = "not a region";
        CHECK_THROWS_AS(make_ec2_resolver(io.ioc(), bad_region, aws::fake_environment(env_creds)), std::invalid_argument);
        ec2_settings bad_qps;
        bad_qps.region = "us-west-2";
        bad_qps.resolver.qps = -1;
        CHECK_THROWS_WITH(make_ec2_resolver(io.ioc(), bad_qps, aws::fake_environment(env_creds)),
                          Catch::Contains("ec2DescribeInstancesQps"));
        CHECK_THROWS_WITH(make_ec2_resolver(io.ioc(), {}, aws::fake_environment({{"HOME", "/h"}, {"AWS_EC2_METADATA_DISABLED", "true"}})),
                          Catch::Contains("EC2 credentials"));
    }
}
