#pragma once
/// \file
/// The TCP and TLS streams under the HTTP server and the STS client (heavy: Asio; include it
/// only from the .cpp files that drive connections).
///
/// `timed_socket`: a TCP socket with one deadline, like `beast::tcp_stream`, but on a single
/// lazily re-armed timer: moving the deadline later (the common case: a new request, a write)
/// changes a number and touches no timer; the timer is re-armed only when the deadline moves
/// earlier. When the deadline passes, the socket is closed and the pending operation (and any
/// later one) completes with `beast::error::timeout`.
///
/// `tls_stream`: TLS straight on that socket. OpenSSL reads and writes the descriptor itself
/// (a BIO that calls recv/send with MSG_NOSIGNAL on the non-blocking socket), and the stream
/// waits for readiness through the socket's reactor only when OpenSSL asks for it
/// (SSL_ERROR_WANT_READ / WANT_WRITE). Unlike `asio::ssl::stream`, which allocates four
/// 17 KiB buffers per stream (its own input and output buffers and a BIO pair), it keeps no
/// buffer of its own: with SSL_MODE_RELEASE_BUFFERS OpenSSL frees its record buffers whenever
/// they are empty, so an idle keep-alive connection costs its SSL object only. Reads use
/// OpenSSL's read-ahead (one recv per burst, not two per record); a write gathers up to one TLS
/// record's worth of a buffer sequence, so a response whose header and body are separate
/// buffers still leaves as one record and one send.
///
/// Both model Asio's AsyncReadStream and AsyncWriteStream (Beast's http::async_read/write use
/// them), plus async_handshake/async_shutdown for TLS. One operation of each direction at a time,
/// from the socket's executor (a strand), as for any Asio stream. Error codes match what
/// `asio::ssl::stream` reports: a close_notify is `asio::error::eof`, a TCP close without it
/// `asio::ssl::error::stream_truncated`, protocol errors carry OpenSSL's error in Asio's
/// ssl category (so `ec.message()` reads as before).

#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>

#include <openssl/ssl.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace stsauth::http {

/// A TCP socket with one deadline (see the file comment).
class timed_socket {
public:
    using socket_type = boost::asio::ip::tcp::socket;
    using executor_type = socket_type::executor_type;
    using clock = std::chrono::steady_clock;

    explicit timed_socket(socket_type socket);
    /// A socket not yet connected, on `ex` (the STS client connects it later).
    explicit timed_socket(const executor_type& ex);
    timed_socket(const timed_socket&) = delete;
    timed_socket& operator=(const timed_socket&) = delete;
    ~timed_socket();

    executor_type get_executor() noexcept { return core_->socket.get_executor(); }
    socket_type& socket() noexcept { return core_->socket; }

    /// Operations pending or started after `d` fail with beast::error::timeout once it passes.
    void expires_after(clock::duration d) { expires_at(clock::now() + d); }
    void expires_at(clock::time_point t);
    void expires_never() noexcept { core_->deadline = clock::time_point::max(); }
    /// True once a deadline has closed the socket.
    bool timed_out() const noexcept { return core_->timed_out; }

    /// Closes the socket and stops the timer (pending operations complete with
    /// operation_aborted, or timeout if the deadline had passed).
    void close() noexcept;

    /// `ec` as the caller should see it: after the deadline closed the socket, every failure
    /// is beast::error::timeout.
    boost::system::error_code map(const boost::system::error_code& ec) const noexcept {
        if (ec && core_->timed_out) return boost::beast::error::timeout;
        return ec;
    }

    template <class MutableBufferSequence, class Handler>
    auto async_read_some(const MutableBufferSequence& buffers, Handler&& token) {
        return core_->socket.async_read_some(buffers, mapped<Handler>{this, std::forward<Handler>(token)});
    }

    template <class ConstBufferSequence, class Handler>
    auto async_write_some(const ConstBufferSequence& buffers, Handler&& token) {
        return core_->socket.async_write_some(buffers, mapped<Handler>{this, std::forward<Handler>(token)});
    }

    /// Completes (ec only) when the socket has something to read: lets an idle connection wait
    /// without holding a read buffer.
    template <class Handler>
    auto async_wait_readable(Handler&& token) {
        return core_->socket.async_wait(socket_type::wait_read, mapped<Handler>{this, std::forward<Handler>(token)});
    }

private:
    /// Shared with the timer's handler, so that a deadline firing after the owner is gone
    /// touches nothing freed.
    struct core {
        explicit core(socket_type s) : socket(std::move(s)), timer(socket.get_executor()) {}
        socket_type socket;
        boost::asio::steady_timer timer;
        clock::time_point deadline = clock::time_point::max();
        clock::time_point armed = clock::time_point::max();  ///< expiry of the pending wait, max: none
        bool timed_out = false;
    };
    static void arm(const std::shared_ptr<core>& c, clock::time_point at);
    static void on_timer(const std::shared_ptr<core>& c, const boost::system::error_code& ec);

