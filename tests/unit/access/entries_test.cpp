// The access-entries file (ACCESS-ENTRIES C1, C3, C8) and test vectors C9 1-8.

#include "helpers.hpp"

#include "mapping/backend.hpp"

using namespace access_test;

namespace {

const std::string view_policy = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
const std::string role_admin = "arn:aws:iam::111122223333:role/dev/ops/Admin";

std::string role_entry(const std::string& extra) {
    return one_entry("{principalArn: \"arn:aws:iam::111122223333:role/R\"" + extra + "}");
}

std::string policy_entry(const std::string& type, const std::string& policy, const std::string& scope) {
    return one_entry("{principalArn: \"arn:aws:iam::111122223333:role/R\", type: " + type +
                     ", accessPolicies: [{policyArn: \"arn:aws:eks::aws:cluster-access-policy/" + policy +
                     "\", accessScope: " + scope + "}]}");
}

bool has_warning(const snapshot& s, const std::string& code) {
    return std::any_of(s.warnings().begin(), s.warnings().end(), [&](const auto& w) { return w.code == code; });
}

}  // namespace

// ---- file formats -----------------------------------------------------------------------------

TEST_CASE("C8 spec example file loads with every field", "[entries][format]") {
    const auto snap = must_load(read_fixture("spec-example.yaml"));
    CHECK(snap.mode() == authentication_mode::api_and_config_map);
    REQUIRE(snap.entries().size() == 1);
    const auto& e = snap.entries()[0];
    CHECK(e.index == 0);
    CHECK_FALSE(e.synthesized);
    CHECK(e.principal_arn == "arn:aws:iam::111122223333:role/teams/Dev");
    CHECK(e.who.key == "arn:aws:iam::111122223333:role/dev");
    CHECK(e.who.path == "/teams/");
    CHECK(e.who.name == "Dev");
    CHECK(e.type == entry_type::standard);
    CHECK(e.username == "dev:{{SessionName}}");
    CHECK_FALSE(e.username_generated);
    CHECK(e.kubernetes_groups == std::vector<std::string>{"developers"});
    CHECK(e.groups == std::vector<std::string>{"developers"});
    CHECK(e.principal_id == "AROAEXAMPLEID");
    REQUIRE(e.access_policies.size() == 2);
    CHECK(e.access_policies[0].policy_name == "AmazonEKSViewPolicy");
    CHECK(e.access_policies[0].scope == scope_type::cluster);
    CHECK(e.access_policies[1].policy_name == "AmazonEKSEditPolicy");
    CHECK(e.access_policies[1].scope == scope_type::namespace_scope);
    CHECK(e.access_policies[1].namespaces == std::vector<std::string>{"dev-*"});
    CHECK(e.tags == std::vector<std::pair<std::string, std::string>>{{"team", "dev"}});
    CHECK(snap.warnings().empty());
    CHECK(snap.find("arn:aws:iam::111122223333:role/dev") == &e);
    CHECK(snap.find_by_principal_id("AROAEXAMPLEID") == &e);
    CHECK(snap.find_by_principal_id("AROAOTHER") == nullptr);
    CHECK(snap.find("arn:aws:iam::111122223333:role/teams/dev") == nullptr);  // keys have no path
    CHECK(snap.count(entry_type::standard) == 1);
}

TEST_CASE("C8 CloudFormation Properties blocks parse as-is (PascalCase keys and Key/Value tags)", "[entries][format]") {
    const auto snap = must_load(read_fixture("cloudformation.yaml"));
    CHECK(snap.mode() == authentication_mode::api);
    REQUIRE(snap.entries().size() == 2);
    const auto& admin = snap.entries()[0];
    CHECK(admin.username == "cfn-admin:{{SessionNameRaw}}");
    CHECK(admin.groups == std::vector<std::string>{"platform", "oncall"});
    REQUIRE(admin.access_policies.size() == 1);
    CHECK(admin.access_policies[0].namespaces == std::vector<std::string>{"platform", "team-*"});
    CHECK(admin.tags == std::vector<std::pair<std::string, std::string>>{{"owner", "platform-team"}});
    const auto& node = snap.entries()[1];
    CHECK(node.type == entry_type::ec2_linux);
    CHECK(node.username == "system:node:{{EC2PrivateDNSName}}");
    CHECK(node.groups == std::vector<std::string>{"system:nodes"});
    CHECK(snap.count(entry_type::ec2_linux) == 1);
}

TEST_CASE("C8 describe-access-entry and list-associated-access-policies output can be pasted", "[entries][format]") {
    const auto snap = must_load(read_fixture("describe-access-entry.json"));
    REQUIRE(snap.entries().size() == 2);
    CHECK(snap.entries()[0].username == "arn:aws:sts::111122223333:assumed-role/my-role/{{SessionName}}");
    CHECK(snap.entries()[0].groups.empty());
    const auto& user = snap.entries()[1];
    CHECK(user.username == "arn:aws:iam::111122223333:user/eks-user");
    REQUIRE(user.access_policies.size() == 1);
    CHECK(user.access_policies[0].scope == scope_type::cluster);
    CHECK(user.access_policies[0].namespaces.empty());  // EKS prints namespaces: [] for cluster scope
}

