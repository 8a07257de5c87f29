#include "access/model.hpp"

#include <array>

namespace stsauth::access {
namespace {

constexpr std::array<std::pair<std::string_view, authentication_mode>, 3> mode_names = {{
    {"CONFIG_MAP", authentication_mode::config_map},
    {"API_AND_CONFIG_MAP", authentication_mode::api_and_config_map},
    {"API", authentication_mode::api},
}};

constexpr std::array<std::pair<std::string_view, entry_type>, 7> type_names = {{
    {"STANDARD", entry_type::standard},
    {"EC2_LINUX", entry_type::ec2_linux},
    {"EC2_WINDOWS", entry_type::ec2_windows},
    {"FARGATE_LINUX", entry_type::fargate_linux},
    {"HYBRID_LINUX", entry_type::hybrid_linux},
    {"EC2", entry_type::ec2},
    {"HYPERPOD_LINUX", entry_type::hyperpod_linux},
}};

constexpr std::array<std::string_view, 1> nodes_only = {"system:nodes"};
constexpr std::array<std::string_view, 2> windows_groups = {"system:nodes", "eks:kube-proxy-windows"};
constexpr std::array<std::string_view, 2> fargate_groups = {"system:nodes", "system:node-proxier"};

}  // namespace

std::string_view to_string(authentication_mode mode) noexcept {
    for (const auto& [name, m] : mode_names) {
        if (m == mode) return name;
    }
    return "unknown";
}

std::optional<authentication_mode> parse_authentication_mode(std::string_view text) noexcept {
    for (const auto& [name, m] : mode_names) {
        if (name == text) return m;
    }
    return std::nullopt;
}

std::string_view to_string(entry_type type) noexcept {
    for (const auto& [name, t] : type_names) {
        if (t == type) return name;
    }
    return "unknown";
}

std::optional<entry_type> parse_entry_type(std::string_view text) noexcept {
    for (const auto& [name, t] : type_names) {
        if (name == text) return t;
    }
    return std::nullopt;
}

std::span<const std::string_view> automatic_groups(entry_type type) noexcept {
    switch (type) {
        case entry_type::standard: return {};
        case entry_type::ec2_windows: return windows_groups;
        case entry_type::fargate_linux: return fargate_groups;
        case entry_type::ec2_linux:
        case entry_type::hybrid_linux:
        case entry_type::ec2:
        case entry_type::hyperpod_linux: return nodes_only;
    }
    return {};
}

std::string_view node_username_template(entry_type type) noexcept {
    switch (type) {
        case entry_type::standard: return {};
        case entry_type::ec2_linux:
        case entry_type::ec2_windows: return "system:node:{{EC2PrivateDNSName}}";
        case entry_type::fargate_linux:
        case entry_type::hybrid_linux:
        case entry_type::ec2:
        case entry_type::hyperpod_linux: return "system:node:{{SessionName}}";
    }
    return {};
}

std::span<const std::string> reserved_username_prefixes() noexcept {
    static const std::array<std::string, 5> prefixes = {"system:", "eks:", "aws:", "amazon:", "iam:"};
    return prefixes;
}

std::string_view to_string(scope_type type) noexcept {
    return type == scope_type::cluster ? "cluster" : "namespace";
}

std::optional<scope_type> parse_scope_type(std::string_view text) noexcept {
    if (text == "cluster") return scope_type::cluster;
    if (text == "namespace") return scope_type::namespace_scope;
    return std::nullopt;
}

}  // namespace stsauth::access
