#pragma once
/// \file
/// The server's own credentials for signing DescribeInstances: static keys (environment or
/// shared files, read once at start-up) or the instance profile through IMDSv2, cached and
/// refreshed before they expire. Credentials are secrets: never logged, never in a message.

#include "aws/environment.hpp"
#include "common/result.hpp"
#include "ec2/imds.hpp"
#include "sigv4/sigv4.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}

namespace stsauth::ec2 {

/// Asynchronous source of signing credentials.
class credentials_source {
public:
    using callback = std::function<void(result<sigv4::credentials>)>;
    virtual ~credentials_source() = default;
    /// Calls `cb` exactly once, possibly before returning.
    virtual void get(callback cb) = 0;
    /// Where the credentials come from, for the start-up log ("environment", "instance metadata").
    virtual std::string describe() const = 0;

protected:
    credentials_source() = default;
    credentials_source(const credentials_source&) = default;
    credentials_source& operator=(const credentials_source&) = default;
};

/// Fixed credentials (calls back at once).
class static_credentials_source final : public credentials_source {
public:
    static_credentials_source(sigv4::credentials creds, std::string where)
        : creds_(std::move(creds)), where_(std::move(where)) {}
    void get(callback cb) override { cb(creds_); }
    std::string describe() const override { return where_; }

private:
    sigv4::credentials creds_;
    std::string where_;
};

namespace detail {
class cached_credentials;
}

/// The instance profile's credentials from IMDSv2, cached. Callers get the cached credentials
/// at once while they are valid; once fewer than `refresh_before` remain before `Expiration` a
/// background refresh starts (one fetch at a time). Without valid cached credentials, callers
/// wait for the fetch. When a refresh fails, the cached credentials are used until they expire
/// (as the SDKs do: IMDS rotates credentials well before they expire). Errors carry the IMDS
/// error code ("imds_unavailable", "imds_no_role", ...), or "expired_credentials".
class imds_credentials_source final : public credentials_source {
public:
    using clock_fn = std::function<std::chrono::system_clock::time_point()>;
    imds_credentials_source(boost::asio::io_context& ioc, imds_config config,
                            std::chrono::seconds refresh_before = std::chrono::minutes(5),
                            clock_fn clock = [] { return std::chrono::system_clock::now(); });
    ~imds_credentials_source() override;
    imds_credentials_source(const imds_credentials_source&) = delete;
    imds_credentials_source& operator=(const imds_credentials_source&) = delete;

    void get(callback cb) override;
    std::string describe() const override;

private:
    std::shared_ptr<imds_client> client_;
    std::shared_ptr<detail::cached_credentials> cache_;
};

/// The server's credentials, in the SDK default chain's order: environment variables, then the
/// profile's keys in the shared credentials/config files (lib/aws default_credential_chain,
/// which refuses sources it cannot use yet, such as web identity or role_arn profiles), then
/// IMDSv2 when none of those has credentials. Static credentials are read once, at start-up.
/// Errors: those of lib/aws ("partial_credentials", "unsupported_credential_source",
/// "profile_not_found", ...) and "bad_imds_config"; "no_credentials" when nothing is found and
/// IMDS is disabled.
result<std::shared_ptr<credentials_source>> make_server_credentials(boost::asio::io_context& ioc,
                                                                     const aws::environment& env);

}  // namespace stsauth::ec2
