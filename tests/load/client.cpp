#include "client.hpp"

#include "common/encoding.hpp"
#include "http/tls_stream.hpp"
#include "percentile.hpp"
#include "tokens.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>

#include <sys/resource.h>

namespace stsauth::load {
namespace {

namespace asio = boost::asio;
namespace http = stsauth::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;
using boost::system::error_code;

/// One answer, or why there is none.
struct answer {
    std::string error;  ///< empty: an answer was read
    unsigned status = 0;
    std::string body;
    bool close = false;  ///< the server said Connection: close
    clock::time_point scheduled;
    clock::time_point sent;  ///< when the write started
    clock::time_point finished;
};

/// Where the answer's header block ends, its status, Content-Length and Connection: close.
struct head {
    std::size_t header_bytes = 0;
    unsigned status = 0;
    std::size_t content_length = 0;
    bool close = false;
};

/// Parses a complete response head (status line and fields, CRLF CRLF included); nullopt on
/// anything the harness does not expect from stsauth or the fake (chunked bodies included).
std::optional<head> parse_head(std::string_view text, std::size_t header_bytes) {
    head h;
    h.header_bytes = header_bytes;
    const auto line_end = text.find("\r\n");
    const auto status_line = text.substr(0, line_end);
    if (!status_line.starts_with("HTTP/1.1 ") || status_line.size() < 12) return std::nullopt;
    const auto code = status_line.substr(9, 3);
    if (!std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
    h.status = static_cast<unsigned>(std::stoul(std::string(code)));
    bool has_length = false;
    std::size_t pos = line_end + 2;
    while (pos < header_bytes - 2) {
        const auto end = text.find("\r\n", pos);
        const auto field = text.substr(pos, end - pos);
        pos = end + 2;
        const auto colon = field.find(':');
        if (colon == std::string_view::npos) return std::nullopt;
        const auto name = field.substr(0, colon);
        auto value = field.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        if (encoding::iequals(name, "content-length")) {
            if (value.empty() || !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
                return std::nullopt;
            h.content_length = std::stoul(std::string(value));
            has_length = true;
        } else if (encoding::iequals(name, "transfer-encoding")) {
            return std::nullopt;
        } else if (encoding::iequals(name, "connection") && encoding::iequals(value, "close")) {
            h.close = true;
        }
    }
    if (!has_length) return std::nullopt;
    return h;
}

class runner;

/// One keep-alive TLS connection; one request at a time. Single-threaded (the runner's
/// io_context), so no strand. TLS is lib/http's `tls_stream` (OpenSSL reads and writes the
/// socket itself): a request is written in place and the answer read in place once the socket
/// is readable — per exchange one send, one readiness wait and the reads that find bytes, no
/// BIO pair to copy through and no composed operation (the harness shares the server's CPUs, so
/// its own cost per request is part of every figure it takes).
class connection : public std::enable_shared_from_this<connection> {
public:
    connection(asio::io_context& ioc, ssl::context& tls, const run_options& o)
        : stream_(ioc.get_executor(), tls, http::tls_stream::client), deadline_(ioc), options_(o) {}

    using open_handler = std::function<void(std::shared_ptr<connection>, std::string error)>;
    using answer_handler = std::function<void(std::shared_ptr<connection>, answer)>;
    using write_handler = std::function<void(clock::time_point)>;

    void open(open_handler done) {
        if (!http::expect_server_name(stream_.native_handle(), options_.server_name)) {
            asio::post(stream_.get_executor(), [self = shared_from_this(), done] { done(self, "handshake"); });
            return;
        }
        arm(options_.connect_timeout);
        const tcp::endpoint ep(asio::ip::make_address(options_.address), options_.port);
        socket().async_connect(ep, [self = shared_from_this(), done](const error_code& ec) {
            if (ec) return self->finish_open(done, self->cause("connect"));
            error_code ignored;
            self->socket().set_option(tcp::no_delay(true), ignored);
            self->stream_.async_handshake([self, done](const error_code& hec) {
                self->finish_open(done, hec ? self->cause("handshake") : "");
            });
        });
    }

    /// Writes `request` and reads one answer; `on_written` (may be empty) when the bytes are out.
    /// `done` is never called from inside this call. The answer is due within request_timeout:
    /// the runner's watchdog calls expire_if_late().
    void exchange(std::string request, clock::time_point scheduled, answer_handler done, write_handler on_written = {}) {
        request_ = std::move(request);
        written_ = 0;
        scheduled_ = scheduled;
        sent_ = clock::now();
        buffer_.clear();
        timed_out_ = false;
        answer_due_ = sent_ + options_.request_timeout;
        done_ = std::move(done);
        on_written_ = std::move(on_written);
        write();
    }

    /// Closes the connection when its answer is overdue (the pending operation then fails as a timeout).
    void expire_if_late(clock::time_point now) {
        if (now < answer_due_) return;
        timed_out_ = true;
        close();
    }

    void close() {
        answer_due_ = clock::time_point::max();
        deadline_.cancel();
        stream_.next_layer().close();
    }

private:
    tcp::socket& socket() { return stream_.next_layer().socket(); }

    /// Why an operation failed: `what` failed, or a deadline closed the socket under it.
    std::string cause(const char* what) const { return timed_out_ ? "timeout" : what; }

    /// The opening's deadline (a timer per connection; exchanges use answer_due_ instead, so a
    /// request costs no timer operations).
    void arm(std::chrono::milliseconds timeout) {
        timed_out_ = false;
        deadline_.expires_after(timeout);
        deadline_.async_wait([weak = weak_from_this()](const error_code& ec) {
            auto self = weak.lock();
            if (ec || !self) return;
            self->timed_out_ = true;
            self->close();
        });
    }

    void finish_open(const open_handler& done, std::string error) {
        deadline_.cancel();
        done(shared_from_this(), std::move(error));
    }

    /// The request in place, a record at a time; the stream's operation when the socket's send
    /// buffer is full. Then the wait for the answer: it cannot be there yet.
    void write() {
        while (written_ < request_.size()) {
            const auto r = stream_.try_write_some(request_.data() + written_, request_.size() - written_);
            if (r.want != 0) {
                stream_.async_write_some(asio::buffer(request_.data() + written_, request_.size() - written_),
                                         [self = shared_from_this()](const error_code& ec, std::size_t n) {
                                             if (ec) return self->fail(self->cause("write"));
                                             self->written_ += n;
                                             self->write();
                                         });
                return;
            }
            if (r.ec || r.n == 0) {
                // Never complete from inside exchange(): the runner may be iterating its connections.
                asio::post(stream_.get_executor(), [self = shared_from_this()] { self->fail(self->cause("write")); });
                return;
            }
            written_ += r.n;
        }
        if (on_written_) on_written_(clock::now());
        wait_answer();
    }

    void wait_answer() {
        stream_.async_wait_readable([self = shared_from_this()](const error_code& ec) {
            if (ec) return self->fail(self->cause("read"));
            self->read();
        });
    }

    /// Reads what OpenSSL has (in place) until the answer is complete or the socket is drained.
    void read() {
        for (;;) {
            const auto r = stream_.try_read_some(chunk_.data(), chunk_.size());
            if (r.want == 1) return wait_answer();
            if (r.want != 0) {
                // OpenSSL must write first (a key update): the stream's operation copes.
                stream_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](const error_code& ec, std::size_t n) {
                    if (ec) return self->fail(self->cause("read"));
                    self->buffer_.append(self->chunk_.data(), n);
                    if (self->on_bytes()) self->read();
                });
                return;
            }
            if (r.ec || r.n == 0) return fail(cause("read"));
            buffer_.append(chunk_.data(), r.n);
            if (!on_bytes()) return;
        }
    }

    /// True while the answer needs more bytes; otherwise it has been delivered (or failed).
    bool on_bytes() {
        if (!head_) {
            const auto end = buffer_.find("\r\n\r\n");
            if (end == std::string::npos) {
                if (buffer_.size() > 64 * 1024) return fail("protocol"), false;
                return true;
            }
            head_ = parse_head(buffer_, end + 4);
            if (!head_) return fail("protocol"), false;
        }
        const std::size_t total = head_->header_bytes + head_->content_length;
        if (buffer_.size() < total) return true;
        if (buffer_.size() > total) return fail("protocol"), false;  // nothing was pipelined
        answer_due_ = clock::time_point::max();
        answer a;
        a.status = head_->status;
        a.close = head_->close;
        a.body = buffer_.substr(head_->header_bytes);
        a.scheduled = scheduled_;
        a.sent = sent_;
        a.finished = clock::now();
        head_.reset();
        deliver(std::move(a));
        return false;
    }

    void fail(std::string error) {
        answer_due_ = clock::time_point::max();
        head_.reset();
        answer a;
        a.error = std::move(error);
        a.scheduled = scheduled_;
        a.sent = sent_;
        a.finished = clock::now();
        deliver(std::move(a));
    }

    /// Hands the answer to the runner, which may start the next exchange on this connection.
    void deliver(answer a) {
        auto done = std::move(done_);
        done_ = nullptr;
        on_written_ = nullptr;
        if (done) done(shared_from_this(), std::move(a));
    }

    http::tls_stream stream_;
    asio::steady_timer deadline_;  ///< opening only (connect + handshake)
    clock::time_point answer_due_ = clock::time_point::max();
    const run_options& options_;
    bool timed_out_ = false;
    std::string request_;
    std::size_t written_ = 0;
    answer_handler done_;
    write_handler on_written_;
    std::string buffer_;
    std::array<char, 16 * 1024> chunk_{};
    std::optional<head> head_;
    clock::time_point scheduled_, sent_;
};

class runner {
public:
    explicit runner(const run_options& o)
        : options_(o), tls_(ssl::context::tls_client), tick_(ioc_), probe_timer_(ioc_), hard_stop_(ioc_), watchdog_(ioc_) {}

