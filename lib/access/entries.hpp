#pragma once
/// \file
/// The access-entries file (ACCESS-ENTRIES C8) compiled into an immutable snapshot.
///
/// ```
/// auto settings = access::settings_from_config(cfg);   // cluster id, clusterAccountId, flags...
/// settings.source_name = path;                          // named in every error
/// auto snap = access::load(text, settings);             // result<access::snapshot>
/// if (!snap) { /* keep the last good snapshot; snap.err().message names file, entry, field */ }
/// auto shared = std::make_shared<const access::snapshot>(std::move(*snap));
/// for (const auto& w : shared->warnings()) log(w.message);
/// ```
///
/// File format: YAML or JSON, keys matched case-insensitively at every level (so a CloudFormation
/// `AWS::EKS::AccessEntry` `Properties` block, PascalCase, parses as-is):
/// `authenticationMode` (default `API_AND_CONFIG_MAP`), `bootstrapClusterCreatorAdminPermissions`
/// (default false), `clusterCreatorArn`, `accessEntries` (list). Each entry: `principalArn`
/// (required), `type`, `username`, `kubernetesGroups`, `principalId`, `accessPolicies` (alias
/// `associatedAccessPolicies`, as `list-associated-access-policies` prints it), `tags` (a map, or
/// CloudFormation's list of `{Key, Value}`), `clusterName` (must equal the cluster id). A list item
/// that is `{accessEntry: {...}}` (`describe-access-entry` output) is unwrapped. Read-only output
/// fields `accessEntryArn`, `createdAt`, `modifiedAt`, `associatedAt` are ignored; any other
/// unknown key is an error. Each policy: `policyArn`, `accessScope: {type, namespaces}`.
///
/// Validation is all of C1 and any problem rejects the whole file. The error's code is the first
/// problem's; its message lists every problem (up to 50) as
/// `<file>: accessEntries[<i>].<field>: <reason>`, separated by "; ". Problem codes:
/// `bad_yaml`, `bad_shape`, `unknown_key`, `duplicate_key`, `bad_authentication_mode`,
/// `missing_principal_arn`, the principal codes of principal.hpp (`bad_principal_arn`,
/// `session_principal`, `service_linked_role`, `unsupported_principal`), `bad_entry_type`,
/// `principal_type_not_allowed` (a user on a node type), `cross_account_node_role`,
/// `duplicate_principal`, `bad_principal_id`, `duplicate_principal_id`, `cluster_name_mismatch`,
/// `username_not_allowed`, the username codes of principal.hpp, `groups_not_allowed`, the group
/// codes of principal.hpp, `duplicate_group`, `bad_policy_arn`, `unknown_policy`,
/// `policy_partition_mismatch`, `duplicate_policy`, `too_many_policies`,
/// `policy_not_allowed_for_type`, `service_policy_not_allowed`, `missing_access_scope`,
/// `bad_scope_type`, `missing_namespaces`, `namespaces_with_cluster_scope`, `duplicate_namespace`,
/// `bad_namespace`, `scope_not_allowed`, `bad_tags`, `bad_cluster_creator_arn`.

#include "access/model.hpp"
#include "access/policies.hpp"
#include "access/principal.hpp"
#include "common/result.hpp"
#include "mapping/model.hpp"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stsauth::config {
struct server_config;
}

namespace stsauth::access {

/// What load() needs besides the text.
struct load_settings {
    std::string source_name = "access-entries";  ///< file path, first word of every message
    std::string cluster_id;                      ///< `clusterName` must equal it when both are set
    std::string cluster_account_id;              ///< node types must be in this account; "" = unchecked (warning)
    std::vector<std::string> reserved_group_prefixes = {"system:"};
    bool allow_service_policies = false;   ///< allow `serviceLinkedRoleOnly` policies
    bool allow_inferred_policies = false;  ///< undocumented policies grant their inferred rules
};

/// From `clusterID` and `server.accessEntries`; source_name = `server.accessEntries.file`.
load_settings settings_from_config(const config::server_config& cfg);

/// One policy association of an entry (C1.6).
struct policy_association {
    std::string policy_arn;   ///< as configured
    std::string policy_name;  ///< e.g. AmazonEKSViewPolicy
    scope_type scope = scope_type::cluster;
    std::vector<std::string> namespaces;  ///< patterns, namespace scope only
    bool grants = true;                   ///< false: rules undocumented and not opted in (grants nothing)
    bool inferred = false;                ///< grants = true from inferred rules (allowInferredPolicies)
};

/// One entry, validated, with everything generated (C1.3–C1.5).
struct access_entry {
    static constexpr std::size_t synthesized_index = std::numeric_limits<std::size_t>::max();