TEST_CASE("C8 defaults: an empty file is mode API_AND_CONFIG_MAP with no entries", "[entries][format]") {
    for (const std::string text : {"", "# nothing\n", "{}", "accessEntries: []\n", "accessEntries:\n"}) {
        INFO(text);
        const auto snap = must_load(text);
        CHECK(snap.mode() == authentication_mode::api_and_config_map);
        CHECK(snap.entries().empty());
        CHECK_FALSE(snap.bootstrap_cluster_creator());
    }
    CHECK(must_load("authenticationMode: CONFIG_MAP\n").mode() == authentication_mode::config_map);
    CHECK(must_load("authenticationMode: API\n").mode() == authentication_mode::api);
}

TEST_CASE("C8 shape and key errors", "[entries][format]") {
    CHECK(load_code("accessEntries: [\n") == "bad_yaml");
    CHECK(load_code("- a\n") == "bad_shape");
    CHECK(load_code("accessEntries: {}\n") == "bad_shape");
    CHECK(load_code("accessEntries: [x]\n") == "bad_shape");
    CHECK(load_code("authenticationMode: api\n") == "bad_authentication_mode");
    CHECK(load_code("authenticationMode: CONFIGMAP\n") == "bad_authentication_mode");
    CHECK(load_code("bootstrapClusterCreatorAdminPermissions: maybe\n") == "bad_shape");
    CHECK(load_code("surprise: 1\n") == "unknown_key");
    CHECK(load_code(role_entry(", surprise: 1")) == "unknown_key");
    CHECK(load_code("authenticationMode: API\nAUTHENTICATIONMODE: API\n") == "duplicate_key");
    CHECK(load_code(role_entry(", PrincipalARN: \"arn:aws:iam::111122223333:role/S\"")) == "duplicate_key");
    CHECK(load_code(role_entry(", username: [a]")) == "bad_shape");
    CHECK(load_code(role_entry(", kubernetesGroups: a")) == "bad_shape");
    CHECK(load_code(role_entry(", kubernetesGroups: [~]")) == "bad_shape");
    CHECK(load_code(role_entry(", accessPolicies: {}")) == "bad_shape");
    CHECK(load_code(role_entry(", accessPolicies: [" + view_policy + "]")) == "bad_shape");
    CHECK(load_code(role_entry(", accessPolicies: [{policyArn: " + view_policy + ", accessScope: {type: cluster, x: 1}}]")) ==
          "unknown_key");
    // Read-only output fields are ignored on entries and on policies.
    CHECK(load_code(role_entry(", accessEntryArn: x, createdAt: y, modifiedAt: z")).empty());
    CHECK(load_code(role_entry(", accessPolicies: [{policyArn: " + view_policy +
                               ", accessScope: {type: cluster}, associatedAt: a, modifiedAt: b}]"))
              .empty());
    // Both spellings of the policy list at once is ambiguous.
    CHECK(load_code(role_entry(", accessPolicies: [], associatedAccessPolicies: [{policyArn: " + view_policy +
                               ", accessScope: {type: cluster}}]")) == "duplicate_key");
}

TEST_CASE("C8 errors name the file entry index field and reason and list all problems", "[entries][format]") {
    const std::string text =
        "accessEntries:\n"
        "  - principalArn: arn:aws:iam::111122223333:role/Fine\n"
        "  - principalArn: arn:aws:iam::111122223333:role/R\n"
        "    kubernetesGroups: [ok, system:masters]\n"
        "  - principalArn: arn:aws:iam::111122223333:role/S\n"
        "    username: \"system:x\"\n";
    auto r = load(text, test_settings());
    REQUIRE_FALSE(r);
    CHECK(r.code() == "reserved_group_prefix");
    CHECK(r.err().message ==
          "entries.yaml: accessEntries[1].kubernetesGroups[1]: The kubernetes group name system:masters is invalid, it "
          "cannot start with system:; "
          "entries.yaml: accessEntries[2].username: the username must not begin with system: (reserved prefixes: "
          "system:, eks:, aws:, amazon:, iam:)");
}

TEST_CASE("C8 clusterName must equal clusterID", "[entries][format]") {
    CHECK(load_code(role_entry(", clusterName: test-cluster")).empty());
    CHECK(load_code(role_entry(", clusterName: other")) == "cluster_name_mismatch");
    auto no_id = test_settings();
    no_id.cluster_id.clear();
    CHECK(load_code(role_entry(", clusterName: other"), no_id).empty());
}

// ---- C9 vectors 1-8 ---------------------------------------------------------------------------

