#include "mapping/sources.hpp"

#include "helpers.hpp"

#include <yaml-cpp/yaml.h>

#include <filesystem>

using namespace mapping_test;

namespace {

const mapping_entry* find_entry(const mapping_set& set, const identity& id, bool sso = false) {
    auto who = make_subject(id);
    REQUIRE(who.ok());
    auto hit = set.find(*who, feature_flags{sso});
    REQUIRE(hit.ok());
    return *hit;
}

// The content of the aws-auth fixtures (aws-auth.yaml and its key-case variants).
void check_aws_auth_content(const loaded_mappings& loaded) {
    const auto& set = loaded.mappings;
    CHECK(set.role_count() == 3);
    CHECK(set.sso_count() == 1);
    CHECK(set.user_count() == 2);
    CHECK(set.account_count() == 2);

    auto node = find_entry(set, role_identity("555555555555", "devel-worker-nodes-NodeInstanceRole-74RF4UBDUKL6",
                                              "i-0c6f21bf1f24f9708"));
    REQUIRE(node != nullptr);
    CHECK(node->username == "system:node:{{EC2PrivateDNSName}}");
    CHECK(node->groups == std::vector<std::string>{"system:bootstrappers", "system:nodes"});

    auto admin = find_entry(set, role_identity("555555555555", "KubernetesAdmin", "jane"));
    REQUIRE(admin != nullptr);
    CHECK(admin->username == "admin:{{SessionName}}");
    CHECK(admin->groups == std::vector<std::string>{"system:masters"});

    auto viewer = find_entry(set, role_identity("555555555555", "AWSReservedSSO_ViewOnlyAccess_0123456789abcdef", "j"), true);
    REQUIRE(viewer != nullptr);
    CHECK(viewer->username == "viewer:{{SessionName}}");
    CHECK(viewer->kind == entry_kind::sso_role);

    auto no_groups = find_entry(set, role_identity("555555555555", "NoGroups", "s"));
    REQUIRE(no_groups != nullptr);
    CHECK(no_groups->groups.empty());

    auto user = find_entry(set, user_identity("111122223333", "ops-user"));
    REQUIRE(user != nullptr);
    CHECK(user->username == "ops-user");
    CHECK(set.account_allowed("111122223333"));
    CHECK(set.account_allowed("012345678901"));  // unquoted, leading zero kept
    CHECK_FALSE(set.account_allowed("12345678901"));
}

}  // namespace

TEST_CASE("EKSConfigMap: aws-auth.yaml and entry keys in any case", "[sources][configmap]") {
    for (const char* name : {"aws-auth.yaml", "aws-auth-crazy-case-keys.yaml", "aws-auth-open-source-case-keys.yaml"}) {
        INFO(name);
        auto loaded = load_configmap_manifest(read_fixture(name));
        REQUIRE(loaded.ok());
        CHECK(loaded->warnings.empty());
        check_aws_auth_content(*loaded);
    }
}

TEST_CASE("EKSConfigMap: top-level data keys are case-sensitive", "[sources][configmap]") {
    for (const char* name : {"aws-auth-lower-case-top-keys.yaml", "aws-auth-crazy-case-top-keys.yaml"}) {
        INFO(name);
        auto loaded = load_configmap_manifest(read_fixture(name));
        REQUIRE(loaded.ok());
        CHECK(loaded->mappings.empty());
        CHECK_FALSE(loaded->mappings.account_allowed("111122223333"));
    }
}

TEST_CASE("EKSConfigMap: a space out of place makes one odd group", "[sources][configmap]") {
    auto loaded = load_configmap_manifest(read_fixture("aws-auth-space-out-of-place.yaml"));
    REQUIRE(loaded.ok());
    auto node = find_entry(loaded->mappings, role_identity("555555555555", "devel-worker-nodes-NodeInstanceRole-74RF4UBDUKL6", "s"));
    REQUIRE(node != nullptr);
    CHECK(node->groups == std::vector<std::string>{"system:bootstrappers - system:nodes"});
}

