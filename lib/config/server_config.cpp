#include "config/server_config.hpp"

#include "mapping/fast_roles.hpp"

#include "common/encoding.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <set>

namespace stsauth::config {

using encoding::to_lower;

// ---- backend modes, partitions, gates, levels ------------------------------------------------

std::string_view to_string(backend_mode m) noexcept {
    switch (m) {
        case backend_mode::mounted_file: return "MountedFile";
        case backend_mode::eks_config_map: return "EKSConfigMap";
        case backend_mode::crd: return "CRD";
        case backend_mode::dynamic_file: return "DynamicFile";
        case backend_mode::access_entries: return "AccessEntries";
    }
    return "";
}

std::optional<parsed_backend_mode> parse_backend_mode(std::string_view name) noexcept {
    if (name == "MountedFile") return parsed_backend_mode{backend_mode::mounted_file, false};
    if (name == "EKSConfigMap") return parsed_backend_mode{backend_mode::eks_config_map, false};
    if (name == "CRD") return parsed_backend_mode{backend_mode::crd, false};
    if (name == "DynamicFile") return parsed_backend_mode{backend_mode::dynamic_file, false};
    if (name == "AccessEntries") return parsed_backend_mode{backend_mode::access_entries, false};
    if (name == "File") return parsed_backend_mode{backend_mode::mounted_file, true};
    if (name == "ConfigMap") return parsed_backend_mode{backend_mode::eks_config_map, true};
    return std::nullopt;
}

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::vector<std::string> split_fields(std::string_view s) {
    std::vector<std::string> out;
    std::size_t i = 0;
    auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
    while (i < s.size()) {
        while (i < s.size() && ws(s[i])) ++i;
        const auto start = i;
        while (i < s.size() && !ws(s[i])) ++i;
        if (i > start) out.emplace_back(s.substr(start, i - start));
    }
    return out;
}

/// Go's strconv.ParseBool.
std::optional<bool> parse_go_bool(std::string_view s) {
    if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") return true;
    if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False") return false;
    return std::nullopt;
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
    std::string out;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (i) out += sep;
        out += v[i];
    }
    return out;
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

}  // namespace

std::vector<std::string> split_backend_mode_flag(std::string_view value) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= value.size()) {
        auto end = value.find(',', start);
        if (end == std::string_view::npos) end = value.size();
        const auto item = trim(value.substr(start, end - start));
        if (!item.empty()) out.emplace_back(item);
        start = end + 1;
    }
    return out;
}

bool valid_partition(std::string_view p) noexcept {
    return std::find(partitions.begin(), partitions.end(), p) != partitions.end();
}

result<std::map<std::string, bool>> parse_feature_gates(std::string_view spec) {
    static constexpr std::array<std::string_view, 3> known = {"ConfiguredInitDirectories", "IAMIdentityMappingCRD",
                                                              "SSORoleMatch"};
    std::map<std::string, bool> out;
    std::size_t start = 0;
    while (start <= spec.size()) {
        auto end = spec.find(',', start);
        if (end == std::string_view::npos) end = spec.size();
        const auto item = trim(spec.substr(start, end - start));
        start = end + 1;
        if (item.empty()) continue;
        const auto eq = item.find('=');
        if (eq == std::string_view::npos)
            return make_error("bad_feature_gate", "missing bool value for " + std::string(item));
        const auto name = trim(item.substr(0, eq));
        const auto value = trim(item.substr(eq + 1));
        if (std::find(known.begin(), known.end(), name) == known.end())
            return make_error("bad_feature_gate", "unrecognized feature gate: " + std::string(name) +
                                                      " (known: ConfiguredInitDirectories, IAMIdentityMappingCRD, "
                                                      "SSORoleMatch)");
        const auto b = parse_go_bool(value);
        if (!b)
            return make_error("bad_feature_gate",
                              "invalid value of " + std::string(name) + "=" + std::string(value) + ", want a boolean");
        out[std::string(name)] = *b;
    }
    return out;
}

void apply_feature_gates(feature_gates& gates, const std::map<std::string, bool>& values) {
    for (const auto& [name, on] : values) {
        if (name == "ConfiguredInitDirectories") gates.configured_init_directories = on;
        if (name == "IAMIdentityMappingCRD") gates.iam_identity_mapping_crd = on;
        if (name == "SSORoleMatch") gates.sso_role_match = on;
    }
}

bool valid_log_verbosity(std::string_view level) noexcept {
    static constexpr std::array<std::string_view, 8> levels = {"panic", "fatal", "error", "warn",
                                                               "warning", "info", "debug", "trace"};
    return std::find(levels.begin(), levels.end(), to_lower(level)) != levels.end();
}

// ---- server_config members ---------------------------------------------------------------------

std::string server_config::origin_of(std::string_view field) const {
    if (auto it = origins.find(field); it != origins.end()) return it->second;
    return source.empty() ? std::string("default") : source;
}

std::vector<backend_mode> server_config::backends() const {
    std::vector<config::backend_mode> out;
    for (const auto& name : backend_modes) {
        if (auto m = parse_backend_mode(name)) out.push_back(m->mode);
    }
    return out;
}

std::vector<std::string> server_config::reserved_prefixes(config::backend_mode m) const {
    std::vector<std::string> out;
    for (const auto& item : reserved_prefix_config)
        if (item.backend_mode == to_string(m)) out = item.username_prefix_reserve_list;
    return out;
}

