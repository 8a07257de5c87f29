// The compiled-in policy table, RBAC rule matching (C6.3), the pre-expanded rule_table, and the
// four main policies against the upstream ClusterRoles recorded in the data file (C4).

#include "access/policies.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <set>
#include <string>
#include <tuple>
#include <vector>

using namespace stsauth::access;

namespace {

using sv_list = std::vector<std::string_view>;

struct normal_rule {
    std::vector<std::string> groups, resources, names, urls, verbs;
    auto operator<=>(const normal_rule&) const = default;
};

std::vector<std::string> sorted(data::string_list l) {
    std::vector<std::string> out(l.begin(), l.end());
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<normal_rule> normalize(std::span<const data::rule_def> rules) {
    std::vector<normal_rule> out;
    for (const auto& r : rules) {
        out.push_back({sorted(r.api_groups), sorted(r.resources), sorted(r.resource_names), sorted(r.non_resource_urls),
                       sorted(r.verbs)});
    }
    std::sort(out.begin(), out.end());
    return out;
}

using atom = std::tuple<std::string, std::string, std::string>;  // group, resource, verb

std::set<atom> atoms(std::span<const data::rule_def> rules) {
    std::set<atom> out;
    for (const auto& r : rules) {
        for (auto g : r.api_groups)
            for (auto res : r.resources)
                for (auto v : r.verbs) out.emplace(g, res, v);
    }
    return out;
}

const data::policy_def& policy(std::string_view name) {
    const auto* p = find_policy(name);
    REQUIRE(p != nullptr);
    return *p;
}

struct split_rules {
    std::vector<data::rule_def> kept;     ///< rules the EKS policy should hold
    std::vector<data::rule_def> dropped;  ///< absentFromEKSPolicies
};

split_rules upstream(std::string_view role) {
    split_rules out;
    for (const auto& r : aggregated_upstream_rules(role)) (r.absent_from_eks_policies ? out.dropped : out.kept).push_back(r);
    return out;
}

// The documented differences (data file `equivalence` texts for AmazonEKSEditPolicy and
// AmazonEKSAdminPolicy): pods/eviction create, serviceaccounts/token create, and read-write on
// coordination.k8s.io leases.
const std::set<atom> documented_differences = {
    {"", "pods/eviction", "create"},
    {"", "serviceaccounts/token", "create"},
    {"coordination.k8s.io", "leases", "create"},
    {"coordination.k8s.io", "leases", "delete"},
    {"coordination.k8s.io", "leases", "deletecollection"},
    {"coordination.k8s.io", "leases", "get"},
    {"coordination.k8s.io", "leases", "list"},
    {"coordination.k8s.io", "leases", "patch"},
    {"coordination.k8s.io", "leases", "update"},
    {"coordination.k8s.io", "leases", "watch"},
};

std::set<atom> minus(const std::set<atom>& a, const std::set<atom>& b) {
    std::set<atom> out;
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.end()));
    return out;
}

bool any_rule_allows(std::span<const data::rule_def> rules, const resource_request& r) {
    return std::any_of(rules.begin(), rules.end(), [&](const auto& rule) { return rule_allows(rule, r); });
}

bool any_rule_allows(std::span<const data::rule_def> rules, const non_resource_request& r) {
    return std::any_of(rules.begin(), rules.end(), [&](const auto& rule) { return rule_allows(rule, r); });
}

}  // namespace

TEST_CASE("policy table: every documented EKS policy is compiled in", "[policies]") {
    CHECK(data::policies().size() == 20);
    for (const auto* name : {"AmazonEKSClusterAdminPolicy", "AmazonEKSAdminPolicy", "AmazonEKSEditPolicy", "AmazonEKSViewPolicy",
                             "AmazonEKSAdminViewPolicy", "AmazonEKSSecretReaderPolicy", "AmazonEKSHybridPolicy",
                             "AmazonARCRegionSwitchScalingPolicy", "AmazonEKSAutoNodePolicy", "AmazonEMRJobPolicy"}) {
        INFO(name);
        const auto* p = find_policy(name);
        REQUIRE(p != nullptr);
        CHECK(p->arn == std::string("arn:aws:eks::aws:cluster-access-policy/") + name);
    }
    CHECK(find_policy("AmazonEKSMadeUpPolicy") == nullptr);
    CHECK(find_policy("amazoneksviewpolicy") == nullptr);
    CHECK(policy("AmazonEKSHybridPolicy").service_linked_role_only);
    CHECK_FALSE(policy("AmazonEKSViewPolicy").service_linked_role_only);
    CHECK_FALSE(policy("AmazonEKSAutoNodePolicy").rules_documented);
    CHECK(policy_allows_entry_type(policy("AmazonEKSAutoNodePolicy"), entry_type::ec2));
    CHECK_FALSE(policy_allows_entry_type(policy("AmazonEKSAutoNodePolicy"), entry_type::standard));
    CHECK(policy_allows_entry_type(policy("AmazonEKSViewPolicy"), entry_type::standard));
    CHECK_FALSE(policy_allows_entry_type(policy("AmazonEKSViewPolicy"), entry_type::ec2_linux));
    CHECK(policy("AmazonEKSAdminPolicy").rules.size() == 22);
    CHECK(policy("AmazonEKSEditPolicy").rules.size() == 20);
    CHECK(policy("AmazonEKSViewPolicy").rules.size() == 10);
}

