#include "crypto/crypto.hpp"

#include "common/encoding.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <memory>
#include <stdexcept>

namespace stsauth::crypto {

digest sha256(std::string_view bytes) {
    digest out{};
    unsigned int len = 0;
    // Fetched once: EVP_sha256() makes every EVP_Digest look the algorithm up again (OpenSSL 3).
    static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (EVP_Digest(bytes.data(), bytes.size(), out.data(), &len, md != nullptr ? md : EVP_sha256(), nullptr) != 1 ||
        len != out.size())
        throw std::runtime_error("EVP_Digest(SHA-256) failed");
    return out;
}

std::string sha256_hex(std::string_view bytes) { return encoding::hex_encode(sha256(bytes)); }

digest hmac_sha256(std::span<const std::uint8_t> key, std::string_view data) {
    digest out{};
    unsigned int len = 0;
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len) ==
            nullptr ||
        len != out.size())
        throw std::runtime_error("HMAC-SHA256 failed");
    return out;
}

digest hmac_sha256(std::string_view key, std::string_view data) {
    return hmac_sha256(std::span(reinterpret_cast<const std::uint8_t*>(key.data()), key.size()), data);
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_bytes(std::size_t n) {
    std::string out(n, '\0');
    if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
        throw std::runtime_error("RAND_bytes failed");
    return out;
}

}  // namespace stsauth::crypto
