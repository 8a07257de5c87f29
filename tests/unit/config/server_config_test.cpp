#include "config/server_config.hpp"

#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

using namespace stsauth;
using namespace stsauth::config;
using namespace std::chrono_literals;

namespace {

std::string data(const std::string& name) { return std::string(STSAUTH_TEST_DATA_DIR) + "/config/" + name; }

std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

overrides make_env_layer() {
    overrides o;
    o.origin = overrides::kind::env;
    return o;
}
const overrides no_env = make_env_layer();
const overrides no_flags{};

/// Parses and validates text; the config must be valid.
server_config load_ok(const std::string& text) {
    auto r = load_server_config_text(text, "/etc/stsauth/test.yaml", no_env, no_flags);
    INFO((r.ok() ? std::string() : r.err().message));
    REQUIRE(r.ok());
    return std::move(r).value();
}

/// The validation issues of a config that parses.
std::vector<config_issue> issues_of(const std::string& text) {
    auto r = parse_config(text, "/etc/stsauth/test.yaml");
    INFO((r.ok() ? std::string() : r.err().message));
    REQUIRE(r.ok());
    return validate(*r);
}

/// Exactly one issue with this field and code, naming the file.
void require_single_issue(const std::string& text, const std::string& field, const std::string& code) {
    const auto issues = issues_of(text);
    INFO(text);
    for (const auto& i : issues) UNSCOPED_INFO(to_string(i));
    REQUIRE(issues.size() == 1);
    CHECK(issues[0].field == field);
    CHECK(issues[0].code == code);
    CHECK(issues[0].origin == "/etc/stsauth/test.yaml");
    CHECK(to_string(issues[0]).starts_with("/etc/stsauth/test.yaml: " + field + ": "));
}

bool has_warning(const server_config& c, const std::string& needle) {
    for (const auto& w : c.warnings)
        if (w.find(needle) != std::string::npos) return true;
    return false;
}

void check_all_keys(const server_config& c) {
    CHECK(c.cluster_id == "all-keys-cluster");
    CHECK(c.log_verbosity == "debug");
    CHECK(c.port == 8443);
    CHECK(c.address == "0.0.0.0");
    CHECK(c.hostname == "auth.example.com");
    CHECK(c.state_dir == "/srv/stsauth/state");
    CHECK(c.generate_kubeconfig == "/srv/stsauth/kubeconfig.yaml");
    CHECK(c.kubeconfig_pregenerated);
    CHECK(c.partition == "aws-cn");
    CHECK(c.backend_modes == std::vector<std::string>{"MountedFile", "AccessEntries", "DynamicFile", "EKSConfigMap"});
    CHECK(c.backends() == std::vector<backend_mode>{backend_mode::mounted_file, backend_mode::access_entries,
                                                    backend_mode::dynamic_file, backend_mode::eks_config_map});
    CHECK(c.scrubbed_accounts == std::vector<std::string>{"111122223333", "012345678901"});
    CHECK(c.dynamic_file_path == "/srv/stsauth/dynamic.json");
    CHECK(c.dynamic_file_user_id_strict);
    CHECK(c.dynamic_backend_mode_path == "/srv/stsauth/backend-mode.json");
    REQUIRE(c.reserved_prefix_config.size() == 2);
    CHECK(c.reserved_prefixes(backend_mode::dynamic_file) == std::vector<std::string>{"aws:", "eks:"});
    CHECK(c.reserved_prefixes(backend_mode::mounted_file) == std::vector<std::string>{"system:"});
    CHECK(c.reserved_prefixes(backend_mode::eks_config_map).empty());
    CHECK(c.ec2_describe_instances_role_arn == "arn:aws-cn:iam::111122223333:role/Describe");
    CHECK(c.source_arn == "arn:aws-cn:eks:cn-north-1:111122223333:cluster/demo");
    CHECK(c.ec2_describe_instances_qps == 30);
    CHECK(c.ec2_describe_instances_burst == 10);
    CHECK(c.kubeconfig == "/srv/kubeconfig");
    CHECK(c.master == "https://10.0.0.1:6443");
    CHECK(c.max_token_bytes == 8192);
    CHECK(c.aws_auth_file == "/srv/aws-auth.yaml");
    CHECK(c.sts.timeout == 90s);
    CHECK(c.sts.connect_override == "127.0.0.1:8444");
    CHECK(c.sts.ca_file == "/srv/fake-sts-ca.pem");
    CHECK(c.sts.max_connections_per_host == 16);
    CHECK(c.sts.cache_ttl == 0s);
    CHECK(c.sts.extra_hosts == std::vector<std::string>{"sts.internal.example.com"});
    CHECK(c.limits.max_body_bytes == 131072);
    CHECK(c.limits.max_header_bytes == 16384);
    CHECK(c.limits.max_connections == 100);
    CHECK(c.limits.read_timeout == 500ms);
    CHECK(c.limits.idle_timeout == 2min);
    CHECK(c.shutdown_grace == 30s);
    CHECK(c.health_port == 0);
    CHECK(c.health_address == "127.0.0.2");
    CHECK(c.client_ca_file == "/srv/apiserver-ca.pem");
    CHECK(c.legacy_deny_status);
    CHECK(c.gates.sso_role_match);
    CHECK(c.gates.configured_init_directories);
    CHECK_FALSE(c.gates.iam_identity_mapping_crd);
    CHECK(c.access_entries.file == "/srv/access-entries.yaml");
    CHECK(c.access_entries.cluster_account_id == "111122223333");
    CHECK(c.access_entries.reserved_group_prefixes == std::vector<std::string>{"system:", "eks:"});
    CHECK(c.access_entries.allow_service_policies);
    CHECK(c.access_entries.allow_inferred_policies);
    CHECK(c.authorization.enabled);
    // The raw server node is kept for the mapping backends, whatever the key case.
    REQUIRE(c.server_node.IsMap());
    const auto roles = find_key(c.server_node, "mapRoles");
    REQUIRE(roles.IsSequence());
    CHECK(find_key(roles[0], "rolearn").as<std::string>() == "arn:aws-cn:iam::111122223333:role/Admin");
    CHECK_FALSE(find_key(c.server_node, "mapUsers").IsDefined());
    for (const auto& w : c.warnings) CHECK(w.find("unknown key") == std::string::npos);
}

}  // namespace

