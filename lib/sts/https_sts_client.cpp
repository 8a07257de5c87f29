#include "sts/https_sts_client.hpp"

#include "http/body_parser.hpp"
#include "http/io_pool.hpp"
#include "http/read_message.hpp"
#include "http/tls_stream.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#ifndef STSAUTH_VERSION
#define STSAUTH_VERSION "0.0.0"
#endif

namespace stsauth::sts {

std::string default_user_agent() { return "stsauth/" STSAUTH_VERSION; }

namespace detail {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;
using error_code = boost::system::error_code;

constexpr std::size_t max_response_header_bytes = 16 * 1024;
/// The most one read of an answer asks for (what Beast's http::async_read asks for).
constexpr std::size_t max_read_size = 65536;

/// One upstream call and everyone waiting for it.
struct flight {
    flight(sts_request r, std::string k, sts_client::callback cb)
        : request(std::move(r)), key(std::move(k)), first(std::move(cb)) {}
    sts_request request;
    std::string key;  ///< dedupe key; empty when not shared
    sts_client::callback first;
    std::vector<sts_client::callback> others;  ///< joined while in flight
    /// Submission + timeout: bounds the queue wait and the first attempt together, as Go's
    /// Client.Timeout includes the wait for a pooled connection. A retry gets its own timeout.
    steady::time_point deadline{};
    bool retried = false;
};
using flight_ptr = std::shared_ptr<flight>;

/// Beast's response parser keeping only what the client reads of an answer: the status code and
/// the body (http::body_parser). Framing (Content-Length, chunked, end of connection),
/// keep-alive and the header and body limits stay Beast's; the header fields are checked by
/// Beast but not stored (no allocation per field, as `response_parser<string_body>` makes).
class answer_parser final : public stsauth::http::body_parser<false> {
public:
    explicit answer_parser(std::size_t max_body) : body_parser(max_body) {}

    unsigned status() const noexcept { return status_; }
    const std::string& body() const noexcept { return body_; }

private:
    std::string& body_sink() noexcept override { return body_; }
    void on_response_impl(int code, beast::string_view, int, error_code&) override { status_ = static_cast<unsigned>(code); }
    void on_field_impl(http::field, beast::string_view, beast::string_view, error_code&) override {}

    unsigned status_ = 0;
    std::string body_;
};

void deliver(flight& f, const sts_outcome& outcome) {
    if (f.first) f.first(outcome);
    for (auto& cb : f.others) cb(outcome);
}

bool printable(std::string_view s, char lo) noexcept {
    // No early exit and an unsigned byte accumulator: GCC turns this into a vector loop (the
    // target is ~1.2 KB); a bool accumulator with && is not vectorised.
    const auto low = static_cast<unsigned char>(lo);
    unsigned char bad = 0;
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        bad |= static_cast<unsigned char>((c < low) | (c > '~'));
    }
    return bad == 0;
}

bool valid_host(std::string_view h) noexcept {
    return !h.empty() && h.size() <= 253 && std::all_of(h.begin(), h.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    });
}

/// Refuses to put on the wire anything that could split the request (CR/LF, spaces, controls).
std::optional<sts_outcome> check_request(const sts_request& r) {
    std::string_view bad;
    if (!valid_host(r.host)) {
        bad = "host";
    } else if (r.target.empty() || r.target.front() != '/' || !printable(r.target, '!')) {
        bad = "target";
    } else if (!printable(r.cluster_id, ' ')) {
        bad = "cluster id";
    }
    if (bad.empty()) return std::nullopt;
    return transport_failure("sts_invalid_request", "invalid " + std::string(bad) + " in STS request",
                             outcome_kind::rejected);
}

struct endpoint_override {
    std::string host;
    std::string port;
};

