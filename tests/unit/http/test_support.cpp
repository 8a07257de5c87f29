#include "test_support.hpp"

#include "http/openssl_handles.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace stsauth::test {

using clock_type = std::chrono::steady_clock;

// --- io_runner

struct io_runner::impl {
    boost::asio::io_context ioc;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{ioc.get_executor()};
    std::vector<std::thread> threads;
};

io_runner::io_runner(int threads) : impl_(std::make_unique<impl>()) {
    for (int i = 0; i < threads; ++i) impl_->threads.emplace_back([this] { impl_->ioc.run(); });
}

io_runner::~io_runner() {
    impl_->guard.reset();
    impl_->ioc.stop();
    for (auto& t : impl_->threads) t.join();
}

boost::asio::io_context& io_runner::ioc() { return impl_->ioc; }

// --- conn

namespace {

// A test client writing to a connection the server has closed gets EPIPE, as a real client that
// ignores SIGPIPE would (OpenSSL's socket BIO writes with write(2)), not the signal.
[[maybe_unused]] const bool sigpipe_ignored = [] {
    std::signal(SIGPIPE, SIG_IGN);
    return true;
}();

SSL* as_ssl(void* p) { return static_cast<SSL*>(p); }
SSL_CTX* as_ctx(void* p) { return static_cast<SSL_CTX*>(p); }

int remaining_ms(clock_type::time_point deadline) {
    auto left = std::chrono::duration_cast<ms>(deadline - clock_type::now()).count();
    return left < 0 ? 0 : static_cast<int>(left);
}

/// 1 ready, 0 timeout, -1 error.
int wait_fd(int fd, short events, clock_type::time_point deadline) {
    while (true) {
        pollfd p{fd, events, 0};
        int r = ::poll(&p, 1, remaining_ms(deadline));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        return r == 0 ? 0 : 1;
    }
}

std::string ssl_errors() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof(buf));
        if (!out.empty()) out += "; ";
        out += buf;
    }
    return out.empty() ? std::string("TLS failure") : out;
}

std::string to_lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace

conn::conn(std::uint16_t port, const tls_client_options* tls, ms timeout) {
    const auto deadline = clock_type::now() + timeout;
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd_ < 0) {
        error_ = "socket failed";
        return;
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        if (errno != EINPROGRESS || wait_fd(fd_, POLLOUT, deadline) != 1) {
            error_ = "connect failed";
            return;
        }
        int err = 0;
        socklen_t len = sizeof(err);
        ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            error_ = std::string("connect failed: ") + std::strerror(err);
            return;
        }
    }
    if (tls == nullptr) {
        connected_ = true;
        return;
    }

    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    ctx_ = ctx;
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    if (!tls->trusted_ca_pem.empty()) {
        http::bio_ptr bio(BIO_new_mem_buf(tls->trusted_ca_pem.data(), static_cast<int>(tls->trusted_ca_pem.size())));
        while (http::x509_ptr ca{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
            X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca.get());
        }
        ERR_clear_error();
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    }
    if (tls->security_level >= 0) SSL_CTX_set_security_level(ctx, tls->security_level);
    if (tls->min_version != 0) SSL_CTX_set_min_proto_version(ctx, tls->min_version);
    if (tls->max_version != 0) SSL_CTX_set_max_proto_version(ctx, tls->max_version);
    if (!tls->cipher_list.empty() && SSL_CTX_set_cipher_list(ctx, tls->cipher_list.c_str()) != 1) {
        error_ = "cipher list rejected by the client library";
        return;
    }
    if (!tls->alpn.empty()) {
        SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(tls->alpn.data()), static_cast<unsigned>(tls->alpn.size()));
    }
    if (!tls->client_cert_pem.empty()) {
        http::bio_ptr cb(BIO_new_mem_buf(tls->client_cert_pem.data(), static_cast<int>(tls->client_cert_pem.size())));
        http::x509_ptr cert(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
        http::bio_ptr kb(BIO_new_mem_buf(tls->client_key_pem.data(), static_cast<int>(tls->client_key_pem.size())));
        http::evp_pkey_ptr key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
        if (!cert || !key || SSL_CTX_use_certificate(ctx, cert.get()) != 1 || SSL_CTX_use_PrivateKey(ctx, key.get()) != 1) {
            error_ = "client certificate unusable";
            return;
        }
    }
    SSL* ssl = SSL_new(ctx);
    ssl_ = ssl;
    SSL_set_fd(ssl, fd_);
    if (!tls->trusted_ca_pem.empty()) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1");
    while (true) {
        int r = SSL_connect(ssl);
        if (r == 1) break;
        int err = SSL_get_error(ssl, r);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
            if (wait_fd(fd_, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline) != 1) {
                error_ = "handshake timed out";
                return;
            }
            continue;
        }
        error_ = "handshake failed: " + ssl_errors();
        return;
    }
    connected_ = true;
}

