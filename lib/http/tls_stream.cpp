#include "http/tls_stream.hpp"

#include <boost/asio/ssl/error.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <sys/socket.h>
#include <vector>

namespace stsauth::http {

namespace net = boost::asio;
using error_code = boost::system::error_code;

// ---- timed_socket -----------------------------------------------------------------------------

timed_socket::timed_socket(socket_type socket) : core_(std::make_shared<core>(std::move(socket))) {}

timed_socket::timed_socket(const executor_type& ex) : core_(std::make_shared<core>(socket_type(ex))) {}

timed_socket::~timed_socket() { close(); }

void timed_socket::expires_at(clock::time_point t) {
    core& c = *core_;
    c.deadline = t;
    if (c.timed_out) return;
    // A pending wait that fires no later than the new deadline re-arms itself for it then.
    if (c.armed != clock::time_point::max() && c.armed <= c.deadline) return;
    arm(core_, c.deadline);
}

void timed_socket::arm(const std::shared_ptr<core>& c, clock::time_point at) {
    c->armed = at;
    c->timer.expires_at(at);  // a wait already pending completes with operation_aborted
    c->timer.async_wait([c](const error_code& ec) { on_timer(c, ec); });
}

void timed_socket::on_timer(const std::shared_ptr<core>& c, const error_code& ec) {
    // operation_aborted: re-armed earlier or closed; the newer wait (if any) decides. A wait
    // that completed just before a re-arm could not be cancelled: it re-arms for the deadline
    // (cancelling the newer wait), so exactly one wait stays pending either way.
    if (ec || c->timed_out) return;
    c->armed = clock::time_point::max();
    if (c->deadline == clock::time_point::max()) return;
    if (clock::now() < c->deadline) return arm(c, c->deadline);
    c->timed_out = true;
    error_code ignored;
    c->socket.close(ignored);  // the pending operation completes; map() makes it a timeout
}

void timed_socket::close() noexcept {
    core& c = *core_;
    c.deadline = clock::time_point::max();
    c.armed = clock::time_point::max();
    c.timer.cancel();
    error_code ignored;
    c.socket.close(ignored);
}

// ---- OpenSSL plumbing ---------------------------------------------------------------------------

namespace tls_detail {
namespace {

int fd_of(BIO* b) { return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(b))); }

int bio_write(BIO* b, const char* data, int len) {
    BIO_clear_retry_flags(b);
    for (;;) {
        const ssize_t n = ::send(fd_of(b), data, static_cast<std::size_t>(len), MSG_NOSIGNAL);
        if (n >= 0) return static_cast<int>(n);
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_write(b);
        return -1;
    }
}

int bio_read(BIO* b, char* out, int len) {
    BIO_clear_retry_flags(b);
    for (;;) {
        const ssize_t n = ::recv(fd_of(b), out, static_cast<std::size_t>(len), 0);
        if (n > 0) return static_cast<int>(n);
        if (n == 0) {
            BIO_set_flags(b, BIO_FLAGS_IN_EOF);  // OpenSSL asks BIO_eof() to tell EOF from an error
            return 0;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_read(b);
        return -1;
    }
}

int bio_puts(BIO* b, const char* s) { return bio_write(b, s, static_cast<int>(std::strlen(s))); }

long bio_ctrl(BIO* b, int cmd, long, void*) {
    switch (cmd) {
        case BIO_CTRL_FLUSH: return 1;  // nothing is buffered here
        case BIO_CTRL_EOF: return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0 ? 1 : 0;
        default: return 0;
    }
}

int bio_create(BIO* b) {
    BIO_set_init(b, 1);
    return 1;
}

int bio_destroy(BIO*) { return 1; }  // the descriptor belongs to the socket

BIO_METHOD* socket_method() {
    static BIO_METHOD* const method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                                     "stsauth socket");
        if (m == nullptr) throw std::bad_alloc();
        BIO_meth_set_write(m, bio_write);
        BIO_meth_set_read(m, bio_read);
        BIO_meth_set_puts(m, bio_puts);
        BIO_meth_set_ctrl(m, bio_ctrl);
        BIO_meth_set_create(m, bio_create);
        BIO_meth_set_destroy(m, bio_destroy);
        return m;
    }();
    return method;
}

error_code error_from(int ssl_error) {
    switch (ssl_error) {
        case SSL_ERROR_ZERO_RETURN:  // the peer's close_notify
            ERR_clear_error();
            return net::error::eof;
        case SSL_ERROR_SYSCALL: {
            const int sys = errno;
            const unsigned long err = ERR_get_error();
            ERR_clear_error();
            if (err != 0) return {static_cast<int>(err), net::error::get_ssl_category()};
            if (sys != 0) return {sys, boost::system::system_category()};
            return net::ssl::error::stream_truncated;
        }
        default: {
            const unsigned long err = ERR_get_error();
            ERR_clear_error();
            if (ERR_GET_LIB(err) == ERR_LIB_SSL && ERR_GET_REASON(err) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
                return net::ssl::error::stream_truncated;  // TCP closed without close_notify
            }
            if (err == 0) return net::error::fault;  // an SSL error without a cause: should not happen
            return {static_cast<int>(err), net::error::get_ssl_category()};
        }
    }
}

}  // namespace

