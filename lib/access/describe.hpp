#pragma once
/// \file
/// The effective content of a snapshot as JSON, for `stsauth access-entries list` (ACCESS-ENTRIES
/// C8): every entry (file order, then the synthesised cluster-creator entry), with its generated
/// username, effective groups (automatic ones included) and each association's scope and the
/// rules it really grants (none for undocumented policies unless allowInferredPolicies).

#include "access/entries.hpp"

#include <string>

namespace stsauth::access {

/// Pretty-printed (2-space) JSON followed by "\n":
/// `{"authenticationMode", "bootstrapClusterCreatorAdminPermissions", "clusterCreatorArn",
///   "accessEntries": [{"index" | "synthesized", "principalArn", "type", "username",
///   "usernameGenerated", "kubernetesGroups", "groups", "principalId"?, "accessPolicies": [{"policyArn",
///   "accessScope": {"type", "namespaces"}, "grants", "inferredRules", "rules": [...]}], "tags"}]}`.
std::string list_json(const snapshot& entries);

}  // namespace stsauth::access