std::optional<endpoint_override> parse_connect_override(std::string_view s) {
    if (s.empty()) return std::nullopt;
    endpoint_override out;
    std::string_view rest;
    if (s.front() == '[') {
        const auto close = s.find(']');
        if (close == std::string_view::npos) throw std::invalid_argument("server.sts.connectOverride: missing ']'");
        out.host = std::string(s.substr(1, close - 1));
        rest = s.substr(close + 1);
    } else {
        const auto colon = s.rfind(':');
        if (colon == std::string_view::npos) {
            throw std::invalid_argument("server.sts.connectOverride: expected HOST:PORT");
        }
        out.host = std::string(s.substr(0, colon));
        rest = s.substr(colon);
        if (out.host.find(':') != std::string::npos) {
            throw std::invalid_argument("server.sts.connectOverride: an IPv6 address needs brackets, [ADDR]:PORT");
        }
    }
    if (out.host.empty() || !printable(out.host, '!')) {
        throw std::invalid_argument("server.sts.connectOverride: empty or invalid host");
    }
    if (rest.size() < 2 || rest.size() > 6 || rest.front() != ':') {
        throw std::invalid_argument("server.sts.connectOverride: expected HOST:PORT");
    }
    unsigned port = 0;
    for (char c : rest.substr(1)) {
        if (c < '0' || c > '9') throw std::invalid_argument("server.sts.connectOverride: port is not a number");
        port = port * 10 + static_cast<unsigned>(c - '0');
    }
    if (port == 0 || port > 65535) throw std::invalid_argument("server.sts.connectOverride: port out of range");
    out.port = std::string(rest.substr(1));
    return out;
}

https_sts_client_config validated(https_sts_client_config c) {
    if (c.timeout.count() <= 0) throw std::invalid_argument("server.sts.timeout: must be positive");
    if (c.idle_timeout.count() <= 0) throw std::invalid_argument("server.sts.idleTimeout: must be positive");
    if (c.max_connections_per_host == 0) {
        throw std::invalid_argument("server.sts.maxConnectionsPerHost: must be at least 1");
    }
    if (c.max_body_bytes == 0) throw std::invalid_argument("sts max body bytes: must be at least 1");
    if (!printable(c.user_agent, ' ')) throw std::invalid_argument("sts user agent: printable ASCII only");
    return c;
}

ssl::context make_tls_context(const https_sts_client_config& c) {
    ssl::context ctx(ssl::context::tls_client);
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_compression | SSL_OP_NO_RENEGOTIATION);
    // Idle pooled connections give their TLS record buffers back (~34 KiB each).
    SSL_CTX_set_mode(ctx.native_handle(), SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION) != 1) {
        throw std::runtime_error("sts tls: cannot require TLS 1.2");
    }
    ctx.set_default_verify_paths();
    if (!c.ca_file.empty()) {
        error_code ec;
        ctx.load_verify_file(c.ca_file, ec);
        if (ec) throw std::runtime_error("server.sts.caFile: cannot load " + c.ca_file + ": " + ec.message());
    }
    ctx.set_verify_mode(ssl::verify_peer);
    return ctx;
}

bool is_http_protocol_error(const error_code& ec) {
    return ec.category() == http::make_error_code(http::error::bad_version).category() &&
           ec != http::error::end_of_stream && ec != http::error::partial_message;
}

}  // namespace

class connection;

/// Connections and queued calls for one STS host on one io_context (a lane: with an io_pool,
/// each context has its own, so a review never leaves its thread). Guarded by the client's mutex.
struct host_pool {
    host_pool(std::string h, asio::io_context& io, std::size_t max_open)
        : host(std::move(h)), ioc(io), cap(max_open), queue_timer(io.get_executor()) {}
    const std::string host;
    asio::io_context& ioc;  ///< where its connections run
    const std::size_t cap;  ///< this lane's share of max_connections_per_host
    std::vector<std::shared_ptr<connection>> idle;  ///< most recently used last
    std::size_t open = 0;                            ///< idle + busy + being opened
    std::deque<flight_ptr> queue;
    asio::steady_timer queue_timer;  ///< armed for the head's deadline while the queue is non-empty
    bool timer_armed = false;
};

class https_sts_client_impl : public std::enable_shared_from_this<https_sts_client_impl> {
public:
    https_sts_client_impl(std::vector<asio::io_context*> contexts, const stsauth::http::io_pool* pool,
                          https_sts_client_config config)
        : config_(validated(std::move(config))),
          override_(parse_connect_override(config_.connect_override)),
          tls_(make_tls_context(config_)),
          io_pool_(pool),
          // Every lane holds at least one connection: never more lanes than connections.
          contexts_(std::move(contexts)) {
        if (contexts_.size() > config_.max_connections_per_host) contexts_.resize(config_.max_connections_per_host);
    }

    void submit(sts_request request, sts_client::callback cb);
    void shutdown();
    sts_client_stats stats() const;