    /// Wraps a socket handler so that its error goes through map(); keeps the handler's
    /// associated executor and allocator.
    template <class Handler>
    struct mapped {
        timed_socket* self;
        std::decay_t<Handler> handler;
        using executor_type = boost::asio::associated_executor_t<std::decay_t<Handler>, timed_socket::executor_type>;
        executor_type get_executor() const noexcept {
            return boost::asio::get_associated_executor(handler, self->core_->socket.get_executor());
        }
        using allocator_type = boost::asio::associated_allocator_t<std::decay_t<Handler>>;
        allocator_type get_allocator() const noexcept { return boost::asio::get_associated_allocator(handler); }
        template <class... Args>
        void operator()(const boost::system::error_code& ec, Args... args) {
            const auto e = self->map(ec);
            std::move(handler)(e, args...);
        }
    };

    std::shared_ptr<core> core_;
};

namespace tls_detail {

/// A new SSL object in server or client state, read-ahead on, moving write buffers accepted.
/// Throws std::bad_alloc when OpenSSL cannot allocate.
SSL* make_ssl(SSL_CTX* ctx, bool server);

/// Binds `ssl` to the socket `fd` through a BIO that uses recv/send (MSG_NOSIGNAL: a peer gone
/// away is an error, never a SIGPIPE). False when OpenSSL cannot allocate.
bool attach(SSL* ssl, int fd);

enum class step_kind { handshake, read, write, shutdown };

/// One non-blocking attempt. `want` is set to 1 (readable) or 2 (writable) when OpenSSL needs
/// the socket first; otherwise `ec` and `n` are the result.
struct step_result {
    int want = 0;
    boost::system::error_code ec;
    std::size_t n = 0;
};
step_result try_step(SSL* ssl, step_kind kind, void* data, std::size_t size);

/// Copies up to `max` bytes of a buffer sequence into a thread-local scratch area and returns it
/// (one TLS record per write). `size` is set to the bytes copied.
const void* gather(const boost::asio::const_buffer* first, const boost::asio::const_buffer* last, std::size_t max,
                   std::size_t& size);

}  // namespace tls_detail

/// Client side, before the handshake: sends `host` as SNI and accepts only a certificate valid
/// for it, partial wildcards (`s*.example.com`) refused. False when OpenSSL refuses a setting.
/// For any client SSL object (`tls_stream` or `asio::ssl::stream`).
bool expect_server_name(SSL* ssl, const std::string& host);

/// TLS on a timed_socket (see the file comment).
class tls_stream {
public:
    using executor_type = timed_socket::executor_type;
    using next_layer_type = timed_socket;
    enum role { client, server };

    /// `ctx` must outlive the stream. The socket may be connected later (client): the SSL object
    /// is bound to the descriptor when the handshake starts.
    tls_stream(timed_socket::socket_type socket, boost::asio::ssl::context& ctx, role r);
    tls_stream(const executor_type& ex, boost::asio::ssl::context& ctx, role r);
    tls_stream(const tls_stream&) = delete;
    tls_stream& operator=(const tls_stream&) = delete;
    ~tls_stream();

    executor_type get_executor() noexcept { return next_.get_executor(); }
    timed_socket& next_layer() noexcept { return next_; }
    /// The SSL object (SNI, host checks, verify result). Never null.
    SSL* native_handle() noexcept { return ssl_; }

    template <class Handler>
    auto async_handshake(Handler&& token) {
        attach_if_needed();
        return boost::asio::async_compose<Handler, void(boost::system::error_code)>(
            op<no_buffer, tls_detail::step_kind::handshake>{this, {}}, token, next_.socket());
    }

    template <class Handler>
    auto async_shutdown(Handler&& token) {
        return boost::asio::async_compose<Handler, void(boost::system::error_code)>(
            op<no_buffer, tls_detail::step_kind::shutdown>{this, {}}, token, next_.socket());
    }

    /// Completes (ec only) when a read can make progress: OpenSSL holds unread bytes, or the
    /// socket is readable. Lets an idle connection wait without holding a read buffer.
    template <class Handler>
    void async_wait_readable(Handler&& token) {
        if (SSL_has_pending(ssl_) == 1) {
            boost::asio::post(get_executor(), [h = std::forward<Handler>(token)]() mutable { std::move(h)(boost::system::error_code{}); });
            return;
        }
        next_.async_wait_readable(std::forward<Handler>(token));
    }

