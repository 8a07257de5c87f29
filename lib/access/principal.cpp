#include "access/principal.hpp"

#include "arn/arn.hpp"
#include "common/encoding.hpp"

#include <algorithm>
#include <array>
#include <optional>

namespace stsauth::access {
namespace {

constexpr std::size_t max_path_bytes = 512;
constexpr std::size_t max_name_bytes = 64;
constexpr std::size_t max_username_bytes = 1024;
constexpr std::size_t max_group_bytes = 1024;
constexpr std::size_t max_namespace_bytes = 63;
constexpr std::size_t max_principal_id_bytes = 128;

constexpr std::array<std::string_view, 2> session_placeholders = {"{{SessionName}}", "{{SessionNameRaw}}"};

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_alnum(char c) noexcept { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool iam_name_char(char c) noexcept {
    return is_alnum(c) || c == '+' || c == '=' || c == ',' || c == '.' || c == '@' || c == '_' || c == '-';
}

bool has_control_char(std::string_view s) noexcept {
    return std::any_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20U || u == 0x7FU;
    });
}

error bad_arn(std::string message) { return make_error("bad_principal_arn", std::move(message)); }

// Positions of `{{…}}` tokens: calls fn(open, token) for each, token including the braces.
template <class Fn>
void for_each_token(std::string_view s, Fn fn) {
    std::size_t i = 0;
    while (true) {
        const auto open = s.find("{{", i);
        if (open == std::string_view::npos) return;
        const auto close = s.find("}}", open + 2);
        if (close == std::string_view::npos) return;
        fn(open, s.substr(open, close + 2 - open));
        i = close + 2;
    }
}

}  // namespace

result<principal> parse_principal_arn(std::string_view text) {
    auto parts = arn::parse(text);
    if (!parts) return bad_arn("not an ARN (" + parts.err().message + ")");
    if (!arn::known_partition(parts->partition)) return bad_arn("unknown partition");
    const std::string_view resource = parts->resource;
    const std::string_view type = resource.substr(0, resource.find('/'));
    if (parts->service == "sts") {
        if (type == "assumed-role" || type == "federated-user") {
            return make_error("session_principal",
                              "STS session principals are per-session, not permanent identities; use the IAM role or user ARN");
        }
        return make_error("unsupported_principal", "only IAM roles and users can have access entries");
    }
    if (parts->service != "iam") return make_error("unsupported_principal", "only IAM roles and users can have access entries");
    if (type != "role" && type != "user") {
        return make_error("unsupported_principal", "only IAM roles and users can have access entries (not " +
                                                       std::string(type.empty() ? resource : type) + ")");
    }
    if (!parts->region.empty()) return bad_arn("an IAM ARN has no region");
    if (parts->account.size() != 12 || !std::all_of(parts->account.begin(), parts->account.end(), is_digit)) {
        return bad_arn("the account must be 12 digits");
    }
    if (resource.size() == type.size()) return bad_arn("no " + std::string(type) + " name");
    const std::string_view rest = resource.substr(type.size());  // "/path/name"
    const auto last = rest.rfind('/');
    const std::string_view path = rest.substr(0, last + 1);
    const std::string_view name = rest.substr(last + 1);
    if (path.size() > max_path_bytes) return bad_arn("the path is longer than 512 bytes");
    if (!std::all_of(path.begin(), path.end(), [](char c) { return c >= 0x21 && c <= 0x7E; })) {
        return bad_arn("the path holds characters other than printable ASCII");
    }
    if (name.empty() || name.size() > max_name_bytes || !std::all_of(name.begin(), name.end(), iam_name_char)) {
        return bad_arn("the name must be 1-64 characters [A-Za-z0-9+=,.@_-]");
    }
    if (type == "role" && path.starts_with("/aws-service-role/")) {
        return make_error("service_linked_role", "service-linked roles cannot have access entries");
    }
    principal p;
    p.partition = parts->partition;
    p.account_id = parts->account;
    p.is_role = type == "role";
    p.path = std::string(path);
    p.name = std::string(name);
    p.key = arn::matching_key(text);
    return p;
}

result<std::string> identity_key(std::string_view canonical_arn) {
    auto canonical = arn::canonicalize(encoding::to_lower(canonical_arn));
    if (!canonical) return make_error("invalid_identity", "identity ARN is not an IAM principal ARN: " + canonical.err().code);
    switch (canonical->type) {
        case arn::principal_type::role:
        case arn::principal_type::assumed_role:
        case arn::principal_type::user: return arn::matching_key(canonical->arn);
        case arn::principal_type::root:
        case arn::principal_type::federated_user: break;
    }
    return make_error("invalid_identity", "identity is not an IAM role or user");
}

