// The access-policy authorizer (C6) through the SubjectAccessReview codec: test vectors C9 13-19
// in both API versions, namespace wildcard scopes, principal extraction.

#include "helpers.hpp"

using namespace access_test;

namespace {

const std::string view_arn = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
const std::string edit_arn = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy";
const std::string admin_arn = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";

const snapshot& fixture() {
    static const snapshot snap = [] {
        auto s = test_settings();
        s.allow_service_policies = true;   // AmazonEKSClusterInsightsPolicy
        s.allow_inferred_policies = true;  // ... and its inferred resourceNames rule
        return must_load(read_fixture("authorization.yaml"), s);
    }();
    return snap;
}

constexpr std::array<sar_version, 2> versions = {sar_version::v1, sar_version::v1beta1};

/// Runs one review in both versions and checks they agree; returns the v1 result.
review_result both(const nlohmann::json& attributes, bool non_resource, const nlohmann::json& extra,
                   const snapshot* snap = &fixture()) {
    const auto v1 = review(snap, sar_version::v1, attributes, non_resource, extra);
    const auto v1beta1 = review(snap, sar_version::v1beta1, attributes, non_resource, extra);
    CHECK(v1.d.allowed() == v1beta1.d.allowed());
    CHECK(v1.d.reason == v1beta1.d.reason);
    CHECK(v1.reply["status"] == v1beta1.reply["status"]);
    return v1;
}

bool allowed(const nlohmann::json& attributes, const std::string& role, const std::string& id = "AROAEXAMPLEID",
             bool non_resource = false) {
    return both(attributes, non_resource, role_extra(role, id)).d.allowed();
}

}  // namespace

TEST_CASE("C9 vector 13: View at cluster scope", "[authorizer][c9]") {
    const auto list = both(resource("list", "", "pods", "default"), false, role_extra("Viewer", "AROAVIEWER"));
    CHECK(list.d.allowed());
    CHECK(list.d.reason == decision_reason::allowed);
    CHECK(list.d.policy_arn == view_arn);
    const auto secrets = both(resource("get", "", "secrets", "default"), false, role_extra("Viewer", "AROAVIEWER"));
    CHECK_FALSE(secrets.d.allowed());
    CHECK(secrets.d.reason == decision_reason::no_matching_rule);
    CHECK_FALSE(allowed(resource("create", "", "pods", "default"), "Viewer", "AROAVIEWER"));
    // Cluster scope covers every namespace and the all-namespaces list.
    CHECK(allowed(resource("list", "", "pods"), "Viewer", "AROAVIEWER"));
    CHECK(allowed(resource("watch", "apps", "deployments", "kube-system"), "Viewer", "AROAVIEWER"));
}

TEST_CASE("C9 vector 14: Edit at namespace scope dev-star", "[authorizer][c9]") {
    const auto create = both(resource("create", "apps", "deployments", "dev-a"), false, role_extra("Dev", "AROADEV"));
    CHECK(create.d.allowed());
    CHECK(create.d.policy_arn == edit_arn);
    CHECK_FALSE(allowed(resource("create", "apps", "deployments", "prod"), "Dev", "AROADEV"));
    const auto all_ns = both(resource("list", "", "pods", ""), false, role_extra("Dev", "AROADEV"));
    CHECK_FALSE(all_ns.d.allowed());
    CHECK(all_ns.d.reason == decision_reason::no_matching_rule);
    CHECK_FALSE(allowed(resource("list", "", "nodes"), "Dev", "AROADEV"));
    const auto ns_object = both(resource("get", "", "namespaces", "dev-a", "", "dev-a"), false, role_extra("Dev", "AROADEV"));
    CHECK(ns_object.d.allowed());
    CHECK(ns_object.reply["status"]["reason"] ==
          "EKS Access Policy: allowed by RoleBinding \"arn:aws:iam::111122223333:role/Dev+" + edit_arn +
              "\" in namespace \"dev-a\" of ClusterRole \"" + edit_arn + "\" to User \"AROADEV\"");
    // Non-resource URLs are never granted by a namespace scope.
    CHECK_FALSE(allowed(non_resource("get", "/healthz"), "Dev", "AROADEV", true));
}

