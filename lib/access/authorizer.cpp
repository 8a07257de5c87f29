#include "access/authorizer.hpp"

#include <algorithm>
#include <optional>

namespace stsauth::access {
namespace {

enum class extra_state { absent, invalid, valid };

// C6.1 step 1: a key counts only with exactly one non-empty value.
extra_state single_value(const extra_value& extra, std::string_view& out) {
    if (!extra.present) return extra_state::absent;
    if (extra.count != 1 || extra.first.empty()) return extra_state::invalid;
    out = extra.first;
    return extra_state::valid;
}

std::optional<std::string_view> principal_id_of(const principal_extras& extra) {
    std::string_view id;
    std::string_view legacy;
    const auto ns_state = single_value(extra.principal_id, id);
    const auto legacy_state = single_value(extra.principal_id_legacy, legacy);
    if (ns_state == extra_state::invalid) return std::nullopt;
    if (ns_state == extra_state::valid) {
        // Both keys come from the same TokenReview; disagreement means someone set one of them.
        if (legacy_state == extra_state::invalid || (legacy_state == extra_state::valid && legacy != id)) return std::nullopt;
        return id;
    }
    if (legacy_state == extra_state::valid) return legacy;
    return std::nullopt;
}

bool namespace_in_scope(const snapshot::compiled_association& c, std::string_view ns) {
    if (ns.empty()) return false;
    if (c.any_namespace || c.exact_namespaces.find(ns) != c.exact_namespaces.end()) return true;
    return std::any_of(c.namespace_globs.begin(), c.namespace_globs.end(),
                       [&](const std::string& glob) { return namespace_matches(glob, ns); });
}

decision no_opinion(decision d, decision_reason reason) {
    d.status = sar_status{};
    d.reason = reason;
    return d;
}

}  // namespace

std::string_view to_string(decision_reason reason) noexcept {
    switch (reason) {
        case decision_reason::allowed: return "allowed";
        case decision_reason::no_principal: return "no_principal";
        case decision_reason::no_entry: return "no_entry";
        case decision_reason::no_matching_rule: return "no_matching_rule";
        case decision_reason::mode_config_map: return "mode_config_map";
        case decision_reason::not_loaded: return "not_loaded";
    }
    return "unknown";
}

decision evaluate(const snapshot* entries, const sar_request& request, bool explain) {
    decision d;
    if (entries == nullptr) {
        d = no_opinion(std::move(d), decision_reason::not_loaded);
        d.status.evaluation_error = "access entries not loaded";
        return d;
    }
    if (entries->mode() == authentication_mode::config_map) return no_opinion(std::move(d), decision_reason::mode_config_map);

    // C6.1: the principal comes from the TokenReview extras only.
    std::string_view arn;
    if (single_value(request.principal.canonical_arn, arn) != extra_state::valid) {
        return no_opinion(std::move(d), decision_reason::no_principal);
    }
    const auto principal_id = principal_id_of(request.principal);
    if (!principal_id) return no_opinion(std::move(d), decision_reason::no_principal);
    if (explain) d.canonical_arn = std::string(arn);
    const auto key = identity_key(arn);
    if (!key) return no_opinion(std::move(d), decision_reason::no_principal);

    const access_entry* e = entries->find(*key);
    if (e == nullptr || (e->type != entry_type::standard && e->type != entry_type::ec2) ||
        (!e->principal_id.empty() && e->principal_id != *principal_id)) {
        return no_opinion(std::move(d), decision_reason::no_entry);
    }
    if (explain) d.principal_arn = e->principal_arn;

    // C6.2 + C6.3: every applicable association, in order; the first that allows names the reason.
    const auto index = static_cast<std::size_t>(e - entries->entries().data());
    for (const auto& c : entries->compiled(index)) {
        const auto& table = entries->table(c.table);
        bool allowed = false;
        std::string_view ns;
        if (request.resource) {
            const auto& r = *request.resource;
            ns = r.namespace_name;
            if (c.scope == scope_type::namespace_scope && !namespace_in_scope(c, ns)) continue;
            allowed = table.allows(resource_request{r.verb, r.group, r.resource, r.subresource, r.name});
        } else if (request.non_resource && c.scope == scope_type::cluster) {
            allowed = table.allows(non_resource_request{request.non_resource->verb, request.non_resource->path});
        }
        if (!allowed) continue;
        d.reason = decision_reason::allowed;
        d.status.allowed = true;
        if (explain) d.policy_arn = e->access_policies[c.association].policy_arn;
        d.status.reason.reserve(c.reason_head.size() + ns.size() + c.reason_tail.size() + principal_id->size() + 1);
        d.status.reason = c.reason_head;
        if (c.scope == scope_type::namespace_scope) {
            d.status.reason.append(ns);
            d.status.reason.append(c.reason_tail);
        }
        d.status.reason.append(*principal_id);
        d.status.reason.push_back('"');
        return d;
    }
    return no_opinion(std::move(d), decision_reason::no_matching_rule);
}

}  // namespace stsauth::access