TEST_CASE("C9 vector 1: role without username gets the assumed-role template without the path", "[entries][c9]") {
    const auto snap = must_load(one_entry("{principalArn: \"" + role_admin + "\"}"));
    const auto& e = snap.entries()[0];
    CHECK(e.username == "arn:aws:sts::111122223333:assumed-role/Admin/{{SessionName}}");
    CHECK(e.username_generated);
    auto outcome = map_identity(snap, role_identity("Admin", "jane@example.com"));
    REQUIRE(std::holds_alternative<mapping::matched>(outcome));
    auto user = mapping::render_user(std::get<mapping::matched>(outcome), role_identity("Admin", "jane@example.com"), std::nullopt);
    REQUIRE(user);
    CHECK(user->username == "arn:aws:sts::111122223333:assumed-role/Admin/jane-example.com");
}

TEST_CASE("C9 vector 2: user without username gets its ARN", "[entries][c9]") {
    const auto snap = must_load(one_entry("{principalArn: \"arn:aws:iam::111122223333:user/eks-user\"}"));
    CHECK(snap.entries()[0].username == "arn:aws:iam::111122223333:user/eks-user");
    // The path of a user is kept as configured (C1.4 [DEC]).
    const auto pathed = must_load(one_entry("{principalArn: \"arn:aws:iam::111122223333:user/ops/eks-user\"}"));
    CHECK(pathed.entries()[0].username == "arn:aws:iam::111122223333:user/ops/eks-user");
}

TEST_CASE("C9 vector 3: reserved username prefixes", "[entries][c9]") {
    for (const std::string u : {"system:x", "eks:x", "aws:x", "amazon:x", "iam:x"}) {
        INFO(u);
        CHECK(load_code(role_entry(", username: \"" + u + "\"")) == "reserved_username_prefix");
    }
    CHECK(load_code(role_entry(", username: \"eksb:x\"")).empty());
    CHECK(load_code(role_entry(", username: \"System:x\"")).empty());  // case-sensitive, as HasPrefix
}

TEST_CASE("C9 vector 4: a ':' must precede the first session placeholder", "[entries][c9]") {
    CHECK(load_code(role_entry(", username: \"john{{SessionName}}\"")) == "username_placeholder_without_colon");
    CHECK(load_code(role_entry(", username: \"{{SessionName}}:masters\"")) == "username_placeholder_without_colon");
    CHECK(load_code(role_entry(", username: \"john{{SessionNameRaw}}\"")) == "username_placeholder_without_colon");
    CHECK(load_code(role_entry(", username: \":john{{SessionName}}\"")).empty());
    CHECK(load_code(role_entry(", username: \"jo:hn{{SessionName}}\"")).empty());
    CHECK(load_code(role_entry(", username: \"john\"")).empty());
}

TEST_CASE("C9 vector 5: group system:masters rejected with the EKS message and duplicate groups rejected", "[entries][c9]") {
    auto r = load(role_entry(", kubernetesGroups: [system:masters]"), test_settings());
    REQUIRE_FALSE(r);
    CHECK(r.code() == "reserved_group_prefix");
    CHECK(r.err().message ==
          "entries.yaml: accessEntries[0].kubernetesGroups[0]: The kubernetes group name system:masters is invalid, it "
          "cannot start with system:");
    CHECK(load_code(role_entry(", kubernetesGroups: [a, a]")) == "duplicate_group");
}

