#include "ec2/transport.hpp"

#include "http/tls_stream.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <openssl/ssl.h>

#include <algorithm>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace stsauth::ec2 {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

struct tls_client_context::impl {
    ssl::context ctx{ssl::context::tls_client};
};

tls_client_context::tls_client_context(const std::string& ca_file) : impl_(std::make_unique<impl>()) {
    auto& ctx = impl_->ctx;
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_compression | SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION) != 1) {
        throw std::runtime_error("ec2 tls: cannot require TLS 1.2");
    }
    ctx.set_default_verify_paths();
    if (!ca_file.empty()) {
        error_code ec;
        ctx.load_verify_file(ca_file, ec);
        if (ec) throw std::runtime_error("cannot load CA file " + ca_file + ": " + ec.message());
    }
    ctx.set_verify_mode(ssl::verify_peer);
}

tls_client_context::~tls_client_context() = default;

result<host_port> parse_host_port(std::string_view s) {
    auto bad = [&](std::string_view why) { return make_error("bad_endpoint", "expected HOST:PORT: " + std::string(why)); };
    host_port out;
    std::string_view rest;
    if (!s.empty() && s.front() == '[') {
        const auto close = s.find(']');
        if (close == std::string_view::npos) return bad("missing ']'");
        out.host = std::string(s.substr(1, close - 1));
        rest = s.substr(close + 1);
    } else {
        const auto colon = s.rfind(':');
        if (colon == std::string_view::npos) return bad("no port");
        out.host = std::string(s.substr(0, colon));
        rest = s.substr(colon);
        if (out.host.find(':') != std::string::npos) return bad("an IPv6 address needs brackets");
    }
    const bool host_ok = !out.host.empty() && std::all_of(out.host.begin(), out.host.end(), [](char c) {
        return c > ' ' && c <= '~' && c != '/' && c != '@' && c != '[' && c != ']';
    });
    if (!host_ok) return bad("empty or invalid host");
    if (rest.size() < 2 || rest.size() > 6 || rest.front() != ':') return bad("no port");
    unsigned port = 0;
    for (char c : rest.substr(1)) {
        if (c < '0' || c > '9') return bad("port is not a number");
        port = port * 10 + static_cast<unsigned>(c - '0');
    }
    if (port == 0 || port > 65535) return bad("port out of range");
    out.port = std::string(rest.substr(1));
    return out;
}

https_endpoint make_https_endpoint(std::string_view what, std::string_view endpoint, std::string default_host,
                                   std::string_view connect_override) {
    const std::string w(what);
    std::string host = std::move(default_host);
    std::string port = "443";
    if (!endpoint.empty()) {
        constexpr std::string_view scheme = "https://";
        std::string_view rest = endpoint;
        if (!rest.starts_with(scheme)) throw std::invalid_argument(w + ": must start with https://");
        rest.remove_prefix(scheme.size());
        if (rest.ends_with('/')) rest.remove_suffix(1);
        if (rest.empty() || rest.find_first_of("/?#@[] ") != std::string_view::npos) {
            throw std::invalid_argument(w + ": expected https://HOST[:PORT]");
        }
        if (rest.find(':') != std::string_view::npos) {
            auto hp = parse_host_port(rest);
            if (!hp) throw std::invalid_argument(w + ": " + hp.err().message);
            host = hp->host;
            port = hp->port;
        } else {
            host = std::string(rest);
        }
    }
    if (host.empty()) throw std::invalid_argument(w + ": no host");
    https_endpoint out;
    out.host_header = port == "443" ? host : host + ":" + port;
    out.target = {host, host, port};
    if (!connect_override.empty()) {
        auto hp = parse_host_port(connect_override);
        if (!hp) throw std::invalid_argument(w + " connect override: " + hp.err().message);
        out.target.connect_host = hp->host;
        out.target.connect_port = hp->port;
    }
    return out;
}

