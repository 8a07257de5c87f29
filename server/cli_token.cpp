// `stsauth token` (SPEC-reference §7.1, SPEC-decisions A9): prints an ExecCredential (or, with
// --token-only, the bare token) for kubectl.
//
// Test-only: the environment variable STSAUTH_TEST_SIGNING_TIME=YYYYMMDDTHHMMSSZ replaces the
// clock as signing time, so that tests can compare tokens byte for byte with another signer. It is
// deliberately not a flag (it must not appear in --help) and has no other effect: it only moves
// the validity window of the caller's own token.

#include "cli.hpp"

#include "aws/credentials.hpp"
#include "aws/eks_token.hpp"
#include "aws/environment.hpp"
#include "aws/shared_config.hpp"
#include "sigv4/sigv4.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>

namespace stsauth::cli {
namespace {

constexpr std::string_view test_signing_time_variable = "STSAUTH_TEST_SIGNING_TIME";

struct token_options {
    std::string role;  ///< -r/--role, env DEFAULT_ROLE
    std::string external_id;
    std::string session_name;
    std::string region;
    std::string profile;
    bool token_only = false;
    bool forward_session_name = false;
    bool cache = false;
};

std::optional<std::string> optional_flag(const std::string& value) {
    if (value.empty()) return std::nullopt;
    return value;
}

int fail(const error& e) {
    fmt::print(stderr, "could not get token: {}\n", e.message);
    return exit_failure;
}

result<std::chrono::system_clock::time_point> signing_time(const aws::environment& env) {
    const auto fixed = env.env(test_signing_time_variable);
    if (!fixed) return std::chrono::system_clock::now();
    auto t = sigv4::parse_amz_date(*fixed);
    if (!t) return make_error("bad_test_signing_time", fmt::format("{} is not YYYYMMDDTHHMMSSZ", test_signing_time_variable));
    return *t;
}

int run_token(const token_options& o, const global_options& globals) {
    if (globals.cluster_id.empty()) {
        fmt::print(stderr,
                   "Error: cluster ID not specified\n"
                   "Give it with -i/--cluster-id or KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID; see stsauth token --help.\n");
        return exit_failure;
    }
    if (!o.role.empty())
        return fail(make_error("unsupported", "assuming a role (-r/--role or DEFAULT_ROLE) is not supported yet"));
    if (o.forward_session_name && !o.session_name.empty())
        return fail(make_error("usage", "--forward-session-name and --session-name cannot be used together"));
    if (o.cache) spdlog::warn("--cache is not supported yet: credentials are not cached");

    const auto env = aws::process_environment();
    const auto when = signing_time(env);
    if (!when) return fail(when.err());

    const auto selection = aws::select_profile(env, optional_flag(o.profile));
    const auto prof = aws::load_profile(env, selection);
    if (!prof) return fail(prof.err());
    if (const auto endpoints = aws::check_endpoint_settings(env, *prof); !endpoints) return fail(endpoints.err());
    const auto region = aws::resolve_region(env, optional_flag(o.region), *prof);
    if (!region) return fail(region.err());
    spdlog::debug("profile \"{}\", region {} (from {})", prof->name(), region->name, region->source);

    const auto chain = aws::default_credential_chain(env, *prof);
    const auto creds = chain.resolve();
    if (!creds) return fail(creds.err());
    spdlog::debug("signing with access key id {} ({} credentials)", creds->access_key_id,
                  creds->session_token.empty() ? "long-term" : "temporary");

    const auto token = aws::make_token(*creds, region->name, globals.cluster_id, *when);
    if (!token) return fail(token.err());

    const std::string out =
        o.token_only ? token->value.reveal()
                     : aws::format_exec_credential(*token, aws::exec_credential_api_version(env.get_env("KUBERNETES_EXEC_INFO")));
    if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fputc('\n', stdout) == EOF ||
        std::fflush(stdout) != 0) {
        fmt::print(stderr, "could not get token: writing to stdout failed\n");
        return exit_failure;
    }
    return exit_ok;
}

}  // namespace

void register_token(CLI::App& root, const global_options& globals, command_list& commands) {
    auto* cmd = root.add_subcommand("token", "Authenticate using AWS IAM and get a token for Kubernetes");
    cmd->footer("Global flags apply too: -i/--cluster-id (or KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID) is required; "
                "see stsauth --help.");
    auto o = std::make_shared<token_options>();
    cmd->add_option("-r,--role", o->role, "Assume an IAM role ARN before signing this token (not supported yet)")
        ->envname("DEFAULT_ROLE")
        ->type_name("ARN");
    cmd->add_option("-e,--external-id", o->external_id, "External ID to pass when assuming the role");
    cmd->add_option("-s,--session-name", o->session_name, "Session name to pass when assuming the role");
    cmd->add_flag("--forward-session-name", o->forward_session_name,
                  "Use the caller's current session name as the assumed role's session name");
    cmd->add_option("--region", o->region, "AWS region of the STS endpoint (default: the AWS configuration, then us-east-1)");
    cmd->add_option("--profile", o->profile, "AWS shared-configuration profile to take credentials from");
    cmd->add_flag("--token-only", o->token_only, "Print only the token, for tools that take a bearer token");
    cmd->add_flag("--cache", o->cache, "Cache the credentials on disk (not supported yet: ignored with a warning)");
    commands.push_back({cmd, [o, &globals] { return run_token(*o, globals); }});
}

}  // namespace stsauth::cli