TEST_CASE("C9 vector 6: principal forms and node types and policies", "[entries][c9]") {
    SECTION("rejected principals") {
        CHECK(load_code(one_entry("{principalArn: \"arn:aws:sts::111122223333:assumed-role/R/s\"}")) == "session_principal");
        CHECK(load_code(one_entry("{principalArn: \"arn:aws:sts::1:assumed-role/R/s\"}")) == "session_principal");
        CHECK(load_code(one_entry("{principalArn: \"arn:aws:iam::111122223333:role/aws-service-role/eks.amazonaws.com/X\"}")) ==
              "service_linked_role");
        CHECK(load_code(one_entry("{principalArn: \"arn:aws:iam::111122223333:root\"}")) == "unsupported_principal");
    }
    SECTION("EC2_LINUX with a user, groups or a policy") {
        CHECK(load_code(one_entry("{principalArn: \"arn:aws:iam::111122223333:user/u\", type: EC2_LINUX}")) ==
              "principal_type_not_allowed");
        CHECK(load_code(one_entry("{principalArn: \"arn:aws:iam::111122223333:role/N\", type: EC2_LINUX, kubernetesGroups: [ops]}")) ==
              "groups_not_allowed");
        CHECK(load_code(one_entry("{principalArn: \"arn:aws:iam::111122223333:role/N\", type: EC2_LINUX, "
                                  "kubernetesGroups: [system:nodes]}")) == "groups_not_allowed");
        CHECK(load_code(policy_entry("EC2_LINUX", "AmazonEKSViewPolicy", "{type: cluster}")) == "policy_not_allowed_for_type");
        CHECK(load_code(policy_entry("EC2_LINUX", "AmazonEKSAutoNodePolicy", "{type: cluster}")) == "policy_not_allowed_for_type");
    }
    SECTION("EC2 with AmazonEKSAutoNodePolicy at cluster scope loads, with a grants-nothing warning") {
        const auto snap = must_load(policy_entry("EC2", "AmazonEKSAutoNodePolicy", "{type: cluster}"));
        REQUIRE(snap.entries()[0].access_policies.size() == 1);
        CHECK_FALSE(snap.entries()[0].access_policies[0].grants);
        REQUIRE(snap.warnings().size() == 1);
        CHECK(snap.warnings()[0].code == "undocumented_policy");
        CHECK(snap.warnings()[0].message.find("grants nothing") != std::string::npos);
        CHECK(snap.warnings()[0].message.find("AmazonEKSAutoNodePolicy") != std::string::npos);
        CHECK(snap.compiled(0).empty());
    }
    SECTION("EC2 with any other policy, or AutoNode at namespace scope, rejected") {
        CHECK(load_code(policy_entry("EC2", "AmazonEKSViewPolicy", "{type: cluster}")) == "policy_not_allowed_for_type");
        CHECK(load_code(policy_entry("EC2", "AmazonEKSClusterAdminPolicy", "{type: cluster}")) == "policy_not_allowed_for_type");
        CHECK(load_code(policy_entry("EC2", "AmazonEKSAutoNodePolicy", "{type: namespace, namespaces: [a]}")) == "scope_not_allowed");
        CHECK(load_code(policy_entry("STANDARD", "AmazonEKSAutoNodePolicy", "{type: cluster}")) == "policy_not_allowed_for_type");
    }
    SECTION("AmazonEKSHybridPolicy on a STANDARD entry needs allowServicePolicies") {
        CHECK(load_code(policy_entry("STANDARD", "AmazonEKSHybridPolicy", "{type: cluster}")) == "service_policy_not_allowed");
        auto s = test_settings();
        s.allow_service_policies = true;
        const auto snap = must_load(policy_entry("STANDARD", "AmazonEKSHybridPolicy", "{type: cluster}"), s);
        CHECK(snap.entries()[0].access_policies[0].grants);
        CHECK(snap.compiled(0).size() == 1);
    }
}

TEST_CASE("C9 vector 7: one entry per principal with paths ignored", "[entries][c9]") {
    const std::string text = "accessEntries:\n"
                             "  - principalArn: arn:aws:iam::111122223333:role/a/X\n"
                             "  - principalArn: arn:aws:iam::111122223333:role/b/X\n";
    auto r = load(text, test_settings());
    REQUIRE_FALSE(r);
    CHECK(r.code() == "duplicate_principal");
    CHECK(r.err().message.find("accessEntries[1].principalArn") != std::string::npos);
    CHECK(r.err().message.find("accessEntries[0]") != std::string::npos);
    // Names differing in case only are the same IAM principal (IAM names are case-insensitive).
    CHECK(load_code("accessEntries:\n  - principalArn: arn:aws:iam::111122223333:role/X\n"
                    "  - principalArn: arn:aws:iam::111122223333:role/x\n") == "duplicate_principal");
    // A role and a user of the same name, or the same name in two accounts, are different.
    CHECK(load_code("accessEntries:\n  - principalArn: arn:aws:iam::111122223333:role/X\n"
                    "  - principalArn: arn:aws:iam::111122223333:user/X\n"
                    "  - principalArn: arn:aws:iam::444455556666:role/X\n")
              .empty());
}

TEST_CASE("C9 vector 8: scope shapes", "[entries][c9]") {
    CHECK(load_code(policy_entry("STANDARD", "AmazonEKSViewPolicy", "{type: namespace}")) == "missing_namespaces");
    CHECK(load_code(policy_entry("STANDARD", "AmazonEKSViewPolicy", "{type: namespace, namespaces: []}")) == "missing_namespaces");
    CHECK(load_code(policy_entry("STANDARD", "AmazonEKSViewPolicy", "{type: cluster, namespaces: [a]}")) ==
          "namespaces_with_cluster_scope");
}

// ---- every other C1 rule ----------------------------------------------------------------------

