#include "token/token.hpp"

#include "common/encoding.hpp"
#include "sigv4/sigv4.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>

namespace stsauth::token {
namespace {

using std::chrono::system_clock;
constexpr auto npos = std::string_view::npos;

// The query parameter allow-list (SPEC-reference §1.4), matched on the lower-cased key.
enum param_id : std::size_t {
    p_action, p_version, p_algorithm, p_credential, p_date, p_expires, p_security_token, p_signature,
    p_signed_headers, param_count
};
struct param_name {
    std::string_view lower;
    std::string_view display;
};
constexpr std::array<param_name, param_count> param_names = {{
    {"action", "Action"},
    {"version", "Version"},
    {"x-amz-algorithm", "X-Amz-Algorithm"},
    {"x-amz-credential", "X-Amz-Credential"},
    {"x-amz-date", "X-Amz-Date"},
    {"x-amz-expires", "X-Amz-Expires"},
    {"x-amz-security-token", "X-Amz-Security-Token"},
    {"x-amz-signature", "X-Amz-Signature"},
    {"x-amz-signedheaders", "X-Amz-SignedHeaders"},
}};

// A valid token has at most param_count parameters; a few more are parsed so that duplicates and
// unknown keys are reported by name, beyond that the query is refused outright (bounded work).
constexpr std::size_t max_query_params = 32;
constexpr std::size_t max_expires_seconds = 900;
constexpr std::size_t max_access_key_id_length = 128;
constexpr std::size_t max_name_in_message = 64;

constexpr std::string_view expected_action = "GetCallerIdentity";
constexpr std::string_view expected_version = "2011-06-15";
constexpr std::string_view cluster_id_header = "x-k8s-aws-id";

struct query_param {
    std::string_view key;    ///< decoded; points into the URL or parsed_query::decoded
    std::string_view value;  ///< decoded (unless `encoded`); points into the URL or parsed_query::decoded
    /// `value` is the raw component, already in SigV4's URI encoding (encoding::uri_canonical):
    /// what rebuild_target would write for its decoded bytes, and empty exactly when they are.
    /// Only for the session token, the one long value that nothing reads decoded.
    bool encoded = false;
};

// Parsed query, string_views over the URL. Not movable: views may point into `decoded`.
struct parsed_query {
    std::array<query_param, max_query_params> items;
    std::size_t size = 0;
    std::array<const query_param*, param_count> by_id{};
    /// The components that had escapes, decoded one after the other. Its capacity is reserved
    /// for the whole raw query at the first escape (decoding never grows a component), so the
    /// views into it stay valid.
    std::string decoded;
    std::size_t raw_size;
    /// Every component is already in SigV4's URI encoding: the rebuilt target is the raw query.
    bool canonical = true;

    explicit parsed_query(std::size_t raw_query_size) : raw_size(raw_query_size) {}
    parsed_query(const parsed_query&) = delete;
    parsed_query& operator=(const parsed_query&) = delete;

