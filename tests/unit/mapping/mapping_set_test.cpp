#include "helpers.hpp"

using namespace mapping_test;

namespace {

role_mapping role(const std::string& arn, const std::string& username, std::vector<std::string> groups = {}) {
    role_mapping m;
    m.rolearn = arn;
    m.username = username;
    m.groups = std::move(groups);
    return m;
}

role_mapping sso_role(const std::string& permission_set, const std::string& account, const std::string& username,
                      const std::string& partition = "") {
    role_mapping m;
    m.sso = sso_spec{permission_set, account, partition};
    m.username = username;
    return m;
}

user_mapping user(const std::string& arn, const std::string& username) {
    user_mapping m;
    m.userarn = arn;
    m.username = username;
    return m;
}

identity with_canonical(identity id, const std::string& canonical) {
    id.canonical_arn = canonical;
    return id;
}

std::string compile_error(const mapping_document& doc, source_kind source = source_kind::mounted_file) {
    auto r = compile(doc, compile_options{source, false});
    return r ? std::string("ok") : r.err().code + ": " + r.err().message;
}

}  // namespace

TEST_CASE("TestRoleARNMapping: case-insensitive exact match", "[mapping_set]") {
    mapping_document doc;
    doc.roles.push_back(role("arn:aws:iam::012345678912:role/KubeAdmin", "admin"));
    const auto set = must_compile(doc).mappings;
    CHECK(lookup(set, role_identity("012345678912", "KubeAdmin", "s")) == "admin");
    CHECK(lookup(set, role_identity("012345678912", "kubeadmin", "s")) == "admin");
    CHECK(lookup(set, role_identity("012345678912", "KUBEADMIN", "s")) == "admin");
    CHECK(lookup(set, role_identity("012345678912", "notKubeAdmin", "s")).empty());
    CHECK(lookup(set, role_identity("012345678913", "KubeAdmin", "s")).empty());
    CHECK(lookup(set, role_identity("012345678912", "KubeAdmin", "s", "aws-cn")).empty());

    mapping_document empty;
    empty.roles.push_back(role_mapping{});
    CHECK(compile_error(empty) == "invalid_mapping: mapRoles[0]: one of rolearn or sso must be supplied");
}

TEST_CASE("TestUserARNMapping: case-insensitive exact match", "[mapping_set]") {
    mapping_document doc;
    doc.users.push_back(user("arn:aws:iam::012345678912:user/Shanice", "shanice"));
    const auto set = must_compile(doc).mappings;
    CHECK(lookup(set, user_identity("012345678912", "shanice")) == "shanice");
    CHECK(lookup(set, user_identity("012345678912", "Shanice")) == "shanice");
    CHECK(lookup(set, user_identity("012345678912", "notShanice")).empty());

    mapping_document empty;
    empty.users.push_back(user_mapping{});
    CHECK(compile_error(empty) == "invalid_mapping: mapUsers[0].userarn: value for userarn must be supplied");
}

TEST_CASE("TestSSORoleMapping with the A5 exact suffix", "[mapping_set][sso]") {
    mapping_document doc;
    doc.roles.push_back(sso_role("ViewOnlyAccess", "012345678912", "viewer"));
    const auto set = must_compile(doc).mappings;
    CHECK(sso_pattern_prefix(doc.roles[0].sso.value()) == "arn:aws:iam::012345678912:role/awsreservedsso_viewonlyaccess_");

    const auto real = role_identity("012345678912", "AWSReservedSSO_ViewOnlyAccess_0123456789abcdef", "jane");
    CHECK(lookup(set, real, true) == "viewer");
    CHECK(lookup(set, role_identity("012345678912", "awsreservedsso_viewonlyaccess_0123456789ABCDEF", "j"), true) == "viewer");
    // The reference's vector `_abcdefg` matched its `_*` glob; A5 requires `_` + 16 hex digits.
    CHECK(lookup(set, role_identity("012345678912", "awsreservedsso_viewonlyaccess_abcdefg", "j"), true).empty());
    CHECK(lookup(set, role_identity("012345678912", "awsreservedsso_billing_hijklmn", "j"), true).empty());
    CHECK(lookup(set, role_identity("012345678912", "AWSReservedSSO_Billing_0123456789abcdef", "j"), true).empty());
    CHECK(lookup(set, role_identity("012345678912", "AWSReservedSSO_ViewOnlyAccess_0123456789abcde", "j"), true).empty());
    CHECK(lookup(set, role_identity("012345678912", "AWSReservedSSO_ViewOnlyAccess_0123456789abcdef0", "j"), true).empty());
    CHECK(lookup(set, role_identity("012345678912", "AWSReservedSSO_ViewOnlyAccess_0123456789abcdeg", "j"), true).empty());
    CHECK(lookup(set, role_identity("012345678913", "AWSReservedSSO_ViewOnlyAccess_0123456789abcdef", "j"), true).empty());
    // Gate off: validates, never matches.
    CHECK(lookup(set, real, false).empty());

    SECTION("invalid SSO entries") {
        mapping_document bad;
        bad.roles.push_back(sso_role("ViewOnlyAccess", "012345678912", "v", "aws-nk"));
        CHECK(compile_error(bad) == "invalid_mapping: mapRoles[0]: sso.partition: not a recognized partition");
        bad.roles[0] = sso_role("ViewOnlyAccess", "0123456789", "v");
        CHECK(compile_error(bad) == "invalid_mapping: mapRoles[0]: sso.accountID: must be exactly 12 digits");
        bad.roles[0] = sso_role("ViewOnlyAccess*", "012345678912", "v");
        CHECK(compile_error(bad) == "invalid_mapping: mapRoles[0]: sso.permissionSetName: must match ^[\\w+=,.@-]{1,32}$");
        bad.roles[0] = sso_role(std::string(33, 'a'), "012345678912", "v");
        CHECK(compile_error(bad).starts_with("invalid_mapping: mapRoles[0]: sso.permissionSetName"));
        bad.roles[0] = sso_role("", "012345678912", "v");
        CHECK(compile_error(bad).starts_with("invalid_mapping: mapRoles[0]: sso.permissionSetName"));
        bad.roles[0] = sso_role("ViewOnlyAccess", "012345678912", "v");
        bad.roles[0].rolearn = "arn:aws:iam::012345678912:role/x";
        CHECK(compile_error(bad) == "invalid_mapping: mapRoles[0]: only one of rolearn or sso can be supplied");
    }
}