TEST_CASE("EKSConfigMap: whole-load failures keep the caller's last good set", "[sources][configmap]") {
    SECTION("unquoted {{SessionName}} is a YAML map, not a string") {
        auto r = load_configmap_manifest(read_fixture("aws-auth-unquoted-template.yaml"));
        REQUIRE_FALSE(r.ok());
        CHECK(r.code() == "invalid_mapping");
        CHECK(r.err().message == "mapRoles[0].username: expected a string, found a map (line 2)");
    }
    SECTION("a YAML syntax error in one value fails everything (unlike the reference)") {
        auto r = load_configmap_manifest(read_fixture("aws-auth-yaml-error.yaml"));
        REQUIRE_FALSE(r.ok());
        CHECK(r.code() == "bad_yaml");
        CHECK(r.err().message.starts_with("data.mapRoles: "));
        CHECK(r.err().message.find("line") != std::string::npos);
    }
    SECTION("data value that is not a string (missing `|`)") {
        auto r = load_configmap_manifest(read_fixture("aws-auth-missing-bar.yaml"));
        REQUIRE_FALSE(r.ok());
        CHECK(r.code() == "bad_configmap");
        CHECK(r.err().message.starts_with("data.mapRoles: expected a string"));
    }
    SECTION("not a ConfigMap") {
        CHECK(load_configmap_manifest("kind: Secret\ndata: {}\n").code() == "bad_configmap");
        CHECK(load_configmap_manifest("data:\n  mapRoles: ''\n").code() == "bad_configmap");
        CHECK(load_configmap_manifest("- kind: ConfigMap\n").code() == "bad_configmap");
        CHECK(load_configmap_manifest("").code() == "bad_configmap");
        CHECK(load_configmap_manifest("kind: ConfigMap\n---\nkind: ConfigMap\n").code() == "bad_configmap");
        CHECK(load_configmap_manifest("kind: ConfigMap\ndata: [1]\n").code() == "bad_configmap");
        CHECK(load_configmap_manifest("kind: [ConfigMap\n").code() == "bad_yaml");
    }
    SECTION("wrong shapes inside a value") {
        auto roles_map = load_configmap_data({{"mapRoles", "rolearn: arn:aws:iam::1:role/x\n"}});
        CHECK(roles_map.code() == "invalid_mapping");
        CHECK(roles_map.err().message == "mapRoles: expected a list, found a map (line 1)");
        auto groups_scalar = load_configmap_data({{"mapRoles", "- rolearn: arn:aws:iam::1:role/x\n  groups: system:masters\n"}});
        CHECK(groups_scalar.code() == "invalid_mapping");
        CHECK(groups_scalar.err().message == "mapRoles[0].groups: expected a list, found a string (line 2)");
        auto accounts = load_configmap_data({{"mapAccounts", "- [\"1\"]\n"}});
        CHECK(accounts.code() == "invalid_mapping");
        CHECK(accounts.err().message == "mapAccounts[0]: expected a string, found a list (line 1)");
        auto dup_key = load_configmap_data({{"mapUsers", "- userarn: arn:aws:iam::1:user/a\n  userARN: arn:aws:iam::1:user/b\n"}});
        CHECK(dup_key.code() == "invalid_mapping");
        CHECK(dup_key.err().message == "mapUsers[0].userarn: key appears more than once (keys are case-insensitive) (line 2)");
    }
}

TEST_CASE("EKSConfigMap: invalid entries are skipped, valid ones kept", "[sources][configmap]") {
    auto loaded = load_configmap_manifest(read_fixture("aws-auth-invalid-entry.yaml"));
    REQUIRE(loaded.ok());
    CHECK(loaded->mappings.role_count() == 2);
    CHECK(lookup(loaded->mappings, role_identity("555555555555", "KubernetesAdmin", "s")) == "admin");
    CHECK(lookup(loaded->mappings, role_identity("555555555555", "Second", "s")) == "second");
    REQUIRE(loaded->warnings.size() == 2);
    CHECK(loaded->warnings[0].message == "mapRoles[1]: one of rolearn or sso must be supplied; entry skipped");
    CHECK(loaded->warnings[1].message == "mapRoles[2]: sso.accountID: must be exactly 12 digits; entry skipped");
}

TEST_CASE("EKSConfigMap: skippable empty values (TestBadParseMap)", "[sources][configmap]") {
    auto manifest = load_configmap_manifest(read_fixture("aws-auth-empty-values.yaml"));
    REQUIRE(manifest.ok());
    CHECK(manifest->mappings.empty());
    for (const char* value : {"", "   \n\t", "\"\"", "``", "''", "  ''  \n"}) {
        INFO("value: [" << value << "]");
        auto r = load_configmap_data({{"mapRoles", value}, {"mapUsers", value}, {"mapAccounts", value}});
        REQUIRE(r.ok());
        CHECK(r->mappings.empty());
        CHECK(r->warnings.empty());
    }
    auto comment_only = load_configmap_data({{"mapRoles", "# nothing yet\n"}});
    REQUIRE(comment_only.ok());
    CHECK(comment_only->mappings.empty());
}

TEST_CASE("EKSConfigMap: a mounted ConfigMap volume", "[sources][configmap]") {
    std::map<std::string, std::string> data;
    const auto dir = std::filesystem::path(STSAUTH_TEST_DATA_DIR) / "mapping" / "aws-auth-volume";
    for (const auto& f : std::filesystem::directory_iterator(dir)) {
        data[f.path().filename().string()] = read_fixture("aws-auth-volume/" + f.path().filename().string());
    }
    data["..data"] = "";  // kubelet's symlink entries are ignored
    data["maproles"] = "- not: [valid";  // case-sensitive: not a data key
    auto loaded = load_configmap_data(data);
    REQUIRE(loaded.ok());
    CHECK(lookup(loaded->mappings, role_identity("555555555555", "KubernetesAdmin", "s")) == "admin:{{SessionName}}");
    CHECK(lookup(loaded->mappings, user_identity("555555555555", "admin")) == "admin");
    CHECK(loaded->mappings.account_allowed("012345678901"));
    CHECK(loaded->mappings.account_allowed("111122223333"));
}