TEST_CASE("C1.2 principalArn grammar", "[entries][c1]") {
    auto code = [](const std::string& arn) { return load_code(one_entry("{principalArn: \"" + arn + "\"}")); };
    CHECK(load_code(one_entry("{type: STANDARD}")) == "missing_principal_arn");
    CHECK(code("") == "missing_principal_arn");
    CHECK(code("not-an-arn") == "bad_principal_arn");
    CHECK(code("arn:aws:iam::111122223333") == "bad_principal_arn");
    CHECK(code("arn:aws-xx:iam::111122223333:role/R") == "bad_principal_arn");
    CHECK(code("arn:aws:iam:us-east-1:111122223333:role/R") == "bad_principal_arn");
    CHECK(code("arn:aws:iam::11112222333:role/R") == "bad_principal_arn");
    CHECK(code("arn:aws:iam::11112222333a:role/R") == "bad_principal_arn");
    CHECK(code("arn:aws:iam::111122223333:role/") == "bad_principal_arn");
    CHECK(code("arn:aws:iam::111122223333:role") == "bad_principal_arn");
    CHECK(code("arn:aws:iam::111122223333:role/bad name") == "bad_principal_arn");
    CHECK(code("arn:aws:iam::111122223333:role/" + std::string(65, 'a')) == "bad_principal_arn");
    CHECK(code("arn:aws:iam::111122223333:role/p/" + std::string(511, 'a') + "/R") == "bad_principal_arn");
    CHECK(code("arn:aws:iam::111122223333:role/p\\x7fq/R") == "bad_principal_arn");
    CHECK(code("arn:aws:iam::111122223333:group/G") == "unsupported_principal");
    CHECK(code("arn:aws:iam::111122223333:instance-profile/P") == "unsupported_principal");
    CHECK(code("arn:aws:s3:::bucket") == "unsupported_principal");
    CHECK(code("arn:aws:sts::111122223333:federated-user/F") == "session_principal");
    // Accepted forms: any partition, paths (SSO roles usable as-is), the full name alphabet.
    CHECK(code("arn:aws-cn:iam::111122223333:role/R").empty());
    CHECK(code("arn:aws-us-gov:iam::111122223333:user/U").empty());
    CHECK(code("arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/"
               "AWSReservedSSO_Admin_0123456789abcdef")
              .empty());
    CHECK(code("arn:aws:iam::111122223333:role/" + std::string(64, 'a')).empty());
    CHECK(code("arn:aws:iam::111122223333:role/a+b=c,d.e@f_g-h").empty());
    // STANDARD entries may name other accounts (cross-account).
    CHECK(code("arn:aws:iam::444455556666:role/R").empty());
}

TEST_CASE("C1.3 types: case-sensitive names and node types need a role in the cluster's account", "[entries][c1]") {
    CHECK(load_code(role_entry(", type: EC2_Windows")) == "bad_entry_type");
    CHECK(load_code(role_entry(", type: standard")) == "bad_entry_type");
    CHECK(load_code(role_entry(", type: ROOT")) == "bad_entry_type");
    for (const std::string t : {"EC2_LINUX", "EC2_WINDOWS", "FARGATE_LINUX", "HYBRID_LINUX", "EC2", "HYPERPOD_LINUX"}) {
        INFO(t);
        CHECK(load_code(role_entry(", type: " + t)).empty());
        CHECK(load_code(one_entry("{principalArn: \"arn:aws:iam::444455556666:role/N\", type: " + t + "}")) ==
              "cross_account_node_role");
        CHECK(load_code(one_entry("{principalArn: \"arn:aws:iam::111122223333:user/N\", type: " + t + "}")) ==
              "principal_type_not_allowed");
        CHECK(load_code(role_entry(", type: " + t + ", username: \"x:{{SessionName}}\"")) == "username_not_allowed");
        CHECK(load_code(role_entry(", type: " + t + ", kubernetesGroups: [g]")) == "groups_not_allowed");
        CHECK(load_code(role_entry(", type: " + t + ", kubernetesGroups: []")).empty());
    }
    SECTION("without clusterAccountId the account cannot be checked: one warning for the whole file") {
        auto s = test_settings();
        s.cluster_account_id.clear();
        const auto snap = must_load("accessEntries:\n"
                                    "  - {principalArn: \"arn:aws:iam::444455556666:role/N1\", type: EC2_LINUX}\n"
                                    "  - {principalArn: \"arn:aws:iam::444455556666:role/N2\", type: FARGATE_LINUX}\n",
                                    s);
        REQUIRE(snap.warnings().size() == 1);
        CHECK(snap.warnings()[0].code == "node_account_unchecked");
    }
}

TEST_CASE("C1.3 generated usernames and automatic groups per type", "[entries][c1]") {
    struct row {
        std::string type, username;
        std::vector<std::string> groups;
    };
    const std::vector<row> rows = {
        {"EC2_LINUX", "system:node:{{EC2PrivateDNSName}}", {"system:nodes"}},
        {"EC2_WINDOWS", "system:node:{{EC2PrivateDNSName}}", {"system:nodes", "eks:kube-proxy-windows"}},
        {"FARGATE_LINUX", "system:node:{{SessionName}}", {"system:nodes", "system:node-proxier"}},
        {"HYBRID_LINUX", "system:node:{{SessionName}}", {"system:nodes"}},
        {"EC2", "system:node:{{SessionName}}", {"system:nodes"}},
        {"HYPERPOD_LINUX", "system:node:{{SessionName}}", {"system:nodes"}},
    };
    for (const auto& r : rows) {
        INFO(r.type);
        const auto snap = must_load(role_entry(", type: " + r.type));
        CHECK(snap.entries()[0].username == r.username);
        CHECK(snap.entries()[0].username_generated);
        CHECK(snap.entries()[0].groups == r.groups);
    }
    const auto standard = must_load(role_entry(", kubernetesGroups: [b, a]"));
    CHECK(standard.entries()[0].groups == std::vector<std::string>{"b", "a"});  // STANDARD: no automatic group
}

