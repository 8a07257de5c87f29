#include "http/server.hpp"

#include "common/encoding.hpp"
#include "http/header_scan.hpp"
#include "http/tls_context.hpp"
#include "http/io_pool.hpp"
#include "http/request_parser.hpp"
#include "http/tls_stream.hpp"

// GCC 12 at -O2 reports -Wnull-dereference false positives inside Asio's executor comparisons
// (any_executor::equal_ex); they are in Boost's code, not ours.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <type_traits>
#include <unordered_set>
#include <vector>

namespace stsauth::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

namespace {

constexpr std::size_t read_chunk = 8192;
constexpr std::size_t max_linger_bytes = 1 << 20;
constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";

/// Everything a session needs to hear from the server; sessions register themselves.
class session_base : public std::enable_shared_from_this<session_base> {
public:
    virtual ~session_base() = default;
    virtual void start() = 0;
    /// Posted to the session's strand: close when idle, else close after the current response.
    virtual void post_drain() = 0;
    /// Posted to the session's strand: close now.
    virtual void post_stop() = 0;
    /// From any thread: a handshake slot was given to this waiting session.
    virtual void post_admitted() = 0;
};

bool is_token_char(unsigned char c) {
    return std::isalnum(c) != 0 || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

/// Response headers come from application code: refuse anything that could split the message.
bool valid_field(std::string_view name, std::string_view value) {
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) { return is_token_char(static_cast<unsigned char>(c)); })) {
        return false;
    }
    return std::none_of(value.begin(), value.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

bool server_owned_field(std::string_view name) {
    return encoding::iequals(name, "Content-Length") || encoding::iequals(name, "Transfer-Encoding") ||
           encoding::iequals(name, "Connection") || encoding::iequals(name, "Content-Type");
}

bool all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::string endpoint_text(const tcp::endpoint& ep) {
    const auto addr = ep.address();
    std::string out = addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();
    out += ':';
    out += std::to_string(ep.port());
    return out;
}

/// Errors that mean "the peer went away": closed quietly, never answered.
bool is_disconnect(const error_code& ec) {
    return ec == net::error::eof || ec == net::error::connection_reset || ec == net::error::broken_pipe ||
           ec == net::error::operation_aborted || ec == net::error::not_connected || ec == ssl::error::stream_truncated ||
           ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Shared server state.

struct drain_waiter {
    explicit drain_waiter(net::io_context& ioc, std::function<void(bool)> cb) : timer(net::make_strand(ioc)), done(std::move(cb)) {}
    net::steady_timer timer;
    std::function<void(bool)> done;
    std::atomic<bool> fired{false};
};

struct server::state : std::enable_shared_from_this<server::state> {
    state(net::io_context& io, io_pool* p, server_config cfg, handler h)
        : ioc(io), pool(p), config(std::move(cfg)), on_request(std::move(h)), acceptor(net::make_strand(io)), retry_timer(acceptor.get_executor()) {}

    net::io_context& ioc;  ///< the acceptor's, the timers' and (without a pool) the connections'
    io_pool* const pool;   ///< when set, connections go round-robin to its single-threaded contexts
    const server_config config;
    const handler on_request;
    tcp::acceptor acceptor;
    net::steady_timer retry_timer;  // on the acceptor's strand
    std::atomic<bool> accepting{false};
    std::atomic<bool> draining{false};
    std::atomic<std::uint16_t> port{0};

    std::mutex mu;
    std::unordered_set<session_base*> sessions;
    std::condition_variable drained_cv;
    std::vector<std::shared_ptr<drain_waiter>> waiters;
    std::atomic<std::size_t> in_flight{0};

    std::atomic<std::uint64_t> accepted{0}, rejected_connections{0}, tls_handshake_failures{0}, timeouts{0}, bad_requests{0},
        requests{0}, handshakes_queued{0}, handshake_stall_releases{0};

    // TLS handshake admission (limits::max_handshakes, limits::handshake_stall).
    std::mutex hs_mu;
    std::size_t hs_active = 0;
    std::deque<std::shared_ptr<session_base>> hs_waiting;  ///< owned here while they wait (no operation pending)
    std::chrono::steady_clock::time_point hs_progress{};  ///< last handshake start or end
    bool hs_timer_armed = false;
    net::steady_timer hs_timer{acceptor.get_executor()};  ///< on the acceptor's strand

    /// True: the caller holds a slot now. False: it is queued and gets post_admitted() later.
    bool admit_handshake(const std::shared_ptr<session_base>& s) {
        std::lock_guard lock(hs_mu);
        if (hs_active < config.limits.max_handshakes && hs_waiting.empty()) {
            ++hs_active;
            hs_progress = std::chrono::steady_clock::now();
            return true;
        }
        hs_waiting.push_back(s);
        handshakes_queued.fetch_add(1, std::memory_order_relaxed);
        if (!hs_timer_armed) {
            hs_timer_armed = true;
            net::post(hs_timer.get_executor(), [self = shared_from_this()] { self->arm_stall_timer(); });
        }
        return false;
    }

    /// A slot holder's handshake ended (either way): the slot goes to the next waiter.
    void handshake_done() {
        std::vector<std::shared_ptr<session_base>> admitted;
        {
            std::lock_guard lock(hs_mu);
            --hs_active;
            hs_progress = std::chrono::steady_clock::now();
            admit_waiters_locked(config.limits.max_handshakes, admitted);
        }
        for (auto& a : admitted) a->post_admitted();
    }

    /// Under hs_mu: gives slots to waiters while fewer than `cap` are held.
    void admit_waiters_locked(std::size_t cap, std::vector<std::shared_ptr<session_base>>& out) {
        while (hs_active < cap && !hs_waiting.empty()) {
            auto w = std::move(hs_waiting.front());
            hs_waiting.pop_front();
            ++hs_active;
            out.push_back(std::move(w));
        }
    }

    void arm_stall_timer() {
        hs_timer.expires_after(config.limits.handshake_stall);
        hs_timer.async_wait([self = shared_from_this()](const error_code& ec) {
            if (!ec) self->on_stall_timer();
        });
    }

    /// Every handshake_stall while connections wait: if no handshake started or ended in that
    /// time, the slot holders are stalled peers; every waiter goes ahead.
    void on_stall_timer() {
        std::vector<std::shared_ptr<session_base>> admitted;
        bool again = false;
        {
            std::lock_guard lock(hs_mu);
            if (!hs_waiting.empty() && std::chrono::steady_clock::now() - hs_progress >= config.limits.handshake_stall) {
                admit_waiters_locked(static_cast<std::size_t>(-1), admitted);
                handshake_stall_releases.fetch_add(admitted.size(), std::memory_order_relaxed);
                hs_progress = std::chrono::steady_clock::now();
            }
            again = !hs_waiting.empty() && accepting.load();
            hs_timer_armed = again;
        }
        for (auto& a : admitted) a->post_admitted();
        if (again) arm_stall_timer();
    }

    void do_accept();
    void on_accept(const error_code& ec, tcp::socket socket);
    void close_acceptor();

    void add(session_base* s) {
        std::lock_guard lock(mu);
        sessions.insert(s);
    }
    void remove(session_base* s) {
        std::lock_guard lock(mu);
        sessions.erase(s);
    }
    std::size_t connection_count() {
        std::lock_guard lock(mu);
        return sessions.size();
    }
    std::vector<std::shared_ptr<session_base>> live_sessions() {
        std::vector<std::shared_ptr<session_base>> out;
        std::lock_guard lock(mu);
        out.reserve(sessions.size());
        for (auto* s : sessions) {
            // A session whose destructor is running yields null here; it removes itself under mu.
            if (auto sp = s->weak_from_this().lock()) out.push_back(std::move(sp));
        }
        return out;
    }

    void request_begun() { in_flight.fetch_add(1, std::memory_order_relaxed); }
    void request_done() {
        if (in_flight.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
        std::vector<std::shared_ptr<drain_waiter>> ready;
        {
            std::lock_guard lock(mu);
            drained_cv.notify_all();
            ready.swap(waiters);
        }
        for (auto& w : ready) fire(w, true);
    }
    static void fire(const std::shared_ptr<drain_waiter>& w, bool drained) {
        if (w->fired.exchange(true)) return;
        net::post(w->timer.get_executor(), [w, drained] {
            w->timer.cancel();
            w->done(drained);
        });
    }
};

namespace {

// ---------------------------------------------------------------------------------------------
// One connection. Tls selects a tls_stream or a plain timed_socket (tls_stream.hpp); everything
// else is shared. All member functions after start() run on the socket's executor (a strand, or
// a pool context's one thread), so no member needs a lock.

/// Keeps the TLS context alive at least as long as the stream built from it (declared first).
struct context_keeper {
    std::shared_ptr<ssl::context> tls_ctx_;
};

template <bool Tls>
class session final : public session_base, private context_keeper {
    using stream_type = std::conditional_t<Tls, tls_stream, timed_socket>;
    enum class phase { handshake, idle, reading, handling, writing, closing, closed };

public:
    session(std::shared_ptr<server::state> st, tcp::socket&& socket, std::shared_ptr<ssl::context> ctx)
        : context_keeper{std::move(ctx)},
          state_(std::move(st)),
          stream_(make_stream(std::move(socket))),
          buffer_(state_->config.limits.max_header_bytes + 2 * read_chunk),
          scanner_(state_->config.limits.max_header_bytes) {
        state_->add(this);
    }

    ~session() override {
        release_slot();
        finish_in_flight();
        state_->remove(this);
    }

    void start() override {
        net::dispatch(stream_.get_executor(), [self = self()] { self->on_start(); });
    }
    void post_drain() override {
        net::post(stream_.get_executor(), [self = self()] { self->on_drain(); });
    }
    void post_stop() override {
        net::post(stream_.get_executor(), [self = self()] { self->close_now(); });
    }
    void post_admitted() override {
        if constexpr (Tls) {
            net::post(stream_.get_executor(), [self = self()] {
                self->holds_slot_ = true;
                // The handshake's deadline runs from now: the time spent waiting for a slot was
                // not the peer's doing (a connection that waits holds only its socket).
                if (self->phase_ == phase::handshake) self->lowest().expires_after(self->lim().read_timeout);
                self->begin_handshake();
            });
        }
    }

    /// Any thread: hands the handler's answer back to the strand.
    void post_response(response r) {
        net::post(stream_.get_executor(), [self = self(), r = std::move(r)]() mutable { self->on_response(std::move(r)); });
    }

private:
    /// The responder's shared state: answers once, and answers 500 if every copy is dropped.
    struct reply_slot {
        explicit reply_slot(std::shared_ptr<session> s) : owner(std::move(s)) {}
        reply_slot(const reply_slot&) = delete;
        reply_slot& operator=(const reply_slot&) = delete;
        ~reply_slot() {
            if (!used.load(std::memory_order_acquire)) {
                spdlog::error("{}: handler dropped a request without answering; replying 500", owner->state_->config.name);
                owner->post_response(text_response(500));
            }
        }
        void send(response r) {
            if (used.exchange(true, std::memory_order_acq_rel)) {
                spdlog::warn("{}: handler answered a request twice; second answer ignored", owner->state_->config.name);
                return;
            }
            owner->post_response(std::move(r));
        }
        std::shared_ptr<session> owner;
        std::atomic<bool> used{false};
    };

    std::shared_ptr<session> self() { return std::static_pointer_cast<session>(shared_from_this()); }
    timed_socket& lowest() {
        if constexpr (Tls) {
            return stream_.next_layer();
        } else {
            return stream_;
        }
    }
    const limits& lim() const { return state_->config.limits; }

    stream_type make_stream(tcp::socket&& socket) {
        if constexpr (Tls) {
            return stream_type(std::move(socket), *tls_ctx_, tls_stream::server);
        } else {
            return stream_type(std::move(socket));
        }
    }

    void on_start() {
        error_code ec;
        auto ep = lowest().socket().remote_endpoint(ec);
        remote_ = ec ? std::string("?") : endpoint_text(ep);
        if constexpr (Tls) {
            phase_ = phase::handshake;
            lowest().expires_after(lim().read_timeout);
            // A handshake slot is taken once the ClientHello starts to arrive, not at accept: a
            // peer that connects and sends nothing holds none.
            stream_.async_wait_readable([self = self()](const error_code& e) {
                if (e) return self->on_handshake(e);
                if (self->state_->admit_handshake(self)) {
                    self->holds_slot_ = true;
                    self->begin_handshake();
                }
            });
        } else {
            do_read_header();
        }
    }

    void begin_handshake() {
        if (phase_ != phase::handshake || draining()) {  // closed or drained while waiting
            release_slot();
            return close_now();
        }
        if constexpr (Tls) stream_.async_handshake([self = self()](const error_code& e) { self->on_handshake(e); });
    }

    void release_slot() {
        if (!holds_slot_) return;
        holds_slot_ = false;
        state_->handshake_done();
    }

    void on_handshake(const error_code& ec) {
        if constexpr (Tls) release_slot();
        if (ec) {
            if (draining_ && ec == net::error::operation_aborted) return close_now();
            state_->tls_handshake_failures.fetch_add(1, std::memory_order_relaxed);
            if (ec == beast::error::timeout) state_->timeouts.fetch_add(1, std::memory_order_relaxed);
            spdlog::debug("{}: TLS handshake with {} failed: {}", state_->config.name, remote_, ec.message());
            close_now();
            return;
        }
        if (draining()) {
            do_shutdown();
            return;
        }
        do_read_header();
    }

    // --- Reading one request: header block (own framing, A11), then the body through Beast.

    void do_read_header() {
        if (!request_started_ && buffer_.size() > 0) {
            request_started_ = true;
            lowest().expires_after(lim().read_timeout);
        }
        const auto data = buffer_.cdata();
        const header_scan_result r = scanner_.scan(std::string_view(static_cast<const char*>(data.data()), data.size()));
        switch (r.status) {
            case header_scan_status::complete: return on_header(r);
            case header_scan_status::bad_line_ending: return reject(400, "bare CR or LF in the request header");
            case header_scan_status::obs_fold: return reject(400, "obsolete line folding in the request header");
            case header_scan_status::bad_request_line: return reject(400, "malformed request line");
            case header_scan_status::target_too_large: return reject(414, "request line over the header limit");
            case header_scan_status::header_too_large: return reject(431, "request header over the limit");
            case header_scan_status::need_more: break;
        }
        if (!request_started_) {
            if (draining()) {
                do_shutdown();
                return;
            }
            phase_ = phase::idle;
            lowest().expires_after(first_request_ ? lim().read_timeout : lim().idle_timeout);
        } else {
            phase_ = phase::reading;
        }
        if (buffer_.size() == 0) {
            // Nothing buffered (between requests, or before the first): wait for bytes without
            // holding a read buffer, so that an idle or waiting connection costs no 8 KiB.
            if (buffer_.capacity() != 0) buffer_.shrink_to_fit();
            stream_.async_wait_readable([self = self()](const error_code& ec) {
                if (ec) return self->on_read_header(ec, 0);
                self->read_header_some();
            });
            return;
        }
        read_header_some();
    }

    void read_header_some() {
        const std::size_t room = buffer_.max_size() - buffer_.size();
        stream_.async_read_some(buffer_.prepare(std::min(read_chunk, room)),
                                [self = self()](const error_code& ec, std::size_t n) { self->on_read_header(ec, n); });
    }

    void on_read_header(const error_code& ec, std::size_t n) {
        if (ec) {
            if (ec == beast::error::timeout) {
                state_->timeouts.fetch_add(1, std::memory_order_relaxed);
                spdlog::debug("{}: {} closed: {} deadline passed", state_->config.name, remote_, request_started_ ? "read" : "idle");
                return close_now();  // the stream already closed the socket
            }
            if (ec == net::error::operation_aborted && draining_ && !request_started_ && phase_ != phase::closed) {
                return do_shutdown();  // drained while idle in keep-alive
            }
            // Between requests, eof or (TLS) a short read is the peer hanging up: nothing is lost,
            // because HTTP framing, not the TLS close, tells whether a message was complete.
            if (!is_disconnect(ec) || request_started_) {
                spdlog::debug("{}: {} read failed: {}", state_->config.name, remote_, ec.message());
            }
            return close_now();
        }
        buffer_.commit(n);
        do_read_header();
    }

    void on_header(const header_scan_result& r) {
        phase_ = phase::reading;
        parser_.emplace(r.end - r.start, lim().max_body_bytes);
        parser_->header_limit(static_cast<std::uint32_t>(lim().max_header_bytes));
        parser_->eager(true);
        const auto data = buffer_.cdata();
        error_code ec;
        const std::size_t used = parser_->put(net::buffer(static_cast<const char*>(data.data()) + r.start, r.end - r.start), ec);
        buffer_.consume(r.end);
        scanner_.reset();
        if (ec == bhttp::error::body_limit) return reject(413, "declared body over the limit");
        if (ec == bhttp::error::bad_version) return reject(505);
        if (ec) return reject(400, ec.message());
        if (used != r.end - r.start || !parser_->is_header_done()) return reject(400, "malformed request header");

        const auto& p = *parser_;
        if (p.version() != 11 && p.version() != 10) return reject(505);
        // A11 / RFC 9112 §6: one framing, unambiguous. Beast tolerates repeated equal
        // Content-Length values (and lists of them); a strict reader does not.
        const auto cl_count = p.count(bhttp::field::content_length);
        const auto te_count = p.count(bhttp::field::transfer_encoding);
        if (cl_count > 1) return reject(400, "several Content-Length fields");
        if (cl_count == 1 && !all_digits(trim_ows(p.first_value(bhttp::field::content_length)))) {
            return reject(400, "Content-Length is not a number");
        }
        if (te_count > 0) {
            if (cl_count > 0) return reject(400, "both Content-Length and Transfer-Encoding");
            if (p.version() == 10) return reject(400, "Transfer-Encoding in an HTTP/1.0 request");
            if (te_count > 1 || !encoding::iequals(trim_ows(p.first_value(bhttp::field::transfer_encoding)), "chunked")) {
                return reject(501, "only the chunked transfer coding is supported");
            }
        }
        if (p.version() == 11 && p.count(bhttp::field::host) != 1) return reject(400, "HTTP/1.1 needs exactly one Host field");

        bool expects_continue = false;
        if (const auto expect_count = p.count(bhttp::field::expect); expect_count > 0) {
            if (!encoding::iequals(trim_ows(p.first_value(bhttp::field::expect)), "100-continue") || expect_count > 1) {
                return reject(417);
            }
            expects_continue = p.version() == 11;
        }

        // Body bytes that came with the header are parsed now, saving an asynchronous round trip.
        while (!parser_->is_done() && buffer_.size() > 0) {
            error_code pec;
            const std::size_t n = parser_->put(buffer_.data(), pec);
            buffer_.consume(n);
            if (pec == bhttp::error::need_more) break;
            if (pec) return on_read_body(pec);
            if (n == 0) break;
        }
        if (parser_->is_done()) return on_request_read();
        if (expects_continue) {
            net::async_write(stream_, net::buffer(continue_line.data(), continue_line.size()),
                             [self = self()](const error_code& e, std::size_t) {
                                 if (e) return self->close_now();
                                 self->do_read_body();
                             });
            return;
        }
        do_read_body();
    }

    void do_read_body() {
        bhttp::async_read(stream_, buffer_, *parser_, [self = self()](const error_code& ec, std::size_t) { self->on_read_body(ec); });
    }

    void on_read_body(const error_code& ec) {
        if (!ec) return on_request_read();
        if (ec == bhttp::error::body_limit) return reject(413, "body over the limit");
        if (ec == beast::error::timeout) {
            state_->timeouts.fetch_add(1, std::memory_order_relaxed);
            spdlog::debug("{}: {} closed: request body not received within the read deadline", state_->config.name, remote_);
            return close_now();
        }
        if (is_disconnect(ec)) return close_now();
        if (ec.category() == bhttp::make_error_code(bhttp::error::bad_chunk).category()) return reject(400, ec.message());
        spdlog::debug("{}: {} body read failed: {}", state_->config.name, remote_, ec.message());
        close_now();
    }

    // --- Handing the request over, and writing the answer.

    void on_request_read() {
        keep_alive_ = parser_->keep_alive();
        head_ = parser_->method() == bhttp::verb::head;
        request req = parser_->release();  // the fields' text and the body move, uncopied
        parser_.reset();
        req.remote = remote_;
        version_ = req.version;

        phase_ = phase::handling;
        if (buffer_.size() == 0) buffer_.shrink_to_fit();  // not held while the handler waits (STS)
        lowest().expires_never();  // the handler may take long (STS); the write sets its own deadline
        counted_in_flight_ = true;
        state_->request_begun();
        state_->requests.fetch_add(1, std::memory_order_relaxed);

        auto slot = std::make_shared<reply_slot>(self());
        responder reply = [slot](response r) { slot->send(std::move(r)); };
        try {
            state_->on_request(std::move(req), std::move(reply));
        } catch (...) {
            // what() is not logged: an exception from a parser may quote the input (a token).
            spdlog::error("{}: handler threw an exception; replying 500", state_->config.name);
            slot->send(text_response(500));
        }
    }

    void on_response(response r) {
        if (phase_ == phase::closed) {
            finish_in_flight();  // the connection was stopped while the handler ran
            return;
        }
        res_.clear();
        res_.version(version_);
        res_.result(r.status);
        if (!r.content_type.empty()) res_.set(bhttp::field::content_type, r.content_type);
        for (auto& [name, value] : r.headers) {
            if (server_owned_field(name) || !valid_field(name, value)) {
                spdlog::warn("{}: handler header dropped (server-owned or invalid)", state_->config.name);
                continue;
            }
            res_.insert(name, value);
        }
        res_.body() = std::move(r.body);
        res_.keep_alive(keep_alive_ && !draining());
        res_.prepare_payload();
        if (head_) res_.body().clear();  // HEAD: same header (Content-Length included), no body
        do_write();
    }

    /// The server's own answer to a request it refuses; the connection then closes.
    void reject(unsigned status, std::string_view detail = {}) {
        state_->bad_requests.fetch_add(1, std::memory_order_relaxed);
        spdlog::debug("{}: {} rejected with {}: {}", state_->config.name, remote_, status, detail);
        parser_.reset();
        std::string text = std::to_string(status);
        text += ' ';
        text += reason_phrase(status);
        if (!detail.empty()) {
            text += ": ";
            text += detail;
        }
        text += '\n';
        response r = text_response(status, text);
        res_.clear();
        res_.version(11);
        res_.result(r.status);
        res_.set(bhttp::field::content_type, r.content_type);
        for (auto& [name, value] : r.headers) res_.insert(name, value);
        res_.body() = std::move(r.body);
        res_.keep_alive(false);
        res_.prepare_payload();
        do_write();
    }

    void do_write() {
        phase_ = phase::writing;
        lowest().expires_after(lim().write_timeout);
        bhttp::async_write(stream_, res_, [self = self()](const error_code& ec, std::size_t) { self->on_write(ec); });
    }

    void on_write(const error_code& ec) {
        finish_in_flight();
        if (ec) {
            if (ec == beast::error::timeout) state_->timeouts.fetch_add(1, std::memory_order_relaxed);
            spdlog::debug("{}: {} write failed: {}", state_->config.name, remote_, ec.message());
            return close_now();
        }
        if (!res_.keep_alive() || draining()) return do_shutdown();
        res_.body().clear();  // keeps its capacity for the next answer
        request_started_ = false;
        first_request_ = false;
        do_read_header();
    }

    // --- Closing.

    void on_drain() {
        draining_ = true;
        if (phase_ == phase::idle || phase_ == phase::handshake) {
            error_code ignored;
            lowest().socket().cancel(ignored);  // the pending read or handshake completes with operation_aborted
        }
    }

    /// Polite close: TLS close_notify (and the peer's, when it answers with one), then FIN and a
    /// short bounded drain of what the peer still sends, so that an early answer (413) is not
    /// destroyed by a reset: closing a socket with unread bytes sends RST, and a peer still
    /// writing its body (a TLS peer's records make OpenSSL's shutdown fail with "application
    /// data after close_notify") would lose the answer it has not read yet.
    void do_shutdown() {
        if (phase_ == phase::closing || phase_ == phase::closed) return;
        phase_ = phase::closing;
        lowest().expires_after(std::min(lim().write_timeout, lim().linger_timeout));
        if constexpr (Tls) {
            stream_.async_shutdown([self = self()](const error_code& ec) {
                if (!ec) return self->close_now();  // both close_notify sent: nothing more comes
                self->linger();
            });
        } else {
            linger();
        }
    }

    void linger() {
        error_code ignored;
        lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
        linger_bytes_ = 0;
        do_linger();
    }

    void do_linger() {
        buffer_.consume(buffer_.size());
        lowest().async_read_some(buffer_.prepare(read_chunk), [self = self()](const error_code& ec, std::size_t n) {
            self->linger_bytes_ += n;
            if (ec || self->linger_bytes_ > max_linger_bytes) return self->close_now();
            self->do_linger();
        });
    }

    void close_now() {
        if (phase_ == phase::closed) return;
        phase_ = phase::closed;
        error_code ignored;
        lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
        lowest().close();
    }

    /// True once this session or the server drains (a session accepted just as the drain began
    /// may have missed its post_drain).
    bool draining() {
        if (!draining_ && state_->draining.load(std::memory_order_relaxed)) draining_ = true;
        return draining_;
    }

    void finish_in_flight() {
        if (!counted_in_flight_) return;
        counted_in_flight_ = false;
        state_->request_done();
    }

    std::shared_ptr<server::state> state_;
    stream_type stream_;
    beast::flat_buffer buffer_;
    header_scanner scanner_;
    std::optional<request_parser> parser_;  ///< rebuilt per request (no heap: it lives here)
    bhttp::response<bhttp::string_body> res_;
    std::string remote_;
    phase phase_ = phase::idle;
    unsigned version_ = 11;
    std::size_t linger_bytes_ = 0;
    bool first_request_ = true;
    bool request_started_ = false;
    bool keep_alive_ = true;
    bool head_ = false;
    bool draining_ = false;
    bool counted_in_flight_ = false;
    bool holds_slot_ = false;  ///< one of the server's max_handshakes slots
};

bool retry_later(const error_code& ec) {
    return ec == net::error::no_descriptors || ec == net::error::no_buffer_space || ec == net::error::no_memory ||
           ec.value() == ENFILE;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Accepting.

void server::state::do_accept() {
    auto on_done = [self = shared_from_this()](const error_code& ec, tcp::socket socket) {
        self->on_accept(ec, std::move(socket));
    };
    // A pool context has one thread, which serialises the connection's handlers by itself; a
    // shared io_context needs a strand per connection.
    if (pool) {
        acceptor.async_accept(net::any_io_executor(pool->next().get_executor()), std::move(on_done));
    } else {
        acceptor.async_accept(net::any_io_executor(net::make_strand(ioc)), std::move(on_done));
    }
}

void server::state::on_accept(const error_code& ec, tcp::socket socket) {
    if (!acceptor.is_open() || ec == net::error::operation_aborted) return;
    if (ec) {
        if (retry_later(ec)) {
            // Out of descriptors or memory: back off instead of spinning on the error.
            spdlog::warn("{}: accept failed: {}; retrying in 100 ms", config.name, ec.message());
            retry_timer.expires_after(std::chrono::milliseconds(100));
            retry_timer.async_wait([self = shared_from_this()](const error_code& e) {
                if (!e && self->acceptor.is_open()) self->do_accept();
            });
            return;
        }
        spdlog::debug("{}: accept failed: {}", config.name, ec.message());
        return do_accept();
    }
    if (!accepting.load() || draining.load() || connection_count() >= config.limits.max_connections) {
        rejected_connections.fetch_add(1, std::memory_order_relaxed);
        error_code ignored;
        socket.close(ignored);  // over the limit: cut off at once, others unaffected
        return do_accept();
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    accepted.fetch_add(1, std::memory_order_relaxed);
    if (config.tls) {
        std::make_shared<session<true>>(shared_from_this(), std::move(socket), config.tls->current())->start();
    } else {
        std::make_shared<session<false>>(shared_from_this(), std::move(socket), nullptr)->start();
    }
    do_accept();
}

void server::state::close_acceptor() {
    accepting.store(false);
    net::post(acceptor.get_executor(), [self = shared_from_this()] {
        error_code ignored;
        self->acceptor.close(ignored);
        self->retry_timer.cancel();
        self->hs_timer.cancel();
        std::vector<std::shared_ptr<session_base>> waiting;
        {
            std::lock_guard lock(self->hs_mu);
            self->hs_timer_armed = false;
            // Stopped or draining: waiters get their slot now and close at once (they see the drain).
            self->admit_waiters_locked(static_cast<std::size_t>(-1), waiting);
        }
        for (auto& w : waiting) w->post_admitted();
    });
}

// ---------------------------------------------------------------------------------------------
// server

server::server(net::io_context& ioc, server_config config, handler h)
    : state_(std::make_shared<state>(ioc, nullptr, std::move(config), std::move(h))) {}

server::server(io_pool& pool, server_config config, handler h)
    : state_(std::make_shared<state>(pool.at(0), &pool, std::move(config), std::move(h))) {}

server::~server() { stop(); }

status server::start() {
    auto& st = *state_;
    auto fail = [&](const std::string& what, const error_code& ec) {
        return make_error("listen_failed", st.config.name + ": " + what + ": " + ec.message());
    };
    error_code ec;
    std::vector<tcp::endpoint> candidates;
    if (st.config.address.empty()) {
        candidates = {tcp::endpoint(tcp::v6(), st.config.port), tcp::endpoint(tcp::v4(), st.config.port)};
    } else if (auto ip = net::ip::make_address(st.config.address, ec); !ec) {
        candidates = {tcp::endpoint(ip, st.config.port)};
    } else {
        tcp::resolver resolver(st.ioc);
        auto results = resolver.resolve(st.config.address, std::to_string(st.config.port), ec);
        if (ec) return fail("resolving " + st.config.address, ec);
        for (const auto& r : results) candidates.push_back(r.endpoint());
    }

    for (const auto& ep : candidates) {
        error_code ignored;
        st.acceptor.close(ignored);
        st.acceptor.open(ep.protocol(), ec);
        if (ec) continue;
        if (ep.address().is_v6() && st.config.address.empty()) st.acceptor.set_option(net::ip::v6_only(false), ignored);
        st.acceptor.set_option(net::socket_base::reuse_address(true), ignored);
        st.acceptor.bind(ep, ec);
        if (ec) continue;
        st.acceptor.listen(net::socket_base::max_listen_connections, ec);
        if (ec) continue;
        st.port = st.acceptor.local_endpoint(ignored).port();
        st.accepting = true;
        spdlog::info("{}: listening on {}{}", st.config.name, endpoint_text(st.acceptor.local_endpoint(ignored)),
                     st.config.tls ? " (TLS)" : "");
        net::post(st.acceptor.get_executor(), [s = state_] { s->do_accept(); });
        return ok_status();
    }
    error_code ignored;
    st.acceptor.close(ignored);
    return fail("listening on " + (st.config.address.empty() ? std::string("*") : st.config.address) + ":" +
                    std::to_string(st.config.port),
                ec);
}

std::uint16_t server::port() const noexcept { return state_->port.load(); }

void server::stop_accepting() { state_->close_acceptor(); }

void server::drain() {
    state_->draining.store(true);
    state_->close_acceptor();
    for (auto& s : state_->live_sessions()) s->post_drain();
}

bool server::draining() const noexcept { return state_->draining.load(); }

bool server::wait_drained(std::chrono::steady_clock::duration timeout) {
    std::unique_lock lock(state_->mu);
    return state_->drained_cv.wait_for(lock, timeout, [&] { return state_->in_flight.load() == 0; });
}

void server::async_wait_drained(std::chrono::steady_clock::duration timeout, std::function<void(bool)> done) {
    auto w = std::make_shared<drain_waiter>(state_->ioc, std::move(done));
    // Arm the timer first, on the waiter's strand, so that a later cancel (also posted there)
    // always finds it armed.
    net::post(w->timer.get_executor(), [w, timeout] {
        if (w->fired.load()) return;
        w->timer.expires_after(timeout);
        w->timer.async_wait([w](const error_code& ec) {
            if (!ec) state::fire(w, false);
        });
    });
    bool now = false;
    {
        std::lock_guard lock(state_->mu);
        if (state_->in_flight.load() == 0) {
            now = true;
        } else {
            state_->waiters.push_back(w);
        }
    }
    if (now) state::fire(w, true);
}

void server::stop() {
    state_->close_acceptor();
    for (auto& s : state_->live_sessions()) s->post_stop();
}

server_stats server::stats() const {
    auto& st = *state_;
    server_stats out;
    out.connections = st.connection_count();
    out.in_flight = st.in_flight.load();
    out.accepted = st.accepted.load();
    out.rejected_connections = st.rejected_connections.load();
    out.tls_handshake_failures = st.tls_handshake_failures.load();
    out.timeouts = st.timeouts.load();
    out.bad_requests = st.bad_requests.load();
    out.requests = st.requests.load();
    {
        std::lock_guard lock(st.hs_mu);
        out.handshakes_in_progress = st.hs_active;
    }
    out.handshakes_queued = st.handshakes_queued.load();
    out.handshake_stall_releases = st.handshake_stall_releases.load();
    return out;
}

}  // namespace stsauth::http
