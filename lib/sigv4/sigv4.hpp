#pragma once
/// \file
/// AWS Signature Version 4, phase by phase, plus header signing and query-string presigning.
/// Spec: https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
/// (query form: https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html).
///
/// Pure functions: no clock, no I/O. A request is described by its *decoded* pieces; encoding
/// to the wire and to the canonical form happens here.

#include "common/result.hpp"
#include "common/secret.hpp"
#include "crypto/crypto.hpp"

#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stsauth::sigv4 {

inline constexpr std::string_view algorithm = "AWS4-HMAC-SHA256";
/// Payload hash of S3-style presigned URLs (real STS accepts it too).
inline constexpr std::string_view unsigned_payload = "UNSIGNED-PAYLOAD";
/// SHA-256 of the empty body: what botocore (`aws eks get-token`) and the Go SDK use when
/// presigning GetCallerIdentity.
inline constexpr std::string_view empty_payload_sha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct credentials {
    std::string access_key_id;
    secret<std::string> secret_access_key;
    secret<std::string> session_token;  ///< empty for long-term keys
};

/// One query parameter, decoded (raw bytes, not percent-encoded).
struct query_param {
    std::string key;
    std::string value;
    friend bool operator==(const query_param&, const query_param&) = default;
};

/// One header as it is (or will be) on the wire.
struct header_field {
    std::string name;
    std::string value;
};

/// The parts of an HTTP request that SigV4 covers.
struct request {
    std::string method = "GET";
    std::string path = "/";               ///< decoded path
    std::vector<query_param> query;       ///< decoded, in wire order
    std::vector<header_field> headers;    ///< must contain Host
};

/// `<date>/<region>/<service>/aws4_request`
struct credential_scope {
    std::string date;  ///< YYYYMMDD
    std::string region;
    std::string service;
    std::string str() const;
    /// Appends str() to `out`.
    void append_to(std::string& out) const;
    /// Parses "date/region/service/aws4_request" (no access key id). Error code "bad_scope".
    static result<credential_scope> parse(std::string_view text);
};

/// `YYYYMMDDTHHMMSSZ` (UTC) of a time point, truncated to the second.
std::string format_amz_date(std::chrono::system_clock::time_point t);
/// Strict parse of `YYYYMMDDTHHMMSSZ` (a real calendar date and time). Error code "bad_date".
result<std::chrono::system_clock::time_point> parse_amz_date(std::string_view text);

// ---- Phase 1: canonical request ------------------------------------------------------------

/// Canonical URI: with `normalize`, dot segments are removed and repeated slashes collapsed
/// (RFC 3986 §5.2.4, as AWS does for every service but S3); each byte is then URI-encoded once,
/// keeping '/'.
std::string canonical_uri(std::string_view decoded_path, bool normalize);
/// Canonical query string: every key and value URI-encoded, sorted by key then value, joined
/// with '&'. `X-Amz-Signature` is excluded.
std::string canonical_query_string(std::span<const query_param> query);

struct canonical_headers_t {
    std::string canonical;       ///< "name:value\n" lines, names lower-cased and sorted
    std::string signed_headers;  ///< "host;x-amz-date"
};
/// Canonical headers: names lower-cased, values trimmed and inner runs of spaces collapsed,
/// repeated names joined with ','. When `only` is non-empty, only those (lower-case) names are
/// included, as a verifier does with X-Amz-SignedHeaders.
canonical_headers_t canonical_headers(std::span<const header_field> headers,
                                      std::span<const std::string> only = {});

/// The full canonical request (method, URI, query, headers, signed headers, payload hash).
std::string canonical_request(const request& req, std::string_view payload_hash, bool normalize_path,
                              std::span<const std::string> only_headers = {});

/// canonical_request of the pieces, appended to `out`: for a verifier, whose request is held in
/// its own types, without copying them into a sigv4::request. Re-uses per-thread scratch, so
/// a caller that re-uses `out` canonicalises without allocating.
void append_canonical_request(std::string& out, std::string_view method, std::string_view decoded_path,
                              std::span<const query_param> query, std::span<const header_field> headers,
                              std::string_view payload_hash, bool normalize_path,
                              std::span<const std::string> only_headers = {});

// ---- Phase 2: string to sign ---------------------------------------------------------------

std::string string_to_sign(std::string_view amz_date, const credential_scope& scope,
                           std::string_view canonical_request);
/// string_to_sign, appended to `out`.
void append_string_to_sign(std::string& out, std::string_view amz_date, const credential_scope& scope,
                           std::string_view canonical_request);

// ---- Phase 3: signing key, Phase 4: signature -------------------------------------------------

crypto::digest signing_key(const secret<std::string>& secret_access_key, const credential_scope& scope);
/// Lower-case hex HMAC-SHA256(signing key, string to sign).
std::string signature(const crypto::digest& key, std::string_view string_to_sign);

// ---- High level ------------------------------------------------------------------------------

struct signing_params {
    std::string region;
    std::string service;
    std::chrono::system_clock::time_point time;
    bool normalize_path = true;
    /// Header signing only: add and sign `X-Amz-Content-Sha256: <payload hash>` (S3-style).
    bool add_content_sha256_header = false;
    /// Add the session token after signing, uncovered by the signature (a few services, e.g.
    /// IoT, want this). Never used for STS.
    bool session_token_after_signing = false;
};

/// Intermediate values, exposed for tests and debugging (never logged: they are not secret
/// themselves, but the signature is a bearer credential).
struct signing_trace {
    std::string canonical_request;
    std::string string_to_sign;
    std::string signature;
};

/// Header signing: adds `X-Amz-Date`, `X-Amz-Security-Token` (temporary credentials) and
/// `Authorization` to req.headers. `payload_hash` is the hex SHA-256 of the body.
signing_trace sign_headers(request& req, const credentials& creds, const signing_params& params,
                           std::string_view payload_hash = empty_payload_sha256);

/// Query presigning: appends, in botocore's order, X-Amz-Algorithm, X-Amz-Credential,
/// X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Security-Token (temporary credentials),
/// then X-Amz-Signature to req.query. Every header in req.headers is signed.
signing_trace presign(request& req, const credentials& creds, const signing_params& params,
                      std::chrono::seconds expires, std::string_view payload_hash = empty_payload_sha256);

/// `https://<Host header><encoded path>?<k=v&...>` with keys and values URI-encoded, in order.
std::string to_url(const request& req, std::string_view scheme = "https");

/// Value of the first header named `name` (case-insensitive), or empty.
std::string_view header_value(const request& req, std::string_view name);

}  // namespace stsauth::sigv4
