#include "aws_request.hpp"

#include "common/encoding.hpp"

#include <algorithm>
#include <array>

namespace stsauth::fakests {
namespace {

error malformed(std::string what) {
    return make_error("MalformedQueryString", std::move(what));
}

// "k=v&k2=v2" -> decoded pairs; '+' is a space, as AWS's query parser reads it. Each key and
// value is decoded straight into its place (one allocation each at most).
bool decode_into(std::string& out, std::string_view text) {
    out.reserve(text.size());
    return encoding::percent_decode_to(out, text, true);
}

// Into `out`, re-using the strings it already holds.
status split_components_into(std::vector<sigv4::query_param>& out, std::string_view text) {
    std::size_t n = 0;
    while (!text.empty()) {
        const auto amp = text.find('&');
        const auto part = text.substr(0, amp);
        text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
        if (part.empty()) continue;
        const auto eq = part.find('=');
        if (n == out.size()) out.emplace_back();
        auto& p = out[n++];
        p.key.clear();
        p.value.clear();
        if (!decode_into(p.key, part.substr(0, eq)) ||
            !decode_into(p.value, eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1))) {
            out.resize(n);
            return malformed("invalid percent-encoding in the query string");
        }
    }
    out.resize(n);
    return ok_status();
}

result<std::vector<sigv4::query_param>> split_components(std::string_view text) {
    std::vector<sigv4::query_param> out;
    out.reserve(static_cast<std::size_t>(std::count(text.begin(), text.end(), '&')) + 1);
    if (auto st = split_components_into(out, text); !st.ok()) return st.err();
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

result<parsed_request> parse_request(const http_request_in& in) { return parse_request(http_request_in(in)); }

status parse_target(std::string_view target, parsed_request& out) {
    if (target.empty() || target.front() != '/') return malformed("request target must start with '/'");
    const auto q = target.find('?');
    const auto path = target.substr(0, q);
    out.path.clear();
    out.path.reserve(path.size());
    if (!encoding::percent_decode_to(out.path, path, false)) return malformed("invalid percent-encoding in the path");
    if (auto st = split_components_into(out.query, q == std::string_view::npos ? std::string_view{} : target.substr(q + 1));
        !st.ok())
        return st;
    if (auto h = out.header("host")) out.host.assign(*h);
    else out.host.clear();
    out.aws_host = classify_host(out.host);
    return ok_status();
}

result<parsed_request> parse_request(http_request_in&& in) {
    parsed_request out;
    out.method = std::move(in.method);
    out.headers = std::move(in.headers);
    out.body = std::move(in.body);
    if (auto st = parse_target(in.target, out); !st.ok()) return st.err();
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