std::string to_string(const config_issue& issue) {
    return issue.origin + ": " + issue.field + ": " + issue.message;
}

YAML::Node find_key(const YAML::Node& map, std::string_view key) {
    if (map.IsMap()) {
        for (auto it = map.begin(); it != map.end(); ++it) {
            if (it->first.IsScalar() && encoding::iequals(it->first.Scalar(), key)) return it->second;
        }
    }
    const YAML::Node empty(YAML::NodeType::Map);
    return empty["\x01" "absent"];  // const lookup of a missing key: an undefined node
}

server_config default_config() { return server_config{}; }

// ---- parsing -----------------------------------------------------------------------------------

namespace {

/// Walks the YAML tree into a server_config, collecting issues (errors) and warnings.
class parser {
public:
    parser(server_config& cfg, std::vector<config_issue>& issues) : cfg_(cfg), issues_(issues) {}

    void parse_root(const YAML::Node& root);

private:
    using handler = std::function<void(const YAML::Node&, const std::string&)>;
    struct key_def {
        std::string_view name;  ///< canonical spelling, used in messages
        handler fn;             ///< nullptr: known key read by someone else
    };

    void issue(const std::string& field, std::string code, std::string message) {
        issues_.push_back({field, std::move(code), std::move(message), cfg_.source});
    }
    void warn(const std::string& field, const std::string& message) {
        cfg_.warnings.push_back(to_string(config_issue{field, "", message, cfg_.source}));
    }

    /// Dispatches each entry of `map` to its key_def (case-insensitive); unknown keys warn,
    /// duplicate keys (after case folding) are errors.
    void parse_map(const YAML::Node& map, const std::string& prefix, const std::vector<key_def>& defs) {
        if (map.IsNull()) return;
        if (!map.IsMap()) {
            issue(prefix, "bad_value", "expected a mapping");
            return;
        }
        std::set<std::string> seen;
        for (auto it = map.begin(); it != map.end(); ++it) {
            if (!it->first.IsScalar()) {
                issue(prefix, "bad_value", "keys must be strings");
                continue;
            }
            const std::string& key = it->first.Scalar();
            const std::string lower = to_lower(key);
            const std::string where = prefix.empty() ? key : prefix + "." + key;
            if (!seen.insert(lower).second) {
                issue(where, "duplicate_key", "key given more than once (keys are case-insensitive)");
                continue;
            }
            const auto def = std::find_if(defs.begin(), defs.end(),
                                          [&](const key_def& d) { return to_lower(d.name) == lower; });
            if (def == defs.end()) {
                warn(where, "unknown key, ignored");
                continue;
            }
            if (def->fn) def->fn(it->second, prefix.empty() ? std::string(def->name) : prefix + "." + std::string(def->name));
        }
    }

    bool scalar_or_skip(const YAML::Node& n, const std::string& field, std::string_view what) {
        if (n.IsNull()) return false;
        if (!n.IsScalar()) {
            issue(field, "bad_value", "expected " + std::string(what));
            return false;
        }
        return true;
    }

    handler str(std::string& dst) {
        return [this, &dst](const YAML::Node& n, const std::string& field) {
            if (scalar_or_skip(n, field, "a string")) dst = n.Scalar();
        };
    }
    handler boolean(bool& dst) {
        return [this, &dst](const YAML::Node& n, const std::string& field) {
            if (!scalar_or_skip(n, field, "a boolean")) return;
            if (auto b = parse_go_bool(n.Scalar()))
                dst = *b;
            else
                issue(field, "bad_value", "expected a boolean (true or false), got " + quoted(n.Scalar()));
        };
    }
    handler integer(std::int64_t& dst) {
        return [this, &dst](const YAML::Node& n, const std::string& field) {
            if (!scalar_or_skip(n, field, "an integer")) return;
            if (auto v = parse_int(n.Scalar()))
                dst = *v;
            else
                issue(field, "bad_value", "expected an integer, got " + quoted(n.Scalar()));
        };
    }
    handler dur(duration& dst) {
        return [this, &dst](const YAML::Node& n, const std::string& field) {
            if (!scalar_or_skip(n, field, "a duration such as 10s")) return;
            auto d = parse_go_duration(n.Scalar());
            if (d)
                dst = *d;
            else
                issue(field, "bad_duration", d.err().message);
        };
    }
    /// A list, or a string split on white space (viper's GetStringSlice); numbers keep their
    /// text as written (an account id keeps its leading zero).
    handler list(std::vector<std::string>& dst) {
        return [this, &dst](const YAML::Node& n, const std::string& field) {
            if (n.IsNull()) return;
            if (n.IsScalar()) {
                dst = split_fields(n.Scalar());
                return;
            }
            if (!n.IsSequence()) {
                issue(field, "bad_value", "expected a list of strings");
                return;
            }
            std::vector<std::string> out;
            for (std::size_t i = 0; i < n.size(); ++i) {
                if (!n[i].IsScalar()) {
                    issue(field + "[" + std::to_string(i) + "]", "bad_value", "expected a string");
                    return;
                }
                out.push_back(n[i].Scalar());
            }
            dst = std::move(out);
        };
    }

