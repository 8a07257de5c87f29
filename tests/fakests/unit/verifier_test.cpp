// SigV4 verification of presigned and header-signed requests: every acceptance and every
// rejection path, with its AWS error code.

#include "sigv4_verifier.hpp"
#include "test_support.hpp"

#include "crypto/crypto.hpp"

#include <catch2/catch.hpp>

#include <cstdint>

using namespace stsauth;
using namespace stsauth::fakests;
using namespace stsauth::fakests::testing;
using namespace std::chrono_literals;

namespace {

std::string code_of(const result<authenticated>& r) { return r.ok() ? "ok" : r.code(); }

// Every check runs twice, deriving the signing key and through one cache shared by all the
// tests (as the server does): both must reach the same outcome.
result<authenticated> verify(const http_request_in& in, std::chrono::system_clock::time_point now = t0,
                             const fake_config& cfg = test_config()) {
    static fake_config keep;  // authenticated points into the config: keep it alive
    static signing_key_cache cache;
    keep = cfg;
    auto parsed = parse_request(in);
    if (!parsed.ok()) return parsed.err();
    auto derived = authenticate(*parsed, keep, now, verify_options{{"sts", "ec2"}, 15min});
    auto cached = authenticate(*parsed, keep, now, verify_options{{"sts", "ec2"}, 15min, &cache});
    REQUIRE(code_of(cached) == code_of(derived));
    if (derived.ok()) REQUIRE(cached->credential == derived->credential);
    return derived;
}

}  // namespace

TEST_CASE("presigned GetCallerIdentity verifies with both payload-hash conventions", "[verifier]") {
    for (const auto hash : {sigv4::unsigned_payload, sigv4::empty_payload_sha256}) {
        token_spec spec;
        spec.payload_hash = std::string(hash);
        const auto r = verify(make_token(spec).in());
        REQUIRE(r.ok());
        CHECK(r->credential->access_key_id == "AKIDEXAMPLE");
        CHECK(r->presigned);
        CHECK(r->scope.region == "us-west-2");
    }
}

TEST_CASE("temporary credentials verify only with their session token", "[verifier]") {
    token_spec spec;
    spec.creds = temporary();
    auto token = make_token(spec);
    REQUIRE(verify(token.in()).ok());

    SECTION("a different token") {
        auto t = token;
        t.set_param("X-Amz-Security-Token", "IQoJb3JpZ2luX2Vj//////////+token/with=special+chars=X");
        CHECK(code_of(verify(t.in())) == "InvalidClientTokenId");
    }
    SECTION("no token") {
        auto t = token;
        t.remove_param("X-Amz-Security-Token");
        CHECK(code_of(verify(t.in())) == "InvalidClientTokenId");
    }
    SECTION("a token sent twice") {
        auto t = token;
        t.signed_request.query.push_back({"X-Amz-Security-Token", token.param("X-Amz-Security-Token")});
        CHECK(code_of(verify(t.in())) == "IncompleteSignature");
    }
}

TEST_CASE("a long-term key with a session token is rejected", "[verifier]") {
    auto creds = long_term();
    creds.session_token = secret<std::string>("unexpected");
    token_spec spec;
    spec.creds = creds;
    CHECK(code_of(verify(make_token(spec).in())) == "InvalidClientTokenId");
}

TEST_CASE("an unknown access key is InvalidClientTokenId", "[verifier]") {
    token_spec spec;
    spec.creds.access_key_id = "AKIDUNKNOWN";
    CHECK(code_of(verify(make_token(spec).in())) == "InvalidClientTokenId");
    auto t = make_token();
    t.set_param("X-Amz-Credential", "/20230428/us-west-2/sts/aws4_request");
    CHECK(code_of(verify(t.in())) == "InvalidClientTokenId");
}

