#include "sigv4_verifier.hpp"

#include "common/encoding.hpp"
#include "crypto/crypto.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace stsauth::fakests {
namespace {

using namespace std::chrono;

// The five parameters a presigned request must carry (X-Amz-Security-Token is optional).
constexpr std::array<std::string_view, 5> required_query_params{
    "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature"};

constexpr std::string_view signature_mismatch_message =
    "The request signature we calculated does not match the signature you provided. Check your AWS "
    "Secret Access Key and signing method. Consult the service documentation for details.";
constexpr std::string_view invalid_token_message = "The security token included in the request is invalid.";

error incomplete(std::string message) { return make_error("IncompleteSignature", std::move(message)); }
error mismatch(std::string message) { return make_error("SignatureDoesNotMatch", std::move(message)); }

// The signing inputs of a request, whichever form carried them: views into the request.
struct auth_fields {
    std::string_view algorithm;
    std::string_view credential;  // AKID/date/region/service/aws4_request
    std::string_view amz_date;
    std::string_view signed_headers;
    std::string_view signature;
    std::optional<std::string_view> security_token;
    bool presigned = false;
};

// What a verification writes, per thread, kept between requests: the canonical request and
// the string to sign of a ~1 KiB presigned URL would otherwise be allocated (and, at that size,
// make malloc consolidate) for every request.
struct verify_scratch {
    std::vector<std::string> signed_headers;  // X-Amz-SignedHeaders, lower-cased, first `n` used
    std::size_t n = 0;
    std::string canonical_request;
    std::string string_to_sign;
};

verify_scratch& scratch() {
    thread_local verify_scratch s;
    return s;
}

// The auth parameters of a query (the five required ones, then X-Amz-Security-Token): how often
// each appears and its first value, in one pass over the query.
struct query_auth_params {
    std::array<std::size_t, 6> count{};
    std::array<std::string_view, 6> first{};

    explicit query_auth_params(const std::vector<sigv4::query_param>& query) {
        for (const auto& p : query) {
            if (!p.key.starts_with("X-Amz-")) continue;
            for (std::size_t i = 0; i < 6; ++i) {
                if (p.key != (i < 5 ? required_query_params[i] : std::string_view("X-Amz-Security-Token"))) continue;
                if (count[i]++ == 0) first[i] = p.value;
                break;
            }
        }
    }
    bool any_required() const { return std::any_of(count.begin(), count.begin() + 5, [](auto n) { return n > 0; }); }
};

result<auth_fields> from_query(const query_auth_params& params) {
    auth_fields f;
    f.presigned = true;
    std::array<std::string_view*, 5> slots{&f.algorithm, &f.credential, &f.amz_date, &f.signed_headers, &f.signature};
    for (std::size_t i = 0; i < required_query_params.size(); ++i) {
        const auto name = required_query_params[i];
        const auto n = params.count[i];
        if (n == 0)
            return incomplete(
                "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', "
                "'X-Amz-Date', 'X-Amz-SignedHeaders'. Re-examine the query-string parameters.");
        if (n > 1) return incomplete("Query-string parameter '" + std::string(name) + "' must appear only once.");
        *slots[i] = params.first[i];
    }
    const auto tokens = params.count[5];
    if (tokens > 1) return incomplete("Query-string parameter 'X-Amz-Security-Token' must appear only once.");
    if (tokens == 1) f.security_token = params.first[5];
    return f;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..."
result<auth_fields> from_header(const parsed_request& req, std::string_view authorization) {
    auth_fields f;
    authorization = trim(authorization);
    const auto space = authorization.find(' ');
    f.algorithm = authorization.substr(0, space);
    if (f.algorithm != sigv4::algorithm)
        return incomplete("Unsupported AWS 'algorithm': '" + std::string(f.algorithm) + "'.");
    auto rest = space == std::string_view::npos ? std::string_view{} : authorization.substr(space + 1);
    bool has_credential = false, has_signed = false, has_signature = false;
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        const auto item = trim(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        const auto eq = item.find('=');
        if (eq == std::string_view::npos) return incomplete("Authorization header requires 'key=value' pairs.");
        const auto key = item.substr(0, eq);
        const auto value = item.substr(eq + 1);
        auto assign = [&](bool& seen, std::string_view& slot) -> status {
            if (seen) return incomplete("Authorization header has a repeated '" + std::string(key) + "' parameter.");
            seen = true;
            slot = value;
            return ok_status();
        };
        status st = ok_status();
        if (key == "Credential") st = assign(has_credential, f.credential);
        else if (key == "SignedHeaders") st = assign(has_signed, f.signed_headers);
        else if (key == "Signature") st = assign(has_signature, f.signature);
        else return incomplete("Authorization header has an unknown parameter '" + std::string(key) + "'.");
        if (!st.ok()) return st.err();
    }
    if (!has_credential || !has_signed || !has_signature)
        return incomplete(
            "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' "
            "parameter. Authorization header requires 'SignedHeaders' parameter.");
    const auto date = req.header("x-amz-date");
    if (!date) return incomplete("Authorization header requires existence of the 'X-Amz-Date' header.");
    f.amz_date = *date;
    if (auto token = req.header("x-amz-security-token")) f.security_token = *token;
    return f;
}

// Strict YYYYMMDDTHHMMSSZ at second precision. sigv4::parse_amz_date converts to
// system_clock's nanoseconds, which overflows for years after 2262 (a one-character change of
// the year reaches 3026); seconds cover every four-digit year.
std::optional<sys_seconds> parse_date_seconds(std::string_view text) {
    if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return std::nullopt;
    auto num = [&](std::size_t off, std::size_t len) -> int {
        int v = 0;
        for (std::size_t i = off; i < off + len; ++i) {
            if (text[i] < '0' || text[i] > '9') return -1;
            v = v * 10 + (text[i] - '0');
        }
        return v;
    };
    const int y = num(0, 4), mo = num(4, 2), d = num(6, 2), h = num(9, 2), mi = num(11, 2), s = num(13, 2);
    if (y < 0 || mo < 0 || d < 0 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) return std::nullopt;
    const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
    if (!ymd.ok()) return std::nullopt;
    return sys_days{ymd} + hours{h} + minutes{mi} + seconds{s};
}

// The lower-cased names of X-Amz-SignedHeaders, into the scratch (its strings keep their capacity).
std::span<const std::string> split_signed_headers(std::string_view list, verify_scratch& s) {
    s.n = 0;
    while (!list.empty()) {
        const auto semi = list.find(';');
        if (s.n == s.signed_headers.size()) s.signed_headers.emplace_back();
        auto& name = s.signed_headers[s.n++];
        name.clear();
        encoding::append_lower(name, list.substr(0, semi));
        list = semi == std::string_view::npos ? std::string_view{} : list.substr(semi + 1);
    }
    return std::span<const std::string>(s.signed_headers.data(), s.n);
}

// Splits "AKID/date/region/service/terminator" into its five elements.
result<std::array<std::string_view, 5>> split_credential(std::string_view credential) {
    std::array<std::string_view, 5> parts;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const auto slash = credential.find('/');
        if ((slash == std::string_view::npos) != (i == parts.size() - 1))
            return incomplete("Credential must have exactly 5 slash-delimited elements, e.g. "
                              "keyid/date/region/service/term, got '" + std::string(credential) + "'");
        parts[i] = credential.substr(0, slash);
        if (slash != std::string_view::npos) credential.remove_prefix(slash + 1);
    }
    return parts;
}

}  // namespace