    result<run_report> run() {
        if (auto st = prepare(); !st) return st.err();
        const std::size_t n = options_.mode == run_mode::probe ? 1 : options_.connections;
        for (std::size_t i = 0; i < n; ++i) open_one();
        // Opening is bounded by connect_timeout (each connection arms it).
        ioc_.run();
        if (!open_error_.empty()) return make_error("open_failed", open_error_);
        std::sort(report_.latencies_us.begin(), report_.latencies_us.end());
        std::sort(report_.send_lag_us.begin(), report_.send_lag_us.end());
        std::sort(report_.service_us.begin(), report_.service_us.end());
        return std::move(report_);
    }

private:
    status prepare() {
        // Option checks first (pure), then the CA file.
        error_code ec;
        const auto addr = asio::ip::make_address(options_.address, ec);
        if (ec || !addr.is_loopback()) return make_error("not_loopback", "the target must be a loopback IP literal");
        if (options_.ca_file.empty()) return make_error("no_ca", "--ca is required (the server's certificate)");
        if (options_.kind != request_kind::get && options_.tokens.empty())
            return make_error("no_tokens", "this request kind needs tokens");
        if (options_.kind == request_kind::sts) {
            sts_targets_.reserve(options_.tokens.size());
            for (const auto& t : options_.tokens) {
                auto target = sts_target(t);
                if (!target) return target.err();
                sts_targets_.push_back(std::move(*target));
            }
        }
        if (options_.mode == run_mode::rate && !(options_.rate > 0)) return make_error("no_rate", "rate mode needs --rate > 0");
        if (options_.mode != run_mode::probe && options_.connections == 0)
            return make_error("no_connections", "at least one connection is needed");
        tls_.set_options(ssl::context::default_workarounds | ssl::context::no_compression);
        if (SSL_CTX_set_min_proto_version(tls_.native_handle(), TLS1_2_VERSION) != 1)
            return make_error("tls", "cannot require TLS 1.2");
        tls_.load_verify_file(options_.ca_file, ec);
        if (ec) return make_error("bad_ca", "cannot load " + options_.ca_file + ": " + ec.message());
        tls_.set_verify_mode(ssl::verify_peer);
        return ok_status();
    }

