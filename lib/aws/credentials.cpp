#include "aws/credentials.hpp"

#include <fmt/format.h>

namespace stsauth::aws {
namespace {

using maybe_credentials = result<std::optional<sigv4::credentials>>;

std::optional<std::string> nonempty(const std::optional<std::string>& v) {
    if (v && !v->empty()) return v;
    return std::nullopt;
}

const char* file_label(profile_keys_provider::file f) {
    return f == profile_keys_provider::file::credentials ? "shared credentials file" : "shared config file";
}

}  // namespace

// ---- environment ---------------------------------------------------------------------------

std::string environment_provider::where() const {
    return fmt::format("environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY ({})",
                       env_.env("AWS_ACCESS_KEY_ID") ? "set" : "not set");
}

maybe_credentials environment_provider::retrieve() const {
    auto access_key = env_.env("AWS_ACCESS_KEY_ID");
    if (!access_key) return std::optional<sigv4::credentials>{};
    auto secret_key = env_.env("AWS_SECRET_ACCESS_KEY");
    if (!secret_key)
        return make_error("partial_credentials",
                          "partial credentials in the environment: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
    sigv4::credentials c;
    c.access_key_id = std::move(*access_key);
    c.secret_access_key = secret<std::string>(std::move(*secret_key));
    for (const auto* name : {"AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"}) {
        if (auto token = env_.env(name)) {
            c.session_token = secret<std::string>(std::move(*token));
            break;
        }
    }
    return std::optional<sigv4::credentials>{std::move(c)};
}

// ---- shared files --------------------------------------------------------------------------

std::string profile_keys_provider::where() const {
    const bool creds = file_ == file::credentials;
    const auto& path = creds ? profile_.credentials_path : profile_.config_path;
    const bool exists = creds ? profile_.credentials_file_exists : profile_.config_file_exists;
    const auto& section = creds ? profile_.credentials_section : profile_.config_section;
    std::string state;
    if (!exists)
        state = "file not found";
    else if (!section)
        state = fmt::format("no profile \"{}\"", profile_.name());
    else if (!section->contains("aws_access_key_id"))
        state = fmt::format("profile \"{}\" has no aws_access_key_id", profile_.name());
    else
        state = fmt::format("profile \"{}\"", profile_.name());
    return fmt::format("{} {} ({})", file_label(file_), path, state);
}

maybe_credentials profile_keys_provider::retrieve() const {
    const bool creds = file_ == file::credentials;
    const auto& section = creds ? profile_.credentials_section : profile_.config_section;
    if (!section) return std::optional<sigv4::credentials>{};
    const auto key = section->find("aws_access_key_id");
    if (key == section->end()) return std::optional<sigv4::credentials>{};
    const auto& path = creds ? profile_.credentials_path : profile_.config_path;
    const auto secret_key = section->find("aws_secret_access_key");
    if (key->second.empty() || secret_key == section->end() || secret_key->second.empty()) {
        return make_error("partial_credentials",
                          fmt::format("partial credentials in profile \"{}\" of {} {}: {} is missing or empty",
                                      profile_.name(), file_label(file_), path,
                                      key->second.empty() ? "aws_access_key_id" : "aws_secret_access_key"));
    }
    sigv4::credentials c;
    c.access_key_id = key->second;
    c.secret_access_key = secret<std::string>(secret_key->second);
    // botocore's order. An empty token value counts as absent (botocore would send an empty
    // X-Amz-Security-Token, which STS rejects).
    for (const auto* name : {"aws_security_token", "aws_session_token"}) {
        if (const auto token = section->find(name); token != section->end() && !token->second.empty()) {
            c.session_token = secret<std::string>(token->second);
            break;
        }
    }
    return std::optional<sigv4::credentials>{std::move(c)};
}

// ---- sources not supported yet ---------------------------------------------------------------

maybe_credentials unsupported_provider::retrieve() const {
    if (!detect_) return std::optional<sigv4::credentials>{};
    if (auto why = detect_())
        return make_error("unsupported_credential_source", fmt::format("{}: {} is not supported yet", *why, feature_));
    return std::optional<sigv4::credentials>{};
}

// ---- chain -----------------------------------------------------------------------------------

std::string credential_chain::where() const {
    std::string out;
    for (const auto& p : providers_) {
        if (!out.empty()) out += "; ";
        out += p->where();
    }
    return out;
}

maybe_credentials credential_chain::retrieve() const {
    for (const auto& p : providers_) {
        auto r = p->retrieve();
        if (!r || *r) return r;
    }
    return std::optional<sigv4::credentials>{};
}

result<sigv4::credentials> credential_chain::resolve() const {
    auto r = retrieve();
    if (!r) return r.err();
    if (!*r) return make_error("no_credentials", fmt::format("no AWS credentials found; looked in: {}", where()));
    return std::move(**r);
}

credential_chain default_credential_chain(const environment& env, const profile& p) {
    credential_chain chain;
    const std::string quoted = fmt::format("profile \"{}\"", p.name());
    const bool env_allowed = p.selection.source != profile_source::flag;

    if (env_allowed) chain.add(std::make_unique<environment_provider>(env));

    chain.add(std::make_unique<unsupported_provider>(
        fmt::format("{} role_arn (not set)", quoted), "assuming a role from a profile (role_arn)",
        [p, quoted]() -> std::optional<std::string> {
            if (nonempty(p.get("role_arn")) && !nonempty(p.get("web_identity_token_file")))
                return fmt::format("{} has role_arn", quoted);
            return std::nullopt;
        }));

    chain.add(std::make_unique<unsupported_provider>(
        "web identity AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (not set)", "web identity federation",
        [env, p, quoted, env_allowed]() -> std::optional<std::string> {
            if (env_allowed && env.env("AWS_WEB_IDENTITY_TOKEN_FILE") && env.env("AWS_ROLE_ARN"))
                return std::string("AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are set");
            if (nonempty(p.get("web_identity_token_file")) && nonempty(p.get("role_arn")))
                return fmt::format("{} has web_identity_token_file", quoted);
            return std::nullopt;
        }));

    chain.add(std::make_unique<unsupported_provider>(
        fmt::format("{} SSO settings (not set)", quoted), "IAM Identity Center (SSO)",
        [p, quoted]() -> std::optional<std::string> {
            for (const auto* key : {"sso_session", "sso_start_url", "sso_account_id", "sso_role_name"})
                if (p.get(key)) return fmt::format("{} has {}", quoted, key);
            return std::nullopt;
        }));

    chain.add(std::make_unique<profile_keys_provider>(p, profile_keys_provider::file::credentials));

    chain.add(std::make_unique<unsupported_provider>(
        fmt::format("{} credential_process (not set)", quoted), "credential_process",
        [p, quoted]() -> std::optional<std::string> {
            if (nonempty(p.get("credential_process"))) return fmt::format("{} has credential_process", quoted);
            return std::nullopt;
        }));

    chain.add(std::make_unique<profile_keys_provider>(p, profile_keys_provider::file::config));

    chain.add(std::make_unique<unsupported_provider>(
        "container credentials AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/FULL_URI (not set)",
        "container credentials (ECS, EKS Pod Identity)", [env]() -> std::optional<std::string> {
            for (const auto* name : {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"})
                if (env.env(name)) return fmt::format("{} is set", name);
            return std::nullopt;
        }));

    chain.add(std::make_unique<unsupported_provider>("EC2 instance metadata (not supported yet)",
                                                     "EC2 instance metadata credentials", nullptr));
    return chain;
}

}  // namespace stsauth::aws