TEST_CASE("defaults are the reference's and ours", "[config][defaults]") {
    const auto c = default_config();
    CHECK(c.cluster_id.empty());
    CHECK(c.log_verbosity == "info");
    CHECK(c.port == 21362);
    CHECK(c.address == "127.0.0.1");
    CHECK(c.hostname == "localhost");
    CHECK(c.state_dir == "/var/aws-iam-authenticator");
    CHECK(c.generate_kubeconfig == "/etc/kubernetes/aws-iam-authenticator/kubeconfig.yaml");
    CHECK_FALSE(c.kubeconfig_pregenerated);
    CHECK(c.partition == "aws");
    CHECK(c.backend_modes == std::vector<std::string>{"MountedFile"});
    CHECK(c.scrubbed_accounts.empty());
    CHECK(c.dynamic_file_path.empty());
    CHECK_FALSE(c.dynamic_file_user_id_strict);
    CHECK(c.dynamic_backend_mode_path.empty());
    CHECK(c.reserved_prefix_config.empty());
    CHECK(c.ec2_describe_instances_qps == 15);
    CHECK(c.ec2_describe_instances_burst == 5);
    CHECK(c.kubeconfig.empty());
    CHECK(c.master.empty());
    CHECK(c.max_token_bytes == 16384);
    CHECK(c.io_threads == 0);
    CHECK(c.aws_auth_file.empty());
    CHECK(c.sts.timeout == 10s);
    CHECK(c.sts.connect_override.empty());
    CHECK(c.sts.ca_file.empty());
    CHECK(c.sts.max_connections_per_host == 1024);
    CHECK(c.sts.cache_ttl == 60s);
    CHECK(c.sts.extra_hosts.empty());
    CHECK(c.limits.max_body_bytes == 65536);
    CHECK(c.limits.max_header_bytes == 8192);
    CHECK(c.limits.max_connections == 4096);
    CHECK(c.limits.read_timeout == 10s);
    CHECK(c.limits.idle_timeout == 90s);
    CHECK(c.shutdown_grace == 10s);
    CHECK(c.health_port == 21363);
    CHECK(c.health_address.empty());
    CHECK(c.client_ca_file.empty());
    CHECK_FALSE(c.legacy_deny_status);
    CHECK_FALSE(c.gates.sso_role_match);
    CHECK_FALSE(c.gates.configured_init_directories);
    CHECK_FALSE(c.gates.iam_identity_mapping_crd);
    CHECK(c.access_entries.reserved_group_prefixes == std::vector<std::string>{"system:"});
    CHECK_FALSE(c.authorization.enabled);

    // A file with only the cluster id keeps every default and is valid.
    const auto minimal = load_ok("clusterID: c1\n");
    CHECK(minimal.port == 21362);
    CHECK(minimal.backends() == std::vector<backend_mode>{backend_mode::mounted_file});
    CHECK((minimal.server_node.IsNull() || !minimal.server_node.IsDefined()));
}

TEST_CASE("server.ec2 keys (ours) are read", "[config][keys]") {
    const auto c = load_ok("clusterID: c\nserver:\n  ec2:\n    region: eu-west-1\n    endpoint: https://ec2.example:8443\n"
                           "    connectOverride: 127.0.0.1:9443\n    caFile: /etc/ca.pem\n");
    CHECK(c.ec2.region == "eu-west-1");
    CHECK(c.ec2.endpoint == "https://ec2.example:8443");
    CHECK(c.ec2.connect_override == "127.0.0.1:9443");
    CHECK(c.ec2.ca_file == "/etc/ca.pem");
    CHECK(load_ok("clusterID: c\n").ec2.connect_override.empty());
}

TEST_CASE("every key is read, camelCase YAML", "[config][keys]") {
    auto r = parse_config_file(data("all-keys.yaml"));
    INFO((r.ok() ? std::string() : r.err().message));
    REQUIRE(r.ok());
    CHECK(validate(*r).empty());
    check_all_keys(*r);
    CHECK(r->source == data("all-keys.yaml"));
}

