#include "sigv4/sigv4.hpp"

#include "common/encoding.hpp"

#include <algorithm>
#include <ctime>
#include <vector>

namespace stsauth::sigv4 {
namespace {

using namespace std::chrono;

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Trims and collapses every run of spaces to one space (SigV4 "Trimall"), appended to `out`.
void append_trimall(std::string& out, std::string_view v) {
    v = trim(v);
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    std::size_t i = 0;
    while (i < v.size()) {
        // A run of other bytes goes in one append, a run of spaces as one ' '.
        const auto run = i;
        while (i < v.size() && !space(v[i])) ++i;
        out.append(v.data() + run, i - run);
        if (i == v.size()) break;
        out += ' ';
        while (i < v.size() && space(v[i])) ++i;
    }
}

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// to_lower(name) == lower, without the temporary.
bool lower_equals(std::string_view name, std::string_view lower) {
    if (name.size() != lower.size()) return false;
    for (std::size_t i = 0; i < name.size(); ++i)
        if (ascii_lower(name[i]) != lower[i]) return false;
    return true;
}

// to_lower(a) < to_lower(b), without the temporaries.
bool lower_less(std::string_view a, std::string_view b) {
    const auto n = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i) {
        const auto x = static_cast<unsigned char>(ascii_lower(a[i]));
        const auto y = static_cast<unsigned char>(ascii_lower(b[i]));
        if (x != y) return x < y;
    }
    return a.size() < b.size();
}

// Scratch of the canonical forms, per thread: a verifier canonicalises every request it
// receives, and these keep their capacity between requests (nothing here is secret).
struct canonical_scratch {
    struct encoded_param {
        std::size_t key, key_len, value, value_len;  // offsets into `text`
    };
    std::string text;
    std::vector<encoded_param> params;
    std::vector<std::size_t> headers;  // indices of the selected headers, sorted by lower-case name
};

canonical_scratch& scratch() {
    thread_local canonical_scratch s;
    return s;
}

void append_canonical_query(std::string& out, std::span<const query_param> query) {
    auto& s = scratch();
    s.text.clear();
    s.params.clear();
    for (const auto& p : query) {
        if (p.key == "X-Amz-Signature") continue;
        const auto key = s.text.size();
        encoding::uri_encode_to(s.text, p.key);
        const auto value = s.text.size();
        encoding::uri_encode_to(s.text, p.value);
        s.params.push_back({key, value - key, value, s.text.size() - value});
    }
    const std::string_view text = s.text;
    auto key_of = [&](const auto& e) { return text.substr(e.key, e.key_len); };
    auto value_of = [&](const auto& e) { return text.substr(e.value, e.value_len); };
    std::sort(s.params.begin(), s.params.end(), [&](const auto& a, const auto& b) {
        const int c = key_of(a).compare(key_of(b));
        return c != 0 ? c < 0 : value_of(a) < value_of(b);
    });
    for (std::size_t i = 0; i < s.params.size(); ++i) {
        if (i > 0) out += '&';
        out += key_of(s.params[i]);
        out += '=';
        out += value_of(s.params[i]);
    }
}

// The canonical header lines, appended to `canonical`, and the signed header list to `signed_list`.
void append_canonical_headers(std::string& canonical, std::string& signed_list, std::span<const header_field> headers,
                              std::span<const std::string> only) {
    auto& order = scratch().headers;
    order.clear();
    for (std::size_t i = 0; i < headers.size(); ++i) {
        if (!only.empty() && std::none_of(only.begin(), only.end(),
                                          [&](const std::string& o) { return lower_equals(headers[i].name, o); }))
            continue;
        order.push_back(i);
    }
    // Stable, so repeated headers keep their received order when joined: an insertion sort (a
    // request signs a handful of headers; std::stable_sort would allocate a buffer per call).
    for (std::size_t i = 1; i < order.size(); ++i) {
        const auto moving = order[i];
        auto j = i;
        for (; j > 0 && lower_less(headers[moving].name, headers[order[j - 1]].name); --j) order[j] = order[j - 1];
        order[j] = moving;
    }
    for (std::size_t i = 0; i < order.size(); ++i) {
        const auto& h = headers[order[i]];
        if (i > 0 && encoding::iequals(h.name, headers[order[i - 1]].name)) {
            canonical.back() = ',';  // was '\n'
        } else {
            if (i > 0) signed_list += ';';
            encoding::append_lower(signed_list, h.name);
            encoding::append_lower(canonical, h.name);
            canonical += ':';
        }
        append_trimall(canonical, h.value);
        canonical += '\n';
    }
}

// RFC 3986 §5.2.4 remove_dot_segments, plus collapsing of repeated slashes.
std::string normalize_path(std::string_view path) {
    std::vector<std::string_view> segments;
    std::size_t pos = 0;

    const bool trailing = path.size() > 1 && path.back() == '/';
    while (pos <= path.size()) {
        const auto next = path.find('/', pos);
        const auto seg = path.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos);
        if (seg == "..") {
            if (!segments.empty()) segments.pop_back();
        } else if (!seg.empty() && seg != ".") {
            segments.push_back(seg);
        }
        if (next == std::string_view::npos) break;
        pos = next + 1;
    }
    std::string out = "/";
    for (std::size_t i = 0; i < segments.size(); ++i) {
        if (i) out += '/';
        out += segments[i];
    }
    const bool last_is_dot = path.ends_with("/.") || path.ends_with("/..");
    if ((trailing || last_is_dot) && out.size() > 1) out += '/';
    return out;
}

