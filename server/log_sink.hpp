#pragma once
/// \file
/// The server's log sink: lines are formatted on the logging thread, appended to a buffer, and
/// written by one writer thread in batches, so an I/O thread never makes a write(2) per review
/// line (A8: one line per review) nor waits on a slow stderr. Errors and explicit flushes are
/// written at once, in order with everything before them. If the file descriptor stops taking
/// data, the buffer is capped: further lines are dropped and counted, and a line saying how many
/// were dropped is written when it drains.
///
/// The window adapts to the rate: a line after a quiet spell is written within `window` (1 ms),
/// but while lines keep coming at `busy_lines_per_s` or more over 100 ms periods (one review line
/// each at thousands of reviews a second) the writer gathers them for `busy_window` (20 ms)
/// before each write. Each
/// batch is one wake-up of the writer thread, and the I/O thread that logs the first line of a
/// batch pays a futex wake for it: at 5,000-5,800 reviews/s the 1 ms window alone meant
/// 1,150-1,550 wake-ups a second and 2-3% of a CPU, with the busy window ~130 (docs/benchmarks.md).

#include <spdlog/sinks/base_sink.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>

namespace stsauth::server {

class batching_fd_sink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    /// Writes to `fd` (not closed here). `window`: how long the writer lets lines gather before
    /// a write; `max_pending`: buffered bytes past which lines are dropped.
    explicit batching_fd_sink(int fd, std::chrono::microseconds window = std::chrono::milliseconds(1),
                              std::size_t max_pending = 8U << 20U,
                              std::chrono::microseconds busy_window = std::chrono::milliseconds(20),
                              std::size_t busy_lines_per_s = 2000);
    ~batching_fd_sink() override;  // writes everything still buffered

    batching_fd_sink(const batching_fd_sink&) = delete;
    batching_fd_sink& operator=(const batching_fd_sink&) = delete;

    /// Lines dropped because the buffer was full (since start).
    std::size_t dropped();
    /// Batches the writer thread has written (since start): its wake-ups.
    std::size_t batches();

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override;
    void flush_() override;

private:
    void run();
    void write_pending_locked();  // mutex_ held
    void write_all(const std::string& data);

    int fd_;
    std::chrono::microseconds window_;
    std::size_t max_pending_;
    std::chrono::microseconds busy_window_;
    std::size_t busy_lines_per_s_;
    std::string pending_;               // guarded by mutex_
    std::size_t pending_lines_ = 0;     // guarded by mutex_
    std::size_t batches_ = 0;           // guarded by mutex_
    std::size_t dropped_total_ = 0;     // guarded by mutex_
    std::size_t dropped_unreported_ = 0;  // guarded by mutex_
    bool writer_idle_ = true;           // guarded by mutex_
    bool stop_ = false;                 // guarded by mutex_
    std::condition_variable cv_;
    std::mutex write_mu_;  ///< held while writing: keeps batches in order (taken after mutex_)
    std::thread writer_;
};

}  // namespace stsauth::server