    // ---- used by connections -----------------------------------------------------------------
    const https_sts_client_config& config() const { return config_; }
    ssl::context& tls() { return tls_; }
    std::string_view connect_host(const host_pool& pool) const {
        return override_ ? std::string_view(override_->host) : std::string_view(pool.host);
    }
    std::string_view connect_port() const { return override_ ? std::string_view(override_->port) : "443"; }
    bool stopped() const { return stopped_.load(); }
    /// True with an io_pool: each lane's context has one thread, which serialises a
    /// connection's handlers by itself (no strand).
    bool single_threaded_lanes() const noexcept { return io_pool_ != nullptr; }

    /// Called on `conn`'s strand when an exchange ends (the outcome is final: retries are done).
    void exchange_done(const std::shared_ptr<connection>& conn, flight_ptr f, const sts_outcome& outcome,
                       bool reusable);
    /// Called on `conn`'s strand when its idle timer fires.
    void idle_expired(const std::shared_ptr<connection>& conn);

    std::atomic<std::uint64_t> requests_sent{0};
    std::atomic<std::uint64_t> connections_opened{0};
    std::atomic<std::uint64_t> retries{0};

private:
    /// The lane for a call from this thread: its own context's when it runs one of the pool's,
    /// else round-robin.
    std::size_t lane() noexcept;
    host_pool& pool_for(const std::string& host, std::size_t lane);
    void forget(const flight& f);
    void enqueue(host_pool& pool, flight_ptr f);
    void arm_queue_timer(host_pool& pool);
    void on_queue_timer(host_pool& pool, const error_code& ec);
    /// Under mu_: moves the queue's expired head calls to `expired`.
    void drop_expired(host_pool& pool, std::vector<flight_ptr>& expired);
    /// Not under mu_: answers them "sts_pool_timeout".
    void fail_expired(std::vector<flight_ptr>& expired);
    sts_outcome shutdown_outcome() const {
        return transport_failure("sts_shutdown", "the STS client is shutting down");
    }

    const https_sts_client_config config_;
    const std::optional<endpoint_override> override_;
    ssl::context tls_;
    const stsauth::http::io_pool* const io_pool_;  ///< null: one io_context
    std::vector<asio::io_context*> contexts_;      ///< one lane each
    std::atomic<std::size_t> next_lane_{0};

    mutable std::mutex mu_;
    std::atomic<bool> stopped_{false};  ///< written under mu_; read without it only by stopped()
    /// Per host, one host_pool per lane (contexts_).
    std::unordered_map<std::string, std::vector<std::unique_ptr<host_pool>>> pools_;
    std::unordered_map<std::string_view, flight_ptr> flights_;  ///< keys point into flight::key
    std::size_t in_flight_ = 0;
    std::uint64_t shared_calls_ = 0;
};

/// One keep-alive TLS connection to one STS host; one exchange at a time, on its own strand (or,
/// in a lane of an io_pool, on its context's one thread). Every handler carries the generation
/// it was started for; anything older is stale and ignored (the deadline finishes an attempt at
/// once, whatever the pending operation).
///
/// Timers cost nothing per exchange on a pooled connection: the attempt's deadline is the
/// socket's own lazily re-armed deadline (timed_socket), and the idle timer is armed once per
/// idle period at most and re-armed lazily from `idle_since_`. Only a new connection's attempt
/// (resolve, connect, handshake, then its first exchange) runs on `timer_`.
class connection : public std::enable_shared_from_this<connection> {
public:
    connection(std::shared_ptr<https_sts_client_impl> owner, host_pool& pool)
        : owner_(std::move(owner)),
          pool_(pool),
          ex_(owner_->single_threaded_lanes() ? asio::any_io_executor(pool.ioc.get_executor())
                                              : asio::any_io_executor(asio::make_strand(pool.ioc))),
          resolver_(ex_),
          timer_(ex_) {
        new_stream();
    }

    host_pool& pool() const noexcept { return pool_; }

    /// From any thread.
    void start(flight_ptr f) {
        asio::post(ex_, [self = shared_from_this(), f = std::move(f)]() mutable {
            const auto deadline = f->deadline;
            self->do_start(std::move(f), deadline);
        });
    }
    void close_async() {
        asio::post(ex_, [self = shared_from_this()] { self->close(); });
    }

    // ---- on the strand ---------------------------------------------------------------------
    void do_start(flight_ptr f, steady::time_point deadline) {
        flight_ = std::move(f);
        active_ = true;
        const auto g = ++gen_;
        build_request();
        reused_ = connected_;
        if (connected_) {
            deadline_on_timer_ = false;
            socket().expires_at(deadline);  // a number; see the class comment
            do_write();
        } else {
            deadline_on_timer_ = true;
            forget_idle_timer();
            timer_.expires_at(deadline);
            timer_.async_wait([self = shared_from_this(), g](const error_code& ec) {
                if (!ec) self->on_deadline(g);
            });
            do_resolve();
        }
    }

