#pragma once
/// \file
/// The token envelope and the local validation of the presigned STS GetCallerIdentity URL it
/// carries (SPEC-decisions A2, SPEC-reference §1.1–§1.4). Nothing here talks to STS: a token that
/// passes validate() is safe to forward, as rebuilt by validated_token::target.
///
/// Pure: no clock (`now` is a parameter), no I/O, no globals. Reason codes and the order of the
/// checks are listed in lib/token/README.md. Error messages name hosts and parameter names, never
/// a token, URL, signature, credential or security-token value.

#include "common/result.hpp"
#include "token/sts_hosts.hpp"

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace stsauth::token {

/// `k8s-aws-v1.` + base64url_nopad(presigned URL).
inline constexpr std::string_view token_prefix = "k8s-aws-v1.";
/// `server.maxTokenBytes` default: a session token alone can reach 4 KiB.
inline constexpr std::size_t default_max_token_bytes = 16384;
/// Presigned GetCallerIdentity URLs are valid this long after X-Amz-Date (X-Amz-Expires is ignored).
inline constexpr std::chrono::minutes presigned_url_lifetime{15};
/// How far X-Amz-Date may lie in the future of `now`.
inline constexpr std::chrono::minutes max_future_skew{15};

/// Unwraps the envelope: size cap (`token_too_large`, the whole string including the prefix),
/// prefix (`bad_prefix`), strict base64url without padding, whitespace or non-canonical trailing
/// bits (`bad_base64`), then every decoded byte in 0x21..0x7e (`bad_url_bytes`).
/// Returns the presigned URL.
result<std::string> decode_token(std::string_view token, std::size_t max_bytes = default_max_token_bytes);

struct validation_config {
    sts_hosts hosts;  ///< default: partition `aws`
    std::size_t max_token_bytes = default_max_token_bytes;
};

/// What the rest of the pipeline needs from a valid token.
struct validated_token {
    std::string host;           ///< allow-listed STS host (lower-case), also the TLS SNI and Host header
    std::string sts_region;     ///< metric label: `global` or the host's region label
    std::string access_key_id;  ///< first segment of X-Amz-Credential (charset [A-Za-z0-9_], 1..128)
    std::chrono::system_clock::time_point signed_at;   ///< X-Amz-Date
    std::chrono::system_clock::time_point expires_at;  ///< signed_at + 15 min
    /// Request target for the STS GET: `/?` + `key=value` joined by `&`, every parameter of the
    /// token exactly once, in the order received, keys as received, values percent-decoded then
    /// re-encoded with SigV4's URI encoding. It holds the signature and any session token: a
    /// bearer credential, never to be logged (see redact_url()).
    std::string target;
};

/// Validates a token completely (SPEC-decisions A2 and SPEC-reference §1.2 steps 1–18), reporting
/// the first failed rule as `error{code, message}`.
result<validated_token> validate(std::string_view token, const validation_config& config,
                                 std::chrono::system_clock::time_point now);

}  // namespace stsauth::token