TEST_CASE("every key is read, any-case JSON with tabs", "[config][keys]") {
    auto r = parse_config_file(data("all-keys-lowercase.json"));
    INFO((r.ok() ? std::string() : r.err().message));
    REQUIRE(r.ok());
    CHECK(validate(*r).empty());
    check_all_keys(*r);
}

TEST_CASE("keys are case-insensitive as viper reads them", "[config][keys]") {
    const auto c = load_ok("CLUSTERID: up\nServer:\n  PORT: 9000\n  BackendMode: [DynamicFile]\n"
                           "  DYNAMICFILEPATH: /x.json\n  Sts: {CACHETTL: 5s}\n");
    CHECK(c.cluster_id == "up");
    CHECK(c.port == 9000);
    CHECK(c.backends() == std::vector<backend_mode>{backend_mode::dynamic_file});
    CHECK(c.dynamic_file_path == "/x.json");
    CHECK(c.sts.cache_ttl == 5s);
}

TEST_CASE("value forms: scalars, strings split like viper, null keeps the default", "[config][keys]") {
    auto c = load_ok("clusterID: 12345\nserver:\n  port: \"8080\"\n  backendMode: \"MountedFile DynamicFile\"\n"
                     "  dynamicfilepath: /d.json\n  scrubbedAccounts: [012345678901, 111122223333]\n"
                     "  healthPort: ~\n  legacyDenyStatus: True\n  kubeconfigPregenerated: 1\n");
    CHECK(c.cluster_id == "12345");
    CHECK(c.port == 8080);
    CHECK(c.backend_modes == std::vector<std::string>{"MountedFile", "DynamicFile"});
    CHECK(c.scrubbed_accounts == std::vector<std::string>{"012345678901", "111122223333"});  // text kept
    CHECK(c.health_port == 21363);
    CHECK(c.legacy_deny_status);
    CHECK(c.kubeconfig_pregenerated);

    // An empty file or a comment-only file is all defaults (then only the cluster id is missing).
    require_single_issue("", "clusterID", "missing_cluster_id");
    require_single_issue("# nothing\n", "clusterID", "missing_cluster_id");
}

TEST_CASE("unknown keys are warnings, not errors", "[config][keys]") {
    const auto c = load_ok("clusterID: c\nfancy: 1\nserver:\n  portt: 1\n  sts: {timeoutt: 1s}\n"
                           "  reservedPrefixConfig: [{backendmode: MountedFile, extra: 1}]\n");
    CHECK(has_warning(c, "/etc/stsauth/test.yaml: fancy: unknown key, ignored"));
    CHECK(has_warning(c, "/etc/stsauth/test.yaml: server.portt: unknown key, ignored"));
    CHECK(has_warning(c, "/etc/stsauth/test.yaml: server.sts.timeoutt: unknown key, ignored"));
    CHECK(has_warning(c, "server.reservedPrefixConfig[0].extra: unknown key, ignored"));
    CHECK(c.port == 21362);

    // The reference ignores feature gates in the file; so do we, with a warning.
    const auto g = load_ok("clusterID: c\nfeature-gates: SSORoleMatch=true\n");
    CHECK_FALSE(g.gates.sso_role_match);
    CHECK(has_warning(g, "feature-gates: ignored"));
}

TEST_CASE("type errors fail parsing and name field and file", "[config][parse]") {
    struct bad_case {
        const char* text;
        const char* code;
        const char* field;
    };
    const bad_case cases[] = {
        {"clusterID: [a]\n", "bad_value", "clusterID"},
        {"server:\n  port: abc\n", "bad_value", "server.port"},
        {"server:\n  port: 1.5\n", "bad_value", "server.port"},
        {"server:\n  legacyDenyStatus: yes\n", "bad_value", "server.legacyDenyStatus"},
        {"server:\n  backendMode: {a: b}\n", "bad_value", "server.backendMode"},
        {"server:\n  scrubbedAccounts: [[1]]\n", "bad_value", "server.scrubbedAccounts[0]"},
        {"server:\n  sts: 5\n", "bad_value", "server.sts"},
        {"server:\n  sts:\n    timeout: 10\n", "bad_duration", "server.sts.timeout"},
        {"server:\n  shutdownGrace: soon\n", "bad_duration", "server.shutdownGrace"},
        {"server:\n  reservedPrefixConfig: MountedFile\n", "bad_value", "server.reservedPrefixConfig"},
        {"server:\n  reservedPrefixConfig: [x]\n", "bad_value", "server.reservedPrefixConfig[0]"},
        {"server:\n  featureGates: {Nope: true}\n", "bad_feature_gate", "server.featureGates"},
        {"server:\n  featureGates: {SSORoleMatch: maybe}\n", "bad_feature_gate", "server.featureGates"},
        {"server:\n  port: 1\n  Port: 2\n", "duplicate_key", "server.Port"},
        {"clusterID: a\nCLUSTERID: b\n", "duplicate_key", "CLUSTERID"},
        {"clusterID: a\nclusterID: b\n", "duplicate_key", "clusterID"},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        auto r = parse_config(c.text, "/etc/stsauth/test.yaml");
        REQUIRE_FALSE(r.ok());
        CHECK(r.code() == c.code);
        CHECK(r.err().message.starts_with(std::string("/etc/stsauth/test.yaml: ") + c.field + ": "));
    }

    auto syntax = parse_config("server:\n  port: [1\n", "/etc/stsauth/test.yaml");
    REQUIRE_FALSE(syntax.ok());
    CHECK(syntax.code() == "yaml_error");
    CHECK(syntax.err().message.starts_with("/etc/stsauth/test.yaml: line "));

    auto scalar_root = parse_config("just a string\n", "/etc/stsauth/test.yaml");
    REQUIRE_FALSE(scalar_root.ok());
    CHECK(scalar_root.code() == "not_a_mapping");

    auto missing = parse_config_file(data("does-not-exist.yaml"));
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.code() == "read_error");
    CHECK(missing.err().message.find("does-not-exist.yaml") != std::string::npos);

    // An oversized file is refused before parsing (sparse file: no 16 MiB written to disk).
    const auto big = std::filesystem::temp_directory_path() / "stsauth-config-test-oversize.yaml";
    { std::ofstream(big) << "clusterID: c\n"; }
    std::filesystem::resize_file(big, (16u << 20) + 1);
    auto oversize = parse_config_file(big.string());
    std::filesystem::remove(big);
    REQUIRE_FALSE(oversize.ok());
    CHECK(oversize.code() == "read_error");
    CHECK(oversize.err().message.find("larger than 16 MiB") != std::string::npos);

    // Several problems are all reported, the first one's code is the error's.
    auto many = parse_config("server:\n  port: x\n  healthPort: y\n", "f.yaml");
    REQUIRE_FALSE(many.ok());
    CHECK(many.err().message == "f.yaml: server.port: expected an integer, got \"x\"; "
                                "f.yaml: server.healthPort: expected an integer, got \"y\"");
}

