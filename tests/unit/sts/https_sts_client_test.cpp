// https_sts_client against a real TLS server on loopback (test_tls_server): headers, SNI and
// host-name checks, keep-alive pool, retries, limits, timeouts, in-flight sharing, shutdown.
// Every wait is bounded.
#include "sts/https_sts_client.hpp"

#include "http/io_pool.hpp"
#include "support/io_pool_runner.hpp"
#include "test_tls_server.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

using namespace stsauth::sts;
using namespace stsauth::sts::testing;
using namespace std::chrono_literals;

namespace {

const std::string sts_host = "sts.us-west-2.amazonaws.com";
const std::string signature = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";
const std::string target =
    "/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIDEXAMPLE%2F20240101%2Fus-west-2%2Fsts%2Faws4_request&X-Amz-Date=20240101T000000Z"
    "&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Signature=" +
    signature;

/// Test data, read once. No Catch assertion here: server handlers call it on the server's thread
/// and Catch is not thread-safe; a missing file throws (and fails the test) instead.
const std::string& data_file(const std::string& name) {
    static const std::map<std::string, std::string> files = [] {
        std::map<std::string, std::string> m;
        for (const char* n : {"get_caller_identity_ok.json", "get_caller_identity_ok.xml", "throttling_400.json",
                              "signature_does_not_match_403.json", "expired_token_403.json"}) {
            std::ifstream in(std::string(STSAUTH_TEST_DATA_DIR) + "/sts/" + n, std::ios::binary);
            if (!in) throw std::runtime_error(std::string("missing test data ") + n);
            std::ostringstream s;
            s << in.rdbuf();
            m.emplace(n, s.str());
        }
        return m;
    }();
    return files.at(name);
}

const test_pki& pki() {
    static const test_pki p = make_test_pki({sts_host, "sts.amazonaws.com"});
    return p;
}

/// The test CA as a PEM file, removed at exit.
const std::string& ca_file() {
    struct file {
        std::filesystem::path path;
        file() {
            path = std::filesystem::temp_directory_path() /
                   ("stsauth-unit-sts-ca-" + std::to_string(::getpid()) + ".pem");
            std::ofstream(path) << pki().ca_pem;
        }
        ~file() {
            std::error_code ignored;
            std::filesystem::remove(path, ignored);
        }
    };
    static const file f;
    static const std::string s = f.path.string();
    return s;
}

reply ok_reply() {
    reply r;
    r.body = data_file("get_caller_identity_ok.json");
    r.headers = {{"Content-Type", "application/json"}, {"x-amzn-RequestId", "01234567"}};
    return r;
}

// Never answers and keeps the connection open.
reply hang_reply() {
    reply r;
    r.act = reply::action::hang;
    return r;
}

// Writes `bytes` as they are (in TLS records of `piece` bytes, `delay` apart, when piece > 0),
// then closes without close_notify.
reply raw_reply(std::string bytes, std::size_t piece = 0, std::chrono::milliseconds delay = {}) {
    reply r;
    r.act = reply::action::raw;
    r.raw_bytes = std::move(bytes);
    r.raw_piece = piece;
    r.delay = delay;
    return r;
}

reply status_reply(unsigned status, std::string body) {
    reply r;
    r.status = status;
    r.body = std::move(body);
    r.headers = {{"Content-Type", "application/json"}};
    return r;
}

sts_request make_request(std::string dedupe_key = "", std::string cluster = "test-cluster") {
    return sts_request{sts_host, target, std::move(cluster), std::move(dedupe_key)};
}

https_sts_client_config config_for(const test_tls_server& server) {
    (void)data_file("get_caller_identity_ok.json");  // load on the test thread
    https_sts_client_config c;
    c.timeout = 5s;
    c.connect_override = server.address();
    c.ca_file = ca_file();
    return c;
}

/// io_context run by two threads for the client.
struct io_runner {
    boost::asio::io_context ioc;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{ioc.get_executor()};
    std::vector<std::thread> threads;
    io_runner() {
        for (int i = 0; i < 2; ++i) threads.emplace_back([this] { ioc.run(); });
    }
    ~io_runner() {
        guard.reset();
        ioc.stop();
        for (auto& t : threads) t.join();
    }
    io_runner(const io_runner&) = delete;
    io_runner& operator=(const io_runner&) = delete;
};

/// One expected callback; a second call would throw (promise already satisfied) on the io thread.
struct waiter {
    struct result {
        sts_outcome outcome;
        std::thread::id thread;
        std::chrono::steady_clock::time_point when;
    };
    std::shared_ptr<std::promise<result>> p = std::make_shared<std::promise<result>>();
    std::future<result> f = p->get_future();

