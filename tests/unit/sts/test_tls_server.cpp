#include "test_tls_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <stdexcept>
#include <thread>

namespace stsauth::sts::testing {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

bool iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto l = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
        if (l(a[i]) != l(b[i])) return false;
    }
    return true;
}

// ---- PKI ---------------------------------------------------------------------------------------

struct pkey_deleter {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct x509_deleter {
    void operator()(X509* p) const { X509_free(p); }
};
struct bio_deleter {
    void operator()(BIO* p) const { BIO_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;
using x509_ptr = std::unique_ptr<X509, x509_deleter>;
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;

void check(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("test pki: ") + what);
}

pkey_ptr make_key() {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, nullptr);
    check(ctx != nullptr, "EVP_PKEY_CTX_new_id");
    EVP_PKEY* key = nullptr;
    const bool ok = EVP_PKEY_keygen_init(ctx) == 1 &&
                    EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, NID_X9_62_prime256v1) == 1 &&
                    EVP_PKEY_keygen(ctx, &key) == 1;
    EVP_PKEY_CTX_free(ctx);
    check(ok, "keygen");
    return pkey_ptr(key);
}

void add_ext(X509* cert, X509V3_CTX& v3, int nid, const std::string& value) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
    check(ext != nullptr, "extension");
    check(X509_add_ext(cert, ext, -1) == 1, "X509_add_ext");
    X509_EXTENSION_free(ext);
}

x509_ptr make_cert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key, long serial,
                   const std::vector<std::string>& dns_names) {
    x509_ptr cert(X509_new());
    check(cert != nullptr, "X509_new");
    X509* x = cert.get();
    check(X509_set_version(x, 2) == 1, "version");
    check(ASN1_INTEGER_set(X509_get_serialNumber(x), serial) == 1, "serial");
    check(X509_gmtime_adj(X509_getm_notBefore(x), -3600) != nullptr, "notBefore");
    check(X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600) != nullptr, "notAfter");
    check(X509_set_pubkey(x, key) == 1, "pubkey");
    X509_NAME* name = X509_get_subject_name(x);
    check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()),
                                     -1, -1, 0) == 1,
          "CN");
    check(X509_set_issuer_name(x, issuer != nullptr ? X509_get_subject_name(issuer) : name) == 1, "issuer");
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer != nullptr ? issuer : x, x, nullptr, nullptr, 0);
    const bool ca = dns_names.empty();
    add_ext(x, v3, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    add_ext(x, v3, NID_key_usage, ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
    add_ext(x, v3, NID_subject_key_identifier, "hash");
    if (!ca) {
        add_ext(x, v3, NID_ext_key_usage, "serverAuth");
        std::string san;
        for (const auto& d : dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + d;
        add_ext(x, v3, NID_subject_alt_name, san);
    }
    check(X509_sign(x, issuer_key, EVP_sha256()) > 0, "sign");
    return cert;
}

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    const long n = BIO_ctrl(bio, BIO_CTRL_INFO, 0, static_cast<void*>(&data));
    check(n > 0 && data != nullptr, "BIO");
    return std::string(data, static_cast<std::size_t>(n));
}

std::string cert_pem(X509* x) {
    bio_ptr bio(BIO_new(BIO_s_mem()));
    check(bio && PEM_write_bio_X509(bio.get(), x) == 1, "PEM cert");
    return bio_text(bio.get());
}

std::string key_pem(EVP_PKEY* k) {
    bio_ptr bio(BIO_new(BIO_s_mem()));
    check(bio && PEM_write_bio_PrivateKey(bio.get(), k, nullptr, nullptr, 0, nullptr, nullptr) == 1, "PEM key");
    return bio_text(bio.get());
}

}  // namespace

test_pki make_test_pki(const std::vector<std::string>& dns_names) {
    if (dns_names.empty()) throw std::invalid_argument("make_test_pki: at least one DNS name");
    const pkey_ptr ca_key = make_key();
    const x509_ptr ca = make_cert(ca_key.get(), "stsauth test CA", nullptr, ca_key.get(), 1, {});
    const pkey_ptr leaf_key = make_key();
    const x509_ptr leaf = make_cert(leaf_key.get(), dns_names.front(), ca.get(), ca_key.get(), 2, dns_names);
    return test_pki{cert_pem(ca.get()), cert_pem(leaf.get()), key_pem(leaf_key.get())};
}

std::string received_request::header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
        if (iequal(k, name)) return v;
    }
    return {};
}

std::size_t received_request::header_count(std::string_view name) const {
    std::size_t n = 0;
    for (const auto& [k, v] : headers) n += iequal(k, name) ? 1 : 0;
    return n;
}

// ---- server ------------------------------------------------------------------------------------

struct test_tls_server::state {
    // Declaration order matters: the io_context (and the sessions its pending handlers own) goes
    // before the TLS context it uses, parked sessions before the io_context.
    ssl::context tls{ssl::context::tls_server};
    asio::io_context ioc;
    tcp::acceptor acceptor{ioc};
    handler on_request;
    mode how = mode::tls;
    mutable std::mutex mu;
    std::vector<received_request> requests;
    std::vector<std::shared_ptr<void>> parked;
    std::atomic<std::size_t> accepted{0};
    std::atomic<std::size_t> open{0};
    std::atomic<std::size_t> max_open{0};
    unsigned short port = 0;
    std::thread thread;

    void park(std::shared_ptr<void> p) {
        std::lock_guard lock(mu);
        parked.push_back(std::move(p));
    }
    void do_accept();
};