    struct sts_request {
        std::string host;
        std::string target;
    };

    /// The presigned URL inside a token, split into host and request target.
    static result<sts_request> sts_target(const std::string& token) {
        constexpr std::string_view prefix = "k8s-aws-v1.";
        if (!token.starts_with(prefix)) return make_error("bad_token", "a token lacks the k8s-aws-v1. prefix");
        auto url = encoding::base64url_decode(std::string_view(token).substr(prefix.size()));
        if (!url) return make_error("bad_token", "a token is not base64url");
        constexpr std::string_view scheme = "https://";
        const auto slash = url->find('/', scheme.size());
        if (!url->starts_with(scheme) || slash == std::string::npos) return make_error("bad_token", "a token is not an https URL");
        return sts_request{url->substr(scheme.size(), slash - scheme.size()), url->substr(slash)};
    }

    std::size_t next_token_index() {
        if (cursor_ == options_.tokens.size()) {
            cursor_ = 0;
            ++report_.token_wraps;
        }
        return cursor_++;
    }

    std::string build_request(std::optional<std::size_t> token_index = std::nullopt) {
        if (!token_index && options_.kind != request_kind::get) token_index = next_token_index();
        switch (options_.kind) {
            case request_kind::get:
                return fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: stsauth-load\r\n\r\n", options_.path,
                                   options_.server_name);
            case request_kind::review:
            case request_kind::body: {
                const auto body = options_.kind == request_kind::body ? options_.tokens[*token_index]
                                                                      : token_review_body(options_.tokens[*token_index]);
                return fmt::format("POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: stsauth-load\r\nAccept: application/json\r\n"
                                   "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
                                   options_.path, options_.server_name, body.size(), body);
            }
            case request_kind::sts: {
                const auto& r = sts_targets_[*token_index];
                return fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\nx-k8s-aws-id: {}\r\nAccept: application/json\r\n"
                                   "User-Agent: stsauth-load\r\n\r\n",
                                   r.target, r.host, options_.cluster_id);
            }
        }
        return {};
    }

