#include "arn/arn.hpp"
#include "common/encoding.hpp"
#include "mapping/arn_key.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace stsauth;

namespace {

// What detail::matching_key is defined as (its header): canonicalize the lower-cased ARN, then
// arn::matching_key. The function takes a shortcut for ARNs that are already canonical; the
// shortcut must not change any answer, error code or message.
std::string by_definition(std::string_view text) {
    auto canonical = arn::canonicalize(encoding::to_lower(text));
    if (!canonical) return "error:" + canonical.err().code + ":" + canonical.err().message;
    return arn::matching_key(canonical->arn);
}

std::string actual(std::string_view text) {
    auto key = mapping::detail::matching_key(text);
    if (!key) return "error:" + key.err().code + ":" + key.err().message;
    return *key;
}

}  // namespace

TEST_CASE("matching_key: the shortcut for canonical ARNs gives what the definition gives", "[mapping][arn_key]") {
    const char* const arns[] = {
        // Canonical, as STS-vouched identities carry them: the shortcut.
        "arn:aws:iam::111122223333:role/Admin",
        "arn:aws:iam::111122223333:role/path/to/Admin",
        "arn:aws:iam::111122223333:role",
        "arn:aws:iam::111122223333:role/",
        "arn:aws:iam::111122223333:user/Alice",
        "arn:aws:iam::111122223333:user/dept/Alice",
        "arn:aws:iam::111122223333:root",
        "arn:aws-cn:iam::111122223333:role/X",
        "arn:aws-us-gov:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_A_0123",
        "arn:aws:sts::111122223333:federated-user/Bob",
        "arn:aws:iam::ABC:role/MiXeD:Colon",
        // Not in canonical spelling: the full path (lower-case first, then canonicalize).
        "arn:aws:sts::111122223333:assumed-role/Admin/session",
        "arn:aws:sts::111122223333:assumed-role/path/Admin/session",
        "ARN:AWS:IAM::111122223333:ROLE/Admin",
        "arn:AWS:iam::111122223333:role/Admin",
        "arn:aws:IAM::111122223333:role/Admin",
        "arn:aws:iam::111122223333:ROLE/P/X",
        "arn:aws:iam::111122223333:User/Alice",
        "arn:aws:STS::111122223333:Assumed-Role/Admin/s",
        "arn:aws:sts::111122223333:FEDERATED-USER/Bob",
        // Errors: the same code and message either way.
        "arn:aws:sts::111122223333:assumed-role/NoSession",
        "arn:aws:iam::111122223333:group/Devs",
        "arn:aws:sts::111122223333:other/x",
        "arn:aws:s3:::bucket",
        "arn:nope:iam::111122223333:role/Admin",
        "arn:aws:iam",
        "not-an-arn",
        "",
    };
    for (const char* a : arns) {
        INFO(a);
        CHECK(actual(a) == by_definition(a));
    }
    CHECK(actual("arn:aws:iam::111122223333:role/path/to/Admin") == "arn:aws:iam::111122223333:role/admin");
    CHECK(actual("arn:aws:sts::111122223333:assumed-role/Admin/session") == "arn:aws:iam::111122223333:role/admin");
    CHECK(actual("arn:aws:iam::111122223333:group/Devs").starts_with("error:unsupported_resource:"));
}
