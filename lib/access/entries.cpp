#include "access/entries.hpp"

#include "arn/arn.hpp"
#include "common/encoding.hpp"
#include "config/server_config.hpp"
#include "mapping/yaml_type.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <map>
#include <optional>

namespace stsauth::access {
namespace {

using encoding::iequals;

constexpr std::size_t max_reported_issues = 50;
constexpr std::size_t max_collected_issues = 500;
constexpr std::size_t max_policies_per_entry = 20;  // CloudFormation AccessPolicies maxItems
constexpr std::size_t max_tags = 50;
constexpr std::size_t max_tag_key_chars = 128;
constexpr std::size_t max_tag_value_chars = 256;

constexpr std::array<std::string_view, 4> output_only_fields = {"accessEntryArn", "createdAt", "modifiedAt", "associatedAt"};
constexpr std::string_view cluster_admin_policy = "AmazonEKSClusterAdminPolicy";

struct issue {
    std::string code;
    std::string where;
    std::string message;
};

bool absent(const YAML::Node& n) { return !n.IsDefined() || n.IsNull(); }

std::size_t utf8_chars(std::string_view s) noexcept {
    return static_cast<std::size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U; }));
}

std::string join_path(const std::string& where, std::string_view field) {
    return where.empty() ? std::string(field) : where + "." + std::string(field);
}

std::string indexed(const std::string& where, std::size_t i) { return fmt::format("{}[{}]", where, i); }

}  // namespace

/// One load: collects every problem, then builds the snapshot when there is none.
class loader {
public:
    explicit loader(const load_settings& settings) : settings_(settings) {}

    result<snapshot> run(std::string_view text) {
        YAML::Node root;
        try {
            root = YAML::Load(std::string(text));
        } catch (const YAML::Exception& e) {
            // yaml-cpp's messages describe the syntax problem, not the content.
            return make_error("bad_yaml", fmt::format("{}: line {}, column {}: {}", settings_.source_name, e.mark.line + 1,
                                                      e.mark.column + 1, e.msg));
        }
        if (!absent(root)) {
            if (!root.IsMap()) {
                add("bad_shape", "", fmt::format("expected a map at the top level, found {}", mapping::yaml_type_name(root)));
            } else {
                document(root);
            }
        }
        if (!issues_.empty()) return failure();
        compile_authorization();
        return std::move(snap_);
    }

private:
    void add(std::string code, std::string where, std::string message) {
        issues_.push_back({std::move(code), std::move(where), std::move(message)});
    }
    void add(const error& e, std::string where) { add(e.code, std::move(where), e.message); }
    void warn(std::string code, std::string message) {
        snap_.warnings_.push_back({std::move(code), fmt::format("{}: {}", settings_.source_name, message)});
    }

    error failure() const {
        std::string message;
        for (std::size_t i = 0; i < issues_.size() && i < max_reported_issues; ++i) {
            const auto& is = issues_[i];
            if (i > 0) message += "; ";
            message += is.where.empty() ? fmt::format("{}: {}", settings_.source_name, is.message)
                                        : fmt::format("{}: {}: {}", settings_.source_name, is.where, is.message);
        }
        if (issues_.size() > max_reported_issues) {
            message += fmt::format("; ... and {} more problems", issues_.size() - max_reported_issues);
        }
        return make_error(issues_.front().code, std::move(message));
    }

