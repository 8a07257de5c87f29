#include "log_sink.hpp"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

struct pipe_fds {
    int r = -1, w = -1;
    pipe_fds() {
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        r = fds[0];
        w = fds[1];
        REQUIRE(::fcntl(r, F_SETFL, O_NONBLOCK) == 0);
    }
    ~pipe_fds() {
        ::close(r);
        ::close(w);
    }
    std::string read_available() const {
        std::string out;
        char buf[65536];
        for (;;) {
            const auto n = ::read(r, buf, sizeof buf);
            if (n <= 0) break;
            out.append(buf, static_cast<std::size_t>(n));
        }
        return out;
    }
};

std::shared_ptr<spdlog::logger> make_logger(std::shared_ptr<stsauth::server::batching_fd_sink> sink) {
    auto logger = std::make_shared<spdlog::logger>("test", std::move(sink));
    logger->set_formatter(std::make_unique<spdlog::pattern_formatter>("%l %v"));
    logger->set_level(spdlog::level::trace);
    return logger;
}

}  // namespace

TEST_CASE("log sink: every line arrives, in order per thread, by the time the sink is destroyed", "[log_sink]") {
    pipe_fds p;
    std::string out;
    {
        auto logger = make_logger(std::make_shared<stsauth::server::batching_fd_sink>(p.w, 200us));
        std::vector<std::thread> threads;
        for (int t = 0; t < 2; ++t) {
            threads.emplace_back([&logger, t] {
                for (int i = 0; i < 200; ++i) logger->info("t{} line {}", t, i);
            });
        }
        // Drain the pipe meanwhile so the writer never blocks on a full pipe.
        for (auto& th : threads) th.join();
        out += p.read_available();
    }
    out += p.read_available();
    for (int t = 0; t < 2; ++t) {
        std::size_t pos = 0;
        for (int i = 0; i < 200; ++i) {
            const std::string line = "info t" + std::to_string(t) + " line " + std::to_string(i) + "\n";
            const auto at = out.find(line, pos);
            INFO(line);
            REQUIRE(at != std::string::npos);
            pos = at + line.size();
        }
    }
}

TEST_CASE("log sink: info lines are batched off the caller, errors and flushes are written at once", "[log_sink]") {
    pipe_fds p;
    auto sink = std::make_shared<stsauth::server::batching_fd_sink>(p.w, 60s);  // the writer waits a minute
    auto logger = make_logger(sink);
    logger->info("first");
    std::this_thread::sleep_for(50ms);
    CHECK(p.read_available().empty());  // still gathering: not written on the caller's thread
    logger->error("boom");
    CHECK(p.read_available() == "info first\nerror boom\n");  // in order, before error() returned
    logger->warn("then");
    logger->flush();
    CHECK(p.read_available() == "warning then\n");
}

TEST_CASE("log sink: a stuck output drops lines and says how many, instead of growing", "[log_sink]") {
    pipe_fds p;
    auto sink = std::make_shared<stsauth::server::batching_fd_sink>(p.w, 60s, 64);
    auto logger = make_logger(sink);
    for (int i = 0; i < 20; ++i) logger->info("line number {}", i);  // ~20 bytes each: 4 fit
    CHECK(sink->dropped() == 16);
    logger->flush();
    CHECK(p.read_available() == "info line number 0\ninfo line number 1\ninfo line number 2\ninfo line number 3\n");
    logger->info("after");
    logger->flush();
    CHECK(p.read_available() == "[log] 16 lines dropped: the log output did not keep up\ninfo after\n");
}

namespace {

/// Reads the pipe until `text` has arrived or `limit` passed; returns how long it took.
std::chrono::milliseconds wait_for_text(const pipe_fds& p, std::string& seen, const std::string& text,
                                        std::chrono::milliseconds limit) {
    const auto t0 = std::chrono::steady_clock::now();
    while (seen.find(text) == std::string::npos && std::chrono::steady_clock::now() - t0 < limit) {
        seen += p.read_available();
        std::this_thread::sleep_for(1ms);
    }
    seen += p.read_available();
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
}

}  // namespace

