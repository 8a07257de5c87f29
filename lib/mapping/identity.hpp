#pragma once
/// \file
/// The verified caller identity that mapping works on (part B §3.1).

#include <string>

namespace stsauth::mapping {

/// What STS said about the caller, plus the token's access key id and STS host.
struct identity {
    std::string arn;            ///< STS `Arn` verbatim
    std::string canonical_arn;  ///< arn::canonicalize(arn): `assumed-role/R/s` -> `role/R`
    std::string account_id;     ///< STS `Account` (text, leading zeros kept)
    std::string user_id;        ///< `AROA…` for roles (before the `:`), STS `UserId` otherwise
    std::string session_name;   ///< role session name; empty for non-role principals
    std::string access_key_id;  ///< first segment of X-Amz-Credential
    std::string sts_endpoint;   ///< the token's STS host
};

/// Feature gates that change mapping behaviour (`--feature-gates`).
struct feature_flags {
    /// `SSORoleMatch`: SSO entries match only when on; otherwise they validate but never match.
    bool sso_role_match = false;
};

}  // namespace stsauth::mapping