    // The values of `names` in a map (keys compared ignoring case); unknown keys are problems
    // unless they are read-only output fields and `output_fields` is set.
    template <std::size_t N>
    std::array<YAML::Node, N> pick(const YAML::Node& map, const std::string& where,
                                   const std::array<std::string_view, N>& names, bool output_fields) {
        std::array<YAML::Node, N> found;
        std::array<bool, N> seen{};
        for (auto it = map.begin(); it != map.end(); ++it) {
            if (!it->first.IsScalar()) {
                add("bad_shape", where, "keys must be strings");
                continue;
            }
            const std::string& key = it->first.Scalar();
            bool known = false;
            for (std::size_t i = 0; i < N; ++i) {
                if (!iequals(key, names[i])) continue;
                known = true;
                if (seen[i]) {
                    add("duplicate_key", join_path(where, names[i]), "key appears more than once (keys are case-insensitive)");
                } else {
                    seen[i] = true;
                    found[i] = it->second;
                }
                break;
            }
            if (!known && output_fields) {
                known = std::any_of(output_only_fields.begin(), output_only_fields.end(),
                                    [&](std::string_view f) { return iequals(key, f); });
            }
            if (!known) add("unknown_key", join_path(where, key), "unknown key");
        }
        return found;
    }

    std::optional<std::string> str(const YAML::Node& n, const std::string& where) {
        if (absent(n)) return std::nullopt;
        if (!n.IsScalar()) {
            add("bad_shape", where, fmt::format("expected a string, found {}", mapping::yaml_type_name(n)));
            return std::nullopt;
        }
        return n.Scalar();
    }

    std::vector<std::string> str_list(const YAML::Node& n, const std::string& where) {
        std::vector<std::string> out;
        if (absent(n)) return out;
        if (!n.IsSequence()) {
            add("bad_shape", where, fmt::format("expected a list of strings, found {}", mapping::yaml_type_name(n)));
            return out;
        }
        for (std::size_t i = 0; i < n.size(); ++i) {
            if (auto s = str(n[i], indexed(where, i))) {
                out.push_back(std::move(*s));
            } else if (absent(n[i])) {
                add("bad_shape", indexed(where, i), "expected a string, found null");
            }
        }
        return out;
    }

    std::optional<bool> boolean(const YAML::Node& n, const std::string& where) {
        auto s = str(n, where);
        if (!s) return std::nullopt;
        if (*s == "true" || *s == "True" || *s == "TRUE") return true;
        if (*s == "false" || *s == "False" || *s == "FALSE") return false;
        add("bad_shape", where, "expected true or false");
        return std::nullopt;
    }

    // ---- the document ----------------------------------------------------------------------

    void document(const YAML::Node& root) {
        const auto f = pick<4>(root, "",
                               {"authenticationMode", "bootstrapClusterCreatorAdminPermissions", "clusterCreatorArn",
                                "accessEntries"},
                               false);
        if (auto mode = str(f[0], "authenticationMode")) {
            if (auto m = parse_authentication_mode(*mode)) {
                snap_.mode_ = *m;
            } else {
                add("bad_authentication_mode", "authenticationMode", "must be CONFIG_MAP, API_AND_CONFIG_MAP or API");
            }
        }
        const bool bootstrap = boolean(f[1], "bootstrapClusterCreatorAdminPermissions").value_or(false);
        const auto creator = str(f[2], "clusterCreatorArn").value_or("");

        if (!absent(f[3])) {
            if (!f[3].IsSequence()) {
                add("bad_shape", "accessEntries", fmt::format("expected a list, found {}", mapping::yaml_type_name(f[3])));
            } else {
                // Past a few hundred problems the file is hopeless; stop rather than validate on
                // (YAML aliases can make a short file expand into very many entries).
                for (std::size_t i = 0; i < f[3].size() && issues_.size() <= max_collected_issues; ++i) entry(f[3][i], i);
            }
        }
        if (node_account_unchecked_) {
            warn("node_account_unchecked",
                 "server.accessEntries.clusterAccountId is not set, so node-type entries cannot be checked to be in the "
                 "cluster's account");
        }
        cluster_creator(bootstrap, creator);
    }