TEST_CASE("C1.4 caller-supplied usernames", "[entries][c1]") {
    CHECK(load_code(role_entry(", username: \"\"")) == "empty_username");
    CHECK(load_code(role_entry(", username: \"" + std::string(1025, 'u') + "\"")) == "username_too_long");
    CHECK(load_code(role_entry(", username: \"" + std::string(1024, 'u') + "\"")).empty());
    CHECK(load_code(role_entry(", username: \"a\\tb\"")) == "bad_username");
    CHECK(load_code(role_entry(", username: \"a\\u007fb\"")) == "bad_username");
    for (const std::string p : {"{{AccountID}}", "{{AccessKeyID}}", "{{EC2PrivateDNSName}}", "{{Session}}"}) {
        INFO(p);
        CHECK(load_code(role_entry(", username: \"x:" + p + "\"")) == "unknown_username_placeholder");
    }
    CHECK(load_code(role_entry(", username: \"x:{{SessionName}}-{{SessionNameRaw}}\"")).empty());
    CHECK(load_code(role_entry(", username: \"literal {{ braces\"")).empty());
    // Users take custom usernames too.
    CHECK(load_code(one_entry("{principalArn: \"arn:aws:iam::111122223333:user/u\", username: bob}")).empty());
}

TEST_CASE("C1.5 groups", "[entries][c1]") {
    CHECK(load_code(role_entry(", kubernetesGroups: [\"\"]")) == "bad_group");
    CHECK(load_code(role_entry(", kubernetesGroups: [\"" + std::string(1025, 'g') + "\"]")) == "bad_group");
    CHECK(load_code(role_entry(", kubernetesGroups: [\"a\\nb\"]")) == "bad_group");
    CHECK(load_code(role_entry(", kubernetesGroups: [\"team-{{SessionName}}\"]")) == "group_placeholder");
    CHECK(load_code(role_entry(", kubernetesGroups: [system:developers]")) == "reserved_group_prefix");
    // eks:, aws:... are allowed by default (undocumented, C10) but configurable.
    CHECK(load_code(role_entry(", kubernetesGroups: [\"eks:x\", \"aws:y\"]")).empty());
    auto s = test_settings();
    s.reserved_group_prefixes = {"system:", "eks:"};
    CHECK(load_code(role_entry(", kubernetesGroups: [\"eks:x\"]"), s) == "reserved_group_prefix");
    s.reserved_group_prefixes.clear();
    CHECK(load_code(role_entry(", kubernetesGroups: [system:masters]"), s).empty());
    const auto empty = must_load(role_entry(", kubernetesGroups: []"));
    CHECK(empty.entries()[0].groups.empty());
}

