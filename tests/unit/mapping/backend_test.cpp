#include "mapping/backend.hpp"

#include "mapping/dynamic_file.hpp"
#include "mapping/template.hpp"

#include "helpers.hpp"

using namespace mapping_test;

namespace {

mapping_set set_of(std::vector<role_mapping> roles, std::vector<user_mapping> users = {},
                   std::vector<std::string> accounts = {}) {
    mapping_document doc{std::move(roles), std::move(users), std::move(accounts)};
    return must_compile(doc).mappings;
}

role_mapping role(const std::string& arn, const std::string& username, std::vector<std::string> groups = {}) {
    role_mapping m;
    m.rolearn = arn;
    m.username = username;
    m.groups = std::move(groups);
    return m;
}

user_mapping user(const std::string& arn, const std::string& username, std::vector<std::string> groups = {}) {
    return user_mapping{arn, username, std::move(groups), ""};
}

// The identity of pkg/server/server_test.go.
identity server_test_identity(const std::string& arn, const std::string& canonical) {
    identity id;
    id.arn = arn;
    id.canonical_arn = canonical;
    id.account_id = "0123456789012";
    id.user_id = "Test";
    id.session_name = "TestSession";
    id.access_key_id = "ABCDEF";
    return id;
}

// By value: callers pass the temporary returned by map_identity().
template <class T>
T as(const mapping_outcome& o) {
    REQUIRE(std::holds_alternative<T>(o));
    return std::get<T>(o);
}

const std::vector<std::string> reference_prefixes = {"aws:", "eks:", "amazon:", "iam:", "system:"};

}  // namespace

TEST_CASE("TestValidateBackendMode", "[backend]") {
    auto ok = [](std::vector<std::string> names) { return validate_backend_modes(names); };
    auto three = ok({"MountedFile", "EKSConfigMap", "CRD"});
    REQUIRE(three.ok());
    CHECK(three->modes == std::vector<backend_mode>{backend_mode::mounted_file, backend_mode::eks_configmap, backend_mode::crd});
    CHECK(three->warnings.empty());

    auto deprecated = ok({"File", "ConfigMap"});
    REQUIRE(deprecated.ok());
    CHECK(deprecated->modes == std::vector<backend_mode>{backend_mode::mounted_file, backend_mode::eks_configmap});
    REQUIRE(deprecated->warnings.size() == 2);
    CHECK(deprecated->warnings[0].message == "backend-mode \"File\" is deprecated, use \"MountedFile\"");
    CHECK(deprecated->warnings[1].code == "deprecated_backend_mode");

    auto all = ok({"DynamicFile", "AccessEntries", "MountedFile"});
    REQUIRE(all.ok());
    CHECK(all->modes.size() == 3);

    auto foo = ok({"ModeFoo"});
    CHECK(foo.code() == "invalid_backend_mode");
    CHECK(foo.err().message == "backend-mode \"ModeFoo\" is not a valid mode");
    CHECK(ok({}).err().message == "at least one backend-mode must be specified");
    CHECK(ok({"MountedFile", "MountedFile"}).err().message == "backend-mode [MountedFile MountedFile] has duplicates");
    CHECK(ok({"File", "MountedFile"}).code() == "invalid_backend_mode");  // duplicate after alias resolution
    CHECK(ok({"mountedfile"}).code() == "invalid_backend_mode");         // names are case-sensitive
    CHECK(ok({"ModeFoo", "CRD", "CRD"}).err().message ==
          "backend-mode \"ModeFoo\" is not a valid mode; backend-mode [ModeFoo CRD CRD] has duplicates");

    for (auto mode : {backend_mode::mounted_file, backend_mode::eks_configmap, backend_mode::dynamic_file, backend_mode::crd,
                      backend_mode::access_entries}) {
        CHECK(parse_backend_mode(backend_name(mode)) == mode);
    }
    CHECK(backend_name(backend_mode::eks_configmap) == "EKSConfigMap");
    CHECK(backend_name(backend_mode::access_entries) == "AccessEntries");
}

