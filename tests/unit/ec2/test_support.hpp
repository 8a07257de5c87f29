#pragma once
// Shared pieces of the ec2 network tests: a fake EC2 DescribeInstances service that verifies the
// SigV4 signature, an io_context running on two threads, and a bounded wait for callbacks.

#include "fake_server.hpp"

#include "common/result.hpp"
#include "sigv4/sigv4.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace stsauth::ec2::testing {

inline constexpr std::string_view test_region = "us-west-2";
inline constexpr std::string_view test_host = "ec2.us-west-2.amazonaws.com";

/// AKIDEXAMPLE and the AWS documentation's example secret key.
sigv4::credentials example_credentials(std::string session_token = {});

/// EC2 as far as DescribeInstances by id goes. Thread-safe.
class fake_ec2 {
public:
    /// Known instances: id -> private DNS name (may be empty).
    void set_instance(const std::string& id, const std::string& name);
    /// When false, InvalidInstanceID.NotFound messages name no id (forces per-id retries).
    void name_ids_in_errors(bool on) { name_ids_ = on; }
    /// Every answer after this delay / never.
    void set_delay(std::chrono::milliseconds d) { delay_ms_ = static_cast<int>(d.count()); }
    void set_hang(bool on) { hang_ = on; }
    /// Answer every call with this instead.
    void force_reply(std::optional<canned_reply> r);
    /// The session token requests must carry (empty: none).
    void expect_session_token(std::string token, std::string access_key_id, std::string secret_key);

    canned_reply handle(const seen_request& r);

    std::size_t calls() const;
    std::vector<std::size_t> batch_sizes() const;
    std::size_t auth_failures() const;

private:
    mutable std::mutex mu_;
    std::map<std::string, std::string> instances_;
    std::optional<canned_reply> forced_;
    std::vector<std::size_t> batches_;
    std::size_t auth_failures_ = 0;
    std::string key_id_ = "AKIDEXAMPLE";
    std::string secret_ = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    std::string token_;
    std::atomic<bool> name_ids_{true};
    std::atomic<int> delay_ms_{0};
    std::atomic<bool> hang_{false};
};

/// Checks a request's SigV4 header signature for `service` in test_region with one key; "" when
/// valid, else why not.
std::string verify_sigv4(const seen_request& r, std::string_view service, const std::string& key_id,
                         const std::string& secret_key, const std::string& token = {});

/// EC2's error document.
std::string ec2_error_xml(std::string_view code, std::string_view message);

/// An io_context with two threads, stopped and joined on destruction.
class io_runner {
public:
    explicit io_runner(int threads = 2);
    ~io_runner();
    io_runner(const io_runner&) = delete;
    io_runner& operator=(const io_runner&) = delete;
    boost::asio::io_context& ioc() { return ioc_; }

private:
    boost::asio::io_context ioc_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
    std::vector<std::thread> threads_;
};

/// Collects callback results; wait() is bounded.
template <class T>
class collector {
public:
    std::function<void(result<T>)> callback() {
        return [this](result<T> r) {
            std::lock_guard lock(mu_);
            got_.push_back(std::move(r));
            cv_.notify_all();
        };
    }
    /// True when at least `n` results arrived within `timeout`.
    bool wait(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, timeout, [&] { return got_.size() >= n; });
    }
    std::vector<result<T>> results() {
        std::lock_guard lock(mu_);
        return got_;
    }
    std::size_t size() {
        std::lock_guard lock(mu_);
        return got_.size();
    }

private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<result<T>> got_;
};

}  // namespace stsauth::ec2::testing