    // ---- opening ---------------------------------------------------------------------------

    void open_one() {
        auto c = std::make_shared<connection>(ioc_, tls_, options_);
        c->open([this](std::shared_ptr<connection> conn, std::string error) { on_open(std::move(conn), std::move(error)); });
    }

    void on_open(std::shared_ptr<connection> c, std::string error) {
        if (!started_) {
            if (!error.empty()) {
                if (open_error_.empty()) open_error_ = "a connection could not be opened: " + error;
                ++report_.errors[error];
            } else {
                conns_.push_back(c);
            }
            const std::size_t n = options_.mode == run_mode::probe ? 1 : options_.connections;
            if (conns_.size() + report_.error_count() < n) return;
            if (!open_error_.empty()) {
                for (auto& conn : conns_) conn->close();
                return;
            }
            start();
            return;
        }
        // A replacement after an error (closed and rate modes).
        if (!error.empty()) {
            ++report_.errors[error];
            if (!stopping_) reconnect_later();
            return;
        }
        conns_.push_back(c);
        put_to_work(std::move(c));
    }

    void reconnect_later() {
        // Space reconnections out so a dead server does not make a busy loop.
        auto t = std::make_shared<asio::steady_timer>(ioc_, std::chrono::milliseconds(50));
        t->async_wait([this, t](const error_code& ec) {
            if (!ec && !stopping_) open_one();
        });
    }

    // ---- running ---------------------------------------------------------------------------

    /// This process's CPU time so far (user + system), in seconds.
    static double cpu_seconds() {
        rusage u{};
        getrusage(RUSAGE_SELF, &u);
        auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
        return s(u.ru_utime) + s(u.ru_stime);
    }