TEST_CASE("every validation rule rejects with its field and code", "[config][validate]") {
    const std::string ok = "clusterID: c\n";
    require_single_issue("server: {port: 1}\n", "clusterID", "missing_cluster_id");
    require_single_issue(ok + "log-verbosity: loud\n", "log-verbosity", "bad_log_verbosity");
    require_single_issue(ok + "server: {partition: aws-moon}\n", "server.partition", "invalid_partition");
    require_single_issue(ok + "server: {partition: AWS}\n", "server.partition", "invalid_partition");
    require_single_issue(ok + "server: {backendMode: [ModeFoo]}\n", "server.backendMode", "invalid_backend_mode");
    require_single_issue(ok + "server: {backendMode: [mountedfile]}\n", "server.backendMode", "invalid_backend_mode");
    require_single_issue(ok + "server: {backendMode: [MountedFile, MountedFile]}\n", "server.backendMode",
                         "duplicate_backend_mode");
    require_single_issue(ok + "server: {backendMode: [File, MountedFile]}\n", "server.backendMode",
                         "duplicate_backend_mode");
    require_single_issue(ok + "server: {backendMode: []}\n", "server.backendMode", "empty_backend_mode");
    require_single_issue(ok + "server: {backendMode: [EKSConfigMap, AccessEntries], accessEntries: {file: /a}}\n",
                         "server.backendMode", "backend_mode_order");
    require_single_issue(ok + "server: {backendMode: [DynamicFile]}\n", "server.dynamicfilepath",
                         "dynamicfilepath_mismatch");
    require_single_issue(ok + "server: {dynamicfilepath: /d.json}\n", "server.dynamicfilepath",
                         "dynamicfilepath_mismatch");
    require_single_issue(ok + "server: {backendMode: [AccessEntries]}\n", "server.accessEntries.file",
                         "missing_access_entries_file");
    require_single_issue(ok + "server: {port: 65536}\n", "server.port", "bad_port");
    require_single_issue(ok + "server: {port: -1}\n", "server.port", "bad_port");
    require_single_issue(ok + "server: {healthPort: 70000}\n", "server.healthPort", "bad_port");
    require_single_issue(ok + "server: {port: 9000, healthPort: 9000}\n", "server.healthPort", "bad_port");
    require_single_issue(ok + "server: {hostname: \"\"}\n", "server.hostname", "bad_hostname");
    require_single_issue(ok + "server: {sts: {timeout: 0}}\n", "server.sts.timeout", "bad_duration");
    require_single_issue(ok + "server: {sts: {timeout: -1s}}\n", "server.sts.timeout", "bad_duration");
    require_single_issue(ok + "server: {sts: {cacheTTL: -1s}}\n", "server.sts.cacheTTL", "bad_duration");
    require_single_issue(ok + "server: {limits: {readTimeout: 0}}\n", "server.limits.readTimeout", "bad_duration");
    require_single_issue(ok + "server: {limits: {idleTimeout: 0}}\n", "server.limits.idleTimeout", "bad_duration");
    require_single_issue(ok + "server: {shutdownGrace: 0}\n", "server.shutdownGrace", "bad_duration");
    require_single_issue(ok + "server: {maxTokenBytes: 100, limits: {maxBodyBytes: 100}}\n",
                         "server.limits.maxBodyBytes", "bad_limit");
    require_single_issue(ok + "server: {limits: {maxBodyBytes: 100000000}}\n", "server.limits.maxBodyBytes",
                         "bad_limit");
    require_single_issue(ok + "server: {limits: {maxHeaderBytes: 2000000}}\n", "server.limits.maxHeaderBytes",
                         "bad_limit");
    require_single_issue(ok + "server: {limits: {maxConnections: 0}}\n", "server.limits.maxConnections", "bad_limit");
    require_single_issue(ok + "server: {sts: {maxConnectionsPerHost: 0}}\n", "server.sts.maxConnectionsPerHost",
                         "bad_limit");
    require_single_issue(ok + "server: {maxTokenBytes: 0}\n", "server.maxTokenBytes", "bad_limit");
    require_single_issue(ok + "server: {ioThreads: -1}\n", "server.ioThreads", "bad_limit");
    require_single_issue(ok + "server: {ioThreads: 257}\n", "server.ioThreads", "bad_limit");
    require_single_issue(ok + "server: {maxTokenBytes: 70000}\n", "server.maxTokenBytes", "bad_limit");
    require_single_issue(ok + "server: {ec2DescribeInstancesQps: -1}\n", "server.ec2DescribeInstancesQps",
                         "bad_rate_limit");
    require_single_issue(ok + "server: {ec2DescribeInstancesBurst: 0}\n", "server.ec2DescribeInstancesBurst",
                         "bad_rate_limit");
    for (const char* bad : {"localhost", "127.0.0.1:", ":443", "127.0.0.1:0", "127.0.0.1:70000", "::1:443",
                            "[::1]", "[127.0.0.1]:443", "host:44x3", "a/b:443"}) {
        INFO(bad);
        require_single_issue(ok + "server: {sts: {connectOverride: \"" + bad + "\"}}\n", "server.sts.connectOverride",
                             "bad_connect_override");
        require_single_issue(ok + "server: {ec2: {connectOverride: \"" + bad + "\"}}\n", "server.ec2.connectOverride",
                             "bad_connect_override");
    }
    for (const char* bad : {"STS.example.com", "sts.example.com.", "sts.example.com:443", "-sts.example.com",
                            "sts..example.com", "sts_x.example.com"}) {
        INFO(bad);
        require_single_issue(ok + "server: {sts: {extraHosts: [\"" + bad + "\"]}}\n", "server.sts.extraHosts[0]",
                             "bad_extra_host");
    }
    require_single_issue(ok + "server: {ec2DescribeInstancesRoleARN: DescribeRole}\n",
                         "server.ec2DescribeInstancesRoleARN", "bad_arn");
    require_single_issue(ok + "server: {sourceARN: \"arn:aws:eks:us-east-1:12345:cluster/x\"}\n", "server.sourceARN",
                         "bad_arn");
    require_single_issue(ok + "server: {accessEntries: {clusterAccountId: \"123\"}}\n",
                         "server.accessEntries.clusterAccountId", "bad_value");

    // Accepted edge values.
    CHECK(issues_of(ok + "server: {port: 0, healthPort: 0, sts: {cacheTTL: 0, connectOverride: \"[::1]:8443\"}, "
                         "ec2DescribeInstancesQps: 0, ec2DescribeInstancesBurst: 0}\n")
              .empty());
    CHECK(issues_of(ok + "server: {backendMode: [File, ConfigMap]}\n").empty());  // deprecated, valid
    CHECK(issues_of(ok + "server: {backendMode: [AccessEntries, EKSConfigMap], accessEntries: {file: /a}}\n").empty());
    CHECK(issues_of(ok + "log-verbosity: WARNING\n").empty());
    for (auto p : partitions) CHECK(issues_of(ok + "server: {partition: " + std::string(p) + "}\n").empty());
}

