#include "sigv4/sigv4.hpp"

#include "crypto/crypto.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace stsauth;
using namespace std::chrono;

TEST_CASE("amz date format and strict parse", "[sigv4]") {
    const auto t = *sigv4::parse_amz_date("20150830T123600Z");
    CHECK(sigv4::format_amz_date(t) == "20150830T123600Z");
    CHECK(sigv4::format_amz_date(t + milliseconds(999)) == "20150830T123600Z");
    CHECK(sigv4::parse_amz_date("20150830T123600").code() == "bad_date");
    CHECK(sigv4::parse_amz_date("2015083OT123600Z").code() == "bad_date");
    CHECK(sigv4::parse_amz_date("20150231T123600Z").code() == "bad_date");  // 31 February
    CHECK(sigv4::parse_amz_date("20150830T243600Z").code() == "bad_date");
    CHECK(sigv4::parse_amz_date("20150830T126000Z").code() == "bad_date");
    CHECK(sigv4::parse_amz_date("+0150830T123600Z").code() == "bad_date");
    CHECK(sigv4::parse_amz_date("").code() == "bad_date");
    // Years system_clock cannot hold are refused, not overflowed (found by UBSan).
    CHECK(sigv4::parse_amz_date("30260101T000000Z").code() == "bad_date");
    CHECK(sigv4::parse_amz_date("99991231T235959Z").code() == "bad_date");
    CHECK(sigv4::parse_amz_date("19691231T235959Z").code() == "bad_date");
    CHECK(sigv4::parse_amz_date("21991231T235959Z").ok());
}

TEST_CASE("credential scope parse", "[sigv4]") {
    const auto s = sigv4::credential_scope::parse("20150830/us-east-1/sts/aws4_request");
    REQUIRE(s.ok());
    CHECK(s->date == "20150830");
    CHECK(s->region == "us-east-1");
    CHECK(s->service == "sts");
    CHECK(s->str() == "20150830/us-east-1/sts/aws4_request");
    CHECK(sigv4::credential_scope::parse("20150830/us-east-1/sts").code() == "bad_scope");
    CHECK(sigv4::credential_scope::parse("20150830/us-east-1/sts/aws4_request/x").code() == "bad_scope");
    CHECK(sigv4::credential_scope::parse("2015083/us-east-1/sts/aws4_request").code() == "bad_scope");
    CHECK(sigv4::credential_scope::parse("20150830//sts/aws4_request").code() == "bad_scope");
    CHECK(sigv4::credential_scope::parse("20150830/us-east-1/sts/aws5_request").code() == "bad_scope");
}