TEST_CASE("MountedFile: server.mapRoles/mapUsers/mapAccounts with case-insensitive keys", "[sources][mounted]") {
    auto loaded = load_mounted_file_text(read_fixture("server-config.yaml"));
    REQUIRE(loaded.ok());
    CHECK(loaded->warnings.empty());
    const auto& set = loaded->mappings;
    CHECK(lookup(set, role_identity("000000000000", "KubernetesNode", "i-0c6f21bf1f24f9708")) == "system:node:{{EC2PrivateDNSName}}");
    CHECK(lookup(set, role_identity("000000000000", "KubernetesAdmin", "jane")) == "admin:{{SessionName}}");
    auto deployer = find_entry(set, role_identity("000000000000", "Deployer", "other"));
    REQUIRE(deployer != nullptr);
    CHECK(deployer->username == "deployer");
    CHECK(deployer->groups == std::vector<std::string>{"system:deployers", "system:viewers"});  // viper's "," split
    // Unquoted 012345678912 keeps its leading zero, so the SSO entry validates; partition aws is honoured.
    CHECK(lookup(set, role_identity("012345678912", "AWSReservedSSO_ViewOnlyAccess_0123456789abcdef", "j"), true) == "viewer");
    CHECK(lookup(set, user_identity("000000000000", "alice")) == "alice");
    CHECK(lookup(set, user_identity("000000000000", "Bob")) == "bob");
    CHECK(set.account_allowed("012345678901"));
    CHECK(set.account_allowed("012345678902"));
    CHECK(set.account_allowed("000000000007"));
    CHECK_FALSE(set.account_allowed("7"));
}

TEST_CASE("MountedFile: from a yaml-cpp node of the server map", "[sources][mounted]") {
    const YAML::Node server = YAML::Load(
        "mapusers:\n- USERARN: arn:aws:iam::1:user/u\n  username: u\n  extra: ignored\nmapaccounts: []\n");
    auto loaded = load_mounted_file(server);
    REQUIRE(loaded.ok());
    CHECK(lookup(loaded->mappings, user_identity("1", "u")) == "u");
    REQUIRE(loaded->warnings.size() == 1);
    CHECK(loaded->warnings[0].code == "unknown_key");
    CHECK(loaded->warnings[0].message == "mapUsers[0]: unknown key \"extra\" ignored");

    auto empty = load_mounted_file(YAML::Load("port: 21362\n"));
    REQUIRE(empty.ok());
    CHECK(empty->mappings.empty());
    auto no_server = load_mounted_file_text("clusterID: x\n");
    REQUIRE(no_server.ok());
    CHECK(no_server->mappings.empty());
}

TEST_CASE("MountedFile: an invalid entry fails the load, naming entry and field", "[sources][mounted]") {
    auto error_of = [](const std::string& server_yaml) {
        auto r = load_mounted_file(YAML::Load(server_yaml));
        return r ? std::string("ok") : r.err().code + ": " + r.err().message;
    };
    CHECK(error_of("mapRoles:\n- rolearn: arn:aws:iam::1:role/a\n- rolearn: arn:aws:iam::1:nope/b\n") ==
          "invalid_mapping: mapRoles[1].rolearn: not a valid IAM principal ARN (unsupported_resource)");
    CHECK(error_of("mapRoles:\n- username: x\n") == "invalid_mapping: mapRoles[0]: one of rolearn or sso must be supplied");
    CHECK(error_of("mapRoles:\n- sso: {permissionSetName: A, accountID: '12'}\n") ==
          "invalid_mapping: mapRoles[0]: sso.accountID: must be exactly 12 digits");
    CHECK(error_of("mapRoles:\n- sso: [x]\n") == "invalid_mapping: mapRoles[0].sso: expected a map, found a list (line 2)");
    CHECK(error_of("mapUsers:\n- username: x\n") == "invalid_mapping: mapUsers[0].userarn: value for userarn must be supplied");
    CHECK(error_of("mapUsers:\n- userarn: arn:aws:iam::1:user/a\n  username: {{SessionName}}\n") ==
          "invalid_mapping: mapUsers[0].username: expected a string, found a map (line 3)");
    CHECK(error_of("mapUsers:\n- userarn: arn:aws:iam::1:user/a\n  groups: {a: b}\n") ==
          "invalid_mapping: mapUsers[0].groups: expected a list, found a map (line 3)");
    CHECK(error_of("mapUsers: x\n") == "invalid_mapping: mapUsers: expected a list, found a string (line 1)");
    CHECK(error_of("mapUsers:\n- x\n") == "invalid_mapping: mapUsers[0]: expected a map, found a string (line 2)");
    CHECK(error_of("mapAccounts: [{a: 1}]\n") == "invalid_mapping: mapAccounts[0]: expected a string, found a map (line 1)");
    CHECK(error_of("mapRoles: []\nMapRoles: []\n") ==
          "invalid_mapping: server.mapRoles: key appears more than once (keys are case-insensitive) (line 2)");
    CHECK(error_of("- a\n") == "invalid_mapping: server: expected a map, found a list (line 1)");
    CHECK(load_mounted_file_text("server: [\n").code() == "bad_yaml");
}