TEST_CASE("TestValidateBackendMode cases of the reference", "[config][validate]") {
    auto modes_ok = [](std::vector<std::string> modes) {
        auto c = default_config();
        c.cluster_id = std::string("c");  // not = "c": GCC 12 -O3 false -Wrestrict (PR105329)
        c.backend_modes = std::move(modes);
        return validate(c).empty();
    };
    CHECK(modes_ok({"MountedFile", "EKSConfigMap", "CRD"}));
    CHECK(modes_ok({"File", "ConfigMap"}));
    CHECK_FALSE(modes_ok({"ModeFoo"}));
    CHECK_FALSE(modes_ok({}));
    CHECK_FALSE(modes_ok({"MountedFile", "MountedFile"}));

    auto c = default_config();
    c.cluster_id = "c";
    c.backend_modes = {"ModeFoo"};
    CHECK(validate(c)[0].message ==
          "backend-mode \"ModeFoo\" is not a valid mode (valid: MountedFile, EKSConfigMap, CRD, DynamicFile, "
          "AccessEntries)");
    c.backend_modes = {"MountedFile", "MountedFile"};
    CHECK(validate(c)[0].message == "backend-mode [MountedFile MountedFile] has duplicates");
}

TEST_CASE("validation warnings", "[config][validate]") {
    const auto c = load_ok("clusterID: c\nserver:\n  backendMode: [File, ConfigMap]\n"
                           "  scrubbedAccounts: [12345]\n"
                           "  reservedPrefixConfig:\n  - {backendmode: File, usernamePrefixReserveList: [a]}\n"
                           "  - {backendmode: CRD, usernamePrefixReserveList: [b]}\n"
                           "  - {backendmode: CRD, usernamePrefixReserveList: [c]}\n");
    CHECK(has_warning(c, "backend-mode \"File\" is deprecated, use \"MountedFile\""));
    CHECK(has_warning(c, "backend-mode \"ConfigMap\" is deprecated, use \"EKSConfigMap\""));
    CHECK(has_warning(c, "server.awsAuthFile: not set"));
    CHECK(has_warning(c, "server.reservedPrefixConfig[0].backendmode: \"File\" is not a canonical backend name"));
    CHECK(has_warning(c, "server.reservedPrefixConfig[2].backendmode: a later item for \"CRD\" replaces"));
    CHECK(has_warning(c, "server.scrubbedAccounts[0]: \"12345\" is not a 12-digit account id"));
    CHECK(c.backends() == std::vector<backend_mode>{backend_mode::mounted_file, backend_mode::eks_config_map});
    CHECK(c.reserved_prefixes(backend_mode::crd) == std::vector<std::string>{"c"});  // later wins
    CHECK(c.reserved_prefixes(backend_mode::mounted_file).empty());                // "File" is not a key
}