    sts_client::callback cb() const {
        return [p = p](const sts_outcome& o) {
            p->set_value({o, std::this_thread::get_id(), std::chrono::steady_clock::now()});
        };
    }
    result get_result(std::chrono::milliseconds bound = 10s) {
        REQUIRE(f.wait_for(bound) == std::future_status::ready);
        return f.get();
    }
    std::pair<sts_outcome, std::thread::id> get_with_thread(std::chrono::milliseconds bound = 10s) {
        auto r = get_result(bound);
        return {std::move(r.outcome), r.thread};
    }
    sts_outcome get(std::chrono::milliseconds bound = 10s) { return get_result(bound).outcome; }
};

void check_clean(const sts_outcome& o) {
    for (const std::string* s : {&o.detail, &o.reason, &o.sts_error_code}) {
        CHECK(s->find(signature) == std::string::npos);
        CHECK(s->find("X-Amz-") == std::string::npos);
        CHECK(s->find("Action=") == std::string::npos);
    }
}

sts_outcome call(sts_client& client, sts_request r = make_request()) {
    waiter w;
    client.get_caller_identity(std::move(r), w.cb());
    auto o = w.get();
    check_clean(o);
    return o;
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds bound = 5s) {
    const auto end = std::chrono::steady_clock::now() + bound;
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) return true;
        std::this_thread::sleep_for(5ms);
    }
    return pred();
}

/// A call whose answer never comes ends as "sts_timeout" during receive, after the client's
/// `timeout` and not much later.
void check_receive_timeout(sts_client& client, std::chrono::milliseconds timeout) {
    const auto start = std::chrono::steady_clock::now();
    const auto o = call(client);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK(o.kind == outcome_kind::unavailable);
    CHECK(o.reason == "sts_timeout");
    CHECK(o.detail.find("during receive") != std::string::npos);
    CHECK(elapsed >= timeout - 10ms);
    CHECK(elapsed < timeout + 2000ms);
}

/// A latch the server handler blocks on (bounded) until the test opens it; opens on scope exit.
struct gate {
    std::promise<void> p;
    std::shared_future<void> f = p.get_future().share();
    bool opened = false;
    void open() {
        if (!opened) p.set_value();
        opened = true;
    }
    void wait() const { f.wait_for(10s); }
    ~gate() { open(); }
};

}  // namespace

TEST_CASE("client: success through connect_override keeps the token's Host, SNI and headers", "[sts][client]") {
    test_tls_server server(pki(), [](const received_request&) { return ok_reply(); });
    io_runner io;
    https_sts_client client(io.ioc, config_for(server));

    waiter w;
    client.get_caller_identity(make_request(), w.cb());
    const auto [o, thread] = w.get_with_thread();
    check_clean(o);
    REQUIRE(o.kind == outcome_kind::ok);
    CHECK(o.reason == "ok");
    CHECK(o.http_status == 200);
    CHECK(o.identity == caller_identity{"arn:aws:sts::111122223333:assumed-role/Admin/admin-session", "111122223333",
                                        "AROAIIRR6I5NDJBWMIRQQ:admin-session"});
    CHECK(thread != std::this_thread::get_id());

    const auto reqs = server.requests();
    REQUIRE(reqs.size() == 1);
    const auto& r = reqs[0];
    CHECK(r.sni == sts_host);
    CHECK(r.method == "GET");
    CHECK(r.target == target);
    CHECK(r.version == "1.1");
    CHECK(r.header("Host") == sts_host);
    CHECK(r.header_count("Host") == 1);
    CHECK(r.header("x-k8s-aws-id") == "test-cluster");
    CHECK(r.header("Accept") == "application/json");
    CHECK(r.header("User-Agent") == default_user_agent());
    CHECK(default_user_agent().rfind("stsauth/", 0) == 0);
    CHECK(r.header_count("Accept-Encoding") == 0);
    CHECK(r.headers.size() == 4);

    const auto s = client.stats();
    CHECK(s.requests_sent == 1);
    CHECK(s.connections_opened == 1);
    CHECK(s.open_connections == 1);
    CHECK(s.idle_connections == 1);
    CHECK(s.in_flight == 0);
    CHECK(s.queued == 0);
    CHECK(s.retries == 0);
}

TEST_CASE("client: keep-alive reuses one TCP connection for sequential calls", "[sts][client]") {
    test_tls_server server(pki(), [](const received_request&) { return ok_reply(); });
    io_runner io;
    https_sts_client client(io.ioc, config_for(server));
    for (int i = 0; i < 5; ++i) REQUIRE(call(client).ok());
    CHECK(server.accepted() == 1);
    const auto reqs = server.requests();
    REQUIRE(reqs.size() == 5);
    for (std::size_t i = 0; i < reqs.size(); ++i) {
        CHECK(reqs[i].connection == 0);
        CHECK(reqs[i].on_connection == i);
    }
    CHECK(client.stats().connections_opened == 1);
    CHECK(client.stats().requests_sent == 5);
}

TEST_CASE("client: Connection: close from the server is honoured without a retry", "[sts][client]") {
    test_tls_server server(pki(), [](const received_request&) {
        reply r = ok_reply();
        r.keep_alive = false;
        return r;
    });
    io_runner io;
    https_sts_client client(io.ioc, config_for(server));
    REQUIRE(call(client).ok());
    REQUIRE(call(client).ok());
    CHECK(server.accepted() == 2);
    CHECK(client.stats().retries == 0);
    CHECK(client.stats().open_connections == 0);
}

