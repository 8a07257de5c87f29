#include "server.hpp"

#include "fake_service.hpp"

#include "http/body_parser.hpp"
#include "http/read_message.hpp"
#include "http/tls_stream.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <optional>
#include <random>

namespace stsauth::fakests {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using namespace std::chrono;
namespace tls_detail = stsauth::http::tls_detail;

constexpr auto handshake_timeout = seconds(10);
constexpr auto read_timeout = seconds(30);
constexpr auto write_timeout = seconds(30);
constexpr std::size_t max_body_bytes = 1024 * 1024;
constexpr std::size_t max_header_bytes = 16 * 1024;
constexpr std::size_t max_read_bytes = 65536;  ///< per read from the TLS stream
constexpr int slow_body_pieces = 10;
constexpr std::size_t max_record = 16384;  ///< TLS plaintext per record, and per write attempt

// Everything the sessions share. Only the I/O thread touches it (run_server runs one), which
// is what lets `keys` go unguarded.
// The Date header's text, formatted once a second.
struct date_cache {
    std::int64_t second = -1;
    std::string text;

    std::string_view now() {
        const auto t = system_clock::to_time_t(system_clock::now());
        if (t != second) {
            std::tm tm{};
            gmtime_r(&t, &tm);
            char buf[64];
            text.assign(buf, std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm));
            second = t;
        }
        return text;
    }
};

struct shared_state {
    fake_config config;
    fault_settings faults;
    request_stats stats;
    std::mt19937_64 rng;
    signing_key_cache keys;
    std::mt19937_64 request_ids;  ///< for request ids only, seeded from std::random_device
    date_cache date;
};

// A UUID v4 as STS writes request ids. They need to be unique, not unpredictable: drawn from a
// generator seeded once at start (apart from the seeded fault draws), not from RAND_bytes.
using request_id_text = std::array<char, 36>;

void new_request_id(std::mt19937_64& gen, request_id_text& out) {
    std::array<std::uint8_t, 16> b{};
    for (std::size_t i = 0; i < b.size(); i += 8) {
        const auto v = gen();
        for (std::size_t j = 0; j < 8; ++j) b[i + j] = static_cast<std::uint8_t>(v >> (8 * j));
    }
    b[6] = static_cast<std::uint8_t>((b[6] & 0x0fU) | 0x40U);  // version 4
    b[8] = static_cast<std::uint8_t>((b[8] & 0x3fU) | 0x80U);  // RFC 4122 variant
    static constexpr char hex[] = "0123456789abcdef";
    std::size_t o = 0;
    for (std::size_t i = 0; i < b.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hex[b[i] >> 4U];
        out[o++] = hex[b[i] & 0x0fU];
    }
}

// The status line and headers of `r`, appended to `out`.
void append_head(std::string& out, const reply& r, bool keep_alive, std::string_view date) {
    auto line = [&](std::string_view name, std::string_view value) {
        out += name;
        out += ": ";
        out += value;
        out += "\r\n";
    };
    char num[24];
    out += "HTTP/1.1 ";
    out.append(num, static_cast<std::size_t>(std::to_chars(num, num + sizeof num, r.status).ptr - num));
    out += ' ';
    out += http::obsolete_reason(static_cast<http::status>(r.status));
    out += "\r\n";
    if (!r.request_id.empty()) line("x-amzn-RequestId", r.request_id);
    if (!r.content_type.empty()) line("Content-Type", r.content_type);
    if (!r.location.empty()) line("Location", r.location);
    line("Content-Length", std::string_view(num, static_cast<std::size_t>(
                                                      std::to_chars(num, num + sizeof num, r.body.size()).ptr - num)));
    line("Date", date);
    out += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
    out += "\r\n";
}

// Beast's parser (framing, limits, validation) recording the request straight into the
// session's own objects, whose strings keep their capacity from one request to the next:
// no http::message, no per-field allocation, no copy afterwards. One per request, as Beast's
// parsers are.
class request_reader final : public stsauth::http::body_parser<true> {
public:
    request_reader(parsed_request& out, std::string& target) : body_parser(max_body_bytes), out_(out), target_(target) {}

private:
    std::string& body_sink() noexcept override { return out_.body; }
    void on_request_impl(http::verb, beast::string_view method, beast::string_view target, int,
                         beast::error_code&) override {
        out_.method.assign(method.data(), method.size());
        target_.assign(target.data(), target.size());
        out_.body.clear();
        fields_ = 0;
    }
    void on_field_impl(http::field, beast::string_view name, beast::string_view value, beast::error_code&) override {
        if (fields_ == out_.headers.size()) out_.headers.emplace_back();
        out_.headers[fields_].name.assign(name.data(), name.size());
        out_.headers[fields_++].value.assign(value.data(), value.size());
    }
    void on_header_impl(beast::error_code&) override { out_.headers.resize(fields_); }

