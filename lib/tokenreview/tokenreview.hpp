#pragma once
/// \file
/// TokenReview codec (A4, A11, part B §3.2–3.3): strict decoding of the apiserver's request and
/// byte-exact encoding of the reply. Pure: no I/O, no logging.
///
/// Decoding refuses anything a strict reader would: not exactly one JSON object (trailing bytes
/// other than whitespace, a byte-order mark), invalid UTF-8, a duplicate key in any object,
/// nesting deeper than the limit, an over-long string or key, a wrong `apiVersion`/`kind`, a
/// missing or non-string `spec.token`, a bad `spec.audiences`. Field names are matched exactly
/// (as Kubernetes' own strict decoder does); unknown fields are ignored. The token never appears
/// in an error message.
///
/// Encoding answers in the request's apiVersion with `kind: TokenReview`; field order follows
/// the Go structs (map keys sorted), followed by "\n" as Go's json.Encoder writes.
/// `status.audiences` is never set, so the apiserver applies its own audiences.

#include "common/result.hpp"
#include "common/secret.hpp"

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace stsauth::tokenreview {

enum class api_version { v1, v1beta1 };

/// `authentication.k8s.io/v1` or `authentication.k8s.io/v1beta1`.
std::string_view api_version_string(api_version v) noexcept;

struct request {
    /// The request's apiVersion. A request without one is treated as v1beta1, as the
    /// reference's decoder (which always decodes into v1beta1) did, and answered in v1beta1.
    api_version version = api_version::v1beta1;
    bool api_version_present = false;
    secret<std::string> token;           ///< `spec.token`; may be empty (the token check denies it)
    std::vector<std::string> audiences;  ///< `spec.audiences` (not used for the reply)
};

struct decode_limits {
    std::size_t max_depth = 32;                ///< nested objects/arrays
    std::size_t max_string_bytes = 32 * 1024;  ///< any string value, the token included;
                                               ///< keep it >= server.maxTokenBytes
    std::size_t max_key_bytes = 1024;
    std::size_t max_audiences = 64;
};

/// One pass of lib/common's strict JSON reader (json::strict_parse) over the body; no document is
/// built. Error codes: "bad_utf8", "not_json", "not_object", "trailing_data", "duplicate_key",
/// "too_deep", "string_too_long", "bad_api_version", "bad_kind", "bad_spec", "missing_token",
/// "bad_token_type", "bad_audiences".
result<request> decode(std::string_view body, const decode_limits& limits = {});

/// The STS identity fields that the reply carries (part B §3.1).
struct principal {
    std::string arn;
    std::string canonical_arn;
    std::string account_id;
    std::string user_id;
    std::string session_name;
    std::string access_key_id;
};

/// `status.user` of an authenticated reply.
struct user_info {
    std::string username;
    std::string uid;
    std::vector<std::string> groups;                         ///< omitted when empty
    std::map<std::string, std::vector<std::string>> extra;   ///< omitted when empty
};

/// Builds the user of part B §3.3: uid `aws-iam-authenticator:<account>:<userid>` and the six
/// `extra` keys (always present, even with empty values); for a scrubbed account, uid
/// `aws-iam-authenticator:administrative:<username>` and no extra.
user_info make_user(const principal& p, std::string username, std::vector<std::string> groups, bool scrubbed_account);

/// `{"apiVersion":...,"kind":"TokenReview","metadata":{},"spec":{},"status":{"authenticated":true,"user":{...}}}\n`
std::string encode_authenticated(api_version v, const user_info& user);

/// The principal's fields, borrowed (the fast path: nothing is copied into a user_info).
struct principal_view {
    std::string_view arn;
    std::string_view canonical_arn;
    std::string_view account_id;
    std::string_view user_id;
    std::string_view session_name;
    std::string_view access_key_id;
};

/// Byte for byte `encode_authenticated(v, make_user(p, username, groups, scrubbed_account))`,
/// written straight into the reply with no intermediate user_info.
std::string encode_authenticated(api_version v, const principal_view& p, std::string_view username,
                                 const std::vector<std::string>& groups, bool scrubbed_account);

/// `{"apiVersion":...,"kind":"TokenReview","metadata":{},"spec":{},"status":{"authenticated":false,"user":{},"error":"<reason>"}}\n`
/// `reason` is a short machine reason; never pass a token or URL.
std::string encode_denied(api_version v, std::string_view reason);

}  // namespace stsauth::tokenreview
