#pragma once
/// \file
/// DynamicFile (part B §5.4): the JSON mapping file EKS access entries are written to.
///
/// ```json
/// {"Version":"1","LastUpdatedDateTime":"1706648530",
///  "mapRoles":[{"rolearn":"arn:aws:iam::000000000098:role/KubernetesAdmin","username":"kubernetes-admin",
///               "groups":["system:masters"],"userid":"userid678"}],
///  "mapUsers":[{"userarn":"...","username":"...","groups":["..."],"userid":"..."}],
///  "mapAccounts":["012345678901"]}
/// ```
/// Keys are case-insensitive (as Go's encoding/json); `ClusterId` and unknown keys are ignored.
/// Types are strict: a value of the wrong JSON type fails the load, as in the reference.
/// Each entry's key (`rolearn`/`userarn`, or `userid` with `dynamicfileUserIDStrict`) must be
/// present, else the whole file is rejected. SSO entries are not supported here.

#include "common/result.hpp"
#include "mapping/mapping_set.hpp"

#include <string>
#include <string_view>

namespace stsauth::mapping {

struct loaded_dynamic_file {
    loaded_mappings loaded;
    std::string version;
    std::string last_updated_date_time;  ///< unix seconds as text (for the e2e latency metric)
};

/// Error codes: "bad_json" (syntax, not an object; message carries only a byte offset),
/// "invalid_mapping" (wrong types, missing keys; message names the entry and field).
result<loaded_dynamic_file> load_dynamic_file(std::string_view json_text, bool user_id_strict);

}  // namespace stsauth::mapping