    parsed_request& out_;
    std::string& target_;
    std::size_t fields_ = 0;
};

reply control_reply(int status, std::string body) {
    reply r;
    r.status = status;
    r.content_type = "application/json";
    r.body = std::move(body);
    return r;
}

class session : public std::enable_shared_from_this<session> {
public:
    session(tcp::socket socket, ssl::context& ctx, shared_state& state)
        : stream_(std::move(socket), ctx, stsauth::http::tls_stream::server), state_(state), timer_(stream_.get_executor()) {
        // The server's stream lets OpenSSL free its record buffers whenever they are empty (an
        // idle connection costs little). The fake's connections are few and busy: keeping the
        // two ~17 KiB buffers saves a large malloc and free for each read and each write.
        SSL_clear_mode(stream_.native_handle(), SSL_MODE_RELEASE_BUFFERS);
    }

    void run() { do_handshake(); }

private:
    void do_handshake() {
        stream_.next_layer().expires_after(handshake_timeout);
        stream_.async_handshake([self = shared_from_this()](beast::error_code ec) { self->on_handshake(ec); });
    }

    void on_handshake(beast::error_code ec) {
        if (ec) {
            spdlog::debug("tls handshake failed: {}", ec.message());
            return;
        }
        do_read();
    }

    void do_read() {
        parser_.emplace(req_, target_);
        parser_->header_limit(max_header_bytes);
        stream_.next_layer().expires_after(read_timeout);
        // Nothing buffered: wait for the next request's bytes before asking OpenSSL to read
        // (a read attempt now would only find nothing: one system call less per request).
        if (buffer_.size() == 0) return wait_then_read();
        read_request();
    }

    // http::async_read's loop, step by step (http/read_message.hpp), with the same outcomes:
    // end_of_stream for a close before any byte, put_eof's verdict for one inside a message, the
    // parser's and the stream's errors as they are. When OpenSSL has the bytes, no operation is
    // started and no completion posted; when it has none, the session waits for readability.
    void read_request() {
        const auto step = stsauth::http::read_message(stream_, buffer_, *parser_, max_read_bytes);
        using next = stsauth::http::read_step::next;
        switch (step.what) {
        case next::done:
            return on_read(step.ec);
        case next::wait_readable:
            return wait_then_read();
        case next::read_operation:
            return stream_.async_read_some(step.space, [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                self->buffer_.commit(n);
                if (ec) return self->on_read(stsauth::http::read_ended(*self->parser_, ec));
                self->read_request();
            });
        }
    }

    void wait_then_read() {
        stream_.async_wait_readable([self = shared_from_this()](beast::error_code ec) {
            if (ec) return self->on_read(ec);
            self->read_request();
        });
    }

