#pragma once
/// \file
/// The server's self-signed TLS certificate, generated and stored as the reference does
/// (SPEC-reference §6.4, pkg/config/certs/certs.go): `<state_dir>/cert.pem` and
/// `<state_dir>/key.pem`, loaded when both exist, generated when either is missing.

#include "common/result.hpp"
#include "common/secret.hpp"

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace stsauth::http {

/// Key algorithm of a generated certificate. The reference uses RSA-2048; A7 lets us default
/// to ECDSA P-256 (`--key-type rsa` selects RSA).
enum class key_type { ecdsa_p256, rsa2048 };

/// What to put in a generated certificate.
struct cert_request {
    std::string common_name = "aws-iam-authenticator";
    std::vector<std::string> dns_names;
    std::vector<std::string> ip_addresses;  ///< textual IPv4/IPv6
    key_type key = key_type::ecdsa_p256;
    std::chrono::hours validity{24 * 365 * 100};
};

/// A certificate and its private key, both PEM. The key PEM is the "traditional" encoding the
/// reference writes: `RSA PRIVATE KEY` (PKCS#1) for RSA, `EC PRIVATE KEY` (SEC 1) for ECDSA.
struct pem_pair {
    std::string cert_pem;
    secret<std::string> key_pem;
};

/// Generates a self-signed certificate exactly as §6.4: IsCA with a valid (critical)
/// BasicConstraints, KeyUsage KeyEncipherment|DigitalSignature|CertSign, ExtKeyUsage ServerAuth,
/// subject CN, a random positive 128-bit serial, NotBefore now, NotAfter now + validity, SANs from
/// the request. Error codes: "bad_ip_address", "bad_dns_name", "crypto_error".
result<pem_pair> generate_self_signed(const cert_request& request);

/// The SANs the reference derives from (server.address, server.hostname): the IP of `address`
/// unless it is unspecified (0.0.0.0, ::) or not an IP literal; then `hostname`, if non-empty,
/// as an IP (deduplicated against the address IP) when it is an IP literal, otherwise as a DNS
/// name. IPv4-mapped IPv6 literals count as IPv4, as Go's net.IP does.
cert_request cert_request_for(std::string_view address, std::string_view hostname, key_type key);

/// Checks that `pair` parses (first certificate of cert_pem, any private key PEM) and that the
/// key matches the certificate's public key. Error codes: "bad_certificate", "bad_private_key",
/// "key_mismatch".
status check_pem_pair(const pem_pair& pair);

/// Load-or-create of §6.4 in `state_dir` (created if missing, as the reference's MkdirAll): when both `cert.pem` and
/// `key.pem` exist they are loaded and checked (check_pem_pair; an invalid pair is an error, never
/// silently replaced); when either is missing a new pair is generated from `request` and both are
/// written, `cert.pem` 0644 and `key.pem` 0600, each through a temporary file and a rename.
/// Error codes: those of check_pem_pair and generate_self_signed, plus "io_error".
result<pem_pair> load_or_create(const std::filesystem::path& state_dir, const cert_request& request);

/// Reads a whole file. Error code: "io_error" (message names the path, never the content).
result<std::string> read_file(const std::filesystem::path& path);

}  // namespace stsauth::http
