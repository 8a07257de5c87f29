// TLS: the context policy (versions, ciphers, ALPN), mTLS, reload, and the TLS listener.

#include "support/temp_dir.hpp"
#include "http/certs.hpp"
#include "http/tls_context.hpp"
#include "server_fixture.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

using namespace stsauth;
using namespace stsauth::test;
namespace fs = std::filesystem;

namespace {

http::pem_pair server_pair(http::key_type type = http::key_type::ecdsa_p256) {
    auto p = http::generate_self_signed(http::cert_request_for("127.0.0.1", "127.0.0.1", type));
    REQUIRE(p.ok());
    return std::move(p).value();
}

std::shared_ptr<http::tls_context_holder> holder_for(const http::pem_pair& pair, std::string client_ca = {}) {
    auto ctx = http::make_server_tls_context(http::tls_material{pair.cert_pem, pair.key_pem, std::move(client_ca)});
    INFO((ctx.ok() ? std::string() : ctx.err().message));
    REQUIRE(ctx.ok());
    return http::tls_context_holder::fixed(*ctx);
}

tls_client_options trusting(const http::pem_pair& pair) {
    tls_client_options o;
    o.trusted_ca_pem = pair.cert_pem;
    return o;
}

/// Replaces a file through a rename, as an atomic writer (or a Secret volume update) does.
void replace_file(const fs::path& p, const std::string& text) {
    fs::path tmp = p;
    tmp += ".new";
    std::ofstream(tmp, std::ios::binary) << text;
    fs::rename(tmp, p);
}

}  // namespace

TEST_CASE("tls: HTTPS request with a verified self-signed certificate, both key types", "[tls]") {
    const auto type = GENERATE(http::key_type::ecdsa_p256, http::key_type::rsa2048);
    const auto pair = server_pair(type);
    server_fixture f(test_limits(), holder_for(pair));
    auto opts = trusting(pair);
    opts.alpn = std::string("\x02h2\x08http/1.1", 12);
    conn c(f.port(), &opts);
    INFO(c.error());
    REQUIRE(c.connected());
    CHECK(c.tls_version() == "TLSv1.3");
    CHECK(c.negotiated_alpn() == "http/1.1");
    REQUIRE(c.send(post("/authenticate?timeout=30s", "{}")));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "POST /authenticate {}");
    REQUIRE(c.send(get("/again")));  // keep-alive over TLS
    auto r2 = c.read_response();
    REQUIRE(r2);
    CHECK(r2->body == "GET /again ");
}

TEST_CASE("tls: an error left on the I/O thread's OpenSSL queue does not fail the next TLS I/O", "[tls]") {
    const auto pair = server_pair(http::key_type::ecdsa_p256);
    server_fixture f(test_limits(), holder_for(pair));
    auto opts = trusting(pair);
    conn c(f.port(), &opts);
    INFO(c.error());
    REQUIRE(c.connected());
    for (int i = 0; i < 6; ++i) {  // the I/O threads each get stale errors in turn
        INFO("round " << i);
        REQUIRE(c.send(get("/stale-ssl-error")));
        auto r = c.read_response();
        REQUIRE(r);
        CHECK(r->body == "stale");
        // A request in two pieces: reading it, OpenSSL runs out of bytes (WANT_READ), which is
        // told apart from a failure only with the thread's error queue empty.
        const std::string next = get("/after");
        REQUIRE(c.send(next.substr(0, 10)));
        std::this_thread::sleep_for(30ms);
        REQUIRE(c.send(next.substr(10)));
        auto r2 = c.read_response();
        REQUIRE(r2);
        CHECK(r2->body == "GET /after ");
    }
}