    void on_read(beast::error_code ec) {
        if (ec == http::error::end_of_stream) return do_shutdown();
        if (ec) {
            // A client that closes without close_notify between requests is normal for a fake.
            spdlog::debug("read ended: {}", ec.message());
            return;
        }
        // The reader filled req_ (method, headers, body) and target_.
        keep_alive_ = parser_->keep_alive();
        const std::string_view target = target_;
        parse_status_ = parse_target(target, req_);  // once: classification and answer share it

        const auto path = target.substr(0, target.find('?'));
        if (path == "/_stats" || path == "/_stats/reset" || path == "/_faults") return handle_control(path);

        if (state_.faults.latency > milliseconds(0)) {
            timer_.expires_after(state_.faults.latency);
            timer_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
                if (!wait_ec) self->handle_aws();
            });
            return;
        }
        handle_aws();
    }

    void handle_control(std::string_view path) {
        const auto& method = req_.method;
        if (path == "/_stats" && method == "GET") return send(control_reply(200, state_.stats.json()));
        if (path == "/_stats/reset" && method == "POST") {
            state_.stats.reset();
            return send(control_reply(200, state_.stats.json()));
        }
        if (path == "/_faults" && method == "GET") return send(control_reply(200, faults_json(state_.faults)));
        if (path == "/_faults" && method == "POST") {
            if (auto st = apply_faults_json(state_.faults, req_.body); !st.ok())
                return send(control_reply(400, control_error(st.err())));
            spdlog::info("faults now {}", faults_json(state_.faults));
            return send(control_reply(200, faults_json(state_.faults)));
        }
        send(control_reply(405, control_error(make_error("method_not_allowed", "method not allowed"))));
    }

    static std::string control_error(const error& e) {
        return nlohmann::json{{"error", e.code}, {"message", e.message}}.dump(
            -1, ' ', false, nlohmann::json::error_handler_t::replace);
    }

    void handle_aws() {
        new_request_id(state_.request_ids, request_id_);
        const std::string_view request_id(request_id_.data(), request_id_.size());
        // A request that did not parse is STS, without action, answered in XML (classify).
        if (parse_status_.ok()) classify(req_, state_.faults.xml, cls_);
        else cls_ = request_class{};
        auto& r = reply_;
        switch (pick_fault(state_.faults, state_.rng)) {
            case injected_fault::reset:
                state_.stats.record(cls_.action, "reset");
                spdlog::info("{} {} action={} akid={} outcome=reset", req_.method, cls_.which == api::sts ? "sts" : "ec2",
                             cls_.action, cls_.access_key_id);
                return do_reset();
            case injected_fault::throttle: r = throttle_reply(cls_, request_id); break;
            case injected_fault::error: r = unavailable_reply(cls_, request_id); break;
            case injected_fault::redirect: r = redirect_reply(cls_, state_.faults.redirect, request_id); break;
            case injected_fault::none:
                if (parse_status_.ok())
                    answer_aws_request(r, req_, cls_, state_.config, system_clock::now(), request_id, &state_.keys);
                else
                    r = answer_aws_request(parse_status_.err(), cls_, state_.config, system_clock::now(), request_id);
                if (!state_.faults.body.empty() && r.outcome == "success") {
                    // A verified request answered with the configured body (malformed/odd answers).
                    r.status = state_.faults.body_status;
                    r.content_type = "application/json";
                    r.body = state_.faults.body;
                }
                break;
        }
        state_.stats.record(r.action, r.outcome);
        spdlog::info("{} {} action={} akid={} outcome={} status={} request_id={}", req_.method,
                     cls_.which == api::sts ? "sts" : "ec2", r.action, cls_.access_key_id, r.outcome, r.status,
                     r.request_id);
        if (state_.faults.oversize_bytes > r.body.size()) r.body.append(state_.faults.oversize_bytes - r.body.size(), ' ');
        send(r);
    }

    // Head and body go out of head_, which keeps its capacity between requests.
    void send(const reply& r) {
        head_.clear();
        append_head(head_, r, keep_alive_, state_.date.now());
        const auto slow = state_.faults.slow_body;
        const bool is_control = r.request_id.empty();
        if (slow > milliseconds(0) && !is_control && !r.body.empty()) {
            body_ = r.body;
            body_sent_ = 0;
            pieces_left_ = static_cast<int>(std::min<std::size_t>(slow_body_pieces, body_.size()));
            piece_delay_ = slow / pieces_left_;
            stream_.next_layer().expires_after(write_timeout + slow);
            net::async_write(stream_, net::buffer(head_),
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                 if (!ec) self->wait_next_piece();
                             });
            return;
        }
        head_ += r.body;
        stream_.next_layer().expires_after(write_timeout);
        written_ = 0;
        write_some();
    }

    // net::async_write unrolled (as read_request is), a TLS record's worth at a time, each
    // first tried in place. When OpenSSL cannot send now, the stream's write operation retries
    // the same bytes (as SSL_write requires) once the socket is writable.
    void write_some() {
        for (;;) {
            const auto n = std::min(head_.size() - written_, max_record);
            if (stream_.next_layer().timed_out()) break;
            const auto r = stream_.try_write_some(head_.data() + written_, n);
            if (r.want != 0) break;
            written_ += r.n;
            if (r.ec || written_ == head_.size()) return on_write(r.ec, true);
        }
        stream_.async_write_some(net::buffer(head_.data() + written_, std::min(head_.size() - written_, max_record)),
                                 [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                                     self->written_ += n;
                                     if (!ec && self->written_ < self->head_.size()) return self->write_some();
                                     self->on_write(ec);
                                 });
    }

    void wait_next_piece() {
        timer_.expires_after(piece_delay_);
        timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (!ec) self->write_next_piece();
        });
    }

    void write_next_piece() {
        const auto remaining = body_.size() - body_sent_;
        const auto n = pieces_left_ <= 1 ? remaining : remaining / static_cast<std::size_t>(pieces_left_);
        const auto offset = body_sent_;
        body_sent_ += n;
        --pieces_left_;
        net::async_write(stream_, net::buffer(body_.data() + offset, n),
                         [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             if (ec) return;
                             if (self->pieces_left_ > 0) return self->wait_next_piece();
                             self->on_write(ec);
                         });
    }

    // `in_place`: the answer went out from inside this request's handling. When more requests
    // are already buffered (pipelining), the next one is started from a posted handler, so
    // the stack does not grow with each of them.
    void on_write(beast::error_code ec, bool in_place = false) {
        if (ec) return;
        if (!keep_alive_) return do_shutdown();
        if (in_place && buffer_.size() != 0)
            return net::post(stream_.get_executor(), [self = shared_from_this()] { self->do_read(); });
        do_read();
    }

    // An abortive close: RST, no TLS close_notify, no answer.
    void do_reset() {
        auto& sock = stream_.next_layer().socket();
        beast::error_code ignored;
        sock.set_option(tcp::socket::linger(true, 0), ignored);
        sock.close(ignored);
    }

    void do_shutdown() {
        stream_.next_layer().expires_after(seconds(5));
        stream_.async_shutdown([self = shared_from_this()](beast::error_code) {
            // The peer may already be gone (short read / reset): nothing else to do either way.
            beast::error_code ignored;
            self->stream_.next_layer().socket().shutdown(tcp::socket::shutdown_both, ignored);
            self->stream_.next_layer().close();
        });
    }

    stsauth::http::tls_stream stream_;  ///< the server's own TLS stream (lib/http/tls_stream.hpp)
    shared_state& state_;
    net::steady_timer timer_;
    beast::flat_buffer buffer_;
    std::optional<request_reader> parser_;
    bool keep_alive_ = true;
    parsed_request req_;            ///< the request being answered (filled by parser_)
    std::string target_;            ///< its request-target as received
    status parse_status_ = ok_status();
    request_class cls_;
    request_id_text request_id_{};
    reply reply_;
    std::string head_;
    std::size_t written_ = 0;  ///< bytes of head_ sent
    std::string body_;
    std::size_t body_sent_ = 0;
    int pieces_left_ = 0;
    milliseconds piece_delay_{0};
};

