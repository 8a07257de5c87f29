#include "authorize.hpp"

#include "access/authorizer.hpp"
#include "access/entries.hpp"
#include "access/sar.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace stsauth::server {

authorize_endpoint::authorize_endpoint(entries_fn entries, metrics::stsauth_metrics& own)
    : entries_(std::move(entries)), own_(own), duration_(own.authorize_duration.with({})) {}

http::response authorize_endpoint::handle(const http::request& req) const {
    const auto started = std::chrono::steady_clock::now();
    if (req.method != "POST") {
        own_.authorize_malformed.inc();
        return http::text_response(405, "expected POST\n");
    }
    auto sar = access::decode_sar(req.body);
    if (!sar) {
        own_.authorize_malformed.inc();
        spdlog::warn("malformed SubjectAccessReview from {}: {}", req.remote, sar.err().code);
        return http::text_response(400, "expected a request body to be a SubjectAccessReview: " + sar.err().code + "\n");
    }
    const auto entries = entries_();
    const auto d = access::evaluate(entries.get(), *sar);

    http::response r;
    r.status = 200;
    r.content_type = "application/json";
    r.body = access::encode_sar_response(sar->version, d.status);

    const auto reason = access::to_string(d.reason);
    own_.authorize_requests.with({d.allowed() ? "allow" : "no_opinion", reason}).inc();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    duration_.observe(seconds);
    spdlog::debug("authorize decision={} reason={} arn={} policy={} latency_ms={:.3f}",
                  d.allowed() ? "allow" : "no_opinion", reason, d.canonical_arn, d.policy_arn, seconds * 1000.0);
    return r;
}

void set_access_entry_gauges(const access::snapshot& entries, metrics::stsauth_metrics& own) {
    using access::entry_type;
    for (const auto t : {entry_type::standard, entry_type::ec2_linux, entry_type::ec2_windows, entry_type::fargate_linux,
                         entry_type::hybrid_linux, entry_type::ec2, entry_type::hyperpod_linux})
        own.access_entries.with({access::to_string(t)}).set(static_cast<double>(entries.count(t)));
}

}  // namespace stsauth::server
