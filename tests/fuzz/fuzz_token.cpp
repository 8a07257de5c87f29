// Fuzz target: the token envelope and presigned-URL validation (lib/token: decode_token,
// validate, sts_hosts) and the encodings they rest on (lib/common/encoding).
//
// Input: validated as a token; when it does not start with "k8s-aws-v1.", also as a presigned URL
// wrapped into a token here, so that the fuzzer can mutate URLs directly (mutating base64 text
// is hopeless).
// Validation runs at a fixed `now` (fuzz_support.hpp) against two allow-lists:
//   - partition aws, instance region zz-new-1 (unknown to the SDK), one extra host;
//   - partition aws-cn.
//
// Properties:
//   - base64url and base64 round-trip both ways (decode(encode(x)) == x; a strict decode is
//     canonical: encode(decode(t)) == t); percent_decode(uri_encode(x)) == x;
//   - decode_token accepts only prefixed, size-capped tokens whose URL bytes are 0x21..0x7e;
//   - every rejection carries a documented reason code (lib/token/README.md) and a printable,
//     bounded message that never holds the X-Amz-Signature, X-Amz-Credential or
//     X-Amz-Security-Token value;
//   - an accepted token: its host is allowed (sts_hosts::allows, and an independent oracle of
//     the allow-list rules), its time window holds at `now`, its access key id is well formed, and
//     its target is a canonical query of allow-listed parameters whose values agree with the
//     result; re-validating https://<host><target> gives the same result (the rebuild is a
//     fixed point), and the token is refused when the size cap is one byte too small.

#include "common/encoding.hpp"
#include "fuzz_support.hpp"
#include "sigv4/sigv4.hpp"
#include "token/sts_hosts.hpp"
#include "token/token.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace stsauth;
using fuzz::as_text;
using std::string_view;

constexpr string_view extra_host = "sts.eu-west-1.vpce-0abc.example.com";

struct fixture {
    token::validation_config aws;
    token::validation_config cn;
};

const fixture& configs() {
    static const fixture f = [] {
        const std::array<std::string, 1> extra = {std::string(extra_host)};
        auto aws = token::sts_hosts::make("aws", "zz-new-1", extra);
        auto cn = token::sts_hosts::make("aws-cn");
        if (!aws || !cn) fuzz::property_failed("sts_hosts::make of the fixture", __FILE__, __LINE__);
        return fixture{{*aws, token::default_max_token_bytes}, {*cn, token::default_max_token_bytes}};
    }();
    return f;
}

constexpr std::array<string_view, 27> reason_codes = {
    "token_too_large", "bad_prefix", "bad_base64", "bad_url_bytes", "bad_scheme", "userinfo", "port",
    "fragment", "bad_host", "bad_path", "malformed_query", "duplicate_parameter", "unknown_parameter",
    "multiple_values", "missing_parameter", "bad_action", "unsigned_cluster_id", "bad_expires", "bad_date",
    "expired", "date_in_future", "bad_version", "bad_algorithm", "bad_credential", "bad_scope",
    "bad_signature_format", "bad_security_token"};

constexpr std::array<string_view, 9> allowed_params = {
    "action", "version", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires",
    "x-amz-security-token", "x-amz-signature", "x-amz-signedheaders"};

bool documented(string_view code) {
    return std::find(reason_codes.begin(), reason_codes.end(), code) != reason_codes.end();
}

// Substring search by plain byte loops: std::string::find goes through memcmp, which libFuzzer
// intercepts and mines for dictionary words; that would teach it to copy message text into
// parameter values and make this leak check report its own fixed wording.
#if defined(__clang__)
__attribute__((no_sanitize("coverage")))
#endif
bool contains(string_view hay, string_view needle) {
    if (needle.size() > hay.size()) return false;
    for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i) {
        std::size_t k = 0;
        while (k < needle.size() && hay[i + k] == needle[k]) ++k;
        if (k == needle.size()) return true;
    }
    return false;
}

bool unreserved(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == '~';
}

// uri_encode's output alphabet: unreserved bytes and %XX with upper-case hex.
bool canonical_component(string_view s) {
    auto upper_hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); };
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (unreserved(s[i])) continue;
        if (s[i] != '%' || i + 2 >= s.size() || !upper_hex(s[i + 1]) || !upper_hex(s[i + 2])) return false;
        i += 2;
    }
    return true;
}

// On a prefix: the codecs work byte by byte, and long inputs would only slow the fuzzer down.
void check_encodings(string_view in) {
    in = in.substr(0, 1024);
    const auto url = encoding::base64url_encode(in);
    const auto url_back = encoding::base64url_decode(url);
    FUZZ_CHECK(url_back.ok() && *url_back == in);
    if (const auto d = encoding::base64url_decode(in); d) FUZZ_CHECK(encoding::base64url_encode(*d) == in);

    const auto std64 = encoding::base64_encode(in);
    const auto std_back = encoding::base64_decode(std64);
    FUZZ_CHECK(std_back.ok() && *std_back == in);
    if (const auto d = encoding::base64_decode(in); d) FUZZ_CHECK(encoding::base64_encode(*d) == in);

    const auto uri = encoding::uri_encode(in);
    FUZZ_CHECK(canonical_component(uri));
    const auto uri_back = encoding::percent_decode(uri);
    FUZZ_CHECK(uri_back.ok() && *uri_back == in);
}