    /// This process's threads' time waiting for a CPU while runnable so far, in seconds (the
    /// second field of each /proc/self/task/*/schedstat; 0 where the kernel has no schedstat).
    static double runq_seconds() {
        double ns = 0;
        std::error_code ec;
        for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
            std::ifstream in(task.path() / "schedstat");
            double on_cpu = 0, waited = 0;
            if (in >> on_cpu >> waited) ns += waited;
        }
        return ns / 1e9;
    }

    void start() {
        started_ = true;
        start_ = clock::now();
        start_cpu_s_ = cpu_seconds();
        start_runq_s_ = runq_seconds();
        end_ = start_ + options_.duration;
        hard_stop_.expires_at(end_ + options_.request_timeout + std::chrono::seconds(2));
        hard_stop_.async_wait([this](const error_code& ec) {
            if (!ec) abort_outstanding();
        });
        watch();
        switch (options_.mode) {
            case run_mode::closed:
                for (auto& c : std::vector(conns_)) put_to_work(c);
                break;
            case run_mode::rate:
                total_ = static_cast<std::uint64_t>(options_.rate * std::chrono::duration<double>(options_.duration).count());
                if (options_.max_requests != 0) total_ = std::min(total_, options_.max_requests);
                clock_ = rate_clock{options_.rate, total_, options_.tick};
                for (auto& c : conns_) idle_.push_back(c);
                on_tick();
                break;
            case run_mode::burst: {
                // Build every request first so the writes go out back to back.
                std::vector<std::string> requests;
                const auto index = next_token_index();
                for (std::size_t i = 0; i < conns_.size(); ++i) requests.push_back(build_request(index));
                const auto t = clock::now();
                for (std::size_t i = 0; i < conns_.size(); ++i) send(conns_[i], std::move(requests[i]), t);
                break;
            }
            case run_mode::probe:
                send(conns_.front(), build_request(0), clock::now());
                break;
        }
        maybe_finish();
    }

    bool may_send_more() const {
        if (stopping_ || clock::now() >= end_) return false;
        return options_.max_requests == 0 || report_.sent < options_.max_requests;
    }

    /// An idle connection: the next request (closed), the oldest due one (rate), or rest.
    void put_to_work(std::shared_ptr<connection> c) {
        if (options_.mode == run_mode::closed) {
            if (may_send_more()) return send(std::move(c), build_request(), clock::now());
        }
        idle_.push_back(std::move(c));
        // Rate mode: any wakeup sends what has fallen due since the last tick, so the timer
        // (options_.tick apart at least) is a backstop rather than the only clock.
        if (options_.mode == run_mode::rate) release_due(clock::now());
        maybe_finish();
    }

    /// Rate mode: every request due by `now` goes to an idle connection, oldest first; the rest
    /// wait in pending_ for one.
    void release_due(clock::time_point now) {
        if (stopping_) return;
        const auto due = clock_.due_by(now - start_);
        while (scheduled_ < due) pending_.push_back(start_ + clock_.due_at(scheduled_++));
        while (!pending_.empty() && !idle_.empty()) {
            auto c = std::move(idle_.front());
            idle_.pop_front();
            const auto t = pending_.front();
            pending_.pop_front();
            send(std::move(c), build_request(), t);
        }
        report_.max_queued = std::max(report_.max_queued, pending_.size());
    }

    /// The rate mode's clock: wakes when the next request is due, but not sooner than
    /// options_.tick after the last wakeup. Arming a timer costs a system call and, on a virtual
    /// machine, often an exit to the hypervisor; one per request made the client the busiest
    /// process of the fixed-rate runs. Latency is counted from each request's own due time, so
    /// the coarser clock shows as client lag (in both runs of a comparison) rather than hiding.
    void on_tick() {
        if (stopping_) return;
        const auto now = clock::now();
        release_due(now);
        if (scheduled_ >= total_) return maybe_finish();
        tick_.expires_at(start_ + clock_.next_wake(scheduled_, now - start_));
        tick_.async_wait([this](const error_code& ec) {
            if (!ec) on_tick();
        });
    }

    /// Every open connection's answer deadline, checked a few times a second.
    void watch() {
        watchdog_.expires_after(std::clamp(options_.request_timeout / 10, std::chrono::milliseconds(1), std::chrono::milliseconds(100)));
        watchdog_.async_wait([this](const error_code& ec) {
            if (ec || finished_) return;
            const auto now = clock::now();
            for (auto& c : std::vector(conns_)) c->expire_if_late(now);
            watch();
        });
    }

    void send(std::shared_ptr<connection> c, std::string request, clock::time_point scheduled) {
        ++report_.sent;
        ++outstanding_;
        connection::write_handler on_written;
        if (options_.mode == run_mode::burst)
            on_written = [this](clock::time_point t) {
                first_write_ = std::min(first_write_.value_or(t), t);
                last_write_ = std::max(last_write_.value_or(t), t);
            };
        c->exchange(std::move(request), scheduled,
                    [this](std::shared_ptr<connection> conn, answer a) { on_answer(std::move(conn), std::move(a)); },
                    std::move(on_written));
    }

    void on_answer(std::shared_ptr<connection> c, answer a) {
        --outstanding_;
        if (aborted_) return;
        last_answer_ = a.finished;
        if (!a.error.empty()) {
            ++report_.errors[a.error];
            drop(c);
            if (!stopping_ && (options_.mode == run_mode::closed || options_.mode == run_mode::rate)) open_one();
            return maybe_finish();
        }
        record(a);
        if (a.close) {
            drop(c);
            if (!stopping_ && (options_.mode == run_mode::closed || options_.mode == run_mode::rate)) open_one();
            return maybe_finish();
        }
        if (options_.mode == run_mode::probe) {
            if (a.body.find(options_.probe_until) != std::string::npos) {
                report_.probe_matched = true;
                stopping_ = true;
                return maybe_finish();
            }
            if (clock::now() >= end_) return maybe_finish();
            probe_timer_.expires_after(options_.probe_interval);
            probe_timer_.async_wait([this, c](const error_code& ec) {
                if (!ec) send(c, build_request(0), clock::now());
            });
            return;
        }
        if (options_.mode == run_mode::burst) return maybe_finish();
        put_to_work(std::move(c));
    }

    void record(const answer& a) {
        ++report_.completed;
        ++report_.statuses[a.status];
        auto micros = [](clock::duration d) {
            const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
            return static_cast<std::uint32_t>(std::clamp<std::int64_t>(us, 0, UINT32_MAX));
        };
        report_.latencies_us.push_back(micros(a.finished - a.scheduled));
        report_.send_lag_us.push_back(micros(a.sent - a.scheduled));
        report_.service_us.push_back(micros(a.finished - a.sent));
        if (options_.kind != request_kind::review) return;
        if (a.body.find(R"("authenticated":true)") != std::string::npos) {
            ++report_.authenticated;
        } else if (a.body.find(R"("authenticated":false)") != std::string::npos) {
            ++report_.denied;
            constexpr std::string_view key = R"("error":")";
            const auto at = a.body.find(key);
            std::string reason = "unknown";
            if (at != std::string::npos) {
                const auto from = at + key.size();
                reason = a.body.substr(from, std::min<std::size_t>(a.body.find('"', from) - from, 64));
            }
            ++report_.denied_reasons[reason];
        } else {
            ++report_.other;
        }
    }

    void drop(const std::shared_ptr<connection>& c) {
        c->close();
        conns_.erase(std::remove(conns_.begin(), conns_.end(), c), conns_.end());
        idle_.erase(std::remove(idle_.begin(), idle_.end(), c), idle_.end());
    }

    void maybe_finish() {
        if (!started_ || finished_) return;
        bool more = false;
        switch (options_.mode) {
            case run_mode::closed: more = may_send_more(); break;
            case run_mode::rate: more = !stopping_ && (scheduled_ < total_ || !pending_.empty()); break;
            case run_mode::burst: more = false; break;
            case run_mode::probe: more = !stopping_ && clock::now() < end_; break;
        }
        if (more || outstanding_ > 0) return;
        finish();
    }

    void abort_outstanding() {
        // Answers still missing after the last deadline: count them as timeouts and stop.
        if (finished_) return;
        if (outstanding_ > 0) report_.errors["timeout"] += outstanding_;
        const std::uint64_t unsent = pending_.size() + (total_ > scheduled_ ? total_ - scheduled_ : 0);
        if (unsent > 0) report_.errors["not_sent"] += unsent;
        aborted_ = true;
        finish();
    }

    void finish() {
        finished_ = true;
        stopping_ = true;
        report_.cpu_s = cpu_seconds() - start_cpu_s_;
        report_.runq_s = runq_seconds() - start_runq_s_;
        const auto last = last_answer_.value_or(clock::now());
        report_.elapsed_s = std::chrono::duration<double>(std::max(last, start_) - start_).count();
        if (first_write_ && last_write_)
            report_.send_spread_ms = std::chrono::duration<double, std::milli>(*last_write_ - *first_write_).count();
        tick_.cancel();
        probe_timer_.cancel();
        hard_stop_.cancel();
        watchdog_.cancel();
        for (auto& c : conns_) c->close();
        ioc_.stop();
    }

    const run_options& options_;
    asio::io_context ioc_{1};
    ssl::context tls_;
    asio::steady_timer tick_, probe_timer_, hard_stop_, watchdog_;
    std::vector<sts_request> sts_targets_;
    std::vector<std::shared_ptr<connection>> conns_;
    std::deque<std::shared_ptr<connection>> idle_;
    std::deque<clock::time_point> pending_;
    std::size_t cursor_ = 0;
    std::uint64_t scheduled_ = 0, total_ = 0;
    rate_clock clock_;
    std::size_t outstanding_ = 0;
    bool started_ = false, stopping_ = false, finished_ = false, aborted_ = false;
    std::string open_error_;
    clock::time_point start_, end_;
    double start_cpu_s_ = 0;
    double start_runq_s_ = 0;
    std::optional<clock::time_point> last_answer_, first_write_, last_write_;
    run_report report_;
};

}  // namespace

