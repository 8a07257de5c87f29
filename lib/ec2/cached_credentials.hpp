#pragma once
/// \file
/// Internal: the cache shared by the refreshing credential sources (IMDS, AssumeRole). Callers
/// get the cached credentials at once while they are valid; within `refresh_before` of their
/// expiry one background fetch starts; without valid credentials callers wait for the fetch;
/// when a fetch fails, valid cached credentials are still used. Thread-safe (a mutex; callbacks
/// are never called with it held).

#include "ec2/credentials.hpp"
#include "ec2/imds.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace stsauth::ec2::detail {

class cached_credentials : public std::enable_shared_from_this<cached_credentials> {
public:
    using done_fn = std::function<void(result<timed_credentials>)>;
    /// Starts one fetch; calls its argument exactly once (possibly before returning).
    using fetch_fn = std::function<void(done_fn)>;
    using clock_fn = std::function<std::chrono::system_clock::time_point()>;

    cached_credentials(fetch_fn fetch, std::chrono::seconds refresh_before, clock_fn clock)
        : fetch_(std::move(fetch)), refresh_before_(refresh_before), clock_(std::move(clock)) {}

    void get(credentials_source::callback cb) {
        std::unique_lock lock(mu_);
        const auto now = clock_();
        if (cached_ && now < cached_->expiration) {
            const bool refresh = now + refresh_before_ >= cached_->expiration && !fetching_;
            if (refresh) fetching_ = true;
            auto creds = cached_->creds;
            lock.unlock();
            if (refresh) start_fetch();
            return cb(std::move(creds));
        }
        waiters_.push_back(std::move(cb));
        if (fetching_) return;
        fetching_ = true;
        lock.unlock();
        start_fetch();
    }

private:
    void start_fetch() {
        fetch_([self = shared_from_this()](result<timed_credentials> r) { self->on_fetched(std::move(r)); });
    }

    void on_fetched(result<timed_credentials> r) {
        std::unique_lock lock(mu_);
        fetching_ = false;
        const auto now = clock_();
        std::optional<result<sigv4::credentials>> out;
        if (r && now < r->expiration) {
            cached_ = std::move(*r);
            out.emplace(cached_->creds);
        } else if (cached_ && now < cached_->expiration) {
            out.emplace(cached_->creds);  // the refresh failed, the cached ones still work
        } else if (!r) {
            out.emplace(r.err());
        } else {
            out.emplace(make_error("expired_credentials", "the credentials received have already expired"));
        }
        auto waiters = std::move(waiters_);
        waiters_.clear();
        lock.unlock();
        for (auto& w : waiters) w(*out);
    }

    const fetch_fn fetch_;
    const std::chrono::seconds refresh_before_;
    const clock_fn clock_;
    std::mutex mu_;
    std::optional<timed_credentials> cached_;
    std::vector<credentials_source::callback> waiters_;
    bool fetching_ = false;
};

}  // namespace stsauth::ec2::detail
