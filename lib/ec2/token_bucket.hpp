#pragma once
/// \file
/// A token bucket (as Go's golang.org/x/time/rate.Limiter the reference configures with
/// `--ec2-describeInstances-qps` / `-burst`): `rate` tokens per second, at most `burst` stored,
/// full at start. Pure: the time is a parameter.

#include <algorithm>
#include <chrono>

namespace stsauth::ec2 {

class token_bucket {
public:
    using clock = std::chrono::steady_clock;

    /// `rate` > 0, `burst` >= 1 (checked by the caller, at configuration time).
    token_bucket(double rate, double burst, clock::time_point now) noexcept
        : rate_(rate), burst_(burst), tokens_(burst), last_(now) {}

    /// Takes one token if there is one.
    bool try_take(clock::time_point now) noexcept {
        refill(now);
        if (tokens_ < 1.0) return false;
        tokens_ -= 1.0;
        return true;
    }

    /// How long until a token is available (zero when one is).
    clock::duration wait_time(clock::time_point now) noexcept {
        refill(now);
        if (tokens_ >= 1.0) return clock::duration::zero();
        const std::chrono::duration<double> secs((1.0 - tokens_) / rate_);
        return std::chrono::ceil<clock::duration>(secs);
    }

    double tokens(clock::time_point now) noexcept {
        refill(now);
        return tokens_;
    }

private:
    void refill(clock::time_point now) noexcept {
        if (now <= last_) return;
        const std::chrono::duration<double> elapsed = now - last_;
        tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_);
        last_ = now;
    }

    double rate_;
    double burst_;
    double tokens_;
    clock::time_point last_;
};

}  // namespace stsauth::ec2
