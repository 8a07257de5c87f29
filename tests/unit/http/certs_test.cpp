#include "support/temp_dir.hpp"
#include "http/certs.hpp"
#include "http/openssl_handles.hpp"

#include <catch2/catch.hpp>
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>

using namespace stsauth;
using namespace stsauth::http;
namespace fs = std::filesystem;

namespace {

x509_ptr parse_cert(const std::string& pem) {
    bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    return x509_ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

struct sans {
    std::vector<std::string> dns;
    std::vector<std::string> ips;
};

sans read_sans(X509* cert) {
    sans out;
    general_names_ptr names(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
    if (!names) return out;
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
        if (gn->type == GEN_DNS) {
            out.dns.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(gn->d.dNSName)),
                                 static_cast<std::size_t>(ASN1_STRING_length(gn->d.dNSName)));
        } else if (gn->type == GEN_IPADD) {
            std::array<char, INET6_ADDRSTRLEN> buf{};
            int len = ASN1_STRING_length(gn->d.iPAddress);
            inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(gn->d.iPAddress), buf.data(), buf.size());
            out.ips.emplace_back(buf.data());
        }
    }
    return out;
}

struct temp_dir : stsauth::test::temp_dir {
    temp_dir() : stsauth::test::temp_dir("stsauth-certs") {}
};

unsigned mode_of(const fs::path& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

void write_text(const fs::path& p, const std::string& text) {
    std::ofstream(p, std::ios::binary) << text;
}

}  // namespace

TEST_CASE("cert_request_for: SAN cases of SPEC-reference 6.4", "[certs]") {
    SECTION("(127.0.0.1, 127.0.0.1) => IPs [127.0.0.1], DNS []") {
        auto r = cert_request_for("127.0.0.1", "127.0.0.1", key_type::rsa2048);
        CHECK(r.ip_addresses == std::vector<std::string>{"127.0.0.1"});
        CHECK(r.dns_names.empty());
        CHECK(r.key == key_type::rsa2048);
        CHECK(r.common_name == "aws-iam-authenticator");
    }
    SECTION("(192.0.2.1, example.com) => IPs [192.0.2.1], DNS [example.com]") {
        auto r = cert_request_for("192.0.2.1", "example.com", key_type::ecdsa_p256);
        CHECK(r.ip_addresses == std::vector<std::string>{"192.0.2.1"});
        CHECK(r.dns_names == std::vector<std::string>{"example.com"});
    }
    SECTION("(::, 2001:db8::1:0) => IPs [2001:db8::1:0]") {
        auto r = cert_request_for("::", "2001:db8::1:0", key_type::ecdsa_p256);
        CHECK(r.ip_addresses == std::vector<std::string>{"2001:db8::1:0"});
        CHECK(r.dns_names.empty());
    }
    SECTION("0.0.0.0 is unspecified and contributes nothing") {
        auto r = cert_request_for("0.0.0.0", "", key_type::ecdsa_p256);
        CHECK(r.ip_addresses.empty());
        CHECK(r.dns_names.empty());
    }
    SECTION("an IPv4-mapped hostname equals the IPv4 address (Go's net.IP.Equal)") {
        auto r = cert_request_for("10.1.2.3", "::ffff:10.1.2.3", key_type::ecdsa_p256);
        CHECK(r.ip_addresses == std::vector<std::string>{"10.1.2.3"});
    }
    SECTION("a non-IP address contributes nothing; distinct IPs are both kept") {
        CHECK(cert_request_for("localhost", "", key_type::ecdsa_p256).ip_addresses.empty());
        auto r = cert_request_for("10.0.0.1", "10.0.0.2", key_type::ecdsa_p256);
        CHECK(r.ip_addresses == std::vector<std::string>{"10.0.0.1", "10.0.0.2"});
    }
}

