#include "crypto/crypto.hpp"
#include "common/encoding.hpp"

#include <catch2/catch.hpp>
#include <openssl/evp.h>

#include <atomic>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

using namespace stsauth;

TEST_CASE("sha256 known answers", "[crypto]") {
    CHECK(crypto::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(crypto::sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("hmac-sha256 RFC 4231 test case 2", "[crypto]") {
    const auto mac = crypto::hmac_sha256(std::string_view("Jefe"), "what do ya want for nothing?");
    CHECK(encoding::hex_encode(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("constant_time_equal", "[crypto]") {
    CHECK(crypto::constant_time_equal("abc", "abc"));
    CHECK_FALSE(crypto::constant_time_equal("abc", "abd"));
    CHECK_FALSE(crypto::constant_time_equal("abc", "abcd"));
}

TEST_CASE("random_bytes", "[crypto]") {
    CHECK(crypto::random_bytes(16).size() == 16);
    CHECK(crypto::random_bytes(16) != crypto::random_bytes(16));
}

TEST_CASE("hmac-sha256 RFC 4231 test case 6 (key longer than a block)", "[crypto]") {
    const std::string key(131, '\xaa');
    const auto mac = crypto::hmac_sha256(key, "Test Using Larger Than Block-Size Key - Hash Key First");
    CHECK(encoding::hex_encode(mac) == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST_CASE("hmac-sha256 with an empty key right after a non-empty one", "[crypto]") {
    // The per-thread context must not keep the previous key when the new one is empty.
    (void)crypto::hmac_sha256(std::string_view("previous key"), "x");
    CHECK(encoding::hex_encode(crypto::hmac_sha256(std::string_view(), "")) ==
          "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
    (void)crypto::hmac_sha256(std::string_view("previous key"), "x");
    CHECK(encoding::hex_encode(crypto::hmac_sha256(std::span<const std::uint8_t>(), "")) ==
          "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

namespace {

// OpenSSL's one-shot calls (implicit fetch, fresh context every call): the reference the
// reused per-thread contexts of lib/crypto must agree with.
std::string reference_sha256(std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    REQUIRE(EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr) == 1);
    return encoding::hex_encode(std::string_view(reinterpret_cast<const char*>(out), len));
}

std::string reference_hmac(std::string_view key, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    std::size_t len = 0;
    static const unsigned char empty = 0;
    REQUIRE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr,
                      key.empty() ? &empty : reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                      reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, sizeof out,
                      &len) != nullptr);
    return encoding::hex_encode(std::string_view(reinterpret_cast<const char*>(out), len));
}

struct crypto_case {
    std::string key;   // 0..200 bytes: empty, shorter than, equal to and longer than a block (64)
    std::string data;  // 0..300 bytes
    std::string want_sha256;
    std::string want_hmac;
};

std::string random_string(std::mt19937& rng, std::size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng() & 0xff);
    return s;
}

}  // namespace

TEST_CASE("reused contexts agree with one-shot OpenSSL calls, from two threads", "[crypto]") {
    std::mt19937 rng(20240611);
    std::vector<crypto_case> cases;
    for (std::size_t i = 0; i < 600; ++i) {
        const std::size_t key_len = i % 7 == 0 ? 0 : (i % 3 == 0 ? 64 : rng() % 201);
        const std::size_t data_len = i % 11 == 0 ? 0 : rng() % 301;
        crypto_case c{random_string(rng, key_len), random_string(rng, data_len), {}, {}};
        c.want_sha256 = reference_sha256(c.data);
        c.want_hmac = reference_hmac(c.key, c.data);
        cases.push_back(std::move(c));
    }

    // Each thread walks the cases in its own order, interleaving digests and MACs; Catch2's
    // assertions are not thread-safe, so threads count mismatches and the test checks them after.
    std::atomic<int> mismatches{0};
    std::atomic<int> checked{0};
    auto worker = [&](bool reverse) {
        for (int round = 0; round < 5; ++round) {
            for (std::size_t n = 0; n < cases.size(); ++n) {
                const auto& c = cases[reverse ? cases.size() - 1 - n : n];
                if (crypto::sha256_hex(c.data) != c.want_sha256) ++mismatches;
                if (encoding::hex_encode(crypto::hmac_sha256(c.key, c.data)) != c.want_hmac) ++mismatches;
                const std::span key_bytes(reinterpret_cast<const std::uint8_t*>(c.key.data()), c.key.size());
                if (encoding::hex_encode(crypto::hmac_sha256(key_bytes, c.data)) != c.want_hmac) ++mismatches;
                if (encoding::hex_encode(crypto::sha256(c.data)) != c.want_sha256) ++mismatches;
                ++checked;
            }
        }
    };
    std::thread a(worker, false);
    std::thread b(worker, true);
    a.join();
    b.join();
    CHECK(checked.load() == 2 * 5 * static_cast<int>(cases.size()));
    CHECK(mismatches.load() == 0);

    // And on this thread too, after the others are gone.
    for (const auto& c : cases) {
        CHECK(crypto::sha256_hex(c.data) == c.want_sha256);
        CHECK(encoding::hex_encode(crypto::hmac_sha256(c.key, c.data)) == c.want_hmac);
    }
}

TEST_CASE("hmac_sha256_key agrees with hmac_sha256, call after call, keys interleaved", "[crypto]") {
    std::mt19937 rng(20261124);
    // Empty, shorter than, equal to and longer than a block (64 bytes).
    std::vector<std::string> keys{"", "Jefe", random_string(rng, 64), random_string(rng, 131), random_string(rng, 32)};
    std::vector<crypto::hmac_sha256_key> prepared;
    for (const auto& k : keys)
        prepared.emplace_back(std::span(reinterpret_cast<const std::uint8_t*>(k.data()), k.size()));
    // RFC 4231 test case 2, through the prepared key.
    CHECK(encoding::hex_encode(prepared[1].mac("what do ya want for nothing?")) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    for (int round = 0; round < 3; ++round) {
        for (std::size_t i = 0; i < keys.size(); ++i) {
            const auto data = random_string(rng, rng() % 301);
            INFO("key " << i << ", round " << round);
            CHECK(encoding::hex_encode(prepared[i].mac(data)) == reference_hmac(keys[i], data));
            // The per-thread context of hmac_sha256 with another key in between changes nothing.
            (void)crypto::hmac_sha256(std::string_view("other"), data);
            CHECK(encoding::hex_encode(prepared[i].mac(data)) == reference_hmac(keys[i], data));
        }
    }
    // Moved, it still holds its key.
    crypto::hmac_sha256_key moved = std::move(prepared[1]);
    CHECK(encoding::hex_encode(moved.mac("what do ya want for nothing?")) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}