TEST_CASE("client: a certificate for another host name is rejected", "[sts][client]") {
    test_tls_server server(pki(), [](const received_request&) { return ok_reply(); });
    io_runner io;
    https_sts_client client(io.ioc, config_for(server));
    sts_request r = make_request();
    r.host = "sts.eu-west-1.amazonaws.com";
    const auto o = call(client, r);
    CHECK(o.kind == outcome_kind::unavailable);
    CHECK(o.reason == "sts_tls_failed");
    CHECK(o.http_status == 0);
    CHECK(o.detail.find("hostname mismatch") != std::string::npos);
    CHECK(server.requests().empty());
    CHECK(client.stats().open_connections == 0);
}

TEST_CASE("client: a CA outside the trust store is rejected", "[sts][client]") {
    test_tls_server server(pki(), [](const received_request&) { return ok_reply(); });
    io_runner io;
    auto cfg = config_for(server);
    cfg.ca_file.clear();
    https_sts_client client(io.ioc, cfg);
    const auto o = call(client);
    CHECK(o.kind == outcome_kind::unavailable);
    CHECK(o.reason == "sts_tls_failed");
    CHECK(o.detail.find("certificate verify failed") != std::string::npos);
    CHECK(server.requests().empty());
}

TEST_CASE("client: redirects are never followed", "[sts][client]") {
    test_tls_server server(pki(), [](const received_request&) {
        reply r;
        r.status = 302;
        r.headers = {{"Location", "https://sts.amazonaws.com/?Action=GetCallerIdentity"}};
        return r;
    });
    io_runner io;
    https_sts_client client(io.ioc, config_for(server));
    const auto o = call(client);
    CHECK(o.kind == outcome_kind::bad_response);
    CHECK(o.reason == "sts_redirect");
    CHECK(o.http_status == 302);
    CHECK(server.requests().size() == 1);
    CHECK(server.accepted() == 1);
}

TEST_CASE("client: an oversize body is bad_response and the connection is dropped", "[sts][client]") {
    std::atomic<int> n{0};
    test_tls_server server(pki(), [&n](const received_request&) {
        if (n++ == 0) return status_reply(200, std::string(70000, ' ') + data_file("get_caller_identity_ok.json"));
        return ok_reply();
    });
    io_runner io;
    https_sts_client client(io.ioc, config_for(server));
    const auto o = call(client);
    CHECK(o.kind == outcome_kind::bad_response);
    CHECK(o.reason == "sts_body_too_large");
    CHECK(o.http_status == 200);
    CHECK(client.stats().open_connections == 0);
    REQUIRE(call(client).ok());
    CHECK(server.accepted() == 2);

    SECTION("the limit is configurable") {
        auto cfg = config_for(server);
        cfg.max_body_bytes = 64;
        https_sts_client small(io.ioc, cfg);
        const auto s = call(small);
        CHECK(s.reason == "sts_body_too_large");
        CHECK(s.detail.find("64 bytes") != std::string::npos);
    }
}

TEST_CASE("client: a server that never answers times out within the timeout", "[sts][client]") {
    test_tls_server server(pki(), [](const received_request&) { return hang_reply(); });
    io_runner io;
    auto cfg = config_for(server);
    cfg.timeout = 300ms;
    https_sts_client client(io.ioc, cfg);
    check_receive_timeout(client, 300ms);
    CHECK(server.requests().size() == 1);
    CHECK(client.stats().retries == 0);
    CHECK(client.stats().open_connections == 0);
}

TEST_CASE("client: a server that never completes the TLS handshake times out", "[sts][client]") {
    test_tls_server server(pki(), [](const received_request&) { return ok_reply(); },
                           test_tls_server::mode::stall_handshake);
    io_runner io;
    auto cfg = config_for(server);
    cfg.timeout = 300ms;
    https_sts_client client(io.ioc, cfg);
    const auto start = std::chrono::steady_clock::now();
    const auto o = call(client);
    CHECK(std::chrono::steady_clock::now() - start < 2300ms);
    CHECK(o.kind == outcome_kind::unavailable);
    CHECK(o.reason == "sts_timeout");
    CHECK(o.detail.find("during TLS handshake") != std::string::npos);
}

TEST_CASE("client: connection refused is unavailable", "[sts][client]") {
    io_runner io;
    https_sts_client_config cfg;
    cfg.connect_override = "127.0.0.1:" + std::to_string(unused_port());
    cfg.ca_file = ca_file();
    https_sts_client client(io.ioc, cfg);
    const auto o = call(client);
    CHECK(o.kind == outcome_kind::unavailable);
    CHECK(o.reason == "sts_connect_failed");
    CHECK(o.http_status == 0);
    CHECK(client.stats().open_connections == 0);
}

TEST_CASE("client: a pooled connection reset before any response byte is retried once", "[sts][client]") {
    test_tls_server server(pki(), [](const received_request& r) {
        if (r.connection == 0 && r.on_connection == 1) {
            reply reset;
            reset.act = reply::action::reset;
            return reset;
        }
        return ok_reply();
    });
    io_runner io;
    https_sts_client client(io.ioc, config_for(server));
    REQUIRE(call(client).ok());
    const auto o = call(client);
    REQUIRE(o.ok());
    CHECK(server.accepted() == 2);
    const auto reqs = server.requests();
    REQUIRE(reqs.size() == 3);
    CHECK(reqs[2].connection == 1);
    CHECK(reqs[2].target == target);
    const auto s = client.stats();
    CHECK(s.retries == 1);
    CHECK(s.requests_sent == 3);
    CHECK(s.open_connections == 1);
}

