#pragma once
/// \file
/// `{{EC2PrivateDNSName}}`: instance id -> private DNS name through EC2 DescribeInstances
/// (SPEC-reference §9), with the SURPASS fixes over the reference's ec2provider:
///
/// - a positive cache with a TTL (15 min) and a short negative cache (10 s) for ids EC2 does not
///   know (InvalidInstanceID.NotFound/Malformed, or absent from a successful answer);
/// - an empty (or non-DNS) private DNS name is an error and is never cached, so a username is
///   never `system:node:` (amazon-eks-ami #1383: EC2 is eventually consistent, the next lookup
///   asks again);
/// - one lookup in flight per id: concurrent callers share it;
/// - batching: ids are collected for `batch_window` (20 ms) or until `batch_flush_ids` (100) are
///   waiting, then sent in calls of at most `max_batch_ids` (1000, EC2's limit);
/// - when a batch fails with InvalidInstanceID.*, the ids EC2 names in its message are answered
///   (negative-cached) and the others are sent again as a batch; when the message names none of
///   them, every id of the batch is retried alone;
/// - every DescribeInstances call (batch or single, retries included) takes a token from a token
///   bucket (`qps`, `burst`; the reference only limits its AssumeRole client);
/// - a deadline per lookup (5 s) after which its callback gets errc::timeout; the answer, when it
///   comes, is still cached;
/// - ids that are not `i-` + 8 or 17 lower-case hex digits are refused without a call.
/// Callbacks are called exactly once, on the io_context (never inside private_dns_name()).

#include "authn/authenticator.hpp"
#include "ec2/describe_instances.hpp"
#include "ec2/ec2_client.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}

namespace stsauth::ec2 {

struct resolver_config {
    std::chrono::milliseconds positive_ttl{std::chrono::minutes(15)};
    std::chrono::milliseconds negative_ttl{std::chrono::seconds(10)};
    std::chrono::milliseconds lookup_timeout{std::chrono::seconds(5)};
    std::chrono::milliseconds batch_window{20};
    std::size_t batch_flush_ids = 100;
    std::size_t max_batch_ids = max_ids_per_call;
    double qps = 15;           ///< server.ec2DescribeInstancesQps
    double burst = 5;          ///< server.ec2DescribeInstancesBurst
    std::size_t max_cache_entries = 100'000;
    std::size_t max_pending_ids = 10'000;  ///< distinct ids waiting; beyond, errc::overloaded
    /// Called once per DescribeInstances call, for
    /// `aws_iam_authenticator_ec2_describe_instances_calls_total`. On the io_context.
    std::function<void()> on_call;
    /// Clock of the cache TTLs (tests move it); timers always use the real steady clock.
    std::function<std::chrono::steady_clock::time_point()> now = [] { return std::chrono::steady_clock::now(); };
};

struct resolver_stats {
    std::uint64_t calls = 0;         ///< DescribeInstances calls made (batch + single)
    std::uint64_t single_calls = 0;  ///< of which per-id fallback calls
    std::uint64_t cache_hits = 0;    ///< answered from the positive cache
    std::uint64_t negative_hits = 0; ///< answered from the negative cache
    std::uint64_t joined = 0;        ///< lookups that joined one already in flight
    std::uint64_t timeouts = 0;      ///< lookups answered errc::timeout
};

namespace detail {
class resolver_impl;
}

/// The production ec2_resolver. Thread-safe: private_dns_name() may be called from any thread.
/// Destroying it answers every waiting lookup errc::shutdown (on the io_context, if it still runs).
class describe_instances_resolver final : public authn::ec2_resolver {
public:
    /// Throws std::invalid_argument for a bad config (naming the setting).
    describe_instances_resolver(boost::asio::io_context& ioc, std::shared_ptr<ec2_api> api, resolver_config config);
    ~describe_instances_resolver() override;
    describe_instances_resolver(const describe_instances_resolver&) = delete;
    describe_instances_resolver& operator=(const describe_instances_resolver&) = delete;

    /// Errors (error.code): the errc codes of describe_instances.hpp.
    void private_dns_name(std::string instance_id, callback cb) override;

    /// DescribeInstances calls made so far.
    std::uint64_t describe_instances_calls() const noexcept;
    resolver_stats stats() const noexcept;

private:
    std::shared_ptr<detail::resolver_impl> impl_;
};

}  // namespace stsauth::ec2