    const query_param* get(param_id id) const { return by_id[id]; }
};

error fail(std::string_view code, std::string message) { return make_error(std::string(code), std::move(message)); }

error missing(param_id id) {
    return fail("missing_parameter", std::string(param_names[id].display) + " parameter must be present in pre-signed URL");
}

// A parameter name for a message: attacker-chosen bytes, so control and non-ASCII bytes become '?'
// and the length is bounded.
std::string printable_name(std::string_view name) {
    std::string out = "\"";
    for (char c : name.substr(0, max_name_in_message)) out += (c >= 0x21 && c <= 0x7e && c != '"') ? c : '?';
    if (name.size() > max_name_in_message) out += "...";
    out += '"';
    return out;
}

// Every byte in 0x21..0x7e; eight bytes at a time.
bool visible_ascii(std::string_view s) {
    constexpr std::uint64_t ones = 0x0101010101010101ULL;
    constexpr std::uint64_t highs = 0x8080808080808080ULL;
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
        std::uint64_t w;
        std::memcpy(&w, s.data() + i, sizeof w);
        const std::uint64_t below = (w - ones * 0x21U) & ~w & highs;  // a byte < 0x21 (exact when none is)
        const std::uint64_t above = ((w + ones) | w) & highs;        // a byte >= 0x7f (carries only from 0xff)
        if ((below | above) != 0) return false;
    }
    for (; i < s.size(); ++i)
        if (s[i] < 0x21 || s[i] > 0x7e) return false;
    return true;
}

bool valid_scheme(std::string_view s) {
    auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
    if (s.empty() || !alpha(s.front())) return false;
    return std::all_of(s.begin(), s.end(), [&](char c) {
        return alpha(c) || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
    });
}

// Query-component decoding as Go's url.QueryUnescape ('+' is a space); no copy without escapes.
bool decode_component(std::string_view raw, parsed_query& q, std::string_view& out) {
    bool escaped = false;
    if (q.canonical && encoding::uri_canonical(raw)) {
        escaped = raw.find('%') != npos;  // canonical: no '+'
    } else {
        q.canonical = false;
        escaped = std::any_of(raw.begin(), raw.end(), [](char c) { return c == '%' || c == '+'; });
    }
    if (!escaped) {
        out = raw;
        return true;
    }
    if (q.decoded.empty()) q.decoded.reserve(q.raw_size);
    const std::size_t begin = q.decoded.size();
    if (!encoding::percent_decode_to(q.decoded, raw, true)) return false;
    out = std::string_view(q.decoded).substr(begin);
    return true;
}

// Case-insensitive equality, the length compared inline first (most pairs differ in length).
bool same_name(std::string_view a, std::string_view b) { return a.size() == b.size() && encoding::iequals(a, b); }

std::optional<param_id> lookup(std::string_view key) {
    for (std::size_t i = 0; i < param_count; ++i) {
        if (key.size() != param_names[i].lower.size()) continue;
        // The spelling presigners use first (a plain compare), then any other case.
        if (key == param_names[i].display || encoding::iequals(key, param_names[i].lower)) return static_cast<param_id>(i);
    }
    return std::nullopt;
}

// Phase 9: strict `&`-separated `key=value` pairs with valid escapes.
status parse_query(std::string_view raw, parsed_query& q) {
    if (raw.empty()) return ok_status();
    for (std::size_t pos = 0;;) {
        const auto amp = raw.find('&', pos);
        const auto pair = raw.substr(pos, amp == npos ? npos : amp - pos);
        if (q.size == max_query_params) return fail("malformed_query", "too many query parameters in pre-signed URL");
        if (pair.find(';') != npos) return fail("malformed_query", "invalid semicolon separator in query");
        if (pair.empty()) return fail("malformed_query", "empty query parameter in pre-signed URL");
        const auto eq = pair.find('=');
        if (eq == npos) return fail("malformed_query", "query parameter without '=' in pre-signed URL");
        if (eq == 0) return fail("malformed_query", "query parameter without a name in pre-signed URL");
        auto& item = q.items[q.size++];
        if (!decode_component(pair.substr(0, eq), q, item.key))
            return fail("malformed_query", "malformed query parameter: invalid percent-encoding");
        const auto raw_value = pair.substr(eq + 1);
        if (same_name(item.key, param_names[p_security_token].lower) && encoding::uri_canonical(raw_value)) {
            item.value = raw_value;  // checked for emptiness only: not decoded
            item.encoded = true;
        } else if (!decode_component(raw_value, q, item.value)) {
            return fail("malformed_query", "malformed query parameter: invalid percent-encoding");
        }
        if (amp == npos) break;
        pos = amp + 1;
    }
    return ok_status();
}

// Phases 10-12: case-variant duplicates (CVE-2022-2385) over the whole query, then per key in URL
// order: allow-list and a single occurrence.
status index_query(parsed_query& q) {
    // Each key's allow-list entry, looked up once (param_count: not allowed).
    std::array<std::size_t, max_query_params> id{};
    std::array<std::size_t, param_count> count{};
    for (std::size_t i = 0; i < q.size; ++i) {
        const auto found = lookup(q.items[i].key);
        id[i] = found ? *found : param_count;
        if (found) ++count[*found];
    }
    // Case variants match the same entry (lookup ignores case) or, both unknown, each other.
    for (std::size_t i = 0; i < q.size; ++i)
        for (std::size_t j = 0; j < i; ++j) {
            if (id[i] != id[j] || q.items[i].key == q.items[j].key) continue;
            if (id[i] != param_count || same_name(q.items[i].key, q.items[j].key))
                return fail("duplicate_parameter", "duplicate query parameter found: " + printable_name(q.items[i].key));
        }
    // No case variants now: keys with the same entry are the same bytes.
    for (std::size_t i = 0; i < q.size; ++i) {
        if (id[i] == param_count)
            return fail("unknown_parameter", "non-allowed query parameter " + printable_name(q.items[i].key));
        if (q.by_id[id[i]] != nullptr) continue;  // a later occurrence: already refused below
        if (count[id[i]] > 1)
            return fail("multiple_values", "query parameter with multiple values not supported: " +
                                               std::string(param_names[id[i]].display));
        q.by_id[id[i]] = &q.items[i];
    }
    return ok_status();
}

bool signs_cluster_id(std::string_view signed_headers) {
    for (std::size_t pos = 0;;) {
        const auto semi = signed_headers.find(';', pos);
        if (encoding::iequals(signed_headers.substr(pos, semi == npos ? npos : semi - pos), cluster_id_header))
            return true;
        if (semi == npos) return false;
        pos = semi + 1;
    }
}

// Digits only (no sign, unlike Go's strconv.Atoi), value in [0, 900]; leading zeros allowed.
bool valid_expires(std::string_view v) {
    if (v.empty()) return false;
    std::size_t n = 0;
    for (char c : v) {
        if (c < '0' || c > '9') return false;
        n = n * 10 + static_cast<std::size_t>(c - '0');
        if (n > max_expires_seconds) return false;
    }
    return true;
}

// The character checks below run over random bytes (key ids, signatures): a test per byte
// with an early exit mispredicts about every other byte, so they OR a "bad" bit over all of it.
bool valid_access_key_id(std::string_view akid) {
    if (akid.empty() || akid.size() > max_access_key_id_length) return false;
    unsigned bad = 0;
    for (const char ch : akid) {
        const auto c = static_cast<unsigned char>(ch);
        const unsigned upper = static_cast<unsigned char>(c - 'A') <= 25U, lower = static_cast<unsigned char>(c - 'a') <= 25U;
        const unsigned digit = static_cast<unsigned char>(c - '0') <= 9U, underscore = c == '_';
        bad |= (upper | lower | digit | underscore) ^ 1U;
    }
    return bad == 0;
}

// `<AKID>/<YYYYMMDD>/<region>/sts/aws4_request`, cross-checked against X-Amz-Date and the host.
status check_credential(std::string_view credential, std::string_view amz_date, std::string_view host) {
    std::array<std::string_view, 5> part;
    std::size_t n = 0;
    for (std::size_t pos = 0;;) {
        const auto slash = credential.find('/', pos);
        if (n == part.size()) return fail("bad_credential", "X-Amz-Credential has too many '/'-separated parts");
        part[n++] = credential.substr(pos, slash == npos ? npos : slash - pos);
        if (slash == npos) break;
        pos = slash + 1;
    }
    if (n != part.size())
        return fail("bad_credential", "X-Amz-Credential must be <access key id>/<date>/<region>/sts/aws4_request");
    if (!valid_access_key_id(part[0])) return fail("bad_credential", "X-Amz-Credential has an invalid access key id");
    if (part[4] != "aws4_request") return fail("bad_credential", "X-Amz-Credential must end in aws4_request");
    if (part[1] != amz_date.substr(0, 8)) return fail("bad_scope", "X-Amz-Credential scope date differs from X-Amz-Date");
    if (part[2] != signing_region(host))
        return fail("bad_scope", "X-Amz-Credential scope region differs from the region of host \"" + std::string(host) + "\"");
    if (part[3] != "sts") return fail("bad_scope", "X-Amz-Credential scope service is not sts");
    return ok_status();
}

bool valid_signature(std::string_view s) {
    if (s.size() != 64) return false;
    unsigned bad = 0;
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        bad |= static_cast<unsigned>(static_cast<unsigned char>(c - '0') > 9U) &
               static_cast<unsigned>(static_cast<unsigned char>(c - 'a') > 5U);
    }
    return bad == 0;
}