TEST_CASE("client: the retry happens once only", "[sts][client]") {
    test_tls_server server(pki(), [](const received_request& r) {
        if (r.connection == 0 && r.on_connection == 0) return ok_reply();
        reply reset;
        reset.act = reply::action::reset;
        return reset;
    });
    io_runner io;
    https_sts_client client(io.ioc, config_for(server));
    REQUIRE(call(client).ok());
    const auto o = call(client);
    CHECK(o.kind == outcome_kind::unavailable);
    CHECK(o.reason == "sts_receive_failed");
    CHECK(server.accepted() == 2);
    CHECK(server.requests().size() == 3);
    CHECK(client.stats().retries == 1);
}

TEST_CASE("client: a fresh connection that fails is not retried", "[sts][client]") {
    test_tls_server server(pki(), [](const received_request&) {
        reply reset;
        reset.act = reply::action::reset;
        return reset;
    });
    io_runner io;
    https_sts_client client(io.ioc, config_for(server));
    const auto o = call(client);
    CHECK(o.kind == outcome_kind::unavailable);
    CHECK(o.reason == "sts_receive_failed");
    CHECK(server.accepted() == 1);
    CHECK(server.requests().size() == 1);
    CHECK(client.stats().retries == 0);
}

TEST_CASE("client: a pooled connection that fails after response bytes is not retried", "[sts][client]") {
    test_tls_server server(pki(), [](const received_request& r) {
        if (r.on_connection == 0) return ok_reply();
        return raw_reply("HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"GetCallerIdentityResponse\"");
    });
    io_runner io;
    https_sts_client client(io.ioc, config_for(server));
    REQUIRE(call(client).ok());
    const auto o = call(client);
    CHECK(o.kind == outcome_kind::unavailable);
    CHECK(o.reason == "sts_receive_failed");
    CHECK(server.accepted() == 1);
    CHECK(client.stats().retries == 0);
}

TEST_CASE("client: a body delimited by the connection's end, closed without close_notify", "[sts][client]") {
    test_tls_server server(pki(), [](const received_request&) {
        return raw_reply("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" +
                         data_file("get_caller_identity_ok.json"));
    });
    io_runner io;
    https_sts_client client(io.ioc, config_for(server));
    const auto o = call(client);
    REQUIRE(o.ok());
    CHECK(o.identity.account == "111122223333");
    CHECK(client.stats().open_connections == 0);
}

TEST_CASE("client: a chunked body is gathered from its chunks", "[sts][client]") {
    test_tls_server server(pki(), [](const received_request&) {
        const std::string body = data_file("get_caller_identity_ok.json");
        const std::string a = body.substr(0, 17), b = body.substr(17);
        auto hex = [](std::size_t n) { return fmt::format("{:x}", n); };
        return raw_reply("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
                         hex(a.size()) + ";ext=1\r\n" + a + "\r\n" + hex(b.size()) + "\r\n" + b + "\r\n0\r\n\r\n");
    });
    io_runner io;
    https_sts_client client(io.ioc, config_for(server));
    const auto o = call(client);
    REQUIRE(o.ok());
    CHECK(o.identity.account == "111122223333");
    CHECK(o.identity.arn == "arn:aws:sts::111122223333:assumed-role/Admin/admin-session");
}

TEST_CASE("client: an answer that arrives a few bytes at a time is read to its end", "[sts][client]") {
    // Status line, fields and body cut across 23-byte TLS records, 1 ms apart: the client parses
    // what it has and reads again until the body's Content-Length is complete.
    const std::string body = data_file("get_caller_identity_ok.json");
    test_tls_server server(pki(), [&](const received_request&) {
        return raw_reply("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                             std::to_string(body.size()) + "\r\n\r\n" + body,
                         23, std::chrono::milliseconds(1));
    });
    io_runner io;
    https_sts_client client(io.ioc, config_for(server));
    const auto o = call(client);
    REQUIRE(o.ok());
    CHECK(o.identity.arn == "arn:aws:sts::111122223333:assumed-role/Admin/admin-session");
}

TEST_CASE("client: a body over several TLS records, and one cut short", "[sts][client]") {
    // 40 KiB of JSON whitespace before the answer: three full records and more.
    const std::string body = std::string(40 * 1024, ' ') + data_file("get_caller_identity_ok.json");
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                             std::to_string(body.size()) + "\r\n\r\n";
    // The server writes `sent` in 9,000-byte records, then closes.
    auto call_with = [&](const std::string& sent) {
        test_tls_server server(pki(), [&](const received_request&) { return raw_reply(sent, 9000); });
        io_runner io;
        auto cfg = config_for(server);
        cfg.max_body_bytes = body.size();
        https_sts_client client(io.ioc, cfg);
        return call(client);
    };
    const auto complete = call_with(head + body);
    REQUIRE(complete.ok());
    CHECK(complete.identity.account == "111122223333");
    const auto cut = call_with(head + body.substr(0, body.size() - 10));  // ends before Content-Length
    CHECK(cut.kind == outcome_kind::unavailable);
    CHECK(cut.reason == "sts_receive_failed");
}

