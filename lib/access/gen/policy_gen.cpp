// Build-time generator: data/eks-access-policies.yaml -> C++ constant tables (access/policy_data.hpp).
//
//   stsauth_access_policy_gen <input.yaml> <output.cpp>
//
// The data file is checked strictly (unknown keys, wrong shapes, rules that are neither resource
// nor non-resource rules, ARNs that do not match the policy name, unknown entry types): a bad data
// file fails the build instead of shipping a wrong policy table. The output is rewritten only when
// its text changes.

#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct rule {
    std::vector<std::string> api_groups, resources, resource_names, non_resource_urls, verbs;
    bool inferred = false;
    bool absent = false;
};

struct policy {
    std::string name, arn, resembles;
    bool service_linked_role_only = false;
    bool rules_documented = true;
    std::vector<std::string> allowed_entry_types;
    std::vector<rule> rules;
};

struct upstream_role {
    std::string name;
    std::vector<std::string> labels;
    std::vector<std::vector<std::string>> selectors;
    std::vector<rule> rules;
};

[[noreturn]] void fail(const std::string& where, const std::string& what) {
    throw std::runtime_error(where + ": " + what);
}

std::string at(const YAML::Node& n) {
    const auto m = n.Mark();
    return m.is_null() ? std::string() : " (line " + std::to_string(m.line + 1) + ")";
}

void check_keys(const YAML::Node& map, const std::string& where, const std::set<std::string>& allowed) {
    if (!map.IsMap()) fail(where, "expected a map" + at(map));
    std::set<std::string> seen;
    for (const auto& kv : map) {
        const auto key = kv.first.as<std::string>();
        if (!allowed.count(key)) fail(where, "unknown key '" + key + "'" + at(kv.first));
        if (!seen.insert(key).second) fail(where, "duplicate key '" + key + "'" + at(kv.first));
    }
}

std::string scalar(const YAML::Node& n, const std::string& where) {
    if (!n.IsScalar()) fail(where, "expected a string" + at(n));
    return n.Scalar();
}

bool boolean(const YAML::Node& n, const std::string& where) {
    const auto s = scalar(n, where);
    if (s == "true") return true;
    if (s == "false") return false;
    fail(where, "expected true or false" + at(n));
}

std::vector<std::string> strings(const YAML::Node& n, const std::string& where) {
    std::vector<std::string> out;
    if (!n.IsDefined()) return out;
    if (!n.IsSequence()) fail(where, "expected a list" + at(n));
    for (std::size_t i = 0; i < n.size(); ++i) out.push_back(scalar(n[i], where + "[" + std::to_string(i) + "]"));
    return out;
}

rule parse_rule(const YAML::Node& n, const std::string& where, bool upstream) {
    std::set<std::string> keys = {"apiGroups", "resources", "resourceNames", "nonResourceURLs", "verbs"};
    if (upstream) {
        keys.insert("absentFromEKSPolicies");
    } else {
        keys.insert("inferred");
        keys.insert("note");
    }
    check_keys(n, where, keys);
    rule r;
    r.api_groups = strings(n["apiGroups"], where + ".apiGroups");
    r.resources = strings(n["resources"], where + ".resources");
    r.resource_names = strings(n["resourceNames"], where + ".resourceNames");
    r.non_resource_urls = strings(n["nonResourceURLs"], where + ".nonResourceURLs");
    r.verbs = strings(n["verbs"], where + ".verbs");
    if (n["inferred"]) r.inferred = boolean(n["inferred"], where + ".inferred");
    if (n["absentFromEKSPolicies"]) r.absent = boolean(n["absentFromEKSPolicies"], where + ".absentFromEKSPolicies");
    if (r.verbs.empty()) fail(where, "a rule needs verbs");
    const bool resource_rule = !r.api_groups.empty() || !r.resources.empty() || !r.resource_names.empty();
    if (resource_rule == !r.non_resource_urls.empty()) {
        fail(where, "a rule has either apiGroups+resources or nonResourceURLs");
    }
    if (resource_rule && (r.api_groups.empty() || r.resources.empty())) {
        fail(where, "a resource rule needs apiGroups and resources");
    }
    for (const auto& u : r.non_resource_urls) {
        if (u.empty() || (u != "*" && u[0] != '/')) fail(where, "nonResourceURLs must be '*' or start with '/'");
    }
    return r;
}

std::vector<rule> parse_rules(const YAML::Node& n, const std::string& where, bool upstream) {
    std::vector<rule> out;
    if (!n.IsDefined()) return out;
    if (!n.IsSequence()) fail(where, "expected a list" + at(n));
    for (std::size_t i = 0; i < n.size(); ++i) out.push_back(parse_rule(n[i], where + "[" + std::to_string(i) + "]", upstream));
    return out;
}

