#pragma once
/// \file
/// unique_ptr aliases for the OpenSSL handles lib/http uses (internal to lib/http).

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace stsauth::http {

template <auto Free>
struct openssl_deleter {
    template <class T>
    void operator()(T* p) const noexcept {
        Free(p);
    }
};

using bio_ptr = std::unique_ptr<BIO, openssl_deleter<BIO_free_all>>;
using bignum_ptr = std::unique_ptr<BIGNUM, openssl_deleter<BN_free>>;
using evp_pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_deleter<EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, openssl_deleter<X509_free>>;
using x509_extension_ptr = std::unique_ptr<X509_EXTENSION, openssl_deleter<X509_EXTENSION_free>>;
using general_name_ptr = std::unique_ptr<GENERAL_NAME, openssl_deleter<GENERAL_NAME_free>>;
using general_names_ptr = std::unique_ptr<GENERAL_NAMES, openssl_deleter<GENERAL_NAMES_free>>;
using asn1_ia5string_ptr = std::unique_ptr<ASN1_IA5STRING, openssl_deleter<ASN1_IA5STRING_free>>;
using asn1_octet_string_ptr = std::unique_ptr<ASN1_OCTET_STRING, openssl_deleter<ASN1_OCTET_STRING_free>>;

}  // namespace stsauth::http
