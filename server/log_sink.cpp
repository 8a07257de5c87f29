#include "log_sink.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <unistd.h>

namespace stsauth::server {

batching_fd_sink::batching_fd_sink(int fd, std::chrono::microseconds window, std::size_t max_pending)
    : fd_(fd), window_(window), max_pending_(max_pending), writer_([this] { run(); }) {}

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
}

void batching_fd_sink::run() {
    std::string batch;
    std::unique_lock lock(mutex_);
    for (;;) {
        cv_.wait(lock, [this] { return stop_ || !pending_.empty(); });
        if (pending_.empty()) break;  // stop_, nothing left
        if (!stop_ && window_.count() > 0) {
            // Let the lines of the next instants join this write; producers do not notify
            // meanwhile (writer_idle_ is false), only the destructor does, to stop at once.
            cv_.wait_for(lock, window_, [this] { return stop_; });
        }
        batch.swap(pending_);
        std::unique_lock w(write_mu_);
        lock.unlock();
        write_all(batch);
        w.unlock();
        batch.clear();
        if (batch.capacity() > (1U << 20U)) batch.shrink_to_fit();
        lock.lock();
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
