#pragma once
/// \file
/// The EKS access-policy table and the upstream Kubernetes user-facing ClusterRoles, compiled
/// into the binary at build time from `/work/shared/data/eks-access-policies.yaml` by
/// `lib/access/gen/policy_gen.cpp` (ACCESS-ENTRIES C8: no runtime download, no disk access).
///
/// Everything here is constant data with static storage duration; the spans stay valid for the
/// life of the program. Rules are RBAC PolicyRules (ACCESS-ENTRIES C6.3): a rule has either
/// api_groups + resources (+ resource_names) or non_resource_urls; verbs always.

#include <span>
#include <string_view>

namespace stsauth::access::data {

using string_list = std::span<const std::string_view>;

/// One RBAC PolicyRule as written in the data file.
struct rule_def {
    string_list api_groups;         ///< "" = core group, "*" = every group
    string_list resources;          ///< "name", "name/sub", "*", "*/sub"
    string_list resource_names;     ///< empty = any name
    string_list non_resource_urls;  ///< "/path", "/prefix*", "*"
    string_list verbs;              ///< "*" = every verb
    bool inferred = false;          ///< `inferred: true`: no public table lists the rule
    bool absent_from_eks_policies = false;  ///< upstream roles only: a documented EKS difference
};

/// One `policies[]` item.
struct policy_def {
    std::string_view name;          ///< e.g. "AmazonEKSViewPolicy"
    std::string_view arn;           ///< `aws` partition ARN
    std::string_view resembles;     ///< upstream role it resembles ("none" if any)
    bool service_linked_role_only = false;
    bool rules_documented = true;
    string_list allowed_entry_types;  ///< access-entry type names, e.g. "STANDARD", "EC2"
    std::span<const rule_def> rules;
};

/// One `kubernetesUserFacingClusterRoles` item, before aggregation.
struct upstream_role_def {
    std::string_view name;                        ///< "cluster-admin", "admin", "system:aggregate-to-view"...
    string_list labels;                           ///< "key=value"
    std::span<const string_list> selectors;       ///< aggregationRule: each selector's matchLabels as "key=value"
    std::span<const rule_def> rules;              ///< the role's own rules
};

/// Every policy of the data file, in file order.
std::span<const policy_def> policies() noexcept;

/// The upstream user-facing ClusterRoles and their aggregation sources, in file order.
std::span<const upstream_role_def> upstream_roles() noexcept;

}  // namespace stsauth::access::data
