// tls_stream's in-place attempts (try_read_some / try_write_some) against its asynchronous
// operations, on one loopback TLS connection driven by a single-threaded io_context.

#include "http/certs.hpp"
#include "http/tls_context.hpp"
#include "http/tls_stream.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/error.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

using namespace stsauth;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

namespace {

struct tls_pair {
    net::io_context ioc{1};
    std::shared_ptr<net::ssl::context> server_ctx;
    net::ssl::context client_ctx{net::ssl::context::tls_client};
    std::optional<http::tls_stream> server, client;
    error_code server_ec, client_ec;  ///< the handshakes' outcomes

    /// A connection whose handshake succeeded (the client checks no certificate: the transport only).
    tls_pair() : tls_pair(http::cert_request_for("127.0.0.1", "127.0.0.1", http::key_type::ecdsa_p256), {}) {
        REQUIRE_FALSE(server_ec);
        REQUIRE_FALSE(client_ec);
    }

    /// The server presents a self-signed certificate made from `cert`. With `client_setup`, the
    /// client trusts that certificate and `client_setup` prepares its SSL object before the
    /// handshake; without, it checks nothing.
    tls_pair(const http::cert_request& cert, const std::function<void(SSL*)>& client_setup) {
        auto pem = http::generate_self_signed(cert);
        REQUIRE(pem.ok());
        auto ctx = http::make_server_tls_context(http::tls_material{pem->cert_pem, pem->key_pem, {}});
        REQUIRE(ctx.ok());
        server_ctx = *ctx;
        if (client_setup) {
            client_ctx.add_certificate_authority(net::buffer(pem->cert_pem));
            client_ctx.set_verify_mode(net::ssl::verify_peer);
        } else {
            client_ctx.set_verify_mode(net::ssl::verify_none);
        }

        tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
        tcp::socket a(ioc), b(ioc);
        b.connect(acceptor.local_endpoint());
        acceptor.accept(a);
        server.emplace(std::move(a), *server_ctx, http::tls_stream::server);
        client.emplace(std::move(b), client_ctx, http::tls_stream::client);
        if (client_setup) client_setup(client->native_handle());

        int done = 0;
        server->async_handshake([&](const error_code& ec) { server_ec = ec, ++done; });
        client->async_handshake([&](const error_code& ec) { client_ec = ec, ++done; });
        run_until([&] { return done == 2; });
    }

    template <class Pred>
    void run_until(Pred done) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (!done()) {
            REQUIRE(std::chrono::steady_clock::now() < deadline);
            ioc.restart();
            ioc.run_one_for(std::chrono::milliseconds(50));
        }
    }

    /// Waits until `s` can read, then reads in place what there is.
    std::string read_available(http::tls_stream& s) {
        bool readable = false;
        s.async_wait_readable([&](const error_code& ec) {
            REQUIRE_FALSE(ec);
            readable = true;
        });
        run_until([&] { return readable; });
        char buf[4096];
        const auto r = s.try_read_some(buf, sizeof buf);
        REQUIRE(r.want == 0);
        REQUIRE_FALSE(r.ec);
        return std::string(buf, r.n);
    }
};

}  // namespace