TEST_CASE("SSO: a shorter permission set never matches a longer one", "[mapping_set][sso]") {
    mapping_document doc;
    doc.roles.push_back(sso_role("Admin", "012345678912", "admin"));
    doc.roles.push_back(sso_role("Admin_Extra", "012345678912", "extra"));
    const auto set = must_compile(doc).mappings;
    CHECK(lookup(set, role_identity("012345678912", "AWSReservedSSO_Admin_Extra_0123456789abcdef", "j"), true) == "extra");
    CHECK(lookup(set, role_identity("012345678912", "AWSReservedSSO_Admin_0123456789abcdef", "j"), true) == "admin");

    mapping_document only_admin;
    only_admin.roles.push_back(sso_role("Admin", "012345678912", "admin"));
    const auto narrow = must_compile(only_admin).mappings;
    CHECK(lookup(narrow, role_identity("012345678912", "AWSReservedSSO_Admin_Extra_0123456789abcdef", "j"), true).empty());
}

TEST_CASE("SSO: the configured partition is honoured", "[mapping_set][sso]") {
    mapping_document doc;
    doc.roles.push_back(sso_role("Dev", "012345678912", "cn-dev", "aws-cn"));
    doc.roles.push_back(sso_role("Ops", "012345678912", "aws-ops", "aws"));  // explicit aws: broken in the reference
    doc.roles.push_back(sso_role("Gov", "012345678912", "default-gov"));      // empty partition = aws
    const auto set = must_compile(doc).mappings;
    CHECK(lookup(set, role_identity("012345678912", "AWSReservedSSO_Dev_0123456789abcdef", "j", "aws-cn"), true) == "cn-dev");
    CHECK(lookup(set, role_identity("012345678912", "AWSReservedSSO_Dev_0123456789abcdef", "j", "aws"), true).empty());
    CHECK(lookup(set, role_identity("012345678912", "AWSReservedSSO_Ops_0123456789abcdef", "j", "aws"), true) == "aws-ops");
    CHECK(lookup(set, role_identity("012345678912", "AWSReservedSSO_Gov_0123456789abcdef", "j", "aws"), true) == "default-gov");
    CHECK(lookup(set, role_identity("012345678912", "AWSReservedSSO_Gov_0123456789abcdef", "j", "aws-us-gov"), true).empty());
}