TEST_CASE("C1.6 policy associations", "[entries][c1]") {
    auto with_policy = [](const std::string& arn, const std::string& scope = "{type: cluster}") {
        return role_entry(", accessPolicies: [{policyArn: \"" + arn + "\", accessScope: " + scope + "}]");
    };
    CHECK(load_code(with_policy("arn:aws:eks::aws:cluster-access-policy/AmazonEKSMadeUpPolicy")) == "unknown_policy");
    CHECK(load_code(with_policy("arn:aws:eks::aws:cluster-access-policy/amazoneksviewpolicy")) == "unknown_policy");
    CHECK(load_code(with_policy("arn:aws:eks::111122223333:cluster-access-policy/AmazonEKSViewPolicy")) == "bad_policy_arn");
    CHECK(load_code(with_policy("arn:aws:eks:us-east-1:aws:cluster-access-policy/AmazonEKSViewPolicy")) == "bad_policy_arn");
    CHECK(load_code(with_policy("arn:aws:iam::aws:cluster-access-policy/AmazonEKSViewPolicy")) == "bad_policy_arn");
    CHECK(load_code(with_policy("arn:aws:eks::aws:access-policy/AmazonEKSViewPolicy")) == "bad_policy_arn");
    CHECK(load_code(with_policy("AmazonEKSViewPolicy")) == "bad_policy_arn");
    CHECK(load_code(role_entry(", accessPolicies: [{accessScope: {type: cluster}}]")) == "bad_policy_arn");
    CHECK(load_code(with_policy("arn:aws-cn:eks::aws:cluster-access-policy/AmazonEKSViewPolicy")) ==
          "policy_partition_mismatch");
    CHECK(load_code(one_entry("{principalArn: \"arn:aws-cn:iam::111122223333:role/R\", accessPolicies: [{policyArn: "
                              "\"arn:aws-cn:eks::aws:cluster-access-policy/AmazonEKSViewPolicy\", accessScope: {type: cluster}}]}"))
              .empty());
    CHECK(load_code(role_entry(", accessPolicies: [{policyArn: \"" + view_policy + "\"}]")) == "missing_access_scope");
    CHECK(load_code(with_policy(view_policy, "{type: Cluster}")) == "bad_scope_type");
    CHECK(load_code(with_policy(view_policy, "{namespaces: [a]}")) == "bad_scope_type");
    CHECK(load_code(with_policy(view_policy, "{type: namespace, namespaces: [a, a]}")) == "duplicate_namespace");
    CHECK(load_code(with_policy(view_policy, "{type: namespace, namespaces: [Dev]}")) == "bad_namespace");
    CHECK(load_code(with_policy(view_policy, "{type: namespace, namespaces: [-dev]}")) == "bad_namespace");
    CHECK(load_code(with_policy(view_policy, "{type: namespace, namespaces: [dev-]}")) == "bad_namespace");
    CHECK(load_code(with_policy(view_policy, "{type: namespace, namespaces: [dev_a]}")) == "bad_namespace");
    CHECK(load_code(with_policy(view_policy, "{type: namespace, namespaces: [\"\"]}")) == "bad_namespace");
    CHECK(load_code(with_policy(view_policy, "{type: namespace, namespaces: [" + std::string(64, 'a') + "]}")) == "bad_namespace");
    CHECK(load_code(with_policy(view_policy, "{type: namespace, namespaces: [\"*\", \"dev-*\", \"*-prod\", \"a*b*c\", " +
                                                 std::string(63, 'a') + "]}"))
              .empty());
    SECTION("each policy once per entry") {
        CHECK(load_code(role_entry(", accessPolicies: [{policyArn: \"" + view_policy + "\", accessScope: {type: cluster}}, "
                                   "{policyArn: \"" + view_policy + "\", accessScope: {type: namespace, namespaces: [a]}}]")) ==
              "duplicate_policy");
    }
    SECTION("at most 20 associations (CloudFormation)") {
        std::string list;
        for (int i = 0; i < 21; ++i) list += std::string(i ? ", " : "") + "{policyArn: \"" + view_policy + "\", accessScope: {type: cluster}}";
        CHECK(load_code(role_entry(", accessPolicies: [" + list + "]")) == "too_many_policies");
    }
    SECTION("service-linked-role policies") {
        for (const std::string p : {"AmazonEKSHybridPolicy", "AmazonEKSComputePolicy", "AmazonEKSBlockStoragePolicy",
                                    "AmazonEKSClusterInsightsPolicy", "AmazonEKSComputeClusterPolicy",
                                    "AmazonEKSBlockStorageClusterPolicy"}) {
            INFO(p);
            CHECK(load_code(with_policy("arn:aws:eks::aws:cluster-access-policy/" + p)) == "service_policy_not_allowed");
        }
    }
    SECTION("undocumented policies: grant nothing unless allowInferredPolicies") {
        const auto insights = with_policy("arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterInsightsPolicy");
        auto s = test_settings();
        s.allow_service_policies = true;
        const auto off = must_load(insights, s);
        CHECK_FALSE(off.entries()[0].access_policies[0].grants);
        CHECK(has_warning(off, "undocumented_policy"));
        CHECK(off.compiled(0).empty());
        s.allow_inferred_policies = true;
        const auto on = must_load(insights, s);
        CHECK(on.entries()[0].access_policies[0].grants);
        CHECK(on.entries()[0].access_policies[0].inferred);
        CHECK(has_warning(on, "inferred_policy"));
        CHECK(on.compiled(0).size() == 1);
        // A policy without any known rule grants nothing even when opted in.
        const auto empty = must_load(with_policy("arn:aws:eks::aws:cluster-access-policy/AmazonEMRJobPolicy"), s);
        CHECK_FALSE(empty.entries()[0].access_policies[0].grants);
        CHECK(has_warning(empty, "inferred_policy"));
    }
}

TEST_CASE("C1.1 principalId and tags", "[entries][c1]") {
    CHECK(load_code(role_entry(", principalId: \"AROA-BAD\"")) == "bad_principal_id");
    CHECK(load_code(role_entry(", principalId: \"\"")) == "bad_principal_id");
    CHECK(load_code("accessEntries:\n"
                    "  - {principalArn: \"arn:aws:iam::111122223333:role/A\", principalId: AROASAME}\n"
                    "  - {principalArn: \"arn:aws:iam::111122223333:role/B\", principalId: AROASAME}\n") ==
          "duplicate_principal_id");
    const auto odd = must_load(role_entry(", principalId: AIDAWRONGKIND"));
    CHECK(has_warning(odd, "principal_id_prefix"));

    CHECK(load_code(role_entry(", tags: {\"\": v}")) == "bad_tags");
    CHECK(load_code(role_entry(", tags: {" + std::string(129, 'k') + ": v}")) == "bad_tags");
    CHECK(load_code(role_entry(", tags: {k: " + std::string(257, 'v') + "}")) == "bad_tags");
    CHECK(load_code(role_entry(", tags: {" + std::string(128, 'k') + ": " + std::string(256, 'v') + "}")).empty());
    CHECK(load_code(role_entry(", tags: [{Key: a, Value: b}, {Key: a, Value: c}]")) == "bad_tags");
    CHECK(load_code(role_entry(", tags: [a]")) == "bad_shape");
    CHECK(load_code(role_entry(", tags: x")) == "bad_shape");
    std::string many;
    for (int i = 0; i < 51; ++i) many += std::string(i ? ", " : "") + "k" + std::to_string(i) + ": v";
    CHECK(load_code(role_entry(", tags: {" + many + "}")) == "bad_tags");
    // Characters, not bytes: 128 two-byte characters are a valid key.
    std::string wide;
    for (int i = 0; i < 128; ++i) wide += "\xc3\xa9";
    CHECK(load_code(role_entry(", tags: {\"" + wide + "\": v}")).empty());
}

