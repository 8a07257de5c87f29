#include "access/describe.hpp"

#include <nlohmann/json.hpp>

namespace stsauth::access {
namespace {

using ojson = nlohmann::ordered_json;

ojson strings(data::string_list list) {
    ojson out = ojson::array();
    for (const auto s : list) out.push_back(std::string(s));
    return out;
}

ojson rule_json(const data::rule_def& r) {
    ojson out = ojson::object();
    if (!r.non_resource_urls.empty()) {
        out["nonResourceURLs"] = strings(r.non_resource_urls);
    } else {
        out["apiGroups"] = strings(r.api_groups);
        out["resources"] = strings(r.resources);
        if (!r.resource_names.empty()) out["resourceNames"] = strings(r.resource_names);
    }
    out["verbs"] = strings(r.verbs);
    if (r.inferred) out["inferred"] = true;
    return out;
}

}  // namespace

std::string list_json(const snapshot& entries) {
    ojson doc = ojson::object();
    doc["authenticationMode"] = std::string(to_string(entries.mode()));
    doc["bootstrapClusterCreatorAdminPermissions"] = entries.bootstrap_cluster_creator();
    doc["clusterCreatorArn"] = entries.cluster_creator_arn();
    ojson list = ojson::array();
    for (const auto& e : entries.entries()) {
        ojson j = ojson::object();
        if (e.synthesized) {
            j["synthesized"] = true;
        } else {
            j["index"] = e.index;
        }
        j["principalArn"] = e.principal_arn;
        j["type"] = std::string(to_string(e.type));
        j["username"] = e.username;
        j["usernameGenerated"] = e.username_generated;
        j["kubernetesGroups"] = e.kubernetes_groups;
        j["groups"] = e.groups;
        if (!e.principal_id.empty()) j["principalId"] = e.principal_id;
        ojson policies = ojson::array();
        for (const auto& a : e.access_policies) {
            ojson p = ojson::object();
            p["policyArn"] = a.policy_arn;
            p["accessScope"] = {{"type", std::string(to_string(a.scope))}, {"namespaces", a.namespaces}};
            p["grants"] = a.grants;
            p["inferredRules"] = a.inferred;
            ojson rules = ojson::array();
            if (const auto* def = find_policy(a.policy_name); def != nullptr && a.grants) {
                for (const auto& r : def->rules) rules.push_back(rule_json(r));
            }
            p["rules"] = std::move(rules);
            policies.push_back(std::move(p));
        }
        j["accessPolicies"] = std::move(policies);
        ojson tags = ojson::object();
        for (const auto& [k, v] : e.tags) tags[k] = v;
        j["tags"] = std::move(tags);
        list.push_back(std::move(j));
    }
    doc["accessEntries"] = std::move(list);
    return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace stsauth::access
