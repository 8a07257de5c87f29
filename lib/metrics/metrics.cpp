#include "metrics/metrics.hpp"

#include <string>

namespace stsauth::metrics {

std::string_view sts_region_label(std::string_view host) noexcept {
    if (host == "sts.amazonaws.com") return "global";
    const auto first = host.find('.');
    if (first == std::string_view::npos) return {};
    const auto second = host.find('.', first + 1);
    if (second == std::string_view::npos) return {};
    return host.substr(first + 1, second - first - 1);
}

namespace {
constexpr std::string_view ns = "aws_iam_authenticator_";
std::string ref(std::string_view name) { return std::string(ns) + std::string(name); }
}  // namespace

reference_metrics::reference_metrics(registry& r)
    : authenticate_latency(r.add_histogram(ref("authenticate_latency_seconds"), "Authenticate call latency",
                                           {"result"}, default_buckets())),
      sts_connection_failures(r.add_counter(ref("sts_connection_failures_total"),
                                            "Sts call could not succeed or timedout", {"StsRegion"})),
      sts_responses(r.add_counter(ref("sts_responses_total"), "Sts responses with error code label",
                                  {"ResponseCode", "StsRegion"})),
      sts_throttling(r.add_counter(ref("sts_throttling_total"), "Sts call got throttled", {"StsRegion"})),
      configmap_watch_failures(
          r.add_counter(ref("configmap_watch_failures_total"), "EKS Configmap watch failures").with({})),
      dynamicfile_failures(r.add_counter(ref("dynamicfile_failures_total"), "Dynamic file failures").with({})),
      ec2_describe_instances_calls(
          r.add_counter(ref("ec2_describe_instances_calls_total"), "Number of EC2 describe instances calls.").with({})),
      dynamic_e2e_latency(r.add_histogram(ref("dynamic_e2e_latency_seconds"),
                                          "End to end latency in seconds partitioned by type.", {"type"},
                                          {1, 3, 5, 10, 15, 20, 30, 60})),
      dynamic_file_enabled(
          r.add_gauge(ref("dynamic_file_enabled"), "Dynamic file in backend mode is enabled").with({})),
      dynamic_file_only(
          r.add_gauge(ref("dynamic_file_only"), "Only dynamic file in backend mode is enabled").with({})) {}

stsauth_metrics::stsauth_metrics(registry& r, std::string_view version)
    : cache_hits(r.add_counter("stsauth_cache_hits_total", "Verified-identity cache lookups that found an entry.")
                     .with({})),
      cache_misses(
          r.add_counter("stsauth_cache_misses_total", "Verified-identity cache lookups that found no entry.").with({})),
      cache_evictions(r.add_counter("stsauth_cache_evictions_total",
                                    "Verified-identity cache entries evicted to respect the size bound.")
                          .with({})),
      cache_entries(r.add_gauge("stsauth_cache_entries", "Entries in the verified-identity cache.").with({})),
      reviews_in_flight(r.add_gauge("stsauth_reviews_in_flight", "TokenReviews being processed.").with({})),
      sts_pool_open_connections(
          r.add_gauge("stsauth_sts_pool_open_connections", "Open connections in the STS client pool.").with({})),
      heap_trims(r.add_counter("stsauth_heap_trims_total",
                               "Times the heaps' free memory was given back to the kernel after the server went quiet.")
                     .with({})),
      config_reloads(r.add_counter("stsauth_config_reload_total",
                                   "Configuration and mapping reloads by source and result.", {"source", "result"})),
      denials(r.add_counter("stsauth_denials_total", "TokenReviews denied, by machine reason.", {"reason"})),
      build_info(r.add_gauge("stsauth_build_info", "stsauth build information; the value is always 1.", {"version"})
                     .with({version})),
      access_entries(r.add_gauge("stsauth_access_entries", "Access entries loaded, by type.", {"type"})),
      authorize_requests(r.add_counter("stsauth_authorize_requests_total",
                                       "SubjectAccessReviews answered, by decision and reason.",
                                       {"decision", "reason"})),
      authorize_duration(r.add_histogram("stsauth_authorize_duration_seconds",
                                         "SubjectAccessReview evaluation latency.", {}, default_buckets())),
      authorize_malformed(
          r.add_counter("stsauth_authorize_malformed_total", "Malformed SubjectAccessReview requests.").with({})) {
    build_info.set(1);
}

}  // namespace stsauth::metrics
