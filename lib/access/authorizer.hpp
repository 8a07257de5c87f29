#pragma once
/// \file
/// The access-policy authorizer (ACCESS-ENTRIES C6): a SubjectAccessReview against a snapshot.
/// Allow or no opinion, never deny. Pure, lock-free on the immutable snapshot, no allocation on
/// the no-opinion paths beyond the decision itself.
///
/// ```
/// auto req = access::decode_sar(body);                 // 400 on error (C8)
/// auto d = access::evaluate(snapshot_or_null.get(), *req);
/// body = access::encode_sar_response(req->version, d.status);
/// metrics: stsauth_authorize_requests_total{decision=d.allowed()?"allow":"no_opinion", reason=to_string(d.reason)}
/// debug log: d.reason, d.canonical_arn, d.policy_arn (never the whole extra)
/// ```

#include "access/entries.hpp"
#include "access/sar.hpp"

#include <string>
#include <string_view>

namespace stsauth::access {

/// Reason codes (the `reason` label of `stsauth_authorize_requests_total`).
enum class decision_reason {
    allowed,           ///< an association's rule allowed the request
    no_principal,      ///< extras missing, empty, several values, or not a role/user ARN
    no_entry,          ///< no entry, entry neither STANDARD nor EC2, or principalId mismatch
    no_matching_rule,  ///< the entry's policies do not cover the request
    mode_config_map,   ///< authenticationMode CONFIG_MAP: the access-entry API is off
    not_loaded,        ///< no snapshot (never loaded, or first load failed)
};

/// `allowed`, `no_principal`, `no_entry`, `no_matching_rule`, `mode_config_map`, `not_loaded`.
std::string_view to_string(decision_reason reason) noexcept;

struct decision {
    sar_status status;  ///< the reply: allowed + C6.4 reason, or no opinion (empty reason)
    decision_reason reason = decision_reason::no_principal;
    std::string canonical_arn;  ///< from the extras when usable, for the debug log (explain only)
    std::string policy_arn;     ///< the policy that allowed, as configured (explain only)
    std::string principal_arn;  ///< the entry's principalArn as configured, allowed and no_matching_rule (explain only)

    bool allowed() const noexcept { return status.allowed; }
};

/// C6: `entries` nullptr means not loaded (no opinion, evaluationError "access entries not
/// loaded"). Order: not loaded; CONFIG_MAP; principal from the extras (each key present with
/// exactly one non-empty value; when both principal-id keys are present they must agree);
/// entry by matching key (STANDARD or EC2 only) and principalId; then the associations in
/// order — cluster scope for every request, namespace scope only for resource requests whose
/// namespace is non-empty and matches a pattern — first allowing association gives the reason.
/// The review's user and groups are not consulted (C6.1 step 4). Allowed reason (C6.4):
/// `EKS Access Policy: allowed by ClusterRoleBinding "<principalArn>+<policyArn>" of ClusterRole
/// "<policyArn>" to User "<principalId>"`, or for a namespace scope `… allowed by RoleBinding
/// "<principalArn>+<policyArn>" in namespace "<ns>" of ClusterRole …`.
/// `explain` false leaves canonical_arn, policy_arn and principal_arn empty (they only feed the
/// debug log): the server's path when that log is off, one copy fewer each.
decision evaluate(const snapshot* entries, const sar_request& request, bool explain = true);

}  // namespace stsauth::access
