#pragma once
/// \file
/// io_pool: the server's network threads as N io_contexts, each run by exactly one thread (one
/// reactor per thread), instead of one io_context shared by N threads.
///
/// With one shared io_context, every handler posted from one thread may be picked up by
/// another: Asio wakes an idle thread (a futex) or interrupts the one blocked in epoll_wait (an
/// eventfd) for each batch of completions, and both threads contend for the scheduler's and the
/// reactor's locks. A review touches two sockets (the client's and a pooled STS connection's)
/// and is handed between threads several times. With a pool, a connection lives on one context
/// for its whole life, the STS connections it uses are that context's own (sts::https_sts_client
/// keeps a sub-pool per context), and a handler posted from a context's thread to itself goes to
/// that thread's private queue: no lock, no wake-up. Each context is created with concurrency
/// hint 1 (one thread); posting to it from any other thread stays safe.
///
/// Usage (app.cpp): `io_pool pool(n); http::server srv(pool, ...); pool.run();` and
/// `pool.stop()` from a signal handler. The heavy Asio headers stay in the .cpp.

#include <cstddef>
#include <memory>

namespace boost::asio {
class io_context;
}

namespace stsauth::http {

class io_pool {
public:
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

    /// `contexts` ≥ 1 io_contexts; each keeps running until stop(), even with no work.
    explicit io_pool(std::size_t contexts);
    ~io_pool();
    io_pool(const io_pool&) = delete;
    io_pool& operator=(const io_pool&) = delete;

    std::size_t size() const noexcept;
    boost::asio::io_context& at(std::size_t i) noexcept;
    /// The context for a new connection: round-robin over all of them (any thread).
    boost::asio::io_context& next() noexcept;
    /// The index of the context the calling thread runs (inside run()), or npos for any other
    /// thread (including threads of another pool).
    std::size_t current_index() const noexcept;

    /// Runs context 0 on the calling thread and every other one on a thread of its own; returns
    /// when all have stopped (stop()), after joining those threads.
    void run();
    /// Makes run() return: every context stops (pending handlers are not run). Any thread.
    void stop();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace stsauth::http
