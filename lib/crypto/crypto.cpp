#include "crypto/crypto.hpp"

#include "common/encoding.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <memory>
#include <stdexcept>

namespace stsauth::crypto {
namespace {

// OpenSSL 3 looks an algorithm up in the provider store (locks, property parsing) on every
// implicit fetch (EVP_sha256() with EVP_Digest, HMAC() through EVP_Q_mac), and those one-shot
// calls also allocate and free a context each time. SigV4 makes five HMACs and one or two
// digests per request, so both are fetched once and each thread keeps one context of each,
// re-initialised per call.
//
// The fetched algorithms live until exit, reachable from these statics (never freed: a
// thread's context may outlive any static destructor order we could pick).
const EVP_MD* sha256_md() {
    static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (md == nullptr) throw std::runtime_error("EVP_MD_fetch(SHA256) failed");
    return md;
}

EVP_MAC* hmac_mac() {
    static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac == nullptr) throw std::runtime_error("EVP_MAC_fetch(HMAC) failed");
    return mac;
}

struct md_ctx_free {
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
struct mac_ctx_free {
    void operator()(EVP_MAC_CTX* c) const noexcept { EVP_MAC_CTX_free(c); }
};

EVP_MD_CTX* thread_md_ctx() {
    thread_local const std::unique_ptr<EVP_MD_CTX, md_ctx_free> ctx{EVP_MD_CTX_new()};
    if (!ctx) throw std::runtime_error("EVP_MD_CTX_new failed");
    return ctx.get();
}

// An HMAC context whose digest is set once; EVP_MAC_init then only installs the key.
std::unique_ptr<EVP_MAC_CTX, mac_ctx_free> new_hmac_ctx() {
    std::unique_ptr<EVP_MAC_CTX, mac_ctx_free> ctx{EVP_MAC_CTX_new(hmac_mac())};
    if (!ctx) throw std::runtime_error("EVP_MAC_CTX_new failed");
    char digest_name[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
                                 OSSL_PARAM_construct_end()};
    if (EVP_MAC_CTX_set_params(ctx.get(), params) != 1) throw std::runtime_error("HMAC: setting SHA256 failed");
    return ctx;
}

EVP_MAC_CTX* thread_hmac_ctx() {
    thread_local const std::unique_ptr<EVP_MAC_CTX, mac_ctx_free> ctx = new_hmac_ctx();
    return ctx.get();
}

}  // namespace

digest sha256(std::string_view bytes) {
    const EVP_MD* md = sha256_md();
    EVP_MD_CTX* ctx = thread_md_ctx();
    digest out{};
    unsigned int len = 0;
    if (EVP_DigestInit_ex2(ctx, md, nullptr) != 1 || EVP_DigestUpdate(ctx, bytes.data(), bytes.size()) != 1 ||
        EVP_DigestFinal_ex(ctx, out.data(), &len) != 1 || len != out.size())
        throw std::runtime_error("SHA-256 failed");
    return out;
}

std::string sha256_hex(std::string_view bytes) { return encoding::hex_encode(sha256(bytes)); }

namespace {

// EVP_MAC_init with a null key re-uses the context's previous key: an empty key must still be
// passed as a non-null pointer (HMAC with an empty key is well defined).
const std::uint8_t* key_bytes(std::span<const std::uint8_t> key) noexcept {
    static constexpr std::uint8_t no_key = 0;
    return key.empty() ? &no_key : key.data();
}

// One MAC on `ctx`: with `key` null, under the key the context already holds.
digest mac_on(EVP_MAC_CTX* ctx, const std::uint8_t* key, std::size_t key_len, std::string_view data) {
    digest out{};
    std::size_t len = 0;
    if (EVP_MAC_init(ctx, key, key_len, nullptr) != 1 ||
        EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
        EVP_MAC_final(ctx, out.data(), &len, out.size()) != 1 || len != out.size())
        throw std::runtime_error("HMAC-SHA256 failed");
    return out;
}

}  // namespace

digest hmac_sha256(std::span<const std::uint8_t> key, std::string_view data) {
    return mac_on(thread_hmac_ctx(), key_bytes(key), key.size(), data);
}

digest hmac_sha256(std::string_view key, std::string_view data) {
    return hmac_sha256(std::span(reinterpret_cast<const std::uint8_t*>(key.data()), key.size()), data);
}

void hmac_sha256_key::ctx_free::operator()(EVP_MAC_CTX* c) const noexcept { EVP_MAC_CTX_free(c); }

hmac_sha256_key::hmac_sha256_key(std::span<const std::uint8_t> key) : ctx_(new_hmac_ctx().release()) {
    if (EVP_MAC_init(ctx_.get(), key_bytes(key), key.size(), nullptr) != 1)
        throw std::runtime_error("HMAC-SHA256 key set-up failed");
}

hmac_sha256_key::hmac_sha256_key(hmac_sha256_key&&) noexcept = default;
hmac_sha256_key& hmac_sha256_key::operator=(hmac_sha256_key&&) noexcept = default;
hmac_sha256_key::~hmac_sha256_key() = default;

digest hmac_sha256_key::mac(std::string_view data) {
    if (!ctx_) throw std::runtime_error("HMAC-SHA256 failed");  // a moved-from key
    return mac_on(ctx_.get(), nullptr, 0, data);  // null: the key the constructor installed
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
