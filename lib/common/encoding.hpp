#pragma once
/// \file
/// Byte encodings used across stsauth: strict base64url (token envelope), standard base64,
/// lower-case hex, and SigV4's URI encoding.

#include "common/result.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace stsauth::encoding {

/// base64url without padding (RFC 4648 §5), as Go's base64.RawURLEncoding.
std::string base64url_encode(std::string_view bytes);

/// Strict base64url decode: only [A-Za-z0-9_-], no padding, no whitespace, canonical trailing
/// bits (the unused low bits of the last symbol must be zero), length mod 4 != 1.
/// Error codes: "bad_base64".
result<std::string> base64url_decode(std::string_view text);

/// Standard base64 with padding (RFC 4648 §4).
std::string base64_encode(std::string_view bytes);
/// Standard base64 decode with padding; whitespace not allowed. Error code: "bad_base64".
result<std::string> base64_decode(std::string_view text);

/// Lower-case hex of bytes.
std::string hex_encode(std::span<const std::uint8_t> bytes);
std::string hex_encode(std::string_view bytes);
/// The same, written to `out` (room for 2 * bytes.size() chars), or appended to a string.
void hex_encode_to(char* out, std::span<const std::uint8_t> bytes) noexcept;
void hex_encode_append(std::string& out, std::span<const std::uint8_t> bytes);

/// SigV4 URI encoding (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html):
/// every byte except A-Z a-z 0-9 - _ . ~ is %XX with upper-case hex; '/' is kept when
/// encode_slash is false (paths).
std::string uri_encode(std::string_view bytes, bool encode_slash = true);
/// Same, appended to `out` (no temporary string).
void uri_encode_to(std::string& out, std::string_view bytes, bool encode_slash = true);
/// True when `text` is already what uri_encode(percent_decode(text, true)) would make of it:
/// only unreserved bytes and "%XX" escapes (upper-case hex) of bytes that are not unreserved.
/// Lets a caller keep an already-canonical query component instead of re-encoding it.
bool uri_canonical(std::string_view text) noexcept;

/// Percent-decoding of one query component: "%XX" with hex digits (either case) is decoded,
/// '+' stays '+' unless plus_as_space. A '%' not followed by two hex digits is an error
/// ("bad_percent_encoding").
result<std::string> percent_decode(std::string_view text, bool plus_as_space = false);
/// Same, appended to `out`; false (with `out` holding a partial result) on a bad escape.
bool percent_decode_to(std::string& out, std::string_view text, bool plus_as_space = false);

/// True when s equals t ignoring ASCII case.
bool iequals(std::string_view s, std::string_view t) noexcept;
/// ASCII lower-case copy.
std::string to_lower(std::string_view s);
/// The ASCII lower-case of `s`, appended to `out`.
void append_lower(std::string& out, std::string_view s);

}  // namespace stsauth::encoding