TEST_CASE("client: malformed HTTP is bad_response", "[sts][client]") {
    test_tls_server server(pki(), [](const received_request&) { return raw_reply("HTTP/9.9 200 OK\r\n\r\n"); });
    io_runner io;
    https_sts_client client(io.ioc, config_for(server));
    const auto o = call(client);
    CHECK(o.kind == outcome_kind::bad_response);
    CHECK(o.reason == "sts_bad_http");
}

TEST_CASE("client: STS statuses map to outcomes end to end", "[sts][client]") {
    // The cluster id selects the answer, so one server and one pooled connection serve all rows.
    test_tls_server server(pki(), [](const received_request& r) {
        const std::string id = r.header("x-k8s-aws-id");
        if (id == "throttle-400") return status_reply(400, data_file("throttling_400.json"));
        if (id == "throttle-429") return status_reply(429, "");
        if (id == "unavailable-503") return status_reply(503, "Service Unavailable");
        if (id == "error-500") return status_reply(500, "");
        if (id == "sig-403") return status_reply(403, data_file("signature_does_not_match_403.json"));
        if (id == "expired-403") return status_reply(403, data_file("expired_token_403.json"));
        if (id == "xml-200") return status_reply(200, data_file("get_caller_identity_ok.xml"));
        if (id == "junk-200") return status_reply(200, "xxxx");
        return ok_reply();
    });
    io_runner io;
    https_sts_client client(io.ioc, config_for(server));
    struct row {
        std::string cluster;
        outcome_kind kind;
        std::string reason;
        unsigned status;
        std::string code;
    };
    for (const auto& r : {row{"throttle-400", outcome_kind::throttled, "sts_throttled", 400, "Throttling"},
                          row{"throttle-429", outcome_kind::throttled, "sts_throttled", 429, ""},
                          row{"unavailable-503", outcome_kind::unavailable, "sts_server_error", 503, ""},
                          row{"error-500", outcome_kind::unavailable, "sts_server_error", 500, ""},
                          row{"sig-403", outcome_kind::rejected, "sts_rejected", 403, "SignatureDoesNotMatch"},
                          row{"expired-403", outcome_kind::rejected, "sts_rejected", 403, "ExpiredToken"},
                          row{"xml-200", outcome_kind::bad_response, "sts_xml_body", 200, ""},
                          row{"junk-200", outcome_kind::bad_response, "sts_bad_json", 200, ""},
                          row{"fine", outcome_kind::ok, "ok", 200, ""}}) {
        INFO(r.cluster);
        const auto o = call(client, make_request("", r.cluster));
        CHECK(o.kind == r.kind);
        CHECK(o.reason == r.reason);
        CHECK(o.http_status == r.status);
        CHECK(o.sts_error_code == r.code);
    }
    CHECK(server.accepted() == 1);
}

TEST_CASE("client: 1000 concurrent calls with one dedupe key make one upstream request", "[sts][client]") {
    gate release;
    test_tls_server server(pki(), [&release](const received_request&) {
        release.wait();
        return ok_reply();
    });
    io_runner io;
    https_sts_client client(io.ioc, config_for(server));

    constexpr int calls = 1000;
    std::vector<std::atomic<int>> seen(calls);
    std::atomic<int> ok{0};
    std::atomic<int> done{0};
    std::mutex mu;
    std::condition_variable cv;
    auto submit = [&](int first, int last) {
        for (int i = first; i < last; ++i) {
            client.get_caller_identity(make_request("sha256-of-the-token"), [&, i](const sts_outcome& o) {
                seen[static_cast<std::size_t>(i)]++;
                if (o.ok() && o.identity.account == "111122223333") ok++;
                if (++done == calls) {
                    std::lock_guard lock(mu);
                    cv.notify_all();
                }
            });
        }
    };
    std::vector<std::thread> submitters;
    for (int t = 0; t < 4; ++t) submitters.emplace_back(submit, t * (calls / 4), (t + 1) * (calls / 4));
    for (auto& t : submitters) t.join();

    const auto before = client.stats();
    CHECK(before.in_flight == 1);
    CHECK(before.shared_calls == calls - 1);
    CHECK(done == 0);
    release.open();
    {
        std::unique_lock lock(mu);
        REQUIRE(cv.wait_for(lock, 10s, [&] { return done == calls; }));
    }
    CHECK(ok == calls);
    for (auto& s : seen) CHECK(s == 1);
    CHECK(server.requests().size() == 1);
    CHECK(client.stats().requests_sent == 1);
    CHECK(client.stats().in_flight == 0);

    SECTION("once finished, the same key makes a new request") {
        REQUIRE(call(client, make_request("sha256-of-the-token")).ok());
        CHECK(server.requests().size() == 2);
    }
}

TEST_CASE("client: different dedupe keys or cluster ids are not shared", "[sts][client]") {
    gate release;
    test_tls_server server(pki(), [&release](const received_request&) {
        release.wait();
        return ok_reply();
    });
    io_runner io;
    https_sts_client client(io.ioc, config_for(server));
    waiter a, b, c, d;
    client.get_caller_identity(make_request("key-1", "cluster-a"), a.cb());
    client.get_caller_identity(make_request("key-2", "cluster-a"), b.cb());
    client.get_caller_identity(make_request("key-1", "cluster-b"), c.cb());
    client.get_caller_identity(make_request("", "cluster-a"), d.cb());
    CHECK(client.stats().in_flight == 4);
    CHECK(client.stats().shared_calls == 0);
    release.open();
    for (auto* w : {&a, &b, &c, &d}) CHECK(w->get().ok());
    CHECK(server.requests().size() == 4);
}