namespace {

constexpr std::size_t max_response_header_bytes = 16 * 1024;

bool clean_field(std::string_view s) noexcept {
    return std::all_of(s.begin(), s.end(), [](char c) { return c == '\t' || (c >= ' ' && c != '\x7f'); });
}

bool clean_token(std::string_view s) noexcept {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c > ' ' && c <= '~'; });
}

bool is_http_protocol_error(const error_code& ec) {
    return ec.category() == http::make_error_code(http::error::bad_version).category() &&
           ec != http::error::end_of_stream && ec != http::error::partial_message;
}

/// One exchange over Stream (tcp::socket or ssl::stream<tcp::socket>), on its own strand. Every
/// handler checks `done_`: the deadline finishes the exchange at once, whatever is pending.
template <class Stream>
class exchange : public std::enable_shared_from_this<exchange<Stream>> {
public:
    static constexpr bool tls = !std::is_same_v<Stream, tcp::socket>;

    exchange(asio::io_context& ioc, std::shared_ptr<tls_client_context> ctx, http_target target, std::string wire,
             http_limits limits, http_callback cb)
        : strand_(asio::make_strand(ioc)),
          ctx_(std::move(ctx)),
          target_(std::move(target)),
          wire_(std::move(wire)),
          limits_(limits),
          cb_(std::move(cb)),
          resolver_(strand_),
          timer_(strand_),
          stream_(make_stream()) {}

    void start() {
        asio::post(strand_, [self = this->shared_from_this()] { self->do_start(); });
    }

private:
    Stream make_stream() {
        if constexpr (tls) {
            return Stream(strand_, ctx_->get().ctx);
        } else {
            return Stream(strand_);
        }
    }

    void do_start() {
        timer_.expires_after(limits_.timeout);
        timer_.async_wait([self = this->shared_from_this()](const error_code& ec) {
            if (!ec) self->on_deadline();
        });
        phase_ = "resolve";
        resolver_.async_resolve(target_.connect_host, target_.connect_port,
                                [self = this->shared_from_this()](const error_code& ec,
                                                                  const tcp::resolver::results_type& results) {
                                    self->on_resolve(ec, results);
                                });
    }

    void on_resolve(const error_code& ec, const tcp::resolver::results_type& results) {
        if (done_) return;
        if (ec) return fail("resolve_failed", ec);
        phase_ = "connect";
        asio::async_connect(beast::get_lowest_layer(stream_), results,
                            [self = this->shared_from_this()](const error_code& e, const tcp::endpoint&) {
                                self->on_connect(e);
                            });
    }

    void on_connect(const error_code& ec) {
        if (done_) return;
        if (ec) return fail("connect_failed", ec);
        error_code ignored;
        beast::get_lowest_layer(stream_).set_option(tcp::no_delay(true), ignored);
        if constexpr (tls) {
            phase_ = "TLS handshake";
            if (!stsauth::http::expect_server_name(stream_.native_handle(), target_.host)) {
                return finish(make_error("tls_failed", "cannot set SNI / host name check"));
            }
            stream_.async_handshake(ssl::stream_base::client,
                                    [self = this->shared_from_this()](const error_code& e) { self->on_handshake(e); });
        } else {
            do_write();
        }
    }

    void on_handshake(const error_code& ec) {
        if (done_) return;
        if (ec) return fail("tls_failed", ec);
        do_write();
    }

    void do_write() {
        phase_ = "send";
        asio::async_write(stream_, asio::buffer(wire_),
                          [self = this->shared_from_this()](const error_code& ec, std::size_t) { self->on_write(ec); });
    }

    void on_write(const error_code& ec) {
        if (done_) return;
        if (ec) return fail("send_failed", ec);
        phase_ = "receive";
        parser_.header_limit(max_response_header_bytes);
        parser_.body_limit(limits_.max_body_bytes);
        http::async_read(stream_, buffer_, parser_,
                         [self = this->shared_from_this()](const error_code& e, std::size_t) { self->on_read(e); });
    }

