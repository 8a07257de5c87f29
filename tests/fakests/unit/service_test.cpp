// From a received request to AWS's answer: shapes, status codes and error codes of STS and EC2.

#include "fake_service.hpp"
#include "test_support.hpp"

#include "crypto/crypto.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace stsauth;
using namespace stsauth::fakests;
using namespace stsauth::fakests::testing;
using namespace std::chrono_literals;

namespace {

const std::string rid = "01234567-89ab-4def-8123-456789abcdef";

reply answer(const http_request_in& in, bool force_xml = false, std::chrono::system_clock::time_point now = t0) {
    static const auto cfg = test_config();
    return handle_aws_request(in, cfg, now, rid, force_xml);
}

http_request_in ec2_request(const std::string& body, const sigv4::credentials& creds = long_term(),
                            const std::string& host = "ec2.us-west-2.amazonaws.com") {
    sigv4::request req;
    req.method = "POST";
    req.headers = {{"Host", host}, {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    sigv4::sign_headers(req, creds, {"us-west-2", "ec2", t0}, crypto::sha256_hex(body));
    return {"POST", "/", req.headers, body};
}

}  // namespace

TEST_CASE("GetCallerIdentity answers STS's JSON when asked for JSON", "[service]") {
    const auto r = answer(make_token().in());
    REQUIRE(r.status == 200);
    CHECK(r.content_type == "application/json");
    CHECK(r.outcome == "success");
    CHECK(r.action == "GetCallerIdentity");
    CHECK(r.body ==
          R"({"GetCallerIdentityResponse":{"GetCallerIdentityResult":{"Account":"111122223333",)"
          R"("Arn":"arn:aws:iam::111122223333:user/alice","UserId":"AIDAEXAMPLEALICE"},)"
          R"("ResponseMetadata":{"RequestId":"01234567-89ab-4def-8123-456789abcdef"}}})");

    token_spec spec;
    spec.creds = temporary();
    const auto bob = nlohmann::json::parse(answer(make_token(spec).in()).body);
    CHECK(bob["GetCallerIdentityResponse"]["GetCallerIdentityResult"]["Arn"] ==
          "arn:aws:sts::444455556666:assumed-role/Admin/bob");
}

TEST_CASE("GetCallerIdentity answers XML without Accept: application/json, or when forced", "[service]") {
    auto token = make_token();
    std::erase_if(token.sent_headers, [](const auto& h) { return h.name == "Accept"; });
    auto r = answer(token.in());
    REQUIRE(r.status == 200);
    CHECK(r.content_type == "text/xml");
    CHECK_THAT(r.body, Catch::StartsWith("<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"));
    CHECK_THAT(r.body, Catch::Contains("<Arn>arn:aws:iam::111122223333:user/alice</Arn>"));

    r = answer(make_token().in(), true);
    CHECK(r.content_type == "text/xml");
    CHECK_THAT(r.body, Catch::Contains("<Account>111122223333</Account>"));
}

TEST_CASE("STS errors have STS's JSON shape and status", "[service]") {
    auto token = make_token();
    token.set_header("x-k8s-aws-id", "other");
    auto r = answer(token.in());
    CHECK(r.status == 403);
    CHECK(r.outcome == "SignatureDoesNotMatch");
    const auto doc = nlohmann::json::parse(r.body);
    CHECK(doc["Error"]["Code"] == "SignatureDoesNotMatch");
    CHECK(doc["Error"]["Type"] == "Sender");
    CHECK(doc["RequestId"] == rid);
    // Never the signature or the canonical request (which would carry the session token).
    CHECK(r.body.find(token.param("X-Amz-Signature")) == std::string::npos);
    CHECK(r.body.find("x-k8s-aws-id") == std::string::npos);

    CHECK(answer(make_token().in(), false, t0 + 16min).status == 403);
    CHECK(answer(make_token().in(), false, t0 + 16min).outcome == "ExpiredToken");
    token_spec unknown;
    unknown.creds.access_key_id = "AKIDNOBODY";
    CHECK(answer(make_token(unknown).in()).outcome == "InvalidClientTokenId");
    CHECK(answer(make_token(unknown).in()).status == 403);
    CHECK(answer({"GET", "/?Action=%zz", {{"Host", "sts.amazonaws.com"}}, {}}).status == 404);

    r = answer(token.in(), true);
    CHECK_THAT(r.body, Catch::Contains("<Code>SignatureDoesNotMatch</Code>"));
    CHECK_THAT(r.body, Catch::Contains("<Type>Sender</Type>"));
}

TEST_CASE("STS actions and versions", "[service]") {
    auto token = make_token();
    SECTION("another action, signed") {
        token.set_param("Action", "AssumeRole");
        token = make_token();
        token.signed_request.query[0].value = "AssumeRole";
        // Re-sign with the changed action so that only the action is wrong.
        sigv4::request req;
        req.query = {{"Action", "AssumeRole"}, {"Version", "2011-06-15"}};
        req.headers = {{"Host", "sts.us-west-2.amazonaws.com"}, {"x-k8s-aws-id", "test-cluster"}};
        sigv4::presign(req, long_term(), {"us-west-2", "sts", t0}, std::chrono::seconds(60));
        token.signed_request = req;
        const auto r = answer(token.in());
        CHECK(r.status == 400);
        CHECK(r.outcome == "InvalidAction");
    }
    SECTION("no action") {
        sigv4::request req;
        req.query = {{"Version", "2011-06-15"}};
        req.headers = {{"Host", "sts.us-west-2.amazonaws.com"}};
        sigv4::presign(req, long_term(), {"us-west-2", "sts", t0}, std::chrono::seconds(60));
        token.signed_request = req;
        CHECK(answer(token.in()).outcome == "MissingAction");
    }
    SECTION("another version") {
        sigv4::request req;
        req.query = {{"Action", "GetCallerIdentity"}, {"Version", "2011-06-16"}};
        req.headers = {{"Host", "sts.us-west-2.amazonaws.com"}};
        sigv4::presign(req, long_term(), {"us-west-2", "sts", t0}, std::chrono::seconds(60));
        token.signed_request = req;
        CHECK(answer(token.in()).outcome == "InvalidAction");
    }
    SECTION("no version (the reference's test tokens omit it)") {
        sigv4::request req;
        req.query = {{"Action", "GetCallerIdentity"}};
        req.headers = {{"Host", "sts.us-west-2.amazonaws.com"}};
        sigv4::presign(req, long_term(), {"us-west-2", "sts", t0}, std::chrono::seconds(60));
        token.signed_request = req;
        CHECK(answer(token.in()).outcome == "success");
    }
}

TEST_CASE("EC2 DescribeInstances", "[service]") {
    const std::string prefix = "Action=DescribeInstances&Version=2016-11-15";
    SECTION("known ids") {
        const auto r = answer(ec2_request(prefix + "&InstanceId.1=i-0123456789abcdef0"));
        REQUIRE(r.status == 200);
        CHECK(r.action == "DescribeInstances");
        CHECK_THAT(r.body, Catch::Contains("<privateDnsName>ip-10-0-0-1.us-west-2.compute.internal</privateDnsName>"));
        CHECK_THAT(r.body, Catch::Contains("<ownerId>111122223333</ownerId>"));
        CHECK(r.body.find("ip-10-0-0-2") == std::string::npos);
    }
    SECTION("no ids: all instances") {
        const auto r = answer(ec2_request(prefix));
        CHECK_THAT(r.body, Catch::Contains("ip-10-0-0-1") && Catch::Contains("ip-10-0-0-2"));
    }
    SECTION("unknown id") {
        const auto r = answer(ec2_request(prefix + "&InstanceId.1=i-0123456789abcdef0&InstanceId.2=i-00000000"));
        CHECK(r.status == 400);
        CHECK(r.outcome == "InvalidInstanceID.NotFound");
        CHECK_THAT(r.body, Catch::StartsWith("<?xml") && Catch::Contains("<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code>"));
        CHECK_THAT(r.body, Catch::Contains("The instance ID 'i-00000000' does not exist"));
        CHECK_THAT(r.body, Catch::Contains("<RequestID>" + rid + "</RequestID>"));
    }
    SECTION("malformed id") {
        const auto r = answer(ec2_request(prefix + "&InstanceId.1=node-1"));
        CHECK(r.status == 400);
        CHECK(r.outcome == "InvalidInstanceID.Malformed");
    }
    SECTION("filters are not supported") {
        CHECK(answer(ec2_request(prefix + "&Filter.1.Name=x")).outcome == "UnsupportedOperation");
    }
    SECTION("another EC2 action") {
        CHECK(answer(ec2_request("Action=TerminateInstances&InstanceId.1=i-0123456789abcdef0")).outcome ==
              "InvalidAction");
    }
    SECTION("a wrong secret is AuthFailure 401") {
        auto creds = long_term();
        creds.secret_access_key = secret<std::string>("wrong");
        const auto r = answer(ec2_request(prefix, creds));
        CHECK(r.status == 401);
        CHECK(r.outcome == "AuthFailure");
        CHECK_THAT(r.body, Catch::Contains("AWS was not able to validate the provided access credentials"));
    }
    SECTION("an unknown key is AuthFailure 401") {
        auto creds = long_term();
        creds.access_key_id = "AKIDNOBODY";
        CHECK(answer(ec2_request(prefix, creds)).status == 401);
    }
    SECTION("expired is RequestExpired 400") {
        const auto r = answer(ec2_request(prefix), false, t0 + 20min);
        CHECK(r.status == 400);
        CHECK(r.outcome == "RequestExpired");
    }
    SECTION("an endpoint override host: EC2 by action, region not checked") {
        const auto r = answer(ec2_request(prefix + "&InstanceId.1=i-0fedcba9876543210", long_term(), "127.0.0.1:4443"));
        CHECK(r.status == 200);
        CHECK_THAT(r.body, Catch::Contains("ip-10-0-0-2"));
    }
}

TEST_CASE("fault replies have the API's shapes", "[service]") {
    const auto sts = classify(make_token().in(), false);
    CHECK(sts.which == api::sts);
    CHECK(sts.json);
    CHECK(sts.action == "GetCallerIdentity");
    CHECK(sts.access_key_id == "AKIDEXAMPLE");

    auto r = throttle_reply(sts, rid);
    CHECK(r.status == 400);
    CHECK(r.body == R"({"Error":{"Code":"Throttling","Message":"Rate exceeded","Type":"Sender"},"RequestId":")" + rid + "\"}");
    r = unavailable_reply(sts, rid);
    CHECK(r.status == 503);
    CHECK(nlohmann::json::parse(r.body)["Error"]["Type"] == "Receiver");
    r = redirect_reply(sts, "https://elsewhere.invalid/", rid);
    CHECK(r.status == 302);
    CHECK(r.location == "https://elsewhere.invalid/");

    const auto ec2 = classify(ec2_request("Action=DescribeInstances"), false);
    CHECK(ec2.which == api::ec2);
    CHECK(throttle_reply(ec2, rid).outcome == "RequestLimitExceeded");
    CHECK(throttle_reply(ec2, rid).status == 503);
    CHECK(unavailable_reply(ec2, rid).outcome == "Unavailable");

    CHECK_FALSE(classify(make_token().in(), true).json);
}

namespace {

// The nlohmann-based writers the fake used before, kept as the oracle of the hand-written ones.
std::string nlohmann_identity_json(const credential_entry& who, std::string_view request_id) {
    nlohmann::ordered_json result;
    result["Account"] = who.account;
    result["Arn"] = who.arn;
    result["UserId"] = who.user_id;
    nlohmann::ordered_json response;
    response["GetCallerIdentityResult"] = std::move(result);
    response["ResponseMetadata"]["RequestId"] = std::string(request_id);
    nlohmann::ordered_json doc;
    doc["GetCallerIdentityResponse"] = std::move(response);
    return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string nlohmann_error_json(std::string_view code, std::string_view message, int status, std::string_view request_id) {
    nlohmann::ordered_json err;
    err["Code"] = std::string(code);
    err["Message"] = std::string(message);
    err["Type"] = status >= 500 ? "Receiver" : "Sender";
    nlohmann::ordered_json doc;
    doc["Error"] = std::move(err);
    doc["RequestId"] = std::string(request_id);
    return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

TEST_CASE("the JSON answers are byte for byte what nlohmann's dump() wrote", "[service]") {
    const std::vector<std::string> texts{
        "",
        "arn:aws:iam::111122223333:user/alice",
        "quote \" backslash \\ slash /",
        std::string("controls \x01\x1f\b\f\n\r\t and a NUL \0 inside", 36),
        "UTF-8 \xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80",
        "invalid UTF-8 \xff\xfe, truncated \xe2\x98, overlong \xc0\xaf, surrogate \xed\xa0\x80, end \xc3",
        "DEL \x7f",
    };
    for (const auto& a : texts) {
        for (const auto& b : texts) {
            INFO(nlohmann::json(a).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace) << " / "
                 << nlohmann::json(b).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace));
            const credential_entry who{"AKID", secret<std::string>("s"), {}, a, b, a + b};
            CHECK(sts_identity_json(who, b) == nlohmann_identity_json(who, b));
            CHECK(sts_error_json(a, b, 403, a) == nlohmann_error_json(a, b, 403, a));
            CHECK(sts_error_json(b, a, 503, b) == nlohmann_error_json(b, a, 503, b));
        }
    }
}

TEST_CASE("parse_request gives the same from a copy and from a moved request", "[service]") {
    for (const auto& target : {std::string("/?Action=GetCallerIdentity&Version=2011-06-15&a+b=c%20d&&e"),
                               std::string("/p%41th?x=%zz"), std::string("/%4"), std::string("relative")}) {
        INFO(target);
        const http_request_in in{"POST", target, {{"Host", "sts.amazonaws.com"}, {"X-A", "1"}}, "Action=X"};
        auto copy = in;
        const auto a = parse_request(in);
        const auto b = parse_request(std::move(copy));
        REQUIRE(a.ok() == b.ok());
        if (!a.ok()) {
            CHECK(a.code() == b.code());
            continue;
        }
        CHECK(a->method == b->method);
        CHECK(a->path == b->path);
        CHECK(a->query == b->query);
        CHECK(a->body == b->body);
        CHECK(a->host == b->host);
        REQUIRE(a->headers.size() == b->headers.size());
        CHECK(in.headers.size() == 2);  // the copy-taking overload left its argument alone
    }
}

TEST_CASE("one request object re-used for a connection's requests answers each as a fresh one", "[service]") {
    static const auto cfg = test_config();
    token_spec with_token;
    with_token.creds = temporary();  // more query parameters than the next request
    auto tampered = make_token();
    tampered.sent_headers[1].value = "other-cluster";
    auto xml = make_token();
    std::erase_if(xml.sent_headers, [](const auto& h) { return h.name == "Accept"; });
    const std::vector<http_request_in> sequence{
        make_token(with_token).in(),
        make_token().in(),
        tampered.in(),
        {"GET", "/?Action=GetCallerIdentity&X-Amz-Credential=%zz", {{"Host", "sts.amazonaws.com"}}, {}},
        ec2_request("Action=DescribeInstances&InstanceId.1=i-0123456789abcdef0"),
        xml.in(),
        {"GET", "/?Action=GetCallerIdentity", {}, {}},  // no Host: the previous request's must not stay
        make_token(with_token).in(),
    };
    signing_key_cache keys;
    parsed_request req;
    request_class cls;
    reply r;
    for (const auto& in : sequence) {
        INFO(in.target);
        const auto fresh = handle_aws_request(in, cfg, t0, rid, false);
        req.method = in.method;
        req.headers = in.headers;
        req.body = in.body;
        const auto st = parse_target(in.target, req);
        if (!st.ok()) {
            CHECK(fresh.outcome == st.code());
            continue;
        }
        classify(req, false, cls);
        const auto fresh_cls = classify(in, false);
        CHECK(cls.which == fresh_cls.which);
        CHECK(cls.action == fresh_cls.action);
        CHECK(cls.json == fresh_cls.json);
        CHECK(cls.access_key_id == fresh_cls.access_key_id);
        CHECK(req.host == parse_request(in)->host);
        const auto fresh_host = classify_host(req.host);
        REQUIRE(req.aws_host.has_value() == fresh_host.has_value());
        if (fresh_host) CHECK((req.aws_host->service == fresh_host->service && req.aws_host->region == fresh_host->region));
        CHECK(req.query == parse_request(in)->query);
        answer_aws_request(r, req, cls, cfg, t0, rid, &keys);
        CHECK(r.status == fresh.status);
        CHECK(r.content_type == fresh.content_type);
        CHECK(r.body == fresh.body);
        CHECK(r.location == fresh.location);
        CHECK(r.request_id == fresh.request_id);
        CHECK(r.action == fresh.action);
        CHECK(r.outcome == fresh.outcome);
    }
    // The sequence covers successes and rejections, so both kinds of answer re-used `r`.
    CHECK(handle_aws_request(sequence[2], cfg, t0, rid, false).outcome == "SignatureDoesNotMatch");
    CHECK(handle_aws_request(sequence[3], cfg, t0, rid, false).outcome == "MalformedQueryString");
    CHECK(handle_aws_request(sequence[6], cfg, t0, rid, false).outcome == "MissingAuthenticationToken");
}