rate_clock::duration rate_clock::due_at(std::uint64_t i) const {
    return std::chrono::duration_cast<duration>(std::chrono::duration<double>(static_cast<double>(i) / rate));
}

std::uint64_t rate_clock::due_by(duration elapsed) const {
    if (elapsed < duration::zero()) return 0;
    // floor(elapsed * rate) + 1, then stepped so that exactly the requests with due_at(i) <= elapsed
    // count, whatever the rounding of the product.
    auto n = static_cast<std::uint64_t>(std::chrono::duration<double>(elapsed).count() * rate) + 1;
    while (n > 0 && due_at(n - 1) > elapsed) --n;
    while (due_at(n) <= elapsed && n < total) ++n;
    return std::min(n, total);
}

rate_clock::duration rate_clock::next_wake(std::uint64_t scheduled, duration now) const {
    return std::max(due_at(scheduled), now + std::chrono::duration_cast<duration>(tick));
}

std::uint64_t run_report::error_count() const {
    std::uint64_t n = 0;
    for (const auto& [kind, count] : errors) n += count;
    return n;
}

double run_report::percentile_ms(double p) const { return percentile_ms(latencies_us, p); }

double run_report::percentile_ms(const std::vector<std::uint32_t>& sorted_us, double p) {
    if (sorted_us.empty()) return 0;
    return nearest_rank(sorted_us, p) / 1000.0;
}

