#pragma once
/// \file
/// What the client-side resolution (profiles, region, credentials) reads from the outside world:
/// environment variables, the home directory and files. The process implementation reads the
/// real ones; tests build an `environment` from a map and in-memory files, so the resolution
/// logic itself stays pure and deterministic.

#include "common/result.hpp"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace stsauth::aws {

struct environment {
    /// Value of an environment variable; nullopt when unset.
    std::function<std::optional<std::string>(std::string_view name)> get_env;
    /// Content of a file; nullopt when there is no regular file at `path` (botocore treats a
    /// missing file, or a directory, as "not found"); an error ("file_read_error") when the file
    /// exists but cannot be read or is unreasonably large.
    std::function<result<std::optional<std::string>>(const std::string& path)> read_file;
    /// Home directory used for `~` when HOME is unset (the password database); may be empty.
    std::function<std::optional<std::string>()> fallback_home;

    /// get_env, with an empty value treated as unset (as every AWS SDK does for these variables).
    std::optional<std::string> env(std::string_view name) const;
};

/// The real process environment and file system.
environment process_environment();

/// A deterministic environment for tests: variables from `vars`, files from `files` (path ->
/// content); no fallback home directory.
environment fake_environment(std::map<std::string, std::string, std::less<>> vars,
                             std::map<std::string, std::string, std::less<>> files = {});

/// Expands a path as botocore does (os.path.expandvars, then os.path.expanduser): `$NAME` and
/// `${NAME}` are replaced by set variables (unset ones are left as written), then a leading `~`
/// or `~/` becomes the home directory (HOME, else the fallback). `~user` is left as written.
std::string expand_path(std::string_view path, const environment& env);

}  // namespace stsauth::aws