std::string signed_header_list(std::span<const header_field> headers) {
    std::vector<std::string> names;
    for (const auto& h : headers) names.push_back(encoding::to_lower(h.name));
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    std::string out;
    for (const auto& n : names) {
        if (!out.empty()) out += ';';
        out += n;
    }
    return out;
}

}  // namespace

std::string credential_scope::str() const {
    std::string out;
    append_to(out);
    return out;
}

void credential_scope::append_to(std::string& out) const {
    out += date;
    out += '/';
    out += region;
    out += '/';
    out += service;
    out += "/aws4_request";
}

result<credential_scope> credential_scope::parse(std::string_view text) {
    credential_scope s;
    std::string_view parts[4];
    for (int i = 0; i < 4; ++i) {
        const auto slash = text.find('/');
        if ((slash == std::string_view::npos) != (i == 3))
            return make_error("bad_scope", "credential scope must have four '/'-separated parts");
        parts[i] = text.substr(0, slash);
        if (slash != std::string_view::npos) text.remove_prefix(slash + 1);
    }
    if (parts[3] != "aws4_request") return make_error("bad_scope", "credential scope must end in aws4_request");
    if (parts[0].size() != 8 || !std::all_of(parts[0].begin(), parts[0].end(), [](char c) { return c >= '0' && c <= '9'; }))
        return make_error("bad_scope", "credential scope date must be YYYYMMDD");
    if (parts[1].empty() || parts[2].empty()) return make_error("bad_scope", "credential scope region and service must be set");
    s.date = parts[0];
    s.region = parts[1];
    s.service = parts[2];
    return s;
}

std::string format_amz_date(system_clock::time_point t) {
    const auto secs = time_point_cast<seconds>(t);
    const auto days = floor<std::chrono::days>(secs);
    const year_month_day ymd{days};
    const hh_mm_ss hms{secs - days};
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                  static_cast<int>(hms.seconds().count()));
    return buf;
}

result<system_clock::time_point> parse_amz_date(std::string_view text) {
    auto bad = [] { return make_error("bad_date", "date must be YYYYMMDDTHHMMSSZ"); };
    if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return bad();
    auto num = [&](std::size_t off, std::size_t len, int& out) {
        out = 0;
        for (std::size_t i = off; i < off + len; ++i) {
            if (text[i] < '0' || text[i] > '9') return false;
            out = out * 10 + (text[i] - '0');
        }
        return true;
    };
    int y, mo, d, h, mi, s;
    if (!num(0, 4, y) || !num(4, 2, mo) || !num(6, 2, d) || !num(9, 2, h) || !num(11, 2, mi) || !num(13, 2, s))
        return bad();
    const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
    if (!ymd.ok() || h > 23 || mi > 59 || s > 59) return bad();
    // system_clock counts nanoseconds in 64 bits (years 1677..2262): refuse what cannot be
    // represented rather than overflow. No real signing time is outside 1970..2199.
    if (y < 1970 || y > 2199) return make_error("bad_date", "date is outside the years 1970..2199");
    return system_clock::time_point{sys_days{ymd}} + hours{h} + minutes{mi} + seconds{s};
}

std::string canonical_uri(std::string_view decoded_path, bool normalize) {
    if (decoded_path.empty()) return "/";
    return encoding::uri_encode(normalize ? normalize_path(decoded_path) : std::string(decoded_path), false);
}

std::string canonical_query_string(std::span<const query_param> query) {
    std::string out;
    append_canonical_query(out, query);
    return out;
}

canonical_headers_t canonical_headers(std::span<const header_field> headers, std::span<const std::string> only) {
    canonical_headers_t out;
    append_canonical_headers(out.canonical, out.signed_headers, headers, only);
    return out;
}

void append_canonical_request(std::string& out, std::string_view method, std::string_view decoded_path,
                              std::span<const query_param> query, std::span<const header_field> headers,
                              std::string_view payload_hash, bool normalize, std::span<const std::string> only_headers) {
    out += method;
    out += '\n';
    if (decoded_path.empty()) out += '/';
    else if (normalize) encoding::uri_encode_to(out, normalize_path(decoded_path), false);
    else encoding::uri_encode_to(out, decoded_path, false);
    out += '\n';
    append_canonical_query(out, query);
    out += '\n';
    // The signed header list follows the header lines: built in the scratch, then appended.
    auto& signed_list = scratch().text;
    signed_list.clear();
    append_canonical_headers(out, signed_list, headers, only_headers);
    out += '\n';
    out += signed_list;
    out += '\n';
    out += payload_hash;
}