TEST_CASE("presigned GetCallerIdentity URL has botocore's shape", "[sigv4]") {
    sigv4::request req;
    req.query = {{"Action", "GetCallerIdentity"}, {"Version", "2011-06-15"}};
    req.headers = {{"host", "sts.us-west-2.amazonaws.com"}, {"x-k8s-aws-id", "my-cluster"}};
    sigv4::credentials creds{"AKIDEXAMPLE", secret<std::string>("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), {}};
    const sigv4::signing_params params{"us-west-2", "sts", *sigv4::parse_amz_date("20230428T000000Z")};
    const auto trace = sigv4::presign(req, creds, params, seconds(60));
    const auto url = sigv4::to_url(req);
    CHECK(url.rfind("https://sts.us-west-2.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15"
                    "&X-Amz-Algorithm=AWS4-HMAC-SHA256"
                    "&X-Amz-Credential=AKIDEXAMPLE%2F20230428%2Fus-west-2%2Fsts%2Faws4_request"
                    "&X-Amz-Date=20230428T000000Z&X-Amz-Expires=60"
                    "&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Signature=",
                    0) == 0);
    CHECK(trace.signature.size() == 64);
    CHECK(trace.canonical_request.ends_with(
        "\nhost;x-k8s-aws-id\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));

    // The signature binds the cluster id: another x-k8s-aws-id gives another signature.
    sigv4::request other;
    other.query = {{"Action", "GetCallerIdentity"}, {"Version", "2011-06-15"}};
    other.headers = {{"host", "sts.us-west-2.amazonaws.com"}, {"x-k8s-aws-id", "other-cluster"}};
    CHECK(sigv4::presign(other, creds, params, seconds(60)).signature != trace.signature);
}

TEST_CASE("session token is added to the presigned query before signing", "[sigv4]") {
    sigv4::request req;
    req.headers = {{"host", "sts.amazonaws.com"}};
    sigv4::credentials creds{"ASIAEXAMPLE", secret<std::string>("secret"), secret<std::string>("tok/en+=")};
    sigv4::presign(req, creds, {"us-east-1", "sts", *sigv4::parse_amz_date("20230428T000000Z")}, seconds(60));
    REQUIRE(req.query.size() == 7);
    CHECK(req.query[5].key == "X-Amz-Security-Token");
    CHECK(req.query[6].key == "X-Amz-Signature");
    CHECK(sigv4::to_url(req).find("X-Amz-Security-Token=tok%2Fen%2B%3D") != std::string::npos);
}

TEST_CASE("canonical uri normalisation", "[sigv4]") {
    CHECK(sigv4::canonical_uri("/", true) == "/");
    CHECK(sigv4::canonical_uri("", true) == "/");
    CHECK(sigv4::canonical_uri("//example//", true) == "/example/");
    CHECK(sigv4::canonical_uri("/example/..", true) == "/");
    CHECK(sigv4::canonical_uri("/./example/./x", true) == "/example/x");
    CHECK(sigv4::canonical_uri("//example//", false) == "//example//");
    CHECK(sigv4::canonical_uri("/a b", false) == "/a%20b");
}

TEST_CASE("append_canonical_request appends exactly canonical_request, scratch re-use included", "[sigv4]") {
    sigv4::request req;
    req.method = "POST";
    req.path = "/a/./b//c";
    // Sorted by the encoded key, then value: "%7F" < "A" < "a" < "b"; "~" sorts last.
    req.query = {{"b", "2"}, {"a", "z"}, {"a", "y"}, {"\x7f", "1"}, {"~", "t"}, {"A", "sp ace"},
                 {"X-Amz-Signature", "excluded"}};
    // Repeated names in mixed case are joined in received order; "ahost" is no repeat of "host".
    req.headers = {{"Host", "example.com"}, {"X-Rep", " one  two "}, {"ahost", "x"}, {"x-rep", "three"},
                   {"HOST", "second"}, {"unsigned", "u"}};
    const std::vector<std::string> only{"host", "x-rep", "ahost"};
    const std::string expected =
        "POST\n/a/b/c\n%7F=1&A=sp%20ace&a=y&a=z&b=2&~=t\n"
        "ahost:x\nhost:example.com,second\nx-rep:one two,three\n\nahost;host;x-rep\nUNSIGNED-PAYLOAD";
    CHECK(sigv4::canonical_request(req, "UNSIGNED-PAYLOAD", true, only) == expected);
    for (int round = 0; round < 2; ++round) {  // the second round re-uses the per-thread scratch
        std::string out = "prefix|";
        sigv4::append_canonical_request(out, req.method, req.path, req.query, req.headers, "UNSIGNED-PAYLOAD", true,
                                        only);
        CHECK(out == "prefix|" + expected);
    }
    // Without `only`, every header is signed; a header whose name only differs in case joins.
    CHECK(sigv4::canonical_headers(req.headers).signed_headers == "ahost;host;unsigned;x-rep");
    CHECK(sigv4::canonical_headers(req.headers).canonical ==
          "ahost:x\nhost:example.com,second\nunsigned:u\nx-rep:one two,three\n");
    // Only a lower-case entry of `only` selects: names are compared after lower-casing.
    const std::vector<std::string> upper_only{"HOST"};
    CHECK(sigv4::canonical_headers(req.headers, upper_only).canonical.empty());
}

TEST_CASE("append_string_to_sign appends exactly string_to_sign", "[sigv4]") {
    const sigv4::credential_scope scope{"20150830", "us-east-1", "iam"};
    const auto sts = sigv4::string_to_sign("20150830T123600Z", scope, "canonical");
    CHECK(sts == "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n" +
                     crypto::sha256_hex("canonical"));
    std::string out = "x";
    sigv4::append_string_to_sign(out, "20150830T123600Z", scope, "canonical");
    CHECK(out == "x" + sts);
}

TEST_CASE("canonical header values: trimmed, inner runs of spaces, tabs and line breaks one space", "[sigv4]") {
    const std::vector<sigv4::header_field> headers{
        {"A", "plain"}, {"B", "  lead and trail  "}, {"C", "\ttabs\t\tinside\t"}, {"D", "x \r\n y"},
        {"E", "end\n"}, {"F", ""}, {"G", "   "}, {"H", "a  b   c    d"}};
    CHECK(sigv4::canonical_headers(headers).canonical ==
          "a:plain\nb:lead and trail\nc:tabs inside\nd:x y\ne:end \nf:\ng:\nh:a b c d\n");
}