    static std::optional<std::int64_t> parse_int(std::string_view s) {
        bool neg = false;
        if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
            neg = s[0] == '-';
            s.remove_prefix(1);
        }
        if (s.empty() || s.size() > 18) return std::nullopt;
        std::int64_t v = 0;
        for (char c : s) {
            if (c < '0' || c > '9') return std::nullopt;
            v = v * 10 + (c - '0');
        }
        return neg ? -v : v;
    }

    void parse_server(const YAML::Node& n);
    void parse_feature_gates_node(const YAML::Node& n, const std::string& field);
    void parse_reserved_prefixes(const YAML::Node& n, const std::string& field);

    server_config& cfg_;
    std::vector<config_issue>& issues_;
};

void parser::parse_root(const YAML::Node& root) {
    if (root.IsNull()) return;  // an empty file: all defaults
    if (!root.IsMap()) {
        issues_.push_back({"(root)", "not_a_mapping", "the configuration must be a mapping of keys to values",
                           cfg_.source});
        return;
    }
    const std::vector<key_def> defs = {
        {"clusterID", str(cfg_.cluster_id)},
        {"log-verbosity", str(cfg_.log_verbosity)},
        {"server", [this](const YAML::Node& n, const std::string&) { parse_server(n); }},
        {"feature-gates",
         [this](const YAML::Node&, const std::string& f) {
             warn(f, "ignored, as by the reference: set feature gates with --feature-gates or server.featureGates");
         }},
        {"featureGates",
         [this](const YAML::Node&, const std::string& f) {
             warn(f, "ignored, as by the reference: set feature gates with --feature-gates or server.featureGates");
         }},
    };
    parse_map(root, "", defs);
}

void parser::parse_server(const YAML::Node& n) {
    if (n.IsNull()) return;
    cfg_.server_node.reset(n);  // rebind; operator= would write through to shared nodes
    auto& c = cfg_;
    const std::vector<key_def> sts_defs = {
        {"timeout", dur(c.sts.timeout)},
        {"connectOverride", str(c.sts.connect_override)},
        {"caFile", str(c.sts.ca_file)},
        {"maxConnectionsPerHost", integer(c.sts.max_connections_per_host)},
        {"cacheTTL", dur(c.sts.cache_ttl)},
        {"extraHosts", list(c.sts.extra_hosts)},
    };
    const std::vector<key_def> limits_defs = {
        {"maxBodyBytes", integer(c.limits.max_body_bytes)},
        {"maxHeaderBytes", integer(c.limits.max_header_bytes)},
        {"maxConnections", integer(c.limits.max_connections)},
        {"readTimeout", dur(c.limits.read_timeout)},
        {"idleTimeout", dur(c.limits.idle_timeout)},
    };
    const std::vector<key_def> access_defs = {
        {"file", str(c.access_entries.file)},
        {"clusterAccountId", str(c.access_entries.cluster_account_id)},
        {"reservedGroupPrefixes", list(c.access_entries.reserved_group_prefixes)},
        {"allowServicePolicies", boolean(c.access_entries.allow_service_policies)},
        {"allowInferredPolicies", boolean(c.access_entries.allow_inferred_policies)},
    };
    const std::vector<key_def> authz_defs = {{"enabled", boolean(c.authorization.enabled)}};
    const std::vector<key_def> ec2_defs = {
        {"region", str(c.ec2.region)},
        {"endpoint", str(c.ec2.endpoint)},
        {"connectOverride", str(c.ec2.connect_override)},
        {"caFile", str(c.ec2.ca_file)},
    };
    auto nested = [this](const std::vector<key_def>& defs) {
        return [this, defs](const YAML::Node& node, const std::string& field) { parse_map(node, field, defs); };
    };
    const std::vector<key_def> defs = {
        {"port", integer(c.port)},
        {"address", str(c.address)},
        {"hostname", str(c.hostname)},
        {"stateDir", str(c.state_dir)},
        {"generateKubeconfig", str(c.generate_kubeconfig)},
        {"kubeconfigPregenerated", boolean(c.kubeconfig_pregenerated)},
        {"partition", str(c.partition)},
        {"backendMode", list(c.backend_modes)},
        {"scrubbedAccounts", list(c.scrubbed_accounts)},
        {"dynamicfilepath", str(c.dynamic_file_path)},
        {"dynamicfileUserIDStrict", boolean(c.dynamic_file_user_id_strict)},
        {"dynamicBackendModePath", str(c.dynamic_backend_mode_path)},
        {"reservedPrefixConfig",
         [this](const YAML::Node& node, const std::string& f) { parse_reserved_prefixes(node, f); }},
        {"ec2DescribeInstancesRoleARN", str(c.ec2_describe_instances_role_arn)},
        {"sourceARN", str(c.source_arn)},
        {"ec2DescribeInstancesQps", integer(c.ec2_describe_instances_qps)},
        {"ec2DescribeInstancesBurst", integer(c.ec2_describe_instances_burst)},
        {"kubeconfig", str(c.kubeconfig)},
        {"master", str(c.master)},
        {"maxTokenBytes", integer(c.max_token_bytes)},
        {"awsAuthFile", str(c.aws_auth_file)},
        {"sts", nested(sts_defs)},
        {"ec2", nested(ec2_defs)},
        {"limits", nested(limits_defs)},
        {"shutdownGrace", dur(c.shutdown_grace)},
        {"ioThreads", integer(c.io_threads)},
        {"healthPort", integer(c.health_port)},
        {"healthAddress", str(c.health_address)},
        {"clientCAFile", str(c.client_ca_file)},
        {"legacyDenyStatus", boolean(c.legacy_deny_status)},
        {"featureGates", [this](const YAML::Node& node, const std::string& f) { parse_feature_gates_node(node, f); }},
        {"accessEntries", nested(access_defs)},
        {"authorization", nested(authz_defs)},
        {"mapRoles", nullptr},  // read by the MountedFile backend from server_node
        {"mapUsers", nullptr},
        {"mapAccounts", nullptr},
    };
    parse_map(n, "server", defs);
}