TEST_CASE("precedence: flag > env > file > default", "[config][precedence]") {
    const std::string file = "clusterID: from-file\nlog-verbosity: warn\nserver:\n  port: 1111\n  partition: aws-cn\n";
    std::map<std::string, std::string> env_vars = {{"KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID", "from-env"},
                                                   {"AWS_IAM_AUTHENTICATOR_LOG_VERBOSITY", "debug"},
                                                   {"UNRELATED", "x"}};
    const auto env = overrides_from_env([&](const char* n) -> const char* {
        auto it = env_vars.find(n);
        return it == env_vars.end() ? nullptr : it->second.c_str();
    });
    CHECK(env.origin == overrides::kind::env);

    SECTION("file beats default") {
        auto r = load_server_config_text(file, "f.yaml", no_env, no_flags);
        REQUIRE(r.ok());
        CHECK(r->cluster_id == "from-file");
        CHECK(r->port == 1111);
        CHECK(r->address == "127.0.0.1");
        CHECK(r->origin_of("server.port") == "f.yaml");
    }
    SECTION("env beats file") {
        auto r = load_server_config_text(file, "f.yaml", env, no_flags);
        REQUIRE(r.ok());
        CHECK(r->cluster_id == "from-env");
        CHECK(r->log_verbosity == "debug");
        CHECK(r->origin_of("clusterID") == "env KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID");
    }
    SECTION("flag beats env and file") {
        overrides flags;
        flags.cluster_id = "from-flag";
        flags.log_verbosity = "trace";
        flags.port = 2222;
        flags.partition = "aws-us-gov";
        flags.backend_mode = split_backend_mode_flag("MountedFile, DynamicFile");
        flags.sts_timeout = 3s;
        flags.sts_cache_ttl = 0s;
        flags.sts_connect_override = "127.0.0.1:9443";
        flags.sts_ca_file = "/ca.pem";
        flags.state_dir = "/state";
        flags.generate_kubeconfig = "/kc.yaml";
        flags.kubeconfig_pregenerated = true;
        flags.kubeconfig = "/kube";
        flags.master = "https://m";
        flags.address = "0.0.0.0";
        flags.hostname = "h.example.com";
        flags.ec2_describe_instances_qps = 1;
        flags.ec2_describe_instances_burst = 2;
        flags.access_entries_file = "/ae.yaml";
        flags.feature_gates = *parse_feature_gates("SSORoleMatch=true");
        auto r = load_server_config_text(file + "  dynamicfilepath: /d.json\n", "f.yaml", env, flags);
        INFO((r.ok() ? std::string() : r.err().message));
        REQUIRE(r.ok());
        CHECK(r->cluster_id == "from-flag");
        CHECK(r->log_verbosity == "trace");
        CHECK(r->port == 2222);
        CHECK(r->partition == "aws-us-gov");
        CHECK(r->backend_modes == std::vector<std::string>{"MountedFile", "DynamicFile"});
        CHECK(r->sts.timeout == 3s);
        CHECK(r->sts.cache_ttl == 0s);
        CHECK(r->sts.connect_override == "127.0.0.1:9443");
        CHECK(r->sts.ca_file == "/ca.pem");
        CHECK(r->state_dir == "/state");
        CHECK(r->generate_kubeconfig == "/kc.yaml");
        CHECK(r->kubeconfig_pregenerated);
        CHECK(r->kubeconfig == "/kube");
        CHECK(r->master == "https://m");
        CHECK(r->address == "0.0.0.0");
        CHECK(r->hostname == "h.example.com");
        CHECK(r->ec2_describe_instances_qps == 1);
        CHECK(r->ec2_describe_instances_burst == 2);
        CHECK(r->access_entries.file == "/ae.yaml");
        CHECK(r->gates.sso_role_match);
        CHECK(r->origin_of("server.port") == "flag --port");
        CHECK(r->origin_of("clusterID") == "flag --cluster-id");
    }
    SECTION("empty environment variables count as unset") {
        const auto empty_env = overrides_from_env([](const char*) { return ""; });
        CHECK_FALSE(empty_env.cluster_id);
        CHECK_FALSE(empty_env.log_verbosity);
        const auto none = overrides_from_env(nullptr);
        CHECK_FALSE(none.cluster_id);
    }
    SECTION("a bad value from a flag names the flag, not the file") {
        overrides flags;
        flags.port = 99999;
        auto r = load_server_config_text(file, "f.yaml", no_env, flags);
        REQUIRE_FALSE(r.ok());
        CHECK(r.code() == "bad_port");
        CHECK(r.err().message == "flag --port: server.port: must be between 0 and 65535, got 99999");
    }
    SECTION("no file at all: flags and env only") {
        overrides flags;
        flags.cluster_id = "only-flags";
        auto r = load_server_config(std::nullopt, no_env, flags);
        REQUIRE(r.ok());
        CHECK(r->cluster_id == "only-flags");
        CHECK(r->source.empty());
        auto missing = load_server_config(std::nullopt, no_env, no_flags);
        REQUIRE_FALSE(missing.ok());
        CHECK(missing.code() == "missing_cluster_id");
        CHECK(missing.err().message == "default: clusterID: cluster ID cannot be empty");
    }
}