TEST_CASE("a wrong credential index never authenticates another key", "[verifier]") {
    // Every slot of the index says "alice's key is bob's entry": only the full compare of the
    // access key id stands between a request and the wrong identity.
    auto cfg = test_config();
    cfg.index_credentials();
    REQUIRE(cfg.credentials[0].access_key_id == "AKIDEXAMPLE");
    const auto tag = static_cast<std::uint32_t>(fake_config::key_hash("AKIDEXAMPLE") >> 32U);
    for (auto& slot : cfg.credential_index) slot = credential_slot{tag, 1};

    const auto alice = verify(make_token().in(), t0, cfg);
    REQUIRE(alice.ok());
    CHECK(alice->credential->arn == "arn:aws:iam::111122223333:user/alice");

    // Alice's key id signed with bob's secret: the signature is checked against alice's secret.
    token_spec spec;
    spec.creds.secret_access_key = temporary().secret_access_key;
    CHECK(code_of(verify(make_token(spec).in(), t0, cfg)) == "SignatureDoesNotMatch");

    // A key nobody has, whose lookup meets only slots naming other entries.
    spec = token_spec{};
    spec.creds.access_key_id = "AKIDUNKNOWN";
    CHECK(code_of(verify(make_token(spec).in(), t0, cfg)) == "InvalidClientTokenId");
}

TEST_CASE("the 15-minute window around X-Amz-Date, X-Amz-Expires ignored", "[verifier]") {
    const auto token = make_token();
    CHECK(verify(token.in(), t0 + 15min).ok());
    CHECK(code_of(verify(token.in(), t0 + 15min + 1s)) == "ExpiredToken");
    CHECK(verify(token.in(), t0 - 15min).ok());
    CHECK(code_of(verify(token.in(), t0 - 15min - 1s)) == "SignatureDoesNotMatch");
    // X-Amz-Expires=60 is signed but STS ignores it: valid after 10 minutes.
    CHECK(verify(token.in(), t0 + 10min).ok());
}

TEST_CASE("the cluster id header and the host are covered by the signature", "[verifier]") {
    auto token = make_token();
    SECTION("another cluster id") {
        token.set_header("x-k8s-aws-id", "other-cluster");
        CHECK(code_of(verify(token.in())) == "SignatureDoesNotMatch");
    }
    SECTION("no cluster id header") {
        std::erase_if(token.sent_headers, [](const auto& h) { return h.name == "x-k8s-aws-id"; });
        CHECK(code_of(verify(token.in())) == "SignatureDoesNotMatch");
    }
    SECTION("host with a port") {
        token.set_header("Host", "sts.us-west-2.amazonaws.com:443");
        CHECK(code_of(verify(token.in())) == "SignatureDoesNotMatch");
    }
    SECTION("another region's host") {
        token.set_header("Host", "sts.us-east-2.amazonaws.com");
        CHECK(code_of(verify(token.in())) == "SignatureDoesNotMatch");
    }
    SECTION("an endpoint override host (no region to check) still needs the signed host") {
        token.set_header("Host", "127.0.0.1:8443");
        CHECK(code_of(verify(token.in())) == "SignatureDoesNotMatch");
    }
    SECTION("an extra query parameter") {
        token.signed_request.query.push_back({"Extra", "1"});
        CHECK(code_of(verify(token.in())) == "SignatureDoesNotMatch");
    }
}

TEST_CASE("the region must be the one of the host the request was sent to", "[verifier]") {
    token_spec spec;
    spec.host = "sts.amazonaws.com";
    spec.region = "us-east-1";
    CHECK(verify(make_token(spec).in()).ok());
    spec.region = "us-west-2";
    const auto r = verify(make_token(spec).in());
    CHECK(code_of(r) == "SignatureDoesNotMatch");
    CHECK_THAT(r.err().message, Catch::Contains("scoped to a valid region"));

    spec.host = "sts-fips.us-east-2.amazonaws.com";
    spec.region = "us-east-2";
    CHECK(verify(make_token(spec).in()).ok());
    spec.host = "sts.eu-west-1.api.aws";
    spec.region = "eu-west-1";
    CHECK(verify(make_token(spec).in()).ok());
    // A host that is no AWS name (an endpoint override): any region, the signature decides.
    spec.host = "127.0.0.1:4443";
    CHECK(verify(make_token(spec).in()).ok());
}

