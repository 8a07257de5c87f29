#pragma once
/// \file
/// EC2 instance metadata (IMDSv2 only) for the server's own credentials and region:
/// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html
///
/// A session token is fetched with `PUT /latest/api/token` (`X-aws-ec2-metadata-token-ttl-seconds`)
/// and sent as `X-aws-ec2-metadata-token` on every GET; it is cached until shortly before its TTL
/// ends and fetched again after a 401. IMDSv1 (GET without a token) is never used: an instance
/// that only offers IMDSv1 is a configuration to fix, not to silently fall back to. Tokens and
/// credentials are secrets: never logged, never in an error message.

#include "aws/environment.hpp"
#include "common/result.hpp"
#include "common/secret.hpp"
#include "sigv4/sigv4.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace boost::asio {
class io_context;
}

namespace stsauth::ec2 {

inline constexpr std::string_view default_imds_endpoint = "http://169.254.169.254";
inline constexpr std::string_view default_imds_ipv6_endpoint = "http://[fd00:ec2::254]";

/// Credentials with the time they stop working.
struct timed_credentials {
    sigv4::credentials creds;
    std::chrono::system_clock::time_point expiration;
};

// ---- pure parsing ------------------------------------------------------------------------------

/// RFC 3339 UTC time as IMDS writes it: `YYYY-MM-DDTHH:MM:SSZ`, optional fraction, `Z` or
/// `+00:00`. Error "bad_time".
result<std::chrono::system_clock::time_point> parse_rfc3339_utc(std::string_view text);

/// The JSON of `/latest/meta-data/iam/security-credentials/<role>`: `Code` must be "Success",
/// `AccessKeyId`, `SecretAccessKey`, `Token` and `Expiration` present and non-empty. Error
/// "imds_bad_response" (the message never quotes the document).
result<timed_credentials> parse_imds_credentials(std::string_view json);

/// `region` of the instance identity document. Error "imds_bad_response".
result<std::string> parse_identity_document_region(std::string_view json);

// ---- configuration -----------------------------------------------------------------------------

struct imds_config {
    std::string endpoint{default_imds_endpoint};  ///< "http://HOST[:PORT]" ("[V6]" for IPv6)
    bool disabled = false;
    std::chrono::milliseconds timeout{2000};      ///< per HTTP exchange
    std::chrono::seconds token_ttl{21600};        ///< requested session token lifetime (max 6 h)
    std::size_t max_body_bytes = 64 * 1024;
};

/// The SDKs' environment settings: `AWS_EC2_METADATA_DISABLED=true` (any case) disables IMDS;
/// `AWS_EC2_METADATA_SERVICE_ENDPOINT` overrides the endpoint, else
/// `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE` `IPv4` (default) or `IPv6` picks the link-local
/// address. Error "bad_imds_config" for another mode or an endpoint that is not http://HOST[:PORT].
result<imds_config> imds_config_from_environment(const aws::environment& env);

// ---- client ------------------------------------------------------------------------------------

namespace detail {
class imds_client_impl;
}

/// Asynchronous IMDSv2 client. Thread-safe; callbacks run on the io_context, exactly once.
/// Error codes: "imds_disabled", "imds_unavailable" (transport failure, timeout, 5xx),
/// "imds_token_refused" (the token PUT was not answered 200), "imds_not_found" (404),
/// "imds_error" (another status), "imds_no_role" (no instance profile), "imds_bad_response".
class imds_client {
public:
    /// Throws std::invalid_argument for an endpoint that is not http://HOST[:PORT].
    imds_client(boost::asio::io_context& ioc, imds_config config);
    ~imds_client();
    imds_client(const imds_client&) = delete;
    imds_client& operator=(const imds_client&) = delete;

    /// GET `path` (starting with "/latest/") with a session token; the body of a 200.
    void get(std::string path, std::function<void(result<std::string>)> cb);
    /// The instance's region, from `/latest/dynamic/instance-identity/document`.
    void region(std::function<void(result<std::string>)> cb);
    /// The instance profile role's credentials: lists `/latest/meta-data/iam/security-credentials/`
    /// and fetches the first role's.
    void role_credentials(std::function<void(result<timed_credentials>)> cb);

private:
    std::shared_ptr<detail::imds_client_impl> impl_;
};

/// Start-up helper: the region from IMDS, with a private io_context (blocks for at most about
/// three exchange timeouts).
result<std::string> fetch_imds_region_blocking(const imds_config& config);

}  // namespace stsauth::ec2