TEST_CASE("upstream aggregation: admin is A plus edit - edit is E plus view - view is V", "[policies][upstream]") {
    CHECK(aggregated_upstream_rules("view").size() == 10);
    CHECK(aggregated_upstream_rules("edit").size() == 23);
    CHECK(aggregated_upstream_rules("admin").size() == 25);
    CHECK(aggregated_upstream_rules("cluster-admin").size() == 2);
    CHECK(aggregated_upstream_rules("nonexistent").empty());
    const auto view = atoms(aggregated_upstream_rules("view"));
    const auto edit = atoms(aggregated_upstream_rules("edit"));
    const auto admin = atoms(aggregated_upstream_rules("admin"));
    CHECK(minus(view, edit).empty());
    CHECK(minus(edit, admin).empty());
    CHECK(minus(admin, edit) == std::set<atom>{{"authorization.k8s.io", "localsubjectaccessreviews", "create"},
                                               {"rbac.authorization.k8s.io", "rolebindings", "create"},
                                               {"rbac.authorization.k8s.io", "rolebindings", "delete"},
                                               {"rbac.authorization.k8s.io", "rolebindings", "deletecollection"},
                                               {"rbac.authorization.k8s.io", "rolebindings", "get"},
                                               {"rbac.authorization.k8s.io", "rolebindings", "list"},
                                               {"rbac.authorization.k8s.io", "rolebindings", "patch"},
                                               {"rbac.authorization.k8s.io", "rolebindings", "update"},
                                               {"rbac.authorization.k8s.io", "rolebindings", "watch"},
                                               {"rbac.authorization.k8s.io", "roles", "create"},
                                               {"rbac.authorization.k8s.io", "roles", "delete"},
                                               {"rbac.authorization.k8s.io", "roles", "deletecollection"},
                                               {"rbac.authorization.k8s.io", "roles", "get"},
                                               {"rbac.authorization.k8s.io", "roles", "list"},
                                               {"rbac.authorization.k8s.io", "roles", "patch"},
                                               {"rbac.authorization.k8s.io", "roles", "update"},
                                               {"rbac.authorization.k8s.io", "roles", "watch"}});
}

TEST_CASE("AmazonEKSClusterAdminPolicy is rule for rule cluster-admin", "[policies][upstream]") {
    const auto up = upstream("cluster-admin");
    CHECK(up.dropped.empty());
    CHECK(normalize(policy("AmazonEKSClusterAdminPolicy").rules) == normalize(up.kept));
}

TEST_CASE("AmazonEKSViewPolicy is rule for rule view", "[policies][upstream]") {
    const auto up = upstream("view");
    CHECK(up.dropped.empty());
    CHECK(normalize(policy("AmazonEKSViewPolicy").rules) == normalize(up.kept));
}

TEST_CASE("AmazonEKSEditPolicy is rule for rule edit minus the documented differences", "[policies][upstream]") {
    const auto up = upstream("edit");
    CHECK(normalize(policy("AmazonEKSEditPolicy").rules) == normalize(up.kept));
    CHECK(atoms(up.dropped) == documented_differences);
    const auto eks = atoms(policy("AmazonEKSEditPolicy").rules);
    const auto all = atoms(aggregated_upstream_rules("edit"));
    CHECK(minus(all, eks) == documented_differences);
    CHECK(minus(eks, all).empty());
}

TEST_CASE("AmazonEKSAdminPolicy is rule for rule admin minus the documented differences", "[policies][upstream]") {
    const auto up = upstream("admin");
    CHECK(normalize(policy("AmazonEKSAdminPolicy").rules) == normalize(up.kept));
    CHECK(atoms(up.dropped) == documented_differences);
    const auto eks = atoms(policy("AmazonEKSAdminPolicy").rules);
    const auto all = atoms(aggregated_upstream_rules("admin"));
    CHECK(minus(all, eks) == documented_differences);
    CHECK(minus(eks, all).empty());
}