const std::set<std::string> entry_types = {"STANDARD", "EC2_LINUX", "EC2_WINDOWS", "FARGATE_LINUX",
                                           "HYBRID_LINUX", "EC2", "HYPERPOD_LINUX"};

std::vector<policy> parse_policies(const YAML::Node& list) {
    if (!list.IsSequence()) fail("policies", "expected a list");
    std::vector<policy> out;
    std::set<std::string> names;
    for (std::size_t i = 0; i < list.size(); ++i) {
        const auto& n = list[i];
        const auto where = "policies[" + std::to_string(i) + "]";
        check_keys(n, where, {"name", "arn", "resembles", "equivalence", "typicalScope", "serviceLinkedRoleOnly",
                              "allowedEntryTypes", "rulesDocumented", "source", "summary", "notes", "added", "rules"});
        policy p;
        p.name = scalar(n["name"], where + ".name");
        p.arn = scalar(n["arn"], where + ".arn");
        p.resembles = n["resembles"] ? scalar(n["resembles"], where + ".resembles") : "none";
        p.service_linked_role_only = boolean(n["serviceLinkedRoleOnly"], where + ".serviceLinkedRoleOnly");
        p.rules_documented = boolean(n["rulesDocumented"], where + ".rulesDocumented");
        p.allowed_entry_types = strings(n["allowedEntryTypes"], where + ".allowedEntryTypes");
        p.rules = parse_rules(n["rules"], where + ".rules", false);
        if (!names.insert(p.name).second) fail(where, "duplicate policy name " + p.name);
        if (p.arn != "arn:aws:eks::aws:cluster-access-policy/" + p.name) fail(where, "arn does not match the name");
        if (p.allowed_entry_types.empty()) fail(where, "allowedEntryTypes is empty");
        for (const auto& t : p.allowed_entry_types) {
            if (!entry_types.count(t)) fail(where, "unknown entry type " + t);
        }
        for (const auto& r : p.rules) {
            if (p.rules_documented && r.inferred) fail(where, "a documented policy holds an inferred rule");
            if (!p.rules_documented && !r.inferred) fail(where, "an undocumented policy holds a rule not marked inferred");
        }
        out.push_back(std::move(p));
    }
    return out;
}

std::vector<std::string> label_list(const YAML::Node& map, const std::string& where) {
    std::vector<std::string> out;
    if (!map.IsDefined()) return out;
    if (!map.IsMap()) fail(where, "expected a map" + at(map));
    for (const auto& kv : map) out.push_back(scalar(kv.first, where) + "=" + scalar(kv.second, where));
    return out;
}

std::vector<upstream_role> parse_upstream(const YAML::Node& map) {
    if (!map.IsMap()) fail("kubernetesUserFacingClusterRoles", "expected a map");
    std::vector<upstream_role> out;
    for (const auto& kv : map) {
        const auto name = scalar(kv.first, "kubernetesUserFacingClusterRoles");
        if (name == "source") continue;
        const auto where = "kubernetesUserFacingClusterRoles." + name;
        check_keys(kv.second, where, {"labels", "rules", "aggregationRule"});
        upstream_role r;
        r.name = name;
        r.labels = label_list(kv.second["labels"], where + ".labels");
        r.rules = parse_rules(kv.second["rules"], where + ".rules", true);
        if (const auto agg = kv.second["aggregationRule"]) {
            check_keys(agg, where + ".aggregationRule", {"clusterRoleSelectors"});
            const auto sels = agg["clusterRoleSelectors"];
            if (!sels.IsSequence()) fail(where, "clusterRoleSelectors must be a list");
            for (std::size_t i = 0; i < sels.size(); ++i) {
                const auto swhere = where + ".aggregationRule.clusterRoleSelectors[" + std::to_string(i) + "]";
                check_keys(sels[i], swhere, {"matchLabels"});
                r.selectors.push_back(label_list(sels[i]["matchLabels"], swhere + ".matchLabels"));
            }
        }
        out.push_back(std::move(r));
    }
    return out;
}

// ---- emission ---------------------------------------------------------------------------------

