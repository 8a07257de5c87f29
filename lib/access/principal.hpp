#pragma once
/// \file
/// Field rules of an access entry (ACCESS-ENTRIES C1.2–C1.6) as pure functions, used by the
/// loader and by tools. Every error carries a stable code; messages never quote secrets.

#include "access/model.hpp"
#include "common/result.hpp"

#include <span>
#include <string>
#include <string_view>

namespace stsauth::access {

/// An IAM principal ARN that passed C1.2.
struct principal {
    std::string partition;
    std::string account_id;  ///< 12 digits
    bool is_role = true;     ///< role or user
    std::string path;        ///< "/" or "/seg/.../"
    std::string name;        ///< `[A-Za-z0-9+=,.@_-]{1,64}`
    std::string key;         ///< matching key: lower-case canonical ARN without the path (C2.3 step 2)
};

/// C1.2 grammar: `arn:<partition>:iam::<12 digits>:role|user<path><name>`, partition one of
/// part B §1.3, path `/` or `/…/` (≤ 512 bytes, printable ASCII), name
/// `[A-Za-z0-9+=,.@_-]{1,64}`. Error codes:
/// | code | when |
/// |---|---|
/// | `bad_principal_arn` | not an ARN, unknown partition, region set, account not 12 digits, bad path or name |
/// | `session_principal` | `sts` `assumed-role/…` or `federated-user/…` (per-session, not permanent) |
/// | `service_linked_role` | a role under `/aws-service-role/` |
/// | `unsupported_principal` | `root`, groups, instance profiles, any other service or resource type |
result<principal> parse_principal_arn(std::string_view arn);

/// Matching key of a caller's canonical ARN (an `iam` role/user ARN as STS reports it, or an
/// `assumed-role` ARN): `arn::matching_key(arn::canonicalize(lower(arn)))`. Error code
/// `invalid_identity` for anything that is not a role or user principal.
result<std::string> identity_key(std::string_view canonical_arn);

/// C1.4 generated username of a STANDARD entry: the user ARN exactly as configured (path kept),
/// or for a role `arn:<partition>:sts::<account>:assumed-role/<name>/{{SessionName}}` (path
/// removed). For node types, node_username_template().
std::string generated_username(const principal& p, std::string_view principal_arn, entry_type type);

/// C1.4 caller-supplied username (STANDARD only). Codes: `empty_username`,
/// `username_too_long` (> 1024 bytes), `bad_username` (ASCII control character),
/// `reserved_username_prefix` (system:, eks:, aws:, amazon:, iam:),
/// `unknown_username_placeholder` (a `{{…}}` other than `{{SessionName}}`/`{{SessionNameRaw}}`),
/// `username_placeholder_without_colon` (no `:` before the first session placeholder).
status validate_username(std::string_view username);

/// C1.5 one group of a STANDARD entry. Codes: `bad_group` (empty, > 1024 bytes, control
/// character), `group_placeholder` (a `{{…}}` token: groups are not templated, so a placeholder
/// would silently stay literal — refused so nobody relies on it), `reserved_group_prefix` with
/// the EKS text `The kubernetes group name <g> is invalid, it cannot start with <prefix>`.
status validate_group(std::string_view group, std::span<const std::string> reserved_prefixes);

/// C1.6 namespace pattern: a DNS-1123 label (≤ 63 bytes, `[a-z0-9-]`, alphanumeric at both ends)
/// in which `*` may stand anywhere and counts as alphanumeric. Code `bad_namespace`.
status validate_namespace_pattern(std::string_view pattern);

/// C1.6 wildcard match: `*` matches any run of characters (possibly empty), anything else is
/// literal and case-sensitive. `*` alone matches every namespace, `dev-*` every name starting
/// with `dev-`.
bool namespace_matches(std::string_view pattern, std::string_view ns) noexcept;

/// IAM unique id of a principal (`AROA…`, `AIDA…`): 1–128 characters `[A-Za-z0-9]`.
/// Code `bad_principal_id`.
status validate_principal_id(std::string_view id);

}  // namespace stsauth::access
