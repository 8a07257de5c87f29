// Fuzz target: the server configuration (lib/config: parse_config, validate, validation_warnings,
// load_server_config_text, Go durations, feature gates, --backend-mode splitting), and its
// hand-over of `server` to the MountedFile mapping source.
//
// Input: a config file (YAML or JSON); also read as a duration, a --feature-gates value and a
// --backend-mode value, and its first eight bytes as a duration in nanoseconds.
//
// Properties:
//   - parse and validation errors carry documented codes; load_server_config_text is
//     parse_config followed by validate (same outcome, first issue's code);
//   - every duration the parser accepted survives format_go_duration -> parse_go_duration, and
//     so does any int64 nanosecond count;
//   - the `server` node the config keeps for the MountedFile backend loads exactly as the
//     mapping source's own reading of the same text (mapping_summary.hpp);
//   - feature gates and backend-mode flags only yield known gates and trimmed, non-empty names.

#include "config/duration.hpp"
#include "config/server_config.hpp"
#include "fuzz_support.hpp"
#include "mapping/sources.hpp"
#include "mapping_summary.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <string_view>

using namespace stsauth;

namespace {

constexpr std::array<std::string_view, 6> parse_codes = {"yaml_error", "not_a_mapping", "duplicate_key",
                                                         "bad_value", "bad_duration", "bad_feature_gate"};
// validate()'s documented codes, plus bad_value (server.accessEntries.clusterAccountId), which
// the header's list omits.
constexpr std::array<std::string_view, 18> validate_codes = {
    "missing_cluster_id", "invalid_partition", "invalid_backend_mode", "duplicate_backend_mode",
    "empty_backend_mode", "backend_mode_order", "dynamicfilepath_mismatch", "missing_access_entries_file",
    "bad_port", "bad_duration", "bad_limit", "bad_log_verbosity", "bad_rate_limit", "bad_connect_override",
    "bad_extra_host", "bad_arn", "bad_hostname", "bad_value"};

template <std::size_t N>
bool one_of(const std::array<std::string_view, N>& codes, std::string_view code) {
    return std::find(codes.begin(), codes.end(), code) != codes.end();
}

void check_duration_round_trip(config::duration d) {
    const auto text = config::format_go_duration(d);
    const auto back = config::parse_go_duration(text);
    FUZZ_CHECK(back.ok() && *back == d);
}

void check_parsed(const config::server_config& cfg, std::string_view text) {
    for (const auto d : {cfg.sts.timeout, cfg.sts.cache_ttl, cfg.limits.read_timeout, cfg.limits.idle_timeout,
                         cfg.shutdown_grace})
        check_duration_round_trip(d);

    const auto issues = config::validate(cfg);
    for (const auto& issue : issues) {
        FUZZ_CHECK(one_of(validate_codes, issue.code));
        FUZZ_CHECK(!issue.field.empty() && !issue.origin.empty());
    }
    const auto loaded = config::load_server_config_text(text, "fuzz.yaml", {}, {});
    FUZZ_CHECK(loaded.ok() == issues.empty());
    if (!loaded) FUZZ_CHECK(loaded.code() == issues.front().code);
    static_cast<void>(config::validation_warnings(cfg));
    for (const auto m : cfg.backends()) FUZZ_CHECK(config::parse_backend_mode(config::to_string(m)).has_value());

    const auto from_config = fuzz::summarize(mapping::load_mounted_file(cfg.server_node));
    const auto from_text = fuzz::summarize(mapping::load_mounted_file_text(text));
    FUZZ_CHECK(from_config == from_text);
}

void check_flags(std::string_view text) {
    if (auto d = config::parse_go_duration(text); d) check_duration_round_trip(*d);
    if (text.size() >= 8) {
        std::int64_t ns = 0;
        std::memcpy(&ns, text.data(), sizeof ns);
        check_duration_round_trip(config::duration(ns));
    }
    if (auto gates = config::parse_feature_gates(text); gates) {
        for (const auto& [name, on] : *gates)
            FUZZ_CHECK(name == "ConfiguredInitDirectories" || name == "IAMIdentityMappingCRD" || name == "SSORoleMatch");
    } else {
        FUZZ_CHECK(gates.code() == "bad_feature_gate");
    }
    for (const auto& item : config::split_backend_mode_flag(text)) {
        FUZZ_CHECK(!item.empty() && item.find(',') == std::string::npos);
        FUZZ_CHECK(item.front() != ' ' && item.front() != '\t' && item.back() != ' ' && item.back() != '\t');
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = fuzz::as_text(data, size);
    check_flags(text);
    const auto cfg = config::parse_config(text, "fuzz.yaml");
    if (!cfg) {
        FUZZ_CHECK(one_of(parse_codes, cfg.code()));
        const auto loaded = config::load_server_config_text(text, "fuzz.yaml", {}, {});
        FUZZ_CHECK(!loaded.ok() && loaded.code() == cfg.code());
        return 0;
    }
    FUZZ_CHECK(cfg->source == "fuzz.yaml");
    check_parsed(*cfg, text);
    return 0;
}
