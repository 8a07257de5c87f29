#pragma once
// Test support: builds real presigned GetCallerIdentity tokens with lib/sigv4, the way
// `stsauth token` does, for a chosen time, region, cluster and credentials.

#include "common/encoding.hpp"
#include "sigv4/sigv4.hpp"

#include <chrono>
#include <string>

namespace stsauth::testing {

struct token_spec {
    std::string access_key_id = "AKIDEXAMPLE";
    std::string secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    std::string session_token;
    std::string region = "us-west-2";
    std::string host;  ///< default sts.<region>.amazonaws.com
    std::string cluster_id = "test-cluster";
    std::chrono::system_clock::time_point time = std::chrono::system_clock::now();
};

inline std::string presigned_url(const token_spec& spec) {
    sigv4::request req;
    req.query = {{"Action", "GetCallerIdentity"}, {"Version", "2011-06-15"}};
    const std::string host = spec.host.empty() ? "sts." + spec.region + ".amazonaws.com" : spec.host;
    req.headers = {{"host", host}, {"x-k8s-aws-id", spec.cluster_id}};
    sigv4::credentials creds{spec.access_key_id, secret<std::string>(spec.secret_access_key),
                             secret<std::string>(spec.session_token)};
    sigv4::presign(req, creds, {spec.region, "sts", spec.time}, std::chrono::seconds(60));
    return sigv4::to_url(req);
}

inline std::string make_token(const token_spec& spec) {
    return "k8s-aws-v1." + encoding::base64url_encode(presigned_url(spec));
}

}  // namespace stsauth::testing
