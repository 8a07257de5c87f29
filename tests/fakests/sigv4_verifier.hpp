#pragma once
/// \file
/// Server-side SigV4 verification as STS and EC2 perform it, for both forms of a signed request:
/// query-string presigning (X-Amz-* parameters, what a token carries) and header signing
/// (Authorization header, what SDK clients send). Pure: `now` is a parameter.
///
/// Errors carry the AWS error code as `code` (InvalidClientTokenId, SignatureDoesNotMatch,
/// ExpiredToken, IncompleteSignature, MissingAuthenticationToken) and AWS's message, never a
/// signature, secret key or session token. Order of checks: auth parameters present and well
/// formed, algorithm, credential scope (terminator, date, service, region), access key,
/// session token, time window, signature.

#include "aws_request.hpp"
#include "fake_config.hpp"

#include "common/result.hpp"
#include "sigv4/sigv4.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace stsauth::fakests {

struct verify_options {
    /// Services a credential scope may name. When the Host is an AWS endpoint name
    /// (classify_host), the scope must name that endpoint's service and region.
    std::vector<std::string> services{"sts", "ec2"};
    /// Accepted distance between X-Amz-Date and `now`, both ways (STS: 15 minutes, and
    /// X-Amz-Expires is ignored, SPEC-reference §1.1).
    std::chrono::seconds window{std::chrono::minutes(15)};
};

/// A request whose signature verified.
struct authenticated {
    const credential_entry* credential = nullptr;  ///< points into the fake_config passed in
    sigv4::credential_scope scope;
    bool presigned = false;  ///< query-string (true) or Authorization header (false)
};

/// Verifies the SigV4 signature of `req` against the keys of `config`.
///
/// Presigned requests: the canonical request is recomputed over the received query (minus
/// X-Amz-Signature) and the received headers named in X-Amz-SignedHeaders (which must include
/// `host`); both payload-hash conventions are accepted (UNSIGNED-PAYLOAD, botocore; the SHA-256
/// of the body, the Go SDK). Header-signed requests: the payload hash is the SHA-256 of the body
/// received (as every non-S3 service computes it); the X-Amz-Date header is required.
/// The signature is compared in constant time.
result<authenticated> authenticate(const parsed_request& req, const fake_config& config,
                                   std::chrono::system_clock::time_point now, const verify_options& options = {});

}  // namespace stsauth::fakests