TEST_CASE("feature gate flag syntax", "[config][gates]") {
    auto g = parse_feature_gates("SSORoleMatch=true, ConfiguredInitDirectories=false,IAMIdentityMappingCRD=T");
    REQUIRE(g.ok());
    CHECK(g->at("SSORoleMatch"));
    CHECK_FALSE(g->at("ConfiguredInitDirectories"));
    CHECK(g->at("IAMIdentityMappingCRD"));
    CHECK(parse_feature_gates("")->empty());
    CHECK(parse_feature_gates("SSORoleMatch").code() == "bad_feature_gate");
    CHECK(parse_feature_gates("Bogus=true").code() == "bad_feature_gate");
    CHECK(parse_feature_gates("SSORoleMatch=yes").code() == "bad_feature_gate");
    feature_gates gates;
    apply_feature_gates(gates, *g);
    CHECK(gates.sso_role_match);
    CHECK(gates.iam_identity_mapping_crd);
    // A flag sets only the gates it names; the file's others stay.
    auto c = load_ok("clusterID: c\nserver: {featureGates: \"ConfiguredInitDirectories=true\"}\n");
    CHECK(c.gates.configured_init_directories);
    overrides flags;
    flags.feature_gates = *parse_feature_gates("SSORoleMatch=true");
    apply_overrides(c, flags);
    CHECK(c.gates.configured_init_directories);
    CHECK(c.gates.sso_role_match);
}

TEST_CASE("backend-mode flag splitting", "[config][keys]") {
    CHECK(split_backend_mode_flag("MountedFile") == std::vector<std::string>{"MountedFile"});
    CHECK(split_backend_mode_flag(" MountedFile , EKSConfigMap,,CRD ") ==
          std::vector<std::string>{"MountedFile", "EKSConfigMap", "CRD"});
    CHECK(split_backend_mode_flag("").empty());
    CHECK(parse_backend_mode("File")->deprecated_alias);
    CHECK(parse_backend_mode("ConfigMap")->mode == backend_mode::eks_config_map);
    CHECK_FALSE(parse_backend_mode("configmap"));
    for (auto m : {backend_mode::mounted_file, backend_mode::eks_config_map, backend_mode::crd,
                   backend_mode::dynamic_file, backend_mode::access_entries})
        CHECK(parse_backend_mode(to_string(m))->mode == m);
}

TEST_CASE("the §6.6 example config loads unchanged", "[config][example]") {
    const auto path = std::string(STSAUTH_TEST_DATA_DIR) + "/../../config/example-reference.yaml";
    auto r = load_server_config(path, no_env, no_flags);
    INFO((r.ok() ? std::string() : r.err().message));
    REQUIRE(r.ok());
    const auto& c = *r;
    CHECK(c.cluster_id == "my-dev-cluster.example.com");
    CHECK(c.port == 21362);
    CHECK(c.state_dir == "/var/aws-iam-authenticator");
    CHECK(c.generate_kubeconfig == "/etc/kubernetes/aws-iam-authenticator/kubeconfig.yaml");
    CHECK(c.ec2_describe_instances_role_arn == "arn:aws:iam::000000000000:role/DescribeInstancesRole");
    CHECK(c.scrubbed_accounts == std::vector<std::string>{"111122223333"});
    CHECK(c.backends() == std::vector<backend_mode>{backend_mode::mounted_file});
    CHECK(c.reserved_prefixes(backend_mode::dynamic_file) ==
          std::vector<std::string>{"aws:", "iam:", "amazon:", "system:", "eks:"});
    CHECK(c.warnings.empty());
    CHECK(find_key(c.server_node, "maproles").size() == 2);
    CHECK(find_key(c.server_node, "mapUsers").size() == 1);
    CHECK(find_key(c.server_node, "mapAccounts")[0].as<std::string>() == "012345678901");

    // Byte-identical to the block of SPEC-reference §6.6.
    const auto spec = read(std::string(STSAUTH_SHARED_DIR) + "/SPEC-reference.md");
    CHECK(spec.find("```yaml\n" + read(path) + "```\n") != std::string::npos);
}

