#pragma once
/// \file
/// The STS client interface used by authn (SPEC-decisions A3). Implementations: https_sts_client
/// (Beast, real TLS) and, in tests, hand-written fakes.

#include "sts/response.hpp"

#include <functional>
#include <string>

namespace stsauth::sts {

/// One GetCallerIdentity call, built by the token validator from validated pieces only.
/// `target` carries the presigned query (and thus the signature): it is sent, never logged,
/// never put in an outcome.
struct sts_request {
    std::string host;        ///< the token's allow-listed STS host, no port ("sts.us-west-2.amazonaws.com")
    std::string target;      ///< "/?Action=GetCallerIdentity&...", already validated and rebuilt
    std::string cluster_id;  ///< sent as `x-k8s-aws-id`
    std::string dedupe_key;  ///< e.g. SHA-256 of the token; calls in flight with the same key and
                             ///< cluster id share one upstream request; empty disables sharing
};

/// Asynchronous GetCallerIdentity.
class sts_client {
public:
    /// Receives the outcome exactly once, on an io thread (never inline in the caller of
    /// get_caller_identity). Must not throw and should not block: it runs on the I/O path.
    using callback = std::function<void(const sts_outcome&)>;

    virtual ~sts_client() = default;

    /// Starts the call; thread-safe, never blocks.
    virtual void get_caller_identity(sts_request request, callback cb) = 0;

protected:
    sts_client() = default;
    sts_client(const sts_client&) = default;
    sts_client& operator=(const sts_client&) = default;
};

}  // namespace stsauth::sts
