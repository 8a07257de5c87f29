#include "metrics/metrics.hpp"
#include "metrics/process.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace stsauth::metrics;

namespace {
bool has_line(const std::string& text, const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos || text.starts_with(line + "\n");
}
}  // namespace

TEST_CASE("every reference metric of §8 with its name, type, labels and help", "[metrics][reference]") {
    registry r;
    reference_metrics m(r);
    // Labelled families appear only once used (as in the Go client).
    m.authenticate_latency.with({result_label::unknown_user}).observe(0.2);
    m.sts_connection_failures.with({"us-west-2"}).inc();
    m.sts_responses.with({"200", "global"}).inc();
    m.sts_throttling.with({"eu-west-1"}).inc();
    m.dynamic_e2e_latency.with({e2e_type_label::dynamic_file}).observe(4);
    m.dynamic_file_enabled.set(1);
    const auto text = r.expose();

    const char* p = "aws_iam_authenticator_";
    auto head = [&](const std::string& n, const std::string& type, const std::string& help) {
        INFO(n);
        CHECK(has_line(text, "# HELP " + (p + n) + " " + help));
        CHECK(has_line(text, "# TYPE " + (p + n) + " " + type));
    };
    head("authenticate_latency_seconds", "histogram", "Authenticate call latency");
    head("sts_connection_failures_total", "counter", "Sts call could not succeed or timedout");
    head("sts_responses_total", "counter", "Sts responses with error code label");
    head("sts_throttling_total", "counter", "Sts call got throttled");
    head("configmap_watch_failures_total", "counter", "EKS Configmap watch failures");
    head("dynamicfile_failures_total", "counter", "Dynamic file failures");
    head("ec2_describe_instances_calls_total", "counter", "Number of EC2 describe instances calls.");
    head("dynamic_e2e_latency_seconds", "histogram", "End to end latency in seconds partitioned by type.");
    head("dynamic_file_enabled", "gauge", "Dynamic file in backend mode is enabled");
    head("dynamic_file_only", "gauge", "Only dynamic file in backend mode is enabled");

    CHECK(has_line(text, "aws_iam_authenticator_authenticate_latency_seconds_bucket{result=\"uknown_user\",le=\"0.25\"} 1"));
    CHECK(has_line(text, "aws_iam_authenticator_authenticate_latency_seconds_bucket{result=\"uknown_user\",le=\"0.1\"} 0"));
    CHECK(has_line(text, "aws_iam_authenticator_sts_connection_failures_total{StsRegion=\"us-west-2\"} 1"));
    CHECK(has_line(text, "aws_iam_authenticator_sts_responses_total{ResponseCode=\"200\",StsRegion=\"global\"} 1"));
    CHECK(has_line(text, "aws_iam_authenticator_sts_throttling_total{StsRegion=\"eu-west-1\"} 1"));
    CHECK(has_line(text, "aws_iam_authenticator_configmap_watch_failures_total 0"));
    CHECK(has_line(text, "aws_iam_authenticator_dynamicfile_failures_total 0"));
    CHECK(has_line(text, "aws_iam_authenticator_ec2_describe_instances_calls_total 0"));
    CHECK(has_line(text, "aws_iam_authenticator_dynamic_file_enabled 1"));
    CHECK(has_line(text, "aws_iam_authenticator_dynamic_file_only 0"));
    for (const char* le : {"1", "3", "5", "10", "15", "20", "30", "60", "+Inf"})
        CHECK(text.find("aws_iam_authenticator_dynamic_e2e_latency_seconds_bucket{type=\"dynamic_file\",le=\"" +
                        std::string(le) + "\"}") != std::string::npos);
    for (const char* le : {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10"})
        CHECK(text.find("authenticate_latency_seconds_bucket{result=\"uknown_user\",le=\"" + std::string(le) + "\"}") !=
              std::string::npos);
    CHECK(m.authenticate_latency.bucket_bounds()->size() == 11);
    CHECK(m.dynamic_e2e_latency.bucket_bounds()->size() == 8);
}

TEST_CASE("result label values are the reference's, typo included", "[metrics][reference]") {
    CHECK(result_label::success == "success");
    CHECK(result_label::malformed_request == "malformed_request");
    CHECK(result_label::invalid_token == "invalid_token");
    CHECK(result_label::sts_error == "sts_error");
    CHECK(result_label::sts_throttling == "sts_throttling");
    CHECK(result_label::unknown_user == "uknown_user");
}

TEST_CASE("StsRegion label from a host", "[metrics][reference]") {
    CHECK(sts_region_label("sts.amazonaws.com") == "global");
    CHECK(sts_region_label("sts.us-west-2.amazonaws.com") == "us-west-2");
    CHECK(sts_region_label("sts-fips.us-west-2.amazonaws.com") == "us-west-2");
    CHECK(sts_region_label("sts.cn-north-1.amazonaws.com.cn") == "cn-north-1");
    CHECK(sts_region_label("localhost") == "");
    CHECK(sts_region_label("a.b") == "");
}

TEST_CASE("stsauth metrics and build info", "[metrics][stsauth]") {
    registry r;
    reference_metrics ref(r);
    stsauth_metrics m(r, "1.2.3");
    m.cache_hits.inc();
    m.reviews_in_flight.inc();
    m.config_reloads.with({"mounted_file", reload_result_label::invalid}).inc();
    m.denials.with({"bad_host"}).inc(2);
    const auto text = r.expose();
    CHECK(has_line(text, "stsauth_build_info{version=\"1.2.3\"} 1"));
    CHECK(has_line(text, "stsauth_cache_hits_total 1"));
    CHECK(has_line(text, "stsauth_cache_misses_total 0"));
    CHECK(has_line(text, "stsauth_cache_evictions_total 0"));
    CHECK(has_line(text, "stsauth_cache_entries 0"));
    CHECK(has_line(text, "stsauth_reviews_in_flight 1"));
    CHECK(has_line(text, "stsauth_sts_pool_open_connections 0"));
    CHECK(has_line(text, "stsauth_heap_trims_total 0"));
    CHECK(has_line(text, "stsauth_config_reload_total{result=\"invalid\",source=\"mounted_file\"} 1"));
    CHECK(has_line(text, "stsauth_denials_total{reason=\"bad_host\"} 2"));
    CHECK(has_line(text, "stsauth_authorize_malformed_total 0"));
    CHECK(has_line(text, "# TYPE stsauth_authorize_duration_seconds histogram"));
    // Constructing the sets twice on one registry is harmless (get-or-create).
    reference_metrics again(r);
    CHECK(&again.authenticate_latency == &ref.authenticate_latency);
}

TEST_CASE("/proc parsers", "[metrics][process]") {
    // A command name with spaces and parentheses must not shift the fields.
    const std::string stat =
        "4242 (my (weird) cmd) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 9 0 12345 "
        "123456789 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
    const auto f = parse_proc_pid_stat(stat);
    REQUIRE(f);
    CHECK(f->utime_ticks == 250);
    CHECK(f->stime_ticks == 50);
    CHECK(f->start_ticks == 12345);
    CHECK(f->rss_pages == 2048);
    CHECK_FALSE(parse_proc_pid_stat("4242 (cmd) S 1 2 3"));
    CHECK_FALSE(parse_proc_pid_stat("no parenthesis"));

    CHECK(parse_boot_time("cpu  1 2 3\nbtime 1700000000\nprocesses 5\n") == 1700000000.0);
    CHECK_FALSE(parse_boot_time("cpu 1 2 3\n"));

    const std::string limits =
        "Limit                     Soft Limit           Hard Limit           Units     \n"
        "Max cpu time              unlimited            unlimited            seconds   \n"
        "Max open files            1024                 1048576              files     \n";
    CHECK(parse_max_open_files(limits) == 1024.0);
    CHECK_FALSE(parse_max_open_files("Max open files            unlimited            unlimited            files\n"));
}

TEST_CASE("process metrics are read from /proc at scrape time", "[metrics][process]") {
    const auto s = read_process_stats();
    REQUIRE(s.cpu_seconds);
    REQUIRE(s.resident_memory_bytes);
    REQUIRE(s.open_fds);
    REQUIRE(s.max_fds);
    REQUIRE(s.start_time_seconds);
    CHECK(*s.resident_memory_bytes > 0);
    CHECK(*s.open_fds >= 3);
    CHECK(*s.max_fds >= *s.open_fds);
    CHECK(*s.start_time_seconds > 1.5e9);
    const auto rss = read_resident_memory_bytes();
    REQUIRE(rss);
    CHECK(*rss > 0);
    CHECK(*rss > *s.resident_memory_bytes * 0.5);
    CHECK(*rss < *s.resident_memory_bytes * 2.0);
    CHECK_FALSE(read_resident_memory_bytes("/proc/no-such-process"));

    registry r;
    register_process_metrics(r);
    const auto text = r.expose();
    for (const char* n : {"process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
                          "process_max_fds", "process_start_time_seconds"}) {
        INFO(n);
        CHECK(text.find(std::string("# TYPE ") + n) != std::string::npos);
    }
    CHECK(has_line(text, "# TYPE process_cpu_seconds_total counter"));

    registry missing;
    register_process_metrics(missing, "/nonexistent/proc/self", "/nonexistent/stat");
    CHECK(missing.expose().empty());
}
