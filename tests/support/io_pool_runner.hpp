#pragma once
// An http::io_pool run on a thread of its own for a test (run() blocks); stopped and joined at
// scope exit.

#include "http/io_pool.hpp"

#include <cstddef>
#include <thread>

namespace stsauth::test {

struct io_pool_runner {
    explicit io_pool_runner(std::size_t contexts) : pool(contexts), runner([this] { pool.run(); }) {}
    ~io_pool_runner() {
        pool.stop();
        runner.join();
    }
    io_pool_runner(const io_pool_runner&) = delete;
    io_pool_runner& operator=(const io_pool_runner&) = delete;

    http::io_pool pool;
    std::thread runner;
};

}  // namespace stsauth::test
