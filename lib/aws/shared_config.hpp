#pragma once
/// \file
/// Profiles from the AWS shared files, and the client's region, resolved as the AWS CLI and
/// botocore do.
///
/// - Files: `AWS_SHARED_CREDENTIALS_FILE` (default `~/.aws/credentials`) and `AWS_CONFIG_FILE`
///   (default `~/.aws/config`), with `$VAR` and `~` expanded.
/// - Profile: `--profile` > `AWS_PROFILE` > `default`. A profile chosen explicitly (flag or
///   variable) must exist in one of the files, as botocore requires.
/// - In the credentials file a profile's section is `[name]`; in the config file it is
///   `[profile name]` (the name may be quoted), except `[default]`. When the config file has both
///   `[default]` and `[profile default]`, the latter is used (the AWS SDKs' rule).
/// - For the same profile, a key in the credentials file overrides the same key in the config
///   file (botocore's merged view).
/// - Region: `--region` > `AWS_REGION` > `AWS_DEFAULT_REGION` > the profile's `region` >
///   `us-east-1`. (Region from EC2 instance metadata is not implemented yet.)

#include "aws/environment.hpp"
#include "aws/ini.hpp"
#include "common/result.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace stsauth::aws {

inline constexpr std::string_view default_profile_name = "default";
inline constexpr std::string_view default_region = "us-east-1";

enum class profile_source {
    flag,         ///< --profile
    environment,  ///< AWS_PROFILE
    fallback,     ///< neither: "default"
};

struct profile_selection {
    std::string name;
    profile_source source = profile_source::fallback;
    bool chosen_explicitly() const noexcept { return source != profile_source::fallback; }
};

/// `--profile` (when given and non-empty) > `AWS_PROFILE` (non-empty) > "default".
profile_selection select_profile(const environment& env, const std::optional<std::string>& profile_flag);

/// One profile as found in the shared files.
struct profile {
    profile_selection selection;
    std::string credentials_path;  ///< expanded path of the credentials file
    std::string config_path;       ///< expanded path of the config file
    bool credentials_file_exists = false;
    bool config_file_exists = false;
    std::optional<ini_values> credentials_section;  ///< the profile's keys in the credentials file
    std::optional<ini_values> config_section;       ///< the profile's keys in the config file

    const std::string& name() const noexcept { return selection.name; }
    bool found() const noexcept { return credentials_section || config_section; }
    /// botocore's merged view: the credentials file's value, else the config file's; empty values
    /// count as set here (callers decide what an empty value means).
    std::optional<std::string> get(std::string_view key) const;
};

/// Reads and parses both shared files and extracts the selected profile.
/// Errors: "file_read_error", "bad_ini" (a malformed file is refused, as botocore does),
/// "profile_not_found" (an explicitly chosen profile that is in neither file).
result<profile> load_profile(const environment& env, const profile_selection& selection);

/// The config-file section name of a profile: "profile <name>" → name, "default" → "default";
/// nullopt for other sections (`[sso-session x]`, `[services x]`, `[plain]`).
std::optional<std::string> config_section_profile_name(std::string_view section_name);

/// botocore's region name check: `^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$`.
bool valid_region_name(std::string_view region) noexcept;

struct resolved_region {
    std::string name;
    std::string source;  ///< where it came from, for messages: "--region", "AWS_REGION", ...
};

/// Resolves the region (order above). Error "bad_region" when the chosen value is not a valid
/// region name; the message names its source.
result<resolved_region> resolve_region(const environment& env, const std::optional<std::string>& region_flag,
                                       const profile& p);

/// FIPS and dual-stack endpoints (AWS_USE_FIPS_ENDPOINT / AWS_USE_DUALSTACK_ENDPOINT, else the
/// profile's use_fips_endpoint / use_dualstack_endpoint; "true" in any case enables, as botocore)
/// are not supported yet: error "unsupported_endpoint" when one is requested, so that a FIPS user
/// never silently gets a token for a non-FIPS endpoint.
status check_endpoint_settings(const environment& env, const profile& p);

}  // namespace stsauth::aws