conn::~conn() {
    if (ssl_ != nullptr) SSL_free(as_ssl(ssl_));
    if (ctx_ != nullptr) SSL_CTX_free(as_ctx(ctx_));
    if (fd_ >= 0) ::close(fd_);
    ERR_clear_error();
}

std::string conn::negotiated_alpn() const {
    if (ssl_ == nullptr) return {};
    const unsigned char* p = nullptr;
    unsigned len = 0;
    SSL_get0_alpn_selected(as_ssl(ssl_), &p, &len);
    return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), len);
}

std::string conn::tls_version() const { return ssl_ == nullptr ? std::string() : SSL_get_version(as_ssl(ssl_)); }

std::string conn::peer_cert_pem() const {
    if (ssl_ == nullptr) return {};
    http::x509_ptr cert(SSL_get1_peer_certificate(as_ssl(ssl_)));
    if (!cert) return {};
    http::bio_ptr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_X509(bio.get(), cert.get());
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

bool conn::send(std::string_view bytes, ms timeout) {
    if (fd_ < 0) return false;
    const auto deadline = clock_type::now() + timeout;
    while (!bytes.empty()) {
        if (ssl_ != nullptr) {
            int r = SSL_write(as_ssl(ssl_), bytes.data(), static_cast<int>(bytes.size()));
            if (r > 0) {
                bytes.remove_prefix(static_cast<std::size_t>(r));
                continue;
            }
            int err = SSL_get_error(as_ssl(ssl_), r);
            if ((err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) &&
                wait_fd(fd_, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline) == 1) {
                continue;
            }
            ERR_clear_error();
            return false;
        }
        ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n > 0) {
            bytes.remove_prefix(static_cast<std::size_t>(n));
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (wait_fd(fd_, POLLOUT, deadline) != 1) return false;
        } else {
            return false;
        }
    }
    return true;
}

void conn::shutdown_send() {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

int conn::fill(clock_type::time_point deadline) {
    char tmp[16384];
    while (true) {
        if (ssl_ != nullptr) {
            int r = SSL_read(as_ssl(ssl_), tmp, sizeof(tmp));
            if (r > 0) {
                buf_.append(tmp, static_cast<std::size_t>(r));
                return r;
            }
            int err = SSL_get_error(as_ssl(ssl_), r);
            if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
                int w = wait_fd(fd_, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
                if (w == 0) return -2;
                if (w < 0) return -1;
                continue;
            }
            ERR_clear_error();
            if (err == SSL_ERROR_ZERO_RETURN) return 0;
            return -1;
        }
        ssize_t n = ::recv(fd_, tmp, sizeof(tmp), 0);
        if (n > 0) {
            buf_.append(tmp, static_cast<std::size_t>(n));
            return static_cast<int>(n);
        }
        if (n == 0) return 0;
        if (errno == EAGAIN || errno == EINTR) {
            int w = wait_fd(fd_, POLLIN, deadline);
            if (w == 0) return -2;
            if (w < 0) return -1;
            continue;
        }
        return -1;
    }
}

std::optional<reply> conn::read_response(ms timeout, bool head) {
    if (!connected_) return std::nullopt;
    const auto deadline = clock_type::now() + timeout;
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
        if (fill(deadline) <= 0) return std::nullopt;
    }
    reply r;
    std::string_view head_block(buf_.data(), end);
    auto line_end = head_block.find("\r\n");
    std::string_view status_line = head_block.substr(0, line_end);
    if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") return std::nullopt;
    r.version = std::string(status_line.substr(0, 8));
    r.status = static_cast<unsigned>(std::stoul(std::string(status_line.substr(9, 3))));
    std::size_t pos = line_end == std::string_view::npos ? head_block.size() : line_end + 2;
    while (pos < head_block.size()) {
        auto e = head_block.find("\r\n", pos);
        if (e == std::string_view::npos) e = head_block.size();
        std::string_view line = head_block.substr(pos, e - pos);
        auto colon = line.find(':');
        if (colon != std::string_view::npos) {
            std::string_view v = line.substr(colon + 1);
            while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
            r.headers.emplace(to_lower(std::string(line.substr(0, colon))), std::string(v));
        }
        pos = e + 2;
    }
    buf_.erase(0, end + 4);
    if (head || r.status / 100 == 1 || r.status == 204 || r.status == 304) return r;
    const std::string cl = r.header("content-length");
    if (!cl.empty()) {
        const std::size_t n = std::stoul(cl);
        while (buf_.size() < n) {
            if (fill(deadline) <= 0) return std::nullopt;
        }
        r.body = buf_.substr(0, n);
        buf_.erase(0, n);
        return r;
    }
    while (true) {  // no length: until close
        int f = fill(deadline);
        if (f == 0) break;
        if (f < 0) return std::nullopt;
    }
    r.body = std::move(buf_);
    buf_.clear();
    return r;
}