TEST_CASE("rule_allows: upstream RBAC semantics", "[policies][rbac]") {
    const std::array<std::string_view, 1> apps = {"apps"};
    const std::array<std::string_view, 1> core = {""};
    const std::array<std::string_view, 1> star = {"*"};
    const std::array<std::string_view, 2> deployments = {"deployments", "deployments/scale"};
    const std::array<std::string_view, 1> star_scale = {"*/scale"};
    const std::array<std::string_view, 1> pods = {"pods"};
    const std::array<std::string_view, 1> x = {"x"};
    const std::array<std::string_view, 2> get_update = {"get", "update"};
    const std::array<std::string_view, 1> get = {"get"};
    const std::array<std::string_view, 3> urls = {"/healthz", "/logs/**", "/version*"};

    SECTION("verbs are case-sensitive, * is any verb") {
        const data::rule_def r{apps, deployments, {}, {}, get_update};
        CHECK(rule_allows(r, resource_request{"get", "apps", "deployments", "", ""}));
        CHECK_FALSE(rule_allows(r, resource_request{"GET", "apps", "deployments", "", ""}));
        CHECK_FALSE(rule_allows(r, resource_request{"list", "apps", "deployments", "", ""}));
        const data::rule_def any{apps, deployments, {}, {}, star};
        CHECK(rule_allows(any, resource_request{"escalate", "apps", "deployments", "", ""}));
    }
    SECTION("groups: exact or *, core is the empty string") {
        const data::rule_def r{core, pods, {}, {}, get};
        CHECK(rule_allows(r, resource_request{"get", "", "pods", "", ""}));
        CHECK_FALSE(rule_allows(r, resource_request{"get", "apps", "pods", "", ""}));
        const data::rule_def any{star, pods, {}, {}, get};
        CHECK(rule_allows(any, resource_request{"get", "metrics.k8s.io", "pods", "", ""}));
    }
    SECTION("resources: combined resource/subresource, * matches subresources too") {
        const data::rule_def r{apps, deployments, {}, {}, get};
        CHECK(rule_allows(r, resource_request{"get", "apps", "deployments", "scale", ""}));
        CHECK_FALSE(rule_allows(r, resource_request{"get", "apps", "deployments", "status", ""}));
        const data::rule_def p{core, pods, {}, {}, get};
        CHECK_FALSE(rule_allows(p, resource_request{"get", "", "pods", "log", ""}));  // pods does not cover pods/log
        const data::rule_def any{core, star, {}, {}, get};
        CHECK(rule_allows(any, resource_request{"get", "", "pods", "log", ""}));
    }
    SECTION("C9 vector 16 at rule level: */scale covers every scale subresource and nothing else") {
        const data::rule_def r{star, star_scale, {}, {}, get_update};
        CHECK(rule_allows(r, resource_request{"update", "apps", "deployments", "scale", ""}));
        CHECK(rule_allows(r, resource_request{"get", "", "replicationcontrollers", "scale", ""}));
        CHECK_FALSE(rule_allows(r, resource_request{"update", "apps", "deployments", "", ""}));
        CHECK_FALSE(rule_allows(r, resource_request{"update", "apps", "deployments", "status", ""}));
        CHECK_FALSE(rule_allows(r, resource_request{"update", "apps", "deployments", "scales", ""}));
    }
    SECTION("C9 vector 17 at rule level: resourceNames restrict to named requests") {
        const data::rule_def r{core, pods, x, {}, get};
        CHECK(rule_allows(r, resource_request{"get", "", "pods", "", "x"}));
        CHECK_FALSE(rule_allows(r, resource_request{"get", "", "pods", "", "y"}));
        CHECK_FALSE(rule_allows(r, resource_request{"get", "", "pods", "", ""}));
        const data::rule_def list{core, pods, x, {}, star};
        CHECK_FALSE(rule_allows(list, resource_request{"list", "", "pods", "", ""}));
    }
    SECTION("non-resource URLs: exact, * and trailing-* prefixes; never crossed with resources") {
        const data::rule_def r{{}, {}, {}, urls, get};
        CHECK(rule_allows(r, non_resource_request{"get", "/healthz"}));
        CHECK_FALSE(rule_allows(r, non_resource_request{"get", "/healthz/etcd"}));
        CHECK(rule_allows(r, non_resource_request{"get", "/logs/"}));
        CHECK(rule_allows(r, non_resource_request{"get", "/logs/kube-apiserver.log"}));
        CHECK_FALSE(rule_allows(r, non_resource_request{"get", "/logs"}));
        CHECK(rule_allows(r, non_resource_request{"get", "/version"}));
        CHECK(rule_allows(r, non_resource_request{"get", "/versions"}));
        CHECK_FALSE(rule_allows(r, non_resource_request{"post", "/healthz"}));
        CHECK_FALSE(rule_allows(r, resource_request{"get", "", "healthz", "", ""}));
        const data::rule_def all{{}, {}, {}, star, star};
        CHECK(rule_allows(all, non_resource_request{"delete", "/anything"}));
        const data::rule_def resources{star, star, {}, {}, star};
        CHECK_FALSE(rule_allows(resources, non_resource_request{"get", "/healthz"}));
    }
}

