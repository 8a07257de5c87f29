#include "access/backend.hpp"

#include "mapping/template.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace stsauth::access {
namespace {

void collect(mapping::not_mapped& into, const mapping::not_mapped& from) {
    for (const auto& e : from.errors) {
        const bool seen = std::any_of(into.errors.begin(), into.errors.end(),
                                      [&](const error& o) { return o.code == e.code && o.message == e.message; });
        if (!seen) into.errors.push_back(e);
    }
}

std::string entry_label(const access_entry& e) {
    return e.synthesized ? std::string("the cluster-creator entry") : fmt::format("accessEntries[{}]", e.index);
}

}  // namespace

mapping::mapping_outcome map_identity(const snapshot& entries, const mapping::identity& id,
                                      std::span<const std::string> extra_reserved_prefixes) {
    if (entries.mode() == authentication_mode::config_map) return mapping::not_mapped{};
    auto key = identity_key(id.canonical_arn);
    if (!key) return mapping::not_mapped{{key.err()}};
    const access_entry* e = entries.find(*key);
    if (e == nullptr) return mapping::not_mapped{};
    if (!e->principal_id.empty() && e->principal_id != id.user_id) {
        return mapping::not_mapped{{make_error(
            "principal_id_mismatch",
            fmt::format("{}: {} has a different unique id than the entry's principalId (the IAM principal was deleted "
                        "and re-created)",
                        backend_name, entry_label(*e)))}};
    }
    mapping::matched m;
    m.backend = std::string(backend_name);
    m.username_template = e->username;
    m.group_templates = e->groups;
    if (!is_node_type(e->type)) {
        const auto reserved = reserved_username_prefixes();
        m.reserved_prefixes.assign(reserved.begin(), reserved.end());
        for (const auto& p : extra_reserved_prefixes) {
            if (!p.empty() && std::find(m.reserved_prefixes.begin(), m.reserved_prefixes.end(), p) == m.reserved_prefixes.end()) {
                m.reserved_prefixes.push_back(p);
            }
        }
    }
    if (mapping::needs_ec2_dns_name(m)) {
        if (auto instance = mapping::instance_id_for_ec2(id); !instance) return mapping::denied{m.backend, instance.err()};
    }
    return m;
}

std::optional<mapping::matched> creator_mapping(const snapshot& entries, const mapping::identity& id) {
    if (entries.mode() != authentication_mode::config_map || entries.cluster_creator_key().empty()) return std::nullopt;
    auto key = identity_key(id.canonical_arn);
    if (!key || *key != entries.cluster_creator_key()) return std::nullopt;
    return mapping::matched{std::string(cluster_creator_backend_name), "kubernetes-admin", {"system:masters"}, {}};
}

mapping::mapping_outcome map_chain(std::span<const chain_link> links, const snapshot* entries,
                                   const mapping::identity& id, const mapping::feature_flags& flags,
                                   std::vector<error>* lookup_errors) {
    const auto mode = entries != nullptr ? entries->mode() : authentication_mode::api_and_config_map;
    if (entries != nullptr) {
        if (auto creator = creator_mapping(*entries, id)) return std::move(*creator);
    }
    mapping::not_mapped miss;
    for (const auto& link : links) {
        mapping::mapping_outcome outcome;
        if (link.mode == config::backend_mode::access_entries) {
            if (mode == authentication_mode::config_map || entries == nullptr) continue;
            outcome = map_identity(*entries, id, link.reserved_prefixes);
        } else {
            if (mode == authentication_mode::api && link.mode == config::backend_mode::eks_config_map) continue;
            const mapping::backend_ref ref{link.name, link.mappings, link.reserved_prefixes};
            outcome = mapping::map_identity(std::span(&ref, 1), id, flags);
        }
        if (const auto* nm = std::get_if<mapping::not_mapped>(&outcome)) {
            collect(miss, *nm);
            continue;
        }
        if (lookup_errors != nullptr) *lookup_errors = miss.errors;
        return outcome;
    }
    if (lookup_errors != nullptr) *lookup_errors = miss.errors;
    return miss;
}

}  // namespace stsauth::access