read_end conn::read_until_close(ms timeout, std::string* data) {
    const auto deadline = clock_type::now() + timeout;
    while (true) {
        int f = fill(deadline);
        if (data != nullptr) *data += buf_;
        buf_.clear();
        if (f == 0) return read_end::closed;
        if (f == -2) return read_end::timeout;
        if (f < 0) return read_end::reset;
    }
}

std::optional<reply> request_once(std::uint16_t port, const std::string& raw, const tls_client_options* tls, ms timeout) {
    conn c(port, tls, timeout);
    if (!c.connected() || !c.send(raw, timeout)) return std::nullopt;
    return c.read_response(timeout);
}

std::string get(std::string_view target, std::string_view extra_headers) {
    std::string s = "GET ";
    s += target;
    s += " HTTP/1.1\r\nHost: test\r\n";
    s += extra_headers;
    s += "\r\n";
    return s;
}

std::string post(std::string_view target, std::string_view body, std::string_view extra_headers) {
    std::string s = "POST ";
    s += target;
    s += " HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ";
    s += std::to_string(body.size());
    s += "\r\n";
    s += extra_headers;
    s += "\r\n";
    s += body;
    return s;
}

// --- PKI for mTLS

namespace {

http::evp_pkey_ptr ec_key() { return http::evp_pkey_ptr(EVP_EC_gen("P-256")); }

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    http::x509_extension_ptr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) throw std::runtime_error("extension");
}

http::x509_ptr make_cert(const std::string& cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, bool ca, long serial) {
    http::x509_ptr cert(X509_new());
    X509_set_version(cert.get(), X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(cn.data()), static_cast<int>(cn.size()), -1, 0);
    X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : X509_get_subject_name(cert.get()));
    X509_set_pubkey(cert.get(), key);
    X509* iss = issuer != nullptr ? issuer : cert.get();
    if (ca) {
        add_ext(cert.get(), iss, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(cert.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(cert.get(), iss, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(cert.get(), iss, NID_key_usage, "critical,digitalSignature");
        add_ext(cert.get(), iss, NID_ext_key_usage, "clientAuth");
    }
    if (X509_sign(cert.get(), issuer_key, EVP_sha256()) <= 0) throw std::runtime_error("sign");
    return cert;
}

std::string pem_of(X509* cert) {
    http::bio_ptr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_X509(bio.get(), cert);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

std::string pem_of(EVP_PKEY* key) {
    http::bio_ptr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace

client_pki make_client_pki(const std::string& cn) {
    auto ca_key = ec_key();
    auto ca = make_cert(cn + " CA", ca_key.get(), nullptr, ca_key.get(), true, 1);
    auto key = ec_key();
    auto leaf = make_cert(cn, key.get(), ca.get(), ca_key.get(), false, 2);
    return {pem_of(ca.get()), pem_of(leaf.get()), pem_of(key.get())};
}

}  // namespace stsauth::test