crypto::digest signing_key_cache::get(const secret<std::string>& secret_access_key, const sigv4::credential_scope& scope) {
    return find(secret_access_key, scope).key;
}

crypto::hmac_sha256_key& signing_key_cache::signer(const secret<std::string>& secret_access_key,
                                                   const sigv4::credential_scope& scope) {
    return find(secret_access_key, scope).signer;
}

signing_key_cache::entry& signing_key_cache::find(const secret<std::string>& secret_access_key,
                                                  const sigv4::credential_scope& scope) {
    // Each scope field length-prefixed (a region is any text when the Host is no AWS name), the
    // secret last: distinct inputs give distinct map keys.
    lookup_.clear();
    for (const std::string_view field : {std::string_view(scope.date), std::string_view(scope.region),
                                         std::string_view(scope.service)}) {
        char len[24];
        lookup_.append(len, static_cast<std::size_t>(std::to_chars(len, len + sizeof len, field.size()).ptr - len));
        lookup_ += ':';
        lookup_ += field;
    }
    lookup_ += secret_access_key.reveal();
    if (const auto it = keys_.find(lookup_); it != keys_.end()) return it->second;
    if (keys_.size() >= max_entries) keys_.clear();
    ++derivations_;
    const auto key = sigv4::signing_key(secret_access_key, scope);
    return keys_.emplace(lookup_, entry{key, crypto::hmac_sha256_key(key)}).first->second;
}

