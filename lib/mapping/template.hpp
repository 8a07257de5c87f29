#pragma once
/// \file
/// Username and group templates (part B §4.4, A5). Substitution is single-pass: a value that
/// itself looks like a placeholder is never expanded again. Unknown placeholders stay verbatim.
///
/// | placeholder              | value                                              |
/// |--------------------------|----------------------------------------------------|
/// | `{{EC2PrivateDNSName}}`  | private DNS name of the instance named by the session (needs EC2) |
/// | `{{AccountID}}`          | identity.account_id                                |
/// | `{{SessionName}}`        | identity.session_name with every `@` replaced by `-` |
/// | `{{SessionNameRaw}}`     | identity.session_name unchanged                    |
/// | `{{AccessKeyID}}`        | identity.access_key_id                             |
///
/// `{{EC2PrivateDNSName}}` needs a network lookup, so rendering is split: the caller asks
/// needs_ec2_dns_name(), gets the instance id from instance_id_for_ec2(), looks the name up, and
/// passes it to render().

#include "common/result.hpp"
#include "mapping/identity.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace stsauth::mapping {

inline constexpr std::string_view ec2_private_dns_name_placeholder = "{{EC2PrivateDNSName}}";

/// True when `tpl` contains `{{EC2PrivateDNSName}}`.
bool needs_ec2_dns_name(std::string_view tpl) noexcept;

/// The EC2 instance id the session name must be (`^i-(\w{8}|\w{17})$`). Error code
/// "no_instance_id", message "SessionName did not contain an instance id".
result<std::string> instance_id_for_ec2(const identity& id);

/// Renders one template. With `{{EC2PrivateDNSName}}` present, the session name must be an
/// instance id ("no_instance_id") and `ec2_private_dns_name` must hold a non-empty name
/// ("ec2_dns_unavailable").
result<std::string> render(std::string_view tpl, const identity& id,
                           const std::optional<std::string>& ec2_private_dns_name);

}  // namespace stsauth::mapping
