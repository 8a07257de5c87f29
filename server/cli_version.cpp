// `stsauth version` (SPEC-reference §7.5): -s/--short prints the version; -o json (default) or
// yaml prints {"Version":…,"Commit":…} with empty fields omitted, as go-version does.

#include "cli.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#ifndef STSAUTH_VERSION
#error "STSAUTH_VERSION must be defined by the build"
#endif
#ifndef STSAUTH_COMMIT
#define STSAUTH_COMMIT ""
#endif

namespace stsauth::cli {
namespace {

struct version_options {
    bool short_output = false;
    std::string output = "json";
};

std::string json_quote(std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20)
            out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        else
            out += c;
    }
    return out + '"';
}

int run_version(const version_options& o) {
    if (o.short_output) {
        fmt::print("{}\n", STSAUTH_VERSION);
        return exit_ok;
    }
    std::vector<std::pair<std::string_view, std::string_view>> fields{{"Version", STSAUTH_VERSION}};
    if (std::string_view(STSAUTH_COMMIT).size()) fields.emplace_back("Commit", STSAUTH_COMMIT);
    std::string out;
    if (o.output == "yaml") {
        std::sort(fields.begin(), fields.end());  // sigs.k8s.io/yaml sorts keys
        // JSON strings are valid YAML scalars; quoting avoids YAML's number and keyword readings.
        for (const auto& [k, v] : fields) out += fmt::format("{}: {}\n", k, json_quote(v));
    } else {
        out = "{";
        for (std::size_t i = 0; i < fields.size(); ++i)
            out += fmt::format("{}{}:{}", i ? "," : "", json_quote(fields[i].first), json_quote(fields[i].second));
        out += "}\n";
    }
    fmt::print("{}", out);
    return exit_ok;
}

}  // namespace

void register_version(CLI::App& root, const global_options&, command_list& commands) {
    auto* cmd = root.add_subcommand("version", "Print the build information");
    auto o = std::make_shared<version_options>();
    cmd->add_flag("-s,--short", o->short_output, "Print just the version number");
    cmd->add_option("-o,--output", o->output, "Output format: json or yaml")
        ->check(CLI::IsMember({"json", "yaml"}))
        ->capture_default_str();
    commands.push_back({cmd, [o] { return run_version(*o); }});
}

}  // namespace stsauth::cli
