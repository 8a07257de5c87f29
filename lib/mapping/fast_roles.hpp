#pragma once
/// \file
/// A fast path for the one big thing in a config file: the `server.mapRoles` block list, which
/// can hold 100,000 entries (yaml-cpp needs seconds for that; this reads it in a single pass over
/// the lines). It accepts only a plain, common shape and says "not for me" on anything else, so
/// the caller then parses the whole text with yaml-cpp as before:
///
///     server:
///       mapRoles:
///       - rolearn: arn:aws:iam::111122223333:role/Admin     # (no comments inside the block)
///         username: "admin:{{SessionName}}"
///         groups: [system:masters]                          # or a block list, or 'a,b'
///
/// Entry keys: rolearn, username, groups, userid (any case, each at most once); values: plain
/// scalars of [A-Za-z0-9_./:@{},-] (not starting with '{', '-', ',' or ':', no ": ", not null), or single-line '...'/"..." strings
/// without escapes; printable ASCII only, no tabs, no CR, no blank or comment lines in the block.
/// The result is what the yaml-cpp reader builds for the same text (tested side by side).

#include "common/result.hpp"
#include "mapping/mapping_set.hpp"
#include "mapping/model.hpp"

#include <yaml-cpp/node/node.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stsauth::mapping::detail {

struct fast_roles {
    std::vector<role_mapping> roles;
    std::string rest;  ///< the text with the block's lines blanked and `mapRoles: []` in its place
    std::size_t line = 0;  ///< 0-based line of the `mapRoles:` key
};

/// The mapRoles block of `config_yaml` if it has the shape above, else nothing.
std::optional<fast_roles> split_map_roles(std::string_view config_yaml);

/// Whether yaml-cpp, reading fast_roles::rest, found the placeholder where the block was: the
/// `server` map has one `mapRoles` key, an empty list on `line`. If not, the lines meant
/// something else and the caller must parse the original text.
bool map_roles_placeholder_in_place(const YAML::Node& server, std::size_t line);

/// Texts from this size on are worth the fast path (below it yaml-cpp is quick enough, and
/// every file takes the one well-trodden path).
inline constexpr std::size_t fast_path_min_bytes = 256 * 1024;

/// load_mounted_file_text with the fast path tried whatever the size (load_mounted_file_text
/// tries it from 256 KiB on); for tests.
result<loaded_mappings> load_mounted_file_text_fast(std::string_view config_yaml);

/// The document a MountedFile load of `config_yaml` compiled (fast path tried or not); for tests.
result<mapping_document> read_mounted_file_document(std::string_view config_yaml, bool try_fast);

}  // namespace stsauth::mapping::detail
