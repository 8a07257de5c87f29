#include "http/tls_context.hpp"

#include "http/certs.hpp"
#include "http/openssl_handles.hpp"

#include <boost/asio/ssl/context.hpp>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <sys/stat.h>

#include <array>

namespace stsauth::http {

namespace ssl = boost::asio::ssl;

namespace {

// TLS 1.2: ECDHE key exchange with AEAD ciphers only (Mozilla "intermediate" without DHE).
// TLS 1.3: OpenSSL's default suites, all AEAD.
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* groups = "X25519:P-256:P-384";

error tls_error(std::string code, std::string what) {
    if (unsigned long e = ERR_get_error(); e != 0) {
        std::array<char, 256> buf{};
        ERR_error_string_n(e, buf.data(), buf.size());
        what += ": ";
        what += buf.data();
    }
    ERR_clear_error();  // never leave entries for Asio's SSL engine to misread later
    return make_error(std::move(code), std::move(what));
}

int refuse_password(char*, int, int, void*) { return -1; }

/// ALPN: pick http/1.1 when the client offers it; otherwise no ALPN (the client then falls back
/// to HTTP/1.1 or gives up). kube-apiserver offers h2 and http/1.1.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen, void*) {
    static const unsigned char http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    unsigned char* selected = nullptr;
    unsigned char selected_len = 0;
    if (SSL_select_next_proto(&selected, &selected_len, http11, sizeof(http11), in, inlen) == OPENSSL_NPN_NEGOTIATED) {
        *out = selected;
        *outlen = selected_len;
        return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_NOACK;
}

status add_client_cas(SSL_CTX* ctx, const std::string& pem) {
    bio_ptr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) return tls_error("tls_error", "allocating a BIO");
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    int count = 0;
    while (true) {
        x509_ptr ca(PEM_read_bio_X509(bio.get(), nullptr, refuse_password, nullptr));
        if (!ca) break;
        if (X509_STORE_add_cert(store, ca.get()) != 1 || SSL_CTX_add_client_CA(ctx, ca.get()) != 1) {
            return tls_error("bad_client_ca", "adding a client CA certificate");
        }
        ++count;
    }
    // The loop ends on "no start line" at the end of the input; anything else is a broken PEM.
    const unsigned long last = ERR_peek_last_error();
    if (last != 0 && !(ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE)) {
        return tls_error("bad_client_ca", "client CA bundle does not parse");
    }
    ERR_clear_error();
    if (count == 0) return make_error("bad_client_ca", "client CA bundle contains no certificate");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    return ok_status();
}

}  // namespace

result<std::shared_ptr<ssl::context>> make_server_tls_context(const tls_material& material) {
    // Phase 1: the pair itself, with precise reasons (bad cert / bad key / mismatch).
    if (auto s = check_pem_pair(pem_pair{material.cert_pem, material.key_pem}); !s) return s.err();

    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    SSL_CTX* native = ctx->native_handle();

    // Phase 2: protocol policy.
    if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1 || SSL_CTX_set_cipher_list(native, tls12_ciphers) != 1 ||
        SSL_CTX_set1_groups_list(native, groups) != 1) {
        return tls_error("tls_error", "setting the TLS policy");
    }
    SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    // Keep-alive connections between requests give their TLS record buffers back (~34 KiB each).
    SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_alpn_select_cb(native, select_alpn, nullptr);
    static constexpr unsigned char session_id_context[] = {'s', 't', 's', 'a', 'u', 't', 'h'};
    SSL_CTX_set_session_id_context(native, session_id_context, sizeof(session_id_context));

    // Phase 3: certificate chain and key.
    boost::system::error_code ec;
    ctx->use_certificate_chain(boost::asio::buffer(material.cert_pem), ec);
    if (ec) return tls_error("bad_certificate", "loading the certificate chain: " + ec.message());
    const std::string& key_text = material.key_pem.reveal();
    bio_ptr key_bio(BIO_new_mem_buf(key_text.data(), static_cast<int>(key_text.size())));
    evp_pkey_ptr key(key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, refuse_password, nullptr) : nullptr);
    if (!key) return tls_error("bad_private_key", "private key PEM does not parse");
    if (SSL_CTX_use_PrivateKey(native, key.get()) != 1 || SSL_CTX_check_private_key(native) != 1) {
        return tls_error("key_mismatch", "private key does not match the certificate");
    }

    // Phase 4: optional client authentication (mTLS).
    if (!material.client_ca_pem.empty()) {
        if (auto s = add_client_cas(native, material.client_ca_pem); !s) return s.err();
    }
    ERR_clear_error();
    return ctx;
}

result<tls_material> load_tls_material(const tls_files& files) {
    tls_material m;
    auto cert = read_file(files.cert_file);
    if (!cert) return cert.err();
    m.cert_pem = std::move(*cert);
    auto key = read_file(files.key_file);
    if (!key) return key.err();
    m.key_pem = secret<std::string>(std::move(*key));
    if (!files.client_ca_file.empty()) {
        auto ca = read_file(files.client_ca_file);
        if (!ca) return ca.err();
        m.client_ca_pem = std::move(*ca);
    }
    return m;
}

tls_context_holder::~tls_context_holder() = default;

result<std::shared_ptr<tls_context_holder>> tls_context_holder::load(tls_files files) {
    std::shared_ptr<tls_context_holder> holder(new tls_context_holder());
    holder->files_ = std::move(files);
    if (auto s = holder->reload(); !s) return s.err();
    return holder;
}

std::shared_ptr<tls_context_holder> tls_context_holder::fixed(std::shared_ptr<ssl::context> ctx) {
    std::shared_ptr<tls_context_holder> holder(new tls_context_holder());
    holder->fixed_ = true;
    holder->current_ = std::move(ctx);
    return holder;
}

std::shared_ptr<ssl::context> tls_context_holder::current() const {
    std::lock_guard lock(mu_);
    return current_;
}

tls_context_holder::stamps tls_context_holder::stamp_files() const {
    stamps out;
    for (const auto* p : {&files_.cert_file, &files_.key_file, &files_.client_ca_file}) {
        file_stamp st;
        struct stat sb {};
        if (!p->empty() && ::stat(p->c_str(), &sb) == 0) {
            st = {sb.st_dev, sb.st_ino, sb.st_size, static_cast<long long>(sb.st_mtim.tv_sec) * 1'000'000'000LL + sb.st_mtim.tv_nsec, true};
        }
        out.push_back(st);
    }
    return out;
}

status tls_context_holder::rebuild(stamps seen) {
    auto material = load_tls_material(files_);
    auto ctx = material ? make_server_tls_context(*material) : result<std::shared_ptr<ssl::context>>(material.err());
    std::lock_guard lock(mu_);
    if (!ctx) {
        failed_ = std::move(seen);
        return ctx.err();
    }
    current_ = std::move(*ctx);
    loaded_ = std::move(seen);
    failed_.clear();
    return ok_status();
}

status tls_context_holder::reload() {
    if (fixed_) return ok_status();
    return rebuild(stamp_files());
}

result<bool> tls_context_holder::reload_if_changed() {
    if (fixed_) return false;
    stamps now = stamp_files();
    {
        std::lock_guard lock(mu_);
        if (now == loaded_ || now == failed_) return false;
    }
    if (auto s = rebuild(std::move(now)); !s) return s.err();
    return true;
}

}  // namespace stsauth::http
