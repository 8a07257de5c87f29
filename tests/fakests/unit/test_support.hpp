#pragma once
// Shared fixtures of the fake STS unit tests: a configuration and presigned requests made with
// stsauth's signer (the interop tests use awscli and botocore as independent signers).

#include "aws_request.hpp"
#include "fake_config.hpp"

#include "sigv4/sigv4.hpp"

#include <chrono>
#include <string>

namespace stsauth::fakests::testing {

inline const auto t0 = *sigv4::parse_amz_date("20230428T000000Z");

inline sigv4::credentials long_term() {
    return {"AKIDEXAMPLE", secret<std::string>("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), {}};
}
inline sigv4::credentials temporary() {
    return {"ASIAEXAMPLETEMP", secret<std::string>("je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"),
            secret<std::string>("IQoJb3JpZ2luX2Vj//////////+token/with=special+chars==")};
}

inline fake_config test_config() {
    fake_config cfg;
    const auto a = long_term();
    const auto b = temporary();
    cfg.credentials.push_back({a.access_key_id, a.secret_access_key, {}, "arn:aws:iam::111122223333:user/alice",
                               "AIDAEXAMPLEALICE", "111122223333"});
    cfg.credentials.push_back({b.access_key_id, b.secret_access_key, b.session_token,
                               "arn:aws:sts::444455556666:assumed-role/Admin/bob", "AROAEXAMPLE:bob", "444455556666"});
    cfg.instances.push_back({"i-0123456789abcdef0", "ip-10-0-0-1.us-west-2.compute.internal"});
    cfg.instances.push_back({"i-0fedcba9876543210", "ip-10-0-0-2.us-west-2.compute.internal"});
    return cfg;
}

/// A presigned GetCallerIdentity request and the headers its sender puts on the wire.
struct presigned {
    sigv4::request signed_request;
    std::vector<sigv4::header_field> sent_headers;

    /// The request target ("/?...") of the (possibly modified) signed request.
    std::string target() const {
        const auto url = sigv4::to_url(signed_request);
        return url.substr(url.find('/', 8));
    }
    http_request_in in() const { return {"GET", target(), sent_headers, {}}; }

    void set_param(const std::string& key, const std::string& value) {
        for (auto& p : signed_request.query)
            if (p.key == key) {
                p.value = value;
                return;
            }
        signed_request.query.push_back({key, value});
    }
    void remove_param(const std::string& key) {
        std::erase_if(signed_request.query, [&](const auto& p) { return p.key == key; });
    }
    std::string param(const std::string& key) const {
        for (const auto& p : signed_request.query)
            if (p.key == key) return p.value;
        return {};
    }
    void set_header(const std::string& name, const std::string& value) {
        for (auto& h : sent_headers)
            if (h.name == name) {
                h.value = value;
                return;
            }
        sent_headers.push_back({name, value});
    }
};

struct token_spec {
    sigv4::credentials creds = long_term();
    std::string region = "us-west-2";
    std::string host = "sts.us-west-2.amazonaws.com";
    std::string cluster = "test-cluster";
    std::chrono::system_clock::time_point time = t0;
    std::string payload_hash{sigv4::unsigned_payload};
    std::string service = "sts";
};

inline presigned make_token(const token_spec& spec = {}) {
    presigned p;
    p.signed_request.method = "GET";
    p.signed_request.path.push_back('/');  // not = "/": GCC 12 -O3 reports a false -Wrestrict
    p.signed_request.query = {{"Action", "GetCallerIdentity"}, {"Version", "2011-06-15"}};
    p.signed_request.headers = {{"Host", spec.host}, {"x-k8s-aws-id", spec.cluster}};
    sigv4::presign(p.signed_request, spec.creds, {spec.region, spec.service, spec.time}, std::chrono::seconds(60),
                   spec.payload_hash);
    p.sent_headers = {{"Host", spec.host}, {"x-k8s-aws-id", spec.cluster}, {"Accept", "application/json"}};
    return p;
}

}  // namespace stsauth::fakests::testing