TEST_CASE("tls: TLS 1.2 with ECDHE + AEAD is accepted", "[tls]") {
    const auto pair = server_pair(GENERATE(http::key_type::ecdsa_p256, http::key_type::rsa2048));
    server_fixture f(test_limits(), holder_for(pair));
    auto opts = trusting(pair);
    opts.max_version = TLS1_2_VERSION;
    opts.cipher_list = GENERATE(as<std::string>{}, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256",
                                "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384",
                                "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
    INFO(opts.cipher_list);
    conn c(f.port(), &opts);
    INFO(c.error());
    REQUIRE(c.connected());
    CHECK(c.tls_version() == "TLSv1.2");
    REQUIRE(c.send(get("/x")));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
}

TEST_CASE("tls: old versions and non-AEAD or non-ECDHE ciphers are refused by the server", "[tls]") {
    const auto pair = server_pair(http::key_type::rsa2048);
    server_fixture f(test_limits(), holder_for(pair));
    tls_client_options opts;  // no verification: only the server's policy is under test
    opts.security_level = 0;  // the client offers these; the server must say no
    SECTION("TLS 1.0 and 1.1") {
        opts.min_version = TLS1_VERSION;
        opts.max_version = GENERATE(TLS1_VERSION, TLS1_1_VERSION);
        opts.cipher_list = "ALL:@SECLEVEL=0";
    }
    SECTION("TLS 1.2 CBC, static RSA, or non-ECDHE suites") {
        opts.max_version = TLS1_2_VERSION;
        opts.cipher_list = GENERATE(as<std::string>{}, "ECDHE-RSA-AES128-SHA256", "ECDHE-RSA-AES256-SHA", "AES128-SHA",
                                    "AES128-GCM-SHA256", "DHE-RSA-AES128-GCM-SHA256");
    }
    INFO(opts.cipher_list << " max version " << opts.max_version);
    conn c(f.port(), &opts);
    CHECK_FALSE(c.connected());
    CHECK(eventually([&] { return f.srv().stats().tls_handshake_failures == 1; }));
    const auto ok = trusting(pair);
    f.check_alive(&ok);
}

TEST_CASE("tls: plain-text bytes on the TLS port fail the handshake, the server goes on", "[tls]") {
    const auto pair = server_pair();
    server_fixture f(test_limits(), holder_for(pair));
    conn plain(f.port());
    REQUIRE(plain.send(get("/x")));
    std::string data;
    read_end end{};
    const auto elapsed = timed([&] { end = plain.read_until_close(3000ms, &data); });
    CHECK((end == read_end::closed || end == read_end::reset));
    CHECK(elapsed < 1000ms);
    CHECK(data.find("HTTP/1.1 200") == std::string::npos);
    CHECK(eventually([&] { return f.srv().stats().tls_handshake_failures == 1; }));
    const auto ok = trusting(pair);
    f.check_alive(&ok);
}

TEST_CASE("tls: a peer that stalls in the handshake is cut at read_timeout", "[tls][deadline]") {
    const auto pair = server_pair();
    server_fixture f(test_limits(), holder_for(pair));
    conn silent(f.port());
    REQUIRE(silent.send(std::string("\x16\x03\x01", 3)));  // the start of a ClientHello, then nothing
    read_end end{};
    const auto elapsed = timed([&] { end = silent.read_until_close(3000ms); });
    CHECK((end == read_end::closed || end == read_end::reset));
    CHECK(elapsed >= 250ms);
    CHECK(elapsed < 1500ms);
    const auto ok = trusting(pair);
    f.check_alive(&ok);
}

TEST_CASE("tls: a client closing without close_notify after its answer does not disturb the server", "[tls]") {
    const auto pair = server_pair();
    server_fixture f(test_limits(), holder_for(pair));
    const auto ok = trusting(pair);
    for (int i = 0; i < 3; ++i) {
        conn c(f.port(), &ok);
        REQUIRE(c.send(get("/x")));
        REQUIRE(c.read_response());
        // destructor: TCP close without a TLS close_notify (a short read for the server)
    }
    CHECK(eventually([&] { return f.srv().stats().connections == 0; }));
    f.check_alive(&ok);
}

TEST_CASE("tls: an early 413 reaches a client that goes on sending its body", "[tls]") {
    // The server answers a declared oversize body at once and closes its side. The client,
    // unaware, sends 64 KiB of its body afterwards: the server must drain it (bounded) instead of
    // closing with unread bytes, whose reset would fail the client's writes and lose the answer.
    const auto pair = server_pair();
    server_fixture f(test_limits(), holder_for(pair));
    const auto ok = trusting(pair);
    conn c(f.port(), &ok);
    REQUIRE(c.connected());
    REQUIRE(c.send("POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 200000\r\n\r\n"));
    std::this_thread::sleep_for(100ms);  // the server answers and starts its close meanwhile
    for (int i = 0; i < 4; ++i) {
        INFO(i);
        REQUIRE(c.send(std::string(16 * 1024, 'x')));
        std::this_thread::sleep_for(20ms);
    }
    auto r = c.read_response(2000ms);
    REQUIRE(r);
    CHECK(r->status == 413);
    CHECK(r->header("connection") == "close");
    const auto end = c.read_until_close(2000ms);
    CHECK((end == read_end::closed || end == read_end::reset));
    CHECK(eventually([&] { return f.srv().stats().connections == 0; }));
}

TEST_CASE("tls: mTLS requires a client certificate from the configured CA", "[tls][mtls]") {
    const auto pair = server_pair();
    const auto pki = make_client_pki();
    server_fixture f(test_limits(), holder_for(pair, pki.ca_cert_pem));

    auto with_cert = trusting(pair);
    with_cert.client_cert_pem = pki.client_cert_pem;
    with_cert.client_key_pem = pki.client_key_pem;

    SECTION("certificate from the CA: served") {
        auto r = request_once(f.port(), get("/m"), &with_cert);
        REQUIRE(r);
        CHECK(r->status == 200);
    }
    SECTION("refused at the handshake") {
        tls_client_options opts = trusting(pair);
        const auto other = make_client_pki("intruder");
        const int which = GENERATE(0, 1);
        if (which == 1) {
            opts.client_cert_pem = other.client_cert_pem;  // a valid chain, but not from our CA
            opts.client_key_pem = other.client_key_pem;
        }
        INFO((which == 0 ? "no client certificate" : "certificate from another CA"));
        // With TLS 1.3 the client learns of the refusal on its first read, so check for an answer.
        auto r = request_once(f.port(), get("/m"), &opts, 2000ms);
        CHECK_FALSE(r);
        CHECK(eventually([&] { return f.srv().stats().tls_handshake_failures == 1; }));
        CHECK(f.srv().stats().requests == 0);
        auto good = request_once(f.port(), get("/m"), &with_cert);
        REQUIRE(good);
        CHECK(good->status == 200);
    }
}

TEST_CASE("tls: make_server_tls_context rejections", "[tls]") {
    const auto pair = server_pair();
    const auto other = server_pair();
    auto expect = [](http::tls_material m, const char* code) {
        auto r = http::make_server_tls_context(m);
        REQUIRE_FALSE(r.ok());
        CHECK(r.code() == code);
        CHECK(r.err().message.find("PRIVATE KEY-----\n") == std::string::npos);
        CHECK(ERR_peek_error() == 0);
    };
    expect({"garbage", pair.key_pem, {}}, "bad_certificate");
    expect({pair.cert_pem, secret<std::string>("garbage"), {}}, "bad_private_key");
    expect({pair.cert_pem, other.key_pem, {}}, "key_mismatch");
    expect({pair.cert_pem, pair.key_pem, "not a certificate"}, "bad_client_ca");
    expect({pair.cert_pem, pair.key_pem, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}, "bad_client_ca");
    CHECK(http::make_server_tls_context({pair.cert_pem, pair.key_pem, make_client_pki().ca_cert_pem}).ok());
}

TEST_CASE("tls: the holder reloads changed files, refuses broken ones and keeps serving", "[tls][reload]") {
    temp_dir dir("stsauth-tls");
    const fs::path cert = dir.path / "cert.pem", key = dir.path / "key.pem";
    const auto first = server_pair();
    replace_file(cert, first.cert_pem);
    replace_file(key, first.key_pem.reveal());

    auto holder = http::tls_context_holder::load({cert, key, {}});
    REQUIRE(holder.ok());
    std::shared_ptr<http::tls_context_holder> h = *holder;
    auto lim = test_limits();
    lim.read_timeout = 10'000ms;  // key generation below must not outlast the first connection
    lim.idle_timeout = 10'000ms;
    server_fixture f(lim, h);

    tls_client_options any;  // verification off: the test compares the served certificate
    conn before(f.port(), &any);
    REQUIRE(before.connected());
    CHECK(before.peer_cert_pem() == first.cert_pem);

    auto unchanged = h->reload_if_changed();
    REQUIRE(unchanged.ok());
    CHECK_FALSE(*unchanged);

    const auto second = server_pair(http::key_type::rsa2048);
    replace_file(key, second.key_pem.reveal());
    replace_file(cert, second.cert_pem);
    auto swapped = h->reload_if_changed();
    REQUIRE(swapped.ok());
    CHECK(*swapped);
    conn after(f.port(), &any);
    REQUIRE(after.connected());
    CHECK(after.peer_cert_pem() == second.cert_pem);

    // The connection made before the swap keeps its context and keeps working.
    REQUIRE(before.send(get("/old")));
    auto r = before.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);

    SECTION("a key that does not match is refused; the old context serves on") {
        replace_file(key, first.key_pem.reveal());
        auto broken = h->reload_if_changed();
        REQUIRE_FALSE(broken.ok());
        CHECK(broken.code() == "key_mismatch");
        auto again = h->reload_if_changed();  // same broken files: reported once
        REQUIRE(again.ok());
        CHECK_FALSE(*again);
        conn still(f.port(), &any);
        REQUIRE(still.connected());
        CHECK(still.peer_cert_pem() == second.cert_pem);
        replace_file(cert, first.cert_pem);  // the pair becomes consistent again
        auto fixed = h->reload_if_changed();
        REQUIRE(fixed.ok());
        CHECK(*fixed);
        conn back(f.port(), &any);
        CHECK(back.peer_cert_pem() == first.cert_pem);
    }
    SECTION("an unreadable file is refused") {
        fs::remove(cert);
        auto missing = h->reload_if_changed();
        REQUIRE_FALSE(missing.ok());
        CHECK(missing.code() == "io_error");
        conn still(f.port(), &any);
        CHECK(still.peer_cert_pem() == second.cert_pem);
    }
    SECTION("garbage is refused") {
        replace_file(cert, "garbage");
        auto bad = h->reload_if_changed();
        REQUIRE_FALSE(bad.ok());
        CHECK(bad.code() == "bad_certificate");
    }
}