    /// The connection went back to the pool. Its idle timer is armed only when none is pending;
    /// a pending one finds `idle_since_` moved and waits again.
    void arm_idle_timer() {
        idle_since_ = steady::now();
        if (!idle_timer_armed_) arm_idle_wait(idle_since_ + owner_->config().idle_timeout);
    }

    void close() {
        ++gen_;
        active_ = false;
        forget_idle_timer();
        timer_.cancel();
        resolver_.cancel();
        close_socket();
    }

private:
    enum class phase { resolve, connect, handshake, send, receive };
    static std::string_view phase_name(phase p) {
        switch (p) {
            case phase::resolve: return "resolve";
            case phase::connect: return "connect";
            case phase::handshake: return "TLS handshake";
            case phase::send: return "send";
            case phase::receive: return "receive";
        }
        return "";
    }

    stsauth::http::timed_socket& socket() { return stream_->next_layer(); }

    void arm_idle_wait(steady::time_point at) {
        idle_timer_armed_ = true;
        const auto ig = ++idle_gen_;
        timer_.expires_at(at);
        timer_.async_wait([self = shared_from_this(), ig](const error_code& ec) { self->on_idle_timer(ig, ec); });
    }

    void on_idle_timer(std::uint64_t ig, const error_code& ec) {
        if (ig != idle_gen_) return;  // timer_ was taken for something else meanwhile
        idle_timer_armed_ = false;
        if (ec || active_) return;    // busy: the next arm_idle_timer() arms it again
        const auto due = idle_since_ + owner_->config().idle_timeout;
        if (steady::now() >= due) return owner_->idle_expired(shared_from_this());
        arm_idle_wait(due);
    }

    /// timer_ is about to serve something else: a pending idle wait (or one that completed but
    /// has not run yet) must not act.
    void forget_idle_timer() {
        ++idle_gen_;
        idle_timer_armed_ = false;
    }

    void new_stream() {
        stream_.emplace(ex_, owner_->tls(), stsauth::http::tls_stream::client);
        buffer_.clear();
        connected_ = false;
        tls_setup_ok_ = stsauth::http::expect_server_name(stream_->native_handle(), pool_.host);
    }

    void build_request() {
        const sts_request& r = flight_->request;
        const std::string& ua = owner_->config().user_agent;
        request_.clear();
        request_.reserve(r.target.size() + r.host.size() + r.cluster_id.size() + ua.size() + 96);
        request_.append("GET ").append(r.target).append(" HTTP/1.1\r\nHost: ").append(r.host);
        request_.append("\r\nx-k8s-aws-id: ").append(r.cluster_id);
        request_.append("\r\nAccept: application/json\r\nUser-Agent: ").append(ua).append("\r\n\r\n");
    }

    bool stale(std::uint64_t g) const noexcept { return g != gen_ || !active_; }

    void do_resolve() {
        phase_ = phase::resolve;
        resolver_.async_resolve(owner_->connect_host(pool_), owner_->connect_port(),
                                [self = shared_from_this(), g = gen_](const error_code& ec,
                                                                      const tcp::resolver::results_type& results) {
                                    self->on_resolve(g, ec, results);
                                });
    }

    void on_resolve(std::uint64_t g, const error_code& ec, const tcp::resolver::results_type& results) {
        if (stale(g)) return;
        if (ec) return fail("sts_resolve_failed", ec);
        phase_ = phase::connect;
        asio::async_connect(stream_->next_layer().socket(), results,
                            [self = shared_from_this(), g](const error_code& e, const tcp::endpoint&) {
                                self->on_connect(g, e);
                            });
    }

    void on_connect(std::uint64_t g, const error_code& ec) {
        if (stale(g)) return;
        if (ec) return fail("sts_connect_failed", ec);
        owner_->connections_opened.fetch_add(1, std::memory_order_relaxed);
        error_code ignored;
        stream_->next_layer().socket().set_option(tcp::no_delay(true), ignored);
        phase_ = phase::handshake;
        if (!tls_setup_ok_) {
            return finish(transport_failure("sts_tls_failed", "cannot set SNI / host name check"), false);
        }
        stream_->async_handshake([self = shared_from_this(), g](const error_code& e) {
            self->on_handshake(g, e);
        });
    }