    void on_read(error_code ec) {
        if (done_) return;
        if (ec == http::error::body_limit) {
            return finish(make_error("body_too_large",
                                     "response body larger than " + std::to_string(limits_.max_body_bytes) + " bytes"));
        }
        if constexpr (tls) {
            if (ec == ssl::error::stream_truncated && parser_.is_header_done() && parser_.need_eof()) {
                // The peer closed without close_notify after a body delimited by the end of the
                // connection: that short read is how such a body ends (as Beast's examples treat it).
                error_code eof;
                parser_.put_eof(eof);
                if (!eof) ec = {};
            }
        }
        if (ec) {
            if (is_http_protocol_error(ec)) {
                return finish(make_error("bad_http", "malformed HTTP response: " + ec.message()));
            }
            return fail("receive_failed", ec);
        }
        http_response r;
        r.status = parser_.get().result_int();
        r.body = std::move(parser_.get().body());
        finish(std::move(r));
    }

    void on_deadline() {
        if (done_) return;
        finish(make_error("timeout", "no answer within " + std::to_string(limits_.timeout.count()) + " ms (during " +
                                         std::string(phase_) + ")"));
    }

    void fail(std::string_view code, const error_code& ec) {
        std::string detail(phase_);
        detail += ": ";
        detail += ec.message();
        if constexpr (tls) {
            if (std::string_view(phase_) == "TLS handshake") {
                const long verify = SSL_get_verify_result(stream_.native_handle());
                if (verify != X509_V_OK) {
                    detail += " (";
                    detail += X509_verify_cert_error_string(verify);
                    detail += ")";
                }
            }
        }
        finish(make_error(std::string(code), detail));
    }

    void finish(result<http_response> r) {
        done_ = true;
        timer_.cancel();
        resolver_.cancel();
        error_code ignored;
        beast::get_lowest_layer(stream_).close(ignored);
        auto cb = std::move(cb_);
        cb(std::move(r));
    }

    asio::strand<asio::io_context::executor_type> strand_;
    std::shared_ptr<tls_client_context> ctx_;
    http_target target_;
    std::string wire_;
    http_limits limits_;
    http_callback cb_;
    tcp::resolver resolver_;
    asio::steady_timer timer_;
    Stream stream_;
    beast::flat_buffer buffer_;
    http::response_parser<http::string_body> parser_;
    const char* phase_ = "resolve";
    bool done_ = false;
};

std::optional<std::string> serialize(const http_request& req) {
    if (!clean_token(req.method) || req.target.empty() || req.target.front() != '/' || !clean_token(req.target)) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(256 + req.body.size());
    out.append(req.method).append(" ").append(req.target).append(" HTTP/1.1\r\n");
    for (const auto& h : req.headers) {
        if (!clean_token(h.name) || h.name.find(':') != std::string::npos || !clean_field(h.value)) return std::nullopt;
        out.append(h.name).append(": ").append(h.value).append("\r\n");
    }
    out.append("Connection: close\r\n\r\n").append(req.body);
    return out;
}

}  // namespace

void async_http_exchange(asio::io_context& ioc, std::shared_ptr<tls_client_context> tls, http_target target,
                         http_request request, http_limits limits, http_callback cb) {
    auto wire = serialize(request);
    if (!wire) {
        asio::post(ioc, [cb = std::move(cb)] {
            cb(make_error("bad_request", "refusing to send a request with an invalid method, target or header"));
        });
        return;
    }
    if (tls) {
        std::make_shared<exchange<ssl::stream<tcp::socket>>>(ioc, std::move(tls), std::move(target), std::move(*wire),
                                                               limits, std::move(cb))
            ->start();
    } else {
        std::make_shared<exchange<tcp::socket>>(ioc, nullptr, std::move(target), std::move(*wire), limits, std::move(cb))
            ->start();
    }
}

}  // namespace stsauth::ec2
