#pragma once
/// \file
/// The STS GetCallerIdentity answer: JSON parsing with Go `encoding/json` semantics and the
/// classification of an HTTP exchange into one outcome (SPEC-decisions A3, SPEC-reference §1.6,
/// §1.7). Pure functions: no I/O, no clock.
/// STS API: https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html

#include "common/result.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace stsauth::sts {

/// The three fields of GetCallerIdentityResult, verbatim (no canonicalisation here).
struct caller_identity {
    std::string arn;
    std::string account;
    std::string user_id;
    friend bool operator==(const caller_identity&, const caller_identity&) = default;
};

/// Parses `{"GetCallerIdentityResponse":{"GetCallerIdentityResult":{"Arn":..,"Account":..,
/// "UserId":..}}}` as Go's `json.Unmarshal` into the reference's wrapper struct does:
/// - keys match case-insensitively (Go's fold: ASCII case, plus U+017F for 's' and U+212A for
///   'k'); when a key repeats, the last one wins; repeated objects merge;
/// - unknown fields are ignored whatever their type; `null` leaves a field untouched;
/// - a missing field is "" (ARN canonicalisation, later, rejects it);
/// - one JSON value and only whitespace after it; a UTF-8 BOM is refused as Go does.
/// Deliberate difference: invalid UTF-8 inside strings is refused (Go substitutes U+FFFD).
/// Error codes: "sts_xml_body" (STS answered XML), "sts_bad_json" (not JSON),
/// "sts_bad_shape" (JSON of the wrong type, e.g. `"Arn": 5` or a top-level array).
result<caller_identity> parse_caller_identity(std::string_view body);

/// The five outcomes of an STS call, never merged (STYLE "Errors").
enum class outcome_kind {
    ok,            ///< HTTP 200 with a parsable body: `identity` is set
    throttled,     ///< non-200 whose body contains "Throttling", or HTTP 429
    rejected,      ///< STS said no (4xx): bad signature, expired or invalid token; or a request
                   ///< the client refused to send
    unavailable,   ///< 5xx, or no HTTP answer at all (resolve, connect, TLS, reset, timeout)
    bad_response,  ///< 3xx (never followed), 1xx/2xx other than 200, unparsable or oversize body
};

/// Stable text of a kind ("ok", "throttled", ...), for logs.
std::string_view to_string(outcome_kind kind) noexcept;

/// Result of one STS GetCallerIdentity exchange, as the callers (authn, metrics, logs) need it.
/// No field ever holds the request target, the token or a signature.
struct sts_outcome {
    outcome_kind kind = outcome_kind::unavailable;
    caller_identity identity;    ///< only when kind == ok
    std::string reason;          ///< stable machine reason, e.g. "ok", "sts_throttled", "sts_timeout"
    std::string sts_error_code;  ///< STS's `Error.Code` when the body carried one
                                 ///< (e.g. "SignatureDoesNotMatch"), sanitised; else ""
    std::string detail;          ///< short human text for logs: bounded, printable ASCII
    unsigned http_status = 0;    ///< status of the HTTP answer; 0 when there was none

    bool ok() const noexcept { return kind == outcome_kind::ok; }
};

/// Classifies a complete HTTP answer (SPEC-reference §1.6/§1.7, decisions A3/A4):
/// - 200: the body is parsed (parse_caller_identity); failure => bad_response with the parse
///   error's code as reason;
/// - any other status whose body contains "Throttling" (as the reference), and 429 whatever its
///   body (our choice: 429 means throttling, and the apiserver retries it) => throttled,
///   reason "sts_throttled";
/// - 3xx => bad_response "sts_redirect" (redirects are never followed);
/// - other 4xx => rejected "sts_rejected";
/// - 5xx => unavailable "sts_server_error";
/// - anything else (1xx, 2xx other than 200) => bad_response "sts_unexpected_status".
/// For non-200 answers `sts_error_code` is STS's `Error.Code` (JSON, or `<Code>` of an XML
/// error) and `detail` is "error from AWS (expected 200, got N)" plus a bounded, sanitised
/// extract of the body.
sts_outcome classify_response(unsigned http_status, std::string_view body);

/// An answer whose body exceeded the client's limit: bad_response "sts_body_too_large".
sts_outcome oversize_response(unsigned http_status, std::size_t limit);

/// A failure without a usable HTTP answer (resolve, connect, TLS, reset, timeout, malformed
/// HTTP): kind `unavailable` (or `kind` when given), http_status 0. `reason` is a stable code,
/// `detail` is sanitised and bounded here.
sts_outcome transport_failure(std::string reason, std::string_view detail,
                              outcome_kind kind = outcome_kind::unavailable);

/// A bounded (max_len bytes), printable-ASCII copy of `text` for logs: control and non-ASCII
/// bytes become '?', and the text is cut before anything that looks like a SigV4 parameter
/// ("x-amz-", "signature=", "credential=", any case) so no signing material can leak.
std::string sanitize_snippet(std::string_view text, std::size_t max_len = 200);

}  // namespace stsauth::sts