    void on_handshake(std::uint64_t g, const error_code& ec) {
        if (stale(g)) return;
        if (ec) return fail("sts_tls_failed", ec);
        connected_ = true;
        do_write();
    }

    // Runs in a handler (do_start is posted; on_handshake is a completion), never inside a call
    // of get_caller_identity: what completes here may go on at once. The request (~1.5 KB, one
    // TLS record) is written in place; only a full socket buffer takes the asynchronous path.
    void do_write() {
        phase_ = phase::send;
        owner_->requests_sent.fetch_add(1, std::memory_order_relaxed);
        written_ = 0;
        const auto g = gen_;
        while (written_ < request_.size()) {
            const auto r = stream_->try_write_some(request_.data() + written_, request_.size() - written_);
            if (r.ec) return on_write(g, r.ec);
            if (r.want != 0 || r.n == 0) return write_more(g);
            written_ += r.n;
        }
        on_write(g, {});
    }

    // The rest of the request through the TLS stream's operation, looping on a short write as
    // asio::async_write would, without its composed-operation layer.
    void write_more(std::uint64_t g) {
        stream_->async_write_some(asio::const_buffer(request_.data(), request_.size()) + written_,
                                  [self = shared_from_this(), g](const error_code& ec, std::size_t n) {
                                      self->on_written(g, ec, n);
                                  });
    }

    void on_written(std::uint64_t g, const error_code& ec, std::size_t n) {
        if (stale(g)) return;
        written_ += n;
        if (!ec && written_ < request_.size()) return write_more(g);
        on_write(g, ec);
    }

    void on_write(std::uint64_t g, const error_code& ec) {
        if (stale(g)) return;
        if (ec == beast::error::timeout) return on_deadline(g);  // the socket's deadline
        if (ec) return fail_io("sts_send_failed", ec, true);
        phase_ = phase::receive;
        parser_.emplace(owner_->config().max_body_bytes);
        parser_->header_limit(max_response_header_bytes);
        // STS has not answered yet: wait until the socket is readable before asking OpenSSL to
        // read, instead of a read attempt that only finds nothing (one system call less).
        stream_->async_wait_readable([self = shared_from_this(), g](const error_code& e) { self->on_readable(g, e); });
    }

    void on_readable(std::uint64_t g, const error_code& ec) {
        if (stale(g)) return;
        if (ec) return on_read(g, ec);
        parse_or_read(g);
    }

    // http::async_read's loop, step by step (http/read_message.hpp): the answer usually comes in
    // one read, tried in place (the socket was just reported readable); only "nothing yet"
    // waits again.
    void parse_or_read(std::uint64_t g) {
        const auto step = stsauth::http::read_message(*stream_, buffer_, *parser_, max_read_size);
        using next = stsauth::http::read_step::next;
        switch (step.what) {
        case next::done:
            return on_read(g, step.ec);
        case next::wait_readable:
            return stream_->async_wait_readable(
                [self = shared_from_this(), g](const error_code& e) { self->on_readable(g, e); });
        case next::read_operation:
            return stream_->async_read_some(step.space, [self = shared_from_this(), g](const error_code& ec, std::size_t n) {
                self->on_answer_bytes(g, ec, n);
            });
        }
    }

    void on_answer_bytes(std::uint64_t g, const error_code& ec, std::size_t n) {
        if (stale(g)) return;
        buffer_.commit(n);
        if (ec) return on_read(g, stsauth::http::read_ended(*parser_, ec));
        parse_or_read(g);
    }

    void on_read(std::uint64_t g, error_code ec) {
        if (stale(g)) return;
        if (ec == beast::error::timeout) return on_deadline(g);  // the socket's deadline
        auto& p = *parser_;
        if (ec == http::error::body_limit) {
            return finish(oversize_response(p.status(), owner_->config().max_body_bytes), false);
        }
        if (ec == ssl::error::stream_truncated && p.is_header_done() && p.need_eof()) {
            // The peer closed without close_notify after a body delimited by the end of the
            // connection: that short read is how such a body ends (as Beast's examples treat it).
            // STS sends Content-Length; a cut JSON body would fail to parse anyway.
            error_code eof;
            p.put_eof(eof);
            if (!eof) ec = {};
        }
        if (ec) {
            if (is_http_protocol_error(ec)) {
                return finish(transport_failure("sts_bad_http", "malformed HTTP response: " + ec.message(),
                                                outcome_kind::bad_response),
                              false);
            }
            return fail_io("sts_receive_failed", ec, !p.got_some() && buffer_.size() == 0);
        }
        // After a 1xx the final answer may still come: never read it as the next call's.
        const unsigned status = p.status();
        const bool reusable = p.keep_alive() && buffer_.size() == 0 && status >= 200;
        finish(classify_response(status, p.body()), reusable);
    }