    void entry(YAML::Node node, std::size_t i) {
        const std::string where = indexed("accessEntries", i);
        if (!node.IsMap()) {
            add("bad_shape", where, fmt::format("expected a map, found {}", mapping::yaml_type_name(node)));
            return;
        }
        // `aws eks describe-access-entry` prints {"accessEntry": {...}}.
        if (node.size() == 1 && node.begin()->first.IsScalar() && iequals(node.begin()->first.Scalar(), "accessEntry") &&
            node.begin()->second.IsMap()) {
            node = node.begin()->second;
        }
        const auto f = pick<9>(node, where,
                               {"clusterName", "principalArn", "type", "username", "kubernetesGroups", "principalId",
                                "accessPolicies", "associatedAccessPolicies", "tags"},
                               true);
        access_entry e;
        e.index = i;

        if (auto cluster = str(f[0], where + ".clusterName")) {
            if (!settings_.cluster_id.empty() && *cluster != settings_.cluster_id) {
                add("cluster_name_mismatch", where + ".clusterName", "must equal the server's clusterID");
            }
        }

        bool principal_ok = false;
        if (auto arn_text = str(f[1], where + ".principalArn"); !arn_text || arn_text->empty()) {
            if (absent(f[1])) add("missing_principal_arn", where + ".principalArn", "principalArn is required");
            else if (arn_text) add("missing_principal_arn", where + ".principalArn", "principalArn must not be empty");
        } else if (auto p = parse_principal_arn(*arn_text); !p) {
            add(p.err(), where + ".principalArn");
        } else {
            e.principal_arn = std::move(*arn_text);
            e.who = std::move(*p);
            principal_ok = true;
        }

        bool type_ok = true;
        if (auto type = str(f[2], where + ".type")) {
            if (auto t = parse_entry_type(*type)) {
                e.type = *t;
            } else {
                type_ok = false;
                add("bad_entry_type", where + ".type",
                    "must be one of STANDARD, EC2_LINUX, EC2_WINDOWS, FARGATE_LINUX, HYBRID_LINUX, EC2, HYPERPOD_LINUX "
                    "(case-sensitive)");
            }
        }
        const bool node_type = type_ok && is_node_type(e.type);
        if (principal_ok && node_type) {
            if (!e.who.is_role) {
                add("principal_type_not_allowed", where + ".principalArn",
                    fmt::format("a {} entry needs an IAM role, not a user", to_string(e.type)));
            } else if (settings_.cluster_account_id.empty()) {
                node_account_unchecked_ = true;
            } else if (e.who.account_id != settings_.cluster_account_id) {
                add("cross_account_node_role", where + ".principalArn",
                    fmt::format("a {} entry's role must be in the cluster's account", to_string(e.type)));
            }
        }

        if (auto username = str(f[3], where + ".username")) {
            if (node_type) {
                add("username_not_allowed", where + ".username",
                    fmt::format("a {} entry's username is generated and cannot be set", to_string(e.type)));
            } else if (auto st = validate_username(*username); !st) {
                add(st.err(), where + ".username");
            }
            e.username = std::move(*username);
        } else if (principal_ok && type_ok) {
            e.username = generated_username(e.who, e.principal_arn, e.type);
            e.username_generated = true;
        }

        e.kubernetes_groups = str_list(f[4], where + ".kubernetesGroups");
        if (!e.kubernetes_groups.empty() && node_type) {
            add("groups_not_allowed", where + ".kubernetesGroups",
                fmt::format("a {} entry's groups are automatic and cannot be set", to_string(e.type)));
        } else {
            detail::string_set seen;
            for (std::size_t g = 0; g < e.kubernetes_groups.size(); ++g) {
                const auto& group = e.kubernetes_groups[g];
                const auto gwhere = indexed(where + ".kubernetesGroups", g);
                if (auto st = validate_group(group, settings_.reserved_group_prefixes); !st) add(st.err(), gwhere);
                if (!seen.insert(group).second) add("duplicate_group", gwhere, "the group is listed more than once");
            }
        }

        if (auto id = str(f[5], where + ".principalId")) {
            if (auto st = validate_principal_id(*id); !st) {
                add(st.err(), where + ".principalId");
            } else {
                if (principal_ok && !id->starts_with(e.who.is_role ? "AROA" : "AIDA")) {
                    warn("principal_id_prefix", fmt::format("{}.principalId: an IAM {} id usually starts with {}", where,
                                                            e.who.is_role ? "role" : "user", e.who.is_role ? "AROA" : "AIDA"));
                }
                e.principal_id = std::move(*id);
            }
        }

        const YAML::Node* policies = &f[6];
        std::string policies_where = where + ".accessPolicies";
        if (!absent(f[7])) {
            if (!absent(f[6])) {
                add("duplicate_key", where + ".associatedAccessPolicies", "give accessPolicies or associatedAccessPolicies, not both");
            } else {
                policies = &f[7];
                policies_where = where + ".associatedAccessPolicies";
            }
        }
        if (!absent(*policies)) {
            if (!policies->IsSequence()) {
                add("bad_shape", policies_where, fmt::format("expected a list, found {}", mapping::yaml_type_name(*policies)));
            } else {
                if (policies->size() > max_policies_per_entry) {
                    add("too_many_policies", policies_where, "an entry takes at most 20 access policies");
                }
                for (std::size_t p = 0; p < policies->size(); ++p) {
                    association((*policies)[p], indexed(policies_where, p), e, principal_ok, type_ok);
                }
            }
        }

        tags(f[8], where + ".tags", e);

        e.groups = e.kubernetes_groups;
        if (type_ok) {
            for (const auto g : automatic_groups(e.type)) {
                if (std::find(e.groups.begin(), e.groups.end(), g) == e.groups.end()) e.groups.emplace_back(g);
            }
        }
        if (principal_ok) register_entry(std::move(e), where);
    }

