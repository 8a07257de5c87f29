#include "log_sink.hpp"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <unistd.h>

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
