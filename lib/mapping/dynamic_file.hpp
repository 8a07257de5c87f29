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

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace stsauth::mapping {

struct loaded_dynamic_file {
    loaded_mappings loaded;
    std::string version;
    std::string last_updated_date_time;  ///< unix seconds as text (for the e2e latency metric)
};

/// Error codes: "bad_json" (syntax, not an object; message carries only a byte offset),
/// "invalid_mapping" (wrong types, missing keys; message names the entry and field).
result<loaded_dynamic_file> load_dynamic_file(std::string_view json_text, bool user_id_strict);

/// The dynamic backend-mode file (part B §5.5, `server.dynamicBackendModePath`):
/// `{"LastUpdatedDateTime":"…","Version":"…","backendMode":"DynamicFile MountedFile"}`.
struct backend_mode_file {
    std::vector<std::string> modes;  ///< space-separated names in order, empty items dropped, as written
    std::string version;
    std::string last_updated_date_time;  ///< unix seconds as text
};

/// Keys case-insensitive, unknown keys ignored, as load_dynamic_file. Error codes: "bad_json",
/// "invalid_mapping" (a value of the wrong type). Mode names are not checked here (an empty
/// list is allowed too): the server decides what it can build.
result<backend_mode_file> load_backend_mode_file(std::string_view json_text);

/// `now - LastUpdatedDateTime` in seconds for the `dynamic_e2e_latency_seconds` histogram.
/// Errors: "bad_timestamp" (not a decimal unix-seconds string), "future_timestamp" (after `now`).
result<double> e2e_latency_seconds(std::string_view last_updated_date_time,
                                   std::chrono::system_clock::time_point now);

}  // namespace stsauth::mapping