TEST_CASE("C9 vector 15: ClusterAdmin non-resource URLs need cluster scope", "[authorizer][c9]") {
    CHECK(allowed(non_resource("get", "/healthz"), "Admin", "AROAADMIN", true));
    CHECK(allowed(non_resource("post", "/anything/at/all"), "Admin", "AROAADMIN", true));
    const auto ns = both(non_resource("get", "/healthz"), true, role_extra("NsAdmin", "AROANSADMIN"));
    CHECK_FALSE(ns.d.allowed());
    CHECK(ns.d.reason == decision_reason::no_matching_rule);
    // Namespace-scoped ClusterAdmin: everything inside `a`, nothing cluster-scoped.
    CHECK(allowed(resource("delete", "", "secrets", "a", "", "s"), "NsAdmin", "AROANSADMIN"));
    CHECK(allowed(resource("escalate", "rbac.authorization.k8s.io", "roles", "a"), "NsAdmin", "AROANSADMIN"));
    CHECK_FALSE(allowed(resource("delete", "", "secrets", "b", "", "s"), "NsAdmin", "AROANSADMIN"));
    CHECK_FALSE(allowed(resource("get", "", "nodes", "", "", "n1"), "NsAdmin", "AROANSADMIN"));
    CHECK(allowed(resource("get", "", "nodes", "", "", "n1"), "Admin", "AROAADMIN"));
}

TEST_CASE("C9 vector 16: ARC scaling policy grants star-slash-scale", "[authorizer][c9]") {
    const auto scale = both(resource("update", "apps", "deployments", "ns1", "scale", "web"), false,
                            role_extra("Scaler", "AROASCALER"));
    CHECK(scale.d.allowed());
    CHECK(scale.d.policy_arn == "arn:aws:eks::aws:cluster-access-policy/AmazonARCRegionSwitchScalingPolicy");
    CHECK_FALSE(allowed(resource("update", "apps", "deployments", "ns1", "", "web"), "Scaler", "AROASCALER"));
    CHECK(allowed(resource("get", "example.com", "widgets", "ns1", "status", "w"), "Scaler", "AROASCALER"));
    CHECK_FALSE(allowed(resource("update", "example.com", "widgets", "ns1", "status", "w"), "Scaler", "AROASCALER"));
    CHECK(allowed(resource("patch", "autoscaling", "horizontalpodautoscalers", "ns1", "", "h"), "Scaler", "AROASCALER"));
}

TEST_CASE("C9 vector 17: a rule with resourceNames", "[authorizer][c9]") {
    // AmazonEKSClusterInsightsPolicy's inferred rule: get daemonsets.apps named kube-proxy.
    CHECK(allowed(resource("get", "apps", "daemonsets", "kube-system", "", "kube-proxy"), "Insights"));
    CHECK_FALSE(allowed(resource("get", "apps", "daemonsets", "kube-system", "", "aws-node"), "Insights"));
    const auto list = both(resource("list", "apps", "daemonsets", "kube-system"), false, role_extra("Insights", "AROAX"));
    CHECK_FALSE(list.d.allowed());
    CHECK(list.d.reason == decision_reason::no_matching_rule);
    SECTION("without allowInferredPolicies the same entry grants nothing") {
        auto s = test_settings();
        s.allow_service_policies = true;
        const auto off = must_load(read_fixture("authorization.yaml"), s);
        CHECK_FALSE(both(resource("get", "apps", "daemonsets", "kube-system", "", "kube-proxy"), false,
                         role_extra("Insights", "AROAX"), &off)
                        .d.allowed());
    }
}

