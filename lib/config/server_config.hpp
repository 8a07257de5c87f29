#pragma once
/// \file
/// The server configuration: the reference's config file (SPEC-reference §6.6) plus our keys
/// (SPEC-decisions A1, ACCESS-ENTRIES C8), parsed from YAML or JSON into plain structs,
/// overridden by environment variables and flags (flag > env > file > default) and validated
/// once, with every error naming the field and where its value came from.
///
/// Keys are matched case-insensitively, as viper does (`backendmode`, `CLUSTERID`). Unknown keys
/// are warnings (viper ignores them). Relative paths (stateDir, generateKubeconfig, files) are
/// kept as written: they are relative to the working directory of the process, as in the
/// reference — not to the config file.
///
/// Typical use (the CLI):
/// ```
/// auto env = config::overrides_from_env([](const char* n) { return std::getenv(n); });
/// config::overrides flags;  flags.port = 8443;  // what the user passed
/// auto cfg = config::load_server_config(path, env, flags);   // result<server_config>
/// ```

#include "common/result.hpp"
#include "config/duration.hpp"

#include <yaml-cpp/node/impl.h>
#include <yaml-cpp/node/node.h>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stsauth::config {

// ---- backend modes ------------------------------------------------------------------------

/// Mapping backends (SPEC-reference §5, SPEC-decisions A5, ACCESS-ENTRIES C2.3).
enum class backend_mode { mounted_file, eks_config_map, crd, dynamic_file, access_entries };

/// Canonical name: `MountedFile`, `EKSConfigMap`, `CRD`, `DynamicFile`, `AccessEntries`.
std::string_view to_string(backend_mode m) noexcept;

struct parsed_backend_mode {
    backend_mode mode;
    bool deprecated_alias = false;  ///< `File` (MountedFile) or `ConfigMap` (EKSConfigMap)
};
/// Case-sensitive, as the reference's ValidateBackendMode.
std::optional<parsed_backend_mode> parse_backend_mode(std::string_view name) noexcept;

/// `--backend-mode` value: comma-separated, blanks around names trimmed, empty items dropped.
std::vector<std::string> split_backend_mode_flag(std::string_view value);

// ---- partitions, feature gates, log levels -------------------------------------------------

/// The valid `server.partition` values (SPEC-reference §1.3).
inline constexpr std::array<std::string_view, 8> partitions = {
    "aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"};
bool valid_partition(std::string_view p) noexcept;

/// Feature gates of the reference (all alpha, default false).
struct feature_gates {
    bool configured_init_directories = false;  ///< ConfiguredInitDirectories
    bool iam_identity_mapping_crd = false;     ///< IAMIdentityMappingCRD (never consulted, as the reference)
    bool sso_role_match = false;               ///< SSORoleMatch
};

/// Kubernetes `--feature-gates` syntax: `Name=bool[,Name=bool...]`, booleans as Go's
/// strconv.ParseBool. Unknown gate or bad value: error "bad_feature_gate".
result<std::map<std::string, bool>> parse_feature_gates(std::string_view spec);
/// Sets the named gates on `gates` (names already checked by parse_feature_gates).
void apply_feature_gates(feature_gates& gates, const std::map<std::string, bool>& values);

/// logrus levels: panic, fatal, error, warn/warning, info, debug, trace (any case).
bool valid_log_verbosity(std::string_view level) noexcept;

// ---- the configuration ---------------------------------------------------------------------

/// `server.sts` (ours, A1/A3/A6).
struct sts_settings {
    duration timeout = std::chrono::seconds(10);  ///< whole exchange, per attempt; > 0
    std::string connect_override;                 ///< "HOST:PORT" or ""; see A1
    std::string ca_file;                          ///< extra PEM bundle for STS, or ""
    std::int64_t max_connections_per_host = 1024;  ///< 1..10000; 1,024 lets 1,000 concurrent reviews wait on STS at once (the reference has no cap)
    duration cache_ttl = std::chrono::seconds(60); ///< >= 0; 0 disables the identity cache
    std::vector<std::string> extra_hosts;         ///< exact host names added to the allow-list
};

/// `server.limits` (ours, A7/A11).
/// Our keys under `server.ec2` for the {{EC2PrivateDNSName}} lookups (DescribeInstances).
struct ec2_settings {
    std::string region;            ///< default: AWS_REGION / AWS_DEFAULT_REGION, then IMDS
    std::string endpoint;          ///< "https://HOST[:PORT]"; default ec2.<region>.<partition domain>
    std::string connect_override;  ///< "HOST:PORT": open EC2 connections there (TLS name stays the endpoint's)
    std::string ca_file;           ///< extra PEM CA bundle trusted for EC2
};

struct limits_settings {
    std::int64_t max_body_bytes = 65536;      ///< 1 KiB..64 MiB
    std::int64_t max_header_bytes = 8192;     ///< 1 KiB..1 MiB
    std::int64_t max_connections = 4096;      ///< 1..1000000
    duration read_timeout = std::chrono::seconds(10);   ///< > 0
    duration idle_timeout = std::chrono::seconds(90);   ///< > 0
};