TEST_CASE("client: calls beyond max_connections_per_host queue", "[sts][client]") {
    test_tls_server server(pki(), [](const received_request&) {
        reply r = ok_reply();
        r.delay = 150ms;
        return r;
    });
    io_runner io;
    auto cfg = config_for(server);
    cfg.max_connections_per_host = 2;
    https_sts_client client(io.ioc, cfg);
    std::vector<waiter> waiters(6);
    for (std::size_t i = 0; i < waiters.size(); ++i) {
        client.get_caller_identity(make_request("key-" + std::to_string(i)), waiters[i].cb());
    }
    const auto s = client.stats();
    CHECK(s.in_flight == 6);
    CHECK(s.queued == 4);
    CHECK(s.open_connections == 2);
    for (auto& w : waiters) CHECK(w.get().ok());
    CHECK(server.requests().size() == 6);
    CHECK(server.accepted() == 2);
    CHECK(server.max_concurrent_connections() <= 2);
    CHECK(client.stats().queued == 0);
}

TEST_CASE("client: the timeout covers the wait for a connection", "[sts][client]") {
    test_tls_server server(pki(), [](const received_request&) { return hang_reply(); });
    io_runner io;
    auto cfg = config_for(server);
    cfg.max_connections_per_host = 1;
    cfg.timeout = 400ms;
    https_sts_client client(io.ioc, cfg);
    const auto start = std::chrono::steady_clock::now();
    waiter a, b;
    client.get_caller_identity(make_request("a"), a.cb());
    REQUIRE(eventually([&] { return server.requests().size() == 1; }));
    std::this_thread::sleep_for(100ms);
    client.get_caller_identity(make_request("b"), b.cb());
    CHECK(client.stats().queued == 1);
    // a times out at ~400 ms, b then gets the slot with what is left of its own 400 ms.
    CHECK(a.get().reason == "sts_timeout");
    const auto ob = b.get();
    const auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK(ob.reason == "sts_timeout");
    CHECK(elapsed >= 490ms);
    CHECK(elapsed < 2500ms);
}

TEST_CASE("client: queued calls time out while the slot is held by a retried call", "[sts][client]") {
    // Warm-up call pools connection 0. Call a reuses it; the server waits 100 ms and resets it,
    // so a is retried (fresh 400 ms) on connection 1, where the server hangs: a holds the only
    // slot until ~500 ms. Call b, queued at ~0 ms, expires in the queue at ~400 ms.
    test_tls_server server(pki(), [](const received_request& r) {
        if (r.connection == 0 && r.on_connection == 0) return ok_reply();
        reply out;
        if (r.connection == 0) {
            std::this_thread::sleep_for(100ms);
            out.act = reply::action::reset;
        } else {
            out.act = reply::action::hang;
        }
        return out;
    });
    io_runner io;
    auto cfg = config_for(server);
    cfg.max_connections_per_host = 1;
    cfg.timeout = 400ms;
    https_sts_client client(io.ioc, cfg);
    REQUIRE(call(client).ok());
    waiter a, b;
    client.get_caller_identity(make_request("a"), a.cb());
    client.get_caller_identity(make_request("b"), b.cb());
    CHECK(client.stats().queued == 1);
    const auto rb = b.get_result();
    const auto ra = a.get_result();
    CHECK(rb.outcome.kind == outcome_kind::unavailable);
    CHECK(rb.outcome.reason == "sts_pool_timeout");
    CHECK(rb.outcome.http_status == 0);
    CHECK(ra.outcome.reason == "sts_timeout");
    CHECK(rb.when < ra.when);  // the queue deadline fired on its own, not when a freed the slot
    CHECK(client.stats().retries == 1);
    CHECK(server.requests().size() == 3);
    CHECK(client.stats().in_flight == 0);
    CHECK(client.stats().queued == 0);
}

TEST_CASE("client: an interim 1xx answer is an error and the connection is not reused", "[sts][client]") {
    test_tls_server server(pki(), [](const received_request& r) {
        if (r.connection != 0) return ok_reply();
        const std::string body = data_file("get_caller_identity_ok.json");
        return raw_reply("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\n\r\n" + body);
    });
    io_runner io;
    https_sts_client client(io.ioc, config_for(server));
    const auto o = call(client);
    CHECK(o.kind == outcome_kind::bad_response);
    CHECK(o.reason == "sts_unexpected_status");
    CHECK(o.http_status == 100);
    REQUIRE(call(client).ok());
    CHECK(client.stats().retries == 0);
    CHECK(server.accepted() == 2);
}

TEST_CASE("client: idle connections close after idle_timeout", "[sts][client]") {
    test_tls_server server(pki(), [](const received_request&) { return ok_reply(); });
    io_runner io;
    auto cfg = config_for(server);
    cfg.idle_timeout = 100ms;
    https_sts_client client(io.ioc, cfg);
    REQUIRE(call(client).ok());
    REQUIRE(eventually([&] { return client.stats().open_connections == 0; }, 3s));
    REQUIRE(call(client).ok());
    CHECK(server.accepted() == 2);
    CHECK(client.stats().retries == 0);
}

