#include "mapping/backend.hpp"

#include "common/encoding.hpp"
#include "mapping/template.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>

namespace stsauth::mapping {
namespace {

struct mode_name {
    std::string_view name;
    backend_mode mode;
    bool deprecated;
};

constexpr std::array<mode_name, 7> mode_names = {{
    {"MountedFile", backend_mode::mounted_file, false},
    {"EKSConfigMap", backend_mode::eks_configmap, false},
    {"DynamicFile", backend_mode::dynamic_file, false},
    {"CRD", backend_mode::crd, false},
    {"AccessEntries", backend_mode::access_entries, false},
    {"File", backend_mode::mounted_file, true},
    {"ConfigMap", backend_mode::eks_configmap, true},
}};

denied deny(std::string_view backend, std::string code, std::string message) {
    return denied{std::string(backend), make_error(std::move(code), std::move(message))};
}

}  // namespace

std::string_view backend_name(backend_mode mode) noexcept {
    for (const auto& m : mode_names) {
        if (m.mode == mode && !m.deprecated) return m.name;
    }
    return "unknown";
}

std::optional<backend_mode> parse_backend_mode(std::string_view name, bool* deprecated) {
    for (const auto& m : mode_names) {
        if (m.name == name) {
            if (deprecated != nullptr) *deprecated = m.deprecated;
            return m.mode;
        }
    }
    return std::nullopt;
}

result<backend_modes> validate_backend_modes(std::span<const std::string> names) {
    backend_modes out;
    std::vector<std::string> problems;
    for (const auto& name : names) {
        bool deprecated = false;
        auto mode = parse_backend_mode(name, &deprecated);
        if (!mode) {
            problems.push_back(fmt::format("backend-mode \"{}\" is not a valid mode", name));
            continue;
        }
        if (deprecated) {
            out.warnings.push_back({"deprecated_backend_mode",
                                    fmt::format("backend-mode \"{}\" is deprecated, use \"{}\"", name, backend_name(*mode))});
        }
        out.modes.push_back(*mode);
    }
    auto sorted = out.modes;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
        problems.push_back(fmt::format("backend-mode [{}] has duplicates", fmt::join(names, " ")));
    }
    if (names.empty()) problems.emplace_back("at least one backend-mode must be specified");
    if (!problems.empty()) return make_error("invalid_backend_mode", fmt::format("{}", fmt::join(problems, "; ")));
    return out;
}

result<backend_modes> parse_backend_mode_file(std::string_view json_text) {
    const auto doc = nlohmann::json::parse(json_text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
        return make_error("bad_backend_mode_file", "backend-mode file is not a JSON object");
    }
    const nlohmann::json* value = nullptr;
    for (const auto& [key, v] : doc.items()) {
        if (!encoding::iequals(key, "backendMode")) continue;
        if (value != nullptr) return make_error("bad_backend_mode_file", "backendMode: key appears more than once");
        value = &v;
    }
    if (value == nullptr || !value->is_string()) {
        return make_error("bad_backend_mode_file", "backendMode: missing or not a string");
    }
    std::vector<std::string> names;
    const auto& text = value->get_ref<const std::string&>();
    std::size_t i = 0;
    while (i < text.size()) {
        const auto start = text.find_first_not_of(' ', i);
        if (start == std::string::npos) break;
        const auto end = std::min(text.find(' ', start), text.size());
        names.emplace_back(text.substr(start, end - start));
        i = end;
    }
    return validate_backend_modes(names);
}

bool has_reserved_prefix(std::string_view username, std::span<const std::string> prefixes) noexcept {
    return std::any_of(prefixes.begin(), prefixes.end(),
                       [&](const std::string& p) { return !p.empty() && username.starts_with(p); });
}

bool needs_ec2_dns_name(const matched& m) noexcept {
    if (needs_ec2_dns_name(std::string_view(m.username_template))) return true;
    return std::any_of(m.group_templates.begin(), m.group_templates.end(),
                       [](const std::string& g) { return needs_ec2_dns_name(std::string_view(g)); });
}

mapping_outcome map_identity(std::span<const backend_ref> chain, const identity& id, const feature_flags& flags) {
    not_mapped miss;
    auto who = make_subject(id);
    if (!who) miss.errors.push_back(who.err());
    for (const auto& backend : chain) {
        if (backend.mappings == nullptr) continue;
        const mapping_set& set = *backend.mappings;
        if (who) {
            auto hit = set.find(*who, flags);
            if (!hit) {
                miss.errors.push_back(hit.err());
            } else if (const mapping_entry* e = *hit; e != nullptr) {
                matched m{std::string(backend.name), e->username, e->groups,
                          std::vector<std::string>(backend.reserved_prefixes.begin(), backend.reserved_prefixes.end())};
                if (m.username_template.empty()) {
                    return deny(backend.name, "empty_username", fmt::format("mapper {}: the mapping has no username", backend.name));
                }
                if (needs_ec2_dns_name(m)) {
                    if (auto instance = instance_id_for_ec2(id); !instance) return denied{m.backend, instance.err()};
                }
                return m;
            }
        }
        if (set.account_allowed(id.account_id)) {
            if (id.canonical_arn.empty()) {
                return deny(backend.name, "empty_username", fmt::format("mapper {}: empty canonical ARN", backend.name));
            }
            return account_allowed{std::string(backend.name), id.canonical_arn};
        }
    }
    return miss;
}

result<mapped_user> render_user(const matched& m, const identity& id,
                                const std::optional<std::string>& ec2_private_dns_name) {
    mapped_user out{m.backend, {}, {}};
    auto username = render(m.username_template, id, ec2_private_dns_name);
    if (!username) return username.err();
    out.username = std::move(*username);
    if (out.username.empty()) {
        return make_error("empty_username", fmt::format("mapper {}: the username is empty after rendering", m.backend));
    }
    if (has_reserved_prefix(out.username, m.reserved_prefixes)) {
        return make_error("reserved_prefix",
                          fmt::format("invalid username '{}' for mapper {}: username must not begin with the following "
                                      "prefixes: [{}]",
                                      out.username, m.backend, fmt::join(m.reserved_prefixes, " ")));
    }
    out.groups.reserve(m.group_templates.size());
    for (const auto& g : m.group_templates) {
        auto group = render(g, id, ec2_private_dns_name);
        if (!group) return group.err();
        out.groups.push_back(std::move(*group));
    }
    return out;
}

}  // namespace stsauth::mapping