TEST_CASE("dynamic backend-mode file (part B §5.5)", "[backend]") {
    auto modes = parse_backend_mode_file(R"({"LastUpdatedDateTime":"1","Version":"1","backendMode":"DynamicFile MountedFile"})");
    REQUIRE(modes.ok());
    CHECK(modes->modes == std::vector<backend_mode>{backend_mode::dynamic_file, backend_mode::mounted_file});
    CHECK(parse_backend_mode_file(R"({"backendmode":" DynamicFile  "})")->modes ==
          std::vector<backend_mode>{backend_mode::dynamic_file});
    CHECK(parse_backend_mode_file(R"({"backendMode":""})").code() == "invalid_backend_mode");
    CHECK(parse_backend_mode_file(R"({"backendMode":"DynamicFile Foo"})").code() == "invalid_backend_mode");
    CHECK(parse_backend_mode_file(R"({"backendMode":"DynamicFile DynamicFile"})").code() == "invalid_backend_mode");
    CHECK(parse_backend_mode_file(R"({"backendMode":["DynamicFile"]})").code() == "bad_backend_mode_file");
    CHECK(parse_backend_mode_file(R"({"Version":"1"})").code() == "bad_backend_mode_file");
    CHECK(parse_backend_mode_file("DynamicFile").code() == "bad_backend_mode_file");
}

TEST_CASE("TestReservedPrefixExists", "[backend]") {
    CHECK(has_reserved_prefix("system:masters", reference_prefixes));
    CHECK(has_reserved_prefix("eks:test", reference_prefixes));
    CHECK_FALSE(has_reserved_prefix("eksb:test", reference_prefixes));
    CHECK_FALSE(has_reserved_prefix("System:masters", reference_prefixes));  // case-sensitive
    CHECK_FALSE(has_reserved_prefix("anything", std::vector<std::string>{"", ""}));  // empty prefixes ignored
    CHECK_FALSE(has_reserved_prefix("system:masters", {}));
}

TEST_CASE("server_test role mapping (part B §10.5)", "[backend]") {
    const auto set = set_of({role("arn:aws:iam::0123456789012:role/Test", "TestUser", {"sys:admin", "listers"})});
    const std::vector<backend_ref> chain{{"MountedFile", &set, {}}};
    const auto id = server_test_identity("arn:aws:iam::0123456789012:role/Test", "arn:aws:iam::0123456789012:role/Test");
    const auto outcome = map_identity(chain, id, {});
    const auto& m = as<matched>(outcome);
    CHECK(m.backend == "MountedFile");
    CHECK(m.username_template == "TestUser");
    CHECK_FALSE(needs_ec2_dns_name(m));
    auto user = render_user(m, id, std::nullopt);
    REQUIRE(user.ok());
    CHECK(user->username == "TestUser");
    CHECK(user->groups == std::vector<std::string>{"sys:admin", "listers"});
    CHECK(user->backend == "MountedFile");
}

TEST_CASE("server_test user mapping (part B §10.5)", "[backend]") {
    const auto set = set_of({}, {user("arn:aws:iam::0123456789012:user/Test", "TestUser", {"sys:admin", "listers"})});
    const std::vector<backend_ref> chain{{"MountedFile", &set, {}}};
    const auto id = server_test_identity("arn:aws:iam::0123456789012:user/Test", "arn:aws:iam::0123456789012:user/Test");
    auto user_out = render_user(as<matched>(map_identity(chain, id, {})), id, std::nullopt);
    REQUIRE(user_out.ok());
    CHECK(user_out->username == "TestUser");
    CHECK(user_out->groups == std::vector<std::string>{"sys:admin", "listers"});
}

TEST_CASE("server_test account mapping (part B §10.5)", "[backend]") {
    const auto file = set_of({}, {}, {"0123456789012"});
    const mapping_set crd;  // empty
    const auto user_id = server_test_identity("arn:aws:iam::0123456789012:user/Test", "arn:aws:iam::0123456789012:user/Test");
    const auto role_id = server_test_identity("arn:aws:sts::0123456789012:assumed-role/Test/extra",
                                              "arn:aws:iam::0123456789012:role/Test");
    for (const auto& chain : {std::vector<backend_ref>{{"MountedFile", &file, reference_prefixes}},
                              std::vector<backend_ref>{{"CRD", &crd, {}}, {"MountedFile", &file, reference_prefixes}}}) {
        const auto& a = as<account_allowed>(map_identity(chain, user_id, {}));
        CHECK(a.username == "arn:aws:iam::0123456789012:user/Test");
        CHECK(a.backend == "MountedFile");
        CHECK(as<account_allowed>(map_identity(chain, role_id, {})).username == "arn:aws:iam::0123456789012:role/Test");
    }
    identity other = user_id;
    other.account_id = "999999999999";
    CHECK(as<not_mapped>(map_identity(std::vector<backend_ref>{{"MountedFile", &file, {}}}, other, {})).errors.empty());
}

