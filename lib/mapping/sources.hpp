#pragma once
/// \file
/// Parsers for the YAML mapping sources (part B §5.1, §5.2, A5). Input is text (or a node)
/// already read by the caller; nothing here touches the file system. Each returns a compiled
/// mapping_set plus warnings, or an error that leaves the caller's last good set in place.
///
/// Error codes: "bad_yaml" (syntax; message with line), "invalid_mapping" (an entry or field of
/// the wrong shape or invalid; message `mapRoles[2].username: ...`), "bad_configmap" (not a
/// ConfigMap, or data values that are not strings).

#include "common/result.hpp"
#include "mapping/mapping_set.hpp"

#include <map>
#include <string>
#include <string_view>

namespace YAML {
class Node;
}

namespace stsauth::mapping {

/// MountedFile: `mapRoles`, `mapUsers`, `mapAccounts` of the `server` map of the config file.
/// Keys are case-insensitive at every level, as viper reads them (`mapRoles`/`maproles`,
/// `rolearn`/`roleARN`, `sso.permissionSetName`...); two keys equal but for case are an error.
/// Scalars keep their YAML text, so unquoted account ids keep leading zeros (the reference lost
/// them). `groups` may be a list or, as viper's weak decoding allows, one string split on ','.
/// Any invalid entry fails the load (the reference refused to start).
result<loaded_mappings> load_mounted_file(const YAML::Node& server);

/// Same, from the whole config file text (finds the `server` key case-insensitively).
result<loaded_mappings> load_mounted_file_text(std::string_view config_yaml);

/// EKSConfigMap from a ConfigMap manifest (`kind: ConfigMap`, `data.mapRoles` etc. as YAML
/// strings). Top-level data keys are case-sensitive (`maproles` is ignored); entry keys are
/// case-insensitive. Values that are empty, blank, ``` `` ```, `""` or `''` are skipped. Unlike the
/// reference, a YAML error in any value fails the whole load (so the last good set is kept); an
/// entry that parses but is invalid is skipped with a warning, as the reference does.
result<loaded_mappings> load_configmap_manifest(std::string_view manifest_yaml);

/// EKSConfigMap from a mounted ConfigMap volume: one entry per file (name -> content), as read
/// by the caller. Keys other than mapRoles/mapUsers/mapAccounts (e.g. `..data`) are ignored.
result<loaded_mappings> load_configmap_data(const std::map<std::string, std::string>& data);

}  // namespace stsauth::mapping