void parser::parse_feature_gates_node(const YAML::Node& n, const std::string& field) {
    if (n.IsNull()) return;
    std::string spec;
    if (n.IsScalar()) {
        spec = n.Scalar();
    } else if (n.IsMap()) {
        for (auto it = n.begin(); it != n.end(); ++it) {
            if (!it->first.IsScalar() || !it->second.IsScalar()) {
                issue(field, "bad_feature_gate", "expected Name: true|false entries");
                return;
            }
            spec += it->first.Scalar() + "=" + it->second.Scalar() + ",";
        }
    } else {
        issue(field, "bad_feature_gate", "expected a mapping of gate names to booleans");
        return;
    }
    auto gates = parse_feature_gates(spec);
    if (!gates) {
        issue(field, gates.code(), gates.err().message);
        return;
    }
    apply_feature_gates(cfg_.gates, *gates);
}

void parser::parse_reserved_prefixes(const YAML::Node& n, const std::string& field) {
    if (n.IsNull()) return;
    if (!n.IsSequence()) {
        issue(field, "bad_value", "expected a list of {backendmode, usernamePrefixReserveList}");
        return;
    }
    std::vector<reserved_prefix_entry> out;
    for (std::size_t i = 0; i < n.size(); ++i) {
        reserved_prefix_entry item;
        const std::vector<key_def> defs = {
            {"backendmode", str(item.backend_mode)},
            {"usernamePrefixReserveList", list(item.username_prefix_reserve_list)},
        };
        const auto where = field + "[" + std::to_string(i) + "]";
        if (!n[i].IsMap()) {
            issue(where, "bad_value", "expected {backendmode, usernamePrefixReserveList}");
            continue;
        }
        parse_map(n[i], where, defs);
        out.push_back(std::move(item));
    }
    cfg_.reserved_prefix_config = std::move(out);
}

std::string issues_message(const std::vector<config_issue>& issues) {
    std::vector<std::string> lines;
    for (const auto& i : issues) lines.push_back(to_string(i));
    return join(lines, "; ");
}

}  // namespace

result<server_config> parse_config(std::string_view text, std::string_view source_name) {
    server_config cfg;
    cfg.source = std::string(source_name);
    YAML::Node root;
    // A big mapRoles block is read by the MountedFile backend from the file; here it is only
    // skipped (the fast reader's placeholder), so server_node keeps no second tree of it.
    bool skipped = false;
    if (text.size() >= mapping::detail::fast_path_min_bytes) {
        if (auto fast = mapping::detail::split_map_roles(text)) {
            try {
                root = YAML::Load(fast->rest);
                const YAML::Node server = root.IsMap() ? root["server"] : YAML::Node();
                skipped = mapping::detail::map_roles_placeholder_in_place(server, fast->line);
            } catch (const YAML::Exception&) {
                skipped = false;  // the full text below reports it
            }
        }
    }
    try {
        if (!skipped) root = YAML::Load(std::string(text));  // JSON is read as YAML (1.2 is a superset)
    } catch (const YAML::Exception& e) {
        // yaml-cpp's messages describe the syntax error, not the content.
        return make_error("yaml_error", cfg.source + ": line " + std::to_string(e.mark.line + 1) + ", column " +
                                            std::to_string(e.mark.column + 1) + ": " + e.msg);
    }
    std::vector<config_issue> issues;
    parser(cfg, issues).parse_root(root);
    if (!issues.empty()) return make_error(issues.front().code, issues_message(issues));
    return cfg;
}

result<server_config> parse_config_file(const std::string& path) {
    constexpr std::streamsize max_size = 16 << 20;
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error("read_error", path + ": cannot open the configuration file");
    // Read in chunks: the buffer grows with the file, not to the 16 MiB limit (a zero-filled
    // 16 MiB buffer at every start was 16 MiB of resident memory touched for a 1 KiB file).
    constexpr std::size_t chunk = 64 * 1024;
    std::string text;
    while (in) {
        const std::size_t have = text.size();
        text.resize(have + chunk);
        in.read(text.data() + have, static_cast<std::streamsize>(chunk));
        const auto n = in.gcount();
        text.resize(have + static_cast<std::size_t>(n > 0 ? n : 0));
        if (static_cast<std::streamsize>(text.size()) > max_size)
            return make_error("read_error", path + ": configuration file larger than 16 MiB");
    }
    if (in.bad()) return make_error("read_error", path + ": cannot read the configuration file");
    return parse_config(text, path);
}

// ---- validation --------------------------------------------------------------------------------