TEST_CASE("server_test node mapping with EC2 private DNS name (part B §10.5)", "[backend]") {
    const auto set = set_of({role("arn:aws:iam::0123456789012:role/TestNodeRole", "system:node:{{EC2PrivateDNSName}}",
                                  {"system:nodes", "system:bootstrappers"})});
    const std::vector<backend_ref> chain{{"MountedFile", &set, {}}};
    auto id = server_test_identity("arn:aws:sts::0123456789012:assumed-role/TestNodeRole/i-0c6f21bf1f24f9708",
                                   "arn:aws:iam::0123456789012:role/TestNodeRole");
    id.session_name = "i-0c6f21bf1f24f9708";
    const auto& m = as<matched>(map_identity(chain, id, {}));
    REQUIRE(needs_ec2_dns_name(m));
    auto instance = instance_id_for_ec2(id);
    REQUIRE(instance.ok());
    CHECK(*instance == "i-0c6f21bf1f24f9708");
    auto user = render_user(m, id, std::string("ip-172-31-27-14"));
    REQUIRE(user.ok());
    CHECK(user->username == "system:node:ip-172-31-27-14");
    CHECK(user->groups == std::vector<std::string>{"system:nodes", "system:bootstrappers"});
    CHECK(render_user(m, id, std::nullopt).code() == "ec2_dns_unavailable");

    // A session that is not an instance id is denied before any EC2 call.
    id.session_name = "attacker";
    const auto& d = as<denied>(map_identity(chain, id, {}));
    CHECK(d.reason.code == "no_instance_id");
    CHECK(d.backend == "MountedFile");
}

TEST_CASE("chain: backend order, no fall-through, per-backend account check", "[backend]") {
    const auto dynamic = set_of({role("arn:aws:iam::111122223333:role/Admin", "from-dynamic")});
    const auto mounted = set_of({role("arn:aws:iam::111122223333:role/Admin", "from-file"),
                                 role("arn:aws:iam::111122223333:role/Dev", "dev")});
    const auto configmap_accounts = set_of({}, {}, {"111122223333"});
    const auto admin = role_identity("111122223333", "Admin", "s");
    const auto dev = role_identity("111122223333", "Dev", "s");

    // TestCallBackForFileLoad: DynamicFile,MountedFile keeps its order.
    std::vector<backend_ref> chain{{"DynamicFile", &dynamic, {}}, {"MountedFile", &mounted, {}}};
    CHECK(as<matched>(map_identity(chain, admin, {})).username_template == "from-dynamic");
    CHECK(as<matched>(map_identity(chain, dev, {})).backend == "MountedFile");
    std::swap(chain[0], chain[1]);
    CHECK(as<matched>(map_identity(chain, admin, {})).username_template == "from-file");

    // EKSConfigMap,MountedFile: the ConfigMap's mapAccounts wins over the file's explicit mapping.
    const std::vector<backend_ref> accounts_first{{"EKSConfigMap", &configmap_accounts, {}}, {"MountedFile", &mounted, {}}};
    CHECK(as<account_allowed>(map_identity(accounts_first, dev, {})).backend == "EKSConfigMap");

    // A hit whose username is then denied does not fall through to the next backend.
    const std::vector<std::string> system_reserved{"system:"};
    const auto bad = set_of({role("arn:aws:iam::111122223333:role/Admin", "system:admin")});
    const std::vector<backend_ref> denied_first{{"DynamicFile", &bad, system_reserved}, {"MountedFile", &mounted, {}}};
    const auto& m = as<matched>(map_identity(denied_first, admin, {}));
    CHECK(m.backend == "DynamicFile");
    auto rendered = render_user(m, admin, std::nullopt);
    CHECK(rendered.code() == "reserved_prefix");
    CHECK(rendered.err().message ==
          "invalid username 'system:admin' for mapper DynamicFile: username must not begin with the following prefixes: [system:]");

    // A backend with nothing loaded yet is skipped.
    const std::vector<backend_ref> unloaded{{"EKSConfigMap", nullptr, {}}, {"MountedFile", &mounted, {}}};
    CHECK(as<matched>(map_identity(unloaded, admin, {})).backend == "MountedFile");
    CHECK(as<not_mapped>(map_identity(std::vector<backend_ref>{}, admin, {})).errors.empty());
}

