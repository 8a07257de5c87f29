#include "ec2/resolver.hpp"

#include "ec2/token_bucket.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace stsauth::ec2 {

namespace detail {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;
using error_code = boost::system::error_code;
using callback = authn::ec2_resolver::callback;

namespace {

void validate(const resolver_config& c) {
    if (!(c.qps > 0)) throw std::invalid_argument("server.ec2DescribeInstancesQps: must be positive");
    if (!(c.burst >= 1)) throw std::invalid_argument("server.ec2DescribeInstancesBurst: must be at least 1");
    if (c.positive_ttl.count() <= 0) throw std::invalid_argument("EC2 DNS cache TTL: must be positive");
    if (c.negative_ttl.count() < 0) throw std::invalid_argument("EC2 negative cache TTL: must not be negative");
    if (c.lookup_timeout.count() <= 0) throw std::invalid_argument("EC2 lookup timeout: must be positive");
    if (c.batch_window.count() < 0) throw std::invalid_argument("EC2 batch window: must not be negative");
    if (c.max_batch_ids == 0 || c.max_batch_ids > max_ids_per_call) {
        throw std::invalid_argument("EC2 batch size: must be 1.." + std::to_string(max_ids_per_call));
    }
    if (c.batch_flush_ids == 0) throw std::invalid_argument("EC2 batch flush size: must be at least 1");
    if (c.max_pending_ids == 0) throw std::invalid_argument("EC2 max pending ids: must be at least 1");
    if (!c.now) throw std::invalid_argument("EC2 resolver: no clock");
}

error make_err(std::string_view code, std::string message) { return make_error(std::string(code), std::move(message)); }

}  // namespace

/// Everything runs on `strand_`.
class resolver_impl : public std::enable_shared_from_this<resolver_impl> {
public:
    resolver_impl(asio::io_context& ioc, std::shared_ptr<ec2_api> api, resolver_config config)
        : api_((validate(config), std::move(api))),
          config_(std::move(config)),
          strand_(asio::make_strand(ioc)),
          batch_timer_(strand_),
          rate_timer_(strand_),
          bucket_(config_.qps, config_.burst, steady::now()) {
        if (!api_) throw std::invalid_argument("EC2 resolver: no EC2 client");
    }

    void lookup(std::string id, callback cb) {
        asio::post(strand_, [self = shared_from_this(), id = std::move(id), cb = std::move(cb)]() mutable {
            self->do_lookup(std::move(id), std::move(cb));
        });
    }

    void shutdown() {
        asio::post(strand_, [self = shared_from_this()] { self->do_shutdown(); });
    }

    resolver_stats stats() const noexcept {
        resolver_stats s;
        s.calls = calls_.load(std::memory_order_relaxed);
        s.single_calls = single_calls_.load(std::memory_order_relaxed);
        s.cache_hits = cache_hits_.load(std::memory_order_relaxed);
        s.negative_hits = negative_hits_.load(std::memory_order_relaxed);
        s.joined = joined_.load(std::memory_order_relaxed);
        s.timeouts = timeouts_.load(std::memory_order_relaxed);
        return s;
    }

private:
    struct waiter {
        explicit waiter(callback c, const asio::strand<asio::io_context::executor_type>& s)
            : cb(std::move(c)), deadline(s) {}
        callback cb;
        asio::steady_timer deadline;
        bool done = false;
    };
    using waiter_ptr = std::shared_ptr<waiter>;

    /// One id being looked up (waiting for a call or in one), and who waits for it.
    struct flight {
        std::vector<waiter_ptr> waiters;
    };

    struct cache_entry {
        std::optional<std::string> name;  ///< nullopt: negative entry
        error why;                        ///< of a negative entry
        steady::time_point expires;
    };

    // ---- lookups ---------------------------------------------------------------------------

    void do_lookup(std::string id, callback cb) {
        if (stopped_) return cb(make_err(errc::shutdown, "the EC2 resolver is shutting down"));
        if (!is_instance_id(id)) {
            return cb(make_err(errc::malformed_instance_id, "not an EC2 instance id (i- and 8 or 17 lower-case hex digits)"));
        }
        if (auto it = cache_.find(id); it != cache_.end()) {
            if (config_.now() < it->second.expires) {
                if (it->second.name) {
                    cache_hits_.fetch_add(1, std::memory_order_relaxed);
                    return cb(*it->second.name);
                }
                negative_hits_.fetch_add(1, std::memory_order_relaxed);
                return cb(it->second.why);
            }
            cache_.erase(it);
        }
        auto f = flights_.find(id);
        if (f != flights_.end()) {
            joined_.fetch_add(1, std::memory_order_relaxed);
        } else {
            if (flights_.size() >= config_.max_pending_ids) {
                return cb(make_err(errc::overloaded, "too many EC2 lookups waiting (" +
                                                         std::to_string(config_.max_pending_ids) + ")"));
            }
            f = flights_.emplace(id, flight{}).first;
            pending_.push_back(id);
        }
        auto w = std::make_shared<waiter>(std::move(cb), strand_);
        f->second.waiters.push_back(w);
        w->deadline.expires_after(config_.lookup_timeout);
        w->deadline.async_wait([self = shared_from_this(), id, w](const error_code& ec) {
            if (!ec) self->on_deadline(id, w);
        });
        schedule();
    }