namespace {

bool is_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// "HOST:PORT" with an IPv6 host in brackets.
bool valid_host_port(std::string_view s) {
    std::string_view host;
    std::string_view port;
    if (s.starts_with('[')) {
        const auto close = s.find(']');
        if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') return false;
        host = s.substr(1, close - 1);
        port = s.substr(close + 2);
        if (host.find(':') == std::string_view::npos) return false;
    } else {
        const auto colon = s.rfind(':');
        if (colon == std::string_view::npos) return false;
        host = s.substr(0, colon);
        port = s.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) return false;  // IPv6 without brackets
    }
    if (host.empty() || !is_digits(port) || port.size() > 5) return false;
    const int p = std::stoi(std::string(port));
    return p >= 1 && p <= 65535 && host.find_first_of(" /?#@") == std::string_view::npos;
}

/// A lower-case DNS name without trailing dot, as the token validation compares hosts exactly.
bool valid_dns_name(std::string_view s) {
    if (s.empty() || s.size() > 253) return false;
    std::size_t label = 0;
    for (std::size_t i = 0; i <= s.size(); ++i) {
        if (i == s.size() || s[i] == '.') {
            if (label == 0 || label > 63) return false;
            if (s[i - 1] == '-' || s[i - label] == '-') return false;
            label = 0;
            continue;
        }
        const char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
        ++label;
    }
    return true;
}

/// `arn:partition:service:region:account:resource`, partition/service/resource non-empty.
bool plausible_arn(std::string_view s) {
    if (!s.starts_with("arn:")) return false;
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (int i = 0; i < 5; ++i) {
        const auto colon = s.find(':', start);
        if (colon == std::string_view::npos) return false;
        parts.push_back(s.substr(start, colon - start));
        start = colon + 1;
    }
    parts.push_back(s.substr(start));
    return !parts[1].empty() && !parts[2].empty() && !parts[5].empty() &&
           (parts[4].empty() || (parts[4].size() == 12 && is_digits(parts[4])));
}

class validator {
public:
    explicit validator(const server_config& c) : c_(c) {}

    std::vector<config_issue> run();

private:
    void add(const std::string& field, std::string code, std::string message) {
        out_.push_back({field, std::move(code), std::move(message), c_.origin_of(field)});
    }
    void range(const std::string& field, std::int64_t v, std::int64_t lo, std::int64_t hi, const char* code) {
        if (v < lo || v > hi)
            add(field, code, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " +
                                 std::to_string(v));
    }
    void positive(const std::string& field, duration d) {
        if (d.count() <= 0) add(field, "bad_duration", "must be positive, got " + format_go_duration(d));
    }
    void backend_modes();

    const server_config& c_;
    std::vector<config_issue> out_;
};

void validator::backend_modes() {
    const std::string field = "server.backendMode";
    const auto& names = c_.backend_modes;
    // The reference's ValidateBackendMode messages, one per unknown name.
    for (const auto& name : names)
        if (!parse_backend_mode(name))
            add(field, "invalid_backend_mode",
                "backend-mode " + quoted(name) +
                    " is not a valid mode (valid: MountedFile, EKSConfigMap, CRD, DynamicFile, AccessEntries)");
    // Duplicates after resolving the deprecated aliases (File + MountedFile is the same backend twice).
    std::set<backend_mode> seen;
    bool dup = false;
    for (const auto& name : names)
        if (auto m = parse_backend_mode(name)) dup = !seen.insert(m->mode).second || dup;
    if (dup) add(field, "duplicate_backend_mode", "backend-mode [" + join(names, " ") + "] has duplicates");
    if (names.empty()) add(field, "empty_backend_mode", "at least one backend-mode must be specified");

    // ACCESS-ENTRIES C2.3: AccessEntries must come before EKSConfigMap when both are listed.
    const auto chain = c_.backends();
    const auto ae = std::find(chain.begin(), chain.end(), backend_mode::access_entries);
    const auto cm = std::find(chain.begin(), chain.end(), backend_mode::eks_config_map);
    if (ae != chain.end() && cm != chain.end() && ae > cm)
        add(field, "backend_mode_order", "AccessEntries must come before EKSConfigMap (access entries win)");

    // SPEC-reference §5.4: dynamicfilepath iff DynamicFile, with the reference's messages.
    const bool dynamic = std::find(chain.begin(), chain.end(), backend_mode::dynamic_file) != chain.end();
    if (dynamic && c_.dynamic_file_path.empty())
        add("server.dynamicfilepath", "dynamicfilepath_mismatch",
            "dynamicfile is set in backend-mode but dynamicfilepath is not set");
    if (!dynamic && !c_.dynamic_file_path.empty())
        add("server.dynamicfilepath", "dynamicfilepath_mismatch",
            "dynamicfile is not set in backend-mode but dynamicfilepath is set");

    if (std::find(chain.begin(), chain.end(), backend_mode::access_entries) != chain.end() &&
        c_.access_entries.file.empty())
        add("server.accessEntries.file", "missing_access_entries_file",
            "backend-mode lists AccessEntries but no access-entries file is set");
}