TEST_CASE("tls_stream: in-place reads and writes, and when they must wait", "[tls][tls_stream]") {
    tls_pair p;
    char buf[64];

    // Nothing sent yet: the read says what it needs instead of blocking.
    auto r = p.client->try_read_some(buf, sizeof buf);
    CHECK(r.want == 1);
    CHECK(r.n == 0);
    CHECK_FALSE(r.ec);
    CHECK(p.client->try_read_some(buf, 0).n == 0);  // an empty buffer: nothing, at once

    // A small write completes in place; the peer reads it in place once readable.
    r = p.server->try_write_some("hello", 5);
    REQUIRE(r.want == 0);
    REQUIRE_FALSE(r.ec);
    CHECK(r.n == 5);
    CHECK(p.read_available(*p.client) == "hello");

    // A write never takes more than one TLS record.
    const std::string big(40'000, 'x');
    r = p.client->try_write_some(big.data(), big.size());
    REQUIRE_FALSE(r.ec);
    REQUIRE(r.want == 0);
    CHECK(r.n == 16384);
    std::string got;
    while (got.size() < 16384) got += p.read_available(*p.server);
    CHECK(got == big.substr(0, 16384));
}

TEST_CASE("tls_stream: a write that fills the socket falls back to the operation, which finishes it",
          "[tls][tls_stream]") {
    tls_pair p;
    // The server reads nothing: in-place writes of whole records go on until the socket buffers
    // are full and OpenSSL asks for writability.
    const std::string record(16384, 'y');
    std::size_t written = 0;
    http::tls_detail::step_result r;
    for (int i = 0; i < 100'000; ++i) {
        r = p.client->try_write_some(record.data(), record.size());
        REQUIRE_FALSE(r.ec);
        if (r.want != 0) break;
        written += r.n;
    }
    REQUIRE(r.want == 2);
    REQUIRE(written > 0);

    // The same record again, through the asynchronous operation (SSL_write must be retried with
    // the same bytes): it completes once the server reads.
    bool sent = false;
    error_code wec;
    p.client->async_write_some(net::buffer(record), [&](const error_code& ec, std::size_t n) {
        wec = ec;
        sent = true;
        CHECK(n == record.size());
    });
    std::size_t received = 0;
    std::vector<char> buf(65536);
    p.run_until([&] {
        for (;;) {
            const auto rr = p.server->try_read_some(buf.data(), buf.size());
            REQUIRE_FALSE(rr.ec);
            if (rr.want != 0) break;
            received += rr.n;
        }
        return sent && received == written + record.size();
    });
    CHECK_FALSE(wec);
    CHECK(received == written + record.size());
}

TEST_CASE("tls_stream: after the socket's deadline, in-place attempts report the timeout", "[tls][tls_stream]") {
    tls_pair p;
    char buf[16];
    REQUIRE(p.client->try_read_some(buf, sizeof buf).want == 1);  // takes the server's session tickets
    p.client->next_layer().expires_after(std::chrono::milliseconds(1));
    // The deadline closes the socket when its timer fires: a pending wait sees it. A wait may
    // first wake for a late post-handshake record (a session ticket: nothing for the caller);
    // then it waits again, as a caller would.
    error_code wec;
    for (int wakes = 0; !wec && wakes < 8; ++wakes) {
        bool waited = false;
        p.client->async_wait_readable([&](const error_code& ec) {
            wec = ec;
            waited = true;
        });
        p.run_until([&] { return waited; });
        if (!wec) {
            const auto r = p.client->try_read_some(buf, sizeof buf);
            wec = r.ec;
            if (!wec) REQUIRE(r.want == 1);  // no application data was sent
        }
    }
    CHECK(wec == boost::beast::error::timeout);
    CHECK(p.client->try_read_some(buf, sizeof buf).ec == boost::beast::error::timeout);
    CHECK(p.client->try_write_some("x", 1).ec == boost::beast::error::timeout);
}

TEST_CASE("expect_server_name: SNI sent, the certificate checked against the name, partial wildcards refused",
          "[tls][tls_stream]") {
    const std::string name = "sts.us-west-2.amazonaws.com";
    auto cert_for = [](std::vector<std::string> dns_names) {
        http::cert_request r;
        r.common_name = "test";
        r.dns_names = std::move(dns_names);
        return r;
    };
    auto expect = [&](SSL* ssl) { REQUIRE(http::expect_server_name(ssl, name)); };

    SECTION("a certificate for the name: accepted, and the server saw the name as SNI") {
        tls_pair p(cert_for({name}), expect);
        CHECK_FALSE(p.client_ec);
        const char* sni = SSL_get_servername(p.server->native_handle(), TLSEXT_NAMETYPE_host_name);
        REQUIRE(sni != nullptr);
        CHECK(std::string(sni) == name);
    }
    SECTION("a certificate for another name: refused") {
        tls_pair p(cert_for({"sts.us-east-1.amazonaws.com"}), expect);
        CHECK(p.client_ec);
        CHECK(SSL_get_verify_result(p.client->native_handle()) == X509_V_ERR_HOSTNAME_MISMATCH);
    }
    SECTION("a partial wildcard (sts*.us-west-2...): refused, where OpenSSL's default host check accepts it") {
        const auto partial = cert_for({"sts*.us-west-2.amazonaws.com"});
        tls_pair p(partial, expect);
        CHECK(p.client_ec);
        CHECK(SSL_get_verify_result(p.client->native_handle()) == X509_V_ERR_HOSTNAME_MISMATCH);

        tls_pair plain(partial, [&](SSL* ssl) { REQUIRE(SSL_set1_host(ssl, name.c_str()) == 1); });
        CHECK_FALSE(plain.client_ec);
    }
}