    void association(const YAML::Node& node, const std::string& where, access_entry& e, bool principal_ok, bool type_ok) {
        if (!node.IsMap()) {
            add("bad_shape", where, fmt::format("expected a map, found {}", mapping::yaml_type_name(node)));
            return;
        }
        const auto f = pick<2>(node, where, {"policyArn", "accessScope"}, true);
        policy_association a;
        const data::policy_def* policy = nullptr;
        auto arn_text = str(f[0], where + ".policyArn");
        if (!arn_text || arn_text->empty()) {
            add("bad_policy_arn", where + ".policyArn", "policyArn is required");
        } else if (auto parts = arn::parse(*arn_text);
                   !parts || !arn::known_partition(parts->partition) || parts->service != "eks" || !parts->region.empty() ||
                   parts->account != "aws" || !parts->resource.starts_with("cluster-access-policy/")) {
            add("bad_policy_arn", where + ".policyArn",
                "expected arn:<partition>:eks::aws:cluster-access-policy/<PolicyName>");
        } else {
            a.policy_arn = *arn_text;
            a.policy_name = parts->resource.substr(std::string_view("cluster-access-policy/").size());
            policy = find_policy(a.policy_name);
            if (policy == nullptr) {
                add("unknown_policy", where + ".policyArn", "not an EKS access policy known to stsauth (no custom policies exist)");
            } else if (principal_ok && parts->partition != e.who.partition) {
                add("policy_partition_mismatch", where + ".policyArn", "the policy ARN's partition differs from the principal's");
            }
        }
        if (policy != nullptr) {
            const bool duplicate = std::any_of(e.access_policies.begin(), e.access_policies.end(),
                                               [&](const policy_association& o) { return o.policy_name == a.policy_name; });
            if (duplicate) add("duplicate_policy", where + ".policyArn", fmt::format("{} is associated more than once", a.policy_name));
            if (type_ok && !policy_allows_entry_type(*policy, e.type)) {
                add("policy_not_allowed_for_type", where + ".policyArn",
                    fmt::format("{} cannot be associated with a {} entry", a.policy_name, to_string(e.type)));
            } else if (policy->service_linked_role_only && !settings_.allow_service_policies) {
                add("service_policy_not_allowed", where + ".policyArn",
                    fmt::format("{} is reserved for AWS service-linked roles (set allowServicePolicies: true to allow it)",
                                a.policy_name));
            }
        }

        const auto& scope = f[1];
        if (absent(scope)) {
            add("missing_access_scope", where + ".accessScope", "accessScope is required");
        } else if (!scope.IsMap()) {
            add("bad_shape", where + ".accessScope", fmt::format("expected a map, found {}", mapping::yaml_type_name(scope)));
        } else {
            const auto s = pick<2>(scope, where + ".accessScope", {"type", "namespaces"}, false);
            const auto type = str(s[0], where + ".accessScope.type");
            const auto parsed = type ? parse_scope_type(*type) : std::nullopt;
            if (!parsed) {
                add("bad_scope_type", where + ".accessScope.type", "must be cluster or namespace (lower-case)");
            } else {
                a.scope = *parsed;
            }
            a.namespaces = str_list(s[1], where + ".accessScope.namespaces");
            if (parsed == scope_type::namespace_scope && a.namespaces.empty()) {
                add("missing_namespaces", where + ".accessScope.namespaces", "a namespace scope needs at least one namespace");
            }
            if (parsed == scope_type::cluster && !a.namespaces.empty()) {
                add("namespaces_with_cluster_scope", where + ".accessScope.namespaces", "a cluster scope takes no namespaces");
            }
            detail::string_set seen;
            for (std::size_t n = 0; n < a.namespaces.size(); ++n) {
                const auto nwhere = indexed(where + ".accessScope.namespaces", n);
                if (auto st = validate_namespace_pattern(a.namespaces[n]); !st) add(st.err(), nwhere);
                if (!seen.insert(a.namespaces[n]).second) add("duplicate_namespace", nwhere, "the namespace is listed more than once");
            }
            if (parsed && *parsed != scope_type::cluster && type_ok && is_node_type(e.type)) {
                add("scope_not_allowed", where + ".accessScope", "a node-type entry's policy must have cluster scope");
            }
        }

        if (policy != nullptr && !policy->rules_documented) {
            if (settings_.allow_inferred_policies) {
                a.inferred = true;
                a.grants = !policy->rules.empty();
                warn("inferred_policy", fmt::format("{}: {}: AWS does not publish its rules; {}", where, a.policy_name,
                                                    a.grants ? fmt::format("using {} inferred rule(s) (allowInferredPolicies)",
                                                                           policy->rules.size())
                                                             : std::string("no rule is known, so it grants nothing")));
            } else {
                a.grants = false;
                warn("undocumented_policy",
                     fmt::format("{}: {}: AWS does not publish its rules; the association loads but grants nothing "
                                 "(allowInferredPolicies: true uses the inferred rules)",
                                 where, a.policy_name));
            }
        }
        e.access_policies.push_back(std::move(a));
    }