TEST_CASE("generate_self_signed: certificate shaped as the reference's", "[certs]") {
    const auto type = GENERATE(key_type::ecdsa_p256, key_type::rsa2048);
    cert_request req = cert_request_for("192.0.2.1", "example.com", type);
    req.ip_addresses.push_back("2001:db8::1");
    auto pair = generate_self_signed(req);
    REQUIRE(pair.ok());
    REQUIRE(check_pem_pair(*pair).ok());

    const std::string& key_pem = pair->key_pem.reveal();
    if (type == key_type::rsa2048) {
        CHECK(key_pem.rfind("-----BEGIN RSA PRIVATE KEY-----", 0) == 0);
    } else {
        CHECK(key_pem.rfind("-----BEGIN EC PRIVATE KEY-----", 0) == 0);
    }
    CHECK(pair->cert_pem.rfind("-----BEGIN CERTIFICATE-----", 0) == 0);

    x509_ptr cert = parse_cert(pair->cert_pem);
    REQUIRE(cert);
    EVP_PKEY* pub = X509_get0_pubkey(cert.get());
    if (type == key_type::rsa2048) {
        CHECK(EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA);
        CHECK(EVP_PKEY_get_bits(pub) == 2048);
    } else {
        CHECK(EVP_PKEY_get_base_id(pub) == EVP_PKEY_EC);
        CHECK(EVP_PKEY_get_bits(pub) == 256);
    }

    // Self-signed: issuer == subject and the signature verifies with its own key.
    CHECK(X509_NAME_cmp(X509_get_subject_name(cert.get()), X509_get_issuer_name(cert.get())) == 0);
    CHECK(X509_verify(cert.get(), pub) == 1);
    std::array<char, 256> cn{};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, cn.data(), cn.size());
    CHECK(std::string(cn.data()) == "aws-iam-authenticator");

    CHECK(X509_get_version(cert.get()) == X509_VERSION_3);
    CHECK(X509_check_ca(cert.get()) >= 1);
    int crit = -1;
    auto* bc = static_cast<BASIC_CONSTRAINTS*>(X509_get_ext_d2i(cert.get(), NID_basic_constraints, &crit, nullptr));
    REQUIRE(bc != nullptr);
    CHECK(bc->ca != 0);
    CHECK(crit == 1);
    BASIC_CONSTRAINTS_free(bc);

    CHECK((X509_get_extension_flags(cert.get()) & EXFLAG_KUSAGE) != 0);
    CHECK(X509_get_key_usage(cert.get()) == (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT | KU_KEY_CERT_SIGN));
    CHECK(X509_get_extended_key_usage(cert.get()) == XKU_SSL_SERVER);
    CHECK(X509_get0_subject_key_id(cert.get()) != nullptr);

    // Random positive serial of at most 128 bits.
    bignum_ptr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr));
    REQUIRE(serial);
    CHECK(!BN_is_negative(serial.get()));
    CHECK(!BN_is_zero(serial.get()));
    CHECK(BN_num_bits(serial.get()) <= 128);

    // NotBefore now, NotAfter now + 100 x 365 days.
    int days = 0, secs = 0;
    REQUIRE(ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notBefore(cert.get())) == 1);
    CHECK(std::abs(days * 86400 + secs) < 120);
    REQUIRE(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(cert.get()), X509_get0_notAfter(cert.get())) == 1);
    CHECK(days == 36500);
    CHECK(secs == 0);

    sans s = read_sans(cert.get());
    CHECK(s.dns == std::vector<std::string>{"example.com"});
    CHECK(s.ips == std::vector<std::string>{"192.0.2.1", "2001:db8::1"});
    CHECK(X509_check_host(cert.get(), "example.com", 0, 0, nullptr) == 1);
    CHECK(X509_check_ip_asc(cert.get(), "192.0.2.1", 0) == 1);
}

TEST_CASE("generate_self_signed: serials differ, no SAN extension when there are no names", "[certs]") {
    auto a = generate_self_signed(cert_request_for("0.0.0.0", "", key_type::ecdsa_p256));
    auto b = generate_self_signed(cert_request_for("0.0.0.0", "", key_type::ecdsa_p256));
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    x509_ptr ca = parse_cert(a->cert_pem), cb = parse_cert(b->cert_pem);
    CHECK(ASN1_INTEGER_cmp(X509_get0_serialNumber(ca.get()), X509_get0_serialNumber(cb.get())) != 0);
    CHECK(X509_get_ext_by_NID(ca.get(), NID_subject_alt_name, -1) < 0);
    CHECK(!(a->key_pem == b->key_pem));
}

TEST_CASE("generate_self_signed: rejections", "[certs]") {
    cert_request req;
    SECTION("bad IP") {
        req.ip_addresses = {"300.1.1.1"};
        auto r = generate_self_signed(req);
        REQUIRE_FALSE(r.ok());
        CHECK(r.code() == "bad_ip_address");
    }
    SECTION("bad DNS names") {
        req.dns_names = {GENERATE(as<std::string>{}, "", "a b", "bad\nname", "caf\xc3\xa9")};
        auto r = generate_self_signed(req);
        REQUIRE_FALSE(r.ok());
        CHECK(r.code() == "bad_dns_name");
    }
    CHECK(ERR_peek_error() == 0);  // the OpenSSL error queue is left clean
}