// The pieces of a URL the leak check needs, split naively (no decoding, no validation).
struct rough_url {
    std::string host;
    std::vector<std::pair<string_view, string_view>> params;  // raw key, raw value
    std::string without_values;  // the URL with every query value cut out, pieces on own lines
};

rough_url split_url(string_view url) {
    rough_url out;
    if (const auto scheme_end = url.find("://"); scheme_end != string_view::npos) {
        const auto host_start = scheme_end + 3;
        const auto host_end = url.find_first_of("/?#", host_start);
        out.host = std::string(url.substr(host_start, host_end == string_view::npos ? string_view::npos : host_end - host_start));
    }
    const auto q = url.find('?');
    out.without_values = std::string(url.substr(0, q));
    // Messages quote at most 253 bytes of a host and 64 of a key, then "...".
    out.without_values += '\n' + out.host.substr(0, 253) + "...";
    if (q == string_view::npos) return out;
    string_view rest = url.substr(q + 1);
    while (true) {
        const auto amp = rest.find('&');
        const auto pair = rest.substr(0, amp);
        const auto eq = pair.find('=');
        const auto key = pair.substr(0, eq);
        const auto value = eq == string_view::npos ? string_view{} : pair.substr(eq + 1);
        out.params.emplace_back(key, value);
        out.without_values += '\n';
        out.without_values += key;
        // The validator names keys after percent-decoding, with odd bytes shown as '?'.
        if (auto decoded = encoding::percent_decode(key, true); decoded) {
            for (char& c : *decoded)
                if (c < 0x21 || c > 0x7e || c == '"') c = '?';
            out.without_values += '\n';
            out.without_values += *decoded;
            out.without_values += '\n' + decoded->substr(0, 64) + "...";
        }
        if (amp == string_view::npos) break;
        rest = rest.substr(amp + 1);
    }
    return out;
}

void check_rejection(const error& err, string_view url) {
    FUZZ_CHECK(documented(err.code));
    FUZZ_CHECK(fuzz::printable_ascii(err.message));
    FUZZ_CHECK(err.message.size() <= 1024);
    if (url.empty()) return;
    const auto parts = split_url(url);
    for (const auto& [key, value] : parts.params) {
        const auto lower = encoding::to_lower(key);
        if (lower != "x-amz-signature" && lower != "x-amz-credential" && lower != "x-amz-security-token") continue;
        std::vector<std::string> forms = {std::string(value)};
        if (auto decoded = encoding::percent_decode(value, true); decoded) forms.push_back(std::move(*decoded));
        for (const auto& v : forms) {
            if (v.size() < 16) continue;
            // A value may show in a message only through text that is not a value (the host, a key).
            FUZZ_CHECK(!contains(err.message, v) || contains(parts.without_values, v));
        }
    }
}

