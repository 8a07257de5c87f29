// ARN parsing, canonicalisation, StripPath, ArnLike and the matching key.
// Vectors: SPEC-reference §10.3 (pkg/arn/arn_test.go, pkg/arn/arnlike_test.go) plus our own.

#include "arn/arn.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <string>

using namespace stsauth;
using stsauth::arn::principal_type;

namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

}  // namespace

TEST_CASE("parse splits six sections and keeps ':' in the resource", "[arn]") {
    auto p = arn::parse("arn:aws:iam::123456789012:user/Alice");
    REQUIRE(p.ok());
    CHECK(p->partition == "aws");
    CHECK(p->service == "iam");
    CHECK(p->region.empty());
    CHECK(p->account == "123456789012");
    CHECK(p->resource == "user/Alice");

    auto c = arn::parse("arn:aws:testservice::000000000000:some/wacky:resource:with:colon:delims");
    REQUIRE(c.ok());
    CHECK(c->resource == "some/wacky:resource:with:colon:delims");

    CHECK(arn::parse("NOT AN ARN").code() == "bad_arn");
    CHECK(arn::parse("NOT AN ARN").err().message == "arn: invalid prefix");
    CHECK(arn::parse("ARN:aws:iam::1:root").code() == "bad_arn");  // prefix is case-sensitive
    CHECK(arn::parse("arn:aws:iam:000000000000:role/some-role").code() == "bad_arn");
    CHECK(arn::parse("arn:aws:iam:000000000000:role/some-role").err().message == "arn: not enough sections");
    CHECK(arn::parse("arn:::::").ok());  // six empty-ish sections: syntactically an ARN
}

TEST_CASE("parse_view gives parse's sections and errors, as views into the text", "[arn]") {
    for (const std::string text : {"arn:aws:iam::123456789012:user/Alice", "arn:aws:sts::1:assumed-role/a/b/c",
                                   "arn:aws:testservice::0:some/wacky:resource:with:colon", "arn:::::", "NOT AN ARN",
                                   "ARN:aws:iam::1:root", "arn:aws:iam:0:role/r", "arn:", ""}) {
        INFO(text);
        const auto copy = arn::parse(text);
        const auto view = arn::parse_view(text);
        REQUIRE(copy.ok() == view.ok());
        if (!copy.ok()) {
            CHECK(view.code() == copy.code());
            CHECK(view.err().message == copy.err().message);
            continue;
        }
        CHECK(view->partition == copy->partition);
        CHECK(view->service == copy->service);
        CHECK(view->region == copy->region);
        CHECK(view->account == copy->account);
        CHECK(view->resource == copy->resource);
        CHECK(view->resource.data() + view->resource.size() == text.data() + text.size());  // no copy
    }
}

TEST_CASE("the eight partitions", "[arn]") {
    for (auto p : {"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"})
        CHECK(arn::known_partition(p));
    CHECK(arn::partitions().size() == 8);
    for (auto p : {"", "AWS", "aws-nk", "aws-not-a-partition", "aws "}) CHECK_FALSE(arn::known_partition(p));
}

TEST_CASE("canonicalize: SPEC-reference §10.3 vectors", "[arn]") {
    struct row {
        const char* in;
        const char* out;
        principal_type type;
    };
    const row rows[] = {
        {"arn:aws:iam::123456789012:user/Alice", "arn:aws:iam::123456789012:user/Alice", principal_type::user},
        {"arn:aws:iam::123456789012:role/Users", "arn:aws:iam::123456789012:role/Users", principal_type::role},
        {"arn:aws:sts::123456789012:assumed-role/Admin/Session", "arn:aws:iam::123456789012:role/Admin",
         principal_type::assumed_role},
        {"arn:aws:sts::123456789012:federated-user/Bob", "arn:aws:sts::123456789012:federated-user/Bob",
         principal_type::federated_user},
        {"arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:root", principal_type::root},
        {"arn:aws:sts::123456789012:assumed-role/Org/Team/Admin/Session", "arn:aws:iam::123456789012:role/Org/Team/Admin",
         principal_type::assumed_role},
        {"arn:aws-iso:iam::123456789012:user/Chris", "arn:aws-iso:iam::123456789012:user/Chris", principal_type::user},
        {"arn:aws-iso-b:iam::123456789012:user/Chris", "arn:aws-iso-b:iam::123456789012:user/Chris", principal_type::user},
    };
    for (const auto& r : rows) {
        INFO(r.in);
        auto c = arn::canonicalize(r.in);
        REQUIRE(c.ok());
        CHECK(c->arn == r.out);
        CHECK(c->type == r.type);
    }
    CHECK(arn::canonicalize("NOT AN ARN").code() == "bad_arn");
}