    /// A send/receive failure. A connection taken from the pool may have been closed by the
    /// server while idle: if nothing of a response arrived, the call is retried once on a fresh
    /// connection (GetCallerIdentity is idempotent). A timeout is never retried.
    void fail_io(std::string_view reason, const error_code& ec, bool nothing_received) {
        if (nothing_received && reused_ && !flight_->retried && !owner_->stopped()) {
            flight_->retried = true;
            owner_->retries.fetch_add(1, std::memory_order_relaxed);
            close();
            new_stream();
            auto f = std::move(flight_);
            return do_start(std::move(f), steady::now() + owner_->config().timeout);
        }
        fail(reason, ec);
    }

    void fail(std::string_view reason, const error_code& ec) {
        std::string detail(phase_name(phase_));
        detail += ": ";
        detail += ec.message();
        if (phase_ == phase::handshake) {
            const long verify = SSL_get_verify_result(stream_->native_handle());
            if (verify != X509_V_OK) {
                detail += " (";
                detail += X509_verify_cert_error_string(verify);
                detail += ")";
            }
        }
        finish(transport_failure(std::string(reason), detail), false);
    }

    void on_deadline(std::uint64_t g) {
        if (stale(g)) return;
        const auto ms = owner_->config().timeout.count();
        finish(transport_failure("sts_timeout", "no answer from STS within the " + std::to_string(ms) +
                                                    " ms timeout (during " + std::string(phase_name(phase_)) + ")"),
               false);
    }

    /// Ends the attempt: makes pending handlers stale, closes unless reusable, hands over.
    void finish(const sts_outcome& outcome, bool reusable) {
        ++gen_;
        active_ = false;
        if (deadline_on_timer_) timer_.cancel();
        deadline_on_timer_ = false;
        socket().expires_never();
        if (!reusable) {
            resolver_.cancel();
            close_socket();
        }
        auto f = std::move(flight_);
        owner_->exchange_done(shared_from_this(), std::move(f), outcome, reusable);
    }

    void close_socket() {
        error_code ignored;
        socket().socket().close(ignored);
        connected_ = false;
    }

    std::shared_ptr<https_sts_client_impl> owner_;
    host_pool& pool_;
    asio::any_io_executor ex_;  ///< a strand, or a single-threaded lane's context
    tcp::resolver resolver_;
    /// A new connection's attempt deadline; the idle timeout while pooled (lazily re-armed).
    asio::steady_timer timer_;
    std::optional<stsauth::http::tls_stream> stream_;  ///< no buffers of its own (lib/http/tls_stream.hpp)
    beast::flat_buffer buffer_;
    std::optional<answer_parser> parser_;
    std::string request_;  ///< serialised request, reused across exchanges
    std::size_t written_ = 0;  ///< bytes of request_ sent in this exchange
    flight_ptr flight_;
    std::uint64_t gen_ = 0;
    std::uint64_t idle_gen_ = 0;     ///< the idle wait that may act (see forget_idle_timer)
    steady::time_point idle_since_{};
    bool idle_timer_armed_ = false;  ///< an idle wait is pending on timer_
    bool deadline_on_timer_ = false; ///< this attempt's deadline is timer_ (not the socket's)
    phase phase_ = phase::resolve;
    bool active_ = false;
    bool connected_ = false;
    bool reused_ = false;
    bool tls_setup_ok_ = false;
};

// ---- https_sts_client_impl ------------------------------------------------------------------------

std::size_t https_sts_client_impl::lane() noexcept {
    const std::size_t lanes = contexts_.size();
    if (lanes == 1) return 0;
    if (io_pool_) {
        if (const auto here = io_pool_->current_index(); here != stsauth::http::io_pool::npos) return here % lanes;
    }
    return next_lane_.fetch_add(1, std::memory_order_relaxed) % lanes;
}