TEST_CASE("any one-character change of the signature is SignatureDoesNotMatch", "[verifier]") {
    const auto token = make_token();
    const auto sig = token.param("X-Amz-Signature");
    REQUIRE(sig.size() == 64);
    for (std::size_t i = 0; i < sig.size(); ++i) {
        auto t = token;
        auto changed = sig;
        changed[i] = changed[i] == 'a' ? 'b' : 'a';
        t.set_param("X-Amz-Signature", changed);
        INFO("position " << i);
        CHECK(code_of(verify(t.in())) == "SignatureDoesNotMatch");
    }
    auto upper = token;
    std::string up = sig;
    for (auto& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    upper.set_param("X-Amz-Signature", up);
    if (up != sig) CHECK(code_of(verify(upper.in())) == "SignatureDoesNotMatch");
}

TEST_CASE("credential scope errors", "[verifier]") {
    auto token = make_token();
    const auto good = token.param("X-Amz-Credential");  // AKIDEXAMPLE/20230428/us-west-2/sts/aws4_request
    auto with = [&](const std::string& credential) {
        auto t = token;
        t.set_param("X-Amz-Credential", credential);
        return code_of(verify(t.in()));
    };
    CHECK(with("AKIDEXAMPLE/20230428/us-west-2/sts/aws4_requesx") == "SignatureDoesNotMatch");
    CHECK(with("AKIDEXAMPLE/20230429/us-west-2/sts/aws4_request") == "SignatureDoesNotMatch");
    CHECK(with("AKIDEXAMPLE/20230428/us-west-1/sts/aws4_request") == "SignatureDoesNotMatch");
    CHECK(with("AKIDEXAMPLE/20230428/us-west-2/s3/aws4_request") == "SignatureDoesNotMatch");
    CHECK(with("AKIDEXAMPLE/20230428/us-west-2/sts") == "IncompleteSignature");
    CHECK(with("AKIDEXAMPLE/20230428/us-west-2/sts/aws4_request/x") == "IncompleteSignature");
    CHECK(with("AKIDEXAMPLF/20230428/us-west-2/sts/aws4_request") == "InvalidClientTokenId");
    CHECK(with(good) == "ok");
}

TEST_CASE("missing, repeated or malformed auth parameters are IncompleteSignature", "[verifier]") {
    const auto token = make_token();
    for (const auto* name :
         {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature"}) {
        INFO(name);
        auto missing = token;
        missing.remove_param(name);
        CHECK(code_of(verify(missing.in())) == "IncompleteSignature");
        auto twice = token;
        twice.signed_request.query.push_back({name, token.param(name)});
        CHECK(code_of(verify(twice.in())) == "IncompleteSignature");
    }
    auto t = token;
    t.set_param("X-Amz-Algorithm", "AWS4-HMAC-SHA512");
    CHECK(code_of(verify(t.in())) == "IncompleteSignature");
    t = token;
    t.set_param("X-Amz-Date", "20230428T000000");
    CHECK(code_of(verify(t.in())) == "IncompleteSignature");
    t = token;
    t.set_param("X-Amz-Date", "20230431T000000Z");  // no April 31st
    CHECK(code_of(verify(t.in())) == "IncompleteSignature");
    t = token;
    t.set_param("X-Amz-Date", "20230428T240000Z");
    CHECK(code_of(verify(t.in())) == "IncompleteSignature");
    t = token;
    t.set_param("X-Amz-Date", "20230428T000001Z");  // valid, but not what was signed
    CHECK(code_of(verify(t.in())) == "SignatureDoesNotMatch");
    t = token;
    t.set_param("X-Amz-SignedHeaders", "x-k8s-aws-id");
    CHECK(code_of(verify(t.in())) == "IncompleteSignature");
}

TEST_CASE("the refusal of a repeated auth parameter names it, and a lone session token is no auth", "[verifier]") {
    token_spec spec;
    spec.creds = temporary();
    const auto token = make_token(spec);
    REQUIRE(code_of(verify(token.in())) == "ok");
    for (const auto* name : {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature",
                             "X-Amz-Security-Token"}) {
        INFO(name);
        auto twice = token;
        twice.signed_request.query.push_back({name, token.param(name)});
        const auto r = verify(twice.in());
        REQUIRE(code_of(r) == "IncompleteSignature");
        CHECK(r.err().message == "Query-string parameter '" + std::string(name) + "' must appear only once.");
    }
    // Parameters are checked in the order Algorithm, Credential, Date, SignedHeaders, Signature:
    // the first one missing or repeated is the reason given.
    auto two_faults = token;
    two_faults.remove_param("X-Amz-Signature");
    two_faults.signed_request.query.push_back({"X-Amz-Date", token.param("X-Amz-Date")});
    CHECK(verify(two_faults.in()).err().message == "Query-string parameter 'X-Amz-Date' must appear only once.");
    two_faults = token;
    two_faults.remove_param("X-Amz-Credential");
    two_faults.signed_request.query.push_back({"X-Amz-Date", token.param("X-Amz-Date")});
    CHECK_THAT(verify(two_faults.in()).err().message, Catch::StartsWith("AWS query-string parameters must include"));
    // Case matters: a differently spelled parameter is not an auth parameter.
    auto lower = token;
    lower.remove_param("X-Amz-Signature");
    lower.signed_request.query.push_back({"x-amz-signature", token.param("X-Amz-Signature")});
    CHECK(code_of(verify(lower.in())) == "IncompleteSignature");
    // X-Amz-Security-Token alone does not make a request presigned.
    CHECK(code_of(verify({"GET", "/?Action=GetCallerIdentity&X-Amz-Security-Token=abc",
                          {{"Host", "sts.us-west-2.amazonaws.com"}}, {}})) == "MissingAuthenticationToken");
}

TEST_CASE("dates far from now are handled without overflow", "[verifier]") {
    // Years past 2262 do not fit system_clock's nanoseconds: a changed year must still be a
    // clean rejection.
    for (const auto* year : {"3023", "9999", "0001", "1969"}) {
        token_spec spec;
        auto t = make_token(spec);
        const auto date = std::string(year) + "0428T000000Z";
        t.set_param("X-Amz-Date", date);
        t.set_param("X-Amz-Credential", "AKIDEXAMPLE/" + date.substr(0, 8) + "/us-west-2/sts/aws4_request");
        INFO(date);
        const auto code = code_of(verify(t.in()));
        CHECK(code == (std::string(year) > "2023" ? "SignatureDoesNotMatch" : "ExpiredToken"));
    }
}

TEST_CASE("no authentication at all, or both mechanisms", "[verifier]") {
    CHECK(code_of(verify({"GET", "/?Action=GetCallerIdentity&Version=2011-06-15",
                          {{"Host", "sts.us-west-2.amazonaws.com"}}, {}})) == "MissingAuthenticationToken");
    auto token = make_token();
    token.sent_headers.push_back({"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20230428/us-west-2/sts/"
                                                   "aws4_request, SignedHeaders=host, Signature=00"});
    CHECK(code_of(verify(token.in())) == "IncompleteSignature");
}

TEST_CASE("malformed request targets are MalformedQueryString", "[verifier]") {
    CHECK(parse_request({"GET", "/?Action=%zz", {}, {}}).code() == "MalformedQueryString");
    CHECK(parse_request({"GET", "/%4?a=b", {}, {}}).code() == "MalformedQueryString");
    CHECK(parse_request({"GET", "http://x/?a=b", {}, {}}).code() == "MalformedQueryString");
    const auto ok = parse_request({"GET", "/?a=1&&b&c=x+y%2B", {{"HOST", "h"}}, {}});
    REQUIRE(ok.ok());
    CHECK(ok->query == std::vector<sigv4::query_param>{{"a", "1"}, {"b", ""}, {"c", "x y+"}});
    CHECK(ok->host == "h");
}

TEST_CASE("classify_host recognises STS and EC2 endpoint names only", "[verifier]") {
    CHECK(classify_host("sts.amazonaws.com")->region == "us-east-1");
    CHECK(classify_host("sts.us-west-2.amazonaws.com")->region == "us-west-2");
    CHECK(classify_host("sts-fips.us-east-1.amazonaws.com:443")->region == "us-east-1");
    CHECK(classify_host("sts.us-west-2.api.aws")->service == "sts");
    CHECK(classify_host("sts.cn-north-1.amazonaws.com.cn")->region == "cn-north-1");
    CHECK(classify_host("ec2.us-west-2.amazonaws.com")->service == "ec2");
    CHECK_FALSE(classify_host("127.0.0.1:443"));
    CHECK_FALSE(classify_host("localhost"));
    CHECK_FALSE(classify_host("sts.us-west-2.example.com"));
    CHECK_FALSE(classify_host("s3.us-west-2.amazonaws.com"));
    CHECK_FALSE(classify_host("sts.US-WEST-2.amazonaws.com"));
    CHECK_FALSE(classify_host(""));
}

// ---- Header signing (SDK clients, e.g. EC2 DescribeInstances) -------------------------------

namespace {

http_request_in header_signed(const std::string& body, const sigv4::credentials& creds = long_term(),
                              const std::string& host = "ec2.us-west-2.amazonaws.com", const std::string& region = "us-west-2") {
    sigv4::request req;
    req.method = "POST";
    req.path = "/";
    req.headers = {{"Host", host}, {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    sigv4::sign_headers(req, creds, {region, "ec2", t0}, crypto::sha256_hex(body));
    return {"POST", "/", req.headers, body};
}

void set_header(http_request_in& in, const std::string& name, const std::string& value) {
    for (auto& h : in.headers)
        if (h.name == name) h.value = value;
}

}  // namespace

TEST_CASE("header-signed requests verify over the body received", "[verifier]") {
    const std::string body = "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-0123456789abcdef0";
    auto in = header_signed(body);
    const auto ok = verify(in);
    REQUIRE(ok.ok());
    CHECK_FALSE(ok->presigned);
    CHECK(ok->scope.service == "ec2");

    SECTION("body changed") {
        in.body = "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-0fedcba9876543210";
        CHECK(code_of(verify(in)) == "SignatureDoesNotMatch");
    }
    SECTION("a declared payload hash does not replace the body's") {
        in.headers.push_back({"X-Amz-Content-Sha256", std::string(sigv4::unsigned_payload)});
        in.body += "&InstanceId.2=i-0fedcba9876543210";
        CHECK(code_of(verify(in)) == "SignatureDoesNotMatch");
    }
    SECTION("no X-Amz-Date") {
        std::erase_if(in.headers, [](const auto& h) { return h.name == "X-Amz-Date"; });
        CHECK(code_of(verify(in)) == "IncompleteSignature");
    }
    SECTION("expired") { CHECK(code_of(verify(in, t0 + 16min)) == "ExpiredToken"); }
    SECTION("repeated, unknown or missing Authorization parameters") {
        std::string authz;
        for (const auto& h : in.headers)
            if (h.name == "Authorization") authz = h.value;
        set_header(in, "Authorization", authz + ", Signature=00");
        CHECK(code_of(verify(in)) == "IncompleteSignature");
        set_header(in, "Authorization", authz + ", Foo=bar");
        CHECK(code_of(verify(in)) == "IncompleteSignature");
        set_header(in, "Authorization", authz.substr(0, authz.find(", Signature=")));
        CHECK(code_of(verify(in)) == "IncompleteSignature");
        set_header(in, "Authorization", "AWS4-HMAC-SHA1" + authz.substr(16));
        CHECK(code_of(verify(in)) == "IncompleteSignature");
    }
    SECTION("wrong secret") {
        auto creds = long_term();
        creds.secret_access_key = secret<std::string>("not-the-secret");
        CHECK(code_of(verify(header_signed(body, creds))) == "SignatureDoesNotMatch");
    }
    SECTION("service of the host") {
        auto other = header_signed(body, long_term(), "sts.us-west-2.amazonaws.com");
        CHECK(code_of(verify(other)) == "SignatureDoesNotMatch");
    }
    SECTION("temporary credentials need their token header") {
        auto tmp = header_signed(body, temporary());
        CHECK(verify(tmp).ok());
        set_header(tmp, "X-Amz-Security-Token", "other");
        CHECK(code_of(verify(tmp)) == "InvalidClientTokenId");
    }
}

TEST_CASE("the signing-key cache derives a key once per secret and scope", "[verifier]") {
    const auto cfg = test_config();
    signing_key_cache cache;
    const verify_options options{{"sts", "ec2"}, 15min, &cache};
    auto check = [&](const presigned& token, std::chrono::system_clock::time_point now, const fake_config& c) {
        auto parsed = parse_request(token.in());
        REQUIRE(parsed.ok());
        return code_of(authenticate(*parsed, c, now, options));
    };

    const auto first = make_token();
    CHECK(check(first, t0, cfg) == "ok");
    CHECK(check(first, t0 + 1s, cfg) == "ok");
    CHECK(cache.derivations() == 1);

    // Another day, another region: other keys.
    token_spec next_day;
    next_day.time = t0 + 24h;
    CHECK(check(make_token(next_day), t0 + 24h, cfg) == "ok");
    token_spec east;
    east.region = "us-east-1";
    east.host = "sts.us-east-1.amazonaws.com";
    CHECK(check(make_token(east), t0, cfg) == "ok");
    CHECK(cache.derivations() == 3);
    CHECK(cache.size() == 3);

    // The same key id with another secret: the cached key of the first secret is not used.
    auto rotated = cfg;
    rotated.credentials[0].secret_access_key = secret<std::string>("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ");
    CHECK(check(first, t0, rotated) == "SignatureDoesNotMatch");
    CHECK(cache.derivations() == 4);
    token_spec signed_with_rotated;
    signed_with_rotated.creds.secret_access_key = rotated.credentials[0].secret_access_key;
    CHECK(check(make_token(signed_with_rotated), t0, rotated) == "ok");
    CHECK(check(make_token(signed_with_rotated), t0, cfg) == "SignatureDoesNotMatch");
    CHECK(cache.derivations() == 4);

    // A rejection before the signature (expired) derives nothing.
    CHECK(check(make_token(next_day), t0 + 48h, cfg) == "ExpiredToken");
    CHECK(cache.derivations() == 4);
}

TEST_CASE("the signing-key cache stays bounded and keeps answering right", "[verifier]") {
    signing_key_cache cache;
    const secret<std::string> key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    const std::size_t n = signing_key_cache::max_entries + 10;
    for (std::size_t i = 0; i < n; ++i) {
        const sigv4::credential_scope scope{"20230428", "region-" + std::to_string(i), "sts"};
        const auto got = cache.get(key, scope);
        if (i % 1000 == 0 || i + 1 == n) CHECK(got == sigv4::signing_key(key, scope));
        REQUIRE(cache.size() <= signing_key_cache::max_entries);
    }
    CHECK(cache.derivations() == n);
    CHECK(cache.size() == 10);  // emptied once, at max_entries
    const sigv4::credential_scope last{"20230428", "region-" + std::to_string(n - 1), "sts"};
    CHECK(cache.get(key, last) == sigv4::signing_key(key, last));
    CHECK(cache.derivations() == n);

    // Fields that would run together without their lengths are distinct entries.
    const sigv4::credential_scope a{"20230428", "us-west-2", "sts"};
    const sigv4::credential_scope b{"20230428", "us-west-2s", "ts"};
    CHECK(cache.get(key, a) == sigv4::signing_key(key, a));
    CHECK(cache.get(key, b) == sigv4::signing_key(key, b));
    CHECK(cache.get(key, a) != cache.get(key, b));
}