// Independent statement of the allow-list rules of each fixture (lib/token/README.md).
bool oracle_allows(const token::validation_config& cfg, const std::string& host) {
    static const std::regex aws_rx(R"(^(sts|sts-fips)\.(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+\.(amazonaws\.com|api\.aws)$)");
    static const std::regex cn_rx(R"(^(sts|sts-fips)\.cn-\w+-\d+\.(amazonaws\.com\.cn|api\.amazonwebservices\.com\.cn)$)");
    if (std::any_of(host.begin(), host.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) return false;
    if (&cfg == &configs().aws) {
        return host == "sts.amazonaws.com" || host == "sts.zz-new-1.amazonaws.com" || host == "sts.zz-new-1.api.aws" ||
               host == extra_host || std::regex_match(host, aws_rx);
    }
    return std::regex_match(host, cn_rx);
}

struct target_param {
    std::string lower_key;
    std::string value;  // decoded
};

// Parses a validated target "/?k=v&k=v" strictly: canonical encoding, allow-listed keys, each once.
std::vector<target_param> parse_target(string_view target) {
    FUZZ_CHECK(target.starts_with("/?"));
    std::vector<target_param> out;
    string_view rest = target.substr(2);
    while (true) {
        const auto amp = rest.find('&');
        const auto pair = rest.substr(0, amp);
        const auto eq = pair.find('=');
        FUZZ_CHECK(eq != string_view::npos && eq > 0);
        const auto key = pair.substr(0, eq);
        const auto value = pair.substr(eq + 1);
        FUZZ_CHECK(canonical_component(key) && canonical_component(value));
        auto k = encoding::percent_decode(key);
        auto v = encoding::percent_decode(value);
        FUZZ_CHECK(k.ok() && v.ok());
        auto lower = encoding::to_lower(*k);
        FUZZ_CHECK(std::find(allowed_params.begin(), allowed_params.end(), lower) != allowed_params.end());
        for (const auto& p : out) FUZZ_CHECK(p.lower_key != lower);
        out.push_back({std::move(lower), std::move(*v)});
        if (amp == string_view::npos) break;
        rest = rest.substr(amp + 1);
    }
    return out;
}

const std::string* find_param(const std::vector<target_param>& params, string_view lower_key) {
    for (const auto& p : params)
        if (p.lower_key == lower_key) return &p.value;
    return nullptr;
}

bool access_key_id_shape(string_view akid) {
    if (akid.empty() || akid.size() > 128) return false;
    return std::all_of(akid.begin(), akid.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

void check_accepted(const token::validated_token& v, const token::validation_config& cfg, string_view tok) {
    const auto now = fuzz::fixed_now();
    FUZZ_CHECK(cfg.hosts.allows(v.host));
    FUZZ_CHECK(oracle_allows(cfg, v.host));
    FUZZ_CHECK(v.sts_region == token::sts_region_label(v.host));
    FUZZ_CHECK(!v.sts_region.empty());
    FUZZ_CHECK(access_key_id_shape(v.access_key_id));
    FUZZ_CHECK(v.expires_at == v.signed_at + token::presigned_url_lifetime);
    FUZZ_CHECK(now <= v.signed_at + token::presigned_url_lifetime);
    FUZZ_CHECK(v.signed_at <= now + token::max_future_skew);

    const auto params = parse_target(v.target);
    FUZZ_CHECK(params.size() <= allowed_params.size());
    const auto* action = find_param(params, "action");
    FUZZ_CHECK(action != nullptr && *action == "GetCallerIdentity");
    const auto* algorithm = find_param(params, "x-amz-algorithm");
    FUZZ_CHECK(algorithm != nullptr && *algorithm == sigv4::algorithm);
    const auto* date = find_param(params, "x-amz-date");
    FUZZ_CHECK(date != nullptr && *date == sigv4::format_amz_date(v.signed_at));
    const auto* signature = find_param(params, "x-amz-signature");
    FUZZ_CHECK(signature != nullptr && signature->size() == 64 &&
               std::all_of(signature->begin(), signature->end(),
                           [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }));
    const auto* credential = find_param(params, "x-amz-credential");
    FUZZ_CHECK(credential != nullptr);
    FUZZ_CHECK(*credential == v.access_key_id + "/" + date->substr(0, 8) + "/" +
                                  std::string(token::signing_region(v.host)) + "/sts/aws4_request");
    const auto* signed_headers = find_param(params, "x-amz-signedheaders");
    FUZZ_CHECK(signed_headers != nullptr && contains(encoding::to_lower(*signed_headers), "x-k8s-aws-id"));
    if (const auto* session = find_param(params, "x-amz-security-token")) FUZZ_CHECK(!session->empty());
    if (const auto* version = find_param(params, "version")) FUZZ_CHECK(*version == "2011-06-15");

    // The rebuilt request is a fixed point of validation.
    const auto rebuilt = std::string(token::token_prefix) + encoding::base64url_encode("https://" + v.host + v.target);
    token::validation_config roomy = cfg;
    roomy.max_token_bytes = rebuilt.size();
    const auto again = token::validate(rebuilt, roomy, now);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again->host == v.host && again->target == v.target && again->access_key_id == v.access_key_id &&
               again->signed_at == v.signed_at && again->sts_region == v.sts_region);

    // The size cap is inclusive and checked first.
    token::validation_config tight = cfg;
    tight.max_token_bytes = tok.size() - 1;
    const auto capped = token::validate(tok, tight, now);
    FUZZ_CHECK(!capped.ok() && capped.code() == "token_too_large");
}

void check_token(string_view tok) {
    const auto url = token::decode_token(tok);
    if (url) {
        FUZZ_CHECK(tok.size() <= token::default_max_token_bytes && tok.starts_with(token::token_prefix));
        FUZZ_CHECK(std::all_of(url->begin(), url->end(), [](char c) { return c >= 0x21 && c <= 0x7e; }));
        const auto direct = encoding::base64url_decode(tok.substr(token::token_prefix.size()));
        FUZZ_CHECK(direct.ok() && *direct == *url);
    } else {
        FUZZ_CHECK(documented(url.code()));
    }
    const string_view url_text = url ? string_view(*url) : string_view{};

    for (const auto* cfg : {&configs().aws, &configs().cn}) {
        const auto v = token::validate(tok, *cfg, fuzz::fixed_now());
        if (v) {
            FUZZ_CHECK(url.ok());
            check_accepted(*v, *cfg, tok);
        } else {
            if (!url) FUZZ_CHECK(v.code() == url.code());
            check_rejection(v.err(), url_text);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const string_view input = as_text(data, size);
    check_encodings(input);
    check_token(input);
    if (!input.starts_with(token::token_prefix))
        check_token(std::string(token::token_prefix) + encoding::base64url_encode(input));
    return 0;
}