TEST_CASE("canonicalize keeps case and paths, and rewrites partitions faithfully", "[arn]") {
    CHECK(arn::canonicalize("arn:aws:iam::1:role/a/b/MixedCase")->arn == "arn:aws:iam::1:role/a/b/MixedCase");
    CHECK(arn::canonicalize("arn:aws:iam::1:user/path/Bob")->arn == "arn:aws:iam::1:user/path/Bob");
    CHECK(arn::canonicalize("arn:aws-cn:sts::1:assumed-role/R/s")->arn == "arn:aws-cn:iam::1:role/R");
    CHECK(arn::canonicalize("arn:aws-eusc:sts::1:assumed-role/R/s")->arn == "arn:aws-eusc:iam::1:role/R");
    // The reference keeps an empty session segment: role is everything between the first and last '/'.
    CHECK(arn::canonicalize("arn:aws:sts::1:assumed-role/R/")->arn == "arn:aws:iam::1:role/R");
    // The account id is not validated (the reference's tests use 13 digits).
    CHECK(arn::canonicalize("arn:aws:iam::0123456789012:role/Test")->arn == "arn:aws:iam::0123456789012:role/Test");
}

TEST_CASE("canonicalize rejections carry stable codes", "[arn]") {
    CHECK(arn::canonicalize("arn").code() == "bad_arn");
    CHECK(arn::canonicalize("arn").err().message == "arn 'arn' is invalid: 'arn: invalid prefix'");
    CHECK(arn::canonicalize("arn:aws:iam:1:role/x").code() == "bad_arn");
    CHECK(arn::canonicalize("arn:aws-nk:iam::1:role/x").code() == "unknown_partition");
    CHECK(arn::canonicalize("arn:AWS:iam::1:role/x").code() == "unknown_partition");
    CHECK(arn::canonicalize("arn:aws:s3:::bucket").code() == "unsupported_service");
    CHECK(arn::canonicalize("arn:aws:IAM::1:role/x").code() == "unsupported_service");
    CHECK(arn::canonicalize("arn:aws:iam::1:group/admins").code() == "unsupported_resource");
    CHECK(arn::canonicalize("arn:aws:iam::1:Role/x").code() == "unsupported_resource");
    CHECK(arn::canonicalize("arn:aws:sts::1:role/x").code() == "unsupported_resource");
    CHECK(arn::canonicalize("arn:aws:sts::1:assumed-role/OnlyRole").code() == "assumed_role_without_role");
    CHECK(arn::canonicalize("arn:aws:sts::1:assumed-role").code() == "assumed_role_without_role");
}

TEST_CASE("to_string names the principal types as the reference", "[arn]") {
    CHECK(arn::to_string(principal_type::role) == "ROLE");
    CHECK(arn::to_string(principal_type::assumed_role) == "ASSUMED_ROLE");
    CHECK(arn::to_string(principal_type::user) == "USER");
    CHECK(arn::to_string(principal_type::root) == "ROOT");
    CHECK(arn::to_string(principal_type::federated_user) == "FEDERATED_USER");
}