    void on_deadline(const std::string& id, const waiter_ptr& w) {
        if (w->done) return;
        w->done = true;
        if (auto f = flights_.find(id); f != flights_.end()) {
            auto& ws = f->second.waiters;
            ws.erase(std::remove(ws.begin(), ws.end(), w), ws.end());
        }
        timeouts_.fetch_add(1, std::memory_order_relaxed);
        auto cb = std::move(w->cb);
        cb(make_err(errc::timeout, "no private DNS name for " + id + " from EC2 within " +
                                       std::to_string(config_.lookup_timeout.count()) + " ms"));
    }

    /// Answers every waiter of `id` and ends its flight.
    void complete(const std::string& id, const result<std::string>& r) {
        auto f = flights_.find(id);
        if (f == flights_.end()) return;
        auto waiters = std::move(f->second.waiters);
        flights_.erase(f);
        for (auto& w : waiters) {
            if (w->done) continue;
            w->done = true;
            w->deadline.cancel();
            auto cb = std::move(w->cb);
            cb(r);
        }
    }

    // ---- batching and rate limiting ----------------------------------------------------------

    void schedule() {
        if (pending_.size() >= config_.batch_flush_ids || !singles_.empty()) return dispatch();
        if (!pending_.empty() && !batch_timer_armed_) {
            batch_timer_armed_ = true;
            batch_timer_.expires_after(config_.batch_window);
            batch_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
                self->batch_timer_armed_ = false;
                if (!ec) self->dispatch();
            });
        }
    }

    /// True when somebody still waits for `id` (its lookups may all have timed out).
    bool wanted(const std::string& id) {
        auto f = flights_.find(id);
        if (f == flights_.end()) return false;
        if (!f->second.waiters.empty()) return true;
        flights_.erase(f);
        return false;
    }

    void prune(std::deque<std::string>& q) {
        q.erase(std::remove_if(q.begin(), q.end(), [this](const std::string& id) { return !wanted(id); }), q.end());
    }

    /// Sends what is waiting, as far as the token bucket allows; per-id retries first.
    void dispatch() {
        if (stopped_) return;
        prune(singles_);
        prune(pending_);
        while (!singles_.empty() || !pending_.empty()) {
            const auto now = steady::now();
            if (!bucket_.try_take(now)) {
                if (!rate_timer_armed_) {
                    rate_timer_armed_ = true;
                    rate_timer_.expires_after(bucket_.wait_time(now));
                    rate_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
                        self->rate_timer_armed_ = false;
                        if (!ec) self->dispatch();
                    });
                }
                return;
            }
            std::vector<std::string> ids;
            const bool single = !singles_.empty();
            if (single) {
                ids.push_back(std::move(singles_.front()));
                singles_.pop_front();
            } else {
                const auto n = std::min(pending_.size(), config_.max_batch_ids);
                ids.assign(std::make_move_iterator(pending_.begin()), std::make_move_iterator(pending_.begin() + static_cast<std::ptrdiff_t>(n)));
                pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n));
            }
            call(std::move(ids), single);
        }
    }

    void call(std::vector<std::string> ids, bool single) {
        calls_.fetch_add(1, std::memory_order_relaxed);
        if (single) single_calls_.fetch_add(1, std::memory_order_relaxed);
        if (config_.on_call) config_.on_call();
        auto copy = ids;
        api_->describe_instances(std::move(copy), [self = shared_from_this(), ids = std::move(ids)](
                                                      result<std::vector<instance_info>> r) mutable {
            asio::post(self->strand_, [self, ids = std::move(ids), r = std::move(r)]() mutable {
                self->on_result(ids, r);
            });
        });
    }

    // ---- answers -------------------------------------------------------------------------------

    void on_result(const std::vector<std::string>& ids, const result<std::vector<instance_info>>& r) {
        if (stopped_) return;
        if (r) return on_instances(ids, *r);
        if (!is_invalid_instance_id(r.code())) {
            for (const auto& id : ids) complete(id, r.err());  // throttling, outage...: not cached
            return;
        }
        if (ids.size() == 1) return not_found(ids.front(), r.err());
        // A batch failed because of some of its ids. EC2 names them in its message
        // ("The instance IDs 'i-1, i-2' do not exist"): answer those, send the rest again.
        const auto named = instance_ids_in_message(r.err().message);
        std::unordered_set<std::string> culprits;
        for (const auto& id : named) {
            if (std::find(ids.begin(), ids.end(), id) != ids.end()) culprits.insert(id);
        }
        if (!culprits.empty()) {
            for (const auto& id : culprits) not_found(id, make_err(r.code(), r.err().message));
            for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
                if (culprits.count(*it) == 0) requeue(*it, pending_, true);
            }
        } else {
            for (const auto& id : ids) requeue(id, singles_, false);
        }
        dispatch();
    }

    void requeue(const std::string& id, std::deque<std::string>& q, bool front) {
        if (flights_.count(id) == 0) return;
        front ? q.push_front(id) : q.push_back(id);
    }

    void on_instances(const std::vector<std::string>& ids, const std::vector<instance_info>& instances) {
        std::unordered_map<std::string_view, const instance_info*> by_id;
        for (const auto& inst : instances) by_id.emplace(inst.instance_id, &inst);
        for (const auto& id : ids) {
            const auto it = by_id.find(id);
            if (it == by_id.end()) {
                not_found(id, make_err(errc::instance_not_found, "EC2 did not return instance " + id));
                continue;
            }
            const auto& name = it->second->private_dns_name;
            if (name.empty()) {
                complete(id, make_err(errc::empty_dns_name, "EC2 has no private DNS name for instance " + id + " (yet)"));
            } else if (!is_dns_name(name)) {
                complete(id, make_err(errc::bad_dns_name, "EC2 returned an invalid private DNS name for instance " + id));
            } else {
                remember(id, cache_entry{name, {}, config_.now() + config_.positive_ttl});
                complete(id, name);
            }
        }
    }

    void not_found(const std::string& id, const error& why) {
        if (config_.negative_ttl.count() > 0) remember(id, cache_entry{std::nullopt, why, config_.now() + config_.negative_ttl});
        complete(id, why);
    }

    void remember(const std::string& id, cache_entry e) {
        if (cache_.size() >= config_.max_cache_entries && cache_.find(id) == cache_.end()) {
            const auto now = config_.now();
            std::erase_if(cache_, [now](const auto& kv) { return kv.second.expires <= now; });
            if (cache_.size() >= config_.max_cache_entries) {
                std::erase_if(cache_, [](const auto& kv) { return !kv.second.name; });
            }
            if (cache_.size() >= config_.max_cache_entries) return;  // full of live names: do not cache
        }
        cache_.insert_or_assign(id, std::move(e));
    }

    void do_shutdown() {
        if (stopped_) return;
        stopped_ = true;
        batch_timer_.cancel();
        rate_timer_.cancel();
        pending_.clear();
        singles_.clear();
        auto flights = std::move(flights_);
        flights_.clear();
        const auto why = make_err(errc::shutdown, "the EC2 resolver is shutting down");
        for (auto& [id, f] : flights) {
            for (auto& w : f.waiters) {
                if (w->done) continue;
                w->done = true;
                w->deadline.cancel();
                auto cb = std::move(w->cb);
                cb(why);
            }
        }
    }

    const std::shared_ptr<ec2_api> api_;
    const resolver_config config_;
    asio::strand<asio::io_context::executor_type> strand_;
    asio::steady_timer batch_timer_;
    asio::steady_timer rate_timer_;
    bool batch_timer_armed_ = false;
    bool rate_timer_armed_ = false;
    token_bucket bucket_;
    bool stopped_ = false;
    std::unordered_map<std::string, flight> flights_;
    std::deque<std::string> pending_;  ///< ids waiting for a batch
    std::deque<std::string> singles_;  ///< ids waiting for a call of their own
    std::unordered_map<std::string, cache_entry> cache_;

    std::atomic<std::uint64_t> calls_{0};
    std::atomic<std::uint64_t> single_calls_{0};
    std::atomic<std::uint64_t> cache_hits_{0};
    std::atomic<std::uint64_t> negative_hits_{0};
    std::atomic<std::uint64_t> joined_{0};
    std::atomic<std::uint64_t> timeouts_{0};
};

}  // namespace detail

describe_instances_resolver::describe_instances_resolver(boost::asio::io_context& ioc, std::shared_ptr<ec2_api> api,
                                                         resolver_config config)
    : impl_(std::make_shared<detail::resolver_impl>(ioc, std::move(api), std::move(config))) {}

describe_instances_resolver::~describe_instances_resolver() { impl_->shutdown(); }

void describe_instances_resolver::private_dns_name(std::string instance_id, callback cb) {
    impl_->lookup(std::move(instance_id), std::move(cb));
}

std::uint64_t describe_instances_resolver::describe_instances_calls() const noexcept { return impl_->stats().calls; }

resolver_stats describe_instances_resolver::stats() const noexcept { return impl_->stats(); }

}  // namespace stsauth::ec2