host_pool& https_sts_client_impl::pool_for(const std::string& host, std::size_t lane) {
    auto it = pools_.find(host);
    if (it == pools_.end()) {
        // max_connections_per_host split over the lanes (each gets at least one: see the constructor).
        const std::size_t lanes = contexts_.size(), max = config_.max_connections_per_host;
        std::vector<std::unique_ptr<host_pool>> per_lane;
        per_lane.reserve(lanes);
        for (std::size_t i = 0; i < lanes; ++i) {
            per_lane.push_back(std::make_unique<host_pool>(host, *contexts_[i], max / lanes + (i < max % lanes ? 1 : 0)));
        }
        it = pools_.emplace(host, std::move(per_lane)).first;
    }
    return *it->second[lane];
}

void https_sts_client_impl::forget(const flight& f) {
    if (!f.key.empty()) {
        auto it = flights_.find(f.key);
        if (it != flights_.end() && it->second.get() == &f) flights_.erase(it);
    }
    --in_flight_;
}

void https_sts_client_impl::submit(sts_request request, sts_client::callback cb) {
    const std::size_t here = lane();
    if (auto refused = check_request(request)) {
        asio::post(*contexts_[here], [cb = std::move(cb), o = std::move(*refused)] { cb(o); });
        return;
    }
    std::string key;
    if (!request.dedupe_key.empty()) {
        key.reserve(request.dedupe_key.size() + 1 + request.cluster_id.size());
        key.append(request.dedupe_key).append(1, '\n').append(request.cluster_id);
    }
    flight_ptr f;
    host_pool* pool = nullptr;
    std::shared_ptr<connection> conn;
    {
        std::unique_lock lock(mu_);
        if (stopped_) {
            lock.unlock();
            asio::post(*contexts_[here], [cb = std::move(cb), o = shutdown_outcome()] { cb(o); });
            return;
        }
        if (!key.empty()) {
            if (auto it = flights_.find(key); it != flights_.end()) {
                it->second->others.push_back(std::move(cb));
                ++shared_calls_;
                return;
            }
        }
        f = std::make_shared<flight>(std::move(request), std::move(key), std::move(cb));
        f->deadline = steady::now() + config_.timeout;
        if (!f->key.empty()) flights_.emplace(f->key, f);
        ++in_flight_;
        pool = &pool_for(f->request.host, here);
        if (!pool->idle.empty()) {
            conn = std::move(pool->idle.back());
            pool->idle.pop_back();
        } else if (pool->open < pool->cap) {
            ++pool->open;
        } else {
            enqueue(*pool, std::move(f));
            return;
        }
    }
    if (!conn) conn = std::make_shared<connection>(shared_from_this(), *pool);
    conn->start(std::move(f));
}

void https_sts_client_impl::enqueue(host_pool& pool, flight_ptr f) {
    pool.queue.push_back(std::move(f));
    if (!pool.timer_armed) arm_queue_timer(pool);
}

void https_sts_client_impl::arm_queue_timer(host_pool& pool) {
    // Deadlines grow with queue order (one timeout for all), so the head's is the earliest.
    pool.timer_armed = true;
    pool.queue_timer.expires_at(pool.queue.front()->deadline);
    pool.queue_timer.async_wait(
        [self = shared_from_this(), &pool](const error_code& ec) { self->on_queue_timer(pool, ec); });
}

void https_sts_client_impl::on_queue_timer(host_pool& pool, const error_code& ec) {
    std::vector<flight_ptr> expired;
    {
        std::lock_guard lock(mu_);
        pool.timer_armed = false;
        if (ec || stopped_) return;
        drop_expired(pool, expired);
        if (!pool.queue.empty()) arm_queue_timer(pool);
    }
    fail_expired(expired);
}

void https_sts_client_impl::drop_expired(host_pool& pool, std::vector<flight_ptr>& expired) {
    const auto now = steady::now();
    while (!pool.queue.empty() && pool.queue.front()->deadline <= now) {
        forget(*pool.queue.front());
        expired.push_back(std::move(pool.queue.front()));
        pool.queue.pop_front();
    }
}

void https_sts_client_impl::fail_expired(std::vector<flight_ptr>& expired) {
    if (expired.empty()) return;
    const sts_outcome o = transport_failure(
        "sts_pool_timeout", "no STS connection free within the " + std::to_string(config_.timeout.count()) +
                                " ms timeout (" + std::to_string(config_.max_connections_per_host) + " busy)");
    for (auto& f : expired) deliver(*f, o);
}

