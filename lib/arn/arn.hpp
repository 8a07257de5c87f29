#pragma once
/// \file
/// ARN parsing and canonicalisation of STS caller identities, as the reference
/// (aws-iam-authenticator pkg/arn) does: SPEC-reference §2.1–§2.3, plus the path-insensitive
/// matching key of SPEC-decisions A5.
///
/// Pure functions over strings. Error codes (stable):
/// | code | when |
/// |---|---|
/// | `bad_arn` | not `arn:` + 5 more `:`-separated sections (parse, canonicalize, strip_path, arn_like input) |
/// | `bad_arn_pattern` | arn_like pattern not `arn:` + 5 more sections |
/// | `unknown_partition` | partition not one of the 8 of SPEC-reference §1.3 |
/// | `unsupported_service` | service other than `iam` / `sts` (canonicalize) |
/// | `unsupported_resource` | `iam` resource other than role/user/root, `sts` other than assumed-role/federated-user |
/// | `assumed_role_without_role` | `sts` `assumed-role` with fewer than two `/` segments after it |

#include "common/result.hpp"

#include <span>
#include <string>
#include <string_view>

namespace stsauth::arn {

/// The sections of `arn:<partition>:<service>:<region>:<account>:<resource>`; the resource keeps
/// any further `:` (split into at most 6 sections, as aws-sdk-go-v2 `arn.Parse`).
struct arn_parts {
    std::string partition;
    std::string service;
    std::string region;
    std::string account;
    std::string resource;
    friend bool operator==(const arn_parts&, const arn_parts&) = default;
};

/// Splits an ARN. Requires the prefix `arn:` and six sections; nothing else is validated.
/// Error code `bad_arn` ("arn: invalid prefix" / "arn: not enough sections").
result<arn_parts> parse(std::string_view arn);

/// The same sections as views into the parsed text (no copies); valid while that text is.
struct arn_view {
    std::string_view partition;
    std::string_view service;
    std::string_view region;
    std::string_view account;
    std::string_view resource;
};
/// parse() without copies: same rules, same errors.
result<arn_view> parse_view(std::string_view arn);

/// The partitions stsauth recognises (`aws`, `aws-cn`, `aws-us-gov`, `aws-iso`, `aws-iso-b`,
/// `aws-iso-e`, `aws-iso-f`, `aws-eusc`), in SPEC-reference §1.3 table order.
std::span<const std::string_view> partitions() noexcept;
/// True when `partition` is one of partitions() (exact, case-sensitive).
bool known_partition(std::string_view partition) noexcept;

/// Kind of principal a canonical ARN denotes. Names as the reference's PrincipalType.
enum class principal_type { role, assumed_role, user, root, federated_user };
/// `ROLE`, `ASSUMED_ROLE`, `USER`, `ROOT`, `FEDERATED_USER`.
std::string_view to_string(principal_type type) noexcept;

struct canonical {
    principal_type type;
    std::string arn;  ///< canonical ARN
};

/// The reference's `Canonicalize` (SPEC-reference §2.1):
/// - `sts` `assumed-role/<role...>/<session>` -> `arn:<p>:iam::<account>:role/<role...>`
///   (everything between `assumed-role/` and the last segment), type assumed_role;
/// - `sts` `federated-user/...`, `iam` `role/...`, `user/...`, `root` -> unchanged (case and paths
///   kept), types federated_user, role, user, root.
/// Account ids and names are not validated (the reference does not either).
result<canonical> canonicalize(std::string_view arn);

/// The reference's `StripPath` (SPEC-reference §2.2): a `role/` ARN with a path keeps only the last
/// segment (`arn:<p>:iam::<account>:role/<last>`); every other ARN is returned unchanged.
/// Errors: `bad_arn`, `unknown_partition`.
result<std::string> strip_path(std::string_view arn);

/// The reference's `ArnLike` (SPEC-reference §2.3): each of the six `:`-sections of `pattern` is a
/// glob matched against the same section of `arn`, case-sensitively. Reference quirks kept on
/// purpose: `*` matches any run of characters including `/`, and `?` matches zero or one
/// character (IAM's ArnLike means exactly one). Every other character is literal.
/// Errors: `bad_arn` ("could not parse input arn: ..."), `bad_arn_pattern`
/// ("could not parse ArnLike string: ...").
result<bool> arn_like(std::string_view arn, std::string_view pattern);

/// Path-insensitive, case-insensitive key of a canonical ARN (SPEC-decisions A5): the ARN
/// lower-cased, and for `iam` `role/...` and `user/...` resources only the last path segment kept
/// (`arn:aws:iam::1:role/a/b/Name` -> `arn:aws:iam::1:role/name`). IAM role and user names are
/// unique per account whatever their path, so this identifies the same principal that STS
/// reports (STS drops role paths from assumed-role ARNs). Input that does not parse as an ARN is
/// only lower-cased.
std::string matching_key(std::string_view canonical_arn);

}  // namespace stsauth::arn
