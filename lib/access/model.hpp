#pragma once
/// \file
/// Vocabulary of ACCESS-ENTRIES (part C): authentication modes (C2), access-entry types and
/// their automatic groups (C1.3), the reserved username prefixes (C1.4) and access scopes (C1.6).
/// Pure, constant data.

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace stsauth::access {

/// C2.1. Names are the EKS API enum values, case-sensitive.
enum class authentication_mode { config_map, api_and_config_map, api };

/// `CONFIG_MAP`, `API_AND_CONFIG_MAP`, `API`.
std::string_view to_string(authentication_mode mode) noexcept;
/// Exact, case-sensitive; nullopt for anything else.
std::optional<authentication_mode> parse_authentication_mode(std::string_view text) noexcept;

/// C1.3. Names are the EKS API enum values, case-sensitive upper-case.
enum class entry_type { standard, ec2_linux, ec2_windows, fargate_linux, hybrid_linux, ec2, hyperpod_linux };

/// `STANDARD`, `EC2_LINUX`, `EC2_WINDOWS`, `FARGATE_LINUX`, `HYBRID_LINUX`, `EC2`, `HYPERPOD_LINUX`.
std::string_view to_string(entry_type type) noexcept;
/// Exact, case-sensitive (`EC2_Windows` is refused); nullopt for anything else.
std::optional<entry_type> parse_entry_type(std::string_view text) noexcept;

/// Every type other than STANDARD: role only, same account, no caller username or groups.
constexpr bool is_node_type(entry_type type) noexcept { return type != entry_type::standard; }

/// Groups every user of an entry of this type gets (C1.3 table), in this order:
/// STANDARD none; EC2_LINUX, HYBRID_LINUX, EC2, HYPERPOD_LINUX `system:nodes`;
/// EC2_WINDOWS `system:nodes`, `eks:kube-proxy-windows`; FARGATE_LINUX `system:nodes`,
/// `system:node-proxier`.
std::span<const std::string_view> automatic_groups(entry_type type) noexcept;

/// Generated username template of a node type (C1.3): `system:node:{{EC2PrivateDNSName}}` for
/// EC2_LINUX and EC2_WINDOWS, `system:node:{{SessionName}}` for the others. Empty for STANDARD
/// (its username depends on the principal, see principal.hpp generated_username()).
std::string_view node_username_template(entry_type type) noexcept;

/// C1.4: `system:`, `eks:`, `aws:`, `amazon:`, `iam:` — refused at the start of a caller-chosen
/// STANDARD username (case-sensitive prefix test), at load time and again after rendering.
std::span<const std::string> reserved_username_prefixes() noexcept;

/// C1.6 `accessScope.type`: `cluster` or `namespace` (lower-case).
enum class scope_type { cluster, namespace_scope };
std::string_view to_string(scope_type type) noexcept;
std::optional<scope_type> parse_scope_type(std::string_view text) noexcept;

}  // namespace stsauth::access
