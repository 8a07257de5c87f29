#pragma once
/// \file
/// SubjectAccessReview codec (ACCESS-ENTRIES C7): strict decoding of kube-apiserver's
/// authorization webhook request, `authorization.k8s.io/v1` and `/v1beta1`, and the reply in the
/// same version. Pure: no I/O, no logging.
///
/// Decoding refuses what a strict reader would (as lib/tokenreview): not exactly one JSON object,
/// invalid UTF-8, a byte-order mark, a duplicate key anywhere, nesting or strings over the limits,
/// `apiVersion` other than the two versions or `kind` other than `SubjectAccessReview` (both
/// required: the version decides the groups key and the reply), `spec` without exactly one of
/// `resourceAttributes` / `nonResourceAttributes`, an empty `verb` or `path`, fields of the wrong
/// JSON type. Field names are matched exactly; unknown fields are ignored (Kubernetes' own
/// decoder); `status`, `metadata` and `rawSelector` are ignored. v1 reads the groups from
/// `spec.groups`, v1beta1 from `spec.group`.
///
/// One pass of lib/common/strict_json's reader collects the fields; the rules are then judged in
/// a fixed order (document rules, apiVersion, kind, spec, attributes, user/uid, groups, extra),
/// so the first broken one gives the code wherever in the document it sits.
///
/// Error codes: "bad_utf8", "not_json", "not_object", "trailing_data", "duplicate_key",
/// "too_deep", "string_too_long", "bad_api_version", "bad_kind", "bad_spec", "bad_attributes",
/// "bad_groups", "bad_extra". Messages never quote request values.

#include "common/result.hpp"

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stsauth::access {

enum class sar_version { v1, v1beta1 };

/// `authorization.k8s.io/v1` or `authorization.k8s.io/v1beta1`.
std::string_view api_version_string(sar_version v) noexcept;

/// `resourceAttributes` (selectors are checked for shape and otherwise ignored: C6.3).
struct resource_attributes {
    std::string namespace_name;  ///< `namespace`; "" for cluster-scoped and all-namespace requests
    std::string verb;
    std::string group;           ///< "" = core
    std::string version;
    std::string resource;
    std::string subresource;
    std::string name;
};

/// `nonResourceAttributes`.
struct non_resource_attributes {
    std::string path;
    std::string verb;
};

/// The extras C6.1 reads: `canonicalArn`, and `sigs.k8s.io/aws-iam-authenticator/principalId`
/// with `principalId` as fall-back.
inline constexpr std::string_view extra_canonical_arn = "canonicalArn";
inline constexpr std::string_view extra_principal_id = "sigs.k8s.io/aws-iam-authenticator/principalId";
inline constexpr std::string_view extra_principal_id_legacy = "principalId";

/// One of the extras evaluate() reads (C6.1), as the request held it.
struct extra_value {
    bool present = false;   ///< the key was there (with a list, or null)
    std::size_t count = 0;  ///< how many values its list had
    std::string first;      ///< the first of them
};

/// The three extras evaluate() reads, kept whatever `keep_identity` says.
struct principal_extras {
    extra_value canonical_arn;        ///< `canonicalArn`
    extra_value principal_id;         ///< `sigs.k8s.io/aws-iam-authenticator/principalId`
    extra_value principal_id_legacy;  ///< `principalId`
};

struct sar_request {
    sar_version version = sar_version::v1;
    std::optional<resource_attributes> resource;          ///< exactly one of resource / non_resource
    std::optional<non_resource_attributes> non_resource;
    std::string user;
    std::vector<std::string> groups;
    std::string uid;
    std::map<std::string, std::vector<std::string>, std::less<>> extra;  ///< never log it whole (holds the access key id)
    principal_extras principal;  ///< what evaluate() reads of `extra`
};

struct sar_decode_limits {
    std::size_t max_depth = 16;
    std::size_t max_string_bytes = 16 * 1024;
    std::size_t max_key_bytes = 1024;
    std::size_t max_groups = 1024;
    std::size_t max_extra_values = 1024;  ///< all extra values together
    /// false: `user`, `uid`, `groups` and `extra` are checked exactly as with true but not kept;
    /// `principal` (the three extras `evaluate` reads) is kept either way (the server's path:
    /// fewer copies per review).
    bool keep_identity = true;
};

result<sar_request> decode_sar(std::string_view body, const sar_decode_limits& limits = {});

/// What the reply says (C7.2). `denied` does not exist here: stsauth never denies (C6.4).
struct sar_status {
    bool allowed = false;
    std::string reason;            ///< omitted when empty
    std::string evaluation_error;  ///< omitted when empty
};

/// `{"apiVersion":<v>,"kind":"SubjectAccessReview","metadata":{},"spec":{},"status":{"allowed":…[,"reason":…][,"evaluationError":…]}}\n`
std::string encode_sar_response(sar_version v, const sar_status& status);

}  // namespace stsauth::access
