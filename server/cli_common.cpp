// Global flags, logging set-up and helpers shared by the subcommands.

#include "cli.hpp"

#include "common/encoding.hpp"
#include "log_sink.hpp"

#include <CLI/CLI.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>

#include <unistd.h>

namespace stsauth::cli {
namespace {

std::optional<spdlog::level::level_enum> parse_level(std::string_view name) {
    const auto n = encoding::to_lower(name);
    if (n == "panic" || n == "fatal") return spdlog::level::critical;
    if (n == "error") return spdlog::level::err;
    if (n == "warn" || n == "warning") return spdlog::level::warn;
    if (n == "info") return spdlog::level::info;
    if (n == "debug") return spdlog::level::debug;
    if (n == "trace") return spdlog::level::trace;
    return std::nullopt;
}

void append(spdlog::memory_buf_t& out, std::string_view s) { out.append(s.data(), s.data() + s.size()); }

void append_json_string(spdlog::memory_buf_t& out, std::string_view s) {
    out.push_back('"');
    for (const char c : s) {
        switch (c) {
            case '"': append(out, "\\\""); break;
            case '\\': append(out, "\\\\"); break;
            case '\n': append(out, "\\n"); break;
            case '\r': append(out, "\\r"); break;
            case '\t': append(out, "\\t"); break;
            default:
                if (static_cast<unsigned char>(c) < 0x20)
                    fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(c));
                else
                    out.push_back(c);
        }
    }
    out.push_back('"');
}

std::string_view logrus_level(spdlog::level::level_enum l) {
    switch (l) {
        case spdlog::level::trace: return "trace";
        case spdlog::level::debug: return "debug";
        case spdlog::level::info: return "info";
        case spdlog::level::warn: return "warning";
        case spdlog::level::err: return "error";
        default: return "fatal";
    }
}

/// `{"level":"info","msg":"…","time":"2006-01-02T15:04:05Z"}`, logrus's JSON formatter keys.
class json_formatter final : public spdlog::formatter {
public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        append(dest, R"({"level":")");
        append(dest, logrus_level(msg.level));
        append(dest, R"(","msg":)");
        append_json_string(dest, std::string_view(msg.payload.data(), msg.payload.size()));
        fmt::format_to(std::back_inserter(dest), R"(,"time":"{:%Y-%m-%dT%H:%M:%SZ}"}})",
                       fmt::gmtime(std::chrono::system_clock::to_time_t(msg.time)));
        dest.push_back('\n');
    }
    std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<json_formatter>(); }
};

}  // namespace

void register_global_flags(CLI::App& root, global_options& globals) {
    root.add_option("-c,--config", globals.config_file, "Load configuration from FILE")->type_name("FILE");
    root.add_option("-l,--log-format", globals.log_format, "Log format on stderr: text or json")
        ->capture_default_str();
    root.add_option("-v,--log-verbosity", globals.log_verbosity,
                    "Log level: panic, fatal, error, warning, info, debug, trace")
        ->envname("AWS_IAM_AUTHENTICATOR_LOG_VERBOSITY")
        ->capture_default_str();
    root.add_option("-i,--cluster-id", globals.cluster_id,
                    "Cluster ID, a unique-per-cluster identifier for this authenticator installation")
        ->envname("KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID")
        ->type_name("ID");
    root.add_option("--feature-gates", globals.feature_gates,
                    "Feature gates, KEY=BOOL pairs separated by commas (ConfiguredInitDirectories, "
                    "IAMIdentityMappingCRD, SSORoleMatch)");
}

int configure_logging(const global_options& globals) {
    const auto level = parse_level(globals.log_verbosity);
    if (!level) {
        fmt::print(stderr, "Error: invalid log level \"{}\" (panic, fatal, error, warning, info, debug, trace)\n",
                   globals.log_verbosity);
        return exit_failure;
    }
    // Batched writes to stderr from a writer thread: no write(2) per review line on the I/O
    // threads; errors and flushes are written at once.
    auto logger = std::make_shared<spdlog::logger>("stsauth", std::make_shared<server::batching_fd_sink>(STDERR_FILENO));
    const bool json = encoding::iequals(globals.log_format, "json");
    if (json)
        logger->set_formatter(std::make_unique<json_formatter>());
    else
        logger->set_formatter(std::make_unique<spdlog::pattern_formatter>(
            R"(time="%Y-%m-%dT%H:%M:%SZ" level=%l msg="%v")", spdlog::pattern_time_type::utc));
    logger->set_level(*level);
    logger->flush_on(spdlog::level::err);
    spdlog::set_default_logger(std::move(logger));
    if (!json && !encoding::iequals(globals.log_format, "text"))
        spdlog::warn("unknown log format \"{}\", using text", globals.log_format);
    return exit_ok;
}

int not_implemented(std::string_view name) {
    fmt::print(stderr, "{}: not implemented yet\n", name);
    return exit_failure;
}

}  // namespace stsauth::cli