std::string rebuild_target(const parsed_query& q, std::string_view raw_query) {
    std::string target;
    if (q.canonical) {  // what the loop below would write, byte for byte
        target.reserve(raw_query.size() + 2);
        target += "/?";
        target += raw_query;
        return target;
    }
    const std::size_t raw_size = raw_query.size();
    target.reserve(raw_size + raw_size / 8 + 16);  // re-encoding rarely grows the query
    target += "/?";
    for (std::size_t i = 0; i < q.size; ++i) {
        if (i != 0) target += '&';
        encoding::uri_encode_to(target, q.items[i].key);
        target += '=';
        if (q.items[i].encoded)
            target += q.items[i].value;
        else
            encoding::uri_encode_to(target, q.items[i].value);
    }
    return target;
}

}  // namespace

result<std::string> decode_token(std::string_view token, std::size_t max_bytes) {
    if (token.size() > max_bytes) return fail("token_too_large", "token is too large");
    if (!token.starts_with(token_prefix))
        return fail("bad_prefix", "token is missing expected \"" + std::string(token_prefix) + "\" prefix");
    auto url = encoding::base64url_decode(token.substr(token_prefix.size()));
    if (!url) return fail("bad_base64", url.err().message);
    if (!visible_ascii(*url)) return fail("bad_url_bytes", "pre-signed URL contains a byte outside 0x21..0x7e");
    return url;
}