result<run_report> run_load(const run_options& options) { return runner(options).run(); }

std::string format_report(const run_report& r) {
    std::string out;
    auto line = [&out](std::string_view key, auto value) { fmt::format_to(std::back_inserter(out), "{}={}\n", key, value); };
    line("sent", r.sent);
    line("completed", r.completed);
    line("errors", r.error_count());
    for (const auto& [kind, count] : r.errors) line("err_" + kind, count);
    std::uint64_t ok = 0;
    for (const auto& [status, count] : r.statuses) {
        line(fmt::format("status_{}", status), count);
        if (status >= 200 && status < 300) ok += count;
    }
    line("status_2xx", ok);
    line("non_2xx", r.completed - ok);
    line("authenticated", r.authenticated);
    line("denied", r.denied);
    for (const auto& [reason, count] : r.denied_reasons) line("denied_" + reason, count);
    line("other", r.other);
    line("token_wraps", r.token_wraps);
    line("elapsed_s", fmt::format("{:.3f}", r.elapsed_s));
    line("rps", fmt::format("{:.1f}", r.rps()));
    line("p50_ms", fmt::format("{:.3f}", r.percentile_ms(50)));
    line("p90_ms", fmt::format("{:.3f}", r.percentile_ms(90)));
    line("p99_ms", fmt::format("{:.3f}", r.percentile_ms(99)));
    line("p999_ms", fmt::format("{:.3f}", r.percentile_ms(99.9)));
    line("max_ms", fmt::format("{:.3f}", r.percentile_ms(100)));
    for (const auto& [name, samples] : {std::pair{"lag", &r.send_lag_us}, std::pair{"svc", &r.service_us}}) {
        line(fmt::format("{}_p50_ms", name), fmt::format("{:.3f}", run_report::percentile_ms(*samples, 50)));
        line(fmt::format("{}_p99_ms", name), fmt::format("{:.3f}", run_report::percentile_ms(*samples, 99)));
        line(fmt::format("{}_p999_ms", name), fmt::format("{:.3f}", run_report::percentile_ms(*samples, 99.9)));
    }
    line("max_queued", r.max_queued);
    line("client_cpu_s", fmt::format("{:.3f}", r.cpu_s));
    line("client_cpu_us", fmt::format("{:.1f}", r.completed > 0 ? r.cpu_s * 1e6 / static_cast<double>(r.completed) : 0.0));
    line("client_runq_us", fmt::format("{:.2f}", r.completed > 0 ? r.runq_s * 1e6 / static_cast<double>(r.completed) : 0.0));
    line("send_spread_ms", fmt::format("{:.3f}", r.send_spread_ms));
    line("probe_matched", r.probe_matched ? 1 : 0);
    return out;
}

}  // namespace stsauth::load