TEST_CASE("client: a pooled connection that stops answering times out within the timeout", "[sts][client]") {
    // The second exchange runs on the pooled connection, under the socket's own deadline.
    std::atomic<int> n{0};
    test_tls_server server(pki(), [&n](const received_request&) { return n++ == 0 ? ok_reply() : hang_reply(); });
    io_runner io;
    auto cfg = config_for(server);
    cfg.timeout = 300ms;
    https_sts_client client(io.ioc, cfg);
    REQUIRE(call(client).ok());
    check_receive_timeout(client, 300ms);
    CHECK(server.accepted() == 1);  // it was the pooled connection, and no retry followed
    CHECK(client.stats().retries == 0);
    CHECK(client.stats().open_connections == 0);
    REQUIRE(server.requests().size() == 2);
    CHECK(server.requests()[1].connection == 0);

    SECTION("the next call opens a fresh connection and succeeds") {
        n = 0;
        REQUIRE(call(client).ok());
        CHECK(server.accepted() == 2);
    }
}

TEST_CASE("client: idle_timeout counts from a connection's last use", "[sts][client]") {
    test_tls_server server(pki(), [](const received_request&) { return ok_reply(); });
    io_runner io;
    auto cfg = config_for(server);
    cfg.idle_timeout = 600ms;
    https_sts_client client(io.ioc, cfg);
    // Used every 100 ms for 1.5 s, over two idle timeouts: never idle for 600 ms, never closed.
    const auto end = std::chrono::steady_clock::now() + 1500ms;
    while (std::chrono::steady_clock::now() < end) {
        REQUIRE(call(client).ok());
        std::this_thread::sleep_for(100ms);
    }
    CHECK(server.accepted() == 1);
    CHECK(client.stats().connections_opened == 1);
    // Then left alone: closed once idle for idle_timeout.
    CHECK(eventually([&] { return client.stats().open_connections == 0; }, 3s));
}

TEST_CASE("client: invalid requests are refused without I/O, on an io thread", "[sts][client]") {
    test_tls_server server(pki(), [](const received_request&) { return ok_reply(); });
    io_runner io;
    https_sts_client client(io.ioc, config_for(server));
    std::vector<sts_request> bad;
    bad.push_back(make_request("", "cluster\r\nInjected: yes"));
    bad.push_back(make_request());
    bad.back().host = "sts.us-west-2.amazonaws.com:443";
    bad.push_back(make_request());
    bad.back().host = "";
    bad.push_back(make_request());
    bad.back().target = "/?Action=GetCallerIdentity HTTP/1.1\r\nX: y";
    bad.push_back(make_request());
    bad.back().target = "https://evil.example/";
    bad.push_back(make_request());
    bad.back().target = "";
    // Past the first vector blocks of the check, and bytes above '~' (signed chars below 0).
    for (const char* tail : {"\x7f", "\x80", "\xff", " ", "\t"}) {
        bad.push_back(make_request());
        bad.back().target = "/?Action=GetCallerIdentity&" + std::string(70, 'a') + tail + "bbb";
    }
    bad.push_back(make_request("", std::string(40, 'c') + "\x01" + "cc"));
    for (auto& r : bad) {
        waiter w;
        client.get_caller_identity(std::move(r), w.cb());
        const auto [o, thread] = w.get_with_thread();
        CHECK(o.kind == outcome_kind::rejected);
        CHECK(o.reason == "sts_invalid_request");
        CHECK(thread != std::this_thread::get_id());
    }
    CHECK(server.accepted() == 0);
    CHECK(client.stats().requests_sent == 0);
}

TEST_CASE("client: destruction fails queued calls and lets running ones finish", "[sts][client]") {
    test_tls_server server(pki(), [](const received_request&) { return hang_reply(); });
    io_runner io;
    auto cfg = config_for(server);
    cfg.max_connections_per_host = 1;
    cfg.timeout = 500ms;
    waiter running, queued;
    {
        https_sts_client client(io.ioc, cfg);
        client.get_caller_identity(make_request("running"), running.cb());
        REQUIRE(eventually([&] { return server.requests().size() == 1; }));
        client.get_caller_identity(make_request("queued"), queued.cb());
    }
    const auto q = queued.get(1s);
    CHECK(q.kind == outcome_kind::unavailable);
    CHECK(q.reason == "sts_shutdown");
    CHECK(running.get(3s).reason == "sts_timeout");
}