TEST_CASE("C9 vector 18: missing or ambiguous extras give no opinion and never a deny", "[authorizer][c9]") {
    const auto attrs = resource("list", "", "pods", "default");
    auto reason_of = [&](const nlohmann::json& extra) { return both(attrs, false, extra).d.reason; };
    CHECK(reason_of(nullptr) == decision_reason::no_principal);
    CHECK(reason_of(nlohmann::json::object()) == decision_reason::no_principal);

    auto two_ids = role_extra("Viewer", "AROAVIEWER");
    two_ids["sigs.k8s.io/aws-iam-authenticator/principalId"] = {"AROAVIEWER", "AROAOTHER"};
    CHECK(reason_of(two_ids) == decision_reason::no_principal);

    auto two_arns = role_extra("Viewer", "AROAVIEWER");
    two_arns["canonicalArn"] = {"arn:aws:iam::111122223333:role/Viewer", "arn:aws:iam::111122223333:role/Admin"};
    CHECK(reason_of(two_arns) == decision_reason::no_principal);

    auto no_arn = role_extra("Viewer", "AROAVIEWER");
    no_arn.erase("canonicalArn");
    CHECK(reason_of(no_arn) == decision_reason::no_principal);

    auto empty_id = role_extra("Viewer", "AROAVIEWER");
    empty_id["sigs.k8s.io/aws-iam-authenticator/principalId"] = {""};
    CHECK(reason_of(empty_id) == decision_reason::no_principal);

    auto legacy_only = role_extra("Viewer", "AROAVIEWER");
    legacy_only.erase("sigs.k8s.io/aws-iam-authenticator/principalId");
    CHECK(reason_of(legacy_only) == decision_reason::allowed);  // falls back to `principalId`

    auto namespaced_only = role_extra("Viewer", "AROAVIEWER");
    namespaced_only.erase("principalId");
    CHECK(reason_of(namespaced_only) == decision_reason::allowed);

    auto disagree = role_extra("Viewer", "AROAVIEWER");
    disagree["principalId"] = {"AROAOTHER"};
    CHECK(reason_of(disagree) == decision_reason::no_principal);

    auto root = role_extra("Viewer", "AROAVIEWER");
    root["canonicalArn"] = {"arn:aws:iam::111122223333:root"};
    CHECK(reason_of(root) == decision_reason::no_principal);

    // The review's user and groups are never consulted (C6.1 step 4): the extras alone decide.
    CHECK(reason_of(role_extra("Nobody", "AROANOBODY")) == decision_reason::no_entry);
}