TEST_CASE("tls: holder load fails on missing files", "[tls][reload]") {
    temp_dir dir("stsauth-tls");
    auto h = http::tls_context_holder::load({dir.path / "cert.pem", dir.path / "key.pem", {}});
    REQUIRE_FALSE(h.ok());
    CHECK(h.code() == "io_error");
}

namespace {

/// A ClientHello record header announcing 512 bytes, and a few of them: the server's handshake
/// starts (a slot is taken) and then waits for the rest.
const std::string stalled_client_hello("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);

}  // namespace

TEST_CASE("tls: handshakes over max_handshakes wait for a slot, and get it when one ends", "[tls][handshakes]") {
    const auto pair = server_pair();
    auto lim = test_limits();
    lim.max_handshakes = 1;
    lim.handshake_stall = 60'000ms;  // no stall release in this test
    lim.read_timeout = 800ms;        // the stalled peer's handshake ends (times out) after this
    server_fixture f(lim, holder_for(pair));
    // Taken before the staller connects: its read deadline, started after the server accepts it,
    // ends no earlier than t0 + read_timeout however long the steps below take on a busy machine.
    const auto t0 = std::chrono::steady_clock::now();
    conn staller(f.port());
    REQUIRE(staller.send(stalled_client_hello));
    REQUIRE(eventually([&] { return f.srv().stats().handshakes_in_progress == 1; }));

    const auto ok = trusting(pair);
    auto r = request_once(f.port(), get("/queued"), &ok, 10'000ms);
    const auto waited = std::chrono::steady_clock::now() - t0;
    REQUIRE(r);
    CHECK(r->status == 200);
    // It could only start once the staller's slot was freed by its read deadline.
    CHECK(waited >= lim.read_timeout);
    const auto st = f.srv().stats();
    CHECK(st.handshakes_queued >= 1);
    CHECK(st.handshake_stall_releases == 0);
    CHECK(eventually([&] { return f.srv().stats().handshakes_in_progress == 0; }));
}

TEST_CASE("tls: peers stalled in their handshakes delay new connections by handshake_stall, never block them",
          "[tls][handshakes]") {
    const auto pair = server_pair();
    auto lim = test_limits();
    lim.max_handshakes = 2;
    lim.handshake_stall = 100ms;
    lim.read_timeout = 20'000ms;  // the stallers would hold their slots this long
    server_fixture f(lim, holder_for(pair));
    conn staller1(f.port());
    conn staller2(f.port());
    REQUIRE(staller1.send(stalled_client_hello));
    REQUIRE(staller2.send(stalled_client_hello));
    REQUIRE(eventually([&] { return f.srv().stats().handshakes_in_progress == 2; }));

    const auto ok = trusting(pair);
    const auto t0 = std::chrono::steady_clock::now();
    auto r = request_once(f.port(), get("/through"), &ok);
    const auto waited = std::chrono::steady_clock::now() - t0;
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(waited < 10'000ms);  // far below the stallers' 20 s deadline
    CHECK(f.srv().stats().handshake_stall_releases >= 1);
}

TEST_CASE("tls: many concurrent handshakes through two slots all complete", "[tls][handshakes]") {
    const auto pair = server_pair();
    auto lim = test_limits();
    lim.max_handshakes = 2;
    lim.read_timeout = 5000ms;
    server_fixture f(lim, holder_for(pair));
    const auto ok = trusting(pair);
    std::atomic<int> good{0};
    std::vector<std::thread> clients;
    for (int i = 0; i < 16; ++i) {
        clients.emplace_back([&] {
            auto r = request_once(f.port(), get("/many"), &ok, 10'000ms);
            if (r && r->status == 200) ++good;
        });
    }
    for (auto& t : clients) t.join();
    CHECK(good == 16);
    CHECK(eventually([&] { return f.srv().stats().handshakes_in_progress == 0; }));
}
