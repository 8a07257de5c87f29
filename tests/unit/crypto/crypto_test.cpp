#include "crypto/crypto.hpp"
#include "common/encoding.hpp"

#include <catch2/catch.hpp>

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
