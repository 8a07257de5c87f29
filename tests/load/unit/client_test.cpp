// Unit tests of the load client's clock and of a run against a local TLS server: the rate mode's
// schedule (what is due when, how long the timer sleeps), that a coarse tick still sends every
// request and counts its lag, and that an answer that never comes ends as a timeout.

#include "client.hpp"

#include "sts/test_tls_server.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <string>

using namespace stsauth;
using namespace std::chrono_literals;
using sts::testing::reply;
using sts::testing::test_tls_server;

namespace {

/// The test CA in a file (run_options takes a path), removed with its directory at the end.
struct ca_file {
    explicit ca_file(const std::string& pem) { std::ofstream(path) << pem; }
    test::temp_dir dir{"stsauth-load-ca"};
    std::filesystem::path path = dir.path / "ca.pem";
};

load::run_options options_for(const test_tls_server& server, const ca_file& ca) {
    load::run_options o;
    o.port = server.port();
    o.server_name = "localhost";
    o.ca_file = ca.path.string();
    o.kind = load::request_kind::get;
    o.path = "/healthz";
    o.connections = 4;
    o.request_timeout = o.connect_timeout = 5000ms;
    return o;
}

}  // namespace

TEST_CASE("rate_clock: request i is due at i / rate, and due_by counts exactly those due") {
    const load::rate_clock c{3000, 1000, 0us};
    CHECK(c.due_at(0) == 0ns);
    CHECK(c.due_at(3) == 1ms);
    CHECK(c.due_at(2999) < 1s);
    CHECK(c.due_by(-1ns) == 0);
    CHECK(c.due_by(0ns) == 1);        // request 0 at once
    CHECK(c.due_by(1ms) == 4);        // 0, 1, 2 and 3 (due exactly at 1 ms)
    CHECK(c.due_by(1ms - 1ns) == 3);
    CHECK(c.due_by(1h) == 1000);      // never more than the run has
    // Consistent with due_at at every instant around each due time, whatever the rounding.
    for (std::uint64_t i = 0; i < 1000; i += 7) {
        CHECK(c.due_by(c.due_at(i)) >= i + 1);
        CHECK(c.due_by(c.due_at(i) - 1ns) <= i);
    }
}

TEST_CASE("rate_clock: the timer sleeps until the next due request, but at least one tick") {
    const load::rate_clock fine{20000, 100000, 0us};  // 50 us apart
    CHECK(fine.next_wake(10, fine.due_at(9)) == fine.due_at(10));
    const load::rate_clock coarse{20000, 100000, 200us};
    CHECK(coarse.next_wake(10, coarse.due_at(9)) == coarse.due_at(9) + 200us);
    // A late client (the next request already overdue) still waits one tick before the timer
    // fires again: what fell due goes out at this wakeup, not in a busy loop of timers.
    CHECK(coarse.next_wake(10, coarse.due_at(40)) == coarse.due_at(40) + 200us);
    // Far apart requests: the due time wins over the tick.
    const load::rate_clock slow{10, 100, 200us};
    CHECK(slow.next_wake(5, slow.due_at(4)) == slow.due_at(5));
}

TEST_CASE("run: the rate mode sends every request on a coarse tick and counts the lag") {
    const auto pki = sts::testing::make_test_pki({"localhost"});
    test_tls_server server(pki, [](const sts::testing::received_request&) {
        reply r;
        r.body = "ok";
        return r;
    });
    const ca_file ca(pki.ca_pem);
    auto o = options_for(server, ca);
    o.mode = load::run_mode::rate;
    o.rate = 400;
    o.duration = 500ms;
    o.tick = 50ms;  // eight wakeups' worth of requests each time at most
    const auto report = load::run_load(o);
    REQUIRE(report);
    CHECK(report->sent == 200);
    CHECK(report->completed == 200);
    CHECK(report->error_count() == 0);
    CHECK(report->statuses.at(200) == 200);
    // With a 50 ms tick some requests wait for it: that wait is in their latency, not lost.
    CHECK(load::run_report::percentile_ms(report->send_lag_us, 100) >= 10.0);
    CHECK(report->percentile_ms(100) >= load::run_report::percentile_ms(report->send_lag_us, 100));
    CHECK(report->cpu_s > 0);
    // Seconds, not the kernel's nanoseconds: at most the run's length per thread (one here).
    CHECK(report->runq_s >= 0);
    CHECK(report->runq_s <= report->elapsed_s + 0.5);
}

TEST_CASE("run: an answer that never comes is a timeout, found by the watchdog") {
    const auto pki = sts::testing::make_test_pki({"localhost"});
    test_tls_server server(pki, [](const sts::testing::received_request&) {
        reply r;
        r.act = reply::action::hang;
        return r;
    });
    const ca_file ca(pki.ca_pem);
    auto o = options_for(server, ca);
    o.mode = load::run_mode::rate;
    o.rate = 20;
    o.duration = 100ms;  // two requests
    o.connections = 2;
    o.request_timeout = o.connect_timeout = 300ms;
    const auto started = std::chrono::steady_clock::now();
    const auto report = load::run_load(o);
    REQUIRE(report);
    CHECK(report->sent == 2);
    CHECK(report->completed == 0);
    CHECK(report->errors.count("timeout") == 1);
    CHECK(report->errors.at("timeout") == 2);
    // Found within the timeout plus a watchdog period or so, not at the hard stop seconds later.
    CHECK(std::chrono::steady_clock::now() - started < 1500ms);
}
