#include "aws_request.hpp"

#include "common/encoding.hpp"

#include <algorithm>
#include <array>

namespace stsauth::fakests {
namespace {

error malformed(std::string what) {
    return make_error("MalformedQueryString", std::move(what));
}

// "k=v&k2=v2" -> decoded pairs; '+' is a space, as AWS's query parser reads it.
result<std::vector<sigv4::query_param>> split_components(std::string_view text) {
    std::vector<sigv4::query_param> out;
    while (!text.empty()) {
        const auto amp = text.find('&');
        const auto part = text.substr(0, amp);
        text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
        if (part.empty()) continue;
        const auto eq = part.find('=');
        auto key = encoding::percent_decode(part.substr(0, eq), true);
        auto value = encoding::percent_decode(eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1), true);
        if (!key.ok() || !value.ok()) return malformed("invalid percent-encoding in the query string");
        out.push_back({std::move(*key), std::move(*value)});
    }
    return out;
}

bool is_region_label(std::string_view s) {
    if (s.empty() || s.front() == '-' || s.back() == '-') return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
}

}  // namespace

std::optional<std::string_view> parsed_request::header(std::string_view name) const {
    for (const auto& h : headers)
        if (encoding::iequals(h.name, name)) return std::string_view(h.value);
    return std::nullopt;
}

result<parsed_request> parse_request(const http_request_in& in) {
    if (in.target.empty() || in.target.front() != '/') return malformed("request target must start with '/'");
    parsed_request out;
    out.method = in.method;
    const auto q = in.target.find('?');
    auto path = encoding::percent_decode(std::string_view(in.target).substr(0, q), false);
    if (!path.ok()) return malformed("invalid percent-encoding in the path");
    out.path = std::move(*path);
    if (q != std::string::npos) {
        auto query = split_components(std::string_view(in.target).substr(q + 1));
        if (!query.ok()) return query.err();
        out.query = std::move(*query);
    }
    out.headers = in.headers;
    out.body = in.body;
    if (auto h = out.header("host")) out.host = std::string(*h);
    return out;
}

result<std::vector<sigv4::query_param>> parse_form(std::string_view body) { return split_components(body); }

std::optional<host_info> classify_host(std::string_view host) {
    // Strip ":port" (a bracketed IPv6 literal is never an AWS name anyway).
    if (const auto colon = host.rfind(':'); colon != std::string_view::npos) host = host.substr(0, colon);
    if (host == "sts.amazonaws.com") return host_info{"sts", "us-east-1"};

    const auto dot1 = host.find('.');
    if (dot1 == std::string_view::npos) return std::nullopt;
    const auto dot2 = host.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos) return std::nullopt;
    const auto prefix = host.substr(0, dot1);
    const auto region = host.substr(dot1 + 1, dot2 - dot1 - 1);
    const auto domain = host.substr(dot2 + 1);

    static constexpr std::array<std::string_view, 3> domains{"amazonaws.com", "api.aws", "amazonaws.com.cn"};
    if (std::find(domains.begin(), domains.end(), domain) == domains.end() || !is_region_label(region))
        return std::nullopt;
    if (prefix == "sts" || prefix == "sts-fips") return host_info{"sts", std::string(region)};
    if (prefix == "ec2") return host_info{"ec2", std::string(region)};
    return std::nullopt;
}

std::optional<std::string_view> param(const std::vector<sigv4::query_param>& params, std::string_view key) {
    for (const auto& p : params)
        if (p.key == key) return std::string_view(p.value);
    return std::nullopt;
}

std::size_t param_count(const std::vector<sigv4::query_param>& params, std::string_view key) {
    return static_cast<std::size_t>(
        std::count_if(params.begin(), params.end(), [&](const auto& p) { return p.key == key; }));
}

}  // namespace stsauth::fakests
