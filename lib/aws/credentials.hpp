#pragma once
/// \file
/// The client-side credential chain, in botocore's order (botocore/credentials.py,
/// `create_credential_resolver`):
///
///  1. environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY, session token from
///     AWS_SECURITY_TOKEN or AWS_SESSION_TOKEN (botocore checks the legacy name first). Skipped
///     when the profile was chosen with --profile (botocore does the same for an explicit
///     profile; AWS_PROFILE does not disable it). The legacy AWS_ACCESS_KEY/AWS_SECRET_KEY are
///     not read, as botocore does not.
///  2. profile `role_arn` (assume role)                      — not supported yet: fails
///  3. web identity (env or profile `web_identity_token_file`) — not supported yet: fails
///  4. profile SSO (`sso_session`, `sso_start_url`)         — not supported yet: fails
///  5. the profile's keys in the shared credentials file
///  6. profile `credential_process`                        — not supported yet: fails
///  7. the profile's keys in the shared config file
///  8. container credentials (ECS/EKS Pod Identity env)      — not supported yet: fails
///  9. EC2 instance metadata (IMDSv2)                       — not supported yet: skipped
///
/// A source that is configured but cannot be used stops the chain with an error instead of
/// falling through: using a later source would silently sign as a different identity than the
/// one the user configured. Each unsupported source is a provider of its own, so a real
/// implementation replaces it in place.

#include "aws/environment.hpp"
#include "aws/shared_config.hpp"
#include "common/result.hpp"
#include "sigv4/sigv4.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace stsauth::aws {

/// One source of credentials.
class credential_provider {
public:
    virtual ~credential_provider() = default;
    /// Where this provider looks and what it found, for the "no credentials" message. Never
    /// contains a credential.
    virtual std::string where() const = 0;
    /// Credentials; nullopt when this source has none (the chain moves on); an error when the
    /// source is configured but unusable (the chain stops).
    virtual result<std::optional<sigv4::credentials>> retrieve() const = 0;
};

/// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SECURITY_TOKEN / AWS_SESSION_TOKEN.
/// AWS_ACCESS_KEY_ID set without AWS_SECRET_ACCESS_KEY is an error ("partial_credentials").
class environment_provider final : public credential_provider {
public:
    explicit environment_provider(environment env) : env_(std::move(env)) {}
    std::string where() const override;
    result<std::optional<sigv4::credentials>> retrieve() const override;

private:
    environment env_;
};

/// Static keys of the profile in one shared file: aws_access_key_id, aws_secret_access_key and
/// aws_security_token or aws_session_token (botocore's order). A profile with an access key id
/// but no (or an empty) secret is an error ("partial_credentials").
class profile_keys_provider final : public credential_provider {
public:
    enum class file { credentials, config };
    profile_keys_provider(profile p, file f) : profile_(std::move(p)), file_(f) {}
    std::string where() const override;
    result<std::optional<sigv4::credentials>> retrieve() const override;

private:
    profile profile_;
    file file_;
};

/// A source stsauth cannot use yet. `detect` returns why the source is configured (e.g.
/// "profile \"dev\" has role_arn"), or nullopt when it is not; retrieve() then fails with
/// "unsupported_credential_source", or moves on.
class unsupported_provider final : public credential_provider {
public:
    using detector = std::function<std::optional<std::string>()>;
    unsupported_provider(std::string description, std::string feature, detector detect)
        : description_(std::move(description)), feature_(std::move(feature)), detect_(std::move(detect)) {}
    std::string where() const override { return description_; }
    result<std::optional<sigv4::credentials>> retrieve() const override;

private:
    std::string description_;
    std::string feature_;
    detector detect_;
};

/// Providers tried in order; the first that returns credentials or an error wins.
class credential_chain final : public credential_provider {
public:
    void add(std::unique_ptr<credential_provider> p) { providers_.push_back(std::move(p)); }
    std::size_t size() const noexcept { return providers_.size(); }
    /// "a; b; c" of every provider's where().
    std::string where() const override;
    result<std::optional<sigv4::credentials>> retrieve() const override;
    /// retrieve(), with "nothing found" turned into the error "no_credentials" whose message
    /// lists where the chain looked.
    result<sigv4::credentials> resolve() const;

private:
    std::vector<std::unique_ptr<credential_provider>> providers_;
};

/// The chain above for profile `p`.
credential_chain default_credential_chain(const environment& env, const profile& p);

}  // namespace stsauth::aws
