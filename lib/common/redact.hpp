#pragma once
/// \file
/// Redaction helpers for logs: a presigned URL or token never reaches a log line whole.

#include <string>
#include <string_view>

namespace stsauth {

/// Replaces the values of X-Amz-Signature, X-Amz-Security-Token and X-Amz-Credential
/// (any key case) in a URL or query string with "[redacted]".
std::string redact_url(std::string_view url);

/// A short, non-reversible fingerprint of a token for correlating log lines: the first 8 hex
/// digits of its SHA-256 are not available here (no crypto in common), so callers pass the
/// hash they already computed; this helper only formats "sha256:<first 8 hex>".
std::string token_fingerprint(std::string_view sha256_hex);

}  // namespace stsauth
