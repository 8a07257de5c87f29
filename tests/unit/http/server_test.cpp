// The server over real loopback sockets (plain HTTP; TLS in tls_test.cpp): routing, keep-alive,
// handler completion from other threads, every A11 rejection, deadlines, connection limit, drain.

#include "server_fixture.hpp"

#include <atomic>
#include <future>

using namespace stsauth;
using namespace stsauth::test;

namespace {

/// Asserts an error answer of the server itself, and that it closed the connection after it.
void check_rejected(conn& c, unsigned status) {
    auto r = c.read_response(2000ms);
    REQUIRE(r);
    CHECK(r->status == status);
    CHECK(r->header("connection") == "close");
    CHECK(r->header("content-type") == "text/plain; charset=utf-8");
    CHECK(r->header("x-content-type-options") == "nosniff");
    CHECK(r->body.rfind(std::to_string(status) + " ", 0) == 0);
    const auto end = c.read_until_close(2000ms);
    CHECK((end == read_end::closed || end == read_end::reset));
}

}  // namespace

TEST_CASE("server: GET and POST, route on the path, keep-alive on one connection", "[server]") {
    server_fixture f;
    conn c(f.port());
    REQUIRE(c.connected());

    REQUIRE(c.send(get("/authenticate?timeout=30s", "Foo: bar\r\n")));
    auto r1 = c.read_response();
    REQUIRE(r1);
    CHECK(r1->status == 200);
    CHECK(r1->version == "HTTP/1.1");
    CHECK(r1->body == "GET /authenticate ");
    CHECK(r1->header("x-target") == "/authenticate?timeout=30s");
    CHECK(r1->header("x-foo") == "bar");
    CHECK(r1->header("x-remote-set") == "yes");
    CHECK(r1->header("content-type") == "text/plain; charset=utf-8");
    CHECK(r1->header("connection").empty());

    REQUIRE(c.send(post("/authenticate", "{\"kind\":\"TokenReview\"}")));
    auto r2 = c.read_response();
    REQUIRE(r2);
    CHECK(r2->status == 200);
    CHECK(r2->body == "POST /authenticate {\"kind\":\"TokenReview\"}");
    CHECK(r2->header("content-length") == std::to_string(r2->body.size()));

    CHECK(f.srv().stats().requests == 2);
    CHECK(f.srv().stats().accepted == 1);
}

TEST_CASE("server: the handler gets every field in order, names as sent, fresh for each request", "[server]") {
    server_fixture f;
    conn c(f.port());
    REQUIRE(c.connected());
    // More fields than a header_list holds inline, repeated names, an empty value; the body
    // arrives with the header.
    std::string extra;
    std::string expect = "Host=test\nContent-Type=application/json\nContent-Length=2\n";
    for (int i = 0; i < 10; ++i) {
        const std::string name = (i % 2 != 0 ? "x-dup" : "X-Field-") + std::to_string(i);
        extra += name + ": v" + std::to_string(i) + "\r\n";
        expect += name + "=v" + std::to_string(i) + "\n";
    }
    extra += "X-Empty:\r\nX-Dup1: again\r\n";
    expect += "X-Empty=\nX-Dup1=again\n{}";
    REQUIRE(c.send(post("/fields", "{}", extra)));
    auto r1 = c.read_response();
    REQUIRE(r1);
    CHECK(r1->status == 200);
    CHECK(r1->body == expect);

    // The same connection: a chunked request, then a plain one; nothing of an earlier request shows.
    REQUIRE(c.send("POST /fields HTTP/1.1\r\nHost: h2\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"));
    auto r2 = c.read_response();
    REQUIRE(r2);
    CHECK(r2->body == "Host=h2\nTransfer-Encoding=chunked\nabc");
    REQUIRE(c.send(get("/fields", "Accept: */*\r\n")));
    auto r3 = c.read_response();
    REQUIRE(r3);
    CHECK(r3->body == "Host=test\nAccept=*/*\n");
}

TEST_CASE("server: pipelined requests are answered in order", "[server]") {
    server_fixture f;
    conn c(f.port());
    REQUIRE(c.send(post("/one", "1") + get("/two") + post("/three", "333")));
    for (const char* expected : {"POST /one 1", "GET /two ", "POST /three 333"}) {
        auto r = c.read_response();
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK(r->body == expected);
    }
}

TEST_CASE("server: leading empty lines before a request are ignored", "[server]") {
    server_fixture f;
    conn c(f.port());
    REQUIRE(c.send("\r\n" + get("/x")));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
}