result<authenticated> authenticate(const parsed_request& req, const fake_config& config,
                                   system_clock::time_point now, const verify_options& options) {
    // Phase 1: which form, and its fields.
    const auto authorization = req.header("authorization");
    const query_auth_params query_params(req.query);
    const bool query_auth = query_params.any_required();
    if (authorization && query_auth)
        return incomplete("Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the "
                          "Authorization header should be specified.");
    if (!authorization && !query_auth)
        return make_error("MissingAuthenticationToken", "Request is missing Authentication Token");
    auto fields = authorization ? from_header(req, *authorization) : from_query(query_params);
    if (!fields.ok()) return fields.err();
    const auto& f = *fields;

    if (f.algorithm != sigv4::algorithm)
        return incomplete("Unsupported AWS 'algorithm': '" + std::string(f.algorithm) + "'.");

    // Phase 2: credential scope, date, service, region.
    auto parts = split_credential(f.credential);
    if (!parts.ok()) return parts.err();
    const auto& [access_key_id, scope_date, scope_region, scope_service, terminator] = *parts;
    if (access_key_id.empty()) return make_error("InvalidClientTokenId", std::string(invalid_token_message));
    if (terminator != "aws4_request")
        return mismatch("Credential should be scoped with a valid terminator: 'aws4_request', not '" +
                        std::string(terminator) + "'.");
    const auto date = parse_date_seconds(f.amz_date);
    if (!date)
        return incomplete("Date must be in ISO-8601 'basic format'. Got '" + std::string(f.amz_date) +
                          "'. See http://en.wikipedia.org/wiki/ISO_8601");
    if (scope_date != f.amz_date.substr(0, 8))
        return mismatch("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
                        std::string(scope_date) + "' != '" + std::string(f.amz_date.substr(0, 8)) +
                        "', from 'X-Amz-Date'.");
    const auto& host = req.aws_host;
    const bool service_allowed =
        std::find(options.services.begin(), options.services.end(), scope_service) != options.services.end();
    if (host ? scope_service != host->service : !service_allowed) {
        const auto expected = host ? host->service : (options.services.empty() ? std::string{} : options.services.front());
        return mismatch("Credential should be scoped to correct service: '" + expected + "'. ");
    }
    if (host && scope_region != host->region)
        return mismatch("Credential should be scoped to a valid region, not '" + std::string(scope_region) + "'. ");
    auto& s = scratch();
    const auto signed_headers = split_signed_headers(f.signed_headers, s);
    if (std::find(signed_headers.begin(), signed_headers.end(), "host") == signed_headers.end())
        return incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");

    // Phase 3: who is signing.
    const auto* cred = config.find_credential(access_key_id);
    if (!cred) return make_error("InvalidClientTokenId", std::string(invalid_token_message));
    const auto& expected_token = cred->session_token.reveal();
    const auto provided_token = f.security_token.value_or(std::string_view{});
    if (!crypto::constant_time_equal(provided_token, expected_token))
        return make_error("InvalidClientTokenId", std::string(invalid_token_message));

    // Phase 4: time window around X-Amz-Date.
    const auto now_s = time_point_cast<seconds>(now);
    if (now_s > *date + options.window) return make_error("ExpiredToken", "Request has expired");
    if (*date > now_s + options.window)
        return mismatch("Signature not yet current: " + std::string(f.amz_date) + " is still later than " +
                        sigv4::format_amz_date(now + options.window) + " (" + sigv4::format_amz_date(now) + " + " +
                        std::to_string(duration_cast<minutes>(options.window).count()) + " min.)");

    // Phase 5: recompute and compare.
    const sigv4::credential_scope scope{std::string(scope_date), std::string(scope_region), std::string(scope_service)};
    // With a cache, the derived key comes prepared for HMAC; without, it is derived here.
    crypto::hmac_sha256_key* signer =
        options.keys != nullptr ? &options.keys->signer(cred->secret_access_key, scope) : nullptr;
    const auto key = signer != nullptr ? crypto::digest{} : sigv4::signing_key(cred->secret_access_key, scope);
    // Non-S3 services hash the body they received; a header-signed request cannot opt out. A
    // presigned one may say UNSIGNED-PAYLOAD instead (botocore); the body's hash is tried first,
    // as stsauth and the Go SDK sign tokens (either order accepts the same requests).
    const auto body_hash = req.body.empty() ? std::string{} : crypto::sha256_hex(req.body);
    const std::array<std::string_view, 2> payload_hashes{
        req.body.empty() ? sigv4::empty_payload_sha256 : std::string_view(body_hash), sigv4::unsigned_payload};
    for (std::size_t i = 0; i < (f.presigned ? 2U : 1U); ++i) {
        s.canonical_request.clear();
        sigv4::append_canonical_request(s.canonical_request, req.method, req.path, req.query, req.headers,
                                        payload_hashes[i], true, signed_headers);
        s.string_to_sign.clear();
        sigv4::append_string_to_sign(s.string_to_sign, f.amz_date, scope, s.canonical_request);
        // sigv4::signature, hex-encoded in place.
        const auto mac = signer != nullptr ? signer->mac(s.string_to_sign) : crypto::hmac_sha256(key, s.string_to_sign);
        std::array<char, 64> expected{};
        encoding::hex_encode_to(expected.data(), mac);
        if (crypto::constant_time_equal(std::string_view(expected.data(), expected.size()), f.signature))
            return authenticated{cred, scope, f.presigned};
    }
    return mismatch(std::string(signature_mismatch_message));
}

}  // namespace stsauth::fakests
