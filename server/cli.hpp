#pragma once
/// \file
/// The `stsauth` command line (CLI11), reference-compatible (SPEC-decisions A1, SPEC-reference
/// §6.6, §7): global flags here, one registration function per subcommand, each in its own
/// cli_<name>.cpp. main() parses, applies the global flags (logging), then runs the one command
/// whose CLI11 app was parsed.
///
/// Exit codes: 0 success, 1 runtime error, 2 usage error (unknown flag, missing required flag,
/// invalid flag value, missing subcommand).

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace stsauth::cli {

inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;
inline constexpr int exit_usage = 2;

/// Global (persistent) flags, accepted before or after the subcommand.
struct global_options {
    std::string config_file;             ///< -c/--config
    std::string log_format = "text";     ///< -l/--log-format text|json (unknown: warning, text)
    std::string log_verbosity = "info";  ///< -v/--log-verbosity, env AWS_IAM_AUTHENTICATOR_LOG_VERBOSITY
    std::string cluster_id;              ///< -i/--cluster-id, env KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID
    std::string feature_gates;           ///< --feature-gates (k8s syntax), not interpreted yet
};

/// A runnable leaf command: its CLI11 app and what to run when it was parsed (returns the exit
/// code). The runner owns its flag values (captured by the lambda).
struct command {
    CLI::App* app = nullptr;
    std::function<int()> run;
};
using command_list = std::vector<command>;

/// Adds the global flags to the root app.
void register_global_flags(CLI::App& root, global_options& globals);

// Registration points: each adds its subcommand(s), with their flags, to `root` and appends the
// runnable leaves to `commands`. `globals` is filled by the parse and read by the runners.
void register_server(CLI::App& root, const global_options& globals, command_list& commands);
void register_token(CLI::App& root, const global_options& globals, command_list& commands);
void register_verify(CLI::App& root, const global_options& globals, command_list& commands);
void register_init(CLI::App& root, const global_options& globals, command_list& commands);
void register_add(CLI::App& root, const global_options& globals, command_list& commands);
void register_version(CLI::App& root, const global_options& globals, command_list& commands);
void register_access_entries(CLI::App& root, const global_options& globals, command_list& commands);

/// Applies -l/-v to the default spdlog logger (stderr): `text` is logrus-like key=value lines,
/// `json` one JSON object per line. Verbosity is a logrus level (panic, fatal, error, warn[ing],
/// info, debug, trace; any case); an invalid one prints an error and returns exit_failure, as
/// the reference. An unknown format logs a warning and uses text.
int configure_logging(const global_options& globals);

/// Prints "<name>: not implemented yet" to stderr and returns exit_failure.
int not_implemented(std::string_view name);

}  // namespace stsauth::cli
