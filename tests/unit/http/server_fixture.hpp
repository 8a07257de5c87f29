#pragma once
// A server on 127.0.0.1:0 driven by two io threads, with a test handler exercising every way a
// handler can answer.

#include "http/server.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <mutex>
#include <stdexcept>
#include <thread>

namespace stsauth::test {

/// Polls `pred` every 5 ms until true or `limit` passes.
template <class Pred>
bool eventually(Pred pred, ms limit = 2000ms) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (pred()) return true;
        std::this_thread::sleep_for(5ms);
    }
    return pred();
}

/// Small limits so that every deadline test stays well under a second.
inline http::limits test_limits() {
    http::limits l;
    l.max_body_bytes = 1024;
    l.max_header_bytes = 1024;
    l.max_connections = 64;
    l.read_timeout = 300ms;
    l.idle_timeout = 500ms;
    l.write_timeout = 2000ms;
    l.linger_timeout = 300ms;
    return l;
}

/// Routes:
///   /slow?ms=N  answered from another thread after N ms
///   /thread     answered from another thread at once
///   /hold       responder kept until release_held()
///   /drop       responder dropped (server must answer 500)
///   /twice      answered twice (201 wins)
///   /throw      handler throws (500)
///   /headers    extra headers, some invalid or server-owned (dropped)
///   /fields     200, body: every request field as "name=value\n" in received order, then the body
///   /stale-ssl-error  200 "stale", leaving an error on the I/O thread's OpenSSL error queue
///   anything else: 200 "METHOD PATH BODY", X-Target = target, X-Foo = request header Foo
class server_fixture {
public:
    explicit server_fixture(http::limits lim = test_limits(), std::shared_ptr<const http::tls_context_holder> tls = nullptr) {
        http::server_config cfg;
        cfg.address = "127.0.0.1";
        cfg.port = 0;
        cfg.tls = std::move(tls);
        cfg.limits = lim;
        cfg.name = "test";
        srv_ = std::make_unique<http::server>(io_.ioc(), cfg, [this](http::request&& req, http::responder reply) {
            handle(std::move(req), std::move(reply));
        });
        auto s = srv_->start();
        INFO((s.ok() ? std::string() : s.err().message));
        REQUIRE(s.ok());
        REQUIRE(srv_->port() != 0);
    }

    ~server_fixture() {
        srv_.reset();
        release_held();
        while (true) {
            std::vector<std::thread> running;
            {
                std::lock_guard lock(mu_);
                running.swap(threads_);
            }
            if (running.empty()) break;
            for (auto& t : running) t.join();
        }
    }

    http::server& srv() { return *srv_; }
    std::uint16_t port() { return srv_->port(); }

    void release_held() {
        std::vector<http::responder> held;
        {
            std::lock_guard lock(mu_);
            held.swap(held_);
        }
        for (auto& r : held) r(http::text_response(200, "released"));
    }
    std::size_t held_count() {
        std::lock_guard lock(mu_);
        return held_.size();
    }

    /// A fresh connection still gets served (the "others unaffected" half of every limit test).
    void check_alive(const tls_client_options* tls = nullptr) {
        auto r = request_once(port(), get("/alive"), tls);
        REQUIRE(r);
        CHECK(r->status == 200);
        CHECK(r->body == "GET /alive ");
    }

private:
    void spawn(std::function<void()> f) {
        std::lock_guard lock(mu_);
        threads_.emplace_back(std::move(f));
    }

    void handle(http::request&& req, http::responder reply) {
        const std::string path(req.path());
        if (path == "/slow") {
            const auto q = req.target.find("ms=");
            const int delay = q == std::string::npos ? 50 : std::stoi(req.target.substr(q + 3));
            spawn([reply = std::move(reply), delay] {
                std::this_thread::sleep_for(ms(delay));
                reply(http::response{200, "text/plain", "slow", {}});
            });
        } else if (path == "/thread") {
            spawn([reply = std::move(reply)] { reply(http::response{200, "text/plain", "from a thread", {}}); });
        } else if (path == "/hold") {
            std::lock_guard lock(mu_);
            held_.push_back(std::move(reply));
        } else if (path == "/drop") {
            // the responder goes out of scope unanswered
        } else if (path == "/twice") {
            reply(http::response{201, "text/plain", "first", {}});
            reply(http::response{202, "text/plain", "second", {}});
        } else if (path == "/throw") {
            throw std::runtime_error("handler failure");
        } else if (path == "/headers") {
            http::response r{200, "text/plain", "h", {}};
            r.headers = {{"X-Good", "yes"}, {"X-Bad", "a\r\nInjected: 1"}, {"Bad Name", "v"}, {"Content-Length", "999"},
                         {"Connection", "upgrade"}, {"Retry-After", "1"}};
            reply(std::move(r));
        } else if (path == "/stale-ssl-error") {
            // Leaves an OpenSSL error on this I/O thread's queue, as a careless library call
            // would: the TLS I/O that follows on the thread must not mistake it for its own.
            ERR_raise(ERR_LIB_SSL, SSL_R_BAD_LENGTH);
            reply(http::response{200, "text/plain", "stale", {}});
        } else if (path == "/fields") {
            std::string text;
            for (const auto& [name, value] : req.headers) {
                text.append(name);
                text += '=';
                text.append(value);
                text += '\n';
            }
            text += req.body;
            reply(http::response{200, "text/plain", std::move(text), {}});
        } else {
            http::response r{200, "text/plain; charset=utf-8", req.method + " " + path + " " + req.body, {}};
            r.headers.emplace_back("X-Target", req.target);
            if (auto foo = req.header("foo")) r.headers.emplace_back("X-Foo", std::string(*foo));
            r.headers.emplace_back("X-Remote-Set", req.remote.empty() ? "no" : "yes");
            reply(std::move(r));
        }
    }

    io_runner io_;  // destroyed last: threads and held responders post into it
    std::mutex mu_;
    std::vector<std::thread> threads_;
    std::vector<http::responder> held_;
    std::unique_ptr<http::server> srv_;
};

}  // namespace stsauth::test