/// One `server.reservedPrefixConfig` item.
struct reserved_prefix_entry {
    std::string backend_mode;                          ///< canonical backend name
    std::vector<std::string> username_prefix_reserve_list;
};

/// `server.accessEntries` (ACCESS-ENTRIES C8).
struct access_entries_settings {
    std::string file;
    std::string cluster_account_id;
    std::vector<std::string> reserved_group_prefixes = {"system:"};
    bool allow_service_policies = false;
    bool allow_inferred_policies = false;
};

/// `server.authorization` (ACCESS-ENTRIES C8).
struct authorization_settings {
    bool enabled = false;
};

/// The whole configuration with the reference's defaults (SPEC-reference §6.6) and ours (A1).
/// Integers are int64 so that out-of-range values reach validation and are reported, not
/// truncated; after validation they fit the documented ranges.
struct server_config {
    std::string cluster_id;                    ///< clusterID (required)
    std::string log_verbosity = "info";        ///< log-verbosity
    feature_gates gates;                       ///< --feature-gates, or our server.featureGates

    std::int64_t port = 21362;                 ///< server.port, 0..65535 (0: ephemeral, tests)
    std::string address = "127.0.0.1";         ///< server.address ("" = all interfaces)
    std::string hostname = "localhost";        ///< server.hostname (webhook kubeconfig URL, cert SAN)
    std::string state_dir = "/var/aws-iam-authenticator";
    std::string generate_kubeconfig = "/etc/kubernetes/aws-iam-authenticator/kubeconfig.yaml";
    bool kubeconfig_pregenerated = false;
    std::string partition = "aws";
    std::vector<std::string> backend_modes = {"MountedFile"};  ///< server.backendMode, names as written
    std::vector<std::string> scrubbed_accounts;
    std::string dynamic_file_path;             ///< server.dynamicfilepath
    bool dynamic_file_user_id_strict = false;  ///< server.dynamicfileUserIDStrict
    std::string dynamic_backend_mode_path;     ///< server.dynamicBackendModePath
    std::vector<reserved_prefix_entry> reserved_prefix_config;  ///< one per backend (later wins)
    std::string ec2_describe_instances_role_arn;
    std::string source_arn;
    std::int64_t ec2_describe_instances_qps = 15;
    std::int64_t ec2_describe_instances_burst = 5;
    std::string kubeconfig;                    ///< server.kubeconfig (Kubernetes API client)
    std::string master;                        ///< server.master
    std::int64_t max_token_bytes = 16384;      ///< A2; 1..limits.maxBodyBytes
    std::string aws_auth_file;                 ///< A5: EKSConfigMap from a file or directory
    sts_settings sts;
    ec2_settings ec2;
    limits_settings limits;
    duration shutdown_grace = std::chrono::seconds(10);  ///< > 0
    std::int64_t io_threads = 0;               ///< network threads; 0 = the CPUs the process may use
    std::int64_t health_port = 21363;          ///< 0 turns the health listener off
    std::string health_address;                ///< "" = all interfaces
    std::string client_ca_file;                ///< mTLS from the apiserver when set
    bool legacy_deny_status = false;           ///< deny with 403 like the reference (A4)
    access_entries_settings access_entries;
    authorization_settings authorization;

    /// The raw `server` mapping (null when absent), for the mapping backends to read
    /// `mapRoles`/`mapUsers`/`mapAccounts` with their own parser. Parse it at load time, not per
    /// request (yaml-cpp nodes are not meant for concurrent use). Replace it with reset(), never
    /// operator= (yaml-cpp's assignment writes through to every copy sharing the node).
    YAML::Node server_node;

    /// The config file path; "" when there is none, "<embedded>" for embedded_default_config().
    std::string source;
    /// Things worth a log line at start-up (unknown keys, deprecated names), already formatted
    /// as "<origin>: <field>: <message>". Never a secret or a mapping.
    std::vector<std::string> warnings;
    /// Where each field set by a flag or an environment variable came from ("flag --port",
    /// "env KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID"), keyed by field path.
    std::map<std::string, std::string, std::less<>> origins;

    /// The origin of `field` for messages: its flag or env var, else the config file, else
    /// "default".
    std::string origin_of(std::string_view field) const;
    /// The backend chain in order (deprecated aliases resolved, unknown names skipped: call on a
    /// validated config).
    std::vector<config::backend_mode> backends() const;
    /// `server.reservedPrefixConfig` for a backend (the last item naming it), or empty.
    std::vector<std::string> reserved_prefixes(config::backend_mode m) const;
};

/// A problem found while parsing or validating.
struct config_issue {
    std::string field;    ///< e.g. "server.port", "server.sts.timeout", "clusterID"
    std::string code;     ///< stable reason, e.g. "bad_port"
    std::string message;  ///< without field or origin
    std::string origin;   ///< file path, "flag --port", "env VAR" or "default"
};
/// "<origin>: <field>: <message>".
std::string to_string(const config_issue& issue);

