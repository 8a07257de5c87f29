#include "authorize.hpp"

#include "access/authorizer.hpp"
#include "access/entries.hpp"
#include "access/sar.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace stsauth::server {

authorize_endpoint::authorize_endpoint(entries_fn entries, metrics::stsauth_metrics& own)
    : entries_(std::move(entries)), own_(own), duration_(own.authorize_duration.with({})) {}

static_assert(static_cast<int>(access::decision_reason::not_loaded) == 5, "one requests_ slot per decision_reason");

metrics::counter& authorize_endpoint::requests_for(int reason) const {
    auto& slot = requests_[static_cast<std::size_t>(reason)];
    if (auto* c = slot.load(std::memory_order_acquire)) return *c;
    const auto r = static_cast<access::decision_reason>(reason);
    // with() returns the same child to every thread, so a race stores the same pointer twice.
    auto& c = own_.authorize_requests.with({r == access::decision_reason::allowed ? "allow" : "no_opinion", access::to_string(r)});
    slot.store(&c, std::memory_order_release);
    return c;
}

http::response authorize_endpoint::handle(const http::request& req) const {
    const auto started = std::chrono::steady_clock::now();
    if (req.method != "POST") {
        own_.authorize_malformed.inc();
        return http::text_response(405, "expected POST\n");
    }
    // Only what evaluate() reads is kept; everything else is still checked.
    access::sar_decode_limits limits;
    limits.keep_identity = false;
    auto sar = access::decode_sar(req.body, limits);
    if (!sar) {
        own_.authorize_malformed.inc();
        spdlog::warn("malformed SubjectAccessReview from {}: {}", req.remote, sar.err().code);
        return http::text_response(400, "expected a request body to be a SubjectAccessReview: " + sar.err().code + "\n");
    }
    const auto entries = entries_();
    const bool explain = spdlog::should_log(spdlog::level::debug);
    const auto d = access::evaluate(entries.get(), *sar, explain);

    http::response r;
    r.status = 200;
    r.content_type = "application/json";
    r.body = access::encode_sar_response(sar->version, d.status);

    requests_for(static_cast<int>(d.reason)).inc();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    duration_.observe(seconds);
    if (explain) {
        spdlog::debug("authorize decision={} reason={} arn={} policy={} latency_ms={:.3f}",
                      d.allowed() ? "allow" : "no_opinion", access::to_string(d.reason), d.canonical_arn, d.policy_arn,
                      seconds * 1000.0);
    }
    return r;
}

void set_access_entry_gauges(const access::snapshot& entries, metrics::stsauth_metrics& own) {
    using access::entry_type;
    for (const auto t : {entry_type::standard, entry_type::ec2_linux, entry_type::ec2_windows, entry_type::fargate_linux,
                         entry_type::hybrid_linux, entry_type::ec2, entry_type::hyperpod_linux})
        own.access_entries.with({access::to_string(t)}).set(static_cast<double>(entries.count(t)));
}

}  // namespace stsauth::server