TEST_CASE("C9 vector 19: reply reasons byte for byte", "[authorizer][c9]") {
    const auto allow = both(resource("list", "", "pods", "default"), false, role_extra("Viewer", "AROAVIEWER"));
    const std::string expected = "EKS Access Policy: allowed by ClusterRoleBinding "
                                 "\"arn:aws:iam::111122223333:role/teams/Viewer+arn:aws:eks::aws:cluster-access-policy/"
                                 "AmazonEKSViewPolicy\" of ClusterRole "
                                 "\"arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy\" to User \"AROAVIEWER\"";
    CHECK(allow.d.status.reason == expected);
    CHECK(allow.reply["status"]["reason"] == expected);
    CHECK(allow.d.principal_arn == "arn:aws:iam::111122223333:role/teams/Viewer");
    CHECK(allow.d.canonical_arn == "arn:aws:iam::111122223333:role/Viewer");
    {
        // Without explain: the same answer, none of the log-only strings.
        auto req = decode_sar(sar_body(sar_version::v1, resource("list", "", "pods", "default"), false,
                                       role_extra("Viewer", "AROAVIEWER")));
        REQUIRE(req);
        const auto lean = evaluate(&fixture(), *req, false);
        CHECK(lean.allowed());
        CHECK(lean.reason == decision_reason::allowed);
        CHECK(lean.status.reason == expected);
        CHECK(lean.canonical_arn.empty());
        CHECK(lean.policy_arn.empty());
        CHECK(lean.principal_arn.empty());
    }
    for (const auto v : versions) {
        auto req = decode_sar(sar_body(v, resource("list", "", "pods", "default"), false, role_extra("Viewer", "AROAVIEWER")));
        REQUIRE(req);
        CHECK(encode_sar_response(v, evaluate(&fixture(), *req).status) ==
              R"({"apiVersion":")" + version_string(v) +
                  R"(","kind":"SubjectAccessReview","metadata":{},"spec":{},"status":{"allowed":true,"reason":)" +
                  nlohmann::json(expected).dump() + "}}\n");
        auto denied = decode_sar(sar_body(v, resource("get", "", "secrets", "default"), false, role_extra("Viewer", "AROAVIEWER")));
        REQUIRE(denied);
        const auto d = evaluate(&fixture(), *denied);
        CHECK(d.status.reason.empty());
        CHECK(encode_sar_response(v, d.status) == R"({"apiVersion":")" + version_string(v) +
                                                       R"(","kind":"SubjectAccessReview","metadata":{},"spec":{},)"
                                                       R"("status":{"allowed":false}})"
                                                       "\n");
    }
    // The entry has no principalId: the reason names the extra's id.
    const auto admin = both(non_resource("get", "/healthz"), true, role_extra("Admin", "AROAADMINID"));
    CHECK(admin.d.status.reason == "EKS Access Policy: allowed by ClusterRoleBinding \"arn:aws:iam::111122223333:role/Admin+" +
                                       admin_arn + "\" of ClusterRole \"" + admin_arn + "\" to User \"AROAADMINID\"");
}

TEST_CASE("C6.2 namespace wildcard scopes", "[authorizer][namespace]") {
    // ops/eks-user: SecretReader on ["*-prod", "tools", "*"]; View on ["team-*-prod", "ops"].
    auto user_extra = [](const std::string& id) {
        return nlohmann::json{{"canonicalArn", {"arn:aws:iam::111122223333:user/ops/eks-user"}},
                              {"sigs.k8s.io/aws-iam-authenticator/principalId", {id}}};
    };
    auto user_allowed = [&](const nlohmann::json& attrs) { return both(attrs, false, user_extra("AIDAUSER")).d.allowed(); };
    // A bare `*` matches every namespace...
    CHECK(user_allowed(resource("get", "", "secrets", "anything")));
    CHECK(user_allowed(resource("list", "", "secrets", "kube-system")));
    // ... but never the all-namespaces request, cluster-scoped resources or URLs.
    CHECK_FALSE(user_allowed(resource("list", "", "secrets", "")));
    CHECK_FALSE(user_allowed(resource("get", "", "nodes", "", "", "n1")));
    CHECK_FALSE(both(non_resource("get", "/version"), true, user_extra("AIDAUSER")).d.allowed());
    // Infix wildcards.
    CHECK(user_allowed(resource("get", "", "pods", "team-a-prod")));
    CHECK(user_allowed(resource("get", "", "pods", "team--prod")));
    CHECK_FALSE(user_allowed(resource("get", "", "pods", "team-a-prod2")));
    CHECK_FALSE(user_allowed(resource("get", "", "pods", "team-a")));
    CHECK(user_allowed(resource("get", "", "pods", "ops")));
    CHECK_FALSE(user_allowed(resource("get", "", "pods", "ops2")));
    CHECK_FALSE(user_allowed(resource("get", "", "pods", "Ops")));
    // The reason names the request's namespace and the first association that allowed it.
    const auto r = both(resource("get", "", "secrets", "team-a-prod", "", "s"), false, user_extra("AIDAUSER"));
    CHECK(r.d.status.reason ==
          "EKS Access Policy: allowed by RoleBinding \"arn:aws:iam::111122223333:user/ops/eks-user+"
          "arn:aws:eks::aws:cluster-access-policy/AmazonEKSSecretReaderPolicy\" in namespace \"team-a-prod\" of ClusterRole "
          "\"arn:aws:eks::aws:cluster-access-policy/AmazonEKSSecretReaderPolicy\" to User \"AIDAUSER\"");
    // principalId protection applies to users too.
    CHECK(both(resource("get", "", "secrets", "x"), false, user_extra("AIDAOTHER")).d.reason == decision_reason::no_entry);
}