    std::size_t index = synthesized_index;  ///< position in `accessEntries`; synthesized_index for C3's entry
    bool synthesized = false;               ///< the cluster-creator entry of C3
    std::string principal_arn;              ///< as configured (path and case kept)
    principal who;                          ///< parsed principal, with its matching key
    entry_type type = entry_type::standard;
    std::string username;                   ///< template: as configured, or generated (C1.4)
    bool username_generated = false;
    std::vector<std::string> kubernetes_groups;  ///< as configured (STANDARD only)
    std::vector<std::string> groups;        ///< kubernetes_groups then automatic groups, duplicates removed
    std::string principal_id;               ///< "" when not configured
    std::vector<policy_association> access_policies;
    std::vector<std::pair<std::string, std::string>> tags;
};

class snapshot;

/// Parses, validates and compiles an access-entries file. Pure: no I/O, no clock, no logging.
result<snapshot> load(std::string_view text, const load_settings& settings);

/// An immutable, compiled access-entries file; share it as `shared_ptr<const snapshot>` and
/// swap it whole on reload. Lookups are hash lookups; evaluation needs no lock.
class snapshot {
public:
    /// Nothing loaded: mode API_AND_CONFIG_MAP, no entries.
    snapshot() = default;

    authentication_mode mode() const noexcept { return mode_; }
    /// Every entry, file order, then the synthesised cluster-creator entry if any.
    std::span<const access_entry> entries() const noexcept { return entries_; }
    /// The entry whose principal has this matching key (principal.hpp identity_key()), or nullptr.
    const access_entry* find(std::string_view principal_key) const;
    /// The entry whose configured principalId equals `principal_id` (exact), or nullptr.
    const access_entry* find_by_principal_id(std::string_view principal_id) const;

    /// C3 keys as read from the file.
    bool bootstrap_cluster_creator() const noexcept { return bootstrap_creator_; }
    const std::string& cluster_creator_arn() const noexcept { return creator_arn_; }
    /// Matching key of clusterCreatorArn when bootstrap is on and the ARN is set; else "".
    const std::string& cluster_creator_key() const noexcept { return creator_key_; }

    /// Non-fatal findings, for the caller to log (policies that grant nothing, node account not
    /// checkable, creator entry overridden...). Messages name entries by position.
    const std::vector<mapping::load_warning>& warnings() const noexcept { return warnings_; }
    /// Number of entries of one type (the `stsauth_access_entries{type}` gauge).
    std::size_t count(entry_type type) const noexcept;

    /// Compiled authorization data of one association (used by evaluate()).
    struct compiled_association {
        std::uint32_t table = 0;  ///< index into tables()
        scope_type scope = scope_type::cluster;
        detail::string_set exact_namespaces;
        std::vector<std::string> namespace_globs;
        bool any_namespace = false;
        /// Reason text pieces (C6.4): cluster `<head><principalId>"`, namespace
        /// `<head><ns><tail><principalId>"`.
        std::string reason_head;
        std::string reason_tail;
        std::uint32_t association = 0;  ///< index into the entry's access_policies
    };
    /// Associations that grant something, per entry (parallel to entries()).
    std::span<const compiled_association> compiled(std::size_t entry) const noexcept;
    const rule_table& table(std::uint32_t index) const noexcept { return tables_[index]; }

private:
    friend class loader;

    authentication_mode mode_ = authentication_mode::api_and_config_map;
    std::vector<access_entry> entries_;
    detail::string_map<std::uint32_t> by_key_;
    detail::string_map<std::uint32_t> by_principal_id_;
    bool bootstrap_creator_ = false;
    std::string creator_arn_;
    std::string creator_key_;
    std::vector<mapping::load_warning> warnings_;
    std::vector<rule_table> tables_;
    std::vector<std::vector<compiled_association>> compiled_;
};

}  // namespace stsauth::access