TEST_CASE("client: configuration is validated at construction", "[sts][client]") {
    boost::asio::io_context ioc;
    auto make = [&](auto mutate) {
        https_sts_client_config c;
        mutate(c);
        https_sts_client client(ioc, c);
    };
    CHECK_NOTHROW(make([](auto&) {}));
    CHECK_NOTHROW(make([](auto& c) { c.connect_override = "fakests.svc:8443"; }));
    CHECK_NOTHROW(make([](auto& c) { c.connect_override = "[::1]:443"; }));
    for (const char* bad : {"localhost", "localhost:", ":443", "host:0", "host:65536", "host:12a", "::1:443",
                            "[::1]", "[::1]443", "host:443 ", "host :443"}) {
        INFO(bad);
        CHECK_THROWS_AS(make([bad](auto& c) { c.connect_override = bad; }), std::invalid_argument);
    }
    CHECK_THROWS_AS(make([](auto& c) { c.timeout = 0ms; }), std::invalid_argument);
    CHECK_THROWS_AS(make([](auto& c) { c.max_connections_per_host = 0; }), std::invalid_argument);
    CHECK_THROWS_AS(make([](auto& c) { c.max_body_bytes = 0; }), std::invalid_argument);
    CHECK_THROWS_AS(make([](auto& c) { c.user_agent = "x\r\ny"; }), std::invalid_argument);
    CHECK_THROWS_AS(make([](auto& c) { c.ca_file = "/nonexistent/ca.pem"; }), std::runtime_error);
    CHECK_THROWS_WITH(make([](auto& c) { c.ca_file = "/nonexistent/ca.pem"; }),
                      Catch::Contains("server.sts.caFile"));
}

// ---- on an io_pool: one lane per context --------------------------------------------------------

namespace {

using stsauth::http::io_pool;

/// Runs `f` on context `i` of the pool and waits for it (bounded); returns that thread's id.
template <class F>
std::thread::id on_context(io_pool& pool, std::size_t i, F f) {
    auto p = std::make_shared<std::promise<std::thread::id>>();
    auto fut = p->get_future();
    boost::asio::post(pool.at(i), [p, f = std::move(f)]() mutable {
        f();
        p->set_value(std::this_thread::get_id());
    });
    REQUIRE(fut.wait_for(5s) == std::future_status::ready);
    return fut.get();
}

}  // namespace

TEST_CASE("client on an io_pool: a call from a pool thread stays on that thread's lane", "[sts][client][io_pool]") {
    test_tls_server server(pki(), [](const received_request&) { return ok_reply(); });
    stsauth::test::io_pool_runner io(2);
    https_sts_client client(io.pool, config_for(server));

    for (std::size_t lane = 0; lane < 2; ++lane) {
        for (int i = 0; i < 3; ++i) {
            waiter w;
            const auto caller = on_context(io.pool, lane, [&] { client.get_caller_identity(make_request(), w.cb()); });
            const auto [o, thread] = w.get_with_thread();
            CHECK(o.ok());
            CHECK(thread == caller);  // the exchange and its callback ran on the caller's thread
        }
    }
    // One keep-alive connection per lane, each reused for its lane's three calls.
    CHECK(client.stats().connections_opened == 2);
    CHECK(server.accepted() == 2);
    CHECK(client.stats().requests_sent == 6);

    // A call from a thread outside the pool works too (lanes in turn).
    CHECK(call(client).ok());
}

TEST_CASE("client on an io_pool: max_connections_per_host is split over the lanes", "[sts][client][io_pool]") {
    test_tls_server server(pki(), [](const received_request&) {
        reply r = ok_reply();
        r.delay = 150ms;
        return r;
    });
    stsauth::test::io_pool_runner io(2);
    auto cfg = config_for(server);

    SECTION("3 connections over 2 lanes: lane 1 gets 1, its further calls queue") {
        cfg.max_connections_per_host = 3;
        https_sts_client client(io.pool, cfg);
        std::vector<waiter> waiters(4);
        on_context(io.pool, 1, [&] {
            for (std::size_t i = 0; i < waiters.size(); ++i) {
                client.get_caller_identity(make_request("key-" + std::to_string(i)), waiters[i].cb());
            }
        });
        const auto s = client.stats();
        CHECK(s.open_connections == 1);
        CHECK(s.queued == 3);
        for (auto& w : waiters) CHECK(w.get().ok());
        CHECK(server.accepted() == 1);
    }
    SECTION("1 connection, 2 contexts: one lane, never more than one connection") {
        cfg.max_connections_per_host = 1;
        https_sts_client client(io.pool, cfg);
        std::vector<waiter> waiters(4);
        for (std::size_t lane = 0; lane < 2; ++lane) {
            on_context(io.pool, lane, [&, lane] {
                for (std::size_t i = 0; i < 2; ++i) {
                    client.get_caller_identity(make_request("key-" + std::to_string(lane * 2 + i)), waiters[lane * 2 + i].cb());
                }
            });
        }
        CHECK(client.stats().open_connections == 1);
        for (auto& w : waiters) CHECK(w.get().ok());
        CHECK(server.max_concurrent_connections() == 1);
    }
}

TEST_CASE("client on an io_pool: the same token from two lanes makes one upstream request", "[sts][client][io_pool]") {
    gate release;
    test_tls_server server(pki(), [&release](const received_request&) {
        release.wait();
        return ok_reply();
    });
    stsauth::test::io_pool_runner io(2);
    https_sts_client client(io.pool, config_for(server));
    waiter a, b;
    on_context(io.pool, 0, [&] { client.get_caller_identity(make_request("same-token"), a.cb()); });
    on_context(io.pool, 1, [&] { client.get_caller_identity(make_request("same-token"), b.cb()); });
    CHECK(client.stats().in_flight == 1);
    CHECK(client.stats().shared_calls == 1);
    release.open();
    CHECK(a.get().ok());
    CHECK(b.get().ok());
    CHECK(server.requests().size() == 1);
}