std::string literal(std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20 || u >= 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\%03o", u);
            out += buf;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

class emitter {
public:
    std::string list(const std::vector<std::string>& items) {
        if (items.empty()) return "string_list{}";
        const auto name = "s" + std::to_string(counter_++);
        body_ << "constexpr std::string_view " << name << "[] = {";
        for (std::size_t i = 0; i < items.size(); ++i) body_ << (i ? ", " : "") << literal(items[i]);
        body_ << "};\n";
        return "string_list{" + name + "}";
    }

    std::string rules(const std::vector<rule>& rs) {
        if (rs.empty()) return "std::span<const rule_def>{}";
        std::vector<std::string> parts;
        for (const auto& r : rs) {
            parts.push_back("rule_def{" + list(r.api_groups) + ", " + list(r.resources) + ", " + list(r.resource_names) +
                            ", " + list(r.non_resource_urls) + ", " + list(r.verbs) + ", " +
                            (r.inferred ? "true" : "false") + ", " + (r.absent ? "true" : "false") + "}");
        }
        const auto name = "r" + std::to_string(counter_++);
        body_ << "constexpr rule_def " << name << "[] = {\n";
        for (const auto& p : parts) body_ << "    " << p << ",\n";
        body_ << "};\n";
        return "std::span<const rule_def>{" + name + "}";
    }

    std::string selectors(const std::vector<std::vector<std::string>>& sels) {
        if (sels.empty()) return "std::span<const string_list>{}";
        std::vector<std::string> parts;
        for (const auto& s : sels) parts.push_back(list(s));
        const auto name = "l" + std::to_string(counter_++);
        body_ << "constexpr string_list " << name << "[] = {";
        for (std::size_t i = 0; i < parts.size(); ++i) body_ << (i ? ", " : "") << parts[i];
        body_ << "};\n";
        return "std::span<const string_list>{" + name + "}";
    }

    std::string text(const std::string& input, const std::vector<policy>& ps, const std::vector<upstream_role>& us) {
        std::vector<std::string> policy_items;
        for (const auto& p : ps) {
            policy_items.push_back("policy_def{" + literal(p.name) + ", " + literal(p.arn) + ", " + literal(p.resembles) +
                                   ", " + (p.service_linked_role_only ? "true" : "false") + ", " +
                                   (p.rules_documented ? "true" : "false") + ", " + list(p.allowed_entry_types) + ", " +
                                   rules(p.rules) + "}");
        }
        std::vector<std::string> role_items;
        for (const auto& u : us) {
            role_items.push_back("upstream_role_def{" + literal(u.name) + ", " + list(u.labels) + ", " +
                                 selectors(u.selectors) + ", " + rules(u.rules) + "}");
        }
        std::ostringstream out;
        out << "// Generated from " << input << " by lib/access/gen/policy_gen.cpp; do not edit.\n"
            << "#include \"access/policy_data.hpp\"\n\n"
            << "namespace stsauth::access::data {\nnamespace {\n\n"
            << body_.str() << "\nconstexpr policy_def policy_table[] = {\n";
        for (const auto& p : policy_items) out << "    " << p << ",\n";
        out << "};\n\nconstexpr upstream_role_def upstream_table[] = {\n";
        for (const auto& r : role_items) out << "    " << r << ",\n";
        out << "};\n\n}  // namespace\n\n"
            << "std::span<const policy_def> policies() noexcept { return policy_table; }\n"
            << "std::span<const upstream_role_def> upstream_roles() noexcept { return upstream_table; }\n\n"
            << "}  // namespace stsauth::access::data\n";
        return out.str();
    }

private:
    std::ostringstream body_;
    int counter_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: stsauth_access_policy_gen <eks-access-policies.yaml> <output.cpp>\n";
        return 2;
    }
    try {
        const YAML::Node root = YAML::LoadFile(argv[1]);
        check_keys(root, "root", {"schemaVersion", "arnFormat", "sources", "policies", "kubernetesUserFacingClusterRoles"});
        if (scalar(root["schemaVersion"], "schemaVersion") != "1") fail("schemaVersion", "only schema version 1 is known");
        const auto ps = parse_policies(root["policies"]);
        const auto us = parse_upstream(root["kubernetesUserFacingClusterRoles"]);
        if (ps.empty()) fail("policies", "no policies");
        const auto text = emitter().text(argv[1], ps, us);

        std::ifstream previous(argv[2], std::ios::binary);
        if (previous) {
            std::ostringstream ss;
            ss << previous.rdbuf();
            if (ss.str() == text) return 0;
        }
        std::ofstream out(argv[2], std::ios::binary | std::ios::trunc);
        out << text;
        if (!out) {
            std::cerr << "stsauth_access_policy_gen: cannot write " << argv[2] << "\n";
            return 1;
        }
    } catch (const std::exception& e) {
        std::cerr << "stsauth_access_policy_gen: " << argv[1] << ": " << e.what() << "\n";
        return 1;
    }
    return 0;
}