TEST_CASE("strip_path: SPEC-reference §10.3 vectors", "[arn]") {
    CHECK(arn::strip_path("NOT AN ARN").code() == "bad_arn");
    CHECK(*arn::strip_path("arn:aws:iam::123456789012:role/Org/Team/Admin") == "arn:aws:iam::123456789012:role/Admin");
    CHECK(*arn::strip_path("arn:aws:iam::123456789012:role/Admin") == "arn:aws:iam::123456789012:role/Admin");
    CHECK(*arn::strip_path("arn:aws:iam::123456789012:user/Alice") == "arn:aws:iam::123456789012:user/Alice");
    CHECK(*arn::strip_path("arn:aws:sts::123456789012:federated-user/Bob") ==
          "arn:aws:sts::123456789012:federated-user/Bob");
    // Our additions: partition check, service-linked and SSO role paths, users untouched.
    CHECK(arn::strip_path("arn:aws-nk:iam::1:role/a/b").code() == "unknown_partition");
    CHECK(*arn::strip_path("arn:aws:iam::1:role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForEKS") ==
          "arn:aws:iam::1:role/AWSServiceRoleForEKS");
    CHECK(*arn::strip_path("arn:aws:iam::1:user/path/Alice") == "arn:aws:iam::1:user/path/Alice");
    CHECK(*arn::strip_path("arn:aws:iam::1:role") == "arn:aws:iam::1:role");
}

TEST_CASE("arn_like: SPEC-reference §10.3 positives", "[arn]") {
    const char* role = "arn:aws:iam::000000000000:role/some-role";
    const char* wacky = "arn:aws:testservice::000000000000:some/wacky-new-[resource]{with}\\metacharacters";
    const std::pair<const char*, const char*> rows[] = {
        {role, role},
        {role, "arn:aws:iam::000000000000:*"},
        {role, "arn:*:*:*:*:*"},
        {role, "arn:aws:iam::000000000000:**"},
        {role, "arn:aws:iam::000000000000:*role*"},
        {role, "arn:aws:iam::000000000000:ro*"},
        {role, "arn:aws:iam::000000000000:??????????????"},
        {wacky, wacky},
        {wacky, "arn:aws:testservice::000000000000:some/wacky-new-[reso*"},
    };
    for (const auto& [a, p] : rows) {
        INFO(a << " ~ " << p);
        auto m = arn::arn_like(a, p);
        REQUIRE(m.ok());
        CHECK(*m);
    }
}

TEST_CASE("arn_like: SPEC-reference §10.3 negatives", "[arn]") {
    CHECK_FALSE(*arn::arn_like("arn:aws:iam::111111111111:role/some-role", "arn:aws:iam::000000000000:role/some-role"));
    CHECK_FALSE(*arn::arn_like("arn:aws:testservice::000000000000:some/wacky:resource:with:colon:delims",
                               "arn:aws:testservice::**:delims"));
}

TEST_CASE("arn_like: SPEC-reference §10.3 errors", "[arn]") {
    auto pat = arn::arn_like("arn:aws:iam::000000000000:role/some-role", "arn:*");
    CHECK(pat.code() == "bad_arn_pattern");
    CHECK(lower(pat.err().message) == "could not parse arnlike string: not enough sections");

    auto prefix = arn::arn_like("nar:aws:iam::000000000000:role/some-role", "arn:*:*:*:*:*");
    CHECK(prefix.code() == "bad_arn");
    CHECK(lower(prefix.err().message) == "could not parse input arn: invalid prefix");

    auto sections = arn::arn_like("arn:aws:iam:000000000000:role/some-role", "arn:*:*:*:*:*");
    CHECK(sections.code() == "bad_arn");
    CHECK(lower(sections.err().message) == "could not parse input arn: not enough sections");
}