TEST_CASE("chain: lookup errors are collected and the chain goes on", "[backend]") {
    auto strict = load_dynamic_file(
        R"({"mapRoles":[{"rolearn":"arn:aws:iam::111122223333:role/Other","username":"x","userid":"AROAADMIN"}]})", true);
    REQUIRE(strict.ok());
    const auto& dynamic = strict->loaded.mappings;
    const auto mounted = set_of({role("arn:aws:iam::111122223333:role/Admin", "from-file")});
    const auto empty = set_of({});
    auto id = role_identity("111122223333", "Admin", "s");
    id.user_id = "AROAADMIN";

    const std::vector<backend_ref> falls_through{{"DynamicFile", &dynamic, {}}, {"MountedFile", &mounted, {}}};
    CHECK(as<matched>(map_identity(falls_through, id, {})).username_template == "from-file");

    const std::vector<backend_ref> misses{{"DynamicFile", &dynamic, {}}, {"MountedFile", &empty, {}}};
    const auto& miss = as<not_mapped>(map_identity(misses, id, {}));
    REQUIRE(miss.errors.size() == 1);
    CHECK(miss.errors[0].code == "arn_userid_mismatch");
    CHECK(miss.errors[0].message == "ARN does not match User ID");

    identity weird = id;
    weird.canonical_arn = "not-an-arn";
    const auto& invalid = as<not_mapped>(map_identity(falls_through, weird, {}));
    REQUIRE(invalid.errors.size() == 1);
    CHECK(invalid.errors[0].code == "invalid_identity");
}

TEST_CASE("denials: empty username and reserved prefixes (A5)", "[backend]") {
    const auto set = set_of({role("arn:aws:iam::111122223333:role/NoName", ""),
                             role("arn:aws:iam::111122223333:role/Session", "{{SessionName}}", {"g-{{AccountID}}"}),
                             role("arn:aws:iam::111122223333:role/Eks", "eks:{{SessionName}}"),
                             role("arn:aws:iam::111122223333:role/Groups", "ok", {"system:masters"})},
                            {}, {"111122223333"});
    const std::vector<backend_ref> chain{{"DynamicFile", &set, reference_prefixes}};

    const auto& no_name = as<denied>(map_identity(chain, role_identity("111122223333", "NoName", "s"), {}));
    CHECK(no_name.reason.code == "empty_username");
    CHECK(no_name.backend == "DynamicFile");

    const auto& session = as<matched>(map_identity(chain, role_identity("111122223333", "Session", ""), {}));
    CHECK(render_user(session, role_identity("111122223333", "Session", ""), std::nullopt).code() == "empty_username");
    auto jane = render_user(session, role_identity("111122223333", "Session", "jane@example.com"), std::nullopt);
    REQUIRE(jane.ok());
    CHECK(jane->username == "jane-example.com");
    CHECK(jane->groups == std::vector<std::string>{"g-111122223333"});

    const auto eks_id = role_identity("111122223333", "Eks", "x");
    CHECK(render_user(as<matched>(map_identity(chain, eks_id, {})), eks_id, std::nullopt).code() == "reserved_prefix");

    // Only the username is checked, not groups.
    const auto groups_id = role_identity("111122223333", "Groups", "x");
    CHECK(render_user(as<matched>(map_identity(chain, groups_id, {})), groups_id, std::nullopt).ok());

    // Account-allowed identities get their ARN as username, with no prefix check.
    const auto other = role_identity("111122223333", "Unlisted", "x");
    CHECK(as<account_allowed>(map_identity(chain, other, {})).username == "arn:aws:iam::111122223333:role/Unlisted");
}

TEST_CASE("SSO gate flows through the chain", "[backend]") {
    mapping_document doc;
    role_mapping sso;
    sso.sso = sso_spec{"Dev", "111122223333", ""};
    sso.username = "dev:{{SessionName}}";
    doc.roles.push_back(sso);
    const auto set = must_compile(doc).mappings;
    const std::vector<backend_ref> chain{{"EKSConfigMap", &set, {}}};
    const auto id = role_identity("111122223333", "AWSReservedSSO_Dev_0123456789abcdef", "jane");
    CHECK(std::holds_alternative<not_mapped>(map_identity(chain, id, feature_flags{false})));
    CHECK(as<matched>(map_identity(chain, id, feature_flags{true})).username_template == "dev:{{SessionName}}");
}
