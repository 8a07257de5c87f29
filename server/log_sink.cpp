#include "log_sink.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <utility>
#include <unistd.h>

namespace stsauth::server {

batching_fd_sink::batching_fd_sink(int fd, std::chrono::microseconds window, std::size_t max_pending,
                                   std::chrono::microseconds busy_window, std::size_t busy_lines_per_s)
    : fd_(fd),
      window_(window),
      max_pending_(max_pending),
      busy_window_(busy_window),
      busy_lines_per_s_(busy_lines_per_s),
      writer_([this] { run(); }) {}

batching_fd_sink::~batching_fd_sink() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    cv_.notify_one();
    writer_.join();
    std::lock_guard lock(mutex_);
    write_pending_locked();
}

std::size_t batching_fd_sink::dropped() {
    std::lock_guard lock(mutex_);
    return dropped_total_;
}

std::size_t batching_fd_sink::batches() {
    std::lock_guard lock(mutex_);
    return batches_;
}

void batching_fd_sink::sink_it_(const spdlog::details::log_msg& msg) {
    if (pending_.size() >= max_pending_) {
        ++dropped_total_;
        ++dropped_unreported_;
        return;
    }
    if (dropped_unreported_ > 0) {
        pending_ += fmt::format("[log] {} lines dropped: the log output did not keep up\n", dropped_unreported_);
        dropped_unreported_ = 0;
    }
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    pending_.append(formatted.data(), formatted.size());
    ++pending_lines_;
    if (msg.level >= spdlog::level::err) {
        write_pending_locked();  // at once: it may be the last thing the process says
        return;
    }
    if (writer_idle_) {
        writer_idle_ = false;
        cv_.notify_one();
    }
}

void batching_fd_sink::flush_() { write_pending_locked(); }

void batching_fd_sink::write_pending_locked() {
    if (pending_.empty()) return;
    std::lock_guard w(write_mu_);  // after any batch the writer is writing now
    write_all(pending_);
    pending_.clear();
    pending_lines_ = 0;
}

void batching_fd_sink::run() {
    using clock = std::chrono::steady_clock;
    // The rate is judged over periods of at least this long (a few lines close together are
    // no sustained rate: a test sending reviews one by one must keep the short window).
    constexpr auto rate_period = std::chrono::milliseconds(100);
    std::string batch;
    auto last_write = clock::now();
    auto period_start = last_write;
    std::size_t period_lines = 0;
    bool busy = false;  // the last full period came at busy_lines_per_s_ or more
    std::unique_lock lock(mutex_);
    for (;;) {
        cv_.wait(lock, [this] { return stop_ || !pending_.empty(); });
        if (pending_.empty()) break;  // stop_, nothing left
        // Busy: the last batches came fast and this line follows the last write closely. After
        // a quiet spell longer than the busy window the short window applies again.
        const bool gather_long = busy && clock::now() - last_write < busy_window_;
        const auto window = gather_long ? busy_window_ : window_;
        if (!stop_ && window.count() > 0) {
            // Let the lines of the next instants join this write; producers do not notify
            // meanwhile (writer_idle_ is false), only the destructor does, to stop at once.
            cv_.wait_for(lock, window, [this] { return stop_; });
        }
        batch.swap(pending_);
        const std::size_t lines = std::exchange(pending_lines_, 0);
        std::unique_lock w(write_mu_);
        lock.unlock();
        write_all(batch);
        w.unlock();
        batch.clear();
        if (batch.capacity() > (1U << 20U)) batch.shrink_to_fit();
        const auto now = clock::now();
        period_lines += lines;
        if (now - period_start >= rate_period) {
            const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - period_start).count();
            busy = static_cast<double>(period_lines) * 1e6 >= static_cast<double>(busy_lines_per_s_) * static_cast<double>(us);
            period_lines = 0;
            period_start = now;
        }
        last_write = now;
        lock.lock();
        ++batches_;
        if (pending_.empty()) writer_idle_ = true;
    }
}

void batching_fd_sink::write_all(const std::string& data) {
    const char* p = data.data();
    std::size_t left = data.size();
    while (left > 0) {
        const ssize_t n = ::write(fd_, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            return;  // nowhere to report it: the log itself is what failed
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

}  // namespace stsauth::server
