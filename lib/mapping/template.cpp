#include "mapping/template.hpp"

#include <algorithm>
#include <array>

namespace stsauth::mapping {
namespace {

bool is_word(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

enum class placeholder { ec2_private_dns_name, account_id, session_name, session_name_raw, access_key_id };

struct known_placeholder {
    std::string_view text;
    placeholder kind;
};

constexpr std::array<known_placeholder, 5> placeholders = {{
    {ec2_private_dns_name_placeholder, placeholder::ec2_private_dns_name},
    {"{{AccountID}}", placeholder::account_id},
    {"{{SessionName}}", placeholder::session_name},
    {"{{SessionNameRaw}}", placeholder::session_name_raw},
    {"{{AccessKeyID}}", placeholder::access_key_id},
}};

std::string session_name_sanitized(std::string_view session) {
    std::string out(session);
    for (char& c : out) {
        if (c == '@') c = '-';
    }
    return out;
}

}  // namespace

bool needs_ec2_dns_name(std::string_view tpl) noexcept {
    return tpl.find(ec2_private_dns_name_placeholder) != std::string_view::npos;
}

result<std::string> instance_id_for_ec2(const identity& id) {
    const std::string_view s = id.session_name;
    const bool shape_ok = (s.size() == 10 || s.size() == 19) && s.starts_with("i-");
    if (!shape_ok || !std::all_of(s.begin() + 2, s.end(), is_word)) {
        return make_error("no_instance_id", "SessionName did not contain an instance id");
    }
    return std::string(s);
}

result<std::string> render(std::string_view tpl, const identity& id,
                           const std::optional<std::string>& ec2_private_dns_name) {
    if (needs_ec2_dns_name(tpl)) {
        if (auto instance = instance_id_for_ec2(id); !instance) return instance.err();
        if (!ec2_private_dns_name || ec2_private_dns_name->empty()) {
            return make_error("ec2_dns_unavailable", "no EC2 private DNS name for the instance");
        }
    }
    std::string out;
    out.reserve(tpl.size());
    std::size_t i = 0;
    while (i < tpl.size()) {
        const auto open = tpl.find("{{", i);
        if (open == std::string_view::npos) break;
        out.append(tpl.substr(i, open - i));
        const auto rest = tpl.substr(open);
        const known_placeholder* hit = nullptr;
        for (const auto& p : placeholders) {
            if (rest.starts_with(p.text)) {
                hit = &p;
                break;
            }
        }
        if (hit == nullptr) {
            out.push_back('{');
            i = open + 1;
            continue;
        }
        switch (hit->kind) {
            case placeholder::ec2_private_dns_name: out.append(*ec2_private_dns_name); break;
            case placeholder::account_id: out.append(id.account_id); break;
            case placeholder::session_name: out.append(session_name_sanitized(id.session_name)); break;
            case placeholder::session_name_raw: out.append(id.session_name); break;
            case placeholder::access_key_id: out.append(id.access_key_id); break;
        }
        i = open + hit->text.size();
    }
    if (i < tpl.size()) out.append(tpl.substr(i));
    return out;
}

}  // namespace stsauth::mapping
