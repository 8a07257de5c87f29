#pragma once
// Builds syntactically valid presigned GetCallerIdentity URLs and tokens for a given time, so a
// test case differs from a valid token by exactly one thing.

#include "common/encoding.hpp"
#include "sigv4/sigv4.hpp"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace stsauth::token::testing {

using std::chrono::system_clock;

/// 2023-04-28T00:00:00Z, the signing time of the reference's TestGetWithSTS vector.
inline system_clock::time_point t0() {
    using namespace std::chrono;
    return system_clock::time_point{sys_days{year{2023} / April / 28}};
}

inline constexpr const char* test_akid = "ASIAR2TG44V6AS3ZZE7C";
inline constexpr const char* test_signature = "e211dba77aba9dc44b0b6be38b8eaad092599c5157f6314444c5b9d85747f5ce";
/// A session token with characters that must be percent-encoded (+ / =).
inline constexpr const char* test_session_token = "FwoGZXIvYXdzEBY+aGVsbG8/d29ybGQ=";

inline std::string enc(std::string_view url) { return "k8s-aws-v1." + encoding::base64url_encode(url); }

struct url_builder {
    std::string scheme = "https";
    std::string authority = "sts.us-west-2.amazonaws.com";
    std::string path = "/";
    /// Raw (already percent-encoded) key and value, in URL order.
    std::vector<std::pair<std::string, std::string>> params;

    std::string url() const {
        std::string out = scheme + "://" + authority + path;
        for (std::size_t i = 0; i < params.size(); ++i) {
            out += i == 0 ? '?' : '&';
            out += params[i].first + "=" + params[i].second;
        }
        return out;
    }
    std::string token() const { return enc(url()); }

    /// Replaces the raw value of the parameter named exactly `key` (appends it when absent).
    url_builder& set(const std::string& key, std::string raw_value) {
        for (auto& [k, v] : params)
            if (k == key) {
                v = std::move(raw_value);
                return *this;
            }
        params.emplace_back(key, std::move(raw_value));
        return *this;
    }
    url_builder& remove(const std::string& key) {
        std::erase_if(params, [&](const auto& p) { return p.first == key; });
        return *this;
    }
    url_builder& add(std::string key, std::string raw_value) {
        params.emplace_back(std::move(key), std::move(raw_value));
        return *this;
    }
};

/// A presigned URL as the Go SDK / botocore produce it, signed at `signed_at` for `host` (whose
/// SigV4 region is `region`), with a session token. Signature bytes are syntactically valid only.
inline url_builder valid_url(system_clock::time_point signed_at = t0(),
                             std::string host = "sts.us-west-2.amazonaws.com", std::string region = "us-west-2") {
    const auto date = sigv4::format_amz_date(signed_at);
    url_builder b;
    b.authority = std::move(host);
    b.params = {
        {"Action", "GetCallerIdentity"},
        {"Version", "2011-06-15"},
        {"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
        {"X-Amz-Credential", std::string(test_akid) + "%2F" + date.substr(0, 8) + "%2F" + region + "%2Fsts%2Faws4_request"},
        {"X-Amz-Date", date},
        {"X-Amz-Expires", "60"},
        {"X-Amz-Security-Token", encoding::uri_encode(test_session_token)},
        {"X-Amz-SignedHeaders", "host%3Bx-k8s-aws-id"},
        {"X-Amz-Signature", test_signature},
    };
    return b;
}

}  // namespace stsauth::token::testing