TEST_CASE("server: Connection: close, HTTP/1.0 and HEAD", "[server]") {
    server_fixture f;
    SECTION("Connection: close is honoured") {
        conn c(f.port());
        REQUIRE(c.send(get("/x", "Connection: close\r\n")));
        auto r = c.read_response();
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK(r->header("connection") == "close");
        CHECK(c.read_until_close(2000ms) == read_end::closed);
    }
    SECTION("HTTP/1.0 without keep-alive closes after the answer") {
        conn c(f.port());
        REQUIRE(c.send("GET /old HTTP/1.0\r\n\r\n"));
        auto r = c.read_response();
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK(r->version == "HTTP/1.0");
        CHECK(r->body == "GET /old ");
        CHECK(c.read_until_close(2000ms) == read_end::closed);
    }
    SECTION("HEAD gets the header with Content-Length and no body") {
        conn c(f.port());
        REQUIRE(c.send("HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n"));
        auto r = c.read_response(2000ms, /*head=*/true);
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK(r->header("content-length") == std::to_string(std::string("HEAD /h ").size()));
        REQUIRE(c.send(get("/after")));  // no stray body bytes before the next answer
        auto r2 = c.read_response();
        REQUIRE(r2);
        CHECK(r2->body == "GET /after ");
    }
}

TEST_CASE("server: handlers may answer later, from any thread, and are held to one answer", "[server]") {
    server_fixture f;
    conn c(f.port());
    SECTION("answer from another thread after a delay") {
        REQUIRE(c.send(get("/slow?ms=100")));
        auto r = c.read_response();
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK(r->body == "slow");
    }
    SECTION("answer from another thread at once") {
        REQUIRE(c.send(get("/thread")));
        auto r = c.read_response();
        REQUIRE(r);
        CHECK(r->body == "from a thread");
    }
    SECTION("a dropped responder yields 500, connection usable") {
        REQUIRE(c.send(get("/drop")));
        auto r = c.read_response();
        REQUIRE(r);
        CHECK(r->status == 500);
    }
    SECTION("a second answer is ignored") {
        REQUIRE(c.send(get("/twice")));
        auto r = c.read_response();
        REQUIRE(r);
        CHECK(r->status == 201);
        CHECK(r->body == "first");
    }
    SECTION("a throwing handler yields 500") {
        REQUIRE(c.send(get("/throw")));
        auto r = c.read_response();
        REQUIRE(r);
        CHECK(r->status == 500);
        CHECK(r->body.find("handler failure") == std::string::npos);  // no internals leak
    }
    SECTION("handler headers: invalid and server-owned ones are dropped") {
        REQUIRE(c.send(get("/headers")));
        auto r = c.read_response();
        REQUIRE(r);
        CHECK(r->header("x-good") == "yes");
        CHECK(r->header("retry-after") == "1");
        CHECK(r->headers.count("x-bad") == 0);
        CHECK(r->headers.count("injected") == 0);
        CHECK(r->header("content-length") == "1");
        CHECK(r->header("connection").empty());
        CHECK(r->body == "h");
    }
    // Whatever happened above, the same connection still serves the next request.
    REQUIRE(c.send(get("/next")));
    auto next = c.read_response();
    REQUIRE(next);
    CHECK(next->status == 200);
    CHECK(next->body == "GET /next ");
    CHECK(eventually([&] { return f.srv().stats().in_flight == 0; }));
}

