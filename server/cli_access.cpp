// `stsauth access-entries validate <file>` and `stsauth access-entries list <file> [-o json]`
// (ACCESS-ENTRIES C8): the operator tools for the access-entries file. The settings the file is
// checked against (cluster id, clusterAccountId, reservedGroupPrefixes, allowServicePolicies,
// allowInferredPolicies) come from the server config (-c), as the server would load it.

#include "cli.hpp"

#include "access/describe.hpp"
#include "access/entries.hpp"
#include "config/server_config.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <fstream>
#include <sstream>
#include <string>

namespace stsauth::cli {
namespace {

struct access_options {
    std::string file;
    std::string output;
};

/// Loads and validates the file; prints the reasons to stderr and returns nullopt when invalid.
std::optional<access::snapshot> load_entries(const global_options& g, const std::string& file) {
    access::load_settings settings;
    if (!g.config_file.empty()) {
        auto env = config::overrides_from_env([](const char* n) { return std::getenv(n); });
        config::overrides flags;
        if (!g.cluster_id.empty()) flags.cluster_id = g.cluster_id;
        auto cfg = config::load_server_config(g.config_file, env, flags);
        if (!cfg) {
            fmt::print(stderr, "error: {}\n", cfg.err().message);
            return std::nullopt;
        }
        settings = access::settings_from_config(*cfg);
    } else {
        settings.cluster_id = g.cluster_id;
    }
    settings.source_name = file;
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        fmt::print(stderr, "error: cannot read {}\n", file);
        return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    auto snap = access::load(text.str(), settings);
    if (!snap) {
        // One reason per line: "<file>: accessEntries[<i>].<field>: <reason>".
        std::string_view rest = snap.err().message;
        for (std::size_t pos; (pos = rest.find("; ")) != std::string_view::npos; rest.remove_prefix(pos + 2))
            fmt::print(stderr, "invalid: {}\n", rest.substr(0, pos));
        fmt::print(stderr, "invalid: {}\n", rest);
        return std::nullopt;
    }
    for (const auto& w : snap->warnings()) fmt::print(stderr, "warning: {}\n", w.message);
    return std::move(*snap);
}

int run_validate(const global_options& g, const access_options& o) {
    auto snap = load_entries(g, o.file);
    if (!snap) return exit_failure;
    fmt::print("{}: valid, {} entries, authenticationMode {}\n", o.file, snap->entries().size(),
               access::to_string(snap->mode()));
    return exit_ok;
}

int run_list(const global_options& g, const access_options& o) {
    if (!o.output.empty() && o.output != "json") {
        fmt::print(stderr, "error: unknown output format \"{}\" (expected json)\n", o.output);
        return exit_usage;
    }
    auto snap = load_entries(g, o.file);
    if (!snap) return exit_failure;
    if (o.output == "json") {
        fmt::print("{}", access::list_json(*snap));
        return exit_ok;
    }
    fmt::print("authenticationMode: {}\n", access::to_string(snap->mode()));
    for (const auto& e : snap->entries()) {
        fmt::print("{}{} type={} username={} groups=[{}]\n", e.principal_arn, e.synthesized ? " (cluster creator)" : "",
                   access::to_string(e.type), e.username, fmt::join(e.groups, ","));
        for (const auto& p : e.access_policies) {
            fmt::print("  {} scope={}{}{}{}\n", p.policy_name, access::to_string(p.scope),
                       p.namespaces.empty() ? "" : " namespaces=", fmt::join(p.namespaces, ","),
                       p.grants ? "" : " (grants nothing: rules undocumented)");
        }
    }
    return exit_ok;
}

}  // namespace

void register_access_entries(CLI::App& root, const global_options& globals, command_list& commands) {
    auto* group = root.add_subcommand("access-entries", "Check and show an access-entries file (EKS access entries)");
    group->require_subcommand(1);

    auto validate_opts = std::make_shared<access_options>();
    auto* validate = group->add_subcommand("validate", "Validate an access-entries file (exit 1 with the reasons when invalid)");
    validate->add_option("file", validate_opts->file, "The access-entries file (YAML or JSON)")->required();
    commands.push_back({validate, [&globals, validate_opts] { return run_validate(globals, *validate_opts); }});

    auto list_opts = std::make_shared<access_options>();
    auto* list = group->add_subcommand("list", "Show the effective entries: generated usernames, groups, scopes");
    list->add_option("file", list_opts->file, "The access-entries file (YAML or JSON)")->required();
    list->add_option("-o,--output", list_opts->output, "Output format: json");
    commands.push_back({list, [&globals, list_opts] { return run_list(globals, *list_opts); }});
}

}  // namespace stsauth::cli