TEST_CASE("C6.1 entries that never authorize", "[authorizer]") {
    // Node types other than EC2 are not evaluated; entries without policies have no opinion.
    const auto node = both(resource("get", "", "pods", "default"), false, role_extra("Node", "AROANODE"));
    CHECK(node.d.reason == decision_reason::no_entry);
    const auto none = both(resource("get", "", "pods", "default"), false, role_extra("NoPolicies", "AROANOPOL"));
    CHECK(none.d.reason == decision_reason::no_matching_rule);
    // A principalId mismatch is no_entry.
    CHECK(both(resource("list", "", "pods", "default"), false, role_extra("Viewer", "AROAIMPOSTER")).d.reason ==
          decision_reason::no_entry);
    // A different account with the same role name has no entry.
    auto other_account = role_extra("Viewer", "AROAVIEWER");
    other_account["canonicalArn"] = {"arn:aws:iam::444455556666:role/Viewer"};
    CHECK(both(resource("list", "", "pods", "default"), false, other_account).d.reason == decision_reason::no_entry);
}

TEST_CASE("C6.1 EC2 entries are evaluated (AmazonEKSAutoNodePolicy with inferred rules)", "[authorizer]") {
    auto s = test_settings();
    const std::string text = "accessEntries:\n"
                             "  - principalArn: arn:aws:iam::111122223333:role/AutoNode\n"
                             "    type: EC2\n"
                             "    accessPolicies:\n"
                             "      - policyArn: arn:aws:eks::aws:cluster-access-policy/AmazonEKSAutoNodePolicy\n"
                             "        accessScope: {type: cluster}\n";
    const auto attrs = resource("impersonate", "", "users", "", "", "kube-proxy");
    const auto off = must_load(text, s);
    CHECK(both(attrs, false, role_extra("AutoNode", "AROAAUTO"), &off).d.reason == decision_reason::no_matching_rule);
    s.allow_inferred_policies = true;
    const auto on = must_load(text, s);
    CHECK(both(attrs, false, role_extra("AutoNode", "AROAAUTO"), &on).d.allowed());
    CHECK_FALSE(both(resource("impersonate", "", "users", "", "", "admin"), false, role_extra("AutoNode", "AROAAUTO"), &on)
                    .d.allowed());
}

TEST_CASE("C6.4 not loaded: no opinion with an evaluation error", "[authorizer]") {
    const auto r = both(resource("list", "", "pods", "default"), false, role_extra("Viewer", "AROAVIEWER"), nullptr);
    CHECK_FALSE(r.d.allowed());
    CHECK(r.d.reason == decision_reason::not_loaded);
    CHECK(r.reply["status"]["evaluationError"] == "access entries not loaded");
    CHECK(to_string(decision_reason::not_loaded) == "not_loaded");
    CHECK(to_string(decision_reason::no_matching_rule) == "no_matching_rule");
    CHECK(to_string(decision_reason::mode_config_map) == "mode_config_map");
}

TEST_CASE("C3 synthesised creator entry authorizes as ClusterAdmin", "[authorizer][c3]") {
    const auto snap = must_load("bootstrapClusterCreatorAdminPermissions: true\n"
                                "clusterCreatorArn: arn:aws:iam::111122223333:role/Creator\n");
    const auto r = both(non_resource("get", "/metrics"), true, role_extra("Creator", "AROACREATOR"), &snap);
    CHECK(r.d.allowed());
    CHECK(r.d.policy_arn == admin_arn);
}