    void tags(const YAML::Node& node, const std::string& where, access_entry& e) {
        if (absent(node)) return;
        auto add_tag = [&](std::optional<std::string> key, std::optional<std::string> value, const std::string& at) {
            if (!key || key->empty() || utf8_chars(*key) > max_tag_key_chars) {
                add("bad_tags", at, "a tag key must be 1-128 characters");
                return;
            }
            if (utf8_chars(value.value_or("")) > max_tag_value_chars) {
                add("bad_tags", at, "a tag value must be at most 256 characters");
                return;
            }
            const bool dup = std::any_of(e.tags.begin(), e.tags.end(), [&](const auto& t) { return t.first == *key; });
            if (dup) add("bad_tags", at, "a tag key appears more than once");
            e.tags.emplace_back(std::move(*key), value.value_or(""));
        };
        if (node.IsMap()) {
            for (auto it = node.begin(); it != node.end(); ++it) {
                const auto key = it->first.IsScalar() ? std::optional<std::string>(it->first.Scalar()) : std::nullopt;
                const auto at = join_path(where, key.value_or("?"));
                add_tag(key, str(it->second, at), at);
            }
        } else if (node.IsSequence()) {
            // CloudFormation: [{Key: k, Value: v}, ...]
            for (std::size_t i = 0; i < node.size(); ++i) {
                const auto at = indexed(where, i);
                if (!node[i].IsMap()) {
                    add("bad_shape", at, "expected a map with Key and Value");
                    continue;
                }
                const auto kv = pick<2>(node[i], at, {"Key", "Value"}, false);
                add_tag(str(kv[0], at + ".Key"), str(kv[1], at + ".Value"), at);
            }
        } else {
            add("bad_shape", where, fmt::format("expected a map or a list, found {}", mapping::yaml_type_name(node)));
        }
        if (e.tags.size() > max_tags) add("bad_tags", where, "an entry takes at most 50 tags");
    }