TEST_CASE("arn_like quirks: '?' is zero-or-one, '*' crosses '/', metacharacters are literal", "[arn]") {
    const std::string base = "arn:aws:iam::000000000000:";
    auto like = [&](const std::string& res, const std::string& pat) { return *arn::arn_like(base + res, base + pat); };
    // quoteMeta vectors of the reference, expressed as behaviour: "**" = ".*.*", "??" = ".?.?".
    CHECK(like("role/x", "**"));
    CHECK(like("", "**"));
    CHECK(like("", "??"));
    CHECK(like("a", "??"));
    CHECK(like("ab", "??"));
    CHECK_FALSE(like("abc", "??"));
    // "abd.EFG" -> "abd\.EFG": the dot is literal.
    CHECK(like("abd.EFG", "abd.EFG"));
    CHECK_FALSE(like("abdxEFG", "abd.EFG"));
    // Every regex metacharacter is literal: "\.+()|[]{}^$" matches only itself.
    CHECK(like("\\.+()|[]{}^$", "\\.+()|[]{}^$"));
    CHECK_FALSE(like("\\x+()|[]{}^$", "\\.+()|[]{}^$"));
    CHECK_FALSE(like("\\", "\\.+()|[]{}^$"));
    // '*' and '?' at the end of the metacharacter vector are still wildcards.
    CHECK(like("\\.+()|[]{}^$anything", "\\.+()|[]{}^$*?"));
    // '*' crosses '/'.
    CHECK(like("role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_X_0123", "role/*AWSReservedSSO_X_*"));
    // '?' may match nothing (IAM would require exactly one character).
    CHECK(like("role/ab", "role/a?b"));
    CHECK(like("role/axb", "role/a?b"));
    CHECK_FALSE(like("role/axxb", "role/a?b"));
    // Case-sensitive, anchored at both ends.
    CHECK_FALSE(like("role/Admin", "role/admin"));
    CHECK_FALSE(like("role/admin2", "role/admin"));
    CHECK_FALSE(like("xrole/admin", "role/admin"));
    // Sections are compared one by one: a '*' cannot swallow a ':' boundary before the resource.
    CHECK_FALSE(*arn::arn_like("arn:aws:iam::000000000000:role/x", "arn:*:000000000000:role/x:*:*"));
}

TEST_CASE("matching_key: lower-case, role and user paths removed", "[arn]") {
    CHECK(arn::matching_key("arn:aws:iam::1:role/a/b/Name") == "arn:aws:iam::1:role/name");
    CHECK(arn::matching_key("arn:aws:iam::1:role/Name") == "arn:aws:iam::1:role/name");
    CHECK(arn::matching_key("arn:aws:iam::1:user/dept/Alice") == "arn:aws:iam::1:user/alice");
    CHECK(arn::matching_key("arn:aws:iam::012345678912:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
                            "AWSReservedSSO_ViewOnly_0123456789abcdef") ==
          "arn:aws:iam::012345678912:role/awsreservedsso_viewonly_0123456789abcdef");
    CHECK(arn::matching_key("arn:aws:iam::1:root") == "arn:aws:iam::1:root");
    CHECK(arn::matching_key("arn:aws:iam::1:role") == "arn:aws:iam::1:role");
    CHECK(arn::matching_key("arn:aws:sts::1:federated-user/Bob") == "arn:aws:sts::1:federated-user/bob");
    CHECK(arn::matching_key("arn:aws-cn:iam::1:ROLE/P/X") == "arn:aws-cn:iam::1:role/x");
    CHECK(arn::matching_key("Not An ARN") == "not an arn");
    // Same principal whatever the path or case: role from STS vs role from a mapping file.
    const auto from_sts = arn::canonicalize("arn:aws:sts::1:assumed-role/KubeAdmin/session");
    REQUIRE(from_sts.ok());
    CHECK(arn::matching_key(from_sts->arn) == arn::matching_key("arn:aws:iam::1:role/teams/platform/kubeadmin"));
    CHECK(arn::matching_key(from_sts->arn) != arn::matching_key("arn:aws:iam::2:role/KubeAdmin"));
    CHECK(arn::matching_key(from_sts->arn) != arn::matching_key("arn:aws:iam::1:user/KubeAdmin"));
}