std::vector<config_issue> validator::run() {
    if (c_.cluster_id.empty()) add("clusterID", "missing_cluster_id", "cluster ID cannot be empty");
    if (!valid_log_verbosity(c_.log_verbosity))
        add("log-verbosity", "bad_log_verbosity",
            "not a valid logrus Level: " + quoted(c_.log_verbosity) +
                " (valid: panic, fatal, error, warning, info, debug, trace)");
    if (!valid_partition(c_.partition))
        add("server.partition", "invalid_partition",
            "invalid partition " + quoted(c_.partition) +
                " (valid: aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f, aws-eusc)");
    backend_modes();

    range("server.port", c_.port, 0, 65535, "bad_port");
    range("server.healthPort", c_.health_port, 0, 65535, "bad_port");
    if (c_.health_port != 0 && c_.health_port == c_.port)
        add("server.healthPort", "bad_port", "must differ from server.port (" + std::to_string(c_.port) + ")");
    if (c_.hostname.empty()) add("server.hostname", "bad_hostname", "must not be empty");

    positive("server.sts.timeout", c_.sts.timeout);
    if (c_.sts.cache_ttl.count() < 0)
        add("server.sts.cacheTTL", "bad_duration", "must be 0 (off) or positive, got " + format_go_duration(c_.sts.cache_ttl));
    positive("server.limits.readTimeout", c_.limits.read_timeout);
    positive("server.limits.idleTimeout", c_.limits.idle_timeout);
    positive("server.shutdownGrace", c_.shutdown_grace);

    range("server.limits.maxBodyBytes", c_.limits.max_body_bytes, 1024, 64 << 20, "bad_limit");
    range("server.limits.maxHeaderBytes", c_.limits.max_header_bytes, 1024, 1 << 20, "bad_limit");
    range("server.limits.maxConnections", c_.limits.max_connections, 1, 1'000'000, "bad_limit");
    range("server.sts.maxConnectionsPerHost", c_.sts.max_connections_per_host, 1, 10'000, "bad_limit");
    range("server.ioThreads", c_.io_threads, 0, 256, "bad_limit");
    if (c_.max_token_bytes < 1 || c_.max_token_bytes > c_.limits.max_body_bytes)
        add("server.maxTokenBytes", "bad_limit",
            "must be between 1 and server.limits.maxBodyBytes (" + std::to_string(c_.limits.max_body_bytes) +
                "), got " + std::to_string(c_.max_token_bytes));

    // SPEC-reference §9 / TestNewRateLimitedClient: qps 0 means no limiter; a limiter needs burst >= 1.
    if (c_.ec2_describe_instances_qps < 0)
        add("server.ec2DescribeInstancesQps", "bad_rate_limit",
            "must be 0 (no limit) or positive, got " + std::to_string(c_.ec2_describe_instances_qps));
    if (c_.ec2_describe_instances_burst < 0 ||
        (c_.ec2_describe_instances_qps > 0 && c_.ec2_describe_instances_burst < 1))
        add("server.ec2DescribeInstancesBurst", "bad_rate_limit",
            "must be at least 1 when a qps is set, got " + std::to_string(c_.ec2_describe_instances_burst));

    if (!c_.ec2.connect_override.empty() && !valid_host_port(c_.ec2.connect_override))
        add("server.ec2.connectOverride", "bad_connect_override",
            "expected HOST:PORT (IPv6 in brackets), got " + quoted(c_.ec2.connect_override));
    if (!c_.sts.connect_override.empty() && !valid_host_port(c_.sts.connect_override))
        add("server.sts.connectOverride", "bad_connect_override",
            "expected HOST:PORT (IPv6 in brackets), got " + quoted(c_.sts.connect_override));
    for (std::size_t i = 0; i < c_.sts.extra_hosts.size(); ++i)
        if (!valid_dns_name(c_.sts.extra_hosts[i]))
            add("server.sts.extraHosts[" + std::to_string(i) + "]", "bad_extra_host",
                "expected a lower-case host name without port or trailing dot, got " +
                    quoted(c_.sts.extra_hosts[i]));
    if (!c_.ec2_describe_instances_role_arn.empty() && !plausible_arn(c_.ec2_describe_instances_role_arn))
        add("server.ec2DescribeInstancesRoleARN", "bad_arn", "not an ARN: " + quoted(c_.ec2_describe_instances_role_arn));
    if (!c_.source_arn.empty() && !plausible_arn(c_.source_arn))
        add("server.sourceARN", "bad_arn", "not an ARN: " + quoted(c_.source_arn));
    if (!c_.access_entries.cluster_account_id.empty() &&
        !(c_.access_entries.cluster_account_id.size() == 12 && is_digits(c_.access_entries.cluster_account_id)))
        add("server.accessEntries.clusterAccountId", "bad_value",
            "expected a 12-digit account id, got " + quoted(c_.access_entries.cluster_account_id));
    return std::move(out_);
}

}  // namespace

std::vector<config_issue> validate(const server_config& cfg) { return validator(cfg).run(); }