namespace {

class session : public std::enable_shared_from_this<session> {
public:
    session(test_tls_server::state& s, tcp::socket sock, std::size_t index)
        : s_(s), stream_(std::move(sock), s.tls), timer_(stream_.get_executor()), index_(index) {
        const auto now_open = ++s_.open;
        auto prev = s_.max_open.load();
        while (prev < now_open && !s_.max_open.compare_exchange_weak(prev, now_open)) {
        }
    }
    ~session() { --s_.open; }
    session(const session&) = delete;
    session& operator=(const session&) = delete;

    void run() {
        stream_.async_handshake(ssl::stream_base::server,
                                [self = shared_from_this()](const error_code& ec) { self->on_handshake(ec); });
    }

private:
    void on_handshake(const error_code& ec) {
        if (ec) return;
        const char* name = SSL_get_servername(stream_.native_handle(), TLSEXT_NAMETYPE_host_name);
        sni_ = name != nullptr ? name : "";
        do_read();
    }

    void do_read() {
        req_ = {};
        http::async_read(stream_, buffer_, req_,
                         [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(const error_code& ec) {
        if (ec) return;
        received_request rec;
        rec.connection = index_;
        rec.on_connection = count_++;
        rec.sni = sni_;
        rec.method = std::string(req_.method_string());
        rec.target = std::string(req_.target());
        rec.version = req_.version() == 11 ? "1.1" : std::to_string(req_.version());
        for (const auto& f : req_) rec.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
        {
            std::lock_guard lock(s_.mu);
            s_.requests.push_back(rec);
        }
        reply_ = s_.on_request(rec);
        switch (reply_.act) {
            case reply::action::reset: return reset();
            case reply::action::hang: return s_.park(shared_from_this());
            case reply::action::raw: return write_raw(0);
            case reply::action::respond: break;
        }
        res_ = {};
        res_.version(11);
        res_.result(reply_.status);
        for (const auto& [k, v] : reply_.headers) res_.insert(k, v);
        if (reply_.headers.empty()) res_.set(http::field::content_type, "text/xml");
        res_.body() = reply_.body;
        res_.keep_alive(reply_.keep_alive);
        res_.prepare_payload();
        if (reply_.delay.count() > 0) {
            timer_.expires_after(reply_.delay);
            timer_.async_wait([self = shared_from_this()](const error_code&) { self->do_write(); });
        } else {
            do_write();
        }
    }

    // raw_bytes from `at` on: the next piece (all of it when raw_piece is 0), then the rest after
    // `delay`; after the last one, close without close_notify (or reset).
    void write_raw(std::size_t at) {
        const std::string& raw = reply_.raw_bytes;
        const std::size_t n = reply_.raw_piece == 0 ? raw.size() - at : std::min(reply_.raw_piece, raw.size() - at);
        asio::async_write(stream_, asio::buffer(raw.data() + at, n),
                          [self = shared_from_this(), next = at + n](const error_code& ec, std::size_t) {
                              if (!ec && next < self->reply_.raw_bytes.size()) {
                                  self->timer_.expires_after(self->reply_.delay);
                                  self->timer_.async_wait([self, next](const error_code&) { self->write_raw(next); });
                              } else if (self->reply_.reset_after_raw) {
                                  self->reset();
                              } else {
                                  error_code ignored;
                                  self->stream_.next_layer().close(ignored);
                              }
                          });
    }

    void do_write() {
        http::async_write(stream_, res_, [self = shared_from_this()](const error_code& ec, std::size_t) {
            if (ec) return;
            if (self->reply_.keep_alive) return self->do_read();
            error_code ignored;
            self->stream_.next_layer().close(ignored);
        });
    }

    void reset() {
        error_code ignored;
        stream_.next_layer().set_option(asio::socket_base::linger(true, 0), ignored);
        stream_.next_layer().close(ignored);
    }

    test_tls_server::state& s_;
    ssl::stream<tcp::socket> stream_;
    asio::steady_timer timer_;
    beast::flat_buffer buffer_;
    http::request<http::string_body> req_;
    http::response<http::string_body> res_;
    reply reply_;
    std::string sni_;
    std::size_t index_;
    std::size_t count_ = 0;
};

}  // namespace

void test_tls_server::state::do_accept() {
    acceptor.async_accept([this](const error_code& ec, tcp::socket sock) {
        if (ec) return;
        const std::size_t index = accepted++;
        if (how == mode::stall_handshake) {
            park(std::make_shared<tcp::socket>(std::move(sock)));
        } else {
            std::make_shared<session>(*this, std::move(sock), index)->run();
        }
        do_accept();
    });
}

test_tls_server::test_tls_server(const test_pki& pki, handler h, mode m) : state_(std::make_shared<state>()) {
    state& s = *state_;
    s.on_request = std::move(h);
    s.how = m;
    s.tls.use_certificate_chain(asio::buffer(pki.cert_pem));
    s.tls.use_private_key(asio::buffer(pki.key_pem), ssl::context::pem);
    const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    s.acceptor.open(ep.protocol());
    s.acceptor.set_option(asio::socket_base::reuse_address(true));
    s.acceptor.bind(ep);
    s.acceptor.listen();
    s.port = s.acceptor.local_endpoint().port();
    s.do_accept();
    s.thread = std::thread([&s] { s.ioc.run(); });
}

test_tls_server::~test_tls_server() {
    state_->ioc.stop();
    state_->thread.join();
    std::lock_guard lock(state_->mu);
    state_->parked.clear();
}

unsigned short test_tls_server::port() const { return state_->port; }
std::size_t test_tls_server::accepted() const { return state_->accepted.load(); }
std::size_t test_tls_server::max_concurrent_connections() const { return state_->max_open.load(); }

std::vector<received_request> test_tls_server::requests() const {
    std::lock_guard lock(state_->mu);
    return state_->requests;
}

unsigned short unused_port() {
    asio::io_context ioc;
    tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto port = a.local_endpoint().port();
    a.close();
    return port;
}

}  // namespace stsauth::sts::testing
