#pragma once
/// \file
/// `POST /authorize` (ACCESS-ENTRIES C5–C8): kube-apiserver's authorization webhook. A
/// SubjectAccessReview (v1 or v1beta1) in, the same version out: allow, or no opinion (never
/// deny). Evaluated synchronously on the immutable access-entries snapshot: no disk, no network,
/// no lock per review. Malformed input gets 400 (405 for another method), which kube-apiserver
/// treats as a webhook error (its failure policy decides).

#include "http/message.hpp"
#include "metrics/metrics.hpp"

#include <array>
#include <atomic>
#include <functional>
#include <memory>

namespace stsauth::access {
class snapshot;
}

namespace stsauth::server {

class authorize_endpoint {
public:
    /// The current snapshot, or null when none has loaded (no opinion, "access entries not loaded").
    using entries_fn = std::function<std::shared_ptr<const access::snapshot>()>;

    authorize_endpoint(entries_fn entries, metrics::stsauth_metrics& own);

    /// Handles one request to /authorize. Metrics: stsauth_authorize_requests_total{decision,
    /// reason}, stsauth_authorize_duration_seconds, stsauth_authorize_malformed_total. One debug
    /// line per review (decision, reason, canonical ARN, the policy that allowed); never the extras.
    http::response handle(const http::request& req) const;

private:
    metrics::counter& requests_for(int reason) const;

    entries_fn entries_;
    metrics::stsauth_metrics& own_;
    metrics::histogram& duration_;
    /// stsauth_authorize_requests_total's child per decision reason, resolved on its first use
    /// (a series appears only once it has counted, as before).
    mutable std::array<std::atomic<metrics::counter*>, 6> requests_{};
};

/// Sets `stsauth_access_entries{type}` from a snapshot (every type, zeros included).
void set_access_entry_gauges(const access::snapshot& entries, metrics::stsauth_metrics& own);

}  // namespace stsauth::server
