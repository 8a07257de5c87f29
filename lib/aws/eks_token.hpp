#pragma once
/// \file
/// Client tokens for the webhook (SPEC-reference §1.1, §7.1; SPEC-decisions A9): a presigned STS
/// GetCallerIdentity URL in the shape of botocore's `generate_presigned_url` as used by
/// `aws eks get-token`, wrapped as `k8s-aws-v1.` + base64url, and the ExecCredential kubectl
/// reads. Pure: the signing time and KUBERNETES_EXEC_INFO are parameters.

#include "common/result.hpp"
#include "common/secret.hpp"
#include "sigv4/sigv4.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace stsauth::aws {

inline constexpr std::string_view token_prefix = "k8s-aws-v1.";
inline constexpr std::string_view cluster_id_header = "x-k8s-aws-id";
/// X-Amz-Expires of the presigned URL: always 60, as the reference and `aws eks get-token` (STS
/// itself ignores it and accepts the URL for 15 minutes).
inline constexpr std::chrono::seconds presign_expires{60};
/// Expiration announced to kubectl: signing time + 14 minutes (one minute before STS stops
/// accepting the URL).
inline constexpr std::chrono::minutes token_lifetime{14};

inline constexpr std::string_view exec_credential_v1beta1 = "client.authentication.k8s.io/v1beta1";

/// Regional STS host for a region, with the DNS suffix of the region's partition as the AWS SDKs
/// pick it from the region name (`cn-*` → amazonaws.com.cn, `us-iso-*` → c2s.ic.gov,
/// `us-isob-*` → sc2s.sgov.gov, `eu-isoe-*` → cloud.adc-e.uk, `us-isof-*` → csp.hci.ic.gov,
/// `eusc-de-*` → amazonaws.eu; everything else, GovCloud included, → amazonaws.com).
std::string sts_regional_host(std::string_view region);

/// The presigned `GET https://<sts host>/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-…`
/// request, `host` and `x-k8s-aws-id` signed, service `sts`, payload hash SHA-256("") as
/// botocore's query signer computes it for STS (UNSIGNED-PAYLOAD is only S3's presigner).
/// Preconditions as make_token's.
sigv4::request presign_get_caller_identity(const sigv4::credentials& creds, std::string_view region,
                                           std::string_view cluster_id,
                                           std::chrono::system_clock::time_point signing_time);

struct eks_token {
    secret<std::string> value;                         ///< "k8s-aws-v1." + base64url(URL)
    std::chrono::system_clock::time_point expiration;  ///< signing time + 14 min, whole seconds
};

/// Validates the inputs and builds the token. Errors: "bad_cluster_id" (empty or containing a
/// control character), "bad_region" (not a region name), "bad_credentials" (empty access key id
/// or secret).
result<eks_token> make_token(const sigv4::credentials& creds, std::string_view region, std::string_view cluster_id,
                             std::chrono::system_clock::time_point signing_time);

/// The apiVersion of the ExecCredential to print: the one kubectl sent in KUBERNETES_EXEC_INFO
/// when that is a JSON object whose `apiVersion` is a string `client.authentication.k8s.io/…`
/// (and whose `kind`, if present, is a string); otherwise v1beta1 (unset, empty or malformed).
/// Unlike the reference, a parseable object without apiVersion gives v1beta1, not "": kubectl
/// rejects an empty apiVersion.
std::string exec_credential_api_version(const std::optional<std::string>& kubernetes_exec_info);

/// `2006-01-02T15:04:05Z` (RFC 3339, UTC, second precision).
std::string format_rfc3339_utc(std::chrono::system_clock::time_point t);

/// The ExecCredential JSON (one line, no trailing newline), fields in the reference's order:
/// {"kind":"ExecCredential","apiVersion":…,"spec":{"interactive":false},
///  "status":{"expirationTimestamp":…,"token":…}}
std::string format_exec_credential(const eks_token& token, std::string_view api_version);

}  // namespace stsauth::aws
