#pragma once
/// \file
/// Access-policy catalogue (compiled in, policy_data.hpp) and upstream RBAC rule matching
/// (ACCESS-ENTRIES C6.3, Kubernetes `pkg/apis/rbac/v1/evaluation_helpers.go`).
///
/// rule_allows() is the literal upstream algorithm over one rule. rule_table is the same
/// decision pre-expanded at load time into hash tables keyed by API group, then resource
/// (`name`, `name/sub`, `*`, `*/sub`), then verb (`*` included), so that a review costs at most
/// 12 hash probes and no allocation for ordinary names.

#include "access/model.hpp"
#include "access/policy_data.hpp"

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace stsauth::access {

/// The policy named `name` (e.g. "AmazonEKSViewPolicy"), nullptr when the catalogue has none.
const data::policy_def* find_policy(std::string_view name) noexcept;

/// True when the policy's `allowedEntryTypes` lists `type`.
bool policy_allows_entry_type(const data::policy_def& policy, entry_type type) noexcept;

/// Attributes of a resource request (SubjectAccessReview `resourceAttributes`).
struct resource_request {
    std::string_view verb;
    std::string_view group;  ///< "" = core
    std::string_view resource;
    std::string_view subresource;
    std::string_view name;
};

/// Attributes of a non-resource request (`nonResourceAttributes`).
struct non_resource_request {
    std::string_view verb;
    std::string_view path;
};

/// Upstream `RuleAllows` for a resource request: verb, API group, resource (with `*` and
/// `*/<subresource>`) and resourceNames all match. A rule without resources never matches.
bool rule_allows(const data::rule_def& rule, const resource_request& request) noexcept;
/// Upstream `RuleAllows` for a non-resource request: verb, and a URL that is `*`, equal, or ends
/// in `*` and prefixes the path (all trailing `*` removed). A rule without URLs never matches.
bool rule_allows(const data::rule_def& rule, const non_resource_request& request) noexcept;

namespace detail {
struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <class V>
using string_map = std::unordered_map<std::string, V, string_hash, std::equal_to<>>;
using string_set = std::unordered_set<std::string, string_hash, std::equal_to<>>;
}  // namespace detail

/// A set of rules pre-expanded for lookup; immutable after construction, safe to share across
/// threads. Decides exactly as "any rule_allows()".
class rule_table {
public:
    rule_table() = default;
    explicit rule_table(std::span<const data::rule_def> rules);

    bool allows(const resource_request& request) const;
    bool allows(const non_resource_request& request) const;
    /// True when no rule was given (the table allows nothing).
    bool empty() const noexcept { return groups_.empty() && url_exact_.empty() && url_prefix_.empty(); }

private:
    /// Names allowed for one (group, resource, verb): `any` when some rule has no resourceNames.
    struct name_rule {
        bool any = false;
        detail::string_set names;
    };
    using verb_map = detail::string_map<name_rule>;
    using resource_map = detail::string_map<verb_map>;

    bool probe(const resource_map& resources, std::string_view resource, const resource_request& r) const;

    detail::string_map<resource_map> groups_;
    detail::string_map<detail::string_set> url_exact_;                 ///< URL -> verbs
    std::vector<std::pair<std::string, detail::string_set>> url_prefix_;  ///< prefix ("" for `*`) -> verbs
};

/// Rules of an upstream user-facing ClusterRole after aggregation (`admin` = aggregate-to-admin ∪
/// edit, `edit` = aggregate-to-edit ∪ view, `view` = aggregate-to-view; computed to a fixed
/// point over the labels and selectors recorded in the data file), identical rules once, in
/// discovery order. Empty for an unknown name.
std::vector<data::rule_def> aggregated_upstream_rules(std::string_view role_name);

}  // namespace stsauth::access
