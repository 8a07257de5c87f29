#include "access/policies.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace stsauth::access {
namespace {

constexpr std::string_view all = "*";

bool contains(data::string_list list, std::string_view value) noexcept {
    return std::find(list.begin(), list.end(), value) != list.end();
}

bool verb_matches(const data::rule_def& rule, std::string_view verb) noexcept {
    return contains(rule.verbs, all) || contains(rule.verbs, verb);
}

bool has_verb(const detail::string_set& verbs, std::string_view verb) {
    return verbs.find(all) != verbs.end() || verbs.find(verb) != verbs.end();
}

// "a" + sep + "b" without touching the heap for ordinary Kubernetes names.
class joined {
public:
    joined(std::string_view a, std::string_view sep, std::string_view b) {
        const std::size_t n = a.size() + sep.size() + b.size();
        char* out = buf_.data();
        if (n > buf_.size()) {
            heap_.resize(n);
            out = heap_.data();
        }
        std::memcpy(out, a.data(), a.size());
        std::memcpy(out + a.size(), sep.data(), sep.size());
        std::memcpy(out + a.size() + sep.size(), b.data(), b.size());
        view_ = std::string_view(out, n);
    }
    joined(const joined&) = delete;
    joined& operator=(const joined&) = delete;
    std::string_view view() const noexcept { return view_; }

private:
    std::array<char, 192> buf_{};
    std::string heap_;
    std::string_view view_;
};

bool same_list(data::string_list a, data::string_list b) noexcept { return std::equal(a.begin(), a.end(), b.begin(), b.end()); }

bool same_rule(const data::rule_def& a, const data::rule_def& b) noexcept {
    return same_list(a.api_groups, b.api_groups) && same_list(a.resources, b.resources) &&
           same_list(a.resource_names, b.resource_names) && same_list(a.non_resource_urls, b.non_resource_urls) &&
           same_list(a.verbs, b.verbs);
}

const data::upstream_role_def* find_upstream(std::string_view name) noexcept {
    for (const auto& r : data::upstream_roles()) {
        if (r.name == name) return &r;
    }
    return nullptr;
}

bool selector_matches(data::string_list selector, data::string_list labels) noexcept {
    return std::all_of(selector.begin(), selector.end(), [&](std::string_view l) { return contains(labels, l); });
}

void aggregate(const data::upstream_role_def& role, std::vector<std::string_view>& visiting, std::vector<data::rule_def>& out) {
    if (std::find(visiting.begin(), visiting.end(), role.name) != visiting.end()) return;
    visiting.push_back(role.name);
    auto add = [&](const data::rule_def& r) {
        if (std::none_of(out.begin(), out.end(), [&](const data::rule_def& o) { return same_rule(o, r); })) out.push_back(r);
    };
    if (role.selectors.empty()) {
        for (const auto& r : role.rules) add(r);
    } else {
        // An aggregated ClusterRole's rules are replaced by the union of the selected roles' rules.
        for (const auto& selector : role.selectors) {
            for (const auto& other : data::upstream_roles()) {
                if (other.name == role.name || !selector_matches(selector, other.labels)) continue;
                std::vector<data::rule_def> sub;
                aggregate(other, visiting, sub);
                for (const auto& r : sub) add(r);
            }
        }
    }
    visiting.pop_back();
}

}  // namespace

const data::policy_def* find_policy(std::string_view name) noexcept {
    for (const auto& p : data::policies()) {
        if (p.name == name) return &p;
    }
    return nullptr;
}

bool policy_allows_entry_type(const data::policy_def& policy, entry_type type) noexcept {
    return contains(policy.allowed_entry_types, to_string(type));
}

