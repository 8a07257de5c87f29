#pragma once
/// \file
/// SHA-256 and HMAC-SHA256 through OpenSSL EVP; the only place in stsauth that includes
/// OpenSSL's digest headers. Thread-safe: the algorithms are fetched once per process and each
/// thread re-uses one digest and one MAC context (no algorithm look-up or context per call).

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace stsauth::crypto {

using digest = std::array<std::uint8_t, 32>;

/// SHA-256 of bytes.
digest sha256(std::string_view bytes);
/// Lower-case hex SHA-256 of bytes (SigV4's HexEncode(Hash(x))).
std::string sha256_hex(std::string_view bytes);
/// HMAC-SHA256(key, data).
digest hmac_sha256(std::span<const std::uint8_t> key, std::string_view data);
digest hmac_sha256(std::string_view key, std::string_view data);

/// Constant-time comparison of two equal-length byte strings (false when lengths differ).
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

/// Cryptographically secure random bytes (RAND_bytes). Throws std::runtime_error on failure.
std::string random_bytes(std::size_t n);

inline std::string_view as_chars(const digest& d) {
    return {reinterpret_cast<const char*>(d.data()), d.size()};
}

}  // namespace stsauth::crypto