    void register_entry(access_entry e, const std::string& where) {
        const auto index = static_cast<std::uint32_t>(snap_.entries_.size());
        if (const auto it = snap_.by_key_.find(e.who.key); it != snap_.by_key_.end()) {
            add("duplicate_principal", where + ".principalArn",
                fmt::format("same IAM principal as accessEntries[{}] (one entry per principal; paths are ignored, IAM names "
                            "being unique per account)",
                            snap_.entries_[it->second].index));
            return;
        }
        if (!e.principal_id.empty()) {
            if (const auto it = snap_.by_principal_id_.find(e.principal_id); it != snap_.by_principal_id_.end()) {
                add("duplicate_principal_id", where + ".principalId",
                    fmt::format("same principalId as accessEntries[{}]", snap_.entries_[it->second].index));
                return;
            }
            snap_.by_principal_id_.emplace(e.principal_id, index);
        }
        snap_.by_key_.emplace(e.who.key, index);
        snap_.entries_.push_back(std::move(e));
    }

    // C3: the cluster-creator bootstrap.
    void cluster_creator(bool bootstrap, const std::string& creator_arn) {
        snap_.bootstrap_creator_ = bootstrap;
        snap_.creator_arn_ = creator_arn;
        std::optional<principal> who;
        if (!creator_arn.empty()) {
            if (auto p = parse_principal_arn(creator_arn); !p) {
                add("bad_cluster_creator_arn", "clusterCreatorArn", fmt::format("{} ({})", p.err().message, p.err().code));
            } else {
                who = std::move(*p);
            }
        }
        if (bootstrap && creator_arn.empty()) {
            warn("cluster_creator_incomplete",
                 "bootstrapClusterCreatorAdminPermissions is true but clusterCreatorArn is empty: nothing is synthesised");
        } else if (!bootstrap && !creator_arn.empty()) {
            warn("cluster_creator_incomplete",
                 "clusterCreatorArn is set but bootstrapClusterCreatorAdminPermissions is false: nothing is synthesised");
        }
        if (!bootstrap || !who) return;
        snap_.creator_key_ = who->key;
        if (snap_.mode_ == authentication_mode::config_map) return;  // a mapping checked before all backends instead
        if (const auto it = snap_.by_key_.find(who->key); it != snap_.by_key_.end()) {
            warn("cluster_creator_entry_exists",
                 fmt::format("accessEntries[{}] is for the cluster creator; the explicit entry wins over the synthesised "
                             "AmazonEKSClusterAdminPolicy entry",
                             snap_.entries_[it->second].index));
            return;
        }
        access_entry e;
        e.synthesized = true;
        e.principal_arn = creator_arn;
        e.who = std::move(*who);
        e.type = entry_type::standard;
        e.username = generated_username(e.who, e.principal_arn, e.type);
        e.username_generated = true;
        policy_association a;
        a.policy_name = std::string(cluster_admin_policy);
        a.policy_arn = fmt::format("arn:{}:eks::aws:cluster-access-policy/{}", e.who.partition, cluster_admin_policy);
        e.access_policies.push_back(std::move(a));
        register_entry(std::move(e), "clusterCreatorArn");
    }