TEST_CASE("server: chunked bodies", "[server]") {
    server_fixture f;
    SECTION("a complete chunked body is de-chunked") {
        conn c(f.port());
        REQUIRE(c.send("POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
        auto r = c.read_response();
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK(r->body == "POST /c hello world");
    }
    SECTION("a chunked body without its last chunk is cut off at the read deadline") {
        conn c(f.port());
        REQUIRE(c.send("POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"));
        std::string data;
        read_end end{};
        const auto elapsed = timed([&] { end = c.read_until_close(3000ms, &data); });
        CHECK((end == read_end::closed || end == read_end::reset));
        CHECK(data.find("200") == std::string::npos);
        CHECK(elapsed >= 250ms);
        CHECK(elapsed < 2000ms);
        f.check_alive();
    }
    SECTION("a chunked body over max_body_bytes gets 413") {
        conn c(f.port());
        const std::string chunk(800, 'x');
        REQUIRE(c.send("POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n320\r\n" + chunk + "\r\n320\r\n" + chunk +
                       "\r\n0\r\n\r\n"));
        check_rejected(c, 413);
        f.check_alive();
    }
    SECTION("a malformed chunk gets 400") {
        conn c(f.port());
        REQUIRE(c.send("POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"));
        check_rejected(c, 400);
        f.check_alive();
    }
}

TEST_CASE("server: A11 strict framing, each rejected with its status and the connection closed", "[server][a11]") {
    struct bad_case {
        const char* name;
        std::string bytes;
        unsigned status;
    };
    const std::string big_field = "X-Big: " + std::string(1100, 'b') + "\r\n";
    const std::string long_target = "/" + std::string(1100, 't');
    const auto c = GENERATE_COPY(values<bad_case>({
        {"Content-Length and Transfer-Encoding",
         "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
        {"Transfer-Encoding and Content-Length",
         "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400},
        {"two equal Content-Length", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}", 400},
        {"two different Content-Length", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400},
        {"Content-Length list", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2, 2\r\n\r\n{}", 400},
        {"non-numeric Content-Length", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n", 400},
        {"negative Content-Length", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", 400},
        {"signed Content-Length", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +2\r\n\r\n{}", 400},
        {"bare LF line endings", "GET / HTTP/1.1\nHost: t\n\n", 400},
        {"one bare LF", "GET / HTTP/1.1\r\nHost: t\nX: y\r\n\r\n", 400},
        {"bare CR", "GET / HTTP/1.1\r\nHost: t\rX: y\r\n\r\n", 400},
        {"obsolete line folding", "GET / HTTP/1.1\r\nHost: t\r\nX-A: a\r\n b\r\n\r\n", 400},
        {"whitespace before the request line", " GET / HTTP/1.1\r\nHost: t\r\n\r\n", 400},
        {"garbage request line", "HELLO\r\n\r\n", 400},
        {"space before colon", "GET / HTTP/1.1\r\nHost : t\r\n\r\n", 400},
        {"control character in a value", std::string("GET / HTTP/1.1\r\nHost: t\r\nX: a\x01" "b\r\n\r\n"), 400},
        {"HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", 400},
        {"two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
        {"unknown transfer coding", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
        {"Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
        {"unknown expectation", "POST / HTTP/1.1\r\nHost: t\r\nExpect: teapot\r\nContent-Length: 2\r\n\r\n{}", 417},
        {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
        {"HTTP/1.2", "GET / HTTP/1.2\r\nHost: t\r\n\r\n", 505},
        {"header block over max_header_bytes", "GET / HTTP/1.1\r\nHost: t\r\n" + big_field + "\r\n", 431},
        {"request target over the limit", "GET " + long_target + " HTTP/1.1\r\nHost: t\r\n\r\n", 414},
        {"declared body over max_body_bytes (body never sent)", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n", 413},
    }));
    INFO(c.name);
    server_fixture f;
    conn cl(f.port());
    REQUIRE(cl.connected());
    REQUIRE(cl.send(c.bytes));
    // Decided on the bytes, not by a deadline: the answer comes well before read_timeout.
    const auto elapsed = timed([&] { check_rejected(cl, c.status); });
    CHECK(elapsed < 1500ms);
    CHECK(f.srv().stats().bad_requests == 1);
    CHECK(f.srv().stats().requests == 0);  // never reached the handler
    f.check_alive();
}

TEST_CASE("server: 413 for a declared oversize body comes before any body byte is sent", "[server][a11]") {
    server_fixture f;
    conn c(f.port());
    REQUIRE(c.send("POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 1025\r\n\r\n"));
    auto r = c.read_response(250ms);  // shorter than read_timeout: not waiting for the body
    REQUIRE(r);
    CHECK(r->status == 413);
}

TEST_CASE("server: a body exactly at max_body_bytes is accepted", "[server]") {
    server_fixture f;
    conn c(f.port());
    const std::string body(1024, 'a');
    REQUIRE(c.send(post("/max", body)));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "POST /max " + body);
}

TEST_CASE("server: Expect: 100-continue gets an interim answer before the body", "[server]") {
    server_fixture f;
    conn c(f.port());
    REQUIRE(c.send("POST /e HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"));
    auto interim = c.read_response();
    REQUIRE(interim);
    CHECK(interim->status == 100);
    REQUIRE(c.send("{}"));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "POST /e {}");
}

TEST_CASE("server: deadlines cut slow and idle peers without affecting others", "[server][deadline]") {
    server_fixture f;  // read_timeout 300 ms, idle_timeout 500 ms

    SECTION("slow-loris on the header: closed at read_timeout from the first byte") {
        conn slow(f.port());
        conn other(f.port());
        REQUIRE(slow.send("GET / HTTP/1.1\r\n"));
        const std::string trickle = "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        read_end end = read_end::timeout;
        std::size_t sent = 0;
        bool served_other = false;
        const auto elapsed = timed([&] {
            for (; sent < trickle.size() && end == read_end::timeout; ++sent) {
                if (!slow.send(trickle.substr(sent, 1))) {
                    end = read_end::reset;
                    break;
                }
                end = slow.read_until_close(40ms);
                if (sent == 2) {  // meanwhile, another connection is served normally
                    REQUIRE(other.send(get("/other")));
                    auto r = other.read_response();
                    served_other = r && r->status == 200;
                }
            }
        });
        CHECK(served_other);
        CHECK(end != read_end::timeout);
        CHECK(eventually([&] { return f.srv().stats().timeouts == 1; }));
        CHECK(elapsed >= 250ms);
        CHECK(elapsed < 1500ms);
        CHECK(sent < trickle.size());
    }
    SECTION("slow body: closed at read_timeout") {
        conn slow(f.port());
        REQUIRE(slow.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n"));
        read_end end = read_end::timeout;
        const auto elapsed = timed([&] {
            for (int i = 0; i < 100 && end == read_end::timeout; ++i) {
                if (!slow.send("x")) break;
                end = slow.read_until_close(40ms);
            }
        });
        CHECK(end != read_end::timeout);
        CHECK(eventually([&] { return f.srv().stats().timeouts == 1; }));
        CHECK(elapsed >= 250ms);
        CHECK(elapsed < 1500ms);
    }
    SECTION("a connection that never sends is closed at read_timeout") {
        conn silent(f.port());
        read_end end{};
        const auto elapsed = timed([&] { end = silent.read_until_close(3000ms); });
        CHECK((end == read_end::closed || end == read_end::reset));
        CHECK(elapsed >= 250ms);
        CHECK(elapsed < 1500ms);
        CHECK(eventually([&] { return f.srv().stats().timeouts == 1; }));
    }
    SECTION("an idle keep-alive connection is closed at idle_timeout") {
        conn idle(f.port());
        REQUIRE(idle.send(get("/first")));
        REQUIRE(idle.read_response());
        read_end end{};
        const auto elapsed = timed([&] { end = idle.read_until_close(3000ms); });
        CHECK(end == read_end::closed);
        CHECK(elapsed >= 400ms);
        CHECK(elapsed < 2000ms);
        CHECK(eventually([&] { return f.srv().stats().timeouts == 1; }));
    }
    SECTION("a keep-alive connection that keeps sending requests is not cut by read_timeout") {
        conn busy(f.port());
        for (int i = 0; i < 6; ++i) {
            REQUIRE(busy.send(get("/again")));
            auto r = busy.read_response();
            REQUIRE(r);
            CHECK(r->status == 200);
            std::this_thread::sleep_for(100ms);  // 600 ms in total, over read_timeout, under idle
        }
        CHECK(f.srv().stats().timeouts == 0);
    }
    f.check_alive();
    CHECK(eventually([&] { return f.srv().stats().connections == 0; }));
}

TEST_CASE("server: over max_connections, new connections are closed at once, existing ones keep working",
          "[server][limits]") {
    auto lim = test_limits();
    lim.max_connections = 3;
    lim.read_timeout = 5000ms;  // a closure within a second below is the limit, not a deadline
    lim.idle_timeout = 5000ms;
    server_fixture f(lim);

    std::vector<std::unique_ptr<conn>> open;
    for (int i = 0; i < 3; ++i) {
        open.push_back(std::make_unique<conn>(f.port()));
        REQUIRE(open.back()->send(get("/hello")));
        REQUIRE(open.back()->read_response());
    }
    REQUIRE(f.srv().stats().connections == 3);

    conn extra(f.port());
    read_end end{};
    const auto elapsed = timed([&] {
        if (extra.connected()) end = extra.read_until_close(3000ms);
        else end = read_end::reset;
    });
    CHECK((end == read_end::closed || end == read_end::reset));
    CHECK(elapsed < 1000ms);
    CHECK(f.srv().stats().rejected_connections >= 1);

    REQUIRE(open[0]->send(get("/still")));
    auto r = open[0]->read_response();
    REQUIRE(r);
    CHECK(r->status == 200);

    open.pop_back();  // a slot frees up
    REQUIRE(eventually([&] { return f.srv().stats().connections == 2; }));
    f.check_alive();
}

TEST_CASE("server: drain closes idle connections, finishes in-flight ones, refuses new ones", "[server][drain]") {
    auto lim = test_limits();
    lim.idle_timeout = 5000ms;  // closures below come from the drain, not from idleness
    lim.read_timeout = 5000ms;
    server_fixture f(lim);

    conn idle(f.port());
    REQUIRE(idle.send(get("/first")));
    REQUIRE(idle.read_response());

    conn busy(f.port());
    REQUIRE(busy.send(get("/slow?ms=400")));
    // Both requests read (the first one's write may still be completing): only /slow in flight.
    REQUIRE(eventually([&] {
        const auto st = f.srv().stats();
        return st.requests == 2 && st.in_flight == 1;
    }));

    f.srv().drain();
    CHECK(f.srv().draining());

    read_end idle_end{};
    const auto idle_elapsed = timed([&] { idle_end = idle.read_until_close(3000ms); });
    CHECK(idle_end == read_end::closed);
    CHECK(idle_elapsed < 1000ms);

    CHECK(eventually([&] {
        conn late(f.port(), nullptr, 500ms);
        return !late.connected() || late.read_until_close(500ms) != read_end::timeout;
    }));

    CHECK(f.srv().wait_drained(3000ms));
    auto r = busy.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "slow");
    CHECK(r->header("connection") == "close");
    CHECK(busy.read_until_close(2000ms) == read_end::closed);
    CHECK(f.srv().stats().in_flight == 0);
}

TEST_CASE("server: waiting for the drain respects its deadline", "[server][drain]") {
    server_fixture f;
    conn held(f.port());
    REQUIRE(held.send(get("/hold")));
    REQUIRE(eventually([&] { return f.held_count() == 1; }));
    f.srv().drain();

    CHECK_FALSE(f.srv().wait_drained(150ms));

    std::promise<bool> first;
    f.srv().async_wait_drained(100ms, [&](bool drained) { first.set_value(drained); });
    auto first_result = first.get_future();
    REQUIRE(first_result.wait_for(2s) == std::future_status::ready);
    CHECK_FALSE(first_result.get());

    std::promise<bool> second;
    f.srv().async_wait_drained(3000ms, [&](bool drained) { second.set_value(drained); });
    f.release_held();
    auto second_result = second.get_future();
    REQUIRE(second_result.wait_for(3s) == std::future_status::ready);
    CHECK(second_result.get());
    CHECK(f.srv().wait_drained(1000ms));

    auto r = held.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->header("connection") == "close");
}

TEST_CASE("server: async_wait_drained with nothing in flight completes at once", "[server][drain]") {
    server_fixture f;
    std::promise<bool> p;
    f.srv().async_wait_drained(5000ms, [&](bool drained) { p.set_value(drained); });
    auto fut = p.get_future();
    REQUIRE(fut.wait_for(1s) == std::future_status::ready);
    CHECK(fut.get());
}

TEST_CASE("server: stop closes every connection", "[server]") {
    auto lim = test_limits();
    lim.idle_timeout = 5000ms;
    server_fixture f(lim);
    conn c(f.port());
    REQUIRE(c.send(get("/x")));
    REQUIRE(c.read_response());
    f.srv().stop();
    read_end end{};
    const auto elapsed = timed([&] { end = c.read_until_close(3000ms); });
    CHECK((end == read_end::closed || end == read_end::reset));
    CHECK(elapsed < 1000ms);
    CHECK(eventually([&] { return f.srv().stats().connections == 0; }));
}

TEST_CASE("server: start reports a port already in use, empty address listens on all interfaces", "[server]") {
    server_fixture f;
    test::io_runner io(1);
    http::server_config cfg;
    cfg.address = "127.0.0.1";
    cfg.port = f.port();
    http::server clash(io.ioc(), cfg, [](http::request&&, http::responder r) { r(http::response{}); });
    auto s = clash.start();
    REQUIRE_FALSE(s.ok());
    CHECK(s.code() == "listen_failed");
    CHECK(s.err().message.find(std::to_string(f.port())) != std::string::npos);

    http::server_config any;
    any.address = "";
    any.port = 0;
    http::server wide(io.ioc(), any, [](http::request&&, http::responder r) { r(http::response{200, "text/plain", "any", {}}); });
    REQUIRE(wide.start().ok());
    auto r = request_once(wide.port(), get("/"));
    REQUIRE(r);
    CHECK(r->body == "any");

    http::server_config named;
    named.address = "localhost";
    http::server by_name(io.ioc(), named, [](http::request&&, http::responder reply) { reply(http::response{}); });
    CHECK(by_name.start().ok());
}
