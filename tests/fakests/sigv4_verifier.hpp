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
#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

namespace stsauth::fakests {

/// Derived SigV4 signing keys (four HMACs each), remembered by what they are derived from:
/// the secret access key and the credential scope (date, region, service). A client signs
/// every request of a day with the same key, so a busy fake derives each key once.
/// Bounded: emptied when it holds `max_entries`. Not thread-safe: one per I/O thread.
class signing_key_cache {
public:
    static constexpr std::size_t max_entries = 4096;

    /// sigv4::signing_key(secret_access_key, scope), derived on a miss.
    crypto::digest get(const secret<std::string>& secret_access_key, const sigv4::credential_scope& scope);
    /// The same key prepared for HMAC (its pads hashed once); valid until the next call.
    crypto::hmac_sha256_key& signer(const secret<std::string>& secret_access_key, const sigv4::credential_scope& scope);

    std::size_t size() const { return keys_.size(); }
    /// How many keys were derived (misses), for tests.
    std::size_t derivations() const { return derivations_; }

private:
    struct entry {
        crypto::digest key;
        crypto::hmac_sha256_key signer;
    };
    entry& find(const secret<std::string>& secret_access_key, const sigv4::credential_scope& scope);

    std::unordered_map<std::string, entry> keys_;
    std::string lookup_;  ///< scratch for the map key, re-used so a hit allocates nothing
    std::size_t derivations_ = 0;
};

struct verify_options {
    /// Services a credential scope may name. When the Host is an AWS endpoint name
    /// (classify_host), the scope must name that endpoint's service and region.
    std::vector<std::string> services{"sts", "ec2"};
    /// Accepted distance between X-Amz-Date and `now`, both ways (STS: 15 minutes, and
    /// X-Amz-Expires is ignored, SPEC-reference §1.1).
    std::chrono::seconds window{std::chrono::minutes(15)};
    /// Where derived signing keys are remembered; nullptr derives the key for every request.
    /// Not owned. A cache changes no outcome: the key is a function of what it is looked up by.
    signing_key_cache* keys = nullptr;
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