std::vector<std::string> validation_warnings(const server_config& cfg) {
    std::vector<std::string> out;
    auto warn = [&](const std::string& field, const std::string& message) {
        out.push_back(to_string(config_issue{field, "", message, cfg.origin_of(field)}));
    };
    for (const auto& name : cfg.backend_modes) {
        auto m = parse_backend_mode(name);
        if (m && m->deprecated_alias)
            warn("server.backendMode", "backend-mode " + quoted(name) + " is deprecated, use " +
                                           quoted(to_string(m->mode)));
    }
    const auto chain = cfg.backends();
    if (std::find(chain.begin(), chain.end(), backend_mode::eks_config_map) != chain.end() &&
        cfg.aws_auth_file.empty())
        warn("server.awsAuthFile",
             "not set: the EKSConfigMap backend has no aws-auth file to read (watching the ConfigMap through the "
             "Kubernetes API is not supported yet)");
    std::set<std::string> seen;
    for (std::size_t i = 0; i < cfg.reserved_prefix_config.size(); ++i) {
        const auto& name = cfg.reserved_prefix_config[i].backend_mode;
        const auto field = "server.reservedPrefixConfig[" + std::to_string(i) + "].backendmode";
        auto m = parse_backend_mode(name);
        if (!m || m->deprecated_alias)
            warn(field, quoted(name) + " is not a canonical backend name (MountedFile, EKSConfigMap, CRD, "
                                       "DynamicFile, AccessEntries); this item applies to no backend");
        else if (!seen.insert(name).second)
            warn(field, "a later item for " + quoted(name) + " replaces the earlier one");
    }
    for (std::size_t i = 0; i < cfg.scrubbed_accounts.size(); ++i) {
        const auto& a = cfg.scrubbed_accounts[i];
        if (!(a.size() == 12 && is_digits(a)))
            warn("server.scrubbedAccounts[" + std::to_string(i) + "]",
                 quoted(a) + " is not a 12-digit account id (quote account ids in YAML)");
    }
    return out;
}

// ---- overrides -----------------------------------------------------------------------------------

overrides overrides_from_env(const env_lookup& getenv) {
    overrides o;
    o.origin = overrides::kind::env;
    auto get = [&](const char* name) -> std::optional<std::string> {
        const char* v = getenv ? getenv(name) : nullptr;
        if (v == nullptr || *v == '\0') return std::nullopt;
        return std::string(v);
    };
    o.cluster_id = get("KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID");
    o.log_verbosity = get("AWS_IAM_AUTHENTICATOR_LOG_VERBOSITY");
    return o;
}

void apply_overrides(server_config& cfg, const overrides& o) {
    const bool flag = o.origin == overrides::kind::flag;
    auto set = [&](const auto& src, auto& dst, const char* field, const char* flag_name, const char* env_name) {
        if (!src) return;
        dst = *src;
        cfg.origins[field] = flag ? std::string("flag ") + flag_name
                                  : (env_name ? std::string("env ") + env_name : std::string("env"));
    };
    set(o.cluster_id, cfg.cluster_id, "clusterID", "--cluster-id", "KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID");
    set(o.log_verbosity, cfg.log_verbosity, "log-verbosity", "--log-verbosity", "AWS_IAM_AUTHENTICATOR_LOG_VERBOSITY");
    if (o.feature_gates) {
        apply_feature_gates(cfg.gates, *o.feature_gates);
        cfg.origins["featureGates"] = flag ? "flag --feature-gates" : "env";
    }
    set(o.partition, cfg.partition, "server.partition", "--partition", nullptr);
    set(o.generate_kubeconfig, cfg.generate_kubeconfig, "server.generateKubeconfig", "--generate-kubeconfig", nullptr);
    set(o.kubeconfig_pregenerated, cfg.kubeconfig_pregenerated, "server.kubeconfigPregenerated",
        "--kubeconfig-pregenerated", nullptr);
    set(o.state_dir, cfg.state_dir, "server.stateDir", "--state-dir", nullptr);
    set(o.kubeconfig, cfg.kubeconfig, "server.kubeconfig", "--kubeconfig", nullptr);
    set(o.master, cfg.master, "server.master", "--master", nullptr);
    set(o.address, cfg.address, "server.address", "--address", nullptr);
    set(o.hostname, cfg.hostname, "server.hostname", "--hostname", nullptr);
    set(o.backend_mode, cfg.backend_modes, "server.backendMode", "--backend-mode", nullptr);
    set(o.port, cfg.port, "server.port", "--port", nullptr);
    set(o.ec2_describe_instances_qps, cfg.ec2_describe_instances_qps, "server.ec2DescribeInstancesQps",
        "--ec2-describeInstances-qps", nullptr);
    set(o.ec2_describe_instances_burst, cfg.ec2_describe_instances_burst, "server.ec2DescribeInstancesBurst",
        "--ec2-describeInstances-burst", nullptr);
    set(o.sts_connect_override, cfg.sts.connect_override, "server.sts.connectOverride", "--sts-connect-override",
        nullptr);
    set(o.sts_ca_file, cfg.sts.ca_file, "server.sts.caFile", "--sts-ca-file", nullptr);
    set(o.sts_timeout, cfg.sts.timeout, "server.sts.timeout", "--sts-timeout", nullptr);
    set(o.sts_cache_ttl, cfg.sts.cache_ttl, "server.sts.cacheTTL", "--sts-cache-ttl", nullptr);
    set(o.access_entries_file, cfg.access_entries.file, "server.accessEntries.file", "--access-entries-file", nullptr);
}

namespace {

result<server_config> finish(result<server_config> parsed, const overrides& env, const overrides& flags) {
    if (!parsed) return parsed;
    server_config cfg = std::move(parsed).value();
    apply_overrides(cfg, env);
    apply_overrides(cfg, flags);
    const auto issues = validate(cfg);
    if (!issues.empty()) return make_error(issues.front().code, issues_message(issues));
    for (auto& w : validation_warnings(cfg)) cfg.warnings.push_back(std::move(w));
    return cfg;
}

}  // namespace