bool rule_allows(const data::rule_def& rule, const resource_request& request) noexcept {
    if (rule.resources.empty() || !verb_matches(rule, request.verb)) return false;
    if (!contains(rule.api_groups, all) && !contains(rule.api_groups, request.group)) return false;
    const joined combined(request.resource, request.subresource.empty() ? "" : "/", request.subresource);
    const bool resource_ok = std::any_of(rule.resources.begin(), rule.resources.end(), [&](std::string_view r) {
        if (r == all || r == combined.view()) return true;
        return !request.subresource.empty() && r.size() == request.subresource.size() + 2 && r.starts_with("*/") &&
               r.ends_with(request.subresource);
    });
    if (!resource_ok) return false;
    return rule.resource_names.empty() || contains(rule.resource_names, request.name);
}

bool rule_allows(const data::rule_def& rule, const non_resource_request& request) noexcept {
    if (rule.non_resource_urls.empty() || !verb_matches(rule, request.verb)) return false;
    return std::any_of(rule.non_resource_urls.begin(), rule.non_resource_urls.end(), [&](std::string_view url) {
        if (url == all || url == request.path) return true;
        if (!url.ends_with('*')) return false;
        const auto stem = url.substr(0, url.find_last_not_of('*') + 1);
        return request.path.starts_with(stem);
    });
}

rule_table::rule_table(std::span<const data::rule_def> rules) {
    for (const auto& rule : rules) {
        for (const auto url : rule.non_resource_urls) {
            detail::string_set* verbs = nullptr;
            if (url.ends_with('*')) {
                const std::string stem(url.substr(0, url.find_last_not_of('*') + 1));
                auto it = std::find_if(url_prefix_.begin(), url_prefix_.end(), [&](const auto& p) { return p.first == stem; });
                if (it == url_prefix_.end()) it = url_prefix_.insert(url_prefix_.end(), {stem, {}});
                verbs = &it->second;
            } else {
                verbs = &url_exact_[std::string(url)];
            }
            for (const auto verb : rule.verbs) verbs->emplace(verb);
        }
        if (rule.resources.empty()) continue;
        for (const auto group : rule.api_groups) {
            auto& resources = groups_[std::string(group)];
            for (const auto resource : rule.resources) {
                auto& verbs = resources[std::string(resource)];
                for (const auto verb : rule.verbs) {
                    auto& names = verbs[std::string(verb)];
                    if (rule.resource_names.empty()) {
                        names.any = true;
                    } else {
                        for (const auto n : rule.resource_names) names.names.emplace(n);
                    }
                }
            }
        }
    }
}

bool rule_table::probe(const resource_map& resources, std::string_view resource, const resource_request& r) const {
    const auto res = resources.find(resource);
    if (res == resources.end()) return false;
    for (const std::string_view verb : {r.verb, all}) {
        const auto v = res->second.find(verb);
        if (v == res->second.end()) continue;
        if (v->second.any || v->second.names.find(r.name) != v->second.names.end()) return true;
    }
    return false;
}

bool rule_table::allows(const resource_request& request) const {
    const joined combined(request.resource, request.subresource.empty() ? "" : "/", request.subresource);
    const joined any_sub("*", "/", request.subresource);
    for (const std::string_view group : {request.group, all}) {
        const auto g = groups_.find(group);
        if (g == groups_.end()) continue;
        if (probe(g->second, combined.view(), request) || probe(g->second, all, request)) return true;
        if (!request.subresource.empty() && probe(g->second, any_sub.view(), request)) return true;
    }
    return false;
}

bool rule_table::allows(const non_resource_request& request) const {
    if (const auto it = url_exact_.find(request.path); it != url_exact_.end() && has_verb(it->second, request.verb)) {
        return true;
    }
    return std::any_of(url_prefix_.begin(), url_prefix_.end(), [&](const auto& p) {
        return request.path.starts_with(p.first) && has_verb(p.second, request.verb);
    });
}

std::vector<data::rule_def> aggregated_upstream_rules(std::string_view role_name) {
    std::vector<data::rule_def> out;
    if (const auto* role = find_upstream(role_name)) {
        std::vector<std::string_view> visiting;
        aggregate(*role, visiting, out);
    }
    return out;
}

}  // namespace stsauth::access