TEST_CASE("the embedded default config is config/stsauth.yaml and is valid", "[config][embedded]") {
    const auto path = std::string(STSAUTH_TEST_DATA_DIR) + "/../../config/stsauth.yaml";
    CHECK(embedded_default_config() == read(path));
    auto r = load_server_config_text(embedded_default_config(), "<embedded>", no_env, no_flags);
    INFO((r.ok() ? std::string() : r.err().message));
    REQUIRE(r.ok());
    CHECK(r->cluster_id == "stsauth-local");
    CHECK(r->address == "127.0.0.1");
    CHECK(r->port == 21362);
    CHECK(r->state_dir == "./.stsauth/state");
    CHECK(r->generate_kubeconfig == "./.stsauth/kubeconfig.yaml");
    CHECK(r->backends() == std::vector<backend_mode>{backend_mode::mounted_file});
    CHECK(r->warnings.empty());
    const auto roles = find_key(r->server_node, "mapRoles");
    REQUIRE(roles.size() == 1);
    CHECK(roles[0]["rolearn"].as<std::string>() == "arn:aws:iam::111122223333:role/Admin");
    CHECK(roles[0]["username"].as<std::string>() == "admin:{{SessionName}}");
    CHECK(roles[0]["groups"][0].as<std::string>() == "system:masters");
}

TEST_CASE("copies of a config do not share server_node mutations", "[config][keys]") {
    auto a = load_ok("clusterID: c\nserver: {mapRoles: [{rolearn: x}]}\n");
    const auto b = a;
    a.server_node.reset(YAML::Load("{mapRoles: []}"));
    CHECK(find_key(a.server_node, "mapRoles").size() == 0);
    CHECK(find_key(b.server_node, "mapRoles").size() == 1);
}

TEST_CASE("find_key is case-insensitive and safe on non-maps", "[config][keys]") {
    const auto n = YAML::Load("{MapRoles: [1], other: 2}");
    CHECK(find_key(n, "maproles").IsSequence());
    CHECK_FALSE(find_key(n, "mapUsers").IsDefined());
    CHECK_FALSE(find_key(YAML::Load("[1, 2]"), "x").IsDefined());
    CHECK_FALSE(find_key(YAML::Node(), "x").IsDefined());
}

TEST_CASE("a big mapRoles block is not kept as a second YAML tree in server_node", "[config]") {
    std::string text = "clusterID: big\nserver:\n  port: 4443\n  mapRoles:\n";
    for (int i = 0; i < 4000; ++i) {
        text += "  - rolearn: arn:aws:iam::111122223333:role/r" + std::to_string(i) +
                "\n    username: \"u:{{SessionName}}\"\n    groups: [g" + std::to_string(i % 10) + "]\n";
    }
    text += "  mapAccounts: [\"111122223333\"]\n";
    REQUIRE(text.size() >= 256 * 1024);
    auto r = parse_config(text, "/etc/stsauth/big.yaml");
    REQUIRE(r.ok());
    CHECK(r->cluster_id == "big");
    CHECK(r->port == 4443);
    const YAML::Node roles = r->server_node["mapRoles"];
    CHECK(roles.IsSequence());
    CHECK(roles.size() == 0);                              // the placeholder, not 4,000 nodes
    CHECK(r->server_node["mapAccounts"].size() == 1);     // the rest is read as before

    // A block the fast reader declines (a comment inside) is parsed whole, as before.
    std::string commented = text;
    commented.insert(commented.find("  - rolearn: arn:aws:iam::111122223333:role/r1\n"), "  # note\n");
    auto whole = parse_config(commented, "/etc/stsauth/big.yaml");
    REQUIRE(whole.ok());
    CHECK(whole->server_node["mapRoles"].size() == 4000);
}

TEST_CASE("restart_only_changes names every changed setting a reload cannot apply, never the mappings",
          "[config][reload]") {
    const auto load = [](const std::string& text) {
        auto c = load_server_config_text(text, "test.yaml", {}, {});
        REQUIRE(c.ok());
        return *c;
    };
    const std::string base = "clusterID: c\nserver:\n  port: 21362\n  sts: {timeout: 2s}\n  mapRoles: []\n";
    const auto running = load(base);
    CHECK(restart_only_changes(running, running).empty());
    CHECK(restart_only_changes(running, load(base)).empty());

    // Mappings alone: nothing needs a restart.
    CHECK(restart_only_changes(running, load("clusterID: c\nserver:\n  port: 21362\n  sts: {timeout: 2s}\n"
                                             "  mapRoles:\n  - rolearn: arn:aws:iam::111122223333:role/A\n"
                                             "    username: a\n  mapAccounts: ['111122223333']\n"))
              .empty());

    CHECK(restart_only_changes(running, load("clusterID: other\nserver:\n  port: 21362\n  sts: {timeout: 2s}\n")) ==
          std::vector<std::string>{"clusterID"});
    CHECK(restart_only_changes(running, load("clusterID: c\nserver:\n  port: 8443\n  sts: {timeout: 3s}\n"
                                             "  limits: {idleTimeout: 5s}\n  shutdownGrace: 1s\n")) ==
          std::vector<std::string>{"server.port", "server.sts.timeout", "server.limits", "server.shutdownGrace"});
    CHECK(restart_only_changes(running, load(base + "  healthPort: 0\n  address: 0.0.0.0\n  hostname: h\n"
                                                    "  legacyDenyStatus: true\n")) ==
          std::vector<std::string>{"server.address", "server.hostname", "server.healthPort",
                                   "server.legacyDenyStatus"});
}