result<server_config> load_server_config(const std::optional<std::string>& path, const overrides& env,
                                         const overrides& flags) {
    return finish(path ? parse_config_file(*path) : result<server_config>(default_config()), env, flags);
}

result<server_config> load_server_config_text(std::string_view text, std::string_view source_name,
                                              const overrides& env, const overrides& flags) {
    return finish(parse_config(text, source_name), env, flags);
}

std::vector<std::string> restart_only_changes(const server_config& a, const server_config& b) {
    std::vector<std::string> out;
    const auto check = [&out](const char* name, bool differs) {
        if (differs) out.emplace_back(name);
    };
    const auto prefixes = [](const server_config& c) {
        std::vector<std::pair<std::string, std::vector<std::string>>> v;
        for (const auto& e : c.reserved_prefix_config) v.emplace_back(e.backend_mode, e.username_prefix_reserve_list);
        return v;
    };
    const auto& ae = a.access_entries;
    const auto& be = b.access_entries;
    check("clusterID", a.cluster_id != b.cluster_id);
    check("log-verbosity", a.log_verbosity != b.log_verbosity);
    check("server.featureGates", a.gates.configured_init_directories != b.gates.configured_init_directories ||
                              a.gates.iam_identity_mapping_crd != b.gates.iam_identity_mapping_crd ||
                              a.gates.sso_role_match != b.gates.sso_role_match);
    check("server.port", a.port != b.port);
    check("server.address", a.address != b.address);
    check("server.hostname", a.hostname != b.hostname);
    check("server.stateDir", a.state_dir != b.state_dir);
    check("server.generateKubeconfig", a.generate_kubeconfig != b.generate_kubeconfig);
    check("server.kubeconfigPregenerated", a.kubeconfig_pregenerated != b.kubeconfig_pregenerated);
    check("server.partition", a.partition != b.partition);
    check("server.backendMode", a.backend_modes != b.backend_modes);
    check("server.scrubbedAccounts", a.scrubbed_accounts != b.scrubbed_accounts);
    check("server.dynamicfilepath", a.dynamic_file_path != b.dynamic_file_path);
    check("server.dynamicfileUserIDStrict", a.dynamic_file_user_id_strict != b.dynamic_file_user_id_strict);
    check("server.dynamicBackendModePath", a.dynamic_backend_mode_path != b.dynamic_backend_mode_path);
    check("server.reservedPrefixConfig", prefixes(a) != prefixes(b));
    check("server.ec2DescribeInstancesRoleARN", a.ec2_describe_instances_role_arn != b.ec2_describe_instances_role_arn);
    check("server.sourceARN", a.source_arn != b.source_arn);
    check("server.ec2DescribeInstancesQps", a.ec2_describe_instances_qps != b.ec2_describe_instances_qps);
    check("server.ec2DescribeInstancesBurst", a.ec2_describe_instances_burst != b.ec2_describe_instances_burst);
    check("server.kubeconfig", a.kubeconfig != b.kubeconfig);
    check("server.master", a.master != b.master);
    check("server.maxTokenBytes", a.max_token_bytes != b.max_token_bytes);
    check("server.ioThreads", a.io_threads != b.io_threads);
    check("server.awsAuthFile", a.aws_auth_file != b.aws_auth_file);
    check("server.sts.timeout", a.sts.timeout != b.sts.timeout);
    check("server.sts.connectOverride", a.sts.connect_override != b.sts.connect_override);
    check("server.sts.caFile", a.sts.ca_file != b.sts.ca_file);
    check("server.sts.maxConnectionsPerHost", a.sts.max_connections_per_host != b.sts.max_connections_per_host);
    check("server.sts.cacheTTL", a.sts.cache_ttl != b.sts.cache_ttl);
    check("server.sts.extraHosts", a.sts.extra_hosts != b.sts.extra_hosts);
    check("server.ec2", a.ec2.region != b.ec2.region || a.ec2.endpoint != b.ec2.endpoint ||
                            a.ec2.connect_override != b.ec2.connect_override || a.ec2.ca_file != b.ec2.ca_file);
    check("server.limits", a.limits.max_body_bytes != b.limits.max_body_bytes ||
                               a.limits.max_header_bytes != b.limits.max_header_bytes ||
                               a.limits.max_connections != b.limits.max_connections ||
                               a.limits.read_timeout != b.limits.read_timeout ||
                               a.limits.idle_timeout != b.limits.idle_timeout);
    check("server.shutdownGrace", a.shutdown_grace != b.shutdown_grace);
    check("server.healthPort", a.health_port != b.health_port);
    check("server.healthAddress", a.health_address != b.health_address);
    check("server.clientCAFile", a.client_ca_file != b.client_ca_file);
    check("server.legacyDenyStatus", a.legacy_deny_status != b.legacy_deny_status);
    check("server.accessEntries", ae.file != be.file || ae.cluster_account_id != be.cluster_account_id ||
                                      ae.reserved_group_prefixes != be.reserved_group_prefixes ||
                                      ae.allow_service_policies != be.allow_service_policies ||
                                      ae.allow_inferred_policies != be.allow_inferred_policies);
    check("server.authorization.enabled", a.authorization.enabled != b.authorization.enabled);
    return out;
}

}  // namespace stsauth::config