void https_sts_client_impl::exchange_done(const std::shared_ptr<connection>& conn, flight_ptr f,
                                          const sts_outcome& outcome, bool reusable) {
    flight_ptr next;
    bool next_on_fresh = false;
    bool to_idle = false;
    std::vector<flight_ptr> expired;
    host_pool& pool = conn->pool();
    {
        std::lock_guard lock(mu_);
        forget(*f);
        if (stopped_ && reusable) {
            reusable = false;
            conn->close();
        }
        // A call whose deadline passed in the queue is not worth a (pooled) connection.
        drop_expired(pool, expired);
        if (reusable) {
            if (!pool.queue.empty()) {
                next = std::move(pool.queue.front());
                pool.queue.pop_front();
            } else {
                pool.idle.push_back(conn);
                to_idle = true;
            }
        } else {
            --pool.open;
            if (!pool.queue.empty()) {
                next = std::move(pool.queue.front());
                pool.queue.pop_front();
                ++pool.open;
                next_on_fresh = true;
            }
        }
    }
    // Still on conn's strand: a thread that takes conn from the idle list meanwhile posts its
    // start to this strand, so it runs after the idle timer is armed here.
    if (next && next_on_fresh) {
        std::make_shared<connection>(shared_from_this(), pool)->start(std::move(next));
    } else if (next) {
        const auto deadline = next->deadline;
        conn->do_start(std::move(next), deadline);
    } else if (to_idle) {
        conn->arm_idle_timer();
    }
    deliver(*f, outcome);
    fail_expired(expired);
}

void https_sts_client_impl::idle_expired(const std::shared_ptr<connection>& conn) {
    {
        std::lock_guard lock(mu_);
        auto& idle = conn->pool().idle;
        const auto it = std::find(idle.begin(), idle.end(), conn);
        if (it == idle.end()) return;  // taken for a call a moment ago
        idle.erase(it);
        --conn->pool().open;
    }
    conn->close();
}

void https_sts_client_impl::shutdown() {
    std::vector<std::shared_ptr<connection>> idle;
    std::vector<flight_ptr> queued;
    {
        std::lock_guard lock(mu_);
        if (stopped_) return;
        stopped_ = true;
        for (auto& [host, lanes] : pools_) {
            for (auto& pool : lanes) {
                pool->open -= pool->idle.size();
                std::move(pool->idle.begin(), pool->idle.end(), std::back_inserter(idle));
                pool->idle.clear();
                for (auto& f : pool->queue) {
                    forget(*f);
                    queued.push_back(std::move(f));
                }
                pool->queue.clear();
                pool->queue_timer.cancel();
            }
        }
    }
    for (auto& c : idle) c->close_async();
    for (auto& f : queued) {
        asio::post(*contexts_.front(), [f, o = shutdown_outcome()] { deliver(*f, o); });
    }
}

sts_client_stats https_sts_client_impl::stats() const {
    sts_client_stats s;
    {
        std::lock_guard lock(mu_);
        for (const auto& [host, lanes] : pools_) {
            for (const auto& pool : lanes) {
                s.open_connections += pool->open;
                s.idle_connections += pool->idle.size();
                s.queued += pool->queue.size();
            }
        }
        s.in_flight = in_flight_;
        s.shared_calls = shared_calls_;
    }
    s.requests_sent = requests_sent.load(std::memory_order_relaxed);
    s.connections_opened = connections_opened.load(std::memory_order_relaxed);
    s.retries = retries.load(std::memory_order_relaxed);
    return s;
}

}  // namespace detail

// ---- https_sts_client ------------------------------------------------------------------------------

https_sts_client::https_sts_client(boost::asio::io_context& ioc, https_sts_client_config config)
    : impl_(std::make_shared<detail::https_sts_client_impl>(std::vector<boost::asio::io_context*>{&ioc}, nullptr,
                                                            std::move(config))) {}

namespace {
std::vector<boost::asio::io_context*> contexts_of(stsauth::http::io_pool& pool) {
    std::vector<boost::asio::io_context*> out;
    for (std::size_t i = 0; i < pool.size(); ++i) out.push_back(&pool.at(i));
    return out;
}
}  // namespace

https_sts_client::https_sts_client(stsauth::http::io_pool& pool, https_sts_client_config config)
    : impl_(std::make_shared<detail::https_sts_client_impl>(contexts_of(pool), &pool, std::move(config))) {}

https_sts_client::~https_sts_client() { impl_->shutdown(); }

void https_sts_client::get_caller_identity(sts_request request, callback cb) {
    impl_->submit(std::move(request), std::move(cb));
}

sts_client_stats https_sts_client::stats() const { return impl_->stats(); }

}  // namespace stsauth::sts
