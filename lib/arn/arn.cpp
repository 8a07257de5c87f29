#include "arn/arn.hpp"

#include "common/encoding.hpp"

#include <algorithm>
#include <array>

namespace stsauth::arn {
namespace {

constexpr std::array<std::string_view, 8> partition_names = {
    "aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc",
};

constexpr std::size_t section_count = 6;

// SplitN(text, ":", 6): the last section keeps any further ':'.
// Returns an empty message on success, else the aws-sdk-go-v2 error text.
std::string_view split_sections(std::string_view text, std::array<std::string_view, section_count>& out) {
    if (!text.starts_with("arn:")) return "arn: invalid prefix";
    for (std::size_t i = 0; i + 1 < section_count; ++i) {
        const auto colon = text.find(':');
        if (colon == std::string_view::npos) return "arn: not enough sections";
        out[i] = text.substr(0, colon);
        text.remove_prefix(colon + 1);
    }
    out[section_count - 1] = text;
    return {};
}

// First '/'-separated segment of a resource ("role" of "role/a/b").
std::string_view resource_type(std::string_view resource) { return resource.substr(0, resource.find('/')); }

// Built by appending: `"'" + std::string(s)` trips a GCC 12 -O3 false -Wrestrict (inlined insert).
std::string quoted(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    out.push_back('\'');
    out.append(s);
    out.push_back('\'');
    return out;
}

// Glob match of one section: '*' = any run (may be empty), '?' = zero or one character, anything
// else literal. Dynamic programming over pattern prefixes x text prefixes, one row at a time.
bool glob_match(std::string_view pattern, std::string_view text) {
    std::string prev(text.size() + 1, '\0');
    std::string cur(text.size() + 1, '\0');
    prev[0] = 1;
    for (const char p : pattern) {
        for (std::size_t j = 0; j <= text.size(); ++j) {
            const bool consume = j > 0 && prev[j - 1];
            switch (p) {
                case '*': cur[j] = prev[j] || (j > 0 && cur[j - 1]); break;
                case '?': cur[j] = prev[j] || consume; break;
                default: cur[j] = consume && text[j - 1] == p; break;
            }
        }
        std::swap(prev, cur);
    }
    return prev[text.size()] != 0;
}

}  // namespace

result<arn_parts> parse(std::string_view arn) {
    auto v = parse_view(arn);
    if (!v) return v.err();
    return arn_parts{std::string(v->partition), std::string(v->service), std::string(v->region),
                     std::string(v->account), std::string(v->resource)};
}

result<arn_view> parse_view(std::string_view arn) {
    std::array<std::string_view, section_count> s;
    if (const auto err = split_sections(arn, s); !err.empty()) return make_error("bad_arn", std::string(err));
    return arn_view{s[1], s[2], s[3], s[4], s[5]};
}

std::span<const std::string_view> partitions() noexcept { return partition_names; }

bool known_partition(std::string_view partition) noexcept {
    return std::find(partition_names.begin(), partition_names.end(), partition) != partition_names.end();
}

std::string_view to_string(principal_type type) noexcept {
    switch (type) {
        case principal_type::role: return "ROLE";
        case principal_type::assumed_role: return "ASSUMED_ROLE";
        case principal_type::user: return "USER";
        case principal_type::root: return "ROOT";
        case principal_type::federated_user: return "FEDERATED_USER";
    }
    return "NONE";
}

result<canonical> canonicalize(std::string_view arn) {
    auto parsed = parse_view(arn);
    if (!parsed) return make_error("bad_arn", "arn " + quoted(arn) + " is invalid: " + quoted(parsed.err().message));
    const auto& p = *parsed;
    if (!known_partition(p.partition))
        return make_error("unknown_partition", "arn " + quoted(arn) + " does not have a recognized partition");

    const auto type = resource_type(p.resource);
    if (p.service == "sts") {
        if (type == "federated-user") return canonical{principal_type::federated_user, std::string(arn)};
        if (type == "assumed-role") {
            // assumed-role/<role, possibly with '/'>/<session>: drop the first and the last segment.
            const auto first = p.resource.find('/');
            const auto last = p.resource.rfind('/');
            if (first == last)
                return make_error("assumed_role_without_role", "assumed-role arn " + quoted(arn) + " does not have a role");
            const auto role = p.resource.substr(first + 1, last - first - 1);
            constexpr std::string_view arn_prefix = "arn:";
            constexpr std::string_view iam = ":iam::";
            constexpr std::string_view role_prefix = ":role/";
            std::string out;
            out.reserve(arn_prefix.size() + p.partition.size() + iam.size() + p.account.size() + role_prefix.size() +
                        role.size());
            out.append(arn_prefix).append(p.partition).append(iam).append(p.account).append(role_prefix).append(role);
            return canonical{principal_type::assumed_role, std::move(out)};
        }
        return make_error("unsupported_resource", "unrecognized resource " + std::string(p.resource) + " for service sts");
    }
    if (p.service == "iam") {
        if (type == "role") return canonical{principal_type::role, std::string(arn)};
        if (type == "user") return canonical{principal_type::user, std::string(arn)};
        if (type == "root") return canonical{principal_type::root, std::string(arn)};
        return make_error("unsupported_resource", "unrecognized resource " + std::string(p.resource) + " for service iam");
    }
    return make_error("unsupported_service", "service " + std::string(p.service) + " in arn " + std::string(arn) +
                                                 " is not a valid service for identities");
}

result<std::string> strip_path(std::string_view arn) {
    auto parsed = parse(arn);
    if (!parsed) return make_error("bad_arn", "arn " + quoted(arn) + " is invalid: " + quoted(parsed.err().message));
    const auto& p = *parsed;
    if (!known_partition(p.partition))
        return make_error("unknown_partition", "arn " + quoted(arn) + " does not have a recognized partition");
    if (resource_type(p.resource) != "role") return std::string(arn);
    const auto first = p.resource.find('/');
    const auto last = p.resource.rfind('/');
    if (first == last) return std::string(arn);  // "role" or "role/<name>": no path
    return "arn:" + p.partition + ":iam::" + p.account + ":role/" + p.resource.substr(last + 1);
}

result<bool> arn_like(std::string_view arn, std::string_view pattern) {
    std::array<std::string_view, section_count> a;
    std::array<std::string_view, section_count> p;
    if (const auto err = split_sections(arn, a); !err.empty())
        return make_error("bad_arn", "could not parse input arn: " + std::string(err.substr(5)));
    if (const auto err = split_sections(pattern, p); !err.empty())
        return make_error("bad_arn_pattern", "could not parse ArnLike string: " + std::string(err.substr(5)));
    for (std::size_t i = 0; i < section_count; ++i)
        if (!glob_match(p[i], a[i])) return false;
    return true;
}

std::string matching_key(std::string_view canonical_arn) {
    std::string key = encoding::to_lower(canonical_arn);
    std::array<std::string_view, section_count> s;
    if (!split_sections(key, s).empty() || s[2] != "iam") return key;
    const auto type = resource_type(s[5]);
    if (type != "role" && type != "user") return key;
    const auto last = s[5].rfind('/');
    if (last == std::string_view::npos || last == type.size()) return key;  // no path
    const auto prefix_len = static_cast<std::size_t>(s[5].data() - key.data()) + type.size() + 1;
    key.erase(prefix_len, last + 1 - (type.size() + 1));
    return key;
}

}  // namespace stsauth::arn