TEST_CASE("file mapper TestMap vectors (part B §10.4)", "[mapping_set]") {
    mapping_document doc;
    doc.roles.push_back(role("arn:aws:iam::012345678910:role/test-role", "shreyas", {"system:masters"}));
    doc.roles.push_back(sso_role("CookieCutterPermissions", "012345678910", "cookie"));
    doc.roles.push_back(role("arn:aws:sts::012345678910:assumed-role/test-assumed-role/session-name", "assumed"));
    doc.users.push_back(user("arn:aws:iam::012345678910:user/donald", "donald"));
    doc.accounts = {"000000000000"};
    const auto loaded = must_compile(doc);
    const auto& set = loaded.mappings;
    CHECK(loaded.warnings.empty());
    CHECK(set.role_count() == 2);
    CHECK(set.sso_count() == 1);
    CHECK(set.user_count() == 1);
    CHECK(lookup(set, role_identity("012345678910", "test-role", "s")) == "shreyas");
    CHECK(lookup(set, role_identity("012345678910", "AWSReservedSSO_CookieCutterPermissions_123123123", "s"), true).empty());
    CHECK(lookup(set, role_identity("012345678910", "AWSReservedSSO_CookieCutterPermissions_0000aaaa1111bbbb", "s"), true) ==
          "cookie");
    // The assumed-role ARN in the config is stored as its role.
    CHECK(lookup(set, role_identity("012345678910", "test-assumed-role", "other-session")) == "assumed");
    CHECK(lookup(set, user_identity("012345678910", "donald")) == "donald");
    CHECK(set.account_allowed("000000000000"));
    CHECK_FALSE(set.account_allowed("00000000000"));
    CHECK_FALSE(set.account_allowed(""));
}

TEST_CASE("role and user paths are ignored on both sides (A5)", "[mapping_set]") {
    mapping_document doc;
    doc.roles.push_back(role("arn:aws:iam::111122223333:role/team/platform/Admin", "admin-with-path"));
    doc.roles.push_back(role("arn:aws:iam::111122223333:role/Deployer", "deployer"));
    doc.roles.push_back(role("arn:aws:iam::111122223333:role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForEKS", "slr"));
    doc.roles.push_back(role("arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
                             "AWSReservedSSO_Dev_0123456789abcdef", "sso-exact"));
    doc.users.push_back(user("arn:aws:iam::111122223333:user/engineering/Alice", "alice"));
    doc.users.push_back(user("arn:aws:iam::111122223333:user/Bob", "bob"));
    const auto set = must_compile(doc).mappings;
    // STS drops role paths: the identity is role/Admin.
    CHECK(lookup(set, role_identity("111122223333", "Admin", "s")) == "admin-with-path");
    CHECK(lookup(set, role_identity("111122223333", "AWSServiceRoleForEKS", "s")) == "slr");
    CHECK(lookup(set, role_identity("111122223333", "AWSReservedSSO_Dev_0123456789abcdef", "s")) == "sso-exact");
    // A path on the identity side (IAM user ARNs keep it; hand-made multi-segment roles) is ignored too.
    CHECK(lookup(set, with_canonical(role_identity("111122223333", "Deployer", "s"),
                                     "arn:aws:iam::111122223333:role/ci/Deployer")) == "deployer");
    CHECK(lookup(set, user_identity("111122223333", "engineering/Alice")) == "alice");
    CHECK(lookup(set, user_identity("111122223333", "Alice")) == "alice");
    CHECK(lookup(set, user_identity("111122223333", "other/path/alice")) == "alice");
    CHECK(lookup(set, user_identity("111122223333", "ops/Bob")) == "bob");
    // The name still has to match, and a role never matches a user of the same name.
    CHECK(lookup(set, role_identity("111122223333", "Admin2", "s")).empty());
    CHECK(lookup(set, user_identity("111122223333", "Admin")).empty());
}

TEST_CASE("root and federated users map through mapUsers", "[mapping_set]") {
    mapping_document doc;
    doc.users.push_back(user("arn:aws:iam::111122223333:root", "root"));
    doc.users.push_back(user("arn:aws:sts::111122223333:federated-user/Bob", "fed-bob"));
    const auto set = must_compile(doc).mappings;
    identity root = user_identity("111122223333", "x");
    root.arn = root.canonical_arn = "arn:aws:iam::111122223333:root";
    CHECK(lookup(set, root) == "root");
    identity fed = user_identity("111122223333", "x");
    fed.arn = fed.canonical_arn = "arn:aws:sts::111122223333:federated-user/bob";
    CHECK(lookup(set, fed) == "fed-bob");
}