std::string generated_username(const principal& p, std::string_view principal_arn, entry_type type) {
    if (is_node_type(type)) return std::string(node_username_template(type));
    if (!p.is_role) return std::string(principal_arn);
    return "arn:" + p.partition + ":sts::" + p.account_id + ":assumed-role/" + p.name + "/{{SessionName}}";
}

status validate_username(std::string_view username) {
    if (username.empty()) return make_error("empty_username", "the username must not be empty");
    if (username.size() > max_username_bytes) return make_error("username_too_long", "the username is longer than 1024 bytes");
    if (has_control_char(username)) return make_error("bad_username", "the username holds a control character");
    for (const auto& prefix : reserved_username_prefixes()) {
        if (username.starts_with(prefix)) {
            return make_error("reserved_username_prefix", "the username must not begin with " + prefix +
                                                              " (reserved prefixes: system:, eks:, aws:, amazon:, iam:)");
        }
    }
    std::optional<std::size_t> first_placeholder;
    std::string unknown;
    for_each_token(username, [&](std::size_t at, std::string_view token) {
        if (std::find(session_placeholders.begin(), session_placeholders.end(), token) == session_placeholders.end()) {
            if (unknown.empty()) unknown = std::string(token);
        } else if (!first_placeholder) {
            first_placeholder = at;
        }
    });
    if (!unknown.empty()) {
        return make_error("unknown_username_placeholder",
                          "the username may only use the placeholders {{SessionName}} and {{SessionNameRaw}}, not " + unknown);
    }
    if (first_placeholder && username.substr(0, *first_placeholder).find(':') == std::string_view::npos) {
        return make_error("username_placeholder_without_colon",
                          "a username with {{SessionName}} or {{SessionNameRaw}} needs a ':' before the first placeholder");
    }
    return ok_status();
}

status validate_group(std::string_view group, std::span<const std::string> reserved_prefixes) {
    if (group.empty()) return make_error("bad_group", "a group name must not be empty");
    if (group.size() > max_group_bytes) return make_error("bad_group", "a group name is longer than 1024 bytes");
    if (has_control_char(group)) return make_error("bad_group", "a group name holds a control character");
    for (const auto& prefix : reserved_prefixes) {
        if (!prefix.empty() && group.starts_with(prefix)) {
            return make_error("reserved_group_prefix", "The kubernetes group name " + std::string(group) +
                                                           " is invalid, it cannot start with " + prefix);
        }
    }
    bool placeholder = false;
    for_each_token(group, [&](std::size_t, std::string_view) { placeholder = true; });
    if (placeholder) return make_error("group_placeholder", "group names are not templated; remove the {{...}} placeholder");
    return ok_status();
}

status validate_namespace_pattern(std::string_view pattern) {
    auto bad = [](std::string message) { return make_error("bad_namespace", std::move(message)); };
    if (pattern.empty()) return bad("a namespace must not be empty");
    if (pattern.size() > max_namespace_bytes) return bad("a namespace is longer than 63 bytes");
    auto end_ok = [](char c) { return c == '*' || is_digit(c) || (c >= 'a' && c <= 'z'); };
    const bool chars_ok = std::all_of(pattern.begin(), pattern.end(), [&](char c) { return end_ok(c) || c == '-'; });
    if (!chars_ok || !end_ok(pattern.front()) || !end_ok(pattern.back())) {
        return bad("a namespace must be a DNS-1123 label ([a-z0-9-], alphanumeric at both ends), '*' allowed");
    }
    return ok_status();
}

bool namespace_matches(std::string_view pattern, std::string_view ns) noexcept {
    // Greedy glob with single backtrack point: linear for patterns whose only wildcard is '*'.
    std::size_t p = 0;
    std::size_t s = 0;
    std::size_t star = std::string_view::npos;
    std::size_t mark = 0;
    while (s < ns.size()) {
        if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            mark = s;
        } else if (p < pattern.size() && pattern[p] == ns[s]) {
            ++p;
            ++s;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            s = ++mark;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

status validate_principal_id(std::string_view id) {
    if (id.empty() || id.size() > max_principal_id_bytes || !std::all_of(id.begin(), id.end(), is_alnum)) {
        return make_error("bad_principal_id", "principalId must be an IAM unique id (1-128 characters [A-Za-z0-9])");
    }
    return ok_status();
}

}  // namespace stsauth::access