result<validated_token> validate(std::string_view token, const validation_config& config, system_clock::time_point now) {
    // Phases 1-4: envelope.
    auto decoded = decode_token(token, config.max_token_bytes);
    if (!decoded) return decoded.err();
    const std::string_view url = *decoded;

    // Phase 5: scheme (case-insensitive, as Go lower-cases it while parsing).
    const auto colon = url.find(':');
    if (colon == npos || !valid_scheme(url.substr(0, colon)))
        return fail("bad_scheme", "missing protocol scheme in pre-signed URL");
    if (!encoding::iequals(url.substr(0, colon), "https")) return fail("bad_scheme", "unexpected scheme in pre-signed URL");
    auto rest = url.substr(colon + 1);
    if (!rest.starts_with("//")) return fail("bad_host", "pre-signed URL has no host");
    rest.remove_prefix(2);

    // Phase 6: authority, fragment, host allow-list.
    const auto authority_end = static_cast<std::size_t>(
        std::find_if(rest.begin(), rest.end(), [](char c) { return c == '/' || c == '?' || c == '#'; }) - rest.begin());
    const auto host = rest.substr(0, authority_end);
    const auto tail = rest.substr(authority_end);
    if (host.find('@') != npos) return fail("userinfo", "user information in pre-signed URL");
    if (!host.starts_with('[') && host.find(':') != npos) return fail("port", "explicit port in pre-signed URL");
    if (tail.find('#') != npos) return fail("fragment", "fragment in pre-signed URL");
    if (auto allowed = config.hosts.check(host); !allowed) return allowed.err();

    // Phase 8: path exactly "/" (raw: "%2F" is refused too).
    const auto qmark = tail.find('?');
    if (tail.substr(0, qmark) != "/") return fail("bad_path", "unexpected path in pre-signed URL");
    const auto raw_query = qmark == npos ? std::string_view{} : tail.substr(qmark + 1);

    // Phases 9-12: query syntax, duplicates, allow-list, single values.
    parsed_query q(raw_query.size());
    if (auto s = parse_query(raw_query, q); !s) return s.err();
    if (auto s = index_query(q); !s) return s.err();

    // Phases 13-18: the reference's rules, in its order.
    const auto* action = q.get(p_action);
    if (action == nullptr) return missing(p_action);
    if (action->value != expected_action) return fail("bad_action", "unexpected action parameter in pre-signed URL");

    const auto* signed_headers = q.get(p_signed_headers);
    if (signed_headers == nullptr) return missing(p_signed_headers);
    if (!signs_cluster_id(signed_headers->value))
        return fail("unsigned_cluster_id", "client did not sign the x-k8s-aws-id header in the pre-signed URL");

    const auto* expires = q.get(p_expires);
    if (expires == nullptr) return missing(p_expires);
    if (!valid_expires(expires->value))
        return fail("bad_expires", "invalid X-Amz-Expires parameter in pre-signed URL (must be 0..900)");

    const auto* date = q.get(p_date);
    if (date == nullptr || date->value.empty()) return missing(p_date);
    const auto signed_at = sigv4::parse_amz_date(date->value);
    if (!signed_at) return fail("bad_date", "error parsing X-Amz-Date parameter into format YYYYMMDDTHHMMSSZ");
    if (now > *signed_at + presigned_url_lifetime)
        return fail("expired", "X-Amz-Date parameter is expired (15 minute expiration)");
    if (*signed_at > now + max_future_skew)
        return fail("date_in_future", "X-Amz-Date parameter is more than 15 minutes in the future");

    // Our additions (SPEC-decisions A2), after the reference's rules.
    if (const auto* version = q.get(p_version); version != nullptr && version->value != expected_version)
        return fail("bad_version", "unexpected Version parameter in pre-signed URL");

    const auto* algorithm = q.get(p_algorithm);
    if (algorithm == nullptr || algorithm->value.empty()) return missing(p_algorithm);
    if (algorithm->value != sigv4::algorithm) return fail("bad_algorithm", "X-Amz-Algorithm must be AWS4-HMAC-SHA256");

    const auto* credential = q.get(p_credential);
    if (credential == nullptr || credential->value.empty()) return missing(p_credential);
    if (auto s = check_credential(credential->value, date->value, host); !s) return s.err();

    const auto* signature = q.get(p_signature);
    if (signature == nullptr || signature->value.empty()) return missing(p_signature);
    if (!valid_signature(signature->value))
        return fail("bad_signature_format", "X-Amz-Signature must be 64 lower-case hex digits");

    if (const auto* session = q.get(p_security_token); session != nullptr && session->value.empty())
        return fail("bad_security_token", "X-Amz-Security-Token parameter is empty");

    validated_token out;
    out.host = std::string(host);
    out.sts_region = std::string(sts_region_label(host));
    out.access_key_id = std::string(credential->value.substr(0, credential->value.find('/')));
    out.signed_at = *signed_at;
    out.expires_at = *signed_at + presigned_url_lifetime;
    out.target = rebuild_target(q, raw_query);
    return out;
}

}  // namespace stsauth::token