// ---- C3 -----------------------------------------------------------------------------------------

TEST_CASE("C3 cluster-creator bootstrap synthesises an admin entry outside CONFIG_MAP", "[entries][c3]") {
    const std::string keys = "bootstrapClusterCreatorAdminPermissions: true\n"
                             "clusterCreatorArn: arn:aws:iam::111122223333:role/path/Creator\n";
    const auto snap = must_load(keys);
    REQUIRE(snap.entries().size() == 1);
    const auto& e = snap.entries()[0];
    CHECK(e.synthesized);
    CHECK(e.index == access_entry::synthesized_index);
    CHECK(e.type == entry_type::standard);
    CHECK(e.username == "arn:aws:sts::111122223333:assumed-role/Creator/{{SessionName}}");
    REQUIRE(e.access_policies.size() == 1);
    CHECK(e.access_policies[0].policy_arn == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy");
    CHECK(e.access_policies[0].scope == scope_type::cluster);
    CHECK(snap.find("arn:aws:iam::111122223333:role/creator") == &e);
    CHECK(snap.cluster_creator_key() == "arn:aws:iam::111122223333:role/creator");

    SECTION("an explicit entry for the creator wins, with a warning") {
        const auto both = must_load(keys + "accessEntries:\n  - {principalArn: \"arn:aws:iam::111122223333:role/Creator\", "
                                           "kubernetesGroups: [mine]}\n");
        REQUIRE(both.entries().size() == 1);
        CHECK_FALSE(both.entries()[0].synthesized);
        CHECK(both.entries()[0].access_policies.empty());
        CHECK(has_warning(both, "cluster_creator_entry_exists"));
    }
    SECTION("in CONFIG_MAP no entry is synthesised (the creator is a hidden mapping instead)") {
        const auto cm = must_load("authenticationMode: CONFIG_MAP\n" + keys);
        CHECK(cm.entries().empty());
        CHECK(cm.cluster_creator_key() == "arn:aws:iam::111122223333:role/creator");
    }
    SECTION("removing either key removes the synthesised entry") {
        const auto off = must_load("bootstrapClusterCreatorAdminPermissions: false\n"
                                   "clusterCreatorArn: arn:aws:iam::111122223333:role/Creator\n");
        CHECK(off.entries().empty());
        CHECK(off.cluster_creator_key().empty());
        CHECK(has_warning(off, "cluster_creator_incomplete"));
        const auto no_arn = must_load("bootstrapClusterCreatorAdminPermissions: true\n");
        CHECK(no_arn.entries().empty());
        CHECK(has_warning(no_arn, "cluster_creator_incomplete"));
    }
    SECTION("a bad creator ARN is an error") {
        CHECK(load_code("bootstrapClusterCreatorAdminPermissions: true\nclusterCreatorArn: arn:aws:iam::111122223333:root\n") ==
              "bad_cluster_creator_arn");
    }
}

TEST_CASE("settings_from_config takes clusterID and server.accessEntries", "[entries]") {
    config::server_config cfg = config::default_config();
    cfg.cluster_id = "c1";
    cfg.access_entries.file = "/etc/stsauth/access-entries.yaml";
    cfg.access_entries.cluster_account_id = "444455556666";
    cfg.access_entries.reserved_group_prefixes = {"system:", "eks:"};
    cfg.access_entries.allow_service_policies = true;
    const auto s = settings_from_config(cfg);
    CHECK(s.source_name == "/etc/stsauth/access-entries.yaml");
    CHECK(s.cluster_id == "c1");
    CHECK(s.cluster_account_id == "444455556666");
    CHECK(s.reserved_group_prefixes == std::vector<std::string>{"system:", "eks:"});
    CHECK(s.allow_service_policies);
    CHECK_FALSE(s.allow_inferred_policies);
}

TEST_CASE("C8 a hopeless file stops early and reports the first 50 problems", "[entries][format]") {
    std::string text = "accessEntries:\n";
    for (int i = 0; i < 2000; ++i) text += "  - {principalArn: \"arn:aws:iam::111122223333:root\"}\n";
    auto r = load(text, test_settings());
    REQUIRE_FALSE(r);
    CHECK(r.code() == "unsupported_principal");
    const auto& m = r.err().message;
    CHECK(m.find("accessEntries[49].principalArn") != std::string::npos);
    CHECK(m.find("accessEntries[50].principalArn") == std::string::npos);
    CHECK(m.find("... and 451 more problems") != std::string::npos);  // stopped after 501, not 2000
}