// ---- parsing ---------------------------------------------------------------------------------

/// The defaults (no file).
server_config default_config();

/// Parses YAML or JSON text (JSON is read as YAML). `source_name` names the file in messages.
/// Type errors (a list where a string is expected, `port: abc`, a bad duration) fail here with
/// codes "yaml_error", "not_a_mapping", "duplicate_key", "bad_value", "bad_duration"; range and
/// consistency checks are validate()'s.
result<server_config> parse_config(std::string_view text, std::string_view source_name);

/// Reads and parses a file ("read_error" when it cannot be read).
result<server_config> parse_config_file(const std::string& path);

/// Every range and consistency rule (A1, SPEC-reference §5, §6.2); empty when valid. Codes:
/// missing_cluster_id, invalid_partition, invalid_backend_mode, duplicate_backend_mode,
/// empty_backend_mode, backend_mode_order, dynamicfilepath_mismatch, missing_access_entries_file,
/// bad_port, bad_duration, bad_limit, bad_log_verbosity, bad_rate_limit, bad_connect_override,
/// bad_extra_host, bad_arn, bad_hostname.
std::vector<config_issue> validate(const server_config& cfg);

/// Warnings that validation can tell but that do not stop the server (deprecated backend names,
/// EKSConfigMap without awsAuthFile, reservedPrefixConfig naming no backend...), formatted as
/// config_issue strings.
std::vector<std::string> validation_warnings(const server_config& cfg);

// ---- overrides -------------------------------------------------------------------------------

/// Values set by flags or environment variables; unset = keep the file's/default value.
struct overrides {
    enum class kind { flag, env };
    kind origin = kind::flag;

    std::optional<std::string> cluster_id;       ///< -i/--cluster-id, env KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID
    std::optional<std::string> log_verbosity;    ///< -v/--log-verbosity, env AWS_IAM_AUTHENTICATOR_LOG_VERBOSITY
    std::optional<std::map<std::string, bool>> feature_gates;  ///< --feature-gates (parse_feature_gates)
    std::optional<std::string> partition;        ///< --partition
    std::optional<std::string> generate_kubeconfig;  ///< --generate-kubeconfig
    std::optional<bool> kubeconfig_pregenerated;     ///< --kubeconfig-pregenerated
    std::optional<std::string> state_dir;        ///< --state-dir
    std::optional<std::string> kubeconfig;       ///< --kubeconfig
    std::optional<std::string> master;           ///< --master
    std::optional<std::string> address;          ///< --address
    std::optional<std::string> hostname;         ///< init --hostname
    std::optional<std::vector<std::string>> backend_mode;  ///< --backend-mode (split_backend_mode_flag)
    std::optional<std::int64_t> port;            ///< --port
    std::optional<std::int64_t> ec2_describe_instances_qps;    ///< --ec2-describeInstances-qps
    std::optional<std::int64_t> ec2_describe_instances_burst;  ///< --ec2-describeInstances-burst
    std::optional<std::string> sts_connect_override;  ///< --sts-connect-override
    std::optional<std::string> sts_ca_file;      ///< --sts-ca-file
    std::optional<duration> sts_timeout;         ///< --sts-timeout (parse_go_duration)
    std::optional<duration> sts_cache_ttl;       ///< --sts-cache-ttl
    std::optional<std::string> access_entries_file;  ///< --access-entries-file
};

/// Environment lookup, e.g. `[](const char* n) { return std::getenv(n); }`; nullptr = unset.
using env_lookup = std::function<const char*(const char*)>;

/// The environment layer: KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID and
/// AWS_IAM_AUTHENTICATOR_LOG_VERBOSITY. Empty variables count as unset (viper's default).
overrides overrides_from_env(const env_lookup& getenv);

/// Applies every set value and records its origin. Apply env first, then flags.
void apply_overrides(server_config& cfg, const overrides& o);

/// parse (file or defaults) -> env -> flags -> validate. On failure the error's code is the
/// first issue's and its message lists every issue, one per "; ". Warnings are in the result.
result<server_config> load_server_config(const std::optional<std::string>& path, const overrides& env,
                                         const overrides& flags);
/// Same, from text already in memory (tests, embedded_default_config()).
result<server_config> load_server_config_text(std::string_view text, std::string_view source_name,
                                              const overrides& env, const overrides& flags);

/// The settings a running server reads only at start, that differ between `running` and
/// `next` (a reloaded config file): every key except `server.mapRoles`, `mapUsers` and
/// `mapAccounts`, which MountedFile reloads. Names as in the file ("server.port",
/// "server.sts.timeout"), in file order; empty when nothing else changed.
std::vector<std::string> restart_only_changes(const server_config& running, const server_config& next);

/// Case-insensitive lookup of `key` in a YAML mapping (viper's key matching), for readers of
/// server_node such as the mapping backends; an undefined node when absent or not a mapping.
YAML::Node find_key(const YAML::Node& map, std::string_view key);

/// The default configuration compiled into the binary (config/stsauth.yaml).
std::string_view embedded_default_config();

}  // namespace stsauth::config
