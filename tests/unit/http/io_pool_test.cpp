// io_pool (one thread per io_context) and http::server spreading connections over it.

#include "http/io_pool.hpp"
#include "http/server.hpp"
#include "server_fixture.hpp"
#include "support/io_pool_runner.hpp"
#include "test_support.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <catch2/catch.hpp>

#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace stsauth;
using namespace stsauth::test;

namespace {

struct where {
    std::thread::id thread;
    std::size_t index = http::io_pool::npos;
};

/// Runs `f` on context `i` and waits for it (bounded).
where run_on(http::io_pool& pool, std::size_t i) {
    auto p = std::make_shared<std::promise<where>>();
    auto f = p->get_future();
    boost::asio::post(pool.at(i), [p, &pool] { p->set_value({std::this_thread::get_id(), pool.current_index()}); });
    REQUIRE(f.wait_for(5s) == std::future_status::ready);
    return f.get();
}

}  // namespace

TEST_CASE("io_pool: one thread per context, current_index names it, next() goes round-robin", "[io_pool]") {
    CHECK_THROWS_AS(http::io_pool(0), std::invalid_argument);

    io_pool_runner rp(3);
    auto& pool = rp.pool;
    REQUIRE(pool.size() == 3);
    CHECK(pool.current_index() == http::io_pool::npos);  // the test thread runs none of them

    std::set<std::thread::id> threads;
    for (std::size_t i = 0; i < pool.size(); ++i) {
        const auto w = run_on(pool, i);
        CHECK(w.index == i);
        CHECK(w.thread != std::this_thread::get_id());
        threads.insert(w.thread);
        CHECK(run_on(pool, i).thread == w.thread);  // always the same thread for one context
    }
    CHECK(threads.size() == 3);

    // Another pool's threads are not this pool's.
    io_pool_runner other(1);
    auto p = std::make_shared<std::promise<std::size_t>>();
    auto f = p->get_future();
    boost::asio::post(other.pool.at(0), [p, &pool] { p->set_value(pool.current_index()); });
    REQUIRE(f.wait_for(5s) == std::future_status::ready);
    CHECK(f.get() == http::io_pool::npos);

    std::set<boost::asio::io_context*> seen;
    for (int i = 0; i < 6; ++i) seen.insert(&pool.next());
    CHECK(seen.size() == 3);
}

TEST_CASE("io_pool: an idle context keeps running until stop(), which ends run()", "[io_pool]") {
    http::io_pool pool(2);
    std::promise<void> ended;
    auto ended_f = ended.get_future();
    std::thread runner([&] {
        pool.run();
        ended.set_value();
    });
    std::this_thread::sleep_for(50ms);  // nothing to do meanwhile: run() must not return
    CHECK(ended_f.wait_for(0ms) == std::future_status::timeout);
    CHECK(run_on(pool, 1).index == 1);  // work posted later still runs
    pool.stop();
    CHECK(ended_f.wait_for(5s) == std::future_status::ready);
    runner.join();
}

TEST_CASE("io_pool: pending handlers owning I/O objects of several contexts are released safely", "[io_pool]") {
    // As an STS client's lanes: one object, a timer on each context, owned by handlers queued on
    // both. Its last owner goes with context 1's queue; context 0 must still exist then (the
    // sanitizer build sees any use of a freed service).
    struct on_both {
        explicit on_both(http::io_pool& p) : a(p.at(0)), b(p.at(1)) {}
        boost::asio::steady_timer a, b;
    };
    for (int order = 0; order < 2; ++order) {
        http::io_pool pool(2);
        auto obj = std::make_shared<on_both>(pool);
        obj->a.expires_after(1h);
        obj->a.async_wait([obj](const boost::system::error_code&) {});  // never runs
        boost::asio::post(pool.at(order), [obj] {});
        boost::asio::post(pool.at(1 - order), [obj] {});
        obj.reset();
    }
    SUCCEED("no use of a destroyed context");
}

TEST_CASE("server on an io_pool: connections spread over the contexts, each served by one thread", "[io_pool][server]") {
    io_pool_runner rp(2);
    std::mutex mu;
    std::map<std::string, std::set<std::size_t>> contexts_of;  // connection -> contexts its requests ran on
    http::server_config cfg;
    cfg.limits = test_limits();
    cfg.name = "pool";
    http::server srv(rp.pool, cfg, [&](http::request&& req, http::responder reply) {
        const auto path = std::string(req.path());
        {
            std::lock_guard lock(mu);
            contexts_of[path.substr(0, path.find('/', 1))].insert(rp.pool.current_index());
        }
        reply(http::text_response(200, "ok"));
    });
    REQUIRE(srv.start().ok());

    constexpr int connections = 4, requests = 3;
    std::vector<std::unique_ptr<conn>> conns;
    for (int c = 0; c < connections; ++c) {
        conns.push_back(std::make_unique<conn>(srv.port()));
        REQUIRE(conns.back()->connected());
    }
    for (int r = 0; r < requests; ++r) {
        for (int c = 0; c < connections; ++c) {
            REQUIRE(conns[c]->send(get("/c" + std::to_string(c) + "/" + std::to_string(r))));
            auto resp = conns[c]->read_response();
            REQUIRE(resp);
            CHECK(resp->status == 200);
        }
    }
    std::set<std::size_t> all;
    {
        std::lock_guard lock(mu);
        REQUIRE(contexts_of.size() == connections);
        for (const auto& [name, ctxs] : contexts_of) {
            INFO(name);
            CHECK(ctxs.size() == 1);  // a connection never moves
            CHECK(*ctxs.begin() != http::io_pool::npos);
            all.insert(ctxs.begin(), ctxs.end());
        }
    }
    CHECK(all == std::set<std::size_t>{0, 1});  // round-robin: both contexts serve
    CHECK(srv.stats().requests == connections * requests);

    // Drain works across contexts: idle keep-alive connections on both are closed.
    srv.drain();
    CHECK(srv.wait_drained(5s));
    for (auto& c : conns) CHECK(c->read_until_close(3000ms) != read_end::timeout);
    CHECK(eventually([&] { return srv.stats().connections == 0; }));
}