TEST_CASE("log sink: under sustained logging the writer gathers lines for the busy window", "[log_sink]") {
    pipe_fds p;
    std::string seen;
    std::size_t batches = 0;
    {
        // Short window 1 ms, busy window 200 ms from 500 lines/s on.
        auto sink = std::make_shared<stsauth::server::batching_fd_sink>(p.w, 1ms, 8U << 20U, 200ms, 500);
        auto logger = make_logger(sink);
        // 750 bursts of 20 lines 2 ms apart: >= 500 lines/s even if each sleep takes 10x longer.
        // With the 1 ms window alone every burst would be its own write (~750 batches); busy
        // mode starts after the first 100 ms period (~50 batches).
        for (int burst = 0; burst < 750; ++burst) {
            for (int i = 0; i < 20; ++i) logger->info("b{} l{}", burst, i);
            std::this_thread::sleep_for(2ms);
            seen += p.read_available();  // keep the pipe from filling up
        }
        batches = sink->batches();
    }
    seen += p.read_available();
    CHECK(seen.find("info b0 l0\n") != std::string::npos);
    CHECK(seen.find("info b749 l19\n") != std::string::npos);
    CHECK(std::count(seen.begin(), seen.end(), '\n') == 15000);
    CHECK(batches >= 2);
    CHECK(batches < 150);  // >= 1.5 s of bursts: the first 100 ms short, then 200 ms windows
}

TEST_CASE("log sink: lines one at a time close together keep the short window", "[log_sink]") {
    pipe_fds p;
    std::string seen;
    // Busy window 10 s: a line written in the busy mode would take ten seconds.
    auto sink = std::make_shared<stsauth::server::batching_fd_sink>(p.w, 1ms, 8U << 20U, 10s, 2000);
    auto logger = make_logger(sink);
    // 50 lines, each as soon as the previous one is out: a few hundred a second at most.
    for (int i = 0; i < 50; ++i) {
        logger->info("one {}", i);
        CHECK(wait_for_text(p, seen, "info one " + std::to_string(i) + "\n", 20s) < 5s);
    }
}

TEST_CASE("log sink: after a quiet spell a line is written within the short window again", "[log_sink]") {
    pipe_fds p;
    std::string seen;
    // Busy window 1 s from 100 lines/s on: a line written in the busy mode would take a second.
    auto sink = std::make_shared<stsauth::server::batching_fd_sink>(p.w, 1ms, 8U << 20U, 1s, 100);
    auto logger = make_logger(sink);
    // Busy for longer than the busy window, so the last batch too comes at a busy rate.
    int bursts = 0;
    for (const auto t0 = std::chrono::steady_clock::now(); std::chrono::steady_clock::now() - t0 < 1300ms; ++bursts) {
        for (int i = 0; i < 20; ++i) logger->info("busy {} {}", bursts, i);
        std::this_thread::sleep_for(2ms);
        seen += p.read_available();
    }
    const auto last = "info busy " + std::to_string(bursts - 1) + " 19\n";
    wait_for_text(p, seen, last, 5s);
    REQUIRE(seen.find(last) != std::string::npos);
    std::this_thread::sleep_for(1200ms);  // quiet for longer than the busy window
    logger->info("after the quiet spell");
    CHECK(wait_for_text(p, seen, "info after the quiet spell\n", 5s) < 600ms);
    // Sporadic lines (well under 500/s) stay on the short window.
    for (int i = 0; i < 3; ++i) {
        std::this_thread::sleep_for(100ms);
        logger->info("sporadic {}", i);
        CHECK(wait_for_text(p, seen, "info sporadic " + std::to_string(i) + "\n", 5s) < 600ms);
    }
}