TEST_CASE("duplicates: first wins, with a warning", "[mapping_set]") {
    mapping_document doc;
    doc.roles.push_back(role("arn:aws:iam::111122223333:role/Admin", "first"));
    doc.roles.push_back(role("arn:aws:iam::111122223333:role/path/ADMIN", "second"));
    doc.roles.push_back(role("arn:aws:sts::111122223333:assumed-role/Admin/s", "third"));
    doc.roles.push_back(sso_role("Dev", "111122223333", "sso-first"));
    doc.roles.push_back(sso_role("dev", "111122223333", "sso-second"));
    doc.users.push_back(user("arn:aws:iam::111122223333:user/Alice", "alice-1"));
    doc.users.push_back(user("arn:aws:iam::111122223333:user/alice", "alice-2"));
    const auto loaded = must_compile(doc);
    CHECK(lookup(loaded.mappings, role_identity("111122223333", "Admin", "s")) == "first");
    CHECK(lookup(loaded.mappings, role_identity("111122223333", "AWSReservedSSO_Dev_0123456789abcdef", "s"), true) == "sso-first");
    CHECK(lookup(loaded.mappings, user_identity("111122223333", "Alice")) == "alice-1");
    REQUIRE(loaded.warnings.size() == 4);
    CHECK(loaded.warnings[0].code == "duplicate_entry");
    CHECK(loaded.warnings[0].message == "mapRoles[1]: same rolearn as mapRoles[0]; the first entry wins");
    CHECK(loaded.warnings[1].message == "mapRoles[2]: same rolearn as mapRoles[0]; the first entry wins");
    CHECK(loaded.warnings[2].message == "mapRoles[4]: same sso permission set as mapRoles[3]; the first entry wins");
    CHECK(loaded.warnings[3].message == "mapUsers[1]: same userarn as mapUsers[0]; the first entry wins");
    for (const auto& w : loaded.warnings) CHECK(w.message.find("Admin") == std::string::npos);  // no contents
}

TEST_CASE("lookup order: exact roles, exact users, then SSO patterns", "[mapping_set]") {
    const std::string sso_name = "AWSReservedSSO_Dev_0123456789abcdef";
    mapping_document doc;
    doc.roles.push_back(sso_role("Dev", "111122223333", "pattern"));  // listed first, still after exact
    doc.roles.push_back(role("arn:aws:iam::111122223333:role/" + sso_name, "exact"));
    CHECK(lookup(must_compile(doc).mappings, role_identity("111122223333", sso_name, "s"), true) == "exact");

    mapping_document both;  // a role ARN in mapUsers: the role entry wins
    both.users.push_back(user("arn:aws:iam::111122223333:role/Shared", "as-user"));
    both.roles.push_back(role("arn:aws:iam::111122223333:role/Shared", "as-role"));
    CHECK(lookup(must_compile(both).mappings, role_identity("111122223333", "Shared", "s")) == "as-role");

    mapping_document user_then_sso;
    user_then_sso.users.push_back(user("arn:aws:iam::111122223333:role/" + sso_name, "exact-user"));
    user_then_sso.roles.push_back(sso_role("Dev", "111122223333", "pattern"));
    CHECK(lookup(must_compile(user_then_sso).mappings, role_identity("111122223333", sso_name, "s"), true) == "exact-user");
}

TEST_CASE("invalid entries: MountedFile fails naming the entry, EKSConfigMap skips it", "[mapping_set]") {
    mapping_document doc;
    doc.roles.push_back(role("arn:aws:iam::111122223333:role/Good", "good"));
    doc.roles.push_back(role("not-an-arn", "bad"));
    doc.users.push_back(user("arn:aws:iam::111122223333:group/Admins", "group"));
    doc.users.push_back(user("arn:aws-nk:iam::111122223333:user/x", "bad-partition"));
    doc.accounts = {"", "111122223333"};

    CHECK(compile_error(doc) == "invalid_mapping: mapRoles[1].rolearn: not a valid IAM principal ARN (bad_arn)");
    doc.roles.pop_back();
    CHECK(compile_error(doc) == "invalid_mapping: mapUsers[0].userarn: not a valid IAM principal ARN (unsupported_resource)");
    doc.roles.push_back(role("not-an-arn", "bad"));

    auto cm = compile(doc, compile_options{source_kind::eks_configmap, false});
    REQUIRE(cm.ok());
    CHECK(lookup(cm->mappings, role_identity("111122223333", "Good", "s")) == "good");
    CHECK(cm->mappings.role_count() == 1);
    CHECK(cm->mappings.user_count() == 0);
    CHECK(cm->mappings.account_allowed("111122223333"));
    REQUIRE(cm->warnings.size() == 4);
    CHECK(cm->warnings[0].message == "mapRoles[1].rolearn: not a valid IAM principal ARN (bad_arn); entry skipped");
    CHECK(cm->warnings[1].message == "mapUsers[0].userarn: not a valid IAM principal ARN (unsupported_resource); entry skipped");
    CHECK(cm->warnings[2].message == "mapUsers[1].userarn: not a valid IAM principal ARN (unknown_partition); entry skipped");
    CHECK(cm->warnings[3].message == "mapAccounts[0]: empty account id; entry skipped");
    for (const auto& w : cm->warnings) CHECK(w.code == "invalid_entry_skipped");
}

TEST_CASE("an identity that is not an IAM principal cannot be keyed", "[mapping_set]") {
    identity id = role_identity("1", "r", "s");
    id.canonical_arn = "arn:aws:s3:::bucket";
    CHECK(lookup(mapping_set{}, id) == "error:invalid_identity");
    CHECK(lookup(mapping_set{}, role_identity("1", "r", "s")).empty());
}
