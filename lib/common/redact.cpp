#include "common/redact.hpp"

#include "common/encoding.hpp"

#include <array>

namespace stsauth {

std::string redact_url(std::string_view url) {
    static constexpr std::array<std::string_view, 3> sensitive = {
        "x-amz-signature", "x-amz-security-token", "x-amz-credential"};
    const auto q = url.find('?');
    if (q == std::string_view::npos) return std::string(url);
    std::string out(url.substr(0, q + 1));
    std::string_view rest = url.substr(q + 1);
    bool first = true;
    while (true) {
        const auto amp = rest.find('&');
        const std::string_view pair = rest.substr(0, amp);
        if (!first) out += '&';
        first = false;
        const auto eq = pair.find('=');
        const std::string_view key = pair.substr(0, eq);
        bool hide = false;
        for (auto s : sensitive) hide = hide || encoding::iequals(key, s);
        if (hide) {
            out += key;
            out += "=[redacted]";
        } else {
            out += pair;
        }
        if (amp == std::string_view::npos) break;
        rest.remove_prefix(amp + 1);
    }
    return out;
}

std::string token_fingerprint(std::string_view sha256_hex) {
    return "sha256:" + std::string(sha256_hex.substr(0, 8));
}

}  // namespace stsauth
