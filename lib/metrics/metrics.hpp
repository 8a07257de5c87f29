#pragma once
/// \file
/// Every metric stsauth exports, registered in one place.
///
/// `reference_metrics` are the reference's metrics (SPEC-reference §8) with their exact names,
/// label names, help strings and buckets — dashboards built for aws-iam-authenticator keep
/// working. `stsauth_metrics` are ours (SPEC-decisions A8, ACCESS-ENTRIES C2.2/C8).
/// Help strings §8 does not quote are the reference source's (pkg/metrics/metrics.go).

#include "metrics/registry.hpp"

#include <string_view>

namespace stsauth::metrics {

/// Values of the `result` label of authenticate_latency_seconds (A4; typo kept for dashboards).
namespace result_label {
inline constexpr std::string_view success = "success";
inline constexpr std::string_view malformed_request = "malformed_request";
inline constexpr std::string_view invalid_token = "invalid_token";
inline constexpr std::string_view sts_error = "sts_error";
inline constexpr std::string_view sts_throttling = "sts_throttling";
inline constexpr std::string_view unknown_user = "uknown_user";
}  // namespace result_label

/// Values of the `type` label of dynamic_e2e_latency_seconds.
namespace e2e_type_label {
inline constexpr std::string_view dynamic_file = "dynamic_file";
inline constexpr std::string_view dynamic_backend_mode = "dynamic_backend_mode";
}  // namespace e2e_type_label

/// Values of the `result` label of stsauth_config_reload_total: `success`; `invalid` (the new
/// file failed to parse or validate, the last good copy stays); `rejected` (valid but refused,
/// e.g. a forbidden authentication-mode transition, ACCESS-ENTRIES C2.2).
namespace reload_result_label {
inline constexpr std::string_view success = "success";
inline constexpr std::string_view invalid = "invalid";
inline constexpr std::string_view rejected = "rejected";
}  // namespace reload_result_label

/// The `StsRegion` label value of a (validated) STS host: `global` for `sts.amazonaws.com`, else
/// its second dot-separated label (`sts-fips.us-west-2.amazonaws.com` -> `us-west-2`); "" for a
/// host with fewer than three labels.
std::string_view sts_region_label(std::string_view host) noexcept;

/// SPEC-reference §8, namespace `aws_iam_authenticator`.
struct reference_metrics {
    explicit reference_metrics(registry& r);

    /// labels {result}; default buckets.
    histogram_family& authenticate_latency;
    /// labels {StsRegion}: transport errors and timeouts.
    counter_family& sts_connection_failures;
    /// labels {ResponseCode, StsRegion}: every STS reply, code as a decimal string.
    counter_family& sts_responses;
    /// labels {StsRegion}.
    counter_family& sts_throttling;
    counter& configmap_watch_failures;
    counter& dynamicfile_failures;
    counter& ec2_describe_instances_calls;
    /// labels {type}; buckets 1 3 5 10 15 20 30 60.
    histogram_family& dynamic_e2e_latency;
    gauge& dynamic_file_enabled;
    gauge& dynamic_file_only;
};

/// Our own metrics, all prefixed `stsauth_`.
struct stsauth_metrics {
    /// `version` becomes the label of `stsauth_build_info{version="..."} 1`.
    stsauth_metrics(registry& r, std::string_view version);

    counter& cache_hits;
    counter& cache_misses;
    counter& cache_evictions;
    gauge& cache_entries;
    gauge& reviews_in_flight;
    gauge& sts_pool_open_connections;
    /// Times the server gave its heaps' free memory back to the kernel after going quiet.
    counter& heap_trims;
    /// labels {source, result}; source is e.g. `config`, `mounted_file`, `aws_auth`,
    /// `dynamic_file`, `dynamic_backend_mode`, `access_entries`, `tls`; result see
    /// reload_result_label.
    counter_family& config_reloads;
    /// labels {reason}: denied reviews by stable machine reason (A2), e.g. `bad_host`, `expired`.
    counter_family& denials;
    gauge& build_info;
    /// ACCESS-ENTRIES C8: labels {type}.
    gauge_family& access_entries;
    /// ACCESS-ENTRIES C8: labels {decision, reason}.
    counter_family& authorize_requests;
    histogram_family& authorize_duration;
    counter& authorize_malformed;
};

}  // namespace stsauth::metrics