TEST_CASE("rule_table decides exactly as the rules it was built from", "[policies][rule_table]") {
    // The request universe: every name the data file uses, split into resource/subresource, plus
    // names no rule mentions.
    std::set<std::string> groups = {"", "apps", "x.example.com", "*"};
    std::set<std::pair<std::string, std::string>> resources = {{"pods", ""},  {"pods", "log"}, {"foo", ""},
                                                               {"foo", "scale"}, {"foo", "status"}, {"*", ""},
                                                               {"*", "scale"}};
    std::set<std::string> verbs = {"get", "list", "escalate", "*", "GET"};
    std::vector<std::string> names = {"", "kube-proxy", "coredns", "x"};
    std::set<std::string> paths = {"/", "/healthz", "/healthz/etcd", "/api", "/apis/apps", "/metrics", "/logs/x"};
    std::vector<std::vector<data::rule_def>> rule_sets;
    for (const auto& p : data::policies()) rule_sets.emplace_back(p.rules.begin(), p.rules.end());
    for (const auto* role : {"cluster-admin", "admin", "edit", "view"}) rule_sets.push_back(aggregated_upstream_rules(role));
    for (const auto& rules : rule_sets) {
        for (const auto& r : rules) {
            groups.insert(r.api_groups.begin(), r.api_groups.end());
            verbs.insert(r.verbs.begin(), r.verbs.end());
            for (std::string_view res : r.resources) {
                const auto slash = res.find('/');
                resources.emplace(std::string(res.substr(0, slash)),
                                  slash == std::string_view::npos ? std::string() : std::string(res.substr(slash + 1)));
            }
        }
    }
    // A table of rules with names, URL prefixes and overlapping rules.
    const std::array<std::string_view, 1> core = {""};
    const std::array<std::string_view, 2> cm = {"configmaps", "pods/log"};
    const std::array<std::string_view, 1> named = {"x"};
    const std::array<std::string_view, 1> get = {"get"};
    const std::array<std::string_view, 1> star = {"*"};
    const std::array<std::string_view, 3> urls = {"/healthz*", "/api", "/logs/**"};
    rule_sets.push_back({data::rule_def{core, cm, named, {}, get}, data::rule_def{core, cm, {}, {}, star},
                         data::rule_def{{}, {}, {}, urls, get}});

    std::size_t checked = 0;
    for (const auto& rules : rule_sets) {
        const rule_table table(rules);
        CHECK(table.empty() == rules.empty());
        for (const auto& g : groups)
            for (const auto& [res, sub] : resources)
                for (const auto& v : verbs)
                    for (const auto& n : names) {
                        const resource_request req{v, g, res, sub, n};
                        if (table.allows(req) != any_rule_allows(rules, req)) {
                            FAIL_CHECK("mismatch for " << v << " " << g << "/" << res << "/" << sub << " name " << n);
                        }
                        ++checked;
                    }
        for (const auto& p : paths)
            for (const auto& v : verbs) {
                const non_resource_request req{v, p};
                if (table.allows(req) != any_rule_allows(rules, req)) FAIL_CHECK("mismatch for " << v << " " << p);
            }
    }
    CHECK(checked > 100000);
}

TEST_CASE("rule_table handles names longer than its inline buffer", "[policies][rule_table]") {
    const std::string long_resource(300, 'r');
    const std::string combined = long_resource + "/status";
    const std::array<std::string_view, 1> core = {""};
    const std::array<std::string_view, 1> res = {combined};
    const std::array<std::string_view, 1> get = {"get"};
    const std::array<data::rule_def, 1> rules = {data::rule_def{core, res, {}, {}, get}};
    const rule_table table(rules);
    CHECK(table.allows(resource_request{"get", "", long_resource, "status", ""}));
    CHECK_FALSE(table.allows(resource_request{"get", "", long_resource, "", ""}));
}