    /// One non-blocking read or write attempt, on the stream's executor, with no operation and no
    /// post: the bytes moved (or the error, a timeout included), or `want` 1/2 when the socket
    /// must first become readable/writable — then wait (async_wait_readable) or use the
    /// asynchronous operation. For a caller that expects the attempt to succeed (the answer is
    /// there: the socket just became readable; a request fits the socket's send buffer) and
    /// would otherwise pay the post an operation that completes at once makes. The asynchronous
    /// read and write operations take this same step, then wait when it says so.
    tls_detail::step_result try_read_some(void* data, std::size_t size);
    tls_detail::step_result try_write_some(const void* data, std::size_t size);

    template <class MutableBufferSequence, class Handler>
    auto async_read_some(const MutableBufferSequence& buffers, Handler&& token) {
        return boost::asio::async_compose<Handler, void(boost::system::error_code, std::size_t)>(
            op<MutableBufferSequence, tls_detail::step_kind::read>{this, buffers}, token, next_.socket());
    }

    template <class ConstBufferSequence, class Handler>
    auto async_write_some(const ConstBufferSequence& buffers, Handler&& token) {
        return boost::asio::async_compose<Handler, void(boost::system::error_code, std::size_t)>(
            op<ConstBufferSequence, tls_detail::step_kind::write>{this, buffers}, token, next_.socket());
    }

private:
    struct no_buffer {};
    static constexpr std::size_t max_record = 16384;

    /// One operation: try, wait for readiness if OpenSSL asks, try again. A result available at
    /// once is delivered through a post, never from inside the initiating call.
    template <class Buffers, tls_detail::step_kind Kind>
    struct op {
        static constexpr bool sized = Kind == tls_detail::step_kind::read || Kind == tls_detail::step_kind::write;
        tls_stream* s;
        Buffers buffers;
        enum class state { start, waiting, posted } st = state::start;
        boost::system::error_code ec{};
        std::size_t n = 0;

        template <class Self>
        void operator()(Self& self, const boost::system::error_code& wait_ec = {}) {
            switch (st) {
                case state::start: return attempt(self, true);
                case state::waiting:
                    if (wait_ec) return done(self, s->next_.map(wait_ec), 0);
                    return attempt(self, false);
                case state::posted: return done(self, ec, n);
            }
        }

        template <class Self>
        void attempt(Self& self, bool initiating) {
            tls_detail::step_result r;
            if constexpr (!sized) {
                if (s->next_.timed_out()) {
                    r.ec = boost::beast::error::timeout;
                } else {
                    r = tls_detail::try_step(s->ssl_, Kind, nullptr, 0);
                }
            } else if constexpr (Kind == tls_detail::step_kind::read) {
                const auto b = first_mutable();  // empty: completes at once with nothing
                r = s->try_read_some(b.data(), b.size());
            } else {
                std::size_t size = 0;
                const void* data = gather_write(size);
                r = s->try_write_some(data, size);
            }
            if (r.want != 0) {
                st = state::waiting;
                s->next_.socket().async_wait(r.want == 1 ? timed_socket::socket_type::wait_read
                                                         : timed_socket::socket_type::wait_write,
                                             std::move(self));
                return;
            }
            if (initiating) {
                ec = r.ec;
                n = r.n;
                st = state::posted;
                boost::asio::post(s->get_executor(), std::move(self));
                return;
            }
            done(self, r.ec, r.n);
        }

        template <class Self>
        void done(Self& self, const boost::system::error_code& e, std::size_t count) {
            if constexpr (sized) {
                self.complete(e, count);
            } else {
                (void)count;
                self.complete(e);
            }
        }

        boost::asio::mutable_buffer first_mutable() const {
            for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers);
                 ++it) {
                boost::asio::mutable_buffer b(*it);
                if (b.size() != 0) return b;
            }
            return {};
        }

        /// The bytes of this write: the first non-empty buffer when it alone fills a record or is
        /// the only one, else up to a record's worth gathered (the same bytes on every retry).
        const void* gather_write(std::size_t& size) const {
            auto it = boost::asio::buffer_sequence_begin(buffers);
            const auto end = boost::asio::buffer_sequence_end(buffers);
            while (it != end && boost::asio::const_buffer(*it).size() == 0) ++it;
            if (it == end) {
                size = 0;
                return nullptr;
            }
            const boost::asio::const_buffer first(*it);
            auto next = it;
            ++next;
            if (first.size() >= max_record || next == end) {
                size = std::min(first.size(), max_record);
                return first.data();
            }
            // Few buffers in practice (an HTTP header and a body): copy them into an array.
            boost::asio::const_buffer parts[8];
            std::size_t count = 0;
            for (; it != end && count < std::size(parts); ++it) parts[count++] = boost::asio::const_buffer(*it);
            return tls_detail::gather(parts, parts + count, max_record, size);
        }
    };

    /// Binds the SSL object to the (now connected) socket once; on failure the handshake
    /// reports OpenSSL's error.
    void attach_if_needed();

    timed_socket next_;
    SSL* ssl_ = nullptr;
    bool attached_ = false;
};

}  // namespace stsauth::http
