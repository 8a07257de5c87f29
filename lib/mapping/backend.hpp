#pragma once
/// \file
/// Backend modes (part B §5) and the backend chain (part B §4.3, A5) as pure functions.
///
/// Chain semantics, for each backend in order:
///   1. a mapping matches -> `matched` (templates still to render; no fall-through after a hit);
///   2. a lookup error (e.g. `arn_userid_mismatch`) is collected and the chain goes on;
///   3. the identity's account is in this backend's mapAccounts -> `account_allowed` with
///      username = canonical ARN (original case), no groups, no templating, no prefix check.
/// After the last backend: `not_mapped` with the collected errors.
/// A matched entry is turned into a user by render_user(): templates, then the empty-username
/// and reserved-prefix denials.

#include "common/result.hpp"
#include "mapping/identity.hpp"
#include "mapping/mapping_set.hpp"
#include "mapping/model.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace stsauth::mapping {

enum class backend_mode { mounted_file, eks_configmap, dynamic_file, crd, access_entries };

/// Canonical name: `MountedFile`, `EKSConfigMap`, `DynamicFile`, `CRD`, `AccessEntries`.
std::string_view backend_name(backend_mode mode) noexcept;

/// A mode name, case-sensitive as the reference; the deprecated aliases `File` (MountedFile) and
/// `ConfigMap` (EKSConfigMap) set `*deprecated`. nullopt for an unknown name.
std::optional<backend_mode> parse_backend_mode(std::string_view name, bool* deprecated = nullptr);

struct backend_modes {
    std::vector<backend_mode> modes;     ///< in chain order, aliases resolved
    std::vector<load_warning> warnings;  ///< "deprecated_backend_mode"
};

/// `--backend-mode` validation (part B §5). Error code "invalid_backend_mode" with every problem
/// in the message: `backend-mode "X" is not a valid mode`, `backend-mode [A B] has duplicates`,
/// `at least one backend-mode must be specified`. Unlike the reference, duplicates are detected
/// after resolving aliases (`File,MountedFile` is a duplicate).
result<backend_modes> validate_backend_modes(std::span<const std::string> names);

/// The dynamic backend-mode file (part B §5.5): JSON with `backendMode` holding space-separated
/// modes. Unlike the reference, the modes are validated like `--backend-mode`. Error codes
/// "bad_backend_mode_file", "invalid_backend_mode".
result<backend_modes> parse_backend_mode_file(std::string_view json_text);

/// One link of the chain. The caller keeps `mappings` alive for the call; nullptr means the
/// backend has nothing loaded yet (every lookup misses).
struct backend_ref {
    std::string_view name;
    const mapping_set* mappings = nullptr;
    std::span<const std::string> reserved_prefixes;  ///< from server.reservedPrefixConfig
};

struct matched {
    std::string backend;
    std::string username_template;
    std::vector<std::string> group_templates;
    std::vector<std::string> reserved_prefixes;  ///< of the matching backend
};

struct account_allowed {
    std::string backend;
    std::string username;  ///< identity.canonical_arn, as is
};

struct not_mapped {
    std::vector<error> errors;  ///< lookup errors collected on the way (may be empty)
};

struct denied {
    std::string backend;
    error reason;  ///< code: "empty_username", "no_instance_id", "reserved_prefix", ...
};

using mapping_outcome = std::variant<matched, account_allowed, not_mapped, denied>;

/// Runs the chain. Returns `denied` for what is known before rendering: an empty username
/// template, or an `{{EC2PrivateDNSName}}` template whose session name is not an instance id
/// (so no EC2 call is made for it). A canonical ARN that cannot be keyed is `not_mapped` with
/// an "invalid_identity" error.
mapping_outcome map_identity(std::span<const backend_ref> chain, const identity& id, const feature_flags& flags);

/// True when the username or any group template needs `{{EC2PrivateDNSName}}`.
bool needs_ec2_dns_name(const matched& m) noexcept;

struct mapped_user {
    std::string backend;
    std::string username;
    std::vector<std::string> groups;
};

/// Renders a match (username, then every group) and applies the denials of A5: an empty
/// username ("empty_username") or one starting with a reserved prefix ("reserved_prefix"). Template
/// errors keep their codes ("no_instance_id", "ec2_dns_unavailable").
result<mapped_user> render_user(const matched& m, const identity& id,
                                const std::optional<std::string>& ec2_private_dns_name);

/// Case-sensitive prefix check; empty prefixes are ignored (part B §4.3).
bool has_reserved_prefix(std::string_view username, std::span<const std::string> prefixes) noexcept;

}  // namespace stsauth::mapping