std::string canonical_request(const request& req, std::string_view payload_hash, bool normalize_path,
                              std::span<const std::string> only_headers) {
    std::string out;
    out.reserve(256);
    append_canonical_request(out, req.method, req.path, req.query, req.headers, payload_hash, normalize_path,
                             only_headers);
    return out;
}

void append_string_to_sign(std::string& out, std::string_view amz_date, const credential_scope& scope,
                           std::string_view canonical_req) {
    out += algorithm;
    out += '\n';
    out += amz_date;
    out += '\n';
    scope.append_to(out);
    out += '\n';
    encoding::hex_encode_append(out, crypto::sha256(canonical_req));
}

std::string string_to_sign(std::string_view amz_date, const credential_scope& scope, std::string_view canonical_req) {
    std::string out;
    out.reserve(160);
    append_string_to_sign(out, amz_date, scope, canonical_req);
    return out;
}

crypto::digest signing_key(const secret<std::string>& secret_access_key, const credential_scope& scope) {
    const auto k_date = crypto::hmac_sha256("AWS4" + secret_access_key.reveal(), scope.date);
    const auto k_region = crypto::hmac_sha256(k_date, scope.region);
    const auto k_service = crypto::hmac_sha256(k_region, scope.service);
    return crypto::hmac_sha256(k_service, "aws4_request");
}

std::string signature(const crypto::digest& key, std::string_view sts) {
    return encoding::hex_encode(crypto::hmac_sha256(key, sts));
}

signing_trace sign_headers(request& req, const credentials& creds, const signing_params& params,
                           std::string_view payload_hash) {
    const auto amz_date = format_amz_date(params.time);
    const credential_scope scope{amz_date.substr(0, 8), params.region, params.service};
    req.headers.push_back({"X-Amz-Date", amz_date});
    if (params.add_content_sha256_header) req.headers.push_back({"X-Amz-Content-Sha256", std::string(payload_hash)});
    const bool token_signed = !creds.session_token.empty() && !params.session_token_after_signing;
    if (token_signed) req.headers.push_back({"X-Amz-Security-Token", creds.session_token.reveal()});

    signing_trace trace;
    trace.canonical_request = canonical_request(req, payload_hash, params.normalize_path);
    trace.string_to_sign = string_to_sign(amz_date, scope, trace.canonical_request);
    trace.signature = signature(signing_key(creds.secret_access_key, scope), trace.string_to_sign);
    req.headers.push_back({"Authorization", std::string(algorithm) + " Credential=" + creds.access_key_id + "/" +
                                                scope.str() + ", SignedHeaders=" + signed_header_list(req.headers) +
                                                ", Signature=" + trace.signature});
    if (!creds.session_token.empty() && !token_signed)
        req.headers.push_back({"X-Amz-Security-Token", creds.session_token.reveal()});
    return trace;
}

signing_trace presign(request& req, const credentials& creds, const signing_params& params, std::chrono::seconds expires,
                      std::string_view payload_hash) {
    const auto amz_date = format_amz_date(params.time);
    const credential_scope scope{amz_date.substr(0, 8), params.region, params.service};
    req.query.push_back({"X-Amz-Algorithm", std::string(algorithm)});
    req.query.push_back({"X-Amz-Credential", creds.access_key_id + "/" + scope.str()});
    req.query.push_back({"X-Amz-Date", amz_date});
    req.query.push_back({"X-Amz-Expires", std::to_string(expires.count())});
    req.query.push_back({"X-Amz-SignedHeaders", signed_header_list(req.headers)});
    const bool token_signed = !creds.session_token.empty() && !params.session_token_after_signing;
    if (token_signed) req.query.push_back({"X-Amz-Security-Token", creds.session_token.reveal()});

    signing_trace trace;
    trace.canonical_request = canonical_request(req, payload_hash, params.normalize_path);
    trace.string_to_sign = string_to_sign(amz_date, scope, trace.canonical_request);
    trace.signature = signature(signing_key(creds.secret_access_key, scope), trace.string_to_sign);
    if (!creds.session_token.empty() && !token_signed)
        req.query.push_back({"X-Amz-Security-Token", creds.session_token.reveal()});
    req.query.push_back({"X-Amz-Signature", trace.signature});
    return trace;
}

std::string to_url(const request& req, std::string_view scheme) {
    std::string out(scheme);
    out += "://";
    out += header_value(req, "host");
    out += encoding::uri_encode(req.path.empty() ? "/" : req.path, false);
    for (std::size_t i = 0; i < req.query.size(); ++i) {
        out += i == 0 ? '?' : '&';
        out += encoding::uri_encode(req.query[i].key);
        out += '=';
        out += encoding::uri_encode(req.query[i].value);
    }
    return out;
}

std::string_view header_value(const request& req, std::string_view name) {
    for (const auto& h : req.headers)
        if (encoding::iequals(h.name, name)) return h.value;
    return {};
}

}  // namespace stsauth::sigv4