    // ---- authorization tables ----------------------------------------------------------------

    void compile_authorization() {
        std::map<std::string, std::uint32_t, std::less<>> table_of;
        snap_.compiled_.resize(snap_.entries_.size());
        for (std::size_t ei = 0; ei < snap_.entries_.size(); ++ei) {
            const auto& e = snap_.entries_[ei];
            for (std::size_t ai = 0; ai < e.access_policies.size(); ++ai) {
                const auto& a = e.access_policies[ai];
                if (!a.grants) continue;
                const data::policy_def* policy = find_policy(a.policy_name);
                if (policy == nullptr) continue;  // validated above; defensive
                auto t = table_of.find(a.policy_name);
                if (t == table_of.end()) {
                    t = table_of.emplace(a.policy_name, static_cast<std::uint32_t>(snap_.tables_.size())).first;
                    snap_.tables_.emplace_back(policy->rules);
                }
                snapshot::compiled_association c;
                c.table = t->second;
                c.scope = a.scope;
                c.association = static_cast<std::uint32_t>(ai);
                for (const auto& ns : a.namespaces) {
                    if (ns == "*") {
                        c.any_namespace = true;
                    } else if (ns.find('*') != std::string::npos) {
                        c.namespace_globs.push_back(ns);
                    } else {
                        c.exact_namespaces.insert(ns);
                    }
                }
                const auto binding = fmt::format("\"{}+{}\"", e.principal_arn, a.policy_arn);
                if (a.scope == scope_type::cluster) {
                    c.reason_head = fmt::format("EKS Access Policy: allowed by ClusterRoleBinding {} of ClusterRole \"{}\" to User \"",
                                                binding, a.policy_arn);
                } else {
                    c.reason_head = fmt::format("EKS Access Policy: allowed by RoleBinding {} in namespace \"", binding);
                    c.reason_tail = fmt::format("\" of ClusterRole \"{}\" to User \"", a.policy_arn);
                }
                snap_.compiled_[ei].push_back(std::move(c));
            }
        }
    }

    const load_settings& settings_;
    snapshot snap_;
    std::vector<issue> issues_;
    bool node_account_unchecked_ = false;
};

load_settings settings_from_config(const config::server_config& cfg) {
    load_settings s;
    s.source_name = cfg.access_entries.file.empty() ? std::string("access-entries") : cfg.access_entries.file;
    s.cluster_id = cfg.cluster_id;
    s.cluster_account_id = cfg.access_entries.cluster_account_id;
    s.reserved_group_prefixes = cfg.access_entries.reserved_group_prefixes;
    s.allow_service_policies = cfg.access_entries.allow_service_policies;
    s.allow_inferred_policies = cfg.access_entries.allow_inferred_policies;
    return s;
}

result<snapshot> load(std::string_view text, const load_settings& settings) { return loader(settings).run(text); }

const access_entry* snapshot::find(std::string_view principal_key) const {
    const auto it = by_key_.find(principal_key);
    return it == by_key_.end() ? nullptr : &entries_[it->second];
}

const access_entry* snapshot::find_by_principal_id(std::string_view principal_id) const {
    const auto it = by_principal_id_.find(principal_id);
    return it == by_principal_id_.end() ? nullptr : &entries_[it->second];
}

std::size_t snapshot::count(entry_type type) const noexcept {
    return static_cast<std::size_t>(
        std::count_if(entries_.begin(), entries_.end(), [&](const access_entry& e) { return e.type == type; }));
}

std::span<const snapshot::compiled_association> snapshot::compiled(std::size_t entry) const noexcept {
    if (entry >= compiled_.size()) return {};
    return compiled_[entry];
}

}  // namespace stsauth::access