TEST_CASE("check_pem_pair: rejections", "[certs]") {
    auto a = generate_self_signed(cert_request{});
    auto b = generate_self_signed(cert_request{});
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    SECTION("mismatched key") {
        pem_pair mixed{a->cert_pem, b->key_pem};
        auto s = check_pem_pair(mixed);
        REQUIRE_FALSE(s.ok());
        CHECK(s.code() == "key_mismatch");
    }
    SECTION("garbage certificate") {
        pem_pair bad{"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", a->key_pem};
        auto s = check_pem_pair(bad);
        REQUIRE_FALSE(s.ok());
        CHECK(s.code() == "bad_certificate");
    }
    SECTION("garbage key, and the message does not echo the key") {
        pem_pair bad{a->cert_pem, secret<std::string>("-----BEGIN EC PRIVATE KEY-----\nSECRETSTUFF\n-----END EC PRIVATE KEY-----\n")};
        auto s = check_pem_pair(bad);
        REQUIRE_FALSE(s.ok());
        CHECK(s.code() == "bad_private_key");
        CHECK(s.err().message.find("SECRETSTUFF") == std::string::npos);
    }
    SECTION("empty inputs") {
        CHECK(check_pem_pair(pem_pair{}).code() == "bad_certificate");
        CHECK(check_pem_pair(pem_pair{a->cert_pem, {}}).code() == "bad_private_key");
    }
    CHECK(ERR_peek_error() == 0);
}

TEST_CASE("load_or_create", "[certs]") {
    temp_dir dir;
    const fs::path state = dir.path / "state" / "nested";
    const auto req = cert_request_for("127.0.0.1", "127.0.0.1", key_type::ecdsa_p256);

    auto first = load_or_create(state, req);
    REQUIRE(first.ok());
    CHECK(mode_of(state / "cert.pem") == 0644);
    CHECK(mode_of(state / "key.pem") == 0600);
    CHECK(std::distance(fs::directory_iterator(state), fs::directory_iterator{}) == 2);  // no temporaries left

    SECTION("both present => loaded unchanged") {
        auto again = load_or_create(state, req);
        REQUIRE(again.ok());
        CHECK(again->cert_pem == first->cert_pem);
        CHECK(again->key_pem == first->key_pem);
    }
    SECTION("either missing => both regenerated") {
        const std::string victim = GENERATE(as<std::string>{}, "cert.pem", "key.pem");
        fs::remove(state / victim);
        auto again = load_or_create(state, req);
        REQUIRE(again.ok());
        CHECK(again->cert_pem != first->cert_pem);
        CHECK(!(again->key_pem == first->key_pem));
        CHECK(check_pem_pair(*again).ok());
        CHECK(read_file(state / "cert.pem").value() == again->cert_pem);
        CHECK(read_file(state / "key.pem").value() == again->key_pem.reveal());
    }
    SECTION("corrupt certificate => error, files left alone") {
        write_text(state / "cert.pem", "not a certificate");
        auto r = load_or_create(state, req);
        REQUIRE_FALSE(r.ok());
        CHECK(r.code() == "bad_certificate");
        CHECK(read_file(state / "cert.pem").value() == "not a certificate");
    }
    SECTION("mismatched pair => error") {
        auto other = generate_self_signed(req);
        REQUIRE(other.ok());
        write_text(state / "key.pem", other->key_pem.reveal());
        auto r = load_or_create(state, req);
        REQUIRE_FALSE(r.ok());
        CHECK(r.code() == "key_mismatch");
    }
    SECTION("an RSA pair written by the reference (PKCS#1) loads") {
        auto rsa = generate_self_signed(cert_request_for("127.0.0.1", "", key_type::rsa2048));
        REQUIRE(rsa.ok());
        write_text(state / "cert.pem", rsa->cert_pem);
        write_text(state / "key.pem", rsa->key_pem.reveal());
        auto r = load_or_create(state, req);
        REQUIRE(r.ok());
        CHECK(r->cert_pem == rsa->cert_pem);
    }
}

TEST_CASE("load_or_create: unwritable state dir is an io_error", "[certs]") {
    temp_dir dir;
    write_text(dir.path / "file", "x");
    auto r = load_or_create(dir.path / "file" / "sub", cert_request{});
    REQUIRE_FALSE(r.ok());
    CHECK(r.code() == "io_error");
}
