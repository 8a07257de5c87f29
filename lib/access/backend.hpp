#pragma once
/// \file
/// The `AccessEntries` mapping backend (ACCESS-ENTRIES C2.3) and the mixed chain that puts it
/// among the mapping_set backends of lib/mapping. Outcomes are lib/mapping's, so a `matched`
/// result is rendered with mapping::render_user() exactly like any other backend:
/// `{{SessionName}}`, `{{SessionNameRaw}}` and (node types) `{{EC2PrivateDNSName}}` in the
/// username; the reserved-prefix check only for STANDARD entries (their `reserved_prefixes` are
/// the five of C1.4; node types carry none, their `system:node:` names being the service's).
/// Groups are final (validated free of placeholders at load).
///
/// Wiring (replaces mapping::map_identity in authn):
/// ```
/// std::vector<access::chain_link> links;   // the configured --backend-mode order
/// for (auto& b : chain.backends) links.push_back({b.mode, b.name, b.mappings.get(), b.reserved_prefixes});
/// auto outcome = access::map_chain(links, access_snapshot.get(), identity, flags);
/// // then exactly as before: account_allowed / not_mapped / denied / matched -> render_user()
/// ```

#include "access/entries.hpp"
#include "config/server_config.hpp"
#include "mapping/backend.hpp"
#include "mapping/identity.hpp"
#include "mapping/mapping_set.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stsauth::access {

/// Backend name in outcomes, logs and metrics.
inline constexpr std::string_view backend_name = "AccessEntries";
/// Name of C3's CONFIG_MAP cluster-creator mapping.
inline constexpr std::string_view cluster_creator_backend_name = "ClusterCreator";

/// The AccessEntries backend for one verified identity (C2.3 steps 2–3):
/// - mode CONFIG_MAP: `not_mapped` (the backend is off);
/// - no entry for the identity's matching key: `not_mapped`;
/// - the entry has a principalId and the STS UserId (the part before `:` for roles, already split
///   in identity.user_id) differs: `not_mapped` with error `principal_id_mismatch` (a re-created
///   principal; the chain goes on to the next backend);
/// - otherwise `matched` (username template, final groups = entry groups ∪ automatic groups);
///   or `denied` `no_instance_id` when the template needs `{{EC2PrivateDNSName}}` and the session
///   is not an instance id. No fall-through after a match.
/// `extra_reserved_prefixes` (server.reservedPrefixConfig for AccessEntries) are added to the five
/// of C1.4 for STANDARD entries; node types stay exempt.
mapping::mapping_outcome map_identity(const snapshot& entries, const mapping::identity& id,
                                      std::span<const std::string> extra_reserved_prefixes = {});

/// C3 in CONFIG_MAP: when bootstrap is on and the identity is clusterCreatorArn, the hidden
/// mapping `kubernetes-admin` / `system:masters`, checked before every backend. nullopt
/// otherwise (in the other modes the creator is an ordinary, synthesised entry).
std::optional<mapping::matched> creator_mapping(const snapshot& entries, const mapping::identity& id);

/// One link of the configured chain.
struct chain_link {
    config::backend_mode mode = config::backend_mode::mounted_file;
    std::string_view name;                            ///< canonical backend name
    const mapping::mapping_set* mappings = nullptr;   ///< unused for AccessEntries; nullptr = nothing loaded
    std::span<const std::string> reserved_prefixes;   ///< server.reservedPrefixConfig for this backend
};

/// The whole chain for one identity (part B §4.3 + C2.3). The mode comes from `entries` (nullptr
/// = access entries not loaded: AccessEntries links miss and no mode filter applies): CONFIG_MAP
/// skips AccessEntries links, API skips EKSConfigMap links. First C3's creator mapping, then each
/// link in order; the first `matched`/`account_allowed`/`denied` ends the walk; `not_mapped`
/// errors are collected. When `lookup_errors` is given it receives every lookup error met on the
/// way whatever the outcome (so a `principal_id_mismatch` can be logged even when a later backend
/// maps the identity, C2.3 step 2).
mapping::mapping_outcome map_chain(std::span<const chain_link> links, const snapshot* entries,
                                   const mapping::identity& id, const mapping::feature_flags& flags,
                                   std::vector<error>* lookup_errors = nullptr);

}  // namespace stsauth::access
