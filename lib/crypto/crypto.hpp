#pragma once
/// \file
/// SHA-256 and HMAC-SHA256 through OpenSSL EVP; the only place in stsauth that includes
/// OpenSSL's digest headers. Thread-safe: the algorithms are fetched once per process and each
/// thread re-uses one digest and one MAC context (no algorithm look-up or context per call).

#include <array>
#include <memory>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

struct evp_mac_ctx_st;  // OpenSSL's EVP_MAC_CTX, kept opaque here

namespace stsauth::crypto {

using digest = std::array<std::uint8_t, 32>;

/// SHA-256 of bytes.
digest sha256(std::string_view bytes);
/// Lower-case hex SHA-256 of bytes (SigV4's HexEncode(Hash(x))).
std::string sha256_hex(std::string_view bytes);
/// HMAC-SHA256(key, data).
digest hmac_sha256(std::span<const std::uint8_t> key, std::string_view data);
digest hmac_sha256(std::string_view key, std::string_view data);

/// An HMAC-SHA256 key prepared once: its inner and outer padded blocks are hashed when it is
/// made, so each mac() hashes only the data (two compressions and the key set-up fewer than
/// hmac_sha256, for a SigV4 verifier that signs with one derived key per client and day).
/// Holds its own OpenSSL context: use it from one thread at a time.
class hmac_sha256_key {
public:
    /// Throws std::runtime_error when OpenSSL fails.
    explicit hmac_sha256_key(std::span<const std::uint8_t> key);
    hmac_sha256_key(hmac_sha256_key&&) noexcept;
    hmac_sha256_key& operator=(hmac_sha256_key&&) noexcept;
    ~hmac_sha256_key();

    /// hmac_sha256(key, data).
    digest mac(std::string_view data);

private:
    struct ctx_free {
        void operator()(::evp_mac_ctx_st* c) const noexcept;
    };
    std::unique_ptr<::evp_mac_ctx_st, ctx_free> ctx_;
};

/// Constant-time comparison of two equal-length byte strings (false when lengths differ).
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

/// Cryptographically secure random bytes (RAND_bytes). Throws std::runtime_error on failure.
std::string random_bytes(std::size_t n);

inline std::string_view as_chars(const digest& d) {
    return {reinterpret_cast<const char*>(d.data()), d.size()};
}

}  // namespace stsauth::crypto