SSL* make_ssl(SSL_CTX* ctx, bool server) {
    SSL* ssl = SSL_new(ctx);
    if (ssl == nullptr) {
        ERR_clear_error();
        throw std::bad_alloc();
    }
    if (server) {
        SSL_set_accept_state(ssl);
    } else {
        SSL_set_connect_state(ssl);
    }
    SSL_set_read_ahead(ssl, 1);
    // A write retried after WANT_WRITE may present the same bytes from another address (gather()
    // is per thread).
    SSL_set_mode(ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    return ssl;
}

bool attach(SSL* ssl, int fd) {
    BIO* bio = BIO_new(socket_method());
    if (bio == nullptr) {
        ERR_clear_error();
        return false;
    }
    BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)));
    SSL_set_bio(ssl, bio, bio);  // one BIO for both directions; SSL_free frees it
    return true;
}

// SSL_get_error needs this thread's error queue empty before the operation. Every path here
// leaves it empty, so it almost always is: peeking is much cheaper than clearing (which resets
// all sixteen slots of the queue on every call).
void ensure_error_queue_empty() {
    if (ERR_peek_error() != 0) ERR_clear_error();
}

step_result try_step(SSL* ssl, step_kind kind, void* data, std::size_t size) {
    ensure_error_queue_empty();
    errno = 0;
    step_result r;
    int ret = 0;
    switch (kind) {
        case step_kind::handshake: ret = SSL_do_handshake(ssl); break;
        case step_kind::read: ret = SSL_read_ex(ssl, data, size, &r.n); break;
        case step_kind::write: ret = SSL_write_ex(ssl, data, size, &r.n); break;
        case step_kind::shutdown:
            // Send close_notify, then wait for the peer's (as asio::ssl::stream does).
            ret = SSL_shutdown(ssl);
            if (ret == 0) ret = SSL_shutdown(ssl);
            if (ret == 0) {
                r.want = 1;
                return r;
            }
            break;
    }
    if (ret == 1) return r;
    r.n = 0;
    const int e = SSL_get_error(ssl, ret);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        ensure_error_queue_empty();
        r.want = e == SSL_ERROR_WANT_READ ? 1 : 2;
        return r;
    }
    r.ec = error_from(e);
    return r;
}

const void* gather(const net::const_buffer* first, const net::const_buffer* last, std::size_t max, std::size_t& size) {
    thread_local std::vector<unsigned char> scratch;  // allocated on first use, by I/O threads only
    if (scratch.size() < max) scratch.resize(max);
    size = 0;
    for (; first != last && size < max; ++first) {
        const std::size_t n = std::min(first->size(), max - size);
        std::memcpy(scratch.data() + size, first->data(), n);
        size += n;
    }
    return scratch.data();
}

}  // namespace tls_detail

bool expect_server_name(SSL* ssl, const std::string& host) {
    // SSL_set_tlsext_host_name is a macro with a C cast; this is its expansion.
    const bool ok = SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                             const_cast<char*>(host.c_str())) == 1 &&
                    SSL_set1_host(ssl, host.c_str()) == 1;
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return ok;
}

// ---- tls_stream ---------------------------------------------------------------------------------

tls_stream::tls_stream(timed_socket::socket_type socket, net::ssl::context& ctx, role r)
    : next_(std::move(socket)), ssl_(tls_detail::make_ssl(ctx.native_handle(), r == server)) {
    if (next_.socket().is_open()) attach_if_needed();
}

tls_stream::tls_stream(const executor_type& ex, net::ssl::context& ctx, role r)
    : next_(ex), ssl_(tls_detail::make_ssl(ctx.native_handle(), r == server)) {}

tls_stream::~tls_stream() { SSL_free(ssl_); }

tls_detail::step_result tls_stream::try_read_some(void* data, std::size_t size) {
    if (next_.timed_out()) return {0, boost::beast::error::timeout, 0};
    if (size == 0) return {};
    return tls_detail::try_step(ssl_, tls_detail::step_kind::read, data, std::min(size, std::size_t{1} << 30));
}

tls_detail::step_result tls_stream::try_write_some(const void* data, std::size_t size) {
    if (next_.timed_out()) return {0, boost::beast::error::timeout, 0};
    if (size == 0) return {};
    return tls_detail::try_step(ssl_, tls_detail::step_kind::write, const_cast<void*>(data), std::min(size, max_record));
}

void tls_stream::attach_if_needed() {
    if (attached_ || !next_.socket().is_open()) return;
    error_code ec;
    next_.socket().non_blocking(true, ec);
    if (ec) return;
    attached_ = tls_detail::attach(ssl_, next_.socket().native_handle());
}

}  // namespace stsauth::http