class listener : public std::enable_shared_from_this<listener> {
public:
    listener(net::io_context& ioc, ssl::context& ctx, tcp::endpoint endpoint, shared_state& state)
        : ioc_(ioc), ctx_(ctx), acceptor_(ioc), state_(state) {
        acceptor_.open(endpoint.protocol());
        acceptor_.set_option(net::socket_base::reuse_address(true));
        acceptor_.bind(endpoint);
        acceptor_.listen(net::socket_base::max_listen_connections);
    }

    tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

    void run() { do_accept(); }

private:
    void do_accept() {
        // No strands: run_server runs the io_context on one thread, so every handler of a session
        // (and of the listener) already runs one at a time; a strand would only add type-erased
        // dispatch per operation. Running more threads would need net::make_strand(ioc_) here
        // and for the acceptor, and a lock around shared_state.
        acceptor_.async_accept(ioc_, [self = shared_from_this()](beast::error_code ec, tcp::socket s) {
            if (ec) {
                if (ec == net::error::operation_aborted) return;
                spdlog::warn("accept failed: {}", ec.message());
            } else {
                // As a real service's front end does: an answer must not wait behind Nagle's
                // algorithm for the ACK of the segment before it (after a TLS 1.3 handshake the
                // session tickets go out first, and the peer may delay that ACK by 40 ms).
                beast::error_code ignored;
                s.set_option(tcp::no_delay(true), ignored);
                std::make_shared<session>(std::move(s), self->ctx_, self->state_)->run();
            }
            self->do_accept();
        });
    }

    net::io_context& ioc_;
    ssl::context& ctx_;
    tcp::acceptor acceptor_;
    shared_state& state_;
};

}  // namespace

int run_server(server_options options) {
    net::io_context ioc{1};
    ssl::context ctx{ssl::context::tls_server};
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                    ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    ctx.use_certificate_chain(net::buffer(options.cert_pem));
    ctx.use_private_key(net::buffer(options.key_pem.reveal()), ssl::context::pem);

    shared_state state{std::move(options.config), std::move(options.faults), {}, std::mt19937_64(options.seed), {},
                       std::mt19937_64(std::random_device{}()), {}};
    const tcp::endpoint endpoint{net::ip::make_address(options.address), options.port};
    auto l = std::make_shared<listener>(ioc, ctx, endpoint, state);
    const auto bound = l->local_endpoint();
    const auto addr = bound.address().is_v6() ? "[" + bound.address().to_string() + "]" : bound.address().to_string();
    std::cout << "listening on " << addr << ":" << bound.port() << std::endl;
    spdlog::info("fake STS listening on {}:{} with {} credential(s), {} instance(s)", addr, bound.port(),
                 state.config.credentials.size(), state.config.instances.size());
    l->run();

    net::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](beast::error_code, int sig) {
        spdlog::info("signal {}: stopping", sig);
        ioc.stop();
    });
    ioc.run();
    return 0;
}

}  // namespace stsauth::fakests
